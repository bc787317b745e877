#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod anonymize;
pub mod config;
mod context;
mod entity;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod phone;
mod recognizers;
mod scanner;
mod validate;

// The public interface is:
pub use crate::anonymize::{Anonymizer, CustomFn, HashKey, Operator};

pub use crate::entity::EntityType;
pub use crate::error::Error;
pub use crate::phone::DEFAULT_PHONE_REGIONS;
pub use crate::scanner::{
    CustomRecognizer, DEFAULT_MIN_SCORE, Explanation, Finding, MAX_FINDING_LEN, Scanner,
    ScannerBuilder, VALIDATED_FLOOR, Validator, char_offsets,
};
