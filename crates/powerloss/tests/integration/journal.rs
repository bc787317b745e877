//! The journal app under power loss: `add`, `edit` and `keys rotate` run
//! in-process (the app's own command code and storage, through its
//! library) on the recording file system; after every cut the journal
//! unlocks and opens, every acknowledged entry reads back whole with its
//! acknowledged text, an entry whose add or edit was in flight holds its
//! old or its new text and nothing in between, and no entry appears that
//! was never written.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use ::journal::cli::Cli;
use ::journal::entry::EntryId;
use ::journal::session;
use ::journal::ui::Ui;
use clap::FromArgMatches;
use powerloss::explore;

use crate::common;

const TEST: &str = "journal_add_edit_and_rotation_survive_every_cut";
const PASSPHRASE: &str = "power loss passphrase";
/// Cut points checked by default (issue 16: at least 100).
const CUTS: usize = 100;

/// One acknowledged step of the workload, in marker order.
#[derive(Debug, Clone)]
enum Step {
    /// `add TEXT` returned: the entry with this marker exists.
    Added(String),
    /// The entry (by marker of its add) now holds this marker.
    Edited { entry: String, text: String },
    /// `keys rotate` returned.
    Rotated,
}

fn label(s: &Step) -> String {
    match s {
        Step::Added(m) => format!("added {m}"),
        Step::Edited { entry, text } => format!("edited {entry} to {text}"),
        Step::Rotated => "rotated".to_owned(),
    }
}

/// Runs a journal command in this process, as the binary would.
fn journal(data: &Path, pass: &Path, args: &[&str]) {
    let mut argv = vec![
        "journal".to_owned(),
        "--data-dir".to_owned(),
        data.display().to_string(),
        "--passphrase-file".to_owned(),
        pass.display().to_string(),
    ];
    argv.extend(args.iter().map(|s| (*s).to_owned()));
    let matches = ::journal::cli::command()
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let cli = Cli::from_arg_matches(&matches).unwrap();
    ::journal::commands::dispatch(cli, Ui::plain()).unwrap_or_else(|e| panic!("{args:?}: {e:#}"));
}

/// The storage half of `edit`: read the entry, change its body, save it,
/// audit the change (the editor itself is not what a power cut tests).
fn edit(data: &Path, pass: &Path, id: &EntryId, text: &str) {
    let s = session::unlock(data, Some(&pass.to_path_buf()), Ui::plain())
        .unwrap()
        .into_session()
        .unwrap();
    let mut store = s.store().unwrap();
    let mut e = store.read_entry(id).unwrap();
    e.body = text.to_owned();
    e.updated += 1;
    store.upsert(vec![e]).unwrap();
    s.audit(encrypted_audit_log::Event::new("entry.edit").with("entry", id.to_string()))
        .unwrap();
    drop(store);
    s.close().unwrap();
}

/// Every entry's text (title and body) by id, or why the journal does not open.
fn read_all(data: &Path, pass: &Path) -> Result<BTreeMap<String, String>, String> {
    let s = session::unlock(data, Some(&pass.to_path_buf()), Ui::plain())
        .map_err(|e| format!("unlock: {e:#}"))?
        .into_session()
        .map_err(|e| format!("open: {e:#}"))?;
    let store = s.store().map_err(|e| format!("store: {e:#}"))?;
    let mut out = BTreeMap::new();
    for id in store.ids() {
        let e = store
            .read_entry(&id)
            .map_err(|err| format!("entry {id}: {err:#}"))?;
        out.insert(id.to_string(), format!("{}\n{}", e.title, e.body));
    }
    drop(store);
    s.close().map_err(|e| format!("close: {e:#}"))?;
    Ok(out)
}

fn marker(what: &str, i: usize) -> String {
    format!("zq{what}{i}qz")
}

