//! A journal in a temporary directory, driven through the binary, and the
//! helpers every test shares: running a command with a given exit code,
//! reading ids and entries back from `--json` output, snapshots of every
//! byte under the data dir.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use tempfile::TempDir;

/// The passphrase every journal here is created with.
pub(crate) const PASSPHRASE: &str = "correct horse battery staple";

/// The binary under test: the one cargo built for these tests, or
/// `JOURNAL_TEST_BIN` (for running the suite against a release build or a
/// deliberately broken one).
pub(crate) fn bin() -> std::ffi::OsString {
    std::env::var_os("JOURNAL_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_journal").into())
}

/// A temporary journal: its data dir (not created until `init`), a
/// passphrase file, a private runtime dir on a memory file system and a
/// home of its own (so that nothing touches the real one).
#[derive(Debug)]
pub(crate) struct Journal {
    /// Holds everything but the runtime dir.
    pub(crate) tmp: TempDir,
    /// `--data-dir`.
    pub(crate) data: PathBuf,
    /// `--passphrase-file` (first line: [`PASSPHRASE`]).
    pub(crate) pass: PathBuf,
    /// `$XDG_RUNTIME_DIR`: a private dir under /dev/shm where it exists.
    pub(crate) runtime: TempDir,
}

impl Journal {
    /// A journal that is not initialized yet.
    pub(crate) fn new() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("journal-cli-")
            .tempdir()
            .unwrap();
        let data = tmp.path().join("data");
        let pass = tmp.path().join("passphrase");
        // A second line must be ignored: only the first line is the passphrase.
        std::fs::write(&pass, format!("{PASSPHRASE}\nnot part of it\n")).unwrap();
        std::fs::create_dir(tmp.path().join("home")).unwrap();
        let shm = Path::new("/dev/shm");
        let runtime = if shm.is_dir() {
            tempfile::Builder::new()
                .prefix("journal-cli-run-")
                .tempdir_in(shm)
                .unwrap()
        } else {
            tempfile::Builder::new()
                .prefix("journal-cli-run-")
                .tempdir()
                .unwrap()
        };
        std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        Self {
            tmp,
            data,
            pass,
            runtime,
        }
    }

    /// A journal after a successful `init`.
    pub(crate) fn init() -> Self {
        let j = Self::new();
        j.ok(&["init"]);
        j
    }

    /// A file under the temporary dir (outside the data dir).
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes a passphrase file outside the data dir.
    pub(crate) fn pass_file(&self, name: &str, passphrase: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, format!("{passphrase}\n")).unwrap();
        p
    }

    /// The binary with a clean environment: no inherited `JOURNAL_*`,
    /// `EDITOR` that fails (tests that need one set their own), a home and
    /// XDG dirs of this journal, stdin not a terminal. No `--data-dir` and
    /// no passphrase: see [`Journal::cmd`].
    pub(crate) fn bare(&self) -> std::process::Command {
        let mut c = std::process::Command::new(bin());
        c.env_clear();
        for keep in ["PATH", "LANG", "LC_ALL", "TMPDIR"] {
            if let Some(v) = std::env::var_os(keep) {
                c.env(keep, v);
            }
        }
        let home = self.tmp.path().join("home");
        c.env("HOME", &home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .env("EDITOR", "false")
            .env("TERM", "xterm-256color")
            .stdin(std::process::Stdio::null());
        c
    }

    /// The binary on this journal's data dir with its passphrase file.
    pub(crate) fn cmd(&self) -> std::process::Command {
        let mut c = self.bare();
        c.arg("--data-dir")
            .arg(&self.data)
            .arg("--passphrase-file")
            .arg(&self.pass);
        c
    }

    /// Runs `args` on this journal.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let mut c = self.cmd();
        c.args(args);
        run(c)
    }

    /// Runs `args` with `input` on stdin (a pipe: not a terminal).
    pub(crate) fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut c = assert_cmd::Command::from_std({
            let mut c = self.cmd();
            c.args(args);
            c
        });
        let out = c.write_stdin(input.to_vec()).output().unwrap();
        check_no_colour(args, &out);
        out
    }

    /// Runs `args` and requires exit code 0; returns the output.
    pub(crate) fn ok(&self, args: &[&str]) -> Output {
        expect_code(args, self.run(args), 0)
    }

    /// Runs `args` and requires exit code `code`.
    pub(crate) fn code(&self, args: &[&str], code: i32) -> Output {
        expect_code(args, self.run(args), code)
    }

    /// `add TEXT` with tags; returns the new entry's id.
    pub(crate) fn add(&self, text: &str, tags: &[&str]) -> String {
        let before: BTreeSet<String> = self.ids().into_iter().collect();
        let mut args = vec!["add"];
        for t in tags {
            args.push("--tag");
            args.push(t);
        }
        args.push(text);
        let out = self.ok(&args);
        let after: BTreeSet<String> = self.ids().into_iter().collect();
        let new: Vec<&String> = after.difference(&before).collect();
        assert_eq!(
            new.len(),
            1,
            "`add` made {} new entries (expected 1); stdout: {}",
            new.len(),
            String::from_utf8_lossy(&out.stdout)
        );
        let id = new[0].clone();
        // If add prints an id, it is this one.
        let printed = uuids(&String::from_utf8_lossy(&out.stdout));
        assert!(
            printed.is_empty() || printed.contains(&id),
            "add printed {printed:?}, but the new entry is {id}"
        );
        id
    }

    /// The ids `list --json` shows.
    pub(crate) fn ids(&self) -> Vec<String> {
        let v = self.json(&["list", "--json"]);
        let mut ids = Vec::new();
        collect_ids(&v, &mut ids);
        ids
    }

    /// Runs a `--json` command with exit 0; stdout must be one JSON document.
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        parse_json(args, &out.stdout)
    }

    /// Every entry as `export --format json` (to stdout) gives it: id ->
    /// all of the entry's text (every string in its JSON object, joined).
    pub(crate) fn export_texts(&self) -> BTreeMap<String, String> {
        let out = self.ok(&["export", "--format", "json"]);
        let v = parse_json(&["export", "--format", "json"], &out.stdout);
        entry_texts(&v)
    }

    /// Every file and directory under the data dir: relative path -> (mode,
    /// contents; empty for directories).
    pub(crate) fn snapshot(&self) -> Snapshot {
        snapshot(&self.data)
    }

    /// Every regular file under the data dir.
    pub(crate) fn files(&self) -> Vec<PathBuf> {
        let mut v = Vec::new();
        walk(&self.data, &mut |p, m| {
            if m.is_file() {
                v.push(p.to_path_buf());
            }
        });
        v
    }
}

