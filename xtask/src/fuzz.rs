//! The libFuzzer targets in `fuzz/`, built on stable Rust:
//!
//! - `cargo xtask fuzz [--seconds N] [TARGET...]`: builds the targets, then
//!   runs each (all of them by default) for N seconds (default 10) over its
//!   corpus `fuzz/corpus/TARGET`, and prints one table: executions,
//!   coverage, corpus size, outcome. Fails if any target crashed.
//! - `cargo xtask fuzz-build`: builds every target (what CI runs).
//! - `cargo xtask fuzz-run TARGET [SECONDS]`: one target, its libFuzzer
//!   output shown as it runs.
//!
//! cargo-fuzz's default AddressSanitizer needs nightly (`-Zsanitizer`),
//! which these machines cannot fetch. libFuzzer's coverage instrumentation
//! (`-Cpasses=sancov-module` and the `sanitizer-coverage-*` LLVM options)
//! is available on stable, so the targets are coverage-guided; memory
//! errors are not a concern in `forbid(unsafe_code)` crates, and panics,
//! overflows (debug assertions are on) and failed round-trip assertions are
//! what the targets look for.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util;

const RUSTFLAGS: &str = "--cfg fuzzing -Cdebug-assertions -Coverflow-checks \
    -Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares";

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 10;

/// libFuzzer's limit for one input, in seconds: an input slower than this
/// is reported as a hang (a finding), not waited for.
const INPUT_TIMEOUT_SECS: u64 = 20;

fn fuzz_dir() -> PathBuf {
    util::project_root().join("fuzz")
}

/// The host's target triple. Building with an explicit `--target` keeps
/// RUSTFLAGS (the instrumentation) off build scripts and proc macros, which
/// could not link against libFuzzer's runtime.
pub(crate) fn host_triple() -> Result<String, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = util::output(Command::new(rustc).arg("-vV")).ok_or("`rustc -vV` failed")?;
    out.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "`rustc -vV` printed no host line".to_owned())
}

pub(crate) fn build_cmd(triple: &str) -> Command {
    let mut cmd = util::cargo();
    cmd.current_dir(fuzz_dir())
        .args([
            "build",
            "--release",
            "--locked",
            "--bins",
            "--target",
            triple,
        ])
        .env("RUSTFLAGS", RUSTFLAGS)
        // Its own target dir: these flags invalidate every normal artifact.
        .env("CARGO_TARGET_DIR", fuzz_dir().join("target"));
    cmd
}

/// The targets declared in `fuzz/Cargo.toml` (`[[bin]]` names), in order.
fn targets_in(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(v) = line.strip_prefix("name") {
            let v = v.trim_start().trim_start_matches('=').trim();
            names.push(v.trim_matches('"').to_owned());
        }
    }
    names
}

fn all_targets() -> Result<Vec<String>, String> {
    let path = fuzz_dir().join("Cargo.toml");
    let manifest =
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(targets_in(&manifest))
}

fn binary(triple: &str, target: &str) -> PathBuf {
    fuzz_dir()
        .join("target")
        .join(triple)
        .join("release")
        .join(target)
}

/// The command that runs `target` for `seconds` over its corpus directory
/// (created if missing), crashes written under `fuzz/artifacts/TARGET/`.
fn run_cmd(triple: &str, target: &str, seconds: u64) -> Result<Command, String> {
    let corpus = fuzz_dir().join("corpus").join(target);
    let artifacts = fuzz_dir().join("artifacts").join(target);
    for d in [&corpus, &artifacts] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let mut cmd = Command::new(binary(triple, target));
    cmd.arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECS}"))
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(&corpus);
    cmd.env("TMPDIR", scratch_dir(target));
    Ok(cmd)
}

