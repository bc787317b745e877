//! The sealed head (issue item 5): it follows every flush, so cutting any
//! acknowledged record off the tail is reported on open and by
//! verification, while a torn record the head never covered is a crash.

use std::path::Path;
use std::time::Duration;

use encrypted_audit_log::{AuditLog, Durability, Error, LogReader, Options, TamperKind};

use crate::common::{self, event, frames, keys, tmp, verify_keys};

/// The kind of tampering that verification and opening for writing report.
fn both_reports(path: &Path) -> (TamperKind, TamperKind) {
    let verified = match LogReader::open(path, &verify_keys(1)).unwrap().verify() {
        Err(Error::Tampered(t)) => t.kind,
        other => panic!("verification: expected tampering, got {other:?}"),
    };
    let opened = match AuditLog::open(path, &keys(1), Options::default()) {
        Err(Error::Tampered(t)) => t.kind,
        other => panic!("open: expected tampering, got {other:?}"),
    };
    (verified, opened)
}

#[test]
fn cutting_any_flushed_record_off_the_tail_is_reported_on_open() {
    let modes = [
        Durability::PerRecord,
        Durability::Group {
            max_records: 3,
            max_delay: Duration::from_secs(3600),
        },
    ];
    for durability in modes {
        let (_t, path) = tmp();
        // One long epoch: no epoch change, rotation or close seals the
        // head; only the flushes update it.
        let opts = Options::default()
            .epoch(1000, Duration::from_secs(3600))
            .durability(durability);
        let log = AuditLog::open(&path, &keys(1), opts).unwrap();
        for i in 0..7 {
            let _ = log.append(&event(i)).unwrap();
        }
        if matches!(durability, Durability::Group { .. }) {
            assert_eq!(log.flush().unwrap(), Some(6));
        }
        // What is on disk while the writer runs (or after a SIGKILL).
        let seg = std::fs::read(common::seg(&path, 1)).unwrap();
        let head = std::fs::read(path.join("head")).unwrap();
        drop(log);
        let fr = frames(&seg);
        assert_eq!(
            fr.iter().map(|f| f.2).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4, 5, 6]
        );

        let (last_start, last_len, _) = fr[6];
        let cuts = fr
            .iter()
            .map(|&(start, _, seq)| (start, seq.checked_sub(1)))
            .chain((last_start + 1..last_start + last_len).map(|cut| (cut, Some(5))));
        for (cut, found_last) in cuts {
            let cut_seg = &seg[..cut];
            std::fs::write(common::seg(&path, 1), cut_seg).unwrap();
            std::fs::write(path.join("head"), &head).unwrap();
            let expected = TamperKind::Truncated {
                expected_last: 6,
                found_last,
            };
            let (verified, opened) = both_reports(&path);
            assert_eq!(verified, expected, "{durability:?}, verify, cut at {cut}");
            assert_eq!(opened, expected, "{durability:?}, open, cut at {cut}");
            assert_eq!(
                std::fs::read(common::seg(&path, 1)).unwrap(),
                cut_seg,
                "{durability:?}, cut at {cut}: opening changed nothing"
            );
        }
    }
}

#[test]
fn records_after_an_unsynced_head_still_verify_by_the_chain() {
    // A power loss can leave an older head than the log (the head update
    // is synced only at sealing points): the records after it are valid,
    // verified by the chain, and the writer resumes after the last one.
    let (_t, path) = tmp();
    let opts = || Options::default().epoch(1000, Duration::from_secs(3600));
    let log = AuditLog::open(&path, &keys(1), opts()).unwrap();
    let _ = log.append(&event(0)).unwrap();
    let old_head = std::fs::read(path.join("head")).unwrap();
    for i in 1..4 {
        let _ = log.append(&event(i)).unwrap();
    }
    drop(log);
    std::fs::write(path.join("head"), &old_head).unwrap();
    let report = LogReader::open(&path, &verify_keys(1))
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!((report.next_seq, report.torn_tail), (4, None));
    let log = AuditLog::open(&path, &keys(1), opts()).unwrap();
    // Records 0-3, then the close that ends their epoch at reopening.
    assert_eq!(log.next_seq(), 5);
    assert_eq!(log.recovery(), None);
    drop(log);
    assert_ne!(std::fs::read(path.join("head")).unwrap(), old_head);
}
