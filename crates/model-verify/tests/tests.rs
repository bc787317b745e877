//! Integration tests, compiled into one binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod cli;
mod common;
mod format;
mod oms;
mod refusals;
mod signatures;
mod verify;
