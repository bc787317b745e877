//! The bytes on disk, format version 2 (FORMAT.md is the specification;
//! its test vectors are checked by `tests::vectors` below).
//!
//! Everything here is pure: encoding and decoding of segment headers,
//! frames, seal / tombstone / recovery bodies, the signed head and the
//! encrypted writer state. No I/O, no policy.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// Format version of every file this build writes and reads.
pub(crate) const VERSION: u16 = 2;

pub(crate) const SEGMENT_MAGIC: &[u8; 8] = b"EALOGSEG";
pub(crate) const HEAD_MAGIC: &[u8; 8] = b"EALOGHED";
pub(crate) const STATE_MAGIC: &[u8; 8] = b"EALOGSTA";
pub(crate) const SEALS_MAGIC: &[u8; 8] = b"EALOGSLS";

pub(crate) const HEAD_FILE: &str = "head";
pub(crate) const STATE_FILE: &str = "state";
pub(crate) const SEALS_FILE: &str = "seals";

/// Length of a segment header.
pub(crate) const SEGMENT_HEADER_LEN: usize = 132;
/// Length of the signed head.
pub(crate) const HEAD_LEN: usize = 228;
/// One slot of the writer state file; the file holds two.
pub(crate) const STATE_SLOT_LEN: usize = 512;
/// Bytes of a slot that are used (the rest is zero).
pub(crate) const STATE_USED_LEN: usize = 132;
/// Header of the seal-chain file.
pub(crate) const SEALS_HEADER_LEN: usize = 28;

/// Frame: `u32 len ‖ u8 kind ‖ u32 epoch ‖ u64 seq ‖ body ‖ 32-byte chain`.
pub(crate) const FRAME_HEADER_LEN: usize = 17;
pub(crate) const CHAIN_LEN: usize = 32;
/// Largest file this crate reads whole into memory (the seal chain and,
/// in a recovery, a segment): larger ones are refused, never read.
pub(crate) const MAX_WHOLE_FILE: usize = 1 << 30;
/// Largest event plaintext.
pub(crate) const MAX_PLAINTEXT: usize = 1 << 20;
pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;
/// Largest body of any frame (an event of the largest plaintext, or a
/// tombstone of many ranges).
pub(crate) const MAX_BODY: usize = MAX_PLAINTEXT + 1024;
/// Bounds of the `len` field (bytes after it).
#[allow(clippy::cast_possible_truncation)] // reason: 45 fits
pub(crate) const MIN_FRAME_LEN: u32 = (FRAME_HEADER_LEN - 4 + CHAIN_LEN) as u32;
#[allow(clippy::cast_possible_truncation)] // reason: about 2^20 fits
pub(crate) const MAX_FRAME_LEN: u32 = (FRAME_HEADER_LEN - 4 + MAX_BODY + CHAIN_LEN) as u32;

/// Version byte that starts an event plaintext.
pub(crate) const PLAINTEXT_VERSION: u8 = 2;

/// Random 96-bit GCM nonces: at most 2^32 messages per key (NIST SP
/// 800-38D, 8.3). Each epoch has its own key, so an epoch holds at most
/// this many records.
pub(crate) const NONCE_BUDGET: u64 = 1 << 32;

/// Seal body: time, epoch's first seq, count, prev chain, next key, signature.
pub(crate) const SEAL_BODY_LEN: usize = 8 + 8 + 8 + 32 + 32 + 64;
/// Recovery (torn tail) body.
pub(crate) const RECOVERED_BODY_LEN: usize = 8 + 4 + 8 + 8;
/// One tombstone range.
pub(crate) const RANGE_LEN: usize = 4 + 4 + 8 + 8 + 8 + 8;
/// Most ranges in one tombstone.
pub(crate) const MAX_RANGES: usize = (MAX_BODY - 28) / RANGE_LEN;

/// Domain-separation labels.
pub(crate) const LABEL_SEGMENT: &[u8] = b"EAL2 segment\0";
pub(crate) const LABEL_RECORD: &[u8] = b"EAL2 record\0";
pub(crate) const LABEL_SEAL: &[u8] = b"EAL2 seal\0";
pub(crate) const LABEL_HEAD: &[u8] = b"EAL2 head\0";
pub(crate) const LABEL_EVENT: &[u8] = b"EAL2 event\0";
pub(crate) const LABEL_RECORD_KEY: &[u8] = b"EAL2 record key\0";
pub(crate) const LABEL_EVOLVE: &[u8] = b"EAL2 evolve\0";
pub(crate) const LABEL_STATE_KEY: &[u8] = b"EAL2 state key\0";

