//! Bundles made by the OpenSSF `model_signing` package (PyPI, 1.1.1) with
//! its key-based method; see tests/data/oms/make_fixtures.py.

use model_verify::{Authenticity, Error, HashMethod, Manifest, PublicKey, Verifier};

use crate::common;

fn oms() -> std::path::PathBuf {
    common::data_dir().join("oms")
}

fn key(name: &str) -> PublicKey {
    PublicKey::from_pem(&std::fs::read_to_string(oms().join(name)).unwrap()).unwrap()
}

fn bundle(name: &str) -> Vec<u8> {
    std::fs::read(oms().join(name)).unwrap()
}

#[test]
fn files_bundle_p256_verifies() {
    let m = Manifest::parse_signed(&bundle("files-p256.sig"), &key("p256.pub")).unwrap();
    assert_eq!(m.authenticity(), Authenticity::Signed);
    assert_eq!(m.name(), Some("model"));
    assert_eq!(m.method(), HashMethod::Files);
    assert_eq!(m.entries().len(), 3);
    let model = Verifier::new(&m)
        .expect_name("model")
        .load(oms().join("model"))
        .unwrap();
    let st = model
        .file("model.safetensors")
        .unwrap()
        .safetensors()
        .unwrap();
    assert_eq!(st.tensor("embed.weight").unwrap().shape(), &[8, 4]);
    assert_eq!(st.metadata().get("format").map(String::as_str), Some("pt"));
}

#[test]
fn files_bundle_p384_verifies() {
    let m = Manifest::parse_signed(&bundle("files-p384.sig"), &key("p384.pub")).unwrap();
    Verifier::new(&m).verify(oms().join("model")).unwrap();
}

#[test]
fn shards_bundle_verifies() {
    let m = Manifest::parse_signed(&bundle("shards-p256.sig"), &key("p256.pub")).unwrap();
    assert_eq!(m.method(), HashMethod::Shards { shard_size: 64 });
    let st = m
        .entries()
        .iter()
        .find(|e| e.path() == "model.safetensors")
        .unwrap();
    assert_eq!(
        st.size(),
        Some(
            std::fs::metadata(oms().join("model/model.safetensors"))
                .unwrap()
                .len()
        )
    );
    Verifier::new(&m)
        .threads(4)
        .load(oms().join("model"))
        .unwrap();
}

#[test]
fn wrong_key_is_refused() {
    assert!(matches!(
        Manifest::parse_signed(&bundle("files-p256.sig"), &key("other.pub")),
        Err(Error::BadSignature)
    ));
    assert!(matches!(
        Manifest::parse_signed(&bundle("files-p256.sig"), &key("p384.pub")),
        Err(Error::BadSignature)
    ));
}

#[test]
fn tampered_model_is_refused_against_oms_bundle() {
    let m = Manifest::parse_signed(&bundle("shards-p256.sig"), &key("p256.pub")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::copy(oms().join("model").join(f), dir.path().join(f)).unwrap();
    }
    Verifier::new(&m).verify(dir.path()).unwrap();
    let p = dir.path().join("model.safetensors");
    let mut b = std::fs::read(&p).unwrap();
    let n = b.len();
    b[n - 1] ^= 0x40;
    std::fs::write(&p, &b).unwrap();
    let e = Verifier::new(&m).verify(dir.path()).unwrap_err();
    assert!(
        matches!(&e, Error::DigestMismatch { path, shard: Some((256, 320)) } if path == "model.safetensors"),
        "{e}"
    );
}

#[test]
fn our_public_key_hint_matches_model_signing() {
    // model_signing writes sha256(PEM of the public key) as the hint; ours
    // must agree or every OMS bundle would be refused.
    let v: serde_json::Value = serde_json::from_slice(&bundle("files-p256.sig")).unwrap();
    assert_eq!(
        v["verificationMaterial"]["publicKey"]["hint"]
            .as_str()
            .unwrap(),
        key("p256.pub").hint()
    );
}

/// The other direction: a manifest written by this crate, signed with the
/// P-256 key the way model_signing signs, was verified by model_signing
/// 1.1.1 itself (tests/data/oms/make_interop.py); it verifies here too, with
/// our extensions (revision, sizes) intact.
#[test]
fn our_manifest_in_an_oms_bundle_verifies_in_both() {
    let m = Manifest::parse_signed(&bundle("interop-p256.sig"), &key("p256.pub")).unwrap();
    assert_eq!(m.name(), Some("format-example"));
    assert_eq!(m.revision(), Some("r1"));
    assert!(m.entries().iter().all(|e| e.size().is_some()));
    Verifier::new(&m)
        .expect_revision("r1")
        .verify(common::data_dir().join("format/model"))
        .unwrap();
}
