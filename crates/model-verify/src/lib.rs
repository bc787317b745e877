#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod content;
mod digest;
mod engine;
mod error;
mod fsutil;
mod manifest;
mod pickle;
mod policy;
mod safetensors;
mod signature;
mod verify;

// The public interface is:
pub use crate::digest::Sha256Digest;
pub use crate::engine::{NoProgress, Progress};
pub use crate::error::Error;
pub use crate::manifest::{
    Authenticity, HashMethod, MANIFEST_FILE_NAME, MANIFEST_VERSION, MAX_MANIFEST_LEN, Manifest,
    ManifestEntry,
};
pub use crate::safetensors::{DEFAULT_MAX_HEADER_LEN, Dtype, SafeTensors, TensorView};
pub use crate::signature::{PublicKey, SigningKey};
pub use crate::verify::{
    DEFAULT_IGNORE, DEFAULT_MAX_UNSIZED_FILE, ManifestBuilder, Report, ReportEntry, VerifiedFile,
    VerifiedFiles, VerifiedModel, Verifier,
};

#[cfg(fuzzing)]
#[doc(hidden)]
pub use crate::manifest::fuzz_manifest;
#[cfg(fuzzing)]
#[doc(hidden)]
pub use crate::pickle::fuzz_pickle;
#[cfg(fuzzing)]
#[doc(hidden)]
pub use crate::safetensors::fuzz_safetensors;
