//! Phone numbers by region, validated against libphonenumber's metadata
//! (the `phonenumber` crate, the data python-phonenumbers and so Presidio
//! use): a number written with `+` (or `00`) and a country calling code is
//! checked against that country's number plan; a national number against
//! each of the scanner's phone regions in turn.
//!
//! Only the metadata is used, not `phonenumber::parse`: the scanner's
//! candidate already holds the digits, and matching the national number
//! patterns directly costs a fraction of a full parse.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use regex_automata::meta::Regex;

use phonenumber::metadata::{DATABASE, Metadata};

use crate::Error;

/// Default regions for national numbers (written without `+`): the most
/// populous countries and the larger economies, most likely first (the
/// first region whose plan accepts a number decides).
pub const DEFAULT_PHONE_REGIONS: &[&str] = &[
    "US", "GB", "IN", "CN", "DE", "FR", "BR", "JP", "ES", "IT", "MX", "RU", "KR", "AU", "NL", "TR",
    "ID", "PH", "PK", "BD", "NG", "VN", "EG", "TH", "IR", "ZA", "AR", "CO", "PL", "CH", "AT", "BE",
    "IE", "PT", "SE", "NZ", "SG", "MY",
];

/// Regions whose numbers are commonly written without their national
/// (trunk) prefix: NANP numbers without the `1`, mobile numbers in China
/// (eleven digits from `1`) and India (ten digits from 6-9), Brazilian
/// numbers with the area code in parentheses; other Brazilian and Mexican
/// numbers without a prefix count only as weak matches (they need a
/// context word). Elsewhere a national number
/// must start with its trunk prefix (`0` in most of Europe): a bare digit
/// run is too often something else.
const PREFIX_OPTIONAL: &[&str] = &["US", "CA", "CN", "IN", "BR", "MX"];

/// Metadata of the regions of every country calling code.
static BY_CODE: LazyLock<HashMap<u16, Vec<&'static Metadata>>> = LazyLock::new(|| {
    let mut map: HashMap<u16, Vec<&'static Metadata>> = HashMap::new();
    for meta in DATABASE.iter() {
        map.entry(meta.country_code()).or_default().push(meta);
    }
    for list in map.values_mut() {
        // The main country of a shared code first (US for +1, RU for +7).
        list.sort_by_key(|m| !m.is_main_country_for_code());
    }
    map
});

/// A region's compiled plan, resolved when the scanner is built.
#[derive(Clone, Copy)]
pub(crate) struct Region {
    id: &'static str,
    plan: &'static Plan,
    /// The national (trunk) prefix, if the region has one.
    prefix: Option<&'static str>,
    prefix_optional: bool,
}

/// Resolves region codes ("US", "DE", ...).
///
/// # Errors
/// [`Error::InvalidOption`] naming an unknown region code.
pub(crate) fn regions<I, S>(codes: I) -> Result<Vec<Region>, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    codes
        .into_iter()
        .map(|c| {
            let c = c.as_ref();
            let up = c.to_ascii_uppercase();
            DATABASE
                .by_id(up.as_str())
                .filter(|_| up.len() == 2)
                .and_then(|meta| {
                    Some(Region {
                        id: meta.id(),
                        plan: plan(meta)?,
                        prefix: meta.national_prefix().filter(|p| !p.is_empty()),
                        prefix_optional: PREFIX_OPTIONAL.contains(&up.as_str()),
                    })
                })
                .ok_or_else(|| Error::InvalidOption {
                    option: "phone regions",
                    reason: format!(
                        "`{}` is not a region code (two letters, ISO 3166-1, e.g. US, DE)",
                        c.chars().take(16).collect::<String>()
                    ),
                })
        })
        .collect()
}

/// A region's number plan compiled for matching: the general pattern and
/// the union of its number types' patterns, both anchored at both ends.
/// phonenumber's own `Descriptor::is_match` looks every pattern up in a
/// global, locked cache keyed by the pattern's text; compiling each once
/// here costs a fraction of that on every check and takes no lock.
struct Plan {
    lengths: Vec<u16>,
    general: Regex,
    types: Regex,
}

