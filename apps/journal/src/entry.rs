//! Entries, their ids, and the byte encoding of an entry's plaintext.
//!
//! The encoding (version 1; big-endian integers):
//!
//! ```text
//! entry file plaintext  = "JENT" | version u16 = 1 | record
//! record                = id [16] | created i64 | updated i64
//!                         | tag count u16 | (len u16 | UTF-8)* | title len u32 | UTF-8
//!                         | body len u32 | UTF-8
//! ```
//!
//! Times are microseconds since the Unix epoch, UTC. The same `record`
//! layout is reused by the index (see [`crate::store`]).

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Magic of an entry's plaintext.
pub const ENTRY_MAGIC: &[u8; 4] = b"JENT";
/// Version of the entry encoding.
pub const ENTRY_VERSION: u16 = 1;
/// The largest body accepted (16 MiB): a diary entry, not a file store.
pub const MAX_BODY_LEN: usize = 16 << 20;
/// The largest title accepted.
pub const MAX_TITLE_LEN: usize = 64 << 10;
/// The most tags per entry.
pub const MAX_TAGS: usize = 256;
/// The longest tag.
pub const MAX_TAG_LEN: usize = 256;

/// An entry id: a random (version 4) UUID from the operating system's
/// generator.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId([u8; 16]);

impl EntryId {
    /// A new random id (UUID v4, from `getrandom`).
    ///
    /// # Errors
    /// When the operating system's generator fails.
    pub fn generate() -> Result<EntryId, getrandom::Error> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b)?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Ok(EntryId(b))
    }

    /// The id's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// An id from its 16 bytes.
    pub fn from_bytes(b: [u8; 16]) -> EntryId {
        EntryId(b)
    }

    /// Parses the canonical hyphenated form (or 32 hex digits).
    pub fn parse(s: &str) -> Option<EntryId> {
        let hex: String = s.chars().filter(|c| *c != '-').collect();
        if hex.len() != 32 {
            return None;
        }
        let v = data_encoding::HEXLOWER_PERMISSIVE
            .decode(hex.as_bytes())
            .ok()?;
        let mut b = [0u8; 16];
        b.copy_from_slice(&v);
        Some(EntryId(b))
    }

    /// The first 8 characters, for short listings.
    pub fn short(&self) -> String {
        let mut s = self.to_string();
        s.truncate(8);
        s
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = data_encoding::HEXLOWER.encode(&self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

impl fmt::Debug for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryId({self})")
    }
}

/// One diary entry. Its text is wiped from memory when dropped; `Debug`
/// shows the id and sizes only.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Entry {
    /// The entry's id.
    #[zeroize(skip)]
    pub id: EntryId,
    /// Creation time, microseconds since the Unix epoch (UTC).
    pub created: i64,
    /// Last change, microseconds since the Unix epoch (UTC).
    pub updated: i64,
    /// Tags, without a leading `@`/`#`.
    pub tags: Vec<String>,
    /// The title (the first line or sentence for imported entries).
    pub title: String,
    /// The body.
    pub body: String,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("id", &self.id)
            .field("created", &self.created)
            .field("tags", &self.tags.len())
            .field("title_len", &self.title.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Why bytes are not an entry (or an index): never any of their content.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The magic is not the expected one.
    BadMagic,
    /// A version this build does not read.
    UnsupportedVersion(u16),
    /// The bytes end inside a field.
    Truncated,
    /// Bytes are left after the last field.
    TrailingBytes,
    /// A text field is not UTF-8.
    NotUtf8,
    /// A count or length over its limit.
    TooLarge,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadMagic => f.write_str("wrong magic"),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            DecodeError::Truncated => f.write_str("truncated"),
            DecodeError::TrailingBytes => f.write_str("trailing bytes"),
            DecodeError::NotUtf8 => f.write_str("text that is not UTF-8"),
            DecodeError::TooLarge => f.write_str("a field over its size limit"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A cursor over bytes being decoded.
pub(crate) struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Reader { b }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.b.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn text(&mut self, len: usize, max: usize) -> Result<String, DecodeError> {
        if len > max {
            return Err(DecodeError::TooLarge);
        }
        let b = self.take(len)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| DecodeError::NotUtf8)
    }

    pub(crate) fn header(&mut self, magic: &[u8; 4], version: u16) -> Result<(), DecodeError> {
        if self.take(4).map_err(|_| DecodeError::BadMagic)? != magic {
            return Err(DecodeError::BadMagic);
        }
        let v = self.u16()?;
        if v != version {
            return Err(DecodeError::UnsupportedVersion(v));
        }
        Ok(())
    }

    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }

    /// One `record` (see the module docs).
    pub(crate) fn record(&mut self) -> Result<Entry, DecodeError> {
        let id = EntryId(self.array()?);
        let created = self.i64()?;
        let updated = self.i64()?;
        let n = usize::from(self.u16()?);
        if n > MAX_TAGS {
            return Err(DecodeError::TooLarge);
        }
        let mut tags = Vec::with_capacity(n);
        for _ in 0..n {
            let len = usize::from(self.u16()?);
            tags.push(self.text(len, MAX_TAG_LEN)?);
        }
        let len = self.u32()? as usize;
        let title = self.text(len, MAX_TITLE_LEN)?;
        let len = self.u32()? as usize;
        let body = self.text(len, MAX_BODY_LEN)?;
        Ok(Entry {
            id,
            created,
            updated,
            tags,
            title,
            body,
        })
    }
}