/// Record kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An encrypted event.
    Event = 1,
    /// The end of an epoch, signed with its key, certifying the next key.
    Seal = 2,
    /// A torn tail was trimmed when the log was opened.
    Recovered = 4,
    /// A cumulative, signed tombstone (retention).
    Tombstone = 5,
    /// Damaged segments were quarantined and the log continued.
    Quarantine = 6,
}

impl Kind {
    pub(crate) fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Event,
            2 => Kind::Seal,
            4 => Kind::Recovered,
            5 => Kind::Tombstone,
            6 => Kind::Quarantine,
            _ => return None,
        })
    }
}

pub(crate) fn le_u16(b: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[at..at + 2]);
    u16::from_le_bytes(a)
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

pub(crate) fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

pub(crate) fn arr32(b: &[u8], at: usize) -> [u8; 32] {
    let mut a = [0u8; 32];
    a.copy_from_slice(&b[at..at + 32]);
    a
}

/// Nanoseconds since the Unix epoch (saturating; 0 before it).
pub(crate) fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

pub(crate) fn from_nanos(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

pub(crate) fn segment_file_name(n: u32) -> String {
    format!("segment-{n:08}.eal")
}

/// The segment number of a file name `segment-NNNNNNNN.eal`.
pub(crate) fn parse_segment_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("segment-")?.strip_suffix(".eal")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&n| n > 0)
}

/// The chain value after a segment header.
pub(crate) fn chain_segment(header: &[u8; SEGMENT_HEADER_LEN]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(LABEL_SEGMENT);
    h.update(header);
    h.finalize().into()
}

/// The chain value after a frame: `SHA-256(label ‖ prev ‖ frame without its chain field)`.
pub(crate) fn chain_record(prev: &[u8; 32], frame_without_chain: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(LABEL_RECORD);
    h.update(prev);
    h.update(frame_without_chain);
    h.finalize().into()
}

/// A segment header: the start of every segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub(crate) log_id: [u8; 16],
    pub(crate) verifying_key: [u8; 32],
    pub(crate) segment: u32,
    pub(crate) first_seq: u64,
    pub(crate) epoch: u32,
    pub(crate) created_ns: u64,
    pub(crate) genesis_ns: u64,
    pub(crate) retention_secs: u64,
    pub(crate) prev: [u8; 32],
}

/// Why bytes are not a valid v2 header (of any file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// Wrong magic or reserved bytes, or too short.
    Malformed,
    /// A magic we know with a version we do not.
    Version(u16),
}

fn check_magic(b: &[u8], magic: &[u8; 8], min_len: usize) -> Result<(), HeaderError> {
    if b.len() < min_len || &b[..8] != magic {
        return Err(HeaderError::Malformed);
    }
    let v = le_u16(b, 8);
    if v != VERSION {
        return Err(HeaderError::Version(v));
    }
    if le_u16(b, 10) != 0 {
        return Err(HeaderError::Malformed);
    }
    Ok(())
}

impl SegmentHeader {
    pub(crate) fn encode(&self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut b = [0u8; SEGMENT_HEADER_LEN];
        b[..8].copy_from_slice(SEGMENT_MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_le_bytes());
        b[12..28].copy_from_slice(&self.log_id);
        b[28..60].copy_from_slice(&self.verifying_key);
        b[60..64].copy_from_slice(&self.segment.to_le_bytes());
        b[64..72].copy_from_slice(&self.first_seq.to_le_bytes());
        b[72..76].copy_from_slice(&self.epoch.to_le_bytes());
        b[76..84].copy_from_slice(&self.created_ns.to_le_bytes());
        b[84..92].copy_from_slice(&self.genesis_ns.to_le_bytes());
        b[92..100].copy_from_slice(&self.retention_secs.to_le_bytes());
        b[100..132].copy_from_slice(&self.prev);
        b
    }

