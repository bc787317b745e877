//! Integration tests, compiled into one binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod cli;
mod common;
mod each;
mod format;
mod hostile;
mod interop;
mod oms;
mod refusals;
mod signatures;
mod trust;
mod verify;
