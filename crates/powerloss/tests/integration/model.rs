//! The crash model on hand-written traces (no FUSE needed).

use std::ffi::OsString;

use powerloss::{NodeKind, Op, ROOT, SECTOR, Trace, Variant, crash_state};

fn name(s: &str) -> OsString {
    OsString::from(s)
}

fn create(parent: u64, n: &str, ino: u64, kind: NodeKind) -> Op {
    Op::Create {
        parent,
        name: name(n),
        ino,
        kind,
        mode: 0o600,
    }
}

fn write(ino: u64, offset: u64, data: &[u8]) -> Op {
    Op::Write {
        ino,
        offset,
        data: data.to_vec(),
    }
}

const SEEDS: u64 = 300;

fn variants() -> impl Iterator<Item = Variant> {
    [Variant::DurableOnly, Variant::Everything]
        .into_iter()
        .chain((0..SEEDS).flat_map(|seed| [Variant::Torn { seed }, Variant::Scrambled { seed }]))
}

#[test]
fn unsynced_writes_are_lost_and_synced_ones_kept() {
    let ops = vec![
        create(ROOT, "f", 2, NodeKind::File),
        Op::FsyncDir { ino: ROOT },
        write(2, 0, b"durable"),
        Op::Fsync {
            ino: 2,
            datasync: true,
        },
        write(2, 0, b"pending"),
    ];
    let t = Trace::from_ops(ops);
    assert_eq!(
        crash_state(&t, 5, Variant::DurableOnly).file("f"),
        Some(&b"durable"[..])
    );
    assert_eq!(
        crash_state(&t, 5, Variant::Everything).file("f"),
        Some(&b"pending"[..])
    );
    // Before the directory fsync, the file may not exist at all.
    assert_eq!(crash_state(&t, 1, Variant::DurableOnly).file("f"), None);
    assert_eq!(
        crash_state(&t, 2, Variant::DurableOnly).file("f"),
        Some(&b""[..])
    );
}

#[test]
fn unsynced_writes_tear_at_sector_granularity_only() {
    let old = vec![b'o'; 4 * SECTOR as usize];
    let new = vec![b'n'; 4 * SECTOR as usize];
    let ops = vec![
        create(ROOT, "f", 2, NodeKind::File),
        write(2, 0, &old),
        Op::Fsync {
            ino: 2,
            datasync: false,
        },
        Op::FsyncDir { ino: ROOT },
        write(2, 0, &new),
    ];
    let t = Trace::from_ops(ops);
    let mut mixed = 0;
    for v in variants() {
        let s = crash_state(&t, 5, v);
        let data = s.file("f").unwrap();
        assert_eq!(data.len(), old.len(), "{v}");
        for sector in data.chunks(SECTOR as usize) {
            assert!(
                sector.iter().all(|&b| b == b'o') || sector.iter().all(|&b| b == b'n'),
                "{v}: a sector mixes old and new bytes"
            );
        }
        if data.contains(&b'o') && data.contains(&b'n') {
            mixed += 1;
        }
    }
    assert!(mixed > 0, "no variant tore the write");
}

#[test]
fn pending_writes_can_be_reordered_and_appends_lost() {
    // Two appends after a sync: the second may survive without the first
    // (its sector written back first) and the size may be ahead of the data.
    let a = vec![b'a'; SECTOR as usize];
    let b = vec![b'b'; SECTOR as usize];
    let ops = vec![
        create(ROOT, "log", 2, NodeKind::File),
        Op::FsyncDir { ino: ROOT },
        write(2, 0, &a),
        write(2, SECTOR, &b),
    ];
    let t = Trace::from_ops(ops);
    let mut second_without_first = false;
    let mut zeros_ahead = false;
    for v in variants() {
        let s = crash_state(&t, 4, v);
        let data = s.file("log").unwrap();
        if data.len() == 2 * SECTOR as usize && data[0] == 0 && data[SECTOR as usize] == b'b' {
            second_without_first = true;
        }
        if !data.is_empty() && data.iter().all(|&x| x == 0) {
            zeros_ahead = true;
        }
    }
    assert!(second_without_first && zeros_ahead);
}

#[test]
fn renames_need_a_directory_fsync_and_are_atomic_across_directories() {
    let ops = vec![
        create(ROOT, "a", 2, NodeKind::Dir),
        create(ROOT, "b", 3, NodeKind::Dir),
        create(2, "f", 4, NodeKind::File),
        write(4, 0, b"x"),
        Op::Fsync {
            ino: 4,
            datasync: false,
        },
        Op::FsyncDir { ino: 2 },
        Op::FsyncDir { ino: ROOT },
        Op::Rename {
            parent: 2,
            name: name("f"),
            new_parent: 3,
            new_name: name("g"),
            exchange: false,
        },
    ];
    let t = Trace::from_ops(ops);
    let s = crash_state(&t, 8, Variant::DurableOnly);
    assert_eq!(s.file("a/f"), Some(&b"x"[..]));
    assert_eq!(s.file("b/g"), None);
    for v in variants() {
        let s = crash_state(&t, 8, v);
        // Exactly one of the two names, never both, never neither.
        assert!(s.file("a/f").is_some() != s.file("b/g").is_some(), "{v}");
    }
    let mut ops = t.ops().to_vec();
    ops.push(Op::FsyncDir { ino: 3 });
    let t = Trace::from_ops(ops);
    for v in variants() {
        let s = crash_state(&t, 9, v);
        assert_eq!(s.file("b/g"), Some(&b"x"[..]), "{v}");
        assert_eq!(s.file("a/f"), None, "{v}");
    }
}

#[test]
fn hard_links_share_their_data_when_materialized() {
    let ops = vec![
        create(ROOT, "f", 2, NodeKind::File),
        write(2, 0, b"shared"),
        Op::Link {
            ino: 2,
            parent: ROOT,
            name: name("g"),
        },
    ];
    let t = Trace::from_ops(ops);
    let s = crash_state(&t, 3, Variant::Everything);
    let dir = tempfile::tempdir().unwrap();
    s.materialize(dir.path()).unwrap();
    use std::os::unix::fs::MetadataExt;
    let f = std::fs::metadata(dir.path().join("f")).unwrap();
    let g = std::fs::metadata(dir.path().join("g")).unwrap();
    assert_eq!(f.ino(), g.ino());
    assert_eq!(std::fs::read(dir.path().join("g")).unwrap(), b"shared");
}
