//! Items 2 and 3 of issue 10: header tampering is told from a wrong
//! passphrase wherever the evidence allows, and rollbacks are caught by an
//! anchor kept outside the keystore directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keystore_rotation::{
    BACKUP_FILE, Check, Error, FileAnchor, Invalid, KEYSTORE_FILE, KeyId, Keystore, Options,
    RollbackAnchor, RotationPolicy,
};
use sha2::{Digest, Sha256};

use crate::common::{self, PASS, PASS2, options};

fn fix_checksum(bytes: &mut [u8]) {
    let n = bytes.len() - 32;
    let sum = Sha256::digest(&bytes[..n]);
    bytes[n..].copy_from_slice(&sum);
}

/// Reads `name`, applies `edit`, recomputes the checksum, writes it back.
fn edit_file(path: &Path, name: &str, edit: impl Fn(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path.join(name)).unwrap();
    edit(&mut bytes);
    fix_checksum(&mut bytes);
    std::fs::write(path.join(name), &bytes).unwrap();
}

fn tampered(r: &Result<Keystore, Error>) -> Option<Check> {
    match r {
        Err(Error::Tampered { check, .. }) => Some(*check),
        _ => None,
    }
}

/// The header fields (keystore id, KDF algorithm and parameters, salt, KEK
/// wrap), each with an edit that keeps the file well formed.
type Edit = Box<dyn Fn(&mut Vec<u8>)>;

fn header_edits() -> Vec<(&'static str, Edit)> {
    vec![
        ("keystore id", Box::new(|b: &mut Vec<u8>| b[12] ^= 1)),
        ("KDF iterations", Box::new(|b: &mut Vec<u8>| b[54] ^= 1)),
        ("salt", Box::new(|b: &mut Vec<u8>| b[40] ^= 1)),
        ("KEK wrap nonce", Box::new(|b: &mut Vec<u8>| b[65] ^= 1)),
        ("KEK wrap", Box::new(|b: &mut Vec<u8>| b[90] ^= 1)),
        ("KEK wrap tag", Box::new(|b: &mut Vec<u8>| b[120] ^= 1)),
        (
            "KDF algorithm",
            Box::new(|b: &mut Vec<u8>| {
                // PBKDF2 (100 iterations) -> Argon2id m=100, t=0: refused by
                // Argon2 itself, so use t=1, p=1.
                b[34] = 2;
                b[55..59].copy_from_slice(&1u32.to_be_bytes());
                b[59..63].copy_from_slice(&1u32.to_be_bytes());
            }),
        ),
    ]
}

#[test]
fn a_header_edited_in_the_keystore_file_is_tampering_not_a_wrong_passphrase() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    ks.rotate().unwrap();
    drop(ks);
    let good = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    for (what, edit) in header_edits() {
        edit_file(&path, KEYSTORE_FILE, &edit);
        // The right passphrase fails on the keystore file but opens the
        // backup of the same generation: the header was edited.
        let r = Keystore::open(&path, PASS, &options());
        assert_eq!(tampered(&r), Some(Check::HeaderMismatch), "{what}: {r:?}");
        // A wrong passphrase opens neither: nothing to tell it apart.
        let r = Keystore::open(&path, PASS2, &options());
        assert!(matches!(r, Err(Error::WrongCredential)), "{what}: {r:?}");
        std::fs::write(path.join(KEYSTORE_FILE), &good).unwrap();
    }
    // Untouched, it opens, and the backup alone does not make a wrong
    // passphrase look like tampering.
    assert!(Keystore::open(&path, PASS, &options()).is_ok());
    assert!(matches!(
        Keystore::open(&path, PASS2, &options()),
        Err(Error::WrongCredential)
    ));
}

#[test]
fn a_kdf_below_the_floor_is_tampering_before_any_derivation() {
    let (_tmp, path) = common::dir();
    // Production parameters and the default floor.
    let ks = Keystore::create(&path, PASS, &Options::default()).unwrap();
    drop(ks);
    // Lowered to 1,000 iterations in both files (checksums recomputed).
    for name in [KEYSTORE_FILE, BACKUP_FILE] {
        edit_file(&path, name, |b| {
            b[51..55].copy_from_slice(&1_000u32.to_be_bytes());
        });
    }
    for cred in [PASS, PASS2] {
        let r = Keystore::open(&path, cred, &Options::default());
        assert_eq!(tampered(&r), Some(Check::KdfBelowFloor), "{r:?}");
    }
    // A keystore written with test parameters opens only below a lowered
    // floor.
    let (_t2, weak) = common::dir();
    drop(Keystore::create(&weak, PASS, &options()).unwrap());
    let r = Keystore::open(&weak, PASS, &Options::default());
    assert_eq!(tampered(&r), Some(Check::KdfBelowFloor), "{r:?}");
    assert!(Keystore::open(&weak, PASS, &options()).is_ok());
}

