//! The tamper matrix (issue item 3): every byte flipped, every record
//! deleted, every adjacent pair swapped, every record duplicated, records
//! and segments spliced from another log. Each case must be detected with
//! the right kind and position, and never taken for a crash.

use std::path::Path;

use encrypted_audit_log::{
    AuditLog, Error, LogReader, Options, Position, Suite, Tamper, TamperKind,
};

use crate::common::{self, frames, keys, tmp, verify_keys};

fn verify(path: &Path) -> Result<encrypted_audit_log::VerifyReport, Error> {
    let vk = verify_keys(3);
    LogReader::open(path, &vk).unwrap().verify()
}

fn tamper(path: &Path) -> Tamper {
    match verify(path) {
        Err(Error::Tampered(t)) => t,
        other => panic!("expected tampering, got {other:?}"),
    }
}

/// Every record-encryption suite: the matrix runs for each.
const SUITES: [Suite; 2] = [Suite::Aes256Gcm, Suite::XChaCha20Poly1305];

/// A small log: 5 records across two epochs (the close record is seq 2).
fn log5(path: &Path, suite: Suite) -> Vec<u8> {
    common::small_log_with(path, 4, 2, suite);
    assert_eq!(
        std::fs::read(common::seg(path, 1)).unwrap()[10],
        match suite {
            Suite::Aes256Gcm => 1,
            _ => 2,
        },
        "the suite byte of the segment header"
    );
    let bytes = std::fs::read(common::seg(path, 1)).unwrap();
    assert_eq!(
        frames(&bytes).iter().map(|f| f.2).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    verify(path).unwrap();
    bytes
}

fn pos(segment: u32, offset: usize, seq: Option<u64>) -> Position {
    Position {
        segment,
        offset: offset as u64,
        seq,
    }
}

#[test]
fn every_flipped_byte_of_segment_and_head_is_reported_where_it_is() {
    for suite in SUITES {
        every_flipped_byte_of_segment_and_head_is_reported_where_it_is_with(suite);
    }
}

fn every_flipped_byte_of_segment_and_head_is_reported_where_it_is_with(suite: Suite) {
    let (_t, path) = tmp();
    let original = log5(&path, suite);
    let fr = frames(&original);
    let seg = common::seg(&path, 1);
    let mut cases = 0;
    for mask in [0x01u8] {
        for i in 0..original.len() {
            let mut b = original.clone();
            b[i] ^= mask;
            std::fs::write(&seg, &b).unwrap();
            let t = tamper(&path);
            let want = match fr.iter().find(|f| i >= f.0 && i < f.0 + f.1) {
                Some(f) => pos(1, f.0, Some(f.2)),
                None => pos(1, 0, None),
            };
            assert_eq!(
                (t.kind.clone(), t.position),
                (TamperKind::ModifiedBytes, want),
                "byte {i} ^ {mask:#x}"
            );
            cases += 1;
        }
    }
    std::fs::write(&seg, &original).unwrap();
    let head = std::fs::read(path.join("head")).unwrap();
    for i in 0..head.len() {
        let mut b = head.clone();
        b[i] ^= 0x01;
        std::fs::write(path.join("head"), &b).unwrap();
        let t = tamper(&path);
        assert_eq!(
            (t.kind, t.position),
            (TamperKind::ModifiedBytes, pos(0, 0, None)),
            "head byte {i}"
        );
        cases += 1;
    }
    std::fs::write(path.join("head"), &head).unwrap();
    verify(&path).unwrap();
    assert!(cases > 800, "{cases}");
}

#[test]
fn every_deleted_record_is_reported() {
    for suite in SUITES {
        every_deleted_record_is_reported_with(suite);
    }
}

fn every_deleted_record_is_reported_with(suite: Suite) {
    let (_t, path) = tmp();
    let original = log5(&path, suite);
    let fr = frames(&original);
    for (k, &(start, len, seq)) in fr.iter().enumerate() {
        let mut b = original.clone();
        b.drain(start..start + len);
        std::fs::write(common::seg(&path, 1), &b).unwrap();
        let t = tamper(&path);
        if k + 1 < fr.len() {
            assert_eq!(
                t.kind,
                TamperKind::DeletedRecords {
                    expected: seq,
                    found: seq + 1
                },
                "record {seq}"
            );
            assert_eq!(t.position, pos(1, start, Some(seq)));
        } else {
            assert_eq!(
                t.kind,
                TamperKind::Truncated {
                    expected_last: seq,
                    found_last: Some(seq - 1)
                }
            );
            assert_eq!(t.position, pos(1, start, Some(seq)));
        }
    }
}

#[test]
fn every_swapped_adjacent_pair_is_reported_as_reordering() {
    for suite in SUITES {
        every_swapped_adjacent_pair_is_reported_as_reordering_with(suite);
    }
}

fn every_swapped_adjacent_pair_is_reported_as_reordering_with(suite: Suite) {
    let (_t, path) = tmp();
    let original = log5(&path, suite);
    let fr = frames(&original);
    for w in fr.windows(2) {
        let ((a, alen, aseq), (bs, blen, bseq)) = (w[0], w[1]);
        let mut b = original[..a].to_vec();
        b.extend_from_slice(&original[bs..bs + blen]);
        b.extend_from_slice(&original[a..a + alen]);
        b.extend_from_slice(&original[bs + blen..]);
        std::fs::write(common::seg(&path, 1), &b).unwrap();
        let t = tamper(&path);
        assert_eq!(
            t.kind,
            TamperKind::ReorderedRecords {
                expected: aseq,
                found: bseq
            }
        );
        assert_eq!(t.position, pos(1, a, Some(aseq)));
    }
}

#[test]
fn every_duplicated_record_is_reported() {
    for suite in SUITES {
        every_duplicated_record_is_reported_with(suite);
    }
}

fn every_duplicated_record_is_reported_with(suite: Suite) {
    let (_t, path) = tmp();
    let original = log5(&path, suite);
    for &(start, len, seq) in &frames(&original) {
        let mut b = original[..start + len].to_vec();
        b.extend_from_slice(&original[start..start + len]);
        b.extend_from_slice(&original[start + len..]);
        std::fs::write(common::seg(&path, 1), &b).unwrap();
        let t = tamper(&path);
        assert_eq!(t.kind, TamperKind::DuplicatedRecord { seq });
        assert_eq!(t.position, pos(1, start + len, Some(seq + 1)));
    }
}

#[test]
fn records_and_segments_from_another_log_are_reported_as_spliced() {
    for suite in SUITES {
        records_and_segments_from_another_log_are_reported_as_spliced_with(suite);
    }
}

fn records_and_segments_from_another_log_are_reported_as_spliced_with(suite: Suite) {
    let (_t, path) = tmp();
    let original = log5(&path, suite);
    let (_t2, other) = tmp();
    let foreign = log5(&other, suite); // same keys, another log id
    let ff = frames(&foreign);
    for &(start, _, seq) in &frames(&original) {
        // Insert the other log's record with the same sequence number.
        let (fs, flen, _) = ff[usize::try_from(seq).unwrap()];
        let mut b = original[..start].to_vec();
        b.extend_from_slice(&foreign[fs..fs + flen]);
        b.extend_from_slice(&original[start..]);
        std::fs::write(common::seg(&path, 1), &b).unwrap();
        let t = tamper(&path);
        assert_eq!(
            (t.kind, t.position),
            (TamperKind::SplicedFromAnotherLog, pos(1, start, Some(seq)))
        );
    }
    // A whole segment of another log.
    std::fs::write(common::seg(&path, 1), &foreign).unwrap();
    let t = tamper(&path);
    assert_eq!(
        (t.kind, t.position),
        (TamperKind::SplicedFromAnotherLog, pos(1, 0, None))
    );
}

#[test]
fn missing_head_missing_segments_and_a_missing_start_are_reported() {
    let (_t, path) = tmp();
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    let _ = log.append(&common::event(0)).unwrap();
    log.rotate(&keys(2)).unwrap();
    let _ = log.append(&common::event(1)).unwrap();
    log.rotate(&keys(3)).unwrap();
    let _ = log.append(&common::event(2)).unwrap();
    drop(log);
    verify(&path).unwrap();
    let stash = |n: u32| {
        let p = common::seg(&path, n);
        let b = std::fs::read(&p).unwrap();
        std::fs::remove_file(&p).unwrap();
        (p, b)
    };
    // A middle segment.
    let (p2, b2) = stash(2);
    let t = tamper(&path);
    assert_eq!(t.kind, TamperKind::MissingSegment { expected: 2 });
    std::fs::write(&p2, &b2).unwrap();
    // The first segment, with no tombstone naming it.
    let (p1, b1) = stash(1);
    let t = tamper(&path);
    assert_eq!(
        (t.kind, t.position.segment),
        (TamperKind::MissingSegment { expected: 1 }, 2)
    );
    std::fs::write(&p1, &b1).unwrap();
    // The close record at the end of segment 1.
    let f = frames(&b1);
    let last = f.last().unwrap();
    std::fs::write(&p1, &b1[..last.0]).unwrap();
    let t = tamper(&path);
    assert!(matches!(t.kind, TamperKind::Truncated { .. }), "{t}");
    std::fs::write(&p1, &b1).unwrap();
    // The head.
    let head = std::fs::read(path.join("head")).unwrap();
    std::fs::remove_file(path.join("head")).unwrap();
    assert_eq!(tamper(&path).kind, TamperKind::MissingHead);
    let e = AuditLog::open(&path, &keys(3), Options::default()).unwrap_err();
    assert!(
        matches!(e, Error::Tampered(ref t) if t.kind == TamperKind::MissingHead),
        "{e}"
    );
    std::fs::write(path.join("head"), &head).unwrap();
    verify(&path).unwrap();
    // Every segment, the head kept: a log was here, so this is tampering
    // (not "no log yet"), and opening creates nothing over it.
    let (p3, b3) = stash(3);
    let (p2, b2) = stash(2);
    let (p1, b1) = stash(1);
    assert_eq!(
        tamper(&path).kind,
        TamperKind::MissingSegment { expected: 3 }
    );
    let e = AuditLog::open(&path, &keys(3), Options::default()).unwrap_err();
    assert!(
        matches!(e, Error::Tampered(ref t) if t.kind == TamperKind::MissingSegment { expected: 3 }),
        "{e}"
    );
    assert!(!p1.exists() && !p2.exists() && !p3.exists());
    assert_eq!(std::fs::read(path.join("head")).unwrap(), head);
    for (p, b) in [(p1, b1), (p2, b2), (p3, b3)] {
        std::fs::write(p, b).unwrap();
    }
    verify(&path).unwrap();
    // An empty directory is not a log.
    let (_t3, empty) = tmp();
    std::fs::create_dir(&empty).unwrap();
    std::fs::set_permissions(&empty, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    assert!(matches!(verify(&empty), Err(Error::NotALog { .. })));
}

#[test]
fn opening_a_truncated_log_for_writing_fails_and_changes_nothing() {
    for suite in SUITES {
        opening_a_truncated_log_for_writing_fails_and_changes_nothing_with(suite);
    }
}

fn opening_a_truncated_log_for_writing_fails_and_changes_nothing_with(suite: Suite) {
    let (_t, path) = tmp();
    let original = log5(&path, suite);
    let fr = frames(&original);
    // Remove the last record, which the sealed head covers.
    let (start, _, seq) = fr[4];
    std::fs::write(common::seg(&path, 1), &original[..start]).unwrap();
    let e = AuditLog::open(&path, &keys(1), Options::default()).unwrap_err();
    let t = e.tamper_report().unwrap_or_else(|| panic!("{e}"));
    assert_eq!(
        t.kind,
        TamperKind::Truncated {
            expected_last: seq,
            found_last: Some(seq - 1)
        }
    );
    assert_eq!(
        std::fs::read(common::seg(&path, 1)).unwrap(),
        &original[..start],
        "nothing trimmed or appended"
    );
    assert!(
        e.to_string()
            .starts_with("audit log failed verification: truncated: the log reached record 4, it now ends at record 3"),
        "{e}"
    );
}
