#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![cfg(unix)]

mod anchor;
mod background;
mod error;
mod event;
mod format;
mod keys;
mod log;
mod options;
mod privacy;
mod read;
mod recovery;
mod retention;
mod walk;
mod writer;

#[cfg(test)]
mod forward_tests;
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub mod fuzzing;

/// The on-disk format, version 2 (the crate's FORMAT.md).
#[doc = include_str!("../FORMAT.md")]
pub mod format_spec {}

// The public interface is:
pub use crate::anchor::Checkpoint;
pub use crate::error::{Error, Position, Result, Tamper, TamperKind};
pub use crate::event::{Event, MAX_EVENT_TYPE_LEN, RESERVED_PREFIX, Record, rfc3339};
pub use crate::format::PrunedRange;
pub use crate::keys::{ReadKey, StateKey};
pub use crate::log::AuditLog;
pub use crate::options::{Durability, Options};
pub use crate::privacy::{FINGERPRINT_PREFIX, Fingerprint, Fingerprinter, Sanitizer};
pub use crate::read::{Filter, LogReader, Records, VerifyReport};
pub use crate::recovery::quarantined_events;
pub use crate::retention::PruneReport;
pub use crate::walk::{QuarantineEvent, SealedUntil, TornTail};
pub use crate::writer::{Appended, Created, Recovery};
/// Ed25519 keys: the log's public verification key, and keys for
/// [`AuditLog::anchor`] / [`LogReader::verify_with_anchor`].
pub use ed25519_dalek::{SigningKey, VerifyingKey};
