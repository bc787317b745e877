//! Integration tests for encrypted-audit-log, compiled into one binary.
//! Everything runs on the real file system, with real processes for the
//! lock and kill tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod basics;
mod common;
mod crash;
mod epochs;
mod retention;
mod roundtrip;
mod tamper;
mod truncation;
