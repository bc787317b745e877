//! Property: whatever is appended reads back identical (seal/open round
//! trip through encryption, framing and the chain).

use std::time::{Duration, UNIX_EPOCH};

use encrypted_audit_log::{AuditLog, Durability, Event, Filter, LogReader, Options, Sanitizer};
use proptest::prelude::*;

use crate::common::{keys, tmp};

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
    ) {
        let (_t, path) = tmp();
        let opts = Options::default()
            .durability(Durability::Group { max_records: 8, max_delay: Duration::from_secs(60) })
            .epoch(epoch, Duration::from_secs(3600))
            .sanitizer(Sanitizer::new().home_paths(false).max_len(usize::MAX));
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
