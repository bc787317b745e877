//! `journal`: an encrypted, tamper-evident command-line diary, wired from
//! the workspace's crates (secure-fs, keystore-rotation,
//! encrypted-audit-log, pii-scan, pinned-downloader, model-verify and,
//! with the `ai` feature, inference-tch).
//!
//! The binary is thin: [`cli::run`] parses the command line and
//! [`commands`] wires each command to the crates. The byte formats the app
//! defines have small public decoders (for fuzzing and tests):
//!
//! - [`entry::decode_entry_plaintext`]: an entry file's plaintext;
//! - [`store::decode_index`] and [`store::decode_delta`]: the index's base
//!   snapshot and its log records;
//! - [`import::parse_jrnl_json`]: jrnl's JSON export.
//!
//! See the README for the threat model and the on-disk layout
//! ([`session`] and [`store`] document the files).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
// The app talks to its user: stdout for results, stderr for messages.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod commands;
pub mod dates;
pub mod demo;
pub mod doctor;
pub mod editor;
pub mod entry;
pub mod error;
pub mod harden;
pub mod import;
pub mod model;
pub mod passphrase;
pub mod pii;
pub mod session;
pub mod settings;
pub mod store;
pub mod timing;
pub mod ui;
