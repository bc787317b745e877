//! model-verify: the pickle opcode-stream reader (protocol 0-5 pickles
//! under any name, zlib-compressed ones), bounded and unbounded verdicts
//! agreeing.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| model_verify::fuzz_pickle(data));
