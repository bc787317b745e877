//! pii-scan: the TOML scanner configuration (custom recognizers, deny and
//! allow lists, entity filter, min_score) through the public
//! `ScannerBuilder::config_toml`, then a scan with the configured scanner.
//! Input: the TOML text, optionally `0xFF` and a text to scan.
//!
//! Properties: no panic (parsing, regex compilation, building, scanning);
//! a refused config's message names no allow-list or deny-list value; a
//! scanner that builds gives findings on character boundaries, sorted,
//! scored within `min_score..=1.0`, of configured entities only, and the
//! same findings when built again from the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pii_scan::{Scanner, ScannerBuilder};

/// Every string value under `allow_list` and `deny_list.values`.
fn listed_values(toml_text: &str) -> Vec<String> {
    let Ok(v) = toml_text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(a) = v.get("allow_list").and_then(toml::Value::as_array) {
        out.extend(a.iter().filter_map(|s| s.as_str().map(str::to_owned)));
    }
    if let Some(d) = v.get("deny_list").and_then(toml::Value::as_array) {
        for t in d {
            if let Some(vals) = t.get("values").and_then(toml::Value::as_array) {
                out.extend(vals.iter().filter_map(|s| s.as_str().map(str::to_owned)));
            }
        }
    }
    out
}

fn build(config: &str) -> Result<Scanner, pii_scan::Error> {
    ScannerBuilder::default().config_toml(config)?.build()
}

fuzz_target!(|data: &[u8]| {
    let (config, text) = match data.iter().rposition(|&b| b == 0xFF) {
        Some(i) => (
            &data[..i],
            String::from_utf8_lossy(&data[i + 1..]).into_owned(),
        ),
        None => (
            data,
            "Mail a@example.org or call +1 415 555 0100; EMP-123456, Bluebird".into(),
        ),
    };
    let Ok(config) = std::str::from_utf8(config) else {
        return;
    };
    let scanner = match build(config) {
        Ok(s) => s,
        Err(e) => {
            let message = e.to_string();
            for v in listed_values(config) {
                // Short values (a letter, a digit) can appear in any message.
                if v.chars().count() >= 6 {
                    assert!(
                        !message.contains(&v),
                        "the error names a listed value: {message}"
                    );
                }
            }
            return;
        }
    };
    let findings = scanner.scan(&text);
    let mut last_start = 0;
    for f in &findings {
        assert!(f.start < f.end && f.end <= text.len(), "{f:?}");
        assert!(f.text(&text).is_some(), "not on char boundaries: {f:?}");
        assert!(f.start >= last_start, "unsorted: {findings:?}");
        last_start = f.start;
        assert!(
            f.score >= scanner.min_score() && f.score <= 1.0,
            "score out of range: {f:?} (min_score {})",
            scanner.min_score()
        );
        if !scanner.entities().is_empty() {
            assert!(scanner.entities().contains(&f.entity_type), "{f:?}");
        }
    }
    let again = build(config)
        .expect("the same config builds twice")
        .scan(&text);
    assert_eq!(findings, again);
});
