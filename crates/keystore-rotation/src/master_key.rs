//! [`MasterKey`]: a random key in a 0600 file instead of a passphrase.

use std::fmt;
use std::path::Path;

use secure_fs::PrivateDir;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Check, Error, Format, Invalid, Malformed, Result};
use crate::secret::KeyBytes;
use crate::storage::read_capped;

/// A random 256-bit master key for unattended services: the keystore is
/// unlocked by this key (kept in a 0600 file) instead of a passphrase.
///
/// Zeroized on drop; `Debug` prints no bytes; not `Clone`.
///
/// The master key file is 74 bytes: the magic `KRMASTER`, a big-endian
/// `u16` version (1), the 32 key bytes, and the SHA-256 of the 42 bytes
/// before it (see FORMAT.md).
pub struct MasterKey(KeyBytes);

const MASTER_MAGIC: &[u8; 8] = b"KRMASTER";
const MASTER_VERSION: u16 = 1;
const MASTER_FILE_LEN: usize = 8 + 2 + 32 + 32;
const FORMAT: Format = Format::MasterKeyFile;

impl MasterKey {
    /// A fresh random master key, straight from the operating system's
    /// generator.
    ///
    /// # Errors
    /// [`Error::Random`] if the generator fails.
    pub fn generate() -> Result<MasterKey> {
        KeyBytes::random().map(MasterKey)
    }

    /// Writes this key to a new file at `path` (mode 0600, durably, through
    /// secure-fs). The parent directory must be a private directory (0700,
    /// ours, not a symlink).
    ///
    /// The file appears whole or not at all: the key is written to a
    /// temporary file, flushed, and given its name by a rename that
    /// refuses to replace anything (secure-fs
    /// [`PrivateDir::write_new_atomic`]), then the directory is flushed. Of
    /// two concurrent calls for the same path exactly one succeeds and the
    /// other gets [`Error::AlreadyExists`], so a key in use is never
    /// replaced; and a crash during the write never leaves a short or
    /// empty key file under `path` that would block a later init.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] if something is at `path` already;
    /// [`Error::InvalidArgument`] if `path` has no file name;
    /// [`Error::Storage`] for file-system refusals and I/O errors (nothing
    /// is then left under `path`).
    pub fn write_new_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let (dir, name) = split_path(path)?;
        let dir = PrivateDir::open(dir)?;
        let mut bytes = Zeroizing::new([0u8; MASTER_FILE_LEN]);
        bytes[..8].copy_from_slice(MASTER_MAGIC);
        bytes[8..10].copy_from_slice(&MASTER_VERSION.to_be_bytes());
        bytes[10..42].copy_from_slice(self.0.expose());
        let sum = Sha256::digest(&bytes[..42]);
        bytes[42..].copy_from_slice(&sum);
        dir.write_new_atomic(name, &bytes[..])
            .map_err(|e| match e.kind() {
                secure_fs::ErrorKind::AlreadyExists => Error::AlreadyExists {
                    path: path.to_path_buf(),
                },
                _ => e.into(),
            })
    }

    /// Reads a master key file written by [`MasterKey::write_new_file`].
    ///
    /// Through secure-fs: the file must be a regular file we own (not a
    /// symlink), and its directory a private one. A file longer than a
    /// master key file is refused without being read.
    ///
    /// # Errors
    /// [`Error::Storage`] (missing file, symlink, wrong owner, I/O);
    /// [`Error::Malformed`] or [`Error::UnsupportedVersion`] if the file is
    /// not a master key file; [`Error::Tampered`] if its checksum fails.
    pub fn read_file(path: impl AsRef<Path>) -> Result<MasterKey> {
        let path = path.as_ref();
        let (dir, name) = split_path(path)?;
        let dir = PrivateDir::open(dir)?;
        let bytes = read_capped(&dir, name, MASTER_FILE_LEN, FORMAT)?;
        Self::decode(&bytes, path)
    }

    /// [`Self::decode`] for the fuzzing hooks (`crate::fuzz`).
    #[cfg(any(fuzzing, test))]
    pub(crate) fn decode_for_fuzzing(bytes: &[u8]) -> Result<MasterKey> {
        Self::decode(bytes, Path::new("fuzz"))
    }

    fn decode(bytes: &[u8], path: &Path) -> Result<MasterKey> {
        crate::file::check_magic_and_version(bytes, MASTER_MAGIC, MASTER_VERSION, FORMAT)?;
        if bytes.len() != MASTER_FILE_LEN {
            return Err(Error::malformed(FORMAT, Malformed::WrongLength));
        }
        let sum = Sha256::digest(&bytes[..42]);
        if !bool::from(sum.as_slice().ct_eq(&bytes[42..])) {
            return Err(Error::tampered(path, Check::Checksum));
        }
        KeyBytes::from_slice(&bytes[10..42])
            .map(MasterKey)
            .ok_or(Error::malformed(FORMAT, Malformed::WrongLength))
    }

    pub(crate) fn bytes(&self) -> &KeyBytes {
        &self.0
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").finish_non_exhaustive()
    }
}

impl ConstantTimeEq for MasterKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.expose().ct_eq(other.0.expose())
    }
}

fn split_path(path: &Path) -> Result<(&Path, &std::ffi::OsStr)> {
    let name = path
        .file_name()
        .ok_or(Error::invalid(Invalid::NoFileName))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_prints_no_bytes() {
        let m = MasterKey(KeyBytes::from_slice(&[0xAB; 32]).unwrap());
        let s = format!("{m:?}");
        assert!(!s.to_lowercase().contains("ab"), "{s}");
        assert!(!s.contains("171"), "{s}");
    }
}
