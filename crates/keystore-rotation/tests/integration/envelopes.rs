//! Round trips and tamper detection of envelopes, as properties.

use std::sync::OnceLock;

use keystore_rotation::{Algorithm, Error, Keystore, envelope_key_id};
use proptest::prelude::*;

use crate::common::{self, PASS, options};

/// One AES-256-GCM keystore and one XChaCha20-Poly1305 keystore, shared by
/// the cases (the temporary directories live for the whole test binary).
fn keystores() -> &'static [(Keystore, tempfile::TempDir); 2] {
    static KS: OnceLock<[(Keystore, tempfile::TempDir); 2]> = OnceLock::new();
    KS.get_or_init(|| {
        [Algorithm::Aes256Gcm, Algorithm::XChaCha20Poly1305].map(|alg| {
            let (tmp, path) = common::dir();
            let ks = Keystore::create(&path, PASS, &options().algorithm(alg)).unwrap();
            (ks, tmp)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip(which in 0usize..2, context in prop::collection::vec(any::<u8>(), 1..64),
                  plaintext in prop::collection::vec(any::<u8>(), 0..2048)) {
        let ks = &keystores()[which].0;
        let sealed = ks.encrypt(&context, &plaintext).unwrap();
        let alg = if which == 0 { Algorithm::Aes256Gcm } else { Algorithm::XChaCha20Poly1305 };
        prop_assert_eq!(sealed.len(), plaintext.len() + alg.overhead());
        prop_assert_eq!(envelope_key_id(&sealed).unwrap(), ks.primary());
        prop_assert_eq!(&ks.decrypt(&context, &sealed).unwrap()[..], &plaintext[..]);
    }

    #[test]
    fn any_bit_flip_fails(which in 0usize..2, plaintext in prop::collection::vec(any::<u8>(), 0..256),
                          bit in any::<prop::sample::Index>()) {
        let ks = &keystores()[which].0;
        let mut sealed = ks.encrypt(b"ctx", &plaintext).unwrap();
        let i = bit.index(sealed.len() * 8);
        sealed[i / 8] ^= 1 << (i % 8);
        let r = ks.decrypt(b"ctx", &sealed);
        prop_assert!(matches!(
            r,
            Err(Error::DecryptionFailed | Error::Malformed { .. } | Error::UnsupportedVersion { .. }
                | Error::UnknownKey { .. })
        ), "bit {} flipped: {:?}", i, r);
    }

    #[test]
    fn any_truncation_fails(which in 0usize..2, plaintext in prop::collection::vec(any::<u8>(), 0..256),
                            cut in any::<prop::sample::Index>()) {
        let ks = &keystores()[which].0;
        let sealed = ks.encrypt(b"ctx", &plaintext).unwrap();
        let len = cut.index(sealed.len());
        let r = ks.decrypt(b"ctx", &sealed[..len]);
        prop_assert!(matches!(r, Err(Error::DecryptionFailed | Error::Malformed { .. })), "{:?}", r);
    }

    #[test]
    fn arbitrary_bytes_are_a_typed_error_never_a_panic(which in 0usize..2,
                                                       bytes in prop::collection::vec(any::<u8>(), 0..128),
                                                       keep_magic in any::<bool>()) {
        let ks = &keystores()[which].0;
        let mut bytes = bytes;
        if keep_magic && bytes.len() >= 4 {
            // Reach past the magic and version checks.
            bytes[..3].copy_from_slice(b"KE\x01");
        }
        prop_assert!(ks.decrypt(b"ctx", &bytes).is_err());
        let _ = envelope_key_id(&bytes);
    }

    #[test]
    fn another_context_fails(which in 0usize..2, a in prop::collection::vec(any::<u8>(), 1..32),
                             b in prop::collection::vec(any::<u8>(), 1..32)) {
        prop_assume!(a != b);
        let ks = &keystores()[which].0;
        let sealed = ks.encrypt(&a, b"payload").unwrap();
        prop_assert!(matches!(ks.decrypt(&b, &sealed), Err(Error::DecryptionFailed)));
    }
}

#[test]
fn an_envelope_from_another_keystore_or_relabelled_key_id_fails() {
    let [(a, _), (b, _)] = keystores();
    let sealed = a.encrypt(b"ctx", b"m").unwrap();
    let mut xchacha_labelled = sealed.clone();
    xchacha_labelled[3] = 2;
    assert!(b.decrypt(b"ctx", &sealed).is_err());
    assert!(a.decrypt(b"ctx", &xchacha_labelled).is_err());
    let mut other_id = sealed.clone();
    other_id[7] = 9;
    assert!(matches!(
        a.decrypt(b"ctx", &other_id),
        Err(Error::UnknownKey { .. })
    ));
    let mut future = sealed;
    future[2] = 2;
    assert!(matches!(
        a.decrypt(b"ctx", &future),
        Err(Error::UnsupportedVersion { version: 2, .. })
    ));
}
