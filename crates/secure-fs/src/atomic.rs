//! Atomic durable replacement of a file's content, optionally shredding
//! the replaced version.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, OFlags};
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
    /// The file under the target name when the write started, held open
    /// from then on: the only file [`AtomicFile::commit_shredding`] will
    /// ever overwrite. Holding it open is what makes the device and inode
    /// comparison sound: an inode number cannot be reused while a
    /// descriptor keeps the inode alive (a recorded number alone can be
    /// reused on ext4 as soon as the file is deleted).
    replaces: Target,
    /// Set once the exchange has put the replaced version under the
    /// temporary name: from then on Drop must never unlink that name (it
    /// would release the old version unshredded); it is left for
    /// [`PrivateDir::remove_stale_temp_files`], which shreds it.
    temp_holds_old: bool,
    /// The process that created the temporary file: only it removes it on
    /// drop (a forked child dropping its copy must not pull the file from
    /// under the parent's commit).
    owner: rustix::process::Pid,
    /// Failure injection for the unit tests: called at each step of the
    /// shredding commit, an error aborts the commit there.
    #[cfg(test)]
    hook: Option<fn(Step, &Path) -> io::Result<()>>,
}

/// What was under the target name when the write started.
#[derive(Debug)]
enum Target {
    /// Nothing.
    Absent,
    /// This file, held open.
    Held(Held),
    /// A regular file that could not be opened at all (no read or write
    /// permission, on a platform without `O_PATH`): a plain commit replaces
    /// it, a shredding commit refuses before changing anything.
    Unheld,
}

/// The target file, held open from [`PrivateDir::atomic_file`] on.
#[derive(Debug)]
struct Held {
    file: File,
    id: FileId,
    /// Opened for writing (otherwise read-only or `O_PATH`).
    writable: bool,
}

