//! Keys: the caller's state key, the reader's key, per-epoch secrets, and
//! the randomness they come from.

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use ed25519_dalek::{SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::format::{self, NONCE_LEN, TAG_LEN};

type HmacSha256 = Hmac<Sha256>;

/// Fills `buf` from the operating system's generator (`getrandom`). A
/// failing generator is an error, never a panic or a weaker source.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Random(e.to_string()))
}

pub(crate) fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    // HMAC accepts keys of any length: this cannot fail.
    let Ok(mut m) = <HmacSha256 as KeyInit>::new_from_slice(key) else {
        unreachable!("HMAC takes any key length")
    };
    for p in parts {
        m.update(p);
    }
    Zeroizing::new(m.finalize().into_bytes().into())
}

/// The caller's 256-bit key that encrypts the writer's state on disk (the
/// current epoch's signing key and record-key seed). Keep it in a keystore;
/// without it the log cannot be continued (it can still be verified and,
/// with the [`ReadKey`], read).
///
/// Zeroized on drop, never printed.
pub struct StateKey(Zeroizing<[u8; 32]>);

impl StateKey {
    /// A state key from its 32 bytes (for example derived by a keystore).
    pub fn from_bytes(bytes: [u8; 32]) -> StateKey {
        StateKey(Zeroizing::new(bytes))
    }

    /// A new random key from the operating system's generator.
    ///
    /// # Errors
    /// [`Error::Random`] if the generator fails.
    pub fn generate() -> Result<StateKey> {
        let mut k = Zeroizing::new([0u8; 32]);
        fill_random(&mut *k)?;
        Ok(StateKey(k))
    }

    /// The key that seals state slots of log `log_id`.
    pub(crate) fn cipher(&self, log_id: &[u8; 16]) -> Aes256Gcm {
        let k = hmac(&self.0, &[format::LABEL_STATE_KEY, log_id]);
        cipher_from(&k)
    }
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateKey").finish_non_exhaustive()
    }
}

/// The key that decrypts a log's records: the seed of epoch 0's record
/// key, from which every later epoch's key derives by a one-way step.
/// [`AuditLog::create`](crate::AuditLog::create) makes it and hands it to
/// the caller once; the writer never stores it (it keeps only the current
/// epoch's seed), so whoever steals the writer's state cannot decrypt
/// earlier epochs.
///
/// Zeroized on drop, never printed.
pub struct ReadKey(Zeroizing<[u8; 32]>);

impl ReadKey {
    /// A read key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ReadKey {
        ReadKey(Zeroizing::new(bytes))
    }

    /// The key's bytes, to store in a keystore.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*self.0)
    }

    pub(crate) fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*self.0)
    }
}

impl fmt::Debug for ReadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadKey").finish_non_exhaustive()
    }
}

/// The next epoch's record-key seed: `r_{e+1} = HMAC(r_e, "EAL2 evolve\0")`.
pub(crate) fn evolve(seed: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    hmac(seed, &[format::LABEL_EVOLVE])
}

/// An epoch's record cipher: `k_e = HMAC(r_e, "EAL2 record key\0" ‖ L)`.
pub(crate) fn record_cipher(seed: &[u8; 32], log_id: &[u8; 16]) -> Aes256Gcm {
    let k = hmac(seed, &[format::LABEL_RECORD_KEY, log_id]);
    cipher_from(&k)
}

fn cipher_from(k: &[u8; 32]) -> Aes256Gcm {
    let Ok(c) = Aes256Gcm::new_from_slice(k) else {
        unreachable!("a 32-byte key is an AES-256 key")
    };
    c
}

/// Encrypts `buf` in place; returns the tag.
pub(crate) fn seal_in_place(
    cipher: &Aes256Gcm,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN]> {
    let n = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::from(*nonce);
    let tag = cipher
        .encrypt_inout_detached(&n, aad, buf.into())
        .map_err(|_| Error::InvalidInput("message too large to encrypt".into()))?;
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(&tag);
    Ok(t)
}

