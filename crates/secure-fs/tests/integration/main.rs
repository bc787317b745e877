//! Integration tests for secure-fs, compiled into one binary.
//!
//! No test changes the umask of the test process (other tests run in
//! parallel threads): the tests that check modes under umask 000 and 077
//! run in a child process of their own (`common::under_umask`).
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
