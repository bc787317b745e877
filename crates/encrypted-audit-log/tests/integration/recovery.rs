//! Continuing after tampering (issue 11 item 5): `open` refuses, an
//! explicit `recover_after_tamper` quarantines the damaged segments (kept,
//! read-only, hashed in the next record), continues chained to the last
//! good record with a signed record naming the damage, and verification
//! keeps reporting it.

use std::os::unix::fs::PermissionsExt;

use encrypted_audit_log::{AuditLog, Filter, LogReader, Options, TamperKind};

use crate::common::*;

#[test]
fn a_tampered_sealed_segment_is_quarantined_and_the_log_continues() {
    let (_t, p) = tmp();
    // 3+ segments of sealed epochs; the writer's epoch is well past the
    // damaged one, so the quarantine record must carry the bridge seals.
    let created = log_with(&p, 12, 2, 400);
    let segs = segments(&p);
    assert!(segs.len() >= 3);
    let mut b = std::fs::read(seg(&p, 2)).unwrap();
    let fr = frames(&b);
    let (at, _, _, bad_seq) = fr[1];
    b[at + 20] ^= 0x10;
    std::fs::write(seg(&p, 2), &b).unwrap();
    let err = AuditLog::open(&p, &state_key(), Options::default()).unwrap_err();
    let t = err.tamper_report().unwrap().clone();
    assert_eq!(t.kind, TamperKind::ModifiedBytes);

    let (log, q) = AuditLog::recover_after_tamper(&p, &state_key(), Options::default()).unwrap();
    let q = q.unwrap();
    assert_eq!(
        (q.segment, q.offset, q.continued_at),
        (2, at as u64, bad_seq)
    );
    // The damaged segment and every later one, and the old head, are kept.
    let kept: Vec<u32> = q.files.iter().map(|f| f.0).collect();
    assert_eq!(kept[0], 0);
    assert!(
        segs.iter().filter(|&&s| s >= 2).all(|s| kept.contains(s)),
        "{kept:?}"
    );
    for (s, _) in &q.files {
        let name = p.join(format!("quarantine-{:020}-{s:08}.eal", q.continued_at));
        let mode = std::fs::metadata(&name).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o400, "{name:?}");
    }
    let _ = log.append(&event(100)).unwrap();
    log.close().unwrap();

    let rep = LogReader::open(&p, &created.verifying_key)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(rep.quarantines.len(), 1);
    assert_eq!(rep.quarantines[0].segment, 2);
    assert_eq!(rep.unsealed_records, 0);
    // Records up to the damage, the quarantine note, and the new record.
    let recs: Vec<_> = LogReader::open(&p, &created.verifying_key)
        .unwrap()
        .records(&created.read_key, Filter::all())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(recs.last().unwrap().fields()["i"], 100);
    assert!(recs.iter().any(|r| r.event_type() == "audit.quarantined"));
    // The log opens normally again.
    drop(AuditLog::open(&p, &state_key(), Options::default()).unwrap());

    // Changing or removing the evidence is reported.
    let name = p.join(format!("quarantine-{:020}-{:08}.eal", q.continued_at, 2));
    std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut e = std::fs::read(&name).unwrap();
    e[0] ^= 1;
    std::fs::write(&name, e).unwrap();
    let err = LogReader::open(&p, &created.verifying_key)
        .unwrap()
        .verify()
        .unwrap_err();
    assert_eq!(
        err.tamper_report().unwrap().kind,
        TamperKind::MissingSegment { expected: 2 }
    );
}

#[test]
fn a_deleted_head_is_quarantined_in_the_current_epoch() {
    let (_t, p) = tmp();
    let created = small_log(&p, 3, 100);
    std::fs::remove_file(p.join("head")).unwrap();
    assert!(AuditLog::open(&p, &state_key(), Options::default()).is_err());
    let (log, q) = AuditLog::recover_after_tamper(&p, &state_key(), Options::default()).unwrap();
    assert!(q.unwrap().files.is_empty());
    log.close().unwrap();
    let rep = LogReader::open(&p, &created.verifying_key)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(rep.quarantines.len(), 1);
    assert_eq!(rep.quarantines[0].kind_code, 8);
}

#[test]
fn an_intact_log_is_just_opened() {
    let (_t, p) = tmp();
    let _ = small_log(&p, 2, 100);
    let (log, q) = AuditLog::recover_after_tamper(&p, &state_key(), Options::default()).unwrap();
    assert!(q.is_none());
    drop(log);
}

#[test]
fn quarantined_events_stay_readable_with_the_read_key() {
    let (_t, p) = tmp();
    let created = log_with(&p, 12, 2, 400);
    let log_id = created.log_id;
    assert!(
        encrypted_audit_log::quarantined_events(&p, &created.read_key, &log_id)
            .unwrap()
            .is_empty()
    );
    let mut b = std::fs::read(seg(&p, 2)).unwrap();
    let fr = frames(&b);
    let (at, _, _, _) = fr[1];
    b[at + 20] ^= 0x10;
    std::fs::write(seg(&p, 2), &b).unwrap();
    let (log, _) = AuditLog::recover_after_tamper(&p, &state_key(), Options::default()).unwrap();
    log.close().unwrap();
    let q = encrypted_audit_log::quarantined_events(&p, &created.read_key, &log_id).unwrap();
    let is: Vec<u64> = q
        .iter()
        .filter_map(|r| r.fields().get("i")?.as_u64())
        .collect();
    // The damaged record is lost; every later one (to the last, 11) is read.
    assert_eq!(is.last(), Some(&11), "{is:?}");
    assert!(is.windows(2).all(|w| w[0] < w[1]), "{is:?}");
    // A wrong read key reads nothing.
    let other = encrypted_audit_log::ReadKey::from_bytes([7; 32]);
    assert!(
        encrypted_audit_log::quarantined_events(&p, &other, &log_id)
            .unwrap()
            .is_empty()
    );
}
