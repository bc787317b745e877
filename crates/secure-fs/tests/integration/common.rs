use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// A fresh temporary directory (0700), with the process umask set to 000
/// first, so that everything a test creates is created under umask 000.
pub(crate) fn dir() -> tempfile::TempDir {
    rustix::process::umask(rustix::fs::Mode::empty());
    let tmp = tempfile::tempdir().unwrap();
    // tempfile asks for 0777 and relies on the umask; under umask 000 that
    // is world-writable, which PrivateDir rightly refuses.
    set_mode(tmp.path(), 0o700);
    tmp
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
