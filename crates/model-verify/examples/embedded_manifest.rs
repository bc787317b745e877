//! A manifest compiled into the application: the strongest source of trust
//! short of a signature, since whoever can write the model directory cannot
//! change it.
//!
//! ```text
//! cargo run -p model-verify --example embedded_manifest -- [DIR]
//! ```
//!
//! DIR defaults to the crate's `tests/data/format/model`, which the embedded
//! manifest describes.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: an example prints

use std::process::ExitCode;

use model_verify::{Manifest, Verifier};

/// Pinned at build time, like a checksum table in the source.
const MANIFEST: &[u8] = include_bytes!("../tests/data/format/model.manifest.json");

fn main() -> ExitCode {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/format/model").to_owned()
    });
    let result = Manifest::pinned(MANIFEST).and_then(|m| {
        Verifier::new(&m)
            .require_signature() // a pinned manifest is trusted; an unsigned file would not be
            .expect_name("format-example")
            .expect_revision("r1")
            .load(&dir)
    });
    match result {
        Ok(model) => {
            // "pinned (compiled in)"
            println!("manifest: {}", model.report().authenticity());
            for f in model.files() {
                println!("{} verified ({} bytes)", f.path(), f.bytes().len());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("refused: {e}");
            ExitCode::from(3)
        }
    }
}
