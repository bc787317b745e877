//! Passphrase (credential) change and key-encryption-key replacement.

use super::open::kdf_for;
use super::{KekKeys, Keystore};
use crate::envelope::KeyId;
use crate::error::{Error, Result};
use crate::file;
use crate::kdf::{Credential, derive_unlock_key};
use crate::secret::{KeyBytes, random_array};

impl Keystore {
    /// Changes the passphrase (or switches to or between master keys):
    /// a new salt, the KDF of [`crate::Options::kdf`] for a passphrase, and
    /// only the key-encryption key re-wrapped. Data keys and everything
    /// encrypted with them are untouched, so the cost does not depend on
    /// the amount of data. The backup gets the new generation too, and the
    /// old versions of both files are overwritten in place before they are
    /// released, so the old credential opens nothing this keystore left on
    /// disk.
    ///
    /// The key-encryption key itself stays the same: someone who had both
    /// an old copy of the file and the old passphrase can still unwrap it,
    /// and with it every data key. After a suspected compromise of the
    /// passphrase or of the file, use [`Keystore::rekey`] instead.
    ///
    /// # Errors
    /// [`Error::Storage`] on write errors (the old credential stays valid);
    /// [`Error::Random`]; [`Error::Anchor`] (the change is on disk).
    pub fn change_credential(&self, new: Credential<'_>) -> Result<()> {
        let mut g = self.lock_inner();
        let salt = random_array::<16>()?;
        let kdf = kdf_for(new, &self.options).kind();
        let unlock_key = derive_unlock_key(new, kdf, &salt)?;
        let mut next = g.file.clone();
        next.kdf = kdf;
        next.salt = salt;
        next.kek_wrap = file::wrap_random(
            &unlock_key,
            &file::kek_ad(&next.keystore_id, kdf, &salt),
            &g.keys.kek,
        )?;
        self.commit(&mut g, next, None)
    }

    /// Changes the passphrase; see [`Keystore::change_credential`].
    ///
    /// # Errors
    /// As [`Keystore::change_credential`].
    pub fn change_passphrase(&self, new: &[u8]) -> Result<()> {
        self.change_credential(Credential::Passphrase(new))
    }

    /// Replaces the key-encryption key (KEK): a fresh random KEK, every
    /// live data key re-wrapped under it, the KEK wrapped under `new` (a
    /// new salt, the KDF of [`crate::Options::kdf`] for a passphrase; pass
    /// the current credential to keep it), written as one new generation
    /// to both files, the old versions overwritten in place. The file's
    /// MAC key, derived from the KEK, changes with it.
    ///
    /// Use it after the passphrase (or master key) or a copy of the
    /// keystore file may have leaked: the old KEK, which an old file and
    /// the old passphrase still unwrap, opens nothing written from now on
    /// (neither a data key wrap nor the file's MAC), so key versions
    /// created afterwards are out of reach. The data keys themselves stay
    /// the same, so the data is not touched and still decrypts; the cost
    /// is one KDF run and one wrap per key version, never proportional to
    /// the data. The data keys that were in the leaked file are still
    /// exposed: follow with [`Keystore::rotate`], [`Keystore::rewrap`] of
    /// the data and [`Keystore::destroy`] of the old versions.
    ///
    /// # Errors
    /// [`Error::Storage`] on write errors (the old KEK and credential then
    /// stay valid); [`Error::Random`]; [`Error::Anchor`] (the change is on
    /// disk).
    pub fn rekey(&self, new: Credential<'_>) -> Result<()> {
        let mut g = self.lock_inner();
        let salt = random_array::<16>()?;
        let kdf = kdf_for(new, &self.options).kind();
        let unlock_key = derive_unlock_key(new, kdf, &salt)?;
        let mut next = g.file.clone();
        let keys = KekKeys::derive(KeyBytes::random()?, &next.keystore_id);
        next.kdf = kdf;
        next.salt = salt;
        next.kek_wrap = file::wrap_random(
            &unlock_key,
            &file::kek_ad(&next.keystore_id, kdf, &salt),
            &keys.kek,
        )?;
        for v in &mut next.versions {
            if v.wrapped.is_none() {
                continue;
            }
            let id = KeyId::new(v.id);
            let material = g.material.get(&v.id).ok_or(Error::KeyDestroyed { id })?;
            v.wrapped = Some(file::wrap_random(
                &keys.wrap_key,
                &file::data_key_ad(&next.keystore_id, v.id, v.algorithm),
                &material.data_key,
            )?);
        }
        self.commit(&mut g, next, Some(keys))
    }
}
