//! Integration tests for secure-fs, compiled into one binary.
//!
//! Every test runs under umask 000 (set by `common::dir`), so each mode
//! assertion also proves that the umask does not matter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod atomic;
mod audit;
mod common;
mod delete;
mod lock;
mod private;
mod replace;
mod symlink;
