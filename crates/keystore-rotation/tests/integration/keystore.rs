use std::sync::Arc;
use std::time::Duration;

use keystore_rotation::{
    Algorithm, BACKUP_FILE, COUNTER_BLOCK, Check, Credential, Error, KEYSTORE_FILE, Kdf, KeyId,
    KeyState, Keystore, MasterKey, Options, RotationPolicy, StorageKind, envelope_key_id,
};
use sha2::{Digest, Sha256};

use crate::common::{self, ManualClock, PASS, PASS2, mode, options};

/// Recomputes the trailing SHA-256, as an attacker who edits the file would.
fn fix_checksum(bytes: &mut [u8]) {
    let n = bytes.len() - 32;
    let sum = Sha256::digest(&bytes[..n]);
    bytes[n..].copy_from_slice(&sum);
}

fn open(path: &std::path::Path) -> Result<Keystore, Error> {
    Keystore::open(path, PASS, &options())
}

#[test]
fn create_open_round_trip_with_private_files() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let sealed = ks.encrypt(b"ctx", b"secret").unwrap();
    assert_eq!(ks.generation(), 2, "creation, then one counter reservation");
    assert_eq!(ks.primary(), KeyId::new(1));
    drop(ks);
    assert_eq!(mode(&path), 0o700);
    assert_eq!(mode(&path.join(KEYSTORE_FILE)), 0o600);
    assert_eq!(mode(&path.join(BACKUP_FILE)), 0o600);
    let ks = open(&path).unwrap();
    assert_eq!(ks.decrypt(b"ctx", &sealed).unwrap(), b"secret");
    assert!(matches!(
        Keystore::create(&path, PASS, &options()),
        Err(Error::Storage(_) | Error::AlreadyExists { .. })
    ));
    drop(ks);
    assert!(matches!(
        Keystore::create(&path, PASS, &options()),
        Err(Error::AlreadyExists { .. })
    ));
    let (_t2, missing) = common::dir();
    assert!(matches!(open(&missing), Err(Error::NotFound { .. })));
}

#[test]
fn default_kdf_is_pbkdf2_with_600000_iterations_in_the_file() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &Options::default()).unwrap();
    assert_eq!(ks.kdf().pbkdf2_iterations(), Some(600_000));
    drop(ks);
    let bytes = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    assert_eq!(bytes[34], 1, "PBKDF2-HMAC-SHA256");
    assert_eq!(
        u32::from_be_bytes(bytes[51..55].try_into().unwrap()),
        600_000
    );
}

#[test]
fn a_second_process_or_handle_is_locked_out() {
    let (_tmp, path) = common::dir();
    let _ks = Keystore::create(&path, PASS, &options()).unwrap();
    match open(&path) {
        Err(Error::Storage(e)) => assert!(matches!(e.kind(), StorageKind::Locked { .. })),
        other => panic!("expected a lock error, got {other:?}"),
    }
}

#[test]
fn wrong_passphrase_is_not_tampering_and_tampering_is_not_a_wrong_passphrase() {
    let (_tmp, path) = common::dir();
    drop(Keystore::create(&path, PASS, &options()).unwrap());
    assert!(matches!(
        Keystore::open(&path, PASS2, &options()),
        Err(Error::WrongCredential)
    ));
    let file = path.join(KEYSTORE_FILE);
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 70;
    bytes[last] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    // With the right passphrase or a wrong one: the file is damaged.
    for cred in [PASS, PASS2] {
        match Keystore::open(&path, cred, &options()) {
            Err(Error::Tampered { check, .. }) => assert_eq!(check, Check::Checksum),
            other => panic!("expected Tampered, got {other:?}"),
        }
    }
    fix_checksum(&mut bytes);
    std::fs::write(&file, &bytes).unwrap();
    match open(&path) {
        Err(Error::Tampered { check, .. }) => assert_eq!(check, Check::Mac),
        other => panic!("expected Tampered, got {other:?}"),
    }
}

/// A keystore with versions 1 (destroyed), 2 (decrypt-only), 3 (primary).
fn three_versions(path: &std::path::Path) -> Vec<u8> {
    let ks = Keystore::create(path, PASS, &options()).unwrap();
    ks.rotate().unwrap();
    ks.rotate().unwrap();
    ks.destroy(KeyId::new(1)).unwrap();
    drop(ks);
    std::fs::read(path.join(KEYSTORE_FILE)).unwrap()
}

type Edit = Box<dyn Fn(&mut Vec<u8>)>;

