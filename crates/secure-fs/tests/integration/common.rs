use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// A fresh temporary directory, 0700. The process umask is never changed
/// here: it is process-wide state that other test threads read (tempfile
/// creates its directories under it). Tests that need a particular umask
/// run in a child process of their own: see [`under_umask`].
pub(crate) fn dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    set_mode(tmp.path(), 0o700);
    tmp
}

/// Runs `body` under the process umask `mask`, race-free: the test
/// re-executes this test binary limited to the test `name` (which must be
/// the calling test), and the child, the only test in its process, sets
/// the umask and runs `body`. The parent asserts that the child passed.
pub(crate) fn under_umask(name: &str, mask: u32, body: impl FnOnce()) {
    let role = format!("umask-{mask:03o}");
    if child_role().as_deref() == Some(role.as_str()) {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
        body();
        println!("umask-body-passed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut guard = KillOnDrop(child(name, &role, tmp.path()).spawn().unwrap());
    wait_for_line(&mut guard.0, "umask-body-passed");
    assert!(
        guard.0.wait().unwrap().success(),
        "{name} under umask {mask:03o}"
    );
}

/// Permission bits of a path, not following symlinks.
pub(crate) fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

pub(crate) fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Environment variable that turns a test into the child side of a
/// two-process test; its value says which.
pub(crate) const CHILD_ENV: &str = "SECURE_FS_TEST_CHILD";

/// Whether this process is the child of a two-process test.
pub(crate) fn child_role() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// Re-runs this test binary, limited to the one test `name`, as a child
/// process with `role` and `arg` in its environment.
pub(crate) fn child(name: &str, role: &str, arg: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role)
        .env("SECURE_FS_TEST_ARG", arg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

pub(crate) fn child_arg() -> std::path::PathBuf {
    std::env::var_os("SECURE_FS_TEST_ARG").unwrap().into()
}

pub(crate) fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A child process that is killed if the test panics before it is reaped,
/// so a failing test never leaves a looping child behind.
pub(crate) struct KillOnDrop(pub(crate) std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads the child's stdout until a line ending with `expected` (libtest
/// prints its own text first, `test NAME ... ` on the same line); panics if
/// the child exits before.
pub(crate) fn wait_for_line(child: &mut std::process::Child, expected: &str) {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(child.stdout.as_mut().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).unwrap();
        assert!(n > 0, "child exited before printing {expected:?}");
        if line.trim_end().ends_with(expected) {
            return;
        }
    }
}
