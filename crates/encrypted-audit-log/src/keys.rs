//! Key material given by the caller, and the per-epoch keys derived from it.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::{Aes256Gcm, KeyInit};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::AeadInOut;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::format::{Suite, TAG_LEN};

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The 256-bit key of a log's MAC chain (for one key version).
///
/// Whoever holds it can verify the log (not decrypt it), and could also
/// forge records; signed anchors kept elsewhere ([`crate::Checkpoint`])
/// make rewriting anything anchored detectable even by a holder. Derive it
/// from your master key with a label of its own, distinct from the
/// [`EncKey`]'s. Erased on drop, never printed.
pub struct MacKey(Zeroizing<[u8; 32]>);

/// The 256-bit key that encrypts a log's records (for one key version).
/// Needed to read records, not to verify the chain. Erased on drop, never
/// printed.
pub struct EncKey(Zeroizing<[u8; 32]>);

impl MacKey {
    /// Wraps 32 bytes of key material. The caller's copy is not erased;
    /// pass a temporary.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MacKey(Zeroizing::new(bytes))
    }
}

impl EncKey {
    /// Wraps 32 bytes of key material. The caller's copy is not erased;
    /// pass a temporary.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        EncKey(Zeroizing::new(bytes))
    }
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacKey").finish_non_exhaustive()
    }
}

impl fmt::Debug for EncKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncKey").finish_non_exhaustive()
    }
}

struct VersionKeys {
    mac: MacKey,
    enc: Option<EncKey>,
}

/// The keys of a log, by key version.
///
/// A writer needs both keys of the newest version (and of the version it
/// resumes, if older); a reader needs both keys of every version it reads;
/// a verifier needs only the MAC keys ([`KeyRing::with_verify_only`]).
/// Versions are chosen by the caller (for example the keystore's key ids)
/// and must increase with each rotation.
///
/// ```
/// use encrypted_audit_log::{EncKey, KeyRing, MacKey};
/// let keys = KeyRing::new().with(1, MacKey::from_bytes([1; 32]), EncKey::from_bytes([2; 32]));
/// assert_eq!(keys.newest_version(), Some(1));
/// ```
#[derive(Default)]
pub struct KeyRing {
    versions: BTreeMap<u32, VersionKeys>,
}

impl KeyRing {
    /// An empty key ring.
    pub fn new() -> Self {
        KeyRing::default()
    }

    /// Adds (or replaces) both keys of `version`.
    #[must_use]
    pub fn with(mut self, version: u32, mac: MacKey, enc: EncKey) -> Self {
        self.versions.insert(
            version,
            VersionKeys {
                mac,
                enc: Some(enc),
            },
        );
        self
    }

    /// Adds (or replaces) only the MAC key of `version`: enough to verify
    /// the chain, not to read records.
    #[must_use]
    pub fn with_verify_only(mut self, version: u32, mac: MacKey) -> Self {
        self.versions
            .insert(version, VersionKeys { mac, enc: None });
        self
    }

    /// Removes both keys of `version` from the ring and erases them from
    /// memory. Returns whether the ring held them.
    /// [`AuditLog::prune_before`](crate::AuditLog::prune_before) does this
    /// for the key versions of the segments it prunes.
    pub fn destroy(&mut self, version: u32) -> bool {
        // `MacKey` and `EncKey` zeroize their bytes on drop.
        self.versions.remove(&version).is_some()
    }

    /// The highest key version in the ring.
    pub fn newest_version(&self) -> Option<u32> {
        self.versions.keys().next_back().copied()
    }

