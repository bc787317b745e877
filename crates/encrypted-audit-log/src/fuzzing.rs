//! Entry points for cargo-fuzz targets (built with `--cfg fuzzing`); the
//! unit tests below run them on a few inputs so they stay compiling.
//! Each asserts a property, not only the absence of panics.
#![allow(clippy::panic)] // reason: a panic is what the fuzzer reports

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::format::{
    self, FrameView, HEAD_FILE, Head, MAX_FRAME_LEN, MIN_FRAME_LEN, QuarantineBody, RecoveredBody,
    Seal, SegmentHeader, StateSlotHeader, Tombstone,
};
use crate::keys::StateKey;
use crate::log::AuditLog;
use crate::options::Options;
use crate::read::LogReader;
use crate::{Error, Event, VerifyingKey};

/// Every decoder on arbitrary bytes: frames, seal / recovered / tombstone
/// / quarantine bodies, the head, segment headers, state slot headers,
/// event plaintexts. None may panic, and every body that decodes must
/// re-encode to exactly the same bytes (no two encodings of one value).
#[allow(clippy::missing_panics_doc)] // reason: a panic is the finding
pub fn fuzz_record(data: &[u8]) {
    if data.len() >= 4 {
        let len = format::le_u32(data, 0);
        if (MIN_FRAME_LEN..=MAX_FRAME_LEN).contains(&len) && data.len() == len as usize + 4 {
            let v = FrameView::parse(data);
            assert_eq!(v.covered.len() + 32, data.len());
            let _ = (v.kind, v.epoch, v.seq, v.body.len());
        }
    }
    let _ = crate::event::Record::decode(0, data);
    if let Some(s) = Seal::parse(data) {
        assert_eq!(s.body(), data);
    }
    if let Some(r) = RecoveredBody::parse(data) {
        assert_eq!(r.encode(), data);
    }
    if let Some(t) = Tombstone::parse(data) {
        assert_eq!(t.encode(), data);
    }
    if let Some(q) = QuarantineBody::parse(data) {
        assert_eq!(q.encode(), data);
    }
    if let Ok(h) = Head::parse(data) {
        assert_eq!(h.encode().as_slice(), data);
    }
    if let Ok(h) = SegmentHeader::parse(data) {
        assert_eq!(h.encode().as_slice(), &data[..format::SEGMENT_HEADER_LEN]);
    }
    if let Ok(h) = StateSlotHeader::parse(data) {
        assert_eq!(h.encode().as_slice(), &data[..format::STATE_AAD_LEN]);
    }
}

/// A log's files by name; `None` for a deleted one.
type Files = Vec<(String, Option<Vec<u8>>)>;

/// The populated base log: 3 segments, several epochs each, closed.
struct Base {
    dir: PathBuf,
    files: Vec<(String, Vec<u8>)>,
    key: VerifyingKey,
}

fn state_key() -> StateKey {
    StateKey::from_bytes([0x42; 32])
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        let root = std::env::temp_dir().join(format!(
            "eal-fuzz-{}-{}",
            std::process::id(),
            data_encoding::HEXLOWER.encode(&id)
        ));
        let dir = root.join("log");
        let _ = std::fs::create_dir_all(&root);
        // Segments roll at every second seal (tiny size limit, epochs of
        // 3 records): a multi-epoch, multi-segment log with a signed head.
        let opts = Options::default()
            .epoch(3, Duration::from_secs(3600))
            .segment_limits(600, Duration::from_secs(86_400));
        let (log, created) = match AuditLog::create(&dir, &state_key(), opts) {
            Ok(x) => x,
            Err(e) => panic!("cannot create the fuzz base log: {e}"),
        };
        for i in 0..14u64 {
            let _ = log.append(&Event::new("fuzz.event").with("i", i));
        }
        let _ = log.close();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n != ".lock")
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let files = names
            .into_iter()
            .map(|n| {
                let b = std::fs::read(dir.join(&n)).unwrap_or_default();
                (n, b)
            })
            .collect();
        Base {
            dir,
            files,
            key: created.verifying_key,
        }
    })
}

/// Where the signed head points: (segment, offset).
fn head_point(files: &[(String, Vec<u8>)]) -> Option<(u32, u64)> {
    let (_, b) = files.iter().find(|(n, _)| n == HEAD_FILE)?;
    Head::parse(b).ok().map(|h| (h.segment, h.offset))
}

fn write_all(dir: &Path, files: &[(String, Option<Vec<u8>>)]) -> bool {
    let _ = std::fs::remove_dir_all(dir);
    if std::fs::create_dir(dir).is_err() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    files.iter().all(|(n, b)| match b {
        Some(b) => std::fs::write(dir.join(n), b).is_ok(),
        None => true,
    })
}

