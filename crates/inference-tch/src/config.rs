//! `config.json` (and `generation_config.json`) in the Hugging Face layout,
//! read as data: nothing in it names code to run.

use serde_json::{Map, Value};

use crate::Error;

/// The two architectures implemented (they differ only in which biases and
/// which defaults they have).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Architecture {
    /// `model_type: "qwen2"` (Qwen2, Qwen2.5): biases on q, k and v.
    Qwen2,
    /// `model_type: "llama"` (Llama 2/3 without rope scaling, SmolLM, SmolLM2).
    Llama,
}

/// The hyper-parameters of a model, from its `config.json`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Which architecture.
    pub architecture: Architecture,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the SwiGLU MLP.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than query heads).
    pub num_key_value_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: usize,
    /// Longest sequence (prompt plus generated tokens).
    pub max_position_embeddings: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// Rotary embedding base (`rope_theta`, top-level or in `rope_parameters`).
    pub rope_theta: f64,
    /// Whether the LM head is the token embedding.
    pub tie_word_embeddings: bool,
    /// Bias on the q, k, v projections.
    pub qkv_bias: bool,
    /// Bias on the output projection.
    pub o_bias: bool,
    /// Bias on the MLP projections.
    pub mlp_bias: bool,
    /// Beginning-of-sequence token, if configured.
    pub bos_token_id: Option<u32>,
    /// Stop tokens (config.json's `eos_token_id` and generation_config.json's).
    pub eos_token_ids: Vec<u32>,
}

fn bad(file: &str, message: impl Into<String>) -> Error {
    Error::Config {
        file: file.to_owned(),
        message: message.into(),
    }
}

fn usize_key(file: &str, m: &Map<String, Value>, key: &str) -> Result<Option<usize>, Error> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let n = v
                .as_u64()
                .ok_or_else(|| bad(file, format!("`{key}` must be a non-negative integer")))?;
            let n = usize::try_from(n).map_err(|_| bad(file, format!("`{key}` is too large")))?;
            Ok(Some(n))
        }
    }
}

fn required(file: &str, m: &Map<String, Value>, key: &str) -> Result<usize, Error> {
    let n = usize_key(file, m, key)?.ok_or_else(|| bad(file, format!("`{key}` is missing")))?;
    if n == 0 {
        return Err(bad(file, format!("`{key}` must be positive")));
    }
    Ok(n)
}

fn f64_key(file: &str, m: &Map<String, Value>, key: &str) -> Result<Option<f64>, Error> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|x| x.is_finite() && *x > 0.0)
            .map(Some)
            .ok_or_else(|| bad(file, format!("`{key}` must be a positive number"))),
    }
}

fn bool_key(file: &str, m: &Map<String, Value>, key: &str) -> Result<Option<bool>, Error> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(file, format!("`{key}` must be true or false"))),
    }
}

/// `eos_token_id` may be an integer or a list of them.
pub(crate) fn token_ids(file: &str, m: &Map<String, Value>, key: &str) -> Result<Vec<u32>, Error> {
    let one = |v: &Value| {
        v.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(file, format!("`{key}` must be token ids")))
    };
    match m.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(one).collect(),
        Some(v) => Ok(vec![one(v)?]),
    }
}

