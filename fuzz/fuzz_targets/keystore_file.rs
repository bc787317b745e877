//! keystore-rotation: keystore_file parsing over arbitrary bytes, with round-trip checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keystore_rotation::fuzz::keystore_file(data));
