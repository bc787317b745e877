//! The one walk through a log, with nothing but its public verification
//! key: segment headers, the hash chain, seals and their signatures, the
//! key certifications, tombstones, the signed head, and the torn tail.
//! `open`, `verify`, `records` and `prune` all go through it, so there is
//! one place that decides what is valid.

use std::fs::File;
use std::io::{BufReader, Read};
use std::time::{Duration, SystemTime};

use ed25519_dalek::{Signature, VerifyingKey};
use secure_fs::{Access, PrivateDir};

use crate::error::{Error, Result, TamperKind};
use crate::format::{
    self, CHAIN_LEN, FrameView, HEAD_FILE, HEAD_LEN, Head, HeaderError, Kind, MAX_FRAME_LEN,
    MIN_FRAME_LEN, NONCE_BUDGET, NONCE_LEN, QuarantineBody, SEALS_FILE, SEALS_HEADER_LEN,
    SEGMENT_HEADER_LEN, Seal, SegmentHeader, TAG_LEN, Tombstone,
};

/// Position code of the seal-chain file in [`crate::Position::segment`].
pub(crate) const SEALS_POSITION: u32 = u32::MAX;

/// How far clocks may disagree before a tombstone "from the future" is
/// reported (writer and verifier are often different machines).
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// A torn final record: bytes after the last complete record of the last
/// segment, past the signed head's point, left by a crash. Not tampering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TornTail {
    /// Segment number.
    pub segment: u32,
    /// Offset where the torn bytes start.
    pub offset: u64,
    /// How many bytes are torn.
    pub bytes: u64,
}

/// How far a log is sealed: the last seal's record and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealedUntil {
    /// Sequence number of the last seal record; every record up to and
    /// including it is signed.
    pub seq: u64,
    /// The seal's time: "nothing else happened until then" is signed too.
    pub time: SystemTime,
    /// The epoch that seal closed.
    pub epoch: u32,
}

/// A quarantine the log went through (`recover_after_tamper`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuarantineEvent {
    /// Sequence number of the signed quarantine record.
    pub record_seq: u64,
    /// The kind of damage found, as [`TamperKind::code`] gives it (FORMAT.md
    /// lists the codes).
    pub kind_code: u8,
    /// Segment where the damage was found.
    pub segment: u32,
    /// Offset in that segment.
    pub offset: u64,
    /// Where the log continued: the first sequence number after the last
    /// good record.
    pub continued_at: u64,
    /// The quarantined segment files and their SHA-256.
    pub files: Vec<(u32, [u8; 32])>,
}

/// The verifier's current position: what the next record must be.
#[derive(Debug, Clone)]
pub(crate) struct ChainState {
    pub(crate) next_seq: u64,
    pub(crate) chain: [u8; 32],
    pub(crate) epoch: u32,
    pub(crate) epoch_key: VerifyingKey,
    pub(crate) epoch_first_seq: u64,
    /// Latest public time seen (seals, tombstones, recoveries, head).
    pub(crate) last_time_ns: u64,
}

/// What the walk learnt, once finished.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub(crate) log_id: [u8; 16],
    pub(crate) verifying_key: VerifyingKey,
    pub(crate) genesis_ns: u64,
    pub(crate) retention_secs: u64,
    pub(crate) first_seq: u64,
    pub(crate) first_segment: u32,
    pub(crate) state: ChainState,
    pub(crate) sealed: Option<SealedUntil>,
    /// The state right after the last seal (where an epoch starts).
    pub(crate) last_segment: u32,
    pub(crate) last_segment_created_ns: u64,
    /// End of the last complete record of the last segment.
    pub(crate) end_offset: u64,
    pub(crate) torn: Option<TornTail>,
    pub(crate) head: Option<Head>,
    pub(crate) tombstone: Option<Tombstone>,
    pub(crate) quarantines: Vec<QuarantineEvent>,
    pub(crate) segments: Vec<u32>,
    /// Number of records in the current (unsealed) epoch.
    pub(crate) epoch_count: u64,
    /// Whether the last record is a seal (a new segment may start here).
    pub(crate) ends_with_seal: bool,
}

/// Options of a walk.
#[derive(Debug, Clone)]
pub(crate) struct WalkOptions {
    pub(crate) expect_log_id: Option<[u8; 16]>,
    pub(crate) expect_key: Option<VerifyingKey>,
    pub(crate) now: SystemTime,
}

