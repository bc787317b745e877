//! The happy path, sharding, progress, and the time-of-use guarantee.

use std::sync::atomic::{AtomicU64, Ordering};

use model_verify::{Authenticity, Dtype, Error, HashMethod, Manifest, ManifestBuilder, Verifier};

use crate::common;

#[test]
fn build_verify_load_round_trip() {
    let (dir, m) = common::model();
    assert_eq!(m.name(), Some("tiny"));
    assert_eq!(m.revision(), Some("r1"));
    assert_eq!(m.entries().len(), 4);
    let parsed = Manifest::parse(m.to_json().as_bytes()).unwrap();
    assert_eq!(parsed, m);

    let report = Verifier::new(&parsed)
        .expect_name("tiny")
        .expect_revision("r1")
        .verify(dir.path())
        .unwrap();
    assert_eq!(report.files().len(), 4);
    assert_eq!(report.authenticity(), Authenticity::Unauthenticated);
    let total: u64 = report.files().iter().map(|f| f.size).sum();
    assert_eq!(report.total_bytes(), total);

    let model = Verifier::new(&parsed).load(dir.path()).unwrap();
    let f = model.file("model-00001-of-00002.safetensors").unwrap();
    assert_eq!(f.bytes(), std::fs::read(dir.path().join(f.path())).unwrap());
    let st = f.safetensors().unwrap();
    let t = st.tensor("embed.weight").unwrap();
    assert_eq!(t.dtype(), Dtype::F32);
    assert_eq!(t.shape(), &[2, 4]);
    assert_eq!(t.data(), (0u8..32).collect::<Vec<_>>().as_slice());
    assert!(model.file("config.json").unwrap().safetensors().is_none());
    // Across files, by name.
    assert_eq!(model.tensor("norm.bias").unwrap().dtype(), Dtype::F16);
    assert!(model.tensor("nope").is_none());
    let names: Vec<&str> = model.tensors().map(|t| t.name()).collect();
    assert_eq!(names, ["embed.weight", "norm.bias"]);
}

#[test]
fn ignored_files_may_be_present_and_manifest_is_not_listed() {
    let (dir, m) = common::model();
    std::fs::write(dir.path().join("README.md"), "# model card").unwrap();
    std::fs::write(
        dir.path().join(".gitattributes"),
        "*.safetensors filter=lfs",
    )
    .unwrap();
    std::fs::write(dir.path().join("model.manifest.json"), m.to_json()).unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/HEAD"), "ref").unwrap();
    Verifier::new(&m).ignore(".git").verify(dir.path()).unwrap();
    // Without the extra ignore, .git/HEAD is an unlisted file.
    assert!(matches!(
        Verifier::new(&m).verify(dir.path()),
        Err(Error::UnlistedFile { path }) if path == ".git/HEAD"
    ));
}

#[test]
fn sharded_manifest_verifies_and_names_the_bad_shard() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path());
    let big: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(
        dir.path().join("big.safetensors"),
        common::safetensors(&[("x", "U8", &[1000], &big)]),
    )
    .unwrap();
    let m = ManifestBuilder::new("tiny")
        .method(HashMethod::Shards { shard_size: 64 })
        .build(dir.path())
        .unwrap();
    assert_eq!(m.method(), HashMethod::Shards { shard_size: 64 });
    let json = m.to_json();
    assert!(json.contains("\"method\": \"shards\""));
    assert!(json.contains("sha256-sharded-64"));
    let parsed = Manifest::parse(json.as_bytes()).unwrap();
    assert_eq!(parsed, m);
    let model = Verifier::new(&parsed).threads(3).load(dir.path()).unwrap();
    assert_eq!(
        model
            .file("big.safetensors")
            .unwrap()
            .safetensors()
            .unwrap()
            .tensor("x")
            .unwrap()
            .data(),
        big.as_slice()
    );
    Verifier::new(&parsed).verify(dir.path()).unwrap();

    // Flip one byte at offset 200: shard 3 (192..256).
    let p = dir.path().join("big.safetensors");
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[200] ^= 1;
    std::fs::write(&p, &bytes).unwrap();
    assert!(matches!(
        Verifier::new(&parsed).verify(dir.path()),
        Err(Error::DigestMismatch { path, shard: Some((192, 256)) }) if path == "big.safetensors"
    ));
}

#[test]
fn progress_hook_reaches_total() {
    let (dir, m) = common::model();
    let last = AtomicU64::new(0);
    let total = AtomicU64::new(0);
    let hook = |d: u64, t: u64| {
        last.fetch_max(d, Ordering::Relaxed);
        total.store(t, Ordering::Relaxed);
    };
    let r = Verifier::new(&m)
        .on_progress(&hook)
        .verify(dir.path())
        .unwrap();
    assert_eq!(total.load(Ordering::Relaxed), r.total_bytes());
    assert_eq!(last.load(Ordering::Relaxed), r.total_bytes());
}

