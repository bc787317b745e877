//! encrypted-audit-log: a populated multi-epoch, multi-segment log mutated
//! by the input, then verified with the public key and opened (see
//! fuzz/README.md; writes files: run with TMPDIR=/dev/shm).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| encrypted_audit_log::fuzzing::fuzz_segment(data));
