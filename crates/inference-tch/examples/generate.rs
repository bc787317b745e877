//! Generate text with a verified Qwen2 or Llama-family model.
//!
//! ```text
//! cargo run -p inference-tch --example generate -- --model DIR [--manifest FILE]
//!     (--prompt TEXT | --prompt-ids 1,2,3) [--max-new-tokens N] [--temperature T]
//!     [--top-p P] [--seed S] [--print-ids] [--device cpu|cuda]
//! ```
//!
//! (Run it through `cargo xtask torch -- run ...` so that libtorch is found.)
//! The model directory is verified against its manifest (default
//! `DIR/model.manifest.json`, or `--manifest FILE`; `--pubkey FILE` requires
//! a signature by that key) before a byte of it is used; a model that does
//! not verify exits with status 3. Text streams to stdout as it is
//! generated; with `--print-ids` stdout is only the generated token ids,
//! space-separated, on one line. Timings go to stderr. Temperature 0 (the
//! default) is greedy. Extra options: `--chat` wraps the prompt in ChatML
//! (Qwen2.5 / SmolLM2 instruct), `--system TEXT`, `--dtype f32|bf16`,
//! `--threads N`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use inference_tch::{
    DType, Device, Error, GenerateOptions, LanguageModel, LoadOptions, Role, chatml,
};
use model_verify::{Manifest, PublicKey, Verifier};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DeviceArg {
    Cpu,
    Cuda,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DTypeArg {
    F32,
    Bf16,
}

/// Generate text with a model verified by model-verify.
#[derive(Debug, Parser)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["prompt", "prompt_ids"])))]
struct Args {
    /// Model directory (Hugging Face layout: config.json, tokenizer.json, *.safetensors).
    #[arg(long)]
    model: PathBuf,
    /// Manifest (default: DIR/model.manifest.json).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Require the manifest to be signed by this public key (PEM).
    #[arg(long)]
    pubkey: Option<PathBuf>,
    /// Prompt text.
    #[arg(long)]
    prompt: Option<String>,
    /// Prompt as token ids, comma-separated.
    #[arg(long, value_delimiter = ',')]
    prompt_ids: Option<Vec<u32>>,
    /// Wrap --prompt in ChatML as a user message (instruct models).
    #[arg(long)]
    chat: bool,
    /// System message for --chat.
    #[arg(long)]
    system: Option<String>,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 128)]
    max_new_tokens: usize,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Nucleus sampling threshold.
    #[arg(long, default_value_t = 1.0)]
    top_p: f64,
    /// Sampler seed (default: from the OS).
    #[arg(long)]
    seed: Option<u64>,
    /// Print the generated token ids, space-separated, on one line (instead of text).
    #[arg(long)]
    print_ids: bool,
    /// Where to run.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// Weights' element type.
    #[arg(long, value_enum, default_value_t = DTypeArg::F32)]
    dtype: DTypeArg,
    /// libtorch intra-op threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("generate: {e}");
            let refused = match e.downcast_ref::<Error>() {
                Some(Error::Verify(v)) => v.is_refusal(),
                Some(_) => false,
                None => e
                    .downcast_ref::<model_verify::Error>()
                    .is_none_or(model_verify::Error::is_refusal),
            };
            ExitCode::from(if refused { 3 } else { 1 })
        }
    }
}

/// A manifest or key file that cannot be read: nothing can be verified.
#[derive(Debug)]
struct Unreadable(String);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreadable {}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = match args.device {
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Cuda => {
            if !Device::cuda_available() {
                return Err(Error::CudaUnavailable.into());
            }
            Device::Cuda(0)
        }
    };
    let manifest_path = args
        .manifest
        .clone()
        .unwrap_or_else(|| args.model.join(model_verify::MANIFEST_FILE_NAME));
    let manifest_bytes = std::fs::read(&manifest_path)
        .map_err(|e| Unreadable(format!("manifest {}: {e}", manifest_path.display())))?;
    let manifest = match &args.pubkey {
        Some(k) => {
            let pem = std::fs::read_to_string(k)
                .map_err(|e| Unreadable(format!("public key {}: {e}", k.display())))?;
            Manifest::parse_signed(&manifest_bytes, &PublicKey::from_pem(&pem)?)?
        }
        None => Manifest::parse(&manifest_bytes)?,
    };
    let mut verifier = Verifier::new(&manifest);
    if args.pubkey.is_some() {
        verifier = verifier.require_signature();
    }
    let files = verifier.load_each(&args.model).map_err(Error::Verify)?;
    eprintln!(
        "generate: verified {} files ({} bytes, {})",
        files.report().files().len(),
        files.report().total_bytes(),
        files.report().authenticity()
    );
    let mut options = LoadOptions::new().device(device).dtype(match args.dtype {
        DTypeArg::F32 => DType::F32,
        DTypeArg::Bf16 => DType::BF16,
    });
    if let Some(n) = args.threads {
        options = options.threads(n);
    }
    let lm = LanguageModel::load(files, &options)?;

    let prompt: Vec<u32> = match (&args.prompt, &args.prompt_ids) {
        (_, Some(ids)) => ids.clone(),
        (Some(text), None) if args.chat => {
            let mut messages = Vec::new();
            if let Some(s) = &args.system {
                messages.push((Role::System, s.as_str()));
            }
            messages.push((Role::User, text.as_str()));
            lm.tokenizer().encode(&chatml(&messages), false)?
        }
        (Some(text), None) => lm.tokenizer().encode(text, true)?,
        (None, None) => return Err(Error::EmptyPrompt.into()),
    };
    let mut gen_options = GenerateOptions::greedy(args.max_new_tokens);
    gen_options.temperature = args.temperature;
    gen_options.top_p = args.top_p;
    gen_options.seed = args.seed;

    let mut stdout = std::io::stdout().lock();
    let print_ids = args.print_ids;
    let g = lm.generate(&prompt, &gen_options, |ev| {
        if !print_ids {
            // A closed stdout (a pipe into `head`) stops generation.
            if stdout
                .write_all(ev.text.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    if print_ids {
        let ids: Vec<String> = g.tokens.iter().map(u32::to_string).collect();
        let _ = writeln!(stdout, "{}", ids.join(" "));
    } else {
        let _ = writeln!(stdout);
    }
    eprintln!(
        "generate: {} prompt tokens at {:.1} tokens/s, {} generated at {:.1} tokens/s, stop: {:?}",
        g.prompt_tokens,
        g.prompt_tokens_per_s(),
        g.tokens.len(),
        g.generated_tokens_per_s(),
        g.stop_reason
    );
    Ok(())
}
