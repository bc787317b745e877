//! `cargo xtask release --out DIR [--sign KEYFILE]` and `cargo xtask
//! release-check`.
//!
//! A release is built from a copy of the source tree (the files git tracks
//! or would track: ignored files such as `target/` are left out) in a
//! directory of its own, with `cargo auditable build --release --locked`,
//! so that the binary carries its dependency list (`cargo audit bin` reads
//! it). The build is reproducible: every path that could reach the binary
//! is remapped (the copy, `$CARGO_HOME`, the toolchain's sysroot; C code
//! compiled by build scripts gets the same maps through `-ffile-prefix-map`),
//! `SOURCE_DATE_EPOCH` is the commit's time, the environment is cleared to a
//! short list, and dependencies come from `Cargo.lock` (`--locked`).
//! `release-check` builds twice, in two different directories, and compares
//! the two binaries byte for byte; where they differ it names the offsets
//! and the ELF sections that hold them.
//!
//! `release --out DIR` writes:
//! - `DIR/journal`: the binary;
//! - `DIR/journal.cdx.json`: the CycloneDX SBOM of the app (cargo-cyclonedx);
//! - `DIR/journal.manifest.json`: model-verify's manifest format (an in-toto
//!   statement, `crates/model-verify/FORMAT.md`) listing the SHA-256 and
//!   size of every other file in DIR, name `journal`, revision the commit;
//! - with `--sign KEYFILE` (an Ed25519 or P-256 PEM key, as for
//!   `cargo xtask checksums`), also `DIR/journal.manifest.sig.json`: the
//!   same manifest as a signed Sigstore bundle. `journal doctor` checks its
//!   own binary against the manifest beside it.
//!
//! `release-check` runs everything a release needs, each step timed, and
//! prints one table at the end: `cargo xtask ci`, the tools, deny, audit
//! with the freshness gate, vet, a fuzz smoke run, `cargo publish
//! --dry-run` of the library crates, a build and test of each library
//! crate from its packaged tarball alone, the auditable build, the SBOM and
//! manifest, and the reproducibility check.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{ci, tools, torch, util};

/// The application package and its binary.
const APP: &str = "journal";
/// The manifest written beside the binary; `journal doctor` looks for it.
pub(crate) const MANIFEST_NAME: &str = "journal.manifest.json";
/// The signed bundle of the same manifest (with `--sign`).
const SIGNED_MANIFEST_NAME: &str = "journal.manifest.sig.json";
/// The SBOM's file name in the release directory.
const SBOM_NAME: &str = "journal.cdx.json";
/// The paths that reach the binary are rewritten to these.
const REMAP_SOURCE: &str = "/build/journal-security";
const REMAP_CARGO_HOME: &str = "/cargo";
const REMAP_SYSROOT: &str = "/rust/sysroot";
/// Fuzz smoke time per target in `release-check`.
const FUZZ_SMOKE_SECONDS: u64 = 10;

const USAGE: &str = "usage: cargo xtask release --out DIR [--sign KEYFILE]
       cargo xtask release-check";

// ---------------------------------------------------------------------------
// The source tree and the reproducible build
// ---------------------------------------------------------------------------

/// The files of the source tree, relative to the root: tracked files that
/// exist, and untracked files that `.gitignore` does not exclude.
fn source_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("git")
        .current_dir(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .map_err(|e| format!("could not run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`git ls-files` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut files: Vec<PathBuf> = out
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        // A tracked file deleted in the working tree is not part of it.
        .filter(|p| root.join(p).symlink_metadata().is_ok())
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// Copies `files` (relative to `root`) into `dest`, keeping modes and
/// symbolic links.
fn copy_tree(root: &Path, files: &[PathBuf], dest: &Path) -> Result<(), String> {
    for rel in files {
        let from = root.join(rel);
        let to = dest.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let meta = from
            .symlink_metadata()
            .map_err(|e| format!("{}: {e}", from.display()))?;
        if meta.file_type().is_symlink() {
            let target =
                std::fs::read_link(&from).map_err(|e| format!("{}: {e}", from.display()))?;
            std::os::unix::fs::symlink(&target, &to)
                .map_err(|e| format!("{}: {e}", to.display()))?;
        } else if meta.is_file() {
            std::fs::copy(&from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
        }
    }
    Ok(())
}

/// The commit being released: its hash, its time (for
/// `SOURCE_DATE_EPOCH`) and whether the working tree differs from it.
#[derive(Debug, Clone)]
struct Commit {
    hash: String,
    epoch: String,
    dirty: bool,
}

fn commit(root: &Path) -> Result<Commit, String> {
    let git = |args: &[&str]| {
        util::output(Command::new("git").current_dir(root).args(args))
            .ok_or_else(|| format!("`git {}` failed", args.join(" ")))
    };
    let hash = git(&["rev-parse", "HEAD"])?;
    let epoch = git(&["log", "-1", "--format=%ct", "HEAD"])?;
    let dirty = !git(&["status", "--porcelain", "--untracked-files=no"])?.is_empty();
    Ok(Commit { hash, epoch, dirty })
}

impl Commit {
    /// The revision written into the manifest.
    fn revision(&self) -> String {
        if self.dirty {
            format!("{}-dirty", self.hash)
        } else {
            self.hash.clone()
        }
    }
}

/// Where cargo keeps the registry sources: `$CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Result<PathBuf, String> {
    if let Some(h) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".cargo"))
        .ok_or_else(|| "neither CARGO_HOME nor HOME is set".to_owned())
}

fn sysroot() -> Result<PathBuf, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    util::output(Command::new(rustc).args(["--print", "sysroot"]))
        .map(PathBuf::from)
        .ok_or_else(|| "`rustc --print sysroot` failed".to_owned())
}

/// The settings of a reproducible build, apart from the source directory.
#[derive(Debug, Clone)]
struct BuildSettings {
    cargo_home: PathBuf,
    sysroot: PathBuf,
    epoch: String,
}

impl BuildSettings {
    fn detect(commit: &Commit) -> Result<Self, String> {
        Ok(Self {
            cargo_home: cargo_home()?,
            sysroot: sysroot()?,
            epoch: commit.epoch.clone(),
        })
    }

    /// Path maps for rustc, most general first: rustc applies the last
    /// one that matches.
    fn remaps(&self, src: &Path) -> Vec<(PathBuf, &'static str)> {
        vec![
            (self.sysroot.clone(), REMAP_SYSROOT),
            (self.cargo_home.clone(), REMAP_CARGO_HOME),
            (src.to_path_buf(), REMAP_SOURCE),
        ]
    }

    /// `CARGO_ENCODED_RUSTFLAGS` (separated by 0x1f, so that paths with
    /// spaces survive).
    fn rustflags(&self, src: &Path) -> String {
        self.remaps(src)
            .iter()
            .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
            .collect::<Vec<_>>()
            .join("\u{1f}")
    }