/// The loader reads the verified bytes: replacing the file on disk after
/// verification (rename over it, or rewrite it in place) changes nothing.
#[test]
fn replaced_file_after_verification_is_not_what_is_loaded() {
    let (dir, m) = common::model();
    let name = "model-00001-of-00002.safetensors";
    let path = dir.path().join(name);
    let original = std::fs::read(&path).unwrap();
    let model = Verifier::new(&m).load(dir.path()).unwrap();

    // Attacker 1: atomic replace with different weights of the same shape.
    let evil_w = vec![0xEEu8; 32];
    let evil = common::safetensors(&[("embed.weight", "F32", &[2, 4], &evil_w)]);
    assert_eq!(evil.len(), original.len());
    let tmp = dir.path().join("evil.tmp");
    std::fs::write(&tmp, &evil).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    // Attacker 2: rewrite the (new) file in place too.
    std::fs::write(&path, &evil).unwrap();

    let f = model.file(name).unwrap();
    assert_eq!(f.bytes(), original.as_slice());
    assert_eq!(f.sha256(), Some(model_verify::Sha256Digest::of(&original)));
    let t = f.safetensors().unwrap().tensor("embed.weight").unwrap();
    assert_eq!(t.data(), (0u8..32).collect::<Vec<_>>().as_slice());
    // And verifying again now refuses.
    assert!(matches!(
        Verifier::new(&m).load(dir.path()),
        Err(Error::DigestMismatch { .. })
    ));
}

#[test]
fn into_files_hands_out_owned_bytes() {
    let (dir, m) = common::model();
    let files = Verifier::new(&m).load(dir.path()).unwrap().into_files();
    assert_eq!(files.len(), 4);
    let cfg = files
        .into_iter()
        .find(|f| f.path() == "config.json")
        .unwrap();
    assert_eq!(
        cfg.into_bytes(),
        br#"{"model_type":"llama","hidden_size":4}"#
    );
}

/// Changes made *during* verification, injected deterministically from the
/// progress hook (called after each chunk is hashed): a file that shrinks
/// or grows is refused as changed, one rewritten in place fails its digest;
/// nothing but the verified bytes is ever handed out.
#[test]
fn file_changed_during_verification_is_refused() {
    use std::io::Write as _;
    use std::sync::atomic::AtomicBool;

    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 253) as u8).collect();
    let original = common::safetensors(&[("w", "U8", &[1 << 20], &data)]);
    let path = dir.path().join("model.safetensors");
    std::fs::write(&path, &original).unwrap();
    let m = ManifestBuilder::new("m").build(dir.path()).unwrap();

    type Tamper = fn(&std::path::Path);
    let shrink: Tamper = |p| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(1000)
            .unwrap();
    };
    let grow: Tamper = |p| {
        std::fs::OpenOptions::new()
            .append(true)
            .open(p)
            .unwrap()
            .write_all(b"x")
            .unwrap();
    };
    let rewrite: Tamper = |p| {
        let len = std::fs::metadata(p).unwrap().len();
        let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        f.write_all(&vec![0xAB; usize::try_from(len).unwrap()])
            .unwrap();
    };
    for (what, tamper) in [("shrink", shrink), ("grow", grow), ("rewrite", rewrite)] {
        for load in [false, true] {
            std::fs::write(&path, &original).unwrap();
            let done = AtomicBool::new(false);
            let hook = |_: u64, _: u64| {
                if !done.swap(true, Ordering::SeqCst) {
                    tamper(&path);
                }
            };
            let v = Verifier::new(&m).threads(1).on_progress(&hook);
            let e = if load {
                v.load(dir.path()).map(|_| ()).unwrap_err()
            } else {
                v.verify(dir.path()).map(|_| ()).unwrap_err()
            };
            let ok = match what {
                "rewrite" => {
                    matches!(&e, Error::DigestMismatch { path, .. } if path == "model.safetensors")
                }
                _ => matches!(&e, Error::FileChanged { path } if path == "model.safetensors"),
            };
            assert!(ok, "{what} (load: {load}): {e}");
        }
    }
}

