//! A damaged entry file: `show` of that entry exits 3, every other entry
//! still reads, `list` still works (or names the problem with exit 3), and
//! an entry file moved over another one is caught (bound to its id).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::common::{Journal, collect_ids, flip_byte, parse_json, stderr};

/// Adds `n` entries; returns (id, its entry file) for all but the first
/// (the first add may also create an index, so its new files are not one).
fn entries_with_files(j: &Journal, n: usize) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for i in 0..n {
        let before: BTreeSet<PathBuf> = j.snapshot().into_keys().collect();
        let id = j.add(&format!("Entry {i}. body number {i}"), &["c"]);
        let after: BTreeSet<PathBuf> = j.snapshot().into_keys().collect();
        let new: Vec<PathBuf> = after.difference(&before).cloned().collect();
        if i > 0 {
            assert_eq!(new.len(), 1, "add {i} created {new:?}");
            out.push((id, j.data.join(&new[0])));
        }
    }
    out
}

#[test]
fn a_flipped_byte_in_one_entry_fails_only_that_entry_with_exit_3() {
    let j = Journal::init();
    let entries = entries_with_files(&j, 5);
    let (victim, file) = &entries[1];
    let len = i64::try_from(std::fs::metadata(file).unwrap().len()).unwrap();
    flip_byte(file, len / 2);

    let out = j.code(&["show", victim], 3);
    assert!(!stderr(&out).trim().is_empty(), "exit 3 without a message");
    assert!(
        out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("body number 2")
    );
    for (id, _) in entries.iter().filter(|(id, _)| id != victim) {
        j.ok(&["show", id]);
    }
    let out = j.run(&["list", "--json"]);
    match out.status.code() {
        Some(0) => {
            let mut ids = Vec::new();
            collect_ids(&parse_json(&["list", "--json"], &out.stdout), &mut ids);
            for (id, _) in entries.iter().filter(|(id, _)| id != victim) {
                assert!(ids.contains(id), "list lost the healthy entry {id}");
            }
        }
        Some(3) => assert!(
            stderr(&out).contains(&victim[..8]) || !stderr(&out).trim().is_empty(),
            "list exits 3 without naming the damage: {}",
            stderr(&out)
        ),
        other => panic!("list with one damaged entry: {other:?} {}", stderr(&out)),
    }
    // Search and export do not silently return the damaged entry's text.
    let out = j.run(&["search", "body", "--json"]);
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    // Other commands keep working: a new entry can be added and read.
    let id = j.add("After damage. fresh", &[]);
    j.ok(&["show", &id]);
}

#[test]
fn a_truncated_or_emptied_entry_file_exits_3_for_that_entry() {
    let j = Journal::init();
    let entries = entries_with_files(&j, 4);
    let (a, fa) = &entries[0];
    let (b, fb) = &entries[1];
    let bytes = std::fs::read(fa).unwrap();
    crate::common::write_keep_mode(fa, &bytes[..bytes.len() / 2]);
    crate::common::write_keep_mode(fb, b"");
    j.code(&["show", a], 3);
    j.code(&["show", b], 3);
    j.ok(&["show", &entries[2].0]);
}

#[test]
fn an_entry_file_copied_over_another_is_caught() {
    let j = Journal::init();
    let entries = entries_with_files(&j, 4);
    let (a, fa) = &entries[0];
    let (b, fb) = &entries[1];
    // b's file now holds a's (valid) ciphertext: bound to a's id, not b's.
    let bytes = std::fs::read(fa).unwrap();
    crate::common::write_keep_mode(fb, &bytes);
    let out = j.run(&["show", b]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "entry {b} shows {a}'s content: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    j.ok(&["show", a]);
}
