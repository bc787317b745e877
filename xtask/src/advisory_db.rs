//! The RustSec advisory database: which one to use, how old it is, and the
//! layouts cargo-deny and cargo-audit expect.
//!
//! The freshness gate is ours because neither tool checks what matters
//! offline: cargo-audit skips its staleness check when it does not fetch,
//! and cargo-deny judges a database by git times (the last fetch, or the
//! time the checkout was written), which any copy refreshes. The gate reads
//! the `date` of every advisory and fails when the newest is older than the
//! limit: a database nobody has refreshed cannot pass, however it was copied.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

/// Where the team's offline snapshot lives, relative to the checkout.
const SNAPSHOT_BESIDE_CHECKOUT: &str = "../shared/advisory-db";

/// cargo-deny's directory for the default database URL
/// `https://github.com/rustsec/advisory-db` under its `db-path`: the URL's
/// last path segment and its XxHash64 (cargo-deny `url_to_db_path`).
pub(crate) const DENY_DB_DIR: &str = "advisory-db-3157b0e258782691";

/// A calendar date (proleptic Gregorian), enough for advisory dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Date {
    year: i64,
    month: u8,
    day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let mut parts = s.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if !(all_digits(y) && all_digits(m) && all_digits(d)) {
            return None;
        }
        let date = Self {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        };
        // Round-trip through the day count rejects 2026-02-30 and friends.
        (date.month >= 1 && date.month <= 12 && Self::from_days(date.days()) == date)
            .then_some(date)
    }

    /// Today (UTC), from the system clock.
    pub(crate) fn today() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self::from_days(i64::try_from(secs / 86_400).unwrap_or(i64::MAX))
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    pub(crate) fn days(self) -> i64 {
        let y = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(self.month);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (`civil_from_days`).
    pub(crate) fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        // day is in 1..=31 and month in 1..=12 by construction.
        Self {
            year,
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }

    /// The year, for advisory ids.
    pub(crate) fn year(self) -> i64 {
        self.year
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Which advisory database the checks use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A local copy, never fetched: the team's snapshot or a user's path.
    Offline(PathBuf),
    /// The live RustSec database, fetched by the tools (needs internet).
    Live,
}

/// The advisory settings of one run: the database and the oldest it may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Advisories {
    /// The database.
    pub(crate) source: Source,
    /// The freshness limit in days.
    pub(crate) max_age_days: u32,
    /// How `source` and `max_age_days` were chosen, for the summary.
    pub(crate) chosen_by: String,
}

impl Advisories {
    /// The settings with `--db PATH|live`, `--max-age-days N` and
    /// `--offline` taken from `args` (which must hold nothing else) before
    /// the environment (`JOURNAL_ADVISORY_DB`, `JOURNAL_ADVISORY_MAX_AGE_DAYS`),
    /// then the snapshot beside the checkout, then the live database, and
    /// `deny.toml`'s age limit. `--offline` forbids the live database: with
    /// no local copy found it is an error here (see [`Advisories::parse`]).
    ///
    /// # Errors
    /// An unknown or malformed argument, or `--offline` without a local
    /// database.
    pub(crate) fn from_args(args: &[String]) -> Result<Self, String> {
        Self::parse(args)?.ok_or_else(|| {
            format!(
                "--offline, and no local advisory database: give --db PATH or \
                 JOURNAL_ADVISORY_DB, or put the snapshot at {SNAPSHOT_BESIDE_CHECKOUT}"
            )
        })
    }

    /// As [`Advisories::from_args`], but `--offline` with no local database
    /// found is `Ok(None)`: a machine that cannot reach the live database
    /// and has no copy of it, whose advisory checks are then reported as
    /// skipped (`cargo xtask release-check --offline`).
    ///
    /// # Errors
    /// An unknown or malformed argument, `--offline` with `live`, or a
    /// malformed environment variable or `deny.toml` limit.
    pub(crate) fn parse(args: &[String]) -> Result<Option<Self>, String> {
        AdvisoryFlags::parse(args)?.resolve()
    }

