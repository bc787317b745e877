//! Secure deletion: overwrite in place, then rename, truncate and unlink.

use std::fmt;
use std::os::unix::fs::FileExt;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rustix::fs::{AtFlags, OFlags};

use crate::dir::PrivateDir;
use crate::error::{Error, ErrorKind, Result};
use crate::sys;

/// How [`PrivateDir::secure_delete`] overwrites a file.
#[derive(Debug, Clone)]
pub struct DeleteOptions {
    pub(crate) passes: u32,
    pub(crate) chunk_size: usize,
    /// Whether the overwritten file is truncated before it is released.
    /// Always `true` outside this crate's unit tests, which turn it off to
    /// see what the overwrite passes left behind.
    pub(crate) truncate: bool,
}

impl Default for DeleteOptions {
    /// Three passes of random data, written in 1 MiB chunks.
    fn default() -> Self {
        DeleteOptions {
            passes: 3,
            chunk_size: 1 << 20,
            truncate: true,
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
    /// Linux tmpfs (memory; pages may have been swapped out).
    Tmpfs,
    /// Linux ext2/3/4.
    Ext4,
    /// XFS (in place, unless blocks are shared by reflink copies).
    Xfs,
    /// Apple HFS+.
    Hfs,
    /// NFS: the server's file system decides where writes land.
    Nfs,
    /// SMB/CIFS: the server's file system decides where writes land.
    Smb,
    /// FUSE, virtiofs included (both report the FUSE magic): a user-space
    /// server decides where writes land.
    Fuse,
    /// 9p (v9fs), as in virtual machines and WSL: the host decides.
    NineP,
    /// eCryptfs: a stacked file system whose lower files are rewritten.
    Ecryptfs,
    /// Anything else; the raw identifier (Linux `f_type` magic) is kept for
    /// messages, 0 where the platform gives none.
    Other(u64),
}

/// Whether overwriting a file in place can be relied on to reach the old
/// data's blocks, judged by the file system type alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overwrite {
    /// The file system rewrites a file's blocks in place (ext4, XFS, HFS+,
    /// tmpfs). Says nothing about SSD wear levelling, snapshots or backups.
    Reliable,
    /// Known not to: copy-on-write and log-structured file systems write
    /// new blocks, overlayfs keeps the lower layer's copy.
    Unreliable,
    /// Cannot be told: network and user-space file systems (NFS, SMB, FUSE,
    /// virtiofs, 9p), stacked ones (eCryptfs), and every file system this
    /// crate does not recognise.
    Unknown,
}

impl FileSystem {
    /// Whether overwriting in place reaches the old data on this file
    /// system: three states, never "reliable" by default.
    pub fn overwrite(self) -> Overwrite {
        match self {
            FileSystem::Btrfs
            | FileSystem::Zfs
            | FileSystem::Apfs
            | FileSystem::Bcachefs
            | FileSystem::F2fs
            | FileSystem::Nilfs
            | FileSystem::Overlay => Overwrite::Unreliable,
            FileSystem::Tmpfs | FileSystem::Ext4 | FileSystem::Xfs | FileSystem::Hfs => {
                Overwrite::Reliable
            }
            FileSystem::Nfs
            | FileSystem::Smb
            | FileSystem::Fuse
            | FileSystem::NineP
            | FileSystem::Ecryptfs
            | FileSystem::Other(_) => Overwrite::Unknown,
        }
    }

    /// Whether overwriting a file's blocks in place is known not to reach
    /// the old data on this file system (copy-on-write or log-structured
    /// designs write new blocks; overlayfs keeps the lower layer). `false`
    /// also for file systems whose behaviour is unknown: see
    /// [`FileSystem::overwrite`] for all three states.
    pub fn overwrite_unreliable(self) -> bool {
        self.overwrite() == Overwrite::Unreliable
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
            FileSystem::Nfs => "nfs",
            FileSystem::Smb => "smb/cifs",
            FileSystem::Fuse => "fuse (or virtiofs)",
            FileSystem::NineP => "9p",
            FileSystem::Ecryptfs => "ecryptfs",
            FileSystem::Other(id) => return write!(f, "file system 0x{id:x}"),
        };
        f.write_str(name)
    }
}

