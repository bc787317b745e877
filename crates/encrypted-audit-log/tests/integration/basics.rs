use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, UNIX_EPOCH};

use encrypted_audit_log::{
    AuditLog, Durability, Error, Event, Filter, Fingerprinter, LogReader, Options, Sanitizer,
    SigningKey, TamperKind,
};

use crate::common::{self, event, keys, tmp, verify_keys};

#[test]
fn appended_records_read_back_decrypted_and_verify_with_the_mac_key_alone() {
    let (_t, path) = tmp();
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    for i in 0..10 {
        let a = log.append(&event(i)).unwrap();
        assert_eq!(a.seq, i);
        assert!(a.durable);
    }
    log.close().unwrap();

    let vk = verify_keys(1);
    let report = LogReader::open(&path, &vk).unwrap().verify().unwrap();
    assert_eq!(
        (
            report.records,
            report.next_seq,
            report.segments,
            report.torn_tail
        ),
        (10, 10, 1, None)
    );
    // Verification keys cannot decrypt.
    let vreader = LogReader::open(&path, &vk).unwrap();
    assert!(matches!(
        vreader.records(Filter::all()),
        Err(Error::MissingKey {
            version: 1,
            encryption: true
        })
    ));

    let k = keys(1);
    let reader = LogReader::open(&path, &k).unwrap();
    let recs: Vec<_> = reader
        .records(Filter::all())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(recs.len(), 10);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r.seq(), i as u64);
        assert_eq!(r.event_type(), "test.event");
        assert_eq!(r.fields()["i"], i);
        assert_eq!(r.to_json()["fields"]["note"], format!("record number {i}"));
        #[derive(serde::Deserialize)]
        struct Fields {
            i: usize,
            note: String,
        }
        let f: Fields = r.deserialize_fields().unwrap();
        assert_eq!((f.i, f.note), (i, format!("record number {i}")));
    }
    let wrong: Result<Vec<u8>, _> = recs[0].deserialize_fields();
    assert!(matches!(wrong, Err(Error::InvalidInput(_))));
    // No plaintext on disk; files 0600, directory 0700.
    let bytes = std::fs::read(common::seg(&path, 1)).unwrap();
    assert!(!bytes.windows(13).any(|w| w == b"record number"));
    assert!(!bytes.windows(10).any(|w| w == b"test.event"));
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for f in ["head", "segment-00000001.eal"] {
        assert_eq!(
            std::fs::metadata(path.join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600,
            "{f}"
        );
    }
}

#[test]
fn reopening_continues_the_chain_across_epochs() {
    let (_t, path) = tmp();
    let opts = || Options::default().epoch(3, Duration::from_secs(3600));
    let mut n = 0;
    for _ in 0..4 {
        let log = AuditLog::open(&path, &keys(1), opts()).unwrap();
        assert_eq!(log.recovery(), None);
        for _ in 0..5 {
            let _ = log.append(&event(n)).unwrap();
            n += 1;
        }
        assert!(log.epoch() > 0);
    }
    let k = keys(1);
    let reader = LogReader::open(&path, &k).unwrap();
    let report = reader.verify().unwrap();
    assert!(report.next_seq > 20, "close records add to the count");
    let events: Vec<u64> = reader
        .records(Filter::all())
        .unwrap()
        .map(|r| r.unwrap().fields()["i"].as_u64().unwrap())
        .collect();
    assert_eq!(events, (0..20).collect::<Vec<_>>());
}

