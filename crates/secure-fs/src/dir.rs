//! [`PrivateDir`]: a directory handle that only ever touches its own
//! entries, never follows symlinks, and keeps everything 0700/0600.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, OFlags};

use crate::error::{Error, ErrorKind, Result};
use crate::sys;

/// Permission bits of every directory secure-fs creates.
pub const DIR_MODE: u32 = 0o700;
/// Permission bits of every file secure-fs creates.
pub const FILE_MODE: u32 = 0o600;

/// Prefix of the temporary files of atomic writes: the new content while
/// it is written, and the replaced version between the exchange of a
/// shredding replace and its shredding. Both are ours; the sweep
/// ([`PrivateDir::remove_stale_temp_files`]) shreds them. Entries with this
/// prefix are never listed by [`PrivateDir::entries`].
pub(crate) const TEMP_PREFIX: &str = ".secure-fs-tmp.";

/// Prefix under which [`PrivateDir::secure_delete`] hides a file it has
/// already overwritten and truncated. The sweep unlinks such an entry only
/// while it is empty: one that holds data was not ours (a file that took
/// the name at the rename and could not be put back) and is left alone,
/// never overwritten.
pub(crate) const DELETE_PREFIX: &str = ".secure-fs-del.";

/// The prefixes reserved for secure-fs's own entries.
pub(crate) const RESERVED_PREFIXES: [&str; 2] = [TEMP_PREFIX, DELETE_PREFIX];

/// Whether `name` starts with `prefix`, ignoring ASCII case (a
/// case-insensitive file system such as APFS's default treats `.LOCK` and
/// `.lock` as one name).
fn has_prefix_ignoring_case(name: &[u8], prefix: &str) -> bool {
    name.len() >= prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Whether `name` is reserved for secure-fs: the lock file or one of the
/// reserved prefixes, compared ignoring ASCII case.
pub(crate) fn is_reserved(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(crate::lock::LOCK_FILE.as_bytes())
        || RESERVED_PREFIXES
            .iter()
            .any(|p| has_prefix_ignoring_case(name, p))
}

/// What [`PrivateDir::sweep_stale_temp_files`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct SweepReport {
    /// Entries shredded (regular files) or removed (anything else).
    pub removed: usize,
    /// Entries that could not be handled, each with why; they were left
    /// where they are and the sweep went on with the others.
    pub left: Vec<Error>,
}

/// How a file is opened by [`PrivateDir::open_file`] and
/// [`PrivateDir::create_file`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// Read only.
    Read,
    /// Read and write, positioned at the start; existing content is kept.
    ReadWrite,
    /// Read, and every write goes to the end (`O_APPEND`).
    Append,
}

impl Access {
    fn flags(self) -> OFlags {
        match self {
            Access::Read => OFlags::RDONLY,
            Access::ReadWrite => OFlags::RDWR,
            Access::Append => OFlags::RDWR | OFlags::APPEND,
        }
    }
}

/// A private directory: mode 0700, owned by us, not a symlink.
///
/// The handle holds an open descriptor; every operation on an entry is
/// relative to it (`openat`, `renameat`, `unlinkat`), takes a single plain
/// file name, and refuses symlinks. Renaming or replacing the directory's
/// path after opening it does not redirect later operations.
///
/// Files it creates are 0600 and directories 0700, set explicitly after
/// creation, so the process umask does not matter.
#[derive(Debug)]
pub struct PrivateDir {
    fd: OwnedFd,
    path: PathBuf,
}

impl PrivateDir {
    /// Opens an existing private directory.
    ///
    /// Refuses a symlink, something that is not a directory, a directory
    /// owned by another user, and one writable by group or others. A
    /// directory that is merely readable or searchable by others (0755,
    /// say) is tightened to 0700.
    ///
    /// The path is walked one component at a time from `/` (a relative
    /// path is taken from the current directory), each opened with
    /// `O_NOFOLLOW | O_DIRECTORY` relative to the one before, so a symlink
    /// in *any* component is refused, not only in the last. Every ancestor
    /// must be owned by us or by root, and must not be writable by group
    /// or others unless its sticky bit is set (as on `/tmp`): otherwise
    /// someone else could swap the directory for another of ours and aim
    /// writes and secure deletes at it.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidName`] for an empty path (which would otherwise
    /// mean the current directory), [`ErrorKind::NotFound`],
    /// [`ErrorKind::Symlink`] (naming the
    /// component that is a symlink), [`ErrorKind::NotADirectory`],
    /// [`ErrorKind::NotOwned`] or [`ErrorKind::InsecureMode`] (naming the
    /// directory or the ancestor at fault), or [`ErrorKind::Io`].
    pub fn open(path: impl AsRef<Path>) -> Result<PrivateDir> {
        let path = path.as_ref();
        refuse_empty(path)?;
        let fd = walk(path, false)?;
        Self::verify(fd, path.to_path_buf())
    }

