//! Secure deletion: overwrite in place, then rename, truncate and unlink.

use std::fmt;
use std::os::unix::fs::FileExt;
use std::path::Path;

use rand::Rng;
use rustix::fs::{AtFlags, OFlags};

use crate::dir::{PrivateDir, TEMP_PREFIX};
use crate::error::{Error, Result};
use crate::sys;

/// How [`PrivateDir::secure_delete`] overwrites a file.
#[derive(Debug, Clone)]
pub struct DeleteOptions {
    passes: u32,
    chunk_size: usize,
}

impl Default for DeleteOptions {
    /// Three passes of random data, written in 1 MiB chunks.
    fn default() -> Self {
        DeleteOptions {
            passes: 3,
            chunk_size: 1 << 20,
        }
    }
}

impl DeleteOptions {
    /// Options with the defaults (3 passes, 1 MiB chunks).
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of overwrite passes of random data (0 skips overwriting and
    /// only renames, truncates and unlinks).
    #[must_use]
    pub fn passes(mut self, passes: u32) -> Self {
        self.passes = passes;
        self
    }

    /// Size of each write (at least 4 KiB; memory use is one chunk, whatever
    /// the file size).
    #[must_use]
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(4096);
        self
    }
}

/// The kind of file system a file lives on, as far as the platform tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileSystem {
    /// Linux btrfs (copy-on-write).
    Btrfs,
    /// ZFS (copy-on-write).
    Zfs,
    /// Apple APFS (copy-on-write).
    Apfs,
    /// Linux bcachefs (copy-on-write).
    Bcachefs,
    /// Linux F2FS (log-structured: writes go to new blocks).
    F2fs,
    /// Linux NILFS2 (log-structured).
    Nilfs,
    /// Linux overlayfs: a file from a lower layer keeps its original there.
    Overlay,
    /// Linux tmpfs (memory; may be swapped).
    Tmpfs,
    /// Linux ext2/3/4.
    Ext4,
    /// XFS (in place, unless blocks are shared by reflink copies).
    Xfs,
    /// Apple HFS+.
    Hfs,
    /// Anything else; the raw identifier is kept for messages.
    Other(u64),
}

impl FileSystem {
    /// Whether overwriting a file's blocks in place is known not to reach
    /// the old data on this file system (copy-on-write or log-structured
    /// designs write new blocks; overlayfs keeps the lower layer).
    pub fn overwrite_unreliable(self) -> bool {
        matches!(
            self,
            FileSystem::Btrfs
                | FileSystem::Zfs
                | FileSystem::Apfs
                | FileSystem::Bcachefs
                | FileSystem::F2fs
                | FileSystem::Nilfs
                | FileSystem::Overlay
        )
    }
}

impl fmt::Display for FileSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            FileSystem::Btrfs => "btrfs",
            FileSystem::Zfs => "zfs",
            FileSystem::Apfs => "apfs",
            FileSystem::Bcachefs => "bcachefs",
            FileSystem::F2fs => "f2fs",
            FileSystem::Nilfs => "nilfs2",
            FileSystem::Overlay => "overlayfs",
            FileSystem::Tmpfs => "tmpfs",
            FileSystem::Ext4 => "ext2/3/4",
            FileSystem::Xfs => "xfs",
            FileSystem::Hfs => "hfs+",
            FileSystem::Other(id) => return write!(f, "file system 0x{id:x}"),
        };
        f.write_str(name)
    }
}

/// What [`PrivateDir::secure_delete`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct DeleteReport {
    /// Overwrite passes completed.
    pub passes: u32,
    /// The file's size, overwritten once per pass.
    pub bytes_per_pass: u64,
    /// The file system the file was on.
    pub filesystem: FileSystem,
    /// Other hard links to the same data that still exist (they now show
    /// an empty file; the overwritten blocks are gone from them too).
    pub other_links: u64,
}

