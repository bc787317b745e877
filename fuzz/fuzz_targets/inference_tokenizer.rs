//! inference-tch: `tokenizer.json` through `Tokenizer::from_json` (the
//! `tokenizers` crate), then encoding and decoding. Input: the JSON,
//! optionally `0xFF` and a text to encode (JSON never holds a raw 0xFF).
//!
//! Properties: no panic (loading, encoding, decoding, ChatML formatting);
//! what encodes decodes.
//!
//! `from_json` itself must never panic: tokenizers 0.22.2 panics on some
//! malformed files (a `decoder` object that is not valid JSON inside, seed
//! `seed-known-decoder-helper-panic`; a `Precompiled` normalizer without a
//! valid charsmap, seed `seed-precompiled-normalizer-panic`), and
//! `from_json` turns those into errors. A panic that gets out of
//! `from_json` is a finding.
#![no_main]

use inference_tch::{Role, Tokenizer, chatml};
use libfuzzer_sys::fuzz_target;

/// `Tokenizer::from_json`. libfuzzer-sys's panic hook aborts on every
/// panic, even one that `from_json` catches inside (as it does for
/// tokenizers' own panics): the hook is silenced for this call, and a
/// panic that reaches this function is a finding.
fn load(json: &[u8]) -> Option<Tokenizer> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| Tokenizer::from_json(json));
    std::panic::set_hook(hook);
    match r {
        Ok(t) => t.ok(),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            // The hook was silenced: say what panicked before aborting.
            eprintln!("Tokenizer::from_json panicked (the panic got out of it): {msg}");
            std::panic::resume_unwind(payload)
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (json, text) = match data.iter().rposition(|&b| b == 0xFF) {
        Some(i) => (
            &data[..i],
            String::from_utf8_lossy(&data[i + 1..]).into_owned(),
        ),
        None => (
            data,
            "Hello, world! <|im_start|>user\nhi<|im_end|>".to_owned(),
        ),
    };
    let Some(tok) = load(json) else {
        return;
    };
    let _ = tok.vocab_size();
    let prompt = chatml(&[(Role::System, "s"), (Role::User, &text)]);
    for t in [text.as_str(), prompt.as_str()] {
        for special in [false, true] {
            if let Ok(ids) = tok.encode(t, special) {
                let decoded = tok.decode(&ids, false);
                assert!(
                    decoded.is_ok(),
                    "ids from encode do not decode: {decoded:?}"
                );
                let _ = tok.decode(&ids, true);
            }
        }
    }
    for name in ["<|im_start|>", "<|im_end|>", "<|endoftext|>"] {
        if let Some(id) = tok.token_id(name) {
            let _ = tok.decode(&[id], false);
        }
    }
});
