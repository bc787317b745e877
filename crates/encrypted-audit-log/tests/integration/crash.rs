//! Crash exactness (issue item 4): torn tails are told apart from
//! tampering, trimmed, synced and noted; SIGKILLs never lose an
//! acknowledged durable record.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};

use encrypted_audit_log::{AuditLog, Durability, Filter, LogReader, Options, TornTail};
use rand::RngExt;

use crate::common::{self, event, frames, keys, tmp, verify_keys};

/// The crash image: a log of `n` records (reopening it ends their epoch
/// with a close record, seq `n`), then the disk as a crash in the middle of
/// appending one more (seq `n + 1`) leaves it. The writer updates the sealed
/// head only after the record's bytes are synced, so the head is the one
/// from before that append (copied while the writer is still open), and
/// the segment holds the record (the caller cuts it).
fn crash_image(path: &std::path::Path, n: u64) -> (Vec<u8>, Vec<u8>) {
    common::small_log(path, n, 1000);
    let log = AuditLog::open(path, &keys(1), Options::default()).unwrap();
    let head = std::fs::read(path.join("head")).unwrap();
    let _ = log.append(&event(n)).unwrap();
    assert_ne!(
        std::fs::read(path.join("head")).unwrap(),
        head,
        "the append updated the sealed head"
    );
    let image = (std::fs::read(common::seg(path, 1)).unwrap(), head);
    drop(log);
    image
}