#[test]
fn editing_any_field_is_detected_even_with_a_recomputed_checksum() {
    let (_tmp, path) = common::dir();
    let good = three_versions(&path);
    let file = path.join(KEYSTORE_FILE);
    let v1 = 131; // version 1: destroyed, 22 bytes
    let v2 = v1 + 22; // version 2: decrypt-only, 82 bytes
    let v3 = v2 + 82; // version 3: primary
    let edits: Vec<(&str, Edit)> = vec![
        ("generation", Box::new(|b| b[33] ^= 1)),
        ("min decryption version", Box::new(|b| b[126] = 2)),
        (
            "state of version 2 (decrypt-only made destroyed)",
            Box::new(move |b| {
                // Turn version 2 into a destroyed version: drop its wrap.
                b[v2 + 5] = 3;
                b.drain(v2 + 22..v2 + 82);
            }),
        ),
        ("created time", Box::new(move |b| b[v3 + 13] ^= 0x40)),
        ("message counter", Box::new(move |b| b[v3 + 14] ^= 1)),
        ("algorithm of a version", Box::new(move |b| b[v2 + 4] = 2)),
        (
            "dropped version",
            Box::new(move |b| {
                b.drain(v2..v2 + 82);
                b[130] -= 1;
            }),
        ),
        (
            "added version",
            Box::new(move |b| {
                let mut extra = b[v2..v2 + 82].to_vec();
                extra[3] = 4;
                extra[5] = 2;
                let end = b.len() - 64;
                b.splice(end..end, extra);
                b[130] += 1;
            }),
        ),
        ("wrapped data key", Box::new(move |b| b[v2 + 40] ^= 1)),
    ];
    for (what, edit) in &edits {
        let mut bytes = good.clone();
        edit(&mut bytes);
        // Without recomputing the checksum: caught before the KDF runs.
        std::fs::write(&file, &bytes).unwrap();
        assert!(
            matches!(
                open(&path),
                Err(Error::Tampered {
                    check: Check::Checksum,
                    ..
                })
            ),
            "{what}: not caught by the checksum"
        );
        // With a recomputed checksum: caught by the structure or the MAC.
        fix_checksum(&mut bytes);
        std::fs::write(&file, &bytes).unwrap();
        match open(&path) {
            Err(Error::Tampered { check, .. }) => {
                assert!(
                    [Check::Mac, Check::Structure].contains(&check),
                    "{what}: {check}"
                );
            }
            other => panic!("{what}: expected Tampered, got {other:?}"),
        }
    }
    // KDF parameters: an edit is tampering. With a recomputed checksum the
    // backup, which the passphrase still opens, gives it away; edited in
    // both files it cannot be told from a wrong passphrase without a
    // rollback anchor (documented), but is refused.
    let mut bytes = good.clone();
    bytes[54] ^= 1; // PBKDF2 iterations
    std::fs::write(&file, &bytes).unwrap();
    assert!(matches!(
        open(&path),
        Err(Error::Tampered {
            check: Check::Checksum,
            ..
        })
    ));
    fix_checksum(&mut bytes);
    std::fs::write(&file, &bytes).unwrap();
    let r = open(&path);
    assert!(
        matches!(
            r,
            Err(Error::Tampered {
                check: Check::HeaderMismatch,
                ..
            })
        ),
        "{r:?}"
    );
    std::fs::write(path.join(BACKUP_FILE), &bytes).unwrap();
    assert!(matches!(open(&path), Err(Error::WrongCredential)));
    // The untouched file still opens.
    std::fs::write(&file, &good).unwrap();
    std::fs::write(path.join(BACKUP_FILE), &good).unwrap();
    let ks = open(&path).unwrap();
    assert_eq!(ks.primary(), KeyId::new(3));
}

#[test]
fn truncations_and_unknown_versions_are_typed_errors() {
    let (_tmp, path) = common::dir();
    let good = three_versions(&path);
    let file = path.join(KEYSTORE_FILE);
    for len in [0, 5, 9, 10, 100, 194, good.len() - 1] {
        std::fs::write(&file, &good[..len]).unwrap();
        match open(&path) {
            Err(Error::Malformed { .. } | Error::Tampered { .. }) => {}
            other => panic!("length {len}: {other:?}"),
        }
    }
    let mut future = good;
    future[9] = 2;
    std::fs::write(&file, &future).unwrap();
    assert!(matches!(
        open(&path),
        Err(Error::UnsupportedVersion { version: 2, .. })
    ));
}

#[test]
fn an_older_generation_put_back_is_a_rollback() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let old = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    ks.rotate().unwrap();
    let generation = ks.generation();
    assert_eq!(generation, 2);
    drop(ks);
    // An old copy (generation 1) put back in place of both files.
    let current = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    std::fs::write(path.join(KEYSTORE_FILE), &old).unwrap();
    std::fs::write(path.join(BACKUP_FILE), &old).unwrap();
    match Keystore::open(&path, PASS, &options().expect_generation(generation)) {
        Err(Error::RolledBack {
            found: 1,
            expected: 2,
        }) => {}
        other => panic!("expected a rollback, got {other:?}"),
    }
    // A caller that knows no generation (and has no anchor) can still open
    // it: a valid, encrypted keystore of an older generation.
    let ks = open(&path).unwrap();
    assert_eq!(ks.primary(), KeyId::new(1));
    drop(ks);
    std::fs::write(path.join(KEYSTORE_FILE), &current).unwrap();
    let ks = Keystore::open(&path, PASS, &options().expect_generation(generation)).unwrap();
    assert_eq!(ks.generation(), 2);
}

