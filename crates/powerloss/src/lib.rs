#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![cfg(target_os = "linux")]

mod crash;
mod explore;
mod fs;
mod recorder;
mod trace;

// The public interface is:
pub use crate::crash::{CrashNode, CrashState, SECTOR, Variant, crash_state};
pub use crate::explore::{CrashCase, Explore, Failure, Report, explore};
pub use crate::recorder::{Recorder, Unavailable, fuse_device_present};
pub use crate::trace::{Ino, NodeKind, Op, OpCounts, ROOT, Trace};
