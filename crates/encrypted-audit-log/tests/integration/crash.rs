//! Crash exactness: torn tails are told apart from tampering, trimmed
//! (only after the whole log verified), synced and noted; SIGKILLs never
//! lose an acknowledged record, and the kill loop really meets torn tails.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use encrypted_audit_log::{AuditLog, Durability, Event, Filter, LogReader, Options, TamperKind};

use crate::common::{self, frames, seg, state_key, tmp};

#[test]
fn a_torn_last_record_past_the_head_is_trimmed_and_noted() {
    let (_t, path) = tmp();
    let (log, created) = AuditLog::create(&path, &state_key(), common::opts(100)).unwrap();
    for i in 0..3 {
        let _ = log.append(&common::event(i)).unwrap();
    }
    // The head is signed once a second; force it now, then append one
    // more record that no head covers, and "crash" (copy the files).
    let _ = log.flush().unwrap();
    let _ = log.seal().unwrap();
    let head = std::fs::read(path.join("head")).unwrap();
    let _ = log.append(&common::event(3)).unwrap();
    let (_t2, img) = tmp();
    common::copy_log(&path, &img);
    std::fs::write(img.join("head"), &head).unwrap();
    drop(log);
    let bytes = std::fs::read(seg(&img, 1)).unwrap();
    let (start, len, _, seq) = *frames(&bytes).last().unwrap();
    assert_eq!(seq, 4);
    let vk = created.verifying_key;
    for cut in [
        start + 1,
        start + 4,
        start + 17,
        start + len / 2,
        start + len - 1,
    ] {
        let (_t3, w) = tmp();
        common::copy_log(&img, &w);
        std::fs::write(seg(&w, 1), &bytes[..cut]).unwrap();
        let rep = LogReader::open(&w, &vk).unwrap().verify().unwrap();
        let torn = rep.torn_tail.unwrap();
        assert_eq!(
            (torn.offset, torn.bytes),
            (start as u64, (cut - start) as u64)
        );
        let log = AuditLog::open(&w, &state_key(), Options::default()).unwrap();
        let rec = log.recovery().unwrap();
        assert_eq!((rec.torn, rec.noted_at), (torn, 4));
        log.close().unwrap();
        let rep = LogReader::open(&w, &vk).unwrap().verify().unwrap();
        assert_eq!(rep.torn_tail, None);
        let recs: Vec<_> = LogReader::open(&w, &vk)
            .unwrap()
            .records(&created.read_key, Filter::all())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[3].event_type(), "audit.recovered");
        assert_eq!(recs[3].fields()["bytes"], cut - start);
    }
    // The complete record past the head with a zeroed sector (power loss):
    // torn, not tampering.
    let (_t4, w) = tmp();
    common::copy_log(&img, &w);
    let mut z = bytes.clone();
    for b in &mut z[start + 20..] {
        *b = 0;
    }
    std::fs::write(seg(&w, 1), &z).unwrap();
    assert!(
        LogReader::open(&w, &vk)
            .unwrap()
            .verify()
            .unwrap()
            .torn_tail
            .is_some()
    );
    // The same damage before the head's point is tampering.
    let (_t5, w) = tmp();
    common::copy_log(&img, &w);
    let fr = frames(&bytes);
    std::fs::write(seg(&w, 1), &bytes[..fr[1].0 + 5]).unwrap();
    let e = LogReader::open(&w, &vk).unwrap().verify().unwrap_err();
    assert!(
        matches!(
            e.tamper_report().unwrap().kind,
            TamperKind::Truncated { .. }
        ),
        "{e}"
    );
    assert!(AuditLog::open(&w, &state_key(), Options::default()).is_err());
}

