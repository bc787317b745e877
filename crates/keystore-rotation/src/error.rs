//! The one error type of this crate, and the small enums its variants carry.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::KeyId;

/// Everything that can go wrong. New variants may be added in minor
/// releases.
///
/// Authentication failures of envelopes are deliberately opaque: a single
/// [`Error::DecryptionFailed`] that never says which check failed. No
/// variant ever carries key bytes, plaintext or a passphrase.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation failed or was refused (symlink, wrong owner,
    /// insecure mode, the lock held by another process, I/O). See
    /// [`StorageError::kind`].
    Storage(StorageError),
    /// There is no keystore in this directory.
    NotFound {
        /// The keystore file that was looked for.
        path: PathBuf,
    },
    /// Something is already where a new keystore or master key file was to
    /// be created.
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The passphrase (or master key) does not unlock this keystore, and no
    /// evidence says the file was edited. FORMAT.md lists the edits that
    /// can only ever look like this.
    WrongCredential,
    /// The keystore file failed an integrity check: it was edited,
    /// truncated or corrupted. [`Check`] says which check caught it.
    Tampered {
        /// The file.
        path: PathBuf,
        /// Which check failed.
        check: Check,
    },
    /// The keystore file is older than the generation the caller knows
    /// about (its rollback anchor, or [`crate::Options::expect_generation`]):
    /// an old copy was put back.
    RolledBack {
        /// The generation found in the file.
        found: u64,
        /// The generation expected at least.
        expected: u64,
    },
    /// A format version this build does not know (a newer writer, or not
    /// our file at all).
    UnsupportedVersion {
        /// Which format.
        format: Format,
        /// The version number found.
        version: u16,
    },
    /// Bytes that are not a well-formed envelope, keystore file, master key
    /// file or anchor file.
    Malformed {
        /// Which format.
        format: Format,
        /// What is wrong.
        reason: Malformed,
    },
    /// An envelope did not authenticate: wrong context, edited header or
    /// ciphertext, truncated, or encrypted by another keystore.
    DecryptionFailed,
    /// The envelope names a key version this keystore never had.
    UnknownKey {
        /// The key id in the envelope.
        id: KeyId,
    },
    /// The envelope needs a key version that was destroyed; its data cannot
    /// be recovered.
    KeyDestroyed {
        /// The destroyed version.
        id: KeyId,
    },
    /// The envelope's key version is below the keystore's minimum
    /// decryption version.
    KeyRetired {
        /// The key version of the envelope.
        id: KeyId,
        /// The current minimum decryption version.
        min: KeyId,
    },
    /// An argument was refused.
    InvalidArgument {
        /// What was wrong.
        reason: Invalid,
    },
    /// The operating system's random number generator failed. Nothing was
    /// written.
    Random(RandomError),
    /// The rollback anchor could not be read or written (see
    /// [`crate::RollbackAnchor`]). When this comes from a write, the change
    /// itself is on disk; the anchor is brought up to date by the next
    /// successful open or write.
    Anchor(io::Error),
}

/// Which integrity check of a keystore file failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// Shorter than the smallest keystore file.
    Length,
    /// The SHA-256 checksum at the end (accidental corruption, or an edit
    /// that did not recompute it).
    Checksum,
    /// KDF parameters above the caps (checked before any KDF runs).
    KdfParameters,
    /// A KDF weaker than the caller's floor ([`crate::Options::kdf_floor`]),
    /// refused before any KDF runs.
    KdfBelowFloor,
    /// The structure: version records, ids, states, lengths.
    Structure,
    /// The HMAC over the whole file, keyed by the key-encryption key.
    Mac,
    /// A data key's wrap.
    KeyWrap,
    /// The credential opens the backup but not the keystore file, and the
    /// keystore file's header (keystore id, KDF, salt or KEK wrap) differs
    /// from the backup's without being a newer generation.
    HeaderMismatch,
    /// The header differs from the one the rollback anchor pinned for this
    /// generation, or the keystore id is not the anchored one.
    AnchorMismatch,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Check::Length => "length",
            Check::Checksum => "checksum",
            Check::KdfParameters => "KDF parameter caps",
            Check::KdfBelowFloor => "KDF floor",
            Check::Structure => "structure",
            Check::Mac => "MAC",
            Check::KeyWrap => "key wrap",
            Check::HeaderMismatch => "header against the backup",
            Check::AnchorMismatch => "header against the rollback anchor",
        })
    }
}

/// A byte format of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// An envelope made by [`crate::Keystore::encrypt`].
    Envelope,
    /// The keystore file or its backup.
    KeystoreFile,
    /// A master key file ([`crate::MasterKey`]).
    MasterKeyFile,
    /// A rollback anchor file ([`crate::FileAnchor`]).
    AnchorFile,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Envelope => "envelope",
            Format::KeystoreFile => "keystore file",
            Format::MasterKeyFile => "master key file",
            Format::AnchorFile => "rollback anchor file",
        })
    }
}

