//! Exactness against Hugging Face transformers on the committed tiny
//! random models (`cargo xtask reference` made them; see
//! scripts/make_reference.py): token ids, float32 logits within 1e-4, and
//! greedy continuations of 40 tokens, with and without the KV cache.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use inference_tch::{
    DType, Device, Error, GenerateOptions, LanguageModel, LoadOptions, Role, StopReason, chatml,
};
use model_verify::{Manifest, Verifier};

const MODELS: [&str; 2] = ["tiny-qwen2", "tiny-llama"];
const TOL: f32 = 1e-4;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load_dir(dir: &Path, dtype: DType) -> Result<LanguageModel, Error> {
    let bytes = std::fs::read(dir.join(model_verify::MANIFEST_FILE_NAME)).unwrap();
    let manifest = Manifest::parse(&bytes).unwrap();
    let files = Verifier::new(&manifest).load_each(dir)?;
    LanguageModel::load(files, &LoadOptions::new().dtype(dtype).threads(1))
}

fn load(name: &str) -> LanguageModel {
    load_dir(&fixtures().join(name), DType::F32).unwrap()
}

struct Prompt {
    text: String,
    ids: Vec<u32>,
    greedy: Vec<u32>,
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| u32::try_from(x.as_u64().unwrap()).unwrap())
        .collect()
}

fn reference(name: &str) -> (Vec<Prompt>, Vec<(String, tch::Tensor)>) {
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures().join(format!("{name}.reference.json"))).unwrap(),
    )
    .unwrap();
    let prompts = json["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Prompt {
            text: p["text"].as_str().unwrap().to_owned(),
            ids: ids(&p["prompt_ids"]),
            greedy: ids(&p["greedy"]),
        })
        .collect();
    let logits =
        tch::Tensor::read_safetensors(fixtures().join(format!("{name}.reference.safetensors")))
            .unwrap();
    (prompts, logits)
}

fn rows(t: &tch::Tensor) -> Vec<Vec<f32>> {
    let n = t.size()[1];
    let flat = Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
    flat.chunks(usize::try_from(n).unwrap())
        .map(<[f32]>::to_vec)
        .collect()
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len(), "row counts");
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len(), "vocab sizes");
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}

fn reference_logits(name: &str) -> Vec<(usize, Vec<u32>, Vec<Vec<f32>>)> {
    let (prompts, tensors) = reference(name);
    let mut out = Vec::new();
    for (key, t) in &tensors {
        let Some(i) = key.strip_prefix("logits.") else {
            continue;
        };
        let i: usize = i.parse().unwrap();
        let p = &prompts[i];
        let seq: Vec<u32> = p.ids.iter().chain(&p.greedy).copied().collect();
        out.push((i, seq, rows(t)));
    }
    assert!(out.len() >= 2, "{name}: reference logits missing");
    out
}

#[test]
fn tokenizer_ids_match_transformers() {
    for name in MODELS {
        let m = load(name);
        for p in reference(name).0 {
            let ours = m.tokenizer().encode(&p.text, true).unwrap();
            assert_eq!(ours, p.ids, "{name}: {:?}", p.text);
        }
    }
}

#[test]
fn chatml_formatting_matches_the_reference_chat_prompt() {
    let (prompts, _) = reference("tiny-qwen2");
    let chat = chatml(&[(Role::User, "What is the weather in Zürich today?")]);
    assert!(prompts.iter().any(|p| p.text == chat));
    let m = load("tiny-qwen2");
    let ids = m.tokenizer().encode(&chat, false).unwrap();
    let start = m.tokenizer().token_id("<|im_start|>").unwrap();
    assert_eq!(ids.iter().filter(|&&i| i == start).count(), 2);
}

#[test]
fn logits_match_transformers_in_one_pass() {
    for name in MODELS {
        let m = load(name);
        for (i, seq, want) in reference_logits(name) {
            let got = m.logits(&seq).unwrap();
            let d = max_diff(&got, &want);
            assert!(d <= TOL, "{name} prompt {i}: max |diff| {d}");
        }
    }
}

