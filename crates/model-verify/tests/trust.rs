//! Signatures that can be required, and manifests compiled in (issue 13
//! item 3).

use model_verify::{Authenticity, Error, Manifest, SigningKey, Verifier};

use crate::common;

/// Compiled into this test binary, as an application would.
static PINNED: &[u8] = include_bytes!("data/format/model.manifest.json");

#[test]
fn unsigned_manifest_is_refused_when_a_signature_is_required() {
    let (dir, m) = common::model();
    assert_eq!(m.authenticity(), Authenticity::Unauthenticated);
    // Default: verifies, and says it is unauthenticated.
    let r = Verifier::new(&m).verify(dir.path()).unwrap();
    assert_eq!(r.authenticity(), Authenticity::Unauthenticated);
    assert_eq!(r.authenticity().to_string(), "unauthenticated");
    // Required: refused before anything is read, by verify, load and load_each.
    let v = Verifier::new(&m).require_signature();
    assert!(matches!(
        v.verify(dir.path()),
        Err(Error::SignatureRequired)
    ));
    assert!(matches!(v.load(dir.path()), Err(Error::SignatureRequired)));
    assert!(matches!(
        v.load_each(dir.path()),
        Err(Error::SignatureRequired)
    ));
    assert!(Error::SignatureRequired.is_refusal());
    // A bundle whose signature was not checked (parse) is refused too.
    let key = SigningKey::generate().unwrap();
    let bundle = m.to_signed_json(&key);
    let unchecked = Manifest::parse(bundle.as_bytes()).unwrap();
    assert!(matches!(
        Verifier::new(&unchecked)
            .require_signature()
            .verify(dir.path()),
        Err(Error::SignatureRequired)
    ));
    // Checked: accepted.
    let signed = Manifest::parse_signed(bundle.as_bytes(), &key.public_key()).unwrap();
    let r = Verifier::new(&signed)
        .require_signature()
        .verify(dir.path())
        .unwrap();
    assert_eq!(r.authenticity(), Authenticity::Signed);
}

#[test]
fn compiled_in_manifest_reports_pinned() {
    let m = Manifest::pinned(PINNED).unwrap();
    assert_eq!(m.authenticity(), Authenticity::Pinned);
    let r = Verifier::new(&m)
        .require_signature()
        .verify(common::data_dir().join("format/model"))
        .unwrap();
    assert_eq!(r.authenticity(), Authenticity::Pinned);
    assert_eq!(r.authenticity().to_string(), "pinned (compiled in)");
    assert!(r.authenticity().is_trusted());
    assert!(!Authenticity::Unauthenticated.is_trusted());
}
