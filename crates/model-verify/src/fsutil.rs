//! Opening and listing a model directory without following symbolic links.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::Error;

/// An open model directory.
pub(crate) struct ModelDir {
    fd: OwnedFd,
    path: PathBuf,
}

/// What the walk found at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Found {
    File,
    Symlink,
    Other,
}

impl ModelDir {
    /// Opens the model directory itself (a symlink *to* the directory is the
    /// caller's choice and is followed; links inside it are not).
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io(path, e.into()))?;
        Ok(Self {
            fd,
            path: path.to_owned(),
        })
    }

    /// Opens `rel` (a checked relative path) for reading, refusing a symlink
    /// at any component and anything but a regular file.
    pub(crate) fn open_file(&self, rel: &str) -> Result<File, Error> {
        let mut components = rel.split('/').peekable();
        let mut dir: Option<OwnedFd> = None;
        while let Some(c) = components.next() {
            let base = dir.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
            let last = components.peek().is_none();
            let flags = OFlags::RDONLY
                | OFlags::NOFOLLOW
                | OFlags::CLOEXEC
                | if last {
                    // Never block on a FIFO: the type is checked below.
                    OFlags::NONBLOCK | OFlags::NOCTTY
                } else {
                    OFlags::DIRECTORY
                };
            let fd = match rustix::fs::openat(base, c, flags, Mode::empty()) {
                Ok(fd) => fd,
                // O_NOFOLLOW on a link gives ELOOP, or ENOTDIR together
                // with O_DIRECTORY: look at what is there to say which.
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let is_link = rustix::fs::statat(base, c, AtFlags::SYMLINK_NOFOLLOW)
                        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink);
                    return Err(if is_link {
                        Error::Symlink {
                            path: rel.to_owned(),
                        }
                    } else {
                        Error::NotRegularFile {
                            path: rel.to_owned(),
                        }
                    });
                }
                Err(Errno::NOENT) => {
                    return Err(Error::MissingFile {
                        path: rel.to_owned(),
                    });
                }
                Err(e) => return Err(Error::io(self.path.join(rel), e.into())),
            };
            if last {
                let st =
                    rustix::fs::fstat(&fd).map_err(|e| Error::io(self.path.join(rel), e.into()))?;
                if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                    return Err(Error::NotRegularFile {
                        path: rel.to_owned(),
                    });
                }
                // Reads go through `read_at`; O_NONBLOCK has no effect on
                // regular files.
                return Ok(File::from(fd));
            }
            dir = Some(fd);
        }
        Err(Error::UnsafePath {
            path: rel.to_owned(),
        })
    }

    /// Lists every entry under the directory, recursively, without following
    /// links. Every directory is entered, whatever its name: ignore rules
    /// apply to regular files only, so no directory is a hiding place.
    pub(crate) fn walk(&self) -> Result<Vec<(String, Found)>, Error> {
        let mut out = Vec::new();
        self.walk_into(&self.fd, "", &mut out, 0)?;
        Ok(out)
    }

    fn walk_into(
        &self,
        dirfd: &OwnedFd,
        prefix: &str,
        out: &mut Vec<(String, Found)>,
        depth: usize,
    ) -> Result<(), Error> {
        const MAX_DEPTH: usize = 64;
        let at = |rel: &str| self.path.join(rel);
        if depth > MAX_DEPTH {
            return Err(Error::UnsafePath {
                path: format!("{prefix} (directories nested more than {MAX_DEPTH} deep)"),
            });
        }
        let dir = Dir::read_from(dirfd).map_err(|e| Error::io(at(prefix), e.into()))?;
        for entry in dir {
            let entry = entry.map_err(|e| Error::io(at(prefix), e.into()))?;
            let name_bytes = entry.file_name().to_bytes();
            if name_bytes == b"." || name_bytes == b".." {
                continue;
            }
            let Ok(name) = std::str::from_utf8(name_bytes) else {
                return Err(Error::UnsafePath {
                    path: format!("{prefix}{}", String::from_utf8_lossy(name_bytes)),
                });
            };
            let rel = format!("{prefix}{name}");
            let mut kind = entry.file_type();
            if kind == FileType::Unknown {
                let st = rustix::fs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| Error::io(at(&rel), e.into()))?;
                kind = FileType::from_raw_mode(st.st_mode);
            }
            match kind {
                FileType::Directory => {
                    let sub = rustix::fs::openat(
                        dirfd,
                        name,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(|e| match e {
                        Errno::LOOP | Errno::NOTDIR => Error::Symlink { path: rel.clone() },
                        e => Error::io(at(&rel), e.into()),
                    })?;
                    self.walk_into(&sub, &format!("{rel}/"), out, depth + 1)?;
                }
                FileType::RegularFile => out.push((rel, Found::File)),
                FileType::Symlink => out.push((rel, Found::Symlink)),
                _ => out.push((rel, Found::Other)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The open-time check on its own (the walk checks links too): a link
    /// as the file or as any parent directory is refused by `O_NOFOLLOW`,
    /// even if it appeared after the listing.
    #[test]
    fn open_file_refuses_links_at_every_component() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::fs::write(dir.path().join("real/a.json"), "{}").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink("a.json", dir.path().join("real/b.json")).unwrap();
        let root = ModelDir::open(dir.path()).unwrap();
        assert!(root.open_file("real/a.json").is_ok());
        assert!(matches!(
            root.open_file("link/a.json"),
            Err(Error::Symlink { .. })
        ));
        assert!(matches!(
            root.open_file("real/b.json"),
            Err(Error::Symlink { .. })
        ));
        assert!(matches!(
            root.open_file("real/none"),
            Err(Error::MissingFile { .. })
        ));
        assert!(matches!(
            root.open_file("real"),
            Err(Error::NotRegularFile { .. })
        ));
        assert!(matches!(
            root.open_file("real/a.json/x"),
            Err(Error::NotRegularFile { .. })
        ));
    }
}