    /// The settings, and whether the live database was chosen only because
    /// no local copy was found.
    fn resolve(
        db: Option<String>,
        max_age: Option<u32>,
        around: Surroundings,
    ) -> Result<(Self, bool), String> {
        let Surroundings {
            env_db,
            env_age,
            snapshot,
        } = around;
        let fell_back_to_live = db.is_none() && env_db.is_none() && !snapshot.is_dir();
        let (source, db_how) = match (db, env_db) {
            (Some(d), _) => (source_from(&d), "--db"),
            (None, Some(d)) => (source_from(&d), "JOURNAL_ADVISORY_DB"),
            (None, None) if !fell_back_to_live => (
                Source::Offline(snapshot.canonicalize().unwrap_or(snapshot)),
                "the snapshot beside the checkout",
            ),
            (None, None) => (Source::Live, "no local database"),
        };
        let env_age = env_age.as_deref().map(parse_days).transpose()?;
        let (max_age_days, age_how) = match (max_age, env_age) {
            (Some(n), _) => (n, "--max-age-days"),
            (None, Some(n)) => (n, "JOURNAL_ADVISORY_MAX_AGE_DAYS"),
            (None, None) => (deny_toml_max_age()?, "deny.toml"),
        };
        let adv = Self {
            source,
            max_age_days,
            chosen_by: format!("database from {db_how}, age limit from {age_how}"),
        };
        Ok((adv, fell_back_to_live))
    }
}

/// What the advisory settings depend on besides the flags: the environment
/// and the snapshot's place beside the checkout.
#[derive(Debug, Clone)]
pub(crate) struct Surroundings {
    /// `JOURNAL_ADVISORY_DB`, when set and not empty.
    env_db: Option<String>,
    /// `JOURNAL_ADVISORY_MAX_AGE_DAYS`, when set and not empty.
    env_age: Option<String>,
    /// Where the team's snapshot would be.
    snapshot: PathBuf,
}

impl Surroundings {
    /// This process's environment and checkout.
    pub(crate) fn current() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
        Self {
            env_db: var("JOURNAL_ADVISORY_DB"),
            env_age: var("JOURNAL_ADVISORY_MAX_AGE_DAYS"),
            snapshot: util::project_root().join(SNAPSHOT_BESIDE_CHECKOUT),
        }
    }
}

/// The advisory flags of a command line (`--db PATH|live`,
/// `--max-age-days N`, `--offline`), parsed but not yet resolved against
/// the environment and `deny.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AdvisoryFlags {
    db: Option<String>,
    max_age: Option<u32>,
    offline: bool,
}

impl AdvisoryFlags {
    /// Parses `args`, which must hold nothing else.
    ///
    /// # Errors
    /// An unknown argument or a missing or malformed value.
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut flags = Self::default();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match arg.as_str() {
                "--db" => flags.db = Some(value("--db")?),
                "--max-age-days" => flags.max_age = Some(parse_days(&value("--max-age-days")?)?),
                "--offline" => flags.offline = true,
                other => return Err(format!("unexpected argument `{other}`")),
            }
        }
        Ok(flags)
    }

    /// The settings these flags choose: `Ok(None)` when `--offline` was
    /// given and no local database was found.
    ///
    /// # Errors
    /// `--offline` with the live database, or a malformed environment
    /// variable or `deny.toml` limit.
    pub(crate) fn resolve(self) -> Result<Option<Advisories>, String> {
        self.resolve_in(Surroundings::current())
    }

    fn resolve_in(self, around: Surroundings) -> Result<Option<Advisories>, String> {
        let (adv, fell_back_to_live) = Advisories::resolve(self.db, self.max_age, around)?;
        match (&adv.source, self.offline) {
            (Source::Live, true) if fell_back_to_live => Ok(None),
            (Source::Live, true) => Err(format!(
                "--offline, but the live advisory database was asked for ({})",
                adv.chosen_by
            )),
            _ => Ok(Some(adv)),
        }
    }
}

