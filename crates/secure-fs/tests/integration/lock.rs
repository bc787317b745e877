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