    /// Opens the private directory at `path`, creating it (and any missing
    /// parents) if needed, with the checks of [`PrivateDir::open`] on the
    /// directory and every ancestor. The directory itself is created 0700;
    /// missing parents are created 0700 minus the umask (never looser), as
    /// the XDG base directory specification asks; existing parents are
    /// left alone. Each directory created is made durable: its parent is
    /// fsynced after the `mkdir`, so a power cut cannot lose a directory
    /// that files were then written into. An existing directory is checked
    /// and tightened exactly as by [`PrivateDir::open`].
    ///
    /// # Errors
    /// As [`PrivateDir::open`], plus errors creating the directories.
    pub fn create(path: impl AsRef<Path>) -> Result<PrivateDir> {
        let path = path.as_ref();
        refuse_empty(path)?;
        let fd = walk(path, true)?;
        Self::verify(fd, path.to_path_buf())
    }

    /// Opens the directory at `path` for writing files into it, creating
    /// it (and any missing parents) as [`PrivateDir::create`] does, but
    /// leaves the mode of an existing directory as it is: a 0755 project
    /// directory stays 0755. For tools that install a file into a
    /// directory they did not create (a downloader's `--out ./model.bin`),
    /// which must not change that directory's permissions.
    ///
    /// Every other check of [`PrivateDir::open`] holds: no symlink in any
    /// component, every ancestor owned by us or root and not writable by
    /// others unless sticky, and the directory itself owned by us and not
    /// writable by group or others (sticky or not). Files created in it
    /// are still 0600 and subdirectories 0700; only the directory's own
    /// mode is not tightened, so a handle opened this way may be readable
    /// and searchable by others.
    ///
    /// # Errors
    /// As [`PrivateDir::create`].
    pub fn create_keeping_mode(path: impl AsRef<Path>) -> Result<PrivateDir> {
        let path = path.as_ref();
        refuse_empty(path)?;
        let fd = walk(path, true)?;
        Self::check(fd, path.to_path_buf(), false)
    }

    fn verify(fd: OwnedFd, path: PathBuf) -> Result<PrivateDir> {
        Self::check(fd, path, true)
    }

    fn check(fd: OwnedFd, path: PathBuf, tighten: bool) -> Result<PrivateDir> {
        let meta = sys::fstat(&fd).map_err(|e| Error::io(&path, e))?;
        if meta.file_type != FileType::Directory {
            return Err(Error::new(path, ErrorKind::NotADirectory));
        }
        let me = sys::euid();
        if meta.uid != me {
            return Err(Error::new(
                path,
                ErrorKind::NotOwned {
                    owner: meta.uid,
                    expected: me,
                },
            ));
        }
        if meta.perm & 0o022 != 0 {
            return Err(Error::new(
                path,
                ErrorKind::InsecureMode { mode: meta.perm },
            ));
        }
        if tighten && meta.perm != DIR_MODE {
            rustix::fs::fchmod(&fd, sys::mode(DIR_MODE)).map_err(|e| Error::io(&path, e))?;
        }
        Ok(PrivateDir { fd, path })
    }

    /// The path this directory was opened by (for messages; operations use
    /// the descriptor, not this path).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The full path of an entry, for messages.
    pub(crate) fn child_path(&self, name: &Path) -> PathBuf {
        self.path.join(name)
    }