impl fmt::Display for Overwrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Overwrite::Reliable => "reliable",
            Overwrite::Unreliable => "unreliable",
            Overwrite::Unknown => "unknown",
        })
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
    /// Whether the overwrite reached the old data's blocks, as far as the
    /// file system type tells: reliable, unreliable or unknown.
    pub fn overwrite(&self) -> Overwrite {
        self.filesystem.overwrite()
    }

    /// Whether the overwrite can be relied on to have reached the old
    /// data's blocks, as far as the file system type tells: `true` only
    /// for [`Overwrite::Reliable`]. `false` on copy-on-write and
    /// log-structured file systems and where the file system is unknown
    /// (NFS, FUSE, 9p, ...). Even `true` says nothing about SSD wear
    /// levelling, snapshots or backups: see the crate README.
    pub fn overwrite_reliable(&self) -> bool {
        self.overwrite() == Overwrite::Reliable
    }
}

impl PrivateDir {
    /// Securely deletes the regular file `name`: overwrites its content
    /// with random data (`options.passes` times, streamed in fixed-size
    /// chunks, with an fsync after each pass), checks that the name still
    /// refers to the file it overwrote (device and inode), truncates it,
    /// renames it to a random hidden name, checks again, unlinks it, and
    /// syncs the directory.
    ///
    /// Refuses a symlink (the target is never touched). The report says
    /// whether the file system makes overwriting reliable, unreliable
    /// (copy-on-write) or unknown; the file is deleted all the same.
    ///
    /// # Errors
    /// [`crate::ErrorKind::NotFound`], [`crate::ErrorKind::Symlink`], [`crate::ErrorKind::NotAFile`],
    /// [`crate::ErrorKind::NotOwned`], [`crate::ErrorKind::InvalidName`],
    /// [`crate::ErrorKind::Reserved`], [`crate::ErrorKind::Io`], or
    /// [`crate::ErrorKind::Replaced`] if another file took the name while
    /// the old one was being overwritten: the old file was overwritten,
    /// the newcomer is left alone under the name (if it was found under
    /// the hidden name after the rename, it is put back; if the name was
    /// taken again meanwhile, it stays under the hidden name, which the
    /// error states, and the sweep never overwrites it). After an I/O
    /// error mid-way the file may be partly overwritten but still exists
    /// under its name or, after the rename step, overwritten and truncated
    /// under a hidden name that [`PrivateDir::remove_stale_temp_files`]
    /// removes.
    pub fn secure_delete(
        &self,
        name: impl AsRef<Path>,
        options: &DeleteOptions,
    ) -> Result<DeleteReport> {
        self.secure_delete_with(name.as_ref(), options, &mut || {}, &mut |_| {})
    }

