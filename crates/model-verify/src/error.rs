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
    /// A pickle: found by reading the file's opcode stream (with or without
    /// a protocol header, protocol 0 and 1 included, whatever the file is
    /// called), possibly inside zlib-compressed data. Every pickle is
    /// refused; the globals it imports are reported the way picklescan
    /// reports them, to say what it would have done.
    Pickle {
        /// The file.
        path: String,
        /// How it was found (for example "found by content").
        found: &'static str,
        /// The protocol of a leading `PROTO` opcode (`None` for protocol 0
        /// and 1 streams, which have no header).
        protocol: Option<u8>,
        /// Every global it imports, as `module.name`.
        imports: Vec<String>,
        /// Those of `imports` that picklescan classifies as dangerous
        /// (`os.system`, `builtins.eval`, `subprocess.*`, ...).
        dangerous: Vec<String>,
    },
    /// A `*.safetensors.index.json` does not describe the shards beside it:
    /// it names a shard that is not part of the verified model, a shard of
    /// the model is named by no index, or its `weight_map` sends a tensor to
    /// a shard that does not hold it (or leaves a tensor out).
    ShardIndex {
        /// The index file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The verifier requires a signature ([`Verifier::require_signature`](crate::Verifier::require_signature),
    /// the CLI's `--require-signature`) and the manifest's signature was
    /// not checked.
    SignatureRequired,
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

/// Writes `s` with every character that could act on a terminal escaped:
/// C0 and C1 controls (escape sequences start with ESC or CSI), DEL, and
/// the Unicode bidirectional overrides and isolates that reorder what is
/// shown (`U+202A`-`U+202E`, `U+2066`-`U+2069`, `U+200E`, `U+200F`,
/// `U+061C`). File names come from the model directory, which the
/// attacker writes.
pub(crate) fn escape_for_terminal(s: &str) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let risky = c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}');
        if risky {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for Error {
    /// The message, with anything that could act on a terminal (escape
    /// sequences, bidirectional overrides) in file names, tensor names or
    /// other text taken from the model shown escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_for_terminal(&self.raw_message()))
    }
}

impl Error {
    fn raw_message(&self) -> String {
        RawMessage(self).to_string()
    }
}

struct RawMessage<'e>(&'e Error);

impl fmt::Display for RawMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Error::MissingFile { path } => write!(f, "{path}: listed in the manifest but missing"),
            Error::UnlistedFile { path } => {
                write!(f, "{path}: present but not listed in the manifest")
            }
            Error::SizeMismatch {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{path}: size mismatch (manifest says {expected} bytes, file has {actual})"
            ),
            Error::DigestMismatch { path, shard: None } => {
                write!(f, "{path}: SHA-256 digest mismatch")
            }
            Error::DigestMismatch {
                path,
                shard: Some((start, end)),
            } => write!(f, "{path}: SHA-256 digest mismatch in bytes {start}..{end}"),
            Error::TooLarge { path, size, limit } => write!(
                f,
                "{path}: {size} bytes, over the {limit}-byte bound for a file the manifest gives no size for"
            ),
            Error::FileChanged { path } => write!(f, "{path}: file changed while being verified"),
            Error::Symlink { path } => write!(f, "{path}: symbolic links are refused"),
            Error::NotRegularFile { path } => write!(f, "{path}: not a regular file"),
            Error::UnsafePath { path } => write!(
                f,
                "{path:?}: unsafe path (absolute, `..`, empty component or not UTF-8)"
            ),
            Error::DuplicateEntry { path } => write!(f, "{path}: listed twice in the manifest"),
            Error::CodeRefused { path, reason } => {
                write!(f, "{path}: refused, {reason} (code is never loaded)")
            }
            Error::RemoteCodeRefused { path, key } => write!(
                f,
                "{path}: refused, `{key}` asks for custom or remote code (the equivalent of trust_remote_code=True)"
            ),
            Error::ObjectArray { path } => write!(
                f,
                "{path}: refused, .npy array of Python objects (loaded with pickle)"
            ),
            Error::Pickle {
                path,
                found,
                protocol,
                imports,
                dangerous,
            } => {
                write!(f, "{path}: refused, pickle data (")?;
                match protocol {
                    Some(p) => write!(f, "protocol {p}")?,
                    None => f.write_str("protocol 0 or 1, no header")?,
                }
                write!(f, ", {found})")?;
                if imports.is_empty() {
                    f.write_str(", imports no globals")?;
                } else {
                    f.write_str(", imports ")?;
                    for (i, g) in imports.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        f.write_str(g)?;
                        if dangerous.contains(g) {
                            f.write_str(" [dangerous]")?;
                        }
                    }
                }
                f.write_str(" (code is never loaded)")
            }
            Error::ShardIndex { path, reason } => {
                write!(f, "{path}: refused, shard index does not match the shards: {reason}")
            }
            Error::SignatureRequired => f.write_str(
                "a signature is required but the manifest's signature was not checked (pass the signer's public key)",
            ),
            Error::InvalidFile { path, reason } => write!(f, "{path}: {reason}"),
            Error::Safetensors { path, reason } => {
                write!(f, "{path}: invalid safetensors: {reason}")
            }
            Error::WrongModel { expected, found } => {
                write!(f, "manifest is for model {found:?}, expected {expected:?}")
            }
            Error::WrongRevision {
                expected,
                found: Some(found),
            } => write!(
                f,
                "manifest is for revision {found:?}, expected {expected:?}"
            ),
            Error::WrongRevision {
                expected,
                found: None,
            } => write!(f, "manifest records no revision, expected {expected:?}"),
            Error::Manifest { reason } => write!(f, "invalid manifest: {reason}"),
            Error::BadSignature => {
                f.write_str("manifest signature does not verify under the given public key")
            }
            Error::Unsigned => f.write_str("a public key was given but the manifest is not signed"),
            Error::Key { reason } => write!(f, "invalid key: {reason}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
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

    /// Names reach the message escaped: no escape sequence, bell or
    /// bidirectional override is written as such.
    #[test]
    fn display_escapes_terminal_controls_and_bidi_overrides() {
        let e = Error::CodeRefused {
            path: "a\x1b[2Jb\x07\u{9b}c\u{202e}yp.txt\u{2066}".into(),
            reason: "Python code",
        };
        let shown = e.to_string();
        assert!(
            !shown
                .chars()
                .any(|c| c.is_control() || matches!(c, '\u{202e}' | '\u{2066}')),
            "{shown:?}"
        );
        for esc in ["\\u{1b}", "\\u{7}", "\\u{9b}", "\\u{202e}", "\\u{2066}"] {
            assert!(shown.contains(esc), "{shown} lacks {esc}");
        }
        // Reasons built from model text (tensor names) are escaped too.
        let e = Error::Safetensors {
            path: "m.safetensors".into(),
            reason: "tensor \"\x1b]0;x\x07\" is also defined in a".into(),
        };
        assert!(!e.to_string().contains('\x1b'));
        // Plain names are untouched.
        assert_eq!(
            escape_for_terminal("model-00001-of-00002.safetensors é"),
            "model-00001-of-00002.safetensors é"
        );
    }

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
