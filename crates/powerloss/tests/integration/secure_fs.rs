//! secure-fs under power loss: `write_atomic` and `write_atomic_shredding`
//! keep every acknowledged write and never expose a partial file;
//! `secure_delete` overwrites every byte `passes` times before the unlink,
//! as seen by the file system (issue 10 item 11).

use std::collections::HashMap;
use std::ffi::OsStr;

use powerloss::{Op, explore};
use secure_fs::{DeleteOptions, PrivateDir};

use crate::common;

/// Versions of different lengths (one under a sector, several sectors), so
/// that a torn or partly lost write cannot pass for a whole one.
fn version(i: usize) -> Vec<u8> {
    let line = format!("version {i:04} of the entry\n");
    line.repeat(1 + (i * 37) % 150).into_bytes()
}

fn describe(content: Option<&[u8]>) -> String {
    content.map_or_else(
        || "no file".to_owned(),
        |c| {
            format!(
                "{} bytes starting {:?}",
                c.len(),
                String::from_utf8_lossy(&c[..c.len().min(20)])
            )
        },
    )
}

/// Runs `n` acknowledged atomic writes (`write` does one) and checks every
/// cut: the directory opens once its creation was acknowledged, and the
/// file holds the last acknowledged version or the one in flight, whole.
fn check_atomic_writes(test: &str, n: usize, write: impl Fn(&PrivateDir, &[u8])) {
    let Some(rec) = common::recorder(test) else {
        return;
    };
    let dir = PrivateDir::create(rec.path().join("store")).unwrap();
    rec.mark("created");
    for i in 0..n {
        write(&dir, &version(i));
        rec.mark(format!("v{i}"));
    }
    drop(dir);
    let trace = rec.finish().unwrap();
    let report = explore(&trace, &common::explore_options(test), |case| {
        if case.marks.is_empty() {
            return Ok(()); // not even the directory was acknowledged
        }
        let acked = case.marks.len() - 1;
        let dir = PrivateDir::open(case.root.join("store"))
            .map_err(|e| format!("the acknowledged directory does not open: {e}"))?;
        let content = match dir.read("entry") {
            Ok(c) => Some(c),
            Err(e) if *e.kind() == secure_fs::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("reading the entry failed: {e}")),
        };
        let ok = match &content {
            None => acked == 0,
            Some(c) => {
                (acked > 0 && *c == version(acked - 1)) || (acked < n && *c == version(acked))
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{acked} writes acknowledged, the entry holds {}",
                describe(content.as_deref())
            ))
        }
    })
    .unwrap();
    common::assert_clean(test, &report);
    assert!(report.lossy > 0, "{test}: no crash state lost anything");
}

#[test]
fn write_atomic_keeps_every_acknowledged_write() {
    check_atomic_writes(
        "write_atomic_keeps_every_acknowledged_write",
        40,
        |dir, data| {
            dir.write_atomic("entry", data).unwrap();
        },
    );
}

#[test]
fn write_atomic_shredding_keeps_every_acknowledged_write() {
    check_atomic_writes(
        "write_atomic_shredding_keeps_every_acknowledged_write",
        25,
        |dir, data| {
            let _report = dir
                .write_atomic_shredding("entry", data, &DeleteOptions::new().passes(1))
                .unwrap();
        },
    );
}