    /// [`PrivateDir::secure_delete`], with hooks that run after the
    /// overwrite passes and after the rename to the hidden name (tests use
    /// them to replace the file meanwhile).
    fn secure_delete_with(
        &self,
        name: &Path,
        options: &DeleteOptions,
        after_overwrite: &mut dyn FnMut(),
        after_rename: &mut dyn FnMut(&Path),
    ) -> Result<DeleteReport> {
        let name = self.check_name(name)?;
        let path = self.child_path(name);
        let file = self.open_file_with(name, OFlags::WRONLY)?;
        let meta = sys::fstat(&file).map_err(|e| Error::io(&path, e))?;
        let filesystem = filesystem_of(&file).map_err(|e| Error::io(&path, e))?;
        let size = meta.size;

        overwrite(&file, size, options).map_err(|e| Error::io(&path, e))?;
        after_overwrite();

        // The name must still be the file we overwrote: a file that took
        // its place meanwhile is not ours to remove.
        match sys::lstat_at(self.fd(), name) {
            Ok(now) if now.id == meta.id => {}
            Ok(_) | Err(rustix::io::Errno::NOENT) => {
                return Err(Error::new(&path, ErrorKind::Replaced));
            }
            Err(e) => return Err(Error::io(&path, e)),
        }
        // Truncated before it is hidden: an entry under the hidden prefix
        // that holds data is then never ours, and the sweep leaves it alone.
        if options.truncate {
            rustix::fs::ftruncate(&file, 0).map_err(|e| Error::io(&path, e))?;
        }
        sys::full_sync(&file).map_err(|e| Error::io(&path, e))?;
        // Hide the old name before unlinking, so that the name (which may
        // itself be telling) is gone from the directory first.
        let hidden =
            sys::random_name(crate::dir::DELETE_PREFIX).map_err(|e| Error::io(&path, e))?;
        rustix::fs::renameat(self.fd(), name, self.fd(), hidden.as_str())
            .map_err(|e| Error::io(&path, e))?;
        after_rename(Path::new(&hidden));
        // Checked again after the rename, which is what counts: the check
        // before it leaves a window.
        match sys::lstat_at(self.fd(), Path::new(&hidden)) {
            Ok(moved) if moved.id == meta.id => {}
            Err(rustix::io::Errno::NOENT) => {
                return Err(Error::new(&path, ErrorKind::Replaced));
            }
            _ => {
                // Put the newcomer back where it was, if nothing else took
                // the name meanwhile; otherwise it stays under the hidden
                // name (never shredded by the sweep: it holds data) and the
                // error says where.
                return Err(match self.rename_noreplace(Path::new(&hidden), name) {
                    Ok(()) => Error::new(&path, ErrorKind::Replaced),
                    Err(e) => {
                        Error::replaced_and_hidden(&path, &self.child_path(Path::new(&hidden)), e)
                    }
                });
            }
        }
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

    /// The file system this directory lives on, and with it whether
    /// overwriting files in place can be relied on
    /// ([`FileSystem::overwrite`]).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Io`] if the platform cannot tell.
    pub fn filesystem(&self) -> Result<FileSystem> {
        filesystem_of(self.fd()).map_err(|e| Error::io(self.path(), e))
    }
}

/// Overwrites an open file's first `size` bytes `options.passes` times,
/// then truncates it and flushes it: what is left of it is an empty inode.
pub(crate) fn shred_contents(
    file: &std::fs::File,
    size: u64,
    options: &DeleteOptions,
) -> std::io::Result<()> {
    overwrite(file, size, options)?;
    if options.truncate {
        rustix::fs::ftruncate(file, 0)?;
    }
    sys::full_sync(file)?;
    Ok(())
}

/// Overwrites the first `size` bytes of `file` with fresh random data,
/// `options.passes` times, one chunk buffer at a time, syncing after each
/// pass. The keystream is ChaCha8 seeded with 256 bits straight from the
/// OS generator for this call alone (no state shared with a forked
/// process): unpredictable, and not compressible or deduplicable by the
/// storage layer. A failing generator is an error.
pub(crate) fn overwrite(
    file: &std::fs::File,
    size: u64,
    options: &DeleteOptions,
) -> std::io::Result<()> {
    if options.passes == 0 || size == 0 {
        return Ok(());
    }
    let chunk = options.chunk_size.max(4096);
    let mut buf = vec![0u8; chunk];
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    sys::fill_random(seed.as_mut_slice())?;
    let mut rng = rand::rngs::ChaCha8Rng::from_seed(*seed);
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
    Ok(filesystem_from_magic(magic))
}

/// Linux `statfs` `f_type` magic numbers (linux/magic.h and the file
/// systems' own sources) to file systems. Anything not listed is
/// `Other`, whose overwrite behaviour is unknown.
#[cfg(any(target_os = "linux", target_os = "android", test))]
pub(crate) fn filesystem_from_magic(magic: u64) -> FileSystem {
    match magic {
        0x9123_683e => FileSystem::Btrfs,
        0x2fc1_2fc1 => FileSystem::Zfs,
        0xca45_1a4e => FileSystem::Bcachefs,
        0xf2f5_2010 => FileSystem::F2fs,
        0x3434 => FileSystem::Nilfs,
        0x794c_7630 => FileSystem::Overlay,
        0x0102_1994 => FileSystem::Tmpfs,
        0xef53 => FileSystem::Ext4,
        0x5846_5342 => FileSystem::Xfs,
        0x6969 => FileSystem::Nfs,
        0x517b | 0xff53_4d42 | 0xfe53_4d42 => FileSystem::Smb,
        0x6573_5546 => FileSystem::Fuse,
        0x0102_1997 => FileSystem::NineP,
        0xf15f => FileSystem::Ecryptfs,
        other => FileSystem::Other(other),
    }
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

    /// Issue 10, items 10 and 11: every statfs magic this crate knows maps
    /// to its file system and to one of three states; network, user-space
    /// and stacked file systems and unrecognised magics are unknown, never
    /// reliable.
    #[test]
    fn statfs_magics_classify_into_three_states() {
        use Overwrite::{Reliable, Unknown, Unreliable};
        let table: &[(u64, FileSystem, Overwrite)] = &[
            (0xef53, FileSystem::Ext4, Reliable),
            (0x5846_5342, FileSystem::Xfs, Reliable),
            (0x0102_1994, FileSystem::Tmpfs, Reliable),
            (0x9123_683e, FileSystem::Btrfs, Unreliable),
            (0x2fc1_2fc1, FileSystem::Zfs, Unreliable),
            (0xca45_1a4e, FileSystem::Bcachefs, Unreliable),
            (0xf2f5_2010, FileSystem::F2fs, Unreliable),
            (0x3434, FileSystem::Nilfs, Unreliable),
            (0x794c_7630, FileSystem::Overlay, Unreliable),
            (0x6969, FileSystem::Nfs, Unknown),
            (0x517b, FileSystem::Smb, Unknown),
            (0xff53_4d42, FileSystem::Smb, Unknown),
            (0xfe53_4d42, FileSystem::Smb, Unknown),
            // FUSE; virtiofs reports the same magic.
            (0x6573_5546, FileSystem::Fuse, Unknown),
            (0x0102_1997, FileSystem::NineP, Unknown),
            (0xf15f, FileSystem::Ecryptfs, Unknown),
            // vfat, exfat, ntfs3, ceph, squashfs, and a made-up one.
            (0x4d44, FileSystem::Other(0x4d44), Unknown),
            (0x2011_bab0, FileSystem::Other(0x2011_bab0), Unknown),
            (0x7366_746e, FileSystem::Other(0x7366_746e), Unknown),
            (0x00c3_6400, FileSystem::Other(0x00c3_6400), Unknown),
            (0x7371_7368, FileSystem::Other(0x7371_7368), Unknown),
            (0x1234_5678, FileSystem::Other(0x1234_5678), Unknown),
        ];
        for &(magic, fs, state) in table {
            assert_eq!(filesystem_from_magic(magic), fs, "magic 0x{magic:x}");
            assert_eq!(fs.overwrite(), state, "{fs}");
            assert_eq!(fs.overwrite_unreliable(), state == Unreliable, "{fs}");
            let report = DeleteReport {
                passes: 1,
                bytes_per_pass: 0,
                filesystem: fs,
                other_links: 0,
            };
            assert_eq!(report.overwrite_reliable(), state == Reliable, "{fs}");
        }
        assert_eq!(FileSystem::Apfs.overwrite(), Unreliable);
        assert_eq!(FileSystem::Hfs.overwrite(), Reliable);
        assert_eq!(FileSystem::Other(0).overwrite(), Unknown);
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

    /// Issue 10, item 8: a file that takes the name while the old one is
    /// being overwritten is left alone under the name, neither unlinked nor
    /// overwritten; the old file was overwritten; the call says so.
    #[test]
    fn a_file_replaced_during_the_overwrite_is_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let dir = PrivateDir::open(tmp.path()).unwrap();
        let old: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        dir.write_atomic("victim", &old).unwrap();
        std::fs::hard_link(tmp.path().join("victim"), tmp.path().join("old-link")).unwrap();
        let mut options = DeleteOptions::new().passes(1);
        options.truncate = false;
        let err = dir
            .secure_delete_with(
                Path::new("victim"),
                &options,
                &mut || {
                    std::fs::write(tmp.path().join("newcomer"), b"someone else's").unwrap();
                    std::fs::rename(tmp.path().join("newcomer"), tmp.path().join("victim"))
                        .unwrap();
                },
                &mut |_| {},
            )
            .unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::Replaced, "{err}");
        assert!(err.to_string().contains("left alone"), "{err}");
        assert_eq!(dir.read("victim").unwrap(), b"someone else's");
        let through_link = std::fs::read(tmp.path().join("old-link")).unwrap();
        assert_eq!(through_link.len(), old.len());
        assert_ne!(through_link, old, "the old file was overwritten");
        assert_eq!(dir.entries().unwrap(), vec!["old-link", "victim"]);
    }

