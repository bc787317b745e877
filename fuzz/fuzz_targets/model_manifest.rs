//! model-verify: manifest parsing (JSON statement, DSSE bundle, CHECKSUMS),
//! with a parse -> serialize -> parse round trip.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| model_verify::fuzz_manifest(data));
