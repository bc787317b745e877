//! Dates and times: written, numeric, ISO 8601, compact, times alone.

use crate::validate as v;

use super::common::{byte_at, byte_before, extends_number, word_char};
use crate::data::MONTH_NAMES;

fn month_number(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.');
    let lower3: [u8; 3] = match w.as_bytes() {
        [a, b, c, ..] => [
            a.to_ascii_lowercase(),
            b.to_ascii_lowercase(),
            c.to_ascii_lowercase(),
        ],
        _ => return None,
    };
    let m = match &lower3 {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    };
    Some(m)
}

/// Numbers (values and digit counts), how many, and the month name's
/// position and number found in a date match.
type DateParts = ([u32; 8], [usize; 8], usize, Option<(usize, u32)>);

/// Numbers and the month found in a date match, in order of appearance.
fn date_parts(m: &str) -> DateParts {
    let mut nums = [0u32; 8];
    let mut lens = [0usize; 8];
    let mut n = 0;
    let mut month = None;
    let b = m.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let j = i + b[i..].iter().take_while(|x| x.is_ascii_digit()).count();
        if j > i {
            if n < 8 {
                nums[n] = m[i..j].parse().unwrap_or(u32::MAX);
                lens[n] = j - i;
                n += 1;
            }
            i = j;
            continue;
        }
        let k = i + b[i..]
            .iter()
            .take_while(|x| x.is_ascii_alphabetic())
            .count();
        if k > i {
            if month.is_none() {
                month = month_number(&m[i..k]).map(|x| (n, x));
            }
            i = k;
        } else {
            i += 1;
        }
    }
    (nums, lens, n, month)
}

pub(super) fn check_date_iso(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e) {
        return None;
    }
    let (nums, _lens, n, _) = date_parts(m);
    if n < 3 || !(1000..=2999).contains(&nums[0]) || !v::date_ok(nums[0], nums[1], nums[2]) {
        return None;
    }
    if n >= 5
        && (nums[3] > 23
            || nums[4] > 59
            || (n >= 6 && nums[5] > 60 && !m.contains('+') && !m.contains('.')))
    {
        return None;
    }
    Some((s, e, 0.85))
}

pub(super) fn check_date_numeric(
    h: &str,
    s: usize,
    e: usize,
    _b: f64,
) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e) || word_char(byte_before(h, s)) {
        return None;
    }
    let sep = m.bytes().find(|b| !b.is_ascii_digit())?;
    if m.bytes().filter(|b| !b.is_ascii_digit()).any(|b| b != sep) {
        return None;
    }
    let (nums, lens, n, _) = date_parts(m);
    if n != 3 {
        return None;
    }
    let year = match lens[2] {
        4 => nums[2],
        2 => 2000 + nums[2],
        _ => return None,
    };
    if lens[2] == 4 && !(1000..=2999).contains(&nums[2]) {
        return None;
    }
    if !(v::date_ok(year, nums[0], nums[1]) || v::date_ok(year, nums[1], nums[0])) {
        return None;
    }
    let score = match (lens[2], sep) {
        (4, _) => 0.6,
        (_, b'.') => 0.4,
        _ => 0.5,
    };
    Some((s, e, score))
}

pub(super) fn check_date_text(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if word_char(byte_at(h, e)) || extends_number(h, s, e) {
        return None;
    }
    let (nums, lens, n, month) = date_parts(m);
    let (_, month) = month?;
    let (day, year) = match n {
        1 if lens[0] == 4 => (None, Some(nums[0])),
        1 => (Some(nums[0]), None),
        2 if lens[1] == 4 => (Some(nums[0]), Some(nums[1])),
        2 if lens[1] == 2 => (Some(nums[0]), Some(2000 + nums[1])),
        _ => return None,
    };
    if year.is_some_and(|y| !(1000..=2999).contains(&y)) {
        return None;
    }
    if day.is_some_and(|d| !v::date_ok(year.unwrap_or(2000), month, d)) {
        return None;
    }
    let score = match (day, year) {
        (Some(_), Some(_)) => 0.85,
        (None, Some(_)) => 0.5,
        _ => 0.45,
    };
    Some((s, e, score))
}

