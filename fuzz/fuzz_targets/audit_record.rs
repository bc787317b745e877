//! encrypted-audit-log: one record frame decoded and verified under fixed test keys.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| encrypted_audit_log::fuzzing::fuzz_record(data));