#[test]
fn filters_select_by_time_and_type() {
    let (_t, path) = tmp();
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    for i in 0..10u64 {
        let kind = if i % 2 == 0 { "even" } else { "odd" };
        let _ = log
            .append(
                &Event::new(kind)
                    .with("i", i)
                    .at(UNIX_EPOCH + Duration::from_secs(1000 + i)),
            )
            .unwrap();
    }
    drop(log);
    let k = keys(1);
    let reader = LogReader::open(&path, &k).unwrap();
    let pick = |f: Filter| -> Vec<u64> {
        reader
            .records(f)
            .unwrap()
            .map(|r| r.unwrap().fields()["i"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(pick(Filter::all().event_type("odd")), vec![1, 3, 5, 7, 9]);
    let t = |s| UNIX_EPOCH + Duration::from_secs(s);
    assert_eq!(
        pick(Filter::all().since(t(1003)).until(t(1006))),
        vec![3, 4, 5]
    );
    assert_eq!(
        pick(
            Filter::all()
                .since(t(1004))
                .event_type("even")
                .event_type("none")
        ),
        vec![4, 6, 8]
    );
    let r = first_record(&reader);
    assert_eq!(r.to_json()["time"], "1970-01-01T00:16:40Z");
}

#[test]
fn group_commit_batches_and_flushes_on_count_flush_and_drop() {
    let (_t, path) = tmp();
    let opts = Options::default().durability(Durability::Group {
        max_records: 4,
        max_delay: Duration::from_secs(3600),
    });
    let log = AuditLog::open(&path, &keys(1), opts).unwrap();
    let seg = common::seg(&path, 1);
    let empty = std::fs::metadata(&seg).unwrap().len();
    let d: Vec<bool> = (0..4)
        .map(|i| log.append(&event(i)).unwrap().durable)
        .collect();
    assert_eq!(d, [false, false, false, true]);
    let after_batch = std::fs::metadata(&seg).unwrap().len();
    assert!(after_batch > empty);
    assert!(!log.append(&event(4)).unwrap().durable);
    assert_eq!(
        std::fs::metadata(&seg).unwrap().len(),
        after_batch,
        "pending records stay in memory"
    );
    assert_eq!(log.flush().unwrap(), Some(4));
    assert!(std::fs::metadata(&seg).unwrap().len() > after_batch);
    let _ = log.append(&event(5)).unwrap();
    drop(log);
    let k = keys(1);
    assert_eq!(
        LogReader::open(&path, &k)
            .unwrap()
            .records(Filter::all())
            .unwrap()
            .count(),
        6
    );

    // A zero delay flushes at the next append.
    let opts = Options::default().durability(Durability::Group {
        max_records: 100,
        max_delay: Duration::ZERO,
    });
    let log = AuditLog::open(&path, &keys(1), opts).unwrap();
    assert!(log.append(&event(6)).unwrap().durable);
}

#[test]
fn a_second_writer_process_gets_a_clear_locked_error() {
    if common::child_role().as_deref() == Some("holder") {
        let _log = AuditLog::open(common::child_arg(), &keys(1), Options::default()).unwrap();
        println!("ready");
        std::io::stdout().flush().unwrap();
        // Hold the lock until the parent closes our stdin.
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        return;
    }
    let (_t, path) = tmp();
    common::small_log(&path, 1, 100);
    let mut guard = common::KillOnDrop(
        common::child(
            "basics::a_second_writer_process_gets_a_clear_locked_error",
            "holder",
            &path,
        )
        .spawn()
        .unwrap(),
    );
    let pid = guard.0.id();
    let mut out = BufReader::new(guard.0.stdout.take().unwrap());
    let mut line = String::new();
    while !line.trim_end().ends_with("ready") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child exited early");
    }
    let err = AuditLog::open(&path, &keys(1), Options::default()).unwrap_err();
    assert!(
        matches!(err, Error::Locked { pid: Some(p) } if p == pid),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("audit log is locked by another writer (process {pid})")
    );
    // Readers need no lock.
    let vk = verify_keys(1);
    LogReader::open(&path, &vk).unwrap().verify().unwrap();
    drop(guard.0.stdin.take());
    assert!(guard.0.wait().unwrap().success());
    // Released when the holder exits.
    AuditLog::open(&path, &keys(1), Options::default()).unwrap();
}

/// Options whose sanitizer cuts values over `max_len` bytes (the note
/// fingerprinted under the key `[3; 32]`) and redacts the word "secret".
fn redacting(max_len: usize) -> Options {
    let sanitizer = Sanitizer::new()
        .max_len(max_len)
        .fingerprinter(Fingerprinter::new(&[3; 32]))
        .hook(|s| {
            s.contains("secret")
                .then(|| s.replace("secret", "<REDACTED>"))
        });
    Options::default().sanitizer(sanitizer)
}

fn first_record(reader: &LogReader<'_>) -> encrypted_audit_log::Record {
    reader
        .records(Filter::all())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
}

#[test]
fn sanitizer_and_fingerprints_apply_to_what_is_written() {
    let (_t, path) = tmp();
    let fp = Fingerprinter::new(&[3; 32]);
    let log = AuditLog::open(&path, &keys(1), redacting(40)).unwrap();
    let long = "x".repeat(100);
    let _ = log
        .append(
            &Event::new("model.prompt")
                .with_fingerprint("prompt", &fp, "what is the capital of France?")
                .with("path", "/home/alice/journal/2026.md")
                .with(
                    "nested",
                    serde_json::json!({"list": ["C:\\Users\\Bob\\x", "my secret"]}),
                )
                .with("long", long.clone())
                // Texts that quote a fingerprint are not that text logged.
                .with("quote", format!("a {}", fp.fingerprint("never logged")))
                .with("suffix", format!("{}x", fp.fingerprint("never logged"))),
        )
        .unwrap();
    let _ = log
        .append(&Event::new("model.prompt").with_fingerprint("prompt", &fp, "another prompt"))
        .unwrap();
    drop(log);
    let k = keys(1);
    let reader = LogReader::open(&path, &k).unwrap();
    let r = first_record(&reader);
    assert_eq!(r.fields()["path"], "/home/<user>/journal/2026.md");
    assert_eq!(
        r.fields()["nested"],
        serde_json::json!({"list": ["C:\\Users\\<user>\\x", "my <REDACTED>"]})
    );
    let want_long = format!(
        "{}…[truncated: 100 bytes, {}]",
        &long[..40],
        fp.fingerprint(&long)
    );
    assert_eq!(r.fields()["long"], want_long);
    assert!(r.fields()["prompt"].as_str().unwrap().starts_with("fp1:"));
    assert_eq!(
        reader
            .find_fingerprint(&fp, "what is the capital of France?")
            .unwrap(),
        vec![0]
    );
    assert_eq!(
        reader.find_fingerprint(&fp, "another prompt").unwrap(),
        vec![1]
    );
    assert!(
        reader
            .find_fingerprint(&fp, "never logged")
            .unwrap()
            .is_empty()
    );
    // Another key finds nothing: fingerprints are keyed.
    assert!(
        reader
            .find_fingerprint(&Fingerprinter::new(&[4; 32]), "another prompt")
            .unwrap()
            .is_empty()
    );
    // A truncated value is found by its original text.
    assert_eq!(reader.find_fingerprint(&fp, &long).unwrap(), vec![0]);
}

#[test]
fn truncation_notes_the_original_text_and_spares_fingerprints() {
    let (_t, path) = tmp();
    let fp = Fingerprinter::new(&[3; 32]);
    // A limit shorter than a fingerprint, and a hook and home-path rule
    // that both change the long value before it is cut.
    let log = AuditLog::open(&path, &keys(1), redacting(8)).unwrap();
    let original = "my secret diary is at /home/alice/diary.md";
    let _ = log
        .append(
            &Event::new("model.prompt")
                .with_fingerprint("prompt", &fp, "a prompt")
                .with("note", original),
        )
        .unwrap();
    drop(log);
    let k = keys(1);
    let reader = LogReader::open(&path, &k).unwrap();
    let r = first_record(&reader);
    // The kept prefix is sanitized; the length and fingerprint are the
    // original's.
    assert_eq!(
        r.fields()["note"],
        format!(
            "my <REDA…[truncated: {} bytes, {}]",
            original.len(),
            fp.fingerprint(original)
        )
    );
    // The fingerprint field is left whole, and both are searchable.
    assert_eq!(r.fields()["prompt"], fp.fingerprint("a prompt").to_string());
    assert_eq!(reader.find_fingerprint(&fp, "a prompt").unwrap(), vec![0]);
    assert_eq!(reader.find_fingerprint(&fp, original).unwrap(), vec![0]);
}

#[test]
fn bad_input_gets_clear_errors_and_writes_nothing() {
    let (_t, path) = tmp();
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    for bad in ["", "with space", "audit.pruned"] {
        let e = log.append(&Event::new(bad)).unwrap_err();
        assert!(matches!(e, Error::InvalidInput(_)), "{bad:?}: {e}");
    }
    assert_eq!(log.next_seq(), 0);
    // Over 1 MiB once encoded (with truncation turned off).
    let (_t2, path2) = tmp();
    let opts = Options::default().sanitizer(Sanitizer::new().max_len(usize::MAX));
    let big = AuditLog::open(&path2, &keys(1), opts).unwrap();
    let e = big
        .append(&Event::new("big").with("v", "y".repeat(2 << 20)))
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidInput(ref m) if m.contains("more than")),
        "{e}"
    );
    assert_eq!(big.next_seq(), 0);
    assert!(Event::from_serialize("t", &vec![1, 2]).is_err());
    let e = AuditLog::open(
        tmp().1,
        &encrypted_audit_log::KeyRing::new(),
        Options::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "invalid input: the key ring is empty");
    let e = AuditLog::open(
        tmp().1,
        &keys(1),
        Options::default().epoch(0, Duration::from_secs(1)),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)));
    log.close().unwrap();
    let vk = verify_keys(1);
    LogReader::open(&path, &vk).unwrap().verify().unwrap();
    // Keys never show in Debug output.
    let dbg = format!("{:?} {:?}", keys(1), common::mac_key(1));
    assert!(!dbg.contains("1, 1, 1"), "{dbg}");
}

