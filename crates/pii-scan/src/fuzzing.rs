//! Invariant checks for the fuzz target (`fuzz/fuzz_targets/pii_scan.rs`)
//! and the crate's property tests; built only with `--cfg fuzzing` (public)
//! or for the crate's unit tests, never part of the supported API.

use std::sync::OnceLock;

use crate::scanner::MIN_STREAM_CHUNK;
use crate::{Anonymizer, Finding, HashKey, Operator, Scanner};

static SCANNER: OnceLock<Scanner> = OnceLock::new();

/// Scans `data` (as bytes through the stream API, and as lossy UTF-8 text)
/// and checks every invariant: offsets on character boundaries, findings
/// sorted and disjoint, streaming equal to whole-text scanning (also with the
/// smallest chunk, and with `data` padded so that chunk boundaries sweep
/// across it), the locator's walks in parts equal to one search, anonymized
/// output free of every finding's text.
///
/// # Errors
/// A description of the first violated invariant.
// Public to the fuzz target; crate-private in the crate's own test build.
#[cfg_attr(not(fuzzing), allow(unreachable_pub))]
pub fn check(data: &[u8]) -> Result<(), String> {
    let scanner = SCANNER.get_or_init(Scanner::new);
    // Bytes: the stream API accepts exactly the valid UTF-8 inputs.
    let mut streamed = Vec::new();
    let r = scanner.scan_reader(data, 0, |f, _| streamed.push(f));
    let text_owned;
    let text = match std::str::from_utf8(data) {
        Ok(t) => {
            if r.is_err() {
                return Err("stream rejected valid UTF-8".into());
            }
            t
        }
        Err(_) => {
            if r.is_ok() {
                return Err("stream accepted invalid UTF-8".into());
            }
            text_owned = String::from_utf8_lossy(data).into_owned();
            &text_owned
        }
    };
    crate::scanner::check_parts(scanner, text)?;
    let findings = scanner.scan(text);
    if r.is_ok() {
        if streamed != findings {
            return Err("stream and whole-text findings differ".into());
        }
        if small_chunks(scanner, text)? != findings {
            return Err("stream with the smallest chunk and whole-text findings differ".into());
        }
        // Spaces before and after, so that the ends of chunks (and the
        // starts of the next) fall at every 55-odd bytes of `text`.
        let padded = format!(
            "{}{text}{}",
            " ".repeat(MIN_STREAM_CHUNK),
            " ".repeat(MIN_STREAM_CHUNK)
        );
        if small_chunks(scanner, &padded)? != scanner.scan(&padded) {
            return Err("stream of padded input and whole-text findings differ".into());
        }
    }
    let mut prev = 0;
    for f in &findings {
        if f.start < prev || f.start >= f.end || f.end > text.len() {
            return Err(format!("bad span {}..{}", f.start, f.end));
        }
        if !text.is_char_boundary(f.start) || !text.is_char_boundary(f.end) {
            return Err(format!("span {}..{} splits a character", f.start, f.end));
        }
        prev = f.end;
    }
    let key = HashKey::new(&[0x42; 32]).map_err(|e| e.to_string())?;
    for op in [
        Operator::Redact,
        Operator::Replace,
        Operator::Mask {
            keep_last: 4,
            mask_char: '*',
        },
        Operator::Hash(key),
    ] {
        let out = match Anonymizer::new(op).anonymize(text, &findings) {
            Ok(out) => out,
            // Refusing is a safe outcome: no output, so nothing leaks. It
            // happens when an operator keeps characters (mask) or removal
            // joins neighbours into new values beyond the round limit.
            Err(crate::Error::LeakingReplacement { .. }) => continue,
            Err(e) => return Err(e.to_string()),
        };
        for f in &findings {
            if f.text(text).is_some_and(|v| out.contains(v)) {
                return Err(format!(
                    "anonymized output still holds finding {}..{}",
                    f.start, f.end
                ));
            }
        }
    }
    Ok(())
}

/// Streams `text` in the smallest chunks the scanner allows.
fn small_chunks(scanner: &Scanner, text: &str) -> Result<Vec<Finding>, String> {
    let mut out = Vec::new();
    scanner
        .scan_stream(text.as_bytes(), MIN_STREAM_CHUNK, |f, _| out.push(f))
        .map_err(|e| format!("stream failed: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::check;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The fuzz target's invariant checks, on generated input.
        #[test]
        fn fuzz_invariants(bytes in proptest::collection::vec(any::<u8>(), 0..200), text in "\\PC{0,120}") {
            prop_assert_eq!(check(&bytes), Ok(()));
            prop_assert_eq!(check(text.as_bytes()), Ok(()));
            let seeded = format!("{text} jane@example.com 4111 1111 1111 1111 {text}");
            prop_assert_eq!(check(seeded.as_bytes()), Ok(()));
        }
    }
}
