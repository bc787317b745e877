//! The supply-chain checks: `cargo xtask deny`, `audit` and `vet`, and the
//! same steps for `cargo xtask release-check`.
//!
//! Each step installs its pinned tool on first use ([`crate::tools`]) and
//! returns a one-line note for the summary, or an error saying what failed.
//! The advisory database is chosen once ([`Advisories`]): a local copy
//! (`--db PATH`, `JOURNAL_ADVISORY_DB`, or the team's snapshot beside the
//! checkout), never fetched, or the live RustSec database. Both deny and
//! audit run our freshness gate on it.

use std::path::Path;
use std::process::Command;

use crate::advisory_db::{self, Advisories, Date, Source};
use crate::tools::{self, Tool};
use crate::util;

/// The lock files the audit covers: the workspace and the fuzz workspace.
const LOCK_FILES: &[&str] = &["Cargo.lock", "fuzz/Cargo.lock"];

/// The manifests whose dependency graphs must come from crates.io only.
const WORKSPACES: &[&str] = &["Cargo.toml", "fuzz/Cargo.toml"];

/// A crate every lock file of ours holds (constant-time comparisons); the
/// audit's planted advisory names it.
const PLANTED_CRATE: &str = "subtle";

/// crates.io's index, in both spellings cargo records.
const CRATES_IO: &[&str] = &[
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

fn tool_cmd(installed: &tools::Installed, tool: &Tool) -> Command {
    let mut cmd = Command::new(&installed.path);
    cmd.arg(tool.subcommand).current_dir(util::project_root());
    // cargo sets CARGO for the commands it runs; the tools use it to run
    // `cargo metadata` with the same toolchain (cargo-vet insists on it).
    if std::env::var_os("CARGO").is_none() {
        cmd.env("CARGO", "cargo");
    }
    cmd
}

fn installed_note(tool: &Tool, installed: &tools::Installed) -> String {
    match installed.installed_in {
        Some(took) => format!("{tool} installed in {}", util::secs(took)),
        None => tool.to_string(),
    }
}

/// Runs `cmd`, capturing its output: `Ok(stdout)` when it succeeded, else
/// the error and everything it printed (stdout, then stderr).
fn capture(cmd: &mut Command) -> Result<String, (String, String)> {
    let shown = util::describe(cmd);
    match cmd.output() {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            Err((format!("`{shown}` failed ({})", out.status), text))
        }
        Err(e) => Err((format!("could not start `{shown}`: {e}"), String::new())),
    }
}

/// `cargo fetch --locked` for a workspace, so that the offline steps after it
/// find every crate (and a stale lock file fails here, clearly).
fn fetch_locked(manifest: &Path) -> Result<(), String> {
    util::run(
        util::cargo()
            .args(["fetch", "--locked", "--quiet", "--manifest-path"])
            .arg(manifest),
    )
    .map(|_| ())
    .map_err(|e| {
        format!(
            "{e}: the lock file beside {} does not match its manifests, or crates could not be \
             downloaded",
            manifest.display()
        )
    })
}

/// The ids of `[advisories] ignore` in `deny.toml`: the one list of ignored
/// advisories, which cargo-audit gets as `--ignore` too.
pub(crate) fn ignored_advisories(deny_toml: &str) -> Result<Vec<String>, String> {
    let doc: toml::Table = deny_toml
        .parse()
        .map_err(|e| format!("deny.toml is not valid TOML: {e}"))?;
    let Some(list) = doc
        .get("advisories")
        .and_then(|a| a.get("ignore"))
        .and_then(toml::Value::as_array)
    else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|entry| {
            let id = entry.get("id").and_then(toml::Value::as_str);
            let reason = entry.get("reason").and_then(toml::Value::as_str);
            match (id, reason) {
                (Some(id), Some(reason)) if !reason.trim().is_empty() => Ok(id.to_owned()),
                _ => Err(format!(
                    "deny.toml: every advisory ignore is `{{ id = \"...\", reason = \"...\" }}` \
                     with a reason; found {entry}"
                )),
            }
        })
        .collect()
}

