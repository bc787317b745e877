//! The built-in recognizers: patterns, validators, scores and context words.
//!
//! Patterns are written with `\b` and `\d` for readability; before compiling,
//! `\b` becomes the ASCII word boundary `(?-u:\b)` (the Unicode one defeats
//! the lazy DFA as soon as the text holds a non-ASCII byte) and `\d` becomes
//! `[0-9]` (validators work on ASCII digits).

use std::net::Ipv6Addr;
use std::str::FromStr;

use crate::EntityType;
use crate::validate as v;

mod dates;
mod web;

use dates::{
    check_date_compact, check_date_iso, check_date_numeric, check_date_text, check_date_words,
    check_time, check_time_words,
};
use web::{check_email, check_url};

/// A post-match check: given the haystack, the match and the pattern's base
/// score, it rejects the match (`None`) or returns the (possibly trimmed)
/// span and its score.
pub(crate) type CheckFn = fn(&str, usize, usize, f64) -> Option<(usize, usize, f64)>;

/// One built-in pattern.
pub(crate) struct Builtin {
    pub(crate) entity: EntityType,
    pub(crate) name: &'static str,
    pub(crate) regex: &'static str,
    pub(crate) score: f64,
    pub(crate) check: CheckFn,
    /// A cheaper regex for the locator pass that matches (at least) wherever
    /// `regex` can start a match; empty: `regex` itself.
    pub(crate) locate: &'static str,
}

/// Built-in recognizers whose matches no checksum or structure confirms:
/// numbers known only by their length (and IPv4 addresses, which versions
/// look exactly like). Ambiguity words may lower these below the threshold;
/// every other built-in is validated (see [`crate::VALIDATED_FLOOR`]).
pub(crate) const UNVALIDATED: &[&str] = &[
    "ipv4",
    "us-passport",
    "us-driver-license",
    "us-driver-license-digits",
    "us-bank-number",
];

/// The highest score a built-in's check gives before context words
/// (1.0 unless listed): patterns scoring under the scanner's minimum need a
/// supporting word to be reported, and the scanner skips them where none
/// is near.
pub(crate) fn max_check_score(name: &str) -> f64 {
    match name {
        "us-passport" => 0.1,
        "us-driver-license" => 0.3,
        "us-driver-license-digits" | "us-bank-number" => 0.05,
        "pl-pesel" => 0.4,
        _ => 1.0,
    }
}

/// Words that make an entity more likely when they appear near a match.
pub(crate) fn context_words(e: &EntityType) -> &'static [&'static str] {
    match e {
        EntityType::CreditCard => &[
            "credit",
            "card",
            "visa",
            "mastercard",
            "cc",
            "amex",
            "discover",
            "jcb",
            "diners",
            "maestro",
            "debit",
            "cardholder",
            "payment",
        ],
        EntityType::Crypto => &[
            "wallet", "btc", "bitcoin", "crypto", "eth", "ethereum", "address",
        ],
        EntityType::DateTime => &[
            "date", "birthday", "born", "dob", "birth", "time", "on", "at", "since", "until",
        ],
        EntityType::EmailAddress => &["email", "mail", "contact", "address"],
        EntityType::IbanCode => &["iban", "bank", "transfer", "account", "swift"],
        EntityType::IpAddress => &[
            "ip", "ipv4", "ipv6", "address", "server", "host", "gateway", "subnet",
        ],
        EntityType::MacAddress => &[
            "mac", "hardware", "ethernet", "wifi", "device", "nic", "bssid",
        ],
        EntityType::PhoneNumber => &[
            "phone",
            "telephone",
            "cell",
            "cellphone",
            "mobile",
            "call",
            "tel",
            "fax",
            "whatsapp",
            "sms",
            "text",
            "reach",
            "dial",
        ],
        EntityType::Url => &["url", "link", "website", "site", "visit"],
        EntityType::UsSsn => &["ssn", "ssns", "social", "security"],
        EntityType::UsItin => &["itin", "taxpayer", "tax", "tin", "taxid"],
        EntityType::UsPassport => &["passport", "travel", "document"],
        EntityType::UsDriverLicense => &[
            "driver", "drivers", "license", "licence", "permit", "dl", "dmv",
        ],
        EntityType::UsBankNumber => &["bank", "account", "acct", "checking", "savings", "deposit"],
        EntityType::AbaRoutingNumber => &["aba", "routing", "rtn", "transit"],
        EntityType::UkNhs => &["nhs", "health", "patient", "national"],
        EntityType::UkNino => &["nino", "insurance", "ni", "national"],
        EntityType::MedicalLicense => &[
            "dea",
            "medical",
            "license",
            "licence",
            "prescriber",
            "physician",
            "registration",
        ],
        EntityType::EsNif => &["nif", "dni", "documento", "identidad", "fiscal"],
        EntityType::EsNie => &["nie", "extranjero", "foreigner", "identidad"],
        EntityType::ItFiscalCode => &["codice", "fiscale", "cf", "fiscal"],
        EntityType::PlPesel => &["pesel"],
        EntityType::FiPersonalIdentityCode => {
            &["hetu", "henkilötunnus", "henkilotunnus", "sotu", "personal"]
        }
        EntityType::Custom(_) => &[],
    }
}

