//! Payment cards, IBANs, US routing numbers and crypto addresses.

use super::common::{all_same_digit, ascii_separators, byte_at, extends_number, word_char};
use crate::validate as v;

pub(super) fn check_card(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_card_ascii)
}

pub(super) fn check_card_ascii(
    h: &str,
    s: usize,
    e: usize,
    _b: f64,
) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let n = v::digit_count(m);
    if !(13..=19).contains(&n) || extends_number(h, s, e) || all_same_digit(m) {
        return None;
    }
    let shapes: &[&[usize]] = &[
        &[4, 4, 4, 4],
        &[4, 4, 4, 4, 3],
        &[4, 4, 4, 4, 1],
        &[4, 4, 4, 1],
        &[4, 4, 4, 2],
        &[4, 4, 4, 3],
        &[4, 6, 5],
        &[4, 6, 4],
        &[4, 4, 5],
    ];
    if !v::groups_ok(m, b" -", shapes) || !v::card_issuer_ok(m) || !v::luhn(m) {
        return None;
    }
    let separated = m.len() != n;
    Some((s, e, if separated { 1.0 } else { 0.9 }))
}

pub(super) fn check_iban(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_iban_ascii)
}

pub(super) fn check_iban_ascii(
    h: &str,
    s: usize,
    _e: usize,
    _b: f64,
) -> Option<(usize, usize, f64)> {
    let bytes = h.as_bytes();
    let cc = [
        bytes[s].to_ascii_uppercase(),
        bytes[s + 1].to_ascii_uppercase(),
    ];
    let want = v::iban_length(&cc)?;
    // Walk `want` alphanumerics (single spaces or hyphens, of one kind,
    // allowed between them) and end there: the regex may have run into a
    // following word.
    let mut count = 0;
    let mut i = s;
    let mut sep: Option<u8> = None;
    while i < bytes.len() && count < want {
        match bytes[i] {
            b @ (b' ' | b'-')
                if count > 0
                    && sep.is_none_or(|x| x == b)
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) =>
            {
                sep = Some(b);
            }
            b if b.is_ascii_alphanumeric() => count += 1,
            _ => break,
        }
        i += 1;
    }
    if count != want || word_char(byte_at(h, i)) {
        return None;
    }
    let m = &h[s..i];
    // One case throughout: "de89 3704 ..." or "DE89 3704 ...".
    let letters = m.bytes().filter(u8::is_ascii_alphabetic);
    let lower = letters.clone().any(|b| b.is_ascii_lowercase());
    let upper = letters.clone().any(|b| b.is_ascii_uppercase());
    if lower && upper {
        return None;
    }
    if let Some(sep) = sep {
        // Printed form: groups of four separated by one kind of separator.
        let mut groups = m.split(char::from(sep));
        let last = groups.next_back()?;
        if !groups.all(|g| g.len() == 4) || !(1..=4).contains(&last.len()) {
            return None;
        }
    }
    let upper_copy;
    let m = if lower {
        upper_copy = m.to_ascii_uppercase();
        upper_copy.as_str()
    } else {
        m
    };
    v::iban_mod97(m).then_some((s, i, 1.0))
}

pub(super) fn check_aba(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_aba_ascii)
}

pub(super) fn check_aba_ascii(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e)
        || !v::groups_ok(m, b"-", &[&[4, 4, 1]])
        || !v::aba_ok(m)
        || all_same_digit(m)
    {
        return None;
    }
    Some((s, e, if m.contains('-') { 0.5 } else { 0.4 }))
}

pub(super) fn check_base58(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::base58check_ok(&h[s..e]).then_some((s, e, 1.0))
}

pub(super) fn check_bech32(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::bech32_ok(&h[s..e]).then_some((s, e, 1.0))
}

pub(super) fn check_eth(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let hex = &h[s + 2..e];
    let lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if lower && upper {
        return v::eip55_ok(hex).then_some((s, e, 1.0));
    }
    Some((s, e, 0.8))
}