    /// Checks that `name` is a single plain file name that is not reserved
    /// for secure-fs itself (the lock file, temporary files): the check of
    /// every public operation.
    pub(crate) fn check_name<'a>(&self, name: &'a Path) -> Result<&'a Path> {
        let name = self.check_plain_name(name)?;
        if is_reserved(name.as_os_str().as_bytes()) {
            return Err(Error::new(self.child_path(name), ErrorKind::Reserved));
        }
        Ok(name)
    }

    /// Checks that `name` is a single plain file name.
    fn check_plain_name<'a>(&self, name: &'a Path) -> Result<&'a Path> {
        let bytes = name.as_os_str().as_bytes();
        let mut components = name.components();
        let single =
            matches!(components.next(), Some(Component::Normal(_))) && components.next().is_none();
        if !single || bytes.contains(&b'/') || bytes.contains(&0) {
            return Err(Error::new(self.child_path(name), ErrorKind::InvalidName));
        }
        Ok(name)
    }

    /// Opens or creates the private subdirectory `name` (0700).
    ///
    /// # Errors
    /// As [`PrivateDir::open_dir`], plus errors creating it.
    pub fn create_dir(&self, name: impl AsRef<Path>) -> Result<PrivateDir> {
        let name = self.check_name(name.as_ref())?;
        match rustix::fs::mkdirat(&self.fd, name, sys::mode(DIR_MODE)) {
            Ok(()) => {
                sys::full_sync(&self.fd).map_err(|e| Error::io(&self.path, e))?;
            }
            Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(Error::io(self.child_path(name), e)),
        }
        self.open_dir(name)
    }

    /// Opens the existing private subdirectory `name`, with the checks of
    /// [`PrivateDir::open`].
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`], [`ErrorKind::Symlink`],
    /// [`ErrorKind::NotADirectory`], [`ErrorKind::NotOwned`],
    /// [`ErrorKind::InsecureMode`], [`ErrorKind::InvalidName`] or
    /// [`ErrorKind::Io`].
    pub fn open_dir(&self, name: impl AsRef<Path>) -> Result<PrivateDir> {
        let name = self.check_name(name.as_ref())?;
        let path = self.child_path(name);
        match sys::open_dir_at(&self.fd, name) {
            Ok(fd) => Self::verify(fd, path),
            Err(e) => Err(classify_open_dir_error(&self.fd, name, &path, e)),
        }
    }

    /// Opens the existing regular file `name`.
    ///
    /// Refuses a symlink (the final component is opened with
    /// `O_NOFOLLOW`), anything but a regular file, and a file owned by
    /// another user. A file readable or writable by others is tightened to
    /// 0600.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`], [`ErrorKind::Symlink`], [`ErrorKind::NotAFile`],
    /// [`ErrorKind::NotOwned`], [`ErrorKind::InvalidName`] or [`ErrorKind::Io`].
    pub fn open_file(&self, name: impl AsRef<Path>, access: Access) -> Result<File> {
        self.open_file_with(name.as_ref(), access.flags())
    }

    /// Opens the regular file `name`, creating it 0600 if it does not exist.
    /// Existing content is kept. The checks of [`PrivateDir::open_file`]
    /// apply to an existing file.
    ///
    /// # Errors
    /// As [`PrivateDir::open_file`] (except `NotFound`).
    pub fn create_file(&self, name: impl AsRef<Path>, access: Access) -> Result<File> {
        let name = self.check_name(name.as_ref())?;
        self.create_entry(name, access)
    }

    /// [`PrivateDir::create_file`] without the reserved-name check, for
    /// secure-fs's own entries (the lock file).
    pub(crate) fn create_entry(&self, name: &Path, access: Access) -> Result<File> {
        let access = if access == Access::Read {
            Access::ReadWrite
        } else {
            access
        };
        // Two attempts: the entry may vanish between the exclusive create
        // failing and the plain open.
        for _ in 0..2 {
            match self.open_entry(name, access.flags() | OFlags::CREATE | OFlags::EXCL) {
                Err(e) if *e.kind() == ErrorKind::AlreadyExists => {}
                other => return other,
            }
            match self.open_entry(name, access.flags()) {
                Err(e) if *e.kind() == ErrorKind::NotFound => {}
                other => return other,
            }
        }
        self.open_entry(name, access.flags())
    }

    /// Creates the regular file `name` (0600), failing if any entry of that
    /// name exists, a dangling symlink included. Opened for reading and
    /// writing.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`], [`ErrorKind::InvalidName`] or
    /// [`ErrorKind::Io`].
    pub fn create_new_file(&self, name: impl AsRef<Path>) -> Result<File> {
        self.open_file_with(name.as_ref(), OFlags::RDWR | OFlags::CREATE | OFlags::EXCL)
    }

    /// Opens `name` for a public operation: refuses reserved names, then
    /// [`PrivateDir::open_entry`].
    pub(crate) fn open_file_with(&self, name: &Path, flags: OFlags) -> Result<File> {
        let name = self.check_name(name)?;
        self.open_entry(name, flags)
    }

    /// The one place files are opened. With `O_CREAT | O_EXCL` the file is
    /// new and gets exactly 0600 whatever the umask; an existing file is
    /// checked (regular, ours) and loses group/other and special bits.
    /// Reserved names are allowed: callers inside the crate use it for
    /// temporary files and the lock file.
    pub(crate) fn open_entry(&self, name: &Path, flags: OFlags) -> Result<File> {
        let name = self.check_plain_name(name)?;
        let path = self.child_path(name);
        // O_NONBLOCK so that a FIFO planted under this name cannot make the
        // open hang; it is cleared again below once we know it is a file.
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            sys::base_flags() | OFlags::NONBLOCK | flags,
            sys::mode(FILE_MODE),
        )
        .map_err(|e| {
            if sys::is_symlink_errno(e) {
                Error::new(&path, ErrorKind::Symlink)
            } else if e == rustix::io::Errno::ISDIR {
                Error::new(&path, ErrorKind::NotAFile)
            } else {
                Error::io(&path, e)
            }
        })?;
        let created = flags.contains(OFlags::CREATE | OFlags::EXCL);
        let meta = sys::fstat(&fd).map_err(|e| Error::io(&path, e))?;
        if meta.file_type != FileType::RegularFile {
            return Err(Error::new(&path, ErrorKind::NotAFile));
        }
        let me = sys::euid();
        if meta.uid != me {
            return Err(Error::new(
                &path,
                ErrorKind::NotOwned {
                    owner: meta.uid,
                    expected: me,
                },
            ));
        }
        let want = if created {
            FILE_MODE
        } else {
            meta.perm & 0o700
        };
        if meta.perm != want {
            rustix::fs::fchmod(&fd, sys::mode(want)).map_err(|e| Error::io(&path, e))?;
        }
        let now = rustix::fs::fcntl_getfl(&fd).map_err(|e| Error::io(&path, e))?;
        rustix::fs::fcntl_setfl(&fd, now - OFlags::NONBLOCK).map_err(|e| Error::io(&path, e))?;
        Ok(File::from(fd))
    }

    /// Reads the whole regular file `name`.
    ///
    /// # Errors
    /// As [`PrivateDir::open_file`], plus read errors.
    pub fn read(&self, name: impl AsRef<Path>) -> Result<Vec<u8>> {
        let name = name.as_ref();
        let mut file = self.open_file(name, Access::Read)?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)
            .map_err(|e| Error::io(self.child_path(name), e))?;
        Ok(buf)
    }

    /// Whether an entry named `name` exists (of any type; a symlink counts
    /// and is not followed).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidName`] or [`ErrorKind::Io`].
    pub fn exists(&self, name: impl AsRef<Path>) -> Result<bool> {
        let name = self.check_name(name.as_ref())?;
        match sys::lstat_at(&self.fd, name) {
            Ok(_) => Ok(true),
            Err(rustix::io::Errno::NOENT) => Ok(false),
            Err(e) => Err(Error::io(self.child_path(name), e)),
        }
    }

    /// Checks that `name` is absent or a regular file, never a symlink or
    /// anything else. Returns whether it exists.
    pub(crate) fn check_replaceable(&self, name: &Path) -> Result<Option<sys::Meta>> {
        match sys::lstat_at(&self.fd, name) {
            Ok(meta) if meta.file_type == FileType::Symlink => {
                Err(Error::new(self.child_path(name), ErrorKind::Symlink))
            }
            Ok(meta) if meta.file_type != FileType::RegularFile => {
                Err(Error::new(self.child_path(name), ErrorKind::NotAFile))
            }
            Ok(meta) => Ok(Some(meta)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(Error::io(self.child_path(name), e)),
        }
    }

    /// Removes the regular file `name` (a plain unlink, not a secure
    /// delete) and makes the removal durable. Refuses a symlink.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`], [`ErrorKind::Symlink`],
    /// [`ErrorKind::NotAFile`], [`ErrorKind::InvalidName`] or
    /// [`ErrorKind::Io`].
    pub fn remove_file(&self, name: impl AsRef<Path>) -> Result<()> {
        let name = self.check_name(name.as_ref())?;
        if self.check_replaceable(name)?.is_none() {
            return Err(Error::new(self.child_path(name), ErrorKind::NotFound));
        }
        rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())
            .map_err(|e| Error::io(self.child_path(name), e))?;
        self.sync()
    }

    /// Renames the regular file `from` to `to` within this directory,
    /// atomically replacing any regular file named `to`, and makes the
    /// rename durable. Refuses symlinks on either side.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`], [`ErrorKind::Symlink`],
    /// [`ErrorKind::NotAFile`], [`ErrorKind::InvalidName`] or
    /// [`ErrorKind::Io`].
    pub fn rename_file(&self, from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<()> {
        let from = self.check_name(from.as_ref())?;
        let to = self.check_name(to.as_ref())?;
        if self.check_replaceable(from)?.is_none() {
            return Err(Error::new(self.child_path(from), ErrorKind::NotFound));
        }
        self.check_replaceable(to)?;
        rustix::fs::renameat(&self.fd, from, &self.fd, to)
            .map_err(|e| Error::io(self.child_path(from), e))?;
        self.sync()
    }

    /// The names in this directory (not `.`/`..`, not the temporary files of
    /// atomic writes in progress, not the lock file), sorted.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] if the directory cannot be read.
    pub fn entries(&self) -> Result<Vec<OsString>> {
        let mut dir = rustix::fs::Dir::read_from(&self.fd).map_err(|e| Error::io(&self.path, e))?;
        let mut names = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|e| Error::io(&self.path, e))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." || is_reserved(name) {
                continue;
            }
            names.push(OsString::from(std::ffi::OsStr::from_bytes(name)));
        }
        names.sort();
        Ok(names)
    }

    /// Shreds and removes the temporary files that atomic writes and
    /// secure deletes leave behind when the process dies mid-way: the new
    /// content of a write that never committed, the old version that
    /// [`PrivateDir::write_atomic_shredding`] had exchanged out but not yet
    /// shredded (or that an error after the exchange left there), or a file
    /// [`PrivateDir::secure_delete`] had hidden after overwriting it.
    /// Returns how many were removed; see
    /// [`PrivateDir::sweep_stale_temp_files`] for the rules and for the
    /// entries it had to leave. Call it only while holding the directory's
    /// writer lock ([`PrivateDir::lock`]), or it may remove another
    /// writer's file in flight.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] if the directory cannot be read or synced. An
    /// entry that cannot be handled is not an error here: it is left, and
    /// the sweep goes on.
    pub fn remove_stale_temp_files(&self) -> Result<usize> {
        self.sweep_stale_temp_files().map(|report| report.removed)
    }

    /// [`PrivateDir::remove_stale_temp_files`], reporting what it left.
    ///
    /// Each entry under a reserved temporary name is looked at with
    /// `lstat`, never opened blindly:
    /// - a regular file under the atomic-write prefix is overwritten with
    ///   the default [`crate::DeleteOptions`] (made writable first if its
    ///   mode forbids writing), truncated and unlinked;
    /// - a regular file under the secure-delete prefix is unlinked if it is
    ///   empty (secure delete overwrites and truncates before hiding); one
    ///   that holds data is not ours and is left alone, unread and
    ///   unwritten;
    /// - a symlink, FIFO, socket or device is unlinked (not opened);
    /// - a directory is removed if empty (secure-fs never creates one under
    ///   these names, so its content is never ours to remove) and left
    ///   otherwise.
    ///
    /// Whatever cannot be handled is listed in [`SweepReport::left`]; one
    /// entry never stops the sweep.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] if the directory cannot be read or synced.
    pub fn sweep_stale_temp_files(&self) -> Result<SweepReport> {
        let mut stale = Vec::new();
        let mut dir = rustix::fs::Dir::read_from(&self.fd).map_err(|e| Error::io(&self.path, e))?;
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|e| Error::io(&self.path, e))?;
            let name = entry.file_name().to_bytes();
            if RESERVED_PREFIXES
                .iter()
                .any(|p| name.starts_with(p.as_bytes()))
            {
                stale.push(OsString::from(std::ffi::OsStr::from_bytes(name)));
            }
        }
        let mut report = SweepReport {
            removed: 0,
            left: Vec::new(),
        };
        for name in stale {
            match self.sweep_entry(Path::new(&name)) {
                Ok(true) => report.removed += 1,
                Ok(false) => {}
                Err(e) => report.left.push(e),
            }
        }
        if report.removed > 0 {
            self.sync()?;
        }
        Ok(report)
    }

    /// One entry of the sweep: `Ok(true)` if removed, `Ok(false)` if gone
    /// already, an error (the entry left) otherwise.
    fn sweep_entry(&self, name: &Path) -> Result<bool> {
        let shown = self.child_path(name);
        let meta = match sys::lstat_at(&self.fd, name) {
            Ok(meta) => meta,
            Err(rustix::io::Errno::NOENT) => return Ok(false),
            Err(e) => return Err(Error::io(&shown, e)),
        };
        let mut flags = AtFlags::empty();
        let hidden_by_delete = name
            .as_os_str()
            .as_bytes()
            .starts_with(DELETE_PREFIX.as_bytes());
        match meta.file_type {
            // Secure delete truncates before hiding: data here is not ours.
            FileType::RegularFile if hidden_by_delete && meta.size != 0 => {
                return Err(Error::io(
                    &shown,
                    std::io::Error::other(
                        "holds data that secure delete did not leave (a file that took \
                         the name of one being deleted); left alone",
                    ),
                ));
            }
            FileType::RegularFile if hidden_by_delete => {}
            FileType::RegularFile => {
                let file = self.open_for_shred(name, &shown)?;
                let size = sys::fstat(&file).map_err(|e| Error::io(&shown, e))?.size;
                crate::delete::shred_contents(&file, size, &crate::DeleteOptions::default())
                    .map_err(|e| Error::io(&shown, e))?;
            }
            FileType::Directory => flags = AtFlags::REMOVEDIR,
            _ => {}
        }
        match rustix::fs::unlinkat(&self.fd, name, flags) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::NOENT) => Ok(false),
            Err(e) => Err(Error::io(shown, e)),
        }
    }

    /// Opens the regular file `name` for writing to shred it, without
    /// following a symlink or hanging on a FIFO; if its mode forbids
    /// writing, makes it 0600 through a read-only descriptor first. The
    /// descriptor returned is checked to be that same file.
    fn open_for_shred(&self, name: &Path, shown: &Path) -> Result<File> {
        let base = sys::base_flags() | OFlags::NONBLOCK;
        let open = |flags| rustix::fs::openat(&self.fd, name, base | flags, sys::mode(0));
        let fd = match open(OFlags::WRONLY) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::ACCESS | rustix::io::Errno::PERM) => {
                let read = open(OFlags::RDONLY).map_err(|e| Error::io(shown, e))?;
                rustix::fs::fchmod(&read, sys::mode(FILE_MODE)).map_err(|e| Error::io(shown, e))?;
                let fd = open(OFlags::WRONLY).map_err(|e| Error::io(shown, e))?;
                let (a, b) = (sys::fstat(&read), sys::fstat(&fd));
                match (a, b) {
                    (Ok(a), Ok(b)) if a.id == b.id => fd,
                    _ => return Err(Error::new(shown, ErrorKind::Replaced)),
                }
            }
            Err(e) => return Err(Error::io(shown, e)),
        };
        let meta = sys::fstat(&fd).map_err(|e| Error::io(shown, e))?;
        if meta.file_type != FileType::RegularFile {
            return Err(Error::new(shown, ErrorKind::NotAFile));
        }
        Ok(File::from(fd))
    }

    /// Renames `from` to `to` within this directory, failing with `EEXIST`
    /// if `to` exists (`RENAME_NOREPLACE`; where the flag is unsupported, a
    /// check then a plain rename).
    pub(crate) fn rename_noreplace(&self, from: &Path, to: &Path) -> rustix::io::Result<()> {
        #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
        match rustix::fs::renameat_with(
            &self.fd,
            from,
            &self.fd,
            to,
            rustix::fs::RenameFlags::NOREPLACE,
        ) {
            Err(e)
                if e == rustix::io::Errno::INVAL
                    || e == rustix::io::Errno::NOSYS
                    || e == rustix::io::Errno::OPNOTSUPP => {}
            other => return other,
        }
        match sys::lstat_at(&self.fd, to) {
            Ok(_) => Err(rustix::io::Errno::EXIST),
            Err(rustix::io::Errno::NOENT) => rustix::fs::renameat(&self.fd, from, &self.fd, to),
            Err(e) => Err(e),
        }
    }

    /// Flushes the directory itself (its list of entries) to stable storage.
    ///
    /// # Errors
    /// [`ErrorKind::Io`].
    pub fn sync(&self) -> Result<()> {
        sys::full_sync(&self.fd).map_err(|e| Error::io(&self.path, e))
    }
}