#[test]
fn an_anchor_detects_truncation_that_the_sealed_head_cannot() {
    let (_t, path) = tmp();
    let signer = SigningKey::from_bytes(&[7; 32]);
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    for i in 0..3 {
        let _ = log.append(&event(i)).unwrap();
    }
    log.seal().unwrap();
    let seg = common::seg(&path, 1);
    let (old_seg, old_head) = (
        std::fs::read(&seg).unwrap(),
        std::fs::read(path.join("head")).unwrap(),
    );
    for i in 3..6 {
        let _ = log.append(&event(i)).unwrap();
    }
    let cp = log.anchor(&signer, "backup-laptop").unwrap();
    assert_eq!(cp.size(), 6);
    log.close().unwrap();
    let vk = verify_keys(1);
    let reader = LogReader::open(&path, &vk).unwrap();
    assert_eq!(
        reader
            .verify_with_anchor(cp.text(), &signer.verifying_key())
            .unwrap()
            .anchored_size,
        Some(6)
    );

    // An attacker rolls both the segment and the sealed head back.
    std::fs::write(&seg, &old_seg).unwrap();
    std::fs::write(path.join("head"), &old_head).unwrap();
    reader.verify().unwrap(); // consistent on its own
    let e = reader
        .verify_with_anchor(cp.text(), &signer.verifying_key())
        .unwrap_err();
    let t = e.tamper_report().unwrap_or_else(|| panic!("{e}"));
    assert_eq!(
        t.kind,
        TamperKind::Truncated {
            expected_last: 5,
            found_last: Some(2)
        }
    );

    // A forged or foreign checkpoint is refused.
    let other = SigningKey::from_bytes(&[8; 32]);
    assert!(matches!(
        reader.verify_with_anchor(cp.text(), &other.verifying_key()),
        Err(Error::BadAnchor(_))
    ));
    let (_t2, path2) = tmp();
    common::small_log(&path2, 1, 10);
    let reader2 = LogReader::open(&path2, &vk).unwrap();
    let e = reader2
        .verify_with_anchor(cp.text(), &signer.verifying_key())
        .unwrap_err();
    assert!(e.to_string().contains("another log"), "{e}");
}

