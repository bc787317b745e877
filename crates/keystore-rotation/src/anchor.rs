//! Rollback anchors: the generation and header hash of a keystore, kept
//! where the keystore's own files are not.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use secure_fs::PrivateDir;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Format, Malformed, Result};
use crate::storage::read_capped;

/// What a [`RollbackAnchor`] remembers about one keystore: its id, the
/// latest generation seen, and the hash of that generation's header (the
/// keystore id, the KDF block and the KEK wrap: everything that decides
/// whether a credential unlocks the file).
///
/// Nothing in it is secret. [`Anchor::to_bytes`] and [`Anchor::from_bytes`]
/// give a fixed 98-byte encoding (see FORMAT.md) for anchors kept in a
/// database, a server or a hardware counter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    keystore_id: [u8; 16],
    generation: u64,
    header_hash: [u8; 32],
}

const MAGIC: &[u8; 8] = b"KRANCHOR";
const VERSION: u16 = 1;
/// Length of [`Anchor::to_bytes`].
pub const ANCHOR_LEN: usize = 8 + 2 + 16 + 8 + 32 + 32;
const FORMAT: Format = Format::AnchorFile;

impl Anchor {
    pub(crate) fn new(keystore_id: [u8; 16], generation: u64, header_hash: [u8; 32]) -> Anchor {
        Anchor {
            keystore_id,
            generation,
            header_hash,
        }
    }

    /// The keystore's random id.
    pub fn keystore_id(&self) -> [u8; 16] {
        self.keystore_id
    }

    /// The latest generation of the keystore file seen.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// SHA-256 of that generation's header (see FORMAT.md).
    pub fn header_hash(&self) -> [u8; 32] {
        self.header_hash
    }

    /// The 98-byte encoding: magic `KRANCHOR`, version (u16, 1), keystore
    /// id, generation (u64), header hash, SHA-256 of everything before it.
    pub fn to_bytes(&self) -> [u8; ANCHOR_LEN] {
        let mut b = [0u8; ANCHOR_LEN];
        b[..8].copy_from_slice(MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_be_bytes());
        b[10..26].copy_from_slice(&self.keystore_id);
        b[26..34].copy_from_slice(&self.generation.to_be_bytes());
        b[34..66].copy_from_slice(&self.header_hash);
        let sum = Sha256::digest(&b[..66]);
        b[66..].copy_from_slice(&sum);
        b
    }

    /// Parses [`Anchor::to_bytes`].
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::UnsupportedVersion`], or
    /// [`Error::Tampered`] when the checksum fails.
    pub fn from_bytes(bytes: &[u8]) -> Result<Anchor> {
        crate::file::check_magic_and_version(bytes, MAGIC, VERSION, FORMAT)?;
        if bytes.len() != ANCHOR_LEN {
            return Err(Error::malformed(FORMAT, Malformed::WrongLength));
        }
        let sum = Sha256::digest(&bytes[..66]);
        if !bool::from(sum.as_slice().ct_eq(&bytes[66..])) {
            return Err(Error::tampered(
                Path::new("rollback anchor"),
                crate::Check::Checksum,
            ));
        }
        let mut a = Anchor {
            keystore_id: [0; 16],
            generation: 0,
            header_hash: [0; 32],
        };
        a.keystore_id.copy_from_slice(&bytes[10..26]);
        a.generation = u64::from_be_bytes(bytes[26..34].try_into().unwrap_or([0xff; 8]));
        a.header_hash.copy_from_slice(&bytes[34..66]);
        Ok(a)
    }
}

impl fmt::Debug for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = data_encoding::HEXLOWER.encode(&self.keystore_id);
        f.debug_struct("Anchor")
            .field("keystore_id", &hex)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// Somewhere outside the keystore's directory that remembers the latest
/// [`Anchor`] of a keystore, so that an older copy of the keystore files
/// (its backup included) put back in place is refused as
/// [`Error::RolledBack`].
///
/// An anchor is only as good as its storage: whoever can roll the anchor
/// back together with the keystore defeats it. Keep it on another
/// device, in a database with its own history, on a server, or at least
/// in another directory than the keystore (which is refused,
/// [`crate::Invalid::AnchorInsideKeystore`], when [`Self::location`] says
/// so). [`FileAnchor`] is the file-based implementation.
///
/// The keystore calls [`Self::store`] after each write of its files and
/// after an open that finds a newer generation than the anchor's (a crash
/// between the two is not a rollback: the keystore is then one generation
/// ahead of its anchor).
pub trait RollbackAnchor: Send + Sync + fmt::Debug {
    /// The anchor stored, or `None` if nothing was stored yet (the first
    /// open then trusts the keystore it finds and stores its anchor).
    ///
    /// # Errors
    /// Any I/O error; the open then fails with [`Error::Anchor`].
    fn load(&self) -> io::Result<Option<Anchor>>;

    /// Stores `anchor`, durably, replacing the previous one.
    ///
    /// # Errors
    /// Any I/O error; reported as [`Error::Anchor`].
    fn store(&self, anchor: &Anchor) -> io::Result<()>;

    /// The file-system path the anchor lives at, if it has one; the
    /// keystore refuses an anchor inside its own directory.
    fn location(&self) -> Option<&Path> {
        None
    }
}

/// A [`RollbackAnchor`] in a file (98 bytes, FORMAT.md), written
/// atomically and durably through secure-fs: its directory must be a
/// private directory (0700, ours), and must not be the keystore's.
#[derive(Debug, Clone)]
pub struct FileAnchor {
    path: PathBuf,
}

impl FileAnchor {
    /// An anchor kept in the file at `path` (created at the first store).
    pub fn new(path: impl Into<PathBuf>) -> FileAnchor {
        FileAnchor { path: path.into() }
    }

    fn split(&self) -> io::Result<(PrivateDir, &str)> {
        let name = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "anchor path has no file name")
            })?;
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = PrivateDir::open(dir).map_err(io::Error::other)?;
        Ok((dir, name))
    }
}

impl RollbackAnchor for FileAnchor {
    fn load(&self) -> io::Result<Option<Anchor>> {
        let (dir, name) = self.split()?;
        if !dir.exists(name).map_err(io::Error::other)? {
            return Ok(None);
        }
        let bytes = read_capped(&dir, name, ANCHOR_LEN, FORMAT).map_err(io::Error::other)?;
        Anchor::from_bytes(&bytes)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    fn store(&self, anchor: &Anchor) -> io::Result<()> {
        let (dir, name) = self.split()?;
        dir.write_atomic(name, &anchor.to_bytes())
            .map_err(io::Error::other)
    }

    fn location(&self) -> Option<&Path> {
        Some(&self.path)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bytes_round_trip_and_edits_are_refused() {
        let a = Anchor::new([7; 16], 42, [9; 32]);
        let b = a.to_bytes();
        assert_eq!(Anchor::from_bytes(&b).unwrap(), a);
        for i in 0..b.len() {
            let mut e = b;
            e[i] ^= 0x10;
            assert!(Anchor::from_bytes(&e).is_err(), "edit of byte {i}");
        }
        assert!(Anchor::from_bytes(&b[..97]).is_err());
    }

    #[test]
    fn file_anchor_stores_and_loads() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = PrivateDir::create(tmp.path().join("anchors")).unwrap();
        let f = FileAnchor::new(dir.path().join("ks.anchor"));
        assert_eq!(f.load().unwrap(), None);
        let a = Anchor::new([1; 16], 3, [2; 32]);
        f.store(&a).unwrap();
        assert_eq!(f.load().unwrap(), Some(a));
    }
}
