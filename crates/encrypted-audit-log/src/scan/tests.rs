//! Walker robustness: MAC-valid but out-of-range fields (which any holder
//! of the MAC key, a verifier included, can write) are reported as
//! tampering, never an overflow; and a reader beside a rotating writer sees
//! a consistent head and segment list.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use super::*;
use crate::format::{PrunedSegment, Suite, encode_pruned, encode_recovered};
use crate::keys::{EncKey, MacKey};
use crate::log::{AuditLog, Options};
use crate::read::LogReader;

const LOG_ID: [u8; 16] = [0x5a; 16];

fn ring(versions: u32) -> KeyRing {
    (1..=versions).fold(KeyRing::new(), |k, v| {
        let b = u8::try_from(v).unwrap();
        k.with(
            v,
            MacKey::from_bytes([b; 32]),
            EncKey::from_bytes([0x80 | b; 32]),
        )
    })
}

/// Writes, with genuine MACs, a log whose only segment is `segment`
/// (first sequence number `first_seq`, chain start `prev`), holding
/// `frames` (kind, body) and a sealed head at the end of the header.
fn craft(path: &Path, segment: u32, first_seq: u64, prev: [u8; 32], frames: &[(Kind, Vec<u8>)]) {
    let keys = ring(1);
    let k0 = keys.epoch0(&LOG_ID, 1, false).unwrap();
    let header = SegmentHeader {
        log_id: LOG_ID,
        segment,
        key_version: 1,
        first_seq,
        created_ns: 1,
        prev,
        suite: Suite::Aes256Gcm,
    };
    let mut bytes = header.encode(&k0).to_vec();
    let (mut seq, mut chain) = (first_seq, prev);
    for (kind, body) in frames {
        chain = format::build_frame(&mut bytes, *kind, &LOG_ID, &k0, seq, &chain, body);
        seq = seq.wrapping_add(1);
    }
    let head = Head {
        log_id: LOG_ID,
        segment,
        key_version: 1,
        epoch: 0,
        epoch_count: 0,
        next_seq: first_seq,
        end_offset: SEGMENT_HEADER_LEN as u64,
        chain: prev,
        first_seq,
    }
    .encode(&k0);
    let dir = PrivateDir::create(path).unwrap();
    dir.write_atomic(format::segment_file_name(segment), &bytes)
        .unwrap();
    dir.write_atomic(HEAD_FILE, &head).unwrap();
}

fn verify_kind(path: &Path) -> TamperKind {
    let keys = ring(1);
    let e = LogReader::open(path, &keys).unwrap().verify().unwrap_err();
    e.tamper_report().unwrap().kind.clone()
}

#[test]
fn segment_zero_is_reported_not_an_underflow() {
    // Before the fix: `seg - 1` with seg == 0 (overflow panic in debug).
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("log");
    craft(&p, 0, 5, [7; 32], &[]);
    assert_eq!(verify_kind(&p), TamperKind::ModifiedBytes);
}

#[test]
fn last_sequence_number_is_reported_not_an_overflow() {
    // Before the fix: `seq + 1` with seq == u64::MAX.
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("log");
    let body = encode_recovered(1, 1, 116, 3).to_vec();
    craft(&p, 1, u64::MAX, [7; 32], &[(Kind::Recovered, body)]);
    assert_eq!(verify_kind(&p), TamperKind::ModifiedBytes);
}

#[test]
fn tombstone_at_the_top_of_the_ranges_is_not_an_overflow() {
    // Before the fix: `p.segment + 1` and `p.last_seq + 1` on a tombstone
    // naming segment u32::MAX / sequence u64::MAX.
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("log");
    let entry = PrunedSegment {
        segment: u32::MAX,
        key_version: 1,
        first_seq: 0,
        last_seq: u64::MAX,
        last_mac: [7; 32],
    };
    let body = encode_pruned(1, 0, u64::MAX, &[entry]);
    craft(&p, 2, 10, [7; 32], &[(Kind::Pruned, body)]);
    // The tombstone does not name the segment before the first one.
    assert_eq!(verify_kind(&p), TamperKind::MissingSegment { expected: 1 });
}

