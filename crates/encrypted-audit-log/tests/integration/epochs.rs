//! Sealing: by record count, on demand, on close, and by time when idle;
//! segments roll by size and by age; verification reports how far the log
//! is sealed and the unsealed tail.

use std::time::Duration;

use encrypted_audit_log::{AuditLog, LogReader, Options};

use crate::common::*;

#[test]
fn seals_by_count_on_demand_and_on_close() {
    let (_t, p) = tmp();
    let (log, created) = AuditLog::create(&p, &state_key(), opts(3)).unwrap();
    for i in 0..4 {
        let _ = log.append(&event(i)).unwrap();
    }
    // Records 0-2, the seal (3), record 4 (event 3) unsealed.
    assert_eq!(log.epoch(), 1);
    let _ = log.flush().unwrap();
    let (_t2, w) = tmp();
    log.seal().unwrap();
    copy_log(&p, &w);
    let rep = LogReader::open(&w, &created.verifying_key)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!((rep.sealed.unwrap().seq, rep.unsealed_records), (5, 0));
    let _ = log.append(&event(4)).unwrap();
    log.close().unwrap();
    let rep = LogReader::open(&p, &created.verifying_key)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!((rep.sealed.unwrap().seq, rep.sealed.unwrap().epoch), (7, 2));
}

#[test]
fn an_idle_log_is_sealed_on_time() {
    let (_t, p) = tmp();
    let o = Options::default().epoch(1000, Duration::from_millis(100));
    let (log, created) = AuditLog::create(&p, &state_key(), o).unwrap();
    let _ = log.append(&event(0)).unwrap();
    // Nothing else is appended: the background thread seals the epoch
    // holding record 0, then keeps sealing empty epochs ("nothing happened
    // until ...").
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while log.epoch() < 3 {
        assert!(std::time::Instant::now() < deadline, "no idle seals");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(log);
    let rep = LogReader::open(&p, &created.verifying_key)
        .unwrap()
        .verify()
        .unwrap();
    let sealed = rep.sealed.unwrap();
    assert!(sealed.epoch >= 2 && rep.unsealed_records == 0);
    // The idle seals carry their own time: later than the first record.
    assert!(sealed.time > std::time::UNIX_EPOCH);
}

#[test]
fn segments_roll_by_size_and_by_age() {
    let (_t, p) = tmp();
    let _ = log_with(&p, 12, 2, 300);
    assert!(segments(&p).len() >= 3, "{:?}", segments(&p));
    let (_t2, p2) = tmp();
    // An age limit of zero: every seal starts a new segment, whatever the size.
    let o = opts(2).segment_limits(u64::MAX, Duration::ZERO);
    let (log, created) = AuditLog::create(&p2, &state_key(), o).unwrap();
    for i in 0..4 {
        let _ = log.append(&event(i)).unwrap();
    }
    log.close().unwrap();
    // Two seals (one by count, one on close): two rolls.
    assert_eq!(segments(&p2).len(), 3, "no roll by age");
    LogReader::open(&p2, &created.verifying_key)
        .unwrap()
        .verify()
        .unwrap();
}
