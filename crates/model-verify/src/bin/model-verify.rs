//! `model-verify DIR [--manifest FILE] [--pubkey FILE] [--require-signature] [--json]`
//!
//! Exit codes: 0 verified, 3 refused (the message names the file and the
//! reason; a missing manifest is a refusal), 1 other error (unreadable key,
//! I/O), 2 usage.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: a CLI reports on stdout/stderr

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use model_verify::{
    Authenticity, Error, HashMethod, MANIFEST_FILE_NAME, MAX_MANIFEST_LEN, Manifest, PublicKey,
    Verifier,
};

/// Verifies the model in DIR against its manifest (default
/// DIR/model.manifest.json): every file listed, sized and hashed as
/// recorded, nothing else present, no code, no pickles (by name or by
/// content), no binaries, no remote-code configs, valid safetensors headers
/// and shard indexes.
///
/// Exit status: 0 verified, 3 refused (including no manifest, and an
/// unsigned manifest under --require-signature), 1 error, 2 usage.
#[derive(Parser, Debug)]
#[command(name = "model-verify", version, about, long_about)]
struct Args {
    /// The model directory.
    dir: PathBuf,
    /// The manifest: an in-toto statement, a signed bundle, or a sha256sum
    /// CHECKSUMS file.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Require a signature by this PEM public key (Ed25519, or ECDSA
    /// P-256/P-384 for OpenSSF model_signing bundles).
    #[arg(long, value_name = "FILE")]
    pubkey: Option<PathBuf>,
    /// Refuse (exit 3) unless the manifest's signature was checked (with
    /// --pubkey): an unsigned manifest proves integrity against accidents
    /// only.
    #[arg(long)]
    require_signature: bool,
    /// Print one JSON document on stdout.
    #[arg(long)]
    json: bool,
}

/// Reads at most `limit` bytes of `path`; a longer file is refused as a
/// manifest too large, without reading the rest.
fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, Error> {
    let io = |e| Error::Io {
        path: path.to_owned(),
        source: e,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() > limit {
        return Err(Error::Manifest {
            reason: format!("{}: larger than {limit} bytes", path.display()),
        });
    }
    Ok(bytes)
}

/// Largest public key file read (a PEM public key is a few hundred bytes).
const MAX_KEY_FILE: usize = 64 << 10;

fn run(args: &Args) -> Result<(model_verify::Report, PathBuf), Error> {
    let manifest_path = args
        .manifest
        .clone()
        .unwrap_or_else(|| args.dir.join(MANIFEST_FILE_NAME));
    let bytes = read_bounded(&manifest_path, MAX_MANIFEST_LEN).map_err(|e| match e {
        // No manifest, no trust: a refusal, not an operational error.
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            Error::Manifest {
                reason: format!(
                    "{}: no manifest, so the model is not trusted (write one with `cargo xtask checksums DIR`, or pass --manifest FILE)",
                    manifest_path.display()
                ),
            }
        }
        other => other,
    })?;
    let manifest = match &args.pubkey {
        Some(p) => {
            let pem = read_bounded(p, MAX_KEY_FILE).map_err(|e| match e {
                Error::Manifest { .. } => Error::Key {
                    reason: format!("{}: larger than {MAX_KEY_FILE} bytes", p.display()),
                },
                other => other,
            })?;
            let pem = String::from_utf8(pem).map_err(|_| Error::Key {
                reason: format!("{}: not a PEM text file", p.display()),
            })?;
            Manifest::parse_signed(&bytes, &PublicKey::from_pem(&pem)?)?
        }
        None => Manifest::parse(&bytes)?,
    };
    let mut verifier = Verifier::new(&manifest);
    if args.require_signature {
        verifier = verifier.require_signature();
    }
    // A manifest kept inside the model directory is never listed in itself.
    if let (Ok(m), Ok(d)) = (manifest_path.canonicalize(), args.dir.canonicalize())
        && let Ok(rel) = m.strip_prefix(&d)
        && let Some(rel) = rel.to_str()
    {
        verifier = verifier.ignore(rel);
    }
    let report = verifier.verify(&args.dir)?;
    Ok((report, manifest_path))
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            // --help and --version print and succeed; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(&args) {
        Ok((report, manifest_path)) => {
            let authenticity = report.authenticity();
            let signed = authenticity == Authenticity::Signed;
            let method = match report.method() {
                HashMethod::Shards { shard_size } => format!("shards({shard_size})"),
                _ => "files".to_owned(),
            };
            if args.json {
                let files: Vec<serde_json::Value> = report
                    .files()
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "path": f.path,
                            "size": f.size,
                            "sha256": f.sha256.map(|d| d.to_hex()),
                        })
                    })
                    .collect();
                let doc = serde_json::json!({
                    "verified": true,
                    "name": report.name(),
                    "revision": report.revision(),
                    "method": method,
                    "signed": signed,
                    "authenticity": authenticity.to_string(),
                    "total_bytes": report.total_bytes(),
                    "files": files,
                });
                println!("{doc}");
            } else {
                println!(
                    "verified: {} file(s), {} bytes, model {}{}, method {method}, {}",
                    report.files().len(),
                    report.total_bytes(),
                    report.name().unwrap_or("(unnamed)"),
                    report
                        .revision()
                        .map(|r| format!(" @ {r}"))
                        .unwrap_or_default(),
                    if authenticity.is_trusted() {
                        authenticity.to_string()
                    } else {
                        format!(
                            "NOT AUTHENTICATED: no signature checked (pass --pubkey); {} proves integrity against accidents only",
                            manifest_path.display()
                        )
                    }
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let code = if e.is_refusal() { 3 } else { 1 };
            if args.json {
                let doc = serde_json::json!({
                    "verified": false,
                    "refused": e.is_refusal(),
                    "error": e.to_string(),
                });
                println!("{doc}");
            }
            eprintln!(
                "model-verify: {}: {e}",
                if code == 3 { "REFUSED" } else { "error" }
            );
            ExitCode::from(code)
        }
    }
}
