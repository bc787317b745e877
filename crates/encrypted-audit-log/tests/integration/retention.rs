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
    let mut ring = keys(3);
    // Nothing is old enough yet.
    let none = log
        .prune_before(SystemTime::now() - Duration::from_secs(3600), &mut ring)
        .unwrap();
    assert!(none.segments.is_empty());
    assert!(log.apply_retention(&mut ring).unwrap().segments.is_empty());
    assert_eq!(ring.versions().collect::<Vec<_>>(), [1, 2, 3]);
    let report = log
        .prune_before(SystemTime::now() + Duration::from_secs(1), &mut ring)
        .unwrap();
    assert_eq!(report.destroyed_key_versions(), vec![1, 2]);
    assert_eq!(ring.versions().collect::<Vec<_>>(), [3]);
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

/// Three segments under versions 1, 2, 3, each created just now.
fn three_segments(path: &std::path::Path) -> AuditLog {
    let log = AuditLog::open(path, &keys(1), Options::default()).unwrap();
    let _ = log.append(&event(0)).unwrap();
    log.rotate(&keys(2)).unwrap();
    let _ = log.append(&event(1)).unwrap();
    log.rotate(&keys(3)).unwrap();
    log
}

/// Sets segment `n`'s creation time (header bytes 44..52) to 1 ns after
/// the Unix epoch, leaving its MAC as it was (no key needed).
fn back_date(path: &std::path::Path, n: u32) {
    let p = common::seg(path, n);
    let mut b = std::fs::read(&p).unwrap();
    b[44..52].copy_from_slice(&1u64.to_le_bytes());
    std::fs::write(&p, &b).unwrap();
}

fn assert_refused_at(e: &encrypted_audit_log::Error, segment: u32) {
    let t = e.tamper_report().unwrap();
    assert_eq!(t.kind, TamperKind::ModifiedBytes);
    assert_eq!((t.position.segment, t.position.offset), (segment, 0));
}

#[test]
fn retention_refuses_a_back_dated_segment_header() {
    // Without keys, back-dating segment 2's header made segment 1 look
    // older than any retention period: it was securely deleted (evidence
    // destroyed) and its key version named destroyable.
    let (_t, path) = tmp();
    let log = three_segments(&path);
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let mut ring = keys(3);
    assert!(
        log.prune_before(an_hour_ago, &mut ring)
            .unwrap()
            .segments
            .is_empty()
    );

    // Changed while the writer is open: differs from the verified bytes.
    back_date(&path, 2);
    assert_refused_at(&log.prune_before(an_hour_ago, &mut ring).unwrap_err(), 2);
    assert_refused_at(&log.apply_retention(&mut ring).unwrap_err(), 2);
    assert!(common::seg(&path, 1).exists());
    assert_eq!(
        ring.versions().count(),
        3,
        "a refused prune destroys no key"
    );
    drop(log);

    // Changed before the writer opened: its MAC fails.
    let log = AuditLog::open(&path, &keys(3), Options::default()).unwrap();
    assert_refused_at(&log.prune_before(an_hour_ago, &mut ring).unwrap_err(), 2);
    assert!(common::seg(&path, 1).exists());
    let _ = log.append(&event(2)).unwrap();
    drop(log);
    // The verifier names the same change.
    let e = LogReader::open(&path, &verify_keys(3))
        .unwrap()
        .verify()
        .unwrap_err();
    assert_refused_at(&e, 2);
}

#[test]
fn pruning_a_segment_whose_key_was_not_at_hand_is_refused() {
    let (_t, path) = tmp();
    drop(three_segments(&path));
    // Opened without version 1's keys: segment 1's header is unverified.
    let mut v23 = KeyRing::new()
        .with(2, mac_key(2), enc_key(2))
        .with(3, mac_key(3), enc_key(3));
    let log = AuditLog::open(&path, &v23, Options::default()).unwrap();
    let e = log
        .prune_before(SystemTime::now() + Duration::from_secs(1), &mut v23)
        .unwrap_err();
    assert!(
        matches!(
            e,
            encrypted_audit_log::Error::MissingKey {
                version: 1,
                encryption: false
            }
        ),
        "{e:?}"
    );
    assert!(common::seg(&path, 1).exists());
    drop(log);
    // With every key, the same pruning goes ahead.
    let mut ring = keys(3);
    let log = AuditLog::open(&path, &ring, Options::default()).unwrap();
    let r = log
        .prune_before(SystemTime::now() + Duration::from_secs(1), &mut ring)
        .unwrap();
    assert_eq!(r.destroyed_key_versions(), vec![1, 2]);
}

#[test]
fn no_pruned_record_can_be_decrypted_even_from_a_backup() {
    let (t, path) = tmp();
    let log = three_segments(&path);
    let _ = log.append(&event(2)).unwrap();
    let copy = t.path().join("backup");
    common::copy_log(&path, &copy);
    let mut ring = keys(3);
    // Before the prune, the backup reads in full with the ring.
    let before: Vec<u64> = LogReader::open(&copy, &ring)
        .unwrap()
        .records(Filter::all().event_type("test.event"))
        .unwrap()
        .map(|r| r.unwrap().fields()["i"].as_u64().unwrap())
        .collect();
    assert_eq!(before, [0, 1, 2]);

    let report = log
        .prune_before(SystemTime::now() + Duration::from_secs(1), &mut ring)
        .unwrap();
    assert_eq!(report.destroyed_key_versions(), vec![1, 2]);
    drop(log);
    // The pruned segments are gone from the log...
    assert!(!common::seg(&path, 1).exists() && !common::seg(&path, 2).exists());
    // ...and the ring can no longer decrypt (or even verify) them in the
    // backup: reading stops at the first pruned segment, naming its key.
    let e = LogReader::open(&copy, &ring)
        .unwrap()
        .records(Filter::all())
        .and_then(|mut r| r.next().transpose())
        .unwrap_err();
    assert!(
        matches!(e, encrypted_audit_log::Error::MissingKey { version: 1, .. }),
        "{e:?}"
    );
    // The live log still verifies and reads from its start with what is
    // left in the ring: the tombstone, then the records after it.
    let r = LogReader::open(&path, &ring).unwrap().verify().unwrap();
    assert_eq!(r.first_seq, report.through_seq.unwrap() + 1);
    let kinds: Vec<String> = LogReader::open(&path, &ring)
        .unwrap()
        .records(Filter::all())
        .unwrap()
        .map(|r| r.unwrap().event_type().to_owned())
        .collect();
    assert_eq!(kinds, ["test.event", "audit.pruned"]);
}