#[test]
fn an_update_interrupted_between_backup_and_keystore_file_is_a_recovery() {
    for rekey in [false, true] {
        let (_tmp, path) = common::dir();
        let ks = Keystore::create(&path, PASS, &options()).unwrap();
        let sealed = ks.encrypt(b"c", b"kept").unwrap();
        let before = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
        if rekey {
            ks.rekey(PASS2).unwrap();
        } else {
            ks.change_passphrase(b"another passphrase").unwrap();
        }
        let generation = ks.generation();
        drop(ks);
        // The crash: the backup holds the new generation, the keystore
        // file is still the old one.
        std::fs::write(path.join(KEYSTORE_FILE), &before).unwrap();
        // The old passphrase opens the old generation: the change did not
        // happen.
        let ks = Keystore::open(&path, PASS, &options()).unwrap();
        assert_eq!(ks.generation(), generation - 1);
        drop(ks);
        // The new one opens the backup, one generation ahead: a recovery,
        // not tampering; the keystore file is brought up to date.
        let ks = Keystore::open(&path, PASS2, &options()).unwrap();
        assert_eq!(ks.generation(), generation);
        assert_eq!(ks.decrypt(b"c", &sealed).unwrap(), b"kept");
        drop(ks);
        assert_eq!(
            std::fs::read(path.join(KEYSTORE_FILE)).unwrap(),
            std::fs::read(path.join(BACKUP_FILE)).unwrap()
        );
        assert!(matches!(
            Keystore::open(&path, PASS, &options()),
            Err(Error::WrongCredential)
        ));
    }
}

/// A private directory for anchors beside the keystore's, and an anchor in
/// it.
fn anchor(tmp: &Path) -> (PathBuf, Arc<FileAnchor>) {
    let dir = secure_fs::PrivateDir::create(tmp.join("anchors")).unwrap();
    let file = dir.path().join("keys.anchor");
    (file.clone(), Arc::new(FileAnchor::new(file)))
}

#[test]
fn a_restored_older_generation_with_an_anchor_is_rolled_back() {
    let (tmp, path) = common::dir();
    let (_, anchor) = anchor(tmp.path());
    let opts = options().rollback_anchor(anchor.clone());
    let ks = Keystore::create(&path, PASS, &opts).unwrap();
    let old_main = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    let old_backup = std::fs::read(path.join(BACKUP_FILE)).unwrap();
    ks.rotate().unwrap();
    ks.rotate().unwrap();
    ks.destroy(KeyId::new(1)).unwrap();
    assert_eq!(
        anchor.load().unwrap().unwrap().generation(),
        ks.generation()
    );
    let generation = ks.generation();
    drop(ks);
    // Both files put back from an old copy (which still holds key 1).
    std::fs::write(path.join(KEYSTORE_FILE), &old_main).unwrap();
    std::fs::write(path.join(BACKUP_FILE), &old_backup).unwrap();
    for r in [
        Keystore::open(&path, PASS, &opts),
        Keystore::restore_backup(&path, PASS, &opts),
    ] {
        match r {
            Err(Error::RolledBack { found: 1, expected }) => assert_eq!(expected, generation),
            other => panic!("expected a rollback, got {other:?}"),
        }
    }
    // Only the old copy as backup, the keystore file damaged: the restore
    // is refused too.
    std::fs::write(path.join(KEYSTORE_FILE), b"damaged").unwrap();
    assert!(matches!(
        Keystore::restore_backup(&path, PASS, &opts),
        Err(Error::RolledBack { .. })
    ));
}

