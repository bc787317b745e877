//! The decoder: token embeddings, RMSNorm, rotary embeddings (the Hugging
//! Face "rotate half" layout), grouped-query attention with a KV cache,
//! SwiGLU MLP, tied or separate LM head. Written to match transformers'
//! `Qwen2ForCausalLM` / `LlamaForCausalLM` operation for operation.

use std::collections::HashMap;

use tch::{Kind, Tensor};

use crate::config::Config;
use crate::{DType, Device, Error};

struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor, Error> {
        Ok(x.f_linear(&self.weight, self.bias.as_ref())?)
    }
}

struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    /// As transformers: normalize in float32, cast back, then scale.
    fn forward(&self, x: &Tensor) -> Result<Tensor, Error> {
        let kind = x.kind();
        let xf = x.f_to_kind(Kind::Float)?;
        let var = xf
            .f_pow_tensor_scalar(2)?
            .f_mean_dim(-1, true, Kind::Float)?;
        let normed = xf.f_mul(&var.f_add_scalar(self.eps)?.f_rsqrt()?)?;
        Ok(self.weight.f_mul(&normed.f_to_kind(kind)?)?)
    }
}

struct Layer {
    input_norm: RmsNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    post_norm: RmsNorm,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// The keys and values of every layer for the tokens seen so far, so that
/// each new token costs one position's work ([`Model::forward`]).
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl std::fmt::Debug for KvCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvCache")
            .field("layers", &self.layers.len())
            .field("len", &self.len)
            .finish()
    }
}

impl KvCache {
    /// Tokens held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no token has been seen yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every token (reuse for a new sequence).
    pub fn clear(&mut self) {
        for l in &mut self.layers {
            *l = None;
        }
        self.len = 0;
    }
}

