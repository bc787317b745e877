//! Item 1 of issue 10: randomness and the writer lock across `fork()`.
//!
//! Each test re-runs this test binary limited to itself (a process of its
//! own, so the fork happens with no other test's threads around), forks
//! there with the `fork` crate, and checks what the two sides did.

use std::panic::AssertUnwindSafe;
use std::path::Path;

use keystore_rotation::{Error, KEYSTORE_FILE, Keystore, StorageKind};

use crate::common::{self, PASS, options};

const NONCES: &str = "fork::after_a_fork_parent_and_child_draw_different_nonces_ids_and_salts";
const LOCK: &str = "fork::a_child_dropping_its_inherited_keystore_keeps_the_parents_lock";

/// Runs `f` in the forked child and exits with 0 if it returned, 1 if it
/// panicked (never returning into the test harness).
fn in_child(f: impl FnOnce()) -> ! {
    let ok = std::panic::catch_unwind(AssertUnwindSafe(f)).is_ok();
    std::process::exit(if ok { 0 } else { 1 })
}

fn wait_ok(pid: i32) {
    let status = fork::waitpid(pid).unwrap();
    assert_eq!(status, 0, "the forked child failed (wait status {status})");
}

/// One side after the fork: three envelopes of the same message, and a
/// keystore created from scratch.
fn draw(root: &Path, ks: &Keystore, who: &str) {
    let mut envelopes = Vec::new();
    for _ in 0..3 {
        envelopes.extend(ks.encrypt(b"ctx", b"the same plaintext").unwrap());
    }
    std::fs::write(root.join(format!("{who}.envelopes")), envelopes).unwrap();
    drop(Keystore::create(root.join(format!("{who}-keys")), PASS, &options()).unwrap());
}

#[test]
fn after_a_fork_parent_and_child_draw_different_nonces_ids_and_salts() {
    if common::child_role().as_deref() == Some("nonces") {
        let root = common::child_arg();
        let ks = Keystore::create(root.join("keys"), PASS, &options()).unwrap();
        // Use the generators before the fork, as a long-running process
        // would (a user-space generator is then seeded and buffered).
        for _ in 0..3 {
            ks.encrypt(b"warm", b"up").unwrap();
        }
        match fork::fork().unwrap() {
            fork::Fork::Child => in_child(|| draw(&root, &ks, "child")),
            fork::Fork::Parent(pid) => {
                draw(&root, &ks, "parent");
                wait_ok(pid);
            }
        }
        return;
    }
    let (tmp, _) = common::dir();
    let out = common::child(NONCES, "nonces", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let root = tmp.path();
    let envelopes = |who: &str| std::fs::read(root.join(format!("{who}.envelopes"))).unwrap();
    let (parent, child) = (envelopes("parent"), envelopes("child"));
    let len = parent.len() / 3;
    assert_eq!(child.len(), parent.len());
    let mut nonces: Vec<&[u8]> = parent
        .chunks(len)
        .chain(child.chunks(len))
        .map(|e| &e[8..20])
        .collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 6, "parent and child drew the same nonces");
    // Keystores created after the fork: different ids, salts and KEK wrap
    // nonces.
    let file =
        |who: &str| std::fs::read(root.join(format!("{who}-keys")).join(KEYSTORE_FILE)).unwrap();
    let (p, c) = (file("parent"), file("child"));
    assert_ne!(p[10..26], c[10..26], "same keystore id");
    assert_ne!(p[35..51], c[35..51], "same salt");
    assert_ne!(p[63..75], c[63..75], "same KEK wrap nonce");
    assert_ne!(
        p[131 + 22..131 + 34],
        c[131 + 22..131 + 34],
        "same data key wrap nonce"
    );
}

#[test]
fn a_child_dropping_its_inherited_keystore_keeps_the_parents_lock() {
    if common::child_role().as_deref() == Some("lock") {
        let keys = common::child_arg().join("keys");
        let ks = Keystore::create(&keys, PASS, &options()).unwrap();
        match fork::fork().unwrap() {
            fork::Fork::Child => in_child(move || drop(ks)),
            fork::Fork::Parent(pid) => {
                wait_ok(pid);
                // The parent still holds the writer lock: a second writer is
                // refused, and the lock file still names the parent.
                match Keystore::open(&keys, PASS, &options()) {
                    Err(Error::Storage(e)) => {
                        assert!(matches!(e.kind(), StorageKind::Locked { .. }), "{e}");
                    }
                    other => panic!("a second writer opened beside the parent: {other:?}"),
                }
                let text = std::fs::read_to_string(keys.join(".lock")).unwrap();
                assert_eq!(text.trim(), std::process::id().to_string());
                ks.rotate().unwrap();
            }
        }
        return;
    }
    let (tmp, _) = common::dir();
    let out = common::child(LOCK, "lock", tmp.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
