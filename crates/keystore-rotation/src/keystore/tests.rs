#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use super::*;
use crate::error::{Check, Error};
use crate::file;
use crate::kdf::{Credential, KdfFloor, KdfKind};
use crate::secret::tests::with_failing_generator;

fn options() -> Options {
    Options::default()
        .kdf(Kdf::from_kind(KdfKind::Pbkdf2 { iterations: 10 }))
        .kdf_floor(KdfFloor::insecure_any())
}

fn copy(k: &KeyBytes) -> KeyBytes {
    KeyBytes::from_slice(k.expose()).unwrap()
}

#[test]
fn after_a_rekey_the_old_kek_opens_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let pass = Credential::Passphrase(b"old");
    let ks = Keystore::create(&dir, pass, &options()).unwrap();
    let sealed = ks.encrypt(b"c", b"kept").unwrap();
    ks.rotate().unwrap();
    ks.rotate().unwrap();
    ks.destroy(KeyId::new(2)).unwrap();
    let (old_kek, old_wrap_key, old_mac_key, id) = {
        let g = ks.lock_inner();
        (
            copy(&g.keys.kek),
            copy(&g.keys.wrap_key),
            copy(&g.keys.mac_key),
            g.file.keystore_id,
        )
    };
    ks.rekey(Credential::Passphrase(b"new")).unwrap();
    let g = ks.lock_inner();
    assert_ne!(g.keys.kek.expose(), old_kek.expose());
    let on_disk = ks.dir.read(KEYSTORE_FILE).unwrap();
    assert_eq!(on_disk, file::encode(&g.file, &g.keys.mac_key));
    assert_eq!(ks.dir.read(BACKUP_FILE).unwrap(), on_disk);
    // The old KEK's MAC key does not verify the new file; its wrap key
    // unwraps none of the data keys; the new ones do.
    assert!(!file::verify_mac(&old_mac_key, &on_disk));
    assert!(file::verify_mac(&g.keys.mac_key, &on_disk));
    let parsed = file::parse(&on_disk, Path::new("k")).unwrap();
    let mut live = 0;
    for v in &parsed.versions {
        if let Some(w) = &v.wrapped {
            live += 1;
            let ad = file::data_key_ad(&id, v.id, v.algorithm);
            assert!(file::unwrap(&old_wrap_key, &ad, w).is_none());
            let dk = file::unwrap(&g.keys.wrap_key, &ad, w).unwrap();
            assert_eq!(dk.expose(), g.material[&v.id].data_key.expose());
        }
    }
    assert_eq!(live, 2);
    drop(g);
    assert_eq!(&ks.decrypt(b"c", &sealed).unwrap()[..], b"kept");
}

/// Item 1: a failing OS generator is an error, never a panic, and nothing
/// is written.
#[test]
fn a_failing_generator_is_an_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let pass = Credential::Passphrase(b"pw");
    let r = with_failing_generator(|| Keystore::create(&dir, pass, &options()));
    assert!(matches!(r, Err(Error::Random(_))), "{r:?}");
    assert!(!dir.join(KEYSTORE_FILE).exists());
    let ks = Keystore::create(&dir, pass, &options()).unwrap();
    ks.encrypt(b"c", b"first").unwrap();
    let before = std::fs::read(dir.join(KEYSTORE_FILE)).unwrap();
    let generation = ks.generation();
    with_failing_generator(|| {
        assert!(matches!(ks.encrypt(b"c", b"m"), Err(Error::Random(_))));
        assert!(matches!(ks.rotate(), Err(Error::Random(_))));
        assert!(matches!(ks.change_passphrase(b"x"), Err(Error::Random(_))));
        assert!(matches!(ks.rekey(pass), Err(Error::Random(_))));
        assert!(matches!(
            crate::MasterKey::generate(),
            Err(Error::Random(_))
        ));
    });
    assert_eq!(ks.generation(), generation);
    assert_eq!(std::fs::read(dir.join(KEYSTORE_FILE)).unwrap(), before);
    assert_eq!(ks.primary(), KeyId::new(1));
}

/// Item 5: a creation time no `SystemTime` can hold, in a file with a valid
/// MAC, is refused as a malformed structure at open; `keys()` never panics.
#[test]
fn an_impossible_creation_time_is_refused_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let pass = Credential::Passphrase(b"pw");
    let ks = Keystore::create(&dir, pass, &options()).unwrap();
    let bytes = {
        let mut g = ks.lock_inner();
        g.file.versions[0].created = u64::MAX;
        // In memory, keys() copes even with the impossible value.
        drop(g);
        let infos = ks.keys();
        assert_eq!(infos.len(), 1);
        let g = ks.lock_inner();
        file::encode(&g.file, &g.keys.mac_key)
    };
    drop(ks);
    std::fs::write(dir.join(KEYSTORE_FILE), &bytes).unwrap();
    let r = Keystore::open(&dir, pass, &options());
    assert!(
        matches!(
            r,
            Err(Error::Tampered {
                check: Check::Structure,
                ..
            })
        ),
        "{r:?}"
    );
}
