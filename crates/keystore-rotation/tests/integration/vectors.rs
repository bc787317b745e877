//! The keystore file and envelope vectors of FORMAT.md, through the public
//! API.

use data_encoding::HEXLOWER;
use keystore_rotation::{
    Credential, Error, KEYSTORE_FILE, Kdf, KdfFloor, KeyId, KeyState, Keystore, Options,
};

use crate::common;

const FORMAT_MD: &str = include_str!("../../FORMAT.md");

fn vector(name: &str) -> Vec<u8> {
    let prefix = format!("{name} = ");
    let line = FORMAT_MD
        .lines()
        .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .unwrap();
    HEXLOWER.decode(line.trim().as_bytes()).unwrap()
}

#[test]
fn the_keystore_file_vector_opens_and_decrypts_the_envelope_vector() {
    let (_tmp, path) = common::dir();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join(KEYSTORE_FILE), vector("keystore_file")).unwrap();
    let passphrase = vector("passphrase");
    // Ask for no more than the vector's 1,000 iterations, so nothing is upgraded.
    // 1,000 iterations is below the default floor: refused as tampering
    // before any derivation, unless the caller lowers the floor.
    assert!(matches!(
        Keystore::open(
            &path,
            Credential::Passphrase(&passphrase),
            &Options::default()
        ),
        Err(Error::Tampered {
            check: keystore_rotation::Check::KdfBelowFloor,
            ..
        })
    ));
    let options = Options::default()
        .kdf(Kdf::insecure_pbkdf2_sha256(1_000).unwrap())
        .kdf_floor(KdfFloor::insecure_any());
    let ks = Keystore::open(&path, Credential::Passphrase(&passphrase), &options).unwrap();
    assert_eq!(ks.generation(), 3);
    assert_eq!(ks.primary(), KeyId::new(3));
    let states: Vec<_> = ks.keys().iter().map(|k| k.state).collect();
    assert_eq!(
        states,
        [
            KeyState::DecryptOnly,
            KeyState::Destroyed,
            KeyState::Primary
        ]
    );
    assert_eq!(
        *ks.decrypt(&vector("context"), &vector("aes_envelope"))
            .unwrap(),
        vector("plaintext")
    );
    // Key 1 is an AES-256-GCM key: the XChaCha20-Poly1305 vector (same key
    // bytes, other algorithm) does not open under it.
    assert!(matches!(
        ks.decrypt(&vector("context"), &vector("xchacha_envelope")),
        Err(Error::DecryptionFailed)
    ));
    let mut under_destroyed = vector("aes_envelope");
    under_destroyed[7] = 2;
    assert!(matches!(
        ks.decrypt(&vector("context"), &under_destroyed),
        Err(Error::KeyDestroyed { .. })
    ));
    assert!(matches!(
        ks.decrypt(b"journal entry 43", &vector("fail_aes_wrong_context")),
        Err(Error::DecryptionFailed)
    ));
    drop(ks);
    assert!(matches!(
        Keystore::open(&path, Credential::Passphrase(b"wrong"), &options),
        Err(Error::WrongCredential)
    ));
}