    /// `CFLAGS`/`CXXFLAGS` for C code compiled by build scripts (ring):
    /// the same maps.
    fn cflags(&self, src: &Path) -> String {
        self.remaps(src)
            .iter()
            .map(|(from, to)| format!("-ffile-prefix-map={}={to}", from.display()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The release build of `package` in `src` (target dir `src/target`),
    /// with the dependency list embedded by cargo-auditable at `auditable`.
    /// The environment is cleared to the variables a build needs, so that
    /// nothing of the caller's (RUSTFLAGS, wrappers, cargo's own variables
    /// from `cargo xtask`) changes the output.
    fn command(&self, auditable: &Path, src: &Path, package: &str) -> Command {
        let mut cmd = Command::new(auditable);
        cmd.args(["auditable", "build", "--release", "--locked", "--package"])
            .arg(package)
            .arg("--bin")
            .arg(package)
            .current_dir(src)
            .env_clear();
        for var in [
            "PATH",
            "HOME",
            "CARGO_HOME",
            "RUSTUP_HOME",
            "RUSTUP_TOOLCHAIN",
            "TMPDIR",
        ] {
            if let Some(v) = std::env::var_os(var) {
                cmd.env(var, v);
            }
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        cmd.env("CARGO", cargo)
            .env("CARGO_TARGET_DIR", src.join("target"))
            .env("CARGO_ENCODED_RUSTFLAGS", self.rustflags(src))
            .env("CFLAGS", self.cflags(src))
            .env("CXXFLAGS", self.cflags(src))
            .env("SOURCE_DATE_EPOCH", &self.epoch)
            .env("CARGO_INCREMENTAL", "0")
            .env("CARGO_TERM_COLOR", "never")
            .env("LC_ALL", "C")
            .env("TZ", "UTC");
        cmd
    }
}

/// A build of the app from a fresh copy of the tree: the copy's path and
/// the binary it produced.
#[derive(Debug)]
struct Build {
    src: PathBuf,
    binary: PathBuf,
}

/// Copies the source tree into each of `dests` (emptied first), all from
/// one listing taken now: builds compared with each other must start from
/// the same files, even if the checkout changes while the first one runs.
fn copy_sources(root: &Path, dests: &[&Path]) -> Result<(), String> {
    let files = source_files(root)?;
    for dest in dests {
        if dest.exists() {
            std::fs::remove_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        }
        std::fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    // The first copy is made from the checkout, the others from that copy.
    let Some((first, rest)) = dests.split_first() else {
        return Ok(());
    };
    copy_tree(root, &files, first)?;
    for dest in rest {
        copy_tree(first, &files, dest)?;
    }
    Ok(())
}

/// Builds `package` in the copy of the tree at `src` (see [`copy_sources`]).
fn build_in(
    src: &Path,
    settings: &BuildSettings,
    auditable: &Path,
    package: &str,
) -> Result<Build, String> {
    util::run(&mut settings.command(auditable, src, package))?;
    let binary = src.join("target").join("release").join(package);
    if !binary.is_file() {
        return Err(format!("the build left no {}", binary.display()));
    }
    Ok(Build {
        src: src.to_path_buf(),
        binary,
    })
}

// ---------------------------------------------------------------------------
// Comparing two binaries
// ---------------------------------------------------------------------------

/// A section of an ELF file: its name and its byte range in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Section {
    name: String,
    offset: u64,
    size: u64,
}

fn read_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The sections of a little-endian ELF64 file, or `None` for anything else
/// (the comparison then reports bare offsets).
fn elf_sections(b: &[u8]) -> Option<Vec<Section>> {
    if b.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let shoff = usize::try_from(read_u64(b, 0x28)?).ok()?;
    let shentsize = usize::from(read_u16(b, 0x3a)?);
    let shnum = usize::from(read_u16(b, 0x3c)?);
    let shstrndx = usize::from(read_u16(b, 0x3e)?);
    if shentsize < 0x40 {
        return None;
    }
    let header = |i: usize| shoff.checked_add(i.checked_mul(shentsize)?);
    let strtab = header(shstrndx)?;
    let str_off = usize::try_from(read_u64(b, strtab + 0x18)?).ok()?;
    let mut sections = Vec::with_capacity(shnum);
    for i in 0..shnum {
        let h = header(i)?;
        let name_at = str_off.checked_add(usize::try_from(read_u32(b, h)?).ok()?)?;
        let name_bytes = b.get(name_at..)?;
        let end = name_bytes.iter().position(|&c| c == 0)?;
        let kind = read_u32(b, h + 4)?;
        let offset = read_u64(b, h + 0x18)?;
        // SHT_NOBITS (.bss) occupies no bytes in the file.
        let size = if kind == 8 { 0 } else { read_u64(b, h + 0x20)? };
        sections.push(Section {
            name: String::from_utf8_lossy(&name_bytes[..end]).into_owned(),
            offset,
            size,
        });
    }
    Some(sections)
}

/// The byte ranges where `a` and `b` differ (a length difference counts as
/// one range at the end), at most `max` of them; nearby differences (less
/// than 16 equal bytes apart) are merged into one range.
fn differing_ranges(a: &[u8], b: &[u8], max: usize) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let common = a.len().min(b.len());
    let mut i = 0;
    while i < common && ranges.len() <= max {
        if a[i] == b[i] {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        let mut j = end;
        while j < common && j - end < 16 {
            if a[j] != b[j] {
                end = j + 1;
            }
            j += 1;
        }
        ranges.push((start as u64, end as u64));
        i = end;
    }
    if a.len() != b.len() && ranges.len() <= max {
        ranges.push((common as u64, a.len().max(b.len()) as u64));
    }
    ranges.truncate(max);
    ranges
}

/// Whether two binaries are identical; when not, a report of where they
/// differ: the first differing ranges and the sections holding them.
fn compare(a: &[u8], b: &[u8]) -> Result<(), String> {
    if a == b {
        return Ok(());
    }
    let ranges = differing_ranges(a, b, 12);
    let total_ranges = differing_ranges(a, b, usize::MAX).len();
    let sections = elf_sections(a).unwrap_or_default();
    let section_of = |at: u64| {
        sections
            .iter()
            .filter(|s| s.size > 0 && s.offset <= at && at < s.offset + s.size)
            .map(|s| s.name.as_str())
            .next_back()
            .unwrap_or("(no section)")
    };
    let mut report = format!(
        "the two builds differ: {} vs {} bytes, {total_ranges} differing range(s)",
        a.len(),
        b.len()
    );
    let mut names: Vec<&str> = Vec::new();
    for &(start, end) in &ranges {
        let name = section_of(start);
        let _ = write!(
            report,
            "\n  0x{start:08x}..0x{end:08x} ({} bytes) in {name}",
            end - start
        );
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if total_ranges > ranges.len() {
        let _ = write!(report, "\n  ... and {} more", total_ranges - ranges.len());
    }
    let _ = write!(report, "\n  sections: {}", names.join(", "));
    Err(report)
}

// ---------------------------------------------------------------------------
// Release artifacts: SBOM and manifest
// ---------------------------------------------------------------------------

/// Writes the CycloneDX SBOM (JSON) of `package` in the tree at `src` to
/// `out`, with the cargo-cyclonedx binary at `cyclonedx`, made reproducible
/// by [`reproducible_sbom`] with the commit time `epoch`.
fn write_sbom(
    cyclonedx: &Path,
    src: &Path,
    package: &str,
    epoch: &str,
    out: &Path,
) -> Result<(), String> {
    // cargo-cyclonedx writes one file beside every workspace member's
    // manifest, whichever manifest it is given: all are removed afterwards.
    let members = member_dirs(&cargo_metadata(src)?);
    let app_dir = members
        .iter()
        .find(|(name, _)| name == package)
        .map(|(_, dir)| dir.clone())
        .ok_or_else(|| format!("no package `{package}` in {}", src.display()))?;
    let name = "release-sbom";
    let file_in = |dir: &Path| dir.join(format!("{name}.json"));
    let remove_all = || {
        for (_, dir) in &members {
            let _ = std::fs::remove_file(file_in(dir));
        }
    };
    remove_all();
    let run = util::run(
        Command::new(cyclonedx)
            .args([
                "cyclonedx",
                "--format",
                "json",
                "--spec-version",
                "1.5",
                "--manifest-path",
            ])
            .arg(app_dir.join("Cargo.toml"))
            .args(["--override-filename", name])
            .env(
                "CARGO",
                std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
            )
            .current_dir(src),
    );
    let written = file_in(&app_dir);
    let text = run.and_then(|_| {
        std::fs::read_to_string(&written).map_err(|e| format!("{}: {e}", written.display()))
    });
    remove_all();
    let text = text?;
    check_sbom(&text, package)?;
    let text = reproducible_sbom(&text, src, epoch)?;
    std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))
}

/// Makes cargo-cyclonedx's output depend on the sources alone: the build
/// directory `src` in package references becomes the path the binary's
/// own paths are remapped to, the timestamp is the commit time `epoch`
/// (`SOURCE_DATE_EPOCH`, seconds), and the random serial number becomes a
/// UUID derived from the SHA-256 of the rest of the document (RFC 9562
/// version 8), so the same sources give the same SBOM byte for byte.
///
/// # Errors
/// Text that is not JSON, or an epoch that is not a number of seconds.
fn reproducible_sbom(text: &str, src: &Path, epoch: &str) -> Result<String, String> {
    use sha2::{Digest, Sha256};

    fn remap(v: &mut serde_json::Value, from: &str, to: &str) {
        match v {
            serde_json::Value::String(s) if s.contains(from) => *s = s.replace(from, to),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|v| remap(v, from, to)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|v| remap(v, from, to)),
            _ => {}
        }
    }

    let mut doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the SBOM is not JSON: {e}"))?;
    let secs: u64 = epoch
        .trim()
        .parse()
        .map_err(|_| format!("SOURCE_DATE_EPOCH must be seconds, got `{epoch}`"))?;
    remap(&mut doc, &src.display().to_string(), REMAP_SOURCE);
    doc["metadata"]["timestamp"] = rfc3339(secs).into();
    if let Some(o) = doc.as_object_mut() {
        o.remove("serialNumber");
    }
    let digest = Sha256::digest(serde_json::to_vec(&doc).map_err(|e| e.to_string())?);
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80; // version 8
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 9562 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    doc["serialNumber"] = format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
    .into();
    let mut out = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    out.push('\n');
    Ok(out)
}

/// `secs` since the epoch as an RFC 3339 UTC time, `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        crate::advisory_db::Date::from_days(days),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Refuses an SBOM that is not CycloneDX JSON describing `package` with
/// its dependencies.
fn check_sbom(text: &str, package: &str) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the SBOM is not JSON: {e}"))?;
    if v["bomFormat"] != "CycloneDX" {
        return Err("the SBOM's bomFormat is not CycloneDX".into());
    }
    if v["metadata"]["component"]["name"] != package {
        return Err(format!("the SBOM does not describe `{package}`"));
    }
    let n = v["components"].as_array().map_or(0, Vec::len);
    if n == 0 {
        return Err("the SBOM lists no components".into());
    }
    Ok(())
}

/// The name and directory of every package in `cargo metadata --no-deps`.
fn member_dirs(meta: &serde_json::Value) -> Vec<(String, PathBuf)> {
    meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let dir = Path::new(p["manifest_path"].as_str()?).parent()?;
            Some((p["name"].as_str()?.to_owned(), dir.to_path_buf()))
        })
        .collect()
}

