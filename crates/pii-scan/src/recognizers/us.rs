//! United States: SSN, ITIN, DEA registration numbers.

use super::common::{ascii_separators, extends_number};
use crate::validate as v;

/// Shared check for 3-2-4 numbers (SSN, ITIN).
pub(super) fn three_two_four(
    h: &str,
    s: usize,
    e: usize,
    ok: fn(&str) -> bool,
) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e) || !v::groups_ok(m, b"- .", &[&[3, 2, 4]]) || !ok(m) {
        return None;
    }
    let score = if m.contains('-') {
        0.6
    } else if m.len() == 9 {
        0.3
    } else {
        0.5
    };
    Some((s, e, score))
}

pub(super) fn check_ssn(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_ssn_ascii)
}

pub(super) fn check_ssn_ascii(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    three_two_four(h, s, e, v::ssn_ok)
}

pub(super) fn check_itin(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_itin_ascii)
}

pub(super) fn check_itin_ascii(
    h: &str,
    s: usize,
    e: usize,
    _b: f64,
) -> Option<(usize, usize, f64)> {
    three_two_four(h, s, e, v::itin_ok)
}

pub(super) fn check_dea(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::dea_ok(&h[s..e]).then_some((s, e, 0.85))
}
