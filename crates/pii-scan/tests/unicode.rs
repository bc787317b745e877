//! Non-ASCII text: offsets stay on character boundaries, nothing panics.

use pii_scan::char_offsets;

use crate::{SCANNER, assert_well_formed, found};

#[test]
fn mixed_scripts_keep_byte_offsets() {
    let text =
        "東京 😀 café: jane@example.com, カード 4111 1111 1111 1111 🎉 ‏שלום‏ +44 20 7946 0958";
    let f = SCANNER.scan(text);
    assert_well_formed(text, &f);
    let kinds: Vec<_> = f.iter().map(|f| f.entity_type.as_str()).collect();
    assert_eq!(kinds, ["EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER"]);
    assert_eq!(f[0].text(text), Some("jane@example.com"));
    let chars = char_offsets(text, &f);
    let as_chars: Vec<char> = text.chars().collect();
    for (finding, (cs, ce)) in f.iter().zip(chars) {
        let s: String = as_chars[cs..ce].iter().collect();
        assert_eq!(Some(s.as_str()), finding.text(text));
    }
}

#[test]
fn zero_width_and_rtl_marks_inside_numbers() {
    // A zero-width space splits the number: no card, no panic, no split character.
    for text in [
        "4111\u{200b}1111\u{200b}1111\u{200b}1111",
        "\u{200f}4111 1111 1111 1111\u{200f}",
        "\u{feff}536-90-4399\u{200d}",
        "4111 1111\u{2060} 1111 1111",
    ] {
        let f = SCANNER.scan(text);
        assert_well_formed(text, &f);
    }
    // Marks around a value do not hide it.
    let got = found("\u{200f}4111 1111 1111 1111\u{200f}");
    assert_eq!(
        got,
        vec![("CREDIT_CARD".into(), "4111 1111 1111 1111".into())]
    );
}

#[test]
fn non_ascii_digits_and_letters_are_not_misread() {
    // Arabic-Indic and full-width digits are not ASCII digits.
    for text in [
        "٤١١١١١١١١١١١١١١١",
        "４１１１１１１１１１１１１１１１",
        "𝟒𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏",
    ] {
        assert!(SCANNER.scan(text).is_empty(), "{text}");
    }
    // Letters glued to a number on the left (ASCII word boundary) hide it.
    assert!(found("x4111111111111111").is_empty());
    // A CJK character is not an ASCII word character: the number is found.
    assert_eq!(found("番号4111111111111111").len(), 1);
}

#[test]
fn every_cut_of_a_multibyte_text_is_safe() {
    let text = "é😀 jane@exämple.com 東京 4111-1111-1111-1111 ‏ 192.168.0.1";
    let bytes = text.as_bytes();
    for i in 0..bytes.len() {
        for j in [i, (i + 7).min(bytes.len()), bytes.len()] {
            if let Ok(s) = std::str::from_utf8(&bytes[i..j.max(i)]) {
                assert_well_formed(s, &SCANNER.scan(s));
            }
        }
    }
}