/// Words that make a numeric match ambiguous (an order number, an ISBN, a
/// version): they lower the score when no supporting context is present.
pub(crate) fn negative_words(e: &EntityType) -> &'static [&'static str] {
    const NUMERIC: &[&str] = &[
        "isbn",
        "issn",
        "order",
        "invoice",
        "tracking",
        "serial",
        "sku",
        "imei",
        "ref",
        "reference",
        "ticket",
        "version",
        "build",
        "release",
        "ver",
        "confirmation",
        "receipt",
        "item",
        "part",
        "model",
        "doi",
        "unix",
        "timestamp",
        "epoch",
        "ts",
        "commit",
        "hash",
        "uuid",
    ];
    const CARD: &[&str] = &[
        "isbn",
        "issn",
        "order",
        "invoice",
        "tracking",
        "serial",
        "sku",
        "imei",
        "ref",
        "reference",
        "ticket",
        "version",
        "build",
        "release",
        "confirmation",
        "receipt",
        "unix",
        "timestamp",
        "commit",
        "account",
        "acct",
        "savings",
        "checking",
        "deposit",
        "routing",
    ];
    match e {
        EntityType::EmailAddress | EntityType::Url | EntityType::Crypto | EntityType::IbanCode => {
            &[]
        }
        EntityType::IpAddress => &["version", "ver", "release", "build", "firmware", "v", "oid"],
        // A bank account number that happens to pass Luhn with a card prefix.
        EntityType::CreditCard => CARD,
        _ => NUMERIC,
    }
}

// ---- boundary helpers ----

fn byte_before(h: &str, i: usize) -> Option<u8> {
    i.checked_sub(1).and_then(|j| h.as_bytes().get(j).copied())
}

fn byte_at(h: &str, i: usize) -> Option<u8> {
    h.as_bytes().get(i).copied()
}

/// True when the match is a piece of a longer number ("1234-5678-9" around
/// "5678", "1.2.3.4.5" around "1.2.3.4").
fn extends_number(h: &str, s: usize, e: usize) -> bool {
    let dig = |o: Option<u8>| o.is_some_and(|b| b.is_ascii_digit());
    let sep = |o: Option<u8>| o.is_some_and(|b| matches!(b, b'-' | b'.' | b'/' | b','));
    let before = byte_before(h, s);
    let after = byte_at(h, e);
    dig(before)
        || (sep(before) && dig(s.checked_sub(2).and_then(|j| byte_at(h, j))))
        || dig(after)
        || (sep(after) && dig(byte_at(h, e + 1)) && after != Some(b','))
}

fn word_char(o: Option<u8>) -> bool {
    o.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn all_same_digit(m: &str) -> bool {
    let mut d = m.bytes().filter(u8::is_ascii_digit);
    let first = d.next();
    first.is_some() && d.all(|x| Some(x) == first)
}

// ---- checks ----

fn check_card(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_card_ascii)
}

fn check_card_ascii(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let n = v::digit_count(m);
    if !(13..=19).contains(&n) || extends_number(h, s, e) || all_same_digit(m) {
        return None;
    }
    let shapes: &[&[usize]] = &[
        &[4, 4, 4, 4],
        &[4, 4, 4, 4, 3],
        &[4, 4, 4, 4, 1],
        &[4, 4, 4, 1],
        &[4, 4, 4, 2],
        &[4, 4, 4, 3],
        &[4, 6, 5],
        &[4, 6, 4],
        &[4, 4, 5],
    ];
    if !v::groups_ok(m, b" -", shapes) || !v::card_issuer_ok(m) || !v::luhn(m) {
        return None;
    }
    let separated = m.len() != n;
    Some((s, e, if separated { 1.0 } else { 0.9 }))
}

