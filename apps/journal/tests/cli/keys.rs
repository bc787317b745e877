//! `keys status --json`, `keys rotate` (entries re-encrypted, old
//! ciphertexts gone), `keys rotate --if-due`, `keys passwd` (only the key
//! wrapping changes), a tampered keystore (exit 3) and an older keystore
//! put back (exit 3).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::common::{Journal, Snapshot, changed, flip_byte, grep_tree, marker, run, stderr};

/// Runs `keys passwd` from the current passphrase file to `new`, then makes
/// `new` the journal's passphrase file.
fn passwd(j: &mut Journal, new: &str) -> std::process::Output {
    let new_file = j.pass_file(&format!("new-{new}"), new);
    let mut c = j.cmd();
    c.env("JOURNAL_NEW_PASSPHRASE_FILE", &new_file)
        .args(["keys", "passwd"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(0), "keys passwd: {}", stderr(&out));
    j.pass = new_file;
    out
}

/// The files that make up the keystore: those `keys passwd` changes that a
/// plain read (`list`) does not. Changes the passphrase to `new`.
fn keystore_files(j: &mut Journal, new: &str) -> BTreeSet<PathBuf> {
    let s0 = j.snapshot();
    j.ok(&["list"]);
    let s1 = j.snapshot();
    let by_read = changed(&s0, &s1);
    passwd(j, new);
    let s2 = j.snapshot();
    let files: BTreeSet<PathBuf> = changed(&s1, &s2)
        .difference(&by_read)
        .filter(|p| {
            s2.get(*p)
                .is_some_and(|(m, b)| !b.is_empty() || m & 0o170_000 == 0)
        })
        .filter(|p| j.data.join(p).is_file())
        .cloned()
        .collect();
    assert!(!files.is_empty(), "keys passwd changed no file");
    files
}

fn entry_files_of(j: &Journal, before: &Snapshot) -> BTreeSet<PathBuf> {
    let after = j.snapshot();
    after
        .keys()
        .filter(|k| !before.contains_key(*k) && j.data.join(k).is_file())
        .cloned()
        .collect()
}

#[test]
fn keys_status_json_describes_the_keystore() {
    let j = Journal::init();
    let v = j.json(&["keys", "status", "--json"]);
    let s = v.to_string().to_ascii_lowercase();
    assert!(s.contains("primary") || s.contains("key"), "{v}");
    // Not a secret in sight: no long hex or base64 runs of key length.
    let plain = j.ok(&["keys", "status"]);
    assert!(!crate::common::stdout(&plain).trim().is_empty());
}

#[test]
fn rotate_reencrypts_every_entry_and_removes_the_old_ciphertexts() {
    let j = Journal::init();
    let markers: Vec<String> = (0..4).map(|i| marker(&format!("rot{i}"))).collect();
    let start = j.snapshot();
    let mut ids = Vec::new();
    for m in &markers {
        ids.push(j.add(&format!("Rotated entry. {m}"), &["rot"]));
    }
    let entries = entry_files_of(&j, &start);
    let before = j.snapshot();
    let status_before = j.json(&["keys", "status", "--json"]);
    j.ok(&["keys", "rotate"]);
    let status_after = j.json(&["keys", "status", "--json"]);
    assert_ne!(
        status_before, status_after,
        "keys status did not change after a rotation"
    );
    let texts = j.export_texts();
    for (id, m) in ids.iter().zip(&markers) {
        assert!(
            texts[id].contains(m),
            "entry {id} unreadable after rotation"
        );
    }
    // Every entry was re-encrypted under the new key and its old
    // ciphertext overwritten or removed: no old entry file's bytes are
    // anywhere under the data dir any more.
    let after = j.snapshot();
    for e in &entries {
        let old = &before[e].1;
        if old.len() < 32 {
            continue;
        }
        for (p2, (_, b2)) in &after {
            if p2 == e && b2.starts_with(old) {
                continue; // an append-only file (a log segment) that grew
            }
            assert!(
                !(b2.len() >= old.len() && b2.windows(old.len()).any(|w| w == old.as_slice())),
                "the pre-rotation ciphertext of {} is still in {}",
                e.display(),
                p2.display()
            );
        }
    }
    for m in &markers {
        assert!(
            grep_tree(&j.data, m.as_bytes()).is_empty(),
            "{m} in plaintext after rotation"
        );
    }
    // A second rotation and new entries still work.
    j.ok(&["keys", "rotate"]);
    let id = j.add("After two rotations. fine", &[]);
    assert!(j.export_texts()[&id].contains("After two rotations"));
    j.ok(&["audit", "verify"]);
}

#[test]
fn rotate_if_due_on_a_fresh_keystore_changes_no_key() {
    let mut j = Journal::init();
    j.add("Fresh. entry", &[]);
    let ks = keystore_files(&mut j, "second passphrase");
    let before = j.snapshot();
    j.ok(&["keys", "rotate", "--if-due"]);
    let after = j.snapshot();
    for f in &ks {
        assert_eq!(
            before.get(f),
            after.get(f),
            "rotate --if-due rewrote {} on a fresh keystore",
            f.display()
        );
    }
    // A forced rotation does change it.
    j.ok(&["keys", "rotate"]);
    let rotated = j.snapshot();
    assert!(
        ks.iter().any(|f| before.get(f) != rotated.get(f)),
        "keys rotate changed no keystore file"
    );
}

#[test]
fn passwd_changes_the_passphrase_and_rewraps_only_the_keys() {
    let mut j = Journal::init();
    let before_adds = j.snapshot();
    let id = j.add("Under the first passphrase. words", &["p"]);
    let id2 = j.add("Second entry. words", &[]);
    let entries = entry_files_of(&j, &before_adds);
    assert!(entries.len() >= 2);
    let old_pass = j.pass.clone();
    let before = j.snapshot();
    passwd(&mut j, "a brand new passphrase");
    let after = j.snapshot();
    // Entry files are untouched: passwd re-wraps the key-encryption layer only.
    let mut entry_changes = 0;
    for f in &entries {
        if before.get(f) != after.get(f) {
            entry_changes += 1;
        }
    }
    assert!(
        entry_changes < entries.len(),
        "keys passwd rewrote every entry file ({entry_changes})"
    );
    // Old passphrase: 4. New: works.
    let mut c = j.bare();
    c.arg("--data-dir")
        .arg(&j.data)
        .arg("--passphrase-file")
        .arg(&old_pass)
        .arg("list");
    let out = run(c);
    assert_eq!(
        out.status.code(),
        Some(4),
        "old passphrase after passwd: {}",
        stderr(&out)
    );
    let texts = j.export_texts();
    assert!(texts[&id].contains("first passphrase") && texts.contains_key(&id2));
}

#[test]
fn passwd_without_a_new_passphrase_source_fails_and_changes_nothing() {
    let j = Journal::init();
    j.add("Entry. x", &[]);
    // What a plain read changes (the audit log): a failed passwd may
    // change that much and no more.
    let s0 = j.snapshot();
    j.ok(&["list"]);
    let before = j.snapshot();
    let by_read = changed(&s0, &before);
    let out = j.run(&["keys", "passwd"]);
    assert!(!out.status.success());
    assert!(!stderr(&out).trim().is_empty());
    let after = j.snapshot();
    let moved = changed(&before, &after);
    assert!(
        moved.is_subset(&by_read),
        "a failed passwd changed {:?} (a read changes only {by_read:?})",
        moved.difference(&by_read).collect::<Vec<_>>()
    );
    j.ok(&["list"]);
    // An empty new passphrase is refused too.
    let empty = j.path("empty-pass");
    std::fs::write(&empty, "\n").unwrap();
    let mut c = j.cmd();
    c.env("JOURNAL_NEW_PASSPHRASE_FILE", &empty)
        .args(["keys", "passwd"]);
    let out = run(c);
    assert!(!out.status.success(), "an empty passphrase was accepted");
    j.ok(&["list"]);
}

#[test]
fn a_tampered_keystore_exits_3() {
    let mut j = Journal::init();
    let id = j.add("Entry. before tampering", &[]);
    let ks = keystore_files(&mut j, "tamper test passphrase");
    let clean = j.snapshot();
    for f in &ks {
        let len = i64::try_from(std::fs::metadata(j.data.join(f)).unwrap().len()).unwrap();
        // A byte in the middle (a wrapped key or the key list) and the last
        // byte (a MAC or checksum): neither can pass as a wrong passphrase.
        for at in [len / 2, -1] {
            flip_byte(&j.data.join(f), at);
        }
    }
    let out = j.code(&["list"], 3);
    assert!(!stderr(&out).trim().is_empty());
    j.code(&["show", &id], 3);
    j.code(&["add", "should not be saved"], 3);
    // Put it back: all good again.
    for f in &ks {
        crate::common::write_keep_mode(&j.data.join(f), &clean[f].1);
    }
    assert_eq!(j.ids(), vec![id]);
}

#[test]
fn an_older_keystore_put_back_after_passwd_exits_3() {
    let mut j = Journal::init();
    j.add("Entry. rollback", &[]);
    let ks = keystore_files(&mut j, "passphrase two");
    let old: Vec<(PathBuf, Vec<u8>)> = ks
        .iter()
        .map(|f| (f.clone(), std::fs::read(j.data.join(f)).unwrap()))
        .collect();
    let two = j.pass.clone();
    passwd(&mut j, "passphrase three");
    j.ok(&["list"]);
    for (f, bytes) in &old {
        crate::common::write_keep_mode(&j.data.join(f), bytes);
    }
    // The restored keystore opens with passphrase two, but it is older than
    // the one the audit log recorded: refused.
    let mut c = j.bare();
    c.arg("--data-dir")
        .arg(&j.data)
        .arg("--passphrase-file")
        .arg(&two)
        .arg("list");
    let out = run(c);
    assert_eq!(
        out.status.code(),
        Some(3),
        "an older keystore put back was accepted: {}",
        stderr(&out)
    );
}

#[test]
fn an_older_keystore_put_back_after_rotation_exits_3() {
    let mut j = Journal::init();
    let id = j.add("Entry. rollback after rotation", &[]);
    let ks = keystore_files(&mut j, "rotation passphrase");
    let old: Vec<(PathBuf, Vec<u8>)> = ks
        .iter()
        .map(|f| (f.clone(), std::fs::read(j.data.join(f)).unwrap()))
        .collect();
    j.ok(&["keys", "rotate"]);
    j.ok(&["show", &id]);
    for (f, bytes) in &old {
        crate::common::write_keep_mode(&j.data.join(f), bytes);
    }
    let out = j.run(&["list"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "an older keystore put back after a rotation was accepted: {}",
        stderr(&out)
    );
}
