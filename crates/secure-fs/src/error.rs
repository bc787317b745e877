//! The one error type of this crate.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An error from a secure-fs operation: what went wrong, and on which path.
///
/// Match on [`Error::kind`] to react to a specific problem; the `Display`
/// text always names the path.
#[derive(Debug)]
pub struct Error {
    path: PathBuf,
    kind: ErrorKind,
    source: Option<io::Error>,
}

/// What went wrong. New kinds may be added in minor releases.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The path does not exist.
    NotFound,
    /// The path already exists and the operation needs it not to.
    AlreadyExists,
    /// The path is a symbolic link; secure-fs never follows one.
    Symlink,
    /// A directory was expected, something else is there.
    NotADirectory,
    /// A regular file was expected, something else is there (a directory,
    /// a FIFO, a socket, a device).
    NotAFile,
    /// The path is owned by another user.
    NotOwned {
        /// The owner's user id.
        owner: u32,
        /// Our effective user id.
        expected: u32,
    },
    /// A private directory is writable by its group or by others, so
    /// someone else may already have planted entries in it. Tightening it
    /// silently would hide that; fix it deliberately (for example with
    /// [`crate::PrivateDir::repair`] after inspecting it).
    InsecureMode {
        /// The permission bits found.
        mode: u32,
    },
    /// A name given to a [`crate::PrivateDir`] method is not a single plain
    /// file name (empty, `.`, `..`, contains `/` or NUL).
    InvalidName,
    /// A name given to a [`crate::PrivateDir`] method is reserved for
    /// secure-fs itself: the lock file `.lock`, or a name starting with the
    /// temporary-file prefixes `.secure-fs-tmp.` and `.secure-fs-del.`,
    /// compared ignoring ASCII case (as a case-insensitive file system
    /// compares them).
    Reserved,
    /// Another file took the name while the operation ran (it was replaced
    /// or renamed concurrently); that file was left alone.
    Replaced,
    /// Another process holds the directory's writer lock.
    Locked {
        /// The holder's process id, when it recorded one.
        pid: Option<u32>,
    },
    /// Any other I/O failure; the underlying error is the `source()`.
    Io,
}

impl Error {
    pub(crate) fn new(path: impl Into<PathBuf>, kind: ErrorKind) -> Self {
        Error {
            path: path.into(),
            kind,
            source: None,
        }
    }

    /// Wraps an I/O error, mapping the errno values that callers want to
    /// match on (not found, exists, symlink via `ELOOP`, not a directory) to
    /// their own kinds.
    pub(crate) fn io(path: impl Into<PathBuf>, err: impl Into<io::Error>) -> Self {
        let err = err.into();
        let kind = match err.raw_os_error() {
            Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => ErrorKind::Symlink,
            Some(code) if code == rustix::io::Errno::NOTDIR.raw_os_error() => {
                ErrorKind::NotADirectory
            }
            _ => match err.kind() {
                io::ErrorKind::NotFound => ErrorKind::NotFound,
                io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
                _ => ErrorKind::Io,
            },
        };
        Error {
            path: path.into(),
            kind,
            source: Some(err),
        }
    }

    /// [`ErrorKind::Replaced`] where the file that took the name could not
    /// be put back: it is left under `hidden`, and the message says so.
    pub(crate) fn replaced_and_hidden(
        path: impl Into<PathBuf>,
        hidden: &Path,
        err: impl Into<io::Error>,
    ) -> Self {
        let err: io::Error = err.into();
        Error {
            path: path.into(),
            kind: ErrorKind::Replaced,
            source: Some(io::Error::new(
                err.kind(),
                format!(
                    "it could not be put back ({err}) and is left under {}",
                    hidden.display()
                ),
            )),
        }
    }

    /// The path the operation was working on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            ErrorKind::NotFound => write!(f, "{path}: does not exist"),
            ErrorKind::AlreadyExists => write!(f, "{path}: already exists"),
            ErrorKind::Symlink => write!(f, "{path}: is a symbolic link, refusing to follow it"),
            ErrorKind::NotADirectory => write!(f, "{path}: is not a directory"),
            ErrorKind::NotAFile => write!(f, "{path}: is not a regular file"),
            ErrorKind::NotOwned { owner, expected } => {
                write!(
                    f,
                    "{path}: owned by uid {owner}, not by us (uid {expected})"
                )
            }
            ErrorKind::InsecureMode { mode } => write!(
                f,
                "{path}: mode {mode:04o} lets group or others write; refusing to use it as a private directory"
            ),
            ErrorKind::InvalidName => {
                write!(
                    f,
                    "{path}: not a plain file name (empty, `.`, `..`, `/` or NUL)"
                )
            }
            ErrorKind::Reserved => write!(
                f,
                "{path}: name reserved for secure-fs (the lock file or a temporary file)"
            ),
            ErrorKind::Replaced => {
                write!(
                    f,
                    "{path}: replaced by another file while the operation ran; that file was left alone"
                )?;
                match &self.source {
                    Some(e) => write!(f, ", but {e}"),
                    None => Ok(()),
                }
            }
            ErrorKind::Locked { pid: Some(pid) } => {
                write!(f, "{path}: locked by another writer (process {pid})")
            }
            ErrorKind::Locked { pid: None } => write!(f, "{path}: locked by another writer"),
            ErrorKind::Io => match &self.source {
                Some(e) => write!(f, "{path}: {e}"),
                None => write!(f, "{path}: I/O error"),
            },
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        let kind = match err.kind {
            ErrorKind::NotFound => io::ErrorKind::NotFound,
            ErrorKind::AlreadyExists => io::ErrorKind::AlreadyExists,
            ErrorKind::NotADirectory => io::ErrorKind::NotADirectory,
            ErrorKind::InvalidName | ErrorKind::Reserved => io::ErrorKind::InvalidInput,
            ErrorKind::Replaced => io::ErrorKind::Other,
            ErrorKind::NotOwned { .. } | ErrorKind::InsecureMode { .. } | ErrorKind::Symlink => {
                io::ErrorKind::PermissionDenied
            }
            ErrorKind::Locked { .. } => io::ErrorKind::WouldBlock,
            ErrorKind::NotAFile | ErrorKind::Io => err
                .source
                .as_ref()
                .map_or(io::ErrorKind::Other, io::Error::kind),
        };
        io::Error::new(kind, err)
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