#[test]
fn backups_are_encrypted_and_hold_the_current_generation() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let first = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    assert_eq!(std::fs::read(path.join(BACKUP_FILE)).unwrap(), first);
    ks.rotate().unwrap();
    let second = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    assert_ne!(second, first);
    assert_eq!(std::fs::read(path.join(BACKUP_FILE)).unwrap(), second);
    let sub = ks.subkey_for("probe", KeyId::new(1)).unwrap();
    drop(ks);
    // Neither file contains a key in the clear (a sub-key stands in for
    // key material we can see from outside), nor the passphrase.
    for name in [KEYSTORE_FILE, BACKUP_FILE] {
        let bytes = std::fs::read(path.join(name)).unwrap();
        assert!(!bytes.windows(8).any(|w| w == &sub.expose_secret()[..8]));
        assert!(!bytes.windows(7).any(|w| w == b"correct"));
    }
}

#[test]
fn passphrase_change_rewraps_only_the_kek_and_old_passphrase_opens_nothing() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    ks.rotate().unwrap();
    let data: Vec<Vec<u8>> = (0..20)
        .map(|i| ks.encrypt(format!("e{i}").as_bytes(), b"data").unwrap())
        .collect();
    let data_dir = path.parent().unwrap().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    for (i, d) in data.iter().enumerate() {
        std::fs::write(data_dir.join(i.to_string()), d).unwrap();
    }
    let before = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    ks.change_passphrase(b"another passphrase").unwrap();
    drop(ks);
    let after = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    // Salt and KEK wrap changed; every key version is byte-identical.
    assert_ne!(before[35..123], after[35..123]);
    assert_eq!(before[123..before.len() - 64], after[123..after.len() - 64]);
    // Data files were not touched and still decrypt.
    let ks = Keystore::open(&path, PASS2, &options()).unwrap();
    for (i, d) in data.iter().enumerate() {
        assert_eq!(&std::fs::read(data_dir.join(i.to_string())).unwrap(), d);
        assert_eq!(ks.decrypt(format!("e{i}").as_bytes(), d).unwrap(), b"data");
    }
    drop(ks);
    assert!(matches!(open(&path), Err(Error::WrongCredential)));
    // The backup was replaced too: the old passphrase opens nothing on disk.
    assert_eq!(std::fs::read(path.join(BACKUP_FILE)).unwrap(), after);
}

#[test]
fn rekey_replaces_the_kek_so_an_old_file_and_passphrase_open_nothing_new() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let v1 = ks.encrypt(b"e1", b"one").unwrap();
    ks.rotate().unwrap();
    let v2 = ks.encrypt(b"e2", b"two").unwrap();
    ks.rotate().unwrap();
    let v3 = ks.encrypt(b"e3", b"three").unwrap();
    ks.destroy(KeyId::new(2)).unwrap();
    let sub = ks.subkey_for("audit-mac", KeyId::new(3)).unwrap();
    // What an attacker kept: this file and the passphrase.
    let leaked = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    let generation = ks.generation();
    ks.rekey(PASS2).unwrap();
    assert_eq!(ks.generation(), generation + 1);
    let after = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    // The backup was replaced too: no file on disk holds the old KEK.
    assert_eq!(std::fs::read(path.join(BACKUP_FILE)).unwrap(), after);
    assert_eq!(leaked.len(), after.len());
    // Salt and KEK wrap changed, and so did every live data key's wrap
    // (versions 1 and 3; version 2 is destroyed: 131 + 82 + 22).
    assert_ne!(leaked[35..123], after[35..123]);
    for at in [131 + 22, 131 + 82 + 22 + 22] {
        assert_ne!(leaked[at..at + 60], after[at..at + 60], "wrap at {at}");
        assert!(!after.windows(60).any(|w| w == &leaked[at..at + 60]));
    }
    // Everything still decrypts, with the same keys (data untouched).
    assert_eq!(ks.decrypt(b"e1", &v1).unwrap(), b"one");
    assert!(matches!(
        ks.decrypt(b"e2", &v2),
        Err(Error::KeyDestroyed { .. })
    ));
    assert_eq!(ks.decrypt(b"e3", &v3).unwrap(), b"three");
    assert_eq!(
        ks.subkey_for("audit-mac", KeyId::new(3))
            .unwrap()
            .expose_secret(),
        sub.expose_secret()
    );
    drop(ks);
    assert!(matches!(open(&path), Err(Error::WrongCredential)));
    // The old KEK block (which the leaked passphrase unwraps) spliced into
    // the new file: the old KEK's MAC key does not verify the new file.
    let mut spliced = after.clone();
    spliced[34..123].copy_from_slice(&leaked[34..123]);
    fix_checksum(&mut spliced);
    std::fs::write(path.join(KEYSTORE_FILE), &spliced).unwrap();
    match open(&path) {
        Err(Error::Tampered { check, .. }) => assert_eq!(check, Check::Mac),
        other => panic!("expected Tampered, got {other:?}"),
    }
    // The leaked file itself is an older generation: a rollback.
    std::fs::write(path.join(KEYSTORE_FILE), &leaked).unwrap();
    assert!(matches!(
        Keystore::open(&path, PASS, &options().expect_generation(generation + 1)),
        Err(Error::RolledBack { .. })
    ));
    std::fs::write(path.join(KEYSTORE_FILE), &after).unwrap();
    let ks = Keystore::open(&path, PASS2, &options()).unwrap();
    assert_eq!(ks.decrypt(b"e1", &v1).unwrap(), b"one");
    assert_eq!(ks.decrypt(b"e3", &v3).unwrap(), b"three");
    // Rekeying with the current passphrase keeps it and still changes
    // every wrap.
    ks.rekey(PASS2).unwrap();
    drop(ks);
    let again = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    assert_ne!(again[131 + 22..131 + 82], after[131 + 22..131 + 82]);
    let ks = Keystore::open(&path, PASS2, &options()).unwrap();
    assert_eq!(ks.decrypt(b"e1", &v1).unwrap(), b"one");
}