/// Manifests without sizes (CHECKSUMS, OMS `files` bundles): a file over
/// the bound is refused before it is read, by `verify` and by `load`; files
/// the manifest gives a size for are bounded by that size instead.
#[test]
fn size_less_manifest_bounds_each_file() {
    let (dir, sized) = common::model();
    let files = [
        "config.json",
        "tokenizer.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ];
    let m = common::checksums(dir.path(), &files);
    let biggest = std::fs::metadata(dir.path().join("model-00001-of-00002.safetensors"))
        .unwrap()
        .len();
    let small = |m| Verifier::new(m).max_unsized_file(biggest - 1);
    for e in [
        small(&m).verify(dir.path()).unwrap_err(),
        small(&m).load(dir.path()).unwrap_err(),
    ] {
        assert!(
            matches!(&e, Error::TooLarge { path, size, limit }
                if path == "model-00001-of-00002.safetensors" && *size == biggest && *limit == biggest - 1),
            "{e}"
        );
        assert!(e.is_refusal());
    }
    Verifier::new(&m)
        .max_unsized_file(biggest)
        .load(dir.path())
        .unwrap();
    // A manifest with sizes is not subject to the bound.
    small(&sized).load(dir.path()).unwrap();
}

/// An attacker who enlarges a file listed without a size (here to a sparse
/// 1 TiB) gets a refusal at once, not a 1 TiB read into memory.
#[test]
fn enlarged_file_of_a_size_less_manifest_is_refused_unread() {
    let (dir, _) = common::model();
    let m = common::checksums(dir.path(), &["config.json", "tokenizer.json"]);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("config.json"))
        .unwrap();
    f.set_len(1 << 40).unwrap();
    drop(f);
    let v = Verifier::new(&m)
        .ignore("model-00001-of-00002.safetensors")
        .ignore("model-00002-of-00002.safetensors");
    let e = v.load(dir.path()).unwrap_err();
    assert!(
        matches!(&e, Error::TooLarge { path, size, .. } if path == "config.json" && *size == 1 << 40),
        "{e}"
    );
}

/// Size-less files are hashed streaming, then read and hashed again: the
/// bytes handed out are the file, and progress counts both passes.
#[test]
fn size_less_load_hands_out_the_verified_bytes() {
    let (dir, _) = common::model();
    let files = [
        "config.json",
        "tokenizer.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ];
    let m = common::checksums(dir.path(), &files);
    let last = AtomicU64::new(0);
    let total = AtomicU64::new(0);
    let hook = |d: u64, t: u64| {
        last.fetch_max(d, Ordering::Relaxed);
        total.store(t, Ordering::Relaxed);
    };
    let model = Verifier::new(&m)
        .on_progress(&hook)
        .load(dir.path())
        .unwrap();
    for f in files {
        assert_eq!(
            model.file(f).unwrap().bytes(),
            std::fs::read(dir.path().join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(model.tensor("embed.weight").is_some());
    let bytes = model.report().total_bytes();
    assert_eq!(total.load(Ordering::Relaxed), 2 * bytes);
    assert_eq!(last.load(Ordering::Relaxed), 2 * bytes);
    // A tampered size-less file is refused and nothing is handed out.
    std::fs::write(dir.path().join("tokenizer.json"), br#"{"version":"2.0"}"#).unwrap();
    assert!(matches!(
        Verifier::new(&m).load(dir.path()),
        Err(Error::DigestMismatch { path, .. }) if path == "tokenizer.json"
    ));
}

/// Caller ignore paths go through the manifest path rules; a trailing `/`
/// (a directory) is removed, as for the manifest's own `ignore_paths`.
#[test]
fn caller_ignore_paths_are_normalized_and_checked() {
    let (dir, m) = common::model();
    std::fs::create_dir_all(dir.path().join("extra/sub")).unwrap();
    std::fs::write(dir.path().join("extra/sub/notes.txt"), "x").unwrap();
    Verifier::new(&m)
        .ignore("extra/")
        .verify(dir.path())
        .unwrap();
    Verifier::new(&m)
        .ignore("extra//")
        .load(dir.path())
        .unwrap();
    Verifier::new(&m)
        .ignore_only(["extra/sub/"])
        .verify(dir.path())
        .unwrap();
    for bad in [
        "../extra",
        "/etc",
        "/",
        "./extra",
        "extra/../extra",
        "a\\b",
        "a\nb",
        "",
    ] {
        let e = Verifier::new(&m)
            .ignore(bad)
            .verify(dir.path())
            .unwrap_err();
        assert!(matches!(e, Error::UnsafePath { .. }), "{bad:?}: {e}");
        let e = Verifier::new(&m)
            .ignore_only(["extra", bad])
            .load(dir.path())
            .unwrap_err();
        assert!(matches!(e, Error::UnsafePath { .. }), "{bad:?}: {e}");
    }
    // The builder normalizes the same way and records the trimmed path.
    let built = ManifestBuilder::new("tiny")
        .ignore("extra/")
        .build(dir.path())
        .unwrap();
    assert_eq!(built.ignore_paths(), ["extra"]);
    Verifier::new(&built).verify(dir.path()).unwrap();
    assert!(matches!(
        ManifestBuilder::new("tiny")
            .ignore("../x")
            .build(dir.path()),
        Err(Error::UnsafePath { .. })
    ));
}