/// A directory of this run's own for the targets that write files
/// (audit_segment, keystore_unlock, model_content, securefs_names): in
/// memory where `/dev/shm` exists, removed after the run (libFuzzer exits
/// without running the targets' clean-up).
fn scratch_dir(target: &str) -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("journal-fuzz-{target}-{}", std::process::id()))
}

/// Builds every fuzz target.
pub(crate) fn build(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!(
            "unexpected argument `{arg}` (fuzz-build takes none)"
        ));
    }
    util::run(&mut build_cmd(&host_triple()?)).map(|_| ())
}

/// Builds, then runs one target for a number of seconds (default 10) over
/// its corpus directory `fuzz/corpus/TARGET` (created if missing), with
/// libFuzzer's output shown as it runs.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let (target, rest) = args
        .split_first()
        .ok_or("usage: cargo xtask fuzz-run TARGET [SECONDS]")?;
    let seconds: u64 = match rest.first() {
        Some(s) => parse_seconds(s)?,
        None => DEFAULT_SECONDS,
    };
    let triple = host_triple()?;
    util::run(build_cmd(&triple).args(["--bin", target]))?;
    let scratch = scratch_dir(target);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let result = util::run(&mut run_cmd(&triple, target, seconds)?).map(|_| ());
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn parse_seconds(s: &str) -> Result<u64, String> {
    s.parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("SECONDS must be a whole number above 0, got `{s}`"))
}

/// `cargo xtask fuzz [--seconds N] [TARGET...]`.
pub(crate) fn fuzz(args: &[String]) -> Result<(), String> {
    let mut seconds = DEFAULT_SECONDS;
    let mut asked = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let v = it.next().ok_or("--seconds needs a value")?;
                seconds = parse_seconds(v)?;
            }
            s if s.starts_with("--seconds=") => {
                seconds = parse_seconds(&s["--seconds=".len()..])?;
            }
            s if s.starts_with('-') => {
                return Err(format!(
                    "unknown option `{s}` (usage: cargo xtask fuzz [--seconds N] [TARGET...])"
                ));
            }
            s => asked.push(s.to_owned()),
        }
    }
    let known = all_targets()?;
    if let Some(bad) = asked.iter().find(|a| !known.contains(a)) {
        return Err(format!(
            "unknown fuzz target `{bad}`; the targets are: {}",
            known.join(", ")
        ));
    }
    let summary = if asked.is_empty() {
        smoke(seconds)?
    } else {
        let outcomes = build_and_run(&asked, seconds, 1)?;
        println!("{}", table(&outcomes));
        verdict(&outcomes)?
    };
    println!("{summary}");
    Ok(())
}

/// Every target for `seconds_per_target` seconds (the release-check smoke
/// run): builds them, runs each over its corpus (one target per core at a
/// time), prints the table. `Ok`
/// holds a one-line summary; `Err` names the targets that crashed (with
/// their reproducer files) or a build failure.
pub(crate) fn smoke(seconds_per_target: u64) -> Result<String, String> {
    let outcomes = build_and_run(&all_targets()?, seconds_per_target.max(1), smoke_jobs())?;
    println!("{}", table(&outcomes));
    verdict(&outcomes)
}

/// What one run of one target gave, from libFuzzer's final statistics.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    target: String,
    seconds: f64,
    execs: Option<u64>,
    cov: Option<u64>,
    ft: Option<u64>,
    corpus: Option<String>,
    /// `None` when the run ended cleanly; else what went wrong.
    failure: Option<String>,
}

/// Builds `targets`, then runs each for `seconds`, `jobs` targets at a
/// time (each target is one libFuzzer process on one core); the outcomes
/// come back in the order of `targets`.
fn build_and_run(targets: &[String], seconds: u64, jobs: usize) -> Result<Vec<Outcome>, String> {
    let triple = host_triple()?;
    let mut build = build_cmd(&triple);
    for t in targets {
        build.args(["--bin", t]);
    }
    util::run(&mut build)?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let run_some = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(t) = targets.get(i) else {
                return done;
            };
            eprintln!("fuzz: {t} for {seconds} s");
            done.push((i, run_one(&triple, t, seconds)));
        }
    };
    let mut done: Vec<(usize, Result<Outcome, String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.clamp(1, targets.len().max(1)))
            .map(|_| scope.spawn(run_some))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    if done.len() != targets.len() {
        return Err("a fuzz worker thread panicked: some targets did not report".to_owned());
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, outcome)| outcome).collect()
}