fn source_from(s: &str) -> Source {
    if s == "live" {
        Source::Live
    } else {
        Source::Offline(PathBuf::from(s))
    }
}

fn parse_days(s: &str) -> Result<u32, String> {
    s.parse()
        .map_err(|_| format!("the age limit must be a whole number of days, got `{s}`"))
}

/// The `[advisories] maximum-db-staleness` of `deny.toml`, in days: the one
/// place the project's limit is written down.
fn deny_toml_max_age() -> Result<u32, String> {
    let path = util::project_root().join("deny.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    max_age_from_deny_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) fn max_age_from_deny_toml(text: &str) -> Result<u32, String> {
    let doc: toml::Table = text.parse().map_err(|e| format!("not valid TOML: {e}"))?;
    let value = doc
        .get("advisories")
        .and_then(|a| a.get("maximum-db-staleness"))
        .and_then(toml::Value::as_str)
        .ok_or("no [advisories] maximum-db-staleness")?;
    value
        .strip_prefix('P')
        .and_then(|v| v.strip_suffix('D'))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("maximum-db-staleness must be `P<days>D`, got `{value}`"))
}

/// What the freshness gate found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Freshness {
    /// The newest advisory's date and id.
    pub(crate) newest: Date,
    pub(crate) newest_id: String,
    /// How many advisories the database holds.
    pub(crate) count: usize,
    /// Days between `newest` and today.
    pub(crate) age_days: i64,
}

impl fmt::Display for Freshness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} advisories, newest {} ({}), {} days old",
            self.count, self.newest, self.newest_id, self.age_days
        )
    }
}

/// The freshness gate: reads every advisory's date under `db` and fails
/// when the newest is more than `max_age_days` before `today` (or after
/// it: a clock or a database that is wrong is not trusted either).
///
/// # Errors
/// A database without advisories, an advisory without a readable date, or
/// a stale database; each message names the database and what to do.
pub(crate) fn freshness(db: &Path, today: Date, max_age_days: u32) -> Result<Freshness, String> {
    let mut newest: Option<(Date, String)> = None;
    let mut count = 0;
    for collection in ["crates", "rust"] {
        let dir = db.join(collection);
        let Ok(packages) = std::fs::read_dir(&dir) else {
            continue;
        };
        for package in packages.flatten() {
            let Ok(files) = std::fs::read_dir(package.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if path.extension().is_none_or(|e| e != "md") {
                    continue;
                }
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let (id, date) = front_matter(&text).ok_or_else(|| {
                    format!(
                        "{}: no `id` and `date = \"YYYY-MM-DD\"` in its front matter",
                        path.display()
                    )
                })?;
                count += 1;
                if newest.as_ref().is_none_or(|(d, _)| date > *d) {
                    newest = Some((date, id));
                }
            }
        }
    }
    let (newest, newest_id) = newest.ok_or_else(|| {
        format!(
            "{}: no advisories under crates/ (not a RustSec advisory-db checkout?)",
            db.display()
        )
    })?;
    let age_days = today.days() - newest.days();
    if age_days < 0 {
        return Err(format!(
            "{}: the newest advisory ({newest_id}) is dated {newest}, after today ({today}): \
             the clock or the database is wrong",
            db.display()
        ));
    }
    if age_days > i64::from(max_age_days) {
        return Err(format!(
            "advisory database {} is stale: its newest advisory ({newest_id}) is dated {newest}, \
             {age_days} days before today ({today}), and the limit is {max_age_days} days. \
             Refresh it (SECURITY.md, \"Refreshing the advisory database\"), or accept it for \
             one run with --max-age-days N / JOURNAL_ADVISORY_MAX_AGE_DAYS=N",
            db.display()
        ));
    }
    Ok(Freshness {
        newest,
        newest_id,
        count,
        age_days,
    })
}

