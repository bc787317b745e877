//! The test vectors of FORMAT.md, recomputed from their inputs and compared
//! with the document. To regenerate them after a deliberate format change,
//! print `HEXLOWER.encode(..)` of `envelope_for(..)` and `keystore_file()`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use data_encoding::HEXLOWER;

use crate::envelope::{self, Algorithm, Cipher, KeyId};
use crate::file::{self, FileState, VersionRecord};
use crate::kdf::{Credential, KdfKind, derive_unlock_key};
use crate::keystore::KeyState;
use crate::secret::KeyBytes;

const FORMAT_MD: &str = include_str!("../FORMAT.md");

/// The value of `name = HEX` in FORMAT.md.
pub(crate) fn vector(name: &str) -> Vec<u8> {
    let prefix = format!("{name} = ");
    let line = FORMAT_MD
        .lines()
        .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("FORMAT.md has no vector {name}"));
    HEXLOWER
        .decode(line.trim().as_bytes())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn seq(start: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| start.wrapping_add(u8::try_from(i).unwrap()))
        .collect()
}

fn key(start: u8) -> KeyBytes {
    KeyBytes::from_slice(&seq(start, 32)).unwrap()
}

pub(crate) const CONTEXT: &[u8] = b"journal entry 42";
pub(crate) const PLAINTEXT: &[u8] = b"Dear diary, the keys rotated today.";
pub(crate) const PASSPHRASE: &[u8] = b"correct horse battery staple";

fn envelope_for(alg: Algorithm, id: u32, nonce_start: u8) -> Vec<u8> {
    let cipher = Cipher::new(&key(0x00), alg);
    cipher
        .seal_with_nonce(
            KeyId::new(id),
            &seq(nonce_start, alg.nonce_len()),
            CONTEXT,
            PLAINTEXT,
        )
        .unwrap()
}

fn keystore_file() -> Vec<u8> {
    let keystore_id: [u8; 16] = seq(0xa0, 16).try_into().unwrap();
    let salt: [u8; 16] = seq(0xb0, 16).try_into().unwrap();
    let kdf = KdfKind::Pbkdf2 { iterations: 1000 };
    let unlock = derive_unlock_key(Credential::Passphrase(PASSPHRASE), kdf, &salt).unwrap();
    let kek = key(0xc0);
    let kek_wrap = file::wrap(
        &unlock,
        &seq(0xd0, 12).try_into().unwrap(),
        &file::kek_ad(&keystore_id, kdf, &salt),
        &kek,
    )
    .unwrap();
    let wrap_key = file::kek_subkey(&kek, &keystore_id, file::WRAP_LABEL);
    let mac_key = file::kek_subkey(&kek, &keystore_id, file::MAC_LABEL);
    let w1 = file::wrap(
        &wrap_key,
        &seq(0xe0, 12).try_into().unwrap(),
        &file::data_key_ad(&keystore_id, 1, Algorithm::Aes256Gcm),
        &key(0x00),
    )
    .unwrap();
    let state = FileState {
        keystore_id,
        generation: 3,
        kdf,
        salt,
        kek_wrap,
        min_decrypt: 0,
        versions: vec![
            VersionRecord {
                id: 1,
                algorithm: Algorithm::Aes256Gcm,
                state: KeyState::DecryptOnly,
                created: 1_700_000_000,
                reserved: 65_536,
                wrapped: Some(w1),
            },
            VersionRecord {
                id: 2,
                algorithm: Algorithm::Aes256Gcm,
                state: KeyState::Destroyed,
                created: 1_702_592_000,
                reserved: 65_536,
                wrapped: None,
            },
            VersionRecord {
                id: 3,
                algorithm: Algorithm::XChaCha20Poly1305,
                state: KeyState::Primary,
                created: 1_705_184_000,
                reserved: 0,
                wrapped: Some(
                    file::wrap(
                        &wrap_key,
                        &seq(0xf0, 12).try_into().unwrap(),
                        &file::data_key_ad(&keystore_id, 3, Algorithm::XChaCha20Poly1305),
                        &key(0x40),
                    )
                    .unwrap(),
                ),
            },
        ],
    };
    file::encode(&state, &mac_key)
}