/// Why bytes are not a well-formed instance of their [`Format`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Malformed {
    /// The magic bytes are not this format's.
    BadMagic,
    /// Shorter than the format needs.
    Truncated,
    /// Not the fixed length of the format.
    WrongLength,
    /// An algorithm byte this build does not know.
    UnknownAlgorithm,
    /// Larger than any file of this format can be; not read.
    TooLarge,
    /// The file changed size while it was read.
    ChangedWhileRead,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Malformed::BadMagic => "bad magic",
            Malformed::Truncated => "truncated",
            Malformed::WrongLength => "wrong length",
            Malformed::UnknownAlgorithm => "unknown algorithm",
            Malformed::TooLarge => "too large (not read)",
            Malformed::ChangedWhileRead => "changed while it was read",
        })
    }
}

/// Why an argument was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Invalid {
    /// The context of an envelope must not be empty.
    EmptyContext,
    /// The label of a sub-key must not be empty.
    EmptyLabel,
    /// A sub-key's message budget must be between 1 and the rotation
    /// policy's `max_messages`.
    SubkeyBudget,
    /// KDF costs below the recommended minimum (PBKDF2 600,000 iterations;
    /// Argon2id m = 19,456 KiB, t = 2, p = 1).
    KdfTooWeak,
    /// KDF costs above the caps (see [`crate::PBKDF2_MAX_ITERATIONS`] and
    /// the `ARGON2_MAX_*` constants).
    KdfOverCap,
    /// KDF costs the algorithm itself refuses (for example Argon2id with
    /// m < 8·p).
    KdfOutOfRange,
    /// A rotation policy with a zero `max_age`.
    ZeroMaxAge,
    /// A rotation policy's `max_messages` outside 1..=2^32.
    MaxMessagesOutOfRange,
    /// The primary key cannot be destroyed; rotate first.
    DestroyPrimary,
    /// The minimum decryption version cannot exceed the primary key.
    MinAbovePrimary,
    /// A message too long for the AEAD.
    MessageTooLong,
    /// No key ids are left (2^32 - 1 versions).
    KeyIdsExhausted,
    /// The generation counter is exhausted.
    GenerationsExhausted,
    /// The keystore file would exceed [`crate::MAX_KEYSTORE_FILE_LEN`].
    TooManyVersions,
    /// A path without a file name.
    NoFileName,
    /// The rollback anchor lives inside the keystore's own directory,
    /// where whoever rolls back the keystore rolls it back too.
    AnchorInsideKeystore,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invalid::EmptyContext => "the context must not be empty",
            Invalid::EmptyLabel => "the sub-key label must not be empty",
            Invalid::SubkeyBudget => {
                "a sub-key budget must be between 1 and the policy's max_messages"
            }
            Invalid::KdfTooWeak => {
                "KDF costs below the minimum (PBKDF2 600,000 iterations; Argon2id m=19456 KiB, t=2, p=1)"
            }
            Invalid::KdfOverCap => "KDF costs above the caps",
            Invalid::KdfOutOfRange => "KDF costs out of range",
            Invalid::ZeroMaxAge => "rotation max_age must be positive",
            Invalid::MaxMessagesOutOfRange => "rotation max_messages must be between 1 and 2^32",
            Invalid::DestroyPrimary => "the primary key cannot be destroyed; rotate first",
            Invalid::MinAbovePrimary => {
                "the minimum decryption version cannot exceed the primary key"
            }
            Invalid::MessageTooLong => "message too long for the AEAD",
            Invalid::KeyIdsExhausted => "no key ids left",
            Invalid::GenerationsExhausted => "generation counter exhausted",
            Invalid::TooManyVersions => "too many key versions for one keystore file",
            Invalid::NoFileName => "the path has no file name",
            Invalid::AnchorInsideKeystore => {
                "the rollback anchor must live outside the keystore directory"
            }
        })
    }
}

/// A file-system failure or refusal, with the path it concerns.
///
/// [`StorageError::kind`] is what to match on; the underlying error is the
/// [`std::error::Error::source`].
#[derive(Debug)]
pub struct StorageError {
    path: PathBuf,
    kind: StorageKind,
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// What kind of file-system failure a [`StorageError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageKind {
    /// Another process (or another handle in this one) holds the keystore
    /// directory's writer lock.
    Locked {
        /// The holder's process id, when it recorded one.
        pid: Option<u32>,
    },
    /// A path is not private: a symlink, owned by another user, writable by
    /// others, or not the expected type of file.
    NotPrivate,
    /// A path that must exist does not.
    NotFound,
    /// Any other I/O failure.
    Io,
}

impl StorageError {
    /// The path the operation was working on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What went wrong.
    pub fn kind(&self) -> StorageKind {
        self.kind
    }

