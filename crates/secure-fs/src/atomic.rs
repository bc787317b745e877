//! Atomic durable replacement of a file's content, optionally shredding
//! the replaced version.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, OFlags};
use rustix::io::Errno;

use crate::delete::{DeleteOptions, FileSystem, Overwrite, filesystem_of, shred_contents};
use crate::dir::PrivateDir;
use crate::error::{Error, ErrorKind, Result};
use crate::sys::{self, FileId};

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
    /// The file under the target name when the write started (`None` if
    /// there was none): the only file [`AtomicFile::commit_shredding`]
    /// will ever overwrite.
    replaces: Option<FileId>,
    /// The process that created the temporary file: only it removes it on
    /// drop (a forked child dropping its copy must not pull the file from
    /// under the parent's commit).
    owner: rustix::process::Pid,
}

/// What an atomic replacement did with the version it replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OldVersion {
    /// No file had the name: nothing was replaced.
    Absent,
    /// The replaced version was overwritten in place (`passes` times, its
    /// `bytes_per_pass` bytes), truncated and unlinked.
    Shredded {
        /// Overwrite passes completed (0 if the options asked for none).
        passes: u32,
        /// The replaced version's size, overwritten once per pass.
        bytes_per_pass: u64,
        /// Other hard links to the replaced version that still exist (they
        /// now show an empty file).
        other_links: u64,
    },
    /// The name held a different file at the moment of the replacement
    /// than when the replacement started (someone replaced or removed it
    /// meanwhile). That file was released as a plain rename releases it,
    /// without being overwritten: secure-fs never overwrites a file it did
    /// not check.
    ReplacedConcurrently,
}

/// What [`PrivateDir::write_atomic_shredding`] and
/// [`AtomicFile::commit_shredding`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct ReplaceReport {
    /// What happened to the version that was replaced.
    pub old_version: OldVersion,
    /// The file system of the directory.
    pub filesystem: FileSystem,
}

impl ReplaceReport {
    /// Whether an old version existed and was overwritten in place at
    /// least once before it was released.
    pub fn shredded(&self) -> bool {
        matches!(self.old_version, OldVersion::Shredded { passes, .. } if passes > 0)
    }

    /// Whether overwriting in place reaches the old data's blocks on this
    /// file system: reliable, unreliable or unknown.
    pub fn overwrite(&self) -> Overwrite {
        self.filesystem.overwrite()
    }

    /// `true` only for [`Overwrite::Reliable`]; see
    /// [`crate::DeleteReport::overwrite_reliable`] for what it does not
    /// cover.
    pub fn overwrite_reliable(&self) -> bool {
        self.overwrite() == Overwrite::Reliable
    }
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
        let replaces = self.check_replaceable(name)?.map(|meta| meta.id);
        let mut last_err = None;
        // A collision of 128 random bits is not expected; retry anyway
        // rather than fail on one.
        for _ in 0..4 {
            let temp = sys::random_temp_name().map_err(|e| Error::io(self.child_path(name), e))?;
            match self.open_entry(
                Path::new(&temp),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
            ) {
                Ok(file) => {
                    return Ok(AtomicFile {
                        dir: self,
                        target: name.to_path_buf(),
                        temp,
                        file: Some(file),
                        replaces,
                        owner: rustix::process::getpid(),
                    });
                }
                Err(e) if *e.kind() == ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::new(self.child_path(name), ErrorKind::AlreadyExists)))
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

