//! The supply-chain tools, installed by the project itself when missing.
//!
//! Each tool is a pinned crates.io release installed with
//! `cargo install --locked --version =X --root <cache>/tools/<crate>-<X>`,
//! so a version bump here installs the new version beside the old one and
//! nothing on the user's `PATH` is used or changed. The tools are invoked by
//! absolute path. A cached install is reused when its binary answers
//! `--version` with the pinned version; anything else (an interrupted
//! install, a corrupted binary) is installed again.
//!
//! `cargo xtask tools` installs (or checks) them all and prints where they
//! are. The first run compiles the tools: see the README for how long.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::util;

/// A pinned cargo subcommand from crates.io.
#[derive(Debug)]
pub(crate) struct Tool {
    /// The crate on crates.io, also the binary's name (`cargo-deny`).
    pub(crate) krate: &'static str,
    /// The pinned version (installed with `--locked --version =X`).
    pub(crate) version: &'static str,
    /// The subcommand word cargo passes as the first argument when it runs
    /// `cargo <word>`; the binary expects it when run by path too.
    pub(crate) subcommand: &'static str,
    /// Extra `cargo install` flags (feature choices), each with its reason
    /// in [`TOOLS`].
    install_flags: &'static [&'static str],
    /// The arguments that make the binary print `<name> <version>`, where
    /// it has such a question (cargo-auditable only runs through cargo and
    /// answers with cargo's version).
    version_args: Option<&'static [&'static str]>,
}

/// cargo-deny: licenses, bans, sources and advisories (`deny.toml`).
/// No optional features to trim.
pub(crate) const DENY: Tool = Tool {
    krate: "cargo-deny",
    version: "0.20.2",
    subcommand: "deny",
    install_flags: &[],
    version_args: Some(&["--version"]),
};

/// cargo-audit: RustSec advisories against each Cargo.lock. Built without
/// its default `binary-scanning` feature (`cargo audit bin`, which the
/// checks do not use), which saves compiling the object-file and wasm
/// parsers.
pub(crate) const AUDIT: Tool = Tool {
    krate: "cargo-audit",
    version: "0.22.2",
    subcommand: "audit",
    install_flags: &["--no-default-features"],
    version_args: Some(&["--version"]),
};

/// cargo-vet: `supply-chain/` audits and exemptions.
pub(crate) const VET: Tool = Tool {
    krate: "cargo-vet",
    version: "0.10.3",
    subcommand: "vet",
    install_flags: &[],
    version_args: Some(&["--version"]),
};

/// cargo-auditable: release builds with the dependency list embedded.
pub(crate) const AUDITABLE: Tool = Tool {
    krate: "cargo-auditable",
    version: "0.7.7",
    subcommand: "auditable",
    install_flags: &[],
    version_args: None,
};

/// cargo-cyclonedx: the CycloneDX SBOM of the app.
pub(crate) const CYCLONEDX: Tool = Tool {
    krate: "cargo-cyclonedx",
    version: "0.5.9",
    subcommand: "cyclonedx",
    install_flags: &[],
    version_args: Some(&["cyclonedx", "--version"]),
};

/// Every tool, in the order `cargo xtask tools` installs them.
pub(crate) const TOOLS: &[&Tool] = &[&DENY, &AUDIT, &VET, &AUDITABLE, &CYCLONEDX];

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.krate, self.version)
    }
}

/// The user's cache directory: `$XDG_CACHE_HOME`, else `~/.cache` (Linux),
/// `~/Library/Caches` (macOS).
fn user_cache_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or("neither XDG_CACHE_HOME nor HOME is set; cannot place the tool cache")?;
    let home = PathBuf::from(home);
    Ok(if cfg!(target_os = "macos") {
        home.join("Library/Caches")
    } else {
        home.join(".cache")
    })
}

