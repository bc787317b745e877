//! `cargo xtask checksums DIR [--name NAME] [--revision REV] [--out FILE]
//! [--sign KEYFILE] [--shard-size BYTES]`
//!
//! Hashes a model directory and writes its manifest (an OMS-compatible
//! in-toto statement, see crates/model-verify/FORMAT.md), by default to
//! `DIR/model.manifest.json`. With `--sign`, the manifest is written as a
//! signed bundle; KEYFILE is an unencrypted PEM private key: Ed25519
//! (`openssl genpkey -algorithm ed25519 -out KEYFILE`) or ECDSA P-256
//! (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out
//! KEYFILE`), the type OpenSSF `model_signing verify key` accepts. With `--shard-size`,
//! files are hashed in shards of that many bytes (OMS `shards`), which lets
//! one large file be verified on several cores.
//!
//! The same rules as verification apply: a directory with symlinks, code,
//! pickles, remote-code configs or invalid safetensors gets no manifest.
//!
//! `cargo xtask checksums --oms-interop` checks interoperability with PyPI's
//! `model-signing` (1.1.1, installed into a venv under the cache directory
//! on first use): a bundle signed here with P-256 verifies with
//! `model_signing verify key` (and a tampered model does not), and a
//! bundle `model_signing sign key` made verifies here. [`oms_interop`] is
//! the same check for `cargo xtask ci`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use model_verify::{HashMethod, MANIFEST_FILE_NAME, ManifestBuilder, SigningKey};

const USAGE: &str = "usage: cargo xtask checksums DIR [--name NAME] [--revision REV] [--out FILE] [--sign KEYFILE] [--shard-size BYTES]
       cargo xtask checksums --oms-interop";

struct Args {
    dir: PathBuf,
    name: Option<String>,
    revision: Option<String>,
    out: Option<PathBuf>,
    sign: Option<PathBuf>,
    shard_size: Option<u64>,
}

/// The parsed arguments, or `None` when help was asked for.
fn parse(args: &[String]) -> Result<Option<Args>, String> {
    let mut a = Args {
        dir: PathBuf::new(),
        name: None,
        revision: None,
        out: None,
        sign: None,
        shard_size: None,
    };
    let mut dir = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--name" => a.name = Some(value("--name")?),
            "--revision" => a.revision = Some(value("--revision")?),
            "--out" => a.out = Some(PathBuf::from(value("--out")?)),
            "--sign" => a.sign = Some(PathBuf::from(value("--sign")?)),
            "--shard-size" => {
                let v = value("--shard-size")?;
                let n = v.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    format!("--shard-size {v:?}: expected a positive number of bytes")
                })?;
                a.shard_size = Some(n);
            }
            "-h" | "--help" => return Ok(None),
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            s => {
                if dir.replace(PathBuf::from(s)).is_some() {
                    return Err(format!("only one DIR may be given\n{USAGE}"));
                }
            }
        }
    }
    a.dir = dir.ok_or_else(|| format!("missing DIR\n{USAGE}"))?;
    Ok(Some(a))
}

/// Writes `contents` to `path` atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over `path`.
fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), String> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file path", path.display()))?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(&parent)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: {e}", path.display()));
    }
    Ok(())
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("--oms-interop") {
        if args.len() > 1 {
            return Err(format!("--oms-interop takes no other argument\n{USAGE}"));
        }
        return oms_interop();
    }
    let Some(a) = parse(args)? else {
        println!("{USAGE}");
        return Ok(());
    };
    let dir_abs = a
        .dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", a.dir.display()))?;
    let name = match a.name.clone() {
        Some(n) => n,
        None => dir_abs
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .ok_or_else(|| {
                format!(
                    "{}: cannot derive a model name; pass --name",
                    a.dir.display()
                )
            })?,
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.dir.join(MANIFEST_FILE_NAME));

    // Read the key first: a bad key file fails before minutes of hashing.
    let key = match &a.sign {
        Some(path) => Some(SigningKey::from_pem_file(path).map_err(|e| match e {
            model_verify::Error::Io { .. } => e.to_string(),
            _ => format!("{}: {e}", path.display()),
        })?),
        None => None,
    };

    let mut builder = ManifestBuilder::new(name);
    if let Some(r) = &a.revision {
        builder = builder.revision(r.clone());
    }
    if let Some(shard_size) = a.shard_size {
        builder = builder.method(HashMethod::Shards { shard_size });
    }
    // An --out inside DIR is never listed in itself.
    let out_abs = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .canonicalize()
        .ok()
        .and_then(|p| out.file_name().map(|f| p.join(f)));
    if let Some(rel) = out_abs
        .as_deref()
        .and_then(|o| o.strip_prefix(&dir_abs).ok())
        .and_then(Path::to_str)
        && rel != MANIFEST_FILE_NAME
    {
        builder = builder.ignore(rel);
    }

    let manifest = builder.build(&a.dir).map_err(|e| e.to_string())?;
    let text = match &key {
        Some(k) => manifest.to_signed_json(k),
        None => manifest.to_json(),
    };
    write_atomic(&out, text.as_bytes())?;
    let total: u64 = manifest.entries().iter().filter_map(|e| e.size()).sum();
    println!(
        "wrote {} ({} files, {total} bytes, {}{})",
        out.display(),
        manifest.entries().len(),
        match manifest.method() {
            HashMethod::Shards { shard_size } => format!("shards of {shard_size} bytes"),
            _ => "whole files".to_owned(),
        },
        match &key {
            Some(k) => format!(", signed with {}", k.algorithm()),
            None => ", unsigned".to_owned(),
        }
    );
    Ok(())
}

