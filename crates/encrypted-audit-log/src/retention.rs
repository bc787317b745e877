//! Retention: pruning whole old segments behind a signed, cumulative
//! tombstone, after verifying the log from its start.
//!
//! Order of a prune (each step synced before the next): verify everything
//! from the log's start (refuse on any problem); append the tombstone and
//! seal it; write the seal-chain file (the pruned epochs' seals, which
//! carry the key certifications from the verification key to the first
//! epoch kept); securely delete the pruned segments; rewrite the head. A
//! crash anywhere leaves a log that verifies: segments named by a
//! tombstone may still be present, and the seal chain may run past the
//! first segment present.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use secure_fs::DeleteOptions;

use crate::error::{Error, Result};
use crate::format::{self, Kind, PrunedRange, SEALS_FILE, SEALS_HEADER_LEN, Tombstone};
use crate::log::AuditLog;
use crate::walk::{self, WalkOptions, Walker};
use crate::writer::Writer;

/// What a prune removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PruneReport {
    /// The range this prune removed (`None`: nothing was old enough).
    pub range: Option<PrunedRange>,
    /// Sequence number of the tombstone record.
    pub tombstone_seq: Option<u64>,
    /// Whether the file system let the secure delete overwrite the old
    /// blocks (false on copy-on-write file systems and SSD-backed ones it
    /// recognises). The records were encrypted under epoch keys that no
    /// longer exist anywhere but in the holder of the [`ReadKey`].
    ///
    /// [`ReadKey`]: crate::ReadKey
    pub overwrite_reliable: bool,
}

/// Per-segment facts gathered by the verifying walk.
#[derive(Debug, Default)]
struct SegmentFacts {
    first_seq: Option<u64>,
    last_seq: u64,
    last_seal_ns: Option<u64>,
    /// The segment's seal frames, whole.
    seals: Vec<Vec<u8>>,
    /// Whether the last record is a seal.
    ends_sealed: bool,
}

impl AuditLog {
    /// Prunes the oldest whole segments whose every record was sealed
    /// before `cutoff`. The cutoff may not be inside the retention period
    /// (`now - retention`, the period fixed at creation): pruning early is
    /// what a verifier reports as tampering. The log is verified from its
    /// start first; the tombstone names every range pruned since genesis
    /// and is sealed (signed) before anything is deleted. The current
    /// segment is never pruned.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a cutoff inside the retention period;
    /// [`Error::Tampered`] if the log does not verify (nothing is pruned);
    /// [`Error::Poisoned`]; I/O errors.
    pub fn prune_before(&self, cutoff: SystemTime) -> Result<PruneReport> {
        self.lock()?.prune_before(cutoff)
    }

    /// Prunes what the retention period allows: `prune_before(now - retention)`.
    ///
    /// # Errors
    /// As [`AuditLog::prune_before`].
    pub fn apply_retention(&self) -> Result<PruneReport> {
        let mut w = self.lock()?;
        let cutoff = w
            .wall_now()
            .checked_sub(Duration::from_secs(w.retention_secs))
            .unwrap_or(std::time::UNIX_EPOCH);
        w.prune_before(cutoff)
    }
}

/// What a prune will remove, found by a verifying walk.
#[derive(Debug)]
pub(crate) struct PrunePlan {
    pub(crate) chosen: Vec<u32>,
    pub(crate) range: PrunedRange,
    pub(crate) seal_frames: Vec<Vec<u8>>,
}

impl Writer {
    pub(crate) fn prune_before(&mut self, cutoff: SystemTime) -> Result<PruneReport> {
        let allowed = self
            .wall_now()
            .checked_sub(Duration::from_secs(self.retention_secs))
            .unwrap_or(std::time::UNIX_EPOCH);
        if cutoff > allowed {
            return Err(Error::InvalidInput(format!(
                "the cutoff is inside the retention period of {} s fixed at creation",
                self.retention_secs
            )));
        }
        match self.plan_prune(format::nanos(cutoff))? {
            None => Ok(PruneReport::default()),
            Some(plan) => self.execute_prune(plan, None),
        }
    }

