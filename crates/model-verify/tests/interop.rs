//! Signatures other tools accept (issue 13 item 4): ECDSA P-256 bundles
//! signed here verify with OpenSSF `model_signing verify key`, and keys made
//! by `openssl` sign and verify here.
//!
//! Two kinds of evidence:
//! * a checked-in vector, `tests/data/oms/ours-p256.sig`, written by this
//!   crate's signer (P-256 signatures are deterministic, RFC 6979, so the
//!   test rebuilds it byte for byte) and verified by model_signing 1.1.1
//!   when it was made:
//!
//!   ```text
//!   cargo xtask checksums tests/data/format/model --name format-example --revision r1 \
//!       --sign tests/data/oms/p256.key --out tests/data/oms/ours-p256.sig
//!   ~/.cache/model-verify/oms-venv/bin/model_signing verify key tests/data/format/model \
//!       --signature tests/data/oms/ours-p256.sig --public_key tests/data/oms/p256.pub
//!   ```
//!
//! * the real tool, run at test time when it is installed offline (the venv
//!   `cargo xtask checksums --oms-interop` makes under
//!   `~/.cache/model-verify/oms-venv`, or `MODEL_SIGNING` naming the
//!   `model_signing` executable); without it those tests print that they
//!   did not run and pass.

#![allow(clippy::print_stderr)] // reason: a test that cannot run says so

use std::path::{Path, PathBuf};
use std::process::Command;

use model_verify::{Authenticity, Manifest, ManifestBuilder, PublicKey, SigningKey, Verifier};

use crate::common;

fn oms() -> PathBuf {
    common::data_dir().join("oms")
}

/// The `model_signing` executable, if installed.
fn model_signing() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MODEL_SIGNING") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")?;
    let p = Path::new(&home).join(".cache/model-verify/oms-venv/bin/model_signing");
    let works = Command::new(&p)
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    works.then_some(p)
}

#[test]
fn our_p256_bundle_is_the_vector_model_signing_verified() {
    let key = SigningKey::from_pem_file(oms().join("p256.key")).unwrap();
    assert_eq!(key.algorithm(), "ECDSA P-256");
    let m = Manifest::parse(
        &std::fs::read(common::data_dir().join("format/model.manifest.json")).unwrap(),
    )
    .unwrap();
    let ours = m.to_signed_json(&key);
    let path = oms().join("ours-p256.sig");
    if std::env::var_os("MODEL_VERIFY_BLESS").is_some() {
        std::fs::write(&path, &ours).unwrap();
    }
    assert_eq!(ours, std::fs::read_to_string(&path).unwrap());
    let pk =
        PublicKey::from_pem(&std::fs::read_to_string(oms().join("p256.pub")).unwrap()).unwrap();
    let signed = Manifest::parse_signed(ours.as_bytes(), &pk).unwrap();
    assert_eq!(signed.authenticity(), Authenticity::Signed);
    Verifier::new(&signed)
        .require_signature()
        .verify(common::data_dir().join("format/model"))
        .unwrap();
}

#[test]
fn generated_p256_key_round_trips_and_signs() {
    let key = SigningKey::generate_p256().unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    let again = SigningKey::from_pkcs8_pem(&pem).unwrap();
    assert_eq!(again.public_key().to_pem(), key.public_key().to_pem());
    assert_eq!(key.public_key().algorithm(), "ECDSA P-256");
    let (dir, m) = common::model();
    let bundle = m.to_signed_json(&key);
    let signed = Manifest::parse_signed(bundle.as_bytes(), &key.public_key()).unwrap();
    Verifier::new(&signed).verify(dir.path()).unwrap();
    // Another key is refused.
    let other = SigningKey::generate_p256().unwrap();
    assert!(Manifest::parse_signed(bundle.as_bytes(), &other.public_key()).is_err());
}