impl DeleteReport {
    /// Whether the overwrite can be relied on to have reached the old
    /// data's blocks, as far as the file system type tells. `false` on
    /// copy-on-write and log-structured file systems. Even `true` says
    /// nothing about SSD wear levelling, snapshots or backups: see the
    /// crate README.
    pub fn overwrite_reliable(&self) -> bool {
        !self.filesystem.overwrite_unreliable()
    }
}

impl PrivateDir {
    /// Securely deletes the regular file `name`: overwrites its content
    /// with random data (`options.passes` times, streamed in fixed-size
    /// chunks, with an fsync after each pass), renames it to a random name,
    /// truncates it, unlinks it, and syncs the directory.
    ///
    /// Refuses a symlink (the target is never touched). The report says
    /// when the file system makes overwriting unreliable (copy-on-write);
    /// the file is deleted all the same.
    ///
    /// # Errors
    /// [`crate::ErrorKind::NotFound`], [`crate::ErrorKind::Symlink`], [`crate::ErrorKind::NotAFile`],
    /// [`crate::ErrorKind::NotOwned`], [`crate::ErrorKind::InvalidName`] or
    /// [`crate::ErrorKind::Io`]. After an I/O error mid-way the file may be
    /// partly overwritten but still exists under its name or, after the
    /// rename step, under a temporary name that
    /// [`PrivateDir::remove_stale_temp_files`] removes.
    pub fn secure_delete(
        &self,
        name: impl AsRef<Path>,
        options: &DeleteOptions,
    ) -> Result<DeleteReport> {
        let name = self.check_name(name.as_ref())?;
        let path = self.child_path(name);
        let file = self.open_file_with(name, OFlags::WRONLY)?;
        let meta = sys::fstat(&file).map_err(|e| Error::io(&path, e))?;
        let filesystem = filesystem_of(&file).map_err(|e| Error::io(&path, e))?;
        let size = meta.size;

        overwrite(&file, size, options).map_err(|e| Error::io(&path, e))?;

        // Hide the old name before the metadata steps, so that the name
        // (which may itself be telling) is gone from the directory first.
        let suffix: [u8; 16] = rand::random();
        let hidden = format!("{TEMP_PREFIX}{}", data_encoding::HEXLOWER.encode(&suffix));
        rustix::fs::renameat(self.fd(), name, self.fd(), hidden.as_str())
            .map_err(|e| Error::io(&path, e))?;
        rustix::fs::ftruncate(&file, 0).map_err(|e| Error::io(&path, e))?;
        sys::full_sync(&file).map_err(|e| Error::io(&path, e))?;
        drop(file);
        rustix::fs::unlinkat(self.fd(), hidden.as_str(), AtFlags::empty())
            .map_err(|e| Error::io(&path, e))?;
        self.sync()?;

        Ok(DeleteReport {
            passes: options.passes,
            bytes_per_pass: size,
            filesystem,
            other_links: meta.nlink.saturating_sub(1),
        })
    }
}

/// Overwrites the first `size` bytes of `file` with fresh random data,
/// `options.passes` times, one chunk buffer at a time, syncing after each
/// pass. The keystream is ChaCha8 seeded from the OS: unpredictable, and
/// not compressible or deduplicable by the storage layer.
fn overwrite(file: &std::fs::File, size: u64, options: &DeleteOptions) -> std::io::Result<()> {
    let chunk = options.chunk_size.max(4096);
    let mut buf = vec![0u8; chunk];
    let mut rng: rand::rngs::ChaCha8Rng = rand::make_rng();
    for _ in 0..options.passes {
        let mut offset = 0u64;
        while offset < size {
            let len = usize::try_from((size - offset).min(chunk as u64)).unwrap_or(chunk);
            let part = &mut buf[..len];
            rng.fill_bytes(part);
            file.write_all_at(part, offset)?;
            offset += len as u64;
        }
        sys::data_sync(file)?;
    }
    Ok(())
}

