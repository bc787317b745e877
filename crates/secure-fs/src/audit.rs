//! Permission audit and repair over a directory tree.

use std::fmt;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::dir::PrivateDir;
use crate::error::{Error, Result};
use crate::sys;

/// Deepest directory nesting the walk descends into; deeper trees are
/// reported, not walked (each level holds a descriptor).
const MAX_DEPTH: usize = 64;

/// A problem found by [`PrivateDir::audit`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Not the exact private mode: 0700 for a directory, 0600 for a
    /// regular file (a 0700 file, a 0600 or 0500 directory, group or other
    /// access, a setuid/setgid/sticky bit are all findings). `expected` is
    /// the mode repair sets.
    Mode {
        /// The permission bits found.
        actual: u32,
        /// The permission bits a repair would set.
        expected: u32,
    },
    /// Owned by another user. Repair does not change owners.
    Owner {
        /// The owner's user id.
        uid: u32,
        /// Our effective user id.
        expected: u32,
    },
    /// Not a regular file or directory (a symlink, FIFO, socket or device).
    /// Repair leaves it alone and never follows it.
    Type(EntryType),
    /// The entry could not be inspected or repaired (for example a
    /// directory without the owner's search permission, or one nested
    /// deeper than the walk goes).
    Unreadable(String),
}

/// Kind of a non-regular entry, for [`Problem::Type`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryType {
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A block or character device.
    Device,
    /// Anything else the platform reports.
    Unknown,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Mode { actual, expected } => {
                write!(f, "mode {actual:04o}, expected {expected:04o}")
            }
            Problem::Owner { uid, expected } => {
                write!(f, "owned by uid {uid}, expected {expected}")
            }
            Problem::Type(t) => write!(f, "unexpected entry type: {t:?}"),
            Problem::Unreadable(why) => write!(f, "cannot inspect: {why}"),
        }
    }
}

/// One entry with one problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The entry's path (the audited directory's path joined with the
    /// relative path).
    pub path: PathBuf,
    /// What is wrong.
    pub problem: Problem,
}

/// The result of [`PrivateDir::audit`]: every entry with a wrong type,
/// owner or mode, in walk order (parents before children).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct AuditReport {
    /// All findings; empty when the tree is private.
    pub findings: Vec<Finding>,
    /// Entries inspected, the root included.
    pub entries: u64,
}

impl AuditReport {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// A mode change made by [`PrivateDir::repair`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeChange {
    /// The entry changed.
    pub path: PathBuf,
    /// Its permission bits before.
    pub from: u32,
    /// Its permission bits after.
    pub to: u32,
}

/// The result of [`PrivateDir::repair`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct RepairReport {
    /// Every mode changed.
    pub changed: Vec<ModeChange>,
    /// Problems repair does not fix (owners, types) or could not fix.
    pub remaining: Vec<Finding>,
}

fn entry_type(t: FileType) -> EntryType {
    match t {
        FileType::Symlink => EntryType::Symlink,
        FileType::Fifo => EntryType::Fifo,
        FileType::Socket => EntryType::Socket,
        FileType::BlockDevice | FileType::CharacterDevice => EntryType::Device,
        _ => EntryType::Unknown,
    }
}

impl PrivateDir {
    /// Walks the tree under this directory (never following symlinks) and
    /// reports every entry whose type, owner or mode is wrong: only
    /// directories and regular files owned by us, with exactly mode 0700
    /// (directories) or 0600 (files).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Io`] if the root itself cannot be read; problems
    /// deeper down are findings.
    pub fn audit(&self) -> Result<AuditReport> {
        let mut report = AuditReport::default();
        walk(
            self,
            false,
            &mut |f| report.findings.push(f),
            &mut |_| {},
            &mut report.entries,
        )?;
        Ok(report)
    }

    /// Like [`PrivateDir::audit`], and fixes every wrong mode by setting
    /// the exact private mode (0700 for directories, 0600 for files). Never follows a symlink (each entry is
    /// opened with `O_NOFOLLOW` and re-checked on the descriptor before its
    /// mode is changed), never changes an owner or removes an entry.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Io`] if the root itself cannot be read.
    pub fn repair(&self) -> Result<RepairReport> {
        let mut report = RepairReport::default();
        let mut entries = 0;
        walk(
            self,
            true,
            &mut |f| report.remaining.push(f),
            &mut |c| report.changed.push(c),
            &mut entries,
        )?;
        Ok(report)
    }
}

/// The exact mode of a private entry: [`crate::DIR_MODE`] for a
/// directory, [`crate::FILE_MODE`] for anything else (only regular files
/// get this far).
fn private_mode(is_dir: bool) -> u32 {
    if is_dir {
        crate::dir::DIR_MODE
    } else {
        crate::dir::FILE_MODE
    }
}

