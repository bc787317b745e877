//! The one error type of this crate.

use std::fmt;
use std::path::PathBuf;

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
    /// insecure mode, lock held by another process, I/O). The message names
    /// the path.
    Fs(secure_fs::Error),
    /// There is no keystore in this directory.
    NotFound {
        /// The keystore file that was looked for.
        path: PathBuf,
    },
    /// [`crate::Keystore::create`] found a keystore already there.
    AlreadyExists {
        /// The existing keystore file.
        path: PathBuf,
    },
    /// The passphrase (or master key) does not unlock this keystore. The
    /// file's checksum was intact, so this is not corruption.
    WrongCredential,
    /// The keystore file failed an integrity check: it was edited,
    /// truncated, corrupted, or a field was changed (a key's state, a
    /// dropped or added version, the KDF parameters, the generation).
    Tampered {
        /// The file.
        path: PathBuf,
        /// Which check failed (not secret: "checksum", "MAC", ...).
        check: &'static str,
    },
    /// The keystore file is older than the generation the caller knows
    /// about: an old copy was put back.
    Rollback {
        /// The generation found in the file.
        found: u64,
        /// The generation the caller expected at least.
        expected: u64,
    },
    /// A format version this build does not know (a newer writer, or not
    /// our file at all).
    UnsupportedVersion {
        /// Which format: "keystore file", "envelope", "master key file".
        format: &'static str,
        /// The version number found.
        version: u16,
    },
    /// Bytes that are not a well-formed envelope, keystore file or master
    /// key file (bad magic, truncated, unknown algorithm byte, ...).
    Malformed {
        /// Which format.
        format: &'static str,
        /// What is wrong, in words.
        reason: &'static str,
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
    /// An argument was refused (weak KDF parameters, empty context or label,
    /// destroying the primary key, ...).
    InvalidArgument {
        /// What was wrong, in words.
        reason: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Fs(e) => write!(f, "keystore file system error: {e}"),
            Error::NotFound { path } => write!(f, "no keystore at {}", path.display()),
            Error::AlreadyExists { path } => {
                write!(f, "a keystore already exists at {}", path.display())
            }
            Error::WrongCredential => f.write_str("wrong passphrase or master key"),
            Error::Tampered { path, check } => write!(
                f,
                "keystore file {} failed its {check} check: it was modified or corrupted",
                path.display()
            ),
            Error::Rollback { found, expected } => write!(
                f,
                "keystore rollback: file is generation {found}, but generation {expected} or later was expected"
            ),
            Error::UnsupportedVersion { format, version } => {
                write!(f, "unsupported {format} version {version}")
            }
            Error::Malformed { format, reason } => write!(f, "malformed {format}: {reason}"),
            Error::DecryptionFailed => f.write_str("decryption failed"),
            Error::UnknownKey { id } => write!(f, "key version {id} is not in this keystore"),
            Error::KeyDestroyed { id } => {
                write!(
                    f,
                    "key version {id} was destroyed; this ciphertext can no longer be decrypted"
                )
            }
            Error::KeyRetired { id, min } => write!(
                f,
                "key version {id} is below the minimum decryption version {min}"
            ),
            Error::InvalidArgument { reason } => write!(f, "invalid argument: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Fs(e) => Some(e),
            _ => None,
        }
    }
}

impl From<secure_fs::Error> for Error {
    fn from(e: secure_fs::Error) -> Self {
        Error::Fs(e)
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem_and_source_is_kept() {
        let e = Error::Tampered {
            path: "/x/keystore".into(),
            check: "MAC",
        };
        assert_eq!(
            e.to_string(),
            "keystore file /x/keystore failed its MAC check: it was modified or corrupted"
        );
        assert!(std::error::Error::source(&e).is_none());
        let e = Error::Rollback {
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
    }
}