/// A populated log (3 segments, several sealed epochs, a signed head, the
/// writer state) mutated by `data`, read as 5-byte operations
/// `[file, op, offset lo, offset hi, value]`: op 0 XORs `value` into the
/// byte at `offset`, op 1 truncates the file there, op 2 deletes the file,
/// op 3 appends `value` bytes of the rest of the input. Properties:
///
/// 1. a changed byte or a truncation inside the signed part (any segment
///    but the last, the last before the head's point, or the head) is
///    reported by verification with the public key;
/// 2. verification and `open` agree (unless the state file was touched:
///    verification does not read it);
/// 3. a log that opened (trimming a torn tail) verifies afterwards with
///    no torn tail, sealed to its end (open + close seals).
#[allow(clippy::missing_panics_doc)] // reason: a panic is the finding
pub fn fuzz_segment(data: &[u8]) {
    let (files, touched_state) = mutate(data);
    check_mutated(&files, touched_state);
}

/// [`fuzz_segment`] with every hash chain recomputed after the mutations
/// (the `prev` field of each segment header and of each seal, and the
/// chain field of each frame, walking the frames by their length fields):
/// the unkeyed chain no longer stops a changed record at the first check,
/// so the walker's checks behind it are reached (seal fields and signatures, tombstones,
/// recovery notes, quarantine records, epochs, sequence numbers, event
/// bodies). The properties are those of [`fuzz_segment`]: seals and the
/// head sign chain values, so a change in the signed part must still be
/// reported.
#[allow(clippy::missing_panics_doc)] // reason: a panic is the finding
pub fn fuzz_segment_rechained(data: &[u8]) {
    let (mut files, touched_state) = mutate(data);
    rechain(&mut files);
    check_mutated(&files, touched_state);
}

/// Recomputes, in segment order, each segment header's `prev` (the chain
/// after the previous segment), each seal's `prev` and each frame's chain
/// field, up to the first frame whose length does not fit.
fn rechain(files: &mut Files) {
    let mut chain = [0u8; 32];
    for (name, bytes) in files.iter_mut() {
        let (Some(_), Some(b)) = (format::parse_segment_name(name), bytes.as_mut()) else {
            continue;
        };
        let Some(header) = b.get_mut(..format::SEGMENT_HEADER_LEN) else {
            continue;
        };
        header[100..132].copy_from_slice(&chain);
        let mut h = [0u8; format::SEGMENT_HEADER_LEN];
        h.copy_from_slice(header);
        chain = format::chain_segment(&h);
        let mut pos = format::SEGMENT_HEADER_LEN;
        while pos + 4 <= b.len() {
            let len = format::le_u32(b, pos);
            let end = pos + 4 + len as usize;
            if !(MIN_FRAME_LEN..=MAX_FRAME_LEN).contains(&len) || end > b.len() {
                break;
            }
            // A seal names the chain before it (body bytes 24..56): set it
            // too, so that the seal's signature is what is checked.
            if b[pos + 4] == 2 && len as usize == MIN_FRAME_LEN as usize + format::SEAL_BODY_LEN {
                let at = pos + format::FRAME_HEADER_LEN + 24;
                b[at..at + 32].copy_from_slice(&chain);
            }
            chain = format::chain_record(&chain, &b[pos..end - format::CHAIN_LEN]);
            b[end - format::CHAIN_LEN..end].copy_from_slice(&chain);
            pos = end;
        }
    }
}

/// The base log's files after the 5-byte operations of `data` (see
/// [`fuzz_segment`]), and whether the state file was touched.
fn mutate(data: &[u8]) -> (Files, bool) {
    let base = base();
    let mut files: Vec<(String, Option<Vec<u8>>)> = base
        .files
        .iter()
        .map(|(n, b)| (n.clone(), Some(b.clone())))
        .collect();
    let mut touched_state = false;
    let mut pos = 0;
    while pos + 5 <= data.len() {
        let op = &data[pos..pos + 5];
        pos += 5;
        let i = usize::from(op[0]) % files.len();
        let off = usize::from(u16::from_le_bytes([op[2], op[3]]));
        touched_state |= files[i].0 == format::STATE_FILE;
        let Some(bytes) = files[i].1.as_mut() else {
            continue;
        };
        match op[1] % 4 {
            0 => {
                if let Some(b) = bytes.get_mut(off) {
                    *b ^= op[4];
                }
            }
            1 => bytes.truncate(off),
            2 => files[i].1 = None,
            _ => {
                let rest = &data[pos..];
                let n = usize::from(op[4]).min(rest.len());
                bytes.extend_from_slice(&rest[..n]);
                pos += n;
            }
        }
    }
    (files, touched_state)
}

