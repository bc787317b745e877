//! libtorch for the crates that need it, prepared without manual steps.
//!
//! tch 0.26 needs libtorch 2.13. PyPI's `torch==2.13.0` wheel carries it, so
//! the first run creates a virtual environment in the user's cache directory
//! and pip-installs torch there; later runs (and later clones) reuse it. A
//! marker file written after a successful install makes an interrupted
//! install start over instead of being trusted.
//!
//! A user who already has libtorch sets `LIBTORCH` (the directory holding
//! `lib/` and `include/`), and nothing is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

/// The torch release tch 0.26 is built against.
pub(crate) const TORCH_VERSION: &str = "2.13.0";
const MARKER: &str = ".journal-xtask-ok";

/// How to build and run against libtorch: environment variables to set on
/// cargo invocations.
#[derive(Debug)]
pub(crate) struct Libtorch {
    env: Vec<(String, String)>,
    /// Where it came from, for the summary line.
    pub(crate) origin: String,
}

impl Libtorch {
    /// Applies the environment to a command (build and run alike).
    pub(crate) fn apply<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }
}

/// The cache directory for the venv: `$XDG_CACHE_HOME`, else `~/.cache`
/// (Linux), `~/Library/Caches` (macOS).
fn cache_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or("neither XDG_CACHE_HOME nor HOME is set; cannot place the libtorch venv")?;
    let home = PathBuf::from(home);
    if cfg!(target_os = "macos") {
        Ok(home.join("Library/Caches"))
    } else {
        Ok(home.join(".cache"))
    }
}

fn prepend_path(dir: &Path, var: &str) -> String {
    let mut s = dir.display().to_string();
    if let Some(old) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        s.push(':');
        s.push_str(&old.to_string_lossy());
    }
    s
}

fn library_path_var() -> &'static str {
    if cfg!(target_os = "macos") {
        "DYLD_LIBRARY_PATH"
    } else {
        "LD_LIBRARY_PATH"
    }
}

/// Finds or installs libtorch and returns the environment to use it.
pub(crate) fn prepare() -> Result<Libtorch, String> {
    if let Some(dir) = std::env::var_os("LIBTORCH").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        let lib = dir.join("lib");
        if !lib.is_dir() {
            return Err(format!("LIBTORCH={} has no lib/ directory", dir.display()));
        }
        return Ok(Libtorch {
            env: vec![(
                library_path_var().into(),
                prepend_path(&lib, library_path_var()),
            )],
            origin: format!("LIBTORCH={}", dir.display()),
        });
    }

    let venv = cache_dir()?
        .join("journal-xtask")
        .join(format!("torch-{TORCH_VERSION}"));
    let python = venv.join("bin").join("python");
    if !venv.join(MARKER).is_file() {
        install(&venv)?;
    }
    let torch_dir = util::output(
        Command::new(&python)
            .arg("-c")
            .arg("import os, torch; print(os.path.dirname(torch.__file__))"),
    )
    .ok_or_else(|| format!("`{} -c 'import torch'` failed", python.display()))?;
    let lib = PathBuf::from(torch_dir).join("lib");
    let bin = venv.join("bin");
    Ok(Libtorch {
        env: vec![
            ("LIBTORCH_USE_PYTORCH".into(), "1".into()),
            // torch-sys runs `python` when VIRTUAL_ENV is set, else `python3`.
            ("VIRTUAL_ENV".into(), venv.display().to_string()),
            ("PATH".into(), prepend_path(&bin, "PATH")),
            (
                library_path_var().into(),
                prepend_path(&lib, library_path_var()),
            ),
        ],
        origin: format!("PyPI torch=={TORCH_VERSION} in {}", venv.display()),
    })
}

fn install(venv: &Path) -> Result<(), String> {
    eprintln!(
        "xtask: installing PyPI torch=={TORCH_VERSION} into {} (first run only)",
        venv.display()
    );
    if venv.exists() {
        // A previous install did not finish: start over.
        std::fs::remove_dir_all(venv)
            .map_err(|e| format!("cannot remove incomplete venv {}: {e}", venv.display()))?;
    }
    if let Some(parent) = venv.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let python3 = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    util::run(Command::new(&python3).arg("-m").arg("venv").arg(venv))?;
    util::run(
        Command::new(venv.join("bin").join("pip"))
            .args([
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
            ])
            .arg(format!("torch=={TORCH_VERSION}")),
    )?;
    std::fs::write(venv.join(MARKER), TORCH_VERSION)
        .map_err(|e| format!("cannot write install marker in {}: {e}", venv.display()))?;
    Ok(())
}
