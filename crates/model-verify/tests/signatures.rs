//! Ed25519-signed manifests.

use model_verify::{Authenticity, Error, Manifest, PublicKey, SigningKey, Verifier};

use crate::common;

#[test]
fn sign_then_verify_with_the_right_key_only() {
    let (dir, m) = common::model();
    let key = SigningKey::generate().unwrap();
    let bundle = m.to_signed_json(&key);
    let signed = Manifest::parse_signed(bundle.as_bytes(), &key.public_key()).unwrap();
    assert_eq!(signed.authenticity(), Authenticity::Signed);
    assert_eq!(signed.entries(), m.entries());
    let r = Verifier::new(&signed).verify(dir.path()).unwrap();
    assert_eq!(r.authenticity(), Authenticity::Signed);

    // Another key: refused (the hint names the signer's key).
    let other = SigningKey::generate().unwrap();
    assert!(matches!(
        Manifest::parse_signed(bundle.as_bytes(), &other.public_key()),
        Err(Error::BadSignature)
    ));
    // Without a hint, the signature itself fails.
    let v: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    let mut no_hint = v;
    no_hint["verificationMaterial"]["publicKey"]["hint"] = "".into();
    assert!(matches!(
        Manifest::parse_signed(no_hint.to_string().as_bytes(), &other.public_key()),
        Err(Error::BadSignature)
    ));
    Manifest::parse_signed(no_hint.to_string().as_bytes(), &key.public_key()).unwrap();

    // Parsing without a key still works, but says so.
    let unchecked = Manifest::parse(bundle.as_bytes()).unwrap();
    assert_eq!(unchecked.authenticity(), Authenticity::Unauthenticated);
}

#[test]
fn tampered_payload_or_signature_is_refused() {
    let (_dir, m) = common::model();
    let key = SigningKey::generate().unwrap();
    let bundle: serde_json::Value = serde_json::from_str(&m.to_signed_json(&key)).unwrap();
    let payload = bundle["dsseEnvelope"]["payload"]
        .as_str()
        .unwrap()
        .to_owned();
    let decoded = data_encoding_decode(&payload);
    let evil = String::from_utf8(decoded)
        .unwrap()
        .replace("\"r1\"", "\"r2\"");
    let mut t = bundle.clone();
    t["dsseEnvelope"]["payload"] = data_encoding_encode(evil.as_bytes()).into();
    assert!(matches!(
        Manifest::parse_signed(t.to_string().as_bytes(), &key.public_key()),
        Err(Error::BadSignature)
    ));

    let mut t = bundle.clone();
    let sig = t["dsseEnvelope"]["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut raw = data_encoding_decode(&sig);
    raw[5] ^= 1;
    t["dsseEnvelope"]["signatures"][0]["sig"] = data_encoding_encode(&raw).into();
    assert!(matches!(
        Manifest::parse_signed(t.to_string().as_bytes(), &key.public_key()),
        Err(Error::BadSignature)
    ));

    let mut t = bundle;
    t["dsseEnvelope"]["signatures"] = serde_json::json!([]);
    assert!(matches!(
        Manifest::parse_signed(t.to_string().as_bytes(), &key.public_key()),
        Err(Error::Unsigned)
    ));
}

#[test]
fn unsigned_manifest_with_a_key_is_refused() {
    let (_dir, m) = common::model();
    let key = SigningKey::generate().unwrap();
    assert!(matches!(
        Manifest::parse_signed(m.to_json().as_bytes(), &key.public_key()),
        Err(Error::Unsigned)
    ));
    let sums = format!("{}  a\n", "0".repeat(64));
    assert!(matches!(
        Manifest::parse_signed(sums.as_bytes(), &key.public_key()),
        Err(Error::Unsigned)
    ));
}

#[test]
fn key_files_are_openssl_pem() {
    // Made with: openssl genpkey -algorithm ed25519 -out ed25519.key;
    //            openssl pkey -in ed25519.key -pubout -out ed25519.pub
    let d = common::data_dir().join("keys");
    let sk = SigningKey::from_pem_file(d.join("ed25519.key")).unwrap();
    assert!(matches!(
        SigningKey::from_pem_file(d.join("missing.key")),
        Err(Error::Io { .. })
    ));
    let pk = PublicKey::from_pem(&std::fs::read_to_string(d.join("ed25519.pub")).unwrap()).unwrap();
    assert_eq!(sk.public_key().to_pem(), pk.to_pem());
    assert_eq!(
        pk.to_pem(),
        std::fs::read_to_string(d.join("ed25519.pub")).unwrap()
    );
    assert!(matches!(
        PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        Err(Error::Key { .. })
    ));
    let e = SigningKey::from_pkcs8_pem(&std::fs::read_to_string(d.join("ed25519.pub")).unwrap())
        .unwrap_err();
    assert!(!e.is_refusal());
}

fn data_encoding_decode(s: &str) -> Vec<u8> {
    data_encoding::BASE64.decode(s.as_bytes()).unwrap()
}

fn data_encoding_encode(b: &[u8]) -> String {
    data_encoding::BASE64.encode(b)
}
