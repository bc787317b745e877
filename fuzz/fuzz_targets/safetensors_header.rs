//! model-verify: strict safetensors header validation over arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| model_verify::fuzz_safetensors(data));