/// Refuses rope variants this crate does not implement, rather than
/// computing something else.
fn check_rope_type(file: &str, v: Option<&Value>, key: &str) -> Result<(), Error> {
    let Some(Value::Object(p)) = v else {
        return match v {
            None | Some(Value::Null) => Ok(()),
            Some(_) => Err(bad(file, format!("`{key}` must be an object"))),
        };
    };
    let kind = p
        .get("rope_type")
        .or_else(|| p.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    if kind != "default" {
        return Err(bad(
            file,
            format!(
                "`{key}` rope_type `{kind}` is not supported (only the default rotary embedding)"
            ),
        ));
    }
    Ok(())
}

impl Config {
    /// Parses `config.json`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the key that is missing or invalid,
    /// [`Error::UnsupportedArchitecture`] for other model types.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        const F: &str = "config.json";
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| bad(F, format!("not valid JSON: {e}")))?;
        let m = v.as_object().ok_or_else(|| bad(F, "not a JSON object"))?;
        let model_type = m
            .get("model_type")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(F, "`model_type` is missing"))?;
        let architecture = match model_type {
            "qwen2" => Architecture::Qwen2,
            "llama" => Architecture::Llama,
            other => {
                return Err(Error::UnsupportedArchitecture(
                    other.chars().take(64).collect(),
                ));
            }
        };
        if let Some(act) = m.get("hidden_act").and_then(Value::as_str)
            && act != "silu"
        {
            return Err(bad(
                F,
                format!("`hidden_act` `{act}` is not supported (silu is)"),
            ));
        }
        if bool_key(F, m, "use_sliding_window")? == Some(true) {
            return Err(bad(F, "`use_sliding_window` true is not supported"));
        }
        check_rope_type(F, m.get("rope_scaling"), "rope_scaling")?;
        check_rope_type(F, m.get("rope_parameters"), "rope_parameters")?;

        let hidden_size = required(F, m, "hidden_size")?;
        let num_attention_heads = required(F, m, "num_attention_heads")?;
        let num_key_value_heads =
            usize_key(F, m, "num_key_value_heads")?.unwrap_or(num_attention_heads);
        if num_key_value_heads == 0 || !num_attention_heads.is_multiple_of(num_key_value_heads) {
            return Err(bad(
                F,
                "`num_attention_heads` must be a multiple of `num_key_value_heads`",
            ));
        }
        let head_dim = match usize_key(F, m, "head_dim")? {
            Some(d) => d,
            None => {
                if !hidden_size.is_multiple_of(num_attention_heads) {
                    return Err(bad(
                        F,
                        "`hidden_size` is not a multiple of `num_attention_heads` and no `head_dim`",
                    ));
                }
                hidden_size / num_attention_heads
            }
        };
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(bad(F, "`head_dim` must be even and positive"));
        }
        // transformers 5 writes rope_theta inside rope_parameters.
        let rope_theta = match f64_key(F, m, "rope_theta")? {
            Some(t) => t,
            None => match m.get("rope_parameters").and_then(Value::as_object) {
                Some(p) => f64_key(F, p, "rope_theta")?.unwrap_or(10_000.0),
                None => 10_000.0,
            },
        };
        let (qkv_bias, o_bias, mlp_bias) = match architecture {
            Architecture::Qwen2 => (true, false, false),
            Architecture::Llama => {
                let attn = bool_key(F, m, "attention_bias")?.unwrap_or(false);
                (attn, attn, bool_key(F, m, "mlp_bias")?.unwrap_or(false))
            }
        };
        let bos_token_id = token_ids(F, m, "bos_token_id")?.first().copied();
        Ok(Self {
            architecture,
            hidden_size,
            intermediate_size: required(F, m, "intermediate_size")?,
            num_hidden_layers: required(F, m, "num_hidden_layers")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            vocab_size: required(F, m, "vocab_size")?,
            max_position_embeddings: required(F, m, "max_position_embeddings")?,
            rms_norm_eps: f64_key(F, m, "rms_norm_eps")?.unwrap_or(1e-6),
            rope_theta,
            tie_word_embeddings: bool_key(F, m, "tie_word_embeddings")?.unwrap_or(false),
            qkv_bias,
            o_bias,
            mlp_bias,
            bos_token_id,
            eos_token_ids: token_ids(F, m, "eos_token_id")?,
        })
    }

    /// Adds the stop tokens of `generation_config.json`.
    ///
    /// # Errors
    /// [`Error::Config`] if the file is not valid.
    pub fn merge_generation_config(&mut self, bytes: &[u8]) -> Result<(), Error> {
        const F: &str = "generation_config.json";
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| bad(F, format!("not valid JSON: {e}")))?;
        let m = v.as_object().ok_or_else(|| bad(F, "not a JSON object"))?;
        for id in token_ids(F, m, "eos_token_id")? {
            if !self.eos_token_ids.contains(&id) {
                self.eos_token_ids.push(id);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const QWEN: &str = r#"{"model_type":"qwen2","hidden_size":896,"intermediate_size":4864,
        "num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,
        "vocab_size":151936,"max_position_embeddings":32768,"rms_norm_eps":1e-6,
        "rope_theta":1000000.0,"tie_word_embeddings":true,"hidden_act":"silu",
        "use_sliding_window":false,"bos_token_id":151643,"eos_token_id":151645}"#;

    #[test]
    fn qwen_config() {
        let c = Config::from_json(QWEN.as_bytes()).unwrap();
        assert_eq!(c.architecture, Architecture::Qwen2);
        assert_eq!(c.head_dim, 64);
        assert!(c.qkv_bias && !c.o_bias && c.tie_word_embeddings);
        assert_eq!(c.rope_theta, 1_000_000.0);
        assert_eq!(c.eos_token_ids, vec![151_645]);
    }

    #[test]
    fn rope_theta_inside_rope_parameters() {
        let j = r#"{"model_type":"llama","hidden_size":64,"intermediate_size":128,
            "num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100,
            "max_position_embeddings":64,
            "rope_parameters":{"rope_type":"default","rope_theta":500000.0},
            "eos_token_id":[1,2]}"#;
        let c = Config::from_json(j.as_bytes()).unwrap();
        assert_eq!(c.rope_theta, 500_000.0);
        assert_eq!(c.num_key_value_heads, 4);
        assert_eq!(c.eos_token_ids, vec![1, 2]);
        assert!(!c.qkv_bias);
    }

    #[test]
    fn refusals_name_the_key() {
        let e = Config::from_json(QWEN.replace("\"hidden_size\":896,", "").as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("hidden_size"), "{e}");
        let e = Config::from_json(br#"{"model_type":"gpt2"}"#).unwrap_err();
        assert!(matches!(e, Error::UnsupportedArchitecture(t) if t == "gpt2"));
        let scaled = QWEN.replace(
            "\"rope_theta\"",
            "\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4.0},\"rope_theta\"",
        );
        let e = Config::from_json(scaled.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("yarn"), "{e}");
        let e = Config::from_json(
            QWEN.replace("\"num_key_value_heads\":2", "\"num_key_value_heads\":3")
                .as_bytes(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("num_key_value_heads"), "{e}");
    }

    #[test]
    fn generation_config_adds_stop_tokens() {
        let mut c = Config::from_json(QWEN.as_bytes()).unwrap();
        c.merge_generation_config(br#"{"eos_token_id":[151645,151643]}"#)
            .unwrap();
        assert_eq!(c.eos_token_ids, vec![151_645, 151_643]);
    }
}
