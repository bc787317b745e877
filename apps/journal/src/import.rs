//! Importing jrnl's JSON export (`jrnl --export json`):
//!
//! ```json
//! {"tags": {"@work": 1},
//!  "entries": [{"title": "Shipped it.", "body": "Team lunch after.",
//!               "date": "2024-03-05", "time": "10:00",
//!               "tags": ["@work"], "starred": false}]}
//! ```
//!
//! Tags lose their `@`/`#`; `date` + `time` are local time; a starred entry
//! gets the tag `starred`. A record that does not fit is named (its
//! position, never its text) and skipped; the good ones are committed
//! together by the caller.

use serde_json::Value;

use crate::dates;
use crate::entry::{Entry, EntryId, normalize_tag};

/// A jrnl record that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// Its position in `entries` (0-based).
    pub index: usize,
    /// Why.
    pub reason: String,
}

/// A parsed jrnl entry (no id yet).
#[derive(Debug, Clone, PartialEq)]
pub struct JrnlEntry {
    /// Local creation time, microseconds since the epoch.
    pub created: i64,
    /// The title.
    pub title: String,
    /// The body.
    pub body: String,
    /// Tags, normalized.
    pub tags: Vec<String>,
}

/// What a jrnl export holds.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The entries that parsed.
    pub good: Vec<JrnlEntry>,
    /// The records that did not.
    pub bad: Vec<BadRecord>,
}

/// Parses jrnl's JSON export.
///
/// # Errors
/// A message when the document is not a jrnl export at all (not JSON, no
/// `entries` array); bad records inside are reported in [`Parsed::bad`].
pub fn parse_jrnl_json(bytes: &[u8]) -> Result<Parsed, String> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("not JSON (line {}, column {})", e.line(), e.column()))?;
    let entries = doc
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| "not a jrnl JSON export: no \"entries\" array".to_owned())?;
    let mut out = Parsed::default();
    for (index, rec) in entries.iter().enumerate() {
        match record(rec) {
            Ok(e) => out.good.push(e),
            Err(reason) => out.bad.push(BadRecord { index, reason }),
        }
    }
    Ok(out)
}

fn record(rec: &Value) -> Result<JrnlEntry, String> {
    let obj = rec.as_object().ok_or("not an object")?;
    let text = |k: &str| -> Result<Option<String>, String> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("\"{k}\" is not a string")),
        }
    };
    let date = text("date")?.ok_or("no \"date\"")?;
    let time = text("time")?;
    let created = dates::from_local(&date, time.as_deref())?;
    let title = text("title")?.unwrap_or_default();
    let body = text("body")?.unwrap_or_default();
    if title.trim().is_empty() && body.trim().is_empty() {
        return Err("empty title and body".into());
    }
    let mut tags = Vec::new();
    match obj.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for t in a {
                let t = t.as_str().ok_or("a tag that is not a string")?;
                let t = normalize_tag(t);
                if !t.is_empty() && !tags.contains(&t) {
                    tags.push(t);
                }
            }
        }
        Some(_) => return Err("\"tags\" is not an array".into()),
    }
    if obj.get("starred").and_then(Value::as_bool) == Some(true)
        && !tags.iter().any(|t| t == "starred")
    {
        tags.push("starred".into());
    }
    let e = JrnlEntry {
        created,
        title: title.trim().to_owned(),
        body: body.trim().to_owned(),
        tags,
    };
    let probe = Entry {
        id: EntryId::from_bytes([0; 16]),
        created,
        updated: created,
        tags: e.tags.clone(),
        title: e.title.clone(),
        body: e.body.clone(),
    };
    probe.check()?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn maps_jrnl_fields_and_names_bad_records() {
        let doc = br#"{"tags": {"@work": 1}, "entries": [
            {"title": "Shipped it.", "body": "Lunch.", "date": "2024-03-05", "time": "10:00", "tags": ["@work"], "starred": true},
            {"title": "No date", "body": "x"},
            {"title": "Bad time", "body": "x", "date": "2024-03-05", "time": "25:99"},
            {"title": "", "body": "", "date": "2024-03-05"},
            7
        ]}"#;
        let p = parse_jrnl_json(doc).unwrap();
        assert_eq!(p.good.len(), 1);
        assert_eq!(p.good[0].title, "Shipped it.");
        assert_eq!(
            p.good[0].tags,
            vec!["work".to_owned(), "starred".to_owned()]
        );
        let idx: Vec<usize> = p.bad.iter().map(|b| b.index).collect();
        assert_eq!(idx, vec![1, 2, 3, 4]);
        assert!(parse_jrnl_json(b"[]").is_err());
        assert!(parse_jrnl_json(b"{").is_err());
    }
}
