//! Two writers at once: both succeed (the second waits for the lock) or the
//! second exits 1 saying who holds it; the journal is never corrupted and
//! no acknowledged entry is lost.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Journal, script, stderr};

#[test]
fn concurrent_adds_all_land_or_name_the_holder() {
    let j = Journal::init();
    let n = 6;
    let children: Vec<_> = (0..n)
        .map(|i| {
            let mut c = j.cmd();
            c.args([
                "add",
                "--tag",
                "race",
                &format!("Concurrent {i}. racer number {i}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let mut landed = Vec::new();
    for (i, ch) in children.into_iter().enumerate() {
        let out = ch.wait_with_output().unwrap();
        match out.status.code() {
            Some(0) => landed.push(i),
            Some(1) => assert!(
                stderr(&out).to_ascii_lowercase().contains("lock") || stderr(&out).contains("pid"),
                "writer {i} exits 1 without saying who holds the lock: {}",
                stderr(&out)
            ),
            other => panic!("writer {i}: {other:?} {}", stderr(&out)),
        }
    }
    assert!(!landed.is_empty());
    let texts = j.export_texts();
    assert_eq!(
        texts.len(),
        landed.len(),
        "entries: {texts:?}, acknowledged: {landed:?}"
    );
    for i in landed {
        let want = format!("racer number {i}");
        assert!(
            texts.values().any(|t| t.contains(&want)),
            "acknowledged {want:?} is missing"
        );
    }
    j.ok(&["audit", "verify"]);
}

#[test]
fn a_writer_waits_for_an_edit_in_progress_or_names_its_holder() {
    let j = Journal::init();
    let id = j.add("Being edited. old text", &[]);
    let started = j.path("editor-started");
    let go = j.path("editor-go");
    // The editor signals that it runs, then waits until the test lets it
    // finish: the edit holds the journal for as long as the test wants.
    let editor = script(
        &j.path("slow-editor.sh"),
        &format!(
            "for f; do :; done\n: > '{started}'\n\
             while [ ! -e '{go}' ]; do sleep 0.05; done\n\
             printf 'Being edited. new text\\n' > \"$f\"",
            started = started.display(),
            go = go.display()
        ),
    );
    let mut a = j.cmd();
    a.env("EDITOR", &editor)
        .args(["edit", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let a = a.spawn().unwrap();
    let a_pid = a.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the editor never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The second writer, while the first is inside its editor.
    let b = j.run(&["add", "Second writer. meanwhile"]);
    let b_ok = match b.status.code() {
        Some(0) => true,
        Some(1) => {
            let msg = stderr(&b);
            assert!(
                msg.contains(&a_pid.to_string()),
                "the second writer exits 1 without naming the holder (pid {a_pid}): {msg}"
            );
            false
        }
        other => panic!("second writer: {other:?} {}", stderr(&b)),
    };
    std::fs::write(&go, "").unwrap();
    let a = a.wait_with_output().unwrap();
    assert_eq!(a.status.code(), Some(0), "the edit: {}", stderr(&a));
    let texts = j.export_texts();
    assert!(texts[&id].contains("new text"), "{}", texts[&id]);
    assert_eq!(
        texts.values().any(|t| t.contains("meanwhile")),
        b_ok,
        "second writer acknowledged = {b_ok}, entries: {texts:?}"
    );
    j.ok(&["audit", "verify"]);
}

#[test]
fn readers_run_while_a_writer_holds_the_journal() {
    let j = Journal::init();
    let id = j.add("Readable. during a write", &[]);
    let started = j.path("reader-editor-started");
    let go = j.path("reader-editor-go");
    let editor = script(
        &j.path("hold.sh"),
        &format!(
            "for f; do :; done\n: > '{started}'\n\
             while [ ! -e '{go}' ]; do sleep 0.05; done\n\
             printf 'Readable. changed\\n' > \"$f\"",
            started = started.display(),
            go = go.display()
        ),
    );
    let mut a = j.cmd();
    a.env("EDITOR", &editor)
        .args(["edit", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let a = a.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the editor never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A reader sees a complete entry (the old one) or waits; never a torn one.
    let out = j.run(&["show", &id]);
    match out.status.code() {
        Some(0) => assert!(String::from_utf8_lossy(&out.stdout).contains("during a write")),
        Some(1) => assert!(!stderr(&out).trim().is_empty()),
        other => panic!("reader during a write: {other:?} {}", stderr(&out)),
    }
    std::fs::write(&go, "").unwrap();
    assert_eq!(a.wait_with_output().unwrap().status.code(), Some(0));
    assert!(j.export_texts()[&id].contains("changed"));
}