/// An empty path would resolve to the current directory (and the checks
/// would then tighten it to 0700): refused as [`ErrorKind::InvalidName`].
fn refuse_empty(path: &Path) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::new(path, ErrorKind::InvalidName));
    }
    Ok(())
}

/// Walks `path` from `/` one component at a time without following any
/// symlink, checking every ancestor ([`check_ancestor`]), and returns a
/// descriptor on the last directory (unchecked: the caller verifies it).
/// With `create`, missing components are created (0700) and each creation
/// is made durable by an fsync of its parent.
fn walk(path: &Path, create: bool) -> Result<OwnedFd> {
    let absolute;
    let path_abs = if path.is_absolute() {
        path
    } else {
        let cwd = std::env::current_dir().map_err(|e| Error::io(path, e))?;
        absolute = cwd.join(path);
        absolute.as_path()
    };
    let mut components: Vec<Component<'_>> = path_abs
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    if components.first() != Some(&Component::RootDir) {
        return Err(Error::new(path, ErrorKind::NotFound));
    }
    components.remove(0);
    let mut shown = PathBuf::from("/");
    let mut fd =
        sys::open_dir_at(rustix::fs::CWD, Path::new("/")).map_err(|e| Error::io("/", e))?;
    for component in components {
        // The directory we are in is an ancestor of what comes next.
        check_ancestor(&fd, &shown)?;
        let name: &std::ffi::OsStr = match component {
            Component::Normal(name) => name,
            Component::ParentDir => std::ffi::OsStr::new(".."),
            // Only the first component can be the root; prefixes are
            // Windows-only.
            Component::RootDir | Component::CurDir | Component::Prefix(_) => continue,
        };
        shown.push(name);
        let name = Path::new(name);
        let next = match sys::open_dir_at(&fd, name) {
            Ok(next) => next,
            Err(rustix::io::Errno::NOENT) if create && name != Path::new("..") => {
                match rustix::fs::mkdirat(&fd, name, sys::mode(DIR_MODE)) {
                    Ok(()) => {
                        // The new entry is durable only once its parent is.
                        sys::full_sync(&fd).map_err(|e| Error::io(&shown, e))?;
                    }
                    Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(Error::io(&shown, e)),
                }
                sys::open_dir_at(&fd, name)
                    .map_err(|e| classify_open_dir_error(&fd, name, &shown, e))?
            }
            Err(e) => return Err(classify_open_dir_error(&fd, name, &shown, e)),
        };
        fd = next;
    }
    Ok(fd)
}

