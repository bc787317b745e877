//! Regression tests for the defects a review of the journal found (M1-M7,
//! N2-N11): each drives the built binary and failed before its fix.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

const PASSPHRASE: &str = "review fixes passphrase";

struct J {
    tmp: TempDir,
    data: PathBuf,
    pass: PathBuf,
    runtime: TempDir,
}

impl J {
    fn new() -> J {
        let tmp = tempfile::Builder::new()
            .prefix("journal-review-")
            .tempdir()
            .unwrap();
        let data = tmp.path().join("data");
        let pass = tmp.path().join("pass");
        std::fs::write(&pass, format!("{PASSPHRASE}\n")).unwrap();
        std::fs::create_dir(tmp.path().join("home")).unwrap();
        let shm = Path::new("/dev/shm");
        let mut b = tempfile::Builder::new();
        b.prefix("journal-review-run-");
        let runtime = if shm.is_dir() {
            b.tempdir_in(shm).unwrap()
        } else {
            b.tempdir().unwrap()
        };
        std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        J {
            tmp,
            data,
            pass,
            runtime,
        }
    }

    fn init() -> J {
        let j = J::new();
        j.code(&["init"], 0);
        j
    }

    fn cmd(&self) -> Command {
        // JOURNAL_TEST_BIN: run against another build (e.g. one from before a fix).
        let mut c = Command::new(
            std::env::var_os("JOURNAL_TEST_BIN")
                .unwrap_or_else(|| env!("CARGO_BIN_EXE_journal").into()),
        );
        c.env_clear();
        for keep in ["PATH", "LANG", "TMPDIR"] {
            if let Some(v) = std::env::var_os(keep) {
                c.env(keep, v);
            }
        }
        let home = self.tmp.path().join("home");
        c.env("HOME", &home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .env("EDITOR", "false")
            .stdin(Stdio::null())
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--passphrase-file")
            .arg(&self.pass);
        c
    }

    fn run_with(&self, args: &[&str], f: impl FnOnce(&mut Command)) -> Output {
        let mut c = self.cmd();
        c.args(args);
        f(&mut c);
        c.output().unwrap()
    }

    fn code(&self, args: &[&str], code: i32) -> Output {
        self.code_with(args, code, |_| {})
    }

    fn code_with(&self, args: &[&str], code: i32, f: impl FnOnce(&mut Command)) -> Output {
        let out = self.run_with(args, f);
        assert_eq!(
            out.status.code(),
            Some(code),
            "`journal {}`: stdout {} stderr {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn add(&self, text: &str) -> String {
        let out = self.code(&["add", text], 0);
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.code(args, 0);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn entry_files(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.data.join("entries"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().len() == 64)
            .collect();
        v.sort();
        v
    }

    /// Every byte under the data dir contains `marker`?
    fn anywhere(&self, marker: &[u8]) -> Vec<PathBuf> {
        fn walk(p: &Path, m: &[u8], hits: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(p).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, m, hits);
                } else if let Ok(b) = std::fs::read(&p)
                    && b.windows(m.len()).any(|w| w == m)
                {
                    hits.push(p);
                }
            }
        }
        let mut hits = Vec::new();
        walk(&self.data, marker, &mut hits);
        hits
    }
}

fn flip(p: &Path, at: usize) {
    let mut b = std::fs::read(p).unwrap();
    let i = at.min(b.len() - 1);
    b[i] ^= 0x40;
    std::fs::write(p, b).unwrap();
}

// M1: one damaged entry file and one rotation must not lock the user out.
#[test]
fn m1_a_damaged_entry_and_a_rotation_do_not_lock_the_user_out() {
    let j = J::init();
    let a = j.add("A first entry. One of the two gets a flipped byte.");
    let b = j.add("A second entry. One of the two gets a flipped byte.");
    let first_two = j.entry_files();
    // A third entry: the newest one's file may be rewritten from the index
    // log at the next open (roll forward), the older ones not.
    j.add("A third entry. Added last.");
    flip(&first_two[0], 60);
    let (good, bad) = if j.run_with(&["show", &a], |_| {}).status.code() == Some(3) {
        (b, a)
    } else {
        (a, b)
    };
    j.code(&["show", &bad], 3);
    j.code(&["keys", "rotate"], 3);
    j.code(&["show", &good], 0);
    j.code(&["show", &bad[..8]], 3);
    // The old version is kept while a file might still need it.
    let st = j.json(&["keys", "status", "--json"]);
    assert!(st.to_string().contains("decryptonly"), "{st}");
    let list = j.json(&["list", "--json"]);
    assert!(list.to_string().contains(&good));
    j.add("Added after the rotation.");
    let d = j.run_with(&["doctor", "--json"], |_| {});
    assert!(matches!(d.status.code(), Some(0 | 3)), "{d:?}");
    let _: Value = serde_json::from_slice(&d.stdout).unwrap();
    j.code(&["show", &good], 0);
    // Once the damaged entry is gone, the rotation finishes: one version left.
    j.code(&["delete", &bad], 0);
    j.code(&["list"], 0);
    let st = j.json(&["keys", "status", "--json"]);
    assert!(!st.to_string().contains("decryptonly"), "{st}");
}

