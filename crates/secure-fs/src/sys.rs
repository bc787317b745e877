//! Thin, portable helpers over rustix: the few facts we read from `stat`,
//! flags for no-follow opens, and full syncs.

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// The facts secure-fs needs from a `stat` result, in fixed-width types on
/// every platform.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub(crate) file_type: FileType,
    /// Permission bits including setuid/setgid/sticky (`mode & 0o7777`).
    pub(crate) perm: u32,
    pub(crate) uid: u32,
    pub(crate) nlink: u64,
    pub(crate) size: u64,
    /// Which file this is: device and inode number.
    pub(crate) id: FileId,
}

/// A file's identity on this machine: the device it lives on and its inode
/// number. Two descriptors or names refer to the same file exactly when
/// their `FileId`s are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

// `From` conversions are identities on some platforms and widenings on
// others (st_mode is u16 on macOS, st_nlink u16 there and u32/u64 on Linux;
// st_dev is i32 on macOS, reinterpreted bit for bit).
#[allow(
    clippy::useless_conversion,
    clippy::cast_sign_loss,
    clippy::unnecessary_cast
)]
fn meta_from(st: &rustix::fs::Stat) -> Meta {
    let raw_mode = u32::from(st.st_mode);
    Meta {
        file_type: FileType::from_raw_mode(st.st_mode),
        perm: raw_mode & 0o7777,
        uid: st.st_uid,
        nlink: u64::from(st.st_nlink),
        // A negative size never comes from a real file system.
        size: st.st_size.max(0) as u64,
        id: FileId {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        },
    }
}

/// `fstat` of an open descriptor.
pub(crate) fn fstat(fd: impl AsFd) -> rustix::io::Result<Meta> {
    rustix::fs::fstat(fd).map(|st| meta_from(&st))
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: the entry itself, never what a
/// symlink points to.
pub(crate) fn lstat_at(dir: impl AsFd, name: &std::path::Path) -> rustix::io::Result<Meta> {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).map(|st| meta_from(&st))
}

/// A fresh name for a temporary entry: the temp prefix and 128 bits from
/// the operating system's generator, hex-encoded. A failing generator is an
/// error, never a panic, and never a fallback to a weaker source.
pub(crate) fn random_temp_name() -> std::io::Result<String> {
    random_name(crate::dir::TEMP_PREFIX)
}

/// A fresh name with `prefix` and 128 bits from the OS generator.
pub(crate) fn random_name(prefix: &str) -> std::io::Result<String> {
    let mut suffix = [0u8; 16];
    fill_random(&mut suffix)?;
    Ok(format!(
        "{prefix}{}",
        data_encoding::HEXLOWER.encode(&suffix)
    ))
}

/// Fills `buf` straight from the operating system's generator
/// (`getrandom`): no user-space state that a `fork` or a VM snapshot could
/// duplicate.
pub(crate) fn fill_random(buf: &mut [u8]) -> std::io::Result<()> {
    getrandom::fill(buf).map_err(|e| match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::other(format!("the OS random generator failed: {e}")),
    })
}

/// Our effective user id.
pub(crate) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Flags every open uses: close-on-exec, and never follow a symlink in the
/// last component.
pub(crate) fn base_flags() -> OFlags {
    OFlags::CLOEXEC | OFlags::NOFOLLOW
}

/// Opens a directory relative to `dir` (or by absolute path with
/// `rustix::fs::CWD`) without following a final symlink.
pub(crate) fn open_dir_at(dir: impl AsFd, name: &std::path::Path) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        base_flags() | OFlags::DIRECTORY | OFlags::RDONLY,
        Mode::empty(),
    )
}

/// Flushes a descriptor to stable storage. On macOS, plain `fsync` only
/// reaches the drive's cache, so `F_FULLFSYNC` is used.
pub(crate) fn full_sync(fd: impl AsFd) -> rustix::io::Result<()> {
    #[cfg(target_vendor = "apple")]
    {
        rustix::fs::fcntl_fullfsync(fd)
    }
    #[cfg(not(target_vendor = "apple"))]
    {
        rustix::fs::fsync(fd)
    }
}

/// Flushes file data (and the metadata needed to read it back).
pub(crate) fn data_sync(fd: impl AsFd) -> rustix::io::Result<()> {
    #[cfg(target_vendor = "apple")]
    {
        rustix::fs::fcntl_fullfsync(fd)
    }
    #[cfg(not(target_vendor = "apple"))]
    {
        rustix::fs::fdatasync(fd)
    }
}

/// Atomically exchanges the entries `a` and `b` of the directory `dir`
/// (`renameat2(RENAME_EXCHANGE)` on Linux, `renameatx_np(RENAME_SWAP)` on
/// macOS). Elsewhere it fails with `ENOSYS`, and callers fall back.
pub(crate) fn rename_exchange(
    dir: impl AsFd,
    a: &std::path::Path,
    b: &std::path::Path,
) -> rustix::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    {
        rustix::fs::renameat_with(&dir, a, &dir, b, rustix::fs::RenameFlags::EXCHANGE)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    {
        let _ = (dir, a, b);
        Err(Errno::NOSYS)
    }
}

/// Whether an errno says "this was a symlink" for an `O_NOFOLLOW` open.
/// Linux returns `ELOOP`; FreeBSD returns `EMLINK`; macOS `ELOOP`.
pub(crate) fn is_symlink_errno(e: Errno) -> bool {
    e == Errno::LOOP || e == Errno::MLINK
}

/// Permission bits as rustix's `Mode` (`mode_t` is u16 on macOS and u32 on
/// Linux; permission bits fit either).
// The cast is a no-op on Linux and a lossless narrowing of 12 bits on macOS.
#[allow(clippy::cast_possible_truncation, clippy::unnecessary_cast)]
pub(crate) fn mode(bits: u32) -> Mode {
    Mode::from_bits_truncate((bits & 0o7777) as rustix::fs::RawMode)
}