#[test]
fn weaker_kdf_is_upgraded_at_unlock_without_touching_keys() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let sealed = ks.encrypt(b"c", b"p").unwrap();
    drop(ks);
    let before = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    let stronger = options().kdf(Kdf::insecure_pbkdf2_sha256(250).unwrap());
    let ks = Keystore::open(&path, PASS, &stronger).unwrap();
    assert_eq!(ks.kdf().pbkdf2_iterations(), Some(250));
    assert_eq!(ks.decrypt(b"c", &sealed).unwrap(), b"p");
    drop(ks);
    let after = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    assert_eq!(before[123..before.len() - 64], after[123..after.len() - 64]);
    assert_eq!(u32::from_be_bytes(after[51..55].try_into().unwrap()), 250);
    // Opening with the weaker target again does not downgrade.
    let ks = open(&path).unwrap();
    assert_eq!(ks.kdf().pbkdf2_iterations(), Some(250));
    drop(ks);
    // PBKDF2 -> Argon2id.
    let argon = options().kdf(Kdf::insecure_argon2id(64, 1, 1).unwrap());
    let ks = Keystore::open(&path, PASS, &argon).unwrap();
    assert_eq!(ks.kdf().argon2id_costs(), Some((64, 1, 1)));
    drop(ks);
    let ks = Keystore::open(&path, PASS, &argon).unwrap();
    assert_eq!(ks.decrypt(b"c", &sealed).unwrap(), b"p");
    // Argon2id is not "upgraded" back to PBKDF2.
    drop(ks);
    let ks = open(&path).unwrap();
    assert!(ks.kdf().argon2id_costs().is_some());
    drop(ks);
    // More passes but less memory is no upgrade: the memory cost never
    // goes down, and two option sets cannot flip the file back and forth.
    let stored = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    let fewer_kib = options().kdf(Kdf::insecure_argon2id(32, 2, 1).unwrap());
    for _ in 0..2 {
        for opts in [&fewer_kib, &argon] {
            let ks = Keystore::open(&path, PASS, opts).unwrap();
            assert_eq!(ks.kdf().argon2id_costs(), Some((64, 1, 1)));
            drop(ks);
        }
    }
    assert_eq!(std::fs::read(path.join(KEYSTORE_FILE)).unwrap(), stored);
    // More of one cost and no less of the others is an upgrade.
    let more = options().kdf(Kdf::insecure_argon2id(64, 2, 1).unwrap());
    let ks = Keystore::open(&path, PASS, &more).unwrap();
    assert_eq!(ks.kdf().argon2id_costs(), Some((64, 2, 1)));
    assert_eq!(ks.decrypt(b"c", &sealed).unwrap(), b"p");
}

