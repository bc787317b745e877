//! Integration tests, one binary (ripgrep style).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stderr, reason = "the kill loop reports what it saw")]

mod basics;
mod common;
mod crash;
mod epochs;
mod recovery;
mod retention;
mod tamper;
