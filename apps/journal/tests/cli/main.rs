//! Black-box tests of the `journal` binary against the command-line contract
//! of DESIGN.md §4 (commands, exit codes, passphrase sources, data-dir
//! resolution, `--json` on stdout only) and the on-disk promises of issue 16
//! (modes under umask 000, names, no plaintext, corruption, concurrent
//! writers, SIGKILL at varied points, the editor flow).
//!
//! Every test drives the built binary as a user would: a fresh data dir, a
//! passphrase file, stdin that is not a terminal, `$XDG_RUNTIME_DIR` on a
//! private directory of a memory file system. Nothing here reads the app's
//! internals; files under the data dir are found by what commands change.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::cast_possible_truncation
)]

mod audit;
mod commands;
mod common;
mod concurrency;
mod corruption;
mod disk;
mod editor;
mod import_export;
mod keys;
mod model_fetch;
mod pii;
mod sigkill;