fn check_base58(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::base58check_ok(&h[s..e]).then_some((s, e, 1.0))
}

fn check_bech32(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::bech32_ok(&h[s..e]).then_some((s, e, 1.0))
}

fn check_eth(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let hex = &h[s + 2..e];
    let lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if lower && upper {
        return v::eip55_ok(hex).then_some((s, e, 1.0));
    }
    Some((s, e, 0.8))
}

fn check_iban(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_iban_ascii)
}

fn check_iban_ascii(h: &str, s: usize, _e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let bytes = h.as_bytes();
    let cc = [
        bytes[s].to_ascii_uppercase(),
        bytes[s + 1].to_ascii_uppercase(),
    ];
    let want = v::iban_length(&cc)?;
    // Walk `want` alphanumerics (single spaces or hyphens, of one kind,
    // allowed between them) and end there: the regex may have run into a
    // following word.
    let mut count = 0;
    let mut i = s;
    let mut sep: Option<u8> = None;
    while i < bytes.len() && count < want {
        match bytes[i] {
            b @ (b' ' | b'-')
                if count > 0
                    && sep.is_none_or(|x| x == b)
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) =>
            {
                sep = Some(b);
            }
            b if b.is_ascii_alphanumeric() => count += 1,
            _ => break,
        }
        i += 1;
    }
    if count != want || word_char(byte_at(h, i)) {
        return None;
    }
    let m = &h[s..i];
    // One case throughout: "de89 3704 ..." or "DE89 3704 ...".
    let letters = m.bytes().filter(u8::is_ascii_alphabetic);
    let lower = letters.clone().any(|b| b.is_ascii_lowercase());
    let upper = letters.clone().any(|b| b.is_ascii_uppercase());
    if lower && upper {
        return None;
    }
    if let Some(sep) = sep {
        // Printed form: groups of four separated by one kind of separator.
        let mut groups = m.split(char::from(sep));
        let last = groups.next_back()?;
        if !groups.all(|g| g.len() == 4) || !(1..=4).contains(&last.len()) {
            return None;
        }
    }
    let upper_copy;
    let m = if lower {
        upper_copy = m.to_ascii_uppercase();
        upper_copy.as_str()
    } else {
        m
    };
    v::iban_mod97(m).then_some((s, i, 1.0))
}

