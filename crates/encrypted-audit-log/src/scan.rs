//! The chain walker: reads segments frame by frame, checks every MAC and
//! every structural rule, and classifies the first problem. Verification,
//! reading and the writer's recovery on open all go through it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

use secure_fs::{Access, PrivateDir};
use zeroize::Zeroizing;

use crate::error::{Error, Result, TamperKind};
use crate::format::{
    self, FRAME_HEADER_LEN, FrameView, HEAD_FILE, HEAD_LEN, Head, Kind, MAX_FRAME_LEN,
    MIN_FRAME_LEN, PrunedSegment, SEGMENT_HEADER_LEN, SegmentHeader, TAG_LEN,
};
use crate::keys::{Cipher, EpochKeys, KeyRing};

/// How many recent records are remembered to recognise a duplicate.
const RECENT: usize = 1024;
/// How many following records are examined to tell reordering from deletion.
const LOOKAHEAD: usize = 8;
/// Bound on key derivations spent checking a head whose point was not
/// reached (a forged epoch number must not cost hours).
const MAX_EXTRA_EPOCHS: u32 = 1 << 16;

/// A torn final record found (and, by a writer, trimmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// Segment number.
    pub segment: u32,
    /// Offset where the torn bytes start (the end of the last valid record).
    pub offset: u64,
    /// How many bytes follow that offset.
    pub bytes: u64,
}

/// What the walker found at the next position.
enum Read1 {
    Frame,
    End,
    /// Bytes remain that do not form a complete frame, or are all zero.
    Torn,
    /// A length field out of range, and the bytes are not all zero.
    BadLength,
}

pub(crate) struct SegReader {
    pub(crate) segment: u32,
    path: PathBuf,
    file: BufReader<File>,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

impl SegReader {
    fn open(dir: &PrivateDir, segment: u32) -> Result<SegReader> {
        let name = format::segment_file_name(segment);
        let path = dir.path().join(&name);
        let file = dir.open_file(&name, Access::Read)?;
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        Ok(SegReader {
            segment,
            path,
            file: BufReader::with_capacity(1 << 18, file),
            offset: 0,
            len,
        })
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        self.file
            .read_exact(buf)
            .map_err(|e| Error::io(&self.path, e))?;
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn seek(&mut self, offset: u64) -> Result<()> {
        self.file
            .seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(&self.path, e))?;
        self.offset = offset;
        Ok(())
    }

    /// Whether every byte from the current offset to the end is zero.
    /// Leaves the offset at the end.
    fn rest_is_zero(&mut self) -> Result<bool> {
        let mut chunk = [0u8; 4096];
        let mut zero = true;
        while self.offset < self.len {
            let n = usize::try_from((self.len - self.offset).min(4096)).unwrap_or(4096);
            self.read_exact(&mut chunk[..n])?;
            zero &= chunk[..n].iter().all(|&b| b == 0);
        }
        Ok(zero)
    }

    /// Whether the bytes from `from` to the end of the file have the shape
    /// a lost write leaves: the rest of the sector `from` lies in is all
    /// zeros (the write's first sector never reached the disk), or a run of
    /// at least [`TORN_ZERO_RUN`] zero bytes lies somewhere after `from`
    /// (a later sector lost). Leaves the offset at `from`.
    fn lost_write_shape(&mut self, from: u64) -> Result<bool> {
        self.seek(from)?;
        let first_sector_end = (from / SECTOR + 1) * SECTOR;
        let mut chunk = [0u8; 4096];
        let mut run = 0u64;
        let mut found = false;
        while self.offset < self.len && !found {
            let at = self.offset;
            let n = usize::try_from((self.len - at).min(4096)).unwrap_or(4096);
            self.read_exact(&mut chunk[..n])?;
            for (i, &b) in chunk[..n].iter().enumerate() {
                run = if b == 0 { run + 1 } else { 0 };
                let end = at + i as u64 + 1;
                if run >= TORN_ZERO_RUN || (end == first_sector_end && run == end - from) {
                    found = true;
                    break;
                }
            }
        }
        // The first sector's zeros reach the end of the file.
        found |= run > 0 && run == self.len - from && self.len < first_sector_end;
        self.seek(from)?;
        Ok(found)
    }