/// An ancestor of a private directory must be owned by us or by root, and
/// not writable by group or others unless its sticky bit keeps them from
/// renaming or removing our entries (as on `/tmp`).
fn check_ancestor(fd: &OwnedFd, path: &Path) -> Result<()> {
    let meta = sys::fstat(fd).map_err(|e| Error::io(path, e))?;
    let me = sys::euid();
    if meta.uid != me && meta.uid != 0 {
        return Err(Error::new(
            path,
            ErrorKind::NotOwned {
                owner: meta.uid,
                expected: me,
            },
        ));
    }
    if meta.perm & 0o022 != 0 && meta.perm & 0o1000 == 0 {
        return Err(Error::new(
            path,
            ErrorKind::InsecureMode { mode: meta.perm },
        ));
    }
    Ok(())
}

/// Turns a failed `O_DIRECTORY | O_NOFOLLOW` open into the most useful
/// error: a symlink, not a directory, or the errno.
fn classify_open_dir_error(
    at: impl AsFd,
    name: &Path,
    shown: &Path,
    err: rustix::io::Errno,
) -> Error {
    if (sys::is_symlink_errno(err) || err == rustix::io::Errno::NOTDIR)
        && let Ok(meta) = sys::lstat_at(at, name)
    {
        if meta.file_type == FileType::Symlink {
            return Error::new(shown, ErrorKind::Symlink);
        }
        if meta.file_type != FileType::Directory {
            return Error::new(shown, ErrorKind::NotADirectory);
        }
    }
    Error::io(shown, err)
}
