//! SIGKILL at varied points of `add`, `edit` and `keys rotate` (at least 100
//! kills that land while the process runs): after every kill the journal
//! opens, every acknowledged entry (exit 0 seen) reads back whole, an
//! interrupted add or edit leaves the old or the new state and nothing in
//! between, and no plaintext reaches the data dir.
//!
//! The delays only place the kills (spread over each command's measured
//! run time); nothing is asserted about time.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Journal, grep_tree, marker, script, stderr};

const KILLS: usize = 100;
/// Attempts at most (some commands finish before their kill).
const ATTEMPTS: usize = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Add,
    Edit,
    Rotate,
}

/// What the journal must hold: id -> the text it shows (a marker), or one
/// of two while an interrupted edit is unresolved.
#[derive(Debug, Default)]
struct Model {
    acked: BTreeMap<String, String>,
    /// Markers of adds that were killed: may or may not exist.
    maybe_added: Vec<String>,
    /// id -> (old marker, new marker) of a killed edit.
    maybe_edited: BTreeMap<String, (String, String)>,
    /// Every marker ever written (for the plaintext grep).
    all_markers: Vec<String>,
}

impl Model {
    /// Checks an export against the model and resolves what was in doubt.
    fn check(&mut self, texts: &BTreeMap<String, String>, after: &str) {
        for (id, want) in &self.acked {
            let text = texts.get(id).unwrap_or_else(|| {
                panic!("after {after}: acknowledged entry {id} ({want}) is gone")
            });
            if let Some((old, new)) = self.maybe_edited.get(id) {
                assert!(
                    text.contains(old.as_str()) || text.contains(new.as_str()),
                    "after {after}: entry {id} is neither its old ({old}) nor its new ({new}) text: {text}"
                );
            } else {
                assert!(
                    text.contains(want.as_str()),
                    "after {after}: entry {id} lost its text {want}: {text}"
                );
            }
        }
        let resolved: Vec<(String, String)> = self
            .maybe_edited
            .iter()
            .map(|(id, (old, new))| {
                let t = &texts[id];
                (
                    id.clone(),
                    if t.contains(new.as_str()) {
                        new.clone()
                    } else {
                        old.clone()
                    },
                )
            })
            .collect();
        for (id, m) in resolved {
            self.acked.insert(id, m);
        }
        self.maybe_edited.clear();
        for (id, text) in texts {
            if self.acked.contains_key(id) {
                continue;
            }
            let Some(m) = self
                .maybe_added
                .iter()
                .find(|m| text.contains(m.as_str()))
                .cloned()
            else {
                panic!("after {after}: unknown entry {id}: {text}");
            };
            self.acked.insert(id.clone(), m);
        }
        self.maybe_added.clear();
    }
}

