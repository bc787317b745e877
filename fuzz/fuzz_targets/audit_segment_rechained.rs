//! encrypted-audit-log: `audit_segment` with every hash chain (segment
//! headers, seals, frames) recomputed after the mutations, so that the
//! verifier's checks behind the chain are reached; a change in the signed
//! part must still be reported (see fuzz/README.md; writes files: run with
//! TMPDIR=/dev/shm).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    encrypted_audit_log::fuzzing::fuzz_segment_rechained(data)
});
