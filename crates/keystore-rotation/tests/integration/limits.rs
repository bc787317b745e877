//! Item 5 of issue 10: the smaller defects.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use keystore_rotation::{
    BACKUP_FILE, Error, Format, Invalid, KEYSTORE_FILE, KeyId, Keystore, Malformed, MasterKey,
    Plaintext, RotationPolicy, Zeroizing,
};

use crate::common::{self, PASS, options};

#[test]
fn two_concurrent_master_key_inits_never_replace_each_other() {
    let (tmp, _) = common::dir();
    for round in 0..30 {
        let path = tmp.path().join(format!("master-{round}.key"));
        let barrier = Arc::new(Barrier::new(2));
        let results: Vec<_> = (0..2)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let key = MasterKey::generate().unwrap();
                    barrier.wait();
                    let r = key.write_new_file(&path);
                    (key, r)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let ok: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).collect();
        assert_eq!(ok.len(), 1, "round {round}: both inits succeeded");
        assert!(
            results
                .iter()
                .any(|(_, r)| matches!(r, Err(Error::AlreadyExists { .. }))),
            "round {round}"
        );
        // The file holds the key of the init that succeeded.
        let stored = MasterKey::read_file(&path).unwrap();
        assert!(bool::from(subtle::ConstantTimeEq::ct_eq(&stored, &ok[0].0)));
    }
}

#[test]
fn oversized_keystore_and_master_key_files_are_refused_unread() {
    let (tmp, path) = common::dir();
    drop(Keystore::create(&path, PASS, &options()).unwrap());
    // Sparse files: large to read, nothing on disk.
    for name in [KEYSTORE_FILE, BACKUP_FILE] {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path.join(name))
            .unwrap();
        f.set_len(256 << 20).unwrap();
    }
    for r in [
        Keystore::open(&path, PASS, &options()),
        Keystore::restore_backup(&path, PASS, &options()),
    ] {
        assert!(
            matches!(
                r,
                Err(Error::Malformed {
                    format: Format::KeystoreFile,
                    reason: Malformed::TooLarge
                })
            ),
            "{r:?}"
        );
    }
    let key = tmp.path().join("master.key");
    MasterKey::generate().unwrap().write_new_file(&key).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&key).unwrap();
    f.set_len(64 << 20).unwrap();
    assert!(matches!(
        MasterKey::read_file(&key),
        Err(Error::Malformed {
            format: Format::MasterKeyFile,
            reason: Malformed::TooLarge
        })
    ));
}

#[test]
fn decrypt_returns_a_buffer_wiped_on_drop() {
    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let sealed = ks.encrypt(b"c", b"secret").unwrap();
    let plain: Plaintext = ks.decrypt(b"c", &sealed).unwrap();
    wiped_on_drop(&plain);
    assert_eq!(plain, b"secret");
    assert_eq!(format!("{plain:?}"), "Plaintext { len: 6, .. }");
    let z: Zeroizing<Vec<u8>> = plain.into_zeroizing();
    assert_eq!(*z, b"secret");
}

#[test]
fn subkey_budgets_count_against_the_message_counter() {
    let (_tmp, path) = common::dir();
    let policy = RotationPolicy::new(Duration::from_secs(3600), 10).unwrap();
    let opts = options().rotation_policy(policy);
    let ks = Keystore::create(&path, PASS, &opts).unwrap();
    let sub = ks.subkey("audit-encryption", 8).unwrap();
    assert_eq!((sub.key_id(), sub.budget()), (KeyId::new(1), 8));
    assert_eq!(ks.keys()[0].messages, 8);
    // 8 + 2 messages fill key 1's budget; the next one rotates.
    ks.encrypt(b"c", b"m").unwrap();
    ks.encrypt(b"c", b"m").unwrap();
    assert_eq!(ks.primary(), KeyId::new(1));
    ks.encrypt(b"c", b"m").unwrap();
    assert_eq!(ks.primary(), KeyId::new(2));
    // A budget that does not fit in what is left rotates first.
    let sub = ks.subkey("audit-encryption", 10).unwrap();
    assert_eq!(sub.key_id(), KeyId::new(3));
    assert!(matches!(
        ks.subkey("x", 11),
        Err(Error::InvalidArgument {
            reason: Invalid::SubkeyBudget
        })
    ));
    assert!(matches!(
        ks.subkey("x", 0),
        Err(Error::InvalidArgument {
            reason: Invalid::SubkeyBudget
        })
    ));
    // The reservation is persisted: a restart does not forget it.
    drop(ks);
    let ks = Keystore::open(&path, PASS, &opts).unwrap();
    assert!(ks.rotation_due());
    // Reading an old sub-key again reserves nothing.
    let again = ks.subkey_for("audit-encryption", KeyId::new(1)).unwrap();
    assert_eq!(again.budget(), 0);
}