/// The `id` and `date` of an advisory file's TOML front matter.
fn front_matter(text: &str) -> Option<(String, Date)> {
    let body = text.trim_start().strip_prefix("```toml")?;
    let block = &body[..body.find("```")?];
    let mut id = None;
    let mut date = None;
    let mut in_advisory = false;
    for line in block.lines().map(str::trim) {
        if line.starts_with('[') {
            in_advisory = line == "[advisory]";
            continue;
        }
        if !in_advisory {
            continue;
        }
        let quoted = |key: &str| {
            let rest = line
                .strip_prefix(key)?
                .trim_start()
                .strip_prefix('=')?
                .trim();
            rest.strip_prefix('"')?.strip_suffix('"').map(str::to_owned)
        };
        if let Some(v) = quoted("id") {
            id = Some(v);
        } else if let Some(v) = quoted("date") {
            date = Date::parse(&v);
        }
    }
    Some((id?, date?))
}

/// The first line of `SNAPSHOT.txt` (the team's snapshot says its commit
/// and date there), if the database has one.
pub(crate) fn snapshot_note(db: &Path) -> Option<String> {
    let text = std::fs::read_to_string(db.join("SNAPSHOT.txt")).ok()?;
    text.lines().next().map(|l| l.trim().to_owned())
}

/// `$CARGO_HOME`, else `~/.cargo`.
pub(crate) fn cargo_home() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("CARGO_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".cargo"))
        .ok_or_else(|| "neither CARGO_HOME nor HOME is set".to_owned())
}

/// Copies the advisories of `db` (`crates/`, `rust/`) into
/// `root/advisory-db-<hash>`, the directory cargo-deny opens for the
/// default database URL, and commits them there dated `newest`: cargo-deny
/// reads a git checkout. Returns `root`, the `db-path` to give cargo-deny.
///
/// # Errors
/// Copy or git failures.
pub(crate) fn stage_for_deny(db: &Path, newest: Date, root: &Path) -> Result<PathBuf, String> {
    let repo = root.join(DENY_DB_DIR);
    for collection in ["crates", "rust"] {
        let from = db.join(collection);
        if from.is_dir() {
            copy_tree(&from, &repo.join(collection))?;
        }
    }
    let date = format!("{newest}T00:00:00Z");
    let git = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&repo)
            .args(["-c", "user.name=xtask", "-c", "user.email=xtask@localhost"])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .stdout(std::process::Stdio::null());
        util::run(&mut cmd).map(|_| ())
    };
    git(&["init", "-q"])?;
    git(&["add", "-A"])?;
    git(&[
        "commit",
        "-q",
        "-m",
        "advisory database copied by cargo xtask",
    ])?;
    Ok(root.to_path_buf())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Writes a database holding one made-up advisory, `RUSTSEC-<year>-9999`
