//! Phone numbers: NANP by its own rules; every other number through the
//! number plans of [`crate::phone`].

use super::common::{all_same_digit, byte_before, extends_number, word_char};

/// Separators used between the digit groups of a phone number.
pub(super) fn phone_separators_ok(m: &str) -> bool {
    let mut sep: Option<u8> = None;
    for b in m.bytes() {
        if matches!(b, b'-' | b'.' | b' ') {
            match sep {
                None => sep = Some(b),
                Some(x) if x != b => return false,
                _ => {}
            }
        }
    }
    true
}

pub(super) fn check_nanp(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e) || word_char(byte_before(h, s)) || all_same_digit(m) {
        return None;
    }
    let mut d = [0u8; 11];
    let mut n = 0;
    for b in m.bytes().filter(u8::is_ascii_digit) {
        *d.get_mut(n)? = b;
        n += 1;
    }
    let d = match n {
        10 => &d[..10],
        11 if d[0] == b'1' => &d[1..11],
        _ => return None,
    };
    let n11 = |x: &[u8]| x[1] == b'1' && x[2] == b'1';
    if d[0] < b'2' || d[3] < b'2' || n11(&d[..3]) || n11(&d[3..6]) {
        return None;
    }
    // "(415) 555-0132" mixes separators on purpose; elsewhere they must agree.
    let paren = m.contains('(');
    if paren != m.contains(')') {
        return None;
    }
    let body = if paren {
        m.rsplit(')').next().unwrap_or(m)
    } else {
        m
    };
    if !phone_separators_ok(body.trim_start()) {
        return None;
    }
    let plus = m.starts_with('+');
    let separated = m.bytes().any(|b| matches!(b, b'-' | b'.' | b' ' | b'('));
    let score = if plus || paren {
        0.75
    } else if separated {
        0.7
    } else {
        0.4
    };
    Some((s, e, score))
}

/// Placeholder check of the `phone` pattern: the scanner validates its
/// matches against the phone regions it was built with
/// ([`crate::phone::check`]).
pub(crate) fn check_phone(_h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    Some((s, e, 0.0))
}
