//! European national identifiers: Spain (DNI/NIF, NIE), Italy (codice
//! fiscale), Poland (PESEL), Finland (henkilötunnus), the Netherlands
//! (BSN), Germany (Steuer-IdNr, Personalausweis), France (NIR), Sweden
//! (personnummer) and Belgium (national register number).

use super::common::{all_same_digit, digits_exact, extends_number};
use crate::validate as v;

pub(super) fn check_nif(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::es_nif_ok(&h[s..e]).then_some((s, e, 0.9))
}

pub(super) fn check_nie(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::es_nie_ok(&h[s..e]).then_some((s, e, 0.9))
}

pub(super) fn check_it_fiscal(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::it_fiscal_ok(&h[s..e]).then_some((s, e, 0.95))
}

pub(super) fn check_pesel(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    (!extends_number(h, s, e) && v::pesel_ok(&h[s..e])).then_some((s, e, 0.4))
}

pub(super) fn check_hetu(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    (!extends_number(h, s, e) && v::fi_hetu_ok(&h[s..e])).then_some((s, e, 0.9))
}

// ---- Netherlands ----

/// Dutch BSN (burgerservicenummer): nine digits (or `1112.22.333`) passing
/// the "elfproef" (weights 9..2 and -1, mod 11). One random nine-digit
/// number in eleven passes: the pattern needs a context word.
pub(super) fn check_nl_bsn(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let d: [u32; 9] = digits_exact(m)?;
    if extends_number(h, s, e) || all_same_digit(m) || !bsn_ok(&d) {
        return None;
    }
    Some((s, e, b))
}

/// The BSN "elfproef".
pub(super) fn bsn_ok(d: &[u32; 9]) -> bool {
    let sum: i64 = d[..8]
        .iter()
        .zip((2..=9).rev())
        .map(|(&x, w)| i64::from(x) * w)
        .sum::<i64>()
        - i64::from(d[8]);
    sum > 0 && sum % 11 == 0
}

// ---- Germany ----

/// German tax identification number (Steuer-IdNr): eleven digits, no
/// leading zero, exactly one digit repeated (two or three times) among the
/// first ten, ISO 7064 MOD 11,10 check digit; written plain or
/// `36 574 261 809`. One in about 500 random numbers passes: needs context.
pub(super) fn check_de_tax_id(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    let d: [u32; 11] = digits_exact(&h[s..e])?;
    (!extends_number(h, s, e) && de_tax_id_ok(&d)).then_some((s, e, b))
}

pub(super) fn de_tax_id_ok(d: &[u32; 11]) -> bool {
    if d[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[x as usize] += 1;
    }
    let repeated: Vec<usize> = (0..10).filter(|&i| counts[i] > 1).collect();
    let [r] = repeated[..] else {
        return false;
    };
    if !matches!(counts[r], 2 | 3) {
        return false;
    }
    // A digit repeated three times may not stand three in a row.
    if counts[r] == 3
        && d[..10]
            .windows(3)
            .any(|w| w.iter().all(|&x| x as usize == r))
    {
        return false;
    }
    mod_11_10_check(&d[..10]) == d[10]
}

/// ISO 7064 MOD 11,10 check digit of `d`.
fn mod_11_10_check(d: &[u32]) -> u32 {
    let mut product = 10;
    for &x in d {
        let mut sum = (x + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (2 * sum) % 11;
    }
    (11 - product) % 10
}

/// German identity card (Personalausweis) number: nine characters from
/// `CFGHJKLMNPRTVWXYZ0-9` starting with a letter, then a check digit
/// (weights 7, 3, 1; letters count 10..35), as printed on cards issued
/// since November 2010 (`T220001293`). One in ten random codes of that
/// shape passes: needs context.
pub(super) fn check_de_id_card(
    h: &str,
    s: usize,
    _e: usize,
    b: f64,
) -> Option<(usize, usize, f64)> {
    let m = &h.as_bytes()[s..s + 10];
    de_id_card_ok(m).then_some((s, s + 10, b))
}

pub(super) fn de_id_card_ok(m: &[u8]) -> bool {
    if m.len() != 10 || !m[9].is_ascii_digit() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &c) in m[..9].iter().enumerate() {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'C' | b'F' | b'G' | b'H' | b'J' | b'K' | b'L' | b'M' | b'N' | b'P' | b'R' | b'T'
            | b'V' | b'W' | b'X' | b'Y' | b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        sum += v * [7, 3, 1][i % 3];
    }
    sum % 10 == u32::from(m[9] - b'0')
}

// ---- France ----

