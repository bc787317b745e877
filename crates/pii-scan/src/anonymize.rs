//! Anonymizing operators: replace each finding's text.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{EncryptKey, EntityType, Error, Finding};

/// A secret key for [`Operator::Hash`]: zeroized on drop, never printed.
/// Cloning shares the one copy of the key bytes (it does not duplicate them).
#[derive(Clone)]
pub struct HashKey(Arc<Zeroizing<Vec<u8>>>);

impl HashKey {
    /// Shortest accepted key, in bytes.
    pub const MIN_LEN: usize = 16;

    /// Wraps key bytes (at least [`HashKey::MIN_LEN`] of them).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when the key is shorter.
    pub fn new(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() < Self::MIN_LEN {
            return Err(Error::InvalidOption {
                option: "hash key",
                reason: format!("must be at least {} bytes", Self::MIN_LEN),
            });
        }
        Ok(HashKey(Arc::new(Zeroizing::new(bytes.to_vec()))))
    }

    fn token(&self, value: &str) -> String {
        #[allow(clippy::expect_used, reason = "HMAC accepts keys of any length")]
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_slice())
            .expect("HMAC takes any key length");
        mac.update(value.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut out = String::with_capacity(64);
        for b in tag {
            out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
        }
        out
    }
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashKey").finish_non_exhaustive()
    }
}

/// The form of a value that is hashed: one written form per value, so that
/// `536-90-4399` and `536 90 4399` (or `DE89 3704 ...` and `de89370...`)
/// give one token. Identifiers keep their letters and digits (upper case);
/// phone numbers their digits (and a leading `+`); e-mail addresses are
/// lower-cased; MAC addresses keep their hex digits (lower case); other
/// entities (dates, URLs, IP and crypto addresses, custom ones) are hashed
/// as written.
fn normalize<'v>(entity: &EntityType, value: &'v str) -> Cow<'v, str> {
    match entity {
        EntityType::CreditCard
        | EntityType::IbanCode
        | EntityType::UsSsn
        | EntityType::UsItin
        | EntityType::UkNhs
        | EntityType::UkNino
        | EntityType::MedicalLicense
        | EntityType::EsNif
        | EntityType::EsNie
        | EntityType::ItFiscalCode
        | EntityType::PlPesel
        | EntityType::FiPersonalIdentityCode
        | EntityType::NlBsn
        | EntityType::DeTaxId
        | EntityType::DeIdCard
        | EntityType::FrNir
        | EntityType::SePersonnummer
        | EntityType::BeNationalNumber
        | EntityType::InAadhaar
        | EntityType::InPan
        | EntityType::AuTfn
        | EntityType::AuAbn
        | EntityType::AuAcn
        | EntityType::AuMedicare
        | EntityType::SgNricFin
        | EntityType::KrRrn
        | EntityType::AbaRoutingNumber
        | EntityType::UsPassport
        | EntityType::UsDriverLicense
        | EntityType::UsBankNumber => Cow::Owned(
            value
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        ),
        EntityType::PhoneNumber => {
            let plus = value.trim_start().starts_with('+');
            Cow::Owned(
                plus.then_some('+')
                    .into_iter()
                    .chain(value.chars().filter(char::is_ascii_digit))
                    .collect(),
            )
        }
        EntityType::MacAddress => Cow::Owned(
            value
                .chars()
                .filter(char::is_ascii_hexdigit)
                .map(|c| c.to_ascii_lowercase())
                .collect(),
        ),
        EntityType::EmailAddress => Cow::Owned(value.to_lowercase()),
        _ => Cow::Borrowed(value),
    }
}

/// A caller-supplied replacement: gets the finding and its text, returns the replacement.
pub type CustomFn = Arc<dyn Fn(&Finding, &str) -> String + Send + Sync>;

