//! Types that hold key material: zeroized on drop, never printed, not
//! `Clone`, compared in constant time.

use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// 32 secret bytes on the heap (so moves do not leave copies behind),
/// zeroized on drop.
pub(crate) struct KeyBytes(Box<[u8; 32]>);

impl KeyBytes {
    /// Fresh bytes from the operating system's CSPRNG.
    pub(crate) fn random() -> Self {
        let mut k = Self::zero();
        fill_random(&mut k.0[..]);
        k
    }

    pub(crate) fn zero() -> Self {
        KeyBytes(Box::new([0u8; 32]))
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut k = Self::zero();
        if bytes.len() != 32 {
            return None;
        }
        k.0.copy_from_slice(bytes);
        Some(k)
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn expose_mut(&mut self) -> &mut [u8; 32] {
        &mut self.0
    }
}

impl Drop for KeyBytes {
    #[inline(never)]
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyBytes(<redacted>)")
    }
}

/// Fills `buf` from the operating system's CSPRNG (through `rand`'s
/// OS-seeded thread generator, which reseeds from the OS).
pub(crate) fn fill_random(buf: &mut [u8]) {
    rand::fill(buf);
}

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
const MASTER_FORMAT: &str = "master key file";

impl MasterKey {
    /// A fresh random master key.
    pub fn generate() -> MasterKey {
        MasterKey(KeyBytes::random())
    }

    /// Writes this key to a new file at `path` (mode 0600, atomically,
    /// through secure-fs). The parent directory must be a private directory
    /// (0700, ours, not a symlink).
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] if something is at `path` already;
    /// [`Error::InvalidArgument`] if `path` has no file name;
    /// [`Error::Fs`] for file-system refusals and I/O errors.
    pub fn write_new_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let (dir, name) = split_path(path.as_ref())?;
        let dir = secure_fs::PrivateDir::open(dir)?;
        if dir.exists(name)? {
            return Err(Error::AlreadyExists {
                path: path.as_ref().to_path_buf(),
            });
        }
        let mut bytes = Vec::with_capacity(MASTER_FILE_LEN);
        bytes.extend_from_slice(MASTER_MAGIC);
        bytes.extend_from_slice(&MASTER_VERSION.to_be_bytes());
        bytes.extend_from_slice(self.0.expose());
        let sum = Sha256::digest(&bytes);
        bytes.extend_from_slice(&sum);
        let res = dir.write_atomic(name, &bytes);
        bytes.zeroize();
        res.map_err(Error::from)
    }

    /// Reads a master key file written by [`MasterKey::write_new_file`].
    ///
    /// Through secure-fs: the file must be a regular file we own (not a
    /// symlink), and its directory a private one (ours, not writable by
    /// others; a directory merely readable by others is tightened to 0700).
    ///
    /// # Errors
    /// [`Error::Fs`] (missing file, symlink, wrong owner, I/O);
    /// [`Error::Malformed`] or [`Error::UnsupportedVersion`] if the file is
    /// not a master key file; [`Error::Tampered`] if its checksum fails.
    pub fn read_file(path: impl AsRef<Path>) -> Result<MasterKey> {
        let path = path.as_ref();
        let (dir, name) = split_path(path)?;
        let dir = secure_fs::PrivateDir::open(dir)?;
        let mut bytes = dir.read(name)?;
        let res = Self::decode(&bytes, path);
        bytes.zeroize();
        res
    }

    fn decode(bytes: &[u8], path: &Path) -> Result<MasterKey> {
        if bytes.len() < 10 || &bytes[..8] != MASTER_MAGIC {
            return Err(Error::Malformed {
                format: MASTER_FORMAT,
                reason: "bad magic",
            });
        }
        let version = u16::from_be_bytes([bytes[8], bytes[9]]);
        if version != MASTER_VERSION {
            return Err(Error::UnsupportedVersion {
                format: MASTER_FORMAT,
                version,
            });
        }
        if bytes.len() != MASTER_FILE_LEN {
            return Err(Error::Malformed {
                format: MASTER_FORMAT,
                reason: "wrong length",
            });
        }
        let sum = Sha256::digest(&bytes[..42]);
        if !bool::from(sum.as_slice().ct_eq(&bytes[42..])) {
            return Err(Error::Tampered {
                path: path.to_path_buf(),
                check: "checksum",
            });
        }
        KeyBytes::from_slice(&bytes[10..42])
            .map(MasterKey)
            .ok_or(Error::Malformed {
                format: MASTER_FORMAT,
                reason: "wrong length",
            })
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
    let name = path.file_name().ok_or(Error::InvalidArgument {
        reason: "master key path has no file name",
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

/// A 256-bit key derived from one key version for one purpose (HKDF-SHA256
/// with a caller-chosen label), for example the audit log's encryption or
/// MAC key, or the key of private file names.
///
/// Zeroized on drop; `Debug` prints no bytes; not `Clone`.
pub struct Subkey {
    id: crate::KeyId,
    key: KeyBytes,
}

impl Subkey {
    pub(crate) fn new(id: crate::KeyId, key: KeyBytes) -> Self {
        Subkey { id, key }
    }

    /// The key version this sub-key was derived from (store it beside what
    /// the sub-key protects, to derive the same sub-key after rotation).
    pub fn key_id(&self) -> crate::KeyId {
        self.id
    }

    /// The key bytes. Hand them straight to the primitive that needs them;
    /// do not copy them into long-lived buffers.
    pub fn expose_secret(&self) -> &[u8; 32] {
        self.key.expose()
    }
}

impl fmt::Debug for Subkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subkey")
            .field("key_id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ConstantTimeEq for Subkey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.key.expose().ct_eq(other.key.expose()) & u32::from(self.id).ct_eq(&u32::from(other.id))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_prints_no_bytes() {
        let k = KeyBytes::from_slice(&[0xAB; 32]).unwrap();
        let m = MasterKey(KeyBytes::from_slice(&[0xAB; 32]).unwrap());
        for s in [format!("{k:?}"), format!("{m:?}")] {
            assert!(!s.to_lowercase().contains("ab"), "{s}");
            assert!(!s.contains("171"), "{s}");
        }
    }

    #[test]
    fn random_keys_differ() {
        assert_ne!(KeyBytes::random().expose(), KeyBytes::random().expose());
    }
}
