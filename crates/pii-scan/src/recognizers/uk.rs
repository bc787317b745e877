//! United Kingdom: NHS number, National Insurance number.

use super::common::{ascii_separators, extends_number};
use crate::validate as v;

pub(super) fn check_nhs(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_nhs_ascii)
}

pub(super) fn check_nhs_ascii(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e) || !v::groups_ok(m, b" -", &[&[3, 3, 4]]) || !v::nhs_ok(m) {
        return None;
    }
    // One ten-digit number in eleven passes mod 11: unseparated ones need context.
    Some((s, e, if m.len() == 10 { 0.4 } else { 0.5 }))
}

pub(super) fn check_nino(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let spaces = m.bytes().filter(|&b| b == b' ').count();
    if !(spaces == 0 || spaces == 4) || !v::nino_ok(m) {
        return None;
    }
    Some((s, e, 0.85))
}