struct Walker<'a> {
    repair: bool,
    me: u32,
    finding: &'a mut dyn FnMut(Finding),
    changed: &'a mut dyn FnMut(ModeChange),
    entries: &'a mut u64,
}

fn walk(
    root: &PrivateDir,
    repair: bool,
    finding: &mut dyn FnMut(Finding),
    changed: &mut dyn FnMut(ModeChange),
    entries: &mut u64,
) -> Result<()> {
    let mut w = Walker {
        repair,
        me: sys::euid(),
        finding,
        changed,
        entries,
    };
    let fd = sys::open_dir_at(root.fd(), Path::new(".")).map_err(|e| Error::io(root.path(), e))?;
    *w.entries += 1;
    let meta = sys::fstat(&fd).map_err(|e| Error::io(root.path(), e))?;
    w.check_mode(&fd, root.path(), meta.perm, private_mode(true));
    w.dir(&fd, root.path(), 0);
    Ok(())
}

impl Walker<'_> {
    fn report(&mut self, path: &Path, problem: Problem) {
        (self.finding)(Finding {
            path: path.to_path_buf(),
            problem,
        });
    }

    /// Reports (or, repairing, fixes) the mode of an entry whose open
    /// descriptor we hold.
    fn check_mode(&mut self, fd: &OwnedFd, path: &Path, perm: u32, expected: u32) {
        if perm == expected {
            return;
        }
        if !self.repair {
            self.report(
                path,
                Problem::Mode {
                    actual: perm,
                    expected,
                },
            );
            return;
        }
        match rustix::fs::fchmod(fd, sys::mode(expected)) {
            Ok(()) => (self.changed)(ModeChange {
                path: path.to_path_buf(),
                from: perm,
                to: expected,
            }),
            Err(e) => self.report(path, Problem::Unreadable(format!("chmod failed: {e}"))),
        }
    }

    fn dir(&mut self, dir: &OwnedFd, path: &Path, depth: usize) {
        let mut listing = match rustix::fs::Dir::read_from(dir) {
            Ok(d) => d,
            Err(e) => return self.report(path, Problem::Unreadable(format!("cannot list: {e}"))),
        };
        while let Some(entry) = listing.read() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    return self.report(path, Problem::Unreadable(format!("cannot list: {e}")));
                }
            };
            let name = entry.file_name();
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            let child = path.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
            *self.entries += 1;
            self.entry(dir, name, &child, depth);
        }
    }

    fn entry(&mut self, dir: &OwnedFd, name: &std::ffi::CStr, path: &Path, depth: usize) {
        let meta = match sys::lstat_at(dir, Path::new(std::ffi::OsStr::from_bytes(name.to_bytes())))
        {
            Ok(m) => m,
            Err(Errno::NOENT) => return, // removed while we walked
            Err(e) => return self.report(path, Problem::Unreadable(e.to_string())),
        };
        let is_dir = meta.file_type == FileType::Directory;
        if !is_dir && meta.file_type != FileType::RegularFile {
            return self.report(path, Problem::Type(entry_type(meta.file_type)));
        }
        if meta.uid != self.me {
            // Not ours: report and do not descend or touch it.
            return self.report(
                path,
                Problem::Owner {
                    uid: meta.uid,
                    expected: self.me,
                },
            );
        }
        let expected = private_mode(is_dir);
        let needs_fix = meta.perm != expected;
        if !is_dir && !needs_fix {
            return;
        }
        // Open the entry itself, never through a symlink, and confirm on the
        // descriptor that it is still what lstat said.
        let flags = sys::base_flags()
            | OFlags::NONBLOCK
            | if is_dir {
                OFlags::DIRECTORY | OFlags::RDONLY
            } else {
                OFlags::RDONLY
            };
        let fd = match rustix::fs::openat(dir, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) => {
                if needs_fix && !self.repair {
                    self.report(
                        path,
                        Problem::Mode {
                            actual: meta.perm,
                            expected,
                        },
                    );
                }
                let what = if is_dir {
                    "cannot open directory"
                } else {
                    "cannot open file"
                };
                return self.report(path, Problem::Unreadable(format!("{what}: {e}")));
            }
        };
        let now = match sys::fstat(&fd) {
            Ok(m) => m,
            Err(e) => return self.report(path, Problem::Unreadable(e.to_string())),
        };
        if now.file_type != meta.file_type || now.uid != self.me {
            return self.report(
                path,
                Problem::Unreadable("changed while being inspected".into()),
            );
        }
        self.check_mode(&fd, path, now.perm, expected);
        if is_dir {
            if depth + 1 >= MAX_DEPTH {
                return self.report(
                    path,
                    Problem::Unreadable(format!(
                        "nested deeper than {MAX_DEPTH} levels; not walked"
                    )),
                );
            }
            self.dir(&fd, path, depth + 1);
        }
    }
}