fn read_deny_toml() -> Result<String, String> {
    let path = util::project_root().join("deny.toml");
    std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `deny.toml` with its `db-path` line pointing at `db_root`: how the
/// offline database reaches cargo-deny (its `db-path` expands `$VARS` but
/// not inside a default, so an environment override cannot keep the live
/// default for everyone else).
pub(crate) fn deny_config_for(deny_toml: &str, db_root: &Path) -> Result<String, String> {
    let db_root = db_root
        .to_str()
        .filter(|s| !s.contains(['"', '\\', '$', '~']))
        .ok_or_else(|| format!("{}: not usable as a db-path", db_root.display()))?;
    let mut replaced = 0;
    let lines: Vec<String> = deny_toml
        .lines()
        .map(|line| {
            if line.starts_with("db-path = ") {
                replaced += 1;
                format!("db-path = \"{db_root}\"")
            } else {
                line.to_owned()
            }
        })
        .collect();
    if replaced != 1 {
        return Err(format!(
            "deny.toml must have exactly one line starting `db-path = ` (found {replaced})"
        ));
    }
    Ok(lines.join("\n") + "\n")
}

/// Packages that do not come from crates.io or from inside the repository,
/// from `cargo metadata` output: git and other-registry dependencies, and
/// path dependencies outside `root`.
pub(crate) fn foreign_packages(metadata: &serde_json::Value, root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let packages = metadata
        .get("packages")
        .and_then(serde_json::Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for p in packages {
        let field = |k: &str| p.get(k).and_then(serde_json::Value::as_str).unwrap_or("?");
        let who = format!("{} {}", field("name"), field("version"));
        match p.get("source").and_then(serde_json::Value::as_str) {
            Some(source) if CRATES_IO.contains(&source) => {}
            Some(source) => out.push(format!("{who} from {source}")),
            None => {
                let manifest = Path::new(field("manifest_path"));
                if !manifest.starts_with(root) {
                    out.push(format!("{who}: path dependency at {}", manifest.display()));
                }
            }
        }
    }
    out
}

/// Sources of both workspaces (including the fuzz workspace, which cargo-deny
/// does not check): crates.io, or a path inside the repository.
fn check_sources() -> Result<usize, String> {
    let root = util::project_root();
    let canonical = root.canonicalize().unwrap_or_else(|_| root.clone());
    let mut count = 0;
    for manifest in WORKSPACES {
        let manifest = root.join(manifest);
        fetch_locked(&manifest)?;
        let json = capture(
            util::cargo()
                .args(["metadata", "--format-version", "1", "--locked", "--offline"])
                .arg("--manifest-path")
                .arg(&manifest),
        )
        .map_err(|(e, out)| format!("{e}\n{out}"))?;
        let metadata: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| format!("cargo metadata: {e}"))?;
        let foreign = foreign_packages(&metadata, &canonical);
        if !foreign.is_empty() {
            return Err(format!(
                "{}: dependencies from outside crates.io and this repository:\n  {}",
                manifest.display(),
                foreign.join("\n  ")
            ));
        }
        count += metadata
            .get("packages")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
    }
    Ok(count)
}

/// The freshness gate on the chosen database (offline copies: before the
/// tools run; the live database: after a tool fetched it into `fetched`).
fn gate(db: &Path, adv: &Advisories) -> Result<String, String> {
    let fresh = advisory_db::freshness(db, Date::today(), adv.max_age_days)?;
    Ok(format!("{fresh}, limit {} days", adv.max_age_days))
}

/// How a tool's output is handled: shown as it runs (the real steps) or
/// captured (tests, which look for an advisory id in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Show,
    Capture,
}

fn run_tool(cmd: &mut Command, output: Output) -> Result<(), (String, String)> {
    match output {
        Output::Show => util::run(cmd).map(|_| ()).map_err(|e| (e, String::new())),
        Output::Capture => capture(cmd).map(|_| ()),
    }
}

