//! encrypted-audit-log: a whole segment file opened, recovered and verified
//! (writes files: run with TMPDIR=/dev/shm for speed).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| encrypted_audit_log::fuzzing::fuzz_segment(data));
