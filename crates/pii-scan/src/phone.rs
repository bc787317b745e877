//! Phone numbers by region, validated against libphonenumber's metadata
//! (the `phonenumber` crate, the data python-phonenumbers and so Presidio
//! use): a number written with `+` (or `00`) and a country calling code is
//! checked against that country's number plan; a national number against
//! each of the scanner's phone regions in turn.
//!
//! Only the metadata's number plans are used, not `phonenumber::parse`: the
//! scanner's candidate already holds the digits, and matching the national
//! number patterns directly costs a fraction of a full parse.
//!
//! The plans are read from `phone_plans.txt`, a table extracted from the
//! `phonenumber` crate's database (one line per region: id, country code,
//! main region of its code, national prefix, possible lengths, general
//! pattern, number-type patterns). Loading that database parses every
//! pattern of every region and costs ~250 ms, and compiling the plans of
//! the default regions more: far more than building a scanner should
//! cost. The table loads in microseconds, and each plan's regexes are
//! compiled on first use, when a candidate of a possible length reaches
//! them. A test (`plan_table_matches_phonenumber`) checks the table
//! against the crate's database, so that a `phonenumber` update cannot
//! leave it stale; `PII_SCAN_BLESS_PHONE_PLANS=1 cargo test -p pii-scan
//! --lib plan_table` rewrites it.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use regex_automata::meta::Regex;
use regex_automata::util::syntax;

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

/// The number plans, extracted from the `phonenumber` crate's database.
const PLAN_TABLE: &str = include_str!("phone_plans.txt");

/// One region of the plan table.
struct Meta {
    id: &'static str,
    country_code: u16,
    main_country: bool,
    /// The national (trunk) prefix, if the region has one.
    prefix: Option<&'static str>,
    /// `None` for a region without number types (no number is valid).
    plan: Option<Plan>,
}

/// Every region of the table, in table order.
static TABLE: LazyLock<Vec<Meta>> =
    LazyLock::new(|| PLAN_TABLE.lines().filter_map(parse_row).collect());

/// Parses a line of the table (`None` for a malformed one: the table test
/// checks there is none).
fn parse_row(line: &'static str) -> Option<Meta> {
    let mut f = line.split('\t');
    let id = f.next()?;
    let country_code = f.next()?.parse().ok()?;
    let main_country = f.next()? == "1";
    let prefix = Some(f.next()?).filter(|p| !p.is_empty());
    let lengths = f
        .next()?
        .split(',')
        .filter(|l| !l.is_empty())
        .map(str::parse)
        .collect::<Result<Vec<u16>, _>>()
        .ok()?;
    let general = f.next()?;
    let types = f.next()?;
    if f.next().is_some() {
        return None;
    }
    Some(Meta {
        id,
        country_code,
        main_country,
        prefix,
        plan: (!types.is_empty()).then(|| Plan {
            length_mask: length_mask(&lengths),
            lengths,
            general: LazyRegex::new(general),
            types: LazyRegex::new(types),
        }),
    })
}

/// The possible lengths as bits (bit `n`: length `n`; lengths of 64 or
/// more, which no plan has, set no bit and are looked up in the list).
fn length_mask(lengths: &[u16]) -> u64 {
    lengths
        .iter()
        .filter(|&&l| l < 64)
        .fold(0, |m, &l| m | 1 << l)
}

/// The regions of every country calling code.
static BY_CODE: LazyLock<HashMap<u16, Vec<&'static Meta>>> = LazyLock::new(|| {
    let mut map: HashMap<u16, Vec<&'static Meta>> = HashMap::new();
    for meta in TABLE.iter() {
        map.entry(meta.country_code).or_default().push(meta);
    }
    for list in map.values_mut() {
        // The main country of a shared code first (US for +1, RU for +7).
        list.sort_by_key(|m| !m.main_country);
    }
    map
});

/// A region of the scanner, resolved when the scanner is built.
#[derive(Clone, Copy)]
pub(crate) struct Region {
    plan: &'static Plan,
    /// The national (trunk) prefix, if the region has one.
    prefix: Option<&'static str>,
    prefix_optional: bool,
    /// The regions with rules of their own in [`valid`].
    kind: Kind,
}