#[test]
fn secure_delete_overwrites_every_byte_of_a_hard_linked_file_before_the_unlink() {
    const TEST: &str =
        "secure_delete_overwrites_every_byte_of_a_hard_linked_file_before_the_unlink";
    const PASSES: u32 = 3;
    let Some(rec) = common::recorder(TEST) else {
        return;
    };
    // Not a multiple of the chunk or of a sector: the last partial chunk
    // must be overwritten too.
    let original: Vec<u8> = (0..3 * 4096 + 777u32).map(|i| (i % 251) as u8).collect();
    let dir = PrivateDir::create(rec.path().join("store")).unwrap();
    dir.write_atomic("victim", &original).unwrap();
    std::fs::hard_link(
        rec.path().join("store/victim"),
        rec.path().join("store/other-link"),
    )
    .unwrap();
    rec.mark("delete");
    let _report = dir
        .secure_delete(
            "victim",
            &DeleteOptions::new().passes(PASSES).chunk_size(4096),
        )
        .unwrap();
    drop(dir);
    let trace = rec.finish().unwrap();

    // The file that got the name "victim" (the atomic write's temp file,
    // renamed), as the file system numbers it.
    let victim = trace
        .ops()
        .iter()
        .find_map(|op| match op {
            Op::Rename { new_name, .. } if new_name == OsStr::new("victim") => Some(()),
            _ => None,
        })
        .and_then(|()| {
            // The temp file is the last file created before that rename.
            let rename_at = trace.ops().iter().position(
                |op| matches!(op, Op::Rename { new_name, .. } if new_name == OsStr::new("victim")),
            )?;
            trace.ops()[..rename_at]
                .iter()
                .rev()
                .find_map(|op| match op {
                    Op::Create { ino, .. } => Some(*ino),
                    _ => None,
                })
        })
        .unwrap();
    let start = trace.position_after_mark("delete").unwrap();
    let ops = &trace.ops()[start..];
    // The name it was hidden under, and where that name was unlinked.
    let (hidden, renamed_at) = ops
        .iter()
        .enumerate()
        .find_map(|(i, op)| match op {
            Op::Rename { name, new_name, .. } if name == OsStr::new("victim") => {
                Some((new_name.clone(), i))
            }
            _ => None,
        })
        .expect("secure_delete never renamed the file");
    let unlinked_at = ops
        .iter()
        .position(|op| matches!(op, Op::Unlink { name, .. } if *name == hidden))
        .expect("secure_delete never unlinked the file");
    // Overwrite passes: the writes to the file between fsyncs, before the
    // unlink. Each byte must be written once per pass, with the original
    // bytes gone, and each pass made durable by an fsync.
    let size = original.len();
    let mut passes = Vec::new();
    let mut coverage = vec![0u32; size];
    let mut pass_bytes: HashMap<usize, u8> = HashMap::new();
    let mut current = vec![0u32; size];
    for op in &ops[..unlinked_at] {
        match op {
            Op::Write { ino, offset, data } if *ino == victim => {
                let start = usize::try_from(*offset).unwrap();
                for (k, b) in data.iter().enumerate() {
                    if start + k < size {
                        current[start + k] += 1;
                        coverage[start + k] += 1;
                        pass_bytes.insert(start + k, *b);
                    }
                }
            }
            Op::Fsync { ino, .. } if *ino == victim && current.iter().any(|&c| c > 0) => {
                passes.push(std::mem::replace(&mut current, vec![0u32; size]));
            }
            Op::SetLen { ino, len } if *ino == victim => {
                assert!(
                    passes.len() >= PASSES as usize,
                    "truncated to {len} after only {} complete passes",
                    passes.len()
                );
            }
            _ => {}
        }
    }
    assert!(
        current.iter().all(|&c| c == 0),
        "writes after the last fsync before the unlink"
    );
    assert_eq!(
        passes.len(),
        PASSES as usize,
        "overwrite passes that reached the file system"
    );
    for (p, pass) in passes.iter().enumerate() {
        let missed: Vec<usize> = (0..size).filter(|&i| pass[i] == 0).collect();
        assert!(
            missed.is_empty(),
            "pass {p} left {} bytes unwritten (first at offset {})",
            missed.len(),
            missed[0]
        );
    }
    assert!(
        coverage.iter().all(|&c| c == PASSES),
        "each byte written exactly {PASSES} times"
    );
    let same = (0..size).filter(|i| pass_bytes[i] == original[*i]).count();
    assert!(
        same < size / 64,
        "{same} of {size} bytes still hold the original value"
    );
    // The rename that hid the name came after the overwrite, the unlink last.
    let last_write = ops
        .iter()
        .rposition(|op| matches!(op, Op::Write { ino, .. } if *ino == victim))
        .unwrap();
    assert!(last_write < renamed_at && renamed_at < unlinked_at);
    // And the other link survives, emptied: its blocks were the victim's.
    let end = powerloss::crash_state(&trace, trace.len(), powerloss::Variant::Everything);
    assert_eq!(end.file("store/other-link"), Some(&[][..]));
    assert_eq!(end.file("store/victim"), None);
}