/// Appends one `record` (see the module docs). Lengths over the limits are
/// cut by the callers that build entries ([`Entry::check`]).
pub(crate) fn put_record(out: &mut Vec<u8>, e: &Entry) {
    out.extend_from_slice(e.id.as_bytes());
    out.extend_from_slice(&e.created.to_be_bytes());
    out.extend_from_slice(&e.updated.to_be_bytes());
    let n = u16::try_from(e.tags.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&n.to_be_bytes());
    for t in e.tags.iter().take(usize::from(n)) {
        let len = u16::try_from(t.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&t.as_bytes()[..usize::from(len)]);
    }
    for s in [&e.title, &e.body] {
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&s.as_bytes()[..len as usize]);
    }
}

impl Entry {
    /// Refuses an entry over the limits ([`MAX_BODY_LEN`], [`MAX_TITLE_LEN`],
    /// [`MAX_TAGS`], [`MAX_TAG_LEN`]) or with an empty tag.
    ///
    /// # Errors
    /// A message naming the field over its limit.
    pub fn check(&self) -> Result<(), String> {
        if self.body.len() > MAX_BODY_LEN {
            return Err(format!("the text is over {MAX_BODY_LEN} bytes"));
        }
        if self.title.len() > MAX_TITLE_LEN {
            return Err(format!("the title is over {MAX_TITLE_LEN} bytes"));
        }
        if self.tags.len() > MAX_TAGS {
            return Err(format!("more than {MAX_TAGS} tags"));
        }
        if self
            .tags
            .iter()
            .any(|t| t.is_empty() || t.len() > MAX_TAG_LEN)
        {
            return Err(format!("a tag is empty or over {MAX_TAG_LEN} bytes"));
        }
        Ok(())
    }

    /// The plaintext stored (encrypted) in the entry's file.
    pub fn encode(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(
            64 + self.title.len()
                + self.body.len()
                + self.tags.iter().map(|t| t.len() + 2).sum::<usize>(),
        ));
        out.extend_from_slice(ENTRY_MAGIC);
        out.extend_from_slice(&ENTRY_VERSION.to_be_bytes());
        put_record(&mut out, self);
        out
    }

    /// Whether the entry carries `tag` (case-insensitive, `@`/`#` ignored).
    pub fn has_tag(&self, tag: &str) -> bool {
        let tag = normalize_tag(tag);
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag))
    }
}

/// Decodes an entry file's plaintext (the inverse of [`Entry::encode`]).
///
/// # Errors
/// [`DecodeError`] for anything that is not exactly one version-1 entry.
pub fn decode_entry_plaintext(bytes: &[u8]) -> Result<Entry, DecodeError> {
    let mut r = Reader::new(bytes);
    r.header(ENTRY_MAGIC, ENTRY_VERSION)?;
    let e = r.record()?;
    r.finish()?;
    Ok(e)
}

/// A tag as stored: without leading `@` or `#`, trimmed.
pub fn normalize_tag(tag: &str) -> String {
    // Markers and spaces in any order (`@ #work`), so that normalizing is
    // idempotent: a normalized tag never starts with a marker or a space.
    tag.trim_start_matches(|c: char| c == '@' || c == '#' || c.is_whitespace())
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tag_markers_and_spaces_around_them_are_dropped() {
        // Found by the journal_import fuzz target: `@ work` kept a leading space.
        assert_eq!(normalize_tag("@ work"), "work");
        assert_eq!(normalize_tag("  #home "), "home");
        assert_eq!(normalize_tag("work"), "work");
        assert_eq!(normalize_tag("@ #@ work"), "work");
        assert_eq!(normalize_tag("@ @"), "");
        for tag in ["@ @work", "# #home ", " @\u{a0}@x"] {
            let once = normalize_tag(tag);
            assert_eq!(normalize_tag(&once), once, "{tag:?}");
        }
    }

    fn sample() -> Entry {
        Entry {
            id: EntryId::generate().unwrap(),
            created: 1_700_000_000_000_000,
            updated: 1_700_000_000_000_001,
            tags: vec!["work".into(), "ünï".into()],
            title: "A title".into(),
            body: "Body text\nsecond line".into(),
        }
    }

    #[test]
    fn entry_round_trips_and_every_truncation_fails() {
        let e = sample();
        let b = e.encode();
        assert_eq!(decode_entry_plaintext(&b).unwrap(), e);
        for n in 0..b.len() {
            assert!(decode_entry_plaintext(&b[..n]).is_err(), "prefix {n}");
        }
        let mut longer = b.to_vec();
        longer.push(0);
        assert_eq!(
            decode_entry_plaintext(&longer),
            Err(DecodeError::TrailingBytes)
        );
    }

    #[test]
    fn ids_are_v4_and_parse_back() {
        let id = EntryId::generate().unwrap();
        let s = id.to_string();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(EntryId::parse(&s), Some(id));
        assert_eq!(EntryId::parse(&s.to_uppercase()), Some(id));
        assert_eq!(EntryId::parse("nope"), None);
    }

    #[test]
    fn version_and_magic_are_checked() {
        let e = sample();
        let mut b = e.encode().to_vec();
        b[5] = 2;
        assert_eq!(
            decode_entry_plaintext(&b),
            Err(DecodeError::UnsupportedVersion(2))
        );
        b[0] = b'X';
        assert_eq!(decode_entry_plaintext(&b), Err(DecodeError::BadMagic));
    }
}
