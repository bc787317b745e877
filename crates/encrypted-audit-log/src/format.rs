//! The bytes on disk (format version 1). FORMAT.md is the specification;
//! this module is its implementation, and the test vectors in FORMAT.md are
//! checked against it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::Mac;
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::keys::{EpochKeys, HmacSha256};

/// Magic of a segment file.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"EALOGSEG";
/// Magic of the sealed head file.
pub(crate) const HEAD_MAGIC: [u8; 8] = *b"EALOGHED";
/// The one format version this build reads and writes.
pub(crate) const FORMAT_VERSION: u16 = 1;
/// Algorithm suite 1: AES-256-GCM records, HMAC-SHA256 chain.
pub(crate) const SUITE_AES256GCM_HMACSHA256: u8 = 1;
/// Algorithm suite 2: XChaCha20-Poly1305 records, HMAC-SHA256 chain.
pub(crate) const SUITE_XCHACHA20POLY1305_HMACSHA256: u8 = 2;

/// How a log's records are encrypted; the MAC chain is HMAC-SHA256 in
/// every suite. Chosen when the log is created ([`crate::Options::suite`]),
/// recorded in every segment header; an existing log keeps its suite
/// across reopening and rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Suite {
    /// AES-256-GCM with random 96-bit nonces (suite byte 1). The default:
    /// fastest where the CPU has AES instructions.
    #[default]
    Aes256Gcm,
    /// XChaCha20-Poly1305 with random 192-bit nonces (suite byte 2):
    /// constant-time in software on CPUs without AES instructions, and no
    /// practical bound on the number of records per key from random nonces.
    XChaCha20Poly1305,
}

impl Suite {
    pub(crate) fn byte(self) -> u8 {
        match self {
            Suite::Aes256Gcm => SUITE_AES256GCM_HMACSHA256,
            Suite::XChaCha20Poly1305 => SUITE_XCHACHA20POLY1305_HMACSHA256,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Option<Suite> {
        match b {
            SUITE_AES256GCM_HMACSHA256 => Some(Suite::Aes256Gcm),
            SUITE_XCHACHA20POLY1305_HMACSHA256 => Some(Suite::XChaCha20Poly1305),
            _ => None,
        }
    }

    /// Bytes of an event record's nonce.
    pub(crate) fn nonce_len(self) -> usize {
        match self {
            Suite::Aes256Gcm => 12,
            Suite::XChaCha20Poly1305 => MAX_NONCE_LEN,
        }
    }
}

pub(crate) const SEGMENT_HEADER_LEN: usize = 116;
const SEGMENT_MAC_AT: usize = 84;
pub(crate) const HEAD_LEN: usize = 136;
const HEAD_MAC_AT: usize = 104;

/// Bytes of a frame before its body: length, kind, log tag, epoch, seq.
pub(crate) const FRAME_HEADER_LEN: usize = 21;
pub(crate) const MAC_LEN: usize = 32;
/// Smallest value of a frame's length field (empty body).
pub(crate) const MIN_FRAME_LEN: u32 = 17 + 32;
/// Largest plaintext of an event record.
pub(crate) const MAX_PLAINTEXT: usize = 1 << 20;
/// The longest nonce of any suite.
pub(crate) const MAX_NONCE_LEN: usize = 24;
pub(crate) const TAG_LEN: usize = 16;
/// Largest value of a frame's length field.
pub(crate) const MAX_FRAME_LEN: u32 = MIN_FRAME_LEN + (1 << 20) + 1024;

pub(crate) const DOMAIN_SEGMENT: &[u8] = b"EAL1 segment\0";
pub(crate) const DOMAIN_RECORD: &[u8] = b"EAL1 record\0";
pub(crate) const DOMAIN_HEAD: &[u8] = b"EAL1 head\0";
pub(crate) const DOMAIN_AAD: &[u8] = b"EAL1 event\0";

/// Plaintext layout version inside an event record.
pub(crate) const PLAINTEXT_VERSION: u8 = 1;

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An encrypted event.
    Event = 1,
    /// Closes an epoch (and, as the last record of a segment, the segment).
    Close = 2,
    /// Notes a torn tail trimmed on open.
    Recovered = 3,
    /// Tombstone naming a pruned range and the pruned segments' heads.
    Pruned = 4,
}

impl Kind {
    pub(crate) fn from_byte(b: u8) -> Option<Kind> {
        match b {
            1 => Some(Kind::Event),
            2 => Some(Kind::Close),
            3 => Some(Kind::Recovered),
            4 => Some(Kind::Pruned),
            _ => None,
        }
    }
}

pub(crate) fn segment_file_name(n: u32) -> String {
    format!("segment-{n:08}.eal")
}

pub(crate) fn parse_segment_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("segment-")?.strip_suffix(".eal")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub(crate) const HEAD_FILE: &str = "head";

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

pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Nanoseconds since the Unix epoch (UTC).
pub(crate) fn to_nanos(t: SystemTime) -> Result<u64> {
    let d = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::InvalidInput("timestamps before 1970 are not supported".into()))?;
    u64::try_from(d.as_nanos())
        .map_err(|_| Error::InvalidInput("timestamps after 2554 are not supported".into()))
}