    /// A plain I/O error on `path` (the message names the path).
    pub(crate) fn io(path: PathBuf, e: &io::Error) -> Self {
        let kind = match e.kind() {
            io::ErrorKind::NotFound => StorageKind::NotFound,
            _ => StorageKind::Io,
        };
        let source = io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        StorageError {
            path,
            kind,
            source: Box::new(source),
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The source's text names the path and the reason.
        self.source.fmt(f)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl From<secure_fs::Error> for StorageError {
    fn from(e: secure_fs::Error) -> Self {
        use secure_fs::ErrorKind as K;
        let kind = match e.kind() {
            K::Locked { pid } => StorageKind::Locked { pid: *pid },
            K::NotFound => StorageKind::NotFound,
            K::Symlink
            | K::NotADirectory
            | K::NotAFile
            | K::NotOwned { .. }
            | K::InsecureMode { .. } => StorageKind::NotPrivate,
            _ => StorageKind::Io,
        };
        StorageError {
            path: e.path().to_path_buf(),
            kind,
            source: Box::new(e),
        }
    }
}

impl From<secure_fs::Error> for Error {
    fn from(e: secure_fs::Error) -> Self {
        Error::Storage(e.into())
    }
}

/// The operating system's random number generator failed.
#[derive(Debug)]
pub struct RandomError(pub(crate) getrandom::Error);

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the operating system's random generator failed: {}",
            self.0
        )
    }
}

impl std::error::Error for RandomError {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Storage(e) => write!(f, "keystore file system error: {e}"),
            Error::NotFound { path } => write!(f, "no keystore at {}", path.display()),
            Error::AlreadyExists { path } => {
                write!(f, "{} already exists", path.display())
            }
            Error::WrongCredential => f.write_str("wrong passphrase or master key"),
            Error::Tampered { path, check } => write!(
                f,
                "keystore file {} failed its {check} check: it was modified or corrupted",
                path.display()
            ),
            Error::RolledBack { found, expected } => write!(
                f,
                "keystore rollback: file is generation {found}, but generation {expected} or later was expected"
            ),
            Error::UnsupportedVersion { format, version } => {
                write!(f, "unsupported {format} version {version}")
            }
            Error::Malformed { format, reason } => write!(f, "malformed {format}: {reason}"),
            Error::DecryptionFailed => f.write_str("decryption failed"),
            Error::UnknownKey { id } => write!(f, "key version {id} is not in this keystore"),
            Error::KeyDestroyed { id } => write!(
                f,
                "key version {id} was destroyed; this ciphertext can no longer be decrypted"
            ),
            Error::KeyRetired { id, min } => write!(
                f,
                "key version {id} is below the minimum decryption version {min}"
            ),
            Error::InvalidArgument { reason } => write!(f, "invalid argument: {reason}"),
            Error::Random(e) => e.fmt(f),
            Error::Anchor(e) => write!(f, "rollback anchor: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Storage(e) => Some(e),
            Error::Random(e) => Some(e),
            Error::Anchor(e) => Some(e),
            _ => None,
        }
    }
}

impl Error {
    pub(crate) fn invalid(reason: Invalid) -> Error {
        Error::InvalidArgument { reason }
    }

    pub(crate) fn malformed(format: Format, reason: Malformed) -> Error {
        Error::Malformed { format, reason }
    }

    pub(crate) fn tampered(path: &Path, check: Check) -> Error {
        Error::Tampered {
            path: path.to_path_buf(),
            check,
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #![allow(clippy::panic, clippy::unwrap_used)]
    use super::*;

    #[test]
    fn messages_name_the_problem_and_source_is_kept() {
        let e = Error::tampered(Path::new("/x/keystore"), Check::Mac);
        assert_eq!(
            e.to_string(),
            "keystore file /x/keystore failed its MAC check: it was modified or corrupted"
        );
        assert!(std::error::Error::source(&e).is_none());
        let e = Error::RolledBack {
            found: 3,
            expected: 5,
        };
        assert!(e.to_string().contains("generation 3"));
        let e = Error::KeyRetired {
            id: KeyId::new(2),
            min: KeyId::new(4),
        };
        assert_eq!(
            e.to_string(),
            "key version 2 is below the minimum decryption version 4"
        );
        let e = Error::malformed(Format::MasterKeyFile, Malformed::TooLarge);
        assert_eq!(
            e.to_string(),
            "malformed master key file: too large (not read)"
        );
    }

    #[test]
    fn storage_errors_keep_their_kind_and_source_without_the_secure_fs_type() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let fs_err = secure_fs::PrivateDir::open(&missing).err();
        let Some(fs_err) = fs_err else {
            panic!("opened a missing directory")
        };
        let e = Error::from(fs_err);
        let Error::Storage(s) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(s.kind(), StorageKind::NotFound);
        assert_eq!(s.path(), missing);
        assert!(std::error::Error::source(&e).is_some());
        assert!(e.to_string().contains("nope"));
    }
}
