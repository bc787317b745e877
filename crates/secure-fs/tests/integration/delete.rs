use std::io::Read;
use std::os::unix::fs::MetadataExt;

use secure_fs::{DeleteOptions, ErrorKind, FileSystem, PrivateDir};

use crate::common;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from(i % 253).unwrap()).collect()
}

/// Item 4: through a second hard link made before deletion, the data is no
/// longer the original afterwards.
#[test]
fn secure_delete_destroys_the_data_seen_through_another_hard_link() {
    let tmp = common::dir();
    let dir = PrivateDir::create(tmp.path().join("private")).unwrap();
    // Several chunks and a partial one, so chunked streaming is exercised.
    let original = pattern(3 * 65536 + 1234);
    dir.write_atomic("secret", &original).unwrap();
    let link = tmp.path().join("second-link");
    std::fs::hard_link(tmp.path().join("private/secret"), &link).unwrap();

    // Keep a descriptor open on the data, as another reader would.
    let mut reader = std::fs::File::open(&link).unwrap();

    let options = DeleteOptions::new().chunk_size(65536);
    let report = dir.secure_delete("secret", &options).unwrap();
    assert_eq!(report.passes, 3);
    assert_eq!(report.bytes_per_pass, original.len() as u64);
    assert_eq!(report.other_links, 1);

    assert!(!dir.exists("secret").unwrap());
    let through_link = std::fs::read(&link).unwrap();
    assert_ne!(through_link, original);
    assert!(through_link.is_empty(), "the shared inode was truncated");
    let mut via_fd = Vec::new();
    reader.read_to_end(&mut via_fd).unwrap();
    assert!(via_fd.is_empty());
    assert_eq!(std::fs::metadata(&link).unwrap().nlink(), 1);
    // Nothing left in the directory, not even the temporary name.
    assert_eq!(
        std::fs::read_dir(tmp.path().join("private"))
            .unwrap()
            .count(),
        0
    );
}

/// With zero passes the file is still renamed, truncated and unlinked.
/// (That the passes overwrite every byte is a unit test in `delete.rs`.)
#[test]
fn zero_passes_only_unlinks_and_reports_it() {
    let tmp = common::dir();
    let dir = PrivateDir::create(tmp.path().join("private")).unwrap();
    dir.write_atomic("f", &pattern(10_000)).unwrap();
    let report = dir
        .secure_delete("f", &DeleteOptions::new().passes(0))
        .unwrap();
    assert_eq!(report.passes, 0);
    assert_eq!(report.bytes_per_pass, 10_000);
    assert!(!dir.exists("f").unwrap());
}

#[test]
fn empty_files_and_missing_files() {
    let tmp = common::dir();
    let dir = PrivateDir::open(tmp.path()).unwrap();
    dir.write_atomic("empty", b"").unwrap();
    let report = dir
        .secure_delete("empty", &DeleteOptions::default())
        .unwrap();
    assert_eq!(report.bytes_per_pass, 0);
    assert_eq!(report.other_links, 0);
    let err = dir
        .secure_delete("empty", &DeleteOptions::default())
        .unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::NotFound);
    std::fs::create_dir(tmp.path().join("d")).unwrap();
    assert_eq!(
        *dir.secure_delete("d", &DeleteOptions::default())
            .unwrap_err()
            .kind(),
        ErrorKind::NotAFile
    );
}

/// The file system is identified from the platform: /dev/shm is tmpfs on
/// Linux, where overwriting in place is not undermined by copy-on-write.
#[test]
#[cfg(target_os = "linux")]
fn the_file_system_is_detected_and_reported() {
    let shm = std::path::Path::new("/dev/shm");
    if let Ok(tmp) = tempfile::tempdir_in(shm) {
        let dir = PrivateDir::open(tmp.path()).unwrap();
        dir.write_atomic("f", b"abc").unwrap();
        let report = dir.secure_delete("f", &DeleteOptions::default()).unwrap();
        assert_eq!(report.filesystem, FileSystem::Tmpfs);
        assert!(report.overwrite_reliable());
    }
    // Whatever the temp dir is on, a btrfs/overlay/zfs verdict and the
    // reliability flag agree.
    let tmp = common::dir();
    let dir = PrivateDir::open(tmp.path()).unwrap();
    dir.write_atomic("f", b"abc").unwrap();
    let report = dir.secure_delete("f", &DeleteOptions::default()).unwrap();
    assert_eq!(
        report.overwrite_reliable(),
        !report.filesystem.overwrite_unreliable()
    );
    let cow = matches!(
        report.filesystem,
        FileSystem::Btrfs | FileSystem::Zfs | FileSystem::Overlay
    );
    assert_eq!(report.overwrite_reliable(), !cow);
}