fn check_ipv4(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let (addr, cidr) = match m.split_once('/') {
        Some((a, c)) => (a, Some(c)),
        None => (m, None),
    };
    for octet in addr.split('.') {
        let n: u32 = octet.parse().ok()?;
        if n > 255 || (octet.len() > 1 && octet.starts_with('0')) {
            return None;
        }
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

fn check_ipv6(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
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

fn check_mac(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
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

/// Separators used between the digit groups of a phone number.
fn phone_separators_ok(m: &str) -> bool {
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

fn check_nanp(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
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

/// Shared check for 3-2-4 numbers (SSN, ITIN).
fn three_two_four(
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

fn check_ssn(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_ssn_ascii)
}

fn check_ssn_ascii(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    three_two_four(h, s, e, v::ssn_ok)
}

fn check_itin(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_itin_ascii)
}

fn check_itin_ascii(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    three_two_four(h, s, e, v::itin_ok)
}

/// Context-only numbers (passport, driver's license, bank account): keep the
/// pattern's low base score, reject pieces of longer numbers.
fn check_weak(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    if extends_number(h, s, e) || all_same_digit(&h[s..e]) {
        return None;
    }
    Some((s, e, b))
}

fn check_aba(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_aba_ascii)
}

fn check_aba_ascii(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e)
        || !v::groups_ok(m, b"-", &[&[4, 4, 1]])
        || !v::aba_ok(m)
        || all_same_digit(m)
    {
        return None;
    }
    Some((s, e, if m.contains('-') { 0.5 } else { 0.4 }))
}

fn check_nhs(h: &str, s: usize, e: usize, b: f64) -> Option<(usize, usize, f64)> {
    ascii_separators(h, s, e, b, check_nhs_ascii)
}

fn check_nhs_ascii(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    if extends_number(h, s, e) || !v::groups_ok(m, b" -", &[&[3, 3, 4]]) || !v::nhs_ok(m) {
        return None;
    }
    // One ten-digit number in eleven passes mod 11: unseparated ones need context.
    Some((s, e, if m.len() == 10 { 0.4 } else { 0.5 }))
}

fn check_dea(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::dea_ok(&h[s..e]).then_some((s, e, 0.85))
}

fn check_nino(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let m = &h[s..e];
    let spaces = m.bytes().filter(|&b| b == b' ').count();
    if !(spaces == 0 || spaces == 4) || !v::nino_ok(m) {
        return None;
    }
    Some((s, e, 0.85))
}

fn check_nif(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::es_nif_ok(&h[s..e]).then_some((s, e, 0.9))
}

fn check_nie(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::es_nie_ok(&h[s..e]).then_some((s, e, 0.9))
}

fn check_it_fiscal(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    v::it_fiscal_ok(&h[s..e]).then_some((s, e, 0.95))
}

fn check_pesel(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    (!extends_number(h, s, e) && v::pesel_ok(&h[s..e])).then_some((s, e, 0.4))
}

fn check_hetu(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    (!extends_number(h, s, e) && v::fi_hetu_ok(&h[s..e])).then_some((s, e, 0.9))
}

const MONTH: &str = r"(?:[Jj]an(?:uary)?|[Ff]eb(?:ruary)?|[Mm]ar(?:ch)?|[Aa]pr(?:il)?|[Mm]ay|[Jj]une?|[Jj]uly?|[Aa]ug(?:ust)?|[Ss]ep(?:t(?:ember)?)?|[Oo]ct(?:ober)?|[Nn]ov(?:ember)?|[Dd]ec(?:ember)?|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)";

/// A separator between digit groups as real text has them: space, hyphen,
/// no-break, narrow no-break, thin and figure spaces, Unicode hyphens,
/// dashes and the minus sign (`{SEP}` in the patterns). Checks see them as
/// ASCII `' '` and `'-'` (see [`ascii_separators`]).
const SEP: &str = r"[ \-\x{A0}\x{202F}\x{2009}\x{2007}\x{2010}-\x{2015}\x{2212}]";

/// The ASCII stand-in for a Unicode separator, if `c` is one.
fn ascii_separator(c: char) -> Option<char> {
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
fn ascii_separators(
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

/// Month names and abbreviations in English, German, French, Spanish,
/// Italian, Portuguese and Dutch, lower case, with their month number.
const MONTH_NAMES: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("jänner", 1),
    ("janvier", 1),
    ("janv", 1),
    ("enero", 1),
    ("ene", 1),
    ("gennaio", 1),
    ("gen", 1),
    ("janeiro", 1),
    ("januari", 1),
    ("february", 2),
    ("feb", 2),
    ("februar", 2),
    ("février", 2),
    ("fevrier", 2),
    ("févr", 2),
    ("fevr", 2),
    ("febrero", 2),
    ("febbraio", 2),
    ("fevereiro", 2),
    ("fev", 2),
    ("februari", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("maerz", 3),
    ("mär", 3),
    ("mars", 3),
    ("marzo", 3),
    ("março", 3),
    ("marco", 3),
    ("maart", 3),
    ("mrt", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("avr", 4),
    ("abril", 4),
    ("abr", 4),
    ("aprile", 4),
    ("may", 5),
    ("mai", 5),
    ("mayo", 5),
    ("maggio", 5),
    ("mag", 5),
    ("maio", 5),
    ("mei", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("juin", 6),
    ("junio", 6),
    ("giugno", 6),
    ("giu", 6),
    ("junho", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("juillet", 7),
    ("juil", 7),
    ("julio", 7),
    ("luglio", 7),
    ("lug", 7),
    ("julho", 7),
    ("august", 8),
    ("aug", 8),
    ("août", 8),
    ("aout", 8),
    ("agosto", 8),
    ("ago", 8),
    ("augustus", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("septiembre", 9),
    ("setiembre", 9),
    ("settembre", 9),
    ("set", 9),
    ("setembro", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("okt", 10),
    ("octobre", 10),
    ("octubre", 10),
    ("ottobre", 10),
    ("ott", 10),
    ("outubro", 10),
    ("out", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("novembro", 11),
    ("december", 12),
    ("dec", 12),
    ("dezember", 12),
    ("dez", 12),
    ("décembre", 12),
    ("decembre", 12),
    ("déc", 12),
    ("diciembre", 12),
    ("dic", 12),
    ("dicembre", 12),
    ("dezembro", 12),
];

/// The month a (lower- or mixed-case) word names, in any of the languages
/// of [`MONTH_NAMES`]; a trailing dot is ignored.
fn month_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_lowercase();
    MONTH_NAMES.iter().find(|(n, _)| *n == w).map(|&(_, m)| m)
}

/// `{MONTHS}`: every name of [`MONTH_NAMES`], longest first.
const MONTHS_RE: &str = "septiembre|setiembre|septembre|settembre|september|noviembre|diciembre|fevereiro|november|augustus|december|febbraio|decembre|dezember|novembre|novembro|februari|february|dicembre|dezembro|décembre|setembro|juillet|october|fevrier|octubre|octobre|january|outubro|janeiro|febrero|février|ottobre|gennaio|januari|februar|oktober|janvier|agosto|aprile|januar|giugno|jänner|august|maggio|luglio|julho|maerz|marzo|enero|julio|abril|april|março|avril|march|maart|marco|junio|junho|maio|fevr|janv|juli|aout|févr|juin|sept|june|juni|août|mayo|july|mars|juil|märz|mag|gen|out|aug|feb|lug|ago|mrt|oct|giu|nov|mai|jul|mär|ene|dec|okt|fev|set|dic|mei|dez|ott|avr|jan|déc|abr|may|apr|mar|sep|jun";

/// `{WEEKDAYS}`: weekday names and abbreviations in the same languages.
const WEEKDAYS_RE: &str = "segunda-feira|quarta-feira|quinta-feira|terça-feira|terca-feira|sexta-feira|donnerstag|wednesday|sonnabend|miércoles|miercoles|mercoledì|mercoledi|donderdag|thursday|saturday|dienstag|mittwoch|mercredi|vendredi|dimanche|domenica|woensdag|zaterdag|tuesday|freitag|samstag|sonntag|viernes|domingo|martedì|martedi|giovedì|giovedi|venerdì|venerdi|maandag|dinsdag|vrijdag|monday|friday|sunday|montag|samedi|martes|jueves|sábado|sabado|lunedì|lunedi|sabato|zondag|thurs|lundi|mardi|jeudi|lunes|tues|thur|mon|tue|wed|thu|fri|sat|sun";

/// Patterns that use the `{MONTH}` placeholder are expanded at build time.
pub(crate) fn expand(regex: &str) -> String {
    regex
        .replace("{MONTH}", MONTH)
        .replace("{SEP}", SEP)
        .replace("{MONTHS}", MONTHS_RE)
        .replace("{WEEKDAYS}", WEEKDAYS_RE)
        .replace(r"\b", r"(?-u:\b)")
        .replace(r"\d", "[0-9]")
}

macro_rules! b {
    ($e:ident, $name:literal, $re:literal, $score:literal, $check:ident) => {
        b!($e, $name, $re, $score, $check, "")
    };
    ($e:ident, $name:literal, $re:literal, $score:literal, $check:ident, $locate:expr) => {
        Builtin {
            entity: EntityType::$e,
            name: $name,
            regex: $re,
            score: $score,
            check: $check,
            locate: $locate,
        }
    };
}

/// Locator for every IPv6 form: a hex group and a colon at a word start, or `::`.
/// (A match not at an ASCII word boundary is rejected by `check_ipv6` anyway.)
macro_rules! ipv6_locate {
    () => {
        r"\b[0-9A-Fa-f]{1,4}:[0-9A-Fa-f:]|::[0-9A-Fa-f]"
    };
}

/// Every built-in pattern, in tie-break order.
pub(crate) const BUILTINS: &[Builtin] = &[
    b!(
        CreditCard,
        "credit-card",
        r"\b\d(?:{SEP}?\d){12,18}\b",
        0.3,
        check_card
    ),
    b!(
        Crypto,
        "btc-base58",
        r"\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b",
        0.5,
        check_base58
    ),
    b!(
        Crypto,
        "btc-bech32",
        r"\b(?:bc1|BC1|tb1|TB1)[02-9ac-hj-np-zAC-HJ-NP-Z]{11,87}\b",
        0.5,
        check_bech32
    ),
    b!(Crypto, "eth", r"\b0x[0-9a-fA-F]{40}\b", 0.5, check_eth),
    b!(
        IbanCode,
        "iban",
        r"\b[A-Za-z]{2}\d{2}(?:{SEP}?[A-Za-z0-9]){11,32}\b",
        0.5,
        check_iban
    ),
    b!(
        UsSsn,
        "us-ssn",
        r"\b\d{3}(?:{SEP}|\.)?\d{2}(?:{SEP}|\.)?\d{4}\b",
        0.5,
        check_ssn
    ),
    b!(
        UsItin,
        "us-itin",
        r"\b9\d{2}{SEP}?(?:5\d|6[0-5]|7\d|8[0-8]|9[0-24-9]){SEP}?\d{4}\b",
        0.5,
        check_itin
    ),
    b!(
        UkNhs,
        "uk-nhs",
        r"\b\d{3}{SEP}?\d{3}{SEP}?\d{4}\b",
        0.5,
        check_nhs
    ),
    b!(
        UkNino,
        "uk-nino",
        r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
        0.5,
        check_nino
    ),
    b!(
        MedicalLicense,
        "dea",
        r"\b[ABCDEFGHJKLMPRSTUX][A-Z9]\d{7}\b",
        0.4,
        check_dea
    ),
    b!(EsNif, "es-nif", r"\b\d{8}-?[A-Z]\b", 0.5, check_nif),
    b!(EsNie, "es-nie", r"\b[XYZ]-?\d{7}-?[A-Z]\b", 0.5, check_nie),
    b!(
        ItFiscalCode,
        "it-fiscal-code",
        r"\b[A-Z]{6}\d{2}[ABCDEHLMPRST]\d{2}[A-Z]\d{3}[A-Z]\b",
        0.5,
        check_it_fiscal
    ),
    b!(PlPesel, "pl-pesel", r"\b\d{11}\b", 0.3, check_pesel),
    b!(
        FiPersonalIdentityCode,
        "fi-hetu",
        r"\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b",
        0.5,
        check_hetu
    ),
    b!(
        EmailAddress,
        "email",
        r"[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+(?:\p{L}{2,}|xn--[a-z0-9-]+)",
        0.5,
        check_email,
        // The locator looks for the `@` only: an unbounded local part in the
        // locator would keep its DFA alive across long dotted runs
        // ("1.1.1.1...") and make the scan quadratic, and Unicode classes
        // there would slow the DFA on every word. Windows reach back
        // `LOOKBACK` bytes, enough for the longest valid local part.
        r"@"
    ),
    b!(
        Url,
        "url",
        r#"(?:\b(?:[Hh][Tt][Tt][Pp][Ss]?|[Ff][Tt][Pp])://|\b[Ww][Ww][Ww]\.)[^\s<>"'`]+"#,
        0.5,
        check_url
    ),
    b!(
        IpAddress,
        "ipv4",
        r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?\b",
        0.5,
        check_ipv4
    ),
    b!(
        IpAddress,
        "ipv6-full",
        r"(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}",
        0.5,
        check_ipv6,
        ipv6_locate!()
    ),
    b!(
        IpAddress,
        "ipv6-compressed",
        r"(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?",
        0.5,
        check_ipv6,
        ipv6_locate!()
    ),
    b!(
        IpAddress,
        "ipv6-ipv4",
        r"(?:(?:[0-9A-Fa-f]{1,4}:){6}|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,4})?::(?:[0-9A-Fa-f]{1,4}:){0,4})\d{1,3}(?:\.\d{1,3}){3}",
        0.5,
        check_ipv6,
        ipv6_locate!()
    ),
    b!(
        MacAddress,
        "mac",
        r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}",
        0.5,
        check_mac,
        r"\b[0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-]|\b[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\."
    ),
    b!(
        PhoneNumber,
        "phone-nanp",
        r"(?:\+1[ .-]?|\b1[ .-])?(?:\(\d{3}\) ?|\b\d{3}[ .-]?)\d{3}[ .-]?\d{4}\b",
        0.4,
        check_nanp
    ),
    b!(
        PhoneNumber,
        "phone",
        r"(?:\+ ?|\(\+?|\b)\d(?:[ \-.()\x{A0}\x{202F}\x{2009}\x{2007}\x{2010}-\x{2015}\x{2212}]{1,3}\d|\d){5,17}(?:,? ?(?:[Ee]xt(?:ension)?\.?|x|#) ?\d{1,6}\b)?",
        0.4,
        check_phone,
        // Six digits in the shapes the pattern allows, or a number with a
        // Unicode separator: a cheap superset for the locator.
        r"(?:\+ ?|\(\+?|\b)\d(?:[ \-.()]{0,2}\d){5}|\b\d{1,4}[\x{A0}\x{202F}\x{2009}\x{2007}\x{2010}-\x{2015}\x{2212}]\d"
    ),
    b!(
        DateTime,
        "date-iso",
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z\b|[+-]\d{2}:?\d{2}\b)?)?|\b\d{4}/\d{1,2}/\d{1,2}\b|\b\d{4}\.\d{1,2}\.\d{1,2}\b",
        0.5,
        check_date_iso
    ),
    b!(
        DateTime,
        "date-numeric",
        r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b",
        0.5,
        check_date_numeric
    ),
    b!(
        DateTime,
        "date-text",
        r"\b{MONTH}\.? \d{1,2}(?:st|nd|rd|th)?(?:,? \d{4})?\b|\b\d{1,2}(?:st|nd|rd|th)? (?:of )?{MONTH}\.?(?:,? \d{4})?\b|\b{MONTH}\.?,? \d{4}\b|\b\d{1,2}-{MONTH}-\d{2,4}\b",
        0.5,
        check_date_text
    ),
    b!(
        DateTime,
        "date-words",
        r"(?i:(?:\b(?:{WEEKDAYS})\.?,? )?(?:\b\d{1,2}(?:st|nd|rd|th|er|\.|º)? (?:(?:of|de) )?(?:{MONTHS})\.?(?:,? (?:de )?\d{4}\b)?|\b(?:{MONTHS})\.? \d{1,2}(?:st|nd|rd|th)?\b(?: ?[-–] ?\d{1,2}\b)?(?:,? \d{4}\b)?|\b(?:{MONTHS})\.?,? (?:de )?\d{4}\b))",
        0.5,
        check_date_words,
        // A month name next to a number, or a weekday before one.
        r"(?i:\b(?:{MONTHS})\.?,? (?:de )?\d|\b\d{1,2}(?:st|nd|rd|th|er|\.|º)? (?:(?:of|de) )?(?:{MONTHS})|\b(?:{WEEKDAYS})\.?,? \d)"
    ),
    b!(
        DateTime,
        "date-compact",
        r"\b(?:1[89]|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\b",
        0.5,
        check_date_compact
    ),
    b!(
        DateTime,
        "time-words",
        r"(?i:\b(?:noon|midnight|midday)\b|\b\d{1,2}(?::\d{2})? ?[ap]\.?m\b\.?)",
        0.5,
        check_time_words
    ),
    b!(
        DateTime,
        "time",
        r"\b\d{1,2}:\d{2}(?::\d{2})?(?: ?[AaPp]\.?[Mm]\.?)?",
        0.4,
        check_time
    ),
    b!(
        AbaRoutingNumber,
        "aba-routing",
        r"\b[0-36-8]\d{3}-?\d{4}-?\d\b",
        0.3,
        check_aba
    ),
    b!(
        UsPassport,
        "us-passport",
        r"\b\d{9}\b|\b[A-Z]\d{8}\b",
        0.1,
        check_weak
    ),
    b!(
        UsDriverLicense,
        "us-driver-license",
        r"\b(?:[A-Z]{1,2}\d{4,14}|\d{2}[A-Z]{3}\d{5,6}|\d{7,9}[A-Z]{1,2}|[A-Z]\d{3}-\d{4}-\d{4}|[A-Z]\d{3}-\d{3}-\d{2}-\d{3}-\d|[A-Z]\d{4} \d{5} \d{5}|\d{3}-\d{3}-\d{3}|\d{2}-\d{3}-\d{4}|WDL[A-Z0-9]{9})\b",
        0.3,
        check_weak
    ),
    b!(
        UsDriverLicense,
        "us-driver-license-digits",
        r"\b\d{7,12}\b",
        0.05,
        check_weak
    ),
    b!(
        UsBankNumber,
        "us-bank-number",
        r"\b\d{8,17}\b",
        0.05,
        check_weak
    ),
];
