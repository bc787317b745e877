//! The built-in recognizers: patterns, validators, scores and context words.
//!
//! Patterns are written with `\b` and `\d` for readability; before compiling,
//! `\b` becomes the ASCII word boundary `(?-u:\b)` (the Unicode one defeats
//! the lazy DFA as soon as the text holds a non-ASCII byte) and `\d` becomes
//! `[0-9]` (validators work on ASCII digits).

use crate::EntityType;

mod apac;
mod common;
mod dates;
mod eu;
mod network;
mod payment;
mod phones;
mod uk;
mod us;
mod web;

use crate::data::{MONTH, MONTHS_RE, SEP, WEEKDAYS_RE};
use common::check_weak;
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
    ($e:ident, $name:literal, $re:literal, $score:literal, $check:path) => {
        b!($e, $name, $re, $score, $check, "")
    };
    ($e:ident, $name:literal, $re:literal, $score:literal, $check:path, $locate:expr) => {
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

/// Locator for every IPv6 form: seven groups (the full form), six groups
/// and a digit (IPv4-mapped), or `::` (compressed forms), starting at a
/// word start or at the `::`. Six hex pairs with colons (a MAC address)
/// match none of these. (A match not at an ASCII word boundary is rejected
/// by `check_ipv6` anyway.)
macro_rules! ipv6_locate {
    () => {
        r"\b(?:[0-9A-Fa-f]{1,4}:){6}[0-9A-Fa-f]|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:|::[0-9A-Fa-f]"
    };
}

/// Every built-in pattern, in tie-break order.
pub(crate) const BUILTINS: &[Builtin] = &[
    b!(
        CreditCard,
        "credit-card",
        r"\b\d(?:{SEP}?\d){12,18}\b",
        0.3,
        payment::check_card
    ),
    b!(
        Crypto,
        "btc-base58",
        r"\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b",
        0.5,
        payment::check_base58
    ),
    b!(
        Crypto,
        "btc-bech32",
        r"\b(?:bc1|BC1|tb1|TB1)[02-9ac-hj-np-zAC-HJ-NP-Z]{11,87}\b",
        0.5,
        payment::check_bech32
    ),
    b!(
        Crypto,
        "eth",
        r"\b0x[0-9a-fA-F]{40}\b",
        0.5,
        payment::check_eth
    ),
    b!(
        IbanCode,
        "iban",
        r"\b[A-Za-z]{2}\d{2}(?:{SEP}?[A-Za-z0-9]){11,32}\b",
        0.5,
        payment::check_iban
    ),
    b!(
        UsSsn,
        "us-ssn",
        r"\b\d{3}(?:{SEP}|\.)?\d{2}(?:{SEP}|\.)?\d{4}\b",
        0.5,
        us::check_ssn
    ),
    b!(
        UsItin,
        "us-itin",
        r"\b9\d{2}{SEP}?(?:5\d|6[0-5]|7\d|8[0-8]|9[0-24-9]){SEP}?\d{4}\b",
        0.5,
        us::check_itin
    ),
    b!(
        UkNhs,
        "uk-nhs",
        r"\b\d{3}{SEP}?\d{3}{SEP}?\d{4}\b",
        0.5,
        uk::check_nhs
    ),
    b!(
        UkNino,
        "uk-nino",
        r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
        0.5,
        uk::check_nino
    ),
    b!(
        MedicalLicense,
        "dea",
        r"\b[ABCDEFGHJKLMPRSTUX][A-Z9]\d{7}\b",
        0.4,
        us::check_dea
    ),
    b!(EsNif, "es-nif", r"\b\d{8}-?[A-Z]\b", 0.5, eu::check_nif),
    b!(
        EsNie,
        "es-nie",
        r"\b[XYZ]-?\d{7}-?[A-Z]\b",
        0.5,
        eu::check_nie
    ),
    b!(
        ItFiscalCode,
        "it-fiscal-code",
        r"\b[A-Z]{6}\d{2}[ABCDEHLMPRST]\d{2}[A-Z]\d{3}[A-Z]\b",
        0.5,
        eu::check_it_fiscal
    ),
    b!(PlPesel, "pl-pesel", r"\b\d{11}\b", 0.4, eu::check_pesel),
    b!(
        FiPersonalIdentityCode,
        "fi-hetu",
        r"\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b",
        0.5,
        eu::check_hetu
    ),
    b!(
        NlBsn,
        "nl-bsn",
        r"\b\d{9}\b|\b\d{4}\.\d{2}\.\d{3}\b",
        0.3,
        eu::check_nl_bsn
    ),
    b!(
        DeTaxId,
        "de-tax-id",
        r"\b[1-9]\d(?: \d{3}){3}\b|\b[1-9]\d{10}\b",
        0.4,
        eu::check_de_tax_id
    ),
    b!(
        DeIdCard,
        "de-id-card",
        r"\b[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{8}\d\b",
        0.3,
        eu::check_de_id_card
    ),
    b!(
        FrNir,
        "fr-nir",
        r"\b[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b",
        0.6,
        eu::check_fr_nir
    ),
    b!(
        SePersonnummer,
        "se-personnummer",
        r"\b(?:\d{2})?\d{6}[-+]\d{4}\b",
        0.8,
        eu::check_se_personnummer
    ),
    b!(
        SePersonnummer,
        "se-personnummer-digits",
        r"\b(?:\d{2})?\d{10}\b",
        0.3,
        eu::check_se_personnummer
    ),
    b!(
        BeNationalNumber,
        "be-national-number",
        r"\b\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}\b|\b\d{2} \d{2} \d{2} \d{3} \d{2}\b",
        0.85,
        eu::check_be_national_number
    ),
    b!(
        BeNationalNumber,
        "be-national-number-digits",
        r"\b\d{11}\b",
        0.3,
        eu::check_be_national_number
    ),
    b!(
        InAadhaar,
        "in-aadhaar",
        r"\b[2-9]\d{3}(?:[ -]?\d{4}){2}\b",
        0.3,
        apac::check_in_aadhaar
    ),
    b!(
        InPan,
        "in-pan",
        r"\b[A-Z]{3}[ABCFGHJLPT][A-Z]\d{4}[A-Z]\b",
        0.6,
        apac::check_in_pan
    ),
    b!(
        AuTfn,
        "au-tfn",
        r"\b\d{3} ?\d{3} ?\d{2,3}\b",
        0.3,
        apac::check_au_tfn
    ),
    b!(
        AuAbn,
        "au-abn",
        r"\b\d{2} \d{3} \d{3} \d{3}\b",
        0.5,
        apac::check_au_abn
    ),
    b!(
        AuAbn,
        "au-abn-digits",
        r"\b\d{11}\b",
        0.3,
        apac::check_au_abn
    ),
    b!(
        AuAcn,
        "au-acn",
        r"\b\d{3} ?\d{3} ?\d{3}\b",
        0.3,
        apac::check_au_acn
    ),
    b!(
        AuMedicare,
        "au-medicare",
        r"\b[2-6]\d{3} \d{5} \d\b",
        0.5,
        apac::check_au_medicare
    ),
    b!(
        AuMedicare,
        "au-medicare-digits",
        r"\b[2-6]\d{9}\b",
        0.3,
        apac::check_au_medicare
    ),
    b!(
        SgNricFin,
        "sg-nric-fin",
        r"\b[STFG]\d{7}[A-Z]\b",
        0.75,
        apac::check_sg_nric
    ),
    b!(
        KrRrn,
        "kr-rrn",
        r"\b\d{6}-\d{7}\b",
        0.85,
        apac::check_kr_rrn
    ),
    b!(
        KrRrn,
        "kr-rrn-digits",
        r"\b\d{13}\b",
        0.3,
        apac::check_kr_rrn
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
        network::check_ipv4
    ),
    b!(
        IpAddress,
        "ipv6-full",
        r"(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}",
        0.5,
        network::check_ipv6,
        ipv6_locate!()
    ),
    b!(
        IpAddress,
        "ipv6-compressed",
        r"(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?",
        0.5,
        network::check_ipv6,
        ipv6_locate!()
    ),
    b!(
        IpAddress,
        "ipv6-ipv4",
        r"(?:(?:[0-9A-Fa-f]{1,4}:){6}|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,4})?::(?:[0-9A-Fa-f]{1,4}:){0,4})\d{1,3}(?:\.\d{1,3}){3}",
        0.5,
        network::check_ipv6,
        ipv6_locate!()
    ),
    b!(
        MacAddress,
        "mac",
        r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}",
        0.5,
        network::check_mac,
        r"\b[0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-]|\b[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\."
    ),
    b!(
        PhoneNumber,
        "phone-nanp",
        r"(?:\+1[ .-]?|\b1[ .-])?(?:\(\d{3}\) ?|\b\d{3}[ .-]?)\d{3}[ .-]?\d{4}\b",
        0.4,
        phones::check_nanp
    ),
    b!(
        PhoneNumber,
        "phone",
        r"(?:\+ ?|\(\+?|\b)\d(?:[ \-.()\x{A0}\x{202F}\x{2009}\x{2007}\x{2010}-\x{2015}\x{2212}]{1,3}\d|\d){5,17}(?:,? ?(?:[Ee]xt(?:ension)?\.?|x|#) ?\d{1,6}\b)?",
        0.4,
        phones::check_phone,
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
        payment::check_aba
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use regex_automata::meta::Regex;

    /// The scanner skips a context-only recognizer where none of its
    /// supporting words is near, which is right only if its check never
    /// scores a match above the pattern's own score (under the default
    /// minimum).
    #[test]
    fn context_only_recognizers_never_score_above_their_pattern() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"01234567890123456789012345678901234567890123456789012345678901234567890123456789 -.ABCDEFGHJKLMNPRTVWXYZ";
        let text: String = (0..400_000)
            .map(|_| char::from(alphabet[usize::try_from(next()).unwrap() % alphabet.len()]))
            .collect();
        let mut checked = 0;
        for b in BUILTINS {
            if !crate::data::CONTEXT_ONLY.contains(&b.name) {
                continue;
            }
            assert!(b.score < crate::DEFAULT_MIN_SCORE, "{}", b.name);
            let re = Regex::new(&expand(b.regex)).unwrap();
            for m in re.find_iter(&text) {
                if let Some((_, _, score)) = (b.check)(&text, m.start(), m.end(), b.score) {
                    assert!(score <= b.score, "{}: {score}", b.name);
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "{checked}");
        // Every listed name is a built-in.
        for name in crate::data::CONTEXT_ONLY {
            assert!(BUILTINS.iter().any(|b| b.name == *name), "{name}");
        }
    }
}
