//! journal: jrnl's JSON export through `journal::import::parse_jrnl_json`
//! (what `journal import --from jrnl` reads), plus the app's date and
//! entry-id parsers on the same text.
//!
//! Properties: no panic; every record of the `entries` array is either
//! imported or named as bad, by its position, in order, and a bad
//! record's reason does not depend on its title or body text; an imported entry has
//! a trimmed, non-empty title or body, normalized unique non-empty tags,
//! passes `Entry::check`, and survives the entry file encoding
//! (`Entry::encode` / `decode_entry_plaintext`) unchanged; its time prints
//! (`dates::human`, `dates::rfc3339`). An entry id that parses prints and
//! parses back to itself.
#![no_main]

use journal::entry::{Entry, EntryId, decode_entry_plaintext, normalize_tag};
use journal::import::parse_jrnl_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = journal::dates::parse(text, false);
        let _ = journal::dates::parse(text, true);
        if let Some(id) = EntryId::parse(text) {
            assert_eq!(EntryId::parse(&id.to_string()), Some(id));
        }
    }
    let Ok(parsed) = parse_jrnl_json(data) else {
        return;
    };
    let doc: serde_json::Value = serde_json::from_slice(data).expect("it parsed once");
    let records = doc["entries"].as_array().expect("an entries array");
    assert_eq!(parsed.good.len() + parsed.bad.len(), records.len());
    for w in parsed.bad.windows(2) {
        assert!(w[0].index < w[1].index);
    }
    // A bad record's reason does not depend on its title or body text:
    // with every non-space character of both masked (same byte lengths,
    // same blankness) the reasons are the same.
    if !parsed.bad.is_empty() {
        let mut masked = doc.clone();
        for rec in masked["entries"].as_array_mut().expect("an entries array") {
            for field in ["title", "body"] {
                if let Some(serde_json::Value::String(t)) = rec.get_mut(field) {
                    *t = t
                        .chars()
                        .map(|c| {
                            if c.is_whitespace() {
                                c.to_string()
                            } else {
                                "x".repeat(c.len_utf8())
                            }
                        })
                        .collect();
                }
            }
        }
        let again = parse_jrnl_json(&serde_json::to_vec(&masked).expect("serializes"))
            .expect("the masked export parses");
        assert_eq!(
            again.bad, parsed.bad,
            "a reason depends on the record's text"
        );
    }
    for (i, e) in parsed.good.iter().enumerate() {
        assert!(!(e.title.is_empty() && e.body.is_empty()));
        assert_eq!(e.title.trim(), e.title);
        assert_eq!(e.body.trim(), e.body);
        for (j, t) in e.tags.iter().enumerate() {
            assert!(!t.is_empty());
            assert_eq!(&normalize_tag(t), t);
            assert!(!e.tags[..j].contains(t));
        }
        let _ = (
            journal::dates::human(e.created),
            journal::dates::rfc3339(e.created),
        );
        let entry = Entry {
            id: EntryId::from_bytes([u8::try_from(i % 256).unwrap_or(0); 16]),
            created: e.created,
            updated: e.created,
            tags: e.tags.clone(),
            title: e.title.clone(),
            body: e.body.clone(),
        };
        entry
            .check()
            .expect("an imported entry passes the entry limits");
        let back = decode_entry_plaintext(&entry.encode()).expect("entry encoding round trip");
        assert!(back == entry, "entry changed through its encoding");
    }
});
