#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![cfg(unix)]

mod anchor;
mod error;
mod event;
mod format;
mod keys;
mod log;
mod privacy;
mod read;
mod scan;

#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub mod fuzzing;

/// The on-disk format, version 1 (the crate's FORMAT.md).
#[doc = include_str!("../FORMAT.md")]
pub mod format_spec {}

// The public interface is:
pub use crate::anchor::Checkpoint;
pub use crate::error::{Error, Position, Result, Tamper, TamperKind};
pub use crate::event::{Event, MAX_EVENT_TYPE_LEN, RESERVED_PREFIX, Record, rfc3339};
pub use crate::format::{PrunedSegment, Suite};
pub use crate::keys::{EncKey, KeyRing, MacKey};
pub use crate::log::{Appended, AuditLog, Durability, Options, PruneReport, Recovery};
pub use crate::privacy::{FINGERPRINT_PREFIX, Fingerprint, Fingerprinter, Sanitizer};
pub use crate::read::{Filter, LogReader, Records, VerifyReport};
pub use crate::scan::TornTail;
/// Ed25519 keys for [`AuditLog::anchor`] and [`LogReader::verify_with_anchor`].
pub use ed25519_dalek::{SigningKey, VerifyingKey};
