//! `cargo xtask ci`: the checks CI runs, in order, stopping at the first
//! failure, with one summary line per step.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::{torch, util};

/// Workspace packages that need libtorch. They are left out of the plain
/// steps (so the rest builds on any machine) and built by the libtorch step.
pub(crate) const TORCH_PACKAGES: &[&str] = &["tch-smoke"];

fn exclude_torch(cmd: &mut Command) -> &mut Command {
    cmd.arg("--workspace");
    for p in TORCH_PACKAGES {
        cmd.args(["--exclude", p]);
    }
    cmd
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
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("unexpected argument `{arg}` (ci takes none)"));
    }
    let mut s = Summary {
        started: Instant::now(),
        steps: 0,
    };

    // Asked once: both test steps use the answer.
    let nextest = has_nextest();
    s.step(
        "fmt",
        util::run(util::cargo().args(["fmt", "--all", "--", "--check"])),
    )?;

    s.step(
        "clippy",
        util::run(exclude_torch(util::cargo().arg("clippy")).args([
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ])),
    )?;

    if nextest {
        s.step(
            "test (nextest)",
            util::run(exclude_torch(util::cargo().args(["nextest", "run"])).args([
                "--all-features",
                "--no-tests",
                "fail",
            ])),
        )?;
        // nextest does not run doctests.
        s.step(
            "doctest",
            util::run(exclude_torch(util::cargo().args(["test", "--doc"])).arg("--all-features")),
        )?;
    } else {
        s.step(
            "test (cargo test)",
            util::run(exclude_torch(util::cargo().arg("test")).arg("--all-features")),
        )?;
    }

    s.step(
        "doc",
        util::run(
            exclude_torch(util::cargo().arg("doc"))
                .args(["--no-deps", "--all-features"])
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

    println!(
        "ci: all {} steps passed in {}",
        s.steps,
        util::secs(s.started.elapsed())
    );
    Ok(())
}