/// How many targets the smoke run fuzzes at once: one per core, so that a
/// 2-core CI machine spends half the wall time on it.
fn smoke_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

fn run_one(triple: &str, target: &str, seconds: u64) -> Result<Outcome, String> {
    let mut cmd = run_cmd(triple, target, seconds)?;
    let scratch = scratch_dir(target);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let log_path = fuzz_dir()
        .join("artifacts")
        .join(target)
        .join("last-run.log");
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log2 = log
        .try_clone()
        .map_err(|e| format!("{}: {e}", log_path.display()))?;
    let started = Instant::now();
    let status = cmd
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .status()
        .map_err(|e| format!("could not start `{}`: {e}", util::describe(&cmd)))?;
    let _ = std::fs::remove_dir_all(&scratch);
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut o = parse_stats(target, &text);
    o.seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        let artifact = text
            .lines()
            .find_map(|l| l.split("Test unit written to ").nth(1))
            .map_or_else(String::new, |p| format!(", reproducer {p}"));
        let why = text
            .lines()
            .find(|l| l.contains("panicked at") || l.starts_with("==") && l.contains("ERROR"))
            .unwrap_or("")
            .trim();
        o.failure = Some(format!(
            "{status}{artifact}; {why} (log: {})",
            log_path.display()
        ));
    }
    Ok(o)
}

/// Reads executions, coverage and corpus size from libFuzzer's output.
fn parse_stats(target: &str, text: &str) -> Outcome {
    let mut o = Outcome {
        target: target.to_owned(),
        ..Outcome::default()
    };
    let field = |line: &str, name: &str| -> Option<String> {
        let mut words = line.split_whitespace();
        words.find(|w| *w == name)?;
        words.next().map(str::to_owned)
    };
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
            o.execs = v.trim().parse().ok();
        }
        // `#123 NEW cov: 456 ft: 789 corp: 12/3456b ...`: the last such
        // line holds the final figures.
        if line.starts_with('#') {
            if let Some(c) = field(line, "cov:").and_then(|v| v.parse().ok()) {
                o.cov = Some(c);
            }
            if let Some(f) = field(line, "ft:").and_then(|v| v.parse().ok()) {
                o.ft = Some(f);
            }
            if let Some(c) = field(line, "corp:") {
                o.corpus = Some(c);
            }
        }
    }
    o
}

fn table(outcomes: &[Outcome]) -> String {
    let show = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let mut s = format!(
        "{:<22} {:>8} {:>12} {:>7} {:>7} {:>14}  result\n",
        "target", "seconds", "execs", "cov", "ft", "corpus"
    );
    for o in outcomes {
        let _ = writeln!(
            s,
            "{:<22} {:>8.0} {:>12} {:>7} {:>7} {:>14}  {}",
            o.target,
            o.seconds,
            show(o.execs),
            show(o.cov),
            show(o.ft),
            o.corpus.as_deref().unwrap_or("-"),
            o.failure.as_deref().unwrap_or("ok"),
        );
    }
    s
}

