//! Hostile model directories built in temp dirs: no hiding place for code,
//! pickles and binaries (issue 13 items 1, 2 and 5). Each case is run
//! through both the verifier (a manifest of the clean model, then the
//! hostile addition) and the manifest builder, which share one policy.

use std::path::Path;

use model_verify::{Error, Manifest, ManifestBuilder, Verifier};

use crate::common;

fn pickles() -> std::path::PathBuf {
    common::data_dir().join("pickles")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(pickles().join(name)).unwrap()
}

/// Writes `bytes` at `rel` under `dir`, creating parent directories.
fn put(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// A clean model and the manifest built from it before the hostile files
/// were added.
fn clean() -> (tempfile::TempDir, Manifest) {
    common::model()
}

/// Both the verifier (`verify` and `load`) and the builder refuse `dir`;
/// returns the verifier's error.
fn refused_by_both(m: &Manifest, dir: &Path, extra_ignore: &[&str]) -> Error {
    let mut v = Verifier::new(m);
    let mut b = ManifestBuilder::new("tiny");
    for ig in extra_ignore {
        v = v.ignore(*ig);
        b = b.ignore(*ig);
    }
    let e = v.verify(dir).unwrap_err();
    let e2 = v.load(dir).unwrap_err();
    assert_eq!(e.to_string(), e2.to_string());
    let e3 = v.load_each(dir).unwrap_err();
    assert_eq!(e.to_string(), e3.to_string());
    let eb = b.build(dir).unwrap_err();
    assert!(e.is_refusal() && eb.is_refusal(), "{e} / {eb}");
    e
}

fn is_code(e: &Error, at: &str) -> bool {
    match e {
        Error::CodeRefused { path, .. } | Error::Pickle { path, .. } => path == at,
        _ => false,
    }
}

/// Item 1: a directory named like an ignored file is walked like any other.
#[test]
fn directories_named_like_ignored_files_are_no_hiding_place() {
    for hole in [
        "README.md",
        ".gitignore",
        ".gitattributes",
        "model.manifest.json",
        ".git",
        ".github",
        ".git/hooks",
    ] {
        for (leaf, bytes) in [
            ("evil.py", &b"import os; os.system('id')"[..]),
            ("evil.so", b"\x7fELF\x02\x01\x01\x00"),
            ("x.pkl", b"\x80\x04K\x01."),
        ] {
            let (dir, m) = clean();
            let rel = format!("{hole}/{leaf}");
            put(dir.path(), &rel, bytes);
            let e = refused_by_both(&m, dir.path(), &[]);
            assert!(is_code(&e, &rel), "{rel}: {e}");
            // Ignoring the directory explicitly does not hide it either.
            let e = refused_by_both(&m, dir.path(), &[hole]);
            assert!(is_code(&e, &rel), "{rel} (ignored): {e}");
        }
    }
}

/// Item 1: an ignored file's content is checked too; ignore rules match
/// regular files only, so a link or FIFO under an ignored name is refused.
#[test]
fn ignored_files_are_checked_by_content_and_must_be_regular() {
    // A pickle, an ELF binary and a zip under ignored, innocent names.
    for (rel, bytes) in [
        ("README.md", fixture("proto0.pkl.bin")),
        (".gitattributes", b"\x7fELF\x02\x01\x01\x00".to_vec()),
        (".git/objects/ab/cdef", fixture("torch_zip.pt.bin")),
    ] {
        let (dir, m) = clean();
        put(dir.path(), rel, &bytes);
        let e = refused_by_both(&m, dir.path(), &[".git"]);
        assert!(is_code(&e, rel), "{rel}: {e}");
    }
    // A symlink called README.md.
    let (dir, m) = clean();
    std::os::unix::fs::symlink("config.json", dir.path().join("README.md")).unwrap();
    let e = refused_by_both(&m, dir.path(), &[]);
    assert!(
        matches!(&e, Error::Symlink { path } if path == "README.md"),
        "{e}"
    );
    // Benign ignored content still passes: a README, and a git loose object
    // (zlib-compressed "blob N\0..."), which is not a pickle.
    let (dir, m) = clean();
    put(dir.path(), "README.md", b"# tiny\n\nA test model.\n");
    // zlib.compress(b"blob 5\0hello", 1)
    let obj = [
        0x78, 0x01, 0x4b, 0xca, 0xc9, 0x4f, 0x52, 0x30, 0x65, 0xc8, 0x48, 0xcd, 0xc9, 0xc9, 0x07,
        0x00, 0x19, 0xaa, 0x04, 0x09,
    ];
    put(dir.path(), ".git/objects/ab/cdef", &obj);
    put(dir.path(), ".git/HEAD", b"ref: refs/heads/main\n");
    Verifier::new(&m).ignore(".git").verify(dir.path()).unwrap();
    ManifestBuilder::new("tiny")
        .ignore(".git")
        .build(dir.path())
        .unwrap();
}

/// Runs `bytes` under `name` as a listed file (so content checks apply
/// after the digest matched) and as an unlisted extra; returns the error.
fn listed_refusal(name: &str, bytes: &[u8]) -> Error {
    let (dir, _) = clean();
    put(dir.path(), name, bytes);
    let listed = common::checksums(
        dir.path(),
        &[
            "config.json",
            "tokenizer.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
            name,
        ],
    );
    let e = Verifier::new(&listed).verify(dir.path()).unwrap_err();
    let e2 = Verifier::new(&listed).load(dir.path()).unwrap_err();
    assert_eq!(e.to_string(), e2.to_string());
    let eb = ManifestBuilder::new("x").build(dir.path()).unwrap_err();
    assert_eq!(e.to_string(), eb.to_string());
    e
}

/// Item 2: compressed pickles, zip-based checkpoints, protocol 0/1
/// pickles, under names that say nothing.
#[test]
fn pickles_refused_by_content_under_any_name() {
    for (fixture_name, as_name, dangerous) in [
        ("proto0.pkl.bin", "vocab.txt", Some("posix.system")),
        (
            "proto1.pkl.bin",
            "tokenizer.model",
            Some("__builtin__.eval"),
        ),
        ("proto2.pkl.bin", "weights.dat", Some("posix.system")),
        ("proto5.pkl.bin", "merges.txt", Some("posix.system")),
        ("benign_proto0.pkl.bin", "data.txt", None),
        ("joblib.zlib.bin", "weights.dat", None),
    ] {
        let e = listed_refusal(as_name, &fixture(fixture_name));
        let Error::Pickle {
            path,
            dangerous: found,
            ..
        } = &e
        else {
            panic!("{fixture_name}: {e}");
        };
        assert_eq!(path, as_name);
        if let Some(d) = dangerous {
            assert_eq!(found, &[d.to_owned()], "{fixture_name}: {e}");
            assert!(e.to_string().contains(&format!("{d} [dangerous]")), "{e}");
        }
    }
    for (fixture_name, as_name) in [
        ("gzip.pkl.gz.bin", "weights.dat"),
        ("joblib.xz.bin", "weights.dat"),
        ("torch_zip.pt.bin", "weights.dat"),
        ("prefixed_zip.bin", "notes.txt"),
    ] {
        let e = listed_refusal(as_name, &fixture(fixture_name));
        assert!(
            matches!(&e, Error::CodeRefused { path, .. } if path == as_name),
            "{fixture_name}: {e}"
        );
    }
    // By name as well, listed or not.
    for name in ["x.pkl.gz", "m.joblib.xz", "w.pt", "w.bin"] {
        let (dir, m) = clean();
        put(dir.path(), name, b"whatever");
        let e = refused_by_both(&m, dir.path(), &[]);
        assert!(is_code(&e, name), "{name}: {e}");
    }
}

/// The dangerous globals reported agree with what picklescan 1.0.5 printed
/// for the same files (tests/data/pickles/PICKLESCAN.txt, made by the
/// command in make_pickles.py).
#[test]
fn dangerous_globals_match_picklescan() {
    let report = std::fs::read_to_string(pickles().join("PICKLESCAN.txt")).unwrap();
    let mut checked = 0;
    for line in report.lines() {
        let Some((file, rest)) = line.split_once(": dangerous import '") else {
            continue;
        };
        if file.contains(':') {
            continue; // inside a zip: refused as a zip here, unopened
        }
        let global = rest.trim_end_matches("' FOUND").replace(' ', ".");
        let e = listed_refusal("blob.dat", &fixture(file));
        let Error::Pickle { dangerous, .. } = &e else {
            panic!("{file}: {e}");
        };
        assert_eq!(dangerous, &[global], "{file}");
        checked += 1;
    }
    assert_eq!(checked, 4);
}

/// Item 2: ELF, Mach-O and PE binaries under any name.
#[test]
fn native_binaries_refused_by_content() {
    for (what, bytes) in [
        ("elf", &b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00"[..]),
        ("macho64", b"\xcf\xfa\xed\xfe\x07\x00\x00\x01"),
        ("macho32be", b"\xfe\xed\xfa\xce\x00\x00\x00\x07"),
        ("fat", b"\xca\xfe\xba\xbe\x00\x00\x00\x02"),
        ("pe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"),
        ("script", b"#!/bin/sh\nrm -rf ~\n"),
    ] {
        let e = listed_refusal("tokenizer.model", bytes);
        assert!(
            matches!(&e, Error::CodeRefused { path, .. } if path == "tokenizer.model"),
            "{what}: {e}"
        );
    }
}

/// Item 2: Keras and TensorFlow SavedModel layouts, by name and content.
#[test]
fn keras_and_savedmodel_layouts_are_refused() {
    for rel in [
        "saved_model.pb",
        "tf/saved_model.pbtxt",
        "keras_metadata.pb",
        "variables/variables.index",
        "variables/variables.data-00000-of-00001",
        "model.keras",
        "tf_model.h5",
        "fingerprint.pb",
        "model.tflite",
    ] {
        let (dir, m) = clean();
        put(dir.path(), rel, b"\x08\x01\x12\x00");
        let e = refused_by_both(&m, dir.path(), &[]);
        assert!(is_code(&e, rel), "{rel}: {e}");
    }
    // HDF5 (a Keras .h5) and TFLite under a neutral name.
    let mut hdf5 = b"\x89HDF\r\n\x1a\n".to_vec();
    hdf5.extend_from_slice(&[0; 64]);
    let e = listed_refusal("weights.dat", &hdf5);
    assert!(matches!(e, Error::CodeRefused { .. }), "{e}");
    let mut user_block = vec![0u8; 512];
    user_block.extend_from_slice(&hdf5);
    let e = listed_refusal("weights.dat", &user_block);
    assert!(matches!(e, Error::CodeRefused { .. }), "{e}");
    let e = listed_refusal("weights.dat", b"\x1c\x00\x00\x00TFL3\x00\x00");
    assert!(matches!(e, Error::CodeRefused { .. }), "{e}");
}

/// `modules.json` names Python classes for sentence-transformers to import.
#[test]
fn modules_json_is_refused() {
    let (dir, m) = clean();
    put(
        dir.path(),
        "modules.json",
        br#"[{"idx":0,"name":"0","path":"","type":"evil.module.Thing"}]"#,
    );
    let e = refused_by_both(&m, dir.path(), &[]);
    assert!(is_code(&e, "modules.json"), "{e}");
}

/// Writes a sharded model with an index; returns the dir.
fn sharded(index: &serde_json::Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path());
    put(
        dir.path(),
        "model.safetensors.index.json",
        &serde_json::to_vec(index).unwrap(),
    );
    dir
}

fn good_index() -> serde_json::Value {
    serde_json::json!({
        "metadata": {"total_size": 40},
        "weight_map": {
            "embed.weight": "model-00001-of-00002.safetensors",
            "norm.bias": "model-00002-of-00002.safetensors",
        }
    })
}

/// Item 2: the shard index names exactly the shards present and maps every
/// tensor to the shard that holds it.
#[test]
fn shard_index_must_match_the_shards() {
    let dir = sharded(&good_index());
    let m = ManifestBuilder::new("tiny").build(dir.path()).unwrap();
    Verifier::new(&m).load(dir.path()).unwrap();

    let mut wrong_shard = good_index();
    wrong_shard["weight_map"]["norm.bias"] = "model-00001-of-00002.safetensors".into();
    let mut absent_shard = good_index();
    absent_shard["weight_map"]["norm.bias"] = "model-00003-of-00003.safetensors".into();
    let mut missing_tensor = good_index();
    missing_tensor["weight_map"]
        .as_object_mut()
        .unwrap()
        .remove("norm.bias");
    let mut extra_tensor = good_index();
    extra_tensor["weight_map"]["lm_head.weight"] = "model-00002-of-00002.safetensors".into();
    let mut escaping = good_index();
    escaping["weight_map"]["norm.bias"] = "../model-00002-of-00002.safetensors".into();
    for (what, index) in [
        ("tensor sent to the wrong shard", wrong_shard),
        ("shard not present", absent_shard),
        ("shard present but not named", missing_tensor),
        ("tensor in no shard", extra_tensor),
        ("shard outside the directory", escaping),
    ] {
        let dir = sharded(&index);
        let listed = common::checksums(
            dir.path(),
            &[
                "config.json",
                "tokenizer.json",
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors",
                "model.safetensors.index.json",
            ],
        );
        let e = Verifier::new(&listed).verify(dir.path()).unwrap_err();
        assert!(matches!(e, Error::ShardIndex { .. }), "{what}: {e}");
        let e = Verifier::new(&listed).load(dir.path()).unwrap_err();
        assert!(matches!(e, Error::ShardIndex { .. }), "{what}: {e}");
        let e = ManifestBuilder::new("x").build(dir.path()).unwrap_err();
        assert!(matches!(e, Error::ShardIndex { .. }), "{what}: {e}");
    }
    // A third shard beside the index that the index does not name.
    let dir = sharded(&good_index());
    put(
        dir.path(),
        "extra.safetensors",
        &common::safetensors(&[("extra.w", "U8", &[1], &[7])]),
    );
    let e = ManifestBuilder::new("x").build(dir.path()).unwrap_err();
    assert!(
        matches!(&e, Error::ShardIndex { path, .. } if path == "extra.safetensors"),
        "{e}"
    );
    // Duplicate keys in the weight map are refused (which one counts?).
    let dir = sharded(&good_index());
    put(
        dir.path(),
        "model.safetensors.index.json",
        br#"{"weight_map":{"embed.weight":"model-00001-of-00002.safetensors","norm.bias":"model-00002-of-00002.safetensors","norm.bias":"model-00001-of-00002.safetensors"}}"#,
    );
    let e = ManifestBuilder::new("x").build(dir.path()).unwrap_err();
    assert!(matches!(e, Error::ShardIndex { .. }), "{e}");
}

/// Item 5: the verifier used to skip the validation of walked names that
/// the builder did; now one function decides, and a name with a terminal
/// escape in it is refused the same way by both.
#[test]
fn one_policy_for_walked_names() {
    let (dir, m) = clean();
    put(dir.path(), "notes\x1b[2J.txt", b"hello");
    let e = refused_by_both(&m, dir.path(), &[]);
    assert!(matches!(e, Error::UnsafePath { .. }), "{e}");
    // Even when ignored by a rule that covers it.
    let (dir, m) = clean();
    put(dir.path(), "docs/notes\x1b[2J.txt", b"hello");
    let e = refused_by_both(&m, dir.path(), &["docs"]);
    assert!(matches!(e, Error::UnsafePath { .. }), "{e}");
}

/// Item 6: file names in messages cannot act on the terminal.
#[test]
fn names_in_messages_are_escaped() {
    let (dir, m) = clean();
    let evil = "evil\x1b]0;pwned\x07\u{202e}gpj.py";
    put(dir.path(), evil, b"print(1)");
    let e = Verifier::new(&m).verify(dir.path()).unwrap_err();
    let shown = e.to_string();
    assert!(
        !shown.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{shown:?}"
    );
    assert!(
        shown.contains("\\u{1b}") && shown.contains("\\u{202e}"),
        "{shown}"
    );
    // A bidirectional override is not a control character: the name gets
    // through the path rules, and the message escapes it.
    let (dir, m) = clean();
    put(dir.path(), "report\u{202e}fdp.py", b"print(1)");
    let e = refused_by_both(&m, dir.path(), &[]);
    assert!(matches!(e, Error::CodeRefused { .. }), "{e}");
    let shown = e.to_string();
    assert!(
        !shown.contains('\u{202e}') && shown.contains("\\u{202e}"),
        "{shown}"
    );
    // A tensor name from a safetensors header is escaped too.
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path());
    put(
        dir.path(),
        "more.safetensors",
        &common::safetensors(&[("embed.weight", "U8", &[1], &[1])]),
    );
    std::fs::rename(
        dir.path().join("more.safetensors"),
        dir.path().join("more\x1b[31m.safetensors"),
    )
    .unwrap();
    let e = ManifestBuilder::new("x").build(dir.path()).unwrap_err();
    assert!(!e.to_string().contains('\x1b'), "{e}");
}
