//! Small helpers shared by the tasks: the repository root, running commands.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The workspace root, derived from this crate's manifest directory.
pub(crate) fn project_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

/// Set by the one-shot tasks (`ci`, `release-check`): their builds start
/// from a clean tree and run once, so [`cargo`] turns incremental
/// compilation off. Its caches would only be written, never read, and were
/// over half of a clean CI build's disk use.
static ONE_SHOT_BUILD: AtomicBool = AtomicBool::new(false);

/// Marks this run as a one-shot build (see [`ONE_SHOT_BUILD`]).
pub(crate) fn set_one_shot_build() {
    ONE_SHOT_BUILD.store(true, Ordering::Relaxed);
}

/// The cargo that invoked us (so the same toolchain is used throughout).
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project_root());
    if ONE_SHOT_BUILD.load(Ordering::Relaxed) {
        cmd.env("CARGO_INCREMENTAL", "0");
    }
    cmd
}

/// Runs `cmd` with inherited stdio and returns how long it took, or an error
/// naming the command and its exit status.
pub(crate) fn run(cmd: &mut Command) -> Result<Duration, String> {
    let shown = describe(cmd);
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() {
        Ok(started.elapsed())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs `cmd` and returns its trimmed stdout, or `None` if it could not run
/// or did not succeed.
pub(crate) fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The command line as a person would type it.
pub(crate) fn describe(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or_else(|| OsStr::new("?"))
        .to_string_lossy()
        .into_owned();
    let mut s = program;
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// `12.3s` style formatting for step summaries.
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