/// One record the walk accepted, handed to the caller.
#[derive(Debug)]
pub(crate) struct Step<'a> {
    pub(crate) frame: FrameView<'a>,
    pub(crate) kind: Kind,
    pub(crate) segment: u32,
    pub(crate) offset: u64,
}

pub(crate) fn tamper(kind: TamperKind, segment: u32, offset: u64, seq: Option<u64>) -> Error {
    Error::tamper(kind, segment, offset, seq)
}

fn header_error(e: HeaderError, what: &'static str, segment: u32) -> Error {
    match e {
        HeaderError::Version(version) => Error::UnsupportedVersion { what, version },
        HeaderError::Malformed => tamper(TamperKind::ModifiedBytes, segment, 0, None),
    }
}

/// Reads at most `limit` bytes of `name`; `None` if it does not exist.
/// Longer files are refused, never read whole.
pub(crate) fn read_bounded(dir: &PrivateDir, name: &str, limit: usize) -> Result<Option<Vec<u8>>> {
    let file = match dir.open_file(name, Access::Read) {
        Ok(f) => f,
        Err(e) if *e.kind() == secure_fs::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut buf = Vec::with_capacity(limit.min(4096));
    let _ = file
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(dir.path().join(name), e))?;
    if buf.len() > limit && limit >= format::MAX_WHOLE_FILE {
        return Err(Error::InvalidInput(format!(
            "{name} is larger than the {limit} bytes this crate reads at once"
        )));
    }
    Ok(Some(buf))
}

/// Reads the head file twice until two reads agree (a writer updates it in
/// place; a read racing that write must not look like tampering).
fn read_head(dir: &PrivateDir) -> Result<Option<Head>> {
    let mut last = read_bounded(dir, HEAD_FILE, HEAD_LEN)?;
    for _ in 0..8 {
        let again = read_bounded(dir, HEAD_FILE, HEAD_LEN)?;
        if again == last {
            break;
        }
        last = again;
    }
    match last {
        None => Ok(None),
        Some(b) => Head::parse(&b)
            .map(Some)
            .map_err(|e| header_error(e, "head", 0)),
    }
}

/// Segment numbers present, ascending.
pub(crate) fn list_segments(dir: &PrivateDir) -> Result<Vec<u32>> {
    let mut v: Vec<u32> = dir
        .entries()?
        .iter()
        .filter_map(|n| n.to_str().and_then(format::parse_segment_name))
        .collect();
    v.sort_unstable();
    Ok(v)
}

/// Verifies a seal frame against the chain state; on success advances it
/// to the next epoch.
fn accept_seal(
    log_id: &[u8; 16],
    st: &mut ChainState,
    f: &FrameView<'_>,
    segment: u32,
    offset: u64,
) -> Result<Seal> {
    let bad = |k| tamper(k, segment, offset, Some(f.seq));
    let seal = Seal::parse(f.body).ok_or_else(|| bad(TamperKind::ModifiedBytes))?;
    if seal.first_seq != st.epoch_first_seq
        || seal.count != f.seq - st.epoch_first_seq
        || seal.prev != st.chain
    {
        return Err(bad(TamperKind::ModifiedBytes));
    }
    let sig = Signature::from_bytes(&seal.signature);
    st.epoch_key
        .verify_strict(&seal.message(log_id, f.epoch, f.seq), &sig)
        .map_err(|_| bad(TamperKind::BadSignature { epoch: f.epoch }))?;
    // Signed, so a bad time or key here was signed by the epoch's key.
    if seal.time_ns < st.last_time_ns {
        return Err(bad(TamperKind::ModifiedBytes));
    }
    let next = VerifyingKey::from_bytes(&seal.next_key)
        .ok()
        .filter(|k| !k.is_weak())
        .ok_or_else(|| bad(TamperKind::ModifiedBytes))?;
    st.epoch_key = next;
    st.epoch = st
        .epoch
        .checked_add(1)
        .ok_or_else(|| bad(TamperKind::ModifiedBytes))?;
    st.epoch_first_seq = f.seq + 1;
    st.last_time_ns = seal.time_ns;
    Ok(seal)
}

/// Reads one frame at the reader's position. `Ok(None)`: fewer bytes than
/// a whole frame remain, or the length is out of range (`Err(bad)`).
enum Read1 {
    Frame,
    End,
    Incomplete,
    BadLength,
}

