//! Rotation by age and use, destruction and retirement of key versions.

use super::options::COUNTER_BLOCK;
use super::{Inner, KeyState, Keystore, Material};
use crate::envelope::KeyId;
use crate::error::{Error, Invalid, Result};
use crate::file::{self, VersionRecord};
use crate::secret::KeyBytes;

impl Keystore {
    pub(super) fn due(&self, g: &Inner) -> bool {
        let p = g.primary();
        let age = self.options.now_secs().saturating_sub(p.created);
        g.used >= self.options.policy.max_messages()
            || age >= self.options.policy.max_age().as_secs()
    }

    /// Whether the primary key is due for rotation under the policy.
    pub fn rotation_due(&self) -> bool {
        self.due(&self.lock_inner())
    }

    /// Rotates if the primary key is due; returns the new primary's id if
    /// it did.
    ///
    /// # Errors
    /// Those of [`Keystore::rotate`].
    pub fn rotate_if_due(&self) -> Result<Option<KeyId>> {
        let mut g = self.lock_inner();
        if self.due(&g) {
            self.rotate_n_locked(&mut g, 1).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Makes a fresh random key (from the operating system's generator) the
    /// primary; the old primary becomes decrypt-only. Returns the new key's
    /// id. Durable when it returns.
    ///
    /// # Errors
    /// [`Error::Storage`] if the keystore file cannot be written (nothing
    /// changes then); [`Error::Random`]; [`Error::InvalidArgument`] after
    /// 2^32 - 1 versions or when the file would exceed
    /// [`crate::MAX_KEYSTORE_FILE_LEN`]; [`Error::Anchor`] (the rotation is
    /// on disk).
    pub fn rotate(&self) -> Result<KeyId> {
        let mut g = self.lock_inner();
        self.rotate_n_locked(&mut g, 1)
    }

    /// `n` rotations in one write (n >= 1): the last new key is primary.
    pub(super) fn rotate_n_locked(&self, g: &mut Inner, n: u32) -> Result<KeyId> {
        let algorithm = self.options.algorithm;
        let created = self.options.now_secs();
        let mut next = g.file.clone();
        for v in &mut next.versions {
            if v.state == KeyState::Primary {
                v.state = KeyState::DecryptOnly;
                // Exact for this process; the reserved bound otherwise.
                v.reserved = g.used.min(v.reserved);
            }
        }
        let mut new_keys = Vec::new();
        let mut id = next.versions.last().map_or(0, |v| v.id);
        for i in 0..n.max(1) {
            id = id
                .checked_add(1)
                .ok_or(Error::invalid(Invalid::KeyIdsExhausted))?;
            let data_key = KeyBytes::random()?;
            let wrapped = file::wrap_random(
                &g.keys.wrap_key,
                &file::data_key_ad(&next.keystore_id, id, algorithm),
                &data_key,
            )?;
            let last = i + 1 == n.max(1);
            next.versions.push(VersionRecord {
                id,
                algorithm,
                state: if last {
                    KeyState::Primary
                } else {
                    KeyState::DecryptOnly
                },
                created,
                reserved: 0,
                wrapped: Some(wrapped),
            });
            new_keys.push((id, data_key));
        }
        if file::encoded_len(&next) > file::MAX_KEYSTORE_FILE_LEN {
            return Err(Error::invalid(Invalid::TooManyVersions));
        }
        let anchored = self.commit(g, next, None);
        // The new generation is on disk even when only the anchor failed.
        if !matches!(anchored, Ok(()) | Err(Error::Anchor(_))) {
            return anchored.map(|()| KeyId::new(id));
        }
        for (id, data_key) in new_keys {
            g.material.insert(id, Material::new(data_key, algorithm));
        }
        g.used = 0;
        g.block = COUNTER_BLOCK;
        anchored.map(|()| KeyId::new(id))
    }

    /// Destroys a key version: its wrapped key bytes are removed from the
    /// keystore file and from the backup, and its material from memory.
    /// Envelopes under it then fail with [`Error::KeyDestroyed`].
    /// Destroying a destroyed version does nothing.
    ///
    /// The old versions of both files are overwritten in place before they
    /// are released (see the crate documentation for what remains: SSDs,
    /// copy-on-write file systems, snapshots).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for the primary key (rotate first);
    /// [`Error::UnknownKey`]; [`Error::Storage`] on write errors;
    /// [`Error::Anchor`] (the destruction is on disk).
    pub fn destroy(&self, id: KeyId) -> Result<()> {
        let mut g = self.lock_inner();
        let n = u32::from(id);
        let mut next = g.file.clone();
        let v = next
            .versions
            .iter_mut()
            .find(|v| v.id == n)
            .ok_or(Error::UnknownKey { id })?;
        match v.state {
            KeyState::Destroyed => return Ok(()),
            KeyState::Primary => return Err(Error::invalid(Invalid::DestroyPrimary)),
            KeyState::DecryptOnly => {}
        }
        v.state = KeyState::Destroyed;
        v.wrapped = None;
        let r = self.commit(&mut g, next, None);
        if matches!(r, Ok(()) | Err(Error::Anchor(_))) {
            g.material.remove(&n);
        }
        r
    }

    /// Sets the minimum decryption version: envelopes under older versions
    /// fail with [`Error::KeyRetired`] (their keys are kept, so the minimum
    /// can be lowered again). `KeyId::new(0)` removes the minimum.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] above the primary key's id;
    /// [`Error::Storage`] on write errors; [`Error::Anchor`].
    pub fn set_min_decryption_version(&self, id: KeyId) -> Result<()> {
        let mut g = self.lock_inner();
        let n = u32::from(id);
        if n > g.primary().id {
            return Err(Error::invalid(Invalid::MinAbovePrimary));
        }
        let mut next = g.file.clone();
        next.min_decrypt = n;
        self.commit(&mut g, next, None)
    }

    /// The minimum decryption version (`KeyId::new(0)` when none is set).
    pub fn min_decryption_version(&self) -> KeyId {
        KeyId::new(self.lock_inner().file.min_decrypt)
    }
}
