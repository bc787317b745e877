//! What the power-loss tests need from the machine: `/dev/fuse`, and
//! Debian's `fuse3` (for `fusermount3`, which a non-root user needs to
//! mount; root mounts with mount(2) directly).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util;

/// The FUSE device the power-loss tests mount through.
pub(crate) const DEV_FUSE: &str = "/dev/fuse";

/// Whether `/dev/fuse` exists.
pub(crate) fn device_present() -> bool {
    Path::new(DEV_FUSE).exists()
}

fn fusermount3_present() -> bool {
    Command::new("fusermount3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn is_root() -> bool {
    util::output(Command::new("id").arg("-u")).is_some_and(|uid| uid == "0")
}

/// `apt-get ARGS`, through sudo unless we are root, non-interactive.
fn apt_get(root: bool, args: &[&str]) -> Command {
    let mut cmd = if root {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.args(["-n", "apt-get"]);
        c
    };
    cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

/// Makes sure `fusermount3` is installed, installing Debian's `fuse3` when
/// it is missing (idempotent: nothing is run when it is there). Returns a
/// word for the summary line.
///
/// A failed install is an error only for a non-root user: root mounts
/// without `fusermount3`, so for root it is reported and CI goes on.
pub(crate) fn ensure_fuse3() -> Result<String, String> {
    if fusermount3_present() {
        return Ok("present".to_owned());
    }
    let root = is_root();
    let has_apt = Command::new("apt-get")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    let outcome = if has_apt {
        // Try with the package lists as they are first; refresh them only
        // if the package cannot be found.
        let mut result = util::run(&mut apt_get(
            root,
            &["install", "-y", "--no-install-recommends", "fuse3"],
        ));
        if result.is_err() {
            let _ = util::run(&mut apt_get(root, &["update"]));
            result = util::run(&mut apt_get(
                root,
                &["install", "-y", "--no-install-recommends", "fuse3"],
            ));
        }
        match result {
            Ok(_) if fusermount3_present() => return Ok("installed".to_owned()),
            Ok(_) => "apt-get installed fuse3 but fusermount3 is still missing".to_owned(),
            Err(e) => e,
        }
    } else {
        "fusermount3 missing and no apt-get to install fuse3".to_owned()
    };
    if root {
        Ok(format!("not installed ({outcome}); root mounts without it"))
    } else {
        Err(outcome)
    }
}
