//! Rotation and retention (issue item 8).

use std::time::{Duration, SystemTime};

use encrypted_audit_log::{AuditLog, Filter, KeyRing, LogReader, Options, TamperKind};

use crate::common::{self, enc_key, event, keys, mac_key, tmp, verify_keys};

#[test]
fn pruning_removes_old_segments_keeps_heads_and_still_verifies() {
    let (_t, path) = tmp();
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    for i in 0..3 {
        let _ = log.append(&event(i)).unwrap();
    }
    log.rotate(&keys(2)).unwrap();
    for i in 3..5 {
        let _ = log.append(&event(i)).unwrap();
    }
    log.rotate(&keys(3)).unwrap();
    let _ = log.append(&event(5)).unwrap();
    // Nothing is old enough yet.
    let none = log
        .prune_before(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    assert!(none.segments.is_empty());
    assert!(log.apply_retention().unwrap().segments.is_empty());
    let report = log
        .prune_before(SystemTime::now() + Duration::from_secs(1))
        .unwrap();
    assert_eq!(report.destroyable_key_versions(), vec![1, 2]);
    assert_eq!((report.from_seq, report.through_seq), (Some(0), Some(6)));
    let _ = log.append(&event(6)).unwrap();
    drop(log);
    assert!(!common::seg(&path, 1).exists() && !common::seg(&path, 2).exists());

    // The remaining log verifies from its start with version 3's key only.
    let v3 = KeyRing::new().with_verify_only(3, mac_key(3));
    let r = LogReader::open(&path, &v3).unwrap().verify().unwrap();
    assert_eq!((r.first_seq, r.segments), (7, 1));
    let k3 = KeyRing::new().with(3, mac_key(3), enc_key(3));
    let recs: Vec<_> = LogReader::open(&path, &k3)
        .unwrap()
        .records(Filter::all())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let kinds: Vec<&str> = recs.iter().map(|r| r.event_type()).collect();
    assert_eq!(kinds, ["test.event", "audit.pruned", "test.event"]);
    assert_eq!(recs[1].fields()["through_seq"], 6);
    assert_eq!(recs[1].fields()["segments"].as_array().unwrap().len(), 2);

    // Deleting the tombstone (or the record before it) is detected.
    let seg3 = common::seg(&path, 3);
    let bytes = std::fs::read(&seg3).unwrap();
    let f = common::frames(&bytes);
    let tomb = f.iter().find(|x| x.2 == 8).unwrap();
    let mut cut = bytes[..tomb.0].to_vec();
    cut.extend_from_slice(&bytes[tomb.0 + tomb.1..]);
    std::fs::write(&seg3, &cut).unwrap();
    let e = LogReader::open(&path, &verify_keys(3))
        .unwrap()
        .verify()
        .unwrap_err();
    assert_eq!(
        e.tamper_report().unwrap().kind,
        TamperKind::DeletedRecords {
            expected: 8,
            found: 9
        }
    );
}
