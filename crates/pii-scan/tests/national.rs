//! National identifiers with check digits (issue 12, item 5): documented
//! valid numbers are found with their exact span, the same numbers with a
//! wrong check digit are not, numbers that only context makes likely need
//! a context word, and an ambiguity word cannot delete a validated one.
//!
//! Sources of the examples:
//! - python-stdnum 2.2 (arthurdejong.org/python-stdnum), the doctests of
//!   `nl.bsn`, `de.idnr`, `fr.nir`, `se.personnummer`, `be.nn`,
//!   `in_.aadhaar`, `in_.pan`, `au.tfn`, `au.abn`, `au.acn`, `kr.rrn`:
//!   each valid and invalid example below marked "stdnum" is one of
//!   theirs (the Belgian one re-punctuated as printed on cards);
//! - the specimen German identity cards of the Federal Ministry of the
//!   Interior ("Erika Mustermann", document numbers T22000129 and
//!   L01X00T47 with their printed check digits 3 and 1);
//! - ABN 51 824 753 556: the Australian Business Register's worked
//!   example of the ABN check; ACN 004 085 616 / 010 499 966: ASIC's
//!   list of example ACNs;
//! - Singapore NRIC S1234567D and the Medicare number 2123 45670 1:
//!   computed with the published check algorithms (Wikipedia: "National
//!   Registration Identity Card", "Medicare card (Australia)"), and checked
//!   against an independent implementation.

use crate::{SCANNER, found};

/// (entity, sentence, value that must be found).
const VALID: &[(&str, &str, &str)] = &[
    ("NL_BSN", "Mijn BSN is 111222333.", "111222333"), // stdnum
    ("NL_BSN", "BSN: 1112.22.333", "1112.22.333"),     // stdnum
    ("DE_TAX_ID", "Steuer-ID 36 574 261 809.", "36 574 261 809"), // stdnum
    ("DE_TAX_ID", "Steuer-IdNr: 36574261809", "36574261809"), // stdnum
    ("DE_ID_CARD", "Personalausweis T220001293", "T220001293"),
    ("DE_ID_CARD", "Ausweisnummer L01X00T471.", "L01X00T471"),
    (
        "FR_NIR",
        "NIR 2 95 10 99 126 111 93.",
        "2 95 10 99 126 111 93",
    ), // stdnum
    (
        "FR_NIR",
        "sécurité sociale 253072B07300470",
        "253072B07300470",
    ), // stdnum (Corsica 2B)
    ("FR_NIR", "numéro INSEE 253072A07300443", "253072A07300443"), // stdnum (Corsica 2A)
    (
        "SE_PERSONNUMMER",
        "Mitt personnummer är 880320-0016.",
        "880320-0016",
    ), // stdnum
    ("SE_PERSONNUMMER", "personnummer 8803200016", "8803200016"),  // stdnum
    (
        "BE_NATIONAL_NUMBER",
        "Rijksregisternummer 85.07.30-033.28",
        "85.07.30-033.28",
    ), // stdnum
    (
        "BE_NATIONAL_NUMBER",
        "INSZ 17 07 30 033 84",
        "17 07 30 033 84",
    ), // stdnum (born 2017)
    ("IN_AADHAAR", "Aadhaar 2341 2341 2346", "2341 2341 2346"),    // stdnum
    (
        "IN_AADHAAR",
        "my aadhaar number is 234123412346",
        "234123412346",
    ), // stdnum
    ("IN_PAN", "PAN: ACUPA7085R", "ACUPA7085R"),                   // stdnum
    ("AU_TFN", "My TFN is 123 456 782.", "123 456 782"),           // stdnum
    ("AU_ABN", "ABN 51 824 753 556", "51 824 753 556"),            // ABR
    (
        "AU_ABN",
        "Business number: 83 914 571 673.",
        "83 914 571 673",
    ), // stdnum
    ("AU_ACN", "ACN 004 085 616", "004 085 616"),                  // ASIC, stdnum
    ("AU_ACN", "acn: 010499966", "010499966"),                     // ASIC, stdnum
    ("AU_MEDICARE", "Medicare 2123 45670 1", "2123 45670 1"),
    ("SG_NRIC_FIN", "NRIC S1234567D", "S1234567D"),
    ("KR_RRN", "주민등록번호 971013-9019902", "971013-9019902"), // stdnum
];

