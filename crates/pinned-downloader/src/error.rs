//! [`Error`]: what went wrong, which hops were followed before it, and
//! whether it is a refusal (the policy said no) or another failure.

use std::fmt;
use std::path::PathBuf;

use crate::report::Hop;

/// A download that did not complete, or a configuration that was refused.
///
/// [`Error::kind`] says why; [`Error::redirect_chain`] lists the hops that
/// were followed before it (for the caller's audit log). Whatever the kind,
/// nothing exists at the target path afterwards (see the crate docs for the
/// `.part` file a resumable download keeps).
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    chain: Vec<Hop>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Why a download or a configuration was refused.
///
/// The first words of each message name the reason in the terms of the
/// `pinned-get` contract: "not allowed host", "plain http", "pin mismatch",
/// "certificate invalid", "too large", "size mismatch", "checksum
/// mismatch", "timeout", "redirect refused".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A URL (the first one or a redirect target) names a host that is not
    /// on the allow-list.
    NotAllowedHost {
        /// The host that was refused.
        host: String,
    },
    /// A URL (the first one or a redirect target) is not `https`.
    PlainHttp {
        /// The scheme that was refused.
        scheme: String,
    },
    /// The verified certificate chain contains no public key of the
    /// host's pin set. The handshake failed; no request byte was sent.
    PinMismatch {
        /// The host whose pin set did not match.
        host: String,
        /// The pins of every certificate in the verified chain, leaf first
        /// (`sha256//BASE64`), so that an operator can see what is served.
        chain_pins: Vec<String>,
    },
    /// WebPKI verification failed: unknown issuer, expired, not valid for
    /// the host name, bad encoding.
    CertificateInvalid {
        /// The host whose certificate was refused.
        host: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The body is (or would be) larger than the hard maximum.
    TooLarge {
        /// The configured maximum, in bytes.
        max: u64,
        /// What the server announced or sent (at least), in bytes.
        got: u64,
    },
    /// The size announced or received differs from the expected one, or
    /// the body ended before all announced bytes arrived.
    SizeMismatch {
        /// The size that was expected (from the caller or from
        /// Content-Length); `None` for a close-delimited body cut short
        /// (no TLS close_notify).
        expected: Option<u64>,
        /// The size announced or received.
        got: u64,
        /// Whether the body ended early (a cut or a lying Content-Length).
        truncated: bool,
    },
    /// The SHA-256 of the received bytes differs from the expected one.
    ChecksumMismatch {
        /// Expected digest, lowercase hex.
        expected: String,
        /// Digest of what was received, lowercase hex.
        got: String,
    },
    /// Connecting, waiting for bytes, or the whole transfer took too long,
    /// or the transfer stayed below the minimum speed.
    Timeout {
        /// Which limit was hit.
        what: TimeoutKind,
    },
    /// A redirect was not followed: too many hops, no or bad `Location`,
    /// or an unexpected 3xx status.
    RedirectRefused {
        /// Why.
        reason: String,
    },
    /// A resumed download got an answer that does not continue the part
    /// already on disk (wrong `Content-Range`, a changed total). The part
    /// is discarded; the next attempt starts over.
    ResumeRefused {
        /// Why.
        reason: String,
    },
    /// The server answered with an error status (4xx, 5xx) or a malformed
    /// response.
    BadResponse {
        /// What was wrong.
        reason: String,
    },
    /// The builder or request was given something unusable: a bad pin, a
    /// pin set without a backup pin, a bad host pattern, a bad URL, an
    /// unreadable CA file.
    Config {
        /// What was wrong.
        reason: String,
    },
    /// Network failure other than the above (connection refused, reset,
    /// name resolution, proxy).
    Network {
        /// What failed.
        reason: String,
    },
    /// Local file-system failure (the output directory, the part file).
    Io {
        /// The path concerned.
        path: PathBuf,
    },
}

/// Which time limit a [`ErrorKind::Timeout`] hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// The TCP or TLS connection was not established in time.
    Connect,
    /// No byte arrived for the idle read timeout.
    Idle,
    /// The whole download took longer than the total timeout.
    Total,
    /// The transfer stayed below the minimum speed for a whole window
    /// (a slow drip).
    LowSpeed,
}