fn cargo_metadata(root: &Path) -> Result<serde_json::Value, String> {
    let mut cmd = util::cargo();
    cmd.current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"]);
    let out = util::output(&mut cmd).ok_or("`cargo metadata` failed")?;
    serde_json::from_str(&out).map_err(|e| format!("cargo metadata: {e}"))
}

/// The manifest (model-verify's format, `files` method) of every regular
/// file in `dir` except the manifests themselves, sorted by name.
fn release_manifest(dir: &Path, revision: &str) -> Result<model_verify::Manifest, String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        if !kind.is_file() {
            return Err(format!(
                "{}: not a regular file (a release directory holds files only)",
                entry.path().display()
            ));
        }
        if name != MANIFEST_NAME && name != SIGNED_MANIFEST_NAME {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Err(format!("{}: no artifacts to list", dir.display()));
    }
    names.sort();
    let mut resources = Vec::with_capacity(names.len());
    let mut concatenated = Vec::with_capacity(32 * names.len());
    for name in &names {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let digest = model_verify::Sha256Digest::of(&bytes);
        let hex = digest.to_hex();
        concatenated.extend(hex_decode(&hex).ok_or("digest is not hex")?);
        resources.push(serde_json::json!({
            "name": name,
            "algorithm": "sha256",
            "digest": hex,
            "size": bytes.len(),
        }));
    }
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{
            "name": APP,
            "digest": { "sha256": model_verify::Sha256Digest::of(&concatenated).to_hex() }
        }],
        "predicateType": "https://model_signing/signature/v1.0",
        "predicate": {
            "serialization": {
                "method": "files",
                "hash_type": "sha256",
                "allow_symlinks": false,
                "ignore_paths": [MANIFEST_NAME, SIGNED_MANIFEST_NAME],
            },
            "resources": resources,
            "manifest_version": 1,
            "revision": revision,
        }
    });
    // model-verify parses what we wrote: the same rules as for any manifest.
    model_verify::Manifest::parse(statement.to_string().as_bytes())
        .map_err(|e| format!("the release manifest does not parse: {e}"))
}

fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks the files in `dir` against the manifest there (the check that
/// `journal doctor` makes of its own binary, for every artifact).
fn check_manifest(dir: &Path) -> Result<usize, String> {
    let path = dir.join(MANIFEST_NAME);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let m =
        model_verify::Manifest::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    for e in m.entries() {
        let file = dir.join(e.path());
        let data = std::fs::read(&file).map_err(|err| format!("{}: {err}", file.display()))?;
        let ok = e.size() == Some(data.len() as u64)
            && e.sha256() == Some(model_verify::Sha256Digest::of(&data));
        if !ok {
            return Err(format!(
                "{}: does not match {MANIFEST_NAME}",
                file.display()
            ));
        }
    }
    Ok(m.entries().len())
}

/// Writes the manifest of `dir` (and its signed bundle with `key`).
fn write_manifests(
    dir: &Path,
    revision: &str,
    key: Option<&model_verify::SigningKey>,
) -> Result<(), String> {
    let manifest = release_manifest(dir, revision)?;
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    write(MANIFEST_NAME, manifest.to_json())?;
    match key {
        Some(k) => write(SIGNED_MANIFEST_NAME, manifest.to_signed_json(k))?,
        None => {
            let _ = std::fs::remove_file(dir.join(SIGNED_MANIFEST_NAME));
        }
    }
    Ok(())
}

/// Copies the binary and writes the SBOM and manifests into `out`.
fn assemble(
    out: &Path,
    build: &Build,
    cyclonedx: &Path,
    commit: &Commit,
    key: Option<&model_verify::SigningKey>,
) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let bin = out.join(APP);
    std::fs::copy(&build.binary, &bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    write_sbom(
        cyclonedx,
        &build.src,
        APP,
        &commit.epoch,
        &out.join(SBOM_NAME),
    )?;
    write_manifests(out, &commit.revision(), key)?;
    check_manifest(out).map(|_| ())
}

/// Whether an ELF binary carries cargo-auditable's dependency list.
fn has_dependency_list(binary: &[u8]) -> bool {
    elf_sections(binary).is_some_and(|s| s.iter().any(|s| s.name == ".dep-v0" && s.size > 0))
}

/// A scratch directory under the target dir, emptied first.
fn scratch(name: &str) -> Result<PathBuf, String> {
    let dir = util::project_root()
        .join("target")
        .join("xtask-release")
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    Ok(dir)
}

/// `cargo xtask release --out DIR [--sign KEYFILE]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut out = None;
    let mut sign = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--sign" => sign = Some(PathBuf::from(value("--sign")?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    let out = out.ok_or_else(|| format!("--out DIR is required\n{USAGE}"))?;
    // A bad key fails before minutes of building.
    let key = sign
        .as_deref()
        .map(|p| {
            model_verify::SigningKey::from_pem_file(p).map_err(|e| format!("{}: {e}", p.display()))
        })
        .transpose()?;
    let root = util::project_root();
    let commit = commit(&root)?;
    let settings = BuildSettings::detect(&commit)?;
    let auditable = tools::ensure(&tools::AUDITABLE)?.path;
    let cyclonedx = tools::ensure(&tools::CYCLONEDX)?.path;
    let src = scratch("a")?;
    copy_sources(&root, &[&src])?;
    let build = build_in(&src, &settings, &auditable, APP)?;
    assemble(&out, &build, &cyclonedx, &commit, key.as_ref())?;
    println!(
        "release: wrote {} ({APP}, {SBOM_NAME}, {MANIFEST_NAME}{}) for {}",
        out.display(),
        if key.is_some() {
            format!(", {SIGNED_MANIFEST_NAME}")
        } else {
            String::new()
        },
        commit.revision()
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Publishable crates
// ---------------------------------------------------------------------------

/// A workspace package that may be published.
#[derive(Debug, Clone)]
struct Publishable {
    name: String,
    version: String,
}

/// The workspace packages whose `publish` allows crates.io, in an order
/// where each comes after its workspace dependencies.
fn publishable(meta: &serde_json::Value) -> Vec<Publishable> {
    let packages: Vec<&serde_json::Value> =
        meta["packages"].as_array().into_iter().flatten().collect();
    let mut pending: Vec<&serde_json::Value> = packages
        .iter()
        .copied()
        // `publish` is null (any registry) or a list that names crates-io.
        .filter(|p| {
            p["publish"].is_null()
                || p["publish"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r == "crates-io"))
        })
        .collect();
    let names: Vec<String> = pending
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut ordered: Vec<Publishable> = Vec::new();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|p| {
            let ready = p["dependencies"].as_array().into_iter().flatten().all(|d| {
                let dep = d["name"].as_str().unwrap_or_default();
                d["kind"] == "dev"
                    || !names.iter().any(|n| n == dep)
                    || ordered.iter().any(|o| o.name == dep)
                    || p["name"] == dep
            });
            if ready {
                ordered.push(Publishable {
                    name: p["name"].as_str().unwrap_or_default().to_owned(),
                    version: p["version"].as_str().unwrap_or_default().to_owned(),
                });
            }
            !ready
        });
        if pending.len() == before {
            // A cycle cannot happen in cargo; keep the rest as listed.
            for p in pending.drain(..) {
                ordered.push(Publishable {
                    name: p["name"].as_str().unwrap_or_default().to_owned(),
                    version: p["version"].as_str().unwrap_or_default().to_owned(),
                });
            }
        }
    }
    ordered
}

/// `cargo publish --dry-run --no-verify` of every publishable package:
/// cargo's own checks of what would be uploaded (manifest metadata, the
/// packaged file list, dependencies on unpublished workspace crates
/// resolved by cargo's local overlay), without cargo's verify build. The
/// `tarball` step builds *and tests* every crate from its tarball alone,
/// which is what that build would check, and more; building each twice
/// cost release-check minutes it has not got. Nothing is compiled, so the
/// libtorch crates are checked on every machine.
fn publish_dry_run(packages: &[Publishable]) -> Result<String, String> {
    let mut cmd = util::cargo();
    cmd.args([
        "publish",
        "--dry-run",
        "--locked",
        "--allow-dirty",
        "--no-verify",
    ]);
    for p in packages {
        cmd.args(["--package", &p.name]);
    }
    util::run(&mut cmd)?;
    Ok(format!("{} crates", packages.len()))
}

/// The `[profile.*]` tables of the root manifest, copied into the tarball
/// workspace so that its tests run with the same settings (dependencies
/// optimized in test builds) and reuse the compiled dependencies.
fn profile_tables(root_manifest: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in root_manifest.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            inside = trimmed.starts_with("[profile.");
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The manifest of a workspace made of the unpacked tarballs: each crate a
/// member (the libtorch ones only when `with_torch`), every one patched in
/// for crates.io, so that they depend on each other's tarballs and on
/// nothing else of ours.
fn tarball_workspace(
    unpacked: &[(Publishable, String)],
    with_torch: bool,
    profiles: &str,
) -> String {
    let mut members = Vec::new();
    let mut excluded = Vec::new();
    let mut patch = String::new();
    for (p, dir) in unpacked {
        if with_torch || !ci::TORCH_PACKAGES.contains(&p.name.as_str()) {
            members.push(format!("{dir:?}"));
        } else {
            excluded.push(format!("{dir:?}"));
        }
        let _ = writeln!(patch, "{} = {{ path = {dir:?} }}", p.name);
    }
    format!(
        "# Written by `cargo xtask release-check`: the packaged crates alone.\n\
         [workspace]\nresolver = \"3\"\nmembers = [{}]\nexclude = [{}]\n\n\
         [patch.crates-io]\n{patch}\n{profiles}",
        members.join(", "),
        excluded.join(", ")
    )
}

/// Packages each publishable crate, unpacks the tarballs side by side and
/// runs their tests there (all features, as CI does): a crate that needs a
/// file outside its tarball fails here. The libtorch crates are tested
/// when `libtorch` is given.
fn tarball_tests(
    packages: &[Publishable],
    libtorch: Option<&torch::Libtorch>,
) -> Result<String, String> {
    let root = util::project_root();
    let mut pack = util::cargo();
    pack.args(["package", "--no-verify", "--locked", "--allow-dirty"]);
    for p in packages {
        pack.args(["--package", &p.name]);
    }
    util::run(&mut pack)?;
    let work = scratch("tarballs")?;
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let mut unpacked = Vec::new();
    for p in packages {
        let dir = format!("{}-{}", p.name, p.version);
        let tarball = root
            .join("target")
            .join("package")
            .join(format!("{dir}.crate"));
        util::run(
            Command::new("tar")
                .arg("-xzf")
                .arg(&tarball)
                .arg("-C")
                .arg(&work),
        )?;
        unpacked.push((p.clone(), dir));
    }
    let root_manifest =
        std::fs::read_to_string(root.join("Cargo.toml")).map_err(|e| format!("Cargo.toml: {e}"))?;
    let manifest = tarball_workspace(
        &unpacked,
        libtorch.is_some(),
        &profile_tables(&root_manifest),
    );
    std::fs::write(work.join("Cargo.toml"), manifest)
        .map_err(|e| format!("{}: {e}", work.display()))?;
    // The repository's lock file: the versions CI tested (cargo drops the
    // entries of packages not in this workspace).
    std::fs::copy(root.join("Cargo.lock"), work.join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut test = util::cargo();
    test.current_dir(&work)
        .args(["test", "--workspace", "--all-features"])
        // The workspace's target dir: the dependencies CI compiled are reused.
        .env("CARGO_TARGET_DIR", root.join("target"));
    if let Some(l) = libtorch {
        l.apply(&mut test);
    }
    util::run(&mut test)?;
    let tested: Vec<&str> = unpacked
        .iter()
        .filter(|(p, _)| libtorch.is_some() || !ci::TORCH_PACKAGES.contains(&p.name.as_str()))
        .map(|(p, _)| p.name.as_str())
        .collect();
    let mut note = format!("{} crates tested from their tarballs", tested.len());
    if tested.len() < unpacked.len() {
        note.push_str(" (libtorch crates left out: no libtorch)");
    }
    Ok(note)
}

// ---------------------------------------------------------------------------
// release-check
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Fail,
    Skip,
}

#[derive(Debug)]
struct Row {
    name: String,
    status: Status,
    took: Duration,
    note: String,
}

#[derive(Debug, Default)]
struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// Runs one step, prints its line now and keeps it for the table.
    fn step(&mut self, name: &str, f: impl FnOnce() -> Result<String, String>) -> bool {
        println!("release-check: == {name}");
        let started = Instant::now();
        let result = f();
        let took = started.elapsed();
        let (status, note) = match result {
            Ok(note) => (Status::Ok, note),
            Err(e) => {
                // The table keeps the first line; the whole report goes here.
                println!("release-check: {name} failed:\n{e}");
                (Status::Fail, e)
            }
        };
        let row = Row {
            name: name.to_owned(),
            status,
            took,
            note,
        };
        println!("{}", row_line(&row));
        self.rows.push(row);
        status == Status::Ok
    }

    fn skip(&mut self, name: &str, why: &str) {
        let row = Row {
            name: name.to_owned(),
            status: Status::Skip,
            took: Duration::ZERO,
            note: why.to_owned(),
        };
        println!("{}", row_line(&row));
        self.rows.push(row);
    }

    fn failed(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.status == Status::Fail)
            .count()
    }

    fn render(&self, total: Duration) -> String {
        let mut s = String::from("\nrelease-check summary\n");
        let _ = writeln!(s, "{:<26} {:<6} {:>9}  note", "step", "status", "time");
        let _ = writeln!(s, "{}", "-".repeat(78));
        for r in &self.rows {
            let _ = writeln!(s, "{}", row_line(r));
        }
        let _ = writeln!(s, "{}", "-".repeat(78));
        let _ = writeln!(
            s,
            "{:<26} {:<6} {:>9}  {} step(s), {} failed, {} skipped",
            "total",
            if self.failed() == 0 { "ok" } else { "FAIL" },
            util::secs(total),
            self.rows.len(),
            self.failed(),
            self.rows
                .iter()
                .filter(|r| r.status == Status::Skip)
                .count()
        );
        s
    }
}