#[test]
fn kdf_parameters_over_the_caps_are_refused_before_the_kdf_runs() {
    let (_tmp, path) = common::dir();
    drop(Keystore::create(&path, PASS, &options()).unwrap());
    let file = path.join(KEYSTORE_FILE);
    let good = std::fs::read(&file).unwrap();
    let edit = |alg: u8, p1: u32, p2: u32, p3: u32| {
        let mut b = good.clone();
        b[34] = alg;
        b[51..55].copy_from_slice(&p1.to_be_bytes());
        b[55..59].copy_from_slice(&p2.to_be_bytes());
        b[59..63].copy_from_slice(&p3.to_be_bytes());
        fix_checksum(&mut b);
        b
    };
    // PBKDF2 with billions of iterations; Argon2id with 4 GiB and 64
    // passes; Argon2id that is cheap to run but over the pass cap (so a
    // KDF run would end in WrongCredential, not in this error).
    for bytes in [
        edit(1, u32::MAX, 0, 0),
        edit(1, 10_000_001, 0, 0),
        edit(2, 4 * 1024 * 1024, 64, 1),
        edit(2, 1024 * 1024, 16, 8),
        edit(2, 64, 9, 1),
        edit(2, 64, 2, 5),
    ] {
        std::fs::write(&file, &bytes).unwrap();
        for cred in [PASS, PASS2] {
            match Keystore::open(&path, cred, &options()) {
                Err(e @ Error::Tampered { check, .. }) => {
                    assert_eq!(check, Check::KdfParameters);
                    assert!(e.to_string().contains("KDF parameter caps"));
                }
                other => panic!("expected Tampered, got {other:?}"),
            }
        }
    }
    std::fs::write(&file, &good).unwrap();
    assert!(open(&path).is_ok());
}

#[test]
fn argon2id_with_recommended_costs() {
    let (_tmp, path) = common::dir();
    let opts = Options::default().kdf(Kdf::argon2id());
    let ks = Keystore::create(&path, PASS, &opts).unwrap();
    let sealed = ks.encrypt(b"c", b"p").unwrap();
    drop(ks);
    let bytes = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    assert_eq!(bytes[34], 2);
    assert_eq!(
        u32::from_be_bytes(bytes[51..55].try_into().unwrap()),
        19_456
    );
    let ks = Keystore::open(&path, PASS, &opts).unwrap();
    assert_eq!(ks.decrypt(b"c", &sealed).unwrap(), b"p");
    drop(ks);
    assert!(matches!(
        Keystore::open(&path, PASS2, &opts),
        Err(Error::WrongCredential)
    ));
}

#[test]
fn master_key_file_mode() {
    let (tmp, path) = common::dir();
    let key_path = tmp.path().join("master.key");
    let mk = MasterKey::generate().unwrap();
    mk.write_new_file(&key_path).unwrap();
    assert_eq!(mode(&key_path), 0o600);
    assert!(matches!(
        mk.write_new_file(&key_path),
        Err(Error::AlreadyExists { .. })
    ));
    let ks = Keystore::create(&path, Credential::MasterKey(&mk), &options()).unwrap();
    assert!(ks.kdf().is_master_key());
    let sealed = ks.encrypt(b"c", b"p").unwrap();
    drop(ks);
    let read = MasterKey::read_file(&key_path).unwrap();
    assert!(bool::from(subtle::ConstantTimeEq::ct_eq(&read, &mk)));
    let ks = Keystore::open(&path, Credential::MasterKey(&read), &options()).unwrap();
    assert_eq!(ks.decrypt(b"c", &sealed).unwrap(), b"p");
    assert!(
        ks.kdf().is_master_key(),
        "a master key is never 'upgraded' to a KDF"
    );
    // Switch to a passphrase, then back to a new master key.
    ks.change_credential(PASS).unwrap();
    drop(ks);
    assert!(matches!(
        Keystore::open(&path, Credential::MasterKey(&read), &options()),
        Err(Error::WrongCredential)
    ));
    let ks = open(&path).unwrap();
    let other = MasterKey::generate().unwrap();
    ks.change_credential(Credential::MasterKey(&other)).unwrap();
    drop(ks);
    assert!(matches!(open(&path), Err(Error::WrongCredential)));
    let ks = Keystore::open(&path, Credential::MasterKey(&other), &options()).unwrap();
    assert_eq!(ks.decrypt(b"c", &sealed).unwrap(), b"p");
    // A damaged key file is refused.
    let mut bytes = std::fs::read(&key_path).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&key_path, &bytes).unwrap();
    assert!(matches!(
        MasterKey::read_file(&key_path),
        Err(Error::Tampered { .. })
    ));
    std::fs::write(&key_path, b"not a key").unwrap();
    assert!(matches!(
        MasterKey::read_file(&key_path),
        Err(Error::Malformed { .. })
    ));
    assert_eq!(format!("{mk:?}"), "MasterKey { .. }");
}

#[test]
fn time_based_rotation_with_an_injected_clock() {
    let (_tmp, path) = common::dir();
    let clock = Arc::new(ManualClock::new());
    let opts = options().clock(clock.clone());
    let ks = Keystore::create(&path, PASS, &opts).unwrap();
    let a = ks.encrypt(b"c", b"first").unwrap();
    clock.advance(Duration::from_secs(29 * 24 * 3600));
    assert!(!ks.rotation_due());
    assert_eq!(ks.rotate_if_due().unwrap(), None);
    let b = ks.encrypt(b"c", b"second").unwrap();
    assert_eq!(envelope_key_id(&b).unwrap(), KeyId::new(1));
    clock.advance(Duration::from_secs(24 * 3600));
    assert!(ks.rotation_due());
    let c = ks.encrypt(b"c", b"third").unwrap();
    assert_eq!(
        envelope_key_id(&c).unwrap(),
        KeyId::new(2),
        "encrypt rotated the due key"
    );
    let states: Vec<_> = ks.keys().iter().map(|k| k.state).collect();
    assert_eq!(states, [KeyState::DecryptOnly, KeyState::Primary]);
    for (env, pt) in [(&a, &b"first"[..]), (&b, b"second"), (&c, b"third")] {
        assert_eq!(ks.decrypt(b"c", env).unwrap(), pt);
    }
    // The new key's age counts from its own creation.
    clock.advance(Duration::from_secs(29 * 24 * 3600));
    assert!(!ks.rotation_due());
    clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(ks.rotate_if_due().unwrap(), Some(KeyId::new(3)));
}

