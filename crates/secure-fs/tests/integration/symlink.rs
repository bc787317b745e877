use std::io::Write;

use secure_fs::{Access, DeleteOptions, ErrorKind, PrivateDir};

use crate::common::{self, mode};

/// A symlink planted in a private directory, pointing at a file outside
/// the tree: every write and delete refuses it, and the target is untouched.
#[test]
fn writes_and_deletes_refuse_a_planted_symlink_and_leave_its_target_alone() {
    let tmp = common::dir();
    let outside = tmp.path().join("outside.txt");
    std::fs::write(&outside, b"precious").unwrap();
    common::set_mode(&outside, 0o644);
    let inner = tmp.path().join("private");
    let dir = PrivateDir::create(&inner).unwrap();
    std::os::unix::fs::symlink(&outside, inner.join("entry")).unwrap();

    let refusals = [
        (
            "write_atomic",
            dir.write_atomic("entry", b"overwritten").unwrap_err(),
        ),
        ("atomic_file", dir.atomic_file("entry").unwrap_err()),
        (
            "write_atomic_shredding",
            dir.write_atomic_shredding("entry", b"overwritten", &DeleteOptions::default())
                .unwrap_err(),
        ),
        (
            "open_file",
            dir.open_file("entry", Access::ReadWrite).unwrap_err(),
        ),
        (
            "create_file",
            dir.create_file("entry", Access::Append).unwrap_err(),
        ),
        ("read", dir.read("entry").unwrap_err()),
        ("remove_file", dir.remove_file("entry").unwrap_err()),
        (
            "secure_delete",
            dir.secure_delete("entry", &DeleteOptions::default())
                .unwrap_err(),
        ),
        (
            "rename_file from",
            dir.rename_file("entry", "other").unwrap_err(),
        ),
    ];
    for (op, err) in refusals {
        assert_eq!(*err.kind(), ErrorKind::Symlink, "{op}: {err}");
        assert_eq!(err.path(), inner.join("entry"), "{op}");
        assert!(err.to_string().contains("symbolic link"), "{op}: {err}");
    }
    // Renaming a file over the symlink is refused too.
    dir.write_atomic("real", b"r").unwrap();
    assert_eq!(
        *dir.rename_file("real", "entry").unwrap_err().kind(),
        ErrorKind::Symlink
    );
    // A dangling symlink is not replaced by an exclusive create.
    std::os::unix::fs::symlink(tmp.path().join("nowhere"), inner.join("dangling")).unwrap();
    assert_eq!(
        *dir.create_new_file("dangling").unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert!(!tmp.path().join("nowhere").exists());

    assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
    assert_eq!(mode(&outside), 0o644, "the target's mode was not changed");
    assert!(
        std::fs::symlink_metadata(inner.join("entry"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// A symlink swapped in for a file after an atomic write started does not
/// redirect the commit.
#[test]
fn a_symlink_swapped_in_during_an_atomic_write_is_refused_at_commit() {
    let tmp = common::dir();
    let outside = tmp.path().join("outside.txt");
    std::fs::write(&outside, b"precious").unwrap();
    let inner = tmp.path().join("private");
    let dir = PrivateDir::create(&inner).unwrap();
    dir.write_atomic("entry", b"v1").unwrap();
    let mut w = dir.atomic_file("entry").unwrap();
    w.write_all(b"v2").unwrap();
    std::fs::remove_file(inner.join("entry")).unwrap();
    std::os::unix::fs::symlink(&outside, inner.join("entry")).unwrap();
    assert_eq!(*w.commit().unwrap_err().kind(), ErrorKind::Symlink);
    assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
    assert_eq!(
        dir.entries().unwrap(),
        vec!["entry"],
        "the temporary file was cleaned up"
    );
}

/// Operations use the directory descriptor, not its path: replacing the
/// path with a symlink after opening does not redirect writes.
#[test]
fn swapping_the_directory_path_for_a_symlink_does_not_redirect_writes() {
    let tmp = common::dir();
    let inner = tmp.path().join("private");
    let dir = PrivateDir::create(&inner).unwrap();
    let moved = tmp.path().join("moved");
    std::fs::rename(&inner, &moved).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &inner).unwrap();
    dir.write_atomic("f", b"data").unwrap();
    assert_eq!(std::fs::read(moved.join("f")).unwrap(), b"data");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

/// Issue 10, item 9: a symlink in any component of the path, not only the
/// last, is refused by `open` and `create`, and nothing is created through
/// it.
#[test]
fn a_symlink_in_an_ancestor_is_refused() {
    let tmp = common::dir();
    let real = tmp.path().join("real");
    std::fs::create_dir_all(real.join("private")).unwrap();
    common::set_mode(&real, 0o700);
    common::set_mode(&real.join("private"), 0o700);
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();

    let err = PrivateDir::open(link.join("private")).unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::Symlink, "{err}");
    assert_eq!(err.path(), link, "the error names the symlink component");
    let err = PrivateDir::create(link.join("new/deeper")).unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::Symlink, "{err}");
    assert!(
        !real.join("new").exists(),
        "nothing was created through the link"
    );
    // A relative path is walked from the current directory: same verdict.
    let cwd = std::env::current_dir().unwrap();
    let mut relative = std::path::PathBuf::new();
    for _ in cwd.components().skip(1) {
        relative.push("..");
    }
    relative.push(link.join("private").strip_prefix("/").unwrap());
    assert!(relative.is_relative());
    assert_eq!(
        *PrivateDir::open(&relative).unwrap_err().kind(),
        ErrorKind::Symlink
    );
    // The real path works.
    PrivateDir::open(real.join("private")).unwrap();
}

/// Issue 10, item 9: an ancestor that another user could write to (group
/// or others may write, no sticky bit) is refused, naming the ancestor; a
/// sticky world-writable ancestor like /tmp is accepted.
#[test]
fn an_ancestor_writable_by_others_is_refused_unless_sticky() {
    let tmp = common::dir();
    let shared = tmp.path().join("shared");
    std::fs::create_dir_all(shared.join("private")).unwrap();
    common::set_mode(&shared.join("private"), 0o700);
    for m in [0o777, 0o775, 0o757] {
        common::set_mode(&shared, m);
        let err = PrivateDir::open(shared.join("private")).unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::InsecureMode { mode: m }, "{err}");
        assert_eq!(err.path(), shared);
        assert_eq!(
            *PrivateDir::create(shared.join("private/sub"))
                .unwrap_err()
                .kind(),
            ErrorKind::InsecureMode { mode: m }
        );
        assert!(!shared.join("private/sub").exists());
    }
    common::set_mode(&shared, 0o1777);
    PrivateDir::open(shared.join("private")).unwrap();
    PrivateDir::create(shared.join("private/sub")).unwrap();
}

/// Issue 10, item 9: an ancestor owned by another user (not root) is
/// refused. Creating one needs root; otherwise only the refusal of a
/// foreign-owned final directory is checked elsewhere.
#[test]
fn an_ancestor_owned_by_another_user_is_refused() {
    if !common::is_root() {
        return;
    }
    let tmp = common::dir();
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir_all(theirs.join("private")).unwrap();
    common::set_mode(&theirs, 0o755);
    common::set_mode(&theirs.join("private"), 0o700);
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let err = PrivateDir::open(theirs.join("private")).unwrap_err();
    assert_eq!(
        *err.kind(),
        ErrorKind::NotOwned {
            owner: 65534,
            expected: 0
        }
    );
    assert_eq!(err.path(), theirs);
}
