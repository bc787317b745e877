//! keystore-rotation: whatever parses as a keystore file is made authentic
//! (KEK and data-key wraps redone under a known master key, MAC and
//! checksum recomputed) and opened with `Keystore::open`: it must open and
//! agree with the file, and its primary must encrypt and decrypt (see
//! fuzz/README.md; writes files: run with TMPDIR=/dev/shm).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keystore_rotation::fuzz::keystore_unlock(data));