/// The PyPI `model-signing` version the interoperability check runs.
const MODEL_SIGNING_VERSION: &str = "1.1.1";

/// A venv holding `model-signing` (and `pyopenssl`, which 1.1.1 imports
/// without declaring it), under `$XDG_CACHE_HOME` or `~/.cache`; made on
/// first use. Returns its `bin` directory.
fn model_signing_venv() -> Result<PathBuf, String> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or("neither XDG_CACHE_HOME nor HOME is set; cannot place the model-signing venv")?;
    let venv = cache.join("model-verify").join("oms-venv");
    let marker = venv.join(format!("installed-model-signing-{MODEL_SIGNING_VERSION}"));
    let bin = venv.join("bin");
    if !marker.is_file() {
        eprintln!(
            "xtask: installing model-signing=={MODEL_SIGNING_VERSION} into {}",
            venv.display()
        );
        let python3 = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
        crate::util::run(
            std::process::Command::new(&python3)
                .arg("-m")
                .arg("venv")
                .arg(&venv),
        )?;
        crate::util::run(std::process::Command::new(bin.join("pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("model-signing=={MODEL_SIGNING_VERSION}"),
            "pyopenssl",
        ]))?;
        std::fs::write(&marker, MODEL_SIGNING_VERSION)
            .map_err(|e| format!("{}: {e}", marker.display()))?;
    }
    Ok(bin)
}