/// French social security number (NIR, numéro INSEE): sex (1, 2; 3, 4, 7,
/// 8 for provisional numbers), year, month (01-12, or 20-42 and 50-99 for
/// unknown months), département (two digits, `2A`/`2B` for Corsica),
/// commune, order number, and a key `97 - (number mod 97)`. As printed,
/// `2 95 10 99 126 111 93`, it scores 0.9; fifteen plain digits (a
/// reference number passes one time in about 400) need context.
pub(super) fn check_fr_nir(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let spaces = m.bytes().filter(|&c| c == b' ').count();
    if !(spaces == 0 || spaces == 6) || extends_number(h, s, e) {
        return None;
    }
    let compact: Vec<u8> = m.bytes().filter(|&c| c != b' ').collect();
    if !fr_nir_ok(&compact) {
        return None;
    }
    Some((s, e, if spaces == 6 { 0.9 } else { 0.4 }))
}

pub(super) fn fr_nir_ok(n: &[u8]) -> bool {
    if n.len() != 15 || !matches!(n[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8') {
        return false;
    }
    let month = u32::from(n[3].wrapping_sub(b'0')) * 10 + u32::from(n[4].wrapping_sub(b'0'));
    if !(matches!(month, 1..=12 | 20..=42 | 50..=99)) {
        return false;
    }
    // Corsica: 2A counts as 19, 2B as 18.
    let mut digits = [0u8; 15];
    digits.copy_from_slice(n);
    match (n[5], n[6]) {
        (b'2', b'A' | b'a') => (digits[5], digits[6]) = (b'1', b'9'),
        (b'2', b'B' | b'b') => (digits[5], digits[6]) = (b'1', b'8'),
        _ => {}
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let num = digits[..13]
        .iter()
        .fold(0u64, |acc, &c| acc * 10 + u64::from(c - b'0'));
    let key = u64::from(digits[13] - b'0') * 10 + u64::from(digits[14] - b'0');
    97 - num % 97 == key
}

// ---- Sweden ----

/// Swedish personal identity number (personnummer, and samordningsnummer
/// with the day plus 60): `YYMMDD-NNNC` (`+` from the year one turns 100)
/// or `YYYYMMDD-NNNC`, a valid date and a Luhn check digit over the ten
/// digits `YYMMDDNNNC`.
pub(super) fn check_se_personnummer(
    h: &str,
    s: usize,
    e: usize,
    b: f64,
) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e) || !se_personnummer_ok(m) {
        return None;
    }
    let marked = m.contains(['-', '+']);
    Some((s, e, if marked { 0.8 } else { b }))
}

pub(super) fn se_personnummer_ok(m: &str) -> bool {
    let d: Vec<u32> = m
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|c| u32::from(c - b'0'))
        .collect();
    let ten = match d.len() {
        10 => &d[..],
        12 => &d[2..],
        _ => return false,
    };
    let month = ten[2] * 10 + ten[3];
    let mut day = ten[4] * 10 + ten[5];
    if day > 60 {
        day -= 60;
    }
    let year = if d.len() == 12 {
        d[0] * 1000 + d[1] * 100 + ten[0] * 10 + ten[1]
    } else {
        // The century is not written: 2000-2099 has the same leap years
        // as 1900-1999 but for 2000 itself.
        2000 + ten[0] * 10 + ten[1]
    };
    if !v::date_ok(year, month, day) {
        return false;
    }
    let mut digits = [0u8; 10];
    for (slot, &x) in digits.iter_mut().zip(ten) {
        *slot = b'0' + u8::try_from(x).unwrap_or(0);
    }
    std::str::from_utf8(&digits).is_ok_and(v::luhn)
}

// ---- Belgium ----

/// Belgian national register number (rijksregisternummer / numéro
/// national): `YY.MM.DD-XXX.CC` (or spaced, or plain), a birth date (month
/// 0 when unknown; plus 20 or 40 in "bis" numbers) and a check number
/// `97 - (first nine digits mod 97)`, with a `2` in front for people born
/// from 2000.
pub(super) fn check_be_national_number(
    h: &str,
    s: usize,
    e: usize,
    b: f64,
) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let d: [u32; 11] = digits_exact(m)?;
    if extends_number(h, s, e) || !be_national_number_ok(&d) {
        return None;
    }
    let score = if m.contains('.') {
        0.85
    } else if m.contains(' ') {
        0.6
    } else {
        b
    };
    Some((s, e, score))
}

pub(super) fn be_national_number_ok(d: &[u32; 11]) -> bool {
    let month = (d[2] * 10 + d[3]) % 20;
    let day = d[4] * 10 + d[5];
    if month > 12 || day > 31 {
        return false;
    }
    let nine = d[..9].iter().fold(0u64, |acc, &x| acc * 10 + u64::from(x));
    let check = u64::from(d[9] * 10 + d[10]);
    // Born from 2000 (read as 2000-2039, so that no clock is needed): the
    // check number is computed with a 2 in front.
    let from_2000 = d[0] * 10 + d[1] < 40;
    97 - nine % 97 == check || (from_2000 && 97 - (2_000_000_000 + nine) % 97 == check)
}
