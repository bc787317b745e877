//! Types that hold key material: zeroized on drop, never printed, not
//! `Clone`, compared in constant time.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::{Error, RandomError, Result};

/// 32 secret bytes on the heap (so moves do not leave copies behind),
/// zeroized on drop.
pub(crate) struct KeyBytes(Box<[u8; 32]>);

impl KeyBytes {
    /// Fresh bytes from the operating system's generator.
    ///
    /// # Errors
    /// [`Error::Random`] if the generator fails.
    pub(crate) fn random() -> Result<Self> {
        let mut k = Self::zero();
        fill_random(&mut k.0[..])?;
        Ok(k)
    }

    pub(crate) fn zero() -> Self {
        KeyBytes(Box::new([0u8; 32]))
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut k = Self::zero();
        if bytes.len() != 32 {
            return None;
        }
        k.0.copy_from_slice(bytes);
        Some(k)
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn expose_mut(&mut self) -> &mut [u8; 32] {
        &mut self.0
    }
}

impl Drop for KeyBytes {
    #[inline(never)]
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyBytes(<redacted>)")
    }
}

/// Fills `buf` straight from the operating system's generator
/// (`getrandom`: the `getrandom(2)` system call on Linux).
///
/// Never a user-space generator: a process-local generator's state is
/// copied by `fork()` and by VM snapshots, so a parent and its child (or
/// two restored snapshots) would draw the same keys, salts and AES-GCM
/// nonces. Every key, key-encryption key, salt, keystore id and nonce of
/// this crate comes from here.
///
/// # Errors
/// [`Error::Random`] if the generator fails; `buf` is then wiped.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    #[cfg(test)]
    if tests::generator_fails() {
        buf.zeroize();
        return Err(Error::Random(RandomError(getrandom::Error::UNSUPPORTED)));
    }
    getrandom::fill(buf).map_err(|e| {
        buf.zeroize();
        Error::Random(RandomError(e))
    })
}

/// `N` bytes from [`fill_random`].
pub(crate) fn random_array<const N: usize>() -> Result<[u8; N]> {
    let mut a = [0u8; N];
    fill_random(&mut a)?;
    Ok(a)
}

/// A 256-bit key derived from one key version for one purpose (HKDF-SHA256
/// with a caller-chosen label), for example the audit log's encryption or
/// MAC key, or the key of private file names.
///
/// Zeroized on drop; `Debug` prints no bytes; not `Clone`.
pub struct Subkey {
    id: crate::KeyId,
    key: KeyBytes,
    budget: u64,
}

impl Subkey {
    pub(crate) fn new(id: crate::KeyId, key: KeyBytes, budget: u64) -> Self {
        Subkey { id, key, budget }
    }

    /// How many messages this sub-key may encrypt: what was reserved for it
    /// on the keystore's message counter by [`crate::Keystore::subkey`], or
    /// 0 for a sub-key from [`crate::Keystore::subkey_for`] (reading only).
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// The key version this sub-key was derived from (store it beside what
    /// the sub-key protects, to derive the same sub-key after rotation).
    pub fn key_id(&self) -> crate::KeyId {
        self.id
    }

    /// The key bytes. Hand them straight to the primitive that needs them;
    /// do not copy them into long-lived buffers.
    pub fn expose_secret(&self) -> &[u8; 32] {
        self.key.expose()
    }
}

impl fmt::Debug for Subkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subkey")
            .field("key_id", &self.id)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl ConstantTimeEq for Subkey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.key.expose().ct_eq(other.key.expose()) & u32::from(self.id).ct_eq(&u32::from(other.id))
    }
}

/// Decrypted bytes, zeroized when dropped (returned by
/// [`crate::Keystore::decrypt`]). Derefs to `[u8]`; `Debug` prints only
/// the length.
///
/// Not [`zeroize::Zeroizing`]`<Vec<u8>>`, on purpose: that wrapper wipes a
/// `Vec<u8>` one volatile byte write at a time, which made a 64 KiB
/// decryption about 25% slower; this type wipes it with `zeroize`'s bulk
/// slice path (a fill the optimizer may not remove). Use
/// [`Plaintext::into_zeroizing`] where a `Zeroizing` is wanted.
#[derive(Default)]
pub struct Plaintext(Vec<u8>);

impl Plaintext {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Plaintext(bytes)
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// The bytes as a [`zeroize::Zeroizing`] vector, without a copy.
    pub fn into_zeroizing(mut self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(std::mem::take(&mut self.0))
    }
}

impl std::ops::Deref for Plaintext {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Plaintext {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Zeroize for Plaintext {
    fn zeroize(&mut self) {
        // The whole allocation: the bytes and any spare capacity.
        self.0.as_mut_slice().zeroize();
        self.0.spare_capacity_mut().zeroize();
        self.0.clear();
    }
}

impl zeroize::ZeroizeOnDrop for Plaintext {}

impl Drop for Plaintext {
    #[inline(never)]
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plaintext")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

impl PartialEq<[u8]> for Plaintext {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl PartialEq<&[u8]> for Plaintext {
    fn eq(&self, other: &&[u8]) -> bool {
        self.0 == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Plaintext {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.0 == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Plaintext {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_prints_no_bytes() {
        let k = KeyBytes::from_slice(&[0xAB; 32]).unwrap();
        let s = format!("{k:?}");
        assert!(!s.to_lowercase().contains("ab"), "{s}");
        assert!(!s.contains("171"), "{s}");
    }

    std::thread_local! {
        static FAIL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Whether this thread's generator is made to fail (unit tests only).
    pub(super) fn generator_fails() -> bool {
        FAIL.with(std::cell::Cell::get)
    }

    /// Runs `f` with this thread's generator failing.
    pub(crate) fn with_failing_generator<T>(f: impl FnOnce() -> T) -> T {
        FAIL.with(|c| c.set(true));
        let out = f();
        FAIL.with(|c| c.set(false));
        out
    }

    #[test]
    fn random_keys_differ() {
        assert_ne!(
            KeyBytes::random().unwrap().expose(),
            KeyBytes::random().unwrap().expose()
        );
    }

    #[test]
    fn plaintext_is_wiped_and_prints_no_bytes() {
        let mut p = Plaintext::new(b"secret bytes".to_vec());
        assert_eq!(p, b"secret bytes");
        assert_eq!(format!("{p:?}"), "Plaintext { len: 12, .. }");
        p.zeroize();
        assert!(p.is_empty());
        let z = Plaintext::new(vec![7; 3]).into_zeroizing();
        assert_eq!(*z, [7, 7, 7]);
    }

    #[test]
    fn a_failing_generator_is_an_error() {
        let mut buf = [7u8; 16];
        let r = with_failing_generator(|| fill_random(&mut buf));
        assert!(matches!(r, Err(Error::Random(_))));
        assert_eq!(buf, [0; 16], "a failed draw leaves nothing behind");
        assert!(with_failing_generator(KeyBytes::random).is_err());
    }
}