pub(crate) fn from_nanos(n: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(n)
}

pub(crate) fn now_nanos() -> u64 {
    to_nanos(SystemTime::now()).unwrap_or(0)
}

/// A segment file's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub(crate) log_id: [u8; 16],
    pub(crate) segment: u32,
    pub(crate) key_version: u32,
    pub(crate) first_seq: u64,
    pub(crate) created_ns: u64,
    /// Chain value before this segment's first record: the previous
    /// segment's last record MAC, zero for segment 1.
    pub(crate) prev: [u8; 32],
    /// How its records are encrypted.
    pub(crate) suite: Suite,
}

impl SegmentHeader {
    pub(crate) fn encode(&self, keys0: &EpochKeys) -> [u8; SEGMENT_HEADER_LEN] {
        let mut b = [0u8; SEGMENT_HEADER_LEN];
        b[0..8].copy_from_slice(&SEGMENT_MAGIC);
        b[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[10] = self.suite.byte();
        b[12..28].copy_from_slice(&self.log_id);
        b[28..32].copy_from_slice(&self.segment.to_le_bytes());
        b[32..36].copy_from_slice(&self.key_version.to_le_bytes());
        b[36..44].copy_from_slice(&self.first_seq.to_le_bytes());
        b[44..52].copy_from_slice(&self.created_ns.to_le_bytes());
        b[52..84].copy_from_slice(&self.prev);
        let mac = header_mac(keys0, &b[..SEGMENT_MAC_AT]);
        b[SEGMENT_MAC_AT..].copy_from_slice(&mac);
        b
    }

    /// Parses the fields without checking the MAC (the key version, needed
    /// for the MAC key, is one of the fields). `Err(None)` means "not a
    /// segment header" (bad magic or suite); `Err(Some(v))` an unknown
    /// version `v`.
    pub(crate) fn parse_unchecked(
        b: &[u8; SEGMENT_HEADER_LEN],
    ) -> Result<(Self, [u8; 32]), Option<u16>> {
        if b[0..8] != SEGMENT_MAGIC {
            return Err(None);
        }
        let version = le_u16(b, 8);
        if version != FORMAT_VERSION {
            return Err(Some(version));
        }
        let Some(suite) = Suite::from_byte(b[10]).filter(|_| b[11] == 0) else {
            return Err(None);
        };
        let mut log_id = [0u8; 16];
        log_id.copy_from_slice(&b[12..28]);
        Ok((
            SegmentHeader {
                log_id,
                segment: le_u32(b, 28),
                key_version: le_u32(b, 32),
                first_seq: le_u64(b, 36),
                created_ns: le_u64(b, 44),
                prev: arr32(b, 52),
                suite,
            },
            arr32(b, SEGMENT_MAC_AT),
        ))
    }

    /// Whether `mac` is this header's MAC under `keys0` (epoch 0 of its key
    /// version), in constant time.
    pub(crate) fn mac_ok(b: &[u8; SEGMENT_HEADER_LEN], keys0: &EpochKeys) -> bool {
        ct_eq(
            &header_mac(keys0, &b[..SEGMENT_MAC_AT]),
            &b[SEGMENT_MAC_AT..],
        )
    }
}

fn header_mac(keys0: &EpochKeys, bytes: &[u8]) -> [u8; 32] {
    let mut m = keys0.mac();
    m.update(DOMAIN_SEGMENT);
    m.update(bytes);
    m.finalize().into_bytes().into()
}

/// The sealed head: the chain's state at a point, MACed under the epoch key
/// of that point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) log_id: [u8; 16],
    pub(crate) segment: u32,
    pub(crate) key_version: u32,
    /// Epoch of the next record.
    pub(crate) epoch: u32,
    /// Records already in that epoch.
    pub(crate) epoch_count: u64,
    /// Sequence number of the next record (= records ever written).
    pub(crate) next_seq: u64,
    /// Length of the segment file at this point.
    pub(crate) end_offset: u64,
    /// Chain value at this point.
    pub(crate) chain: [u8; 32],
    /// First sequence number still in the log (after pruning).
    pub(crate) first_seq: u64,
}

