use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use encrypted_audit_log::{AuditLog, EncKey, Event, KeyRing, MacKey, Options, Suite};

pub(crate) fn mac_key(v: u32) -> MacKey {
    MacKey::from_bytes([u8::try_from(v).unwrap(); 32])
}

pub(crate) fn enc_key(v: u32) -> EncKey {
    EncKey::from_bytes([0x80 | u8::try_from(v).unwrap(); 32])
}

/// Both keys of versions `1..=n`.
pub(crate) fn keys(n: u32) -> KeyRing {
    (1..=n).fold(KeyRing::new(), |k, v| k.with(v, mac_key(v), enc_key(v)))
}

/// Only the MAC keys of versions `1..=n`.
pub(crate) fn verify_keys(n: u32) -> KeyRing {
    (1..=n).fold(KeyRing::new(), |k, v| k.with_verify_only(v, mac_key(v)))
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

/// A closed log of `n` events with epochs of `epoch` records.
pub(crate) fn small_log(path: &Path, n: u64, epoch: u64) {
    small_log_with(path, n, epoch, Suite::default());
}

/// As [`small_log`], with records encrypted under `suite`.
pub(crate) fn small_log_with(path: &Path, n: u64, epoch: u64, suite: Suite) {
    let opts = Options::default()
        .epoch(epoch, std::time::Duration::from_secs(3600))
        .suite(suite);
    let log = AuditLog::open(path, &keys(1), opts).unwrap();
    for i in 0..n {
        let _ = log.append(&event(i)).unwrap();
    }
    log.close().unwrap();
}

/// Copies a log directory (a backup, or a copy to damage) into `to`, a new
/// 0700 directory, leaving out the writer's lock file.
pub(crate) fn copy_log(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() != ".lock" {
            let _ = std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

pub(crate) fn seg(path: &Path, n: u32) -> PathBuf {
    path.join(format!("segment-{n:08}.eal"))
}

/// (start offset, length, seq) of every frame of a segment file.
pub(crate) fn frames(bytes: &[u8]) -> Vec<(usize, usize, u64)> {
    let mut out = Vec::new();
    let mut at = 116;
    while at + 4 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize + 4;
        if at + len > bytes.len() {
            break;
        }
        let seq = u64::from_le_bytes(bytes[at + 13..at + 21].try_into().unwrap());
        out.push((at, len, seq));
        at += len;
    }
    out
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
