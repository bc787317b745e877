//! A single-writer lock on a directory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::dir::{Access, PrivateDir};
use crate::error::{Error, ErrorKind, Result};

/// Name of the lock file inside a locked directory.
pub(crate) const LOCK_FILE: &str = ".lock";

/// An exclusive advisory lock on a [`PrivateDir`], held until dropped.
///
/// Taken with `flock(LOCK_EX | LOCK_NB)` on a 0600 file named `.lock`
/// inside the directory. The holder writes its process id into the file so
/// that a second process gets an error naming it. The kernel releases the
/// lock when the holder exits, even on `SIGKILL`, so a crash never leaves
/// a stale lock. Advisory: it keeps out cooperating writers (every
/// program using this crate), not a hostile process running as the same
/// user.
///
/// The lock belongs to the process that took it. Its descriptor is
/// close-on-exec, so a program started by the holder never inherits it; a
/// child created by `fork` shares the lock (that is how `flock` works),
/// but dropping the `DirLock` in the child neither unlocks it nor clears
/// the holder's pid: only the process that took the lock releases it.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
    /// The process that took the lock.
    owner: rustix::process::Pid,
}

impl PrivateDir {
    /// Takes the directory's exclusive writer lock, without waiting.
    ///
    /// # Errors
    /// [`ErrorKind::Locked`] (with the holder's process id when known) if
    /// another process, or another `DirLock` in this process, holds it;
    /// otherwise the errors of [`PrivateDir::create_file`].
    pub fn lock(&self) -> Result<DirLock> {
        let path = self.child_path(Path::new(LOCK_FILE));
        let mut file = self.create_entry(Path::new(LOCK_FILE), Access::ReadWrite)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse::<u32>().ok());
                return Err(Error::new(path, ErrorKind::Locked { pid }));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
        }
        let record = (|| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "{}", std::process::id())?;
            file.flush()
        })();
        record.map_err(|e| Error::io(&path, e))?;
        Ok(DirLock {
            file,
            path,
            owner: rustix::process::getpid(),
        })
    }
}

impl DirLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // In a forked child the descriptor shares the parent's open file
        // description: unlocking or truncating it here would release the
        // parent's lock. Closing our copy (File's own drop) does not: the
        // kernel keeps the lock while the parent's descriptor is open.
        if rustix::process::getpid() != self.owner {
            return;
        }
        // Clear the pid so that nobody reports a dead holder; the lock
        // itself is released when the descriptor closes.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}
