//! keystore-rotation: rollback anchor and master key files, as given and
//! with the checksum recomputed: no panic, anchor round trip.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keystore_rotation::fuzz::small_files(data));
