//! Reading and verifying a log (no lock needed; a writer may be appending).

use std::path::Path;
use std::time::SystemTime;

use ed25519_dalek::VerifyingKey;
use secure_fs::PrivateDir;
use serde_json::{Map, Value};

use crate::anchor::Checkpoint;
use crate::error::{Error, Result};
use crate::event::Record;
use crate::format::{self, FRAME_HEADER_LEN, Kind};
use crate::keys::KeyRing;
use crate::privacy::Fingerprinter;
use crate::scan::{Start, TornTail, Walker};

/// Which records [`LogReader::records`] yields.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    since: Option<SystemTime>,
    until: Option<SystemTime>,
    types: Vec<String>,
}

impl Filter {
    /// All records.
    pub fn all() -> Filter {
        Filter::default()
    }

    /// Only records at or after `t`.
    #[must_use]
    pub fn since(mut self, t: SystemTime) -> Filter {
        self.since = Some(t);
        self
    }

    /// Only records before `t`.
    #[must_use]
    pub fn until(mut self, t: SystemTime) -> Filter {
        self.until = Some(t);
        self
    }

    /// Only records of this event type (may be given several times).
    #[must_use]
    pub fn event_type(mut self, t: impl Into<String>) -> Filter {
        self.types.push(t.into());
        self
    }

    fn matches(&self, r: &Record) -> bool {
        self.since.is_none_or(|s| r.time() >= s)
            && self.until.is_none_or(|u| r.time() < u)
            && (self.types.is_empty() || self.types.iter().any(|t| t == r.event_type()))
    }
}

/// The outcome of a successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Records verified (events and the log's own records).
    pub records: u64,
    /// Segments verified.
    pub segments: u32,
    /// First sequence number in the log (greater than 0 after pruning).
    pub first_seq: u64,
    /// Sequence number the next record will get.
    pub next_seq: u64,
    /// Chain value after the last record.
    pub chain: [u8; 32],
    /// A torn final record (a crash in mid-append, not tampering); the
    /// writer trims it on open.
    pub torn_tail: Option<TornTail>,
    /// The anchor's size, when verified against one.
    pub anchored_size: Option<u64>,
}

/// Read access to a log: verification (MAC keys only) and decrypted,
/// filtered, streaming iteration (both keys).
#[derive(Debug)]
pub struct LogReader<'k> {
    dir: PrivateDir,
    keys: &'k KeyRing,
}

impl<'k> LogReader<'k> {
    /// Opens the log in `path` for reading.
    ///
    /// # Errors
    /// File-system errors (the directory must be private: 0700, ours).
    pub fn open(path: impl AsRef<Path>, keys: &'k KeyRing) -> Result<LogReader<'k>> {
        Ok(LogReader {
            dir: PrivateDir::open(path.as_ref())?,
            keys,
        })
    }

    /// Verifies the whole log: every segment header, every record's MAC and
    /// place in the chain, epoch and segment closes, the sealed head, and
    /// the start of the log (pruned ranges must be named by a tombstone).
    /// Needs only the MAC keys.
    ///
    /// # Errors
    /// [`Error::Tampered`] with the first problem's kind and position;
    /// [`Error::MissingKey`]; [`Error::NotALog`]; I/O errors.
    pub fn verify(&self) -> Result<VerifyReport> {
        self.verify_inner(None)
    }

    /// As [`LogReader::verify`], and also checks the log against a signed
    /// checkpoint: the chain at the anchored record must be the anchored
    /// one, so removing or rewriting any record written before the anchor
    /// is detected, even together with the sealed head.
    ///
    /// # Errors
    /// As [`LogReader::verify`]; [`Error::BadAnchor`] if the checkpoint is
    /// malformed, not signed by `key`, or for another log;
    /// [`Error::AnchorPruned`] if the anchored record was pruned.
    pub fn verify_with_anchor(&self, checkpoint: &str, key: &VerifyingKey) -> Result<VerifyReport> {
        let cp = Checkpoint::verify(checkpoint, key)?;
        self.verify_inner(Some(&cp))
    }

    fn verify_inner(&self, cp: Option<&Checkpoint>) -> Result<VerifyReport> {
        let mut w = Walker::open(&self.dir, self.keys, false, Start::Full)?;
        if let Some(cp) = cp {
            if cp.log_id() != w.log_id {
                return Err(Error::BadAnchor("the checkpoint is for another log".into()));
            }
            if let Some(last) = cp.size().checked_sub(1) {
                w.set_anchor(last, cp.chain());
            }
        }
        while w.next()?.is_some() {}
        Ok(VerifyReport {
            records: w.records,
            segments: w.segments_seen,
            first_seq: w.first_seq,
            next_seq: w.next_seq,
            chain: w.chain,
            torn_tail: w.torn,
            anchored_size: cp.map(Checkpoint::size),
        })
    }

    /// Iterates the records matching `filter`, decrypted, verifying the
    /// chain as it goes. Streaming: one record in memory at a time. The
    /// iterator yields an error (and then stops) at the first problem,
    /// including the end-of-log checks after the last record.
    ///
    /// # Errors
    /// Opening: [`Error::NotALog`], [`Error::Tampered`] (first segment
    /// header), [`Error::MissingKey`], I/O errors.
    pub fn records(&self, filter: Filter) -> Result<Records<'_>> {
        let walker = Walker::open(&self.dir, self.keys, true, Start::Full)?;
        Ok(Records {
            walker,
            filter,
            done: false,
        })
    }

