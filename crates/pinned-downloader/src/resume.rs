//! The resume sidecar (FORMAT.md): per-chunk SHA-256 of the part file, so
//! that a later attempt re-checks what is on disk before it continues.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use secure_fs::PrivateDir;

/// The `format` value of every sidecar.
pub(crate) const MAGIC: &str = "pinned-downloader-resume";
/// The sidecar version this crate writes and reads.
pub(crate) const VERSION: u32 = 1;
/// Sidecars larger than this are not read (a 50 GiB file in 64 MiB chunks
/// needs about 55 KB).
const MAX_SIDECAR_LEN: usize = 16 << 20;

/// The sidecar, as stored (FORMAT.md, version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sidecar {
    pub(crate) format: String,
    pub(crate) version: u32,
    pub(crate) url: String,
    pub(crate) chunk_size: u64,
    pub(crate) total_size: Option<u64>,
    pub(crate) expected_sha256: Option<String>,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    pub(crate) chunks: Vec<String>,
}

#[derive(Deserialize)]
struct Head {
    format: String,
    version: u32,
}

impl Sidecar {
    pub(crate) fn new(url: &str, chunk_size: u64, expected_sha256: Option<String>) -> Self {
        Sidecar {
            format: MAGIC.to_owned(),
            version: VERSION,
            url: url.to_owned(),
            chunk_size,
            total_size: None,
            expected_sha256,
            etag: None,
            last_modified: None,
            chunks: Vec::new(),
        }
    }

    /// Parses a sidecar; an unknown format or version is an error that says
    /// so, not a guess.
    pub(crate) fn parse(bytes: &[u8]) -> std::result::Result<Sidecar, String> {
        if bytes.len() > MAX_SIDECAR_LEN {
            return Err(format!("sidecar larger than {MAX_SIDECAR_LEN} bytes"));
        }
        let head: Head =
            serde_json::from_slice(bytes).map_err(|e| format!("sidecar does not parse: {e}"))?;
        if head.format != MAGIC {
            return Err(format!("not a resume sidecar (format {:?})", head.format));
        }
        if head.version != VERSION {
            return Err(format!("unknown sidecar version {}", head.version));
        }
        let s: Sidecar =
            serde_json::from_slice(bytes).map_err(|e| format!("sidecar does not parse: {e}"))?;
        if s.chunk_size < 4096 {
            return Err("sidecar chunk size below 4096".into());
        }
        for c in &s.chunks {
            if c.len() != 64
                || !c
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err("sidecar chunk digest is not 64 lowercase hex digits".into());
            }
        }
        if let Some(total) = s.total_size {
            let covered = (s.chunks.len() as u64).checked_mul(s.chunk_size);
            if covered.is_none_or(|c| c > total) {
                return Err("sidecar records more chunks than the file has".into());
            }
        }
        Ok(s)
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain strings and numbers cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// The `If-Range` validator: a strong ETag, else Last-Modified.
    pub(crate) fn validator(&self) -> Option<&str> {
        self.etag
            .as_deref()
            .filter(|e| !e.starts_with("W/"))
            .or(self.last_modified.as_deref())
    }

    /// Number of bytes covered by recorded chunks.
    pub(crate) fn covered(&self) -> u64 {
        self.chunks.len() as u64 * self.chunk_size
    }
}

/// A part file found on disk, with its chunks re-checked.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) file: File,
    pub(crate) sidecar: Sidecar,
    /// Indexes of recorded chunks whose bytes on disk no longer match.
    pub(crate) bad_chunks: Vec<u64>,
}

/// The names of the part file and its sidecar for target `name`.
pub(crate) fn names(name: &str) -> (String, String) {
    (format!("{name}.part"), format!("{name}.part.resume"))
}

/// Removes the part file and sidecar, if present.
pub(crate) fn discard(dir: &PrivateDir, name: &str) -> Result<()> {
    let (part, side) = names(name);
    for n in [&side, &part] {
        if dir.exists(n)? {
            dir.remove_file(n)?;
        }
    }
    Ok(())
}

