//! Reading and verifying a log with its public key (no lock needed; a
//! writer may be appending), and decrypting with the read key.

use std::path::Path;
use std::time::SystemTime;

use aes_gcm::Aes256Gcm;
use ed25519_dalek::VerifyingKey;
use secure_fs::PrivateDir;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::anchor::Checkpoint;
use crate::error::{Error, Result, TamperKind};
use crate::event::Record;
use crate::format::{self, Kind, NONCE_LEN, TAG_LEN};
use crate::keys::{self, ReadKey};
use crate::privacy::Fingerprinter;
use crate::walk::{QuarantineEvent, SealedUntil, Summary, TornTail, WalkOptions, Walker};

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
    /// The log's id.
    pub log_id: [u8; 16],
    /// First sequence number in the log (greater than 0 after pruning).
    pub first_seq: u64,
    /// Sequence number the next record will get.
    pub next_seq: u64,
    /// How far the log is sealed: every record up to this seal is signed
    /// by a key certified from the verification key, and so cannot be
    /// changed by anyone who broke in later. `None` before the first seal.
    pub sealed: Option<SealedUntil>,
    /// Records after the last seal (the unsealed tail). Those up to the
    /// signed head are signed by the current epoch's key, which a thief of
    /// the writer's current state holds; the rest only by the chain.
    pub unsealed_records: u64,
    /// Records past the signed head's point (at most one head interval of
    /// appends: a power loss may remove them without a trace).
    pub past_head_records: u64,
    /// A torn final record (a crash in mid-append, not tampering); the
    /// writer trims it on open.
    pub torn_tail: Option<TornTail>,
    /// Segments present.
    pub segments: u32,
    /// The log went through these quarantines (`recover_after_tamper`):
    /// tampered at a position, quarantined, continued.
    pub quarantines: Vec<QuarantineEvent>,
    /// The anchor's size, when verified against one.
    pub anchored_size: Option<u64>,
}

impl VerifyReport {
    fn from_summary(s: &Summary, anchored_size: Option<u64>) -> VerifyReport {
        let sealed_next = s.sealed.map_or(s.first_seq, |x| x.seq + 1);
        let head_next = s.head.as_ref().map_or(s.first_seq, |h| h.next_seq);
        VerifyReport {
            log_id: s.log_id,
            first_seq: s.first_seq,
            next_seq: s.state.next_seq,
            sealed: s.sealed,
            unsealed_records: s.state.next_seq.saturating_sub(sealed_next),
            past_head_records: s.state.next_seq.saturating_sub(head_next),
            torn_tail: s.torn,
            segments: u32::try_from(s.segments.len()).unwrap_or(u32::MAX),
            quarantines: s.quarantines.clone(),
            anchored_size,
        }
    }
}

/// Read access to a log: verification with the public key alone, and
/// decrypted, filtered, streaming iteration with the [`ReadKey`].
#[derive(Debug)]
pub struct LogReader {
    dir: PrivateDir,
    key: VerifyingKey,
    now: Option<SystemTime>,
}

impl LogReader {
    /// Opens the log in `path` for reading, to be checked against `key`,
    /// the log's public verification key (from
    /// [`Created::verifying_key`](crate::Created), kept where the writer
    /// cannot change it). A log whose key differs is reported as
    /// [`TamperKind::SplicedFromAnotherLog`].
    ///
    /// # Errors
    /// File-system errors (the directory must be private: 0700, ours).
    pub fn open(path: impl AsRef<Path>, key: &VerifyingKey) -> Result<LogReader> {
        Ok(LogReader {
            dir: PrivateDir::open(path.as_ref())?,
            key: *key,
            now: None,
        })
    }

    /// The verifier's clock (default: the system clock), used to refuse
    /// tombstones dated in the future.
    #[must_use]
    pub fn clock(mut self, now: SystemTime) -> LogReader {
        self.now = Some(now);
        self
    }

    fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            expect_log_id: None,
            expect_key: Some(self.key),
            now: self.now.unwrap_or_else(SystemTime::now),
        }
    }

    /// Verifies the whole log with the public key alone: every segment
    /// header, every record's place in the hash chain, every seal's
    /// signature (Ed25519, strict) and the key it certifies, the signed
    /// head, tombstones (signed, cumulative, in order, not early) and the
    /// seal chain of pruned epochs. Reports how far it is sealed and the
    /// unsealed tail separately.
    ///
    /// # Errors
    /// [`Error::Tampered`] with the first problem's kind and position;
    /// [`Error::NotALog`]; [`Error::UnsupportedVersion`]; I/O errors.
    pub fn verify(&self) -> Result<VerifyReport> {
        let s = crate::walk::verify_dir(&self.dir, self.walk_options())?;
        Ok(VerifyReport::from_summary(&s, None))
    }

    /// As [`LogReader::verify`], and also checks the log against a signed
    /// checkpoint: the chain at the anchored record must be the anchored
    /// one, so rolling the whole log back to an older state is detected.
    ///
    /// # Errors
    /// As [`LogReader::verify`]; [`Error::BadAnchor`] if the checkpoint is
    /// malformed, not signed by `anchor_key`, or for another log or key;
    /// [`Error::AnchorPruned`] if the anchored record was (lawfully) pruned.
    pub fn verify_with_anchor(
        &self,
        checkpoint: &str,
        anchor_key: &VerifyingKey,
    ) -> Result<VerifyReport> {
        let cp = Checkpoint::verify(checkpoint, anchor_key)?;
        if cp.verifying_key()? != self.key {
            return Err(Error::BadAnchor(
                "the checkpoint is for another log key".into(),
            ));
        }
        let mut w = Walker::start(&self.dir, self.walk_options())?;
        if cp.log_id() != w.summary.log_id {
            return Err(Error::BadAnchor("the checkpoint is for another log".into()));
        }
        let Some(last) = cp.size().checked_sub(1) else {
            return Ok(VerifyReport::from_summary(&w.run()?, Some(0)));
        };
        let mut matched = false;
        while let Some(step) = w.next_step()? {
            if step.frame.seq == last {
                if step.frame.chain != cp.chain() {
                    let (seg, off) = (step.segment, step.offset);
                    return Err(Error::tamper(
                        TamperKind::AnchorMismatch { seq: last },
                        seg,
                        off,
                        Some(last),
                    ));
                }
                matched = true;
            }
        }
        let s = &w.summary;
        if !matched {
            if last < s.first_seq {
                return Err(Error::AnchorPruned { seq: last });
            }
            return Err(Error::tamper(
                TamperKind::Truncated {
                    expected_last: last,
                    found_last: s.state.next_seq.checked_sub(1),
                },
                s.last_segment,
                s.end_offset,
                Some(s.state.next_seq),
            ));
        }
        Ok(VerifyReport::from_summary(s, Some(cp.size())))
    }

    /// Iterates the records matching `filter`, decrypted with `key`,
    /// verifying as it goes (the same checks as [`LogReader::verify`]).
    /// Streaming: one record in memory at a time. The iterator yields an
    /// error (and then stops) at the first problem, including the
    /// end-of-log checks after the last record.
    ///
    /// # Errors
    /// Opening: [`Error::NotALog`], [`Error::Tampered`] (head, start of the
    /// log), I/O errors.
    pub fn records<'r>(&'r self, key: &ReadKey, filter: Filter) -> Result<Records<'r>> {
        let walker = Walker::start(&self.dir, self.walk_options())?;
        let first_epoch = walker.summary.state.epoch;
        let mut seed = key.seed();
        for _ in 0..first_epoch {
            seed = keys::evolve(&seed);
        }
        let cipher = keys::record_cipher(&seed, &walker.summary.log_id);
        Ok(Records {
            walker,
            filter,
            seed,
            epoch: first_epoch,
            cipher,
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
    pub fn find_fingerprint(
        &self,
        key: &ReadKey,
        fingerprinter: &Fingerprinter,
        text: &str,
    ) -> Result<Vec<u64>> {
        let needle = fingerprinter.fingerprint(text).to_string();
        let mut found = Vec::new();
        for r in self.records(key, Filter::all())? {
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
    seed: Zeroizing<[u8; 32]>,
    epoch: u32,
    cipher: Aes256Gcm,
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
    fn next_record(&mut self) -> Result<Option<Record>> {
        loop {
            let log_id = self.walker.summary.log_id;
            let Some(step) = self.walker.next_step()? else {
                return Ok(None);
            };
            let f = step.frame;
            let seq = f.seq;
            let body = f.body;
            let bad = || {
                Error::tamper(
                    TamperKind::ModifiedBytes,
                    step.segment,
                    step.offset,
                    Some(seq),
                )
            };
            let rec = match step.kind {
                Kind::Seal => continue,
                Kind::Event => {
                    while self.epoch < f.epoch {
                        self.seed = keys::evolve(&self.seed);
                        self.epoch += 1;
                        self.cipher = keys::record_cipher(&self.seed, &log_id);
                    }
                    let aad = format::event_aad(&log_id, f.header);
                    let ct_end = body.len() - TAG_LEN;
                    let mut pt = Zeroizing::new(body[NONCE_LEN..ct_end].to_vec());
                    keys::open_in_place(
                        &self.cipher,
                        &body[..NONCE_LEN],
                        &aad,
                        &mut pt,
                        &body[ct_end..],
                    )?;
                    Record::decode(seq, &pt).ok_or_else(bad)?
                }
                Kind::Recovered => {
                    let r = format::RecoveredBody::parse(body).ok_or_else(bad)?;
                    let mut m = Map::new();
                    m.insert("segment".into(), r.segment.into());
                    m.insert("offset".into(), r.offset.into());
                    m.insert("bytes".into(), r.bytes.into());
                    Record::system(seq, "audit.recovered", r.time_ns, m)
                }
                Kind::Tombstone => {
                    let t = format::Tombstone::parse(body).ok_or_else(bad)?;
                    let mut m = Map::new();
                    m.insert("retention_secs".into(), t.retention_secs.into());
                    let list: Vec<Value> = t
                        .ranges
                        .iter()
                        .map(|r| {
                            serde_json::json!({
                                "first_segment": r.first_segment,
                                "last_segment": r.last_segment,
                                "first_seq": r.first_seq,
                                "last_seq": r.last_seq,
                                "sealed": crate::event::rfc3339(format::from_nanos(r.sealed_ns)),
                                "pruned": crate::event::rfc3339(format::from_nanos(r.pruned_ns)),
                            })
                        })
                        .collect();
                    m.insert("ranges".into(), Value::Array(list));
                    Record::system(seq, "audit.pruned", t.time_ns, m)
                }
                Kind::Quarantine => {
                    let q = format::QuarantineBody::parse(body).ok_or_else(bad)?;
                    let mut m = Map::new();
                    m.insert("tamper_kind".into(), q.kind.into());
                    m.insert("segment".into(), q.segment.into());
                    m.insert("offset".into(), q.offset.into());
                    m.insert("seq".into(), q.seq.into());
                    m.insert("continued_at".into(), q.resume_seq.into());
                    let files: Vec<Value> = q
                        .files
                        .iter()
                        .map(|(s, h)| serde_json::json!({"segment": s, "sha256": data_encoding::HEXLOWER.encode(h)}))
                        .collect();
                    m.insert("files".into(), Value::Array(files));
                    Record::system(seq, "audit.quarantined", q.time_ns, m)
                }
            };
            if self.filter.matches(&rec) {
                return Ok(Some(rec));
            }
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