#[test]
fn truncation_at_every_offset_of_the_last_record_recovers_the_rest() {
    let (_t, path) = tmp();
    let (seg, head) = crash_image(&path, 3);
    let fr = frames(&seg);
    let (start, len, seq) = *fr.last().unwrap();
    assert_eq!(
        seq, 4,
        "records 0-2, the close at reopening, the cut record"
    );
    let vk = verify_keys(1);
    let k = keys(1);
    for cut in start + 1..start + len {
        std::fs::write(common::seg(&path, 1), &seg[..cut]).unwrap();
        std::fs::write(path.join("head"), &head).unwrap();
        // Read-only verification reports the torn tail, not tampering.
        let report = LogReader::open(&path, &vk).unwrap().verify().unwrap();
        let torn = TornTail {
            segment: 1,
            offset: start as u64,
            bytes: (cut - start) as u64,
        };
        assert_eq!(report.torn_tail, Some(torn), "cut at {cut}");
        assert_eq!(report.next_seq, 4);

        let log = AuditLog::open(&path, &k, Options::default()).unwrap();
        let rec = log.recovery().unwrap();
        assert_eq!((rec.torn, rec.noted_at), (torn, 4));
        drop(log);
        // The recovered record, then the close that ends its epoch.
        let report = LogReader::open(&path, &vk).unwrap().verify().unwrap();
        assert_eq!((report.torn_tail, report.next_seq), (None, 6));
        let recs: Vec<_> = LogReader::open(&path, &k)
            .unwrap()
            .records(Filter::all())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(recs.len(), 4);
        assert_eq!(
            recs[..3]
                .iter()
                .map(|r| r.fields()["i"].as_u64().unwrap())
                .collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(recs[3].event_type(), "audit.recovered");
        assert_eq!(recs[3].fields()["offset"], start);
        assert_eq!(recs[3].fields()["bytes"], cut - start);
    }
}

#[test]
fn a_zero_filled_tail_is_a_crash_and_garbage_is_not() {
    let (_t, path) = tmp();
    let (seg, head) = crash_image(&path, 2);
    let (start, _, _) = *frames(&seg).last().unwrap();
    let vk = verify_keys(1);
    // Power loss: the size grew, the data blocks did not reach the disk.
    let mut zeroed = seg[..start].to_vec();
    zeroed.resize(seg.len(), 0);
    std::fs::write(common::seg(&path, 1), &zeroed).unwrap();
    std::fs::write(path.join("head"), &head).unwrap();
    let report = LogReader::open(&path, &vk).unwrap().verify().unwrap();
    assert_eq!(report.torn_tail.map(|t| t.offset), Some(start as u64));
    // A complete last record with a changed byte is tampering, even after
    // the sealed head.
    let mut flipped = seg;
    flipped[start + 40] ^= 1;
    std::fs::write(common::seg(&path, 1), &flipped).unwrap();
    std::fs::write(path.join("head"), &head).unwrap();
    let e = LogReader::open(&path, &vk).unwrap().verify().unwrap_err();
    assert!(e.tamper_report().is_some(), "{e}");
    assert!(AuditLog::open(&path, &keys(1), Options::default()).is_err());
}

#[test]
fn an_interrupted_rotation_is_recovered() {
    let (_t, path) = tmp();
    common::small_log(&path, 2, 1000);
    // A crash while creating segment 2: only part of its header exists.
    std::fs::write(common::seg(&path, 2), [0x45u8; 50]).unwrap();
    let vk = verify_keys(1);
    let torn = TornTail {
        segment: 2,
        offset: 0,
        bytes: 50,
    };
    assert_eq!(
        LogReader::open(&path, &vk)
            .unwrap()
            .verify()
            .unwrap()
            .torn_tail,
        Some(torn)
    );
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    assert_eq!(log.recovery().unwrap().torn, torn);
    drop(log);
    assert!(!common::seg(&path, 2).exists());
    LogReader::open(&path, &vk).unwrap().verify().unwrap();
}

/// Item 4's kill loop: a child appends durably and prints each
/// acknowledged sequence number; the parent SIGKILLs it at random moments,
/// 200 times. After every kill the log verifies (a torn tail at most) and
/// holds every acknowledged record.
#[test]
fn sigkill_never_loses_an_acknowledged_durable_record() {
    if let Some(role) = common::child_role() {
        // Every other child uses group commit (batches of 5): a record is
        // acknowledged only once an append reports its batch durable.
        let group = role == "appender-group";
        let durability = if group {
            Durability::Group {
                max_records: 5,
                max_delay: std::time::Duration::from_secs(3600),
            }
        } else {
            Durability::PerRecord
        };
        let opts = Options::default()
            .epoch(7, std::time::Duration::from_secs(3600))
            .durability(durability);
        let log = AuditLog::open(common::child_arg(), &keys(1), opts).unwrap();
        let parent = rustix::process::getppid();
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready").unwrap();
        out.flush().unwrap();
        let mut pending = Vec::new();
        let mut i = 0u64;
        while rustix::process::getppid() == parent {
            let a = log.append(&event(i)).unwrap();
            assert!(a.durable || group);
            pending.push(a.seq);
            if a.durable {
                for seq in pending.drain(..) {
                    writeln!(out, "ack {seq}").unwrap();
                }
                out.flush().unwrap();
            }
            i += 1;
        }
        return;
    }

    let (_t, path) = tmp();
    common::small_log(&path, 1, 7);
    let vk = verify_keys(1);
    let k = keys(1);
    let mut rng = rand::rng();
    let mut acked = BTreeSet::new();
    let mut torn_seen = 0;
    for kill in 0..200 {
        let mut guard = common::KillOnDrop(
            common::child(
                "crash::sigkill_never_loses_an_acknowledged_durable_record",
                if kill % 2 == 0 {
                    "appender"
                } else {
                    "appender-group"
                },
                &path,
            )
            .spawn()
            .unwrap(),
        );
        let mut out = BufReader::new(guard.0.stdout.take().unwrap());
        let mut line = String::new();
        let target = rng.random_range(0..12);
        let mut got = 0;
        loop {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "kill {kill}: child exited early"
            );
            if let Some(n) = line
                .trim_end()
                .rsplit("ack ")
                .next()
                .filter(|_| line.contains("ack "))
            {
                acked.insert(n.parse::<u64>().unwrap());
                got += 1;
            }
            if line.trim_end().ends_with("ready") && target == 0 || got >= target && got > 0 {
                break;
            }
        }
        guard.0.kill().unwrap(); // SIGKILL, while the child keeps appending
        guard.0.wait().unwrap();
        // Acks printed before the kill landed, still in the pipe.
        for l in out.lines() {
            if let Some(n) = l.unwrap().split("ack ").nth(1) {
                acked.insert(n.parse::<u64>().unwrap());
            }
        }
        if kill % 4 == 3 {
            let report = LogReader::open(&path, &vk)
                .unwrap()
                .verify()
                .unwrap_or_else(|e| panic!("kill {kill}: {e}"));
            torn_seen += usize::from(report.torn_tail.is_some());
        }
        if kill % 10 == 9
            && let Some(&last) = acked.last()
        {
            cutting_an_acknowledged_record_is_detected(&path, last, kill);
        }
        if kill % 20 == 19 {
            let present: BTreeSet<u64> = LogReader::open(&path, &k)
                .unwrap()
                .records(Filter::all().event_type("test.event"))
                .unwrap()
                .map(|r| r.unwrap().seq())
                .collect();
            let lost: Vec<_> = acked.difference(&present).collect();
            assert!(
                lost.is_empty(),
                "kill {kill}: acknowledged records lost: {lost:?}"
            );
        }
    }
    assert!(
        acked.len() > 500,
        "only {} acknowledged appends",
        acked.len()
    );
    // The final state opens cleanly and verifies.
    drop(AuditLog::open(&path, &k, Options::default()).unwrap());
    let report = LogReader::open(&path, &vk).unwrap().verify().unwrap();
    assert_eq!(report.torn_tail, None);
    eprintln!(
        "kill loop: {} acknowledged, {torn_seen} torn tails seen",
        acked.len()
    );
}