#[test]
fn usage_based_rotation_and_the_counter_survives_restarts() {
    let (_tmp, path) = common::dir();
    let policy = RotationPolicy::new(Duration::from_secs(3600 * 24 * 365), 3).unwrap();
    let opts = options().rotation_policy(policy);
    let ks = Keystore::create(&path, PASS, &opts).unwrap();
    let ids: Vec<_> = (0..7)
        .map(|_| envelope_key_id(&ks.encrypt(b"c", b"m").unwrap()).unwrap())
        .collect();
    let n = |i| KeyId::new(i);
    assert_eq!(ids, [n(1), n(1), n(1), n(2), n(2), n(2), n(3)]);
    drop(ks);
    // Restart after one message under key 3: the persisted counter is an
    // upper bound (the whole reserved block), so the key is due at once.
    let ks = Keystore::open(&path, PASS, &opts).unwrap();
    assert_eq!(ks.keys()[2].messages, 3);
    assert_eq!(
        envelope_key_id(&ks.encrypt(b"c", b"m").unwrap()).unwrap(),
        n(4)
    );
    drop(ks);

    // With the default policy the reservation is one block.
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    ks.encrypt(b"c", b"m").unwrap();
    assert_eq!(ks.keys()[0].messages, 1);
    let generation = ks.generation();
    ks.encrypt(b"c", b"m").unwrap();
    assert_eq!(
        ks.generation(),
        generation,
        "no write until the block is used up"
    );
    drop(ks);
    let ks = open(&path).unwrap();
    assert_eq!(ks.keys()[0].messages, COUNTER_BLOCK);
    assert!(RotationPolicy::new(Duration::from_secs(1), (1 << 32) + 1).is_err());
    assert!(RotationPolicy::new(Duration::ZERO, 10).is_err());
}

#[test]
fn destroy_erases_the_key_from_file_and_backup() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let old = ks.encrypt(b"c", b"old").unwrap();
    ks.rotate().unwrap();
    let new = ks.encrypt(b"c", b"new").unwrap();
    assert!(matches!(
        ks.destroy(KeyId::new(2)),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        ks.destroy(KeyId::new(9)),
        Err(Error::UnknownKey { .. })
    ));
    let before = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    ks.destroy(KeyId::new(1)).unwrap();
    ks.destroy(KeyId::new(1)).unwrap(); // idempotent
    let after = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    assert_eq!(after.len(), before.len() - 60, "the 60-byte wrap is gone");
    assert_eq!(std::fs::read(path.join(BACKUP_FILE)).unwrap(), after);
    // The old wrap's bytes are nowhere in either file.
    let wrap = &before[131 + 22..131 + 82];
    for name in [KEYSTORE_FILE, BACKUP_FILE] {
        let bytes = std::fs::read(path.join(name)).unwrap();
        assert!(!bytes.windows(60).any(|w| w == wrap));
    }
    assert!(
        matches!(ks.decrypt(b"c", &old), Err(Error::KeyDestroyed { id }) if id == KeyId::new(1))
    );
    assert!(matches!(
        ks.rewrap(b"c", &old),
        Err(Error::KeyDestroyed { .. })
    ));
    assert!(matches!(
        ks.subkey_for("x", KeyId::new(1)),
        Err(Error::KeyDestroyed { .. })
    ));
    assert_eq!(ks.decrypt(b"c", &new).unwrap(), b"new");
    drop(ks);
    let ks = open(&path).unwrap();
    assert!(matches!(
        ks.decrypt(b"c", &old),
        Err(Error::KeyDestroyed { .. })
    ));
    assert_eq!(ks.keys()[0].state, KeyState::Destroyed);
}

