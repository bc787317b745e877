//! One fixture per refusal; each fails if its check is removed.

use std::os::unix::fs::symlink;

use model_verify::{Error, Manifest, ManifestBuilder, Verifier};

use crate::common;

fn refuse(m: &Manifest, dir: &std::path::Path) -> Error {
    let e = Verifier::new(m).verify(dir).unwrap_err();
    // load() must refuse for the same reason.
    let e2 = Verifier::new(m).load(dir).unwrap_err();
    assert_eq!(e.to_string(), e2.to_string());
    assert!(e.is_refusal(), "{e}");
    e
}

#[test]
fn missing_listed_file() {
    let (dir, m) = common::model();
    std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
    let e = refuse(&m, dir.path());
    assert!(
        matches!(&e, Error::MissingFile { path } if path == "tokenizer.json"),
        "{e}"
    );
    assert!(e.to_string().contains("tokenizer.json"));
}

#[test]
fn size_mismatch() {
    let (dir, m) = common::model();
    std::fs::write(
        dir.path().join("tokenizer.json"),
        br#"{"version":"1.0", "x":1}"#,
    )
    .unwrap();
    let e = refuse(&m, dir.path());
    assert!(
        matches!(&e, Error::SizeMismatch { path, expected: 17, actual: 24 } if path == "tokenizer.json"),
        "{e}"
    );
}

#[test]
fn digest_mismatch_same_size() {
    let (dir, m) = common::model();
    std::fs::write(dir.path().join("tokenizer.json"), br#"{"version":"2.0"}"#).unwrap();
    let e = refuse(&m, dir.path());
    assert!(
        matches!(&e, Error::DigestMismatch { path, shard: None } if path == "tokenizer.json"),
        "{e}"
    );
}

#[test]
fn digest_mismatch_from_checksums_file() {
    let (dir, _) = common::model();
    let m = common::checksums(
        dir.path(),
        &[
            "config.json",
            "tokenizer.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
        ],
    );
    Verifier::new(&m).verify(dir.path()).unwrap();
    std::fs::write(dir.path().join("config.json"), br#"{"model_type":"gpt2"}"#).unwrap();
    assert!(
        matches!(refuse(&m, dir.path()), Error::DigestMismatch { path, .. } if path == "config.json")
    );
}

#[test]
fn unlisted_file() {
    let (dir, m) = common::model();
    std::fs::write(
        dir.path().join("extra.safetensors"),
        common::safetensors(&[]),
    )
    .unwrap();
    assert!(
        matches!(refuse(&m, dir.path()), Error::UnlistedFile { path } if path == "extra.safetensors")
    );
    // Nested too.
    std::fs::remove_file(dir.path().join("extra.safetensors")).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/vocab.txt"), "a").unwrap();
    assert!(
        matches!(refuse(&m, dir.path()), Error::UnlistedFile { path } if path == "sub/vocab.txt")
    );
}

#[test]
fn symlinked_file_and_directory() {
    let (dir, m) = common::model();
    let outside = tempfile::tempdir().unwrap();
    // A listed file replaced by a symlink to an identical copy elsewhere.
    let p = dir.path().join("tokenizer.json");
    let target = outside.path().join("tokenizer.json");
    std::fs::copy(&p, &target).unwrap();
    std::fs::remove_file(&p).unwrap();
    symlink(&target, &p).unwrap();
    assert!(matches!(refuse(&m, dir.path()), Error::Symlink { path } if path == "tokenizer.json"));
    // A directory symlink is refused too.
    std::fs::remove_file(&p).unwrap();
    std::fs::copy(&target, &p).unwrap();
    Verifier::new(&m).verify(dir.path()).unwrap();
    symlink(outside.path(), dir.path().join("weights")).unwrap();
    assert!(matches!(refuse(&m, dir.path()), Error::Symlink { path } if path == "weights"));
}

#[test]
fn symlinked_parent_directory_of_a_listed_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a.json"), "{}").unwrap();
    let m = ManifestBuilder::new("m").build(dir.path()).unwrap();
    Verifier::new(&m).verify(dir.path()).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("a.json"), "{}").unwrap();
    std::fs::remove_dir_all(dir.path().join("sub")).unwrap();
    symlink(outside.path(), dir.path().join("sub")).unwrap();
    assert!(matches!(refuse(&m, dir.path()), Error::Symlink { path } if path == "sub"));
}

