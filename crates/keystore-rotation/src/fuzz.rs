//! Fuzzing entry points (built with `--cfg fuzzing`, used by `fuzz/`; the
//! unit tests below run them on the FORMAT.md vectors so that they keep
//! compiling and keep reaching what they are meant to reach).
//!
//! The keystore file ends with a SHA-256 checksum and is authenticated by
//! a MAC keyed from the key-encryption key, whose wrap authenticates under
//! the credential: random bytes never get past the checksum, and a mutated
//! file never past the KEK unwrap and the MAC. [`keystore_file`] recomputes
//! the checksum so that the structure parser is reached;
//! [`keystore_unlock`] re-wraps and re-MACs whatever parses, under a known
//! master key, so that the whole open path behind the MAC is reached.
#![allow(clippy::panic, clippy::missing_panics_doc)] // reason: a panic is the finding

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::file::{self, FileState};
use crate::kdf::KdfKind;
use crate::keystore::{KEYSTORE_FILE, KeyState};
use crate::secret::KeyBytes;
use crate::{Credential, Error, KeyId, Keystore, MasterKey, Options};

/// `data` with its last 32 bytes replaced by the SHA-256 of the rest (the
/// checksum every file format of this crate ends with).
fn with_checksum(data: &[u8]) -> Vec<u8> {
    let mut b = data.to_vec();
    if let Some(at) = b.len().checked_sub(32) {
        let sum = Sha256::digest(&b[..at]);
        b[at..].copy_from_slice(&sum);
    }
    b
}

/// Envelope header parsing never panics; a parsed header re-encodes to
/// the same bytes.
pub fn envelope(data: &[u8]) {
    if let Ok(h) = crate::envelope::parse(data) {
        assert_eq!(&data[..h.bytes.len()], h.bytes);
        assert_eq!(h.bytes.len(), h.algorithm.header_len());
        assert_eq!(crate::envelope_key_id(data).ok(), Some(h.key_id));
    }
}

/// Keystore file parsing, on the bytes as given and with the checksum
/// recomputed: never panics; a parsed file re-encodes to the same bytes
/// (but the MAC, which needs the key) and parses to the same state.
pub fn keystore_file(data: &[u8]) {
    let _ = check_parse(data);
    let fixed = with_checksum(data);
    if let Err(Error::Tampered { check, .. }) = check_parse(&fixed) {
        assert_ne!(check, crate::Check::Checksum, "a recomputed checksum fails");
    }
}

fn check_parse(data: &[u8]) -> Result<FileState, Error> {
    let state = file::parse(data, Path::new("fuzz"))?;
    assert_eq!(file::encoded_len(&state), data.len());
    let again = file::encode(&state, &KeyBytes::zero());
    assert_eq!(
        file::parse(&again, Path::new("fuzz")).ok().as_ref(),
        Some(&state)
    );
    assert_eq!(again[..again.len() - 64], data[..data.len() - 64]);
    Ok(state)
}

/// The rollback anchor and master key files (checksum recomputed too):
/// no panic; an anchor that parses re-encodes to the same bytes.
pub fn small_files(data: &[u8]) {
    for bytes in [data.to_vec(), with_checksum(data)] {
        if let Ok(a) = crate::Anchor::from_bytes(&bytes) {
            assert_eq!(a.to_bytes().as_slice(), bytes.as_slice());
        }
        if let Ok(k) = MasterKey::decode_for_fuzzing(&bytes) {
            assert_eq!(k.bytes().expose().as_slice(), &bytes[10..42]);
        }
    }
}

/// How far [`keystore_unlock`] got (for the unit tests).
#[derive(Debug, PartialEq, Eq)]
enum Reached {
    /// The bytes (checksum recomputed) are not a keystore file.
    NotParsed,
    /// Opened, and every check after it passed.
    Opened,
}

fn master_key() -> &'static MasterKey {
    static KEY: OnceLock<MasterKey> = OnceLock::new();
    KEY.get_or_init(|| MasterKey::generate().unwrap_or_else(|e| panic!("no OS randomness: {e}")))
}

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| std::env::temp_dir().join(format!("keystore-fuzz-{}", std::process::id())))
}

/// Whatever parses as a keystore file (checksum recomputed) is made
/// authentic: its KDF set to the master-key kind (no stretching, no KDF
/// floor), its KEK wrap redone under a known master key (fuzzed nonce),
/// each data-key wrap redone under the KEK's wrap key (the fuzzed wrap
/// bytes become the key and its nonce), the MAC and checksum recomputed.
/// The file is then opened with [`Keystore::open`] from a private
/// directory. Properties: it opens (every check is satisfied by
/// construction); the keystore reports the file's versions, primary and
/// minimum decryption version; an envelope encrypted with the primary
/// decrypts to its plaintext; every live version's envelope decrypts
/// unless below the minimum decryption version. Writes files: runs in
/// `$TMPDIR`.
pub fn keystore_unlock(data: &[u8]) {
    let _ = unlock(data);
}