/// In a copy of the killed writer's log, cuts the tail from the
/// acknowledged record `seq` on: the sealed head, updated after every
/// flush, must report the truncation.
fn cutting_an_acknowledged_record_is_detected(path: &std::path::Path, seq: u64, kill: usize) {
    let copy = tempfile::tempdir().unwrap();
    let cp = copy.path().join("audit");
    common::copy_log(path, &cp);
    let seg = std::fs::read(common::seg(&cp, 1)).unwrap();
    let (start, _, _) = *frames(&seg)
        .iter()
        .find(|f| f.2 == seq)
        .unwrap_or_else(|| panic!("kill {kill}: acknowledged record {seq} is missing"));
    std::fs::OpenOptions::new()
        .write(true)
        .open(common::seg(&cp, 1))
        .unwrap()
        .set_len(start as u64)
        .unwrap();
    match LogReader::open(&cp, &verify_keys(1)).unwrap().verify() {
        Err(encrypted_audit_log::Error::Tampered(t)) => assert!(
            matches!(t.kind, encrypted_audit_log::TamperKind::Truncated { expected_last, .. } if expected_last >= seq),
            "kill {kill}: {t:?}"
        ),
        other => panic!("kill {kill}: cutting record {seq} went unnoticed: {other:?}"),
    }
}

#[test]
fn a_crash_between_rotation_steps_resumes_into_the_new_segment() {
    let (_t, path) = tmp();
    let log = AuditLog::open(
        &path,
        &keys(2),
        Options::default().epoch(2, std::time::Duration::from_secs(3600)),
    )
    .unwrap();
    assert_eq!(log.key_version(), 2);
    drop(log);
    // Start over with version 1 only, then rotate to 2, keeping the head
    // from before the rotation (as if the crash hit before it was rewritten).
    let (_t2, path) = tmp();
    let log = AuditLog::open(
        &path,
        &keys(1),
        Options::default().epoch(2, std::time::Duration::from_secs(3600)),
    )
    .unwrap();
    for i in 0..3 {
        let _ = log.append(&event(i)).unwrap();
    }
    log.seal().unwrap();
    let old_head = std::fs::read(path.join("head")).unwrap();
    log.rotate(&keys(2)).unwrap();
    let _ = log.append(&event(3)).unwrap();
    let _ = log.append(&event(4)).unwrap();
    drop(log);
    std::fs::write(path.join("head"), &old_head).unwrap();
    let log = AuditLog::open(&path, &keys(2), Options::default()).unwrap();
    assert_eq!((log.recovery(), log.key_version()), (None, 2));
    let _ = log.append(&event(5)).unwrap();
    drop(log);
    let k = keys(2);
    let got: Vec<u64> = LogReader::open(&path, &k)
        .unwrap()
        .records(Filter::all())
        .unwrap()
        .map(|r| r.unwrap().fields()["i"].as_u64().unwrap())
        .collect();
    assert_eq!(got, (0..6).collect::<Vec<_>>());
}

