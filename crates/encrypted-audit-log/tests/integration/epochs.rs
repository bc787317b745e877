//! Time-bounded epochs (issue item 2): an idle writer still moves to the
//! next epoch once the current one's first record is `duration` old, so
//! the keys of records written long ago do not stay in memory.

use std::time::{Duration, Instant};

use encrypted_audit_log::{AuditLog, Durability, LogReader, Options};

use crate::common::{event, keys, tmp, verify_keys};

/// Waits (bounded) for the background thread to end the epoch; this is not
/// a timing measurement, only a deadline for something that must happen.
fn wait_for_epoch(log: &AuditLog, epoch: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while log.epoch() < epoch {
        assert!(
            Instant::now() < deadline,
            "the idle log never left epoch {}",
            log.epoch()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn an_idle_log_ends_its_epoch_on_time_in_every_mode() {
    let modes = [
        Durability::PerRecord,
        Durability::Group {
            max_records: 1000,
            max_delay: Duration::from_secs(3600),
        },
    ];
    for durability in modes {
        let (_t, path) = tmp();
        let opts = Options::default()
            .epoch(1000, Duration::from_millis(50))
            .durability(durability);
        let log = AuditLog::open(&path, &keys(1), opts).unwrap();
        // An empty epoch has nothing to protect: it is not ended.
        assert_eq!(log.epoch(), 0);
        let _ = log.append(&event(0)).unwrap();
        wait_for_epoch(&log, 1);
        assert_eq!(log.epoch(), 1, "{durability:?}");
        // The close record (and, with group commit, the pending event) is
        // on disk and sealed while the writer is still open and idle.
        let r = LogReader::open(&path, &verify_keys(1))
            .unwrap()
            .verify()
            .unwrap();
        assert_eq!((r.records, r.next_seq), (2, 2), "{durability:?}");
        // Appends go on in the new epoch (reopened with a long duration,
        // so that no further background close races the count), and the
        // log verifies.
        log.close().unwrap();
        let opts = Options::default().durability(durability);
        let log = AuditLog::open(&path, &keys(1), opts).unwrap();
        let a = log.append(&event(1)).unwrap();
        assert_eq!(a.seq, 2);
        log.close().unwrap();
        let r = LogReader::open(&path, &verify_keys(1))
            .unwrap()
            .verify()
            .unwrap();
        assert_eq!(r.next_seq, 3);
    }
}

#[test]
fn reopening_ends_an_epoch_that_holds_earlier_records() {
    // The head does not keep when an epoch's records were written, so a
    // writer that resumes a non-empty epoch ends it at once: it never holds
    // the keys of records an earlier process wrote.
    let (_t, path) = tmp();
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    let _ = log.append(&event(0)).unwrap();
    let _ = log.append(&event(1)).unwrap();
    assert_eq!(log.epoch(), 0);
    drop(log);
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    assert_eq!((log.epoch(), log.next_seq()), (1, 3), "closed at seq 2");
    drop(log);
    // An empty epoch is left as it is.
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    assert_eq!((log.epoch(), log.next_seq()), (1, 3));
    drop(log);
    let r = LogReader::open(&path, &verify_keys(1))
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!((r.records, r.next_seq), (3, 3));
}