    /// With truncation turned off, what secure_delete leaves in the inode
    /// (seen through a second hard link) is overwritten data, not the
    /// original: the overwrite reached the file, not just the truncation
    /// (issue 10, item 11: the integration test cannot see this).
    #[test]
    fn secure_delete_overwrites_the_file_it_deletes() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let dir = PrivateDir::open(tmp.path()).unwrap();
        let old: Vec<u8> = (0..3 * 4096 + 10u32).map(|i| (i % 251) as u8).collect();
        dir.write_atomic("secret", &old).unwrap();
        std::fs::hard_link(tmp.path().join("secret"), tmp.path().join("link")).unwrap();
        let mut options = DeleteOptions::new().passes(2).chunk_size(4096);
        options.truncate = false;
        let report = dir.secure_delete("secret", &options).unwrap();
        assert_eq!(report.passes, 2);
        let now = std::fs::read(tmp.path().join("link")).unwrap();
        assert_eq!(now.len(), old.len());
        for (i, (a, b)) in now.chunks(64).zip(old.chunks(64)).enumerate() {
            assert_ne!(a, b, "block {i} still holds the original");
        }
        assert_eq!(dir.entries().unwrap(), vec!["link"]);
    }

    #[test]
    fn chunk_size_has_a_floor() {
        assert_eq!(DeleteOptions::new().chunk_size(1).chunk_size, 4096);
        assert_eq!(DeleteOptions::new().passes, 3);
    }

    fn private_tmp() -> (tempfile::TempDir, PrivateDir) {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let dir = PrivateDir::open(tmp.path()).unwrap();
        (tmp, dir)
    }

    /// Review finding 5: a file that takes the hidden name right after the
    /// rename (so the rename moved ours, and ours was then replaced there)
    /// is caught by the check after the rename: put back under the name,
    /// never unlinked.
    #[test]
    fn a_file_swapped_in_at_the_hidden_name_is_put_back() {
        let (tmp, dir) = private_tmp();
        dir.write_atomic("victim", b"old secret").unwrap();
        let base = tmp.path().to_path_buf();
        let err = dir
            .secure_delete_with(
                Path::new("victim"),
                &DeleteOptions::new().passes(1),
                &mut || {},
                &mut |hidden| {
                    std::fs::write(base.join("newcomer"), b"someone else's").unwrap();
                    std::fs::rename(base.join("newcomer"), base.join(hidden)).unwrap();
                },
            )
            .unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::Replaced, "{err}");
        assert_eq!(dir.read("victim").unwrap(), b"someone else's");
        assert_eq!(dir.entries().unwrap(), vec!["victim"]);
    }

    /// Review finding 10: when the newcomer cannot be put back (the name
    /// was taken again), the error says where it is, and the sweep never
    /// shreds it: it holds data, so it is not a file secure delete hid.
    #[test]
    fn a_newcomer_that_cannot_be_put_back_is_reported_and_never_shredded() {
        let (tmp, dir) = private_tmp();
        dir.write_atomic("victim", b"old secret").unwrap();
        let base = tmp.path().to_path_buf();
        let err = dir
            .secure_delete_with(
                Path::new("victim"),
                &DeleteOptions::new().passes(1),
                &mut || {},
                &mut |hidden| {
                    std::fs::write(base.join("newcomer"), b"someone else's").unwrap();
                    std::fs::rename(base.join("newcomer"), base.join(hidden)).unwrap();
                    std::fs::write(base.join("victim"), b"a third file").unwrap();
                },
            )
            .unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::Replaced, "{err}");
        let shown = err.to_string();
        assert!(shown.contains("could not be put back"), "{shown}");
        let hidden: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".secure-fs-")
            })
            .collect();
        assert_eq!(hidden.len(), 1);
        assert!(shown.contains(&*hidden[0].to_string_lossy()), "{shown}");
        assert_eq!(dir.read("victim").unwrap(), b"a third file");
        let _lock = dir.lock().unwrap();
        let report = dir.sweep_stale_temp_files().unwrap();
        assert_eq!(report.removed, 0);
        assert_eq!(report.left.len(), 1, "{report:?}");
        assert_eq!(std::fs::read(&hidden[0]).unwrap(), b"someone else's");
    }
}
