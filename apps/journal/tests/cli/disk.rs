//! On-disk promises: 0700 directories and 0600 files whatever the umask;
//! entry file names that reveal neither the id, the date nor the order; no
//! plaintext of any entry, title or tag anywhere under the data dir, after
//! add, edit, delete and rotation.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::common::{Journal, grep_tree, marker, run, script, stderr, under_umask_000, walk};

/// Runs `args` under umask 000 and requires exit 0.
fn ok_umask_000(j: &Journal, args: &[&str], editor: Option<&std::path::Path>) {
    let mut base = j.cmd();
    base.args(args);
    if let Some(e) = editor {
        base.env("EDITOR", e);
    }
    let out = run(under_umask_000(&base));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?} under umask 000: {}",
        stderr(&out)
    );
}

fn assert_private_modes(j: &Journal, after: &str) {
    let mode = std::fs::metadata(&j.data).unwrap().mode() & 0o7777;
    assert_eq!(mode, 0o700, "after {after}: the data dir is {mode:o}");
    let mut bad = Vec::new();
    walk(&j.data, &mut |p, m| {
        let mode = m.mode() & 0o7777;
        let want = if m.is_dir() { 0o700 } else { 0o600 };
        if m.file_type().is_symlink() {
            bad.push(format!("{} is a symlink", p.display()));
        } else if mode != want {
            bad.push(format!("{} is {mode:o}", p.display()));
        }
    });
    assert!(bad.is_empty(), "after {after} under umask 000: {bad:?}");
}

#[test]
fn every_dir_is_0700_and_every_file_0600_under_umask_000() {
    let j = Journal::new();
    ok_umask_000(&j, &["init"], None);
    assert_private_modes(&j, "init");
    ok_umask_000(&j, &["add", "--tag", "m", "Mode check. body"], None);
    assert_private_modes(&j, "add");
    let id = j.ids().pop().unwrap();
    let editor = script(
        &j.path("ed.sh"),
        "for f; do :; done\nprintf 'Edited under umask. x\\n' > \"$f\"",
    );
    ok_umask_000(&j, &["edit", &id], Some(&editor));
    assert_private_modes(&j, "edit");
    ok_umask_000(&j, &["keys", "rotate"], None);
    assert_private_modes(&j, "rotate");
    let pass2 = j.pass_file("p2", "second passphrase here");
    let mut base = j.cmd();
    base.env("JOURNAL_NEW_PASSPHRASE_FILE", &pass2)
        .args(["keys", "passwd"]);
    let out = run(under_umask_000(&base));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut j = j;
    j.pass = pass2;
    assert_private_modes(&j, "passwd");
    ok_umask_000(&j, &["audit", "anchor"], None);
    ok_umask_000(&j, &["delete", &id], None);
    assert_private_modes(&j, "delete");
    ok_umask_000(&j, &["doctor", "--fix"], None);
    assert_private_modes(&j, "doctor --fix");
}

/// For each `add`, the files it created (its entry file among them).
fn added_files(
    j: &Journal,
    n: usize,
    text: &dyn Fn(usize) -> String,
) -> Vec<(String, BTreeSet<PathBuf>)> {
    let mut out = Vec::new();
    for i in 0..n {
        let before: BTreeSet<PathBuf> = j.snapshot().into_keys().collect();
        let id = j.add(&text(i), &["named"]);
        let after: BTreeSet<PathBuf> = j.snapshot().into_keys().collect();
        out.push((id, after.difference(&before).cloned().collect()));
    }
    out
}