impl Head {
    pub(crate) fn encode(&self, keys: &EpochKeys) -> [u8; HEAD_LEN] {
        let mut b = [0u8; HEAD_LEN];
        b[0..8].copy_from_slice(&HEAD_MAGIC);
        b[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[12..28].copy_from_slice(&self.log_id);
        b[28..32].copy_from_slice(&self.segment.to_le_bytes());
        b[32..36].copy_from_slice(&self.key_version.to_le_bytes());
        b[36..40].copy_from_slice(&self.epoch.to_le_bytes());
        b[40..48].copy_from_slice(&self.epoch_count.to_le_bytes());
        b[48..56].copy_from_slice(&self.next_seq.to_le_bytes());
        b[56..64].copy_from_slice(&self.end_offset.to_le_bytes());
        b[64..96].copy_from_slice(&self.chain);
        b[96..104].copy_from_slice(&self.first_seq.to_le_bytes());
        let mac = head_mac(keys, &b[..HEAD_MAC_AT]);
        b[HEAD_MAC_AT..].copy_from_slice(&mac);
        b
    }

    /// Parses without checking the MAC. Errors: not a head (tampered), or
    /// unknown version.
    pub(crate) fn parse_unchecked(b: &[u8]) -> Result<Head, Option<u16>> {
        if b.len() != HEAD_LEN || b[0..8] != HEAD_MAGIC {
            return Err(None);
        }
        let version = le_u16(b, 8);
        if version != FORMAT_VERSION {
            return Err(Some(version));
        }
        if b[10..12] != [0, 0] {
            return Err(None);
        }
        let mut log_id = [0u8; 16];
        log_id.copy_from_slice(&b[12..28]);
        Ok(Head {
            log_id,
            segment: le_u32(b, 28),
            key_version: le_u32(b, 32),
            epoch: le_u32(b, 36),
            epoch_count: le_u64(b, 40),
            next_seq: le_u64(b, 48),
            end_offset: le_u64(b, 56),
            chain: arr32(b, 64),
            first_seq: le_u64(b, 96),
        })
    }

    pub(crate) fn mac_ok(b: &[u8], keys: &EpochKeys) -> bool {
        b.len() == HEAD_LEN && ct_eq(&head_mac(keys, &b[..HEAD_MAC_AT]), &b[HEAD_MAC_AT..])
    }
}

fn head_mac(keys: &EpochKeys, bytes: &[u8]) -> [u8; 32] {
    let mut m = keys.mac();
    m.update(DOMAIN_HEAD);
    m.update(bytes);
    m.finalize().into_bytes().into()
}

/// The MAC of a frame: HMAC(epoch MAC key, domain ‖ log id ‖ key version ‖
/// previous MAC ‖ frame bytes up to the MAC).
pub(crate) fn record_mac(
    mut mac: HmacSha256,
    log_id: &[u8; 16],
    key_version: u32,
    prev: &[u8; 32],
    frame_without_mac: &[u8],
) -> [u8; 32] {
    mac.update(DOMAIN_RECORD);
    mac.update(log_id);
    mac.update(&key_version.to_le_bytes());
    mac.update(prev);
    mac.update(frame_without_mac);
    mac.finalize().into_bytes().into()
}

/// Fields of a frame (a record on disk), borrowed from its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameView<'a> {
    pub(crate) kind: u8,
    pub(crate) tag: [u8; 4],
    pub(crate) epoch: u32,
    pub(crate) seq: u64,
    pub(crate) mac: [u8; 32],
    /// Everything the MAC covers (the frame without its MAC).
    pub(crate) covered: &'a [u8],
}