/// A loaded decoder-only transformer (Qwen2 or Llama). Made only by
/// [`crate::LanguageModel`]'s loaders, from verified files.
pub struct Model {
    config: Config,
    device: tch::Device,
    kind: Kind,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: RmsNorm,
    /// `None` when tied to the embedding.
    lm_head: Option<Tensor>,
    inv_freq: Tensor,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("architecture", &self.config.architecture)
            .field("layers", &self.layers.len())
            .field("device", &self.device)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Names and shapes of every tensor the configuration needs.
pub(crate) fn expected_tensors(c: &Config) -> Vec<(String, Vec<i64>)> {
    let i = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let (h, inter, d) = (i(c.hidden_size), i(c.intermediate_size), i(c.head_dim));
    let (nq, nkv) = (i(c.num_attention_heads), i(c.num_key_value_heads));
    let mut out = vec![(
        "model.embed_tokens.weight".to_owned(),
        vec![i(c.vocab_size), h],
    )];
    for l in 0..c.num_hidden_layers {
        let p = format!("model.layers.{l}");
        out.push((format!("{p}.input_layernorm.weight"), vec![h]));
        out.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
        for (name, rows) in [("q_proj", nq * d), ("k_proj", nkv * d), ("v_proj", nkv * d)] {
            out.push((format!("{p}.self_attn.{name}.weight"), vec![rows, h]));
            if c.qkv_bias {
                out.push((format!("{p}.self_attn.{name}.bias"), vec![rows]));
            }
        }
        out.push((format!("{p}.self_attn.o_proj.weight"), vec![h, nq * d]));
        if c.o_bias {
            out.push((format!("{p}.self_attn.o_proj.bias"), vec![h]));
        }
        for (name, shape, bias) in [
            ("gate_proj", vec![inter, h], inter),
            ("up_proj", vec![inter, h], inter),
            ("down_proj", vec![h, inter], h),
        ] {
            out.push((format!("{p}.mlp.{name}.weight"), shape));
            if c.mlp_bias {
                out.push((format!("{p}.mlp.{name}.bias"), vec![bias]));
            }
        }
    }
    out.push(("model.norm.weight".to_owned(), vec![h]));
    if !c.tie_word_embeddings {
        out.push(("lm_head.weight".to_owned(), vec![i(c.vocab_size), h]));
    }
    out
}

/// Tensors a checkpoint may carry that the model recomputes or shares:
/// ignored rather than refused.
pub(crate) fn ignorable(c: &Config, name: &str) -> bool {
    name.ends_with(".rotary_emb.inv_freq") || (c.tie_word_embeddings && name == "lm_head.weight")
}

pub(crate) fn to_torch_device(d: Device) -> Result<tch::Device, Error> {
    match d {
        Device::Cpu => Ok(tch::Device::Cpu),
        Device::Cuda(i) => {
            if !tch::Cuda::is_available()
                || i >= usize::try_from(tch::Cuda::device_count()).unwrap_or(0)
            {
                return Err(Error::CudaUnavailable);
            }
            Ok(tch::Device::Cuda(i))
        }
    }
}

pub(crate) fn to_kind(d: DType) -> Kind {
    match d {
        DType::F32 => Kind::Float,
        DType::BF16 => Kind::BFloat16,
    }
}

impl Model {
    /// Builds the model from tensors already checked against
    /// [`expected_tensors`] (names and shapes) and already on the device in
    /// the model's dtype.
    pub(crate) fn assemble(
        config: Config,
        mut t: HashMap<String, Tensor>,
        device: tch::Device,
        kind: Kind,
    ) -> Result<Self, Error> {
        let mut take = |name: &str| {
            t.remove(name)
                .ok_or_else(|| Error::MissingTensor(name.to_owned()))
        };
        let eps = config.rms_norm_eps;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("model.layers.{l}");
            let mut lin = |name: String, bias: bool| -> Result<Linear, Error> {
                Ok(Linear {
                    weight: take(&format!("{name}.weight"))?,
                    bias: if bias {
                        Some(take(&format!("{name}.bias"))?)
                    } else {
                        None
                    },
                })
            };
            let q = lin(format!("{p}.self_attn.q_proj"), config.qkv_bias)?;
            let k = lin(format!("{p}.self_attn.k_proj"), config.qkv_bias)?;
            let v = lin(format!("{p}.self_attn.v_proj"), config.qkv_bias)?;
            let o = lin(format!("{p}.self_attn.o_proj"), config.o_bias)?;
            let gate = lin(format!("{p}.mlp.gate_proj"), config.mlp_bias)?;
            let up = lin(format!("{p}.mlp.up_proj"), config.mlp_bias)?;
            let down = lin(format!("{p}.mlp.down_proj"), config.mlp_bias)?;
            layers.push(Layer {
                input_norm: RmsNorm {
                    weight: take(&format!("{p}.input_layernorm.weight"))?,
                    eps,
                },
                post_norm: RmsNorm {
                    weight: take(&format!("{p}.post_attention_layernorm.weight"))?,
                    eps,
                },
                q,
                k,
                v,
                o,
                gate,
                up,
                down,
            });
        }
        let embed = take("model.embed_tokens.weight")?;
        let norm = RmsNorm {
            weight: take("model.norm.weight")?,
            eps,
        };
        let lm_head = if config.tie_word_embeddings {
            None
        } else {
            Some(take("lm_head.weight")?)
        };
        // inv_freq exactly as transformers computes it: float32 powers of
        // an int64 arange.
        let d =
            i64::try_from(config.head_dim).map_err(|_| Error::InvalidOption("head_dim".into()))?;
        let exps = Tensor::f_arange_start_step(0, d, 2, (Kind::Int64, tch::Device::Cpu))?
            .f_to_kind(Kind::Float)?
            .f_div_scalar(d)?;
        let inv_freq = Tensor::f_full([d / 2], config.rope_theta, (Kind::Float, tch::Device::Cpu))?
            .f_pow(&exps)?
            .f_reciprocal()?
            .f_to_device(device)?;
        Ok(Self {
            config,
            device,
            kind,
            embed,
            layers,
            norm,
            lm_head,
            inv_freq,
        })
    }

    /// The configuration the model was built from.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A KV cache for this model, empty.
    #[must_use]
    pub fn new_cache(&self) -> KvCache {
        KvCache {
            layers: (0..self.layers.len()).map(|_| None).collect(),
            len: 0,
        }
    }