fn verdict(outcomes: &[Outcome]) -> Result<String, String> {
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.failure.is_some()).collect();
    if failed.is_empty() {
        let execs: u64 = outcomes.iter().filter_map(|o| o.execs).sum();
        Ok(format!(
            "{} fuzz targets ran without a finding ({execs} executions)",
            outcomes.len()
        ))
    } else {
        let mut s = format!(
            "{} of {} fuzz targets failed:",
            failed.len(),
            outcomes.len()
        );
        for o in failed {
            let _ = write!(
                s,
                "\n  {}: {}",
                o.target,
                o.failure.as_deref().unwrap_or("")
            );
        }
        Err(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn targets_are_read_from_the_manifest() {
        let m = "[package]\nname = \"journal-fuzz\"\n\n[[bin]]\nname = \"a_b\"\npath = \"x\"\n\
                 [dependencies]\nname = \"no\"\n[[bin]]\nname=\"c\"\n";
        assert_eq!(targets_in(m), ["a_b", "c"]);
    }

    /// A repository rule: every target has a source file, a checked-in
    /// corpus of at least one `seed-*` input, and a row in fuzz/README.md;
    /// every file in `fuzz_targets/` is a declared target.
    #[test]
    fn every_target_has_a_source_seeds_and_a_readme_row() {
        let targets = all_targets().unwrap();
        assert!(targets.len() >= 11, "{targets:?}");
        let readme = std::fs::read_to_string(fuzz_dir().join("README.md")).unwrap();
        for t in &targets {
            assert!(
                fuzz_dir()
                    .join("fuzz_targets")
                    .join(format!("{t}.rs"))
                    .is_file(),
                "{t}: no fuzz_targets/{t}.rs"
            );
            let seeds = std::fs::read_dir(fuzz_dir().join("corpus").join(t))
                .map(|d| {
                    d.filter_map(Result::ok)
                        .filter(|e| e.file_name().to_string_lossy().starts_with("seed-"))
                        .count()
                })
                .unwrap_or(0);
            assert!(seeds > 0, "{t}: no fuzz/corpus/{t}/seed-* file");
            assert!(
                readme.contains(&format!("| `{t}` |")),
                "{t}: no row in fuzz/README.md"
            );
        }
        for e in std::fs::read_dir(fuzz_dir().join("fuzz_targets")).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".rs").unwrap_or(&name);
            assert!(
                targets.iter().any(|t| t == stem),
                "fuzz_targets/{name} is not a [[bin]] in fuzz/Cargo.toml"
            );
        }
    }

    #[test]
    fn final_stats_are_parsed() {
        let log = "INFO: Seed: 1\n#2\tINITED cov: 10 ft: 11 corp: 1/4b exec/s: 0 rss: 30Mb\n\
                   #4096\tpulse  cov: 55 ft: 60 corp: 7/90b lim: 4 exec/s: 2048 rss: 31Mb\n\
                   #5000\tDONE   cov: 57 ft: 63 corp: 8/97b lim: 4 exec/s: 2500 rss: 31Mb\n\
                   Done 5000 runs in 2 second(s)\n\
                   stat::number_of_executed_units: 5000\nstat::peak_rss_mb: 31\n";
        let o = parse_stats("t", log);
        assert_eq!(o.execs, Some(5000));
        assert_eq!(o.cov, Some(57));
        assert_eq!(o.ft, Some(63));
        assert_eq!(o.corpus.as_deref(), Some("8/97b"));
    }

    #[test]
    fn a_failed_target_fails_the_verdict_and_is_named() {
        let ok = Outcome {
            target: "good".into(),
            execs: Some(3),
            ..Outcome::default()
        };
        assert!(verdict(std::slice::from_ref(&ok)).is_ok());
        let bad = Outcome {
            target: "bad".into(),
            failure: Some("exit status: 77, reproducer crash-1".into()),
            ..Outcome::default()
        };
        let err = verdict(&[ok, bad]).unwrap_err();
        assert!(
            err.contains("bad: exit status: 77, reproducer crash-1"),
            "{err}"
        );
        assert!(!err.contains("good"), "{err}");
    }

    #[test]
    fn seconds_must_be_positive_whole_numbers() {
        assert_eq!(parse_seconds("30"), Ok(30));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("1.5").is_err());
    }
}
