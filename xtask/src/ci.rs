//! `cargo xtask ci`: the checks CI runs, in order, stopping at the first
//! failure, with one summary line per step.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::{fuse, torch, util};

/// Workspace packages that need libtorch. They are left out of the plain
/// steps (so the rest builds on any machine) and built by the libtorch step.
pub(crate) const TORCH_PACKAGES: &[&str] = &["tch-smoke", "inference-tch"];

/// The power-loss tests (FUSE): run in their own step, which says
/// `skipped: no /dev/fuse` where the device is absent.
const POWERLOSS_PACKAGE: &str = "powerloss";

/// Features of the plain packages that pull libtorch in (`journal/ai`
/// builds inference-tch): the plain steps enable every other feature, the
/// libtorch steps check these.
pub(crate) const TORCH_FEATURES: &[&str] = &["journal/ai"];

fn exclude_torch(cmd: &mut Command) -> &mut Command {
    cmd.arg("--workspace");
    for p in TORCH_PACKAGES {
        cmd.args(["--exclude", p]);
    }
    cmd
}

/// `--features A,B,...`: every feature of every workspace package except the
/// libtorch packages and [`TORCH_FEATURES`]; what `--all-features` would be
/// on a machine without libtorch.
fn plain_features() -> Result<String, String> {
    let json = util::output(util::cargo().args(["metadata", "--no-deps", "--format-version", "1"]))
        .ok_or("`cargo metadata` failed")?;
    let meta: serde_json::Value = serde_json::from_str(&json)
        .map_err(|e| format!("`cargo metadata` printed bad JSON: {e}"))?;
    let mut features = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let Some(name) = pkg["name"].as_str() else {
            continue;
        };
        if TORCH_PACKAGES.contains(&name) {
            continue;
        }
        for feature in pkg["features"]
            .as_object()
            .into_iter()
            .flat_map(|o| o.keys())
        {
            let full = format!("{name}/{feature}");
            if feature != "default" && !TORCH_FEATURES.contains(&full.as_str()) {
                features.push(full);
            }
        }
    }
    Ok(features.join(","))
}

fn only_torch(cmd: &mut Command) -> &mut Command {
    for p in TORCH_PACKAGES {
        cmd.args(["--package", p]);
    }
    cmd
}

fn has_nextest() -> bool {
    util::output(util::cargo().args(["nextest", "--version"])).is_some()
}

struct Summary {
    started: Instant,
    steps: usize,
    skipped: Vec<String>,
}

impl Summary {
    fn step(&mut self, name: &str, result: Result<Duration, String>) -> Result<(), String> {
        self.steps += 1;
        match result {
            Ok(took) => {
                println!("ci: ok    {name:<28} {}", util::secs(took));
                Ok(())
            }
            Err(e) => {
                println!("ci: FAIL  {name:<28} {e}");
                Err(format!("step `{name}` failed"))
            }
        }
    }

    /// A step that ran and passed, with a word on what it found.
    fn step_noted(
        &mut self,
        name: &str,
        result: Result<(Duration, String), String>,
    ) -> Result<(), String> {
        match result {
            Ok((took, note)) => {
                self.steps += 1;
                println!("ci: ok    {name:<28} {} ({note})", util::secs(took));
                Ok(())
            }
            Err(e) => self.step(name, Err(e)),
        }
    }

    /// A step that could not run here: said in the summary, never silent.
    fn skip(&mut self, name: &str, why: &str) {
        self.steps += 1;
        println!("{}", skip_line(name, why));
        self.skipped.push(format!("{name}: {why}"));
    }
}

fn skip_line(name: &str, why: &str) -> String {
    format!("ci: skip  {name:<28} skipped: {why}")
}

/// The power-loss step: its name and command, or why it cannot run here.
/// `POWERLOSS_REQUIRE` makes a mount failure fail the tests instead of
/// skipping them.
fn power_loss_step(device_present: bool, nextest: bool) -> Result<(&'static str, Command), String> {
    if !device_present {
        return Err(format!("no {}", fuse::DEV_FUSE));
    }
    let mut cmd = util::cargo();
    if nextest {
        // The whole workspace, filtered to the package: the same feature
        // set as the main test step, so its build is reused (`-p` alone
        // would unify features differently and rebuild ~50 crates).
        exclude_torch(cmd.args(["nextest", "run"])).args([
            "--features",
            &plain_features()?,
            "--no-tests",
            "fail",
            "-E",
            &format!("package({POWERLOSS_PACKAGE})"),
        ]);
    } else {
        cmd.args(["test", "--package", POWERLOSS_PACKAGE, "--all-features"]);
        // (powerloss's own features only: `-p` does not turn on journal/ai.)
    }
    cmd.env("POWERLOSS_REQUIRE", "1");
    let name = if nextest {
        "power-loss (nextest)"
    } else {
        "power-loss (cargo test)"
    };
    Ok((name, cmd))
}

