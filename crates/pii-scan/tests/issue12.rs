//! Issue 12: recognizers for text as people write it (phones by region,
//! dates in seven languages, Unicode separators, card brands, long e-mail
//! local parts, deny lists on Aho-Corasick, linear URL trimming).

use pii_scan::{EntityType, Scanner};

use crate::found;

fn one(text: &str, entity: &str, value: &str) {
    assert_eq!(
        found(text),
        vec![(entity.to_owned(), value.to_owned())],
        "in {text:?}"
    );
}

/// The texts of what `scanner` finds in `text`.
fn texts<'t>(scanner: &Scanner, text: &'t str) -> Vec<&'t str> {
    scanner
        .scan(text)
        .iter()
        .map(|f| f.text(text).unwrap())
        .collect()
}

#[test]
fn phones_by_region_national_and_international() {
    for (text, value) in [
        // China (mobile without trunk prefix, landline with it), Brazil, India.
        ("ligue 138 0013 8000 amanhã", "138 0013 8000"),
        ("call 13800138000 now", "13800138000"),
        ("办公室 010-6552 9988 找我", "010-6552 9988"),
        ("fone (11) 96123-4567 ok", "(11) 96123-4567"),
        ("fone +55 11 96123-4567 ok", "+55 11 96123-4567"),
        ("call 098765 43210 please", "098765 43210"),
        // Europe, with trunk prefixes; Japan, Korea, Mexico, Russia, Turkey.
        ("Rückruf unter 030 901820 bitte", "030 901820"),
        ("appelez le 01 23 45 67 89 svp", "01 23 45 67 89"),
        ("ring 020 7946 0958 today", "020 7946 0958"),
        ("電話 03-1234-5678 まで", "03-1234-5678"),
        ("번호 010-2000-0605 입니다", "010-2000-0605"),
        ("llama al +52 55 1234 5678 hoy", "+52 55 1234 5678"),
        ("звоните +7 495 123-45-67 сейчас", "+7 495 123-45-67"),
        ("ara 0212 345 61 24 lütfen", "0212 345 61 24"),
        // E.164 with a bracketed trunk zero, and extensions.
        ("call +44 (0)20 7946 0958 now", "+44 (0)20 7946 0958"),
        (
            "desk +1 201-555-0123 ext. 42 today",
            "+1 201-555-0123 ext. 42",
        ),
        ("desk +49 30 901820 x 17.", "+49 30 901820 x 17"),
        // Unicode separators.
        (
            "call 020\u{a0}7946\u{a0}0958 now",
            "020\u{a0}7946\u{a0}0958",
        ),
    ] {
        one(text, "PHONE_NUMBER", value);
    }
    // Not phones: an ISBN, an SSN-shaped number, a dotted date.
    assert!(found("old ISBN 0-306-40615-2").is_empty());
    assert_eq!(found("on 08.01.2017 we")[0].0, "DATE_TIME");
}

#[test]
fn phone_regions_are_configurable() {
    let us_only = Scanner::builder()
        .entities([EntityType::PhoneNumber])
        .phone_regions(["US"])
        .build()
        .unwrap();
    let text = "Rückruf unter 030 901820 bitte, or +49 30 901820";
    let got = texts(&us_only, text);
    // The national German number needs DE among the regions; the
    // international one does not.
    assert_eq!(got, ["+49 30 901820"]);
    let err = Scanner::builder()
        .phone_regions(["ZZ"])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("`ZZ`"), "{err}");
}

/// A dotted quad that the IP recognizer takes is no phone number, even
/// when no IP recognizer runs or a phone word is near it; dotted phone
/// numbers that are no IPv4 address still are.
#[test]
fn ipv4_addresses_are_no_phone_numbers() {
    let phones = Scanner::builder()
        .entities([EntityType::PhoneNumber])
        .build()
        .unwrap();
    for text in [
        "server 192.168.10.20 is down",
        "call 10.200.30.40 now",
        "phone: 172.16.254.1",
    ] {
        assert!(phones.scan(text).is_empty(), "{text:?}");
    }
    let text = "call 415.555.0132 or 089.123.45.67 now";
    let got = texts(&phones, text);
    assert!(got.contains(&"415.555.0132"), "{got:?}");
    one(
        "call me at 192.168.10.20 now",
        "IP_ADDRESS",
        "192.168.10.20",
    );
}

