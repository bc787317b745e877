//! Integration tests: real TLS servers on 127.0.0.1, certificates made by
//! rcgen at test time, honest and hostile. No mocks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod support;

mod cli;
mod pins;
mod policy;
mod proxy;
mod resume;
mod sizes;
mod timeouts;