#[test]
fn destroy_writes_the_backup_before_the_keystore_file() {
    // If the process died between the two writes of a destroy, the
    // keystore file must not already say "destroyed" while the backup
    // still holds the key. A keystore file that cannot be replaced (a
    // directory in its place) stops a commit exactly between the two.
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let old = ks.encrypt(b"c", b"old").unwrap();
    ks.rotate().unwrap();
    let before = std::fs::read(path.join(KEYSTORE_FILE)).unwrap();
    let wrap = before[131..131 + 82][22..].to_vec();
    let file = path.join(KEYSTORE_FILE);
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    std::fs::write(file.join("x"), b"x").unwrap();
    assert!(matches!(ks.destroy(KeyId::new(1)), Err(Error::Storage(_))));
    // The backup already has the key removed; nothing else changed.
    let backup = std::fs::read(path.join(BACKUP_FILE)).unwrap();
    assert!(!backup.windows(60).any(|w| w == wrap));
    assert_eq!(backup.len(), before.len() - 60);
    assert_eq!(ks.decrypt(b"c", &old).unwrap(), b"old");
    // Once the file can be written again, the destroy goes through.
    std::fs::remove_dir_all(&file).unwrap();
    ks.destroy(KeyId::new(1)).unwrap();
    drop(ks);
    for name in [KEYSTORE_FILE, BACKUP_FILE] {
        let bytes = std::fs::read(path.join(name)).unwrap();
        assert!(!bytes.windows(60).any(|w| w == wrap), "{name}");
    }
    let ks = open(&path).unwrap();
    assert!(matches!(
        ks.decrypt(b"c", &old),
        Err(Error::KeyDestroyed { .. })
    ));
    drop(ks);
    let ks = Keystore::restore_backup(&path, PASS, &options()).unwrap();
    assert!(matches!(
        ks.decrypt(b"c", &old),
        Err(Error::KeyDestroyed { .. })
    ));
}

#[test]
fn minimum_decryption_version_and_rewrap() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let v1 = ks.encrypt(b"c", b"one").unwrap();
    ks.rotate().unwrap();
    ks.rotate().unwrap();
    let moved = ks.rewrap(b"c", &v1).unwrap();
    assert_eq!(envelope_key_id(&moved).unwrap(), KeyId::new(3));
    assert!(matches!(
        ks.rewrap(b"other", &v1),
        Err(Error::DecryptionFailed)
    ));
    assert!(matches!(
        ks.set_min_decryption_version(KeyId::new(4)),
        Err(Error::InvalidArgument { .. })
    ));
    ks.set_min_decryption_version(KeyId::new(2)).unwrap();
    assert_eq!(ks.min_decryption_version(), KeyId::new(2));
    assert!(matches!(
        ks.decrypt(b"c", &v1),
        Err(Error::KeyRetired { id, min }) if id == KeyId::new(1) && min == KeyId::new(2)
    ));
    assert_eq!(ks.decrypt(b"c", &moved).unwrap(), b"one");
    drop(ks);
    let ks = open(&path).unwrap();
    assert!(matches!(
        ks.decrypt(b"c", &v1),
        Err(Error::KeyRetired { .. })
    ));
    ks.set_min_decryption_version(KeyId::new(0)).unwrap();
    assert_eq!(ks.decrypt(b"c", &v1).unwrap(), b"one");
}

#[test]
fn subkeys_are_distinct_per_label_and_version_and_stable() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let labels = ["entries", "audit-encryption", "audit-mac", "file-names"];
    let keys: Vec<[u8; 32]> = labels
        .iter()
        .map(|l| *ks.subkey(l, 1).unwrap().expose_secret())
        .collect();
    for i in 0..keys.len() {
        for j in i + 1..keys.len() {
            assert_ne!(keys[i], keys[j]);
        }
    }
    ks.rotate().unwrap();
    let after = ks.subkey("entries", 1).unwrap();
    assert_eq!(after.key_id(), KeyId::new(2));
    assert_ne!(*after.expose_secret(), keys[0]);
    assert_eq!(
        *ks.subkey_for("entries", KeyId::new(1))
            .unwrap()
            .expose_secret(),
        keys[0]
    );
    assert!(matches!(
        ks.subkey("", 1),
        Err(Error::InvalidArgument { .. })
    ));
    assert_eq!(
        format!("{after:?}"),
        "Subkey { key_id: KeyId(2), budget: 1, .. }"
    );
    drop(ks);
    let ks = open(&path).unwrap();
    assert_eq!(
        *ks.subkey_for("entries", KeyId::new(1))
            .unwrap()
            .expose_secret(),
        keys[0]
    );
}

#[test]
fn xchacha_keystore_and_mixed_algorithms() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let a = ks.encrypt(b"c", b"aes").unwrap();
    drop(ks);
    let opts = options().algorithm(Algorithm::XChaCha20Poly1305);
    let ks = Keystore::open(&path, PASS, &opts).unwrap();
    ks.rotate().unwrap();
    let x = ks.encrypt(b"c", b"xchacha").unwrap();
    assert_eq!(x[3], 2);
    assert_eq!(x.len(), Algorithm::XChaCha20Poly1305.overhead() + 7);
    assert_eq!(ks.keys()[1].algorithm, Algorithm::XChaCha20Poly1305);
    assert_eq!(ks.decrypt(b"c", &a).unwrap(), b"aes");
    assert_eq!(ks.decrypt(b"c", &x).unwrap(), b"xchacha");
    // Relabelling an envelope with the other algorithm fails.
    let mut relabelled = a;
    relabelled[3] = 2;
    assert!(ks.decrypt(b"c", &relabelled).is_err());
}