#[test]
fn a_last_record_whose_end_reads_back_as_zeros_is_a_crash() {
    let (_t, path) = tmp();
    let (seg, head) = crash_image(&path, 2);
    let (start, len, _) = *frames(&seg).last().unwrap();
    let mut b = seg.clone();
    // The last 40 bytes of the unsealed record, plus 100 bytes past it.
    for x in &mut b[start + len - 40..] {
        *x = 0;
    }
    b.resize(seg.len() + 100, 0);
    std::fs::write(common::seg(&path, 1), &b).unwrap();
    std::fs::write(path.join("head"), &head).unwrap();
    let vk = verify_keys(1);
    let report = LogReader::open(&path, &vk).unwrap().verify().unwrap();
    assert_eq!(
        report.torn_tail,
        Some(TornTail {
            segment: 1,
            offset: start as u64,
            bytes: (len + 100) as u64
        })
    );
    let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
    assert_eq!(log.recovery().unwrap().torn.offset, start as u64);
    drop(log);
    assert_eq!(
        LogReader::open(&path, &vk)
            .unwrap()
            .verify()
            .unwrap()
            .torn_tail,
        None
    );
    // The same damage to a record the sealed head covers is tampering.
    let (_t2, path2) = tmp();
    common::small_log(&path2, 3, 1000);
    let s2 = std::fs::read(common::seg(&path2, 1)).unwrap();
    let (st, ln, _) = *frames(&s2).last().unwrap();
    let mut z = s2;
    for x in &mut z[st + ln - 40..] {
        *x = 0;
    }
    std::fs::write(common::seg(&path2, 1), &z).unwrap();
    let e = LogReader::open(&path2, &vk).unwrap().verify().unwrap_err();
    assert_eq!(e.tamper_report().unwrap().position.offset, st as u64);
}

/// A log of 2 records, then the disk as a power loss in the middle of one
/// group-commit batch of two 3 KiB records leaves it, before any sector is
/// lost: the head from before the batch, and the segment with the batch.
fn big_batch_image(path: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    common::small_log(path, 2, 1000);
    let opts = Options::default().durability(Durability::Group {
        max_records: 2,
        max_delay: std::time::Duration::from_secs(3600),
    });
    let log = AuditLog::open(path, &keys(1), opts).unwrap();
    let head = std::fs::read(path.join("head")).unwrap();
    for i in 2..4 {
        let big = encrypted_audit_log::Event::new("test.big")
            .with("i", i)
            .with("blob", "b".repeat(3000));
        let _ = log.append(&big).unwrap();
    }
    let seg = std::fs::read(common::seg(path, 1)).unwrap();
    drop(log);
    (seg, head)
}