#[test]
fn fifo_is_not_a_regular_file() {
    let (dir, m) = common::model();
    let status = std::process::Command::new("mkfifo")
        .arg(dir.path().join("pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(matches!(refuse(&m, dir.path()), Error::NotRegularFile { path } if path == "pipe"));
}

fn manifest_with_renamed(m: &Manifest, from: &str, to: &str) -> Vec<u8> {
    // The subject digest covers the digests, not the names: renaming keeps
    // the manifest self-consistent, so only the path check can refuse it.
    m.to_json()
        .replace(
            &format!("\"name\": \"{from}\""),
            &format!("\"name\": {}", serde_json::to_string(to).unwrap()),
        )
        .into_bytes()
}

#[test]
fn unsafe_paths_in_manifest() {
    let (_dir, m) = common::model();
    for bad in [
        "../config.json",
        "/etc/passwd",
        "a/../../b",
        "a//b",
        "./config.json",
        "a\\b",
    ] {
        let bytes = manifest_with_renamed(&m, "config.json", bad);
        assert!(
            matches!(Manifest::parse(&bytes), Err(Error::UnsafePath { path }) if path == bad),
            "{bad}"
        );
    }
    // The same in a CHECKSUMS file.
    let line = format!("{}  ../x\n", "0".repeat(64));
    assert!(matches!(
        Manifest::parse(line.as_bytes()),
        Err(Error::UnsafePath { .. })
    ));
}

#[test]
fn duplicate_entries_in_manifest() {
    let line = format!("{0}  a\n{0}  a\n", "0".repeat(64));
    assert!(
        matches!(Manifest::parse(line.as_bytes()), Err(Error::DuplicateEntry { path }) if path == "a")
    );
}

#[test]
fn wrong_model_or_revision() {
    let (dir, m) = common::model();
    assert!(matches!(
        Verifier::new(&m).expect_name("other").verify(dir.path()),
        Err(Error::WrongModel { expected, found }) if expected == "other" && found == "tiny"
    ));
    assert!(matches!(
        Verifier::new(&m).expect_revision("r2").verify(dir.path()),
        Err(Error::WrongRevision { expected, found: Some(f) }) if expected == "r2" && f == "r1"
    ));
    let unversioned = ManifestBuilder::new("tiny").build(dir.path()).unwrap();
    assert!(matches!(
        Verifier::new(&unversioned)
            .expect_revision("r1")
            .verify(dir.path()),
        Err(Error::WrongRevision { found: None, .. })
    ));
}

#[test]
fn python_code_is_refused_listed_or_not() {
    let (dir, m) = common::model();
    std::fs::write(dir.path().join("modeling_evil.py"), "import os").unwrap();
    assert!(
        matches!(refuse(&m, dir.path()), Error::CodeRefused { path, .. } if path == "modeling_evil.py")
    );
    // Listed in a manifest: refused before anything is read.
    let listed = common::checksums(dir.path(), &["modeling_evil.py"]);
    assert!(
        matches!(refuse(&listed, dir.path()), Error::CodeRefused { path, .. } if path == "modeling_evil.py")
    );
    // Putting it on the ignore list does not help.
    let e = Verifier::new(&m)
        .ignore("modeling_evil.py")
        .verify(dir.path())
        .unwrap_err();
    assert!(
        matches!(&e, Error::CodeRefused { path, .. } if path == "modeling_evil.py"),
        "{e}"
    );
    // And the builder will not write a manifest for it.
    assert!(matches!(
        ManifestBuilder::new("x").build(dir.path()),
        Err(Error::CodeRefused { .. })
    ));
}

#[test]
fn pickle_family_is_refused() {
    for name in [
        "pytorch_model.bin",
        "model.pt",
        "model.pth",
        "model.ckpt",
        "data.pkl",
        "est.joblib",
    ] {
        let (dir, m) = common::model();
        std::fs::write(dir.path().join(name), b"\x80\x04K\x01.").unwrap();
        let e = refuse(&m, dir.path());
        assert!(
            matches!(&e, Error::CodeRefused { path, .. } if path == name),
            "{name}: {e}"
        );
        let listed = common::checksums(dir.path(), &[name]);
        assert!(
            matches!(refuse(&listed, dir.path()), Error::CodeRefused { .. }),
            "{name}"
        );
    }
}

#[test]
fn pickles_and_zips_are_refused_by_content_under_any_name() {
    // A protocol-4 pickle, and the start of a torch.save zip (data.pkl inside).
    let pickle: &[u8] = b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.";
    let mut zip = b"PK\x03\x04\x14\x00\x00\x00\x00\x00".to_vec();
    zip.extend_from_slice(b"archive/data.pkl");
    for (name, bytes) in [
        ("weights.dat", pickle),
        ("tokenizer.model", pickle),
        ("README.txt", pickle),
        ("model.onnx", &zip[..]),
        ("weights", &zip[..]),
        ("sub/vocab.txt", &zip[..]),
    ] {
        let (dir, _) = common::model();
        if let Some((sub, _)) = name.split_once('/') {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let listed = common::checksums(dir.path(), &["config.json", name]);
        let v = Verifier::new(&listed).ignore_only([
            "tokenizer.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
        ]);
        let code = |e: &Error| matches!(e, Error::CodeRefused { path, .. } | Error::Pickle { path, .. } if path == name);
        let e = v.verify(dir.path()).unwrap_err();
        assert!(code(&e), "{name}: {e}");
        let e = v.load(dir.path()).unwrap_err();
        assert!(code(&e), "{name}: {e}");
        let e = ManifestBuilder::new("x").build(dir.path()).unwrap_err();
        assert!(code(&e), "{name}: {e}");
    }
}

fn npy(descr: &str) -> Vec<u8> {
    let header = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}\n");
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(&[0u8; 8]);
    v
}

#[test]
fn npy_object_array_is_refused_numeric_is_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.npy"), npy("'<f4'")).unwrap();
    let m = common::checksums(dir.path(), &["ok.npy"]);
    Verifier::new(&m).load(dir.path()).unwrap();
    std::fs::write(dir.path().join("obj.npy"), npy("'|O'")).unwrap();
    let m = common::checksums(dir.path(), &["ok.npy", "obj.npy"]);
    assert!(matches!(refuse(&m, dir.path()), Error::ObjectArray { path } if path == "obj.npy"));
}

/// `numpy.load` reads by magic, so the `.npy` rules apply under any name.
#[test]
fn npy_under_another_name_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.dat"), npy("'<f4'")).unwrap();
    let m = common::checksums(dir.path(), &["ok.dat"]);
    Verifier::new(&m).load(dir.path()).unwrap();
    std::fs::write(dir.path().join("obj.dat"), npy("'object'")).unwrap();
    let m = common::checksums(dir.path(), &["ok.dat", "obj.dat"]);
    assert!(matches!(refuse(&m, dir.path()), Error::ObjectArray { path } if path == "obj.dat"));
    std::fs::write(dir.path().join("obj.dat"), npy("[('a', '|O')]")).unwrap();
    let m = common::checksums(dir.path(), &["ok.dat", "obj.dat"]);
    assert!(matches!(refuse(&m, dir.path()), Error::InvalidFile { path, .. } if path == "obj.dat"));
}

