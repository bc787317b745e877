//! The shard-at-a-time path (issue 13 item 8): the whole model verified
//! first, then one file at a time handed over.

use model_verify::{Error, Verifier};

use crate::common;

#[test]
fn load_each_hands_over_the_same_verified_files() {
    let (dir, m) = common::model();
    let all = Verifier::new(&m).load(dir.path()).unwrap();
    let each = Verifier::new(&m).load_each(dir.path()).unwrap();
    assert_eq!(each.report(), all.report());
    let mut n = 0;
    for (f, g) in each.zip(all.files()) {
        let f = f.unwrap();
        assert_eq!(f.path(), g.path());
        assert_eq!(f.bytes(), g.bytes());
        assert_eq!(f.sha256(), g.sha256());
        assert_eq!(
            f.safetensors().map(|s| s.tensors().count()),
            g.safetensors().map(|s| s.tensors().count())
        );
        n += 1;
    }
    assert_eq!(n, 4);
}

#[test]
fn nothing_is_handed_over_before_the_whole_model_verified() {
    let (dir, m) = common::model();
    // The last file in manifest order is bad: load_each fails up front,
    // before yielding the first.
    let p = dir.path().join("tokenizer.json");
    std::fs::write(&p, br#"{"version":"2.0"}"#).unwrap();
    let e = Verifier::new(&m).load_each(dir.path()).unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
}

#[test]
fn a_file_changed_after_verification_is_refused_when_handed_over() {
    let (dir, m) = common::model();
    let mut each = Verifier::new(&m).load_each(dir.path()).unwrap();
    // Rewrite the second safetensors file in place (same size) after the
    // verification pass: the handle sees the new bytes, which no longer
    // hash as verified.
    let p = dir.path().join("model-00002-of-00002.safetensors");
    let mut b = std::fs::read(&p).unwrap();
    *b.last_mut().unwrap() ^= 0xff;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &b))
        .unwrap();
    let mut results = Vec::new();
    for r in each.by_ref() {
        results.push(r.map(|f| f.path().to_owned()));
    }
    let failed: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert_eq!(failed.len(), 1, "{results:?}");
    assert!(matches!(
        results.last().unwrap(),
        Err(Error::FileChanged { path }) if path == "model-00002-of-00002.safetensors"
    ));
    assert!(each.next().is_none());
}