    /// Runs `ids` (the next tokens of the sequence held by `cache`) through
    /// the model, appends their keys and values to `cache`, and returns the
    /// logits as a float32 tensor of shape `[ids.len(), vocab_size]` (only
    /// the last row when `last_only`).
    ///
    /// # Errors
    /// [`Error::EmptyPrompt`], [`Error::TokenOutOfRange`],
    /// [`Error::ContextFull`], [`Error::CacheMismatch`], or a libtorch error.
    pub fn forward(
        &self,
        ids: &[u32],
        cache: &mut KvCache,
        last_only: bool,
    ) -> Result<Tensor, Error> {
        if ids.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        if cache.layers.len() != self.layers.len() {
            return Err(Error::CacheMismatch {
                cache: cache.layers.len(),
                model: self.layers.len(),
            });
        }
        let vocab = self.config.vocab_size;
        if let Some(&id) = ids
            .iter()
            .find(|&&id| usize::try_from(id).map_or(true, |i| i >= vocab))
        {
            return Err(Error::TokenOutOfRange { id, vocab });
        }
        let total = cache.len + ids.len();
        if total > self.config.max_position_embeddings {
            return Err(Error::ContextFull {
                len: total,
                max: self.config.max_position_embeddings,
            });
        }
        let _guard = tch::no_grad_guard();
        let t = i64::try_from(ids.len()).map_err(|_| Error::EmptyPrompt)?;
        let past = i64::try_from(cache.len).map_err(|_| Error::EmptyPrompt)?;
        let ids64: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
        let ids_t = Tensor::from_slice(&ids64).f_to_device(self.device)?;
        let mut x = self.embed.f_index_select(0, &ids_t)?.f_unsqueeze(0)?; // [1, T, H]

        // Rotary tables for positions past..past+T, as transformers: the
        // product in float32, cos/sin in float32, then cast.
        let pos = Tensor::f_arange_start(past, past + t, (Kind::Float, self.device))?;
        let freqs = pos.f_unsqueeze(1)?.f_mul(&self.inv_freq.f_unsqueeze(0)?)?; // [T, d/2]
        let emb = Tensor::f_cat(&[&freqs, &freqs], -1)?;
        let cos = emb.f_cos()?.f_to_kind(self.kind)?.f_view([1, 1, t, -1])?;
        let sin = emb.f_sin()?.f_to_kind(self.kind)?.f_view([1, 1, t, -1])?;

        // Causal mask: needed only when several new tokens follow cached
        // ones; with an empty cache `is_causal` does it, one token needs none.
        let mask = if t > 1 && past > 0 {
            let q_pos = Tensor::f_arange_start(past, past + t, (Kind::Int64, self.device))?;
            let k_pos = Tensor::f_arange(past + t, (Kind::Int64, self.device))?;
            Some(k_pos.f_unsqueeze(0)?.f_le_tensor(&q_pos.f_unsqueeze(1)?)?)
        } else {
            None
        };
        let is_causal = t > 1 && past == 0;

        let nq = i64::try_from(self.config.num_attention_heads).map_err(|_| Error::EmptyPrompt)?;
        let nkv = i64::try_from(self.config.num_key_value_heads).map_err(|_| Error::EmptyPrompt)?;
        let d = i64::try_from(self.config.head_dim).map_err(|_| Error::EmptyPrompt)?;
        for (layer, slot) in self.layers.iter().zip(cache.layers.iter_mut()) {
            let h = layer.input_norm.forward(&x)?;
            let q = layer
                .q
                .forward(&h)?
                .f_view([1, t, nq, d])?
                .f_transpose(1, 2)?;
            let k = layer
                .k
                .forward(&h)?
                .f_view([1, t, nkv, d])?
                .f_transpose(1, 2)?;
            let v = layer
                .v
                .forward(&h)?
                .f_view([1, t, nkv, d])?
                .f_transpose(1, 2)?;
            let q = rope(&q, &cos, &sin)?;
            let k = rope(&k, &cos, &sin)?;
            let (k, v) = match slot.take() {
                Some((pk, pv)) => (Tensor::f_cat(&[&pk, &k], 2)?, Tensor::f_cat(&[&pv, &v], 2)?),
                None => (k, v),
            };
            let attn = Tensor::f_scaled_dot_product_attention(
                &q,
                &k,
                &v,
                mask.as_ref(),
                0.0,
                is_causal,
                None,
                nq != nkv,
            )?;
            *slot = Some((k, v));
            let attn = attn.f_transpose(1, 2)?.f_reshape([1, t, nq * d])?;
            x = x.f_add(&layer.o.forward(&attn)?)?;
            let h = layer.post_norm.forward(&x)?;
            let g = layer.gate.forward(&h)?.f_silu()?;
            let u = layer.up.forward(&h)?;
            x = x.f_add(&layer.down.forward(&g.f_mul(&u)?)?)?;
        }
        cache.len = total;
        let x = if last_only {
            x.f_narrow(1, t - 1, 1)?
        } else {
            x
        };
        let x = self.norm.forward(&x)?;
        let head = self.lm_head.as_ref().unwrap_or(&self.embed);
        let logits = x.f_linear(head, None::<&Tensor>)?.f_squeeze_dim(0)?;
        Ok(logits.f_to_kind(Kind::Float)?)
    }
}

/// `x * cos + rotate_half(x) * sin`, rotate_half = cat(-x2, x1).
fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor, Error> {
    let half = x.size().last().copied().unwrap_or(0) / 2;
    let x1 = x.f_narrow(-1, 0, half)?;
    let x2 = x.f_narrow(-1, half, half)?;
    let rot = Tensor::f_cat(&[&x2.f_neg()?, &x1], -1)?;
    Ok(x.f_mul(cos)?.f_add(&rot.f_mul(sin)?)?)
}