/// A scripted `$EDITOR` that replaces the file with `text`.
fn editor_writing(j: &J, name: &str, text: &str) -> PathBuf {
    let p = j.tmp.path().join(name);
    let t = j.tmp.path().join(format!("{name}.txt"));
    std::fs::write(&t, text).unwrap();
    std::fs::write(&p, format!("#!/bin/sh\ncat '{}' > \"$1\"\n", t.display())).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
    p
}

// M2: a log left from before a compaction (a crash between the two writes
// of `compact`) must not leave the index stale for good.
#[test]
fn m2_a_log_of_an_older_base_does_not_leave_the_index_stale() {
    let j = J::init();
    let id = j.add("Original title. The first body.");
    let saved = std::fs::read(j.data.join("index.log")).unwrap();
    // Big enough to fold the log into a new base.
    let big = j.tmp.path().join("big.txt");
    std::fs::write(&big, format!("A long one. {}", "x".repeat(350 << 10))).unwrap();
    j.code_with(&["add", "-"], 0, |c| {
        c.stdin(std::fs::File::open(&big).unwrap());
    });
    std::fs::write(j.data.join("index.log"), &saved).unwrap();
    let ed = editor_writing(&j, "ed", "Edited title zebra.\n\nThe new body.\n");
    j.code_with(&["edit", &id], 0, |c| {
        c.env("EDITOR", &ed);
    });
    let log = std::fs::read(j.data.join("index.log")).unwrap();
    assert_eq!(&log[..4], b"JLOG");
    let list = j.code(&["list"], 0);
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("Edited title zebra."), "{list}");
    assert!(!list.contains("Original title"), "{list}");
    let found = j.json(&["search", "zebra", "--json"]);
    assert!(found.to_string().contains(&id), "{found}");
    // The state a crash between compaction's two writes leaves: a new
    // base, the log (older than it) of the previous base. An add (which
    // opens for appending only) after it is not lost either.
    let saved = std::fs::read(j.data.join("index.log")).unwrap();
    let before = std::fs::metadata(j.data.join("index.log"))
        .unwrap()
        .modified()
        .unwrap();
    std::fs::write(
        big.as_path(),
        format!("Another long one. {}", "y".repeat(350 << 10)),
    )
    .unwrap();
    j.code_with(&["add", "-"], 0, |c| {
        c.stdin(std::fs::File::open(&big).unwrap());
    });
    std::fs::write(j.data.join("index.log"), &saved).unwrap();
    std::fs::File::options()
        .write(true)
        .open(j.data.join("index.log"))
        .unwrap()
        .set_modified(before)
        .unwrap();
    let id2 = j.add("Another one after the crash.");
    let list = j.json(&["list", "--json"]);
    assert!(list.to_string().contains(&id2), "{list}");
    assert!(list.to_string().contains("Edited title zebra."), "{list}");
    assert!(list.to_string().contains("Another long one."), "{list}");
}

fn log_len(j: &J) -> u64 {
    std::fs::metadata(j.data.join("index.log")).unwrap().len()
}

// M4: after delete or edit, no copy of the old entry stays in the index's
// files (the log's delta, the base): they are compacted and shredded. The
// index is encrypted, so what is seen from outside is that the log holds
// nothing but its header (22 bytes) and the base was replaced.
#[test]
fn m4_delete_and_edit_leave_no_old_copy_in_the_index_files() {
    let j = J::init();
    let keep = j.add("A kept entry. Stays.");
    let gone = j.add("Secret title to delete. Its body.");
    assert!(log_len(&j) > 22);
    let base = std::fs::read(j.data.join("index.base")).unwrap();
    j.code(&["delete", &gone], 0);
    assert_eq!(log_len(&j), 22, "the delta holding the deleted entry stays");
    assert!(j.anywhere(b"Secret title").is_empty());
    assert_ne!(std::fs::read(j.data.join("index.base")).unwrap(), base);
    j.add("Another entry. To grow the log.");
    assert!(log_len(&j) > 22);
    let ed = editor_writing(&j, "ed", "A new title.\n\nA new body.\n");
    j.code_with(&["edit", &keep], 0, |c| {
        c.env("EDITOR", &ed);
    });
    assert_eq!(log_len(&j), 22, "the delta holding the old version stays");
    let list = String::from_utf8(j.code(&["list"], 0).stdout).unwrap();
    assert!(
        list.contains("A new title.") && !list.contains("Secret title"),
        "{list}"
    );
}

