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
        let cutoff = SystemTime::now()
            .checked_sub(Duration::from_secs(w.retention_secs))
            .unwrap_or(std::time::UNIX_EPOCH);
        w.prune_before(cutoff)
    }
}

impl Writer {
    pub(crate) fn prune_before(&mut self, cutoff: SystemTime) -> Result<PruneReport> {
        let now = SystemTime::now();
        let allowed = now
            .checked_sub(Duration::from_secs(self.retention_secs))
            .unwrap_or(std::time::UNIX_EPOCH);
        if cutoff > allowed {
            return Err(Error::InvalidInput(format!(
                "the cutoff is inside the retention period of {} s fixed at creation",
                self.retention_secs
            )));
        }
        let _ = self.flush_pending()?;
        // Verify from the start, gathering what the tombstone and the seal
        // chain need. Anything wrong: refuse, prune nothing.
        let opts = WalkOptions {
            expect_log_id: Some(self.log_id),
            expect_key: Some(self.verifying_key),
            now,
        };
        let mut facts: BTreeMap<u32, SegmentFacts> = BTreeMap::new();
        let mut walker = Walker::start(&self.dir, opts)?;
        while let Some(step) = walker.next_step()? {
            let f = facts.entry(step.segment).or_default();
            f.first_seq.get_or_insert(step.frame.seq);
            f.last_seq = step.frame.seq;
            f.ends_sealed = step.kind == Kind::Seal;
            if step.kind == Kind::Seal {
                f.last_seal_ns = format::Seal::parse(step.frame.body).map(|s| s.time_ns);
                let mut whole = step.frame.covered.to_vec();
                whole.extend_from_slice(&step.frame.chain);
                f.seals.push(whole);
            }
        }
        let first_segment = walker.summary.first_segment;
        let first_seq = walker.summary.first_seq;
        drop(walker);

        let cutoff_ns = format::nanos(cutoff);
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
            return Ok(PruneReport::default());
        };
        let last_facts = &facts[&last];
        let time_ns = self.now_ns();
        let range = PrunedRange {
            first_segment: first,
            last_segment: last,
            first_seq: facts[&first].first_seq.unwrap_or(first_seq),
            last_seq: last_facts.last_seq,
            sealed_ns: last_facts.last_seal_ns.unwrap_or(0),
            pruned_ns: time_ns,
        };
        debug_assert_eq!(first, first_segment);
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
        ranges.push(range);
        let tombstone = Tombstone {
            time_ns,
            genesis_ns: self.genesis_ns,
            retention_secs: self.retention_secs,
            ranges,
        };
        let seq = self.system_record(Kind::Tombstone, &tombstone.encode())?;
        self.tombstone = Some(tombstone);
        let _ = self.seal_epoch()?;

        // The seal chain: the verified entries before the first segment
        // present, then the seals of the pruned segments.
        let mut seals = Vec::new();
        if let Some(old) = walk::read_bounded(&self.dir, SEALS_FILE, usize::MAX >> 1)? {
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
        for seg in &chosen {
            for s in &facts[seg].seals {
                seals.extend_from_slice(s);
            }
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