#[test]
fn an_anchor_pins_the_header_so_an_edit_of_both_files_is_tampering() {
    let (tmp, path) = common::dir();
    let (_, anchor) = anchor(tmp.path());
    let opts = options().rollback_anchor(anchor);
    drop(Keystore::create(&path, PASS, &opts).unwrap());
    let good = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    for (what, edit) in header_edits() {
        for name in [KEYSTORE_FILE, BACKUP_FILE] {
            edit_file(&path, name, &edit);
        }
        for cred in [PASS, PASS2] {
            let r = Keystore::open(&path, cred, &opts);
            assert_eq!(tampered(&r), Some(Check::AnchorMismatch), "{what}: {r:?}");
        }
        // Without the anchor the edit can only look like a wrong
        // passphrase (FORMAT.md says which edits, and why).
        let r = Keystore::open(&path, PASS, &options());
        assert!(matches!(r, Err(Error::WrongCredential)), "{what}: {r:?}");
        std::fs::write(path.join(KEYSTORE_FILE), &good).unwrap();
        std::fs::write(path.join(BACKUP_FILE), &good).unwrap();
    }
    assert!(Keystore::open(&path, PASS, &opts).is_ok());
    // Another keystore (another id) in its place is refused as well.
    let (_t2, other) = common::dir();
    drop(Keystore::create(&other, PASS, &options()).unwrap());
    for name in [KEYSTORE_FILE, BACKUP_FILE] {
        std::fs::copy(other.join(name), path.join(name)).unwrap();
    }
    let r = Keystore::open(&path, PASS, &opts);
    assert_eq!(tampered(&r), Some(Check::AnchorMismatch), "{r:?}");
}

#[test]
fn the_anchor_follows_every_write_and_must_live_outside_the_keystore() {
    let (tmp, path) = common::dir();
    let (file, anchor) = anchor(tmp.path());
    let opts = options().rollback_anchor(anchor.clone());
    let ks = Keystore::create(&path, PASS, &opts).unwrap();
    ks.encrypt(b"c", b"m").unwrap();
    ks.rotate().unwrap();
    ks.change_passphrase(b"another passphrase").unwrap();
    ks.rekey(PASS2).unwrap();
    assert_eq!(
        anchor.load().unwrap().unwrap().generation(),
        ks.generation()
    );
    drop(ks);
    // An empty anchor is filled at the first open (trust on first use).
    std::fs::remove_file(&file).unwrap();
    let ks = Keystore::open(&path, PASS2, &opts).unwrap();
    assert_eq!(
        anchor.load().unwrap().unwrap().generation(),
        ks.generation()
    );
    drop(ks);
    let inside = options().rollback_anchor(Arc::new(FileAnchor::new(path.join("anchor"))));
    assert!(matches!(
        Keystore::open(&path, PASS2, &inside),
        Err(Error::InvalidArgument {
            reason: Invalid::AnchorInsideKeystore
        })
    ));
}

#[test]
fn counters_after_a_restore_never_reuse_a_nonce_budget() {
    let (_tmp, path) = common::dir();
    let policy = RotationPolicy::new(std::time::Duration::from_secs(3600), 1 << 20).unwrap();
    let opts = options().rotation_policy(policy);
    let ks = Keystore::create(&path, PASS, &opts).unwrap();
    ks.encrypt(b"c", b"m").unwrap();
    // An old copy whose counter reserves 4,096 messages...
    let old = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    // ...after which the primary encrypts 5,000 messages.
    for _ in 0..5_000 {
        ks.encrypt(b"c", b"m").unwrap();
    }
    let primary = ks.primary();
    drop(ks);
    // The old copy becomes the backup (no anchor to refuse it), the
    // keystore file is damaged, and the backup is restored.
    std::fs::write(path.join(BACKUP_FILE), &old).unwrap();
    std::fs::write(path.join(KEYSTORE_FILE), b"damaged").unwrap();
    let ks = Keystore::restore_backup(&path, PASS, &opts).unwrap();
    // The restored primary's whole budget counts as used: a fresh key
    // encrypts from here on, so no nonce of the first 5,001 messages can
    // come again under the same key.
    let sealed = ks.encrypt(b"c", b"m").unwrap();
    assert_ne!(
        keystore_rotation::envelope_key_id(&sealed).unwrap(),
        primary
    );
    let info = ks.keys();
    let old_info = info.iter().find(|k| k.id == primary).unwrap();
    assert!(old_info.messages >= 5_001, "{old_info:?}");
    drop(ks);
    // And so after a restart.
    let ks = Keystore::open(&path, PASS, &opts).unwrap();
    assert_ne!(ks.primary(), primary);
}

