//! keystore-rotation: keystore file parsing over arbitrary bytes, as given and with
//! the checksum recomputed (so the structure parser is reached), round trip.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keystore_rotation::fuzz::keystore_file(data));