    pub(crate) fn parse(b: &[u8]) -> Result<SegmentHeader, HeaderError> {
        check_magic(b, SEGMENT_MAGIC, SEGMENT_HEADER_LEN)?;
        let mut log_id = [0u8; 16];
        log_id.copy_from_slice(&b[12..28]);
        Ok(SegmentHeader {
            log_id,
            verifying_key: arr32(b, 28),
            segment: le_u32(b, 60),
            first_seq: le_u64(b, 64),
            epoch: le_u32(b, 72),
            created_ns: le_u64(b, 76),
            genesis_ns: le_u64(b, 84),
            retention_secs: le_u64(b, 92),
            prev: arr32(b, 100),
        })
    }
}

/// Builds a frame around `body`, chained after `prev`. Returns the new chain value.
pub(crate) fn build_frame(
    out: &mut Vec<u8>,
    kind: Kind,
    epoch: u32,
    seq: u64,
    body: &[u8],
    prev: &[u8; 32],
) -> [u8; 32] {
    let start = out.len();
    push_frame_header(out, kind, epoch, seq, body.len());
    out.extend_from_slice(body);
    finish_frame(out, start, prev)
}

/// Writes the 17-byte frame header for a body of `body_len` bytes.
pub(crate) fn push_frame_header(
    out: &mut Vec<u8>,
    kind: Kind,
    epoch: u32,
    seq: u64,
    body_len: usize,
) {
    // body_len <= MAX_BODY, checked by every caller, so this fits in u32.
    let len = u32::try_from(FRAME_HEADER_LEN - 4 + body_len + CHAIN_LEN).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&epoch.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
}

/// Appends the chain field to the frame that starts at `start`.
pub(crate) fn finish_frame(out: &mut Vec<u8>, start: usize, prev: &[u8; 32]) -> [u8; 32] {
    let c = chain_record(prev, &out[start..]);
    out.extend_from_slice(&c);
    c
}

/// A parsed view of one complete frame (`len` already checked in range).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameView<'a> {
    pub(crate) kind: u8,
    pub(crate) epoch: u32,
    pub(crate) seq: u64,
    /// Frame header (17 bytes).
    pub(crate) header: &'a [u8],
    pub(crate) body: &'a [u8],
    /// Everything the chain covers (the frame without its chain field).
    pub(crate) covered: &'a [u8],
    pub(crate) chain: [u8; 32],
}

impl<'a> FrameView<'a> {
    /// `frame` is the whole frame, `len` field included, and at least
    /// `4 + MIN_FRAME_LEN` long.
    pub(crate) fn parse(frame: &'a [u8]) -> FrameView<'a> {
        let end = frame.len() - CHAIN_LEN;
        FrameView {
            kind: frame[4],
            epoch: le_u32(frame, 5),
            seq: le_u64(frame, 9),
            header: &frame[..FRAME_HEADER_LEN],
            body: &frame[FRAME_HEADER_LEN..end],
            covered: &frame[..end],
            chain: arr32(frame, end),
        }
    }
}

/// The additional data of an event's encryption.
pub(crate) fn event_aad(log_id: &[u8; 16], frame_header: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(LABEL_EVENT.len() + 16 + FRAME_HEADER_LEN);
    aad.extend_from_slice(LABEL_EVENT);
    aad.extend_from_slice(log_id);
    aad.extend_from_slice(frame_header);
    aad
}

/// A seal body, before or after signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seal {
    pub(crate) time_ns: u64,
    pub(crate) first_seq: u64,
    pub(crate) count: u64,
    pub(crate) prev: [u8; 32],
    pub(crate) next_key: [u8; 32],
    pub(crate) signature: [u8; 64],
}

impl Seal {
    /// The body without the signature (what, with the frame header, is signed).
    pub(crate) fn unsigned_body(&self) -> [u8; SEAL_BODY_LEN - 64] {
        let mut b = [0u8; SEAL_BODY_LEN - 64];
        b[0..8].copy_from_slice(&self.time_ns.to_le_bytes());
        b[8..16].copy_from_slice(&self.first_seq.to_le_bytes());
        b[16..24].copy_from_slice(&self.count.to_le_bytes());
        b[24..56].copy_from_slice(&self.prev);
        b[56..88].copy_from_slice(&self.next_key);
        b
    }

    pub(crate) fn body(&self) -> Vec<u8> {
        let mut b = self.unsigned_body().to_vec();
        b.extend_from_slice(&self.signature);
        b
    }