#[test]
fn journal_add_edit_and_rotation_survive_every_cut() {
    let Some(rec) = common::recorder(TEST) else {
        return;
    };
    // The passphrase file lives outside the recorded tree (it is input).
    let outside = tempfile::tempdir().unwrap();
    let pass = outside.path().join("passphrase");
    std::fs::write(&pass, format!("{PASSPHRASE}\n")).unwrap();
    let data: PathBuf = rec.path().join("journal");
    journal(&data, &pass, &["init"]);
    let mut ids: BTreeMap<String, EntryId> = BTreeMap::new();
    let find_id = |data: &Path, m: &str| -> EntryId {
        let all = read_all(data, &pass).unwrap();
        let (id, _) = all.iter().find(|(_, t)| t.contains(m)).unwrap();
        EntryId::parse(id).unwrap()
    };
    // Two entries before the recorded part.
    for i in 0..2 {
        let m = marker("base", i);
        journal(&data, &pass, &["add", &format!("Base {i}. {m}")]);
        ids.insert(m.clone(), find_id(&data, &m));
    }
    rec.mark("setup");
    let mut steps: Vec<Step> = Vec::new();
    let step = |s: Step, steps: &mut Vec<Step>| {
        rec.mark(label(&s));
        steps.push(s);
    };
    let workload = [
        "add", "edit", "add", "rotate", "edit", "add", "edit", "rotate", "add",
    ];
    for (i, op) in workload.iter().enumerate() {
        match *op {
            "add" => {
                let m = marker("add", i);
                journal(
                    &data,
                    &pass,
                    &["add", "--tag", "cut", &format!("Cut {i}. {m}")],
                );
                step(Step::Added(m.clone()), &mut steps);
                // Not recorded as a step: finding the id only reads.
                ids.insert(m.clone(), find_id(&data, &m));
            }
            "edit" => {
                let entry = ids.keys().nth(i % ids.len()).unwrap().clone();
                let text = marker("edit", i);
                edit(&data, &pass, &ids[&entry], &format!("edited body {text}"));
                step(Step::Edited { entry, text }, &mut steps);
            }
            _ => {
                journal(&data, &pass, &["keys", "rotate"]);
                step(Step::Rotated, &mut steps);
            }
        }
    }
    let trace = rec.finish().unwrap();
    let start = trace.position_after_mark("setup").unwrap();
    let base: Vec<String> = (0..2).map(|i| marker("base", i)).collect();
    // Each crash state costs a full unlock (PBKDF2 at 600,000 iterations,
    // about 1.2 s of CPU in a debug build, where keystore-rotation's loop is
    // not optimised): the 100 cuts by default, those next to syncs,
    // renames and markers first and the rest spread evenly.
    // `POWERLOSS_MAX_CUTS=n` overrides for longer (or quicker) local runs.
    let custom = std::env::var_os("POWERLOSS_MAX_CUTS").is_some();
    let mut options = common::explore_options(TEST).start(start);
    if !custom {
        options = options.max_cuts(CUTS);
    }
    let report = explore(&trace, &options, |case| {
        let done = case.marks.len() - 1; // minus "setup"
        let data = case.root.join("journal");
        check(&data, &pass, &base, &steps[..done], steps.get(done))
    })
    .unwrap();
    let _ = writeln!(std::io::stderr(), "powerloss: {TEST}: {report}");
    for f in &report.failures {
        let _ = writeln!(std::io::stderr(), "powerloss: {TEST}: failure: {f}");
    }
    assert!(report.failures.is_empty(), "{TEST}: {report}");
    assert!(
        custom || report.cuts >= CUTS,
        "{TEST}: only {} cut points (need {CUTS})",
        report.cuts
    );
}

/// One crash state against the acknowledged steps and the one in flight.
fn check(
    data: &Path,
    pass: &Path,
    base: &[String],
    done: &[Step],
    in_flight: Option<&Step>,
) -> Result<(), String> {
    let texts = read_all(data, pass).map_err(|e| {
        format!(
            "the journal does not open after {} acknowledged steps (last: {}): {e}",
            done.len(),
            done.last().map_or_else(|| "setup".to_owned(), label)
        )
    })?;
    // What each entry (by the marker of its add) must hold.
    let mut want: BTreeMap<String, String> = base.iter().map(|m| (m.clone(), m.clone())).collect();
    for s in done {
        match s {
            Step::Added(m) => {
                want.insert(m.clone(), m.clone());
            }
            Step::Edited { entry, text } => {
                want.insert(entry.clone(), text.clone());
            }
            Step::Rotated => {}
        }
    }
    let mut seen = 0;
    for (entry, text) in &want {
        let alt = match in_flight {
            Some(Step::Edited { entry: e, text: t }) if e == entry => Some(t),
            _ => None,
        };
        let found = texts
            .values()
            .filter(|t| t.contains(text.as_str()) || alt.is_some_and(|a| t.contains(a.as_str())))
            .count();
        if found != 1 {
            return Err(format!(
                "entry {entry} should hold {text}{}: found {found} matching entries in {texts:?}",
                alt.map_or_else(String::new, |a| format!(" or {a}"))
            ));
        }
        seen += 1;
    }
    let extra = texts.len() - seen.min(texts.len());
    let in_flight_add = matches!(in_flight, Some(Step::Added(_)));
    if extra > usize::from(in_flight_add) {
        return Err(format!(
            "{extra} entries that were never acknowledged: {texts:?}"
        ));
    }
    if let (1, Some(Step::Added(m))) = (extra, in_flight)
        && !texts.values().any(|t| t.contains(m.as_str()))
    {
        return Err(format!("an unknown entry appeared: {texts:?}"));
    }
    Ok(())
}