/// `<cache>/journal-xtask/tools`: one directory per tool and version, and
/// `build/`, the target directory the installs share while they run
/// (removed once `cargo xtask tools` or release-check has them all).
pub(crate) fn tools_dir() -> Result<PathBuf, String> {
    Ok(user_cache_dir()?.join("journal-xtask").join("tools"))
}

impl Tool {
    /// The install root of this version: `<tools>/<crate>-<version>`.
    fn root(&self, tools: &Path) -> PathBuf {
        tools.join(format!("{}-{}", self.krate, self.version))
    }

    /// The binary inside an install root.
    fn binary_in(&self, tools: &Path) -> PathBuf {
        self.root(tools).join("bin").join(self.krate)
    }

    /// Whether the install root under `tools` holds this tool at the pinned
    /// version: cargo's own record of the install (`.crates.toml`, written
    /// after the binary) names this version, the binary is there, and where
    /// the tool can say its version, it runs and says this one.
    fn is_installed_in(&self, tools: &Path) -> bool {
        let binary = self.binary_in(tools);
        let record = std::fs::read_to_string(self.root(tools).join(".crates.toml"));
        if !binary.is_file() || !record.is_ok_and(|r| self.recorded_in(&r)) {
            return false;
        }
        let Some(args) = self.version_args else {
            return true;
        };
        let mut cmd = std::process::Command::new(binary);
        cmd.args(args);
        util::output(&mut cmd).is_some_and(|out| self.version_line_matches(&out))
    }

    /// `.crates.toml` lists `"<crate> <version> (registry+...)"`.
    fn recorded_in(&self, crates_toml: &str) -> bool {
        let entry = format!("\"{} {} (registry+", self.krate, self.version);
        crates_toml.lines().any(|l| l.starts_with(&entry))
    }

    /// A `<name> <version>` line for this tool: the name is the crate's,
    /// possibly without `cargo-`, or `<crate>-<subcommand>` (cargo-audit and
    /// cargo-cyclonedx asked through their subcommand word).
    fn version_line_matches(&self, out: &str) -> bool {
        let short = self.krate.trim_start_matches("cargo-");
        let long = format!("{}-{}", self.krate, self.subcommand);
        out.lines().any(|line| {
            let mut words = line.split_whitespace();
            let name = words.next().unwrap_or_default();
            let version = words.next().unwrap_or_default();
            (name == self.krate || name == short || name == long)
                && version.trim_start_matches('v') == self.version
        })
    }

    /// The `cargo install` command for this tool into `tools`.
    fn install_cmd(&self, tools: &Path) -> std::process::Command {
        let mut cmd = util::cargo();
        // --force: only called when the binary there is missing or is not
        // this version (an interrupted install, a damaged file), which cargo
        // would otherwise take as already installed.
        cmd.args(["install", "--locked", "--force", "--version"])
            .arg(format!("={}", self.version))
            .arg("--root")
            .arg(self.root(tools))
            .args(self.install_flags)
            .arg(self.krate)
            // One target directory for all tools: the crates they share
            // (clap, serde, gix...) with the same features build once.
            .env("CARGO_TARGET_DIR", tools.join("build"))
            // Built for a first run on a 2-core machine, not for speed:
            // cargo-deny's own profile asks for fat LTO in one codegen unit
            // (environment settings override the package's), and these
            // runs take seconds either way. All five: 546 s instead of
            // 582 s (cargo-deny 97 s instead of 136 s).
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
            // Installs are not part of the workspace: run from the cache
            // so that no workspace `.cargo/config.toml` applies.
            .current_dir(tools);
        cmd
    }
}

