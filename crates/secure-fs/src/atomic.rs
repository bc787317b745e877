//! Atomic durable replacement of a file's content.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, OFlags};

use crate::dir::{PrivateDir, TEMP_PREFIX};
use crate::error::{Error, Result};
use crate::sys;

/// A file being written next to its target, which replaces the target in
/// one atomic step on [`AtomicFile::commit`].
///
/// The temporary file lives in the same directory (so the rename cannot
/// cross file systems), is created exclusively with `O_NOFOLLOW` at 0600,
/// and is removed again if the `AtomicFile` is dropped without committing.
/// Readers of the target see either the old content or the new content,
/// never a mix, even if the process is killed or the machine loses power.
///
/// Created by [`PrivateDir::atomic_file`]; [`PrivateDir::write_atomic`] is
/// the one-call form.
#[derive(Debug)]
pub struct AtomicFile<'d> {
    dir: &'d PrivateDir,
    target: PathBuf,
    temp: String,
    file: Option<File>,
}

impl PrivateDir {
    /// Starts an atomic replacement of the regular file `name` (which need
    /// not exist yet). Write to the returned [`AtomicFile`], then call
    /// [`AtomicFile::commit`].
    ///
    /// # Errors
    /// [`crate::ErrorKind::Symlink`] or [`crate::ErrorKind::NotAFile`] if
    /// `name` exists and is not a regular file, [`crate::ErrorKind::InvalidName`],
    /// or [`crate::ErrorKind::Io`] creating the temporary file.
    pub fn atomic_file(&self, name: impl AsRef<Path>) -> Result<AtomicFile<'_>> {
        let name = self.check_name(name.as_ref())?;
        self.check_replaceable(name)?;
        let mut last_err = None;
        // A collision of 128 random bits is not expected; retry anyway
        // rather than fail on one.
        for _ in 0..4 {
            let suffix: [u8; 16] = rand::random();
            let temp = format!("{TEMP_PREFIX}{}", data_encoding::HEXLOWER.encode(&suffix));
            match self.open_file_with(
                Path::new(&temp),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
            ) {
                Ok(file) => {
                    return Ok(AtomicFile {
                        dir: self,
                        target: name.to_path_buf(),
                        temp,
                        file: Some(file),
                    });
                }
                Err(e) if *e.kind() == crate::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err
            .unwrap_or_else(|| Error::new(self.child_path(name), crate::ErrorKind::AlreadyExists)))
    }

    /// Replaces the content of the regular file `name` with `data`,
    /// atomically and durably: temporary file (0600, exclusive, no-follow),
    /// write, fsync, rename over the target, fsync of the directory.
    ///
    /// # Errors
    /// As [`PrivateDir::atomic_file`] and [`AtomicFile::commit`]. On any
    /// error the target is left as it was.
    pub fn write_atomic(&self, name: impl AsRef<Path>, data: &[u8]) -> Result<()> {
        let mut file = self.atomic_file(name)?;
        file.write_all(data)
            .map_err(|e| Error::io(file.dir.child_path(&file.target), e))?;
        file.commit()
    }
}

impl AtomicFile<'_> {
    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("atomic file already committed"))
    }

    /// Flushes the new content to stable storage, renames it over the
    /// target, and flushes the directory, so that after this returns the new
    /// content survives a crash.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Symlink`] or [`crate::ErrorKind::NotAFile`] if the
    /// target was replaced by something else meanwhile, or
    /// [`crate::ErrorKind::Io`]. On error the target is unchanged (unless the
    /// error came from the final directory sync, after the rename).
    pub fn commit(mut self) -> Result<()> {
        let target_path = self.dir.child_path(&self.target);
        let Some(file) = self.file.take() else {
            return Err(Error::io(
                target_path,
                io::Error::other("atomic file already committed"),
            ));
        };
        sys::data_sync(&file).map_err(|e| Error::io(&target_path, e))?;
        drop(file);
        self.dir.check_replaceable(&self.target)?;
        rustix::fs::renameat(
            self.dir.fd(),
            self.temp.as_str(),
            self.dir.fd(),
            &self.target,
        )
        .map_err(|e| Error::io(&target_path, e))?;
        // The temporary name no longer exists: nothing for Drop to clean.
        self.temp.clear();
        self.dir.sync()
    }
}

impl Write for AtomicFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file()?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for AtomicFile<'_> {
    fn drop(&mut self) {
        if !self.temp.is_empty() {
            // Best effort: an abandoned write leaves no temporary file.
            let _ = rustix::fs::unlinkat(self.dir.fd(), self.temp.as_str(), AtFlags::empty());
        }
    }
}