/// Runs cargo-deny's `checks` on the workspace against the chosen database
/// (an offline copy: gated, staged, never fetched). Returns the freshness
/// note of the database.
fn deny_checks(
    installed: &tools::Installed,
    adv: &Advisories,
    checks: &[&str],
    output: Output,
) -> Result<String, (String, String)> {
    let no_output = |e: String| (e, String::new());
    let root = util::project_root();
    let mut cmd = tool_cmd(installed, &tools::DENY);
    cmd.arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--locked");
    // Kept alive until cargo-deny has run.
    let staging =
        tempfile::tempdir().map_err(|e| no_output(format!("temporary directory: {e}")))?;
    let fresh = match &adv.source {
        Source::Offline(db) => {
            let fresh =
                advisory_db::freshness(db, Date::today(), adv.max_age_days).map_err(no_output)?;
            let dbs = advisory_db::stage_for_deny(db, fresh.newest, &staging.path().join("dbs"))
                .map_err(no_output)?;
            let config = staging.path().join("deny.toml");
            let text =
                deny_config_for(&read_deny_toml().map_err(no_output)?, &dbs).map_err(no_output)?;
            std::fs::write(&config, text)
                .map_err(|e| no_output(format!("{}: {e}", config.display())))?;
            cmd.arg("--offline").arg("--config").arg(config);
            Some(format!("{fresh}, limit {} days", adv.max_age_days))
        }
        Source::Live => {
            cmd.arg("--config").arg(root.join("deny.toml"));
            None
        }
    };
    cmd.arg("check");
    if output == Output::Show {
        cmd.arg("--show-stats");
    }
    cmd.args(checks);
    run_tool(&mut cmd, output)?;
    match fresh {
        Some(f) => Ok(f),
        None => gate(
            &advisory_db::cargo_home()
                .map_err(no_output)?
                .join("advisory-dbs")
                .join(advisory_db::DENY_DB_DIR),
            adv,
        )
        .map_err(no_output),
    }
}

/// `cargo xtask deny`'s step: cargo-deny's licenses, bans, sources and
/// advisories on the workspace, plus our sources check of both workspaces
/// and the freshness gate. Returns a note for the summary.
///
/// # Errors
/// A failed check, a stale database, or a tool that cannot be installed.
pub(crate) fn deny(adv: &Advisories) -> Result<String, String> {
    let installed = tools::ensure(&tools::DENY)?;
    // A stale offline copy fails first, before anything else is looked at
    // (deny_checks reads its dates again to stage it: a few milliseconds).
    if let Source::Offline(db) = &adv.source {
        advisory_db::freshness(db, Date::today(), adv.max_age_days)?;
    }
    let packages = check_sources()?;
    let fresh = deny_checks(&installed, adv, &[], Output::Show).map_err(|(e, _)| e)?;
    Ok(format!(
        "{}; {packages} packages from crates.io or this repository; advisories: {fresh}",
        installed_note(&tools::DENY, &installed)
    ))
}

/// The deny step of `release-check --offline` on a machine with no local
/// advisory database: cargo-deny's licenses, bans and sources checks (which
/// need no database) and our sources check of both workspaces. The note
/// says that advisories were not checked.
///
/// # Errors
/// A failed check, or a tool that cannot be installed.
pub(crate) fn deny_without_advisories() -> Result<String, String> {
    let installed = tools::ensure(&tools::DENY)?;
    let packages = check_sources()?;
    let root = util::project_root();
    let mut cmd = tool_cmd(&installed, &tools::DENY);
    cmd.arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["--locked", "--offline", "--config"])
        .arg(root.join("deny.toml"))
        .args(["check", "--show-stats"])
        .args(DENY_CHECKS_WITHOUT_DB);
    util::run(&mut cmd)?;
    Ok(format!(
        "{}; {packages} packages from crates.io or this repository; {}; advisories NOT checked \
         (offline, no local database)",
        installed_note(&tools::DENY, &installed),
        DENY_CHECKS_WITHOUT_DB.join(", ")
    ))
}

/// cargo-deny's checks that need no advisory database.
const DENY_CHECKS_WITHOUT_DB: &[&str] = &["bans", "licenses", "sources"];

/// Runs cargo-audit on one lock file against `db`; `fetch`: the live
/// database, fetched into `db` first.
fn audit_lock_file(
    installed: &tools::Installed,
    db: &Path,
    lock: &str,
    fetch: bool,
    ignores: &[String],
    output: Output,
) -> Result<(), (String, String)> {
    let mut cmd = tool_cmd(installed, &tools::AUDIT);
    cmd.arg("--db").arg(db);
    if !fetch {
        // Yanked crates need the registry index; cargo-deny checks them
        // (from the local index) in the deny step.
        cmd.args(["--no-fetch", "--no-yanked"]);
    }
    // Unmaintained, unsound and yanked crates fail too, as in deny.toml.
    cmd.args(["--deny", "warnings", "--file"])
        .arg(util::project_root().join(lock));
    for id in ignores {
        cmd.args(["--ignore", id]);
    }
    run_tool(&mut cmd, output)
}