#[test]
fn rotation_starts_a_new_segment_and_the_chain_continues() {
    let (_t, path) = tmp();
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    let _ = log.append(&event(0)).unwrap();
    log.rotate(&keys(2)).unwrap();
    assert!(matches!(log.rotate(&keys(2)), Err(Error::InvalidInput(_))));
    let _ = log.append(&event(1)).unwrap();
    drop(log);
    // Opening with a newer key version rotates by itself.
    let log = AuditLog::open(&path, &keys(3), Options::default()).unwrap();
    assert_eq!(log.key_version(), 3);
    let _ = log.append(&event(2)).unwrap();
    drop(log);
    assert!(common::seg(&path, 3).exists());
    let vk = verify_keys(3);
    let report = LogReader::open(&path, &vk).unwrap().verify().unwrap();
    assert_eq!(report.segments, 3);
    let k = keys(3);
    let got: Vec<u64> = LogReader::open(&path, &k)
        .unwrap()
        .records(Filter::all())
        .unwrap()
        .map(|r| r.unwrap().fields()["i"].as_u64().unwrap())
        .collect();
    assert_eq!(got, vec![0, 1, 2]);
    // Without version 1's MAC key, verification says which key is missing.
    let partial = encrypted_audit_log::KeyRing::new().with_verify_only(2, common::mac_key(2));
    let e = LogReader::open(&path, &partial)
        .unwrap()
        .verify()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::MissingKey {
                version: 1,
                encryption: false
            }
        ),
        "{e}"
    );
}

#[test]
fn threads_share_one_writer_and_its_batches() {
    let (_t, path) = tmp();
    let opts = Options::default().durability(Durability::Group {
        max_records: 16,
        max_delay: Duration::from_secs(60),
    });
    let log = AuditLog::open(&path, &keys(1), opts).unwrap();
    let seqs: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let log = &log;
                s.spawn(move || {
                    (0..25)
                        .map(|i| log.append(&event(t * 100 + i)).unwrap().seq)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut sorted = seqs;
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted,
        (0..100).collect::<Vec<_>>(),
        "every append got its own sequence number"
    );
    log.close().unwrap();
    let k = keys(1);
    let mut got: Vec<u64> = LogReader::open(&path, &k)
        .unwrap()
        .records(Filter::all())
        .unwrap()
        .map(|r| r.unwrap().fields()["i"].as_u64().unwrap())
        .collect();
    got.sort_unstable();
    let mut want: Vec<u64> = (0..4)
        .flat_map(|t| (0..25).map(move |i| t * 100 + i))
        .collect();
    want.sort_unstable();
    assert_eq!(got, want);
}
