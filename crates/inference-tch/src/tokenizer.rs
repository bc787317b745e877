//! `tokenizer.json` through the `tokenizers` crate (offline: the bytes are
//! the verified file's), and ChatML formatting done here, in Rust: a
//! model's Jinja chat template is never run.

use crate::Error;

/// A Hugging Face tokenizer read from verified `tokenizer.json` bytes.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.inner.get_vocab_size(true))
            .finish()
    }
}

impl Tokenizer {
    /// Parses `tokenizer.json`.
    ///
    /// The `tokenizers` crate (0.22.2) panics on some malformed files
    /// instead of returning an error: on a `decoder` object that is not
    /// valid JSON inside, and on a `Precompiled` normalizer without a
    /// valid `precompiled_charsmap`. Both are refused here as malformed,
    /// like any other bad file. The JSON is checked before `tokenizers`
    /// sees it (which avoids the first panic even where panics abort), and
    /// any panic while `tokenizers` builds the tokenizer stops here; the
    /// default panic hook may still print tokenizers' message on stderr.
    /// In a build with `panic = "abort"` the second case still aborts.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the bytes are not JSON or not a tokenizer.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        // A syntax error (or bad UTF-8) inside the `decoder` object is what
        // makes tokenizers' decoder deserializer panic: parse the JSON
        // first, then build the tokenizer from the parsed value, where
        // reading the document cannot fail any more.
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::Tokenizer(format!("malformed JSON: {e}")))?;
        if let Some(pp) = value.get("post_processor") {
            check_post_processor(pp)?;
        }
        // Only `&value` (read-only, unwind safe) crosses the boundary, and
        // nothing tokenizers built survives a panic, so no broken state can
        // be seen afterwards. The payload is dropped unread.
        let parsed = std::panic::catch_unwind(|| {
            <tokenizers::Tokenizer as serde::Deserialize>::deserialize(&value)
        })
        .map_err(|_payload| {
            Error::Tokenizer("malformed (the tokenizers crate panicked while parsing it)".into())
        })?;
        let inner = parsed.map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(Self { inner })
    }

    /// Token ids of `text`. `add_special_tokens` applies the tokenizer's
    /// post-processor (a BOS token, for tokenizers that add one), as
    /// transformers' `tokenizer(text)` does; special tokens written in the
    /// text (`<|im_start|>`) are recognised either way.
    ///
    /// # Errors
    /// [`Error::Tokenizer`].
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>, Error> {
        let enc = self
            .inner
            .encode(text, add_special_tokens)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids`; special tokens are left out when `skip_special_tokens`.
    ///
    /// # Errors
    /// [`Error::Tokenizer`].
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String, Error> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// The id of a token written as text (`"<|im_end|>"`), if in the
    /// vocabulary.
    #[must_use]
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Vocabulary size including added tokens.
    #[must_use]
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

/// tokenizers 0.22.2 checks a `TemplateProcessing` post-processor's
/// special tokens when one is built in code, but not when it is read from
/// JSON: a template naming a special token that its `special_tokens` lack
/// (or one whose `ids` and `tokens` differ in length) loads, then panics
/// in `encode` (`processors/template.rs`, "no entry found for key"; found
/// by the `inference_tokenizer` fuzz target). Checked here, in `Sequence`
/// post-processors too.
fn check_post_processor(pp: &serde_json::Value) -> Result<(), Error> {
    use serde_json::Value;
    let bad = |what: String| Err(Error::Tokenizer(format!("post_processor: {what}")));
    match pp.get("type").and_then(Value::as_str) {
        Some("TemplateProcessing") => {
            let specials = pp.get("special_tokens").and_then(Value::as_object);
            for (name, token) in specials.into_iter().flatten() {
                let len = |key: &str| token.get(key).and_then(Value::as_array).map(Vec::len);
                if len("ids") != len("tokens") {
                    return bad(format!(
                        "special token {name:?} has {:?} ids but {:?} tokens",
                        len("ids"),
                        len("tokens")
                    ));
                }
            }
            for template in ["single", "pair"] {
                let pieces = pp.get(template).and_then(Value::as_array);
                for piece in pieces.into_iter().flatten() {
                    let Some(special) = piece.get("SpecialToken") else {
                        continue;
                    };
                    let id = special
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !specials.is_some_and(|m| m.contains_key(id)) {
                        return bad(format!(
                            "the {template} template names the special token {id:?}, \
                             which its special_tokens do not define"
                        ));
                    }
                }
            }
            Ok(())
        }
        Some("Sequence") => pp
            .get("processors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .try_for_each(check_post_processor),
        _ => Ok(()),
    }
}

/// Who said a chat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Instructions.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// Formats a conversation as ChatML (Qwen2.5-Instruct, SmolLM2-Instruct),
/// ending with the assistant's turn opened, exactly as those models'
/// templates do with `add_generation_prompt=True`. Plain string
/// formatting: nothing from the model directory is executed.
///
/// The text of a message is inserted as is; a message that itself contains
/// `<|im_start|>` or `<|im_end|>` would be tokenized as those control tokens,
/// so [`chatml`] removes them from message text first.
#[must_use]
pub fn chatml(messages: &[(Role, &str)]) -> String {
    let mut s = String::new();
    for (role, text) in messages {
        let clean = text.replace("<|im_start|>", "").replace("<|im_end|>", "");
        s.push_str("<|im_start|>");
        s.push_str(role.as_str());
        s.push('\n');
        s.push_str(&clean);
        s.push_str("<|im_end|>\n");
    }
    s.push_str("<|im_start|>assistant\n");
    s
}

/// The system prompt Qwen2.5-Instruct's template adds when none is given.
pub const QWEN2_DEFAULT_SYSTEM: &str =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

/// The system prompt SmolLM2-Instruct's template adds when none is given.
pub const SMOLLM2_DEFAULT_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// tokenizers 0.22.2 panics (`expect("Helper")` in its
    /// `decoders/mod.rs`) when the `decoder` object is not valid JSON
    /// inside; found by the `inference_tokenizer` fuzz target (seed
    /// `fuzz/corpus/inference_tokenizer/seed-known-decoder-helper-panic`).
    /// Loading must refuse it with an error, not panic.
    #[test]
    fn malformed_decoder_is_refused_not_a_panic() {
        for json in [
            &br#"{"decoder":{"type":"ByteLevel",]}"#[..],
            b"{\"decoder\":{\"type\":\"ByteLevel\",\"use_regex\":\"\xcd\"}}",
            // The fuzz seed itself (a copy: the packaged crate has no fuzz/).
            include_bytes!("../tests/fixtures/tokenizer-malformed-decoder.json"),
        ] {
            let e = Tokenizer::from_json(json).unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with("tokenizer.json: malformed"), "{msg}");
        }
    }

    /// Valid JSON that tokenizers 0.22.2 still panics on
    /// (`expect("Precompiled")` in its `normalizers/mod.rs`): the panic is
    /// caught and reported as a malformed file.
    #[test]
    fn upstream_panic_on_valid_json_is_an_error() {
        let json = br#"{"normalizer":{"type":"Precompiled"}}"#;
        let msg = Tokenizer::from_json(json).unwrap_err().to_string();
        assert_eq!(
            msg,
            "tokenizer.json: malformed (the tokenizers crate panicked while parsing it)"
        );
    }

    /// A template naming a special token its `special_tokens` lack loads
    /// in tokenizers 0.22.2 and panics in `encode`: refused when loading.
    #[test]
    fn a_template_with_an_undefined_special_token_is_refused() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/tiny-llama/tokenizer.json"
        );
        let good: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let ok = Tokenizer::from_json(&serde_json::to_vec(&good).unwrap()).unwrap();
        assert!(!ok.encode("hi", true).unwrap().is_empty());

        let mut missing = good.clone();
        missing["post_processor"]["single"][0]["SpecialToken"]["id"] = "<|nope|>".into();
        let mut uneven = good.clone();
        let (_, token) = uneven["post_processor"]["special_tokens"]
            .as_object_mut()
            .unwrap()
            .iter_mut()
            .next()
            .unwrap();
        token["tokens"] = serde_json::json!([]);
        let nested = serde_json::json!({"type": "Sequence",
            "processors": [{"type": "ByteLevel"}, missing["post_processor"].clone()]});
        let mut in_sequence = good;
        in_sequence["post_processor"] = nested;
        for (bad, says) in [
            (missing, "<|nope|>"),
            (uneven, "tokens"),
            (in_sequence, "<|nope|>"),
        ] {
            let msg = Tokenizer::from_json(&serde_json::to_vec(&bad).unwrap())
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(
                msg.contains("post_processor") && msg.contains(says),
                "{msg}"
            );
        }
    }

    #[test]
    fn chatml_layout() {
        let s = chatml(&[(Role::System, "sys"), (Role::User, "hi<|im_end|>")]);
        assert_eq!(
            s,
            "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
    }
}