impl<'a> FrameView<'a> {
    /// `frame` is the whole frame, length field included; its length must
    /// already be consistent with the length field.
    pub(crate) fn parse(frame: &'a [u8]) -> FrameView<'a> {
        let end = frame.len() - MAC_LEN;
        let mut tag = [0u8; 4];
        tag.copy_from_slice(&frame[5..9]);
        FrameView {
            kind: frame[4],
            tag,
            epoch: le_u32(frame, 9),
            seq: le_u64(frame, 13),
            mac: arr32(frame, end),
            covered: &frame[..end],
        }
    }
}

/// Builds a frame: header, body, MAC. Returns the MAC (the new chain value).
#[allow(clippy::too_many_arguments)] // reason: mirrors the format's fields one to one
pub(crate) fn build_frame(
    out: &mut Vec<u8>,
    kind: Kind,
    log_id: &[u8; 16],
    keys: &EpochKeys,
    seq: u64,
    prev: &[u8; 32],
    body: &[u8],
) -> [u8; 32] {
    let start = out.len();
    // Callers bound bodies by MAX_FRAME_LEN, far below u32::MAX.
    let len = u32::try_from(body.len() + FRAME_HEADER_LEN - 4 + MAC_LEN).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&log_id[..4]);
    out.extend_from_slice(&keys.epoch.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(body);
    let mac = record_mac(keys.mac(), log_id, keys.version, prev, &out[start..]);
    out.extend_from_slice(&mac);
    mac
}

/// Builds an event frame: the plaintext encrypted with the keys' suite
/// under the epoch's key with `nonce` (of the suite's length), the frame
/// header as associated data, then the MAC. Returns the MAC. On error `out`
/// is left as it was.
pub(crate) fn build_event_frame(
    out: &mut Vec<u8>,
    log_id: &[u8; 16],
    keys: &EpochKeys,
    seq: u64,
    prev: &[u8; 32],
    nonce: &[u8],
    plaintext: &[u8],
) -> Result<[u8; 32]> {
    let Some(cipher) = keys.cipher() else {
        return Err(Error::MissingKey {
            version: keys.version,
            encryption: true,
        });
    };
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(Error::InvalidInput("event too large".into()));
    }
    if nonce.len() != keys.suite().nonce_len() {
        return Err(Error::InvalidInput("nonce of the wrong length".into()));
    }
    let start = out.len();
    let body_len = nonce.len() + plaintext.len() + TAG_LEN;
    let len = u32::try_from(body_len + FRAME_HEADER_LEN - 4 + MAC_LEN)
        .map_err(|_| Error::InvalidInput("event too large".into()))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.push(Kind::Event as u8);
    out.extend_from_slice(&log_id[..4]);
    out.extend_from_slice(&keys.epoch.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(nonce);
    let aad = event_aad(log_id, keys.version, &out[start..start + FRAME_HEADER_LEN]);
    let ct_start = out.len();
    out.extend_from_slice(plaintext);
    let Some(tag) = cipher.encrypt(nonce, &aad, &mut out[ct_start..]) else {
        out.truncate(start);
        return Err(Error::InvalidInput("event too large to encrypt".into()));
    };
    out.extend_from_slice(&tag);
    let mac = record_mac(keys.mac(), log_id, keys.version, prev, &out[start..]);
    out.extend_from_slice(&mac);
    Ok(mac)
}

/// Associated data of an event's encryption: domain, log id, key version
/// and the frame header (length, kind, tag, epoch, seq).
pub(crate) fn event_aad(log_id: &[u8; 16], key_version: u32, frame_header: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(DOMAIN_AAD.len() + 16 + 4 + FRAME_HEADER_LEN);
    aad.extend_from_slice(DOMAIN_AAD);
    aad.extend_from_slice(log_id);
    aad.extend_from_slice(&key_version.to_le_bytes());
    aad.extend_from_slice(frame_header);
    aad
}

/// A pruned segment's head, kept in the tombstone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrunedSegment {
    /// Segment number.
    pub segment: u32,
    /// Its key version (destroy this key: no remaining record needs it).
    pub key_version: u32,
    /// Its first sequence number.
    pub first_seq: u64,
    /// Its last sequence number (its closing record).
    pub last_seq: u64,
    /// The chain value after its last record.
    pub last_mac: [u8; 32],
}