/// Decrypts `buf` in place; on failure `buf` is zeroized.
pub(crate) fn open_in_place(
    cipher: &Aes256Gcm,
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> Result<()> {
    let n = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(nonce)
        .map_err(|_| Error::DecryptionFailed)?;
    let t = aes_gcm::Tag::<aes_gcm::aead::consts::U16>::try_from(tag)
        .map_err(|_| Error::DecryptionFailed)?;
    if cipher
        .decrypt_inout_detached(&n, aad, buf.into(), &t)
        .is_err()
    {
        buf.zeroize();
        return Err(Error::DecryptionFailed);
    }
    Ok(())
}

/// One epoch's secrets, as the writer holds them: the Ed25519 signing key
/// and the record-key seed. Erased on drop (both types zeroize).
pub(crate) struct EpochSecrets {
    pub(crate) signing: SigningKey,
    pub(crate) seed: Zeroizing<[u8; 32]>,
}

impl EpochSecrets {
    /// A fresh signing key from the OS generator, with the given seed.
    pub(crate) fn new(seed: Zeroizing<[u8; 32]>) -> Result<EpochSecrets> {
        let mut sk = Zeroizing::new([0u8; 32]);
        fill_random(&mut *sk)?;
        Ok(EpochSecrets {
            signing: SigningKey::from_bytes(&sk),
            seed,
        })
    }

    /// The secrets that follow these (a new signing key, the evolved seed).
    pub(crate) fn next(&self) -> Result<EpochSecrets> {
        EpochSecrets::new(evolve(&self.seed))
    }

    pub(crate) fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub(crate) fn to_bytes(&self) -> Zeroizing<[u8; 64]> {
        let mut b = Zeroizing::new([0u8; 64]);
        b[..32].copy_from_slice(self.signing.as_bytes());
        b[32..].copy_from_slice(&*self.seed);
        b
    }

    pub(crate) fn from_bytes(b: &[u8; 64]) -> EpochSecrets {
        let mut sk = Zeroizing::new([0u8; 32]);
        sk.copy_from_slice(&b[..32]);
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&b[32..]);
        EpochSecrets {
            signing: SigningKey::from_bytes(&sk),
            seed,
        }
    }
}

impl fmt::Debug for EpochSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochSecrets").finish_non_exhaustive()
    }
}

/// A growable byte buffer for plaintext that never leaves a copy behind:
/// growth moves the bytes into a new allocation and zeroizes the old one,
/// and `clear` zeroizes before reuse. Dropped zeroized.
#[derive(Default)]
pub(crate) struct SecretBuf(Vec<u8>);

impl SecretBuf {
    pub(crate) fn with_capacity(n: usize) -> SecretBuf {
        SecretBuf(Vec::with_capacity(n))
    }

    /// Makes room for `extra` more bytes without a reallocation that would
    /// leave the old contents in freed memory.
    pub(crate) fn reserve(&mut self, extra: usize) {
        let need = self.0.len().saturating_add(extra);
        if need > self.0.capacity() {
            let mut bigger = Vec::with_capacity(need.max(self.0.capacity().saturating_mul(2)));
            bigger.extend_from_slice(&self.0);
            self.0.zeroize();
            self.0 = bigger;
        }
    }

    pub(crate) fn extend_from_slice(&mut self, b: &[u8]) {
        self.reserve(b.len());
        self.0.extend_from_slice(b);
    }

    pub(crate) fn push(&mut self, b: u8) {
        self.reserve(1);
        self.0.push(b);
    }

    /// Zeroizes the contents and empties the buffer, keeping its allocation.
    pub(crate) fn clear(&mut self) {
        let cap = self.0.capacity();
        self.0.zeroize(); // zeroes len bytes and sets len to 0; capacity kept
        debug_assert_eq!(self.0.capacity(), cap);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl std::io::Write for SecretBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SecretBuf {
    #[inline(never)]
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretBuf")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secret_buf_grows_without_losing_bytes() {
        let mut b = SecretBuf::with_capacity(4);
        b.extend_from_slice(b"abcd");
        b.extend_from_slice(b"efgh");
        assert_eq!(
            b.as_slice(),
            b"efgh".iter().fold(b"abcd".to_vec(), |mut v, x| {
                v.push(*x);
                v
            })
        );
        let cap = b.capacity();
        b.clear();
        assert_eq!(b.len(), 0);
        assert_eq!(b.capacity(), cap);
    }

    #[test]
    fn seeds_evolve_one_way_and_keys_differ_per_epoch() {
        let r0 = [7u8; 32];
        let r1 = evolve(&r0);
        assert_ne!(*r1, r0);
        assert_ne!(*evolve(&r1), *r1);
    }

    #[test]
    fn random_keys_differ() {
        let a = EpochSecrets::new(Zeroizing::new([0; 32])).unwrap();
        let b = EpochSecrets::new(Zeroizing::new([0; 32])).unwrap();
        assert_ne!(a.public(), b.public());
        assert_eq!(format!("{a:?}"), "EpochSecrets { .. }");
    }
}
