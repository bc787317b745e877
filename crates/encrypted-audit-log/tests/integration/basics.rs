use std::time::Duration;

use encrypted_audit_log::{AuditLog, Durability, Error, Event, Filter, LogReader, Options};

use crate::common::*;

#[test]
fn create_append_verify_read() {
    let (_t, p) = tmp();
    let (log, created) = AuditLog::create(&p, &state_key(), opts(4)).unwrap();
    for i in 0..10 {
        let a = log.append(&event(i)).unwrap();
        assert_eq!(a.seq, log.next_seq() - 1);
        assert!(a.durable);
    }
    log.close().unwrap();
    let r = LogReader::open(&p, &created.verifying_key).unwrap();
    let rep = r.verify().unwrap();
    // 10 events, a seal after every 4, and the seal on close.
    assert_eq!(rep.next_seq, 13);
    assert_eq!(rep.sealed.unwrap().seq, 12);
    assert_eq!(rep.unsealed_records, 0);
    let recs: Vec<_> = r
        .records(&created.read_key, Filter::all())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(recs.len(), 10);
    for (i, rec) in recs.iter().enumerate() {
        assert_eq!(rec.fields()["i"], i as u64);
    }
}

#[test]
fn open_continues_and_create_refuses_existing() {
    let (_t, p) = tmp();
    let created = small_log(&p, 3, 2);
    assert!(matches!(
        AuditLog::create(&p, &state_key(), opts(2)),
        Err(Error::AlreadyExists { .. })
    ));
    let log = AuditLog::open(&p, &state_key(), opts(2).expect_log_id(created.log_id)).unwrap();
    let _ = log.append(&event(3)).unwrap();
    log.close().unwrap();
    let rep = LogReader::open(&p, &created.verifying_key)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(rep.unsealed_records, 0);
    let n = LogReader::open(&p, &created.verifying_key)
        .unwrap()
        .records(&created.read_key, Filter::all())
        .unwrap()
        .count();
    assert_eq!(n, 4);
}

#[test]
fn open_never_creates_and_pins_the_log_id() {
    let (_t, p) = tmp();
    assert!(matches!(
        AuditLog::open(&p, &state_key(), Options::default()),
        Err(Error::NotALog { .. })
    ));
    assert!(!p.exists(), "open created the directory");
    let _ = small_log(&p, 1, 4);
    assert!(matches!(
        AuditLog::open(&p, &state_key(), Options::default().expect_log_id([7; 16])),
        Err(Error::WrongLog { .. })
    ));
}

#[test]
fn wrong_state_key_is_refused_without_detail() {
    let (_t, p) = tmp();
    let _ = small_log(&p, 2, 4);
    let wrong = encrypted_audit_log::StateKey::from_bytes([1; 32]);
    assert!(matches!(
        AuditLog::open(&p, &wrong, Options::default()),
        Err(Error::DecryptionFailed)
    ));
}

#[test]
fn wrong_read_key_cannot_decrypt() {
    let (_t, p) = tmp();
    let created = small_log(&p, 2, 4);
    let r = LogReader::open(&p, &created.verifying_key).unwrap();
    let wrong = encrypted_audit_log::ReadKey::from_bytes([3; 32]);
    let first = r.records(&wrong, Filter::all()).unwrap().next().unwrap();
    assert!(matches!(first, Err(Error::DecryptionFailed)));
}

#[test]
fn group_commit_batches_and_flushes() {
    let (_t, p) = tmp();
    let o = opts(1000).durability(Durability::Group {
        max_records: 8,
        max_delay: Duration::from_secs(3600),
    });
    let (log, created) = AuditLog::create(&p, &state_key(), o).unwrap();
    let mut durable = 0;
    for i in 0..20 {
        durable += u32::from(log.append(&event(i)).unwrap().durable);
    }
    assert_eq!(durable, 2, "every 8th append writes the batch");
    assert_eq!(log.flush().unwrap(), Some(19));
    log.close().unwrap();
    let rep = LogReader::open(&p, &created.verifying_key)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(rep.next_seq, 21);
}

#[test]
fn reserved_and_bad_event_types_are_refused() {
    let (_t, p) = tmp();
    let (log, _) = AuditLog::create(&p, &state_key(), opts(4)).unwrap();
    assert!(matches!(
        log.append(&Event::new("audit.pruned")),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        log.append(&Event::new("bad type")),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(log.next_seq(), 0);
}

#[test]
fn verifier_with_another_key_reports_a_foreign_log() {
    let (_t, p) = tmp();
    let _ = small_log(&p, 2, 4);
    let other = encrypted_audit_log::SigningKey::from_bytes(&[9; 32]).verifying_key();
    let err = LogReader::open(&p, &other).unwrap().verify().unwrap_err();
    assert_eq!(
        err.tamper_report().unwrap().kind,
        encrypted_audit_log::TamperKind::SplicedFromAnotherLog
    );
}

#[test]
fn anchors_verify_and_catch_a_rollback() {
    let (_t, p) = tmp();
    let (log, created) = AuditLog::create(&p, &state_key(), opts(100)).unwrap();
    for i in 0..3 {
        let _ = log.append(&event(i)).unwrap();
    }
    let (_t2, backup) = tmp();
    log.flush().unwrap();
    let _ = log.seal().unwrap();
    copy_log(&p, &backup);
    let _ = log.append(&event(3)).unwrap();
    let ak = encrypted_audit_log::SigningKey::from_bytes(&[7; 32]);
    let cp = log.anchor(&ak, "laptop").unwrap();
    assert!(cp.text().contains("verification-key "));
    log.close().unwrap();
    let r = LogReader::open(&p, &created.verifying_key).unwrap();
    let rep = r
        .verify_with_anchor(cp.text(), &ak.verifying_key())
        .unwrap();
    assert_eq!(rep.anchored_size, Some(cp.size()));
    // The older copy verifies alone, but not against the later anchor.
    let rb = LogReader::open(&backup, &created.verifying_key).unwrap();
    assert!(rb.verify().is_ok());
    let err = rb
        .verify_with_anchor(cp.text(), &ak.verifying_key())
        .unwrap_err();
    assert!(matches!(
        err.tamper_report().unwrap().kind,
        encrypted_audit_log::TamperKind::Truncated { .. }
    ));
}