/// Plants a made-up advisory against [`PLANTED_CRATE`] in a scratch database
/// and checks that cargo-audit, run on each lock file as the real step runs
/// it, fails naming it. This guards the step itself: wrong paths or flags
/// that would make the audit pass without looking fail here instead.
fn planted_advisory_is_found(installed: &tools::Installed) -> Result<(), String> {
    let scratch = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let id = advisory_db::write_synthetic_db(scratch.path(), PLANTED_CRATE, Date::today())?;
    for lock in LOCK_FILES {
        match audit_lock_file(installed, scratch.path(), lock, false, &[], Output::Capture) {
            Err((_, out)) if out.contains(&id) => {}
            Err((e, out)) => {
                return Err(format!(
                    "{lock}: the audit failed on the planted advisory {id} without naming it: \
                     {e}\n{out}"
                ));
            }
            Ok(()) => {
                return Err(format!(
                    "{lock}: the audit passed a database with a planted advisory ({id} against \
                     every version of `{PLANTED_CRATE}`): it is not checking this lock file"
                ));
            }
        }
    }
    Ok(())
}

/// `cargo xtask audit`'s step: the freshness gate, then cargo-audit on
/// `Cargo.lock` and `fuzz/Cargo.lock` without fetching (offline copies),
/// after proving on a planted advisory that the audit detects one. Ignores
/// come from `deny.toml`. Returns a note for the summary.
///
/// # Errors
/// A vulnerable, unmaintained, unsound or yanked dependency, a stale
/// database, or a tool that cannot be installed.
pub(crate) fn audit(adv: &Advisories) -> Result<String, String> {
    let installed = tools::ensure(&tools::AUDIT)?;
    let ignores = ignored_advisories(&read_deny_toml()?)?;
    planted_advisory_is_found(&installed)?;
    let (db, fetch) = match &adv.source {
        Source::Offline(db) => (db.clone(), false),
        // cargo-audit's own default location, named so the gate reads it.
        Source::Live => (advisory_db::cargo_home()?.join("advisory-db"), true),
    };
    // An offline copy is judged before it is used; the live database once
    // it has been fetched.
    let early = if fetch { None } else { Some(gate(&db, adv)?) };
    for lock in LOCK_FILES {
        audit_lock_file(&installed, &db, lock, fetch, &ignores, Output::Show)
            .map_err(|(e, _)| format!("{lock}: {e}"))?;
    }
    let fresh = match early {
        Some(fresh) => fresh,
        None => gate(&db, adv)?,
    };
    let ignored = match ignores.len() {
        0 => String::new(),
        n => format!(", {n} ignored in deny.toml"),
    };
    Ok(format!(
        "{}; {} lock files clean{ignored}; planted advisory caught; {fresh}",
        installed_note(&tools::AUDIT, &installed),
        LOCK_FILES.len()
    ))
}

/// `cargo xtask vet`'s step: `cargo vet --locked` (no imports fetched) on
/// `supply-chain/`. With `regenerate`, first rewrites the exemptions to
/// cover exactly the dependencies our audits do not (after dependencies
/// change; review the diff). Returns a note for the summary.
///
/// # Errors
/// Unvetted dependencies, or a tool that cannot be installed.
pub(crate) fn vet(regenerate: bool) -> Result<String, String> {
    let installed = tools::ensure(&tools::VET)?;
    if regenerate {
        // cargo-vet refuses `--locked` here; with no imports configured it
        // needs no network.
        util::run(tool_cmd(&installed, &tools::VET).args(["regenerate", "exemptions"]))?;
    }
    let out = capture(tool_cmd(&installed, &tools::VET).arg("--locked"))
        .map_err(|(e, out)| format!("{e}\n{out}"))?;
    let summary = out
        .lines()
        .find(|l| l.contains("Vetting Succeeded"))
        .unwrap_or("vetting succeeded")
        .trim()
        .to_owned();
    Ok(format!(
        "{}; {summary}; crypto-reviewed audits: {}",
        installed_note(&tools::VET, &installed),
        crypto_reviewed_audits()?.join(", ")
    ))
}

