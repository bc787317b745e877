//! Integration tests, compiled into one binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod anonymize;
#[cfg(feature = "cli")]
mod cli;
mod config;
mod encrypt;
mod entities;
mod issue12;
mod national;
mod properties;
mod streaming;
mod unicode;

use std::sync::LazyLock;

use pii_scan::{Finding, Scanner};

/// One scanner for all tests: building it is the slow part.
pub(crate) static SCANNER: LazyLock<Scanner> = LazyLock::new(Scanner::new);

/// (entity, text) of each finding.
pub(crate) fn found(text: &str) -> Vec<(String, String)> {
    SCANNER
        .scan(text)
        .iter()
        .map(|f| (f.entity_type.to_string(), f.text(text).unwrap().to_owned()))
        .collect()
}

/// Checks the invariants every scan result must satisfy.
pub(crate) fn assert_well_formed(text: &str, findings: &[Finding]) {
    let mut prev_end = 0;
    for f in findings {
        assert!(f.start < f.end, "empty finding {f:?}");
        assert!(
            f.start >= prev_end,
            "overlapping or unsorted findings: {findings:?}"
        );
        assert!(
            text.is_char_boundary(f.start) && text.is_char_boundary(f.end),
            "{f:?} splits a character"
        );
        assert!(f.end <= text.len());
        assert!((0.0..=1.0).contains(&f.score));
        prev_end = f.end;
    }
}
