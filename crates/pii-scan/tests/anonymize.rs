//! Anonymizing: output free of every finding's text, for every operator.

use std::sync::Arc;

use pii_scan::{Anonymizer, EntityType, HashKey, Operator};
use proptest::prelude::*;

use crate::SCANNER;

const VALUES: &[&str] = &[
    "jane.doe@example.com",
    "4111 1111 1111 1111",
    "(415) 555-0132",
    "GB82 WEST 1234 5698 7654 32",
    "192.168.10.20",
    "536-90-4399",
    "https://example.org/a?b=c",
    "January 5, 2021",
    "00:1A:2B:3C:4D:5E",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    "jörg@bücher.de",
];

const FILLER: &[&str] = &[
    "the ", "café ", "東京 ", "😀 ", "and ", ", ", ". ", "x", "1", "@", "-", "\u{200b}", "‏", "\n",
];

fn operators() -> Vec<Operator> {
    vec![
        Operator::Redact,
        Operator::Replace,
        Operator::ReplaceWith("[removed]".into()),
        Operator::Mask {
            keep_last: 4,
            mask_char: '*',
        },
        Operator::Mask {
            keep_last: 100,
            mask_char: '#',
        },
        Operator::Hash(HashKey::new(b"0123456789abcdef0123456789abcdef").unwrap()),
        Operator::Custom(Arc::new(|f, _| format!("<{} removed>", f.entity_type))),
    ]
}

fn text_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => proptest::sample::select(FILLER).prop_map(str::to_owned),
            1 => proptest::sample::select(VALUES).prop_map(str::to_owned),
            1 => "\\PC{0,12}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn anonymized_output_contains_no_finding(text in text_strategy()) {
        let findings = SCANNER.scan(&text);
        for op in operators() {
            let out = Anonymizer::new(op.clone()).anonymize(&text, &findings).unwrap();
            for f in &findings {
                let value = f.text(&text).unwrap();
                prop_assert!(!out.contains(value), "{op:?} left {value:?} in {out:?}");
            }
            // Text before the first finding is kept verbatim (unless it holds
            // a copy of a found value, which is replaced as well).
            if let Some(first) = findings.first() {
                let head = &text[..first.start];
                let copy_in_head = findings
                    .iter()
                    .any(|f| text.match_indices(f.text(&text).unwrap_or_default()).any(|(i, _)| i < first.start));
                if !copy_in_head {
                    prop_assert!(out.starts_with(head));
                }
            } else {
                prop_assert_eq!(&out, &text);
            }
        }
    }
}

#[test]
fn per_entity_operators_and_right_to_left_offsets() {
    let text = "a@example.com, 4111 1111 1111 1111, b@example.com";
    let findings = SCANNER.scan(text);
    assert_eq!(findings.len(), 3);
    let out = Anonymizer::new(Operator::Replace)
        .with(
            EntityType::CreditCard,
            Operator::Mask {
                keep_last: 4,
                mask_char: '•',
            },
        )
        .anonymize(text, &findings)
        .unwrap();
    assert_eq!(out, "<EMAIL_ADDRESS>, •••••••••••••••1111, <EMAIL_ADDRESS>");
}

#[test]
fn hash_tokens_link_equal_values_only() {
    let text = "a@example.com b@example.com a@example.com";
    let findings = SCANNER.scan(text);
    let key = HashKey::new(&[9u8; 32]).unwrap();
    let out = Anonymizer::new(Operator::Hash(key))
        .anonymize(text, &findings)
        .unwrap();
    let tokens: Vec<&str> = out.split(' ').collect();
    assert_eq!(tokens.len(), 3);
    assert_eq!(tokens[0], tokens[2]);
    assert_ne!(tokens[0], tokens[1]);
    assert!(!out.contains("example"));
}