    /// Verifies the log from its start and picks the oldest whole
    /// segments whose last seal is before `cutoff_ns` (never the current
    /// one). No policy here: `prune_before` checks the retention period.
    pub(crate) fn plan_prune(&mut self, cutoff_ns: u64) -> Result<Option<PrunePlan>> {
        let _ = self.flush_pending()?;
        let opts = WalkOptions {
            expect_log_id: Some(self.log_id),
            expect_key: Some(self.verifying_key),
            now: self.wall_now(),
        };
        let mut facts: BTreeMap<u32, SegmentFacts> = BTreeMap::new();
        let mut walker = Walker::start(&self.dir, opts)?;
        while let Some(step) = walker.next_step()? {
            let f = facts.entry(step.segment).or_default();
            let _ = f.first_seq.get_or_insert(step.frame.seq);
            f.last_seq = step.frame.seq;
            f.ends_sealed = step.kind == Kind::Seal;
            if step.kind == Kind::Seal {
                f.last_seal_ns = format::Seal::parse(step.frame.body).map(|s| s.time_ns);
                let mut whole = step.frame.covered.to_vec();
                whole.extend_from_slice(&step.frame.chain);
                f.seals.push(whole);
            }
        }
        let first_seq = walker.summary.first_seq;
        drop(walker);
        let mut chosen: Vec<u32> = Vec::new();
        for (&seg, f) in &facts {
            if seg >= self.segment
                || !f.ends_sealed
                || f.last_seal_ns.is_none_or(|t| t >= cutoff_ns)
            {
                break;
            }
            chosen.push(seg);
        }
        let (Some(&first), Some(&last)) = (chosen.first(), chosen.last()) else {
            return Ok(None);
        };
        let range = PrunedRange {
            first_segment: first,
            last_segment: last,
            first_seq: facts[&first].first_seq.unwrap_or(first_seq),
            last_seq: facts[&last].last_seq,
            sealed_ns: facts[&last].last_seal_ns.unwrap_or(0),
            pruned_ns: 0,
        };
        let seal_frames = chosen
            .iter()
            .flat_map(|s| facts[s].seals.iter().cloned())
            .collect();
        Ok(Some(PrunePlan {
            chosen,
            range,
            seal_frames,
        }))
    }