/// The lock that serializes installs and the build directory's removal.
fn install_lock(tools: &Path) -> Result<std::fs::File, String> {
    let path = tools.join(".install.lock");
    std::fs::File::create(&path)
        .and_then(|f| f.lock().map(|()| f))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// An installed tool: its absolute path and whether this call installed it
/// (and how long that took).
#[derive(Debug)]
pub(crate) struct Installed {
    /// The binary, to be run by absolute path with `tool.subcommand` first.
    pub(crate) path: PathBuf,
    /// `Some(time)` when it was installed now, `None` when it was cached.
    pub(crate) installed_in: Option<Duration>,
}

/// Returns the pinned `tool`, installing it first when the cache lacks it.
///
/// # Errors
/// When the cache directory cannot be found or `cargo install` fails (for
/// example without access to crates.io).
pub(crate) fn ensure(tool: &Tool) -> Result<Installed, String> {
    let tools = tools_dir()?;
    let path = tool.binary_in(&tools);
    if tool.is_installed_in(&tools) {
        return Ok(Installed {
            path,
            installed_in: None,
        });
    }
    std::fs::create_dir_all(&tools).map_err(|e| format!("{}: {e}", tools.display()))?;
    // One install at a time (parallel tests, two terminals): the second
    // waits, then finds the tool installed.
    let lock = install_lock(&tools)?;
    if tool.is_installed_in(&tools) {
        return Ok(Installed {
            path,
            installed_in: None,
        });
    }
    eprintln!(
        "xtask: installing {tool} into {} (first run only)",
        tool.root(&tools).display()
    );
    let started = Instant::now();
    util::run(&mut tool.install_cmd(&tools))
        .map_err(|e| format!("could not install {tool}: {e}"))?;
    let took = started.elapsed();
    drop(lock);
    if !tool.is_installed_in(&tools) {
        return Err(format!(
            "{tool} was installed but {} does not report that version",
            path.display()
        ));
    }
    Ok(Installed {
        path,
        installed_in: Some(took),
    })
}

/// Ensures every tool, calling `each` with each one as it is ready. When
/// any was installed, the shared build directory is removed afterwards
/// (about 2 GB; the installed binaries do not need it).
fn ensure_every(mut each: impl FnMut(&Tool, &Installed)) -> Result<(), String> {
    let mut built = false;
    for tool in TOOLS {
        let installed = ensure(tool)?;
        built |= installed.installed_in.is_some();
        each(tool, &installed);
    }
    if built {
        let tools = tools_dir()?;
        let _lock = install_lock(&tools)?;
        let build = tools.join("build");
        match std::fs::remove_dir_all(&build) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("{}: {e}", build.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Ensures every tool and returns one summary note, such as `5 cached` or
/// `cargo-vet 0.10.3 installed in 212.0s, 4 cached`.
///
/// # Errors
/// The first tool that cannot be installed.
#[allow(dead_code, reason = "the entry point of `cargo xtask release-check`")]
pub(crate) fn ensure_all() -> Result<String, String> {
    let mut notes = Vec::new();
    let mut cached = 0;
    ensure_every(|tool, installed| match installed.installed_in {
        Some(took) => notes.push(format!("{tool} installed in {}", util::secs(took))),
        None => cached += 1,
    })?;
    if cached > 0 {
        notes.push(format!("{cached} cached"));
    }
    Ok(notes.join(", "))
}

/// `cargo xtask tools`: installs the missing tools and lists them all.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("unexpected argument `{arg}` (tools takes none)"));
    }
    let started = Instant::now();
    ensure_every(|tool, installed| {
        let how = match installed.installed_in {
            Some(took) => format!("installed in {}", util::secs(took)),
            None => "cached".to_owned(),
        };
        println!(
            "tools: {:<24} {how:<22} {}",
            tool.to_string(),
            installed.path.display()
        );
    })?;
    println!(
        "tools: all {} ready in {}",
        TOOLS.len(),
        util::secs(started.elapsed())
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn version_lines_of_the_tools_are_recognised() {
        assert!(DENY.version_line_matches("cargo-deny 0.20.2"));
        assert!(AUDIT.version_line_matches("cargo-audit 0.22.2"));
        assert!(VET.version_line_matches("cargo-vet 0.10.3"));
        assert!(AUDITABLE.version_line_matches("cargo-auditable 0.7.7"));
        assert!(CYCLONEDX.version_line_matches("cargo-cyclonedx-cyclonedx 0.5.9"));
        assert!(AUDIT.version_line_matches("cargo-audit-audit 0.22.2"));
        // Another version of the same tool is not the pinned one.
        assert!(!DENY.version_line_matches("cargo-deny 0.20.1"));
        assert!(!DENY.version_line_matches("cargo-deny 0.20.20"));
        assert!(!VET.version_line_matches("cargo-deny 0.10.3"));
        assert!(!VET.version_line_matches(""));
    }

    #[test]
    fn each_version_has_its_own_install_root_and_the_install_is_locked() {
        let tools = Path::new("/cache/journal-xtask/tools");
        assert_eq!(
            DENY.binary_in(tools),
            Path::new("/cache/journal-xtask/tools/cargo-deny-0.20.2/bin/cargo-deny")
        );
        let shown = util::describe(&VET.install_cmd(tools));
        assert!(
            shown.contains(
                "install --locked --force --version =0.10.3 --root /cache/journal-xtask/tools/cargo-vet-0.10.3"
            ),
            "{shown}"
        );
        assert!(shown.ends_with(" cargo-vet"), "{shown}");
        // Built quickly: no package's fat LTO (cargo-deny's) applies.
        let cmd = DENY.install_cmd(tools);
        let env: Vec<_> = cmd.get_envs().collect();
        assert!(env.contains(&("CARGO_PROFILE_RELEASE_LTO".as_ref(), Some("false".as_ref()))));
    }

    #[test]
    fn only_cargos_record_of_the_pinned_version_counts() {
        let record = "[v1]\n\"cargo-vet 0.10.3 (registry+https://github.com/rust-lang/crates.io-index)\" = [\"cargo-vet\"]\n";
        assert!(VET.recorded_in(record));
        assert!(!VET.recorded_in(&record.replace("0.10.3", "0.10.2")));
        assert!(!DENY.recorded_in(record));
        assert!(!DENY.is_installed_in(Path::new("/nonexistent")));
    }

    /// A cache entry with cargo's record but a binary that does not answer
    /// with the pinned version (damaged, replaced) is not taken as installed.
    #[test]
    fn a_binary_that_does_not_say_the_version_is_not_installed() {
        let tools = tempfile::tempdir().unwrap();
        let root = DENY.root(tools.path());
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::write(
            root.join(".crates.toml"),
            "[v1]\n\"cargo-deny 0.20.2 (registry+https://github.com/rust-lang/crates.io-index)\" = [\"cargo-deny\"]\n",
        )
        .unwrap();
        std::fs::write(DENY.binary_in(tools.path()), b"not a program").unwrap();
        assert!(!DENY.is_installed_in(tools.path()));
        // cargo-auditable cannot be asked; the record and the file decide.
        let root = AUDITABLE.root(tools.path());
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::write(
            root.join(".crates.toml"),
            "[v1]\n\"cargo-auditable 0.7.7 (registry+https://github.com/rust-lang/crates.io-index)\" = [\"cargo-auditable\"]\n",
        )
        .unwrap();
        assert!(!AUDITABLE.is_installed_in(tools.path()));
        std::fs::write(AUDITABLE.binary_in(tools.path()), b"x").unwrap();
        assert!(AUDITABLE.is_installed_in(tools.path()));
    }

    /// The tools this machine has installed are recognised as installed
    /// (no reinstall on every run): checked for whichever are in the cache.
    #[test]
    fn installed_tools_are_recognised() {
        let tools = tools_dir().unwrap();
        if !tools.is_dir() {
            return;
        }
        // Another test may be installing one right now (a fresh cache; seen
        // in a clean run: cargo-vet's record there, its binary not yet
        // answering): look only between installs, as `ensure` does.
        let _lock = install_lock(&tools).unwrap();
        for tool in TOOLS {
            if tool.root(&tools).join(".crates.toml").is_file() {
                assert!(tool.is_installed_in(&tools), "{tool}");
            }
        }
    }
}
