//! Peak memory of loading a verified model: everything at once
//! (`Verifier::load`) against one file at a time (`Verifier::load_each`).
//!
//! ```text
//! cargo run --release -p model-verify --example peak_memory [-- MIB [SHARDS]]
//! ```
//!
//! Writes a synthetic model of MIB mebibytes (default 2048) in SHARDS
//! safetensors files (default 4) in a temporary directory, then runs itself
//! once per mode in a child process and reports each child's peak resident
//! set (`VmHWM`). The loader in the child keeps nothing (it folds every
//! tensor's bytes into a checksum, as a loader copying weights to a GPU
//! would), so the figure is what verification itself holds.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: an example prints

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode};

use model_verify::{Manifest, ManifestBuilder, Verifier};

const MIB: u64 = 1 << 20;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = if args.first().map(String::as_str) == Some("--child") {
        child(&args[1..])
    } else {
        parent(&args)
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peak_memory: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parent(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mib: u64 = args.first().map_or(Ok(2048), |s| s.parse())?;
    let shards: u64 = args.get(1).map_or(Ok(4), |s| s.parse())?;
    let dir = tempfile::Builder::new()
        .prefix("model-verify-peak-")
        .tempdir()?;
    std::fs::write(dir.path().join("config.json"), br#"{"model_type":"llama"}"#)?;
    for i in 0..shards {
        let name = format!("model-{:05}-of-{shards:05}.safetensors", i + 1);
        write_shard(&dir.path().join(name), mib * MIB / shards, i)?;
    }
    let manifest = ManifestBuilder::new("peak").build(dir.path())?;
    std::fs::write(dir.path().join("model.manifest.json"), manifest.to_json())?;
    println!(
        "model: {mib} MiB in {shards} safetensors files ({} MiB each)",
        mib / shards
    );
    for mode in ["load", "load_each"] {
        let out = Command::new(std::env::current_exe()?)
            .arg("--child")
            .arg(mode)
            .arg(dir.path())
            .output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    Ok(())
}

fn child(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let (mode, dir) = match args {
        [m, d] => (m.as_str(), Path::new(d)),
        _ => return Err("usage: --child load|load_each DIR".into()),
    };
    let manifest = Manifest::parse(&std::fs::read(dir.join("model.manifest.json"))?)?;
    let verifier = Verifier::new(&manifest);
    let before = vm_hwm_kib()?;
    let mut fold = 0u64;
    let mut fold_file = |bytes: &[u8]| {
        for chunk in bytes.chunks(1 << 16) {
            fold = fold.wrapping_add(u64::from(chunk[0]));
        }
    };
    let total = match mode {
        "load" => {
            let model = verifier.load(dir)?;
            for f in model.files() {
                fold_file(f.bytes());
            }
            model.report().total_bytes()
        }
        "load_each" => {
            let files = verifier.load_each(dir)?;
            let total = files.report().total_bytes();
            for f in files {
                fold_file(f?.bytes());
                // `f` is dropped here: one file at a time.
            }
            total
        }
        other => return Err(format!("unknown mode {other}").into()),
    };
    let peak = vm_hwm_kib()?;
    println!(
        "{mode:>9}: peak resident {:.0} MiB (process before: {:.0} MiB) for {:.0} MiB verified [{fold:x}]",
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        total as f64 / MIB as f64
    );
    Ok(())
}

/// Peak resident set size of this process, from /proc/self/status.
fn vm_hwm_kib() -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or("malformed VmHWM")?
        .parse()?)
}

/// A safetensors file of exactly `total` bytes holding one U8 tensor.
fn write_shard(path: &Path, total: u64, seed: u64) -> std::io::Result<()> {
    let mut header = String::new();
    let mut data_len = total;
    for _ in 0..3 {
        header = format!(
            r#"{{"w{seed}":{{"dtype":"U8","shape":[{data_len}],"data_offsets":[0,{data_len}]}}}}"#
        );
        let pad = (8 - header.len() % 8) % 8;
        header.push_str(&" ".repeat(pad));
        data_len = total - 8 - header.len() as u64;
    }
    let mut f = std::io::BufWriter::with_capacity(8 << 20, std::fs::File::create(path)?);
    f.write_all(&(header.len() as u64).to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    let buf: Vec<u8> = (0..8u32 << 20)
        .map(|i| u8::try_from((i ^ u32::try_from(seed).unwrap_or(0)) % 251).unwrap_or(0))
        .collect();
    let mut left = data_len;
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.flush()
}