/// Loads the sidecar for `name` if it fits this request, truncates the
/// part to its recorded chunks and re-hashes every chunk. A sidecar that
/// does not fit (another URL, digest, chunk size, version, or no way to
/// check that the remote file is unchanged) is discarded with its part:
/// `Ok(None)` means start over.
pub(crate) fn load(
    dir: &PrivateDir,
    name: &str,
    url: &str,
    chunk_size: u64,
    expected_sha256: Option<&str>,
    expected_size: Option<u64>,
) -> Result<Option<Found>> {
    let (part, side) = names(name);
    if !dir.exists(&side)? {
        discard(dir, name)?;
        return Ok(None);
    }
    let fits = Sidecar::parse(&dir.read(&side)?).ok().filter(|s| {
        s.url == url
            && s.chunk_size == chunk_size
            && s.expected_sha256.as_deref() == expected_sha256
            && (expected_size.is_none() || s.total_size.is_none() || expected_size == s.total_size)
            && (s.validator().is_some() || expected_sha256.is_some())
    });
    let Some(mut sidecar) = fits else {
        discard(dir, name)?;
        return Ok(None);
    };
    if !dir.exists(&part)? {
        discard(dir, name)?;
        return Ok(None);
    }
    let mut file = dir.open_file(&part, secure_fs::Access::ReadWrite)?;
    let path = dir.path().join(&part);
    let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    let whole = usize::try_from(len / chunk_size).unwrap_or(usize::MAX);
    sidecar.chunks.truncate(whole);
    // Bytes past the last recorded chunk were never checked: drop them.
    file.set_len(sidecar.covered())
        .map_err(|e| Error::io(&path, e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(&path, e))?;
    let mut bad_chunks = Vec::new();
    let mut buf = vec![0u8; usize::try_from(chunk_size.min(1 << 20)).unwrap_or(1 << 20)];
    for (i, recorded) in sidecar.chunks.iter().enumerate() {
        let mut hasher = Sha256::new();
        let mut left = chunk_size;
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            file.read_exact(&mut buf[..want])
                .map_err(|e| Error::io(&path, e))?;
            hasher.update(&buf[..want]);
            left -= want as u64;
        }
        if data_encoding::HEXLOWER.encode(&hasher.finalize()) != *recorded {
            bad_chunks.push(i as u64);
        }
    }
    Ok(Some(Found {
        file,
        sidecar,
        bad_chunks,
    }))
}

/// SHA-256 of the first `len` bytes of `file`, read from the start.
pub(crate) fn hash_prefix(file: &mut File, len: u64, path: &std::path::Path) -> Result<Sha256> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        file.read_exact(&mut buf[..want])
            .map_err(|e| Error::io(path, e))?;
        hasher.update(&buf[..want]);
        left -= want as u64;
    }
    Ok(hasher)
}

#[cfg(fuzzing)]
/// Fuzzing hook: sidecar parsing never panics, and what parses
/// serializes back to a sidecar that parses to the same value.
pub fn fuzz_sidecar(data: &[u8]) {
    if let Ok(s) = Sidecar::parse(data) {
        let again = Sidecar::parse(&s.to_bytes()).expect("round trip");
        assert_eq!(again, s);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_round_trips_and_checks_its_head() {
        let mut s = Sidecar::new("https://a.test/x", 4096, None);
        s.etag = Some("\"v1\"".into());
        s.total_size = Some(10_000);
        s.chunks.push("00".repeat(32));
        assert_eq!(Sidecar::parse(&s.to_bytes()).unwrap(), s);
        let e = Sidecar::parse(br#"{"format":"other","version":1}"#).unwrap_err();
        assert!(e.contains("not a resume sidecar"), "{e}");
        let e =
            Sidecar::parse(br#"{"format":"pinned-downloader-resume","version":2}"#).unwrap_err();
        assert!(e.contains("unknown sidecar version 2"), "{e}");
        s.chunks.push("00".repeat(32));
        s.chunks.push("00".repeat(32));
        let e = Sidecar::parse(&s.to_bytes()).unwrap_err();
        assert!(e.contains("more chunks"), "{e}");
    }

    /// The test vector of FORMAT.md, taken from the document itself.
    #[test]
    fn format_md_vector_parses() {
        let doc = include_str!("../FORMAT.md");
        let start = doc.find("```json").unwrap() + "```json".len();
        let end = start + doc[start..].find("```").unwrap();
        let s = Sidecar::parse(&doc.as_bytes()[start..end]).unwrap();
        assert_eq!(s.version, VERSION);
        assert_eq!(s.format, MAGIC);
        assert_eq!(s.validator(), Some("\"v1\""));
        let zero_chunk = data_encoding::HEXLOWER.encode(&Sha256::digest(vec![0u8; 4096]));
        assert_eq!(s.chunks, [zero_chunk.clone(), zero_chunk]);
        assert_eq!(s.covered(), 8192);
        // Unknown fields are refused.
        let extra = doc[start..end].replacen('{', "{\"extra\": 1,", 1);
        assert!(Sidecar::parse(extra.as_bytes()).is_err());
    }

    #[test]
    fn weak_etags_are_not_validators() {
        let mut s = Sidecar::new("https://a.test/x", 4096, None);
        s.etag = Some("W/\"v1\"".into());
        assert_eq!(s.validator(), None);
        s.last_modified = Some("Tue, 01 Dec 2026 00:00:00 GMT".into());
        assert_eq!(s.validator(), s.last_modified.as_deref());
    }
}