    /// Writes the tombstone (or `forged`, in tests) and seals it, writes
    /// the seal chain, deletes the segments, rewrites the head.
    pub(crate) fn execute_prune(
        &mut self,
        plan: PrunePlan,
        forged: Option<Tombstone>,
    ) -> Result<PruneReport> {
        let PrunePlan {
            chosen,
            mut range,
            seal_frames,
        } = plan;
        let mut ranges = self
            .tombstone
            .as_ref()
            .map(|t| t.ranges.clone())
            .unwrap_or_default();
        if ranges.len() >= format::MAX_RANGES {
            return Err(Error::InvalidInput(
                "too many pruned ranges for one tombstone".into(),
            ));
        }
        let (genesis_ns, retention_secs) = (self.genesis_ns, self.retention_secs);
        // Dated when written (after a seal of a full epoch, if any).
        let mut written = None;
        let seq = self.system_record(Kind::Tombstone, |time_ns| {
            range.pruned_ns = time_ns;
            ranges.push(range);
            let t = forged.unwrap_or(Tombstone {
                time_ns,
                genesis_ns,
                retention_secs,
                ranges,
            });
            let body = t.encode();
            written = Some(t);
            body
        })?;
        self.tombstone = written;
        let _ = self.seal_epoch()?;

        // The seal chain: the verified entries before the first segment
        // present, then the seals of the pruned segments.
        let mut seals = Vec::new();
        if let Some(old) = walk::read_bounded(&self.dir, SEALS_FILE, format::MAX_WHOLE_FILE)? {
            let mut at = SEALS_HEADER_LEN;
            seals.extend_from_slice(&old[..SEALS_HEADER_LEN.min(old.len())]);
            while at + 4 <= old.len() {
                let len = format::le_u32(&old, at) as usize + 4;
                if at + len > old.len() || format::le_u64(&old, at + 9) >= range.first_seq {
                    break;
                }
                seals.extend_from_slice(&old[at..at + len]);
                at += len;
            }
        } else {
            seals.extend_from_slice(&format::seals_header(&self.log_id));
        }
        for s in &seal_frames {
            seals.extend_from_slice(s);
        }
        self.dir.write_atomic(SEALS_FILE, &seals)?;

        let mut reliable = true;
        for seg in &chosen {
            let rep = self
                .dir
                .secure_delete(format::segment_file_name(*seg), &DeleteOptions::new())?;
            reliable &= rep.overwrite_reliable();
        }
        self.dir.sync()?;
        self.first_seq = range.last_seq + 1;
        self.write_head()?;
        Ok(PruneReport {
            range: Some(range),
            tombstone_seq: Some(seq),
            overwrite_reliable: reliable,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    //! Retention with the writer's clock moved forward (no test waits for
    //! a retention period to pass), and the laundering attack of issue 11.

    use super::*;
    use crate::error::TamperKind;
    use crate::keys::StateKey;
    use crate::options::Options;
    use crate::read::{Filter, LogReader};
    use crate::{Created, Event};

    const DAY: Duration = Duration::from_secs(86_400);

    fn key() -> StateKey {
        StateKey::from_bytes([0x33; 32])
    }

    /// An open log, retention 1 day, epochs of 2 records, segments rolling
    /// at the first seal past 300 bytes: several segments of sealed epochs.
    fn log(dir: &std::path::Path) -> (AuditLog, Created) {
        let o = Options::default()
            .epoch(2, Duration::from_secs(3600))
            .segment_limits(300, DAY)
            .retention(DAY);
        let (log, created) = AuditLog::create(dir, &key(), o).unwrap();
        for i in 0..10u64 {
            let _ = log.append(&Event::new("t.e").with("i", i)).unwrap();
        }
        let _ = log.seal().unwrap();
        (log, created)
    }

    fn segments(dir: &std::path::Path) -> Vec<u32> {
        let d = secure_fs::PrivateDir::open(dir).unwrap();
        walk::list_segments(&d).unwrap()
    }

    fn verify_at(
        dir: &std::path::Path,
        c: &Created,
        now: SystemTime,
    ) -> Result<crate::VerifyReport> {
        LogReader::open(dir, &c.verifying_key)
            .unwrap()
            .clock(now)
            .verify()
    }

    #[test]
    fn pruning_after_the_retention_period_verifies_and_reads() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let (log, c) = log(&dir);
        let before = segments(&dir);
        assert!(before.len() >= 3, "{before:?}");
        // Inside the retention period: refused.
        assert!(matches!(
            log.prune_before(SystemTime::now()),
            Err(Error::InvalidInput(_))
        ));
        assert_eq!(log.apply_retention().unwrap(), PruneReport::default());
        log.lock().unwrap().clock_offset = 2 * DAY;
        let rep = log.apply_retention().unwrap();
        let range = rep.range.unwrap();
        assert_eq!(range.first_segment, 1);
        assert!(segments(&dir)[0] > 1);
        let later = SystemTime::now() + 2 * DAY + Duration::from_secs(60);
        let v = verify_at(&dir, &c, later).unwrap();
        assert_eq!(v.first_seq, range.last_seq + 1);
        // A second prune: the tombstone is cumulative.
        for i in 0..6u64 {
            let _ = log.append(&Event::new("t.e").with("i", 100 + i)).unwrap();
        }
        let _ = log.seal().unwrap();
        log.lock().unwrap().clock_offset = 4 * DAY;
        let rep2 = log.apply_retention().unwrap();
        assert_eq!(rep2.range.unwrap().first_seq, range.last_seq + 1);
        assert_eq!(
            log.lock().unwrap().tombstone.as_ref().unwrap().ranges.len(),
            2
        );
        for i in 0..3u64 {
            let _ = log.append(&Event::new("t.e").with("i", 200 + i)).unwrap();
        }
        drop(log);
        let later = later + 2 * DAY;
        verify_at(&dir, &c, later).unwrap();
        // Records after the pruned epochs decrypt (keys step forward).
        let n = LogReader::open(&dir, &c.verifying_key)
            .unwrap()
            .clock(later)
            .records(&c.read_key, Filter::all().event_type("t.e"))
            .unwrap()
            .filter(|r| r.as_ref().is_ok_and(|r| r.event_type() == "t.e"))
            .count();
        assert!(n >= 3, "{n}");
        // A verifier whose clock is before the tombstones: from the future.
        let e = verify_at(&dir, &c, SystemTime::now()).unwrap_err();
        assert_eq!(e.tamper_report().unwrap().kind, TamperKind::BadTombstone);
    }

    /// A prune when the current epoch is full: the epoch is sealed first,
    /// and the tombstone is dated after that seal (it used to carry a time
    /// from before it, which verification reported as a bad tombstone).
    #[test]
    fn a_prune_right_after_a_full_epoch_verifies() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let (log, c) = log(&dir);
        for i in 0..2u64 {
            let _ = log.append(&Event::new("t.e").with("i", 100 + i)).unwrap();
        }
        assert!(log.lock().unwrap().epoch_due(), "the epoch is full");
        log.lock().unwrap().clock_offset = 2 * DAY;
        let rep = log.apply_retention().unwrap();
        assert!(rep.range.is_some());
        drop(log);
        let later = SystemTime::now() + 2 * DAY + Duration::from_secs(60);
        let v = verify_at(&dir, &c, later).unwrap();
        assert_eq!(v.unsealed_records, 0);
        assert_eq!(v.first_seq, rep.range.unwrap().last_seq + 1);
    }

    /// Issue 11's laundering attack: delete segment 1, let the owner's
    /// retention run, verify. v1 ended with `verify()` Ok; now the owner's
    /// prune refuses (it verifies from the start) and verification reports
    /// the missing segment before and after.
    #[test]
    fn deleting_a_segment_then_pruning_cannot_launder_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let (log, c) = log(&dir);
        std::fs::remove_file(dir.join(format::segment_file_name(1))).unwrap();
        let later = SystemTime::now() + 2 * DAY;
        let missing = |r: Result<crate::VerifyReport>| {
            matches!(
                r.unwrap_err().tamper_report().map(|t| t.kind.clone()),
                Some(TamperKind::MissingSegment { .. })
            )
        };
        assert!(missing(verify_at(&dir, &c, later)));
        log.lock().unwrap().clock_offset = 2 * DAY;
        let e = log.apply_retention().unwrap_err();
        assert!(matches!(
            e.tamper_report().unwrap().kind,
            TamperKind::MissingSegment { .. }
        ));
        assert!(segments(&dir).contains(&2), "nothing was pruned");
        drop(log);
        assert!(missing(verify_at(&dir, &c, later)));
        // And the log does not even open for the owner.
        assert!(AuditLog::open(&dir, &key(), Options::default()).is_err());
    }

