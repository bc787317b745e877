//! Item 4 of issue 10: a destroy (and a rotation, a passphrase change, a
//! rekey) overwrites the replaced versions of the keystore file and its
//! backup before they are released, instead of leaving them in free blocks.
//!
//! A hard link made before the operation keeps the old inode reachable, as
//! a disk image keeps its blocks: after the operation nothing of the old
//! content may be read from it.

use std::path::{Path, PathBuf};

use keystore_rotation::{BACKUP_FILE, KEYSTORE_FILE, KeyId, Keystore};

use crate::common::{self, PASS, PASS2, options};

/// Hard links to the current keystore file and backup, outside the
/// keystore directory.
fn link_old_inodes(path: &Path, tag: &str) -> Vec<PathBuf> {
    [KEYSTORE_FILE, BACKUP_FILE]
        .iter()
        .map(|name| {
            let link = path.parent().unwrap().join(format!("{tag}-{name}"));
            std::fs::hard_link(path.join(name), &link).unwrap();
            link
        })
        .collect()
}

/// Asserts that `needle` (taken from the old content) is nowhere in what
/// the old inodes still hold.
fn assert_gone(links: &[PathBuf], needle: &[u8], what: &str) {
    for link in links {
        let left = std::fs::read(link).unwrap();
        assert!(
            !left.windows(needle.len()).any(|w| w == needle),
            "{what}: {} still holds the old bytes ({} bytes left)",
            link.display(),
            left.len()
        );
    }
}

#[test]
fn destroy_overwrites_the_old_keystore_and_backup_inodes() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let old = ks.encrypt(b"c", b"old").unwrap();
    ks.rotate().unwrap();
    let file = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    // Version 1's wrapped data key: the 60 bytes after its 22-byte record.
    let wrap = file[131 + 22..131 + 82].to_vec();
    let links = link_old_inodes(&path, "destroy");
    for link in &links {
        let held = std::fs::read(link).unwrap();
        assert!(held.windows(60).any(|w| w == wrap.as_slice()));
    }
    ks.destroy(KeyId::new(1)).unwrap();
    assert_gone(&links, &wrap, "destroy");
    assert!(ks.decrypt(b"c", &old).is_err());
}

#[test]
fn rotate_passphrase_change_and_rekey_overwrite_the_versions_they_replace() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    // Each operation replaces both files; the old KEK wrap (bytes 63..123)
    // or the whole old file must be gone from the old inodes.
    type Step<'a> = (&'a str, &'a dyn Fn(&Keystore));
    let steps: [Step<'_>; 3] = [
        ("rotate", &|ks| {
            ks.rotate().unwrap();
        }),
        ("passphrase change", &|ks| {
            ks.change_passphrase(b"another passphrase").unwrap();
        }),
        ("rekey", &|ks| ks.rekey(PASS2).unwrap()),
    ];
    for (what, step) in steps {
        let before = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
        let links = link_old_inodes(&path, what);
        step(&ks);
        // The trailing MAC and checksum are unique to the old version.
        assert_gone(&links, &before[before.len() - 64..], what);
        if what != "rotate" {
            assert_gone(&links, &before[63..123], what);
        }
    }
}