pub(crate) const PRUNED_ENTRY_LEN: usize = 56;

/// Body of a tombstone: time, pruned range, pruned segments' heads.
pub(crate) fn encode_pruned(
    time_ns: u64,
    from: u64,
    through: u64,
    segs: &[PrunedSegment],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(28 + segs.len() * PRUNED_ENTRY_LEN);
    b.extend_from_slice(&time_ns.to_le_bytes());
    b.extend_from_slice(&from.to_le_bytes());
    b.extend_from_slice(&through.to_le_bytes());
    b.extend_from_slice(&u32::try_from(segs.len()).unwrap_or(u32::MAX).to_le_bytes());
    for s in segs {
        b.extend_from_slice(&s.segment.to_le_bytes());
        b.extend_from_slice(&s.key_version.to_le_bytes());
        b.extend_from_slice(&s.first_seq.to_le_bytes());
        b.extend_from_slice(&s.last_seq.to_le_bytes());
        b.extend_from_slice(&s.last_mac);
    }
    b
}

/// Parsed tombstone: (time, from, through, segments).
pub(crate) fn decode_pruned(b: &[u8]) -> Option<(u64, u64, u64, Vec<PrunedSegment>)> {
    if b.len() < 28 {
        return None;
    }
    let n = usize::try_from(le_u32(b, 24)).ok()?;
    if b.len() != 28 + n.checked_mul(PRUNED_ENTRY_LEN)? {
        return None;
    }
    let segs = (0..n)
        .map(|i| {
            let at = 28 + i * PRUNED_ENTRY_LEN;
            PrunedSegment {
                segment: le_u32(b, at),
                key_version: le_u32(b, at + 4),
                first_seq: le_u64(b, at + 8),
                last_seq: le_u64(b, at + 16),
                last_mac: arr32(b, at + 24),
            }
        })
        .collect();
    Some((le_u64(b, 0), le_u64(b, 8), le_u64(b, 16), segs))
}

pub(crate) fn encode_close(time_ns: u64, count: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&time_ns.to_le_bytes());
    b[8..].copy_from_slice(&count.to_le_bytes());
    b
}

pub(crate) fn encode_recovered(time_ns: u64, segment: u32, offset: u64, bytes: u64) -> [u8; 28] {
    let mut b = [0u8; 28];
    b[..8].copy_from_slice(&time_ns.to_le_bytes());
    b[8..12].copy_from_slice(&segment.to_le_bytes());
    b[12..20].copy_from_slice(&offset.to_le_bytes());
    b[20..28].copy_from_slice(&bytes.to_le_bytes());
    b
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::print_stdout)]
mod vectors {
    //! Checks the test vectors of FORMAT.md (the block between the
    //! `test-vectors` markers) against this implementation. The same values
    //! were computed independently with Python's `hmac`/`hashlib` and the
    //! `cryptography` package's AESGCM.
    use super::*;

    #[test]
    fn frame_length_bounds_match_the_layout() {
        assert_eq!(MIN_FRAME_LEN as usize, FRAME_HEADER_LEN - 4 + MAC_LEN);
        assert_eq!(
            MAX_FRAME_LEN as usize,
            FRAME_HEADER_LEN - 4 + MAC_LEN + MAX_PLAINTEXT + 1024
        );
    }

    use crate::keys::{EncKey, KeyRing, MacKey};

    fn hex(b: &[u8]) -> String {
        data_encoding::HEXLOWER.encode(b)
    }