#[test]
fn remote_code_in_configs_is_refused() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "config.json",
            r#"{"model_type":"x","auto_map":{"AutoModel":"modeling_x.XModel"}}"#,
            "auto_map",
        ),
        (
            "tokenizer_config.json",
            r#"{"auto_map":{"AutoTokenizer":["tok.T",null]}}"#,
            "auto_map",
        ),
        (
            "generation_config.json",
            r#"{"custom_pipelines":{"p":{"impl":"p.P"}}}"#,
            "custom_pipelines",
        ),
        (
            "preprocessor_config.json",
            r#"{"processor_class":"someone/repo--processing.Proc"}"#,
            "processor_class",
        ),
    ];
    for (file, body, key) in cases {
        let dir = tempfile::tempdir().unwrap();
        common::write_model(dir.path());
        std::fs::write(dir.path().join(file), body).unwrap();
        let mut files = vec![
            "config.json",
            "tokenizer.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
        ];
        if !files.contains(file) {
            files.push(file);
        }
        let m = common::checksums(dir.path(), &files);
        let e = refuse(&m, dir.path());
        assert!(
            matches!(&e, Error::RemoteCodeRefused { path, key: k } if path == file && k == key),
            "{file}: {e}"
        );
        assert!(e.to_string().contains("trust_remote_code"));
        assert!(matches!(
            ManifestBuilder::new("x").build(dir.path()),
            Err(Error::RemoteCodeRefused { .. })
        ));
    }
}

