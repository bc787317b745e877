//! The `model-verify` binary's contract: exit 0 verified, 3 refused, the
//! message naming the reason.
#![cfg(feature = "cli")]

use std::process::Command;

use model_verify::SigningKey;

use crate::common;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_model-verify"))
}

#[test]
fn verified_exits_zero_and_refused_exits_three() {
    let (dir, m) = common::model();
    std::fs::write(dir.path().join("model.manifest.json"), m.to_json()).unwrap();
    let out = bin().arg(dir.path()).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("verified: 4 file(s)") && stdout.contains("NOT AUTHENTICATED"),
        "{stdout}"
    );

    let out = bin().arg(dir.path()).arg("--json").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["name"], "tiny");
    assert_eq!(v["files"].as_array().unwrap().len(), 4);

    std::fs::write(dir.path().join("modeling.py"), "import os").unwrap();
    let out = bin().arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("modeling.py") && stderr.contains("Python code"),
        "{stderr}"
    );

    let out = bin().arg(dir.path()).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert!(v["error"].as_str().unwrap().contains("modeling.py"));
}

#[test]
fn pubkey_requires_a_valid_signature() {
    let (dir, m) = common::model();
    let keys = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();
    std::fs::write(keys.path().join("good.pub"), key.public_key().to_pem()).unwrap();
    std::fs::write(keys.path().join("other.pub"), other.public_key().to_pem()).unwrap();
    let manifest = keys.path().join("signed.json");
    std::fs::write(&manifest, m.to_signed_json(&key)).unwrap();

    let run = |pubkey: &str, manifest: &std::path::Path| {
        bin()
            .arg(dir.path())
            .arg("--manifest")
            .arg(manifest)
            .arg("--pubkey")
            .arg(keys.path().join(pubkey))
            .output()
            .unwrap()
    };
    let out = run("good.pub", &manifest);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("signature verified")
    );
    let out = run("other.pub", &manifest);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8(out.stderr).unwrap().contains("signature"));

    let unsigned = keys.path().join("unsigned.json");
    std::fs::write(&unsigned, m.to_json()).unwrap();
    let out = run("good.pub", &unsigned);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("not signed")
    );
}

#[test]
fn oms_bundle_from_model_signing_via_cli() {
    let oms = common::data_dir().join("oms");
    let out = bin()
        .arg(oms.join("model"))
        .args([
            "--manifest".as_ref(),
            oms.join("files-p256.sig").as_os_str(),
        ])
        .args(["--pubkey".as_ref(), oms.join("p256.pub").as_os_str()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn usage_and_operational_errors() {
    let out = bin().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().arg("x").arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    // No manifest: nothing vouches for the model, a refusal.
    let out = bin().arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("model.manifest.json"), "{stderr}");
    assert!(stderr.contains("no manifest"), "{stderr}");
    let out = bin()
        .arg(dir.path())
        .arg("--json")
        .arg("--manifest")
        .arg(dir.path().join("nope.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["refused"], true);
    // An unreadable key file is an operational error.
    let (model, m) = common::model();
    std::fs::write(model.path().join("model.manifest.json"), m.to_json()).unwrap();
    let out = bin()
        .arg(model.path())
        .arg("--pubkey")
        .arg(dir.path().join("missing.pub"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // A manifest that is not a file (here a directory) cannot be read: 1.
    let out = bin()
        .arg(model.path())
        .arg("--manifest")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// The manifest is read no further than the parser's 64 MiB bound.
#[test]
fn oversized_manifest_is_refused_without_reading_it_whole() {
    let (dir, _) = common::model();
    let big = dir.path().join("model.manifest.json");
    let f = std::fs::File::create(&big).unwrap();
    // Sparse: 1 TiB read whole would exhaust memory; bounded, it is refused.
    f.set_len(1 << 40).unwrap();
    drop(f);
    let out = bin().arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("larger than"), "{stderr}");
}

/// DESIGN.md section 4: `--require-signature` refuses (3) a manifest whose
/// signature was not checked, and accepts one that was.
#[test]
fn require_signature_flag() {
    let (dir, m) = common::model();
    std::fs::write(dir.path().join("model.manifest.json"), m.to_json()).unwrap();
    let out = bin()
        .arg(dir.path())
        .arg("--require-signature")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("signature is required"), "{stderr}");
    let out = bin()
        .arg(dir.path())
        .arg("--require-signature")
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["refused"], true);

    let key = SigningKey::generate_p256().unwrap();
    let keys = tempfile::tempdir().unwrap();
    std::fs::write(keys.path().join("k.pub"), key.public_key().to_pem()).unwrap();
    std::fs::write(
        dir.path().join("model.manifest.json"),
        m.to_signed_json(&key),
    )
    .unwrap();
    let out = bin()
        .arg(dir.path())
        .arg("--require-signature")
        .arg("--pubkey")
        .arg(keys.path().join("k.pub"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["signed"], true);
    assert_eq!(v["authenticity"], "signature verified");
}

/// Arguments are parsed by clap: help and version succeed, unknown flags,
/// a missing DIR or a flag without its value are usage errors (2).
#[test]
fn clap_usage_contract() {
    for args in [&["--help"][..], &["-h"], &["--version"]] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
    let help = String::from_utf8(bin().arg("--help").output().unwrap().stdout).unwrap();
    for flag in ["--manifest", "--pubkey", "--require-signature", "--json"] {
        assert!(help.contains(flag), "{help}");
    }
    for args in [
        &[][..],
        &["d", "--manifest"],
        &["d", "--pubkey"],
        &["d", "e"],
        &["d", "--require-signature=yes"],
        &["--bogus", "d"],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// A file name carrying terminal escape sequences is shown escaped on
/// stderr and in JSON.
#[test]
fn escape_sequences_in_names_do_not_reach_the_terminal() {
    let (dir, m) = common::model();
    std::fs::write(dir.path().join("model.manifest.json"), m.to_json()).unwrap();
    std::fs::write(dir.path().join("x\x1b[2J\x1b]0;owned\x07.py"), "import os").unwrap();
    let out = bin().arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        !out.stderr.contains(&0x1b),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stderr.contains(&0x07));
    let out = bin().arg(dir.path()).arg("--json").output().unwrap();
    assert!(!out.stdout.contains(&0x1b));
}