impl Plan {
    fn new(meta: &Metadata) -> Option<Plan> {
        let d = meta.descriptors();
        // The metadata's patterns are laid out over several lines: compile
        // them with insignificant whitespace, as phonenumber does.
        let anchored = |p: &str| Regex::new(&format!("(?x)^(?:{p})$")).ok();
        let types: Vec<String> = [
            d.mobile(),
            d.fixed_line(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.uan(),
            d.pager(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .map(|desc| format!("(?:{})", desc.national_number().as_str()))
        .collect();
        if types.is_empty() {
            return None;
        }
        // The general descriptor often lists no lengths: use its types'.
        let mut lengths: Vec<u16> = d.general().possible_length().to_vec();
        if lengths.is_empty() {
            for desc in [d.mobile(), d.fixed_line(), d.toll_free(), d.premium_rate()]
                .into_iter()
                .chain([d.shared_cost(), d.personal_number(), d.voip(), d.uan()])
                .chain([d.pager(), d.voicemail()])
                .flatten()
            {
                lengths.extend_from_slice(desc.possible_length());
            }
        }
        Some(Plan {
            lengths,
            general: anchored(d.general().national_number().as_str())?,
            types: anchored(&types.join("|"))?,
        })
    }

    fn valid(&self, nsn: &str) -> bool {
        let len = u16::try_from(nsn.len()).unwrap_or(u16::MAX);
        (self.lengths.is_empty() || self.lengths.contains(&len))
            && self.general.is_match(nsn)
            && self.types.is_match(nsn)
    }
}

/// Compiled plans by region id, built on first use.
static PLANS: LazyLock<HashMap<&'static str, OnceLock<Option<Plan>>>> =
    LazyLock::new(|| DATABASE.iter().map(|m| (m.id(), OnceLock::new())).collect());

/// The compiled plan of a region (compiled on first use): its national
/// significant numbers are valid when the general pattern and one of its
/// number types match, as libphonenumber's `isValidNumber` decides.
fn plan(meta: &'static Metadata) -> Option<&'static Plan> {
    PLANS
        .get(meta.id())
        .and_then(|cell| cell.get_or_init(|| Plan::new(meta)).as_ref())
}

/// How a candidate was written.
pub(crate) struct Written<'a> {
    /// Written with an area code in brackets.
    pub(crate) parens: bool,
    /// Grouped as NANP numbers are written (3-3-4, ten digits, 1-3-3-4).
    pub(crate) nanp_shape: bool,
    /// Grouped as Chinese or Indian mobile numbers are written without a
    /// trunk prefix (138 0013 8000, 98765 43210, ...).
    pub(crate) mobile_shape: bool,
    /// The digits, without the `+`/`00` and without a `(0)` trunk marker.
    pub(crate) digits: &'a str,
    /// Written with `+` or `00`.
    pub(crate) international: bool,
}

/// The region a number is valid in, if any: for an international number
/// its country code's regions, otherwise the given default regions.
pub(crate) fn valid(w: &Written<'_>, defaults: &[Region]) -> Validity {
    let d = w.digits;
    if !(6..=17).contains(&d.len()) {
        return Validity::Invalid;
    }
    if w.international {
        for cc_len in 1..=3 {
            let Some(code) = d.get(..cc_len).and_then(|c| c.parse::<u16>().ok()) else {
                continue;
            };
            if let Some(metas) = BY_CODE.get(&code) {
                let rest = &d[cc_len..];
                return if metas.iter().any(|m| plan(m).is_some_and(|p| p.valid(rest))) {
                    Validity::Valid
                } else {
                    Validity::Invalid
                };
            }
        }
        return Validity::Invalid;
    }
    let mut weak = false;
    for r in defaults {
        if matches!(r.id, "US" | "CA") && !w.nanp_shape {
            continue;
        }
        if let Some(nsn) = r.prefix.and_then(|p| d.strip_prefix(p))
            && r.plan.valid(nsn)
        {
            return Validity::Valid;
        }
        let without_prefix = match (r.prefix, r.id) {
            (None, "MX") | (_, "MX") => Some(false),
            (None, _) => Some(true),
            (Some(_), _) if !r.prefix_optional => None,
            (Some(_), "CN") => {
                (w.mobile_shape && d.len() == 11 && d.starts_with('1')).then_some(true)
            }
            (Some(_), "IN") => {
                (w.mobile_shape && d.len() == 10 && d.starts_with(['6', '7', '8', '9']))
                    .then_some(true)
            }
            (Some(_), "BR") => Some(w.parens),
            (Some(_), _) => Some(true),
        };
        match without_prefix {
            Some(strong) if r.plan.valid(d) => {
                if strong {
                    return Validity::Valid;
                }
                weak = true;
            }
            _ => {}
        }
    }
    if weak {
        Validity::Weak
    } else {
        Validity::Invalid
    }
}

/// What a region's number plan says of a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Validity {
    /// Valid as written.
    Valid,
    /// Valid only if read without its region's trunk prefix where people
    /// often write one (Mexico, Brazil without brackets): needs context.
    Weak,
    /// Not a number of any region tried.
    Invalid,
}

/// Is `c` a separator people put between the digit groups of a phone
/// number (ASCII and Unicode spaces, hyphens and dashes, dots, brackets)?
pub(crate) fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '.' | '(' | ')' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\u{2007}' | '\u{2010}'
            ..='\u{2015}' | '\u{2212}'
    )
}

