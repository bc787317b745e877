//! Asia-Pacific national identifiers: India (Aadhaar, PAN), Australia
//! (TFN, ABN, ACN, Medicare), Singapore (NRIC/FIN) and Korea (RRN).

use super::common::{all_same_digit, digits_exact, extends_number};
use crate::validate as v;

// ---- India ----

/// Aadhaar: twelve digits, the first 2-9, not a palindrome, Verhoeff check
/// digit; grouped `2341 2341 2346` or plain. One random twelve-digit number
/// in ten passes, and 4-4-4 is a common grouping: needs context.
pub(super) fn check_in_aadhaar(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let d: [u32; 12] = digits_exact(m)?;
    if extends_number(h, s, e) || !aadhaar_ok(&d) {
        return None;
    }
    let seps: Vec<u8> = m.bytes().filter(|c| !c.is_ascii_digit()).collect();
    if !(seps.is_empty() || seps == [b' ', b' '] || seps == [b'-', b'-']) {
        return None;
    }
    Some((s, e, b))
}

pub(super) fn aadhaar_ok(d: &[u32; 12]) -> bool {
    let mut rev = *d;
    rev.reverse();
    d[0] >= 2 && rev != *d && verhoeff_ok(d)
}

/// The Verhoeff check (dihedral group D5).
fn verhoeff_ok(d: &[u32]) -> bool {
    const MUL: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const PERM: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, &x) in d.iter().rev().enumerate() {
        c = MUL[usize::from(c)][usize::from(PERM[i % 8][x as usize % 10])];
    }
    c == 0
}

/// PAN (Permanent Account Number): five letters, four digits, a letter;
/// the fourth letter is the holder's kind (P person, C company, H Hindu
/// undivided family, F firm, A association, T trust, B body of
/// individuals, L local authority, J juridical person, G government). No
/// published check character.
pub(super) fn check_in_pan(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    pan_ok(&h.as_bytes()[s..e]).then_some((s, e, b))
}

pub(super) fn pan_ok(m: &[u8]) -> bool {
    m.len() == 10
        && m[..5].iter().all(u8::is_ascii_uppercase)
        && b"ABCFGHJLPT".contains(&m[3])
        && m[5..9].iter().all(u8::is_ascii_digit)
        && &m[5..9] != b"0000"
        && m[9].is_ascii_uppercase()
}

// ---- Australia ----

/// Tax file number: nine digits (`123 456 782`), weights 1, 4, 3, 7, 5, 8,
/// 6, 9, 10, mod 11 (or the older eight-digit form, weights 10, 7, 8, 4,
/// 6, 3, 5, 1). Needs context.
pub(super) fn check_au_tfn(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let d: Vec<u32> = digits_of(m);
    let spaces = m.bytes().filter(|&c| c == b' ').count();
    if !(spaces == 0 || spaces == 2) || extends_number(h, s, e) || all_same_digit(m) {
        return None;
    }
    tfn_ok(&d).then_some((s, e, b))
}

pub(super) fn tfn_ok(d: &[u32]) -> bool {
    let weights: &[u32] = match d.len() {
        9 => &[1, 4, 3, 7, 5, 8, 6, 9, 10],
        8 => &[10, 7, 8, 4, 6, 3, 5, 1],
        _ => return false,
    };
    d.iter().zip(weights).map(|(x, w)| x * w).sum::<u32>() % 11 == 0
}

/// Australian Business Number: eleven digits (`51 824 753 556`); subtract
/// one from the first digit, weights 10, 1, 3, ..., 19, mod 89. Grouped
/// scores 0.5; plain needs context.
pub(super) fn check_au_abn(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    let d: [u32; 11] = digits_exact(&h[s..e])?;
    (!extends_number(h, s, e) && abn_ok(&d)).then_some((s, e, b))
}

pub(super) fn abn_ok(d: &[u32; 11]) -> bool {
    if d[0] == 0 {
        return false;
    }
    const W: [u32; 11] = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
    let sum: u32 = d
        .iter()
        .zip(W)
        .enumerate()
        .map(|(i, (&x, w))| if i == 0 { (x - 1) * w } else { x * w })
        .sum();
    sum.is_multiple_of(89)
}

