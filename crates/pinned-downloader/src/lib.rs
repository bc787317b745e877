#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
pub mod defaults;
mod error;
mod fetch;
mod host;
mod pin;
mod report;
mod resume;
mod sink;
mod tls;

// The public interface is:
pub use crate::config::{
    Credential, DEFAULT_CHUNK_SIZE, DEFAULT_MAX_REDIRECTS, DEFAULT_MAX_SIZE, Downloader,
    DownloaderBuilder, Progress, Request,
};
pub use crate::error::{Error, ErrorKind, Result, TimeoutKind};
pub use crate::host::HostPattern;
pub use crate::pin::{Pin, PinSet};
pub use crate::report::{Download, Hop, PinStatus, Sha256Digest};

#[cfg(fuzzing)]
#[doc(hidden)]
pub use crate::fetch::fuzz_headers;
#[cfg(fuzzing)]
#[doc(hidden)]
pub use crate::pin::fuzz_pins;
#[cfg(fuzzing)]
#[doc(hidden)]
pub use crate::resume::fuzz_sidecar;
