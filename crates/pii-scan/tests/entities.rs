//! Every entity: values that must be found (with their exact span) and
//! look-alikes that must not.

use crate::found;

/// (entity, sentence, expected finding text)
const POSITIVE: &[(&str, &str, &str)] = &[
    ("NL_BSN", "BSN: 111222333", "111222333"),
    ("DE_TAX_ID", "Steuer-ID 36 574 261 809", "36 574 261 809"),
    ("DE_ID_CARD", "Personalausweis T220001293", "T220001293"),
    (
        "FR_NIR",
        "NIR 2 95 10 99 126 111 93",
        "2 95 10 99 126 111 93",
    ),
    ("SE_PERSONNUMMER", "personnummer 880320-0016", "880320-0016"),
    (
        "BE_NATIONAL_NUMBER",
        "nr 85.07.30-033.28",
        "85.07.30-033.28",
    ),
    ("IN_AADHAAR", "aadhaar 2341 2341 2346", "2341 2341 2346"),
    ("IN_PAN", "PAN ACUPA7085R", "ACUPA7085R"),
    ("AU_TFN", "TFN 123 456 782", "123 456 782"),
    ("AU_ABN", "ABN 51 824 753 556", "51 824 753 556"),
    ("AU_ACN", "ACN 004 085 616", "004 085 616"),
    ("AU_MEDICARE", "Medicare 2123 45670 1", "2123 45670 1"),
    ("SG_NRIC_FIN", "NRIC S1234567D", "S1234567D"),
    ("KR_RRN", "RRN 971013-9019902", "971013-9019902"),
    (
        "CREDIT_CARD",
        "card 4111 1111 1111 1111 thanks",
        "4111 1111 1111 1111",
    ),
    (
        "CREDIT_CARD",
        "paid with 5555-5555-5555-4444.",
        "5555-5555-5555-4444",
    ),
    ("CREDIT_CARD", "amex 3782 822463 10005", "3782 822463 10005"),
    ("CREDIT_CARD", "number 6011111111111117", "6011111111111117"),
    (
        "CREDIT_CARD",
        "2-series 2223003122003222 ok",
        "2223003122003222",
    ),
    (
        "CRYPTO",
        "send to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 now",
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
    ),
    (
        "CRYPTO",
        "p2sh 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    ),
    (
        "CRYPTO",
        "segwit bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4.",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    ),
    (
        "CRYPTO",
        "taproot bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ),
    (
        "CRYPTO",
        "eth 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    ),
    (
        "DATE_TIME",
        "born on January 5, 2020 in Oslo",
        "January 5, 2020",
    ),
    ("DATE_TIME", "on 5th March 2021.", "5th March 2021"),
    (
        "DATE_TIME",
        "at 2023-01-15T10:30:00Z sharp",
        "2023-01-15T10:30:00Z",
    ),
    ("DATE_TIME", "due 12/31/2024 latest", "12/31/2024"),
    ("DATE_TIME", "am 24.12.2023 gefeiert", "24.12.2023"),
    ("DATE_TIME", "date 06-Mar-2020", "06-Mar-2020"),
    ("DATE_TIME", "meet at 10:30 am.", "10:30 am"),
    (
        "EMAIL_ADDRESS",
        "mail jane.doe+tag@example.com.",
        "jane.doe+tag@example.com",
    ),
    ("EMAIL_ADDRESS", "idn jörg@bücher.de ok", "jörg@bücher.de"),
    ("EMAIL_ADDRESS", "cyrillic ivan@почта.рф", "ivan@почта.рф"),
    (
        "IBAN_CODE",
        "iban GB82 WEST 1234 5698 7654 32 please",
        "GB82 WEST 1234 5698 7654 32",
    ),
    (
        "IBAN_CODE",
        "to DE89370400440532013000.",
        "DE89370400440532013000",
    ),
    (
        "IBAN_CODE",
        "FR1420041010050500013M02606 ok",
        "FR1420041010050500013M02606",
    ),
    ("IP_ADDRESS", "host 192.168.1.1 down", "192.168.1.1"),
    (
        "IP_ADDRESS",
        "v6 2001:db8::ff00:42:8329 up",
        "2001:db8::ff00:42:8329",
    ),
    (
        "IP_ADDRESS",
        "full 2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    ),
    (
        "IP_ADDRESS",
        "mapped ::ffff:192.0.2.128 ok",
        "::ffff:192.0.2.128",
    ),
    ("IP_ADDRESS", "link-local fe80::1 ok", "fe80::1"),
    ("MAC_ADDRESS", "mac 00:1A:2B:3C:4D:5E", "00:1A:2B:3C:4D:5E"),
    ("MAC_ADDRESS", "nic 00-1a-2b-3c-4d-5e.", "00-1a-2b-3c-4d-5e"),
    ("MAC_ADDRESS", "cisco 0012.3456.789a", "0012.3456.789a"),
    ("PHONE_NUMBER", "call (415) 555-0132 now", "(415) 555-0132"),
    ("PHONE_NUMBER", "call 415-555-0132", "415-555-0132"),
    ("PHONE_NUMBER", "call +1 415 555 0132", "+1 415 555 0132"),
    ("PHONE_NUMBER", "uk +44 20 7946 0958", "+44 20 7946 0958"),
    (
        "PHONE_NUMBER",
        "uk +44 (0)20 7946 0958",
        "+44 (0)20 7946 0958",
    ),
    ("PHONE_NUMBER", "de +49 30 12345678", "+49 30 12345678"),
    ("PHONE_NUMBER", "fr +33 1 23 45 67 89", "+33 1 23 45 67 89"),
    ("PHONE_NUMBER", "phone 020 7946 0958", "020 7946 0958"),
    ("PHONE_NUMBER", "phone: 4155550132", "4155550132"),
    (
        "URL",
        "see https://example.com/a?b=c.",
        "https://example.com/a?b=c",
    ),
    (
        "URL",
        "(see https://en.wikipedia.org/wiki/Rust_(programming_language))",
        "https://en.wikipedia.org/wiki/Rust_(programming_language)",
    ),
    ("URL", "visit www.example.org, now", "www.example.org"),
    ("US_SSN", "ssn 536-90-4399", "536-90-4399"),
    ("US_SSN", "social security number 536904399", "536904399"),
    ("US_ITIN", "itin 912-70-1234", "912-70-1234"),
    ("US_PASSPORT", "passport number 912345678", "912345678"),
    ("US_PASSPORT", "my passport: C03005988", "C03005988"),
    ("US_DRIVER_LICENSE", "driver's license D1234567", "D1234567"),
    (
        "US_BANK_NUMBER",
        "bank account 123456789012",
        "123456789012",
    ),
    (
        "ABA_ROUTING_NUMBER",
        "routing number 121000358",
        "121000358",
    ),
    ("UK_NHS", "nhs number 943 476 5919", "943 476 5919"),
    ("UK_NHS", "My NHS no. is 943-476-5919.", "943-476-5919"),
    ("UK_NINO", "nino AB 12 34 56 C", "AB 12 34 56 C"),
    ("UK_NINO", "ni number AB123456C", "AB123456C"),
    ("MEDICAL_LICENSE", "DEA AB1234563", "AB1234563"),
    ("ES_NIF", "DNI 12345678Z", "12345678Z"),
    ("ES_NIE", "NIE X1234567L", "X1234567L"),
    ("IT_FISCAL_CODE", "CF RSSMRA85T10A562S", "RSSMRA85T10A562S"),
    ("PL_PESEL", "PESEL 44051401359", "44051401359"),
    (
        "FI_PERSONAL_IDENTITY_CODE",
        "hetu 131052-308T",
        "131052-308T",
    ),
];

/// Sentences in which nothing must be found.
const NEGATIVE: &[&str] = &[
    "card 4111 1111 1111 1112 fails Luhn",
    "IMEI 490154203237518 registered",
    "ISBN 978-3-16-148410-0 is the paperback",
    "old ISBN 0-306-40615-2",
    "order #100234987 shipped",
    "unix time 1700000000 in the log",
    "upgraded to version 1.2.3.4 today",
    "windows build 10.0.19041.1",
    "release v2.14.3",
    "icon@2x.png and logo@3x.png",
    "btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3 (bad checksum)",
    "eth 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD (bad EIP-55)",
    "iban DE89370400440532013001 (bad mod 97)",
    "ip 256.1.1.1 and 1.2.3.4.5",
    "ssn 000-12-3456 or 666-12-3456 or 123-45-6789",
    "nhs number 9434765918",
    "DEA AB1234564",
    "DNI 12345678A",
    "date 2023-02-30 and 13/45/2020",
    "phone 555-0100",
    "ratio 16:9 at 120 Hz",
    "pi 3.14159 and e 2.71828",
    "commit 2202a6b44b5a3eaca962ca6439df0c22a580c64e",
    "uuid 0a1c8393-25e1-4519-8bd6-68f2e885146e failed",
    "it cost $1,234.56 in total",
    "std::fmt::Display",
    "timestamps 1700000000000 and 1699999999",
];

#[test]
fn positives_are_found_with_exact_spans() {
    let mut failures = Vec::new();
    for (entity, text, value) in POSITIVE {
        let got = found(text);
        if !got.iter().any(|(e, v)| e == entity && v == value) {
            failures.push(format!("{entity} {value:?} in {text:?}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "missed:\n{}", failures.join("\n"));
}

#[test]
fn negatives_are_not_found() {
    let mut failures = Vec::new();
    for text in NEGATIVE {
        let got = found(text);
        if !got.is_empty() {
            failures.push(format!("{text:?}: got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "false positives:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_builtin_entity_has_a_positive_case() {
    for e in pii_scan::EntityType::BUILTIN {
        assert!(
            POSITIVE.iter().any(|(name, _, _)| *name == e.as_str()),
            "no test for {e}"
        );
    }
}

#[test]
fn context_words_raise_and_lower_scores() {
    let s = &*crate::SCANNER;
    // A bare nine-digit number is nothing; with "passport" it is a passport.
    assert!(s.scan("number 912345678 here").is_empty());
    let f = s.scan("passport 912345678");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].entity_type.as_str(), "US_PASSPORT");
    assert!(f[0].score >= 0.6);
    // Context in the previous sentence does not count.
    assert!(
        s.scan("My passport is lost. Number 912345678 here.")
            .is_empty()
    );
    // Support nearer than ambiguity wins, and the reverse.
    assert_eq!(
        s.scan("order placed, card number 4111111111111111").len(),
        1
    );
    // Ambiguity nearer than support lowers a validated card, but only to
    // the floor: it is still reported.
    let f = s.scan("card order 4111111111111111");
    assert_eq!(f.len(), 1);
    assert!(
        (f[0].score - pii_scan::VALIDATED_FLOOR).abs() < 1e-9,
        "{f:?}"
    );
    // An unvalidated number (a passport) is still pushed under the threshold.
    assert!(s.scan("passport order 912345678").is_empty());
}

/// A recognizer that only a supporting word lifts over the threshold is
/// decided per window at its first match that passes its check: a first
/// match that fails it ("111111111", one digit repeated) does not end the
/// search, and a window without a supporting word reports nothing.
#[test]
fn context_only_recognizers_decided_at_their_first_checked_match() {
    let s = pii_scan::Scanner::builder()
        .entities([pii_scan::EntityType::UsPassport])
        .build()
        .unwrap();
    let text = "passport 111111111 or 912345678";
    let f = s.scan(text);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].text(text), Some("912345678"));
    assert!(s.scan("number 111111111 or 912345678").is_empty());
    // Many windows, alternately with and without a supporting word.
    let mut long = String::new();
    for i in 0..200 {
        let word = if i % 2 == 0 { "passport" } else { "number" };
        long.push_str(&format!("{word} 111111111 or 9123456{:02}. ", i % 100));
        long.push_str(&"filler words here ".repeat(4));
    }
    let found = s.scan(&long);
    assert_eq!(found.len(), 100, "{found:?}");
    assert!(
        found
            .iter()
            .all(|f| long[..f.start].rfind("passport") > long[..f.start].rfind("number"))
    );
}

/// Issue 12, item 1: negative context never deletes validated PII.
#[test]
fn context_never_deletes_validated_pii() {
    for (text, entity, value) in [
        (
            "Charge it to my account: 4111 1111 1111 1111",
            "CREDIT_CARD",
            "4111 1111 1111 1111",
        ),
        (
            "Please reference my file: 536-90-4399",
            "US_SSN",
            "536-90-4399",
        ),
        (
            "about the order, my number is (415) 555-0132",
            "PHONE_NUMBER",
            "(415) 555-0132",
        ),
        (
            "tracking number 4111111111111111 from the courier",
            "CREDIT_CARD",
            "4111111111111111",
        ),
    ] {
        assert_eq!(
            found(text),
            vec![(entity.to_owned(), value.to_owned())],
            "{text}"
        );
    }
}

#[test]
fn overlaps_are_resolved_deterministically() {
    let s = &*crate::SCANNER;
    // Both a phone and an NHS shape; "NHS" decides.
    let f = s.scan("NHS number 943 476 5919");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].entity_type.as_str(), "UK_NHS");
    let f = s.scan("call 943 476 5919");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].entity_type.as_str(), "PHONE_NUMBER");
    // The same input always gives the same output.
    let text = "passport 912345678, driver's license D1234567, bank account 123456789012";
    let first = s.scan(text);
    for _ in 0..5 {
        assert_eq!(s.scan(text), first);
    }
}

#[test]
fn builder_selects_entities_and_threshold() {
    use pii_scan::{EntityType, Scanner};
    let s = Scanner::builder()
        .entities([EntityType::EmailAddress])
        .build()
        .unwrap();
    let text = "a@example.com 4111 1111 1111 1111";
    let f = s.scan(text);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].entity_type, EntityType::EmailAddress);
    assert_eq!(s.entities(), &[EntityType::EmailAddress]);
    let strict = Scanner::builder().min_score(0.95).build().unwrap();
    assert!(strict.scan("at 415-555-0132").is_empty());
    assert!(Scanner::builder().min_score(1.5).build().is_err());
    assert!(Scanner::builder().min_score(f64::NAN).build().is_err());
    let unknown = Scanner::builder()
        .entities(["NOT_THERE".parse().unwrap()])
        .build();
    assert!(matches!(
        unknown,
        Err(pii_scan::Error::UnknownEntity { .. })
    ));
}

#[test]
fn allow_and_deny_lists() {
    use pii_scan::{EntityType, Scanner};
    let s = Scanner::builder()
        .allow(["noreply@example.com"])
        .deny(
            EntityType::custom("CODENAME").unwrap(),
            ["Bluebird", "night jar"],
        )
        .build()
        .unwrap();
    let text =
        "mail noreply@example.com or ann@example.com about BLUEBIRD and Night  Jar, not bluebirds";
    let got: Vec<_> = s
        .scan(text)
        .iter()
        .map(|f| (f.entity_type.to_string(), f.text(text).unwrap().to_owned()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("EMAIL_ADDRESS".into(), "ann@example.com".into()),
            ("CODENAME".into(), "BLUEBIRD".into()),
            ("CODENAME".into(), "Night  Jar".into()),
        ]
    );
    let empty = Scanner::builder()
        .deny(EntityType::custom("X").unwrap(), [""])
        .build();
    assert!(matches!(empty, Err(pii_scan::Error::InvalidOption { .. })));
}

#[test]
fn custom_recognizer_with_validator() {
    use pii_scan::{CustomRecognizer, EntityType, Scanner, Validator};
    let rec = CustomRecognizer::new(EntityType::custom("LOYALTY").unwrap(), r"\bLY\d{10}\b", 0.4)
        .context(["loyalty"])
        .validator(Validator::Luhn);
    let s = Scanner::builder().recognizer(rec).build().unwrap();
    let found: Vec<_> = s
        .scan("LY4111111110 LY4111111112")
        .into_iter()
        .map(|f| (f.start, f.score))
        .collect();
    assert_eq!(found, vec![(0, 1.0)]);
    let bad = Scanner::builder()
        .recognizer(CustomRecognizer::new(
            EntityType::custom("X").unwrap(),
            "a(",
            0.5,
        ))
        .build();
    assert!(matches!(bad, Err(pii_scan::Error::InvalidPattern { .. })));
    let bad_score = Scanner::builder()
        .recognizer(CustomRecognizer::new(
            EntityType::custom("X").unwrap(),
            "a",
            2.0,
        ))
        .build();
    assert!(matches!(
        bad_score,
        Err(pii_scan::Error::InvalidScore { .. })
    ));
}
