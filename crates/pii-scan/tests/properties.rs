//! Arbitrary input: no panic, well-formed findings, deterministic output.

use proptest::prelude::*;

use crate::{SCANNER, assert_well_formed};

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_unicode(text in "\\PC{0,200}") {
        let f = SCANNER.scan(&text);
        assert_well_formed(&text, &f);
    }

    #[test]
    fn digit_heavy_text(text in "[0-9 .:/@+()\\-a-fA-FxX\u{e9}\u{6771}]{0,120}") {
        let f = SCANNER.scan(&text);
        assert_well_formed(&text, &f);
        prop_assert_eq!(SCANNER.scan(&text), f);
    }

    #[test]
    fn bytes_lossy(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        assert_well_formed(&text, &SCANNER.scan(&text));
        // The stream API rejects invalid UTF-8 cleanly and never panics.
        let r = SCANNER.scan_reader(&bytes[..], 1 << 16, |_, _| {});
        prop_assert_eq!(r.is_ok(), std::str::from_utf8(&bytes).is_ok());
    }

    #[test]
    fn findings_survive_surrounding_noise(prefix in "\\PC{0,20}", suffix in "\\PC{0,20}") {
        // An email between arbitrary text is found unless the noise glues
        // itself to it (word characters, dots, @).
        let text = format!("{prefix} jane@example.com {suffix}");
        let f = SCANNER.scan(&text);
        assert_well_formed(&text, &f);
        prop_assert!(f.iter().any(|f| f.text(&text) == Some("jane@example.com")));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Validators take any string (custom recognizers feed them whatever
    /// their pattern matched) without panicking or overflowing.
    #[test]
    fn validators_never_panic(value in "[0-9A-Za-z .:+-]{0,40}|\\PC{0,40}") {
        for name in pii_scan::Validator::NAMES {
            let v = pii_scan::Validator::from_name(name).unwrap();
            let _ = v.validate(&value);
        }
    }
}