#[test]
fn entry_file_names_reveal_no_id_no_date_and_no_order() {
    let j = Journal::init();
    let adds = added_files(&j, 8, &|i| format!("Named {i}. body {i}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let epoch_prefix = format!("{}", now / 100_000); // first 5 digits of the epoch
    let all_ids: Vec<&String> = adds.iter().map(|(id, _)| id).collect();
    let mut every_name = Vec::new();
    walk(&j.data, &mut |p, _| {
        every_name.push(
            p.strip_prefix(&j.data)
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    });
    for name in &every_name {
        let lower = name.to_ascii_lowercase();
        for id in &all_ids {
            let compact = id.replace('-', "");
            for probe in [&id[..8], &compact[..8], &id[24..], &compact[..]] {
                assert!(
                    !lower.contains(probe),
                    "{name} contains part of the id {id}"
                );
            }
        }
    }
    // The entry files themselves: one new file per add (after the first,
    // which may also create an index).
    let mut order = Vec::new();
    for (i, (id, new)) in adds.iter().enumerate() {
        if i == 0 {
            continue;
        }
        assert_eq!(
            new.len(),
            1,
            "add {i} ({id}) created {new:?}; expected one entry file"
        );
        let name = new
            .iter()
            .next()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        order.push(name);
    }
    let today = jiffless_today();
    for name in &order {
        assert!(
            !name.chars().all(|c| c.is_ascii_digit()),
            "{name} is a number"
        );
        assert!(!name.contains(&epoch_prefix), "{name} holds the time");
        for d in &today {
            assert!(!name.contains(d.as_str()), "{name} holds today's date");
        }
        assert!(name.len() >= 16, "{name} is too short to be a keyed name");
    }
    // Seven random names come out sorted in creation order (or in reverse)
    // with probability 2/5040; a counter or a timestamp always does.
    let mut sorted = order.clone();
    sorted.sort();
    let mut reversed = sorted.clone();
    reversed.reverse();
    assert!(
        sorted != order && reversed != order,
        "entry file names sort in creation order: {order:?}"
    );
    // Names do not share long common prefixes the way counters do.
    let mut lens: Vec<usize> = order
        .windows(2)
        .map(|w| {
            w[0].bytes()
                .zip(w[1].bytes())
                .take_while(|(a, b)| a == b)
                .count()
        })
        .collect();
    lens.sort_unstable();
    assert!(
        lens[lens.len() / 2] < 4,
        "consecutive entry names share prefixes: {order:?}"
    );
    // All entry files are the same size class: a name-length or size order
    // would leak too, but sizes follow content, so only the names are checked.
}

/// Today's date (UTC and the neighbouring days, for any time zone) in
/// common spellings.
fn jiffless_today() -> Vec<String> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut out = Vec::new();
    for delta in [-1i64, 0, 1] {
        let days = i64::try_from(secs / 86_400).unwrap() + delta;
        let (y, m, d) = civil_from_days(days);
        out.push(format!("{y:04}-{m:02}-{d:02}"));
        out.push(format!("{y:04}{m:02}{d:02}"));
        out.push(format!("{y:04}_{m:02}_{d:02}"));
    }
    out
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[test]
fn no_plaintext_under_the_data_dir_after_add_edit_delete_and_rotation() {
    let j = Journal::init();
    let title = marker("ttl");
    let body = marker("bdy");
    let tag = marker("tg");
    let check = |when: &str, markers: &[&str]| {
        for m in markers {
            let hits = grep_tree(&j.data, m.as_bytes());
            assert!(hits.is_empty(), "after {when}: {m} in plaintext: {hits:?}");
        }
    };
    let id = j.add(&format!("{title}. {body} rest of the body"), &[&tag]);
    let other = j.add(
        &format!("Other {title}2. another {body}2"),
        &[&format!("{tag}2")],
    );
    // Make sure the marker was really stored (else the grep proves nothing).
    let texts = j.export_texts();
    assert!(texts[&id].contains(&body) && texts[&id].contains(&tag) && texts[&id].contains(&title));
    check("add", &[&title, &body, &tag]);
    j.ok(&["search", &body]);
    j.ok(&["list", "--tag", &tag]);
    check("search and list", &[&title, &body, &tag]);

    let new_body = marker("edited");
    let editor = script(
        &j.path("ed.sh"),
        &format!("for f; do :; done\nprintf '{title}. {new_body}\\n' > \"$f\""),
    );
    let mut c = j.cmd();
    c.env("EDITOR", &editor).args(["edit", &id]);
    assert_eq!(run(c).status.code(), Some(0));
    assert!(j.export_texts()[&id].contains(&new_body));
    check("edit", &[&title, &body, &tag, &new_body]);

    j.ok(&["keys", "rotate"]);
    check("rotation", &[&title, &body, &tag, &new_body]);

    j.ok(&["delete", &id]);
    j.ok(&["delete", &other]);
    check("delete", &[&title, &body, &tag, &new_body]);
    // Nothing in the runtime dir either.
    let hits = grep_tree(j.runtime.path(), new_body.as_bytes());
    assert!(hits.is_empty(), "{hits:?}");
}

#[test]
fn a_missing_index_is_rebuilt_from_the_entries() {
    let j = Journal::init();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(j.add(&format!("Indexed {i}. searchable{i}"), &[]));
    }
    // The index: rewritten by every add, read by list, never grows by
    // appending; find it as a file rewritten by an add that is not new.
    let s0 = j.snapshot();
    let id4 = j.add("Indexed 3. searchable3", &[]);
    ids.push(id4);
    let s1 = j.snapshot();
    let candidates: Vec<PathBuf> = crate::common::changed(&s0, &s1)
        .into_iter()
        .filter(|p| match (s0.get(p), s1.get(p)) {
            (Some((_, a)), Some((_, b))) => !b.starts_with(a) && j.data.join(p).is_file(),
            _ => false,
        })
        .collect();
    // Remove each candidate in turn that is not needed to open the journal.
    let mut removed = false;
    for c in &candidates {
        let path = j.data.join(c);
        let saved = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let out = j.run(&["list", "--json"]);
        if out.status.code() == Some(0) {
            let mut got = Vec::new();
            crate::common::collect_ids(
                &crate::common::parse_json(&["list"], &out.stdout),
                &mut got,
            );
            got.sort();
            let mut want = ids.clone();
            want.sort();
            assert_eq!(
                got,
                want,
                "list after removing {} (rebuilt index)",
                c.display()
            );
            let found = j.json(&["search", "searchable2", "--json"]);
            let mut f = Vec::new();
            crate::common::collect_ids(&found, &mut f);
            assert_eq!(f, vec![ids[2].clone()]);
            removed = true;
            break;
        }
        std::fs::write(&path, saved).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
    }
    assert!(
        removed,
        "no rewritten file could be removed with list still working: {candidates:?}"
    );
}