/// The file system of an open file.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn filesystem_of(fd: impl std::os::fd::AsFd) -> rustix::io::Result<FileSystem> {
    let st = rustix::fs::fstatfs(fd)?;
    // f_type is a signed word on some targets; magic numbers are 32-bit.
    #[allow(
        clippy::cast_sign_loss,
        clippy::useless_conversion,
        clippy::cast_possible_truncation
    )]
    let magic = (st.f_type as u64) & 0xffff_ffff;
    Ok(match magic {
        0x9123_683e => FileSystem::Btrfs,
        0x2fc1_2fc1 => FileSystem::Zfs,
        0xca45_1a4e => FileSystem::Bcachefs,
        0xf2f5_2010 => FileSystem::F2fs,
        0x3434 => FileSystem::Nilfs,
        0x794c_7630 => FileSystem::Overlay,
        0x0102_1994 => FileSystem::Tmpfs,
        0xef53 => FileSystem::Ext4,
        0x5846_5342 => FileSystem::Xfs,
        other => FileSystem::Other(other),
    })
}

/// The file system of an open file.
#[cfg(target_vendor = "apple")]
pub(crate) fn filesystem_of(fd: impl std::os::fd::AsFd) -> rustix::io::Result<FileSystem> {
    let st = rustix::fs::fstatfs(fd)?;
    // f_fstypename is a NUL-terminated C string of c_char (i8 on Intel,
    // u8 on Apple silicon); the casts reinterpret bytes.
    #[allow(clippy::cast_sign_loss, clippy::unnecessary_cast)]
    let name: Vec<u8> = st
        .f_fstypename
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Ok(match name.as_slice() {
        b"apfs" => FileSystem::Apfs,
        b"zfs" => FileSystem::Zfs,
        b"hfs" => FileSystem::Hfs,
        _ => FileSystem::Other(0),
    })
}

/// The file system of an open file (unknown on this platform).
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
pub(crate) fn filesystem_of(_fd: impl std::os::fd::AsFd) -> rustix::io::Result<FileSystem> {
    Ok(FileSystem::Other(0))
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cow_and_log_structured_file_systems_are_flagged() {
        for fs in [
            FileSystem::Btrfs,
            FileSystem::Zfs,
            FileSystem::Apfs,
            FileSystem::Overlay,
        ] {
            assert!(fs.overwrite_unreliable(), "{fs}");
        }
        for fs in [
            FileSystem::Ext4,
            FileSystem::Xfs,
            FileSystem::Tmpfs,
            FileSystem::Other(1),
        ] {
            assert!(!fs.overwrite_unreliable(), "{fs}");
        }
    }

    #[test]
    fn every_block_is_overwritten_by_every_pass() {
        use std::os::unix::fs::FileExt;
        let tmp = tempfile::tempfile().unwrap();
        let size = 5 * 4096 + 100; // a partial final chunk
        let original: Vec<u8> = (0..size).map(|i| (i % 7) as u8).collect();
        tmp.write_all_at(&original, 0).unwrap();
        let mut previous = original.clone();
        for _ in 0..2 {
            overwrite(
                &tmp,
                size as u64,
                &DeleteOptions::new().passes(1).chunk_size(4096),
            )
            .unwrap();
            let mut now = vec![0u8; size];
            tmp.read_exact_at(&mut now, 0).unwrap();
            for (block, (a, b)) in now.chunks(64).zip(previous.chunks(64)).enumerate() {
                assert_ne!(a, b, "64-byte block {block} kept its bytes");
            }
            for (block, (a, b)) in now.chunks(64).zip(original.chunks(64)).enumerate() {
                assert_ne!(a, b, "64-byte block {block} still holds the original");
            }
            previous = now;
        }
        assert_eq!(tmp.metadata().unwrap().len(), size as u64, "size unchanged");
    }

    #[test]
    fn chunk_size_has_a_floor() {
        assert_eq!(DeleteOptions::new().chunk_size(1).chunk_size, 4096);
        assert_eq!(DeleteOptions::new().passes, 3);
    }
}