/// Runs the power-loss step, or says in the summary that it was skipped.
fn power_loss(s: &mut Summary, nextest: bool) -> Result<(), String> {
    match power_loss_step(fuse::device_present(), nextest) {
        Ok((name, mut cmd)) => s.step(name, util::run(&mut cmd)),
        Err(why) => {
            s.skip("power-loss", &why);
            Ok(())
        }
    }
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("unexpected argument `{arg}` (ci takes none)"));
    }
    let mut s = Summary {
        started: Instant::now(),
        steps: 0,
        skipped: Vec::new(),
    };
    // What this machine offers, for whoever reads the log of a failed run
    // (a CI run once died of a full disk) and for release-check's needs.
    println!("ci: machine: {}", machine_facts());

    // Asked once: both test steps use the answer.
    let nextest = has_nextest();
    let features = plain_features()?;
    s.step(
        "fmt",
        util::run(util::cargo().args(["fmt", "--all", "--", "--check"])),
    )?;

    s.step(
        "clippy",
        util::run(exclude_torch(util::cargo().arg("clippy")).args([
            "--all-targets",
            "--features",
            &features,
            "--",
            "-D",
            "warnings",
        ])),
    )?;

    // The power-loss tests mount FUSE; a non-root user needs fusermount3.
    let started = Instant::now();
    s.step_noted(
        "fuse3",
        fuse::ensure_fuse3().map(|note| (started.elapsed(), note)),
    )?;

    if nextest {
        s.step(
            "test (nextest)",
            // The power-loss tests get their own step below; they are
            // filtered out here rather than excluded, so that both steps
            // select the same packages and share one build.
            util::run(exclude_torch(util::cargo().args(["nextest", "run"])).args([
                "--features",
                &features,
                "--no-tests",
                "fail",
                "-E",
                &format!("not package({POWERLOSS_PACKAGE})"),
            ])),
        )?;
        power_loss(&mut s, true)?;
        // Plain `cargo test` once as well (the same test binaries, so no
        // rebuild): tests must not rely on nextest's process per test.
        // It also runs the doctests, which nextest does not.
        let mut test = util::cargo();
        exclude_torch(test.arg("test")).args(["--features", &features]);
        if fuse::device_present() {
            test.env("POWERLOSS_REQUIRE", "1");
        }
        s.step("test (cargo test)", util::run(&mut test))?;
    } else {
        s.step(
            "test (cargo test)",
            util::run(
                exclude_torch(util::cargo().arg("test"))
                    .args(["--exclude", POWERLOSS_PACKAGE])
                    .args(["--features", &features]),
            ),
        )?;
        power_loss(&mut s, false)?;
    }

    // Accuracy floor on pii-scan's never-tuned split (its README gives the
    // corpus's provenance); the project's own held-out data is checked
    // separately.
    let started = Instant::now();
    s.step(
        "pii-eval (micro-F1 >= 0.94)",
        crate::pii_eval::run(&["--min-micro-f1".to_owned(), "0.94".to_owned()])
            .map(|()| started.elapsed()),
    )?;

    // Signature interop with OpenSSF model_signing (PyPI, installed into a
    // cached venv on first use): it verifies a bundle model-verify signed,
    // and model-verify verifies one it signed.
    let started = Instant::now();
    s.step(
        "model_signing interop",
        crate::checksums::oms_interop().map(|()| started.elapsed()),
    )?;

    s.step(
        "doc",
        util::run(
            exclude_torch(util::cargo().arg("doc"))
                .args(["--no-deps", "--features", &features])
                .env("RUSTDOCFLAGS", "-D warnings"),
        ),
    )?;

    s.step(
        "fuzz targets build",
        util::run(&mut crate::fuzz::build_cmd(&crate::fuzz::host_triple()?)),
    )?;

    let started = Instant::now();
    let libtorch = match torch::prepare() {
        Ok(l) => l,
        Err(e) => return s.step("libtorch", Err(e)),
    };
    s.step(
        &format!("libtorch ({})", libtorch.origin),
        Ok(started.elapsed()),
    )?;
    s.step(
        "clippy (libtorch crates)",
        util::run(
            libtorch
                .apply(only_torch(util::cargo().arg("clippy")))
                .args(["--all-targets", "--", "-D", "warnings"]),
        ),
    )?;
    // The features of plain packages that need libtorch (the journal's
    // `reflect`): compiled and linted here, with the libtorch crates.
    let mut torch_features = util::cargo();
    torch_features.arg("clippy");
    for f in TORCH_FEATURES {
        let package = f.split('/').next().unwrap_or(f);
        torch_features.args(["--package", package]);
    }
    s.step(
        "clippy (libtorch features)",
        util::run(
            libtorch
                .apply(&mut torch_features)
                .args(["--features", &TORCH_FEATURES.join(",")])
                .args(["--", "-D", "warnings"]),
        ),
    )?;
    let mut test = if nextest {
        let mut c = util::cargo();
        c.args(["nextest", "run", "--no-tests", "fail"]);
        c
    } else {
        let mut c = util::cargo();
        c.arg("test");
        c
    };
    s.step(
        "test (libtorch crates)",
        util::run(libtorch.apply(only_torch(&mut test))),
    )?;

    let skipped = if s.skipped.is_empty() {
        String::new()
    } else {
        format!(" ({} skipped: {})", s.skipped.len(), s.skipped.join("; "))
    };
    println!(
        "ci: all {} steps passed in {}{skipped}",
        s.steps,
        util::secs(s.started.elapsed())
    );
    println!("ci: machine: {}", machine_facts());
    Ok(())
}