/// A small Hugging Face style model: config, tokenizer, one safetensors.
fn write_interop_model(dir: &Path) -> Result<(), String> {
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(dir.join("config.json"), br#"{"model_type":"llama"}"#).map_err(io)?;
    std::fs::write(dir.join("tokenizer.json"), br#"{"version":"1.0"}"#).map_err(io)?;
    let header = br#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
    let mut st = (header.len() as u64).to_le_bytes().to_vec();
    st.extend_from_slice(header);
    st.extend((0u8..16).collect::<Vec<_>>());
    std::fs::write(dir.join("model.safetensors"), st).map_err(io)
}

/// Both directions of OpenSSF model_signing interoperability, with the
/// real tool: see the module documentation.
///
/// # Errors
/// A message naming the step that failed.
pub(crate) fn oms_interop() -> Result<(), String> {
    use std::process::Command;
    let bin = model_signing_venv()?;
    let tool = bin.join("model_signing");
    let work = std::env::temp_dir().join(format!("xtask-oms-interop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let result = (|| {
        let model = work.join("model");
        write_interop_model(&model)?;
        let key = SigningKey::generate_p256().map_err(|e| e.to_string())?;
        let key_path = work.join("p256.key");
        let pub_path = work.join("p256.pub");
        write_atomic(
            &key_path,
            key.to_pkcs8_pem().map_err(|e| e.to_string())?.as_bytes(),
        )?;
        write_atomic(&pub_path, key.public_key().to_pem().as_bytes())?;
        let manifest = ManifestBuilder::new("interop")
            .build(&model)
            .map_err(|e| e.to_string())?;
        let ours = work.join("ours.sig");
        write_atomic(&ours, manifest.to_signed_json(&key).as_bytes())?;
        let verify = |sig: &Path| {
            Command::new(&tool)
                .args(["verify", "key"])
                .arg(&model)
                .arg("--signature")
                .arg(sig)
                .arg("--public_key")
                .arg(&pub_path)
                .output()
                .map_err(|e| format!("{}: {e}", tool.display()))
        };
        let out = verify(&ours)?;
        if !out.status.success() {
            return Err(format!(
                "model_signing verify key refused a bundle signed by model-verify (P-256): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // The check is real: a changed weight file is refused.
        let st = model.join("model.safetensors");
        let good = std::fs::read(&st).map_err(|e| e.to_string())?;
        let mut bad = good.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        std::fs::write(&st, &bad).map_err(|e| e.to_string())?;
        if verify(&ours)?.status.success() {
            return Err("model_signing verify key accepted a tampered model".to_owned());
        }
        std::fs::write(&st, &good).map_err(|e| e.to_string())?;
        // The other direction: model_signing signs, model-verify verifies.
        let theirs = work.join("theirs.sig");
        let out = Command::new(&tool)
            .args(["sign", "key"])
            .arg(&model)
            .arg("--private_key")
            .arg(&key_path)
            .arg("--signature")
            .arg(&theirs)
            .output()
            .map_err(|e| format!("{}: {e}", tool.display()))?;
        if !out.status.success() {
            return Err(format!(
                "model_signing sign key failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let bytes = std::fs::read(&theirs).map_err(|e| e.to_string())?;
        let m = model_verify::Manifest::parse_signed(&bytes, &key.public_key())
            .map_err(|e| format!("a model_signing bundle did not verify here: {e}"))?;
        model_verify::Verifier::new(&m)
            .verify(&model)
            .map_err(|e| format!("a model_signing bundle did not verify here: {e}"))?;
        println!(
            "oms-interop: model_signing {MODEL_SIGNING_VERSION} verified a P-256 bundle signed by model-verify (and refused it for a tampered model); model-verify verified a bundle signed by model_signing"
        );
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    fn temp_dir() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("xtask-checksums-")
            .tempdir()
            .unwrap()
    }

    #[test]
    fn writes_a_manifest_that_verifies_and_a_signed_one() {
        let dir = temp_dir();
        std::fs::write(dir.path().join("config.json"), br#"{"model_type":"x"}"#).unwrap();
        let d = dir.path().to_str().unwrap().to_owned();
        run(&[
            d.clone(),
            "--name".into(),
            "m".into(),
            "--revision".into(),
            "abc".into(),
        ])
        .unwrap();
        let bytes = std::fs::read(dir.path().join(MANIFEST_FILE_NAME)).unwrap();
        let m = model_verify::Manifest::parse(&bytes).unwrap();
        assert_eq!((m.name(), m.revision()), (Some("m"), Some("abc")));
        model_verify::Verifier::new(&m)
            .expect_name("m")
            .verify(dir.path())
            .unwrap();

        let keys = temp_dir();
        let key = SigningKey::generate().unwrap();
        let key_path = keys.path().join("k.pem");
        std::fs::write(&key_path, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        let out = dir.path().join("signed.json");
        run(&[
            d,
            "--out".into(),
            out.to_str().unwrap().into(),
            "--sign".into(),
            key_path.to_str().unwrap().into(),
            "--shard-size".into(),
            "4".into(),
        ])
        .unwrap();
        let signed =
            model_verify::Manifest::parse_signed(&std::fs::read(&out).unwrap(), &key.public_key())
                .unwrap();
        // signed.json was not listed in itself.
        assert!(signed.entries().iter().all(|e| e.path() != "signed.json"));
        model_verify::Verifier::new(&signed)
            .ignore("signed.json")
            .verify(dir.path())
            .unwrap();
    }

    /// `--sign` takes a P-256 key too (the type model_signing verifies).
    #[test]
    fn signs_with_a_p256_key() {
        let dir = temp_dir();
        std::fs::write(dir.path().join("config.json"), br#"{"model_type":"x"}"#).unwrap();
        let keys = temp_dir();
        let key = SigningKey::generate_p256().unwrap();
        let key_path = keys.path().join("p256.pem");
        std::fs::write(&key_path, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        let out = keys.path().join("m.sig");
        run(&[
            dir.path().to_str().unwrap().into(),
            "--sign".into(),
            key_path.to_str().unwrap().into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ])
        .unwrap();
        let m =
            model_verify::Manifest::parse_signed(&std::fs::read(&out).unwrap(), &key.public_key())
                .unwrap();
        model_verify::Verifier::new(&m)
            .require_signature()
            .verify(dir.path())
            .unwrap();
        assert!(run(&["--oms-interop".into(), "x".into()]).is_err());
    }

    #[test]
    fn refuses_code_and_bad_arguments_without_writing() {
        let dir = temp_dir();
        std::fs::write(dir.path().join("modeling.py"), "import os").unwrap();
        let d = dir.path().to_str().unwrap().to_owned();
        let e = run(std::slice::from_ref(&d)).unwrap_err();
        assert!(e.contains("modeling.py"), "{e}");
        assert!(!dir.path().join(MANIFEST_FILE_NAME).exists());
        assert!(run(&[d.clone(), "--shard-size".into(), "0".into()]).is_err());
        assert!(run(&[d, "--bogus".into()]).is_err());
        assert!(run(&[]).is_err());
    }

    #[test]
    fn help_succeeds() {
        assert!(matches!(parse(&["-h".to_owned()]), Ok(None)));
        assert!(matches!(
            parse(&["d".to_owned(), "--help".to_owned()]),
            Ok(None)
        ));
        run(&["--help".to_owned()]).unwrap();
    }
}
