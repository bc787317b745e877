#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod error;
mod generate;
mod load;
mod model;
mod tokenizer;

use std::ops::ControlFlow;
use std::time::Instant;

pub use crate::config::{Architecture, Config};
pub use crate::error::Error;
pub use crate::generate::{GenerateOptions, Generation, StopReason, TokenEvent};
pub use crate::model::{KvCache, Model};
pub use crate::tokenizer::{QWEN2_DEFAULT_SYSTEM, Role, SMOLLM2_DEFAULT_SYSTEM, Tokenizer, chatml};

use crate::generate::Sampler;

/// Where the model runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    /// The CPU (default).
    #[default]
    Cpu,
    /// A CUDA GPU by index; loading fails with [`Error::CudaUnavailable`]
    /// when libtorch sees none.
    Cuda(usize),
}

impl Device {
    /// Whether libtorch sees at least one CUDA device.
    #[must_use]
    pub fn cuda_available() -> bool {
        tch::Cuda::is_available()
    }
}

/// The element type the weights are held and computed in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DType {
    /// float32 (default; what the reference tests compare).
    #[default]
    F32,
    /// bfloat16: half the memory and bandwidth; RMSNorm and rotary tables
    /// are computed in float32 as transformers does.
    BF16,
}

/// How to load a model.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Device (default CPU).
    pub device: Device,
    /// Element type (default float32).
    pub dtype: DType,
    /// libtorch intra-op threads; `None` leaves libtorch's default (one per
    /// core). This is a process-wide libtorch setting.
    pub threads: Option<usize>,
}

impl LoadOptions {
    /// CPU, float32, default threads.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the device.
    #[must_use]
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// Sets the element type.
    #[must_use]
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// Sets libtorch's intra-op threads.
    #[must_use]
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }
}

/// A language model and its tokenizer, built only from files that
/// model-verify has verified: the loaders take [`model_verify::VerifiedFiles`]
/// or [`model_verify::VerifiedModel`], which exist only after every file of
/// the manifest has been checked, so an unverified model cannot be built.
#[derive(Debug)]
pub struct LanguageModel {
    model: Model,
    tokenizer: Tokenizer,
}

impl LanguageModel {
    /// Loads from a verified model handed over one file at a time
    /// ([`model_verify::Verifier::load_each`]): peak memory is the model
    /// plus one shard.
    ///
    /// # Errors
    /// [`Error::Verify`] if a file changed since verification (nothing is
    /// kept), [`Error::MissingFile`], [`Error::Config`],
    /// [`Error::MissingTensor`], [`Error::TensorShape`],
    /// [`Error::TensorDtype`], [`Error::UnexpectedTensor`],
    /// [`Error::Tokenizer`], [`Error::CudaUnavailable`], or a libtorch error.
    pub fn load(files: model_verify::VerifiedFiles, options: &LoadOptions) -> Result<Self, Error> {
        Self::load_from(files, options)
    }

    /// Loads from a verified model already in memory
    /// ([`model_verify::Verifier::load`]).
    ///
    /// # Errors
    /// As [`LanguageModel::load`].
    pub fn load_in_memory(
        model: model_verify::VerifiedModel,
        options: &LoadOptions,
    ) -> Result<Self, Error> {
        Self::load_from(model.into_files().into_iter().map(Ok), options)
    }

    fn load_from<I>(files: I, options: &LoadOptions) -> Result<Self, Error>
    where
        I: IntoIterator<Item = Result<model_verify::VerifiedFile, model_verify::Error>>,
    {
        let device = model::to_torch_device(options.device)?;
        if let Some(n) = options.threads {
            set_threads(n)?;
        }
        let loaded = load::load(files, device, model::to_kind(options.dtype))?;
        Ok(Self {
            model: loaded.model,
            tokenizer: loaded.tokenizer,
        })
    }