#[test]
fn misuse_is_refused() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    assert!(matches!(
        ks.encrypt(b"", b"x"),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(Kdf::pbkdf2_sha256(100_000).is_err());
    // Two encryptions of the same message never repeat (fresh nonces).
    let a = ks.encrypt(b"c", b"same").unwrap();
    let b = ks.encrypt(b"c", b"same").unwrap();
    assert_ne!(a[8..20], b[8..20]);
    assert!(!format!("{ks:?}").contains("correct"));
}

#[test]
fn a_damaged_keystore_is_restored_from_its_backup() {
    let (_tmp, path) = common::dir();
    let ks = Keystore::create(&path, PASS, &options()).unwrap();
    let sealed = ks.encrypt(b"c", b"kept").unwrap();
    ks.rotate().unwrap();
    let generation = ks.generation();
    drop(ks);
    assert!(matches!(
        Keystore::restore_backup(&path, PASS2, &options()),
        Err(Error::WrongCredential)
    ));
    let file = path.join(KEYSTORE_FILE);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&file, &bytes).unwrap();
    assert!(matches!(open(&path), Err(Error::Tampered { .. })));
    assert!(matches!(
        Keystore::restore_backup(&path, PASS, &options().expect_generation(generation + 1)),
        Err(Error::RolledBack { .. })
    ));
    // The backup holds the current generation: nothing is lost. The
    // restore retires the primary (a new one encrypts from here on).
    let ks =
        Keystore::restore_backup(&path, PASS, &options().expect_generation(generation)).unwrap();
    assert_eq!(ks.generation(), generation + 1);
    assert_eq!(ks.primary(), KeyId::new(3));
    assert_eq!(ks.decrypt(b"c", &sealed).unwrap(), b"kept");
    drop(ks);
    let ks = open(&path).unwrap();
    assert_eq!(ks.decrypt(b"c", &sealed).unwrap(), b"kept");
    let (_t2, empty) = common::dir();
    drop(Keystore::create(&empty, PASS, &options()).unwrap());
    std::fs::remove_file(empty.join(BACKUP_FILE)).unwrap();
    assert!(matches!(
        Keystore::restore_backup(&empty, PASS, &options()),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn concurrent_encryption_rotates_by_use_and_loses_nothing() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let (_tmp, path) = common::dir();
    let policy = RotationPolicy::new(Duration::from_secs(3600), 50).unwrap();
    let ks = Keystore::create(&path, PASS, &options().rotation_policy(policy)).unwrap();
    send_sync(&ks);
    let sealed: Vec<(String, Vec<u8>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let ks = &ks;
                s.spawn(move || {
                    (0..100)
                        .map(|i| {
                            let ctx = format!("t{t}-{i}");
                            let env = ks.encrypt(ctx.as_bytes(), ctx.as_bytes()).unwrap();
                            (ctx, env)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    // 400 messages, at most 50 per key: at least 8 keys, each used <= 50 times.
    let mut per_key = std::collections::BTreeMap::new();
    let mut nonces = std::collections::HashSet::new();
    for (ctx, env) in &sealed {
        *per_key.entry(envelope_key_id(env).unwrap()).or_insert(0) += 1;
        assert!(nonces.insert(env[8..20].to_vec()), "a nonce repeated");
        assert_eq!(ks.decrypt(ctx.as_bytes(), env).unwrap(), ctx.as_bytes());
    }
    assert!(per_key.len() >= 8, "{per_key:?}");
    assert!(per_key.values().all(|&n| n <= 50), "{per_key:?}");
    drop(ks);
    let ks = open(&path).unwrap();
    for (ctx, env) in &sealed {
        assert_eq!(ks.decrypt(ctx.as_bytes(), env).unwrap(), ctx.as_bytes());
    }
}

#[test]
fn arbitrary_keystore_files_are_refused_with_a_typed_error() {
    use proptest::prelude::*;
    let (_tmp, path) = common::dir();
    let good = three_versions(&path);
    let file = path.join(KEYSTORE_FILE);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..600),
        any::<bool>(),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(mut bytes, keep_header, fix)| {
            if keep_header {
                // A plausible header, random beyond it.
                let n = bytes.len().min(good.len()).min(34);
                bytes[..n].copy_from_slice(&good[..n]);
            }
            if fix && bytes.len() >= 32 {
                fix_checksum(&mut bytes);
            }
            std::fs::write(&file, &bytes).unwrap();
            let r = open(&path);
            prop_assert!(
                matches!(
                    r,
                    Err(Error::Malformed { .. }
                        | Error::Tampered { .. }
                        | Error::UnsupportedVersion { .. }
                        | Error::WrongCredential)
                ),
                "{:?}",
                r
            );
            Ok(())
        })
        .unwrap();
}