/// The crates `supply-chain/audits.toml` audits under `crypto-reviewed`, as
/// `name version`, for the summary.
fn crypto_reviewed_audits() -> Result<Vec<String>, String> {
    let path = util::project_root().join("supply-chain/audits.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    if let Some(audits) = doc.get("audits").and_then(toml::Value::as_table) {
        for (name, entries) in audits {
            for entry in entries.as_array().map_or(&[][..], Vec::as_slice) {
                let criteria = entry.get("criteria").and_then(toml::Value::as_str);
                let version = entry.get("version").and_then(toml::Value::as_str);
                if let (Some("crypto-reviewed"), Some(v)) = (criteria, version) {
                    out.push(format!("{name} {v}"));
                }
            }
        }
    }
    Ok(out)
}

fn print_note(task: &str, result: Result<String, String>) -> Result<(), String> {
    let note = result?;
    println!("{task}: ok ({note})");
    Ok(())
}

/// `cargo xtask deny [--db PATH|live] [--max-age-days N] [--offline]`.
pub(crate) fn run_deny(args: &[String]) -> Result<(), String> {
    let adv = Advisories::from_args(args)?;
    println!("deny: {} ({})", describe_source(&adv.source), adv.chosen_by);
    print_note("deny", deny(&adv))
}

/// `cargo xtask audit [--db PATH|live] [--max-age-days N] [--offline]`.
pub(crate) fn run_audit(args: &[String]) -> Result<(), String> {
    let adv = Advisories::from_args(args)?;
    println!(
        "audit: {} ({})",
        describe_source(&adv.source),
        adv.chosen_by
    );
    print_note("audit", audit(&adv))
}

/// `cargo xtask vet [--regenerate-exemptions]`.
pub(crate) fn run_vet(args: &[String]) -> Result<(), String> {
    let regenerate = match args {
        [] => false,
        [flag] if flag == "--regenerate-exemptions" => true,
        [other, ..] => return Err(format!("unexpected argument `{other}`")),
    };
    print_note("vet", vet(regenerate))
}