fn read_frame(
    r: &mut BufReader<File>,
    remaining: u64,
    buf: &mut Vec<u8>,
    path: &std::path::Path,
) -> Result<Read1> {
    if remaining == 0 {
        return Ok(Read1::End);
    }
    if remaining < 4 {
        return Ok(Read1::Incomplete);
    }
    buf.clear();
    buf.resize(4, 0);
    r.read_exact(buf).map_err(|e| Error::io(path, e))?;
    let len = format::le_u32(buf, 0);
    if !(MIN_FRAME_LEN..=MAX_FRAME_LEN).contains(&len) {
        return Ok(Read1::BadLength);
    }
    if u64::from(len) + 4 > remaining {
        return Ok(Read1::Incomplete);
    }
    buf.resize(4 + len as usize, 0);
    r.read_exact(&mut buf[4..])
        .map_err(|e| Error::io(path, e))?;
    Ok(Read1::Frame)
}

/// Verifies the seal-chain file (the seals of pruned epochs) from the
/// verification key: returns the state after its last seal.
fn walk_seals(
    dir: &PrivateDir,
    log_id: &[u8; 16],
    vk: VerifyingKey,
    until_seq: u64,
) -> Result<Option<(ChainState, u64)>> {
    let file = match dir.open_file(SEALS_FILE, Access::Read) {
        Ok(f) => f,
        Err(e) if *e.kind() == secure_fs::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let path = dir.path().join(SEALS_FILE);
    let size = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    let mut r = BufReader::with_capacity(1 << 16, file);
    let bad = |off: u64, seq| tamper(TamperKind::ModifiedBytes, SEALS_POSITION, off, seq);
    let mut hdr = [0u8; SEALS_HEADER_LEN];
    if size < SEALS_HEADER_LEN as u64 {
        return Err(bad(0, None));
    }
    r.read_exact(&mut hdr).map_err(|e| Error::io(&path, e))?;
    let id = format::parse_seals_header(&hdr).map_err(|e| match e {
        HeaderError::Version(version) => Error::UnsupportedVersion {
            what: "seals",
            version,
        },
        HeaderError::Malformed => bad(0, None),
    })?;
    if &id != log_id {
        return Err(tamper(
            TamperKind::SplicedFromAnotherLog,
            SEALS_POSITION,
            0,
            None,
        ));
    }
    let mut st = ChainState {
        next_seq: 0,
        chain: [0; 32],
        epoch: 0,
        epoch_key: vk,
        epoch_first_seq: 0,
        last_time_ns: 0,
    };
    let mut off = SEALS_HEADER_LEN as u64;
    let mut buf = Vec::new();
    let mut last_sealed_ns = 0;
    // The file may run past the first segment still present (a prune
    // stopped between writing it and deleting the segments).
    while st.next_seq < until_seq {
        match read_frame(&mut r, size - off, &mut buf, &path)? {
            Read1::End => break,
            Read1::Incomplete | Read1::BadLength => return Err(bad(off, None)),
            Read1::Frame => {}
        }
        let f = FrameView::parse(&buf);
        let prev = Seal::parse(f.body).map_or([0; 32], |s| s.prev);
        if f.kind != Kind::Seal as u8
            || f.epoch != st.epoch
            || f.seq < st.epoch_first_seq
            || format::chain_record(&prev, f.covered) != f.chain
        {
            return Err(bad(off, Some(f.seq)));
        }
        // The records this seal covers are gone: its own (signed) `prev`
        // is the chain input; the signature is what is checked.
        st.chain = prev;
        let seal = accept_seal(log_id, &mut st, &f, SEALS_POSITION, off)?;
        last_sealed_ns = seal.time_ns;
        st.next_seq = f.seq + 1;
        st.chain = f.chain;
        off += buf.len() as u64;
    }
    Ok(Some((st, last_sealed_ns)))
}

/// The walker: reads segments in order and checks every record.
pub(crate) struct Walker<'d> {
    dir: &'d PrivateDir,
    opts: WalkOptions,
    segments: Vec<u32>,
    seg_index: usize,
    reader: Option<(BufReader<File>, u64, std::path::PathBuf)>,
    /// Offset of the next frame in the current segment.
    offset: u64,
    pub(crate) buf: Vec<u8>,
    pub(crate) summary: Summary,
    /// Time of the last seal in the seal-chain file (the pruned range).
    pruned_sealed_ns: Option<u64>,
    prev_frame: Vec<u8>,
    head_checked: bool,
    done: bool,
    pub(crate) frame_offset: u64,
}