fn row_line(r: &Row) -> String {
    let status = match r.status {
        Status::Ok => "ok",
        Status::Fail => "FAIL",
        Status::Skip => "skip",
    };
    // Failures can be long (a compiler's output): the first line only.
    let note = r.note.lines().next().unwrap_or_default();
    format!(
        "{:<26} {status:<6} {:>9}  {note}",
        r.name,
        util::secs(r.took)
    )
}

/// The steps of `release-check`, by the names `--only` takes.
const STEPS: &[&str] = &[
    "ci", "tools", "deny", "audit", "vet", "fuzz", "publish", "tarball", "build", "sbom", "repro",
];

/// The usage line of `release-check`.
const CHECK_USAGE: &str = "usage: cargo xtask release-check [--only STEP,...] [--offline] \
                           [--db PATH|live] [--max-age-days N]";

/// The steps to run: all of them, or those named by `--only A,B`; and the
/// rest of the arguments (the advisory database's).
fn selected_steps(args: &[String]) -> Result<(Vec<&'static str>, Vec<String>), String> {
    let mut steps = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg != "--only" {
            rest.push(arg.clone());
            continue;
        }
        let list = it
            .next()
            .ok_or_else(|| format!("--only needs steps ({CHECK_USAGE})"))?;
        let mut out = Vec::new();
        for name in list.split(',').filter(|n| !n.is_empty()) {
            let step = STEPS
                .iter()
                .find(|s| **s == name)
                .ok_or_else(|| format!("unknown step `{name}` (steps: {})", STEPS.join(", ")))?;
            out.push(*step);
        }
        if out.is_empty() || steps.is_some() {
            return Err(format!(
                "--only needs steps, once (steps: {})",
                STEPS.join(", ")
            ));
        }
        steps = Some(out);
    }
    Ok((steps.unwrap_or_else(|| STEPS.to_vec()), rest))
}

/// `cargo xtask release-check [--only STEP,...] [--offline] [--db PATH|live]
/// [--max-age-days N]`. `--offline`: the machine reaches only the package
/// registries, so the live advisory database is never fetched; with no
/// local copy, deny runs without its advisories check and the audit is
/// skipped, both saying so in the table.
pub(crate) fn check(args: &[String]) -> Result<(), String> {
    let (steps, advisory_args) = selected_steps(args)?;
    // Arguments are checked before anything runs; a malformed deny.toml
    // limit fails the deny and audit steps, after ci.
    let advisories = crate::advisory_db::AdvisoryFlags::parse(&advisory_args)
        .map_err(|e| format!("{e} ({CHECK_USAGE})"))?
        .resolve();
    let want = |s: &str| steps.contains(&s);
    let started = Instant::now();
    let root = util::project_root();
    let mut t = Table::default();

    if want("ci") {
        t.step("ci", || {
            ci::run(&[]).map(|()| "fmt, clippy, tests, docs, libtorch crates".to_owned())
        });
    }
    if want("tools") {
        t.step("tools", tools::ensure_all);
    }
    if let Ok(adv) = &advisories {
        println!(
            "release-check: {}",
            match adv {
                Some(a) => format!(
                    "{} ({}, limit {} days)",
                    crate::supply::describe_source(&a.source),
                    a.chosen_by,
                    a.max_age_days
                ),
                None =>
                    "offline and no local advisory database: advisories are not checked".to_owned(),
            }
        );
    }
    const NO_DB: &str = "offline and no local advisory database (--db PATH, \
                         JOURNAL_ADVISORY_DB or ../shared/advisory-db)";
    if want("deny") {
        t.step("deny", || match advisories.as_ref()? {
            Some(adv) => crate::supply::deny(adv),
            None => crate::supply::deny_without_advisories(),
        });
    }
    if want("audit") {
        match &advisories {
            Ok(None) => t.skip("audit + freshness gate", NO_DB),
            _ => {
                t.step("audit + freshness gate", || {
                    let adv = advisories.as_ref().map_err(Clone::clone)?;
                    crate::supply::audit(adv.as_ref().ok_or(NO_DB)?)
                });
            }
        }
    }
    if want("vet") {
        t.step("vet", || crate::supply::vet(false));
    }
    if want("fuzz") {
        t.step("fuzz smoke", || crate::fuzz::smoke(FUZZ_SMOKE_SECONDS));
    }

    // The libtorch crates are published and tested too, where libtorch is
    // available (ci has prepared it by now).
    let libtorch = torch::prepare().ok();
    let meta = cargo_metadata(&root);
    let packages = meta.as_ref().map(publishable).unwrap_or_default();
    if want("publish") {
        t.step("publish dry run", || {
            meta.as_ref().map_err(Clone::clone)?;
            publish_dry_run(&packages)
        });
    }
    if want("tarball") {
        t.step("tarball tests", || {
            meta.as_ref().map_err(Clone::clone)?;
            tarball_tests(&packages, libtorch.as_ref())
        });
    }
    if !(want("build") || want("sbom") || want("repro")) {
        return finish(&t, started);
    }

    let mut build_a = None;
    let prepared = commit(&root).and_then(|c| Ok((BuildSettings::detect(&c)?, c)));
    let auditable = tools::ensure(&tools::AUDITABLE).map(|i| i.path);
    t.step("auditable build", || {
        let (settings, _) = prepared.as_ref().map_err(Clone::clone)?;
        let auditable = auditable.as_ref().map_err(Clone::clone)?;
        // Both copies now, before the first build: the same files for both.
        let (src_a, src_b) = (scratch("a")?, scratch("second-build-b")?);
        copy_sources(&root, &[&src_a, &src_b])?;
        let b = build_in(&src_a, settings, auditable, APP)?;
        let bytes = std::fs::read(&b.binary).map_err(|e| format!("{}: {e}", b.binary.display()))?;
        if !has_dependency_list(&bytes) {
            return Err(format!(
                "{} has no .dep-v0 section (cargo-auditable)",
                b.binary.display()
            ));
        }
        let note = format!("{} bytes, dependency list embedded", bytes.len());
        build_a = Some(b);
        Ok(note)
    });
    match &build_a {
        Some(a) => {
            if want("sbom") {
                t.step("sbom + manifest", || {
                    let (_, commit) = prepared.as_ref().map_err(Clone::clone)?;
                    let cyclonedx = tools::ensure(&tools::CYCLONEDX)?.path;
                    let out = scratch("dist")?;
                    assemble(&out, a, &cyclonedx, commit, None)?;
                    Ok(format!(
                        "{} ({APP}, {SBOM_NAME}, {MANIFEST_NAME})",
                        out.display()
                    ))
                });
            }
            if want("repro") {
                t.step("reproducible build", || {
                    let (settings, _) = prepared.as_ref().map_err(Clone::clone)?;
                    let auditable = auditable.as_ref().map_err(Clone::clone)?;
                    // A second directory, with a longer path: remapping, not luck.
                    let src_b = root
                        .join("target")
                        .join("xtask-release")
                        .join("second-build-b");
                    let b = build_in(&src_b, settings, auditable, APP)?;
                    let read =
                        |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
                    compare(&read(&a.binary)?, &read(&b.binary)?)?;
                    // The SBOMs of both trees, too.
                    let cyclonedx = tools::ensure(&tools::CYCLONEDX)?.path;
                    let sboms = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
                    let (sbom_a, sbom_b) = (sboms.path().join("a"), sboms.path().join("b"));
                    write_sbom(&cyclonedx, &a.src, APP, &settings.epoch, &sbom_a)?;
                    write_sbom(&cyclonedx, &b.src, APP, &settings.epoch, &sbom_b)?;
                    if read(&sbom_a)? != read(&sbom_b)? {
                        return Err(format!(
                            "the SBOMs of {} and {} differ (see {})",
                            a.src.display(),
                            b.src.display(),
                            sboms.keep().display()
                        ));
                    }
                    Ok(format!(
                        "bit-identical binaries and SBOMs from {} and {}",
                        a.src.display(),
                        b.src.display()
                    ))
                });
            }
        }
        None => {
            t.skip("sbom + manifest", "no auditable build");
            t.skip("reproducible build", "no auditable build");
        }
    }

    finish(&t, started)
}