#[test]
fn logits_match_transformers_through_the_kv_cache() {
    for name in MODELS {
        let m = load(name);
        let model = m.model();
        for (i, seq, want) in reference_logits(name) {
            // One token at a time, and in chunks of 5 after the first 3
            // (several new tokens after cached ones: the masked path).
            for chunk in [1usize, 5] {
                let mut cache = model.new_cache();
                let mut got = rows(&model.forward(&seq[..3], &mut cache, false).unwrap());
                for c in seq[3..].chunks(chunk) {
                    got.extend(rows(&model.forward(c, &mut cache, false).unwrap()));
                }
                assert_eq!(cache.len(), seq.len());
                let d = max_diff(&got, &want);
                assert!(d <= TOL, "{name} prompt {i} chunk {chunk}: max |diff| {d}");
            }
        }
    }
}

fn greedy(n: usize, use_kv_cache: bool) -> GenerateOptions {
    let mut o = GenerateOptions::greedy(n);
    o.stop_tokens = Some(Vec::new());
    o.use_kv_cache = use_kv_cache;
    o
}

#[test]
fn greedy_continuations_match_transformers_with_and_without_cache() {
    for name in MODELS {
        let m = load(name);
        for p in reference(name).0 {
            assert!(p.greedy.len() >= 32);
            for cache in [true, false] {
                let g = m
                    .generate(&p.ids, &greedy(p.greedy.len(), cache), |_| {
                        ControlFlow::Continue(())
                    })
                    .unwrap();
                assert_eq!(g.tokens, p.greedy, "{name} {:?} cache={cache}", p.text);
                assert_eq!(g.stop_reason, StopReason::MaxTokens);
                assert_eq!(g.prompt_tokens, p.ids.len());
                assert!(g.prompt_tokens_per_s() > 0.0 && g.generated_tokens_per_s() > 0.0);
            }
        }
    }
}

#[test]
fn bfloat16_follows_transformers_bfloat16() {
    for name in MODELS {
        let m = load_dir(&fixtures().join(name), DType::BF16).unwrap();
        let (prompts, tensors) = reference(name);
        let want = rows(
            &tensors
                .iter()
                .find(|(k, _)| k == "logits_bf16.0")
                .unwrap()
                .1,
        );
        let p = &prompts[0];
        let seq: Vec<u32> = p.ids.iter().chain(&p.greedy).copied().collect();
        let got = m.logits(&seq).unwrap();
        let scale = want.iter().flatten().fold(0.0f32, |a, x| a.max(x.abs()));
        let d = max_diff(&got, &want);
        // bfloat16 has 8 bits of mantissa: the same operations give the same
        // results up to summation order.
        assert!(
            d <= 0.02 * scale,
            "{name}: bf16 max |diff| {d} (scale {scale})"
        );
        let agree = got
            .iter()
            .zip(&want)
            .filter(|(a, b)| inference_argmax(a) == inference_argmax(b))
            .count();
        assert!(
            agree * 10 >= got.len() * 9,
            "{name}: argmax agrees on {agree}/{}",
            got.len()
        );
    }
}

fn inference_argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv { (i, x) } else { (bi, bv) }
        })
        .0
}

#[test]
fn seeded_sampling_is_reproducible_and_seed_dependent() {
    let m = load("tiny-llama");
    let p = &reference("tiny-llama").0[1];
    let run = |seed| {
        let mut o = GenerateOptions::sampled(24, 1.0, 0.95, seed);
        o.stop_tokens = Some(Vec::new());
        m.generate(&p.ids, &o, |_| ControlFlow::Continue(()))
            .unwrap()
            .tokens
    };
    let a = run(7);
    assert_eq!(a.len(), 24);
    assert_eq!(a, run(7));
    assert_ne!(a, run(8));
    assert_ne!(a, p.greedy[..24]);
}