/// Median wall time of a few runs of `args` (exit 0 required).
fn time_of(j: &Journal, args: &[&str], editor: Option<&std::path::Path>) -> Duration {
    let mut v = Vec::new();
    for _ in 0..3 {
        let mut c = j.cmd();
        c.args(args);
        if let Some(e) = editor {
            c.env("EDITOR", e)
                .env("NEW_TEXT", "Calibrated zqcalibratedqz");
        }
        let t = Instant::now();
        let out = c.output().unwrap();
        v.push(t.elapsed());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
    v.sort();
    v[1]
}

#[test]
fn sigkill_during_add_edit_and_rotation_never_loses_an_acknowledged_entry() {
    let j = Journal::init();
    let editor = script(
        &j.path("ed.sh"),
        "for f; do :; done\nprintf '%s\\n' \"$NEW_TEXT\" > \"$f\"",
    );
    let mut model = Model::default();
    for i in 0..4 {
        let m = marker(&format!("base{i}"));
        let id = j.add(&format!("Base {i}. {m}"), &["base"]);
        model.acked.insert(id, m.clone());
        model.all_markers.push(m);
    }
    let some_id = model.acked.keys().next().unwrap().clone();
    let unlock = time_of(&j, &["keys", "status"], None);
    let durations = [
        (Kind::Add, time_of(&j, &["add", "Calibration. add"], None)),
        (Kind::Edit, time_of(&j, &["edit", &some_id], Some(&editor))),
        (Kind::Rotate, time_of(&j, &["keys", "rotate"], None)),
    ];
    // The calibration entries and edit are part of the state now.
    let texts = j.export_texts();
    for (id, t) in &texts {
        if !model.acked.contains_key(id) {
            assert!(t.contains("Calibration"));
            model.acked.insert(id.clone(), "Calibration".to_owned());
        }
    }
    model.acked.insert(some_id, "zqcalibratedqz".to_owned());

    let mut kills = 0;
    let mut acked_runs = 0;
    let mut per_kind = [0usize; 3];
    for attempt in 0..ATTEMPTS {
        if kills >= KILLS {
            break;
        }
        let (kind, full) = durations[attempt % 3];
        // Golden-ratio spread over [0.8 x unlock, 1.2 x the full run].
        let frac = (attempt as f64 * 0.618_033_988_75).fract();
        let lo = unlock.as_secs_f64() * 0.8;
        let hi = full.as_secs_f64() * 1.2;
        let delay = Duration::from_secs_f64(lo + frac * (hi - lo).max(0.001));

        let mut c = j.cmd();
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        let new_marker = marker(&format!("k{attempt}"));
        let label;
        let target_id;
        match kind {
            Kind::Add => {
                c.args([
                    "add",
                    "--tag",
                    "kill",
                    &format!("Killed add {attempt}. {new_marker}"),
                ]);
                label = format!("add #{attempt}");
                target_id = None;
            }
            Kind::Edit => {
                let ids: Vec<&String> = model.acked.keys().collect();
                let id = ids[attempt % ids.len()].clone();
                c.env("EDITOR", &editor)
                    .env("NEW_TEXT", format!("Killed edit {attempt}. {new_marker}"))
                    .args(["edit", &id]);
                label = format!("edit #{attempt} of {id}");
                target_id = Some(id);
            }
            Kind::Rotate => {
                c.args(["keys", "rotate"]);
                label = format!("rotation #{attempt}");
                target_id = None;
            }
        }
        model.all_markers.push(new_marker.clone());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let out = child.wait_with_output().unwrap();
        let killed = out.status.signal() == Some(9);
        if killed {
            kills += 1;
            per_kind[kind as usize] += 1;
            match kind {
                Kind::Add => model.maybe_added.push(new_marker),
                Kind::Edit => {
                    let id = target_id.unwrap();
                    let old = model.acked[&id].clone();
                    model.maybe_edited.insert(id, (old, new_marker));
                }
                Kind::Rotate => {}
            }
        } else {
            assert_eq!(
                out.status.code(),
                Some(0),
                "{label} (not killed): {}",
                stderr(&out)
            );
            acked_runs += 1;
            match kind {
                Kind::Add => model.maybe_added.push(new_marker), // resolved by the export below
                Kind::Edit => {
                    model.acked.insert(target_id.unwrap(), new_marker);
                }
                Kind::Rotate => {}
            }
        }
        // After every attempt: the journal opens and holds what it must.
        let export = j.run(&["export", "--format", "json"]);
        assert_eq!(
            export.status.code(),
            Some(0),
            "after {label} (killed: {killed}): the journal does not open: {}",
            stderr(&export)
        );
        let texts =
            crate::common::entry_texts(&crate::common::parse_json(&["export"], &export.stdout));
        let added_now = if !killed && kind == Kind::Add {
            model.maybe_added.last().cloned()
        } else {
            None
        };
        model.check(&texts, &label);
        if let Some(m) = added_now {
            assert!(
                model.acked.values().any(|v| *v == m),
                "after {label}: an acknowledged add ({m}) is missing"
            );
        }
        if attempt % 25 == 0 {
            for m in &model.all_markers {
                let hits = grep_tree(&j.data, m.as_bytes());
                assert!(hits.is_empty(), "after {label}: {m} in plaintext: {hits:?}");
            }
        }
    }
    eprintln!(
        "sigkill: {kills} kills (add {}, edit {}, rotate {}), {acked_runs} runs finished first, {} entries",
        per_kind[0],
        per_kind[1],
        per_kind[2],
        model.acked.len()
    );
    assert!(
        kills >= KILLS,
        "only {kills} kills landed in {ATTEMPTS} attempts"
    );
    assert!(
        per_kind.iter().all(|&k| k >= 10),
        "kills per kind: {per_kind:?}"
    );
    for m in &model.all_markers {
        let hits = grep_tree(&j.data, m.as_bytes());
        assert!(
            hits.is_empty(),
            "after the kills: {m} in plaintext: {hits:?}"
        );
    }
    // The audit log tells a torn tail from tampering.
    let out = j.run(&["audit", "verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "audit verify after SIGKILLs: {}",
        stderr(&out)
    );
    // And the journal is fully usable.
    let id = j.add("After the storm. calm", &[]);
    j.ok(&["show", &id]);
    j.ok(&["keys", "rotate"]);
    j.ok(&["doctor"]);
}