/// Written dates in seven languages: "Monday, 5 May 2024", "5. Mai 2024",
/// "le 5 mai", "5 de mayo de 2024", "the 3rd of May", "May 3-5",
/// "septembre 2007". Day and month must agree (calendar-checked with the
/// year, or a leap year when there is none).
pub(super) fn check_date_words(
    h: &str,
    s: usize,
    e: usize,
    _b: f64,
) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e) || h[e..].chars().next().is_some_and(char::is_alphanumeric) {
        return None;
    }
    let mut month = None;
    let mut month_word_len = 0;
    let mut last_word_len = 0;
    let mut full_short = false;
    let mut nums: [(u32, usize); 4] = [(0, 0); 4];
    let mut n = 0;
    for w in m.split(|c: char| !c.is_alphanumeric()) {
        if w.is_empty() {
            continue;
        }
        let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            if n < 4 {
                nums[n] = (digits.parse().ok()?, digits.len());
                n += 1;
            }
        } else if month.is_none()
            && let Some(mo) = month_of(w)
        {
            month = Some(mo);
            month_word_len = w.chars().count();
            full_short = matches!(w, "May" | "mai" | "Mai" | "mei" | "Mei");
        }
        last_word_len = w.chars().count();
    }
    let month = month?;
    // "the 3rd of May": the article belongs to the date.
    let s = if m.starts_with(|c: char| c.is_ascii_digit())
        && h[..s].len() >= 4
        && h.is_char_boundary(s - 4)
        && h[s - 4..s].eq_ignore_ascii_case("the ")
        && !h[..s - 4].ends_with(|c: char| c.is_alphanumeric())
    {
        s - 4
    } else {
        s
    };
    let mut day = None;
    let mut year = None;
    for &(v, len) in &nums[..n] {
        match len {
            4 if (1000..=2999).contains(&v) && year.is_none() => year = Some(v),
            1 | 2 if (1..=31).contains(&v) => {
                if day.is_none() {
                    day = Some(v);
                }
            }
            _ => return None,
        }
    }
    if let Some(d) = day
        && !v::date_ok(year.unwrap_or(2000), month, d)
    {
        return None;
    }
    let score = match (day, year) {
        (Some(_), _) => 0.85,
        // "septembre 2007"; a bare abbreviation with a year ("out 2024")
        // is too often something else.
        (None, Some(_)) if month_word_len >= 4 || m.contains('.') || full_short => 0.6,
        _ => return None,
    };
    // A sentence's full stop after a full month name is not part of it.
    let e = if m.ends_with('.') && (last_word_len >= 5 || full_short) {
        e - 1
    } else {
        e
    };
    Some((s, e, score))
}

/// Compact ISO 8601 dates, `20050618`: calendar-checked.
pub(super) fn check_date_compact(
    h: &str,
    s: usize,
    e: usize,
    _b: f64,
) -> Option<(usize, usize, f64)> {
    let m = h.get(s..e)?;
    if m.len() != 8 || extends_number(h, s, e) {
        return None;
    }
    let (y, mo, d) = (
        m[..4].parse().ok()?,
        m[4..6].parse().ok()?,
        m[6..].parse().ok()?,
    );
    v::date_ok(y, mo, d).then_some((s, e, 0.5))
}

/// "noon", "midnight", "9am", "7 p.m.": hour within 1..=12.
pub(super) fn check_time_words(
    h: &str,
    s: usize,
    e: usize,
    _b: f64,
) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e) || byte_before(h, s) == Some(b':') {
        return None;
    }
    let hour: u32 = m
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap_or("")
        .parse()
        .unwrap_or(0);
    let words = m.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
    if !words && !(1..=12).contains(&hour) {
        return None;
    }
    // "7 p.m." keeps its dot; "9am." ends a sentence.
    let e = if m.ends_with('.') && !m[..m.len() - 1].contains('.') {
        e - 1
    } else {
        e
    };
    Some((s, e, if words { 0.5 } else { 0.6 }))
}

pub(super) fn check_time(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e) || byte_before(h, s) == Some(b':') || byte_at(h, e) == Some(b':') {
        return None;
    }
    let (nums, _lens, n, _) = date_parts(m);
    let ampm = m
        .bytes()
        .any(|b| matches!(b.to_ascii_lowercase(), b'a' | b'p'));
    let max_hour = if ampm { 12 } else { 23 };
    if n < 2 || nums[0] > max_hour || nums[1] > 59 || (n == 3 && nums[2] > 59) {
        return None;
    }
    // "14:30" with two-digit minutes is a time; "3:1" (a score) is not matched.
    let score = if ampm || n == 3 { 0.6 } else { 0.5 };
    // "10:30 am." ends a sentence: the dot is not part of the time.
    let e = if (m.ends_with("m.") || m.ends_with("M.")) && !m.contains(".m") && !m.contains(".M") {
        e - 1
    } else {
        e
    };
    Some((s, e, score))
}

/// The month a (lower- or mixed-case) word names, in any of the languages
/// of [`MONTH_NAMES`]; a trailing dot is ignored.
fn month_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_lowercase();
    MONTH_NAMES.iter().find(|(n, _)| *n == w).map(|&(_, m)| m)
}