/// dated `date`, that affects every version of `krate`. Returns its id.
///
/// It proves the checks see an advisory against a crate in our lock files:
/// the audit step runs against it first and must fail.
///
/// # Errors
/// Write failures.
pub(crate) fn write_synthetic_db(dir: &Path, krate: &str, date: Date) -> Result<String, String> {
    let id = format!("RUSTSEC-{}-9999", date.year());
    let package = dir.join("crates").join(krate);
    std::fs::create_dir_all(&package).map_err(|e| format!("{}: {e}", package.display()))?;
    let text = format!(
        "```toml
[advisory]
id = \"{id}\"
package = \"{krate}\"
date = \"{date}\"
url = \"https://example.invalid/synthetic\"
categories = [\"memory-corruption\"]
keywords = [\"synthetic\"]

[versions]
patched = []
```

# Synthetic advisory written by cargo xtask

Every version of `{krate}` is affected. This advisory is not real: it exists
to prove that the supply-chain checks fail when the database names a crate
we depend on.
"
    );
    let path = package.join(format!("{id}.md"));
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn date(s: &str) -> Date {
        Date::parse(s).unwrap_or_else(|| panic!("bad date {s}"))
    }

    #[test]
    fn dates_parse_strictly_and_count_days() {
        assert_eq!(date("1970-01-01").days(), 0);
        assert_eq!(date("2026-12-06").days() - date("2026-08-20").days(), 108);
        assert_eq!(date("2024-03-01").days() - date("2024-02-28").days(), 2);
        assert_eq!(
            Date::from_days(date("2000-02-29").days()),
            date("2000-02-29")
        );
        assert_eq!(date("2026-08-20").to_string(), "2026-08-20");
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026-01-01x",
            "",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_age_limit_is_read_from_deny_toml() {
        let ours = std::fs::read_to_string(util::project_root().join("deny.toml")).unwrap();
        assert_eq!(max_age_from_deny_toml(&ours), Ok(90));
        assert!(max_age_from_deny_toml("[advisories]\nmaximum-db-staleness = \"P3W\"").is_err());
        assert!(max_age_from_deny_toml("[advisories]\n").is_err());
    }

    #[test]
    fn flags_choose_the_database_and_the_age_limit() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let adv = Advisories::from_args(&args(&["--db", "/x/db", "--max-age-days", "7"])).unwrap();
        assert_eq!(adv.source, Source::Offline(PathBuf::from("/x/db")));
        assert_eq!(adv.max_age_days, 7);
        assert_eq!(
            adv.chosen_by,
            "database from --db, age limit from --max-age-days"
        );
        let live = Advisories::from_args(&args(&["--db", "live", "--max-age-days", "0"])).unwrap();
        assert_eq!(live.source, Source::Live);
        for bad in [&["--max-age-days", "ninety"][..], &["--db"], &["--stale"]] {
            assert!(Advisories::from_args(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn offline_runs_never_choose_the_live_database() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let empty = tempfile::tempdir().unwrap();
        let nowhere = Surroundings {
            env_db: None,
            env_age: None,
            snapshot: empty.path().join("no-snapshot-here"),
        };
        let resolve = |a: &[&str], around: &Surroundings| {
            AdvisoryFlags::parse(&args(a))
                .unwrap()
                .resolve_in(around.clone())
        };
        // No local copy: online runs fetch the live one, offline runs have none.
        let online = resolve(&[], &nowhere).unwrap().unwrap();
        assert_eq!(online.source, Source::Live);
        assert_eq!(resolve(&["--offline"], &nowhere), Ok(None));
        // Asking for the live database offline is a contradiction.
        let err = resolve(&["--offline", "--db", "live"], &nowhere).unwrap_err();
        assert!(err.contains("--offline"), "{err}");
        let live_env = Surroundings {
            env_db: Some("live".into()),
            ..nowhere.clone()
        };
        assert!(resolve(&["--offline"], &live_env).is_err());
        // A local copy is used offline, from the flag, the environment or
        // beside the checkout; the age limit from the flag or environment.
        let db = resolve(&["--offline", "--db", "/x/db"], &nowhere)
            .unwrap()
            .unwrap();
        assert_eq!(db.source, Source::Offline(PathBuf::from("/x/db")));
        let beside = Surroundings {
            snapshot: empty.path().to_path_buf(),
            env_age: Some("180".into()),
            ..nowhere.clone()
        };
        let snap = resolve(&["--offline"], &beside).unwrap().unwrap();
        assert_eq!(
            snap.source,
            Source::Offline(empty.path().canonicalize().unwrap())
        );
        assert_eq!(snap.max_age_days, 180);
        assert_eq!(
            snap.chosen_by,
            "database from the snapshot beside the checkout, \
             age limit from JOURNAL_ADVISORY_MAX_AGE_DAYS"
        );
        let bad_age = Surroundings {
            env_age: Some("soon".into()),
            ..nowhere
        };
        assert!(resolve(&[], &bad_age).unwrap_err().contains("`soon`"));
    }

    #[test]
    fn front_matter_gives_id_and_date_of_the_advisory_table_only() {
        let text = "```toml\n[advisory]\nid = \"RUSTSEC-2020-0001\"\npackage = \"x\"\n\
                    date = \"2020-01-31\"\n[versions]\ndate = \"2029-01-01\"\n```\n# Title\n";
        assert_eq!(
            front_matter(text),
            Some(("RUSTSEC-2020-0001".to_owned(), date("2020-01-31")))
        );
        assert_eq!(front_matter("# no front matter\n"), None);
    }

    #[test]
    fn an_old_database_fails_the_gate_and_a_fresh_one_passes() {
        let dir = tempfile::tempdir().unwrap();
        let id = write_synthetic_db(dir.path(), "subtle", date("2020-01-31")).unwrap();
        let today = date("2026-12-06");

        let err = freshness(dir.path(), today, 90).unwrap_err();
        assert!(err.contains("is stale"), "{err}");
        assert!(err.contains(&id) && err.contains("2020-01-31"), "{err}");

        // The limit is inclusive: exactly max_age_days old still passes.
        let fresh = freshness(dir.path(), date("2020-04-30"), 90).unwrap();
        assert_eq!(fresh.age_days, 90);
        assert_eq!(fresh.count, 1);
        assert!(freshness(dir.path(), date("2020-05-01"), 90).is_err());
    }

    #[test]
    fn the_newest_advisory_decides_and_future_dates_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_synthetic_db(dir.path(), "old-crate", date("2019-05-05")).unwrap();
        write_synthetic_db(dir.path(), "new-crate", date("2026-11-30")).unwrap();
        let fresh = freshness(dir.path(), date("2026-12-06"), 90).unwrap();
        assert_eq!(
            (fresh.newest, fresh.count, fresh.age_days),
            (date("2026-11-30"), 2, 6)
        );

        let err = freshness(dir.path(), date("2026-11-01"), 90).unwrap_err();
        assert!(err.contains("after today"), "{err}");
    }

    #[test]
    fn a_database_without_advisories_or_with_an_undated_one_is_refused() {
        let empty = tempfile::tempdir().unwrap();
        let err = freshness(empty.path(), date("2026-12-06"), 90).unwrap_err();
        assert!(err.contains("no advisories"), "{err}");

        let broken = tempfile::tempdir().unwrap();
        let pkg = broken.path().join("crates/x");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(
            pkg.join("RUSTSEC-2020-0001.md"),
            "```toml\n[advisory]\nid = \"RUSTSEC-2020-0001\"\n```\n",
        )
        .unwrap();
        let err = freshness(broken.path(), date("2026-12-06"), 90).unwrap_err();
        assert!(err.contains("RUSTSEC-2020-0001.md"), "{err}");
    }

    /// The team's snapshot (where this checkout has one): every advisory
    /// parses, its newest date is the one SNAPSHOT.txt implies, and the gate
    /// passes it while it is younger than the limit and fails it after.
    #[test]
    fn the_real_snapshot_parses_and_is_judged_by_its_newest_advisory() {
        let db = util::project_root().join(SNAPSHOT_BESIDE_CHECKOUT);
        if !db.is_dir() {
            eprintln!("no snapshot at {}: nothing to check", db.display());
            return;
        }
        let far_future = date("2100-01-01");
        let err = freshness(&db, far_future, 90).unwrap_err();
        assert!(err.contains("is stale"), "{err}");
        // Any age limit that covers the snapshot's age passes it.
        let fresh = freshness(&db, far_future, u32::MAX).unwrap();
        assert!(fresh.count > 500, "{fresh}");
        let passes_on = Date::from_days(fresh.newest.days() + 90);
        assert!(freshness(&db, passes_on, 90).is_ok());
        assert!(freshness(&db, Date::from_days(fresh.newest.days() + 91), 90).is_err());
        if let Some(note) = snapshot_note(&db) {
            // "... at commit <sha> (YYYY-MM-DD)": the snapshot was taken on
            // or after its newest advisory.
            let taken = note
                .rsplit('(')
                .next()
                .and_then(|s| s.strip_suffix(')'))
                .and_then(Date::parse);
            if let Some(taken) = taken {
                assert!(taken >= fresh.newest, "{note} vs {fresh}");
            }
        }
    }
}
