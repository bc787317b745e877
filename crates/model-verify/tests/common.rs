//! Building model directories on the real file system.

use std::path::Path;

use model_verify::{Manifest, ManifestBuilder, Sha256Digest};

/// Serializes `(name, dtype, shape, bytes)` tensors as safetensors.
pub(crate) fn safetensors(tensors: &[(&str, &str, &[u64], &[u8])]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        header.insert(
            (*name).to_owned(),
            serde_json::json!({
                "dtype": dtype,
                "shape": shape,
                "data_offsets": [data.len(), data.len() + bytes.len()],
            }),
        );
        data.extend_from_slice(bytes);
    }
    header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    let h = serde_json::to_vec(&header).unwrap();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(&data);
    out
}

/// A small valid model: config, tokenizer, two safetensors files.
pub(crate) fn write_model(dir: &Path) {
    std::fs::write(
        dir.join("config.json"),
        br#"{"model_type":"llama","hidden_size":4}"#,
    )
    .unwrap();
    std::fs::write(dir.join("tokenizer.json"), br#"{"version":"1.0"}"#).unwrap();
    let w: Vec<u8> = (0u8..32).collect();
    std::fs::write(
        dir.join("model-00001-of-00002.safetensors"),
        safetensors(&[("embed.weight", "F32", &[2, 4], &w)]),
    )
    .unwrap();
    let b: Vec<u8> = (100u8..108).collect();
    std::fs::write(
        dir.join("model-00002-of-00002.safetensors"),
        safetensors(&[("norm.bias", "F16", &[4], &b)]),
    )
    .unwrap();
}

/// A temp dir holding [`write_model`] and its manifest.
pub(crate) fn model() -> (tempfile::TempDir, Manifest) {
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path());
    let m = ManifestBuilder::new("tiny")
        .revision("r1")
        .build(dir.path())
        .unwrap();
    (dir, m)
}

/// A sha256sum-style CHECKSUMS text for the given files of `dir`.
pub(crate) fn checksums(dir: &Path, files: &[&str]) -> Manifest {
    let mut text = String::new();
    for f in files {
        let bytes = std::fs::read(dir.join(f)).unwrap();
        text.push_str(&format!("{}  {f}\n", Sha256Digest::of(&bytes)));
    }
    Manifest::parse(text.as_bytes()).unwrap()
}

pub(crate) fn data_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}