#[test]
fn a_creation_interrupted_before_the_backup_opens() {
    let (_tmp, path) = common::dir();
    drop(Keystore::create(&path, PASS, &options()).unwrap());
    // The crash: the keystore file was written, the backup not yet.
    std::fs::remove_file(path.join(BACKUP_FILE)).unwrap();
    let ks = Keystore::open(&path, PASS, &options()).unwrap();
    assert!(matches!(
        Keystore::open(&path, PASS2, &options()),
        Err(Error::Storage(_))
    ));
    ks.rotate().unwrap();
    drop(ks);
    assert_eq!(
        std::fs::read(path.join(KEYSTORE_FILE)).unwrap(),
        std::fs::read(path.join(BACKUP_FILE)).unwrap()
    );
    assert!(matches!(
        Keystore::open(&path, PASS2, &options()),
        Err(Error::WrongCredential)
    ));
}

#[test]
fn an_older_keystore_file_put_back_beside_the_current_backup_rolls_nothing_back() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    ks.rotate().unwrap();
    // An old copy of the keystore file: key 2 primary, nothing reserved.
    let old = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    let sealed = ks.encrypt(b"c", b"under key 2").unwrap();
    ks.rotate().unwrap();
    ks.destroy(KeyId::new(2)).unwrap();
    ks.set_min_decryption_version(KeyId::new(3)).unwrap();
    let generation = ks.generation();
    drop(ks);
    // No anchor; the old copy is put back, the backup is the current one.
    std::fs::write(path.join(KEYSTORE_FILE), &old).unwrap();
    let ks = Keystore::open(&path, PASS, &options()).unwrap();
    // The keystore continues from the backup: no lower counter, no
    // destroyed key back, no lower minimum.
    assert_eq!(ks.generation(), generation);
    assert_eq!(ks.primary(), KeyId::new(3));
    assert_eq!(ks.min_decryption_version(), KeyId::new(3));
    assert!(matches!(
        ks.decrypt(b"c", &sealed),
        Err(Error::KeyDestroyed { .. })
    ));
    drop(ks);
    assert_eq!(
        std::fs::read(path.join(KEYSTORE_FILE)).unwrap(),
        std::fs::read(path.join(BACKUP_FILE)).unwrap()
    );
}

#[test]
fn an_older_keystore_file_put_back_past_a_passphrase_change_is_rolled_back() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let sealed = ks.encrypt(b"c", b"under key 1").unwrap();
    ks.rotate().unwrap();
    let old = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    ks.change_passphrase(b"another passphrase").unwrap();
    ks.destroy(KeyId::new(1)).unwrap();
    let generation = ks.generation();
    drop(ks);
    // The old copy opens with the old passphrase; the backup, two
    // generations ahead, does not: the keystore file was rolled back
    // (an interrupted change leaves the backup exactly one ahead).
    std::fs::write(path.join(KEYSTORE_FILE), &old).unwrap();
    match Keystore::open(&path, PASS, &options()) {
        Err(Error::RolledBack { found, expected }) => {
            assert_eq!((found, expected), (generation - 2, generation));
        }
        Ok(ks) => panic!(
            "old copy opened; destroyed key readable: {}",
            ks.decrypt(b"c", &sealed).is_ok()
        ),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn restoring_a_backup_older_than_the_keystore_file_is_rolled_back() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let sealed = ks.encrypt(b"c", b"under key 1").unwrap();
    ks.rotate().unwrap();
    let old = std::fs::read(path.join(BACKUP_FILE)).unwrap();
    ks.destroy(KeyId::new(1)).unwrap();
    let generation = ks.generation();
    drop(ks);
    // No anchor; an old backup is put back while the keystore file is
    // intact: restoring it would bring the destroyed key back.
    std::fs::write(path.join(BACKUP_FILE), &old).unwrap();
    match Keystore::restore_backup(&path, PASS, &options()) {
        Err(Error::RolledBack { found, expected }) => {
            assert_eq!((found, expected), (generation - 1, generation));
        }
        Ok(ks) => panic!(
            "old backup restored; destroyed key readable: {}",
            ks.decrypt(b"c", &sealed).is_ok()
        ),
        Err(e) => panic!("{e}"),
    }
    // The keystore file still opens as it was.
    let ks = Keystore::open(&path, PASS, &options()).unwrap();
    assert_eq!(ks.generation(), generation);
}