    /// The sequence numbers of the records that hold `text`'s fingerprint
    /// in any field: "was this exact text logged?". A fingerprint counts
    /// whether it is a whole field value ([`crate::Event::with_fingerprint`])
    /// or inside the note the sanitizer leaves on a truncated value
    /// (`…[truncated: N bytes, fp1:…]`, with a
    /// [`Sanitizer::fingerprinter`](crate::Sanitizer::fingerprinter) using
    /// the same key).
    ///
    /// # Errors
    /// As [`LogReader::records`] and its items.
    pub fn find_fingerprint(&self, fingerprinter: &Fingerprinter, text: &str) -> Result<Vec<u64>> {
        let needle = fingerprinter.fingerprint(text).to_string();
        let mut found = Vec::new();
        for r in self.records(Filter::all())? {
            let r = r?;
            if r.fields().values().any(|v| contains(v, &needle)) {
                found.push(r.seq());
            }
        }
        Ok(found)
    }
}

/// Whether a string in `v` is the fingerprint `needle`, or a truncated
/// value whose note ends with it (`…[truncated: N bytes, fp1:…]`). Nothing
/// else counts: a text that merely quotes a fingerprint is not a match.
fn contains(v: &Value, needle: &str) -> bool {
    match v {
        Value::Array(a) => a.iter().any(|x| contains(x, needle)),
        Value::Object(m) => m.values().any(|x| contains(x, needle)),
        Value::String(s) => s == needle || truncation_note_names(s, needle),
        _ => false,
    }
}

/// Whether `s` ends with the sanitizer's truncation note carrying the
/// fingerprint `needle`: `…[truncated: N bytes, <needle>]`.
fn truncation_note_names(s: &str, needle: &str) -> bool {
    let Some(rest) = s
        .strip_suffix(']')
        .and_then(|r| r.strip_suffix(needle))
        .and_then(|r| r.strip_suffix(" bytes, "))
    else {
        return false;
    };
    let digits = rest.len() - rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    digits > 0 && rest[..rest.len() - digits].ends_with("…[truncated: ")
}

/// Iterator over decrypted records; see [`LogReader::records`].
pub struct Records<'r> {
    walker: Walker<'r>,
    filter: Filter,
    done: bool,
}

impl std::fmt::Debug for Records<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl Records<'_> {
    fn decode_current(&self, seq: u64, kind: Kind) -> Result<Option<Record>> {
        let w = &self.walker;
        let body = &w.buf[FRAME_HEADER_LEN..w.buf.len() - format::MAC_LEN];
        let bad = || {
            Error::tamper(
                crate::error::TamperKind::ModifiedBytes,
                w.segment(),
                w.frame_offset,
                Some(seq),
            )
        };
        Ok(match kind {
            Kind::Close => None,
            Kind::Event => {
                let pt = w.decrypt_current()?;
                Some(Record::decode(seq, &pt).ok_or_else(bad)?)
            }
            Kind::Recovered => {
                let mut m = Map::new();
                m.insert("segment".into(), format::le_u32(body, 8).into());
                m.insert("offset".into(), format::le_u64(body, 12).into());
                m.insert("bytes".into(), format::le_u64(body, 20).into());
                Some(Record::system(
                    seq,
                    "audit.recovered",
                    format::le_u64(body, 0),
                    m,
                ))
            }
            Kind::Pruned => {
                let (t, from, through, segs) = format::decode_pruned(body).ok_or_else(bad)?;
                let mut m = Map::new();
                m.insert("from_seq".into(), from.into());
                m.insert("through_seq".into(), through.into());
                let list: Vec<Value> = segs
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "segment": s.segment,
                            "key_version": s.key_version,
                            "first_seq": s.first_seq,
                            "last_seq": s.last_seq,
                            "last_mac": data_encoding::HEXLOWER.encode(&s.last_mac),
                        })
                    })
                    .collect();
                m.insert("segments".into(), Value::Array(list));
                Some(Record::system(seq, "audit.pruned", t, m))
            }
        })
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        while !self.done {
            let item = match self.walker.next() {
                Ok(Some(item)) => item,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            match self.decode_current(item.seq, item.kind) {
                Ok(Some(r)) if self.filter.matches(&r) => return Some(Ok(r)),
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}