#[test]
fn envelope_vectors_match_format_md() {
    assert_eq!(vector("data_key"), seq(0, 32));
    assert_eq!(vector("context"), CONTEXT);
    assert_eq!(vector("plaintext"), PLAINTEXT);
    assert_eq!(
        vector("aes_envelope_key"),
        envelope::envelope_key(&key(0), Algorithm::Aes256Gcm).expose()
    );
    assert_eq!(
        vector("xchacha_envelope_key"),
        envelope::envelope_key(&key(0), Algorithm::XChaCha20Poly1305).expose()
    );
    assert_eq!(
        vector("aes_envelope"),
        envelope_for(Algorithm::Aes256Gcm, 1, 0x10)
    );
    assert_eq!(
        vector("xchacha_envelope"),
        envelope_for(Algorithm::XChaCha20Poly1305, 1, 0x20)
    );
    // And they open.
    for (name, alg) in [
        ("aes_envelope", Algorithm::Aes256Gcm),
        ("xchacha_envelope", Algorithm::XChaCha20Poly1305),
    ] {
        let env = vector(name);
        let h = envelope::parse(&env).unwrap();
        assert_eq!(
            Cipher::new(&key(0), alg).open(&h, CONTEXT).unwrap(),
            PLAINTEXT
        );
    }
}

#[test]
fn fail_vectors_of_format_md_are_refused() {
    let cipher = Cipher::new(&key(0), Algorithm::Aes256Gcm);
    for name in [
        "fail_aes_wrong_context",
        "fail_aes_key_id_changed",
        "fail_aes_bit_flipped",
    ] {
        let env = vector(name);
        let context: &[u8] = if name == "fail_aes_wrong_context" {
            b"journal entry 43"
        } else {
            CONTEXT
        };
        let h = envelope::parse(&env).unwrap();
        assert!(cipher.open(&h, context).is_err(), "{name} opened");
    }
    assert!(envelope::parse(&vector("fail_aes_truncated")).is_err());
    assert!(envelope::parse(&vector("fail_unknown_algorithm")).is_err());
}

#[test]
fn keystore_file_vector_matches_format_md() {
    assert_eq!(vector("passphrase"), PASSPHRASE);
    assert_eq!(
        HEXLOWER.encode(&vector("keystore_file")),
        HEXLOWER.encode(&keystore_file())
    );
}

/// The keystore file vector with other PBKDF2 iterations, checksum
/// recomputed (what an attacker editing the file would write).
fn keystore_file_with_iterations(iterations: u32) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut b = keystore_file();
    b[51..55].copy_from_slice(&iterations.to_be_bytes());
    let n = b.len() - 32;
    let sum = Sha256::digest(&b[..n]);
    b[n..].copy_from_slice(&sum);
    b
}

#[test]
fn anchor_vectors_match_format_md() {
    let bytes = keystore_file();
    let state = file::parse(&bytes, std::path::Path::new("v")).unwrap();
    let h = file::header_hash(&state);
    assert_eq!(HEXLOWER.encode(&vector("header_hash")), HEXLOWER.encode(&h));
    let a = crate::anchor::Anchor::new(state.keystore_id, state.generation, h);
    assert_eq!(
        HEXLOWER.encode(&vector("anchor_file")),
        HEXLOWER.encode(&a.to_bytes())
    );
    assert_eq!(
        crate::anchor::Anchor::from_bytes(&vector("anchor_file")).unwrap(),
        a
    );
}

#[test]
fn keystore_fail_vectors_match_format_md_and_are_refused() {
    use crate::error::{Check, Error};
    let below = vector("fail_keystore_kdf_below_floor");
    assert_eq!(
        HEXLOWER.encode(&below),
        HEXLOWER.encode(&keystore_file_with_iterations(999))
    );
    let state = file::parse(&below, std::path::Path::new("v")).unwrap();
    assert!(!crate::kdf::KdfFloor::test_pbkdf2(1_000).admits(state.kdf));
    assert!(crate::kdf::KdfFloor::test_pbkdf2(999).admits(state.kdf));
    let over = vector("fail_keystore_kdf_over_cap");
    assert_eq!(
        HEXLOWER.encode(&over),
        HEXLOWER.encode(&keystore_file_with_iterations(10_000_001))
    );
    assert!(matches!(
        file::parse(&over, std::path::Path::new("v")),
        Err(Error::Tampered {
            check: Check::KdfParameters,
            ..
        })
    ));
}