#[test]
fn rotation_between_head_and_listing_is_not_reported_as_truncation() {
    // A writer rotating while a reader opens: before the fix the segment
    // list was taken first, so the head (read after the rotation) named an
    // unlisted segment and the walk ended with Truncated.
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("log");
    let keys = ring(2);
    let log = AuditLog::open(&p, &ring(1), Options::default()).unwrap();
    for i in 0..3u64 {
        let _ = log
            .append(&crate::event::Event::new("test.event").with("i", i))
            .unwrap();
    }
    log.seal().unwrap();
    let dir = PrivateDir::open(&p).unwrap();
    let mut rotated = false;
    let mut w = Walker::open_with(&dir, &keys, false, Start::Full, &mut || {
        if !rotated {
            log.rotate(&keys).unwrap();
            rotated = true;
        }
    })
    .unwrap();
    let mut n = 0;
    while w.next().unwrap().is_some() {
        n += 1;
    }
    assert!(rotated);
    // The three events and the close record of segment 1 at least; the
    // walk reached segment 2 without a false alarm.
    assert!(n >= 4, "{n}");
    assert_eq!(w.segments_seen, 2);
    log.close().unwrap();
    LogReader::open(&p, &keys).unwrap().verify().unwrap();
}

#[test]
fn writer_resuming_at_the_last_sequence_number_refuses_not_overflows() {
    // Before the fix: the writer's `next_seq += 1` on a (MAC-valid) head
    // naming u64::MAX as the next sequence number.
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("log");
    craft(&p, 1, u64::MAX, [7; 32], &[]);
    let log = AuditLog::open(&p, &ring(1), Options::default()).unwrap();
    let e = log
        .append(&crate::event::Event::new("test.event"))
        .unwrap_err();
    assert_eq!(e.tamper_report().unwrap().kind, TamperKind::ModifiedBytes);
    assert_eq!(log.next_seq(), u64::MAX);
}

#[test]
fn rotation_and_prune_between_head_and_listing_are_read_again() {
    // The head read first names segment 1; before the listing, the writer
    // rotates twice and prunes segments 1 and 2. The list then lacks the
    // head's segment: the snapshot is taken again instead of reporting
    // truncation.
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("log");
    let keys = ring(3);
    let log = AuditLog::open(&p, &ring(1), Options::default()).unwrap();
    let _ = log.append(&crate::event::Event::new("test.event")).unwrap();
    log.seal().unwrap();
    let dir = PrivateDir::open(&p).unwrap();
    let mut calls = 0;
    let mut w = Walker::open_with(&dir, &keys, false, Start::Full, &mut || {
        calls += 1;
        if calls == 1 {
            log.rotate(&ring(2)).unwrap();
            log.rotate(&keys).unwrap();
            let mut writer_ring = ring(3);
            let r = log
                .prune_before(
                    std::time::SystemTime::now() + std::time::Duration::from_secs(1),
                    &mut writer_ring,
                )
                .unwrap();
            assert_eq!(r.destroyed_key_versions(), vec![1, 2]);
        }
    })
    .unwrap();
    while w.next().unwrap().is_some() {}
    assert_eq!(calls, 2, "read again once");
    assert_eq!((w.segments_seen, w.first_seq), (1, 3));
    log.close().unwrap();
}

#[test]
fn lost_write_shapes_are_whole_zero_runs_or_a_zeroed_first_sector() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("log");
    let dir = PrivateDir::create(&p).unwrap();
    // (zeroed range, `from`, torn?) on a 1000-byte file of 0xff bytes.
    let cases = [
        (510..512, 510, true),   // the rest of the write's first sector
        (510..511, 510, false),  // only part of it
        (600..616, 500, true),   // a 16-byte run later on
        (600..615, 500, false),  // 15 bytes
        (990..1000, 990, true),  // the first sector's zeros reach the end
        (995..1000, 990, false), // zeros at the end, not from `from`
        (0..0, 100, false),      // no zeros at all
    ];
    for (zeros, from, want) in cases {
        let mut b = vec![0xffu8; 1000];
        b[zeros.clone()].fill(0);
        dir.write_atomic(format::segment_file_name(1), &b).unwrap();
        let mut r = SegReader::open(&dir, 1).unwrap();
        assert_eq!(
            r.lost_write_shape(from).unwrap(),
            want,
            "{zeros:?} from {from}"
        );
        assert_eq!(r.offset, from, "the reader is back at `from`");
    }
}