/// What to put in place of a finding.
#[derive(Clone)]
#[non_exhaustive]
pub enum Operator {
    /// Remove the text.
    Redact,
    /// Replace with `<ENTITY_TYPE>`.
    Replace,
    /// Replace with a fixed string.
    ReplaceWith(String),
    /// Replace every character but the last `keep_last` with `mask_char`.
    /// At most half of the characters (rounded down) are kept, so a value
    /// never survives whole.
    Mask {
        /// Characters left visible at the end.
        keep_last: usize,
        /// The masking character.
        mask_char: char,
    },
    /// Replace with `<ENTITY_TYPE:hex>` where hex is HMAC-SHA256 of the
    /// value under the key: equal values give equal tokens, and the value
    /// cannot be recovered without the key (a short value can be guessed by
    /// whoever holds the key).
    Hash(HashKey),
    /// Replace with `<ENTITY_TYPE:enc1:B64>`: the value sealed with
    /// XChaCha20-Poly1305 under the key, a random nonce from the OS
    /// generator, and the entity type bound as associated data (Presidio's
    /// `encrypt`). Reversible with [`EncryptKey::decrypt`] or
    /// [`EncryptKey::decrypt_text`] by whoever holds the key; equal values
    /// give different tokens. The token's length tells the value's length.
    Encrypt(EncryptKey),
    /// Call a function.
    Custom(CustomFn),
    /// Leave the value as it is (Presidio's `keep`): for entities that are
    /// to be found and reported but not changed.
    Keep,
}

impl fmt::Debug for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operator::Redact => f.write_str("Redact"),
            Operator::Replace => f.write_str("Replace"),
            Operator::ReplaceWith(s) => f.debug_tuple("ReplaceWith").field(s).finish(),
            Operator::Mask {
                keep_last,
                mask_char,
            } => f
                .debug_struct("Mask")
                .field("keep_last", keep_last)
                .field("mask_char", mask_char)
                .finish(),
            Operator::Hash(k) => f.debug_tuple("Hash").field(k).finish(),
            Operator::Encrypt(k) => f.debug_tuple("Encrypt").field(k).finish(),
            Operator::Custom(_) => f.write_str("Custom(..)"),
            Operator::Keep => f.write_str("Keep"),
        }
    }
}

impl Operator {
    fn apply(&self, finding: &Finding, value: &str, out: &mut String) -> Result<(), Error> {
        match self {
            Operator::Redact => {}
            Operator::Replace => {
                out.push('<');
                out.push_str(finding.entity_type.as_str());
                out.push('>');
            }
            Operator::ReplaceWith(s) => out.push_str(s),
            Operator::Mask {
                keep_last,
                mask_char,
            } => {
                let n = value.chars().count();
                let keep = (*keep_last).min(n / 2);
                for (i, c) in value.chars().enumerate() {
                    out.push(if i + keep < n { *mask_char } else { c });
                }
            }
            Operator::Hash(key) => {
                out.push('<');
                out.push_str(finding.entity_type.as_str());
                out.push(':');
                out.push_str(&key.token(&normalize(&finding.entity_type, value)));
                out.push('>');
            }
            Operator::Encrypt(key) => out.push_str(&key.token(&finding.entity_type, value)?),
            Operator::Custom(f) => out.push_str(&f(finding, value)),
            Operator::Keep => out.push_str(value),
        }
        Ok(())
    }
}

/// Applies operators to a text's findings.
///
/// ```
/// use pii_scan::{Anonymizer, EntityType, Operator, Scanner};
/// let text = "mail ann@example.org, card 4111-1111-1111-1111";
/// let findings = Scanner::new().scan(text);
/// let out = Anonymizer::new(Operator::Replace)
///     .with(EntityType::CreditCard, Operator::Mask { keep_last: 4, mask_char: '*' })
///     .anonymize(text, &findings)?;
/// assert_eq!(out, "mail <EMAIL_ADDRESS>, card ***************1111");
/// # Ok::<(), pii_scan::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Anonymizer {
    default: Operator,
    per_entity: HashMap<EntityType, Operator>,
}

impl Anonymizer {
    /// Uses `default` for every entity without its own operator.
    #[must_use]
    pub fn new(default: Operator) -> Self {
        Anonymizer {
            default,
            per_entity: HashMap::new(),
        }
    }

    /// Uses `op` for `entity`.
    #[must_use]
    pub fn with(mut self, entity: EntityType, op: Operator) -> Self {
        self.per_entity.insert(entity, op);
        self
    }