    /// The key versions in the ring, in increasing order.
    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        self.versions.keys().copied()
    }

    pub(crate) fn epoch0(
        &self,
        log_id: &[u8; 16],
        version: u32,
        need_enc: bool,
    ) -> Result<EpochKeys> {
        let keys = self.versions.get(&version).ok_or(Error::MissingKey {
            version,
            encryption: false,
        })?;
        let enc = match (&keys.enc, need_enc) {
            (Some(enc), _) => Some(&*enc.0),
            (None, false) => None,
            (None, true) => {
                return Err(Error::MissingKey {
                    version,
                    encryption: true,
                });
            }
        };
        Ok(EpochKeys::initial(log_id, version, &keys.mac.0, enc))
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("versions", &self.versions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

pub(crate) const LABEL_MAC0: &[u8] = b"EAL1 mac epoch 0\0";
pub(crate) const LABEL_ENC0: &[u8] = b"EAL1 enc epoch 0\0";
pub(crate) const LABEL_MAC_NEXT: &[u8] = b"EAL1 mac evolve\0";
pub(crate) const LABEL_ENC_NEXT: &[u8] = b"EAL1 enc evolve\0";

/// HMAC-SHA256 of `parts` under `key`.
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let mut mac = keyed(key);
    for p in parts {
        mac.update(p);
    }
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

pub(crate) fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length: this cannot fail.
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable_key_length(),
    }
}

#[cold]
#[allow(clippy::panic)] // HMAC and AES-256 accept 32-byte keys; this documents it.
fn unreachable_key_length() -> ! {
    panic!("a 32-byte key was rejected")
}

/// The keys of one epoch of one key version: the MAC key (also kept as a
/// keyed HMAC state, so each record MAC skips the key schedule) and, for
/// writers and readers, the encryption key.
pub(crate) struct EpochKeys {
    pub(crate) version: u32,
    pub(crate) epoch: u32,
    mac_raw: Zeroizing<[u8; 32]>,
    mac: HmacSha256,
    enc_raw: Option<Zeroizing<[u8; 32]>>,
    suite: Suite,
    enc: Option<Cipher>,
}

/// A record cipher of one of the suites, keyed (its key schedule erased on
/// drop by the cipher crates' `zeroize` feature).
pub(crate) enum Cipher {
    /// Boxed: its key schedule is much larger than the other variant.
    Aes(Box<Aes256Gcm>),
    XChaCha(XChaCha20Poly1305),
}

impl Cipher {
    fn new(suite: Suite, key: &[u8]) -> Cipher {
        let c = match suite {
            Suite::Aes256Gcm => Aes256Gcm::new_from_slice(key).map(|c| Cipher::Aes(Box::new(c))),
            Suite::XChaCha20Poly1305 => XChaCha20Poly1305::new_from_slice(key).map(Cipher::XChaCha),
        };
        match c {
            Ok(c) => c,
            Err(_) => unreachable_key_length(),
        }
    }

    /// Encrypts `buf` in place; returns the tag. `None` if `nonce` has the
    /// wrong length for the suite or the message is too long.
    pub(crate) fn encrypt(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Option<[u8; TAG_LEN]> {
        let tag = match self {
            Cipher::Aes(c) => {
                let n = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(nonce).ok()?;
                c.encrypt_inout_detached(&n, aad, buf.into()).ok()?
            }
            Cipher::XChaCha(c) => {
                let n = chacha20poly1305::XNonce::try_from(nonce).ok()?;
                c.encrypt_inout_detached(&n, aad, buf.into()).ok()?
            }
        };
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(&tag);
        Some(t)
    }

    /// Decrypts `buf` in place if `tag` authenticates it; `false` otherwise
    /// (`buf` then holds no plaintext worth keeping).
    pub(crate) fn decrypt(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
        let Ok(tag) = chacha20poly1305::Tag::try_from(tag) else {
            return false;
        };
        match self {
            Cipher::Aes(c) => aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(nonce)
                .is_ok_and(|n| c.decrypt_inout_detached(&n, aad, buf.into(), &tag).is_ok()),
            Cipher::XChaCha(c) => chacha20poly1305::XNonce::try_from(nonce)
                .is_ok_and(|n| c.decrypt_inout_detached(&n, aad, buf.into(), &tag).is_ok()),
        }
    }
}

impl EpochKeys {
    fn initial(log_id: &[u8; 16], version: u32, mac: &[u8; 32], enc: Option<&[u8; 32]>) -> Self {
        let v = version.to_le_bytes();
        let mac_raw = hmac(mac, &[LABEL_MAC0, log_id, &v]);
        let enc_raw = enc.map(|k| hmac(k, &[LABEL_ENC0, log_id, &v]));
        Self::from_raw(version, 0, mac_raw, enc_raw, Suite::default())
    }