    pub(crate) fn parse(b: &[u8]) -> Option<Seal> {
        if b.len() != SEAL_BODY_LEN {
            return None;
        }
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&b[88..152]);
        Some(Seal {
            time_ns: le_u64(b, 0),
            first_seq: le_u64(b, 8),
            count: le_u64(b, 16),
            prev: arr32(b, 24),
            next_key: arr32(b, 56),
            signature,
        })
    }

    /// The signed message: label ‖ log id ‖ frame header ‖ unsigned body.
    pub(crate) fn message(&self, log_id: &[u8; 16], epoch: u32, seq: u64) -> Vec<u8> {
        let mut hdr = Vec::with_capacity(FRAME_HEADER_LEN);
        push_frame_header(&mut hdr, Kind::Seal, epoch, seq, SEAL_BODY_LEN);
        let mut m = Vec::with_capacity(LABEL_SEAL.len() + 16 + FRAME_HEADER_LEN + 88);
        m.extend_from_slice(LABEL_SEAL);
        m.extend_from_slice(log_id);
        m.extend_from_slice(&hdr);
        m.extend_from_slice(&self.unsigned_body());
        m
    }
}

/// A trimmed torn tail, as recorded by the record after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecoveredBody {
    pub(crate) time_ns: u64,
    pub(crate) segment: u32,
    pub(crate) offset: u64,
    pub(crate) bytes: u64,
}

impl RecoveredBody {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(RECOVERED_BODY_LEN);
        b.extend_from_slice(&self.time_ns.to_le_bytes());
        b.extend_from_slice(&self.segment.to_le_bytes());
        b.extend_from_slice(&self.offset.to_le_bytes());
        b.extend_from_slice(&self.bytes.to_le_bytes());
        b
    }

    pub(crate) fn parse(b: &[u8]) -> Option<RecoveredBody> {
        (b.len() == RECOVERED_BODY_LEN).then(|| RecoveredBody {
            time_ns: le_u64(b, 0),
            segment: le_u32(b, 8),
            offset: le_u64(b, 12),
            bytes: le_u64(b, 20),
        })
    }
}

/// One pruned range of a tombstone: whole segments, sealed at `sealed_ns`
/// (the time of the last seal in them), pruned at `pruned_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrunedRange {
    /// First pruned segment.
    pub first_segment: u32,
    /// Last pruned segment.
    pub last_segment: u32,
    /// First pruned sequence number.
    pub first_seq: u64,
    /// Last pruned sequence number.
    pub last_seq: u64,
    /// Time of the last seal in the range (every pruned record is older).
    pub sealed_ns: u64,
    /// Time of the prune that removed the range.
    pub pruned_ns: u64,
}

/// A tombstone body: cumulative list of every range pruned since genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tombstone {
    pub(crate) time_ns: u64,
    pub(crate) genesis_ns: u64,
    pub(crate) retention_secs: u64,
    pub(crate) ranges: Vec<PrunedRange>,
}

impl Tombstone {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(28 + self.ranges.len() * RANGE_LEN);
        b.extend_from_slice(&self.time_ns.to_le_bytes());
        b.extend_from_slice(&self.genesis_ns.to_le_bytes());
        b.extend_from_slice(&self.retention_secs.to_le_bytes());
        let n = u32::try_from(self.ranges.len()).unwrap_or(u32::MAX);
        b.extend_from_slice(&n.to_le_bytes());
        for r in &self.ranges {
            b.extend_from_slice(&r.first_segment.to_le_bytes());
            b.extend_from_slice(&r.last_segment.to_le_bytes());
            b.extend_from_slice(&r.first_seq.to_le_bytes());
            b.extend_from_slice(&r.last_seq.to_le_bytes());
            b.extend_from_slice(&r.sealed_ns.to_le_bytes());
            b.extend_from_slice(&r.pruned_ns.to_le_bytes());
        }
        b
    }

    pub(crate) fn parse(b: &[u8]) -> Option<Tombstone> {
        if b.len() < 28 {
            return None;
        }
        let n = le_u32(b, 24) as usize;
        if n > MAX_RANGES || b.len() != 28 + n * RANGE_LEN {
            return None;
        }
        let ranges = (0..n)
            .map(|i| {
                let at = 28 + i * RANGE_LEN;
                PrunedRange {
                    first_segment: le_u32(b, at),
                    last_segment: le_u32(b, at + 4),
                    first_seq: le_u64(b, at + 8),
                    last_seq: le_u64(b, at + 16),
                    sealed_ns: le_u64(b, at + 24),
                    pruned_ns: le_u64(b, at + 32),
                }
            })
            .collect();
        Some(Tombstone {
            time_ns: le_u64(b, 0),
            genesis_ns: le_u64(b, 8),
            retention_secs: le_u64(b, 16),
            ranges,
        })
    }
}