#[test]
fn sectors_of_the_last_write_lost_in_any_order_are_a_crash() {
    // A power loss can lose any 512-byte sector of the last, unsynced
    // write, not only its end: they read back as zeros, with the written
    // sectors around them. Beyond the sealed head that is a torn tail; the
    // same damage to records the head covers is tampering, and changed
    // bytes without lost sectors are tampering everywhere.
    let (_t, path) = tmp();
    let (seg, head) = big_batch_image(&path);
    let fr = frames(&seg);
    let [(first, first_len, 3), (second, second_len, 4)] = fr[fr.len() - 2..] else {
        panic!("{fr:?}")
    };
    assert_eq!(first + first_len, second);
    let sector_after = |at: usize| (at / 512 + 1) * 512;
    let zeroed = |from: usize, to: usize| {
        let mut b = seg.clone();
        b[from..to].fill(0);
        b
    };
    let vk = verify_keys(1);
    let cases = [
        // The batch's first sector: from the old end of the file (inside
        // that sector) to the sector's end, the length field included.
        (
            "its first sector",
            zeroed(first, sector_after(first)),
            first,
        ),
        (
            "a sector inside the first record",
            zeroed(sector_after(first), sector_after(first) + 512),
            first,
        ),
        (
            "a sector inside the second record",
            zeroed(sector_after(second), sector_after(second) + 512),
            second,
        ),
        (
            "the end of the second record",
            zeroed(second + second_len - 40, seg.len()),
            second,
        ),
    ];
    for (what, bytes, torn_at) in cases {
        std::fs::write(common::seg(&path, 1), &bytes).unwrap();
        std::fs::write(path.join("head"), &head).unwrap();
        let report = LogReader::open(&path, &vk)
            .unwrap()
            .verify()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let torn = report
            .torn_tail
            .unwrap_or_else(|| panic!("{what}: no torn tail"));
        assert_eq!(
            (torn.offset, torn.bytes),
            (torn_at as u64, (bytes.len() - torn_at) as u64),
            "{what}"
        );
        let log = AuditLog::open(&path, &keys(1), Options::default()).unwrap();
        assert_eq!(log.recovery().unwrap().torn, torn, "{what}");
        drop(log);
        let report = LogReader::open(&path, &vk).unwrap().verify().unwrap();
        assert_eq!(report.torn_tail, None, "{what}");
    }
    // Changed bytes with no lost sector: tampering, even beyond the head.
    let mut flipped = seg.clone();
    for x in &mut flipped[sector_after(first)..sector_after(first) + 512] {
        *x ^= 0xa5;
    }
    std::fs::write(common::seg(&path, 1), &flipped).unwrap();
    std::fs::write(path.join("head"), &head).unwrap();
    let e = LogReader::open(&path, &vk).unwrap().verify().unwrap_err();
    assert_eq!(e.tamper_report().unwrap().position.offset, first as u64);
    // A lost sector in records the head covers: tampering.
    let (_t2, path2) = tmp();
    let (seg2, _) = big_batch_image(&path2);
    let fr2 = frames(&seg2);
    let (st, _, _) = fr2[fr2.len() - 2];
    let mut z = seg2;
    let from = sector_after(st);
    z[from..from + 512].fill(0);
    std::fs::write(common::seg(&path2, 1), &z).unwrap();
    let e = LogReader::open(&path2, &vk).unwrap().verify().unwrap_err();
    assert_eq!(e.tamper_report().unwrap().position.offset, st as u64);
}

#[test]
fn group_commit_flushes_in_the_background_when_appends_stop() {
    let (_t, path) = tmp();
    let opts = Options::default().durability(Durability::Group {
        max_records: 1000,
        max_delay: std::time::Duration::from_millis(20),
    });
    let log = AuditLog::open(&path, &keys(1), opts).unwrap();
    let seg = common::seg(&path, 1);
    let before = std::fs::metadata(&seg).unwrap().len();
    assert!(!log.append(&event(0)).unwrap().durable);
    // Wait (bounded) for the flusher thread; no append or flush is called.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::metadata(&seg).unwrap().len() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the pending record was never flushed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // On disk and complete while the writer is still open.
    let vk = verify_keys(1);
    let r = LogReader::open(&path, &vk).unwrap().verify().unwrap();
    assert_eq!((r.next_seq, r.torn_tail), (1, None));
    log.close().unwrap();
}
