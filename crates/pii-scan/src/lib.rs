#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod anonymize;
pub mod config;
mod context;
mod custom;
mod data;
mod encrypt;
mod entity;
mod error;
// Invariant checks for the fuzz target: public only in fuzzing builds
// (`--cfg fuzzing`, set by `cargo xtask fuzz-build`), compiled for the
// crate's own tests, absent otherwise.
#[cfg(fuzzing)]
pub mod fuzzing;
#[cfg(all(test, not(fuzzing)))]
mod fuzzing;
mod phone;
mod recognizers;
mod scanner;
mod validate;

// The public interface is:
pub use crate::anonymize::{Anonymizer, CustomFn, HashKey, Operator};

pub use crate::custom::{CustomRecognizer, Validator};
pub use crate::encrypt::EncryptKey;
pub use crate::entity::{CustomName, EntityType};
pub use crate::error::Error;
pub use crate::phone::DEFAULT_PHONE_REGIONS;
pub use crate::scanner::{
    DEFAULT_MIN_SCORE, Explanation, Finding, MAX_FINDING_LEN, Scanner, ScannerBuilder,
    VALIDATED_FLOOR, char_offsets,
};

/// Compile-time checks of what is *not* public API (run as doctests).
///
/// The fuzzing hooks exist only in `--cfg fuzzing` builds:
/// ```compile_fail
/// let _ = pii_scan::fuzzing::check(b"");
/// ```
#[cfg(doctest)]
pub struct NotPublicApi;