#[test]
fn the_head_follows_appends_within_a_second() {
    let (_t, path) = tmp();
    let o = common::opts(10_000).head_interval(Duration::from_millis(50));
    let (log, created) = AuditLog::create(&path, &state_key(), o).unwrap();
    for i in 0..5 {
        let _ = log.append(&common::event(i)).unwrap();
    }
    // Wait (bounded) for the background thread to sign the head past the
    // appends: a copy then reports no record past the head.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_t2, w) = tmp();
        common::copy_log(&path, &w);
        let rep = LogReader::open(&w, &created.verifying_key)
            .unwrap()
            .verify()
            .unwrap();
        if rep.past_head_records == 0 {
            assert_eq!(rep.unsealed_records, 5);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the head never caught up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Cutting an acknowledged record the head covers is truncation.
    let (_t3, w) = tmp();
    common::copy_log(&path, &w);
    let bytes = std::fs::read(seg(&w, 1)).unwrap();
    let fr = frames(&bytes);
    std::fs::write(seg(&w, 1), &bytes[..fr[4].0]).unwrap();
    let e = LogReader::open(&w, &created.verifying_key)
        .unwrap()
        .verify()
        .unwrap_err();
    assert!(matches!(
        e.tamper_report().unwrap().kind,
        TamperKind::Truncated { .. }
    ));
    drop(log);
}

const KILL_TEST: &str = "crash::sigkill_never_loses_an_acknowledged_record_and_meets_torn_tails";

/// The kill loop: a child appends (per-record durability, or group commit
/// with 32-record batches of ~4 KiB records, so one batch is a write of
/// about 32 pages that a SIGKILL can cut short: the kernel stops a write
/// between pages for a fatal signal) and prints each acknowledged sequence
/// number; the parent SIGKILLs it at a random moment up to 1.5 ms after an
/// acknowledgement, while it prepares or writes the next batch. After every kill the
/// log verifies (a torn tail at most) and holds every acknowledged record.
/// The loop runs at least 40 kills, and on until torn tails were seen and
/// over 200 appends were acknowledged (at most 400 kills).
#[test]
fn sigkill_never_loses_an_acknowledged_record_and_meets_torn_tails() {
    if let Some(role) = common::child_role() {
        let group = role == "appender-group";
        let durability = if group {
            Durability::Group {
                max_records: 32,
                max_delay: Duration::from_secs(3600),
            }
        } else {
            Durability::PerRecord
        };
        let opts = Options::default()
            .epoch(200, Duration::from_secs(3600))
            .durability(durability);
        let log = AuditLog::open(common::child_arg(), &state_key(), opts).unwrap();
        let parent = rustix::process::getppid();
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready").unwrap();
        out.flush().unwrap();
        let mut pending = Vec::new();
        let pad = "p".repeat(if group { 4000 } else { 40 });
        let mut i = 0u64;
        while rustix::process::getppid() == parent {
            let a = log
                .append(
                    &Event::new("test.event")
                        .with("i", i)
                        .with("pad", pad.as_str()),
                )
                .unwrap();
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
    let created = common::small_log(&path, 1, 200);
    let vk = created.verifying_key;
    let mut acked = BTreeSet::new();
    let mut torn_seen = 0;
    let mut torn_by_loss = 0;
    let mut kill = 0;
    while kill < 40 || ((torn_seen + torn_by_loss == 0 || acked.len() <= 200) && kill < 400) {
        let role = if kill % 3 == 0 {
            "appender"
        } else {
            "appender-group"
        };
        let mut guard = common::KillOnDrop(common::child(KILL_TEST, role, &path).spawn().unwrap());
        let mut out = BufReader::new(guard.0.stdout.take().unwrap());
        let mut line = String::new();
        let target = 1 + kill % 3;
        let mut got = 0;
        loop {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "kill {kill}: child exited early"
            );
            if let Some(n) = line.trim_end().strip_prefix("ack ") {
                let _ = acked.insert(n.parse::<u64>().unwrap());
                got += 1;
            }
            if got >= target {
                break;
            }
        }
        // A random moment within the next batch (32 encryptions, then one
        // write of about 32 pages that a SIGKILL can cut short).
        let mut r = [0u8; 2];
        getrandom::fill(&mut r).unwrap();
        let until = std::time::Instant::now()
            + Duration::from_micros(u64::from(u16::from_le_bytes(r) % 1500));
        while std::time::Instant::now() < until {
            std::hint::spin_loop();
        }
        guard.0.kill().unwrap(); // SIGKILL
        guard.0.wait().unwrap();
        for l in out.lines() {
            if let Some(n) = l.unwrap().strip_prefix("ack ") {
                let _ = acked.insert(n.parse::<u64>().unwrap());
            }
        }
        let report = LogReader::open(&path, &vk)
            .unwrap()
            .verify()
            .unwrap_or_else(|e| panic!("kill {kill}: {e}"));
        torn_seen += usize::from(report.torn_tail.is_some());
        // Every other kill is also a power loss: the bytes written after
        // the last synced point (the last acknowledged record, the last
        // record the log wrote itself such as a seal, and the signed head,
        // which never covers unsynced bytes) may be lost, any
        // suffix of them. Cut at a random point there: the log must still
        // verify (a torn tail, never tampering) and keep every
        // acknowledged record.
        if kill % 2 == 1 {
            cut_unsynced_tail(&path, acked.last().copied(), kill);
            let report = LogReader::open(&path, &vk)
                .unwrap()
                .verify()
                .unwrap_or_else(|e| panic!("kill {kill} + power loss: {e}"));
            torn_by_loss += usize::from(report.torn_tail.is_some());
        }
        if std::env::var_os("EAL_KILL_TRACE").is_some() {
            eprintln!("kill {kill}: {} acked, torn {torn_seen}", acked.len());
        }
        if kill % 20 == 19 {
            let present: BTreeSet<u64> = LogReader::open(&path, &vk)
                .unwrap()
                .records(&created.read_key, Filter::all().event_type("test.event"))
                .unwrap()
                .map(|r| r.unwrap().seq())
                .collect();
            let lost: Vec<_> = acked.difference(&present).collect();
            assert!(
                lost.is_empty(),
                "kill {kill}: acknowledged records lost: {lost:?}"
            );
        }
        kill += 1;
    }
    assert!(
        torn_seen + torn_by_loss > 0,
        "{kill} kills and no torn tail: the loop did not test recovery"
    );
    assert!(
        acked.len() > 200,
        "only {} acknowledged appends",
        acked.len()
    );
    let present: BTreeSet<u64> = LogReader::open(&path, &vk)
        .unwrap()
        .records(&created.read_key, Filter::all().event_type("test.event"))
        .unwrap()
        .map(|r| r.unwrap().seq())
        .collect();
    assert!(acked.is_subset(&present), "acknowledged records lost");
    drop(AuditLog::open(&path, &state_key(), Options::default()).unwrap());
    let report = LogReader::open(&path, &vk).unwrap().verify().unwrap();
    assert_eq!(report.torn_tail, None);
    eprintln!(
        "kill loop: {kill} kills, {} acknowledged, torn tails: {torn_seen} after SIGKILL alone, \
         {torn_by_loss} after the simulated loss of unsynced bytes",
        acked.len()
    );
}

/// Truncates the last segment at a random offset between the synced point
/// (the end of the last acknowledged record, or the signed head's point if
/// later) and its end: what a power loss can leave of unsynced writes.
/// The frame kind of an event (FORMAT.md); every other kind is synced as
/// it is written.
const EVENT_KIND: u8 = 1;

fn cut_unsynced_tail(path: &std::path::Path, last_acked: Option<u64>, kill: usize) {
    let head = std::fs::read(path.join("head")).unwrap();
    let head_seg = u32::from_le_bytes(head[60..64].try_into().unwrap());
    let head_off = u64::from_le_bytes(head[64..72].try_into().unwrap());
    let segs = common::segments(path);
    let last = *segs.last().unwrap();
    let bytes = std::fs::read(seg(path, last)).unwrap();
    let mut synced = if head_seg == last {
        usize::try_from(head_off).unwrap()
    } else {
        common::SEGMENT_HEADER_LEN
    };
    let frames = frames(&bytes);
    if let Some(a) = last_acked
        && let Some(&(at, len, _, _)) = frames.iter().find(|f| f.3 == a)
    {
        synced = synced.max(at + len);
    }
    // Seals and the log's own records are written and synced before the
    // writer goes on (a seal before the old epoch's state slot is wiped):
    // a power cut cannot take them back, even before the head covers them.
    // (Cutting a synced seal left a state file one epoch ahead of the log,
    // which `open` rightly refuses as a rollback.)
    if let Some(&(at, len, _, _)) = frames.iter().rev().find(|f| f.2 != EVENT_KIND) {
        synced = synced.max(at + len);
    }
    if synced >= bytes.len() {
        return;
    }
    let mut r = [0u8; 4];
    getrandom::fill(&mut r).unwrap();
    let cut = synced + (u32::from_le_bytes(r) as usize % (bytes.len() - synced));
    std::fs::OpenOptions::new()
        .write(true)
        .open(seg(path, last))
        .unwrap()
        .set_len(cut as u64)
        .unwrap_or_else(|e| panic!("kill {kill}: {e}"));
}

/// A power cut after the seal that ends a full epoch was written but
/// before it was synced: the file already covers the seal's 201 bytes, but
/// they are zeros (or only part of the seal). `open` trims them, seals the
/// full epoch again and notes the recovery after that seal; the reopened
/// log must still verify (the note used to carry a time from before the
/// new seal's, which verification reported as modified bytes).
#[test]
fn a_log_reopened_after_a_torn_seal_at_an_epoch_end_verifies() {
    const EPOCH: u64 = 8;
    let (_t, path) = tmp();
    let (log, created) = AuditLog::create(&path, &state_key(), common::opts(EPOCH)).unwrap();
    // The head as created: nothing moves it until the first append.
    let head = std::fs::read(path.join("head")).unwrap();
    for i in 0..EPOCH {
        let _ = log.append(&common::event(i)).unwrap();
    }
    // The epoch is full: the "crash" happens while its seal is written.
    let (_t2, img) = tmp();
    common::copy_log(&path, &img);
    std::fs::write(img.join("head"), &head).unwrap();
    let records = std::fs::read(seg(&img, 1)).unwrap();
    log.close().unwrap();
    let sealed = std::fs::read(seg(&path, 1)).unwrap();
    let seal = &sealed[records.len()..];
    assert_eq!(
        frames(&sealed).last().unwrap().2,
        2,
        "the close wrote a seal"
    );
    assert_eq!(seal.len(), 201);
    // The state as the seal left it before the sync: the next epoch's slot
    // written, the old one not yet erased.
    let old_state = std::fs::read(img.join("state")).unwrap();
    let new_state = std::fs::read(path.join("state")).unwrap();
    let state: Vec<u8> = old_state
        .chunks(512)
        .zip(new_state.chunks(512))
        .flat_map(|(o, n)| if o.iter().any(|&b| b != 0) { o } else { n })
        .copied()
        .collect();
    let vk = created.verifying_key;
    let zeros = [0u8; 201];
    for (what, tail) in [
        ("a zeroed seal", &zeros[..]),
        ("half a seal", &seal[..100]),
        ("a seal without its last byte", &seal[..200]),
    ] {
        let (_t3, w) = tmp();
        common::copy_log(&img, &w);
        std::fs::write(w.join("state"), &state).unwrap();
        std::fs::write(seg(&w, 1), [&records[..], tail].concat()).unwrap();
        let rep = LogReader::open(&w, &vk).unwrap().verify().unwrap();
        let torn = rep.torn_tail.unwrap();
        assert_eq!(
            (torn.offset, torn.bytes),
            (records.len() as u64, tail.len() as u64),
            "{what}"
        );
        let log = AuditLog::open(&w, &state_key(), common::opts(EPOCH)).unwrap();
        let rec = log.recovery().unwrap();
        // The full epoch is sealed again (record 8), then the note (record 9).
        assert_eq!((rec.torn, rec.noted_at), (torn, EPOCH + 1), "{what}");
        log.close().unwrap();
        let rep = LogReader::open(&w, &vk)
            .unwrap()
            .verify()
            .unwrap_or_else(|e| panic!("{what}: verify after reopening: {e}"));
        assert_eq!((rep.torn_tail, rep.unsealed_records), (None, 0), "{what}");
        let recs: Vec<_> = LogReader::open(&w, &vk)
            .unwrap()
            .records(&created.read_key, Filter::all())
            .unwrap()
            .map(|r| r.unwrap_or_else(|e| panic!("{what}: reading: {e}")))
            .collect();
        let types: Vec<_> = recs.iter().map(|r| r.event_type().to_owned()).collect();
        assert_eq!(types.len(), 9, "{what}: {types:?}");
        assert!(types[..8].iter().all(|t| t == "test.event"), "{types:?}");
        assert_eq!(recs[8].event_type(), "audit.recovered");
        assert_eq!(recs[8].fields()["offset"], records.len(), "{what}");
        assert_eq!(recs[8].fields()["bytes"], tail.len(), "{what}");
        // And it keeps working: the writer opens it again, cleanly.
        let log = AuditLog::open(&w, &state_key(), common::opts(EPOCH)).unwrap();
        assert!(log.recovery().is_none());
        log.close().unwrap();
        LogReader::open(&w, &vk).unwrap().verify().unwrap();
    }
}