    /// Reads the next frame into `buf` (length field included).
    fn next_frame(&mut self, buf: &mut Vec<u8>) -> Result<Read1> {
        let start = self.offset;
        let remaining = self.len - start;
        if remaining == 0 {
            return Ok(Read1::End);
        }
        if remaining < 4 {
            self.rest_is_zero()?;
            self.seek(start)?;
            return Ok(Read1::Torn);
        }
        let mut lenb = [0u8; 4];
        self.read_exact(&mut lenb)?;
        let len = u32::from_le_bytes(lenb);
        if !(MIN_FRAME_LEN..=MAX_FRAME_LEN).contains(&len) {
            let zero = len == 0 && self.rest_is_zero()?;
            self.seek(start)?;
            return Ok(if zero { Read1::Torn } else { Read1::BadLength });
        }
        if u64::from(len) > remaining - 4 {
            self.seek(start)?;
            return Ok(Read1::Torn);
        }
        buf.clear();
        buf.extend_from_slice(&lenb);
        buf.resize(4 + len as usize, 0);
        self.read_exact(&mut buf[4..])?;
        Ok(Read1::Frame)
    }
}

/// One verified record, as the walker hands it out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item {
    pub(crate) seq: u64,
    pub(crate) kind: Kind,
}

/// Which starting point the walk has.
#[derive(Clone, Copy)]
pub(crate) enum Start {
    /// The whole log, from its first remaining segment.
    Full,
    /// From the sealed head (a writer reopening).
    Head,
}

pub(crate) struct Walker<'a> {
    dir: &'a PrivateDir,
    keys: &'a KeyRing,
    need_enc: bool,
    pub(crate) log_id: [u8; 16],
    segments: Vec<u32>,
    idx: usize,
    pub(crate) reader: SegReader,
    pub(crate) key_version: u32,
    pub(crate) ek: EpochKeys,
    pub(crate) next_seq: u64,
    pub(crate) chain: [u8; 32],
    pub(crate) epoch_count: u64,
    pub(crate) last_was_close: bool,
    pub(crate) head: Head,
    head_bytes: Vec<u8>,
    head_reached: bool,
    start_check: Option<(u32, u64, [u8; 32])>,
    pub(crate) first_seq: u64,
    recent: VecDeque<(u64, [u8; 32])>,
    anchor: Option<(u64, [u8; 32])>,
    anchor_checked: bool,
    pub(crate) pruned: Vec<PrunedSegment>,
    pub(crate) torn: Option<TornTail>,
    pub(crate) buf: Vec<u8>,
    pub(crate) frame_offset: u64,
    pub(crate) records: u64,
    pub(crate) segments_seen: u32,
    finished: bool,
}

/// The segment numbers present in `dir`, sorted.
pub(crate) fn list_segments(dir: &PrivateDir) -> Result<Vec<u32>> {
    let mut v: Vec<u32> = dir
        .entries()?
        .iter()
        .filter_map(|n| n.to_str().and_then(format::parse_segment_file_name))
        .collect();
    v.sort_unstable();
    Ok(v)
}

/// Zero bytes in a row that mark bad bytes after the head as a torn tail
/// rather than tampering (see [`Walker::torn_beyond_head`]): a lost
/// sector, or the lost end of one.
const TORN_ZERO_RUN: u64 = 16;

/// The disk sector: the unit a power loss keeps or loses whole (the
/// first sector of a write may hold earlier, synced bytes before it).
const SECTOR: u64 = 512;

/// How many times [`snapshot`] re-reads when a concurrent prune removed
/// the segment the head it read points at.
const SNAPSHOT_TRIES: usize = 4;

/// The sealed head, then the segment list, in that order: a writer running
/// beside us only ever adds segments after the head's one (rotation), so a
/// rotation between the two reads leaves the head's segment listed. If a
/// prune in between removed it (the head was sealed before the prune),
/// both are read again.
fn snapshot(dir: &PrivateDir, between: &mut dyn FnMut()) -> Result<(Option<Vec<u8>>, Vec<u32>)> {
    let mut tries = 0;
    loop {
        let head = read_head(dir)?;
        between();
        let segments = list_segments(dir)?;
        tries += 1;
        let head_segment = head
            .as_deref()
            .and_then(|b| Head::parse_unchecked(b).ok())
            .map(|h| h.segment);
        let missing = head_segment.is_some_and(|s| {
            segments.last().is_some_and(|&last| s < last) && !segments.contains(&s)
        });
        if !missing || tries == SNAPSHOT_TRIES {
            return Ok((head, segments));
        }
    }
}

/// How many times [`read_head`] reads the head while it keeps changing.
const HEAD_READ_TRIES: usize = 16;

/// The sealed head's bytes, `None` if there is no head file.
///
/// A running writer overwrites the head in place, and a read concurrent
/// with that write could see a mix of old and new bytes: the head is read
/// until two reads in a row agree (a writer updates it once per flush, so
/// this settles at once; a head that never settles is returned as last
/// read, and fails its MAC if it is torn).
pub(crate) fn read_head(dir: &PrivateDir) -> Result<Option<Vec<u8>>> {
    let read = || match dir.read(HEAD_FILE) {
        Ok(b) => Ok(Some(b)),
        Err(e) if *e.kind() == secure_fs::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::from(e)),
    };
    let mut last = read()?;
    for _ in 1..HEAD_READ_TRIES {
        let again = read()?;
        if again == last {
            break;
        }
        last = again;
    }
    Ok(last)
}

