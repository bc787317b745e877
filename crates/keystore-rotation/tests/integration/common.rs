use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use keystore_rotation::{Clock, Credential, Kdf, KdfFloor, Options};

/// Low-cost KDF for tests (production default is 600,000 iterations; one
/// test checks that), and a floor that admits it.
pub(crate) fn options() -> Options {
    Options::default()
        .kdf(Kdf::insecure_pbkdf2_sha256(100).unwrap())
        .kdf_floor(KdfFloor::insecure_any())
}

pub(crate) const PASS: Credential<'static> =
    Credential::Passphrase(b"correct horse battery staple");
pub(crate) const PASS2: Credential<'static> = Credential::Passphrase(b"another passphrase");

/// A fresh temporary directory (0700); the keystore goes in `keys` inside.
pub(crate) fn dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let keys = tmp.path().join("keys");
    (tmp, keys)
}

pub(crate) fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub(crate) struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    pub(crate) fn new() -> Self {
        ManualClock(Mutex::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        ))
    }
    pub(crate) fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

/// Environment variable that turns a test into the child side of a
/// two-process test; its value says which role.
pub(crate) const CHILD_ENV: &str = "KEYSTORE_ROTATION_TEST_CHILD";
const ARG_ENV: &str = "KEYSTORE_ROTATION_TEST_ARG";

pub(crate) fn child_role() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

pub(crate) fn child_arg() -> PathBuf {
    std::env::var_os(ARG_ENV).unwrap().into()
}

/// Re-runs this test binary, limited to the one test `name`, as a child
/// process with `role` and `arg` in its environment.
pub(crate) fn child(name: &str, role: &str, arg: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role)
        .env(ARG_ENV, arg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// A child process that is killed if the test panics before reaping it.
pub(crate) struct KillOnDrop(pub(crate) std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
