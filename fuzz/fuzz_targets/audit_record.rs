//! encrypted-audit-log: every v2 decoder on arbitrary bytes, with
//! decode/encode round trips (see fuzz/README.md).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| encrypted_audit_log::fuzzing::fuzz_record(data));