/// Length of a whole seal frame (len field included).
pub(crate) const SEAL_FRAME_LEN: usize = FRAME_HEADER_LEN + SEAL_BODY_LEN + CHAIN_LEN;

/// A quarantine record body: the damage found, the quarantined files with
/// their SHA-256, where the log continues, and the seals (whole frames,
/// copied from the quarantined files) that certify the keys from the last
/// good epoch to the writer's current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuarantineBody {
    pub(crate) time_ns: u64,
    /// Tamper kind code (see `TamperKind::code`).
    pub(crate) kind: u8,
    pub(crate) segment: u32,
    pub(crate) offset: u64,
    pub(crate) seq: u64,
    /// The sequence number of this record (where the log continues).
    pub(crate) resume_seq: u64,
    pub(crate) files: Vec<(u32, [u8; 32])>,
    pub(crate) bridge: Vec<Vec<u8>>,
}

impl QuarantineBody {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b =
            Vec::with_capacity(45 + self.files.len() * 36 + self.bridge.len() * SEAL_FRAME_LEN);
        b.extend_from_slice(&self.time_ns.to_le_bytes());
        b.push(self.kind);
        b.extend_from_slice(&self.segment.to_le_bytes());
        b.extend_from_slice(&self.offset.to_le_bytes());
        b.extend_from_slice(&self.seq.to_le_bytes());
        b.extend_from_slice(&self.resume_seq.to_le_bytes());
        let n = u32::try_from(self.files.len()).unwrap_or(u32::MAX);
        b.extend_from_slice(&n.to_le_bytes());
        for (s, h) in &self.files {
            b.extend_from_slice(&s.to_le_bytes());
            b.extend_from_slice(h);
        }
        let m = u32::try_from(self.bridge.len()).unwrap_or(u32::MAX);
        b.extend_from_slice(&m.to_le_bytes());
        for f in &self.bridge {
            b.extend_from_slice(f);
        }
        b
    }

    pub(crate) fn parse(b: &[u8]) -> Option<QuarantineBody> {
        if b.len() < 45 {
            return None;
        }
        let n = le_u32(b, 37) as usize;
        let at = 41usize.checked_add(n.checked_mul(36)?)?;
        if n > 100_000 || b.len() < at + 4 {
            return None;
        }
        let m = le_u32(b, at) as usize;
        if m > 100_000 || b.len() != at + 4 + m * SEAL_FRAME_LEN {
            return None;
        }
        let bridge = (0..m)
            .map(|i| {
                let s = at + 4 + i * SEAL_FRAME_LEN;
                b[s..s + SEAL_FRAME_LEN].to_vec()
            })
            .collect();
        Some(QuarantineBody {
            time_ns: le_u64(b, 0),
            kind: b[8],
            segment: le_u32(b, 9),
            offset: le_u64(b, 13),
            seq: le_u64(b, 21),
            resume_seq: le_u64(b, 29),
            files: (0..n)
                .map(|i| (le_u32(b, 41 + i * 36), arr32(b, 45 + i * 36)))
                .collect(),
            bridge,
        })
    }
}

/// The file a quarantined segment (or, for segment 0, the head) is kept
/// in, named by the quarantine record's sequence number.
pub(crate) fn quarantine_file_name(record_seq: u64, segment: u32) -> String {
    format!("quarantine-{record_seq:020}-{segment:08}.eal")
}

/// The signed head: where the log ends, signed with the epoch's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) log_id: [u8; 16],
    pub(crate) verifying_key: [u8; 32],
    pub(crate) segment: u32,
    pub(crate) offset: u64,
    pub(crate) epoch: u32,
    pub(crate) next_seq: u64,
    pub(crate) time_ns: u64,
    pub(crate) first_seq: u64,
    pub(crate) chain: [u8; 32],
    pub(crate) epoch_key: [u8; 32],
    pub(crate) signature: [u8; 64],
}