impl ErrorKind {
    /// Whether this is a refusal by policy (host, scheme, pin, certificate,
    /// size, checksum, timeout, redirect, resume) rather than another
    /// failure (network, file system, server error, configuration).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ErrorKind::NotAllowedHost { .. }
                | ErrorKind::PlainHttp { .. }
                | ErrorKind::PinMismatch { .. }
                | ErrorKind::CertificateInvalid { .. }
                | ErrorKind::TooLarge { .. }
                | ErrorKind::SizeMismatch { .. }
                | ErrorKind::ChecksumMismatch { .. }
                | ErrorKind::Timeout { .. }
                | ErrorKind::RedirectRefused { .. }
                | ErrorKind::ResumeRefused { .. }
        )
    }

    /// Whether a resumable download keeps its verified `.part` after this
    /// error (transient failures) rather than discarding it (the bytes or
    /// the answer cannot be trusted).
    pub(crate) fn keeps_partial(&self) -> bool {
        match self {
            ErrorKind::SizeMismatch { truncated, .. } => *truncated,
            ErrorKind::TooLarge { .. }
            | ErrorKind::ChecksumMismatch { .. }
            | ErrorKind::ResumeRefused { .. } => false,
            _ => true,
        }
    }
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connecting took too long",
            TimeoutKind::Idle => "no data arrived within the idle timeout",
            TimeoutKind::Total => "the download exceeded its total time limit",
            TimeoutKind::LowSpeed => "the transfer stayed below the minimum speed",
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::NotAllowedHost { host } => {
                write!(f, "not allowed host: {host} is not on the allow-list")
            }
            ErrorKind::PlainHttp { scheme } => {
                write!(
                    f,
                    "plain http: scheme {scheme:?} refused, only https is allowed"
                )
            }
            ErrorKind::PinMismatch { host, chain_pins } => write!(
                f,
                "pin mismatch: no key of the verified chain of {host} is in its pin set (chain: {})",
                chain_pins.join(", ")
            ),
            ErrorKind::CertificateInvalid { host, reason } => {
                write!(f, "certificate invalid for {host}: {reason}")
            }
            ErrorKind::TooLarge { max, got } => {
                write!(f, "too large: {got} bytes exceed the maximum of {max}")
            }
            ErrorKind::SizeMismatch {
                expected,
                got,
                truncated,
            } => match (truncated, expected) {
                (true, Some(expected)) => write!(
                    f,
                    "size mismatch: body ended after {got} of {expected} bytes (truncated)"
                ),
                (true, None) => write!(
                    f,
                    "size mismatch: body ended after {got} bytes without a proper end (truncated)"
                ),
                (false, Some(expected)) => {
                    write!(f, "size mismatch: expected {expected} bytes, got {got}")
                }
                (false, None) => write!(f, "size mismatch: got {got} bytes"),
            },
            ErrorKind::ChecksumMismatch { expected, got } => {
                write!(
                    f,
                    "checksum mismatch: expected sha256 {expected}, got {got}"
                )
            }
            ErrorKind::Timeout { what } => write!(f, "timeout: {what}"),
            ErrorKind::RedirectRefused { reason } => write!(f, "redirect refused: {reason}"),
            ErrorKind::ResumeRefused { reason } => write!(f, "resume refused: {reason}"),
            ErrorKind::BadResponse { reason } => write!(f, "bad response: {reason}"),
            ErrorKind::Config { reason } => write!(f, "invalid configuration: {reason}"),
            ErrorKind::Network { reason } => write!(f, "network error: {reason}"),
            ErrorKind::Io { path } => write!(f, "i/o error on {}", path.display()),
        }
    }
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Error {
            kind,
            chain: Vec::new(),
            source: None,
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config {
            reason: reason.into(),
        })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::new(ErrorKind::Io { path: path.into() }).with_source(source)
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn with_chain(mut self, chain: Vec<Hop>) -> Self {
        self.chain = chain;
        self
    }

    /// Why the download or configuration was refused.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The hops requested before the error, first URL first; the last one
    /// is where it happened (empty for configuration errors).
    pub fn redirect_chain(&self) -> &[Hop] {
        &self.chain
    }

    /// Shorthand for `self.kind().is_refusal()`.
    pub fn is_refusal(&self) -> bool {
        self.kind.is_refusal()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)?;
        if let (ErrorKind::Io { .. } | ErrorKind::Network { .. }, Some(source)) =
            (&self.kind, &self.source)
        {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<secure_fs::Error> for Error {
    fn from(e: secure_fs::Error) -> Self {
        let path = e.path().to_path_buf();
        Error::new(ErrorKind::Io { path }).with_source(e)
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
