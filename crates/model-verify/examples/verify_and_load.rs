//! Verify a model directory against its manifest and list its tensors.
//!
//! ```text
//! cargo run -p model-verify --example verify_and_load -- DIR [PUBKEY.pem]
//! ```
//!
//! With a public key the manifest (`DIR/model.manifest.json`) must be a
//! signed bundle; without one it proves integrity against accidents only.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: an example prints

use std::process::ExitCode;

use model_verify::{MANIFEST_FILE_NAME, Manifest, PublicKey, Verifier};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: verify_and_load DIR [PUBKEY.pem]");
        return ExitCode::from(2);
    };
    match run(&dir, args.next()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("refused: {e}");
            ExitCode::from(3)
        }
    }
}

fn run(dir: &str, pubkey: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    let bytes = std::fs::read(std::path::Path::new(dir).join(MANIFEST_FILE_NAME))?;
    let manifest = match pubkey {
        Some(p) => {
            Manifest::parse_signed(&bytes, &PublicKey::from_pem(&std::fs::read_to_string(p)?)?)?
        }
        None => Manifest::parse(&bytes)?,
    };
    let progress = |done: u64, total: u64| {
        if done == total {
            eprintln!("hashed {total} bytes");
        }
    };
    let model = Verifier::new(&manifest).on_progress(&progress).load(dir)?;
    for file in model.files() {
        println!("{} ({} bytes)", file.path(), file.bytes().len());
        if let Some(st) = file.safetensors() {
            for t in st.tensors() {
                println!("  {} {} {:?}", t.name(), t.dtype().name(), t.shape());
            }
        }
    }
    Ok(())
}
