//! Scanner configuration from TOML.
//!
//! Every key is optional; unknown keys are errors (a typo never passes silently).
//!
//! ```toml
//! version = 1                      # format version; only 1 exists
//! min_score = 0.5                  # drop findings scoring below this
//! entities = ["EMAIL_ADDRESS", "EMPLOYEE_ID"]   # report only these
//! allow_list = ["support@example.com"]          # never reported
//!
//! [[deny_list]]                    # always reported, score 1.0
//! entity = "PROJECT_NAME"
//! values = ["Bluebird", "Nightjar"]
//!
//! [[recognizer]]                   # a custom pattern recognizer
//! name = "employee-id"             # optional, used in messages
//! entity = "EMPLOYEE_ID"
//! pattern = 'EMP-\d{6}'            # regex; \b and \B are ASCII word boundaries
//! score = 0.7
//! context = ["employee", "staff"]  # optional: words that raise the score
//! validator = "luhn"               # optional: see Validator::NAMES
//! ```
//!
//! Errors name the line and the field: `config line 12: field `score`: ...`.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::{CustomRecognizer, EntityType, Error, ScannerBuilder, Validator};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: Option<Spanned<i64>>,
    min_score: Option<Spanned<f64>>,
    entities: Option<Vec<Spanned<String>>>,
    allow_list: Option<Vec<String>>,
    deny_list: Option<Vec<Deny>>,
    recognizer: Option<Vec<Recognizer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Deny {
    entity: Spanned<String>,
    values: Spanned<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Recognizer {
    name: Option<String>,
    entity: Spanned<String>,
    pattern: Spanned<String>,
    score: Spanned<f64>,
    context: Option<Vec<String>>,
    validator: Option<Spanned<String>>,
}

fn line_of(text: &str, span: Range<usize>) -> usize {
    let end = span.start.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn err(text: &str, span: Range<usize>, field: &str, message: impl Into<String>) -> Error {
    Error::Config {
        line: line_of(text, span),
        field: field.to_owned(),
        message: message.into(),
    }
}

fn entity(text: &str, s: &Spanned<String>, field: &str) -> Result<EntityType, Error> {
    s.get_ref()
        .parse()
        .map_err(|e: Error| err(text, s.span(), field, e.to_string()))
}

/// The key assigned on the line where `span` starts (`key = ...`), or ""
/// when that line holds no assignment (a value on a continuation line).
fn key_of(text: &str, span: Range<usize>) -> String {
    let at = span.start.min(text.len());
    let begin = text.as_bytes()[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = text.get(begin..at).unwrap_or("");
    line.split_once('=')
        .map(|(key, _)| key.trim().trim_matches(['"', '\'']))
        .filter(|key| {
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        })
        .unwrap_or("")
        .to_owned()
}

/// Rewrites a TOML/serde message so it never quotes a value: serde's
/// `invalid type: string "a@b.com", expected ...` becomes
/// `invalid type: string, expected ...`, and anything quoted elsewhere is
/// elided. Field names (`unknown field `x``) are kept.
fn scrub(message: &str) -> String {
    let message = message.lines().next().unwrap_or("").trim();
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
            // `string "..."`, `integer `5``, `floating point `1.5``: keep the kind.
            let kind = found.split(['"', '`', '\'']).next().unwrap_or("").trim();
            let mut out = format!("{prefix}{kind}");
            if !expected.is_empty() {
                out.push_str(", expected ");
                out.push_str(&elide_quoted(expected));
            }
            return out;
        }
    }
    if message.starts_with("unknown field") || message.starts_with("missing field") {
        return message.to_owned();
    }
    elide_quoted(message)
}

/// Replaces the contents of every `"..."` and `'...'` in `s` with `...`.
fn elide_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut open: Option<char> = None;
    for c in s.chars() {
        match open {
            Some(q) if c == q => {
                out.push_str("...");
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '"' || c == '\'' {
                    open = Some(c);
                }
            }
        }
    }
    if open.is_some() {
        out.push_str("...");
    }
    out
}