/// Keys made by `openssl` (PKCS#8 and SEC1 P-256, PKCS#8 Ed25519) sign
/// here and verify under the public key `openssl pkey -pubout` wrote.
#[test]
fn openssl_made_keys_sign_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !run(&["version"]) {
        eprintln!("openssl not installed: test did not run");
        return;
    }
    let (model, m) = common::model();
    for (name, make) in [
        (
            "p256-pkcs8",
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "p256-pkcs8.key",
            ][..],
        ),
        (
            "p256-sec1",
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "p256-sec1.key",
            ],
        ),
        (
            "ed25519",
            &["genpkey", "-algorithm", "ed25519", "-out", "ed25519.key"],
        ),
    ] {
        assert!(run(make), "{name}");
        let key_file = format!("{name}.key");
        let pub_file = format!("{name}.pub");
        assert!(run(&[
            "pkey", "-in", &key_file, "-pubout", "-out", &pub_file
        ]));
        let key = SigningKey::from_pem_file(dir.path().join(&key_file)).unwrap();
        let pk = PublicKey::from_pem(&std::fs::read_to_string(dir.path().join(&pub_file)).unwrap())
            .unwrap();
        assert_eq!(key.public_key().to_pem(), pk.to_pem(), "{name}");
        let bundle = m.to_signed_json(&key);
        let signed = Manifest::parse_signed(bundle.as_bytes(), &pk).unwrap();
        Verifier::new(&signed).verify(model.path()).unwrap();
        // openssl verifies our signature over the DSSE PAE, too (the
        // ECDSA signature is DER, what `openssl pkeyutl` expects).
        if name.starts_with("p256") {
            let v: serde_json::Value = serde_json::from_str(&bundle).unwrap();
            let env = &v["dsseEnvelope"];
            let payload = data_encoding_decode(env["payload"].as_str().unwrap());
            let sig = data_encoding_decode(env["signatures"][0]["sig"].as_str().unwrap());
            let mut pae =
                format!("DSSEv1 28 application/vnd.in-toto+json {} ", payload.len()).into_bytes();
            pae.extend_from_slice(&payload);
            std::fs::write(dir.path().join("pae.bin"), &pae).unwrap();
            std::fs::write(dir.path().join("sig.der"), &sig).unwrap();
            assert!(
                run(&[
                    "dgst",
                    "-sha256",
                    "-verify",
                    &pub_file,
                    "-signature",
                    "sig.der",
                    "pae.bin"
                ]),
                "openssl refused our {name} signature"
            );
        }
    }
}

fn data_encoding_decode(s: &str) -> Vec<u8> {
    data_encoding::BASE64.decode(s.as_bytes()).unwrap()
}

/// The real tool, both ways, when installed.
#[test]
fn model_signing_verifies_ours_and_we_verify_theirs() {
    let Some(tool) = model_signing() else {
        eprintln!(
            "model_signing not installed (run `cargo xtask checksums --oms-interop` once): test did not run"
        );
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let model = work.path().join("model");
    std::fs::create_dir(&model).unwrap();
    common::write_model(&model);
    let key = SigningKey::generate_p256().unwrap();
    std::fs::write(
        work.path().join("k.pem"),
        key.to_pkcs8_pem().unwrap().as_bytes(),
    )
    .unwrap();
    std::fs::write(work.path().join("k.pub"), key.public_key().to_pem()).unwrap();
    let m = ManifestBuilder::new("interop")
        .revision("r1")
        .build(&model)
        .unwrap();
    std::fs::write(work.path().join("ours.sig"), m.to_signed_json(&key)).unwrap();
    let verify = |sig: &str| {
        Command::new(&tool)
            .args(["verify", "key"])
            .arg(&model)
            .arg("--signature")
            .arg(work.path().join(sig))
            .arg("--public_key")
            .arg(work.path().join("k.pub"))
            .output()
            .unwrap()
    };
    let out = verify("ours.sig");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // An Ed25519 bundle is not something model_signing verifies: say so.
    let ed = SigningKey::generate().unwrap();
    std::fs::write(work.path().join("ed.sig"), m.to_signed_json(&ed)).unwrap();
    std::fs::write(work.path().join("ed.pub"), ed.public_key().to_pem()).unwrap();
    let out = Command::new(&tool)
        .args(["verify", "key"])
        .arg(&model)
        .arg("--signature")
        .arg(work.path().join("ed.sig"))
        .arg("--public_key")
        .arg(work.path().join("ed.pub"))
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "model_signing now accepts Ed25519: update the README's interoperability table"
    );
    // The other direction.
    let out = Command::new(&tool)
        .args(["sign", "key"])
        .arg(&model)
        .arg("--private_key")
        .arg(work.path().join("k.pem"))
        .arg("--signature")
        .arg(work.path().join("theirs.sig"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = std::fs::read(work.path().join("theirs.sig")).unwrap();
    let m = Manifest::parse_signed(&theirs, &key.public_key()).unwrap();
    Verifier::new(&m)
        .require_signature()
        .verify(&model)
        .unwrap();
    // Tampering is caught by both.
    let st = model.join("model-00002-of-00002.safetensors");
    let mut b = std::fs::read(&st).unwrap();
    *b.last_mut().unwrap() ^= 1;
    std::fs::write(&st, &b).unwrap();
    assert!(!verify("ours.sig").status.success());
    assert!(Verifier::new(&m).verify(&model).is_err());
}