#[test]
fn stop_tokens_streaming_and_cancellation() {
    let m = load("tiny-qwen2");
    let p = &reference("tiny-qwen2").0[0];
    // The first token that appears at index k >= 1 for the first time.
    let (k, stop) = p
        .greedy
        .iter()
        .enumerate()
        .skip(1)
        .find(|(k, t)| !p.greedy[..*k].contains(t))
        .map(|(k, &t)| (k, t))
        .unwrap();
    let mut o = GenerateOptions::greedy(40);
    o.stop_tokens = Some(vec![stop]);
    let mut streamed = Vec::new();
    let mut text = String::new();
    let g = m
        .generate(&p.ids, &o, |ev| {
            streamed.push(ev.id);
            text.push_str(ev.text);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(g.stop_reason, StopReason::StopToken(stop));
    assert_eq!(g.tokens, p.greedy[..k]);
    assert_eq!(streamed, g.tokens);
    assert_eq!(text, g.text);

    // The model's own stop token (config/generation_config) is used by default.
    assert!(
        m.config()
            .eos_token_ids
            .contains(&m.tokenizer().token_id("<|im_end|>").unwrap())
    );

    // The callback cancels after three tokens.
    let mut n = 0;
    let g = m
        .generate(&p.ids, &greedy(40, true), |_| {
            n += 1;
            if n == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!((g.tokens.len(), g.stop_reason), (3, StopReason::Cancelled));

    // A cancel flag set from elsewhere stops before the next token.
    let mut o = greedy(40, true);
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    o.cancel = Some(flag.clone());
    let g = m
        .generate(&p.ids, &o, |ev| {
            if ev.index == 4 {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!((g.tokens.len(), g.stop_reason), (5, StopReason::Cancelled));
}

#[test]
fn bad_inputs_are_typed_errors() {
    let m = load("tiny-qwen2");
    let vocab = m.config().vocab_size;
    let too_big = u32::try_from(vocab).unwrap();
    let cont = |_: &inference_tch::TokenEvent<'_>| ControlFlow::Continue(());
    assert!(matches!(
        m.generate(&[1, too_big], &GenerateOptions::greedy(2), cont),
        Err(Error::TokenOutOfRange { id, .. }) if id == too_big
    ));
    assert!(matches!(
        m.generate(&[], &GenerateOptions::greedy(2), cont),
        Err(Error::EmptyPrompt)
    ));
    let long = vec![1u32; m.config().max_position_embeddings + 1];
    assert!(matches!(m.logits(&long), Err(Error::ContextFull { .. })));
    assert!(matches!(
        m.generate(&[1], &GenerateOptions::sampled(2, 1.0, 1.5, 0), cont),
        Err(Error::InvalidOption(_))
    ));
    assert!(matches!(
        inference_tch::set_threads(0),
        Err(Error::InvalidOption(_))
    ));
    // Generation that reaches the context's end stops there.
    let near = vec![1u32; m.config().max_position_embeddings - 2];
    let g = m.generate(&near, &greedy(10, true), cont).unwrap();
    assert_eq!(
        (g.tokens.len(), g.stop_reason),
        (2, StopReason::ContextFull)
    );
}

#[test]
fn cuda_request_without_a_gpu_is_refused_clearly() {
    if Device::cuda_available() {
        return; // Covered by running the example with --device cuda.
    }
    let dir = fixtures().join("tiny-qwen2");
    let manifest =
        Manifest::parse(&std::fs::read(dir.join(model_verify::MANIFEST_FILE_NAME)).unwrap())
            .unwrap();
    let files = Verifier::new(&manifest).load_each(&dir).unwrap();
    let e = LanguageModel::load(files, &LoadOptions::new().device(Device::Cuda(0))).unwrap_err();
    assert!(matches!(e, Error::CudaUnavailable));
    assert!(e.to_string().contains("CUDA"));
}
