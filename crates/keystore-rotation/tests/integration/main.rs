//! Integration tests for keystore-rotation, compiled into one binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod common;
mod crash;
mod envelopes;
mod fork;
mod keystore;
mod limits;
mod shred;
mod tampering;
mod vectors;
