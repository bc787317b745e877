//! model-verify: the content rules run on a model's files (config.json's
//! remote-code refusal, `*.safetensors.index.json` and its cross-file
//! checks, `.npy` headers, safetensors headers, pickle and code sniffing)
//! through the public API on a real directory. Input: one byte choosing
//! the file name, then the file's bytes; beside it lies a valid tiny
//! `model.safetensors` (tensor `w`).
//!
//! Properties: no panic; building a manifest and verifying against it
//! apply one policy: when `ManifestBuilder::build` accepts the directory,
//! `Verifier::verify` and `Verifier::load` accept it too, with every file
//! listed. Writes files: runs in `$TMPDIR` (`cargo xtask fuzz` sets
//! `/dev/shm`).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use model_verify::{ManifestBuilder, Verifier};

const NAMES: [&str; 6] = [
    "config.json",
    "model.safetensors.index.json",
    "weights.npy",
    "extra.safetensors",
    "generation_config.json",
    "notes.txt",
];

/// A valid safetensors file holding one F32 tensor `w` of shape [2].
fn tiny_safetensors() -> Vec<u8> {
    let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(header);
    b.extend_from_slice(&[0; 8]);
    b
}

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| std::env::temp_dir().join(format!("model-content-{}", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let dir = dir();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("model dir");
    std::fs::write(dir.join("model.safetensors"), tiny_safetensors()).expect("write");
    std::fs::write(dir.join(name), content).expect("write");
    let Ok(manifest) = ManifestBuilder::new("fuzz").threads(1).build(dir) else {
        return;
    };
    let report = Verifier::new(&manifest).threads(1).verify(dir);
    let report = report.unwrap_or_else(|e| panic!("built, then refused by verify: {e}"));
    assert_eq!(report.files().len(), manifest.entries().len());
    let loaded = Verifier::new(&manifest).threads(1).load(dir);
    assert!(
        loaded.is_ok(),
        "built, then refused by load: {:?}",
        loaded.err()
    );
});
