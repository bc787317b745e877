//! secure-fs: the file names every public `PrivateDir` operation takes
//! (its only input from outside besides file contents). A fuzzed name is
//! written, read, renamed to and removed inside a private directory.
//!
//! Properties: no panic; a name with a `/`, a NUL, `.`/`..` or empty, or
//! one reserved for secure-fs (`.lock`, `.secure-fs-tmp.*`,
//! `.secure-fs-del.*`, any ASCII case) is refused as `InvalidName` /
//! `Reserved` and nothing is created; a name that is accepted lands as
//! exactly one entry of that name inside the directory, reads back what was
//! written, and nothing appears outside the directory. Writes files: runs
//! in `$TMPDIR` (`cargo xtask fuzz` sets `/dev/shm`).
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use secure_fs::{ErrorKind, PrivateDir, PrivateNamer};

fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = std::env::temp_dir().join(format!("securefs-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&r);
        std::fs::create_dir_all(&r).expect("temp dir");
        r
    })
}

fn listing(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn must_refuse(name: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    name.is_empty()
        || name.contains(&b'/')
        || name.contains(&0)
        || name == b"."
        || name == b".."
        || lower == b".lock"
        || lower.starts_with(b".secure-fs-tmp.")
        || lower.starts_with(b".secure-fs-del.")
}

fuzz_target!(|data: &[u8]| {
    let name = Path::new(OsStr::from_bytes(data));
    let root = root();
    let dir_path = root.join("d");
    let _ = std::fs::remove_dir_all(&dir_path);
    let dir = PrivateDir::create(&dir_path).expect("private dir");
    let outside = listing(root);
    let written = dir.write_atomic(name, b"fuzz");
    if must_refuse(data) {
        let e = written.expect_err("a bad name was accepted");
        assert!(
            matches!(e.kind(), ErrorKind::InvalidName | ErrorKind::Reserved),
            "refused for another reason: {e}"
        );
        assert!(dir.entries().expect("listing").is_empty());
    } else if written.is_ok() {
        let entries = dir.entries().expect("listing");
        assert_eq!(entries, [name.as_os_str().to_owned()]);
        assert_eq!(dir.read(name).expect("read back"), b"fuzz");
        // Renaming to a private name and back keeps it inside.
        let private = PrivateNamer::new(&[7; 32]).name(data);
        dir.rename_file(name, &private)
            .expect("rename to a private name");
        dir.rename_file(&private, name).expect("rename back");
        dir.remove_file(name).expect("remove");
        assert!(dir.entries().expect("listing").is_empty());
    }
    assert_eq!(
        listing(root),
        outside,
        "something changed outside the directory"
    );
});