/// Path relative to the data dir -> (mode bits, bytes).
pub(crate) type Snapshot = BTreeMap<PathBuf, (u32, Vec<u8>)>;

/// Every file and directory under `root` (symlinks are not followed).
pub(crate) fn snapshot(root: &Path) -> Snapshot {
    let mut s = BTreeMap::new();
    walk(root, &mut |p, m| {
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        let bytes = if m.is_file() {
            std::fs::read(p).unwrap()
        } else {
            Vec::new()
        };
        s.insert(rel, (m.mode() & 0o7777, bytes));
    });
    s
}

/// Calls `f` on every entry under `root` (depth first, `root` excluded).
pub(crate) fn walk(root: &Path, f: &mut dyn FnMut(&Path, &std::fs::Metadata)) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    let mut entries: Vec<_> = rd.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue; // removed meanwhile
        };
        f(&p, &m);
        if m.is_dir() {
            walk(&p, f);
        }
    }
}

/// The paths whose contents or mode differ between two snapshots, or that
/// exist in only one of them.
pub(crate) fn changed(a: &Snapshot, b: &Snapshot) -> BTreeSet<PathBuf> {
    let keys: BTreeSet<&PathBuf> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Runs a prepared command and checks that it printed no colour: stdout
/// and stderr are pipes here, never a terminal.
pub(crate) fn run(mut c: std::process::Command) -> Output {
    let args: Vec<String> = c
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let out = c.output().unwrap();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    check_no_colour(&a, &out);
    out
}

fn check_no_colour(args: &[&str], out: &Output) {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !bytes.contains(&0x1b),
            "journal {args:?}: escape sequence (colour or cursor) on {name}, which is not a terminal:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// Requires `code` as the exit status; shows both streams otherwise.
pub(crate) fn expect_code(args: &[&str], out: Output, code: i32) -> Output {
    assert_eq!(
        out.status.code(),
        Some(code),
        "journal {args:?}: expected exit {code}, got {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// stdout must be exactly one JSON document.
pub(crate) fn parse_json(args: &[&str], stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "journal {args:?}: stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(stdout)
        )
    })
}

/// Every UUID (8-4-4-4-12 hex) in `s`, lowercased.
pub(crate) fn uuids(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let groups = [8usize, 4, 4, 4, 12];
    let mut i = 0;
    while i + 36 <= b.len() {
        let mut j = i;
        let mut good = true;
        for (g, n) in groups.iter().enumerate() {
            if !b[j..j + n].iter().all(u8::is_ascii_hexdigit) {
                good = false;
                break;
            }
            j += n;
            if g < 4 {
                if b[j] != b'-' {
                    good = false;
                    break;
                }
                j += 1;
            }
        }
        let boundary_before = i == 0 || !b[i - 1].is_ascii_hexdigit();
        let boundary_after = j >= b.len() || !b[j].is_ascii_hexdigit();
        if good && boundary_before && boundary_after {
            out.push(s[i..j].to_ascii_lowercase());
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Every value of an `"id"` field that is a UUID, anywhere in `v`, in order.
pub(crate) fn collect_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(s)) = m.get("id")
                && let [one] = uuids(s).as_slice()
                && one.len() == s.len()
                && !out.contains(one)
            {
                out.push(one.clone());
            }
            for x in m.values() {
                collect_ids(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_ids(x, out)),
        _ => {}
    }
}

/// Every string in `v` (keys excluded), joined with newlines.
pub(crate) fn all_strings(v: &Value) -> String {
    fn go(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(a) => a.iter().for_each(|x| go(x, out)),
            Value::Object(m) => m.values().for_each(|x| go(x, out)),
            _ => {}
        }
    }
    let mut s = String::new();
    go(v, &mut s);
    s
}

/// For each JSON object with a UUID `"id"`: id -> all of its strings.
pub(crate) fn entry_texts(v: &Value) -> BTreeMap<String, String> {
    fn go(v: &Value, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(s)) = m.get("id")
                    && uuids(s).len() == 1
                    && s.len() == 36
                {
                    out.insert(s.to_ascii_lowercase(), all_strings(v));
                    return;
                }
                m.values().for_each(|x| go(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| go(x, out)),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    go(v, &mut out);
    out
}

/// Where `needle` occurs in any file under `root` (raw bytes), as
/// "path at offset".
pub(crate) fn grep_tree(root: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    walk(root, &mut |p, m| {
        if m.is_file() {
            let bytes = std::fs::read(p).unwrap_or_default();
            if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
                hits.push(format!("{} at {at}", p.display()));
            }
        }
        // Names too.
        let name = p.file_name().map(OsStr::as_encoded_bytes).unwrap_or(&[]);
        if name.windows(needle.len()).any(|w| w == needle) {
            hits.push(format!("{} (in the name)", p.display()));
        }
    });
    hits
}

/// Flips every bit of the byte at `at` (from the end when negative).
pub(crate) fn flip_byte(path: &Path, at: i64) {
    let mut b = std::fs::read(path).unwrap();
    assert!(!b.is_empty(), "{} is empty", path.display());
    let len = i64::try_from(b.len()).unwrap();
    let i = usize::try_from(if at < 0 { len + at } else { at.min(len - 1) }).unwrap();
    b[i] ^= 0xff;
    write_keep_mode(path, &b);
}

/// Rewrites `path` in place (same inode, same mode).
pub(crate) fn write_keep_mode(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
}

/// stderr as text.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout as text.
pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A unique marker per call: never produced by chance by encryption.
pub(crate) fn marker(what: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("zq{what}mark{}x{n}qz", std::process::id())
}

/// Writes an executable shell script.
pub(crate) fn script(path: &Path, body: &str) -> PathBuf {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_path_buf()
}

/// The same command run through `sh -c 'umask 000; exec ...'`, so that the
/// binary starts with a umask that grants everything (no process-global
/// umask change in the test process).
pub(crate) fn under_umask_000(c: &std::process::Command) -> std::process::Command {
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", "umask 000; exec \"$@\"", "sh"])
        .arg(c.get_program())
        .args(c.get_args());
    sh.env_clear();
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    sh.stdin(std::process::Stdio::null());
    sh
}