/// One line naming the database, for the start of a run.
pub(crate) fn describe_source(source: &Source) -> String {
    match source {
        Source::Offline(db) => {
            let snapshot = advisory_db::snapshot_note(db)
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            format!("advisory database {}{snapshot}", db.display())
        }
        Source::Live => "live advisory database (fetched)".to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn offline(db: &Path, max_age_days: u32) -> Advisories {
        Advisories {
            source: Source::Offline(db.to_path_buf()),
            max_age_days,
            chosen_by: "test".to_owned(),
        }
    }

    /// A database planting an advisory against a crate in both lock files,
    /// and a control database whose one advisory names a crate we do not use.
    fn planted_and_control() -> (tempfile::TempDir, String, tempfile::TempDir) {
        let planted = tempfile::tempdir().unwrap();
        let id =
            advisory_db::write_synthetic_db(planted.path(), PLANTED_CRATE, Date::today()).unwrap();
        let control = tempfile::tempdir().unwrap();
        advisory_db::write_synthetic_db(control.path(), "no-such-crate-here", Date::today())
            .unwrap();
        (planted, id, control)
    }

    /// The audit (cargo-audit, installed on first use) fails on each lock
    /// file when the database names a crate in it, passes the control, and
    /// honours an ignore.
    #[test]
    fn the_audit_fails_on_a_planted_advisory_in_each_lock_file() {
        let installed = tools::ensure(&tools::AUDIT).unwrap();
        let (planted, id, control) = planted_and_control();
        for lock in LOCK_FILES {
            let (err, out) = audit_lock_file(
                &installed,
                planted.path(),
                lock,
                false,
                &[],
                Output::Capture,
            )
            .unwrap_err();
            assert!(out.contains(&id), "{lock}: {err}\n{out}");
            audit_lock_file(
                &installed,
                control.path(),
                lock,
                false,
                &[],
                Output::Capture,
            )
            .unwrap_or_else(|(e, out)| panic!("{lock}: control failed: {e}\n{out}"));
            let ignored = [id.clone()];
            audit_lock_file(
                &installed,
                planted.path(),
                lock,
                false,
                &ignored,
                Output::Capture,
            )
            .unwrap_or_else(|(e, out)| panic!("{lock}: ignore not honoured: {e}\n{out}"));
        }
        planted_advisory_is_found(&installed).unwrap();
    }

    /// cargo-deny, given the same planted database through the staged
    /// layout, reports the advisory and fails.
    #[test]
    fn cargo_deny_fails_on_a_planted_advisory() {
        let installed = tools::ensure(&tools::DENY).unwrap();
        let (planted, id, _control) = planted_and_control();
        let (err, out) = deny_checks(
            &installed,
            &offline(planted.path(), 90),
            &["advisories"],
            Output::Capture,
        )
        .unwrap_err();
        assert!(out.contains("error[vulnerability]"), "{err}\n{out}");
        assert!(out.contains(&format!("ID: {id}")), "{err}\n{out}");
    }

    /// Offline without a database: cargo-deny's other checks still run on
    /// the workspace, and the note says that advisories were not checked.
    #[test]
    fn deny_without_a_database_runs_the_other_checks_and_says_so() {
        let note = deny_without_advisories().unwrap();
        assert!(note.contains("bans, licenses, sources"), "{note}");
        assert!(note.contains("advisories NOT checked"), "{note}");
    }

    /// Both steps refuse an old database before trusting it.
    #[test]
    fn deny_and_audit_refuse_a_stale_database() {
        let old = tempfile::tempdir().unwrap();
        let day = Date::from_days(Date::today().days() - 91);
        advisory_db::write_synthetic_db(old.path(), "no-such-crate-here", day).unwrap();
        for (step, result) in [
            ("deny", deny(&offline(old.path(), 90))),
            ("audit", audit(&offline(old.path(), 90))),
        ] {
            let err = result.unwrap_err();
            assert!(
                err.contains("is stale") && err.contains("91 days"),
                "{step}: {err}"
            );
        }
        // One more day of allowance and the gate lets the same database by.
        advisory_db::freshness(old.path(), Date::today(), 91).unwrap();
    }

    /// The team's snapshot (where this checkout has one), whatever its age:
    /// no advisory against our lock files that deny.toml does not ignore.
    #[test]
    fn the_real_snapshot_finds_nothing_we_do_not_ignore() {
        let Source::Offline(db) = Advisories::from_args(&[]).unwrap().source else {
            eprintln!("no local advisory database: nothing to check");
            return;
        };
        let ignores = ignored_advisories(&read_deny_toml().unwrap()).unwrap();
        let installed = tools::ensure(&tools::AUDIT).unwrap();
        for lock in LOCK_FILES {
            audit_lock_file(&installed, &db, lock, false, &ignores, Output::Capture)
                .unwrap_or_else(|(e, out)| panic!("{lock}: {e}\n{out}"));
        }
        let installed = tools::ensure(&tools::DENY).unwrap();
        deny_checks(
            &installed,
            &offline(&db, u32::MAX),
            &["advisories"],
            Output::Capture,
        )
        .unwrap_or_else(|(e, out)| panic!("{e}\n{out}"));
    }

    /// A scratch copy of `supply-chain/`.
    fn scratch_store() -> tempfile::TempDir {
        let store = tempfile::tempdir().unwrap();
        for file in ["config.toml", "audits.toml", "imports.lock"] {
            let from = util::project_root().join("supply-chain").join(file);
            std::fs::copy(&from, store.path().join(file)).unwrap();
        }
        store
    }

    /// The `crypto-reviewed` policy is enforced: with one of our audits
    /// removed, `cargo vet --locked` fails and names that crate, although
    /// its `safe-to-deploy` exemption is still there.
    #[test]
    fn vet_requires_our_crypto_reviewed_audits() {
        let installed = tools::ensure(&tools::VET).unwrap();
        let lock = std::fs::read_to_string(util::project_root().join("Cargo.lock")).unwrap();
        let audited = crypto_reviewed_audits().unwrap();
        let (name, version) = audited
            .iter()
            .filter_map(|a| a.split_once(' '))
            .find(|(n, v)| lock.contains(&format!("name = \"{n}\"\nversion = \"{v}\"")))
            .unwrap_or_else(|| panic!("none of {audited:?} is in Cargo.lock"));

        let store = scratch_store();
        let check = |store: &Path| {
            capture(
                tool_cmd(&installed, &tools::VET)
                    .arg("--store-path")
                    .arg(store)
                    .arg("--locked"),
            )
        };
        let missing = format!("{name}:{version} missing [\"crypto-reviewed\"]");
        // The committed store may lag a dependency change (then `cargo
        // xtask vet` says so); it never lacks this audit.
        if let Err((e, out)) = check(store.path()) {
            assert!(!out.contains(&missing), "baseline: {e}\n{out}");
        }

        // Drop the audit's `[[audits.NAME]]` block, keeping the file in
        // cargo-vet's own format (it refuses reformatted stores).
        let audits_path = store.path().join("audits.toml");
        let text = std::fs::read_to_string(&audits_path).unwrap();
        let header = format!("[[audits.{name}]]\n");
        let start = text.find(&header).unwrap();
        let end = text[start + header.len()..]
            .find("\n[")
            .map_or(text.len(), |i| start + header.len() + i + 1);
        std::fs::write(&audits_path, format!("{}{}", &text[..start], &text[end..])).unwrap();

        let (err, out) = check(store.path()).unwrap_err();
        assert!(out.contains(&missing), "{err}\n{out}");
    }

    #[test]
    fn every_ignore_in_deny_toml_has_a_reason() {
        let ours = read_deny_toml().unwrap();
        let ids = ignored_advisories(&ours).unwrap();
        assert!(ids.iter().all(|id| id.starts_with("RUSTSEC-")), "{ids:?}");

        let bare = "[advisories]\nignore = [\"RUSTSEC-2020-0001\"]\n";
        assert!(ignored_advisories(bare).unwrap_err().contains("reason"));
        let empty = "[advisories]\nignore = [{ id = \"RUSTSEC-2020-0001\", reason = \" \" }]\n";
        assert!(ignored_advisories(empty).is_err());
        let good = "[advisories]\nignore = [{ id = \"RUSTSEC-2020-0001\", reason = \"x\" }]\n";
        assert_eq!(ignored_advisories(good).unwrap(), ["RUSTSEC-2020-0001"]);
    }

    #[test]
    fn the_offline_config_changes_only_the_db_path() {
        let ours = read_deny_toml().unwrap();
        let moved = deny_config_for(&ours, Path::new("/tmp/x/dbs")).unwrap();
        let diff: Vec<_> = ours
            .lines()
            .zip(moved.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(diff.len(), 1, "{diff:?}");
        assert_eq!(diff[0].1, "db-path = \"/tmp/x/dbs\"");
        assert_eq!(ours.lines().count(), moved.lines().count());

        assert!(deny_config_for("[advisories]\n", Path::new("/tmp")).is_err());
        assert!(deny_config_for(&ours, Path::new("/tmp/$HOME")).is_err());
    }

    #[test]
    fn git_registry_and_outside_path_dependencies_are_foreign() {
        let root = Path::new("/repo");
        let metadata = serde_json::json!({ "packages": [
            { "name": "subtle", "version": "2.6.1",
              "source": "registry+https://github.com/rust-lang/crates.io-index",
              "manifest_path": "/home/u/.cargo/registry/src/subtle-2.6.1/Cargo.toml" },
            { "name": "secure-fs", "version": "0.1.0", "source": null,
              "manifest_path": "/repo/crates/secure-fs/Cargo.toml" },
            { "name": "evil", "version": "1.0.0", "source": null,
              "manifest_path": "/elsewhere/evil/Cargo.toml" },
            { "name": "forked", "version": "0.1.0",
              "source": "git+https://example.com/forked?rev=abc#abc",
              "manifest_path": "/x/Cargo.toml" },
            { "name": "private", "version": "0.1.0",
              "source": "sparse+https://registry.example.com/",
              "manifest_path": "/x/Cargo.toml" },
        ]});
        let foreign = foreign_packages(&metadata, root);
        assert_eq!(foreign.len(), 3, "{foreign:?}");
        assert!(foreign[0].starts_with("evil 1.0.0: path dependency"));
        assert!(foreign[1].starts_with("forked 0.1.0 from git+"));
        assert!(foreign[2].starts_with("private 0.1.0 from sparse+https://registry.example.com"));
    }
}
