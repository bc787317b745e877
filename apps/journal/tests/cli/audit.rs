//! The audit log through the CLI: `audit verify` (0 on a clean log, 3 after
//! one byte of it is changed), `audit show --json` (the events, no entry
//! text), `audit anchor`, `audit recover` (continues a tampered log and
//! keeps the evidence), and `doctor` (`--json`, `--fix` of a 0644 file).

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::common::{Journal, changed, flip_byte, marker, stderr, stdout};

/// The audit log's files: those that grow when a command only reads.
fn audit_files(j: &Journal) -> BTreeSet<PathBuf> {
    let s0 = j.snapshot();
    j.ok(&["list"]);
    let s1 = j.snapshot();
    let grown: BTreeSet<PathBuf> = changed(&s0, &s1)
        .into_iter()
        .filter(|p| match (s0.get(p), s1.get(p)) {
            (Some((_, a)), Some((_, b))) => b.len() > a.len() && b.starts_with(a),
            _ => false,
        })
        .collect();
    assert!(
        !grown.is_empty(),
        "no file grew on `list`: reads are not audited ({:?})",
        changed(&s0, &s1)
    );
    grown
}

#[test]
fn audit_verify_passes_on_a_clean_log_and_exits_3_after_one_byte_is_changed() {
    let j = Journal::init();
    for i in 0..3 {
        j.add(&format!("Audited {i}. words"), &[]);
    }
    let out = j.ok(&["audit", "verify"]);
    let said = format!("{}{}", stdout(&out), stderr(&out)).to_ascii_lowercase();
    assert!(
        said.contains("seal"),
        "verify does not say how far the log is sealed: {said}"
    );

    let files = audit_files(&j);
    let log = files
        .iter()
        .max_by_key(|p| std::fs::metadata(j.data.join(p)).unwrap().len())
        .unwrap();
    let path = j.data.join(log);
    let len = i64::try_from(std::fs::metadata(&path).unwrap().len()).unwrap();
    // A byte inside an early record (not the tail, which a crash may tear).
    flip_byte(&path, len / 3);
    let out = j.code(&["audit", "verify"], 3);
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        !said.trim().is_empty(),
        "verify exits 3 without saying what it found"
    );
}

#[test]
fn audit_show_json_lists_the_events_without_entry_text() {
    let j = Journal::init();
    let secret = marker("auditsecret");
    let id = j.add(
        &format!("Private title {secret}. private body {secret}"),
        &[&secret],
    );
    j.ok(&["show", &id]);
    j.ok(&["keys", "rotate"]);
    j.ok(&["delete", &id]);
    let v = j.json(&["audit", "show", "--json"]);
    let s = v.to_string().to_ascii_lowercase();
    for event in ["add", "delete", "rotat", "unlock"] {
        assert!(s.contains(event), "audit show lacks a {event} event: {v}");
    }
    assert!(
        !s.contains(&secret.to_ascii_lowercase()),
        "entry text in the audit log: {v}"
    );
    // --since in the future shows no event.
    let later = j.json(&["audit", "show", "--since", "2100-01-01", "--json"]);
    let later_s = later.to_string();
    assert!(
        !later_s.contains("delete"),
        "--since did not filter: {later}"
    );
    // Plain output.
    let out = j.ok(&["audit", "show"]);
    assert!(!stdout(&out).trim().is_empty());
}

#[test]
fn audit_anchor_prints_a_checkpoint() {
    let j = Journal::init();
    j.add("Anchored. entry", &[]);
    let out = j.ok(&["audit", "anchor"]);
    let a = stdout(&out);
    assert!(a.trim().len() >= 32, "no checkpoint printed: {a:?}");
    j.ok(&["audit", "verify"]);
    // Two anchors taken at different points differ.
    j.add("Another. entry", &[]);
    let b = stdout(&j.ok(&["audit", "anchor"]));
    assert_ne!(a, b);
}

#[test]
fn audit_recover_continues_a_tampered_log_and_keeps_the_evidence() {
    let j = Journal::init();
    for i in 0..3 {
        j.add(&format!("Before tamper {i}. words"), &[]);
    }
    let files = audit_files(&j);
    let log = files
        .iter()
        .max_by_key(|p| std::fs::metadata(j.data.join(p)).unwrap().len())
        .unwrap()
        .clone();
    let path = j.data.join(&log);
    let len = i64::try_from(std::fs::metadata(&path).unwrap().len()).unwrap();
    flip_byte(&path, len / 3);
    let tampered = std::fs::read(&path).unwrap();
    j.code(&["audit", "verify"], 3);
    let out = j.ok(&["audit", "recover"]);
    assert!(
        !format!("{}{}", stdout(&out), stderr(&out))
            .trim()
            .is_empty()
    );
    // The evidence is kept: the tampered bytes are still somewhere under the
    // data dir (quarantined), not destroyed.
    let mut kept = false;
    crate::common::walk(&j.data, &mut |p, m| {
        if m.is_file() && std::fs::read(p).is_ok_and(|b| b == tampered) {
            kept = true;
        }
    });
    assert!(kept, "audit recover destroyed the tampered log");
    // And the journal goes on: new entries are audited and the continued
    // log verifies from the recovery on (or still reports the quarantined
    // damage, exit 3), never crashes.
    let id = j.add("After recovery. words", &[]);
    j.ok(&["show", &id]);
    let out = j.run(&["audit", "verify"]);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "{:?} {}",
        out.status,
        stderr(&out)
    );
}

#[test]
fn doctor_reports_and_fix_repairs_a_file_made_0644() {
    let j = Journal::init();
    j.add("Doctor. entry", &[]);
    let v = j.json(&["doctor", "--json"]);
    let s = v.to_string().to_ascii_lowercase();
    for topic in ["core", "dump", "permission", "rotat", "audit"] {
        assert!(
            s.contains(topic),
            "doctor --json says nothing about {topic}: {v}"
        );
    }
    // Loosen one file and one directory.
    let files = j.files();
    let victim = files
        .iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
        .clone();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&j.data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let report = j.run(&["doctor", "--json"]);
    let before_fix = String::from_utf8_lossy(&report.stdout).into_owned();
    assert_ne!(
        v.to_string(),
        serde_json::from_str::<serde_json::Value>(&before_fix)
            .map(|x| x.to_string())
            .unwrap_or_default(),
        "doctor does not notice a 0644 file"
    );
    assert!(
        before_fix.contains(victim.file_name().unwrap().to_str().unwrap())
            || before_fix.contains("644"),
        "doctor does not name the loose file: {before_fix}"
    );
    j.ok(&["doctor", "--fix"]);
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode,
        0o600,
        "doctor --fix left {} at {mode:o}",
        victim.display()
    );
    let mode = std::fs::metadata(&j.data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "doctor --fix left the data dir at {mode:o}");
    j.ok(&["doctor"]);
    let audit = j
        .json(&["audit", "show", "--json"])
        .to_string()
        .to_ascii_lowercase();
    assert!(
        audit.contains("doctor") || audit.contains("repair") || audit.contains("fix"),
        "the repair is not audited: {audit}"
    );
}
