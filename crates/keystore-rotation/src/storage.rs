//! The keystore's use of secure-fs: opening its directory, reading files
//! with a size cap, writing them.

use std::io::Read;
use std::path::Path;

use secure_fs::{Access, PrivateDir};
use zeroize::Zeroizing;

use crate::error::{Error, Format, Malformed, Result, StorageError};

/// Opens the keystore directory; a missing one is [`Error::NotFound`] of
/// the keystore file in it.
pub(crate) fn open_dir(path: &Path, file: &str) -> Result<PrivateDir> {
    PrivateDir::open(path).map_err(|e| match e.kind() {
        secure_fs::ErrorKind::NotFound => Error::NotFound {
            path: path.join(file),
        },
        _ => e.into(),
    })
}

/// Reads the regular file `name` of `dir`, refusing (without reading) a
/// file larger than `cap` bytes. The buffer is allocated once, at the
/// file's size, and zeroized when dropped: a read never leaves copies of
/// the content behind in freed memory, and a huge file cannot exhaust
/// memory.
///
/// # Errors
/// [`Error::Malformed`] with [`Malformed::TooLarge`] above `cap`, or
/// [`Malformed::ChangedWhileRead`] if the file grew while it was read;
/// [`Error::Storage`] for secure-fs refusals and I/O errors.
pub(crate) fn read_capped(
    dir: &PrivateDir,
    name: impl AsRef<Path>,
    cap: usize,
    format: Format,
) -> Result<Zeroizing<Vec<u8>>> {
    let name = name.as_ref();
    let mut file = dir.open_file(name, Access::Read)?;
    let io = |e: std::io::Error| Error::Storage(StorageError::io(dir.path().join(name), &e));
    let len = file.metadata().map_err(io)?.len();
    let len = usize::try_from(len)
        .ok()
        .filter(|&n| n <= cap)
        .ok_or(Error::malformed(format, Malformed::TooLarge))?;
    // One byte more than the size: a file that grew shows up as a full
    // buffer instead of a reallocation.
    let mut buf = Zeroizing::new(vec![0u8; len + 1]);
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    if filled != len {
        return Err(Error::malformed(format, Malformed::ChangedWhileRead));
    }
    buf.truncate(len);
    Ok(buf)
}