/// (entity, sentence) with a wrong check digit (or another broken rule):
/// the entity must not be reported.
const INVALID: &[(&str, &str)] = &[
    ("NL_BSN", "Mijn BSN is 1112.52.333."), // stdnum
    ("NL_BSN", "BSN 123456789"),
    ("DE_TAX_ID", "Steuer-ID 36574261890"), // stdnum: check digit
    ("DE_TAX_ID", "Steuer-ID 36554266806"), // stdnum: digit repetition
    ("DE_ID_CARD", "Personalausweis T220001294"),
    ("FR_NIR", "NIR 295109912611199"), // stdnum
    ("FR_NIR", "NIR 2 95 10 99 126 111 94"),
    ("SE_PERSONNUMMER", "personnummer 880320-0018"), // stdnum
    ("SE_PERSONNUMMER", "personnummer 881320-0016"), // month 13
    ("BE_NATIONAL_NUMBER", "Rijksregisternummer 85.07.30-033.29"),
    ("BE_NATIONAL_NUMBER", "Rijksregisternummer 12345678901"), // stdnum
    ("IN_AADHAAR", "Aadhaar 2341 2341 2347"),                  // stdnum
    ("IN_AADHAAR", "Aadhaar 1234 1234 1234"),                  // stdnum: first digit 1
    ("IN_AADHAAR", "Aadhaar 222222222222"),                    // stdnum
    ("IN_PAN", "PAN ABMXA3211G"),                              // stdnum: holder kind X
    ("IN_PAN", "PAN ACUPA0000R"),                              // stdnum
    ("AU_TFN", "My TFN is 123 456 789."),
    ("AU_ABN", "ABN 99 999 999 999"), // stdnum
    ("AU_ABN", "ABN 51 824 753 557"),
    ("AU_ACN", "ACN 004 085 617"),
    ("AU_MEDICARE", "Medicare 2123 45671 1"),
    ("SG_NRIC_FIN", "NRIC S1234567A"),
    ("KR_RRN", "주민등록번호 971013-9019903"), // stdnum
];

#[test]
fn documented_numbers_are_found_whole() {
    let mut failures = Vec::new();
    for (entity, text, value) in VALID {
        let got = found(text);
        if !got.iter().any(|(e, v)| e == entity && v == value) {
            failures.push(format!("{entity} {value:?} in {text:?}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "missed:\n{}", failures.join("\n"));
}

#[test]
fn wrong_check_digits_are_not_reported() {
    let mut failures = Vec::new();
    for (entity, text) in INVALID {
        let got = found(text);
        if got.iter().any(|(e, _)| e == entity) {
            failures.push(format!("{entity} in {text:?}: got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "false positives:\n{}",
        failures.join("\n")
    );
}

#[test]
fn numbers_only_context_makes_likely_need_a_context_word() {
    // Valid by their check digit, but so is one random number in ten or
    // eleven of that length: without a context word they are not reported.
    for (entity, with, without) in [
        ("NL_BSN", "BSN 111222333", "code 111222333"),
        ("AU_TFN", "TFN 123 456 782", "code 123 456 782"),
        ("AU_ACN", "ACN 004 085 616", "code 004 085 616"),
        ("DE_TAX_ID", "Steuer-ID 36574261809", "code 36574261809"),
        ("DE_ID_CARD", "Ausweis T220001293", "code T220001293"),
        ("IN_AADHAAR", "Aadhaar 234123412346", "code 234123412346"),
        (
            "IN_AADHAAR",
            "Aadhaar 2341 2341 2346",
            "code 2341 2341 2346",
        ),
        ("FR_NIR", "NIR 295109912611193", "reference 295109912611193"),
        ("KR_RRN", "RRN 9710139019902", "code 9710139019902"),
    ] {
        assert!(
            found(with).iter().any(|(e, _)| e == entity),
            "{entity}: {with:?} -> {:?}",
            found(with)
        );
        assert!(
            !found(without).iter().any(|(e, _)| e == entity),
            "{entity}: {without:?} -> {:?}",
            found(without)
        );
    }
    // Printed forms with a strong structure need none.
    for (entity, text) in [
        ("FR_NIR", "2 95 10 99 126 111 93"),
        ("SE_PERSONNUMMER", "880320-0016"),
        ("BE_NATIONAL_NUMBER", "85.07.30-033.28"),
        ("IN_PAN", "ACUPA7085R"),
        ("AU_ABN", "51 824 753 556"),
        ("SG_NRIC_FIN", "S1234567D"),
        ("KR_RRN", "971013-9019902"),
        ("AU_MEDICARE", "2123 45670 1"),
    ] {
        let got = found(&format!("see {text} here"));
        assert_eq!(got, [(entity.to_string(), text.to_string())], "{text}");
    }
}

#[test]
fn ambiguity_words_do_not_delete_validated_identifiers() {
    for text in [
        "order 2 95 10 99 126 111 93",
        "reference 880320-0016",
        "invoice 85.07.30-033.28",
        "ticket S1234567D",
        "ref 971013-9019902",
    ] {
        let findings = SCANNER.scan(text);
        assert_eq!(findings.len(), 1, "{text}: {findings:?}");
        assert!(findings[0].score >= pii_scan::VALIDATED_FLOOR, "{text}");
    }
}

#[test]
fn keyed_hash_gives_one_token_per_identifier_however_written() {
    use pii_scan::{Anonymizer, HashKey, Operator};
    let key = HashKey::new(b"0123456789abcdef0123456789abcdef").unwrap();
    for (a, b) in [
        ("NIR 2 95 10 99 126 111 93", "NIR 295109912611193"),
        ("ABN 51 824 753 556", "ABN 51824753556"),
        ("Medicare 2123 45670 1", "Medicare 2123456701"),
        ("BSN 1112.22.333", "BSN 111222333"),
        (
            "Rijksregisternummer 85.07.30-033.28",
            "Rijksregisternummer 85073003328",
        ),
    ] {
        let token = |text: &str| {
            let findings = SCANNER.scan(text);
            assert_eq!(findings.len(), 1, "{text}: {findings:?}");
            Anonymizer::new(Operator::Hash(key.clone()))
                .anonymize(text, &findings)
                .unwrap()
        };
        assert_eq!(token(a), token(b), "{a} / {b}");
    }
}
