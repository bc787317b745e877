//! Property: whatever is appended reads back identical (seal/open round
//! trip through encryption, framing and the chain).

use std::time::{Duration, UNIX_EPOCH};

use encrypted_audit_log::{
    AuditLog, Durability, Event, Filter, LogReader, Options, Sanitizer, Suite,
};
use proptest::prelude::*;

use crate::common::{self, keys, tmp};

fn value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<i64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
        "\\PC{0,40}".prop_map(serde_json::Value::from),
        prop::collection::vec("[a-z]{0,5}", 0..4).prop_map(serde_json::Value::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn appended_events_read_back_identical(
        events in prop::collection::vec(
            ("[a-z][a-z0-9_.:-]{0,20}", prop::collection::btree_map("[a-z]{1,8}", value(), 0..5), 0u64..4_000_000_000),
            1..12,
        ),
        epoch in 1u64..5,
        xchacha in any::<bool>(),
    ) {
        let (_t, path) = tmp();
        let opts = Options::default()
            .durability(Durability::Group { max_records: 8, max_delay: Duration::from_secs(60) })
            .epoch(epoch, Duration::from_secs(3600))
            .sanitizer(Sanitizer::new().home_paths(false).max_len(usize::MAX))
            .suite(if xchacha { Suite::XChaCha20Poly1305 } else { Suite::Aes256Gcm });
        let log = AuditLog::open(&path, &keys(1), opts).unwrap();
        let mut want = Vec::new();
        for (kind, fields, secs) in &events {
            let kind = if kind.starts_with("audit.") { format!("x{kind}") } else { kind.clone() };
            let mut e = Event::new(kind).at(UNIX_EPOCH + Duration::from_millis(*secs));
            for (k, v) in fields {
                e = e.with(k.clone(), v.clone());
            }
            let _ = log.append(&e).unwrap();
            want.push(e);
        }
        log.close().unwrap();
        let k = keys(1);
        let got: Vec<_> = LogReader::open(&path, &k).unwrap().records(Filter::all()).unwrap().map(Result::unwrap).collect();
        prop_assert_eq!(got.len(), want.len());
        for (r, e) in got.iter().zip(&want) {
            prop_assert_eq!(r.event_type(), e.event_type());
            prop_assert_eq!(r.fields(), e.fields());
        }
        for (r, (_, _, ms)) in got.iter().zip(&events) {
            prop_assert_eq!(r.time(), UNIX_EPOCH + Duration::from_millis(*ms));
        }
    }
}

#[test]
fn a_log_keeps_its_suite_across_reopening_and_rotation() {
    let (_t, path) = tmp();
    let x = Options::default().suite(Suite::XChaCha20Poly1305);
    let log = AuditLog::open(&path, &keys(1), x).unwrap();
    let _ = log.append(&common::event(0)).unwrap();
    log.close().unwrap();
    // Reopened with default options (AES-256-GCM): still XChaCha20-Poly1305,
    // also in the segment that rotation (to key version 2) creates.
    let log = AuditLog::open(&path, &keys(2), Options::default()).unwrap();
    let _ = log.append(&common::event(1)).unwrap();
    log.close().unwrap();
    for n in [1, 2] {
        assert_eq!(
            std::fs::read(common::seg(&path, n)).unwrap()[10],
            2,
            "segment {n}"
        );
    }
    let k = keys(2);
    let got: Vec<u64> = LogReader::open(&path, &k)
        .unwrap()
        .records(Filter::all().event_type("test.event"))
        .unwrap()
        .map(|r| r.unwrap().fields()["i"].as_u64().unwrap())
        .collect();
    assert_eq!(got, [0, 1]);
    // A reader decrypting with the wrong suite would fail: flip the suite
    // byte of segment 2 and its MAC no longer verifies.
    let p2 = common::seg(&path, 2);
    let mut b = std::fs::read(&p2).unwrap();
    b[10] = 1;
    std::fs::write(&p2, &b).unwrap();
    let e = LogReader::open(&path, &k).unwrap().verify().unwrap_err();
    let t = e.tamper_report().unwrap();
    assert_eq!((t.position.segment, t.position.offset), (2, 0));
}