    /// A thief holding the current key prunes early with a well-formed,
    /// signed tombstone: reported as `PrunedEarly`. With a tombstone that
    /// lies about when the pruned records were sealed, the seal chain tells
    /// the truth: `PrunedEarly` again.
    #[test]
    fn an_early_prune_by_a_key_holder_is_reported() {
        for lie in [false, true] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("log");
            let (log, c) = log(&dir);
            let mut w = log.lock().unwrap();
            let plan = w.plan_prune(u64::MAX).unwrap().unwrap();
            let forged = lie.then(|| {
                let now = format::nanos(SystemTime::now());
                Tombstone {
                    time_ns: now,
                    genesis_ns: w.genesis_ns,
                    retention_secs: w.retention_secs,
                    ranges: vec![PrunedRange {
                        sealed_ns: 0,
                        pruned_ns: now,
                        ..plan.range
                    }],
                }
            });
            let _ = w.execute_prune(plan, forged).unwrap();
            drop(w);
            drop(log);
            let e = verify_at(&dir, &c, SystemTime::now()).unwrap_err();
            assert!(
                matches!(
                    e.tamper_report().unwrap().kind,
                    TamperKind::PrunedEarly { .. }
                ),
                "lie={lie}: {e}"
            );
        }
    }

    /// The complaint of issue 11: a forged tombstone turned an anchored
    /// record's `AnchorMismatch` into `AnchorPruned`. An early prune by a
    /// key holder is now tampering, also against an anchor; a lawful prune
    /// of anchored history is `AnchorPruned`.
    #[test]
    fn an_anchored_record_pruned_early_is_tampering() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let (first, c) = log(&dir);
        let ak = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let cp = first.anchor(&ak, "elsewhere").unwrap();
        for i in 0..6u64 {
            let _ = first.append(&Event::new("t.e").with("i", i)).unwrap();
        }
        let _ = first.seal().unwrap();
        // Early: everything but the current segment, now.
        let tmp2 = tempfile::tempdir().unwrap();
        {
            let mut w = first.lock().unwrap();
            let plan = w.plan_prune(u64::MAX).unwrap().unwrap();
            assert!(
                plan.range.last_seq >= cp.size() - 1,
                "the anchored record is pruned"
            );
            let _ = w.execute_prune(plan, None).unwrap();
        }
        drop(first);
        let r = LogReader::open(&dir, &c.verifying_key).unwrap();
        let e = r
            .verify_with_anchor(cp.text(), &ak.verifying_key())
            .unwrap_err();
        assert!(
            matches!(
                e.tamper_report().map(|t| &t.kind),
                Some(TamperKind::PrunedEarly { .. })
            ),
            "{e}"
        );
        // Lawful (the verifier's clock and the prune two days on): AnchorPruned.
        let dir2 = tmp2.path().join("lawful");
        let (log2, c2) = log(&dir2);
        let cp2 = log2.anchor(&ak, "elsewhere").unwrap();
        for i in 0..6u64 {
            let _ = log2.append(&Event::new("t.e").with("i", i)).unwrap();
        }
        let _ = log2.seal().unwrap();
        log2.lock().unwrap().clock_offset = 2 * DAY;
        let rep = log2.apply_retention().unwrap();
        assert!(rep.range.unwrap().last_seq >= cp2.size() - 1);
        drop(log2);
        let later = SystemTime::now() + 2 * DAY + Duration::from_secs(60);
        let r2 = LogReader::open(&dir2, &c2.verifying_key)
            .unwrap()
            .clock(later);
        assert!(matches!(
            r2.verify_with_anchor(cp2.text(), &ak.verifying_key()),
            Err(Error::AnchorPruned { .. })
        ));
    }

    /// A later tombstone that drops a range named by an earlier one (not
    /// cumulative) is reported.
    #[test]
    fn a_tombstone_must_be_cumulative() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let (log, c) = log(&dir);
        log.lock().unwrap().clock_offset = 2 * DAY;
        let _ = log.apply_retention().unwrap();
        for i in 0..6u64 {
            let _ = log.append(&Event::new("t.e").with("i", i)).unwrap();
        }
        let _ = log.seal().unwrap();
        let mut w = log.lock().unwrap();
        let plan = w.plan_prune(u64::MAX).unwrap().unwrap();
        let t = w.now_ns();
        let forged = Tombstone {
            time_ns: t,
            genesis_ns: w.genesis_ns,
            retention_secs: w.retention_secs,
            ranges: vec![PrunedRange {
                pruned_ns: t,
                ..plan.range
            }],
        };
        let _ = w.execute_prune(plan, Some(forged)).unwrap();
        drop(w);
        drop(log);
        let later = SystemTime::now() + 2 * DAY + Duration::from_secs(60);
        let e = verify_at(&dir, &c, later).unwrap_err();
        assert_eq!(e.tamper_report().unwrap().kind, TamperKind::BadTombstone);
    }
}
