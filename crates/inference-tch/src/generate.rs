//! Token selection (greedy, temperature, top-p, seeded) and the generation
//! loop's options and results.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use crate::Error;

/// How to generate.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GenerateOptions {
    /// Most tokens to generate (default 128).
    pub max_new_tokens: usize,
    /// Softmax temperature; `0.0` is greedy (default).
    pub temperature: f64,
    /// Nucleus sampling: keep the most likely tokens whose probabilities sum
    /// to at least this (default `1.0`, all). Ignored when greedy.
    pub top_p: f64,
    /// Seed of the sampler (ChaCha8); `None` seeds from the OS.
    pub seed: Option<u64>,
    /// Tokens that end generation; `None` uses the model's
    /// (`eos_token_id` of config.json and generation_config.json). The stop
    /// token is not part of the output.
    pub stop_tokens: Option<Vec<u32>>,
    /// Whether to use the KV cache (default). Without it every step reruns
    /// the whole sequence: only for checking the cache.
    pub use_kv_cache: bool,
    /// Set from any thread to stop after the current token.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            max_new_tokens: 128,
            temperature: 0.0,
            top_p: 1.0,
            seed: None,
            stop_tokens: None,
            use_kv_cache: true,
            cancel: None,
        }
    }
}

impl GenerateOptions {
    /// Greedy decoding of up to `max_new_tokens` tokens.
    #[must_use]
    pub fn greedy(max_new_tokens: usize) -> Self {
        Self {
            max_new_tokens,
            ..Self::default()
        }
    }

    /// Sampling at `temperature` with nucleus `top_p` and a fixed `seed`.
    #[must_use]
    pub fn sampled(max_new_tokens: usize, temperature: f64, top_p: f64, seed: u64) -> Self {
        Self {
            max_new_tokens,
            temperature,
            top_p,
            seed: Some(seed),
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(Error::InvalidOption(
                "temperature must be a finite number >= 0".into(),
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::InvalidOption("top_p must be in (0, 1]".into()));
        }
        Ok(())
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// Why generation stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// A stop token was generated (its id).
    StopToken(u32),
    /// `max_new_tokens` were generated.
    MaxTokens,
    /// The callback asked to stop, or the cancel flag was set.
    Cancelled,
    /// The model's context (`max_position_embeddings`) is full.
    ContextFull,
}

/// One generated token, handed to the streaming callback.
#[derive(Debug)]
#[non_exhaustive]
pub struct TokenEvent<'a> {
    /// Its id.
    pub id: u32,
    /// Text that this token completes (may be empty while a multi-byte
    /// character is still incomplete).
    pub text: &'a str,
    /// 0 for the first generated token.
    pub index: usize,
}

/// The result of [`crate::LanguageModel::generate`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Generation {
    /// Generated token ids (without the stop token).
    pub tokens: Vec<u32>,
    /// Their text.
    pub text: String,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// Time to process the prompt (up to the first token's logits).
    pub prompt_time: Duration,
    /// Time spent generating the tokens after the first.
    pub generation_time: Duration,
}

impl Generation {
    /// Prompt tokens per second.
    #[must_use]
    pub fn prompt_tokens_per_s(&self) -> f64 {
        rate(self.prompt_tokens, self.prompt_time)
    }

    /// Generated tokens per second, counted over the decoding steps (each
    /// token after the first costs one step).
    #[must_use]
    pub fn generated_tokens_per_s(&self) -> f64 {
        rate(self.tokens.len().saturating_sub(1), self.generation_time)
    }
}

#[allow(clippy::cast_precision_loss)]
fn rate(n: usize, t: Duration) -> f64 {
    let s = t.as_secs_f64();
    if s > 0.0 { n as f64 / s } else { 0.0 }
}

/// Picks the next token from float32 logits.
pub(crate) struct Sampler {
    temperature: f64,
    top_p: f64,
    rng: ChaCha8Rng,
}

impl Sampler {
    pub(crate) fn new(o: &GenerateOptions) -> Result<Self, Error> {
        let seed = match o.seed {
            Some(s) => s,
            None => {
                let mut b = [0u8; 8];
                getrandom::fill(&mut b).map_err(|e| {
                    Error::InvalidOption(format!("no OS randomness for the seed: {e}"))
                })?;
                u64::from_le_bytes(b)
            }
        };
        Ok(Self {
            temperature: o.temperature,
            top_p: o.top_p,
            rng: ChaCha8Rng::seed_from_u64(seed),
        })
    }

    pub(crate) fn pick(&mut self, logits: &[f32]) -> u32 {
        if self.temperature == 0.0 {
            return argmax(logits);
        }
        // Softmax of logits / T in f64, most likely first.
        let t = self.temperature;
        let max = f64::from(logits.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        let mut probs: Vec<(u32, f64)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                (
                    u32::try_from(i).unwrap_or(u32::MAX),
                    ((f64::from(l) - max) / t).exp(),
                )
            })
            .collect();
        let sum: f64 = probs.iter().map(|p| p.1).sum();
        probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        // Nucleus: the shortest prefix whose mass reaches top_p (at least one).
        let mut kept = 0;
        let mut mass = 0.0;
        for p in &probs {
            kept += 1;
            mass += p.1 / sum;
            if mass >= self.top_p {
                break;
            }
        }
        probs.truncate(kept);
        let total: f64 = probs.iter().map(|p| p.1).sum();
        let mut r = self.rng.random::<f64>() * total;
        for &(id, p) in &probs {
            if r < p {
                return id;
            }
            r -= p;
        }
        probs.last().map_or(0, |p| p.0)
    }
}

/// Index of the largest logit (the first, on ties, as torch.argmax).
pub(crate) fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    u32::try_from(best).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_is_argmax_first_on_ties() {
        assert_eq!(argmax(&[0.0, 2.0, 2.0, -1.0]), 1);
    }

    #[test]
    fn seeded_sampling_repeats_and_top_p_cuts() {
        let logits = [1.0f32, 3.0, 2.0, 0.5];
        let o = GenerateOptions::sampled(1, 1.0, 1.0, 42);
        let a: Vec<u32> = {
            let mut s = Sampler::new(&o).unwrap_or_else(|_| unreachable!());
            (0..50).map(|_| s.pick(&logits)).collect()
        };
        let b: Vec<u32> = {
            let mut s = Sampler::new(&o).unwrap_or_else(|_| unreachable!());
            (0..50).map(|_| s.pick(&logits)).collect()
        };
        assert_eq!(a, b);
        assert!(a.iter().collect::<std::collections::HashSet<_>>().len() > 1);
        // p(1) ~ 0.63: top_p 0.5 keeps only token 1.
        let mut s = Sampler::new(&GenerateOptions::sampled(1, 1.0, 0.5, 7))
            .unwrap_or_else(|_| unreachable!());
        assert!((0..100).all(|_| s.pick(&logits) == 1));
    }

    #[test]
    fn options_are_checked() {
        assert!(
            GenerateOptions::sampled(1, -1.0, 1.0, 0)
                .validate()
                .is_err()
        );
        assert!(GenerateOptions::sampled(1, 1.0, 0.0, 0).validate().is_err());
        assert!(
            GenerateOptions::sampled(1, f64::NAN, 1.0, 0)
                .validate()
                .is_err()
        );
    }
}
