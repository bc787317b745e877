//! Entry points for cargo-fuzz targets (built with `--cfg fuzzing`); the
//! unit tests below run them on a few inputs so they stay compiling.
//! Each asserts a property, not only the absence of panics.

use crate::event::Record;
use crate::format::{self, FrameView, Head, SEGMENT_HEADER_LEN, SegmentHeader};
use crate::keys::{EncKey, KeyRing, MacKey};
use crate::log::{AuditLog, Options};
use crate::read::LogReader;

fn ring() -> KeyRing {
    KeyRing::new().with(1, MacKey::from_bytes([1; 32]), EncKey::from_bytes([2; 32]))
}

/// The record reader on arbitrary bytes: frame fields, event plaintexts,
/// tombstone bodies, heads and segment headers. Decoders must never panic,
/// and a tombstone body that decodes must re-encode to the same bytes.
#[allow(clippy::missing_panics_doc)] // reason: a panic is the finding
pub fn fuzz_record(data: &[u8]) {
    if data.len() >= 4 {
        let len = format::le_u32(data, 0) as usize;
        if (format::MIN_FRAME_LEN as usize..=format::MAX_FRAME_LEN as usize).contains(&len)
            && data.len() == len + 4
        {
            let v = FrameView::parse(data);
            let _ = (v.kind, v.epoch, v.seq, v.tag, v.mac, v.covered.len());
        }
    }
    let _ = Record::decode(0, data);
    if let Some((t, from, through, segs)) = format::decode_pruned(data) {
        assert_eq!(format::encode_pruned(t, from, through, &segs), data);
    }
    let _ = Head::parse_unchecked(data);
    if let Ok(b) = <&[u8; SEGMENT_HEADER_LEN]>::try_from(data) {
        let _ = SegmentHeader::parse_unchecked(b);
    }
}

/// A fresh empty log, made once per process: its directory, segment and
/// head bytes. Each input rewrites the two files (no fsync), so a run costs
/// no disk syncs unless the input makes a log that opens.
fn base() -> &'static (std::path::PathBuf, Vec<u8>, Vec<u8>) {
    static BASE: std::sync::OnceLock<(std::path::PathBuf, Vec<u8>, Vec<u8>)> =
        std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "eal-fuzz-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let keys = ring();
        if let Ok(log) = AuditLog::open(&dir, &keys, Options::default()) {
            drop(log);
        }
        let seg = std::fs::read(dir.join(format::segment_file_name(1))).unwrap_or_default();
        let head = std::fs::read(dir.join(format::HEAD_FILE)).unwrap_or_default();
        (dir, seg, head)
    })
}

/// The segment reader on arbitrary bytes. The first byte picks what the
/// rest replaces in a valid, sealed, empty log: (0) the bytes after the
/// segment header (records), (1) the whole segment file, header included,
/// (2) the sealed head file. Verification (read-only, whole log) and
/// opening for writing (from the sealed head, which here is the start) must
/// agree on whether the files are acceptable, and a log that opened
/// (trimming any torn tail) must then verify with no torn tail left.
/// Nothing may panic.
#[allow(clippy::missing_panics_doc)] // reason: a panic is the finding
pub fn fuzz_segment(data: &[u8]) {
    let (dir, seg, head) = base();
    let keys = ring();
    let (mode, rest) = data.split_first().map_or((0, data), |(m, r)| (m % 3, r));
    let (bytes, head_bytes) = match mode {
        0 => ([seg.as_slice(), rest].concat(), head.as_slice()),
        1 => (rest.to_vec(), head.as_slice()),
        _ => (seg.clone(), rest),
    };
    let seg_path = dir.join(format::segment_file_name(1));
    if std::fs::write(&seg_path, &bytes).is_err()
        || std::fs::write(dir.join(format::HEAD_FILE), head_bytes).is_err()
    {
        return;
    }
    let verified = LogReader::open(dir, &keys).and_then(|r| r.verify());
    let opened = AuditLog::open(dir, &keys, Options::default());
    assert_eq!(
        verified.is_ok(),
        opened.is_ok(),
        "verify and open disagree: {verified:?} / {:?}",
        opened.as_ref().err()
    );
    if let Ok(log) = opened {
        drop(log);
        let after = LogReader::open(dir, &keys).and_then(|r| r.verify());
        assert!(
            matches!(after, Ok(ref r) if r.torn_tail.is_none()),
            "a log that opened does not verify cleanly: {after:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn fuzz_entry_points_run() {
        fuzz_record(b"");
        fuzz_record(&[0u8; 200]);
        fuzz_record(&format::encode_pruned(1, 2, 3, &[]));
        fuzz_segment(b"");
        fuzz_segment(&[0u8; 7]);
        fuzz_segment(&[0xffu8; 300]);
        fuzz_segment(&[0, 0x31, 0, 0, 0, 1, 2, 3]);
        // The header and the head themselves, whole and damaged.
        let (_, seg0, head0) = base();
        fuzz_segment(&[[1].as_slice(), seg0].concat());
        fuzz_segment(&[[1].as_slice(), &seg0[..50]].concat());
        fuzz_segment(&[[2].as_slice(), head0].concat());
        fuzz_segment(&[[2].as_slice(), &head0[..100]].concat());
        // Prefixes of a real next record: torn tails, and the whole one
        // (on the base log, put back by an empty record input).
        fuzz_segment(&[0]);
        let (dir, seg, _) = base();
        let log = AuditLog::open(dir, &ring(), Options::default()).unwrap();
        let _ = log.append(&crate::Event::new("t").with("k", "v")).unwrap();
        drop(log);
        let full = std::fs::read(dir.join(format::segment_file_name(1))).unwrap();
        let frame = full[seg.len()..].to_vec();
        fuzz_record(&frame);
        let n = frame.len();
        for cut in [0, 1, 3, 4, 5, 21, n / 2, n - 33, n - 1, n] {
            fuzz_segment(&[[0].as_slice(), &frame[..cut]].concat());
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
