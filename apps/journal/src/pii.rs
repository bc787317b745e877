//! PII checks before saving, and the audit log's sanitizer.
//!
//! Warnings name entity types and positions (line and column), never the
//! values, and are never written to any log.

use std::fmt::Write as _;

use anyhow::Result;
use pii_scan::{Anonymizer, Finding, Operator, Scanner};

use crate::settings::Settings;

/// A scanner for the entity types that warn.
///
/// # Errors
/// Exit 1 for bad settings.
pub fn warning_scanner(settings: &Settings) -> Result<Scanner> {
    Ok(Scanner::builder()
        .entities(settings.entities()?)
        .min_score(settings.pii_min_score)
        .build()?)
}

/// Whether `text` could hold any entity of the default warning set: each
/// of those (cards, bank and national ids, passports, licences, phone
/// numbers, crypto addresses) has digits, and e-mail addresses have `@`.
/// Building a scanner costs far more than this check (pii-scan's first
/// build in a process compiles its phone metadata), so texts without a
/// digit or an `@` skip it.
pub fn might_hold_pii(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_numeric() || c == '@' || c == '\u{ff20}' || c == '\u{fe6b}')
}

/// Whether the settings warn only for entity types that need a digit or an
/// `@` (true for the defaults), so that [`might_hold_pii`] may skip texts.
pub fn prefilter_applies(settings: &Settings) -> bool {
    settings
        .pii_warn
        .iter()
        .all(|e| crate::settings::DEFAULT_PII_WARN.contains(&e.as_str()))
}

/// The warning scanner, built only when the texts could hold PII.
#[derive(Debug)]
pub struct Gate<'a> {
    settings: &'a Settings,
    scanner: std::sync::OnceLock<Scanner>,
}

impl<'a> Gate<'a> {
    /// A gate for `settings` (checked now).
    ///
    /// # Errors
    /// Exit 1 for bad settings.
    pub fn new(settings: &'a Settings) -> Result<Gate<'a>> {
        settings.entities()?;
        Ok(Gate {
            settings,
            scanner: std::sync::OnceLock::new(),
        })
    }

    /// The findings in `text`.
    ///
    /// # Errors
    /// Exit 1 for bad settings.
    pub fn scan(&self, text: &str) -> Result<Vec<Finding>> {
        if prefilter_applies(self.settings) && !might_hold_pii(text) {
            return Ok(Vec::new());
        }
        if self.scanner.get().is_none() {
            let s = warning_scanner(self.settings)?;
            let _ = self.scanner.set(s);
        }
        Ok(self.scanner.get().map(|s| s.scan(text)).unwrap_or_default())
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// "EMAIL_ADDRESS at line 2, column 5" for each finding: types and
/// positions only.
pub fn describe(text: &str, findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let before = text.get(..f.start).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let _ = writeln!(
            out,
            "  {} at line {line}, column {col} ({} characters)",
            f.entity_type,
            text.get(f.start..f.end).map_or(0, |s| s.chars().count())
        );
    }
    out
}

/// The findings as JSON (type, byte offsets), without values.
pub fn to_json(findings: &[Finding]) -> serde_json::Value {
    serde_json::Value::Array(
        findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "entity_type": f.entity_type.as_str(),
                    "start": f.start,
                    "end": f.end,
                })
            })
            .collect(),
    )
}

/// `text` with every finding replaced by `<ENTITY_TYPE>`.
///
/// # Errors
/// pii-scan's errors for findings that do not fit the text.
pub fn redact(text: &str, findings: &[Finding]) -> Result<String> {
    Ok(Anonymizer::new(Operator::Replace).anonymize(text, findings)?)
}

/// The audit log's sanitizer hook: every finding of the default warning
/// set replaced by its type. Strings that cannot hold any (no digit, no
/// `@`) and entry ids are passed without building a scanner.
pub fn audit_hook() -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let scanner: std::sync::OnceLock<Option<Scanner>> = std::sync::OnceLock::new();
    move |s: &str| {
        if !might_hold_pii(s) || is_uuid(s) {
            return None;
        }
        let scanner = scanner
            .get_or_init(|| warning_scanner(&Settings::default()).ok())
            .as_ref()?;
        let f = scanner.scan(s);
        if f.is_empty() {
            return None;
        }
        Anonymizer::new(Operator::Replace).anonymize(s, &f).ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn warnings_name_types_and_places_never_values() {
        let settings = Settings::default();
        let g = Gate::new(&settings).unwrap();
        let text = "Lunch at 12:30 on 2024-03-05, see https://example.com\nmail bob@example.org";
        let f = g.scan(text).unwrap();
        assert_eq!(f.len(), 1, "{f:?}");
        let d = describe(text, &f);
        assert!(d.contains("EMAIL_ADDRESS at line 2, column 6"), "{d}");
        assert!(!d.contains("bob"));
        assert_eq!(
            redact(text, &f).unwrap(),
            "Lunch at 12:30 on 2024-03-05, see https://example.com\nmail <EMAIL_ADDRESS>"
        );
    }

    #[test]
    fn the_prefilter_never_hides_a_default_finding() {
        let full = warning_scanner(&Settings::default()).unwrap();
        for t in [
            "bob@example.org",
            "call +44 20 7946 0958",
            "card 4111 1111 1111 1111",
            "IBAN GB82 WEST 1234 5698 7654 32",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "0x52908400098527886E0F7030069857D2E4169EE7",
        ] {
            assert!(!full.scan(t).is_empty(), "{t}");
            assert!(might_hold_pii(t), "{t}");
        }
        assert!(!might_hold_pii("a quiet day, nothing to report"));
        assert!(is_uuid("5d0c9e1a-7c3f-4b2e-9a1d-2f6c8e0b4a17"));
        assert!(!is_uuid("5d0c9e1a-7c3f-4b2e-9a1d-2f6c8e0b4a1"));
    }

    #[test]
    fn the_audit_hook_replaces_pii() {
        let h = audit_hook();
        assert_eq!(
            h("card 4111 1111 1111 1111").as_deref(),
            Some("card <CREDIT_CARD>")
        );
        assert_eq!(h("nothing here"), None);
    }
}