/// Whether `head_bytes`, with its log-id field replaced by `log_id`,
/// verifies under `log_id`'s keys (bounded work for a forged epoch).
fn head_ok_with_log_id(keys: &KeyRing, log_id: &[u8; 16], head: &Head, head_bytes: &[u8]) -> bool {
    if head_bytes.len() != HEAD_LEN || head.epoch > MAX_EXTRA_EPOCHS {
        return false;
    }
    let Ok(k0) = keys.epoch0(log_id, head.key_version, false) else {
        return false;
    };
    let mut fixed = head_bytes.to_vec();
    fixed[12..28].copy_from_slice(log_id);
    Head::mac_ok(&fixed, &k0.evolve_to(head.epoch))
}

fn modified(segment: u32, offset: u64, seq: Option<u64>) -> Error {
    Error::tamper(TamperKind::ModifiedBytes, segment, offset, seq)
}

/// Reads and checks a segment header; returns it (MAC verified) and its
/// epoch-0 keys.
fn read_header(
    reader: &mut SegReader,
    keys: &KeyRing,
    need_enc: bool,
) -> Result<(SegmentHeader, EpochKeys)> {
    let seg = reader.segment;
    if reader.len < SEGMENT_HEADER_LEN as u64 {
        return Err(modified(seg, 0, None));
    }
    let mut b = [0u8; SEGMENT_HEADER_LEN];
    reader.read_exact(&mut b)?;
    let (h, _) = match SegmentHeader::parse_unchecked(&b) {
        Ok(x) => x,
        Err(Some(version)) => {
            // A changed version field under an intact MAC is tampering;
            // otherwise the file is from a newer format.
            let mut fixed = b;
            fixed[8..10].copy_from_slice(&format::FORMAT_VERSION.to_le_bytes());
            if let Ok((h, _)) = SegmentHeader::parse_unchecked(&fixed)
                && let Ok(k0) = keys.epoch0(&h.log_id, h.key_version, false)
                && SegmentHeader::mac_ok(&fixed, &k0)
            {
                return Err(modified(seg, 0, None));
            }
            return Err(Error::UnsupportedVersion {
                what: "segment",
                version,
            });
        }
        Err(None) => return Err(modified(seg, 0, None)),
    };
    let k0 = match keys.epoch0(&h.log_id, h.key_version, need_enc) {
        Ok(k) => k,
        // A flipped key-version field names a version we have no key for:
        // that is tampering when a neighbouring version's key verifies it.
        Err(
            e @ Error::MissingKey {
                encryption: false, ..
            },
        ) => {
            for v in keys.versions() {
                let mut fixed = b;
                fixed[32..36].copy_from_slice(&v.to_le_bytes());
                if let Ok(k) = keys.epoch0(&h.log_id, v, false)
                    && SegmentHeader::mac_ok(&fixed, &k)
                {
                    return Err(modified(seg, 0, None));
                }
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if !SegmentHeader::mac_ok(&b, &k0) {
        return Err(modified(seg, 0, None));
    }
    let k0 = k0.with_suite(h.suite);
    if h.segment != seg {
        // A valid header under another file name: a renamed segment.
        return Err(Error::tamper(
            TamperKind::MissingSegment { expected: seg },
            seg,
            0,
            None,
        ));
    }
    Ok((h, k0))
}

impl<'a> Walker<'a> {
    /// Opens a walk over the log in `dir`.
    pub(crate) fn open(
        dir: &'a PrivateDir,
        keys: &'a KeyRing,
        need_enc: bool,
        start: Start,
    ) -> Result<Walker<'a>> {
        Self::open_with(dir, keys, need_enc, start, &mut || {})
    }

    /// [`Walker::open`], calling `between` after reading the head and
    /// before listing the segments (the seam where a writer running beside
    /// a reader can rotate or prune; tests rotate there).
    pub(crate) fn open_with(
        dir: &'a PrivateDir,
        keys: &'a KeyRing,
        need_enc: bool,
        start: Start,
        between: &mut dyn FnMut(),
    ) -> Result<Walker<'a>> {
        let (head_bytes, segments) = snapshot(dir, between)?;
        let (Some(&first), Some(head_bytes)) = (segments.first(), head_bytes.clone()) else {
            return Err(match head_bytes {
                None if segments.is_empty() => Error::NotALog {
                    path: dir.path().to_path_buf(),
                },
                None => Error::tamper(TamperKind::MissingHead, 0, 0, None),
                // A head proves a log was here: every segment was removed.
                Some(b) => {
                    let expected = Head::parse_unchecked(&b).map_or(1, |h| h.segment);
                    Error::tamper(TamperKind::MissingSegment { expected }, expected, 0, None)
                }
            });
        };
        let head = match Head::parse_unchecked(&head_bytes) {
            Ok(h) => h,
            Err(Some(version)) if head_bytes.len() == HEAD_LEN => {
                // Checked against the chain at the head point; parse the
                // rest with the version field normalised.
                let mut fixed = head_bytes.clone();
                fixed[8..10].copy_from_slice(&format::FORMAT_VERSION.to_le_bytes());
                match Head::parse_unchecked(&fixed) {
                    Ok(h) => h,
                    Err(_) => {
                        return Err(Error::UnsupportedVersion {
                            what: "head",
                            version,
                        });
                    }
                }
            }
            Err(_) => return Err(modified(0, 0, None)),
        };
        match start {
            Start::Full => Self::open_full(dir, keys, need_enc, segments, first, head, head_bytes),
            Start::Head => Self::open_at_head(dir, keys, need_enc, segments, head, head_bytes),
        }
    }

    fn open_full(
        dir: &'a PrivateDir,
        keys: &'a KeyRing,
        need_enc: bool,
        segments: Vec<u32>,
        first: u32,
        head: Head,
        head_bytes: Vec<u8>,
    ) -> Result<Walker<'a>> {
        let mut reader = SegReader::open(dir, first)?;
        let (h, k0) = read_header(&mut reader, keys, need_enc)?;
        if h.log_id != head.log_id {
            // Only the head's id field changed (it verifies once the id is
            // ours again), or the segment is another log's.
            if head_ok_with_log_id(keys, &h.log_id, &head, &head_bytes) {
                return Err(modified(0, 0, None));
            }
            return Err(Error::tamper(
                TamperKind::SplicedFromAnotherLog,
                first,
                0,
                None,
            ));
        }
        let start_check =
            (h.segment != 1 || h.first_seq != 0).then_some((h.segment, h.first_seq, h.prev));
        if start_check.is_none() && h.prev != [0u8; 32] {
            return Err(modified(first, 0, None));
        }
        Ok(Walker {
            dir,
            keys,
            need_enc,
            log_id: h.log_id,
            segments,
            idx: 0,
            reader,
            key_version: h.key_version,
            ek: k0,
            next_seq: h.first_seq,
            chain: h.prev,
            epoch_count: 0,
            last_was_close: false,
            head,
            head_bytes,
            head_reached: false,
            start_check,
            first_seq: h.first_seq,
            recent: VecDeque::with_capacity(RECENT),
            anchor: None,
            anchor_checked: false,
            pruned: Vec::new(),
            torn: None,
            buf: Vec::with_capacity(4096),
            frame_offset: SEGMENT_HEADER_LEN as u64,
            records: 0,
            segments_seen: 1,
            finished: false,
        })
    }

    fn open_at_head(
        dir: &'a PrivateDir,
        keys: &'a KeyRing,
        need_enc: bool,
        segments: Vec<u32>,
        head: Head,
        head_bytes: Vec<u8>,
    ) -> Result<Walker<'a>> {
        let Some(idx) = segments.iter().position(|&s| s == head.segment) else {
            return Err(Error::tamper(
                TamperKind::Truncated {
                    expected_last: head.next_seq.saturating_sub(1),
                    found_last: None,
                },
                head.segment,
                0,
                None,
            ));
        };
        let mut reader = SegReader::open(dir, head.segment)?;
        let (h, k0) = read_header(&mut reader, keys, need_enc)?;
        if h.log_id != head.log_id || h.key_version != head.key_version {
            return Err(modified(0, 0, None));
        }
        if reader.len < head.end_offset {
            return Err(Error::tamper(
                TamperKind::Truncated {
                    expected_last: head.next_seq.saturating_sub(1),
                    found_last: None,
                },
                head.segment,
                reader.len,
                None,
            ));
        }
        // Each epoch holds at least one record (its close): an epoch number
        // beyond what the segment's length allows is forged (and
        // deriving it would cost time).
        let max_epochs = head.end_offset / u64::from(MIN_FRAME_LEN) + 1;
        if u64::from(head.epoch) > max_epochs {
            return Err(modified(0, 0, None));
        }
        let ek = k0.evolve_to(head.epoch);
        if !Head::mac_ok(&head_bytes, &ek) {
            return Err(modified(0, 0, None));
        }
        reader.seek(head.end_offset)?;
        Ok(Walker {
            dir,
            keys,
            need_enc,
            log_id: head.log_id,
            segments,
            idx,
            reader,
            key_version: head.key_version,
            ek,
            next_seq: head.next_seq,
            chain: head.chain,
            epoch_count: head.epoch_count,
            // Only a close record leaves a later epoch with no record yet.
            last_was_close: head.epoch > 0 && head.epoch_count == 0,
            first_seq: head.first_seq,
            head,
            head_bytes,
            head_reached: true,
            start_check: None,
            recent: VecDeque::with_capacity(RECENT),
            anchor: None,
            anchor_checked: false,
            pruned: Vec::new(),
            torn: None,
            buf: Vec::with_capacity(4096),
            frame_offset: 0,
            records: 0,
            segments_seen: 1,
            finished: false,
        })
    }

    /// Also check the chain against an anchor (sequence number, chain value).
    pub(crate) fn set_anchor(&mut self, seq: u64, chain: [u8; 32]) {
        self.anchor = Some((seq, chain));
    }

    pub(crate) fn segment(&self) -> u32 {
        self.reader.segment
    }

    fn tag(&self) -> [u8; 4] {
        let mut t = [0u8; 4];
        t.copy_from_slice(&self.log_id[..4]);
        t
    }

    fn beyond_head(&self, segment: u32, offset: u64) -> bool {
        segment > self.head.segment
            || (segment == self.head.segment && offset >= self.head.end_offset)
    }

    fn is_last_segment(&self) -> bool {
        self.idx + 1 == self.segments.len()
    }

    /// At the head's point: the chain state there must be exactly what the
    /// sealed head says.
    fn check_head_point(&mut self) -> Result<()> {
        if self.head_reached
            || self.reader.segment != self.head.segment
            || self.reader.offset != self.head.end_offset
        {
            return Ok(());
        }
        self.head_reached = true;
        let expected = Head {
            log_id: self.log_id,
            segment: self.reader.segment,
            key_version: self.key_version,
            epoch: self.ek.epoch,
            epoch_count: self.epoch_count,
            next_seq: self.next_seq,
            end_offset: self.reader.offset,
            chain: self.chain,
            first_seq: self.head.first_seq,
        }
        .encode(&self.ek);
        if !format::ct_eq(&expected, &self.head_bytes) {
            return Err(modified(0, 0, None));
        }
        Ok(())
    }

    /// The next verified record, or `None` at the end of the log (after the
    /// end-of-log checks passed).
    pub(crate) fn next(&mut self) -> Result<Option<Item>> {
        loop {
            if self.finished {
                return Ok(None);
            }
            self.check_head_point()?;
            let start = self.reader.offset;
            let seg = self.reader.segment;
            match self.reader.next_frame(&mut self.buf)? {
                Read1::Frame => {
                    self.frame_offset = start;
                    return match self.verify_frame(seg, start) {
                        Ok(item) => Ok(Some(item)),
                        Err(Error::Tampered(_)) if self.torn_beyond_head(seg, start)? => {
                            self.end_at_torn_tail(seg, start)?;
                            Ok(None)
                        }
                        Err(e) => Err(e),
                    };
                }
                Read1::End => {
                    if self.is_last_segment() {
                        self.finish()?;
                        return Ok(None);
                    }
                    if !self.next_segment()? {
                        return Ok(None);
                    }
                }
                Read1::Torn if self.is_last_segment() && self.beyond_head(seg, start) => {
                    self.end_at_torn_tail(seg, start)?;
                    return Ok(None);
                }
                Read1::BadLength if self.torn_beyond_head(seg, start)? => {
                    self.end_at_torn_tail(seg, start)?;
                    return Ok(None);
                }
                Read1::Torn | Read1::BadLength => {
                    if !self.beyond_head(seg, start)
                        && seg == self.head.segment
                        && self.reader.len < self.head.end_offset
                    {
                        return Err(self.truncated_error());
                    }
                    return Err(modified(seg, start, Some(self.next_seq)));
                }
            }
        }
    }

    /// Whether the bad bytes at `start` (a frame whose MAC fails, or a
    /// length out of range) are a torn tail: in the last segment, beyond
    /// the sealed head's point, with zeros where sectors of the write were
    /// lost ([`SegReader::lost_write_shape`]). That is what a power loss
    /// leaves when the file size reached the disk but some sectors of the
    /// last, unsynced write did not: they read back as zeros, in any order.
    ///
    /// A valid record can hold 16 zero bytes in a row (a tombstone naming
    /// segments that start at sequence 0), but the rule only ever applies
    /// to bytes that already failed verification, beyond the head: nothing
    /// there was covered by a head, so calling it torn rather than tampered
    /// hides nothing that cutting the file there would not (the trim is
    /// noted in an `audit.recovered` record). Before the head's point, or
    /// in an earlier segment, the same bytes are tampering.
    fn torn_beyond_head(&mut self, seg: u32, start: u64) -> Result<bool> {
        if !(self.is_last_segment() && self.beyond_head(seg, start)) {
            return Ok(false);
        }
        self.reader.lost_write_shape(start)
    }

    /// Ends the walk at a torn tail starting at `start`.
    fn end_at_torn_tail(&mut self, seg: u32, start: u64) -> Result<()> {
        self.torn = Some(TornTail {
            segment: seg,
            offset: start,
            bytes: self.reader.len - start,
        });
        self.reader.seek(start)?;
        self.finish()
    }

    fn truncated_error(&self) -> Error {
        Error::tamper(
            TamperKind::Truncated {
                expected_last: self.head.next_seq.saturating_sub(1),
                found_last: self
                    .next_seq
                    .checked_sub(1)
                    .filter(|_| self.next_seq > self.first_seq),
            },
            self.reader.segment,
            self.reader.len,
            Some(self.next_seq),
        )
    }

    /// Moves to the next segment; `false` if it turned out to be a torn
    /// creation (a crash mid-rotation) and the walk has ended.
    fn next_segment(&mut self) -> Result<bool> {
        let cur = self.reader.segment;
        let end = self.reader.len;
        let next = self.segments[self.idx + 1];
        // File names have 8 digits, so `cur + 1` cannot overflow; checked
        // all the same.
        let expected = cur.saturating_add(1);
        if next != expected {
            return Err(Error::tamper(
                TamperKind::MissingSegment { expected },
                expected,
                0,
                Some(self.next_seq),
            ));
        }
        let mut reader = SegReader::open(self.dir, next)?;
        if reader.len < SEGMENT_HEADER_LEN as u64
            && self.idx + 2 == self.segments.len()
            && next > self.head.segment
        {
            self.torn = Some(TornTail {
                segment: next,
                offset: 0,
                bytes: reader.len,
            });
            self.finish()?;
            return Ok(false);
        }
        let (h, k0) = read_header(&mut reader, self.keys, self.need_enc)?;
        if h.log_id != self.log_id {
            return Err(Error::tamper(
                TamperKind::SplicedFromAnotherLog,
                next,
                0,
                None,
            ));
        }
        if !self.last_was_close {
            // A segment that has a successor ends with a close record.
            return Err(Error::tamper(
                TamperKind::Truncated {
                    expected_last: h.first_seq.saturating_sub(1),
                    found_last: self.next_seq.checked_sub(1),
                },
                cur,
                end,
                Some(self.next_seq),
            ));
        }
        if h.key_version <= self.key_version || h.first_seq != self.next_seq || h.prev != self.chain
        {
            if h.first_seq > self.next_seq {
                return Err(Error::tamper(
                    TamperKind::DeletedRecords {
                        expected: self.next_seq,
                        found: h.first_seq,
                    },
                    next,
                    0,
                    Some(self.next_seq),
                ));
            }
            return Err(modified(next, 0, Some(self.next_seq)));
        }
        self.idx += 1;
        self.reader = reader;
        self.key_version = h.key_version;
        self.ek = k0;
        self.epoch_count = 0;
        self.last_was_close = false;
        self.segments_seen += 1;
        Ok(true)
    }

    fn finish(&mut self) -> Result<()> {
        self.finished = true;
        self.check_head_point()?;
        if !self.head_reached {
            return Err(if self.standalone_head_ok() {
                self.truncated_error()
            } else {
                modified(0, 0, None)
            });
        }
        if let Some((seg, first_seq, _)) = self.start_check {
            let kind = match seg.checked_sub(1) {
                Some(0) => TamperKind::DeletedRecords {
                    expected: 0,
                    found: first_seq,
                },
                Some(before) => TamperKind::MissingSegment { expected: before },
                // Segment numbers start at 1: a (MAC-valid) segment 0 is
                // malformed.
                None => TamperKind::ModifiedBytes,
            };
            return Err(Error::tamper(kind, seg, 0, Some(first_seq)));
        }
        if let Some((seq, chain)) = self.anchor
            && !self.anchor_checked
        {
            if seq < self.first_seq {
                let kept = self
                    .pruned
                    .iter()
                    .any(|p| p.last_seq == seq && format::ct_eq(&p.last_mac, &chain));
                let conflicting = self.pruned.iter().any(|p| p.last_seq == seq);
                if conflicting && !kept {
                    return Err(Error::tamper(
                        TamperKind::AnchorMismatch { seq },
                        0,
                        0,
                        Some(seq),
                    ));
                }
                if !kept {
                    return Err(Error::AnchorPruned { seq });
                }
            } else {
                return Err(Error::tamper(
                    TamperKind::Truncated {
                        expected_last: seq,
                        found_last: self.next_seq.checked_sub(1),
                    },
                    self.reader.segment,
                    self.reader.offset,
                    Some(self.next_seq),
                ));
            }
        }
        Ok(())
    }

    /// Whether the sealed head verifies on its own (used when its point was
    /// never reached, to tell a truncated log from a changed head).
    fn standalone_head_ok(&self) -> bool {
        let h = &self.head;
        if h.log_id != self.log_id || self.head_bytes.len() != HEAD_LEN {
            return false;
        }
        let Ok(k0) = self.keys.epoch0(&self.log_id, h.key_version, false) else {
            return false;
        };
        if h.epoch > self.ek.epoch.saturating_add(MAX_EXTRA_EPOCHS)
            && h.key_version == self.key_version
        {
            return false;
        }
        if h.epoch > MAX_EXTRA_EPOCHS.saturating_mul(16) {
            return false;
        }
        Head::mac_ok(&self.head_bytes, &k0.evolve_to(h.epoch))
    }

    fn key_for(&self, epoch: u32) -> Option<EpochKeys> {
        // Only the current epoch or the next are plausible; deriving is cheap.
        if epoch == self.ek.epoch {
            Some(self.clone_keys())
        } else if epoch == self.ek.epoch.wrapping_add(1) {
            Some(self.clone_keys().evolve())
        } else {
            None
        }
    }

    fn clone_keys(&self) -> EpochKeys {
        // Re-derive (EpochKeys is deliberately not Clone).
        self.keys
            .epoch0(&self.log_id, self.key_version, false)
            .map(|k| k.evolve_to(self.ek.epoch).with_suite(self.ek.suite()))
            .unwrap_or_else(|_| self.ek_copy_fallback())
    }

    #[cold]
    fn ek_copy_fallback(&self) -> EpochKeys {
        // The walk started from these keys, so epoch0 cannot fail here; a
        // keyless placeholder makes every MAC comparison fail (no panic).
        EpochKeys::keyless(self.key_version, self.ek.epoch)
    }

    fn mac_with(&self, keys: &EpochKeys, covered: &[u8]) -> [u8; 32] {
        format::record_mac(
            keys.mac(),
            &self.log_id,
            self.key_version,
            &self.chain,
            covered,
        )
    }

    fn verify_frame(&mut self, seg: u32, offset: u64) -> Result<Item> {
        let expected = self.next_seq;
        let (ok, kind_byte, seq, mac, epoch_ok) = {
            let v = FrameView::parse(&self.buf);
            let epoch_ok = v.epoch == self.ek.epoch;
            let ok = epoch_ok && v.tag == self.tag() && v.seq == expected && {
                let mac = format::record_mac(
                    self.ek.mac(),
                    &self.log_id,
                    self.key_version,
                    &self.chain,
                    v.covered,
                );
                format::ct_eq(&mac, &v.mac)
            };
            (ok, v.kind, v.seq, v.mac, epoch_ok)
        };
        let _ = epoch_ok;
        if !ok {
            return Err(self.classify(seg, offset));
        }
        let Some(kind) = Kind::from_byte(kind_byte) else {
            return Err(Error::UnsupportedVersion {
                what: "record kind",
                version: u16::from(kind_byte),
            });
        };
        let body_len = self.buf.len() - FRAME_HEADER_LEN - format::MAC_LEN;
        let body = &self.buf[FRAME_HEADER_LEN..FRAME_HEADER_LEN + body_len];
        match kind {
            Kind::Event if body_len < self.ek.suite().nonce_len() + TAG_LEN + 1 => {
                return Err(modified(seg, offset, Some(seq)));
            }
            Kind::Close if body_len != 16 || format::le_u64(body, 8) != self.epoch_count => {
                return Err(modified(seg, offset, Some(seq)));
            }
            Kind::Recovered if body_len != 28 => return Err(modified(seg, offset, Some(seq))),
            Kind::Pruned => {
                let Some((_, _, _, segs)) = format::decode_pruned(body) else {
                    return Err(modified(seg, offset, Some(seq)));
                };
                if let Some((first_seg, first_seq, prev)) = self.start_check
                    && segs.iter().any(|p| {
                        // Checked: tombstone fields come from the file.
                        p.segment.checked_add(1) == Some(first_seg)
                            && p.last_seq.checked_add(1) == Some(first_seq)
                            && format::ct_eq(&p.last_mac, &prev)
                    })
                {
                    self.start_check = None;
                }
                self.pruned.extend(segs);
            }
            _ => {}
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        // A sequence number or epoch count at the top of its range comes
        // from a forged header or head (a MAC-key holder can make one): it
        // is malformed, never an overflow.
        let (Some(next_seq), Some(next_count)) =
            (seq.checked_add(1), self.epoch_count.checked_add(1))
        else {
            return Err(modified(seg, offset, Some(seq)));
        };
        self.recent.push_back((seq, mac));
        self.chain = mac;
        self.next_seq = next_seq;
        self.records += 1;
        if kind == Kind::Close {
            let ek = std::mem::replace(&mut self.ek, EpochKeys::keyless(0, 0));
            self.ek = ek.evolve();
            self.epoch_count = 0;
            self.last_was_close = true;
        } else {
            self.epoch_count = next_count;
            self.last_was_close = false;
        }
        if let Some((aseq, achain)) = self.anchor
            && aseq == seq
        {
            if !format::ct_eq(&achain, &mac) {
                return Err(Error::tamper(
                    TamperKind::AnchorMismatch { seq },
                    seg,
                    offset,
                    Some(seq),
                ));
            }
            self.anchor_checked = true;
        }
        Ok(Item { seq, kind })
    }

    /// The frame at (seg, offset) failed; say how.
    fn classify(&self, seg: u32, offset: u64) -> Error {
        let expected = self.next_seq;
        let pos_err = |kind| Error::tamper(kind, seg, offset, Some(expected));
        let v = FrameView::parse(&self.buf);
        if v.seq < expected && self.recent.iter().any(|(s, m)| *s == v.seq && *m == v.mac) {
            return pos_err(TamperKind::DuplicatedRecord { seq: v.seq });
        }
        let Some(keys) = self.key_for(v.epoch) else {
            return pos_err(TamperKind::ModifiedBytes);
        };
        let ours = self.tag();
        if v.tag != ours {
            let mut fixed = v.covered.to_vec();
            fixed[5..9].copy_from_slice(&ours);
            if format::ct_eq(&self.mac_with(&keys, &fixed), &v.mac) {
                return pos_err(TamperKind::ModifiedBytes);
            }
            return pos_err(TamperKind::SplicedFromAnotherLog);
        }
        if v.seq != expected {
            let mut fixed = v.covered.to_vec();
            fixed[13..21].copy_from_slice(&expected.to_le_bytes());
            if format::ct_eq(&self.mac_with(&keys, &fixed), &v.mac) {
                return pos_err(TamperKind::ModifiedBytes);
            }
            if v.seq < expected {
                return pos_err(TamperKind::ModifiedBytes);
            }
            if self
                .later_seqs(seg, offset + self.buf.len() as u64)
                .contains(&expected)
            {
                return pos_err(TamperKind::ReorderedRecords {
                    expected,
                    found: v.seq,
                });
            }
            return pos_err(TamperKind::DeletedRecords {
                expected,
                found: v.seq,
            });
        }
        pos_err(TamperKind::ModifiedBytes)
    }

    /// The sequence numbers of up to LOOKAHEAD frames after `offset` in
    /// segment `seg` (structure only, nothing verified).
    fn later_seqs(&self, seg: u32, offset: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let Ok(mut r) = SegReader::open(self.dir, seg) else {
            return out;
        };
        if r.seek(offset).is_err() {
            return out;
        }
        let mut buf = Vec::new();
        for _ in 0..LOOKAHEAD {
            match r.next_frame(&mut buf) {
                Ok(Read1::Frame) => out.push(FrameView::parse(&buf).seq),
                _ => break,
            }
        }
        out
    }

    /// Decrypts the event record just returned by [`Walker::next`].
    pub(crate) fn decrypt_current(&self) -> Result<Zeroizing<Vec<u8>>> {
        let Some(cipher) = self.ek.cipher() else {
            return Err(Error::MissingKey {
                version: self.key_version,
                encryption: true,
            });
        };
        decrypt_frame(
            cipher,
            self.ek.suite().nonce_len(),
            &self.log_id,
            self.key_version,
            &self.buf,
        )
    }
}

pub(crate) fn decrypt_frame(
    cipher: &Cipher,
    nonce_len: usize,
    log_id: &[u8; 16],
    key_version: u32,
    frame: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let body = &frame[FRAME_HEADER_LEN..frame.len() - format::MAC_LEN];
    if body.len() < nonce_len + TAG_LEN {
        return Err(Error::DecryptionFailed);
    }
    let (nonce, rest) = body.split_at(nonce_len);
    let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
    let aad = format::event_aad(log_id, key_version, &frame[..FRAME_HEADER_LEN]);
    let mut pt = Zeroizing::new(ct.to_vec());
    if !cipher.decrypt(nonce, &aad, pt.as_mut_slice(), tag) {
        return Err(Error::DecryptionFailed);
    }
    Ok(pt)
}

#[cfg(test)]
mod tests;
