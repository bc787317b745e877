//! Arbitrary bytes and UTF-8: no panic, offsets on character boundaries,
//! streaming equal to whole-text scanning, anonymized output free of findings.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = pii_scan::fuzzing::check(data) {
        panic!("invariant violated: {violation}");
    }
});
