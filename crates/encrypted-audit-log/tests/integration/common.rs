use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use encrypted_audit_log::{AuditLog, Created, Event, Options, StateKey};

pub(crate) fn state_key() -> StateKey {
    StateKey::from_bytes([0x5a; 32])
}

/// A temporary directory and the log path inside it.
pub(crate) fn tmp() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("audit");
    (t, p)
}

pub(crate) fn event(i: u64) -> Event {
    Event::new("test.event")
        .with("i", i)
        .with("note", format!("record number {i}"))
}

/// Options with epochs of `epoch` records (no time-based seal in tests).
pub(crate) fn opts(epoch: u64) -> Options {
    Options::default().epoch(epoch, Duration::from_secs(3600))
}

/// A closed log of `n` events with epochs of `epoch` records and segments
/// of at most `seg_bytes` bytes.
pub(crate) fn log_with(path: &Path, n: u64, epoch: u64, seg_bytes: u64) -> Created {
    let o = opts(epoch).segment_limits(seg_bytes, Duration::from_secs(86_400));
    let (log, created) = AuditLog::create(path, &state_key(), o).unwrap();
    for i in 0..n {
        let _ = log.append(&event(i)).unwrap();
    }
    log.close().unwrap();
    created
}

/// A closed log of `n` events, epochs of `epoch` records, one segment.
pub(crate) fn small_log(path: &Path, n: u64, epoch: u64) -> Created {
    log_with(path, n, epoch, 64 << 20)
}

/// Copies a log directory into `to`, a new 0700 directory, leaving out the
/// writer's lock file.
pub(crate) fn copy_log(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() != ".lock" && e.file_type().unwrap().is_file() {
            let _ = std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

pub(crate) fn seg(path: &Path, n: u32) -> PathBuf {
    path.join(format!("segment-{n:08}.eal"))
}

pub(crate) const SEGMENT_HEADER_LEN: usize = 132;

/// (start offset, length, kind, seq) of every frame of a segment file.
pub(crate) fn frames(bytes: &[u8]) -> Vec<(usize, usize, u8, u64)> {
    let mut out = Vec::new();
    let mut at = SEGMENT_HEADER_LEN;
    while at + 4 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize + 4;
        if at + len > bytes.len() {
            break;
        }
        let seq = u64::from_le_bytes(bytes[at + 9..at + 17].try_into().unwrap());
        out.push((at, len, bytes[at + 4], seq));
        at += len;
    }
    out
}

/// Segment files of a log, ascending.
pub(crate) fn segments(path: &Path) -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir(path)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.strip_prefix("segment-")?
                .strip_suffix(".eal")?
                .parse()
                .ok()
        })
        .collect();
    v.sort_unstable();
    v
}

/// Environment variable that turns a test into the child side of a
/// two-process test.
pub(crate) const CHILD_ENV: &str = "EAL_TEST_CHILD";

pub(crate) fn child_role() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

pub(crate) fn child_arg() -> PathBuf {
    std::env::var_os("EAL_TEST_ARG").unwrap().into()
}

/// Re-runs this test binary, limited to the test `name`, as a child.
pub(crate) fn child(name: &str, role: &str, arg: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role)
        .env("EAL_TEST_ARG", arg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// Kills the child if the test panics before reaping it.
pub(crate) struct KillOnDrop(pub(crate) std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