/// Prints the summary table and the machine's facts; fails when a step did.
fn finish(t: &Table, started: Instant) -> Result<(), String> {
    println!("{}", t.render(started.elapsed()));
    println!("release-check: machine: {}", ci::machine_facts());
    match t.failed() {
        0 => Ok(()),
        n => Err(format!("{n} step(s) failed")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    fn temp_dir() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("xtask-release-")
            .tempdir()
            .unwrap()
    }

    /// A minimal ELF64 file with sections `.text` (bytes 0x100..0x140) and
    /// `.dep-v0` (0x140..0x150), and its section name table.
    fn tiny_elf() -> Vec<u8> {
        let mut b = vec![0u8; 0x400];
        b[..6].copy_from_slice(b"\x7fELF\x02\x01");
        let names = b"\0.text\0.dep-v0\0.shstrtab\0";
        b[0x180..0x180 + names.len()].copy_from_slice(names);
        let shoff = 0x200u64;
        b[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        b[0x3a..0x3c].copy_from_slice(&0x40u16.to_le_bytes());
        b[0x3c..0x3e].copy_from_slice(&4u16.to_le_bytes());
        b[0x3e..0x40].copy_from_slice(&3u16.to_le_bytes());
        let mut sh = |i: usize, name: u32, kind: u32, off: u64, size: u64| {
            let h = 0x200 + i * 0x40;
            b[h..h + 4].copy_from_slice(&name.to_le_bytes());
            b[h + 4..h + 8].copy_from_slice(&kind.to_le_bytes());
            b[h + 0x18..h + 0x20].copy_from_slice(&off.to_le_bytes());
            b[h + 0x20..h + 0x28].copy_from_slice(&size.to_le_bytes());
        };
        sh(1, 1, 1, 0x100, 0x40);
        sh(2, 7, 1, 0x140, 0x10);
        sh(3, 15, 3, 0x180, names.len() as u64);
        b
    }

    #[test]
    fn identical_binaries_compare_equal() {
        let a = tiny_elf();
        assert!(compare(&a, &a.clone()).is_ok());
    }

    #[test]
    fn a_difference_is_reported_with_its_offset_and_section() {
        let a = tiny_elf();
        let mut b = a.clone();
        b[0x110] ^= 1;
        b[0x112] ^= 1; // merged with the first: fewer than 16 equal bytes apart
        b[0x145] ^= 0xff;
        let e = compare(&a, &b).unwrap_err();
        assert!(e.contains("2 differing range(s)"), "{e}");
        assert!(
            e.contains("0x00000110..0x00000113 (3 bytes) in .text"),
            "{e}"
        );
        assert!(
            e.contains("0x00000145..0x00000146 (1 bytes) in .dep-v0"),
            "{e}"
        );
        assert!(e.contains("sections: .text, .dep-v0"), "{e}");
        // A longer second binary is a difference too, even with equal bytes.
        let mut c = a.clone();
        c.push(0);
        let e = compare(&a, &c).unwrap_err();
        assert!(e.contains("1024 vs 1025 bytes"), "{e}");
        // Not ELF: offsets alone.
        let e = compare(b"abcd", b"abXd").unwrap_err();
        assert!(
            e.contains("0x00000002..0x00000003 (1 bytes) in (no section)"),
            "{e}"
        );
    }

    #[test]
    fn the_dependency_list_section_is_found() {
        let mut a = tiny_elf();
        assert!(has_dependency_list(&a));
        // Rename `.dep-v0` to `.dep-v1`: no longer the auditable section.
        a[0x180 + 13] = b'1';
        assert!(!has_dependency_list(&a));
        assert!(!has_dependency_list(b"not an elf"));
    }

    #[test]
    fn the_build_remaps_every_path_and_clears_the_environment() {
        let settings = BuildSettings {
            cargo_home: PathBuf::from("/home/u/.cargo"),
            sysroot: PathBuf::from("/home/u/.rustup/toolchains/x"),
            epoch: "1700000000".into(),
        };
        let cmd = settings.command(
            Path::new("/t/cargo-auditable"),
            Path::new("/tmp/a b"),
            "journal",
        );
        let shown = util::describe(&cmd);
        assert_eq!(
            shown,
            "cargo-auditable auditable build --release --locked --package journal --bin journal"
        );
        let env = |k: &str| {
            cmd.get_envs()
                .find(|(key, _)| *key == k)
                .and_then(|(_, v)| v)
                .map(|v| v.to_string_lossy().into_owned())
        };
        let flags = env("CARGO_ENCODED_RUSTFLAGS").unwrap();
        assert_eq!(
            flags.split('\u{1f}').collect::<Vec<_>>(),
            [
                "--remap-path-prefix=/home/u/.rustup/toolchains/x=/rust/sysroot",
                "--remap-path-prefix=/home/u/.cargo=/cargo",
                "--remap-path-prefix=/tmp/a b=/build/journal-security",
            ]
        );
        assert!(
            env("CFLAGS")
                .unwrap()
                .contains("-ffile-prefix-map=/tmp/a b=/build/journal-security")
        );
        assert_eq!(env("SOURCE_DATE_EPOCH").as_deref(), Some("1700000000"));
        assert_eq!(env("CARGO_TARGET_DIR").as_deref(), Some("/tmp/a b/target"));
        assert_eq!(env("CARGO_INCREMENTAL").as_deref(), Some("0"));
        // Nothing of the caller's leaks in: `cargo xtask` itself runs with
        // cargo's variables set (CARGO_PKG_NAME and friends).
        assert!(env("CARGO_PKG_NAME").is_none());
        assert!(env("RUSTFLAGS").is_none());
    }

    #[test]
    fn the_manifest_lists_every_artifact_and_catches_a_changed_one() {
        let dir = temp_dir();
        std::fs::write(dir.path().join(APP), b"\x7fELF binary").unwrap();
        std::fs::write(dir.path().join(SBOM_NAME), b"{}").unwrap();
        let key = model_verify::SigningKey::generate().unwrap();
        write_manifests(dir.path(), "abc123", Some(&key)).unwrap();
        let bytes = std::fs::read(dir.path().join(MANIFEST_NAME)).unwrap();
        let m = model_verify::Manifest::parse(&bytes).unwrap();
        assert_eq!((m.name(), m.revision()), (Some(APP), Some("abc123")));
        let listed: Vec<&str> = m.entries().iter().map(|e| e.path()).collect();
        assert_eq!(listed, [APP, SBOM_NAME]);
        assert_eq!(
            m.entries()[0].sha256(),
            Some(model_verify::Sha256Digest::of(b"\x7fELF binary"))
        );
        // The signed bundle carries the same manifest.
        let signed = std::fs::read(dir.path().join(SIGNED_MANIFEST_NAME)).unwrap();
        let s = model_verify::Manifest::parse_signed(&signed, &key.public_key()).unwrap();
        assert_eq!(s.to_json(), m.to_json());
        assert_eq!(check_manifest(dir.path()).unwrap(), 2);
        // One changed byte in the binary is caught.
        std::fs::write(dir.path().join(APP), b"\x7fELF binarY").unwrap();
        let e = check_manifest(dir.path()).unwrap_err();
        assert!(e.contains("does not match journal.manifest.json"), "{e}");
        // Without a key, no stale signature is left behind.
        write_manifests(dir.path(), "abc123", None).unwrap();
        assert!(!dir.path().join(SIGNED_MANIFEST_NAME).exists());
    }

    #[test]
    fn a_release_directory_with_a_subdirectory_is_refused() {
        let dir = temp_dir();
        std::fs::write(dir.path().join(APP), b"x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let e = write_manifests(dir.path(), "r", None).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn sboms_are_made_reproducible() {
        let sbom = |dir: &str, serial: &str, when: &str, dep: &str| {
            format!(
                r#"{{"bomFormat":"CycloneDX","serialNumber":"urn:uuid:{serial}",
                "metadata":{{"timestamp":"{when}","component":{{"name":"journal",
                "bom-ref":"path+file://{dir}/apps/journal#0.1.0"}}}},
                "components":[{{"name":"{dep}","bom-ref":"path+file://{dir}/crates/x#0.1.0"}}]}}"#
            )
        };
        let one = sbom("/tmp/a", "1111", "2026-12-07T04:13:45.3Z", "subtle");
        let two = sbom("/tmp/longer/b", "2222", "2026-12-08T01:00:00.1Z", "subtle");
        let a = reproducible_sbom(&one, Path::new("/tmp/a"), "1700000000").unwrap();
        let b = reproducible_sbom(&two, Path::new("/tmp/longer/b"), "1700000000").unwrap();
        assert_eq!(a, b);
        assert!(!a.contains("/tmp/"), "{a}");
        assert!(a.contains("path+file:///build/journal-security/apps/journal#0.1.0"));
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
        let serial = v["serialNumber"].as_str().unwrap();
        let uuid = serial.strip_prefix("urn:uuid:").unwrap();
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{serial}");
        assert!(uuid.as_bytes()[14] == b'8', "version 8: {serial}");
        // Other contents, another serial; another commit time, another stamp.
        let other = sbom("/tmp/a", "1111", "2026-12-07T04:13:45.3Z", "zeroize");
        let c = reproducible_sbom(&other, Path::new("/tmp/a"), "1700000000").unwrap();
        let cv: serde_json::Value = serde_json::from_str(&c).unwrap();
        assert_ne!(cv["serialNumber"], v["serialNumber"]);
        let d = reproducible_sbom(&one, Path::new("/tmp/a"), "0").unwrap();
        assert!(d.contains("1970-01-01T00:00:00Z"), "{d}");
        assert!(reproducible_sbom(&one, Path::new("/tmp/a"), "yesterday").is_err());
        assert!(reproducible_sbom("not json", Path::new("/tmp/a"), "0").is_err());
    }

    /// The real tool on two copies of this tree at different paths: the
    /// same SBOM, naming neither path, and nothing left in either copy.
    #[test]
    fn the_apps_sbom_is_reproducible_and_leaves_no_files_behind() {
        let cyclonedx = tools::ensure(&tools::CYCLONEDX).unwrap().path;
        let dir = temp_dir();
        let (a, b) = (dir.path().join("a"), dir.path().join("a-longer-path-b"));
        copy_sources(&util::project_root(), &[&a, &b]).unwrap();
        let (sbom_a, sbom_b) = (dir.path().join("a.json"), dir.path().join("b.json"));
        write_sbom(&cyclonedx, &a, APP, "1700000000", &sbom_a).unwrap();
        write_sbom(&cyclonedx, &b, APP, "1700000000", &sbom_b).unwrap();
        let text = std::fs::read_to_string(&sbom_a).unwrap();
        assert_eq!(text, std::fs::read_to_string(&sbom_b).unwrap());
        assert!(!text.contains(&dir.path().display().to_string()));
        check_sbom(&text, APP).unwrap();
        for (_, member) in member_dirs(&cargo_metadata(&a).unwrap()) {
            assert!(
                !member.join("release-sbom.json").exists(),
                "{} left behind",
                member.display()
            );
        }
        let err = write_sbom(&cyclonedx, &a, "no-such-app", "0", &sbom_a).unwrap_err();
        assert!(err.contains("no package `no-such-app`"), "{err}");
    }

    #[test]
    fn sboms_that_do_not_describe_the_app_are_refused() {
        let good = r#"{"bomFormat":"CycloneDX","metadata":{"component":{"name":"journal"}},"components":[{"name":"clap"}]}"#;
        check_sbom(good, APP).unwrap();
        assert!(check_sbom("not json", APP).is_err());
        assert!(check_sbom(&good.replace("CycloneDX", "SPDX"), APP).is_err());
        assert!(check_sbom(&good.replace("\"journal\"", "\"other\""), APP).is_err());
        assert!(check_sbom(&good.replace(r#"[{"name":"clap"}]"#, "[]"), APP).is_err());
    }

    #[test]
    fn publishable_packages_come_after_their_workspace_dependencies() {
        let meta = serde_json::json!({"packages": [
            {"name": "app", "version": "0.1.0", "publish": [], "dependencies": [{"name": "b", "kind": null}]},
            {"name": "b", "version": "0.1.0", "publish": null, "dependencies": [
                {"name": "a", "kind": null}, {"name": "serde", "kind": null}]},
            {"name": "a", "version": "0.2.0", "publish": null, "dependencies": [
                {"name": "b", "kind": "dev"}, {"name": "a", "kind": "dev"}]},
            {"name": "tool", "version": "0.0.0", "publish": [], "dependencies": []},
        ]});
        let names: Vec<String> = publishable(&meta).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn the_tarball_workspace_patches_every_crate_and_keeps_the_profiles() {
        let root = "[workspace]\nmembers = []\n\n[profile.release]\npanic = \"abort\"\n\n[profile.dev.package.\"*\"]\nopt-level = 2\n\n[workspace.lints.rust]\nx = 1\n";
        let profiles = profile_tables(root);
        assert_eq!(
            profiles,
            "[profile.release]\npanic = \"abort\"\n\n[profile.dev.package.\"*\"]\nopt-level = 2\n\n"
        );
        let p = |n: &str| Publishable {
            name: n.into(),
            version: "0.1.0".into(),
        };
        let unpacked = vec![
            (p("secure-fs"), "secure-fs-0.1.0".to_owned()),
            (p("inference-tch"), "inference-tch-0.1.0".to_owned()),
        ];
        let ws = tarball_workspace(&unpacked, false, &profiles);
        assert!(ws.contains("members = [\"secure-fs-0.1.0\"]"), "{ws}");
        assert!(ws.contains("exclude = [\"inference-tch-0.1.0\"]"), "{ws}");
        assert!(
            ws.contains("secure-fs = { path = \"secure-fs-0.1.0\" }"),
            "{ws}"
        );
        assert!(
            ws.contains("inference-tch = { path = \"inference-tch-0.1.0\" }"),
            "{ws}"
        );
        assert!(ws.contains("opt-level = 2"), "{ws}");
        let ws = tarball_workspace(&unpacked, true, &profiles);
        assert!(
            ws.contains("members = [\"secure-fs-0.1.0\", \"inference-tch-0.1.0\"]"),
            "{ws}"
        );
    }

    /// Workspace packages that are never published: test tools, the
    /// automation, the benches and the app.
    const UNPUBLISHED: &[&str] = &["powerloss", "xtask", "tch-smoke", "benches", "journal"];

    /// Publishable crates whose `documentation` and docs.rs metadata are
    /// still to be added by the crate's owner.
    const METADATA_PENDING: &[&str] = &[];

    /// crates.io category slugs that our crates may use (a subset of
    /// crates.io's `categories.toml`).
    const CATEGORIES: &[&str] = &[
        "authentication",
        "command-line-utilities",
        "cryptography",
        "encoding",
        "filesystem",
        "network-programming",
        "os::unix-apis",
        "parser-implementations",
        "science",
        "text-processing",
    ];

    #[test]
    fn library_crates_are_publishable_with_complete_metadata_and_tools_are_not() {
        let meta = cargo_metadata(&util::project_root()).unwrap();
        let publishable: Vec<String> = publishable(&meta).into_iter().map(|p| p.name).collect();
        for p in meta["packages"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let published = publishable.iter().any(|n| n == name);
            assert_eq!(
                published,
                !UNPUBLISHED.contains(&name),
                "{name}: publish setting (tools stay unpublished, libraries are published)"
            );
            if !published {
                continue;
            }
            for field in ["description", "license", "readme"] {
                assert!(
                    p[field].as_str().is_some_and(|v| !v.is_empty()),
                    "{name}: no {field}"
                );
            }
            let repo = p["repository"].as_str().unwrap_or_default();
            assert!(
                repo.starts_with("https://github.com/"),
                "{name}: repository {repo:?}"
            );
            // pii-scan's manifest belongs to its own work, which has not
            // added these two yet (said in the release report).
            let pending = METADATA_PENDING.contains(&name);
            let docs = format!("https://docs.rs/{name}");
            assert!(
                pending || p["documentation"].as_str() == Some(docs.as_str()),
                "{name}: documentation"
            );
            assert!(
                pending || p["metadata"]["docs"]["rs"].is_object(),
                "{name}: no [package.metadata.docs.rs]"
            );
            let keywords = p["keywords"].as_array().map_or(0, Vec::len);
            assert!((1..=5).contains(&keywords), "{name}: 1 to 5 keywords");
            let categories = p["categories"].as_array().unwrap();
            assert!(
                (1..=5).contains(&categories.len()),
                "{name}: 1 to 5 categories"
            );
            for c in categories {
                let c = c.as_str().unwrap_or_default();
                assert!(CATEGORIES.contains(&c), "{name}: unknown category {c}");
            }
            let dir = Path::new(p["manifest_path"].as_str().unwrap())
                .parent()
                .unwrap();
            for file in ["README.md", "CHANGELOG.md"] {
                assert!(dir.join(file).is_file(), "{name}: no {file}");
            }
        }
    }

    #[test]
    fn both_copies_are_made_from_one_listing_and_leave_ignored_files_out() {
        let dir = temp_dir();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("src")).unwrap();
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .current_dir(&repo)
                .args(args)
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::write(repo.join(".gitignore"), "target/\n").unwrap();
        std::fs::write(repo.join("src/lib.rs"), "// lib\n").unwrap();
        std::fs::create_dir_all(repo.join("target")).unwrap();
        std::fs::write(repo.join("target/junk"), "x").unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("stale"), "left from an earlier run").unwrap();
        copy_sources(&repo, &[&a, &b]).unwrap();
        for copy in [&a, &b] {
            assert_eq!(
                std::fs::read_to_string(copy.join("src/lib.rs")).unwrap(),
                "// lib\n"
            );
            assert!(copy.join(".gitignore").is_file());
            assert!(
                !copy.join("target").exists(),
                "ignored files are not copied"
            );
            assert!(!copy.join("stale").exists(), "each copy starts empty");
        }
    }

    #[test]
    fn the_source_copy_holds_tracked_files_and_leaves_ignored_ones_out() {
        let root = util::project_root();
        let files = source_files(&root).unwrap();
        assert!(files.iter().any(|f| f == Path::new("Cargo.lock")));
        assert!(files.iter().any(|f| f == Path::new("xtask/src/release.rs")));
        assert!(files.iter().all(|f| !f.starts_with("target")));
    }

    #[test]
    fn a_failed_step_is_in_the_table_and_fails_the_check() {
        let mut t = Table::default();
        assert!(t.step("good", || Ok("fine".into())));
        assert!(!t.step("bad", || Err("broke\nsecond line".into())));
        t.skip("later", "no build");
        let s = t.render(Duration::from_secs(3));
        assert!(s.contains("good                       ok"), "{s}");
        assert!(s.contains("bad                        FAIL"), "{s}");
        assert!(s.contains("broke") && !s.contains("second line"), "{s}");
        assert!(s.contains("later                      skip"), "{s}");
        assert!(s.contains("3 step(s), 1 failed, 1 skipped"), "{s}");
        assert_eq!(t.failed(), 1);
    }

    #[test]
    fn release_arguments_are_checked() {
        assert!(run(&[]).unwrap_err().contains("--out DIR is required"));
        assert!(run(&["--bogus".into()]).is_err());
        assert!(run(&["--out".into()]).is_err());
        let e = run(&[
            "--out".into(),
            "/tmp/x".into(),
            "--sign".into(),
            "/nonexistent/key.pem".into(),
        ])
        .unwrap_err();
        assert!(e.contains("/nonexistent/key.pem"), "{e}");
        assert!(check(&["x".into()]).is_err());
        assert!(
            check(&["--only".into(), "ci,bogus".into()])
                .unwrap_err()
                .contains("unknown step `bogus`")
        );
        assert!(check(&["--only".into(), ",".into()]).is_err());
        assert!(check(&["--only".into(), "deny".into(), "--only".into(), "ci".into()]).is_err());
        assert!(check(&["--offline".into(), "--max-age-days".into()]).is_err());
        assert_eq!(selected_steps(&[]).unwrap(), (STEPS.to_vec(), vec![]));
        let args: Vec<String> = ["--offline", "--only", "repro,deny", "--max-age-days", "180"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            selected_steps(&args).unwrap(),
            (
                vec!["repro", "deny"],
                vec!["--offline".into(), "--max-age-days".into(), "180".into()]
            )
        );
    }
}