    /// Replaces the content of the regular file `name` with `data`,
    /// atomically and durably as [`PrivateDir::write_atomic`] does, and
    /// shreds the replaced version in place before it is released: the
    /// old inode is overwritten (`opts`' passes and patterns, as
    /// [`PrivateDir::secure_delete`]), truncated and unlinked, so that its
    /// blocks do not return to the free list still holding the old
    /// content.
    ///
    /// How (Linux and macOS): the new content is written to a temporary
    /// file and flushed; `renameat2(RENAME_EXCHANGE)` swaps it with the
    /// target in one atomic step, so that the temporary name now holds
    /// exactly the version that was replaced; the directory is flushed
    /// (the new content is now durable); the temporary name is opened and
    /// its device and inode compared with the file found under the target
    /// name when the call started. Only if they match is it overwritten,
    /// flushed, truncated and unlinked, and the directory flushed again.
    /// A crash after the exchange leaves the old version under a temporary
    /// name, which [`PrivateDir::remove_stale_temp_files`] shreds.
    ///
    /// Where there is no target, the temporary file is renamed with
    /// `RENAME_NOREPLACE` (a file that appears meanwhile is exchanged and
    /// released unshredded, as [`OldVersion::ReplacedConcurrently`]).
    ///
    /// Fallback where the exchange is not supported (file systems that
    /// refuse `RENAME_EXCHANGE`, other platforms): the target is opened,
    /// its device and inode compared with the file found at the start,
    /// the temporary file renamed over it, and the old version shredded
    /// through the open descriptor. Two weaker points, documented: a
    /// crash between the rename and the end of shredding leaves the old
    /// content in released blocks, and a concurrent rename of the target
    /// between the check and the rename releases the newcomer unshredded
    /// while the checked file (moved elsewhere by that rename) is shredded.
    ///
    /// # Errors
    /// As [`PrivateDir::write_atomic`]. An error after the exchange (while
    /// shredding) leaves the new content in place and the old version
    /// under a temporary name that
    /// [`PrivateDir::remove_stale_temp_files`] shreds.
    pub fn write_atomic_shredding(
        &self,
        name: impl AsRef<Path>,
        data: &[u8],
        opts: &DeleteOptions,
    ) -> Result<ReplaceReport> {
        let mut file = self.atomic_file(name)?;
        file.write_all(data)
            .map_err(|e| Error::io(file.dir.child_path(&file.target), e))?;
        file.commit_shredding(opts)
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
        self.flush_temp(&target_path)?;
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

    /// Like [`AtomicFile::commit`], and shreds the version it replaces
    /// before that version is released, if and only if it is the file that
    /// was under the target name when this `AtomicFile` was created
    /// (compared by device and inode). See
    /// [`PrivateDir::write_atomic_shredding`] for how, and for the
    /// fallback where the file system cannot exchange names atomically.
    ///
    /// # Errors
    /// As [`PrivateDir::write_atomic_shredding`].
    pub fn commit_shredding(self, opts: &DeleteOptions) -> Result<ReplaceReport> {
        self.commit_shredding_with(opts, true)
    }

    /// [`AtomicFile::commit_shredding`]; `exchange: false` forces the
    /// fallback path (tests exercise it on file systems that have the
    /// exchange).
    pub(crate) fn commit_shredding_with(
        mut self,
        opts: &DeleteOptions,
        exchange: bool,
    ) -> Result<ReplaceReport> {
        let target_path = self.dir.child_path(&self.target);
        let filesystem = filesystem_of(self.dir.fd()).map_err(|e| Error::io(&target_path, e))?;
        self.flush_temp(&target_path)?;
        self.dir.check_replaceable(&self.target)?;
        let old_version = if exchange {
            self.replace_by_exchange(&target_path, opts)?
        } else {
            self.replace_by_rename(&target_path, opts)?
        };
        Ok(ReplaceReport {
            old_version,
            filesystem,
        })
    }

    /// Flushes the new content and closes the temporary file.
    fn flush_temp(&mut self, target_path: &Path) -> Result<()> {
        let Some(file) = self.file.take() else {
            return Err(Error::io(
                target_path,
                io::Error::other("atomic file already committed"),
            ));
        };
        sys::data_sync(&file).map_err(|e| Error::io(target_path, e))?;
        drop(file);
        Ok(())
    }

    /// The exchange path of [`AtomicFile::commit_shredding`].
    fn replace_by_exchange(
        &mut self,
        target_path: &Path,
        opts: &DeleteOptions,
    ) -> Result<OldVersion> {
        let dir = self.dir;
        let temp = Path::new(self.temp.as_str()).to_path_buf();
        if self.replaces.is_none() {
            match dir.rename_noreplace(&temp, &self.target) {
                Ok(()) => {
                    self.temp.clear();
                    dir.sync()?;
                    return Ok(OldVersion::Absent);
                }
                // Someone created the target meanwhile: exchange with it.
                Err(Errno::EXIST) => {}
                Err(e) if exchange_unsupported(e) => {
                    return self.replace_by_rename(target_path, opts);
                }
                Err(e) => return Err(Error::io(target_path, e)),
            }
        }
        match sys::rename_exchange(dir.fd(), &temp, &self.target) {
            Ok(()) => {}
            Err(Errno::NOENT) => {
                // The target vanished meanwhile: nothing left to replace.
                match dir.rename_noreplace(&temp, &self.target) {
                    Ok(()) => {
                        self.temp.clear();
                        dir.sync()?;
                        return Ok(OldVersion::ReplacedConcurrently);
                    }
                    Err(e) => return Err(Error::io(target_path, e)),
                }
            }
            Err(e) if exchange_unsupported(e) => return self.replace_by_rename(target_path, opts),
            Err(e) => return Err(Error::io(target_path, e)),
        }
        // The temporary name now holds the replaced version; the new
        // content is under the target name. Make that durable first.
        dir.sync()?;
        let shown = dir.child_path(&temp);
        // Open what the temporary name holds and check, on the descriptor
        // that will do the overwriting, that it is the file we set out to
        // replace.
        let old = match dir.open_entry(&temp, OFlags::WRONLY) {
            Ok(file) => file,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Symlink | ErrorKind::NotAFile | ErrorKind::NotOwned { .. }
                ) =>
            {
                // Something that is not a regular file of ours took the
                // target's name meanwhile (a directory, a symlink): swap it
                // back rather than release it, and refuse, as `commit` does.
                sys::rename_exchange(dir.fd(), &temp, &self.target)
                    .map_err(|e| Error::io(target_path, e))?;
                dir.sync()?;
                return Err(Error::new(target_path, e.kind().clone()));
            }
            Err(e) => return Err(e),
        };
        let meta = sys::fstat(&old).map_err(|e| Error::io(&shown, e))?;
        if Some(meta.id) != self.replaces {
            // Not the file we checked: release it as a plain rename would,
            // without overwriting it.
            drop(old);
            rustix::fs::unlinkat(dir.fd(), &temp, AtFlags::empty())
                .map_err(|e| Error::io(&shown, e))?;
            self.temp.clear();
            dir.sync()?;
            return Ok(OldVersion::ReplacedConcurrently);
        }
        shred_contents(&old, meta.size, opts).map_err(|e| Error::io(&shown, e))?;
        drop(old);
        rustix::fs::unlinkat(dir.fd(), &temp, AtFlags::empty())
            .map_err(|e| Error::io(&shown, e))?;
        self.temp.clear();
        dir.sync()?;
        Ok(OldVersion::Shredded {
            passes: opts.passes,
            bytes_per_pass: meta.size,
            other_links: meta.nlink.saturating_sub(1),
        })
    }