/// Steps of the shredding commit at which the unit tests inject failures.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Right after the exchange succeeded.
    AfterExchange,
    /// In the fallback, after the target was checked, before the rename.
    BeforeRename,
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
    /// The file under `name`, if any, is opened (never followed if it is a
    /// symlink, its mode left unchanged) and held until the `AtomicFile`
    /// is committed or dropped: [`AtomicFile::commit_shredding`] shreds
    /// that file and no other. This costs one descriptor per `AtomicFile`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Symlink`] or [`crate::ErrorKind::NotAFile`] if
    /// `name` exists and is not a regular file, [`crate::ErrorKind::InvalidName`],
    /// or [`crate::ErrorKind::Io`] opening the target or creating the
    /// temporary file.
    pub fn atomic_file(&self, name: impl AsRef<Path>) -> Result<AtomicFile<'_>> {
        let name = self.check_name(name.as_ref())?;
        let replaces = self.hold_target(name)?;
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
                        temp_holds_old: false,
                        owner: rustix::process::getpid(),
                        #[cfg(test)]
                        hook: None,
                    });
                }
                Err(e) if *e.kind() == ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::new(self.child_path(name), ErrorKind::AlreadyExists)))
    }

    /// Opens the file under the target name, if any, and keeps it open
    /// (see [`AtomicFile::replaces`]): read-write where permitted, else
    /// read-only, else (Linux) `O_PATH`. Its mode is not changed here.
    fn hold_target(&self, name: &Path) -> Result<Target> {
        let path = self.child_path(name);
        if self.check_replaceable(name)?.is_none() {
            return Ok(Target::Absent);
        }
        // O_NONBLOCK: a FIFO swapped in since the check must not hang us.
        let base = sys::base_flags() | OFlags::NONBLOCK;
        let mut writable = true;
        let mut attempt = rustix::fs::openat(self.fd(), name, base | OFlags::RDWR, sys::mode(0));
        if matches!(attempt, Err(Errno::ACCESS | Errno::PERM | Errno::TXTBSY)) {
            writable = false;
            attempt = rustix::fs::openat(self.fd(), name, base | OFlags::RDONLY, sys::mode(0));
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if matches!(attempt, Err(Errno::ACCESS | Errno::PERM)) {
            attempt = rustix::fs::openat(
                self.fd(),
                name,
                OFlags::PATH | sys::base_flags(),
                sys::mode(0),
            );
        }
        let fd = match attempt {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(Target::Absent),
            Err(Errno::ACCESS | Errno::PERM) => return Ok(Target::Unheld),
            Err(e) if sys::is_symlink_errno(e) => {
                return Err(Error::new(path, ErrorKind::Symlink));
            }
            Err(Errno::ISDIR | Errno::NXIO) => return Err(Error::new(path, ErrorKind::NotAFile)),
            Err(e) => return Err(Error::io(path, e)),
        };
        let meta = sys::fstat(&fd).map_err(|e| Error::io(&path, e))?;
        if meta.file_type == FileType::Symlink {
            return Err(Error::new(path, ErrorKind::Symlink));
        }
        if meta.file_type != FileType::RegularFile {
            return Err(Error::new(path, ErrorKind::NotAFile));
        }
        Ok(Target::Held(Held {
            file: File::from(fd),
            id: meta.id,
            writable,
        }))
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

    /// Creates the regular file `name` holding `data`, atomically and
    /// durably, and only if nothing is under that name: temporary file
    /// (0600, exclusive, no-follow), write, fsync, then a rename that
    /// refuses to replace anything (`renameat2(RENAME_NOREPLACE)`; where
    /// that flag is unsupported, a check then a plain rename), then an
    /// fsync of the directory.
    ///
    /// Unlike creating the file in place with
    /// [`PrivateDir::create_new_file`], a crash never leaves a short or
    /// empty file under `name`: the name appears only once its whole
    /// content is durable. Of two concurrent calls for the same name,
    /// exactly one succeeds.
    ///
    /// # Errors
    /// [`crate::ErrorKind::AlreadyExists`] if something is under `name`
    /// (it is left as it was); otherwise as [`PrivateDir::write_atomic`].
    pub fn write_new_atomic(&self, name: impl AsRef<Path>, data: &[u8]) -> Result<()> {
        let mut file = self.atomic_file(name)?;
        file.write_all(data)
            .map_err(|e| Error::io(file.dir.child_path(&file.target), e))?;
        file.commit_new()
    }

    /// Replaces the content of the regular file `name` with `data`,
    /// atomically and durably as [`PrivateDir::write_atomic`] does, and
    /// shreds the replaced version in place before it is released: the
    /// old inode is overwritten (`opts`' passes and patterns, as
    /// [`PrivateDir::secure_delete`]), truncated and unlinked, so that its
    /// blocks do not return to the free list still holding the old
    /// content.
    ///
    /// How (Linux and macOS): [`PrivateDir::atomic_file`] opens the file
    /// under the target name and holds it open until the commit (a
    /// recorded device and inode alone could match a file created later:
    /// ext4 reuses the number of a deleted file; it cannot while the file
    /// is held). The new content is written to a temporary file and
    /// flushed; `renameat2(RENAME_EXCHANGE)` swaps it with the target in
    /// one atomic step, so that the temporary name now holds what had the
    /// target name; the directory is flushed (the new content is now
    /// durable); the temporary name is `lstat`ed (something that is not a
    /// regular file is swapped back and refused, never opened) and its
    /// device and inode compared with the held file. Only if they match is
    /// it overwritten through the held descriptor (made writable by its
    /// owner first if its mode is read-only), flushed, truncated and
    /// unlinked, and the directory flushed again. A crash or an error
    /// after the exchange leaves the old version under a temporary name,
    /// never released unshredded, and
    /// [`PrivateDir::remove_stale_temp_files`] shreds it.
    ///
    /// Where there is no target, the temporary file is renamed with
    /// `RENAME_NOREPLACE` (a file that appears meanwhile is exchanged and
    /// released unshredded, as [`OldVersion::ReplacedConcurrently`]).
    ///
    /// Fallback where the exchange is not supported (file systems that
    /// refuse `RENAME_EXCHANGE`, other platforms): the target name is
    /// checked to still be the held file, the temporary file renamed over
    /// it, and the held file shredded only if that rename released it (its
    /// link count dropped; a target moved away rather than replaced keeps
    /// its links and is left alone). The weaker point, documented: a crash
    /// or an error between the rename and the end of shredding leaves the
    /// old content in released blocks.
    ///
    /// # Errors
    /// As [`PrivateDir::write_atomic`], and `Io` (`PermissionDenied`)
    /// before anything is changed if the target could be opened neither
    /// for reading nor for writing on a platform without `O_PATH`. An
    /// error after the exchange (while shredding) leaves the new content in
    /// place and the old version under a temporary name that
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

    /// Like [`AtomicFile::commit`], but only if nothing is under the
    /// target name: the rename refuses to replace anything, so the name
    /// appears with its whole content or not at all. See
    /// [`PrivateDir::write_new_atomic`].
    ///
    /// # Errors
    /// [`crate::ErrorKind::AlreadyExists`] if something is under the
    /// target name (it is left as it was, and the temporary file removed);
    /// otherwise as [`AtomicFile::commit`].
    pub fn commit_new(mut self) -> Result<()> {
        let target_path = self.dir.child_path(&self.target);
        self.flush_temp(&target_path)?;
        self.dir
            .rename_noreplace(Path::new(self.temp.as_str()), &self.target)
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
        if matches!(self.replaces, Target::Unheld) {
            return Err(Error::io(
                &target_path,
                io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "the file to replace could not be opened to check it; it was left as it was",
                ),
            ));
        }
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

    /// Runs the unit tests' failure injection for `step`.
    #[cfg(test)]
    fn step(&self, step: Step) -> io::Result<()> {
        self.hook.map_or(Ok(()), |hook| hook(step, self.dir.path()))
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

    /// A descriptor open for writing on the held file, which `name` (in
    /// the directory) must name: the held descriptor itself when it was
    /// opened read-write; otherwise the file is made writable by its owner
    /// (through the held descriptor where it allows `fchmod`) and `name`
    /// opened, and the result must be the held file (its inode number
    /// cannot have been reused: the held descriptor keeps it alive).
    /// `Ok(None)` if `name` is not the held file.
    fn writable_old(&self, held: &Held, name: &Path) -> Result<Option<File>> {
        let shown = self.dir.child_path(name);
        match sys::lstat_at(self.dir.fd(), name) {
            Ok(now) if now.id == held.id => {}
            Ok(_) | Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(Error::io(&shown, e)),
        }
        if held.writable {
            return held
                .file
                .try_clone()
                .map(Some)
                .map_err(|e| Error::io(&shown, e));
        }
        if rustix::fs::fchmod(&held.file, sys::mode(crate::dir::FILE_MODE)).is_err() {
            // An O_PATH descriptor refuses fchmod: change the mode by name.
            // The name is checked to be the held file right after.
            rustix::fs::chmodat(
                self.dir.fd(),
                name,
                sys::mode(crate::dir::FILE_MODE),
                AtFlags::empty(),
            )
            .map_err(|e| Error::io(&shown, e))?;
        }
        let fd = rustix::fs::openat(
            self.dir.fd(),
            name,
            sys::base_flags() | OFlags::NONBLOCK | OFlags::WRONLY,
            sys::mode(0),
        )
        .map_err(|e| Error::io(&shown, e))?;
        let meta = sys::fstat(&fd).map_err(|e| Error::io(&shown, e))?;
        if meta.id != held.id {
            return Ok(None);
        }
        Ok(Some(File::from(fd)))
    }

    /// The exchange path of [`AtomicFile::commit_shredding`].
    fn replace_by_exchange(
        &mut self,
        target_path: &Path,
        opts: &DeleteOptions,
    ) -> Result<OldVersion> {
        let dir = self.dir;
        let temp = Path::new(self.temp.as_str()).to_path_buf();
        if matches!(self.replaces, Target::Absent) {
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
        // content is under the target name. From here on an error must
        // leave the old version where it is, for the sweep to shred: never
        // let Drop unlink it.
        self.temp_holds_old = true;
        let shown = dir.child_path(&temp);
        #[cfg(test)]
        self.step(Step::AfterExchange)
            .map_err(|e| Error::io(&shown, e))?;
        // Make the new content durable first.
        dir.sync()?;
        // What the temporary name holds, looked at without opening it (a
        // FIFO or a socket must not be opened).
        let now = sys::lstat_at(dir.fd(), &temp).map_err(|e| Error::io(&shown, e))?;
        if now.file_type != FileType::RegularFile {
            // Something that is not a regular file took the target's name
            // meanwhile (a directory, a FIFO, a symlink): swap it back
            // rather than release it, and refuse, as `commit` does.
            sys::rename_exchange(dir.fd(), &temp, &self.target)
                .map_err(|e| Error::io(target_path, e))?;
            // The temporary name holds the new content again.
            self.temp_holds_old = false;
            dir.sync()?;
            let kind = if now.file_type == FileType::Symlink {
                ErrorKind::Symlink
            } else {
                ErrorKind::NotAFile
            };
            return Err(Error::new(target_path, kind));
        }
        let old = match &self.replaces {
            Target::Held(held) if held.id == now.id => self.writable_old(held, &temp)?,
            _ => None,
        };
        let Some(old) = old else {
            // Not the file we started from: release it as a plain rename
            // would, without overwriting it.
            rustix::fs::unlinkat(dir.fd(), &temp, AtFlags::empty())
                .map_err(|e| Error::io(&shown, e))?;
            self.temp.clear();
            self.temp_holds_old = false;
            dir.sync()?;
            return Ok(OldVersion::ReplacedConcurrently);
        };
        let meta = sys::fstat(&old).map_err(|e| Error::io(&shown, e))?;
        shred_contents(&old, meta.size, opts).map_err(|e| Error::io(&shown, e))?;
        drop(old);
        rustix::fs::unlinkat(dir.fd(), &temp, AtFlags::empty())
            .map_err(|e| Error::io(&shown, e))?;
        self.temp.clear();
        self.temp_holds_old = false;
        dir.sync()?;
        Ok(OldVersion::Shredded {
            passes: opts.passes,
            bytes_per_pass: meta.size,
            other_links: meta.nlink.saturating_sub(1),
        })
    }

    /// The fallback of [`AtomicFile::commit_shredding`] where names cannot
    /// be exchanged atomically: check that the target is still the held
    /// file, rename over it, and shred it through a descriptor if and only
    /// if the rename released it (its link count dropped).
    fn replace_by_rename(
        &mut self,
        target_path: &Path,
        opts: &DeleteOptions,
    ) -> Result<OldVersion> {
        let dir = self.dir;
        let target = self.target.clone();
        // A writable descriptor on the held file, if the target name still
        // refers to it.
        let old = match &self.replaces {
            Target::Held(held) => self.writable_old(held, &target)?,
            _ => None,
        };
        let before = match &old {
            Some(file) => Some(sys::fstat(file).map_err(|e| Error::io(target_path, e))?),
            None => None,
        };
        #[cfg(test)]
        self.step(Step::BeforeRename)
            .map_err(|e| Error::io(target_path, e))?;
        rustix::fs::renameat(dir.fd(), self.temp.as_str(), dir.fd(), &target)
            .map_err(|e| Error::io(target_path, e))?;
        self.temp.clear();
        dir.sync()?;
        let (Some(old), Some(before)) = (old, before) else {
            return Ok(if matches!(self.replaces, Target::Absent) {
                OldVersion::Absent
            } else {
                OldVersion::ReplacedConcurrently
            });
        };
        // Released by our rename only if it lost a link: a file that was
        // moved away between the check and the rename keeps its links and
        // is someone's file, not ours to shred.
        let after = sys::fstat(&old).map_err(|e| Error::io(target_path, e))?;
        if after.nlink >= before.nlink {
            return Ok(OldVersion::ReplacedConcurrently);
        }
        shred_contents(&old, after.size, opts).map_err(|e| Error::io(target_path, e))?;
        Ok(OldVersion::Shredded {
            passes: opts.passes,
            bytes_per_pass: after.size,
            other_links: after.nlink,
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
        if !self.temp.is_empty() && !self.temp_holds_old && rustix::process::getpid() == self.owner
        {
            // Best effort: an abandoned write leaves no temporary file.
            let _ = rustix::fs::unlinkat(self.dir.fd(), self.temp.as_str(), AtFlags::empty());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    /// An update of `f` ("old" to "new") staged up to the exchange: the
    /// new content flushed under its temporary name, and the target then
    /// removed from under it (each test puts something else, or nothing,
    /// in its place).
    fn staged_over_removed_target<'d>(
        dir: &'d PrivateDir,
        path: &Path,
    ) -> (AtomicFile<'d>, PathBuf) {
        dir.write_atomic("f", b"old").unwrap();
        let mut w = dir.atomic_file("f").unwrap();
        w.write_all(b"new").unwrap();
        let target = dir.child_path(Path::new("f"));
        w.flush_temp(&target).unwrap();
        std::fs::remove_file(path.join("f")).unwrap();
        (w, target)
    }

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
        let (mut w, target) = staged_over_removed_target(&dir, tmp.path());
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
        let (mut w, target) = staged_over_removed_target(&dir, tmp.path());
        let old = w
            .replace_by_exchange(&target, &DeleteOptions::default())
            .unwrap();
        assert_eq!(old, OldVersion::ReplacedConcurrently);
        drop(w);
        assert_eq!(dir.read("f").unwrap(), b"new");
        assert_eq!(dir.entries().unwrap(), vec!["f"]);
    }

    fn temp_entries(path: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(crate::dir::TEMP_PREFIX))
            .collect();
        names.sort();
        names
    }

    /// Review finding 2: an error after the exchange (here injected right
    /// after it; in the field a failing directory sync, open or shred)
    /// leaves the old version under its temporary name, unreleased, for
    /// the sweep to shred. Before, Drop unlinked that name and the old
    /// plaintext went to the free list unshredded.
    #[test]
    fn an_error_after_the_exchange_leaves_the_old_version_for_the_sweep() {
        let (tmp, dir) = private_tmp();
        let old = plaintext();
        dir.write_atomic("f", &old).unwrap();
        let link = tmp.path().join("link");
        std::fs::hard_link(tmp.path().join("f"), &link).unwrap();
        let mut w = dir.atomic_file("f").unwrap();
        w.write_all(b"new").unwrap();
        w.hook = Some(|step, _| {
            if step == Step::AfterExchange {
                Err(io::Error::other("injected failure"))
            } else {
                Ok(())
            }
        });
        let err = w
            .commit_shredding_with(&DeleteOptions::default(), true)
            .unwrap_err();
        assert!(err.to_string().contains("injected failure"), "{err}");
        // The new content is in place; the old version is still linked
        // under a temporary name (2 links: that name and ours), untouched.
        assert_eq!(dir.read("f").unwrap(), b"new");
        assert_eq!(temp_entries(tmp.path()).len(), 1, "old version released");
        assert_eq!(std::fs::metadata(&link).unwrap().nlink(), 2);
        assert_eq!(std::fs::read(&link).unwrap(), old);
        // The sweep shreds it.
        assert_eq!(dir.remove_stale_temp_files().unwrap(), 1);
        assert!(std::fs::read(&link).unwrap().is_empty());
        assert!(temp_entries(tmp.path()).is_empty());
    }

    /// Review finding 4: in the fallback, a target moved away (not
    /// replaced) between the check and the rename keeps its links: it is
    /// someone's file, never shredded.
    #[test]
    fn the_fallback_never_shreds_a_target_moved_away_before_the_rename() {
        let (tmp, dir) = private_tmp();
        dir.write_atomic("f", &plaintext()).unwrap();
        let mut w = dir.atomic_file("f").unwrap();
        w.write_all(b"new").unwrap();
        w.hook = Some(|step, dir| {
            if step == Step::BeforeRename {
                std::fs::rename(dir.join("f"), dir.join("moved"))?;
            }
            Ok(())
        });
        let report = w
            .commit_shredding_with(&DeleteOptions::default(), false)
            .unwrap();
        assert_eq!(report.old_version, OldVersion::ReplacedConcurrently);
        assert_eq!(
            std::fs::read(tmp.path().join("moved")).unwrap(),
            plaintext()
        );
        assert_eq!(dir.read("f").unwrap(), b"new");
    }

    /// Review finding 6: a FIFO taking the target's name at the exchange
    /// is swapped back and refused (it is not opened, which would fail
    /// with ENXIO, and not released by Drop).
    #[test]
    fn a_fifo_taking_the_name_at_the_exchange_is_swapped_back() {
        let (tmp, dir) = private_tmp();
        let (mut w, target) = staged_over_removed_target(&dir, tmp.path());
        rustix::fs::mknodat(
            rustix::fs::CWD,
            tmp.path().join("f").as_path(),
            FileType::Fifo,
            sys::mode(0o600),
            0,
        )
        .unwrap();
        let err = w
            .replace_by_exchange(&target, &DeleteOptions::default())
            .unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::NotAFile, "{err}");
        drop(w);
        let meta = sys::lstat_at(dir.fd(), Path::new("f")).unwrap();
        assert_eq!(meta.file_type, FileType::Fifo);
        assert!(temp_entries(tmp.path()).is_empty());
    }
}
