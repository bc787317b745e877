//! IP and MAC addresses.

use std::net::Ipv6Addr;
use std::str::FromStr;

use super::common::{byte_at, byte_before, extends_number, word_char};
use crate::validate as v;

pub(super) fn check_ipv4(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let (addr, cidr) = match m.split_once('/') {
        Some((a, c)) => (a, Some(c)),
        None => (m, None),
    };
    if !v::ipv4_ok(addr) {
        return None;
    }
    if let Some(c) = cidr
        && c.parse::<u32>().ok()? > 32
    {
        return None;
    }
    if extends_number(h, s, e) || word_char(byte_before(h, s)) || word_char(byte_at(h, e)) {
        return None;
    }
    Some((s, e, 0.9))
}

pub(super) fn check_ipv6(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let bad_before = |o: Option<u8>| {
        o.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_'))
    };
    let bad_after =
        |o: Option<u8>| o.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_'));
    if bad_before(byte_before(h, s)) || bad_after(byte_at(h, e)) {
        return None;
    }
    if byte_at(h, e) == Some(b'.') && byte_at(h, e + 1).is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    Ipv6Addr::from_str(m).ok()?;
    let groups = m.split(':').filter(|g| !g.is_empty()).count();
    if groups == 0 {
        return None;
    }
    let groups = groups + usize::from(m.contains('.'));
    let score = if !m.contains("::") || groups >= 3 {
        0.9
    } else {
        0.6
    };
    Some((s, e, score))
}

pub(super) fn check_mac(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if word_char(byte_before(h, s)) || word_char(byte_at(h, e)) {
        return None;
    }
    let shapes: &[&[usize]] = &[&[2, 2, 2, 2, 2, 2], &[4, 4, 4]];
    if !v::groups_ok(m, b":-.", shapes) {
        return None;
    }
    let hex_letter = m.bytes().any(|b| b.is_ascii_alphabetic());
    let colon = m.contains(':');
    let score = match (hex_letter, colon) {
        (true, _) => 0.9,
        (false, true) => 0.7,
        (false, false) => 0.4,
    };
    Some((s, e, score))
}