    /// The decoder (for logits and a hand-driven KV cache).
    #[must_use]
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The tokenizer.
    #[must_use]
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        self.model.config()
    }

    /// Logits (float32, `[ids.len(), vocab_size]`) for every position of
    /// `ids`, in one pass without a cache.
    ///
    /// # Errors
    /// As [`Model::forward`].
    pub fn logits(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>, Error> {
        let mut cache = self.model.new_cache();
        let t = self.model.forward(ids, &mut cache, false)?;
        rows(&t)
    }

    /// Generates from prompt token ids, calling `on_token` for each
    /// generated token; returning [`ControlFlow::Break`] from it cancels.
    ///
    /// # Errors
    /// [`Error::InvalidOption`], [`Error::EmptyPrompt`],
    /// [`Error::TokenOutOfRange`], [`Error::ContextFull`] (when the prompt
    /// alone does not fit), or a libtorch error.
    pub fn generate(
        &self,
        prompt: &[u32],
        options: &GenerateOptions,
        mut on_token: impl FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) -> Result<Generation, Error> {
        options.validate()?;
        if prompt.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        let stop: Vec<u32> = options
            .stop_tokens
            .clone()
            .unwrap_or_else(|| self.config().eos_token_ids.clone());
        let max_ctx = self.config().max_position_embeddings;
        let mut sampler = Sampler::new(options)?;
        let mut cache = self.model.new_cache();
        let mut seq: Vec<u32> = prompt.to_vec();
        let mut tokens: Vec<u32> = Vec::new();
        let mut text = String::new();
        let started = Instant::now();
        let mut logits = self.last_logits(&seq, &mut cache, options.use_kv_cache, 0)?;
        let prompt_time = started.elapsed();
        let decode_started = Instant::now();
        let stop_reason = loop {
            if tokens.len() >= options.max_new_tokens {
                break StopReason::MaxTokens;
            }
            if options.cancelled() {
                break StopReason::Cancelled;
            }
            let id = sampler.pick(&logits);
            if stop.contains(&id) {
                break StopReason::StopToken(id);
            }
            tokens.push(id);
            seq.push(id);
            // Text so far, emitting the new suffix once it is whole UTF-8.
            let decoded = self.tokenizer.decode(&tokens, true)?;
            let piece = if decoded.ends_with('\u{fffd}') || !decoded.starts_with(&text) {
                String::new()
            } else {
                decoded[text.len()..].to_owned()
            };
            if !piece.is_empty() {
                text = decoded;
            }
            let event = TokenEvent {
                id,
                text: &piece,
                index: tokens.len() - 1,
            };
            if on_token(&event).is_break() {
                break StopReason::Cancelled;
            }
            if tokens.len() >= options.max_new_tokens {
                break StopReason::MaxTokens;
            }
            if seq.len() >= max_ctx {
                break StopReason::ContextFull;
            }
            logits = self.last_logits(&seq, &mut cache, options.use_kv_cache, seq.len() - 1)?;
        };
        let generation_time = decode_started.elapsed();
        let text = self.tokenizer.decode(&tokens, true)?;
        Ok(Generation {
            tokens,
            text,
            stop_reason,
            prompt_tokens: prompt.len(),
            prompt_time,
            generation_time,
        })
    }

    /// Logits of the last position: with the cache, only the new tokens
    /// `seq[new_from..]` are run; without, the whole sequence afresh.
    fn last_logits(
        &self,
        seq: &[u32],
        cache: &mut KvCache,
        use_cache: bool,
        new_from: usize,
    ) -> Result<Vec<f32>, Error> {
        let t = if use_cache {
            self.model.forward(&seq[new_from..], cache, true)?
        } else {
            cache.clear();
            self.model.forward(seq, cache, true)?
        };
        Ok(rows(&t)?.pop().unwrap_or_default())
    }
}

fn rows(t: &tch::Tensor) -> Result<Vec<Vec<f32>>, Error> {
    let t = t.f_to_device(tch::Device::Cpu)?.f_contiguous()?;
    let size = t.size();
    let cols = usize::try_from(size.last().copied().unwrap_or(0)).unwrap_or(0);
    let flat: Vec<f32> = Vec::<f32>::try_from(t.f_flatten(0, -1)?)?;
    Ok(flat.chunks(cols.max(1)).map(<[f32]>::to_vec).collect())
}

/// Sets libtorch's intra-op thread count (process-wide).
///
/// # Errors
/// [`Error::InvalidOption`] for 0 or an absurd count.
pub fn set_threads(n: usize) -> Result<(), Error> {
    let n = i32::try_from(n)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| Error::InvalidOption("threads must be at least 1".into()))?;
    tch::set_num_threads(n);
    Ok(())
}