impl Head {
    pub(crate) fn unsigned(&self) -> [u8; HEAD_LEN - 64] {
        let mut b = [0u8; HEAD_LEN - 64];
        b[..8].copy_from_slice(HEAD_MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_le_bytes());
        b[12..28].copy_from_slice(&self.log_id);
        b[28..60].copy_from_slice(&self.verifying_key);
        b[60..64].copy_from_slice(&self.segment.to_le_bytes());
        b[64..72].copy_from_slice(&self.offset.to_le_bytes());
        b[72..76].copy_from_slice(&self.epoch.to_le_bytes());
        b[76..84].copy_from_slice(&self.next_seq.to_le_bytes());
        b[84..92].copy_from_slice(&self.time_ns.to_le_bytes());
        b[92..100].copy_from_slice(&self.first_seq.to_le_bytes());
        b[100..132].copy_from_slice(&self.chain);
        b[132..164].copy_from_slice(&self.epoch_key);
        b
    }

    pub(crate) fn message(&self) -> Vec<u8> {
        let mut m = LABEL_HEAD.to_vec();
        m.extend_from_slice(&self.unsigned());
        m
    }

    pub(crate) fn encode(&self) -> [u8; HEAD_LEN] {
        let mut b = [0u8; HEAD_LEN];
        b[..HEAD_LEN - 64].copy_from_slice(&self.unsigned());
        b[HEAD_LEN - 64..].copy_from_slice(&self.signature);
        b
    }

    pub(crate) fn parse(b: &[u8]) -> Result<Head, HeaderError> {
        check_magic(b, HEAD_MAGIC, HEAD_LEN)?;
        if b.len() != HEAD_LEN {
            return Err(HeaderError::Malformed);
        }
        let mut log_id = [0u8; 16];
        log_id.copy_from_slice(&b[12..28]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&b[164..228]);
        Ok(Head {
            log_id,
            verifying_key: arr32(b, 28),
            segment: le_u32(b, 60),
            offset: le_u64(b, 64),
            epoch: le_u32(b, 72),
            next_seq: le_u64(b, 76),
            time_ns: le_u64(b, 84),
            first_seq: le_u64(b, 92),
            chain: arr32(b, 100),
            epoch_key: arr32(b, 132),
            signature,
        })
    }
}

/// The public part of a writer state slot; the secret part is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateSlotHeader {
    pub(crate) log_id: [u8; 16],
    pub(crate) epoch: u32,
    pub(crate) generation: u64,
    pub(crate) nonce: [u8; NONCE_LEN],
}

/// Offset of the sealed secrets in a slot, and their length.
pub(crate) const STATE_AAD_LEN: usize = 52;
pub(crate) const STATE_SECRET_LEN: usize = 64;

impl StateSlotHeader {
    pub(crate) fn encode(&self) -> [u8; STATE_AAD_LEN] {
        let mut b = [0u8; STATE_AAD_LEN];
        b[..8].copy_from_slice(STATE_MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_le_bytes());
        b[12..28].copy_from_slice(&self.log_id);
        b[28..32].copy_from_slice(&self.epoch.to_le_bytes());
        b[32..40].copy_from_slice(&self.generation.to_le_bytes());
        b[40..52].copy_from_slice(&self.nonce);
        b
    }

    pub(crate) fn parse(b: &[u8]) -> Result<StateSlotHeader, HeaderError> {
        check_magic(b, STATE_MAGIC, STATE_USED_LEN)?;
        let mut log_id = [0u8; 16];
        log_id.copy_from_slice(&b[12..28]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&b[40..52]);
        Ok(StateSlotHeader {
            log_id,
            epoch: le_u32(b, 28),
            generation: le_u64(b, 32),
            nonce,
        })
    }
}

/// The seal-chain file's header.
pub(crate) fn seals_header(log_id: &[u8; 16]) -> [u8; SEALS_HEADER_LEN] {
    let mut b = [0u8; SEALS_HEADER_LEN];
    b[..8].copy_from_slice(SEALS_MAGIC);
    b[8..10].copy_from_slice(&VERSION.to_le_bytes());
    b[12..28].copy_from_slice(log_id);
    b
}