    fn computed() -> Vec<(&'static str, String)> {
        let mac: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap());
        let enc: [u8; 32] = core::array::from_fn(|i| u8::try_from(0x20 + i).unwrap());
        let log_id: [u8; 16] = core::array::from_fn(|i| u8::try_from(0xa0 + i).unwrap());
        let ring = KeyRing::new().with(1, MacKey::from_bytes(mac), EncKey::from_bytes(enc));
        let k0 = ring.epoch0(&log_id, 1, true).unwrap();
        let time = 1_795_367_267_000_000_000u64;
        let header = SegmentHeader {
            log_id,
            segment: 1,
            key_version: 1,
            first_seq: 0,
            created_ns: time,
            prev: [0; 32],
            suite: Suite::Aes256Gcm,
        }
        .encode(&k0);
        let mut fields = serde_json::Map::new();
        fields.insert("user".into(), "alice".into());
        let mut plain = Vec::new();
        crate::event::encode_plaintext("login", time, &fields, &mut plain).unwrap();
        let nonce: [u8; 12] = core::array::from_fn(|i| u8::try_from(i).unwrap());
        let mut event = Vec::new();
        let mac0 =
            build_event_frame(&mut event, &log_id, &k0, 0, &[0; 32], &nonce, &plain).unwrap();
        let mut close = Vec::new();
        let mac1 = build_frame(
            &mut close,
            Kind::Close,
            &log_id,
            &k0,
            1,
            &mac0,
            &encode_close(time, 1),
        );
        let k1 = k0.evolve();
        let end = (SEGMENT_HEADER_LEN + event.len() + close.len()) as u64;
        let head = Head {
            log_id,
            segment: 1,
            key_version: 1,
            epoch: 1,
            epoch_count: 0,
            next_seq: 2,
            end_offset: end,
            chain: mac1,
            first_seq: 0,
        }
        .encode(&k1);
        // Suite 2: the same segment and record 0 under XChaCha20-Poly1305,
        // nonce 00 01 .. 17.
        let kx = ring
            .epoch0(&log_id, 1, true)
            .unwrap()
            .with_suite(Suite::XChaCha20Poly1305);
        let header_x = SegmentHeader {
            log_id,
            segment: 1,
            key_version: 1,
            first_seq: 0,
            created_ns: time,
            prev: [0; 32],
            suite: Suite::XChaCha20Poly1305,
        }
        .encode(&kx);
        let nonce_x: [u8; 24] = core::array::from_fn(|i| u8::try_from(i).unwrap());
        let mut event_x = Vec::new();
        let _ =
            build_event_frame(&mut event_x, &log_id, &kx, 0, &[0; 32], &nonce_x, &plain).unwrap();
        // Round trip through the reader's decryption.
        let pt =
            crate::scan::decrypt_frame(kx.cipher().unwrap(), 24, &log_id, 1, &event_x).unwrap();
        assert_eq!(pt.as_slice(), plain.as_slice());
        let k0again = ring.epoch0(&log_id, 1, true).unwrap();
        vec![
            ("mac_epoch0", hex(&k0again.mac_raw())),
            ("enc_epoch0", hex(&k0again.enc_raw().unwrap())),
            ("mac_epoch1", hex(&k1.mac_raw())),
            ("enc_epoch1", hex(&k1.enc_raw().unwrap())),
            ("segment_header", hex(&header)),
            ("plaintext", hex(&plain)),
            ("event_frame", hex(&event)),
            ("close_frame", hex(&close)),
            ("head", hex(&head)),
            ("xchacha_segment_header", hex(&header_x)),
            ("xchacha_event_frame", hex(&event_x)),
        ]
    }

    #[test]
    fn format_md_test_vectors_match() {
        let doc = include_str!("../FORMAT.md");
        let block = doc.split("<!-- test-vectors -->").nth(1).unwrap_or("");
        let mut want: Vec<(String, String)> = Vec::new();
        for line in block.lines() {
            if let Some((k, v)) = line.split_once(" = ") {
                want.push((k.trim().to_owned(), v.trim().to_owned()));
            } else if let Some(more) = line.strip_prefix("    ")
                && let Some((_, v)) = want.last_mut()
            {
                v.push_str(more.trim());
            }
        }
        let want: std::collections::BTreeMap<String, String> = want.into_iter().collect();
        for (name, got) in computed() {
            if std::env::var_os("EAL_PRINT_VECTORS").is_some() {
                println!("{name} = {got}");
                continue;
            }
            assert_eq!(want.get(name), Some(&got), "{name}");
        }
        if std::env::var_os("EAL_PRINT_VECTORS").is_none() {
            assert_eq!(want.len(), 11, "every vector in FORMAT.md is checked");
        }
    }
}
