//! The test vectors of FORMAT.md: the exact bytes of a manifest and of a
//! signed bundle for the model in tests/data/format/model.

use model_verify::{HashMethod, Manifest, ManifestBuilder, SigningKey, Verifier};

use crate::common;

fn vectors() -> std::path::PathBuf {
    common::data_dir().join("format")
}

/// Set MODEL_VERIFY_REGENERATE=1 to rewrite the vectors after an
/// intentional format change (and update FORMAT.md to match).
fn check_or_write(name: &str, actual: &str) {
    let path = vectors().join(name);
    if std::env::var_os("MODEL_VERIFY_REGENERATE").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(actual, expected, "{name} differs from the committed vector");
}

#[test]
fn manifest_vector() {
    let m = ManifestBuilder::new("format-example")
        .revision("r1")
        .build(vectors().join("model"))
        .unwrap();
    check_or_write("model.manifest.json", &m.to_json());
    let parsed =
        Manifest::parse(&std::fs::read(vectors().join("model.manifest.json")).unwrap()).unwrap();
    assert_eq!(parsed, m);
    Verifier::new(&parsed)
        .verify(vectors().join("model"))
        .unwrap();
}

#[test]
fn sharded_manifest_vector() {
    let m = ManifestBuilder::new("format-example")
        .method(HashMethod::Shards { shard_size: 16 })
        .build(vectors().join("model"))
        .unwrap();
    check_or_write("sharded.manifest.json", &m.to_json());
}

#[test]
fn signed_bundle_vector() {
    // Ed25519 signatures are deterministic (RFC 8032), so the bundle is too.
    let key = SigningKey::from_pkcs8_pem(
        &std::fs::read_to_string(common::data_dir().join("keys/ed25519.key")).unwrap(),
    )
    .unwrap();
    let m = ManifestBuilder::new("format-example")
        .revision("r1")
        .build(vectors().join("model"))
        .unwrap();
    check_or_write("model.manifest.signed.json", &m.to_signed_json(&key));
    let signed = Manifest::parse_signed(
        &std::fs::read(vectors().join("model.manifest.signed.json")).unwrap(),
        &key.public_key(),
    )
    .unwrap();
    assert_eq!(signed.entries(), m.entries());
}

#[test]
fn checksums_vector() {
    let m = Manifest::parse(&std::fs::read(vectors().join("CHECKSUMS")).unwrap()).unwrap();
    assert_eq!(m.name(), None);
    Verifier::new(&m)
        .ignore_only(["CHECKSUMS"])
        .verify(vectors().join("model"))
        .unwrap();
}
