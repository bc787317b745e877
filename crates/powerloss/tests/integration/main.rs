//! Power-loss tests: workloads run on the recording FUSE file system, then
//! every selected cut point's crash states are checked.
//!
//! Each test prints `powerloss: <test>: skipped: <why>` (straight to
//! stderr, past the test harness's capture) and passes when FUSE cannot be
//! mounted here, unless `POWERLOSS_REQUIRE` is set, when it fails instead.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod audit_log;
mod common;
mod journal;
mod keystore;
mod model;
mod secure_fs;
mod self_test;
