use std::io::Read;

use secure_fs::{ErrorKind, PrivateDir};

use crate::common;

#[test]
fn a_second_lock_in_the_same_process_is_refused_until_the_first_is_dropped() {
    let tmp = common::dir();
    let dir = PrivateDir::open(tmp.path()).unwrap();
    let lock = dir.lock().unwrap();
    let err = dir.lock().unwrap_err();
    assert_eq!(
        *err.kind(),
        ErrorKind::Locked {
            pid: Some(std::process::id())
        }
    );
    assert!(
        err.to_string().contains("locked by another writer"),
        "{err}"
    );
    assert_eq!(err.path(), lock.path());
    drop(lock);
    dir.lock().unwrap();
}

/// Item 7: two processes. The child takes the lock and waits; the parent
/// gets a clear error naming the child; when the child is killed (SIGKILL,
/// no cleanup) the kernel releases the lock and the parent can take it.
#[test]
fn another_process_holding_the_lock_is_reported_and_its_death_releases_it() {
    if common::child_role().as_deref() == Some("holder") {
        let dir = PrivateDir::open(common::child_arg()).unwrap();
        let _lock = dir.lock().unwrap();
        println!("locked");
        // Hold the lock until the parent closes our stdin or kills us.
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
        return;
    }

    let tmp = common::dir();
    let dir = PrivateDir::open(tmp.path()).unwrap();
    let mut guard = common::KillOnDrop(
        common::child(
            "lock::another_process_holding_the_lock_is_reported_and_its_death_releases_it",
            "holder",
            tmp.path(),
        )
        .spawn()
        .unwrap(),
    );
    let child_pid = guard.0.id();
    common::wait_for_line(&mut guard.0, "locked");

    let err = dir.lock().unwrap_err();
    assert_eq!(
        *err.kind(),
        ErrorKind::Locked {
            pid: Some(child_pid)
        }
    );
    assert!(
        err.to_string().contains(&format!("process {child_pid}")),
        "{err}"
    );

    guard.0.kill().unwrap();
    guard.0.wait().unwrap();
    let lock = dir.lock().unwrap();
    assert_eq!(
        std::fs::read_to_string(lock.path()).unwrap().trim(),
        std::process::id().to_string()
    );
}

/// Issue 10, item 1: the lock belongs to the process that took it. A child
/// made by a real `fork` inherits the `DirLock` and drops it; the parent
/// still holds the lock afterwards (its pid still recorded, a second
/// `lock()` still refused). Runs in a re-executed copy of this test binary
/// so that the fork happens in a process with no other test threads.
#[test]
fn a_forked_child_dropping_the_lock_does_not_release_it() {
    if common::child_role().as_deref() == Some("forker") {
        let dir = PrivateDir::open(common::child_arg()).unwrap();
        let lock = dir.lock().unwrap();
        let me = std::process::id();
        match fork::fork().unwrap() {
            fork::Fork::Child => {
                // The child's copy of the lock goes out of scope here.
                drop(lock);
                std::process::exit(0);
            }
            fork::Fork::Parent(pid) => {
                let status = fork::waitpid(pid).unwrap();
                assert!(fork::WIFEXITED(status) && fork::WEXITSTATUS(status) == 0);
            }
        }
        assert_eq!(
            std::fs::read_to_string(lock.path()).unwrap().trim(),
            me.to_string(),
            "the child emptied the lock file"
        );
        let err = dir.lock().unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::Locked { pid: Some(me) });
        // A separate process is kept out too.
        let other = std::process::Command::new("flock")
            .args(["--nonblock", "--exclusive"])
            .arg(lock.path())
            .arg("true")
            .status();
        if let Ok(status) = other {
            assert!(!status.success(), "another process took the lock");
        }
        drop(lock);
        dir.lock().unwrap();
        println!("fork-check-passed");
        return;
    }

    let tmp = common::dir();
    let mut guard = common::KillOnDrop(
        common::child(
            "lock::a_forked_child_dropping_the_lock_does_not_release_it",
            "forker",
            tmp.path(),
        )
        .spawn()
        .unwrap(),
    );
    common::wait_for_line(&mut guard.0, "fork-check-passed");
    assert!(guard.0.wait().unwrap().success());
}

/// The same for an atomic write in flight: a forked child dropping its copy
/// of the `AtomicFile` does not remove the parent's temporary file, and the
/// parent's commit succeeds.
#[test]
fn a_forked_child_dropping_an_atomic_file_leaves_the_parents_write_alone() {
    if common::child_role().as_deref() == Some("forker") {
        use std::io::Write;
        let dir = PrivateDir::open(common::child_arg()).unwrap();
        let mut w = dir.atomic_file("f").unwrap();
        w.write_all(b"from the parent").unwrap();
        match fork::fork().unwrap() {
            fork::Fork::Child => {
                drop(w);
                std::process::exit(0);
            }
            fork::Fork::Parent(pid) => {
                let status = fork::waitpid(pid).unwrap();
                assert!(fork::WIFEXITED(status) && fork::WEXITSTATUS(status) == 0);
            }
        }
        w.commit().unwrap();
        assert_eq!(dir.read("f").unwrap(), b"from the parent");
        println!("fork-check-passed");
        return;
    }

    let tmp = common::dir();
    let mut guard = common::KillOnDrop(
        common::child(
            "lock::a_forked_child_dropping_an_atomic_file_leaves_the_parents_write_alone",
            "forker",
            tmp.path(),
        )
        .spawn()
        .unwrap(),
    );
    common::wait_for_line(&mut guard.0, "fork-check-passed");
    assert!(guard.0.wait().unwrap().success());
}