fn unlock(data: &[u8]) -> Reached {
    let Ok(mut state) = file::parse(&with_checksum(data), Path::new("fuzz")) else {
        return Reached::NotParsed;
    };
    state.kdf = KdfKind::MasterKey;
    let mk = master_key();
    let credential = Credential::MasterKey(mk);
    let unlock_key = crate::kdf::derive_unlock_key(credential, state.kdf, &state.salt)
        .unwrap_or_else(|e| panic!("master-key derivation failed: {e}"));
    let kek = KeyBytes::from_slice(&[0xc0; 32]).unwrap_or_else(KeyBytes::zero);
    let id = state.keystore_id;
    let rewrap = |key: &KeyBytes, ad: &[u8], old: &[u8; file::WRAP_LEN], secret: &KeyBytes| {
        let nonce: [u8; 12] = old[..12].try_into().unwrap_or([0; 12]);
        file::wrap(key, &nonce, ad, secret).unwrap_or_else(|e| panic!("wrap failed: {e}"))
    };
    state.kek_wrap = rewrap(
        &unlock_key,
        &file::kek_ad(&id, state.kdf, &state.salt),
        &state.kek_wrap,
        &kek,
    );
    let wrap_key = file::kek_subkey(&kek, &id, file::WRAP_LABEL);
    let mac_key = file::kek_subkey(&kek, &id, file::MAC_LABEL);
    for v in &mut state.versions {
        if let Some(w) = &mut v.wrapped {
            let dk = KeyBytes::from_slice(&w[12..44]).unwrap_or_else(KeyBytes::zero);
            *w = rewrap(
                &wrap_key,
                &file::data_key_ad(&id, v.id, v.algorithm),
                w,
                &dk,
            );
        }
    }
    let bytes = file::encode(&state, &mac_key);

    let dir = scratch();
    let _ = std::fs::remove_dir_all(dir);
    write_private(dir, &bytes);
    let opened = Keystore::open(dir, credential, &Options::default());
    let ks = opened.unwrap_or_else(|e| panic!("an authentic keystore file did not open: {e}"));

    let primary = state
        .versions
        .iter()
        .find(|v| v.state == KeyState::Primary)
        .map(|v| v.id);
    assert_eq!(Some(u32::from(ks.primary())), primary);
    assert_eq!(u32::from(ks.min_decryption_version()), state.min_decrypt);
    let keys = ks.keys();
    assert_eq!(keys.len(), state.versions.len());
    for (k, v) in keys.iter().zip(&state.versions) {
        assert_eq!((u32::from(k.id), k.state), (v.id, v.state));
    }
    // Encrypting may rotate first (a primary created long ago, or its
    // message budget spent), and a rotation can be refused (no key id left
    // below u32::MAX): a refusal, not a finding.
    if let Ok(env) = ks.encrypt(b"fuzz context", b"fuzz plaintext") {
        let pt = ks
            .decrypt(b"fuzz context", &env)
            .unwrap_or_else(|e| panic!("own envelope does not decrypt: {e}"));
        assert!(pt == b"fuzz plaintext"[..]);
        assert!(ks.decrypt(b"other context", &env).is_err());
    }
    for v in &state.versions {
        let sub = ks.subkey_for("fuzz", KeyId::new(v.id));
        let usable = v.state != KeyState::Destroyed && v.id >= state.min_decrypt;
        assert_eq!(
            sub.is_ok(),
            usable,
            "version {} ({:?}): {sub:?}",
            v.id,
            v.state
        );
    }
    drop(ks);
    let _ = std::fs::remove_dir_all(dir);
    Reached::Opened
}

/// A private directory (0700) holding the keystore file (0600).
fn write_private(dir: &Path, bytes: &[u8]) {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let made = std::fs::DirBuilder::new().mode(0o700).create(dir);
    made.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join(KEYSTORE_FILE))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    f.write_all(bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vector(name: &str) -> Vec<u8> {
        let doc = include_str!("../FORMAT.md");
        let line = doc
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} = ")))
            .unwrap();
        data_encoding::HEXLOWER
            .decode(line.trim().as_bytes())
            .unwrap()
    }

    /// The hooks reach what they are for: a keystore file with a broken
    /// checksum still reaches the structure parser, and the vector reaches
    /// a successful open behind the MAC.
    #[test]
    fn hooks_get_past_the_checksum_and_the_mac() {
        let ks = vector("keystore_file");
        keystore_file(&ks);
        let mut broken = ks;
        let n = broken.len();
        broken[n - 1] ^= 1;
        assert!(matches!(
            file::parse(&broken, Path::new("t")),
            Err(Error::Tampered {
                check: crate::Check::Checksum,
                ..
            })
        ));
        assert!(file::parse(&with_checksum(&broken), Path::new("t")).is_ok());
        assert_eq!(unlock(&broken), Reached::Opened);
        assert_eq!(unlock(b"not a keystore"), Reached::NotParsed);
        small_files(&vector("anchor_file"));
        envelope(&vector("aes_envelope"));
    }
}