/// Cores, free disk beside the target directory, and where release-check
/// would find its advisory database: one line, nothing fails on it.
pub(crate) fn machine_facts() -> String {
    let root = util::project_root();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let free = util::output(Command::new("df").args(["-Pk", "--"]).arg(&root))
        .and_then(|out| {
            let kib: u64 = out
                .lines()
                .nth(1)?
                .split_whitespace()
                .nth(3)?
                .parse()
                .ok()?;
            Some(format!("{:.1} GiB free", kib as f64 / (1u64 << 20) as f64))
        })
        .unwrap_or_else(|| "free disk unknown".to_owned());
    let advisories = match crate::advisory_db::Advisories::from_args(&[]) {
        Ok(a) => match a.source {
            crate::advisory_db::Source::Offline(db) => {
                format!("advisory database {}", db.display())
            }
            crate::advisory_db::Source::Live => {
                "no advisory database beside the checkout (release-check fetches the live one; \
                 with --offline it skips the advisory checks)"
                    .to_owned()
            }
        },
        Err(e) => format!("advisory settings: {e}"),
    };
    format!("{cores} cores, {free}, {advisories}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_facts_name_cores_disk_and_advisories() {
        let facts = machine_facts();
        eprintln!("{facts}");
        assert!(!facts.starts_with("0 cores"), "{facts}");
        assert!(facts.contains("GiB free"), "{facts}");
        assert!(facts.contains("advisory"), "{facts}");
    }

    #[test]
    fn power_loss_without_dev_fuse_is_a_skip_said_in_the_summary() {
        let why = power_loss_step(false, true).err().unwrap_or_default();
        assert_eq!(why, "no /dev/fuse");
        let line = skip_line("power-loss", &why);
        assert!(line.starts_with("ci: skip  power-loss"), "{line}");
        assert!(line.ends_with("skipped: no /dev/fuse"), "{line}");
    }

    #[test]
    fn power_loss_with_dev_fuse_requires_the_mount() {
        for nextest in [true, false] {
            let (name, cmd) = power_loss_step(true, nextest)
                .unwrap_or_else(|why| unreachable!("no command with /dev/fuse present: {why}"));
            assert!(name.starts_with("power-loss"));
            let shown = util::describe(&cmd);
            let selects = if nextest {
                "-E package(powerloss)"
            } else {
                "--package powerloss"
            };
            assert!(shown.contains(selects), "{shown}");
            assert!(
                cmd.get_envs()
                    .any(|(k, v)| k == "POWERLOSS_REQUIRE" && v.is_some_and(|v| v == "1")),
                "{shown}"
            );
        }
    }
}