/// Regions that [`valid`] treats apart (decided once, not by comparing
/// region codes for every candidate).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// US and CA: NANP-shaped numbers only.
    Nanp,
    Mx,
    Cn,
    In,
    Br,
    Other,
}

impl Kind {
    fn of(id: &str) -> Kind {
        match id {
            "US" | "CA" => Kind::Nanp,
            "MX" => Kind::Mx,
            "CN" => Kind::Cn,
            "IN" => Kind::In,
            "BR" => Kind::Br,
            _ => Kind::Other,
        }
    }
}

/// Resolves region codes ("US", "DE", ...). Compiles nothing: each
/// region's plan is compiled when a candidate first needs it.
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
            TABLE
                .iter()
                .find(|m| up.len() == 2 && m.id == up)
                .and_then(|meta| {
                    Some(Region {
                        plan: meta.plan.as_ref()?,
                        prefix: meta.prefix,
                        prefix_optional: PREFIX_OPTIONAL.contains(&up.as_str()),
                        kind: Kind::of(meta.id),
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

/// A pattern of the table, compiled on first use: anchored at both ends,
/// with insignificant whitespace (as phonenumber compiles it) and without
/// Unicode (a national number is ASCII digits, and `\d` compiles to a
/// tenth of the automaton).
struct LazyRegex {
    src: &'static str,
    compiled: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    fn new(src: &'static str) -> LazyRegex {
        LazyRegex {
            src,
            compiled: OnceLock::new(),
        }
    }

    fn compile(src: &str) -> Option<Regex> {
        Regex::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .build(&format!("(?x)^(?:{src})$"))
            .ok()
    }

    /// Whether `nsn` matches (never, for a pattern that does not compile:
    /// the table test checks that every one does).
    fn is_match(&self, nsn: &str) -> bool {
        self.compiled
            .get_or_init(|| LazyRegex::compile(self.src))
            .as_ref()
            .is_some_and(|r| r.is_match(nsn))
    }
}

/// A region's number plan: the general pattern and the union of its
/// number types' patterns. phonenumber's own `Descriptor::is_match` looks
/// every pattern up in a global, locked cache keyed by the pattern's text;
/// compiling each once here costs a fraction of that on every check and
/// takes no lock.
struct Plan {
    /// The possible lengths of a national significant number (empty: any).
    lengths: Vec<u16>,
    /// `lengths` as bits, for the common test.
    length_mask: u64,
    general: LazyRegex,
    types: LazyRegex,
}

impl Plan {
    /// Its national significant numbers are valid when the length is
    /// possible and the general pattern and one of its number types match,
    /// as libphonenumber's `isValidNumber` decides. The length comes
    /// first: a plan is compiled only for a number of a possible length.
    fn valid(&self, nsn: &str) -> bool {
        // The number types first: they reject more numbers than the
        // general pattern does.
        self.admits(nsn.len()) && self.types.is_match(nsn) && self.general.is_match(nsn)
    }

    /// Whether a national significant number of `len` digits is possible.
    fn admits(&self, len: usize) -> bool {
        let len = u16::try_from(len).unwrap_or(u16::MAX);
        let possible = if len < 64 {
            self.length_mask & 1 << len != 0
        } else {
            self.lengths.contains(&len)
        };
        self.lengths.is_empty() || possible
    }
}

/// The regions national numbers are checked against, with, for each
/// number of digits, the regions that can accept that many (as written or
/// after their national prefix): [`valid`] looks at no other, since every
/// other region's plan rejects such a number by its length alone.
pub(crate) struct Regions {
    list: Vec<Region>,
    /// Positions in `list` by number of digits (up to the longest a
    /// candidate may have).
    by_digits: Vec<Vec<usize>>,
}

/// The most digits [`valid`] accepts.
const MAX_DIGITS: usize = 17;

impl Regions {
    pub(crate) fn new(list: Vec<Region>) -> Regions {
        let by_digits = (0..=MAX_DIGITS)
            .map(|len| {
                (0..list.len())
                    .filter(|&i| {
                        let r = &list[i];
                        r.plan.admits(len)
                            || r.prefix.is_some_and(|p| {
                                len.checked_sub(p.len()).is_some_and(|l| r.plan.admits(l))
                            })
                    })
                    .collect()
            })
            .collect();
        Regions { list, by_digits }
    }
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
pub(crate) fn valid(w: &Written<'_>, defaults: &Regions) -> Validity {
    let d = w.digits;
    if !(6..=MAX_DIGITS).contains(&d.len()) {
        return Validity::Invalid;
    }
    if w.international {
        for cc_len in 1..=3 {
            let Some(code) = d.get(..cc_len).and_then(|c| c.parse::<u16>().ok()) else {
                continue;
            };
            if let Some(metas) = BY_CODE.get(&code) {
                let rest = &d[cc_len..];
                return if metas
                    .iter()
                    .any(|m| m.plan.as_ref().is_some_and(|p| p.valid(rest)))
                {
                    Validity::Valid
                } else {
                    Validity::Invalid
                };
            }
        }
        return Validity::Invalid;
    }
    let mut weak = false;
    let candidates = defaults
        .by_digits
        .get(d.len())
        .map_or(&[][..], Vec::as_slice);
    for r in candidates.iter().map(|&i| &defaults.list[i]) {
        if r.kind == Kind::Nanp && !w.nanp_shape {
            continue;
        }
        if let Some(nsn) = r.prefix.and_then(|p| d.strip_prefix(p))
            && r.plan.valid(nsn)
        {
            return Validity::Valid;
        }
        let without_prefix = match (r.prefix, r.kind) {
            (_, Kind::Mx) => Some(false),
            (None, _) => Some(true),
            (Some(_), _) if !r.prefix_optional => None,
            (Some(_), Kind::Cn) => {
                (w.mobile_shape && d.len() == 11 && d.starts_with('1')).then_some(true)
            }
            (Some(_), Kind::In) => {
                (w.mobile_shape && d.len() == 10 && d.starts_with(['6', '7', '8', '9']))
                    .then_some(true)
            }
            (Some(_), Kind::Br) => Some(w.parens),
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
    lengths_of(pieces.map(str::len))
}

fn lengths_of(lengths: impl Iterator<Item = usize>) -> Lengths {
    let mut out = Lengths { len: [0; 24], n: 0 };
    for len in lengths {
        if out.n == out.len.len() {
            // Too many pieces for any shape: a shape nothing matches.
            out.len[0] = usize::MAX;
            break;
        }
        out.len[out.n] = len;
        out.n += 1;
    }
    out
}

/// The lengths of the runs of ASCII digits in `s` (its pieces between
/// non-digits, empty ones left out), in one pass over its bytes.
fn digit_runs(s: &str) -> Lengths {
    let mut bytes = s.bytes().peekable();
    lengths_of(std::iter::from_fn(move || {
        while bytes.next_if(|b| !b.is_ascii_digit()).is_some() {}
        let mut run = 0;
        while bytes.next_if(u8::is_ascii_digit).is_some() {
            run += 1;
        }
        (run > 0).then_some(run)
    }))
}

/// Checks a phone candidate `h[s..e]` (digits, separators, perhaps an
/// extension): the longest valid number it starts with, with its extension
/// when the whole number is valid. Returns the span and the score.
pub(crate) fn check(h: &str, s: usize, e: usize, regions: &Regions) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    // The extension, if any: "ext. 12", "x12", "#12", "extension 12".
    let (main_end, ext_end) = match m
        .bytes()
        .position(|b| matches!(b, b'e' | b'E' | b'x' | b'X' | b'#'))
    {
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
    if main.contains('-') {
        let first = main.split(['-', ' ']).next().unwrap_or("");
        let last = main.rsplit(['-', ' ']).next().unwrap_or("");
        if last.len() == 1 || (first.len() == 1 && !main.starts_with('+')) {
            return None;
        }
    }
    // The shape of a US SSN ("123-45-6789") is left to the SSN recognizer.
    // (Pieces of 3, 2 and 4 bytes and two one-byte separators: 11 bytes.)
    if main.len() == 11 && group_lengths(main.split(['-', ' '])).as_slice() == [3, 2, 4] {
        return None;
    }
    // A decimal number ("53.2229005"): one dot and nothing else.
    if main.bytes().filter(|&b| !b.is_ascii_digit()).eq([b'.']) {
        return None;
    }
    // An IPv4 address ("192.168.10.20"), as the IP recognizer takes it.
    // No plan's numbers are written so, and checking one against the
    // plans was the dearest phone check of all.
    if crate::validate::ipv4_ok(main) {
        return None;
    }
    // A date written with dots ("08.01.2017"; at most 10 bytes).
    if main.len() <= 10
        && main.contains('.')
        && let [d, m, 2 | 4] = group_lengths(main.split('.')).as_slice()
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
    // A piece of a longer code ("6762-5675-6104" has no phone in it).
    let end = ends[n - 1];
    let mut after = h[end..].chars();
    let next_joins = matches!((after.next(), after.next()),
        (Some(a), Some(b)) if is_separator(a) && a != ' ' && a != ')' && b.is_alphanumeric());
    if next_joins {
        return None;
    }
    let candidate = skip(body, trunk_skip);
    let digit_groups = digit_runs(main);
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
    let validity = valid(&w, regions);
    if validity == Validity::Invalid {
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

    /// The byte-wise digit runs are the pieces between non-digits that
    /// splitting the string gave, on random text with digits, separators
    /// and multi-byte characters.
    #[test]
    fn digit_runs_match_split_pieces() {
        let alphabet: Vec<char> = "0123456789 -.()+x#\u{a0}\u{2010}é東".chars().collect();
        let mut x = 0x2545_F491_4F6C_DD1D_u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = usize::try_from(x % 40).unwrap();
            let s: String = (0..len)
                .map(|k| {
                    let r = x.rotate_left(u32::try_from(k * 7).unwrap());
                    alphabet[usize::try_from(r % 26).unwrap() % alphabet.len()]
                })
                .collect();
            let want = group_lengths(
                s.split(|c: char| !c.is_ascii_digit())
                    .filter(|g| !g.is_empty()),
            );
            assert_eq!(digit_runs(&s).as_slice(), want.as_slice(), "{s:?}");
        }
        assert_eq!(digit_runs("(415) 555-0132").as_slice(), [3, 3, 4]);
        assert_eq!(digit_runs("1".repeat(30).as_str()).as_slice(), [30]);
        let many = "1 ".repeat(30);
        assert_eq!(digit_runs(&many).as_slice()[0], usize::MAX);
    }

    /// The plan table as extracted from the `phonenumber` crate's
    /// database: one line per region, sorted by id; patterns without their
    /// (insignificant) whitespace.
    fn table_from_phonenumber() -> String {
        use phonenumber::metadata::DATABASE;
        let squeeze = |p: &str| -> String {
            assert!(
                !p.contains('#') && !p.contains("\\ ") && !p.contains('\t'),
                "pattern needs its whitespace: {p}"
            );
            p.chars().filter(|c| !c.is_whitespace()).collect()
        };
        let mut rows: Vec<String> = DATABASE
            .iter()
            .map(|meta| {
                let d = meta.descriptors();
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
                .map(|desc| format!("(?:{})", squeeze(desc.national_number().as_str())))
                .collect();
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
                let lengths: Vec<String> = lengths.iter().map(u16::to_string).collect();
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    meta.id(),
                    meta.country_code(),
                    u8::from(meta.is_main_country_for_code()),
                    meta.national_prefix().unwrap_or(""),
                    lengths.join(","),
                    squeeze(d.general().national_number().as_str()),
                    types.join("|"),
                )
            })
            .collect();
        rows.sort();
        let mut out = rows.join("\n");
        out.push('\n');
        out
    }

    #[test]
    fn plan_table_matches_phonenumber() {
        let fresh = table_from_phonenumber();
        if std::env::var_os("PII_SCAN_BLESS_PHONE_PLANS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/phone_plans.txt");
            std::fs::write(path, &fresh).unwrap();
            return;
        }
        assert!(
            fresh == PLAN_TABLE,
            "src/phone_plans.txt is stale: rerun with PII_SCAN_BLESS_PHONE_PLANS=1"
        );
        // Every line parses, and every pattern compiles as the scanner
        // compiles it.
        assert_eq!(TABLE.len(), PLAN_TABLE.lines().count());
        for meta in TABLE.iter() {
            if let Some(plan) = &meta.plan {
                for r in [&plan.general, &plan.types] {
                    assert!(
                        LazyRegex::compile(r.src).is_some(),
                        "{}: {}",
                        meta.id,
                        r.src
                    );
                }
            }
        }
    }

    /// The table's plans accept libphonenumber's example number of every
    /// region and number type (valid numbers by definition).
    #[test]
    fn plans_accept_phonenumber_examples() {
        use phonenumber::metadata::DATABASE;
        let mut checked = 0;
        for meta in DATABASE.iter() {
            // Parsed afresh: the global table's plans stay uncompiled for
            // `regions_compile_plans_lazily`.
            let line = PLAN_TABLE
                .lines()
                .find(|l| l.split('\t').next() == Some(meta.id()))
                .unwrap();
            let ours = parse_row(line).unwrap();
            let d = meta.descriptors();
            for desc in [d.mobile(), d.fixed_line(), d.toll_free(), d.premium_rate()]
                .into_iter()
                .flatten()
            {
                if let Some(example) = desc.example() {
                    let plan = ours.plan.as_ref().unwrap();
                    assert!(plan.valid(example), "{} {example}", meta.id());
                    checked += 1;
                }
            }
        }
        assert!(checked > 500, "{checked}");
    }

    /// Resolving regions compiles no plan (and loads no phonenumber
    /// database): a plan is compiled when a number of a possible length
    /// first reaches it.
    #[test]
    fn regions_compile_plans_lazily() {
        // Tuvalu: no other test touches its plan.
        let tv = regions(["tv"]).unwrap();
        let compiled =
            |r: &Region| [&r.plan.general, &r.plan.types].map(|l| l.compiled.get().is_some());
        assert_eq!(compiled(&tv[0]), [false, false]);
        // Too short for Tuvalu's plan: still nothing compiled.
        assert!(!tv[0].plan.valid("12"));
        assert_eq!(compiled(&tv[0]), [false, false]);
        // +688 90 1234 (a Tuvalu mobile number, libphonenumber's example).
        let example = "901234";
        assert!(tv[0].plan.valid(example));
        assert_eq!(compiled(&tv[0]), [true, true]);
    }

    #[test]
    fn regions_resolve_and_errors_name_the_code() {
        assert_eq!(
            regions(DEFAULT_PHONE_REGIONS).unwrap().len(),
            DEFAULT_PHONE_REGIONS.len()
        );
        let e = regions(["US", "XX"]).err().unwrap().to_string();
        assert!(e.contains("`XX`"), "{e}");
    }

    /// Looking only at the regions that admit a number's length decides
    /// as looking at every region does: random digit strings of every
    /// length, written every way, the default regions and a few others.
    /// (Not Tuvalu: `regions_compile_plans_lazily` needs its plan
    /// uncompiled, and plans are shared by the whole process.)
    #[test]
    fn regions_by_length_decide_as_all_regions() {
        let codes = ["US", "GB", "DE", "BR", "CN", "IN", "MX", "AT", "ID", "FR"];
        for list in [DEFAULT_PHONE_REGIONS, &codes[..]] {
            let indexed = Regions::new(regions(list).unwrap());
            let all = Regions {
                list: regions(list).unwrap(),
                by_digits: vec![(0..list.len()).collect(); MAX_DIGITS + 1],
            };
            let mut x = 0x2545_F491_4F6C_DD1D_u64;
            let mut seen = [0usize; 3];
            for k in 0..6_000 {
                let len = 6 + k % (MAX_DIGITS - 5);
                let digits: String = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // Leading zeros and ones often: trunk prefixes.
                        char::from(b"00112345678923456789"[usize::try_from(x % 20).unwrap()])
                    })
                    .collect();
                let flags = usize::try_from(x >> 40).unwrap();
                let w = Written {
                    parens: flags & 1 != 0,
                    nanp_shape: flags & 2 != 0,
                    mobile_shape: flags & 4 != 0,
                    digits: &digits,
                    international: false,
                };
                let got = valid(&w, &indexed);
                assert!(got == valid(&w, &all), "{digits} {flags}");
                seen[got as usize] += 1;
            }
            assert!(seen.iter().all(|&n| n > 20), "{seen:?}");
        }
    }

    #[test]
    fn plans_decide() {
        let all = Regions::new(regions(DEFAULT_PHONE_REGIONS).unwrap());
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
