//! Mounting the recording file system and collecting its trace.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use fuser::{BackgroundSession, Config, MountOption};

use crate::fs::RecordingFs;
use crate::trace::{Op, SharedTrace, Trace};

/// Why the recording file system could not be mounted here.
#[derive(Debug)]
#[non_exhaustive]
pub enum Unavailable {
    /// `/dev/fuse` does not exist (a container without the device, or a
    /// kernel without FUSE).
    NoDevFuse,
    /// The mount itself failed (no permission to mount and no
    /// `fusermount3`, or FUSE refused).
    Mount(io::Error),
    /// Creating the scratch directories failed.
    Scratch(io::Error),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::NoDevFuse => f.write_str("no /dev/fuse"),
            Unavailable::Mount(e) => write!(
                f,
                "mounting the FUSE file system failed ({e}); as a non-root user install `fuse3` (fusermount3)"
            ),
            Unavailable::Scratch(e) => write!(f, "creating scratch directories failed: {e}"),
        }
    }
}

impl std::error::Error for Unavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Unavailable::Mount(e) | Unavailable::Scratch(e) => Some(e),
            Unavailable::NoDevFuse => None,
        }
    }
}

/// Whether FUSE can be used here at all (the device exists). Mounting may
/// still fail; [`Recorder::start`] says why.
pub fn fuse_device_present() -> bool {
    Path::new("/dev/fuse").exists()
}

/// A mounted recording file system: a passthrough onto a private scratch
/// directory that records every change into a [`Trace`].
///
/// The workload runs against [`Recorder::path`]; it may call
/// [`Recorder::mark`] after each operation it considers acknowledged.
/// [`Recorder::finish`] unmounts and returns the trace. Dropping a
/// `Recorder` unmounts too.
pub struct Recorder {
    session: Option<BackgroundSession>,
    trace: SharedTrace,
    mountpoint: PathBuf,
    // Holds the backing directory and the mount point; removed last.
    scratch: tempfile::TempDir,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("mountpoint", &self.mountpoint)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Mounts a fresh, empty recording file system on a new scratch
    /// directory.
    ///
    /// # Errors
    /// [`Unavailable`] when FUSE cannot be used here.
    pub fn start() -> Result<Recorder, Unavailable> {
        if !fuse_device_present() {
            return Err(Unavailable::NoDevFuse);
        }
        let scratch = tempfile::Builder::new()
            .prefix("powerloss-")
            .tempdir()
            .map_err(Unavailable::Scratch)?;
        let backing = scratch.path().join("backing");
        let mountpoint = scratch.path().join("mnt");
        for d in [&backing, &mountpoint] {
            std::fs::create_dir(d).map_err(Unavailable::Scratch)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))
                .map_err(Unavailable::Scratch)?;
        }
        let trace = SharedTrace::default();
        let fs = RecordingFs::new(&backing, trace.clone()).map_err(Unavailable::Scratch)?;
        let mut config = Config::default();
        config.mount_options = vec![
            MountOption::FSName("powerloss".to_owned()),
            MountOption::Subtype("powerloss".to_owned()),
            MountOption::DefaultPermissions,
            MountOption::NoDev,
            MountOption::NoSuid,
        ];
        let session = fuser::spawn_mount(fs, &mountpoint, &config).map_err(Unavailable::Mount)?;
        Ok(Recorder {
            session: Some(session),
            trace,
            mountpoint,
            scratch,
        })
    }

    /// The mount point: run the workload under it.
    pub fn path(&self) -> &Path {
        &self.mountpoint
    }

    /// Appends a marker to the trace. Call it after an operation returned
    /// success: every cut after the marker must keep that operation's
    /// effects.
    pub fn mark(&self, label: impl Into<String>) {
        self.trace.push(Op::Mark(label.into()));
    }

    /// Unmounts and returns the trace. Close every file opened under the
    /// mount first.
    ///
    /// # Errors
    /// The unmount failed (something still open under the mount); the mount
    /// is then detached lazily, so that none is left behind.
    pub fn finish(mut self) -> io::Result<Trace> {
        if let Some(session) = self.session.take()
            && let Err(e) = session.umount_and_join()
        {
            detach(&self.mountpoint);
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "unmounting {} failed ({e}): is a file under it still open? (detached lazily)",
                    self.mountpoint.display()
                ),
            ));
        }
        Ok(self.trace.take())
    }

    /// The scratch directory holding the backing store and the mount point.
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(session) = self.session.take()
            && session.umount_and_join().is_err()
        {
            detach(&self.mountpoint);
        }
    }
}

/// A lazy unmount after a failed one (a file still open under the mount),
/// so that no dead mount is left behind: `umount -l`, else `fusermount3 -uz`.
fn detach(mountpoint: &Path) {
    let quiet = |mut c: std::process::Command| {
        c.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut umount = std::process::Command::new("umount");
    umount.arg("-l").arg(mountpoint);
    if !quiet(umount) {
        let mut fm = std::process::Command::new("fusermount3");
        fm.arg("-u").arg("-z").arg(mountpoint);
        let _ = quiet(fm);
    }
}