    /// Returns `text` with every finding replaced. Findings may come in any
    /// order; overlapping ones are merged (the earlier one's entity names the
    /// merged span), so no part of any finding survives. Every other verbatim
    /// occurrence of a found value is replaced too, so a copy the scanner did
    /// not report (glued to a word, say) does not leak the value.
    ///
    /// Text that an operator inserted is never searched again, and the
    /// result never holds a finding's text: when an operator's replacement
    /// contains a found value (`Replace` for a deny-list entity named like
    /// its value, a custom function returning its input, a mask character
    /// that spells the value), the call fails rather than leak it.
    ///
    /// # Errors
    /// [`Error::InvalidSpan`] when a finding lies outside `text` or splits a
    /// character; [`Error::LeakingReplacement`] when the output would still
    /// contain a found value; [`Error::Random`] when [`Operator::Encrypt`]
    /// cannot get a nonce.
    pub fn anonymize(&self, text: &str, findings: &[Finding]) -> Result<String, Error> {
        for f in findings {
            if f.start > f.end || f.text(text).is_none() {
                return Err(Error::InvalidSpan {
                    start: f.start,
                    end: f.end,
                });
            }
        }
        // Kept entities are left alone: not replaced, not searched for.
        let kept = |e: &EntityType| {
            matches!(
                self.per_entity.get(e).unwrap_or(&self.default),
                Operator::Keep
            )
        };
        let findings: Vec<Finding> = findings
            .iter()
            .filter(|f| !kept(&f.entity_type))
            .cloned()
            .collect();
        let findings = findings.as_slice();
        let mut values: Vec<(&str, &EntityType)> = findings
            .iter()
            .filter_map(|f| Some((f.text(text)?, &f.entity_type)))
            .filter(|(v, _)| !v.is_empty())
            .collect();
        values.sort_unstable_by_key(|(v, _)| *v);
        values.dedup_by_key(|(v, _)| *v);
        // Round 0 replaces the findings and every verbatim copy of a found
        // value. `tokens` are the byte ranges of `out` that operators inserted.
        let (mut out, mut tokens) = self.replace(text, findings.to_vec(), &values, &[])?;
        // Removing a span joins its neighbours, which can spell a found value
        // again ("5::5::16" less "5::1" is "5::6"): repeat on what is left of
        // the original text. Inserted tokens are never rescanned, so a token
        // that contains a value cannot feed on itself; every round removes at
        // least one original byte, and the rounds are capped.
        let leaked = |out: &str| {
            values
                .iter()
                .find(|(v, _)| memchr::memmem::find(out.as_bytes(), v.as_bytes()).is_some())
                .map(|(_, entity)| Error::LeakingReplacement {
                    entity: entity.to_string(),
                })
        };
        for _ in 0..MAX_ROUNDS {
            if leaked(&out).is_none() {
                return Ok(out);
            }
            let (next, next_tokens) = self.replace(&out, Vec::new(), &values, &tokens)?;
            if next == out {
                // Only values inside or across inserted tokens are left.
                break;
            }
            out = next;
            tokens = next_tokens;
        }
        // Whatever is left (a value inside or across an inserted token, or a
        // redaction chain longer than the cap) must not be returned.
        match leaked(&out) {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Replaces `spans` and every occurrence of `values` in `text` that does
    /// not overlap a range of `keep` (sorted, disjoint, non-empty: tokens
    /// inserted earlier). Returns the new text and the ranges of it that are
    /// inserted tokens (those of `keep`, shifted, and the new ones).
    fn replace(
        &self,
        text: &str,
        mut spans: Vec<Finding>,
        values: &[(&str, &EntityType)],
        keep: &[Range<usize>],
    ) -> Result<(String, Vec<Range<usize>>), Error> {
        // A value found once is replaced wherever else it occurs verbatim
        // (an undetected copy would otherwise leak it).
        for (value, entity) in values {
            for at in memchr::memmem::find_iter(text.as_bytes(), value.as_bytes()) {
                let end = at + value.len();
                if keep.iter().any(|r| at < r.end && r.start < end) {
                    continue;
                }
                spans.push(Finding::new((*entity).clone(), at, end, 1.0));
            }
        }
        spans.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        spans.dedup_by_key(|f| (f.start, f.end));
        // (span, whether several findings were merged into it)
        let mut merged: Vec<(Finding, bool)> = Vec::with_capacity(spans.len());
        for f in spans {
            match merged.last_mut() {
                Some((last, joined)) if f.start < last.end => {
                    last.end = last.end.max(f.end);
                    *joined = true;
                }
                _ => merged.push((f, false)),
            }
        }
        // Left to right, carrying the kept token ranges (which lie between
        // the replaced spans) over to their new offsets.
        let mut out = String::with_capacity(text.len());
        let mut tokens = Vec::with_capacity(keep.len() + merged.len());
        let mut kept = keep.iter().peekable();
        let mut copied = 0;
        for (f, joined) in &merged {
            while let Some(r) = kept.next_if(|r| r.end <= f.start) {
                let shift = out.len() + r.start - copied;
                tokens.push(shift..shift + r.len());
            }
            out.push_str(&text[copied..f.start]);
            let value = &text[f.start..f.end];
            let op = self.per_entity.get(&f.entity_type).unwrap_or(&self.default);
            let at = out.len();
            match op {
                // The tail of a merged span may be a whole other finding:
                // mask all of it.
                Operator::Mask { mask_char, .. } if *joined => {
                    Operator::Mask {
                        keep_last: 0,
                        mask_char: *mask_char,
                    }
                    .apply(f, value, &mut out)?;
                }
                _ => op.apply(f, value, &mut out)?,
            }
            if out.len() > at {
                tokens.push(at..out.len());
            }
            copied = f.end;
        }
        for r in kept {
            let shift = out.len() + r.start - copied;
            tokens.push(shift..shift + r.len());
        }
        out.push_str(&text[copied..]);
        Ok((out, tokens))
    }
}

/// Most rounds of re-replacing values that removals joined together.
const MAX_ROUNDS: usize = 64;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn f(e: EntityType, s: usize, t: usize) -> Finding {
        Finding::new(e, s, t, 1.0)
    }

    #[test]
    fn operators() {
        let text = "a 4111111111111111 b";
        let card = [f(EntityType::CreditCard, 2, 18)];
        assert_eq!(
            Anonymizer::new(Operator::Redact)
                .anonymize(text, &card)
                .unwrap(),
            "a  b"
        );
        assert_eq!(
            Anonymizer::new(Operator::Replace)
                .anonymize(text, &card)
                .unwrap(),
            "a <CREDIT_CARD> b"
        );
        let mask = Operator::Mask {
            keep_last: 4,
            mask_char: '#',
        };
        assert_eq!(
            Anonymizer::new(mask).anonymize(text, &card).unwrap(),
            "a ############1111 b"
        );
        let mask_all = Operator::Mask {
            keep_last: 100,
            mask_char: '*',
        };
        assert_eq!(
            Anonymizer::new(mask_all)
                .anonymize("ab", &[f(EntityType::UsSsn, 0, 2)])
                .unwrap(),
            "*b"
        );
        let custom: CustomFn = Arc::new(|f, v| format!("[{} chars of {}]", v.len(), f.entity_type));
        assert_eq!(
            Anonymizer::new(Operator::Custom(custom))
                .anonymize(text, &card)
                .unwrap(),
            "a [16 chars of CREDIT_CARD] b"
        );
    }

    #[test]
    fn redaction_that_spells_a_value_again_is_repeated() {
        // Found by the fuzz target: removing "5::1" from "5::5::16" leaves "5::6".
        let text = "(5::1) 5::6 5::5::16";
        let fs = [
            f(EntityType::IpAddress, 1, 5),
            f(EntityType::IpAddress, 7, 11),
        ];
        let out = Anonymizer::new(Operator::Redact)
            .anonymize(text, &fs)
            .unwrap();
        assert!(!out.contains("5::1") && !out.contains("5::6"), "{out}");
    }

    #[test]
    fn replacement_holding_a_value_is_an_error_not_a_loop() {
        // A deny-list entity named like its value: `<BLUEBIRD>` holds "BLUEBIRD".
        let scanner = crate::Scanner::builder()
            .entities([EntityType::custom("BLUEBIRD").unwrap()])
            .deny(EntityType::custom("BLUEBIRD").unwrap(), ["BLUEBIRD"])
            .build()
            .unwrap();
        let text = "code BLUEBIRD today";
        let found = scanner.scan(text);
        assert_eq!(found.len(), 1);
        let r = Anonymizer::new(Operator::Replace).anonymize(text, &found);
        assert!(
            matches!(&r, Err(Error::LeakingReplacement { entity }) if entity == "BLUEBIRD"),
            "{r:?}"
        );
        // A token holding the value twice must not grow (2^64 copies before).
        let twice: CustomFn = Arc::new(|_, v| format!("{v}{v}"));
        let r = Anonymizer::new(Operator::Custom(twice)).anonymize(text, &found);
        assert!(matches!(r, Err(Error::LeakingReplacement { .. })));
        // A mask character that spells the value.
        let r = Anonymizer::new(Operator::Mask {
            keep_last: 0,
            mask_char: '*',
        })
        .anonymize("a ** b", &[f(EntityType::UsSsn, 2, 4)]);
        assert!(matches!(r, Err(Error::LeakingReplacement { .. })));
        // The message names the entity, never the value.
        let msg = Error::LeakingReplacement {
            entity: "US_SSN".into(),
        }
        .to_string();
        assert!(msg.contains("US_SSN"));
    }

    #[test]
    fn inserted_tokens_are_not_rescanned() {
        // Redacting "ab" from "aabb" joins "ab" again: replaced (original bytes).
        let out = Anonymizer::new(Operator::Redact)
            .anonymize("aabb", &[f(EntityType::UsSsn, 1, 3)])
            .unwrap();
        assert_eq!(out, "");
        // Replacing "ab" in "aabb" gives "a<X>b": no value left, no rescans.
        let out = Anonymizer::new(Operator::ReplaceWith("<X>".into()))
            .anonymize("aabb", &[f(EntityType::UsSsn, 1, 3)])
            .unwrap();
        assert_eq!(out, "a<X>b");
    }

    #[test]
    fn hash_is_keyed_and_stable() {
        let k1 = HashKey::new(&[1u8; 32]).unwrap();
        let k2 = HashKey::new(&[2u8; 32]).unwrap();
        let text = "x@example.com and x@example.com";
        let fs = [
            f(EntityType::EmailAddress, 0, 13),
            f(EntityType::EmailAddress, 18, 31),
        ];
        let a = Anonymizer::new(Operator::Hash(k1))
            .anonymize(text, &fs)
            .unwrap();
        let b = Anonymizer::new(Operator::Hash(k2))
            .anonymize(text, &fs)
            .unwrap();
        let (l, r) = a.split_once(" and ").unwrap();
        assert_eq!(l, r);
        assert!(l.starts_with("<EMAIL_ADDRESS:") && l.len() == "<EMAIL_ADDRESS:>".len() + 64);
        assert_ne!(a, b);
        assert!(HashKey::new(b"short").is_err());
        assert_eq!(
            format!("{:?}", HashKey::new(&[7u8; 16]).unwrap()),
            "HashKey { .. }"
        );
    }

    #[test]
    fn overlapping_and_bad_spans() {
        let text = "0123456789";
        let fs = [f(EntityType::UsSsn, 5, 9), f(EntityType::PhoneNumber, 2, 6)];
        assert_eq!(
            Anonymizer::new(Operator::Redact)
                .anonymize(text, &fs)
                .unwrap(),
            "019"
        );
        let bad = [f(EntityType::UsSsn, 5, 11)];
        assert!(matches!(
            Anonymizer::new(Operator::Redact).anonymize(text, &bad),
            Err(Error::InvalidSpan { .. })
        ));
        let split = [f(EntityType::UsSsn, 1, 2)];
        assert!(
            Anonymizer::new(Operator::Redact)
                .anonymize("é", &split)
                .is_err()
        );
    }
}
