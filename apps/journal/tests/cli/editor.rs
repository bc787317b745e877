//! The editor flow with a scripted `$EDITOR`: `edit ID` hands the entry to
//! the editor in a 0600 file inside a private directory under
//! `$XDG_RUNTIME_DIR`, saves what the editor wrote, and leaves no file
//! behind, also when the editor fails. `add` without text does the same.

use std::path::Path;

use crate::common::{Journal, marker, run, script, stderr, walk};

/// Files (not directories) left under the runtime dir.
fn leftovers(runtime: &Path) -> Vec<String> {
    let mut v = Vec::new();
    walk(runtime, &mut |p, m| {
        if !m.is_dir() {
            v.push(p.display().to_string());
        }
    });
    v
}

/// An editor that logs the file it got (path, mode, parent's mode, the
/// text it found) to `log`, then runs `then`.
fn logging_editor(j: &Journal, name: &str, then: &str) -> std::path::PathBuf {
    let log = j.path(&format!("{name}.log"));
    script(
        &j.path(&format!("{name}.sh")),
        &format!(
            "for f; do :; done\n\
             {{ echo \"path=$f\"; echo \"mode=$(stat -c %a \"$f\")\"; \
             echo \"dirmode=$(stat -c %a \"$(dirname \"$f\")\")\"; echo '--- text'; cat \"$f\"; }} > '{}'\n\
             {then}",
            log.display()
        ),
    )
}

fn read_log(j: &Journal, name: &str) -> String {
    std::fs::read_to_string(j.path(&format!("{name}.log"))).unwrap_or_else(|e| {
        panic!("the editor was not run (no log: {e})");
    })
}