pub(crate) fn parse_seals_header(b: &[u8]) -> Result<[u8; 16], HeaderError> {
    check_magic(b, SEALS_MAGIC, SEALS_HEADER_LEN)?;
    let mut id = [0u8; 16];
    id.copy_from_slice(&b[12..28]);
    Ok(id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::keys::{self, EpochSecrets, SecretBuf};
    use ed25519_dalek::{Signer, SigningKey};

    fn seq_bytes<const N: usize>(start: u8) -> [u8; N] {
        std::array::from_fn(|i| start + u8::try_from(i).unwrap())
    }

    /// The vectors of FORMAT.md, parsed out of the document itself.
    fn doc_vectors() -> std::collections::BTreeMap<String, String> {
        let doc = include_str!("../FORMAT.md");
        let block = doc.split("<!-- test-vectors -->").nth(1).unwrap();
        let mut out = std::collections::BTreeMap::new();
        let mut key = String::new();
        for line in block.lines() {
            if let Some((k, v)) = line.split_once(" = ") {
                key = k.trim().to_owned();
                out.insert(key.clone(), v.trim().to_owned());
            } else if line.starts_with("    ") {
                out.get_mut(&key).unwrap().push_str(line.trim());
            }
        }
        out
    }

    fn hex(b: &[u8]) -> String {
        data_encoding::HEXLOWER.encode(b)
    }

    #[test]
    fn vectors() {
        let v = doc_vectors();
        let l: [u8; 16] = seq_bytes(0xa0);
        let sk0 = SigningKey::from_bytes(&seq_bytes(0x00));
        let sk1 = SigningKey::from_bytes(&seq_bytes(0x20));
        let r0: [u8; 32] = seq_bytes(0x40);
        let t: u64 = 1_795_367_267_000_000_000;
        let sec = 1_000_000_000;
        let ret = 90 * 86_400;
        let mut got = std::collections::BTreeMap::new();

        let k0 = keys::hmac(&r0, &[LABEL_RECORD_KEY, &l]);
        got.insert("record_key_epoch0", hex(&*k0));
        let r1 = keys::evolve(&r0);
        got.insert("seed_epoch1", hex(&*r1));
        got.insert("verifying_key", hex(sk0.verifying_key().as_bytes()));
        let hdr = SegmentHeader {
            log_id: l,
            verifying_key: sk0.verifying_key().to_bytes(),
            segment: 1,
            first_seq: 0,
            epoch: 0,
            created_ns: t,
            genesis_ns: t,
            retention_secs: ret,
            prev: [0; 32],
        }
        .encode();
        got.insert("segment_header", hex(&hdr));
        assert_eq!(SegmentHeader::parse(&hdr).unwrap().encode(), hdr);
        let mut chain = chain_segment(&hdr);

        // Record 0: the event, built as the writer builds it.
        let mut pt = SecretBuf::default();
        crate::event::encode_plaintext("login", t, &serde_json::json!({"user": "alice"}), &mut pt)
            .unwrap();
        got.insert("plaintext", hex(pt.as_slice()));
        let nonce: [u8; 12] = seq_bytes(0);
        let mut frame = Vec::new();
        push_frame_header(
            &mut frame,
            Kind::Event,
            0,
            0,
            NONCE_LEN + pt.len() + TAG_LEN,
        );
        let aad = event_aad(&l, &frame);
        frame.extend_from_slice(&nonce);
        let at = frame.len();
        frame.extend_from_slice(pt.as_slice());
        let cipher = keys::record_cipher(&r0, &l);
        let tag = keys::seal_in_place(&cipher, &nonce, &aad, &mut frame[at..]).unwrap();
        frame.extend_from_slice(&tag);
        chain = finish_frame(&mut frame, 0, &chain);
        got.insert("event_frame", hex(&frame));
        let mut end = (SEGMENT_HEADER_LEN + frame.len()) as u64;

        // Record 1: the seal of epoch 0.
        let mut seal = Seal {
            time_ns: t + sec,
            first_seq: 0,
            count: 1,
            prev: chain,
            next_key: sk1.verifying_key().to_bytes(),
            signature: [0; 64],
        };
        seal.signature = sk0.sign(&seal.message(&l, 0, 1)).to_bytes();
        let mut frame = Vec::new();
        chain = build_frame(&mut frame, Kind::Seal, 0, 1, &seal.body(), &chain);
        got.insert("seal_frame", hex(&frame));
        assert_eq!(Seal::parse(FrameView::parse(&frame).body).unwrap(), seal);
        end += frame.len() as u64;

        let mut head = Head {
            log_id: l,
            verifying_key: sk0.verifying_key().to_bytes(),
            segment: 1,
            offset: end,
            epoch: 1,
            next_seq: 2,
            time_ns: t + 2 * sec,
            first_seq: 0,
            chain,
            epoch_key: sk1.verifying_key().to_bytes(),
            signature: [0; 64],
        };
        head.signature = sk1.sign(&head.message()).to_bytes();
        got.insert("head", hex(&head.encode()));
        assert_eq!(Head::parse(&head.encode()).unwrap(), head);

        let ak = SigningKey::from_bytes(&seq_bytes(0x80));
        let cp = crate::anchor::Checkpoint::sign(
            &l,
            2,
            &chain,
            &sk0.verifying_key().to_bytes(),
            &ak,
            "laptop",
        )
        .unwrap();
        got.insert("checkpoint", hex(cp.text().as_bytes()));

        let mut frame = Vec::new();
        let body = RecoveredBody {
            time_ns: t + 3 * sec,
            segment: 1,
            offset: 1000,
            bytes: 37,
        }
        .encode();
        chain = build_frame(&mut frame, Kind::Recovered, 1, 2, &body, &chain);
        got.insert("recovered_frame", hex(&frame));

        let tomb = Tombstone {
            time_ns: t + 4 * sec,
            genesis_ns: t,
            retention_secs: ret,
            ranges: vec![PrunedRange {
                first_segment: 1,
                last_segment: 1,
                first_seq: 0,
                last_seq: 1,
                sealed_ns: t + sec,
                pruned_ns: t + 4 * sec,
            }],
        };
        assert_eq!(Tombstone::parse(&tomb.encode()).unwrap(), tomb);
        let mut frame = Vec::new();
        chain = build_frame(&mut frame, Kind::Tombstone, 1, 3, &tomb.encode(), &chain);
        got.insert("tombstone_frame", hex(&frame));

        let q = QuarantineBody {
            time_ns: t + 5 * sec,
            kind: 1,
            segment: 2,
            offset: 132,
            seq: 7,
            resume_seq: 5,
            files: vec![(2, Sha256::digest(b"x").into())],
            bridge: vec![],
        };
        assert_eq!(QuarantineBody::parse(&q.encode()).unwrap(), q);
        let mut frame = Vec::new();
        let _ = build_frame(&mut frame, Kind::Quarantine, 1, 4, &q.encode(), &chain);
        got.insert("quarantine_frame", hex(&frame));

        let state_key = keys::StateKey::from_bytes(seq_bytes(0x60));
        let mut secret = [0u8; 64];
        secret[..32].copy_from_slice(&seq_bytes::<32>(0x20));
        secret[32..].copy_from_slice(&*r1);
        let secrets = EpochSecrets::from_bytes(&secret);
        let slot = crate::writer::encode_slot_with_nonce(
            &state_key.cipher(&l),
            &l,
            1,
            1,
            &secrets,
            seq_bytes(0x0c),
        )
        .unwrap();
        got.insert("state_slot", hex(&slot[..STATE_USED_LEN]));
        assert!(slot[STATE_USED_LEN..].iter().all(|&b| b == 0));
        let (h, back) = crate::writer::decode_slot(&state_key.cipher(&l), &slot)
            .unwrap()
            .unwrap();
        assert_eq!((h.epoch, h.generation), (1, 1));
        assert_eq!(back.public(), sk1.verifying_key());

        for (k, want) in &v {
            assert_eq!(got.get(k.as_str()), Some(want), "vector {k}");
        }
        assert_eq!(got.len(), v.len(), "every vector is in FORMAT.md");
    }

    #[test]
    fn unknown_versions_are_named() {
        let mut b = [0u8; HEAD_LEN];
        b[..8].copy_from_slice(HEAD_MAGIC);
        b[8..10].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(Head::parse(&b), Err(HeaderError::Version(1)));
        assert_eq!(Head::parse(&b[..10]), Err(HeaderError::Malformed));
        assert!(parse_segment_name("segment-00000001.eal") == Some(1));
        assert!(parse_segment_name("segment-0000001.eal").is_none());
        assert!(parse_segment_name("segment-00000000.eal").is_none());
    }
}