#[test]
fn invalid_safetensors_is_refused() {
    let good = common::safetensors(&[("w", "F32", &[2], &[0u8; 8])]);
    let mut trailing = good.clone();
    trailing.push(0);
    let mut huge_header = good.clone();
    huge_header[..8].copy_from_slice(&200_000_000u64.to_le_bytes());
    let bad_dtype = common::safetensors(&[("w", "F4", &[2], &[0u8; 1])]);
    let dup = {
        let h = br#"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#;
        let mut v = (h.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(h);
        v.extend_from_slice(&[1, 2]);
        v
    };
    for (what, bytes, needle) in [
        ("trailing", trailing, "trailing"),
        ("header bound", huge_header, "exceeds the limit"),
        ("dtype", bad_dtype, "not allowed"),
        ("duplicate", dup, "duplicate"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.safetensors"), &bytes).unwrap();
        let m = common::checksums(dir.path(), &["model.safetensors"]);
        let e = refuse(&m, dir.path());
        assert!(
            matches!(&e, Error::Safetensors { path, reason } if path == "model.safetensors" && reason.contains(needle)),
            "{what}: {e}"
        );
    }
    // The header bound is configurable.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.safetensors"), &good).unwrap();
    let m = common::checksums(dir.path(), &["model.safetensors"]);
    Verifier::new(&m).verify(dir.path()).unwrap();
    assert!(matches!(
        Verifier::new(&m)
            .max_safetensors_header(8)
            .verify(dir.path()),
        Err(Error::Safetensors { .. })
    ));
}

#[test]
fn malformed_manifests() {
    let (_dir, m) = common::model();
    let json = m.to_json();
    for (what, bytes) in [
        (
            "version",
            json.replace("\"manifest_version\": 1", "\"manifest_version\": 2"),
        ),
        (
            "statement type",
            json.replace(
                "https://in-toto.io/Statement/v1",
                "https://in-toto.io/Statement/v0.1",
            ),
        ),
        (
            "predicate",
            json.replace(
                "https://model_signing/signature/v1.0",
                "https://example.com/x",
            ),
        ),
        (
            "hash",
            json.replace("\"hash_type\": \"sha256\"", "\"hash_type\": \"blake3\""),
        ),
        (
            "duplicate key",
            json.replacen("\"_type\"", "\"_type\": \"x\", \"_type\"", 1),
        ),
        ("checksums", "not a manifest\n".to_owned()),
        ("empty", String::new()),
    ] {
        assert!(
            matches!(
                Manifest::parse(bytes.as_bytes()),
                Err(Error::Manifest { .. })
            ),
            "{what}"
        );
    }
    // A resource digest changed without updating the subject digest.
    let first = m.entries()[0].sha256().unwrap().to_hex();
    let tampered = json.replace(&first, &"0".repeat(64));
    let e = Manifest::parse(tampered.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("subject digest"), "{e}");
}

#[test]
fn manifest_ignore_paths_are_honoured_and_unsafe_ones_dropped() {
    let (dir, m) = common::model();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/card.txt"), "card").unwrap();
    let json = m.to_json().replace(
        "\"ignore_paths\": []",
        "\"ignore_paths\": [\"docs/\", \"/etc\", \"../up\"]",
    );
    let m2 = Manifest::parse(json.as_bytes()).unwrap();
    assert_eq!(m2.ignore_paths(), ["docs"]);
    Verifier::new(&m2).verify(dir.path()).unwrap();
    assert!(
        matches!(refuse(&m, dir.path()), Error::UnlistedFile { path } if path == "docs/card.txt")
    );
}

#[test]
fn tensor_defined_in_two_files_is_refused() {
    let (dir, _) = common::model();
    let w: Vec<u8> = (0u8..32).collect();
    std::fs::write(
        dir.path().join("model-00003-of-00003.safetensors"),
        common::safetensors(&[("embed.weight", "F32", &[2, 4], &w)]),
    )
    .unwrap();
    // Refused when the manifest lists it, and the builder refuses too.
    assert!(matches!(
        ManifestBuilder::new("x").build(dir.path()),
        Err(Error::Safetensors { .. })
    ));
    let m = common::checksums(
        dir.path(),
        &[
            "config.json",
            "tokenizer.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
            "model-00003-of-00003.safetensors",
        ],
    );
    let e = refuse(&m, dir.path());
    assert!(
        matches!(&e, Error::Safetensors { path, reason } if path == "model-00003-of-00003.safetensors" && reason.contains("also defined in model-00001")),
        "{e}"
    );
}

#[test]
fn a_statement_listing_no_files_is_refused() {
    let (_dir, m) = common::model();
    let mut doc: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
    doc["predicate"]["resources"] = serde_json::json!([]);
    // The root digest of no resources: SHA-256 of the empty string.
    doc["subject"][0]["digest"]["sha256"] = model_verify::Sha256Digest::of(b"").to_hex().into();
    let bytes = serde_json::to_vec(&doc).unwrap();
    let e = Manifest::parse(&bytes).unwrap_err();
    assert!(
        matches!(&e, Error::Manifest { reason } if reason.contains("no files")),
        "{e}"
    );
    assert!(e.is_refusal());
    // Empty CHECKSUMS input was already refused; it still is.
    assert!(matches!(
        Manifest::parse(b"\n"),
        Err(Error::Manifest { .. })
    ));
}