impl std::fmt::Debug for Walker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walker")
            .field("segment", &self.current_segment())
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl<'d> Walker<'d> {
    /// Starts a walk: reads the head and the first segment's header and
    /// sets up the starting state (from genesis, or from the seal chain
    /// when the start of the log was pruned).
    pub(crate) fn start(dir: &'d PrivateDir, opts: WalkOptions) -> Result<Walker<'d>> {
        let segments = list_segments(dir)?;
        let head = read_head(dir)?;
        let Some(&first) = segments.first() else {
            return Err(match head {
                Some(h) => tamper(
                    TamperKind::MissingSegment {
                        expected: h.segment,
                    },
                    h.segment,
                    0,
                    None,
                ),
                None => Error::NotALog {
                    path: dir.path().to_owned(),
                },
            });
        };
        let (hdr, _) = read_segment_header(dir, first)?;
        if let Some(id) = opts.expect_log_id
            && id != hdr.log_id
        {
            return Err(Error::WrongLog {
                expected: data_encoding::HEXLOWER.encode(&id),
                found: data_encoding::HEXLOWER.encode(&hdr.log_id),
            });
        }
        let vk = VerifyingKey::from_bytes(&hdr.verifying_key)
            .ok()
            .filter(|k| !k.is_weak())
            .ok_or_else(|| tamper(TamperKind::ModifiedBytes, first, 0, None))?;
        if let Some(k) = opts.expect_key
            && k != vk
        {
            return Err(tamper(TamperKind::SplicedFromAnotherLog, first, 0, None));
        }
        let mut pruned_sealed_ns = None;
        let state = if first == 1 {
            ChainState {
                next_seq: 0,
                chain: [0; 32],
                epoch: 0,
                epoch_key: vk,
                epoch_first_seq: 0,
                last_time_ns: 0,
            }
        } else {
            // The start was pruned: the seal chain must carry the key
            // certifications from the verification key to here.
            let missing = tamper(
                TamperKind::MissingSegment {
                    expected: first - 1,
                },
                first,
                0,
                Some(hdr.first_seq),
            );
            let Some((st, sealed_ns)) = walk_seals(dir, &hdr.log_id, vk, hdr.first_seq)? else {
                return Err(missing);
            };
            if st.next_seq != hdr.first_seq || st.epoch != hdr.epoch || st.chain != hdr.prev {
                return Err(missing);
            }
            pruned_sealed_ns = Some(sealed_ns);
            st
        };
        if let Some(h) = &head
            && (h.log_id != hdr.log_id || h.verifying_key != hdr.verifying_key)
        {
            return Err(tamper(TamperKind::SplicedFromAnotherLog, 0, 0, None));
        }
        let summary = Summary {
            log_id: hdr.log_id,
            verifying_key: vk,
            genesis_ns: hdr.genesis_ns,
            retention_secs: hdr.retention_secs,
            first_seq: hdr.first_seq,
            first_segment: first,
            state,
            sealed: None,
            last_segment: first,
            last_segment_created_ns: hdr.created_ns,
            end_offset: SEGMENT_HEADER_LEN as u64,
            torn: None,
            head,
            tombstone: None,
            quarantines: Vec::new(),
            segments: segments.clone(),
            epoch_count: 0,
            ends_with_seal: first != 1,
        };
        Ok(Walker {
            dir,
            opts,
            segments,
            seg_index: 0,
            reader: None,
            offset: 0,
            buf: Vec::new(),
            summary,
            pruned_sealed_ns,
            prev_frame: Vec::new(),
            head_checked: false,
            done: false,
            frame_offset: 0,
        })
    }

    fn current_segment(&self) -> u32 {
        self.segments.get(self.seg_index).copied().unwrap_or(0)
    }

    /// Whether bytes at `offset` of segment `seg` lie past the head's point
    /// (nothing signed them; a crash may have torn them).
    fn past_head(&self, seg: u32, offset: u64) -> bool {
        match &self.summary.head {
            None => false,
            Some(h) => seg > h.segment || (seg == h.segment && offset >= h.offset),
        }
    }

    /// Checks the head if its point is here.
    fn check_head_here(&mut self, seg: u32, offset: u64) -> Result<()> {
        let Some(h) = self.summary.head.clone() else {
            return Ok(());
        };
        if h.segment != seg || h.offset != offset {
            return Ok(());
        }
        let st = &self.summary.state;
        let bad = |k| tamper(k, 0, 0, Some(h.next_seq));
        if h.next_seq != st.next_seq
            || h.epoch != st.epoch
            || h.chain != st.chain
            || h.first_seq != self.summary.first_seq
            || h.time_ns < st.last_time_ns
        {
            return Err(bad(TamperKind::ModifiedBytes));
        }
        if h.epoch_key != st.epoch_key.to_bytes() {
            return Err(bad(TamperKind::BadSignature { epoch: h.epoch }));
        }
        st.epoch_key
            .verify_strict(&h.message(), &Signature::from_bytes(&h.signature))
            .map_err(|_| bad(TamperKind::BadSignature { epoch: h.epoch }))?;
        self.summary.state.last_time_ns = h.time_ns;
        self.head_checked = true;
        Ok(())
    }

    /// Opens the next segment and checks its header. `false` when none is left.
    fn next_segment(&mut self) -> Result<bool> {
        if self.reader.is_some() {
            // Finishing a segment that has a successor: it must end right
            // after a seal, with nothing after its last record.
            self.seg_index += 1;
            self.reader = None;
        }
        let Some(&seg) = self.segments.get(self.seg_index) else {
            return Ok(false);
        };
        if self.seg_index > 0 {
            let prev = self.segments[self.seg_index - 1];
            if seg != prev + 1 {
                return Err(tamper(
                    TamperKind::MissingSegment { expected: prev + 1 },
                    seg,
                    0,
                    Some(self.summary.state.next_seq),
                ));
            }
        }
        let (hdr, file) = read_segment_header(self.dir, seg)?;
        let s = &self.summary;
        let st = &s.state;
        let bad = |k| tamper(k, seg, 0, Some(st.next_seq));
        if hdr.log_id != s.log_id || hdr.verifying_key != s.verifying_key.to_bytes() {
            return Err(bad(TamperKind::SplicedFromAnotherLog));
        }
        if hdr.segment != seg
            || hdr.genesis_ns != s.genesis_ns
            || hdr.retention_secs != s.retention_secs
            || hdr.epoch != st.epoch
            || (seg == 1 && (hdr.first_seq != 0 || hdr.epoch != 0))
        {
            return Err(bad(TamperKind::ModifiedBytes));
        }
        if hdr.first_seq != st.next_seq {
            let kind = if hdr.first_seq > st.next_seq {
                TamperKind::DeletedRecords {
                    expected: st.next_seq,
                    found: hdr.first_seq,
                }
            } else {
                TamperKind::ReorderedRecords {
                    expected: st.next_seq,
                    found: hdr.first_seq,
                }
            };
            return Err(bad(kind));
        }
        if hdr.prev != st.chain {
            return Err(bad(TamperKind::ModifiedBytes));
        }
        if !s.ends_with_seal && seg != 1 {
            // The previous segment stopped mid-epoch.
            return Err(tamper(
                TamperKind::Truncated {
                    expected_last: st.next_seq,
                    found_last: st.next_seq.checked_sub(1),
                },
                seg - 1,
                s.end_offset,
                Some(st.next_seq),
            ));
        }
        self.summary.state.chain = format::chain_segment(&hdr.encode());
        self.summary.last_segment = seg;
        self.summary.last_segment_created_ns = hdr.created_ns;
        let path = self.dir.path().join(format::segment_file_name(seg));
        let size = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        // The header was read from `file`: it is positioned at the first frame.
        let r = BufReader::with_capacity(1 << 16, file);
        self.reader = Some((r, size, path));
        self.offset = SEGMENT_HEADER_LEN as u64;
        self.summary.end_offset = self.offset;
        self.check_head_here(seg, self.offset)?;
        Ok(true)
    }

    /// The next record, checked. `Ok(None)` at the end of the log (after
    /// the final checks: head reached, tombstones cover what is missing).
    pub(crate) fn next_step(&mut self) -> Result<Option<Step<'_>>> {
        if self.done {
            return Ok(None);
        }
        loop {
            if self.reader.is_none() && !self.next_segment()? {
                self.finish()?;
                return Ok(None);
            }
            let seg = self.current_segment();
            let last = self.seg_index + 1 == self.segments.len();
            let Some((r, size, path)) = self.reader.as_mut() else {
                continue;
            };
            let remaining = *size - self.offset;
            let at = self.offset;
            let got = read_frame(r, remaining, &mut self.buf, path)?;
            let (broken, seq_ok) = match got {
                Read1::End => {
                    if last {
                        self.finish()?;
                        return Ok(None);
                    }
                    self.next_segment()?;
                    continue;
                }
                Read1::Frame => {
                    let f = FrameView::parse(&self.buf);
                    (
                        format::chain_record(&self.summary.state.chain, f.covered) != f.chain,
                        f.seq == self.summary.state.next_seq,
                    )
                }
                Read1::Incomplete | Read1::BadLength => (true, true),
            };
            if broken && (seq_ok || (last && self.past_head(seg, at))) {
                // A crash tears only what no head signed, in the last segment.
                if last && self.past_head(seg, at) {
                    self.summary.torn = Some(TornTail {
                        segment: seg,
                        offset: at,
                        bytes: remaining,
                    });
                    self.finish()?;
                    return Ok(None);
                }
                let kind = if matches!(got, Read1::Incomplete) {
                    TamperKind::Truncated {
                        expected_last: self
                            .summary
                            .head
                            .as_ref()
                            .map_or(self.summary.state.next_seq, |h| {
                                h.next_seq.saturating_sub(1)
                            }),
                        found_last: self.summary.state.next_seq.checked_sub(1),
                    }
                } else {
                    TamperKind::ModifiedBytes
                };
                return Err(tamper(kind, seg, at, Some(self.summary.state.next_seq)));
            }
            self.frame_offset = at;
            let kind = self.check_frame(seg, at)?;
            let len = self.buf.len() as u64;
            self.offset += len;
            self.summary.end_offset = self.offset;
            self.prev_frame.clear();
            self.prev_frame.extend_from_slice(&self.buf);
            self.check_head_here(seg, self.offset)?;
            return Ok(Some(Step {
                frame: FrameView::parse(&self.buf),
                kind,
                segment: seg,
                offset: at,
            }));
        }
    }

    /// Checks one complete frame (in `self.buf`) whose chain field is right
    /// or whose sequence number is not the expected one.
    fn check_frame(&mut self, seg: u32, at: u64) -> Result<Kind> {
        let f = FrameView::parse(&self.buf);
        let st = &self.summary.state;
        let seq = f.seq;
        let expected = st.next_seq;
        let bad = |k| tamper(k, seg, at, Some(expected));
        if seq != expected {
            let kind = if seq > expected {
                TamperKind::DeletedRecords {
                    expected,
                    found: seq,
                }
            } else if self.buf == self.prev_frame {
                TamperKind::DuplicatedRecord { seq }
            } else {
                TamperKind::ReorderedRecords {
                    expected,
                    found: seq,
                }
            };
            return Err(bad(kind));
        }
        if f.epoch != st.epoch {
            return Err(bad(TamperKind::ModifiedBytes));
        }
        let kind = Kind::from_u8(f.kind).ok_or_else(|| bad(TamperKind::ModifiedBytes))?;
        let log_id = self.summary.log_id;
        match kind {
            Kind::Event => {
                if f.body.len() < NONCE_LEN + TAG_LEN
                    || f.body.len() > NONCE_LEN + format::MAX_PLAINTEXT + TAG_LEN
                {
                    return Err(bad(TamperKind::ModifiedBytes));
                }
            }
            Kind::Seal => {
                let seal = accept_seal(&log_id, &mut self.summary.state, &f, seg, at)?;
                self.summary.sealed = Some(SealedUntil {
                    seq,
                    time: format::from_nanos(seal.time_ns),
                    epoch: f.epoch,
                });
                self.summary.epoch_count = 0;
            }
            Kind::Recovered => {
                let r = format::RecoveredBody::parse(f.body)
                    .ok_or_else(|| bad(TamperKind::ModifiedBytes))?;
                if r.time_ns < self.summary.state.last_time_ns {
                    return Err(bad(TamperKind::ModifiedBytes));
                }
                self.summary.state.last_time_ns = r.time_ns;
            }
            Kind::Tombstone => {
                let t = Tombstone::parse(f.body).ok_or_else(|| bad(TamperKind::ModifiedBytes))?;
                self.check_tombstone(&t).map_err(bad)?;
                self.summary.state.last_time_ns = t.time_ns;
                self.summary.tombstone = Some(t);
            }
            Kind::Quarantine => {
                let q =
                    QuarantineBody::parse(f.body).ok_or_else(|| bad(TamperKind::ModifiedBytes))?;
                if q.time_ns < self.summary.state.last_time_ns || q.resume_seq != seq {
                    return Err(bad(TamperKind::ModifiedBytes));
                }
                // The quarantined files are kept, unchanged.
                for (qseg, hash) in &q.files {
                    let name = format::quarantine_file_name(seq, *qseg);
                    if file_sha256(self.dir, &name)? != Some(*hash) {
                        return Err(bad(TamperKind::MissingSegment { expected: *qseg }));
                    }
                }
                // The bridge: seals certifying the keys to the writer's epoch.
                let mut st = self.summary.state.clone();
                for frame in &q.bridge {
                    let bf = FrameView::parse(frame);
                    let bs = Seal::parse(bf.body).ok_or_else(|| bad(TamperKind::ModifiedBytes))?;
                    if format::le_u32(frame, 0) as usize + 4 != frame.len()
                        || bf.kind != Kind::Seal as u8
                        || bf.epoch != st.epoch
                        || format::chain_record(&bs.prev, bf.covered) != bf.chain
                    {
                        return Err(bad(TamperKind::ModifiedBytes));
                    }
                    // The records these seals cover are quarantined: each
                    // seal's own (signed) fields are its inputs.
                    st.chain = bs.prev;
                    st.epoch_first_seq = bs.first_seq;
                    st.last_time_ns = 0;
                    let _ = accept_seal(&log_id, &mut st, &bf, seg, at)?;
                }
                if !q.bridge.is_empty() {
                    let s = &mut self.summary.state;
                    s.epoch = st.epoch;
                    s.epoch_key = st.epoch_key;
                    s.epoch_first_seq = seq + 1;
                    self.summary.epoch_count = 0;
                }
                self.summary.state.last_time_ns = q.time_ns;
                self.summary.quarantines.push(QuarantineEvent {
                    record_seq: seq,
                    kind_code: q.kind,
                    segment: q.segment,
                    offset: q.offset,
                    continued_at: q.resume_seq,
                    files: q.files,
                });
            }
        }
        let bridged = kind == Kind::Quarantine && self.summary.state.epoch != f.epoch;
        if kind != Kind::Seal && !bridged {
            self.summary.epoch_count += 1;
            if self.summary.epoch_count >= NONCE_BUDGET {
                return Err(bad(TamperKind::ModifiedBytes));
            }
        }
        self.summary.ends_with_seal = kind == Kind::Seal;
        let st = &mut self.summary.state;
        st.next_seq = seq + 1;
        st.chain = f.chain;
        Ok(kind)
    }

    /// A tombstone: dated in order, not in the future, the log's genesis
    /// and retention, cumulative, and pruning nothing younger than the
    /// retention period allowed.
    fn check_tombstone(&self, t: &Tombstone) -> std::result::Result<(), TamperKind> {
        let s = &self.summary;
        let now = format::nanos(self.opts.now + CLOCK_SKEW);
        if t.time_ns < s.state.last_time_ns || t.time_ns > now {
            return Err(TamperKind::BadTombstone);
        }
        if t.genesis_ns != s.genesis_ns || t.retention_secs != s.retention_secs {
            return Err(TamperKind::BadTombstone);
        }
        let prev = s.tombstone.as_ref().map_or(&[][..], |p| &p.ranges[..]);
        if t.ranges.len() < prev.len() || t.ranges[..prev.len()] != *prev {
            return Err(TamperKind::BadTombstone);
        }
        let retention_ns = s.retention_secs.saturating_mul(1_000_000_000);
        // Each prune adds one range, dated the tombstone's time (earlier
        // tombstones may themselves have been pruned since).
        if t.ranges.last().is_some_and(|r| r.pruned_ns != t.time_ns) {
            return Err(TamperKind::BadTombstone);
        }
        let (mut next_seg, mut next_seq, mut pruned_at) = (1u32, 0u64, 0u64);
        for r in &t.ranges {
            if r.first_segment != next_seg
                || r.last_segment < r.first_segment
                || r.first_seq != next_seq
                || r.last_seq < r.first_seq
                || r.pruned_ns > t.time_ns
                || r.pruned_ns < pruned_at
            {
                return Err(TamperKind::BadTombstone);
            }
            pruned_at = r.pruned_ns;
            if r.sealed_ns.saturating_add(retention_ns) > r.pruned_ns {
                return Err(TamperKind::PrunedEarly {
                    last_seq: r.last_seq,
                });
            }
            next_seg = r.last_segment + 1;
            next_seq = r.last_seq + 1;
        }
        // A tombstone never names records that are still ahead of it.
        if next_seq > s.state.next_seq {
            return Err(TamperKind::BadTombstone);
        }
        Ok(())
    }

    /// Final checks once the last record was read.
    fn finish(&mut self) -> Result<()> {
        self.done = true;
        let s = &self.summary;
        let st = &s.state;
        match &s.head {
            None => {
                return Err(tamper(TamperKind::MissingHead, 0, 0, None));
            }
            Some(h) if !self.head_checked => {
                // The head names a point the walk never reached.
                let found_last = st.next_seq.checked_sub(1);
                if h.next_seq > st.next_seq
                    || h.segment > s.last_segment
                    || (h.segment == s.last_segment && h.offset > s.end_offset)
                {
                    return Err(tamper(
                        TamperKind::Truncated {
                            expected_last: h.next_seq.saturating_sub(1),
                            found_last,
                        },
                        s.last_segment,
                        s.end_offset,
                        Some(st.next_seq),
                    ));
                }
                return Err(tamper(TamperKind::ModifiedBytes, 0, 0, Some(h.next_seq)));
            }
            Some(_) => {}
        }
        if s.first_segment > 1 {
            // Pruned start: a signed tombstone must name it, and the pruned
            // records must be old enough.
            let covered = s
                .tombstone
                .as_ref()
                .and_then(|t| t.ranges.last())
                .is_some_and(|r| {
                    r.last_segment + 1 >= s.first_segment && r.last_seq + 1 >= s.first_seq
                });
            if !covered {
                return Err(tamper(
                    TamperKind::MissingSegment {
                        expected: s.first_segment - 1,
                    },
                    s.first_segment,
                    0,
                    Some(s.first_seq),
                ));
            }
            if let (Some(t), Some(sealed)) = (&s.tombstone, self.pruned_sealed_ns) {
                let retention_ns = s.retention_secs.saturating_mul(1_000_000_000);
                if sealed.saturating_add(retention_ns) > t.time_ns {
                    return Err(tamper(
                        TamperKind::PrunedEarly {
                            last_seq: s.first_seq.saturating_sub(1),
                        },
                        s.first_segment,
                        0,
                        Some(s.first_seq),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Walks to the end.
    pub(crate) fn run(mut self) -> Result<Summary> {
        while self.next_step()?.is_some() {}
        Ok(self.summary)
    }
}

/// SHA-256 of a file of the log directory; `None` if it does not exist.
fn file_sha256(dir: &PrivateDir, name: &str) -> Result<Option<[u8; 32]>> {
    use sha2::{Digest, Sha256};
    let mut file = match dir.open_file(name, Access::Read) {
        Ok(f) => f,
        Err(e) if *e.kind() == secure_fs::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(dir.path().join(name), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(Some(h.finalize().into()))
}

/// Opens segment `seg` and reads and parses its header (bounded).
fn read_segment_header(dir: &PrivateDir, seg: u32) -> Result<(SegmentHeader, File)> {
    let name = format::segment_file_name(seg);
    let mut file = dir.open_file(&name, Access::Read)?;
    let mut b = [0u8; SEGMENT_HEADER_LEN];
    let path = dir.path().join(&name);
    let size = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    if size < SEGMENT_HEADER_LEN as u64 {
        return Err(tamper(TamperKind::ModifiedBytes, seg, 0, None));
    }
    file.read_exact(&mut b).map_err(|e| Error::io(&path, e))?;
    let hdr = SegmentHeader::parse(&b).map_err(|e| header_error(e, "segment", seg))?;
    let _ = CHAIN_LEN;
    Ok((hdr, file))
}

/// Walks the whole log at `dir` and returns what it found.
pub(crate) fn verify_dir(dir: &PrivateDir, opts: WalkOptions) -> Result<Summary> {
    Walker::start(dir, opts)?.run()
}