/// The lengths of up to 24 pieces (without allocating; a candidate has
/// at most 24 digits, so at most 25 pieces, and more never match a shape).
struct Lengths {
    len: [usize; 24],
    n: usize,
}

impl Lengths {
    fn as_slice(&self) -> &[usize] {
        &self.len[..self.n]
    }
}

fn group_lengths<'a>(pieces: impl Iterator<Item = &'a str>) -> Lengths {
    let mut out = Lengths { len: [0; 24], n: 0 };
    for p in pieces {
        if out.n == out.len.len() {
            // Too many pieces for any shape: a shape nothing matches.
            out.len[0] = usize::MAX;
            break;
        }
        out.len[out.n] = p.len();
        out.n += 1;
    }
    out
}

/// Checks a phone candidate `h[s..e]` (digits, separators, perhaps an
/// extension): the longest valid number it starts with, with its extension
/// when the whole number is valid. Returns the span and the score.
pub(crate) fn check(
    h: &str,
    s: usize,
    e: usize,
    regions: &[Region],
) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    // The extension, if any: "ext. 12", "x12", "#12", "extension 12".
    let (main_end, ext_end) = match m.find(['e', 'E', 'x', 'X', '#']) {
        Some(i) => {
            let main = m[..i].trim_end_matches([' ', ',']);
            (s + main.len(), Some(e))
        }
        None => (e, None),
    };
    let main = &h[s..main_end];
    // A piece of a longer code ("L732-716-19-718-0", "ES14 8124 3067 ...").
    let mut before = h[..s].chars().rev();
    if let (Some(b1), Some(b2)) = (before.next(), before.next())
        && (matches!(b1, '-' | '.' | '\u{2010}'..='\u{2015}' | '\u{2212}') && b2.is_alphanumeric()
            || b1 == '/')
    {
        return None;
    }
    // An ISBN ("0-306-40615-2"): a one-digit group at either end.
    let first = main.split(['-', ' ']).next().unwrap_or("");
    let last = main.rsplit(['-', ' ']).next().unwrap_or("");
    if main.contains('-') && (last.len() == 1 || (first.len() == 1 && !main.starts_with('+'))) {
        return None;
    }
    // The shape of a US SSN ("123-45-6789") is left to the SSN recognizer.
    if group_lengths(main.split(['-', ' '])).as_slice() == [3, 2, 4] {
        return None;
    }
    // A decimal number ("53.2229005"): one dot and nothing else.
    if main.bytes().filter(|&b| !b.is_ascii_digit()).eq([b'.']) {
        return None;
    }
    // A date written with dots ("08.01.2017").
    if let [d, m, 2 | 4] = group_lengths(main.split('.')).as_slice()
        && *d <= 2
        && *m <= 2
    {
        return None;
    }
    let plus = main.starts_with('+') || main.starts_with("(+");
    // Digits and the byte offset just past each digit.
    let mut digits = [0u8; 24];
    let mut ends = [0usize; 24];
    let mut n = 0;
    let mut seps = 0usize;
    let mut prev_sep = false;
    let mut trunk_skip: Option<usize> = None;
    for (i, c) in main.char_indices() {
        if c.is_ascii_digit() {
            if n == digits.len() {
                return None;
            }
            digits[n] = c as u8;
            ends[n] = s + i + 1;
            n += 1;
            prev_sep = false;
        } else if c == '+' {
            if i > 1 {
                return None;
            }
        } else if is_separator(c) {
            if prev_sep && c != '(' && c != ')' && !main[..i].ends_with([')', '(']) {
                // Two separators in a row ("1 - 2") join two numbers.
                return None;
            }
            if plus && c == '(' && main[i..].starts_with("(0)") && n > 0 && n <= 3 {
                trunk_skip = Some(n);
            }
            seps += 1;
            prev_sep = true;
        } else {
            return None;
        }
    }
    let parens = main.contains('(');
    if parens && main.matches('(').count() != main.matches(')').count() {
        return None;
    }
    let digits = std::str::from_utf8(&digits[..n]).ok()?;
    let (international, body) = if plus {
        (true, digits)
    } else if let Some(rest) = digits.strip_prefix("00") {
        (true, rest)
    } else {
        (false, digits)
    };
    // "+44 (0)20 ...": the bracketed trunk zero is not dialled.
    fn skip(d: &str, trunk_skip: Option<usize>) -> std::borrow::Cow<'_, str> {
        match trunk_skip {
            Some(k) if k < d.len() && d.as_bytes()[k] == b'0' => {
                let mut t = d[..k].to_owned();
                t.push_str(&d[k + 1..]);
                std::borrow::Cow::Owned(t)
            }
            _ => std::borrow::Cow::Borrowed(d),
        }
    }
    let min = if international { 7 } else { 8 };
    // The whole number or nothing: a longer digit run in one style (a card
    // that fails Luhn) is no phone number for its first eight digits.
    if n < (n - body.len()) + min - usize::from(international) {
        return None;
    }
    let candidate = skip(body, trunk_skip);
    let digit_groups = group_lengths(
        main.split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty()),
    );
    let digit_groups = digit_groups.as_slice();
    // National numbers end in a two-digit group only after other short
    // groups ("01 23 45 67 89", "123-45-67"); "4303-5267-78" is a code.
    if !international
        && let [.., prev, 2] = digit_groups
        && *prev >= 4
    {
        return None;
    }
    let nanp_shape = matches!(
        digit_groups,
        [3, 3, 4] | [10] | [1, 3, 3, 4] | [11] | [3, 7]
    );
    let mobile_shape = matches!(
        digit_groups,
        [11] | [3, 4, 4] | [3, 8] | [10] | [5, 5] | [3, 3, 4] | [4, 3, 3]
    );
    let w = Written {
        parens,
        nanp_shape,
        mobile_shape,
        digits: &candidate,
        international,
    };
    // A piece of a longer code ("6762-5675-6104" has no phone in it).
    let end = ends[n - 1];
    let mut after = h[end..].chars();
    let next_joins = matches!((after.next(), after.next()),
        (Some(a), Some(b)) if is_separator(a) && a != ' ' && a != ')' && b.is_alphanumeric());
    let validity = valid(&w, regions);
    if next_joins || validity == Validity::Invalid {
        return None;
    }
    let score = if validity == Validity::Weak {
        0.45
    } else if international || parens {
        0.75
    } else if seps > 0 {
        0.55
    } else {
        0.4
    };
    Some((s, ext_end.unwrap_or(end), score))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn regions_resolve_and_errors_name_the_code() {
        assert_eq!(
            regions(DEFAULT_PHONE_REGIONS).unwrap().len(),
            DEFAULT_PHONE_REGIONS.len()
        );
        let e = regions(["US", "XX"]).err().unwrap().to_string();
        assert!(e.contains("`XX`"), "{e}");
    }

    #[test]
    fn plans_decide() {
        let all = regions(DEFAULT_PHONE_REGIONS).unwrap();
        let v = |d: &str, i: bool| {
            valid(
                &Written {
                    parens: false,
                    nanp_shape: true,
                    mobile_shape: true,
                    digits: d,
                    international: i,
                },
                &all,
            ) == Validity::Valid
        };
        assert!(v("4915123456789", true)); // +49 151 23456789
        assert!(v("8613812345678", true)); // +86 138 1234 5678
        assert!(v("13812345678", false)); // CN mobile, no trunk prefix
        assert!(v("02079460958", false)); // GB London
        assert!(!v("11987654321", false)); // BR without brackets: weak only
        assert!(v("4155550132", false)); // NANP without the 1
        assert!(!v("1957754612", false)); // SKU-like: weak (MX) at most
        assert!(!v("999999999999", true));
        assert!(!v("123", false));
    }
}