    /// The fallback of [`AtomicFile::commit_shredding`] where names cannot
    /// be exchanged atomically: open the target, check it, rename over it,
    /// shred it through the descriptor.
    fn replace_by_rename(
        &mut self,
        target_path: &Path,
        opts: &DeleteOptions,
    ) -> Result<OldVersion> {
        let dir = self.dir;
        let old = match dir.open_entry(&self.target, OFlags::WRONLY) {
            Ok(file) => Some(file),
            Err(e) if *e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let checked = match &old {
            Some(file) => {
                let meta = sys::fstat(file).map_err(|e| Error::io(target_path, e))?;
                (Some(meta.id) == self.replaces).then_some(meta)
            }
            None => None,
        };
        rustix::fs::renameat(dir.fd(), self.temp.as_str(), dir.fd(), &self.target)
            .map_err(|e| Error::io(target_path, e))?;
        self.temp.clear();
        dir.sync()?;
        let Some(old) = old else {
            return Ok(if self.replaces.is_none() {
                OldVersion::Absent
            } else {
                OldVersion::ReplacedConcurrently
            });
        };
        let Some(meta) = checked else {
            return Ok(OldVersion::ReplacedConcurrently);
        };
        shred_contents(&old, meta.size, opts).map_err(|e| Error::io(target_path, e))?;
        Ok(OldVersion::Shredded {
            passes: opts.passes,
            bytes_per_pass: meta.size,
            other_links: meta.nlink.saturating_sub(1),
        })
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

/// Whether a `renameat2` error means the flag is not supported here (by
/// the kernel, the file system, or the platform), so that the fallback
/// applies.
fn exchange_unsupported(e: Errno) -> bool {
    e == Errno::INVAL || e == Errno::NOSYS || e == Errno::OPNOTSUPP
}

impl Drop for AtomicFile<'_> {
    fn drop(&mut self) {
        if !self.temp.is_empty() && rustix::process::getpid() == self.owner {
            // Best effort: an abandoned write leaves no temporary file.
            let _ = rustix::fs::unlinkat(self.dir.fd(), self.temp.as_str(), AtFlags::empty());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn private_tmp() -> (tempfile::TempDir, PrivateDir) {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let dir = PrivateDir::open(tmp.path()).unwrap();
        (tmp, dir)
    }

    fn plaintext() -> Vec<u8> {
        (0..2 * 4096 + 100u32).map(|i| (i % 249) as u8).collect()
    }

    /// With truncation turned off, the replaced inode (seen through a hard
    /// link made before) keeps its size and not one 64-byte block of the
    /// old plaintext: the overwrite passes reached every byte.
    fn assert_every_block_overwritten(exchange: bool) {
        let (tmp, dir) = private_tmp();
        let old = plaintext();
        dir.write_atomic("f", &old).unwrap();
        let link = tmp.path().join("link");
        std::fs::hard_link(tmp.path().join("f"), &link).unwrap();
        let mut opts = DeleteOptions::new().passes(1).chunk_size(4096);
        opts.truncate = false;
        let mut w = dir.atomic_file("f").unwrap();
        w.write_all(b"new").unwrap();
        let report = w.commit_shredding_with(&opts, exchange).unwrap();
        assert!(report.shredded(), "{report:?}");
        let now = std::fs::read(&link).unwrap();
        assert_eq!(now.len(), old.len());
        for (i, (a, b)) in now.chunks(64).zip(old.chunks(64)).enumerate() {
            assert_ne!(a, b, "block {i} still holds the old plaintext");
        }
        assert_eq!(dir.read("f").unwrap(), b"new");
        assert_eq!(dir.entries().unwrap(), vec!["f", "link"]);
    }

    #[test]
    fn the_exchange_path_overwrites_every_block_of_the_replaced_version() {
        assert_every_block_overwritten(true);
    }

    #[test]
    fn the_fallback_path_overwrites_every_block_of_the_replaced_version() {
        assert_every_block_overwritten(false);
    }

    #[test]
    fn the_fallback_path_never_shreds_a_concurrently_swapped_file() {
        let (tmp, dir) = private_tmp();
        dir.write_atomic("f", &plaintext()).unwrap();
        let mut w = dir.atomic_file("f").unwrap();
        w.write_all(b"new").unwrap();
        std::fs::write(tmp.path().join("theirs"), b"bystander").unwrap();
        std::fs::hard_link(tmp.path().join("theirs"), tmp.path().join("keep")).unwrap();
        std::fs::rename(tmp.path().join("theirs"), tmp.path().join("f")).unwrap();
        let report = w
            .commit_shredding_with(&DeleteOptions::default(), false)
            .unwrap();
        assert_eq!(report.old_version, OldVersion::ReplacedConcurrently);
        assert_eq!(
            std::fs::read(tmp.path().join("keep")).unwrap(),
            b"bystander"
        );
        assert_eq!(dir.read("f").unwrap(), b"new");

        // And a missing target is simply created.
        let report = dir
            .atomic_file("g")
            .unwrap()
            .commit_shredding_with(&DeleteOptions::default(), false)
            .unwrap();
        assert_eq!(report.old_version, OldVersion::Absent);
        assert_eq!(dir.read("g").unwrap(), b"");
    }

    /// Something other than a regular file taking the target's name right
    /// before the exchange (after the last check) is swapped back and
    /// refused, never released or overwritten; the temporary file is
    /// cleaned up.
    #[test]
    fn a_directory_taking_the_name_at_the_exchange_is_swapped_back() {
        let (tmp, dir) = private_tmp();
        dir.write_atomic("f", b"old").unwrap();
        let mut w = dir.atomic_file("f").unwrap();
        w.write_all(b"new").unwrap();
        let target = dir.child_path(Path::new("f"));
        w.flush_temp(&target).unwrap();
        std::fs::remove_file(tmp.path().join("f")).unwrap();
        std::fs::create_dir(tmp.path().join("f")).unwrap();
        std::fs::write(tmp.path().join("f/inside"), b"kept").unwrap();
        let err = w
            .replace_by_exchange(&target, &DeleteOptions::default())
            .unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::NotAFile, "{err}");
        drop(w);
        assert_eq!(std::fs::read(tmp.path().join("f/inside")).unwrap(), b"kept");
        assert_eq!(dir.entries().unwrap(), vec!["f"]);
    }

    /// A target removed right before the exchange: the new content is put
    /// in place all the same, and the report says the old version was not
    /// the one replaced.
    #[test]
    fn a_target_removed_at_the_exchange_is_reported() {
        let (tmp, dir) = private_tmp();
        dir.write_atomic("f", b"old").unwrap();
        let mut w = dir.atomic_file("f").unwrap();
        w.write_all(b"new").unwrap();
        let target = dir.child_path(Path::new("f"));
        w.flush_temp(&target).unwrap();
        std::fs::remove_file(tmp.path().join("f")).unwrap();
        let old = w
            .replace_by_exchange(&target, &DeleteOptions::default())
            .unwrap();
        assert_eq!(old, OldVersion::ReplacedConcurrently);
        drop(w);
        assert_eq!(dir.read("f").unwrap(), b"new");
        assert_eq!(dir.entries().unwrap(), vec!["f"]);
    }
}