#[test]
fn dates_and_times_as_people_write_them() {
    for value in [
        "5. Mai 2024",
        "Montag, 6. Mai 2024",
        "le 5 mai 2024",
        "5 de mayo de 2024",
        "5 maggio 2024",
        "martedì, 16 ottobre 1979",
        "5 de maio de 2024",
        "terça-feira, 6 dezembro 1960",
        "5 mei 2024",
        "zaterdag, 8 juni 2013",
        "the 3rd of May",
        "May 3-5",
        "3 janv. 2024",
        "septembre 2007",
        "20050618",
        "2024-05-03T14:30:00+02:00",
        "03/05/2024",
        "2024.05.03",
        "14:30",
        "3am",
        "7 p.m.",
        "noon",
    ] {
        let value = value.strip_prefix("le ").unwrap_or(value);
        one(&format!("Seen {value}, then left"), "DATE_TIME", value);
    }
}

#[test]
fn unicode_separators_cards_ibans_ssns() {
    one(
        "card 4111\u{202f}1111\u{202f}1111\u{202f}1111 ok",
        "CREDIT_CARD",
        "4111\u{202f}1111\u{202f}1111\u{202f}1111",
    );
    one(
        "card 4111\u{a0}1111\u{a0}1111\u{a0}1111 ok",
        "CREDIT_CARD",
        "4111\u{a0}1111\u{a0}1111\u{a0}1111",
    );
    one(
        "IBAN DE89\u{a0}3704\u{a0}0044\u{a0}0532\u{a0}0130\u{a0}00 ok",
        "IBAN_CODE",
        "DE89\u{a0}3704\u{a0}0044\u{a0}0532\u{a0}0130\u{a0}00",
    );
    one(
        "iban de89 3704 0044 0532 0130 00 ok",
        "IBAN_CODE",
        "de89 3704 0044 0532 0130 00",
    );
    one(
        "IBAN DE89-3704-0044-0532-0130-00 ok",
        "IBAN_CODE",
        "DE89-3704-0044-0532-0130-00",
    );
    one(
        "ssn 536\u{2011}90\u{2011}4399 ok",
        "US_SSN",
        "536\u{2011}90\u{2011}4399",
    );
    one(
        "ssn 536\u{2013}90\u{2013}4399 ok",
        "US_SSN",
        "536\u{2013}90\u{2013}4399",
    );
    one(
        "NHS 943\u{a0}476\u{a0}5919 ok",
        "UK_NHS",
        "943\u{a0}476\u{a0}5919",
    );
}

#[test]
fn card_brands_mir_troy_unionpay_rupay() {
    for (brand, number) in [
        ("MIR", "2200 0000 0000 0004"),
        ("Troy", "9792 0000 0000 0003"),
        ("UnionPay", "6200 0000 0000 0005"),
        ("RuPay", "6070 0000 0000 0002"),
        ("RuPay", "8100 0000 0000 0002"),
    ] {
        one(&format!("{brand} card {number} ok"), "CREDIT_CARD", number);
    }
}

#[test]
fn long_email_local_parts_are_found_whole() {
    let local = "a".repeat(80);
    let addr = format!("{local}@example.com");
    one(&format!("write to {addr} today"), "EMAIL_ADDRESS", &addr);
    // A key in a log line is not part of the address.
    one(
        "login user=ann@example.com ok",
        "EMAIL_ADDRESS",
        "ann@example.com",
    );
}

