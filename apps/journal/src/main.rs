//! The `journal` binary: everything is in the library; see `journal --help`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    journal::cli::run()
}