/// Parses `text` and applies it to `builder`.
pub(crate) fn apply(mut builder: ScannerBuilder, text: &str) -> Result<ScannerBuilder, Error> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s));
        let raw = e.message().trim();
        let named = raw.starts_with("unknown field") || raw.starts_with("missing field");
        let field = if named {
            raw.split('`').nth(1).unwrap_or("").to_owned()
        } else {
            e.span().map_or_else(String::new, |s| key_of(text, s))
        };
        Error::Config {
            line,
            field,
            message: scrub(raw),
        }
    })?;
    if let Some(v) = file.version.as_ref().filter(|v| *v.get_ref() != 1) {
        let message = format!("unsupported version {} (this build reads 1)", v.get_ref());
        return Err(err(text, v.span(), "version", message));
    }
    if let Some(s) = &file.min_score {
        if !(0.0..=1.0).contains(s.get_ref()) {
            return Err(err(
                text,
                s.span(),
                "min_score",
                "must be between 0.0 and 1.0",
            ));
        }
        builder = builder.min_score(*s.get_ref());
    }
    if let Some(list) = &file.allow_list {
        builder = builder.allow(list.iter().cloned());
    }
    for d in file.deny_list.iter().flatten() {
        let e = entity(text, &d.entity, "entity")?;
        let values = d.values.get_ref();
        if values.is_empty() || values.iter().any(|v| v.trim().is_empty()) {
            return Err(err(
                text,
                d.values.span(),
                "values",
                "must hold at least one non-empty value",
            ));
        }
        builder = builder.deny(e, values.iter().cloned());
    }
    for r in file.recognizer.iter().flatten() {
        let e = entity(text, &r.entity, "entity")?;
        let score = *r.score.get_ref();
        if !(0.0..=1.0).contains(&score) {
            return Err(err(
                text,
                r.score.span(),
                "score",
                "must be between 0.0 and 1.0",
            ));
        }
        let name = r
            .name
            .clone()
            .unwrap_or_else(|| format!("custom-{}", e.as_str().to_ascii_lowercase()));
        // Compile here too, so a bad pattern is reported with its line.
        if let Err(e) = regex_automata::meta::Regex::new(r.pattern.get_ref()) {
            return Err(err(
                text,
                r.pattern.span(),
                "pattern",
                format!(
                    "invalid regex {}",
                    crate::error::regex_error(r.pattern.get_ref(), &e)
                ),
            ));
        }
        let mut rec = CustomRecognizer::new(e, r.pattern.get_ref().clone(), score).name(name);
        if let Some(c) = &r.context {
            rec = rec.context(c.iter().cloned());
        }
        if let Some(v) = &r.validator {
            let val = Validator::from_name(v.get_ref())
                .map_err(|e| err(text, v.span(), "validator", e.to_string()))?;
            rec = rec.validator(val);
        }
        builder = builder.recognizer(rec);
    }
    if let Some(list) = &file.entities {
        let mut set = Vec::with_capacity(list.len());
        for s in list {
            set.push(entity(text, s, "entities")?);
        }
        builder = builder.entities(set);
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn config_err(toml: &str) -> (usize, String, String) {
        match ScannerBuilder::default().config_toml(toml) {
            Err(Error::Config {
                line,
                field,
                message,
            }) => (line, field, message),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("accepted bad config"),
        }
    }

    #[test]
    fn errors_name_line_and_field() {
        let (line, field, _) = config_err(
            "min_score = 0.5\n\n[[recognizer]]\nentity = \"X\"\npattern = 'a('\nscore = 0.5\n",
        );
        assert_eq!((line, field.as_str()), (5, "pattern"));
        let (line, field, _) =
            config_err("[[recognizer]]\nentity = \"X\"\npattern = 'a'\nscore = 1.5\n");
        assert_eq!((line, field.as_str()), (4, "score"));
        let (line, field, _) = config_err(
            "[[recognizer]]\nentity = \"X\"\npattern = 'a'\nscore = 0.5\nvalidator = \"nope\"\n",
        );
        assert_eq!((line, field.as_str()), (5, "validator"));
        let (line, field, _) = config_err("min_score = 0.5\nmin_scor = 1\n");
        assert_eq!((line, field.as_str()), (2, "min_scor"));
        let (line, field, _) =
            config_err("\n[[deny_list]]\nentity = \"lower\"\nvalues = [\"a\"]\n");
        assert_eq!((line, field.as_str()), (3, "entity"));
        let (line, field, _) = config_err("version = 2\n");
        assert_eq!((line, field.as_str()), (1, "version"));
        let (line, _, _) = config_err("min_score = \n");
        assert_eq!(line, 1);
    }

    #[test]
    fn type_errors_name_the_field_but_never_quote_the_value() {
        let (line, field, message) = config_err("min_score = 0.5\nallow_list = \"a@b.com\"\n");
        assert_eq!((line, field.as_str()), (2, "allow_list"));
        assert!(!message.contains("a@b.com"), "{message}");
        assert!(message.contains("invalid type: string"), "{message}");
        let (line, field, message) = config_err("\n\nallow_list = 4111111111111111\n");
        assert_eq!((line, field.as_str()), (3, "allow_list"));
        assert!(!message.contains("4111"), "{message}");
        let (line, _, message) =
            config_err("[[deny_list]]\nentity = \"P\"\nvalues = [\"Bluebird\",\n  7654321]\n");
        assert!((3..=4).contains(&line), "{line}");
        assert!(
            !message.contains("7654321") && !message.contains("Bluebird"),
            "{message}"
        );
        let shown = Error::Config {
            line,
            field: String::new(),
            message,
        }
        .to_string();
        assert!(!shown.contains("7654321"), "{shown}");
        assert_eq!(
            scrub("invalid value: string \"x\", expected a \"y\""),
            "invalid value: string, expected a \"...\""
        );
        assert_eq!(elide_quoted("bad 'secret"), "bad '...");
    }

    #[test]
    fn full_config_applies() {
        let toml = r#"
version = 1
min_score = 0.4
entities = ["EMAIL_ADDRESS", "EMPLOYEE_ID", "PROJECT"]
allow_list = ["support@example.com"]

[[deny_list]]
entity = "PROJECT"
values = ["Bluebird"]

[[recognizer]]
entity = "EMPLOYEE_ID"
pattern = '\bEMP-\d{6}\b'
score = 0.3
context = ["employee"]
"#;
        let scanner = ScannerBuilder::default()
            .config_toml(toml)
            .unwrap()
            .build()
            .unwrap();
        let text = "employee EMP-123456 on bluebird, mail support@example.com or a@example.org, EMP-654321";
        let found: Vec<_> = scanner
            .scan(text)
            .into_iter()
            .map(|f| (f.entity_type.to_string(), f.text(text).unwrap().to_owned()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("EMPLOYEE_ID".to_owned(), "EMP-123456".to_owned()),
                ("PROJECT".to_owned(), "bluebird".to_owned()),
                ("EMAIL_ADDRESS".to_owned(), "a@example.org".to_owned()),
            ]
        );
    }
}
