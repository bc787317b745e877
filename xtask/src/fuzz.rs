//! `cargo xtask fuzz-build` and `cargo xtask fuzz-run TARGET [SECONDS]`:
//! the libFuzzer targets in `fuzz/`, built on stable Rust.
//!
//! cargo-fuzz's default AddressSanitizer needs nightly (`-Zsanitizer`),
//! which these machines cannot fetch. libFuzzer's coverage instrumentation
//! (`-Cpasses=sancov-module` and the `sanitizer-coverage-*` LLVM options)
//! is available on stable, so the targets are coverage-guided; memory
//! errors are not a concern in `forbid(unsafe_code)` crates, and panics,
//! overflows (debug assertions are on) and failed round-trip assertions are
//! what the targets look for.

use std::path::PathBuf;
use std::process::Command;

use crate::util;

const RUSTFLAGS: &str = "--cfg fuzzing -Cdebug-assertions -Coverflow-checks \
    -Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares";

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
        .args(["build", "--release", "--bins", "--target", triple])
        .env("RUSTFLAGS", RUSTFLAGS)
        // Its own target dir: these flags invalidate every normal artifact.
        .env("CARGO_TARGET_DIR", fuzz_dir().join("target"));
    cmd
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
/// its corpus directory `fuzz/corpus/TARGET` (created if missing).
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let (target, rest) = args
        .split_first()
        .ok_or("usage: cargo xtask fuzz-run TARGET [SECONDS]")?;
    let seconds: u64 = match rest.first() {
        Some(s) => s
            .parse()
            .map_err(|_| format!("SECONDS must be a whole number, got `{s}`"))?,
        None => 10,
    };
    let triple = host_triple()?;
    util::run(build_cmd(&triple).args(["--bin", target]))?;
    let corpus = fuzz_dir().join("corpus").join(target);
    std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let binary = fuzz_dir()
        .join("target")
        .join(&triple)
        .join("release")
        .join(target);
    util::run(
        Command::new(binary)
            .arg(format!("-max_total_time={seconds}"))
            .arg("-print_final_stats=1")
            .arg(&corpus),
    )
    .map(|_| ())
}
