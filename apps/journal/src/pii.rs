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

/// The findings in `text` (the title and the tags are scanned too, by the
/// caller, as part of one text).
pub fn scan(scanner: &Scanner, text: &str) -> Vec<Finding> {
    scanner.scan(text)
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

/// The audit log's sanitizer hook: every finding of the default scanner
/// (all built-in types but dates, times and URLs) replaced by its type.
pub fn audit_hook() -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let entities: Vec<_> = pii_scan::EntityType::BUILTIN
        .iter()
        .filter(|e| !matches!(e, pii_scan::EntityType::DateTime | pii_scan::EntityType::Url))
        .cloned()
        .collect();
    let scanner = Scanner::builder().entities(entities).build().ok();
    move |s: &str| {
        let scanner = scanner.as_ref()?;
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
        let s = warning_scanner(&Settings::default()).unwrap();
        let text = "Lunch at 12:30 on 2024-03-05, see https://example.com\nmail bob@example.org";
        let f = scan(&s, text);
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
    fn the_audit_hook_replaces_pii() {
        let h = audit_hook();
        assert_eq!(h("card 4111 1111 1111 1111").as_deref(), Some("card <CREDIT_CARD>"));
        assert_eq!(h("nothing here"), None);
    }
}