#[test]
fn edit_saves_what_the_editor_wrote_and_leaves_nothing_behind() {
    let j = Journal::init();
    let old = marker("old");
    let new = marker("new");
    let id = j.add(&format!("Editable. {old}"), &["keepme"]);
    let other = j.add("Untouched. the other one", &[]);
    let editor = logging_editor(
        &j,
        "ed",
        &format!("printf 'Edited title. {new}\\n' > \"$f\""),
    );
    let mut c = j.cmd();
    c.env("EDITOR", &editor)
        .env_remove("VISUAL")
        .args(["edit", &id[..8]]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let log = read_log(&j, "ed");
    assert!(
        log.contains(&old),
        "the editor did not get the entry's text:\n{log}"
    );
    assert!(log.contains("mode=600\n"), "temp file not 0600:\n{log}");
    assert!(log.contains("dirmode=700\n"), "temp dir not 0700:\n{log}");
    let runtime = j.runtime.path().canonicalize().unwrap();
    let path_line = log.lines().next().unwrap();
    let edited_path = Path::new(path_line.trim_start_matches("path="));
    assert!(
        edited_path.starts_with(&runtime) || edited_path.starts_with(j.runtime.path()),
        "the temp file is not under $XDG_RUNTIME_DIR ({}): {}",
        runtime.display(),
        edited_path.display()
    );
    assert!(!edited_path.exists(), "the temp file is still there");
    assert!(
        leftovers(j.runtime.path()).is_empty(),
        "{:?}",
        leftovers(j.runtime.path())
    );

    let texts = j.export_texts();
    assert!(
        texts[&id].contains(&new),
        "the edit was not saved: {}",
        texts[&id]
    );
    assert!(
        !texts[&id].contains(&old),
        "the old text is still there: {}",
        texts[&id]
    );
    assert!(texts[&other].contains("the other one"));
    // The id stays the same; the entry is still listed once.
    let mut ids = j.ids();
    ids.sort();
    let mut want = vec![id, other];
    want.sort();
    assert_eq!(ids, want);
    // No plaintext of either version on disk.
    for m in [&old, &new] {
        let hits = crate::common::grep_tree(&j.data, m.as_bytes());
        assert!(hits.is_empty(), "{m} in plaintext after edit: {hits:?}");
    }
}

#[test]
fn visual_wins_over_editor() {
    let j = Journal::init();
    let id = j.add("Visual test. before", &[]);
    let visual = script(
        &j.path("visual.sh"),
        "for f; do :; done\nprintf 'Via visual. after\\n' > \"$f\"",
    );
    let mut c = j.cmd();
    c.env("VISUAL", &visual)
        .env("EDITOR", "false")
        .args(["edit", &id]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(j.export_texts()[&id].contains("Via visual"));
}

#[test]
fn a_failing_editor_changes_nothing_and_leaves_no_temp_file() {
    let j = Journal::init();
    let id = j.add("Stable entry. original words", &[]);
    let before = j.export_texts();
    let editor = logging_editor(
        &j,
        "failing",
        "printf 'half-written garbage\\n' > \"$f\"\nexit 3",
    );
    let mut c = j.cmd();
    c.env("EDITOR", &editor)
        .env_remove("VISUAL")
        .args(["edit", &id]);
    let out = run(c);
    assert!(
        !out.status.success(),
        "edit succeeded although the editor failed"
    );
    assert!(!stderr(&out).trim().is_empty(), "no message");
    let log = read_log(&j, "failing");
    assert!(log.contains("original words"));
    assert_eq!(j.export_texts(), before, "a failed edit changed the entry");
    assert!(
        leftovers(j.runtime.path()).is_empty(),
        "temp file left after a failing editor: {:?}",
        leftovers(j.runtime.path())
    );
}

#[test]
fn an_editor_that_saves_nothing_new_or_empties_the_file_changes_nothing() {
    let j = Journal::init();
    let id = j.add("Kept as is. words", &[]);
    let before = j.export_texts();
    for (name, body) in [("noop", ":"), ("emptier", ": > \"$f\"")] {
        let editor = script(
            &j.path(&format!("{name}.sh")),
            &format!("for f; do :; done\n{body}"),
        );
        let mut c = j.cmd();
        c.env("EDITOR", &editor)
            .env_remove("VISUAL")
            .args(["edit", &id]);
        let out = run(c);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{name}: {:?} {}",
            out.status,
            stderr(&out)
        );
        let after = j.export_texts();
        assert!(
            after[&id].contains("Kept as is"),
            "{name} changed the entry: {}",
            after[&id]
        );
        assert_eq!(after.len(), before.len());
        assert!(
            leftovers(j.runtime.path()).is_empty(),
            "{name}: temp file left"
        );
    }
}

#[test]
fn add_without_text_opens_the_editor() {
    let j = Journal::init();
    let body = marker("composed");
    let editor = logging_editor(
        &j,
        "compose",
        &format!("printf 'Composed. {body}\\n' > \"$f\""),
    );
    let mut c = j.cmd();
    c.env("EDITOR", &editor)
        .env_remove("VISUAL")
        .args(["add", "--tag", "ed"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = read_log(&j, "compose");
    assert!(log.contains("mode=600\n"), "{log}");
    let texts = j.export_texts();
    assert_eq!(texts.len(), 1);
    assert!(texts.values().next().unwrap().contains(&body));
    assert!(leftovers(j.runtime.path()).is_empty());
    // An editor that fails while composing saves nothing.
    let mut c = j.cmd();
    c.env("EDITOR", "false").env_remove("VISUAL").args(["add"]);
    let out = run(c);
    assert!(!out.status.success());
    assert_eq!(j.ids().len(), 1);
    assert!(leftovers(j.runtime.path()).is_empty());
}

#[test]
fn edit_of_an_unknown_id_fails_without_running_the_editor() {
    let j = Journal::init();
    j.add("Only one. entry", &[]);
    let editor = logging_editor(&j, "never", "");
    let mut c = j.cmd();
    c.env("EDITOR", &editor)
        .args(["edit", "ffffffff-ffff-4fff-bfff-ffffffffffff"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        !j.path("never.log").exists(),
        "the editor ran for an unknown id"
    );
}
