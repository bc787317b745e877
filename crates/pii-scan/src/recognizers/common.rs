//! Helpers shared by the recognizers' checks: boundaries, digit
//! extraction, Unicode separators.

use super::CheckFn;

pub(super) fn byte_before(h: &str, i: usize) -> Option<u8> {
    i.checked_sub(1).and_then(|j| h.as_bytes().get(j).copied())
}

pub(super) fn byte_at(h: &str, i: usize) -> Option<u8> {
    h.as_bytes().get(i).copied()
}

/// True when the match is a piece of a longer number ("1234-5678-9" around
/// "5678", "1.2.3.4.5" around "1.2.3.4").
pub(super) fn extends_number(h: &str, s: usize, e: usize) -> bool {
    let dig = |o: Option<u8>| o.is_some_and(|b| b.is_ascii_digit());
    let sep = |o: Option<u8>| o.is_some_and(|b| matches!(b, b'-' | b'.' | b'/' | b','));
    let before = byte_before(h, s);
    let after = byte_at(h, e);
    dig(before)
        || (sep(before) && dig(s.checked_sub(2).and_then(|j| byte_at(h, j))))
        || dig(after)
        || (sep(after) && dig(byte_at(h, e + 1)) && after != Some(b','))
}

pub(super) fn word_char(o: Option<u8>) -> bool {
    o.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub(super) fn all_same_digit(m: &str) -> bool {
    let mut d = m.bytes().filter(u8::is_ascii_digit);
    let first = d.next();
    first.is_some() && d.all(|x| Some(x) == first)
}

/// Context-only numbers (passport, driver's license, bank account): keep the
/// pattern's low base score, reject pieces of longer numbers.
pub(super) fn check_weak(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    if extends_number(h, s, e) || all_same_digit(&h[s..e]) {
        return None;
    }
    Some((s, e, b))
}

/// The ASCII stand-in for a Unicode separator, if `c` is one.
pub(super) fn ascii_separator(c: char) -> Option<char> {
    match c {
        '\u{a0}' | '\u{202f}' | '\u{2009}' | '\u{2007}' => Some(' '),
        '\u{2010}'..='\u{2015}' | '\u{2212}' => Some('-'),
        _ => None,
    }
}

/// Runs `check` on `h[s..e]` with Unicode separators replaced by their
/// ASCII stand-ins (a copy of the match and a few characters around it,
/// made only when the match holds a non-ASCII character), and maps the
/// span it returns back to `h`.
pub(super) fn ascii_separators(
    h: &str,
    s: usize,
    e: usize,
    b: f64,
    check: CheckFn,
) -> Option<(usize, usize, f64)> {
    if h.as_bytes()[s..e].is_ascii() {
        return check(h, s, e, b);
    }
    // Two characters of context each side, for the checks' boundary tests.
    let lo = h[..s].char_indices().rev().nth(1).map_or(0, |(i, _)| i);
    let hi = h[e..].char_indices().nth(2).map_or(h.len(), |(i, _)| e + i);
    let mut t = String::with_capacity(hi - lo);
    // map[k]: the offset in `h` of byte k of `t` (and one past the end).
    let mut map = Vec::with_capacity(hi - lo + 1);
    let (mut ts, mut te) = (0, 0);
    for (i, c) in h[lo..hi].char_indices() {
        let i = lo + i;
        if i == s {
            ts = t.len();
        }
        if i == e {
            te = t.len();
        }
        let c = ascii_separator(c).unwrap_or(c);
        for _ in 0..c.len_utf8() {
            map.push(i);
        }
        t.push(c);
    }
    if e == hi {
        te = t.len();
    }
    map.push(hi);
    let (ns, ne, score) = check(&t, ts, te, b)?;
    // A span ending inside a multi-byte character cannot happen (checks
    // return ASCII-bounded spans); map the end through the next character.
    let end = if ne < t.len() { map[ne] } else { hi };
    Some((map[ns], end, score))
}

/// The `N` ASCII digits of `m` (separators skipped), or `None` when it has
/// another number of digits.
pub(super) fn digits_exact<const N: usize>(m: &str) -> Option<[u32; N]> {
    let mut out = [0u32; N];
    let mut n = 0;
    for c in m.bytes().filter(u8::is_ascii_digit) {
        *out.get_mut(n)? = u32::from(c - b'0');
        n += 1;
    }
    (n == N).then_some(out)
}