#[test]
fn large_deny_lists_build_and_match_whole_words() {
    let words: Vec<String> = (0..20_000).map(|i| format!("codename{i:05}")).collect();
    let s = Scanner::builder()
        .deny(EntityType::custom("CODENAME").unwrap(), words)
        .deny(EntityType::custom("BIRD").unwrap(), ["night jar"])
        .build()
        .unwrap();
    let text = "see CODENAME00042 and codename19999x, then Night  Jar";
    let got: Vec<(String, &str)> = s
        .scan(text)
        .iter()
        .map(|f| (f.entity_type.to_string(), f.text(text).unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("CODENAME".to_owned(), "CODENAME00042"),
            ("BIRD".to_owned(), "Night  Jar")
        ]
    );
}

#[test]
fn url_trimming_is_linear() {
    // 200 KB of closing brackets after a URL: each trimmed bracket used to
    // recount the whole match (quadratic; seconds in a debug build).
    let text = format!("see http://x.co/{} end", ")".repeat(200_000));
    let f = crate::SCANNER.scan(&text);
    assert!(f.is_empty(), "{f:?}");
    let text = "see http://x.co/a_(b)) end";
    one(text, "URL", "http://x.co/a_(b)");
}

/// Item 6: findings carry their recognizer, and the scanner explains scores.
#[test]
fn findings_name_their_recognizer_and_explain_scores() {
    let s = &*crate::SCANNER;
    let text = "order placed, card number 4111111111111111";
    let f = s.scan(text);
    assert_eq!(&*f[0].recognizer, "credit-card");
    let x = s.explain(text, &f[0]).unwrap();
    assert!(x.validated);
    assert_eq!(x.supporting_word.as_deref(), Some("card"));
    assert_eq!(x.ambiguity_word.as_deref(), Some("order"));
    assert!((x.score - f[0].score).abs() < 1e-9);
    let shown = x.to_string();
    assert!(
        shown.starts_with("credit-card: pattern 0.90 (validated)"),
        "{shown}"
    );
    let text = "passport 912345678";
    let f = s.scan(text);
    let x = s.explain(text, &f[0]).unwrap();
    assert_eq!((&*x.recognizer, x.validated), ("us-passport", false));
    assert!(x.pattern_score < 0.5 && x.score >= 0.6, "{x}");
    assert!(
        s.explain(text, &pii_scan::Finding::new(EntityType::UsSsn, 0, 3, 1.0))
            .is_none()
    );
}

/// Item 8: keyed hashing normalizes the written form; `Keep`; no pattern in
/// a custom recognizer's `Debug`.
#[test]
fn hash_normalizes_keep_keeps_debug_hides_patterns() {
    use pii_scan::{Anonymizer, CustomRecognizer, HashKey, Operator};
    let key = || HashKey::new(b"0123456789abcdef0123456789abcdef").unwrap();
    let text = "ssn 536-90-4399 and ssn 536 90 4399, IBAN DE89 3704 0044 0532 0130 00 or de89370400440532013000";
    let findings = crate::SCANNER.scan(text);
    assert_eq!(findings.len(), 4, "{findings:?}");
    let out = Anonymizer::new(Operator::Hash(key()))
        .anonymize(text, &findings)
        .unwrap();
    let tokens: Vec<&str> = out
        .split([' ', ','])
        .filter(|w| w.starts_with('<'))
        .collect();
    assert_eq!(tokens.len(), 4, "{out}");
    assert_eq!(tokens[0], tokens[1], "{out}");
    assert_eq!(tokens[2], tokens[3], "{out}");
    assert_ne!(tokens[0], tokens[2]);
    // Keep: the SSNs stay, the IBANs go.
    let out = Anonymizer::new(Operator::Replace)
        .with(EntityType::UsSsn, Operator::Keep)
        .anonymize(text, &findings)
        .unwrap();
    assert_eq!(
        out,
        "ssn 536-90-4399 and ssn 536 90 4399, IBAN <IBAN_CODE> or <IBAN_CODE>"
    );
    let r = CustomRecognizer::new(EntityType::custom("PROJECT").unwrap(), r"\bNightjar\b", 0.9)
        .context(["secretword"]);
    let shown = format!("{r:?}");
    assert!(
        !shown.contains("Nightjar") && !shown.contains("secretword"),
        "{shown}"
    );
}
