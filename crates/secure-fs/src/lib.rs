#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![cfg(unix)]

mod atomic;
mod audit;
mod delete;
mod dir;
mod error;
mod lock;
mod names;
mod sys;

// The public interface is:
pub use crate::atomic::{AtomicFile, OldVersion, ReplaceReport};
pub use crate::audit::{AuditReport, EntryType, Finding, ModeChange, Problem, RepairReport};
pub use crate::delete::{DeleteOptions, DeleteReport, FileSystem, Overwrite};
pub use crate::dir::{Access, DIR_MODE, FILE_MODE, PrivateDir, SweepReport};
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::lock::DirLock;
pub use crate::names::{PRIVATE_NAME_LEN, PrivateNamer};