/// Australian Company Number: nine digits (`004 085 616`), weights 8..1 on
/// the first eight, check digit `(10 - sum mod 10) mod 10`. Needs context.
pub(super) fn check_au_acn(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let d: [u32; 9] = digits_exact(m)?;
    let spaces = m.bytes().filter(|&c| c == b' ').count();
    if !(spaces == 0 || spaces == 2) || extends_number(h, s, e) || all_same_digit(m) {
        return None;
    }
    acn_ok(&d).then_some((s, e, b))
}

pub(super) fn acn_ok(d: &[u32; 9]) -> bool {
    let sum: u32 = d[..8].iter().zip((1..=8).rev()).map(|(x, w)| x * w).sum();
    (10 - sum % 10) % 10 == d[8]
}

/// Medicare card number: ten digits, the first 2-6, the ninth a check
/// digit (weights 1, 3, 7, 9, 1, 3, 7, 9 on the first eight, mod 10), the
/// tenth the card's issue number; printed `2123 45670 1` (scores 0.5) or
/// plain (needs context).
pub(super) fn check_au_medicare(
    h: &str,
    s: usize,
    e: usize,
    b: f64,
) -> Option<(usize, usize, f64)> {
    let d: [u32; 10] = digits_exact(&h[s..e])?;
    (!extends_number(h, s, e) && medicare_ok(&d)).then_some((s, e, b))
}

pub(super) fn medicare_ok(d: &[u32; 10]) -> bool {
    const W: [u32; 8] = [1, 3, 7, 9, 1, 3, 7, 9];
    (2..=6).contains(&d[0]) && d[..8].iter().zip(W).map(|(x, w)| x * w).sum::<u32>() % 10 == d[8]
}

// ---- Singapore ----

/// NRIC / FIN: `S`/`T` (citizens and residents, born before / from 2000)
/// or `F`/`G` (foreigners), seven digits, a check letter (weights 2, 7, 6,
/// 5, 4, 3, 2; 4 added for T and G; mod 11 into `JZIHGFEDCBA` or
/// `XWUTRQPNMLK`). The 2022 `M` series uses another table and is not
/// recognized.
pub(super) fn check_sg_nric(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    nric_ok(&h.as_bytes()[s..e]).then_some((s, e, b))
}

pub(super) fn nric_ok(m: &[u8]) -> bool {
    if m.len() != 9 || !m[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const W: [u32; 7] = [2, 7, 6, 5, 4, 3, 2];
    let mut sum: u32 = m[1..8]
        .iter()
        .zip(W)
        .map(|(&c, w)| u32::from(c - b'0') * w)
        .sum();
    let table: &[u8; 11] = match m[0] {
        b'S' => b"JZIHGFEDCBA",
        b'T' => {
            sum += 4;
            b"JZIHGFEDCBA"
        }
        b'F' => b"XWUTRQPNMLK",
        b'G' => {
            sum += 4;
            b"XWUTRQPNMLK"
        }
        _ => return false,
    };
    table[(sum % 11) as usize] == m[8]
}

// ---- Korea ----

/// Resident registration number: `YYMMDD-SNNNNNC`, a valid birth date (the
/// century from S: 1, 2, 5, 6 the 1900s; 3, 4, 7, 8 the 2000s; 9, 0 the
/// 1800s), a place-of-birth code up to 96, and the check digit (weights 2..9,
/// 2..5; `(11 - sum mod 11) mod 10`). Numbers issued since October 2020 carry
/// no check digit and are not recognized.
pub(super) fn check_kr_rrn(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    let d: [u32; 13] = digits_exact(&h[s..e])?;
    (!extends_number(h, s, e) && rrn_ok(&d)).then_some((s, e, b))
}

pub(super) fn rrn_ok(d: &[u32; 13]) -> bool {
    let century = match d[6] {
        1 | 2 | 5 | 6 => 1900,
        3 | 4 | 7 | 8 => 2000,
        _ => 1800,
    };
    if !v::date_ok(
        century + d[0] * 10 + d[1],
        d[2] * 10 + d[3],
        d[4] * 10 + d[5],
    ) {
        return false;
    }
    if d[7] * 10 + d[8] > 96 {
        return false;
    }
    const W: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    let sum: u32 = d[..12].iter().zip(W).map(|(x, w)| x * w).sum();
    (11 - sum % 11) % 10 == d[12]
}

fn digits_of(m: &str) -> Vec<u32> {
    m.bytes()
        .filter(u8::is_ascii_digit)
        .map(|c| u32::from(c - b'0'))
        .collect()
}
