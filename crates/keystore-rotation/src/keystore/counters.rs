//! Encryption, decryption, the persisted message counters, and sub-keys
//! (which draw on the same counters).

use std::sync::Arc;

use super::options::COUNTER_BLOCK_MAX;
use super::{Inner, KeyState, Keystore, Material};
use crate::envelope::{self, KeyId};
use crate::error::{Error, Invalid, Result};
use crate::secret::{KeyBytes, Plaintext, Subkey};
use hkdf::Hkdf;
use sha2::Sha256;

impl Keystore {
    /// Encrypts `plaintext` under the primary key, bound to `context` (for
    /// example the id of the record it belongs to): decryption needs the
    /// same context. Rotates first if the primary is due (age or message
    /// count). A fresh nonce is drawn from the operating system's
    /// generator for every message.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty context; [`Error::Random`];
    /// errors of [`Keystore::rotate`] when a due rotation or a counter
    /// reservation cannot be written.
    pub fn encrypt(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        if context.is_empty() {
            return Err(Error::invalid(Invalid::EmptyContext));
        }
        let (id, material) = {
            let mut g = self.lock_inner();
            self.take_messages(&mut g, 1)?
        };
        material.cipher.seal(id, context, plaintext)
    }

    /// Counts `n` messages (1 <= n <= max_messages) against the primary
    /// key, rotating first if they would exceed its budget or it is too
    /// old, and persisting a larger reservation first when the count
    /// passes the reserved one. Returns the primary that covers them.
    fn take_messages(&self, g: &mut Inner, n: u64) -> Result<(KeyId, Arc<Material>)> {
        let limit = self.options.policy.max_messages();
        if self.due(g) || g.used.saturating_add(n) > limit {
            self.rotate_n_locked(g, 1)?;
        }
        let next = g.used + n;
        if next > g.primary().reserved {
            let reserve = g.used.saturating_add(g.block).min(limit).max(next);
            let mut file = g.file.clone();
            if let Some(v) = file
                .versions
                .iter_mut()
                .find(|v| v.state == KeyState::Primary)
            {
                v.reserved = reserve;
            }
            self.commit(g, file, None)?;
            g.block = (g.block * 2).min(COUNTER_BLOCK_MAX);
        }
        g.used = next;
        let id = g.primary().id;
        let material = g
            .material
            .get(&id)
            .cloned()
            .ok_or(Error::KeyDestroyed { id: KeyId::new(id) })?;
        Ok((KeyId::new(id), material))
    }

    /// Decrypts an envelope made by [`Keystore::encrypt`] with the same
    /// `context`. The plaintext is zeroized when dropped ([`Plaintext`]).
    ///
    /// # Errors
    /// [`Error::DecryptionFailed`] if it does not authenticate (other
    /// context, any edited byte, truncated); [`Error::UnknownKey`],
    /// [`Error::KeyDestroyed`], [`Error::KeyRetired`] when its key version
    /// is missing, destroyed, or below the minimum decryption version;
    /// [`Error::Malformed`] or [`Error::UnsupportedVersion`] if it is not
    /// an envelope.
    pub fn decrypt(&self, context: &[u8], envelope: &[u8]) -> Result<Plaintext> {
        let header = envelope::parse(envelope)?;
        let material = self.material_for_decrypt(header.key_id)?;
        material.cipher.open(&header, context)
    }

    fn material_for_decrypt(&self, id: KeyId) -> Result<Arc<Material>> {
        let g = self.lock_inner();
        let n = u32::from(id);
        let v = g
            .file
            .versions
            .iter()
            .find(|v| v.id == n)
            .ok_or(Error::UnknownKey { id })?;
        if v.state == KeyState::Destroyed {
            return Err(Error::KeyDestroyed { id });
        }
        if n < g.file.min_decrypt {
            return Err(Error::KeyRetired {
                id,
                min: KeyId::new(g.file.min_decrypt),
            });
        }
        g.material
            .get(&n)
            .cloned()
            .ok_or(Error::KeyDestroyed { id })
    }

    /// Re-encrypts an envelope under the current primary key, with the same
    /// context (Vault's "rewrap"): decrypt, then encrypt. Use it to move
    /// data off old key versions before raising the minimum decryption
    /// version or destroying them.
    ///
    /// # Errors
    /// Those of [`Keystore::decrypt`] and [`Keystore::encrypt`].
    pub fn rewrap(&self, context: &[u8], envelope: &[u8]) -> Result<Vec<u8>> {
        let plaintext = self.decrypt(context, envelope)?;
        self.encrypt(context, &plaintext)
    }

    /// A 256-bit sub-key of the primary key version for one purpose, good
    /// for encrypting at most `budget` messages: HKDF-SHA256(data key,
    /// info = "keystore-rotation v1 subkey\0" || label). Different labels
    /// give independent keys, so one keystore can serve several uses
    /// ("entries", "audit-encryption", "audit-mac", "file-names") without
    /// reusing a key.
    ///
    /// The budget counts against the primary's message counter like
    /// `budget` calls of [`Keystore::encrypt`] (persisted before this
    /// returns), so sub-key use drives rotation by use too; the primary is
    /// rotated first if it is due or the budget does not fit in what is
    /// left of it. Derive a new sub-key when the budget is spent (after a
    /// rotation it comes from the new primary). Store [`Subkey::key_id`]
    /// beside what the sub-key protects, to derive the same key for
    /// reading with [`Keystore::subkey_for`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty label or a budget of 0 or
    /// above the rotation policy's `max_messages`; errors of
    /// [`Keystore::rotate`] when a rotation or a counter reservation cannot
    /// be written.
    pub fn subkey(&self, label: &str, budget: u64) -> Result<Subkey> {
        if label.is_empty() {
            return Err(Error::invalid(Invalid::EmptyLabel));
        }
        if budget == 0 || budget > self.options.policy.max_messages() {
            return Err(Error::invalid(Invalid::SubkeyBudget));
        }
        let (id, material) = {
            let mut g = self.lock_inner();
            self.take_messages(&mut g, budget)?
        };
        Ok(Subkey::new(id, derive_subkey(&material, label), budget))
    }

    /// The sub-key `label` of key version `id` (see [`Keystore::subkey`]),
    /// for reading and verifying what it protected: its budget is 0, and
    /// nothing new should be encrypted under it.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty label; [`Error::UnknownKey`],
    /// [`Error::KeyDestroyed`] or [`Error::KeyRetired`] for the version.
    pub fn subkey_for(&self, label: &str, id: KeyId) -> Result<Subkey> {
        if label.is_empty() {
            return Err(Error::invalid(Invalid::EmptyLabel));
        }
        let material = self.material_for_decrypt(id)?;
        Ok(Subkey::new(id, derive_subkey(&material, label), 0))
    }
}

fn derive_subkey(material: &Material, label: &str) -> KeyBytes {
    let mut info = b"keystore-rotation v1 subkey\0".to_vec();
    info.extend_from_slice(label.as_bytes());
    let mut out = KeyBytes::zero();
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = Hkdf::<Sha256>::new(None, material.data_key.expose()).expand(&info, out.expose_mut());
    out
}