/// Checks the properties of [`fuzz_segment`] on mutated files.
fn check_mutated(files: &[(String, Option<Vec<u8>>)], touched_state: bool) {
    let base = base();
    let head = head_point(&base.files);
    let last_seg = base
        .files
        .iter()
        .filter_map(|(n, _)| format::parse_segment_name(n))
        .max()
        .unwrap_or(1);
    // Whether the final files differ from the base inside the signed part:
    // any change to the head or to a segment before the head's point (or
    // to a segment other than the last, anywhere), or a deleted one.
    let must_fail = files
        .iter()
        .zip(&base.files)
        .any(|((name, now), (_, was))| {
            let signed_until = match (format::parse_segment_name(name), head) {
                _ if name == HEAD_FILE => usize::MAX,
                (Some(s), Some((hs, ho))) if s == hs && s == last_seg => {
                    usize::try_from(ho).unwrap_or(usize::MAX)
                }
                (Some(s), _) if s < last_seg => usize::MAX,
                (Some(_), _) => 0,
                _ => return false,
            };
            match now {
                None => true,
                Some(now) => {
                    let first_diff = now
                        .iter()
                        .zip(was)
                        .position(|(a, b)| a != b)
                        .or_else(|| (now.len() != was.len()).then(|| now.len().min(was.len())));
                    first_diff.is_some_and(|d| d < signed_until)
                }
            }
        });
    let dir = base.dir.with_extension("case");
    if !write_all(&dir, files) {
        return;
    }
    let verified = LogReader::open(&dir, &base.key).and_then(|r| r.verify());
    if must_fail {
        assert!(
            verified.is_err(),
            "a change in the signed part was not reported: {verified:?}"
        );
    }
    if let Err(e) = &verified {
        assert!(
            matches!(
                e,
                Error::Tampered(_) | Error::NotALog { .. } | Error::UnsupportedVersion { .. }
            ),
            "verification failed with a non-finding: {e}"
        );
    }
    let opened = AuditLog::open(&dir, &state_key(), Options::default());
    if !touched_state {
        assert_eq!(
            verified.is_ok(),
            opened.is_ok(),
            "verify and open disagree: {verified:?} / {:?}",
            opened.as_ref().err()
        );
    }
    if let Ok(log) = opened {
        let closed = log.close();
        assert!(closed.is_ok(), "close failed: {closed:?}");
        let after = LogReader::open(&dir, &base.key).and_then(|r| r.verify());
        assert!(
            matches!(after, Ok(ref r) if r.torn_tail.is_none() && r.unsealed_records == 0),
            "a log that opened does not verify cleanly: {after:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_entry_points_run() {
        fuzz_record(b"");
        fuzz_record(&[0u8; 200]);
        fuzz_record(
            &Tombstone {
                time_ns: 1,
                genesis_ns: 2,
                retention_secs: 3,
                ranges: vec![],
            }
            .encode(),
        );
        fuzz_segment(b"");
        // A flipped byte in the first segment's first record.
        fuzz_segment(&[0, 0, 140, 0, 1]);
        // Truncations of each file.
        for f in 0..6u8 {
            fuzz_segment(&[f, 1, 200, 0, 0]);
            fuzz_segment(&[f, 2, 0, 0, 0]);
        }
        // Garbage appended to the last segment: a torn tail.
        let segs = base()
            .files
            .iter()
            .filter(|(n, _)| format::parse_segment_name(n).is_some())
            .count();
        let last = u8::try_from(segs - 1).unwrap_or(0);
        fuzz_segment(&[last, 3, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7]);
        fuzz_segment_rechained(b"");
        fuzz_segment_rechained(&[0, 0, 140, 0, 1]);
        fuzz_segment_rechained(&[last, 3, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7]);
        let _ = std::fs::remove_dir_all(base().dir.parent().unwrap_or(&base().dir));
    }

    /// Rechaining gets a changed record past the chain check: the
    /// verifier then stops at the seal that signs the old chain value
    /// (`BadSignature`), not at the record (`ModifiedBytes`); the base
    /// log rechained is unchanged.
    #[test]
    fn rechaining_reaches_the_seal_check() {
        let (mut files, _) = mutate(&[]);
        rechain(&mut files);
        let same = files
            .iter()
            .zip(&base().files)
            .all(|((_, now), (_, was))| now.as_ref() == Some(was));
        assert!(same, "rechaining the untouched log changed it");
        // A flipped byte inside the first event body of segment 1 (the
        // frame header is 17 bytes after the 132-byte segment header).
        let seg1 = base()
            .files
            .iter()
            .position(|(n, _)| format::parse_segment_name(n) == Some(1))
            .unwrap_or(0);
        let op = [u8::try_from(seg1).unwrap_or(0), 0, 160, 0, 1];
        let kind = |rechained: bool| {
            let (mut files, _) = mutate(&op);
            if rechained {
                rechain(&mut files);
            }
            // Not under the base log's directory: the other test removes it.
            let dir = std::env::temp_dir().join(format!(
                "eal-rechain-test-{}-{rechained}",
                std::process::id()
            ));
            assert!(write_all(&dir, &files));
            let r = LogReader::open(&dir, &base().key).and_then(|r| r.verify());
            let _ = std::fs::remove_dir_all(&dir);
            match r {
                Err(Error::Tampered(t)) => format!("{:?}", t.kind),
                other => format!("{other:?}"),
            }
        };
        assert_eq!(kind(false), "ModifiedBytes");
        let rechained = kind(true);
        assert!(rechained.starts_with("BadSignature"), "{rechained}");
    }
}