    fn from_raw(
        version: u32,
        epoch: u32,
        mac_raw: Zeroizing<[u8; 32]>,
        enc_raw: Option<Zeroizing<[u8; 32]>>,
        suite: Suite,
    ) -> Self {
        let mac = keyed(mac_raw.as_slice());
        let enc = enc_raw.as_ref().map(|k| Cipher::new(suite, k.as_slice()));
        EpochKeys {
            version,
            epoch,
            mac_raw,
            mac,
            enc_raw,
            suite,
            enc,
        }
    }

    /// The same keys, encrypting with `suite` (a segment's, from its
    /// header). The MAC keys do not depend on the suite.
    pub(crate) fn with_suite(mut self, suite: Suite) -> Self {
        if suite != self.suite {
            self.enc = self
                .enc_raw
                .as_ref()
                .map(|k| Cipher::new(suite, k.as_slice()));
            self.suite = suite;
        }
        self
    }

    pub(crate) fn suite(&self) -> Suite {
        self.suite
    }

    /// A placeholder holding a random MAC key and no encryption key: no
    /// record verifies under it. Used only while keys are being replaced.
    pub(crate) fn keyless(version: u32, epoch: u32) -> Self {
        let raw: [u8; 32] = rand::random();
        Self::from_raw(version, epoch, Zeroizing::new(raw), None, Suite::default())
    }

    /// The one-way step to the next epoch. `self` (the old keys) is consumed
    /// and erased on drop.
    pub(crate) fn evolve(self) -> Self {
        let mac_raw = hmac(self.mac_raw.as_slice(), &[LABEL_MAC_NEXT]);
        let enc_raw = self
            .enc_raw
            .as_ref()
            .map(|k| hmac(k.as_slice(), &[LABEL_ENC_NEXT]));
        Self::from_raw(
            self.version,
            self.epoch.saturating_add(1),
            mac_raw,
            enc_raw,
            self.suite,
        )
    }

    /// Evolves until `epoch` (which must not be earlier). Only the raw keys
    /// take the steps; the HMAC state and cipher are built once, at the end
    /// (an epoch number read from a file is checked only after this).
    pub(crate) fn evolve_to(self, epoch: u32) -> Self {
        if self.epoch >= epoch {
            return self;
        }
        let mut mac_raw = hmac(self.mac_raw.as_slice(), &[LABEL_MAC_NEXT]);
        let mut enc_raw = self
            .enc_raw
            .as_ref()
            .map(|k| hmac(k.as_slice(), &[LABEL_ENC_NEXT]));
        for _ in self.epoch + 1..epoch {
            mac_raw = hmac(mac_raw.as_slice(), &[LABEL_MAC_NEXT]);
            enc_raw = enc_raw.map(|k| hmac(k.as_slice(), &[LABEL_ENC_NEXT]));
        }
        Self::from_raw(self.version, epoch, mac_raw, enc_raw, self.suite)
    }

    /// A fresh HMAC state keyed with this epoch's MAC key.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    pub(crate) fn cipher(&self) -> Option<&Cipher> {
        self.enc.as_ref()
    }

    /// Test hook: the raw MAC key of this epoch (what an attacker who
    /// compromises the writer during this epoch learns).
    #[cfg(test)]
    pub(crate) fn mac_raw(&self) -> [u8; 32] {
        *self.mac_raw
    }

    #[cfg(test)]
    pub(crate) fn enc_raw(&self) -> Option<[u8; 32]> {
        self.enc_raw.as_deref().copied()
    }

    #[cfg(test)]
    pub(crate) fn from_mac_raw_for_test(version: u32, epoch: u32, raw: [u8; 32]) -> Self {
        Self::from_raw(version, epoch, Zeroizing::new(raw), None, Suite::default())
    }
}

impl fmt::Debug for EpochKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochKeys")
            .field("version", &self.version)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}
