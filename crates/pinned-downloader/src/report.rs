//! What a download reports: its hops, digest, size, and what resume did.

use std::fmt;
use std::path::PathBuf;

use data_encoding::HEXLOWER_PERMISSIVE;

use crate::error::{Error, Result};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// Parses 64 hex digits (either case).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] if it is not 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self> {
        let hex = hex.trim();
        let bytes = HEXLOWER_PERMISSIVE
            .decode(hex.as_bytes())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| Error::config(format!("sha256 {hex:?} is not 64 hexadecimal digits")))?;
        Ok(Sha256Digest(bytes))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.0)
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.to_hex())
    }
}

/// How the certificate of a hop's host was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinStatus {
    /// WebPKI passed and a key of the verified chain is in the host's pin
    /// set.
    Matched,
    /// The host's pin set has expired: WebPKI only.
    Expired,
    /// The host is allowed without pins: WebPKI only; integrity rests on
    /// the expected digest.
    Unpinned,
}

/// One request of a download: the URL asked for and the status received
/// (0 when no status arrived).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The URL requested (with its query, which may hold a signed token:
    /// use [`Hop::url_without_query`] for logs that others read).
    pub url: String,
    /// The HTTP status, 0 if the request failed before one arrived.
    pub status: u16,
    /// How the host's certificate was checked.
    pub pin: PinStatus,
}

impl Hop {
    /// The URL without its query and fragment.
    pub fn url_without_query(&self) -> &str {
        let end = self.url.find(['?', '#']).unwrap_or(self.url.len());
        &self.url[..end]
    }
}

/// A completed download: complete, verified, and atomically in place.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Download {
    /// Where the file is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256 (computed while streaming).
    pub sha256: Sha256Digest,
    /// Whether the digest was checked against an expected one (from the
    /// caller or, when opted in, the server's `X-Linked-Etag`).
    pub sha256_verified: bool,
    /// Every request made, first URL first, redirects in order; the last
    /// hop served the body (with resume, the range requests follow).
    pub redirect_chain: Vec<Hop>,
    /// The byte offset a resumed download continued from (0 for a fresh
    /// one).
    pub resumed_from: u64,
    /// Indexes of chunks found corrupt on disk and fetched again.
    pub refetched_chunks: Vec<u64>,
    /// Whether a resume had to start over (the server ignored `Range`, or
    /// the remote file changed).
    pub restarted: bool,
}