// M7: `model fetch --url URL --sha256 HEX` is the whole contract: --out is
// optional (the files go under the data directory). A host that is not
// allowed is refused after the arguments are accepted (not a usage error).
#[test]
fn m7_model_fetch_needs_no_out() {
    let j = J::init();
    let out = j.run_with(
        &[
            "model",
            "fetch",
            "--url",
            "https://not-allowed.invalid/org/tiny/weights.bin",
            "--sha256",
            &"0".repeat(64),
        ],
        |_| {},
    );
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// N5: `audit show` names each record's event in its text output.
#[test]
fn n5_audit_show_names_the_events() {
    let j = J::init();
    j.add("An entry. For the log.");
    let out = String::from_utf8(j.code(&["audit", "show"], 0).stdout).unwrap();
    let add_line = out.lines().find(|l| l.contains("entry.add"));
    assert!(add_line.is_some(), "{out}");
    assert!(out.lines().any(|l| l.contains("  unlock  ")), "{out}");
}

// N9: `init` refuses a directory that holds something else (and leaves
// its mode alone).
#[test]
fn n9_init_refuses_a_non_empty_directory_that_is_not_a_journal() {
    let j = J::new();
    std::fs::create_dir(&j.data).unwrap();
    std::fs::set_permissions(&j.data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(j.data.join("notes.txt"), "mine").unwrap();
    let out = j.code(&["init"], 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not empty"), "{err}");
    let mode = std::fs::metadata(&j.data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755);
    assert_eq!(std::fs::read_dir(&j.data).unwrap().count(), 1);
    // An empty directory is fine.
    std::fs::remove_file(j.data.join("notes.txt")).unwrap();
    j.code(&["init"], 0);
}

// N3: what the editor leaves beside its file (a backup `entry.txt~`, a swap
// file) is shredded and the scratch directory removed.
#[test]
fn n3_editor_leftovers_are_removed_with_the_scratch_directory() {
    let j = J::init();
    let ed = j.tmp.path().join("ed-backup");
    std::fs::write(
        &ed,
        "#!/bin/sh\nprintf 'Edited with a backup.\\n' > \"$1\"\ncp \"$1\" \"$1~\"\n\
         printf 'swap' > \"$(dirname \"$1\")/.entry.swp\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&ed, std::fs::Permissions::from_mode(0o700)).unwrap();
    j.code_with(&["add"], 0, |c| {
        c.env("EDITOR", &ed);
    });
    let left: Vec<_> = std::fs::read_dir(j.runtime.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in the runtime dir: {left:?}");
}

// N10: audit events name the export's file, not the path to it.
#[test]
fn n10_audit_events_hold_no_full_paths() {
    let j = J::init();
    j.add("An entry. To export.");
    let dir = j.tmp.path().join("where-the-user-keeps-exports");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("export.json");
    j.code(
        &[
            "export",
            "--format",
            "json",
            "--out",
            file.to_str().unwrap(),
        ],
        0,
    );
    let log = j.code(&["audit", "show", "--json"], 0);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("export.json"), "{log}");
    assert!(!log.contains("where-the-user-keeps-exports"), "{log}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let t = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

// M5: a restored older keystore stays caught after the audit log is
// damaged before its newest anchor and `audit recover` quarantines it.
#[test]
fn m5_audit_recover_does_not_let_a_rolled_back_keystore_through() {
    let j = J::init();
    j.add("An entry. Before the passphrase change.");
    let old_keys = j.tmp.path().join("old-keys");
    copy_dir(&j.data.join("keys"), &old_keys);
    let newpass = j.tmp.path().join("newpass");
    std::fs::write(&newpass, "a new passphrase\n").unwrap();
    j.code_with(&["keys", "passwd"], 0, |c| {
        c.env("JOURNAL_NEW_PASSPHRASE_FILE", &newpass);
    });
    // Roll the keystore back (the old passphrase opens it again).
    std::fs::remove_dir_all(j.data.join("keys")).unwrap();
    copy_dir(&old_keys, &j.data.join("keys"));
    j.code(&["list"], 3);
    // Damage the audit log early, before the newest anchor, and recover.
    let mut segs: Vec<PathBuf> = std::fs::read_dir(j.data.join("audit"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with(".eal") && !n.starts_with("quarantine") && !n.contains("head")
        })
        .collect();
    segs.sort();
    assert!(!segs.is_empty());
    flip(&segs[0], 132 + 40);
    let _ = j.run_with(&["audit", "recover"], |_| {});
    j.code(&["list"], 3);
    j.code(&["add", "Written under the rolled-back keystore."], 3);
}

// N4: once the editor is done (its file shredded), SIGINT acts as usual
// again: here while `add` waits for the lock another command holds.
#[test]
fn n4_sigint_after_the_editor_returns_interrupts_the_command() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let j = J::init();
    let id = j.add("An entry. Edited slowly by another command.");
    let started = j.tmp.path().join("started");
    let release = j.tmp.path().join("release");
    let slow = j.tmp.path().join("slow-ed");
    std::fs::write(
        &slow,
        format!(
            "#!/bin/sh\ntouch '{}'\nwhile [ ! -e '{}' ]; do sleep 0.05; done\n",
            started.display(),
            release.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut holder = j.cmd();
    holder.env("EDITOR", &slow).args(["edit", &id]);
    holder.stdout(Stdio::null()).stderr(Stdio::null());
    let mut holder = holder.spawn().unwrap();
    while !started.exists() {
        std::thread::yield_now();
    }
    let ed = editor_writing(&j, "quick-ed", "Written while the lock is held.\n");
    let mut add = j.cmd();
    add.env("EDITOR", &ed).arg("add").stderr(Stdio::piped());
    add.stdout(Stdio::null());
    let mut add = add.spawn().unwrap();
    let mut err = std::io::BufReader::new(add.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "add ended early");
        if line.contains("waiting") {
            break;
        }
    }
    let st = Command::new("kill")
        .args(["-INT", &add.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = add.wait().unwrap();
    std::fs::write(&release, "").unwrap();
    let _ = holder.wait().unwrap();
    assert_eq!(status.signal(), Some(2), "{status:?}");
}

// N2: the import's PII warning names the record (its place in the file),
// not a line of the texts joined for the scan.
#[test]
fn n2_import_warning_names_the_record() {
    let j = J::init();
    let file = j.tmp.path().join("jrnl.json");
    std::fs::write(
        &file,
        r#"{"tags": {}, "entries": [
            {"title": "Fine.", "body": "Nothing here.", "date": "2024-03-05", "time": "10:00", "tags": []},
            {"title": "No date", "body": "x"},
            {"title": "Mail.", "body": "Write to jane.doe@example.com soon.", "date": "2024-03-06", "time": "11:00", "tags": []}
        ]}"#,
    )
    .unwrap();
    let out = j.code(
        &["import", "--format", "jrnl-json", file.to_str().unwrap()],
        5,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("record 3: EMAIL_ADDRESS"), "{err}");
    assert!(!err.contains("line "), "{err}");
}

// N6: the passphrase is read before the writer lock is taken: a command
// still waiting for its passphrase (here a FIFO nobody writes yet) does
// not make another writer wait.
#[test]
fn n6_a_pending_passphrase_does_not_hold_the_lock() {
    let j = J::init();
    let fifo = j.tmp.path().join("pass-fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut waiting = Command::new(
        std::env::var_os("JOURNAL_TEST_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_journal").into()),
    );
    waiting
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", j.tmp.path().join("home"))
        .args(["--data-dir", j.data.to_str().unwrap()])
        .args(["--passphrase-file", fifo.to_str().unwrap(), "list"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut waiting = waiting.spawn().unwrap();
    // Wait until it is reading the FIFO: opening it to write without
    // blocking fails (ENXIO) while no reader has it open.
    let mut writer = loop {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(0o4000) // O_NONBLOCK
            .open(&fifo)
        {
            Ok(f) => break f,
            Err(_) => std::thread::yield_now(),
        }
    };
    // The other command is not kept waiting (before: 10 s, then exit 1).
    let out = j.code(&["add", "Written while another command waits."], 0);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("waiting"),
        "{out:?}"
    );
    std::io::Write::write_all(&mut writer, format!("{PASSPHRASE}\n").as_bytes()).unwrap();
    drop(writer);
    assert!(waiting.wait().unwrap().success());
}
