//! The crate's one error type.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a model, a manifest or a key was refused.
///
/// Every variant that concerns a file names it by its path relative to the
/// model directory (as written in the manifest). The messages never contain
/// key material. Use [`Error::is_refusal`] to tell a refusal (the model is
/// not what the manifest says, or is not allowed) from an operational error
/// (for example an unreadable key file).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file listed in the manifest does not exist in the model directory.
    MissingFile {
        /// The listed path.
        path: String,
    },
    /// A file in the model directory is not listed in the manifest and is not
    /// on the ignore list.
    UnlistedFile {
        /// The path found on disk.
        path: String,
    },
    /// A file's size differs from the size the manifest records.
    SizeMismatch {
        /// The file.
        path: String,
        /// The size in the manifest.
        expected: u64,
        /// The size on disk.
        actual: u64,
    },
    /// A file's SHA-256 (or the SHA-256 of one of its shards) differs from
    /// the manifest.
    DigestMismatch {
        /// The file.
        path: String,
        /// The byte range of the shard, for sharded manifests.
        shard: Option<(u64, u64)>,
    },
    /// A file the manifest gives no size for is larger than the bound set
    /// by [`Verifier::max_unsized_file`](crate::Verifier::max_unsized_file);
    /// it was not read.
    TooLarge {
        /// The file.
        path: String,
        /// Its size on disk.
        size: u64,
        /// The bound.
        limit: u64,
    },
    /// A file changed (grew, shrank or was replaced) while it was being
    /// verified.
    FileChanged {
        /// The file.
        path: String,
    },
    /// A symbolic link was found where a model file or directory was
    /// expected.
    Symlink {
        /// The link's path.
        path: String,
    },
    /// Something other than a regular file or directory (a FIFO, socket or
    /// device) was found in the model directory.
    NotRegularFile {
        /// The path.
        path: String,
    },
    /// A path in the manifest is absolute, contains `..`, `.`, an empty
    /// component, a backslash or a NUL, or is not valid UTF-8 on disk.
    UnsafePath {
        /// The offending path (lossily converted for display).
        path: String,
    },
    /// The same path is listed twice in the manifest.
    DuplicateEntry {
        /// The path.
        path: String,
    },
    /// A file that is, or may carry, executable code: Python source,
    /// native libraries, pickle-family files. Refused, not scanned.
    CodeRefused {
        /// The file.
        path: String,
        /// What kind of code, for the message (for example "pickle-family file").
        reason: &'static str,
    },
    /// A JSON configuration file asks for remote or custom code
    /// (`auto_map`, `custom_pipelines`, a `repo--module.Class` reference).
    RemoteCodeRefused {
        /// The configuration file.
        path: String,
        /// The key that carries the reference.
        key: String,
    },
    /// A `.npy` array stores Python objects (dtype `O`), which NumPy loads
    /// with pickle.
    ObjectArray {
        /// The file.
        path: String,
    },
    /// A safetensors file breaks one of the header rules.
    Safetensors {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file whose contents are checked (a `*config*.json`, a `.npy`) is
    /// not what its name says: invalid JSON, a malformed `.npy` header, a
    /// configuration file over 16 MiB.
    InvalidFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The manifest is for another model.
    WrongModel {
        /// The name the caller expected.
        expected: String,
        /// The name in the manifest.
        found: String,
    },
    /// The manifest is for another revision (or records none) of the model.
    WrongRevision {
        /// The revision the caller expected.
        expected: String,
        /// The revision in the manifest, if any.
        found: Option<String>,
    },
    /// The manifest (or CHECKSUMS file, or bundle) is malformed or of an
    /// unsupported version.
    Manifest {
        /// What is wrong with it.
        reason: String,
    },
    /// The signature over the manifest does not verify under the given key,
    /// or the bundle names another key.
    BadSignature,
    /// A signature was required (a public key was given) but the manifest is
    /// not signed.
    Unsigned,
    /// A key file could not be parsed or holds an unsupported key type.
    Key {
        /// What is wrong with it (never the key bytes).
        reason: String,
    },
    /// An I/O error while reading the model, manifest or key.
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl Error {
    /// True when the error means "this model (or manifest) must not be
    /// used": a mismatch, a refused file, a bad signature, a malformed
    /// manifest. False for operational errors such as an unreadable key file
    /// or an I/O failure.
    ///
    /// The `model-verify` binary exits with code 3 for refusals and 1 for
    /// the rest.
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Key { .. } | Self::Io { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn manifest(reason: impl Into<String>) -> Self {
        Self::Manifest {
            reason: reason.into(),
        }
    }

    pub(crate) fn safetensors(path: &str, reason: impl Into<String>) -> Self {
        Self::Safetensors {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingFile { path } => write!(f, "{path}: listed in the manifest but missing"),
            Self::UnlistedFile { path } => {
                write!(f, "{path}: present but not listed in the manifest")
            }
            Self::SizeMismatch {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{path}: size mismatch (manifest says {expected} bytes, file has {actual})"
            ),
            Self::DigestMismatch { path, shard: None } => {
                write!(f, "{path}: SHA-256 digest mismatch")
            }
            Self::DigestMismatch {
                path,
                shard: Some((start, end)),
            } => write!(f, "{path}: SHA-256 digest mismatch in bytes {start}..{end}"),
            Self::TooLarge { path, size, limit } => write!(
                f,
                "{path}: {size} bytes, over the {limit}-byte bound for a file the manifest gives no size for"
            ),
            Self::FileChanged { path } => write!(f, "{path}: file changed while being verified"),
            Self::Symlink { path } => write!(f, "{path}: symbolic links are refused"),
            Self::NotRegularFile { path } => write!(f, "{path}: not a regular file"),
            Self::UnsafePath { path } => write!(
                f,
                "{path:?}: unsafe path (absolute, `..`, empty component or not UTF-8)"
            ),
            Self::DuplicateEntry { path } => write!(f, "{path}: listed twice in the manifest"),
            Self::CodeRefused { path, reason } => {
                write!(f, "{path}: refused, {reason} (code is never loaded)")
            }
            Self::RemoteCodeRefused { path, key } => write!(
                f,
                "{path}: refused, `{key}` asks for custom or remote code (the equivalent of trust_remote_code=True)"
            ),
            Self::ObjectArray { path } => write!(
                f,
                "{path}: refused, .npy array of Python objects (loaded with pickle)"
            ),
            Self::InvalidFile { path, reason } => write!(f, "{path}: {reason}"),
            Self::Safetensors { path, reason } => {
                write!(f, "{path}: invalid safetensors: {reason}")
            }
            Self::WrongModel { expected, found } => {
                write!(f, "manifest is for model {found:?}, expected {expected:?}")
            }
            Self::WrongRevision {
                expected,
                found: Some(found),
            } => write!(
                f,
                "manifest is for revision {found:?}, expected {expected:?}"
            ),
            Self::WrongRevision {
                expected,
                found: None,
            } => write!(f, "manifest records no revision, expected {expected:?}"),
            Self::Manifest { reason } => write!(f, "invalid manifest: {reason}"),
            Self::BadSignature => {
                f.write_str("manifest signature does not verify under the given public key")
            }
            Self::Unsigned => f.write_str("a public key was given but the manifest is not signed"),
            Self::Key { reason } => write!(f, "invalid key: {reason}"),
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_file_and_source_is_kept() {
        let e = Error::DigestMismatch {
            path: "model.safetensors".into(),
            shard: Some((0, 64)),
        };
        assert_eq!(
            e.to_string(),
            "model.safetensors: SHA-256 digest mismatch in bytes 0..64"
        );
        assert!(e.is_refusal());
        assert!(std::error::Error::source(&e).is_none());
        let io = Error::io("/m/x", io::Error::from(io::ErrorKind::NotFound));
        assert!(!io.is_refusal());
        assert!(std::error::Error::source(&io).is_some());
        assert!(io.to_string().starts_with("/m/x: "));
        let key = Error::Key {
            reason: "bad".into(),
        };
        assert!(!key.is_refusal());
    }
}
