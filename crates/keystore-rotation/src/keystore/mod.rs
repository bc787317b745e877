//! The keystore: key versions in a private directory, unlocked by a
//! passphrase or a master key.
//!
//! Split by concern: [`options`] (how a keystore is created and opened),
//! [`open`] (create, open, restore, and the evidence an unlock weighs),
//! [`counters`] (encryption, decryption, message counters, sub-keys),
//! [`rotation`] (rotation, destruction, retirement), [`credential`]
//! (passphrase change and KEK replacement) and [`commit`] (writing a
//! generation).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secure_fs::{DirLock, PrivateDir};

use crate::envelope::{Algorithm, Cipher, KeyId};
use crate::file::{FileState, VersionRecord};
use crate::kdf::Kdf;
use crate::secret::KeyBytes;

mod commit;
mod counters;
mod credential;
mod open;
mod options;
mod rotation;

pub use options::{
    COUNTER_BLOCK, COUNTER_BLOCK_MAX, Clock, DEFAULT_MAX_AGE, DEFAULT_MAX_MESSAGES,
    MAX_MESSAGES_LIMIT, Options, RotationPolicy, SystemClock,
};

/// Name of the keystore file inside its directory.
pub const KEYSTORE_FILE: &str = "keystore";
/// Name of the backup inside the directory: a second copy of the current
/// generation (or, after a crash in the middle of a write, of the next
/// one), written before the keystore file.
pub const BACKUP_FILE: &str = "keystore.bak";

/// The state of one key version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyState {
    /// The one version that encrypts.
    Primary,
    /// Decrypts existing envelopes; never encrypts.
    DecryptOnly,
    /// Key bytes erased from the keystore file; envelopes under it are
    /// unrecoverable.
    Destroyed,
}

/// Public facts about one key version (no key bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The version's id.
    pub id: KeyId,
    /// Its envelope algorithm.
    pub algorithm: Algorithm,
    /// Primary, decrypt-only or destroyed.
    pub state: KeyState,
    /// When it was created.
    pub created: SystemTime,
    /// An upper bound of the messages it encrypted, sub-key budgets
    /// included (exact within this process; rounded up to the reserved
    /// block across restarts).
    pub messages: u64,
}

/// The key material of one live version.
struct Material {
    data_key: KeyBytes,
    cipher: Cipher,
}

impl Material {
    fn new(data_key: KeyBytes, algorithm: Algorithm) -> Arc<Material> {
        let cipher = Cipher::new(&data_key, algorithm);
        Arc::new(Material { data_key, cipher })
    }
}

/// The keys that come out of a key-encryption key.
struct KekKeys {
    kek: KeyBytes,
    wrap_key: KeyBytes,
    mac_key: KeyBytes,
}

impl KekKeys {
    fn derive(kek: KeyBytes, keystore_id: &[u8; 16]) -> KekKeys {
        let wrap_key = crate::file::kek_subkey(&kek, keystore_id, crate::file::WRAP_LABEL);
        let mac_key = crate::file::kek_subkey(&kek, keystore_id, crate::file::MAC_LABEL);
        KekKeys {
            kek,
            wrap_key,
            mac_key,
        }
    }
}

/// The unlocked state, behind the keystore's mutex.
struct Inner {
    file: FileState,
    keys: KekKeys,
    material: BTreeMap<u32, Arc<Material>>,
    /// Messages encrypted by the primary key (an upper bound).
    used: u64,
    /// Size of the next counter reservation.
    block: u64,
}

impl Inner {
    fn primary(&self) -> &VersionRecord {
        // The parser and every mutation keep exactly one primary.
        let i = self
            .file
            .versions
            .iter()
            .position(|v| v.state == KeyState::Primary);
        &self.file.versions[i.unwrap_or(self.file.versions.len() - 1)]
    }
}

/// A keystore: key versions in a private directory, unlocked by a
/// passphrase or a master key. See the [crate documentation](crate).
///
/// One process at a time: the directory's writer lock is held while the
/// `Keystore` lives (a child process that inherits it across `fork()` and
/// drops it does not release the parent's lock). All methods take `&self`;
/// the keystore is `Send` and `Sync`.
pub struct Keystore {
    dir: PrivateDir,
    lock: DirLock,
    options: Options,
    inner: Mutex<Inner>,
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.lock_inner();
        f.debug_struct("Keystore")
            .field("dir", &self.dir.path())
            .field("generation", &g.file.generation)
            .field("primary", &g.primary().id)
            .finish_non_exhaustive()
    }
}

impl Keystore {
    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` half-updated:
        // every mutation builds the next state aside and swaps it in last.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The primary key's id.
    pub fn primary(&self) -> KeyId {
        KeyId::new(self.lock_inner().primary().id)
    }

    /// All key versions, oldest first.
    pub fn keys(&self) -> Vec<KeyInfo> {
        let g = self.lock_inner();
        g.file
            .versions
            .iter()
            .map(|v| KeyInfo {
                id: KeyId::new(v.id),
                algorithm: v.algorithm,
                state: v.state,
                // The parser refuses creation times a `SystemTime` cannot
                // hold; the fallback is never taken.
                created: UNIX_EPOCH
                    .checked_add(Duration::from_secs(v.created))
                    .unwrap_or(UNIX_EPOCH),
                messages: if v.state == KeyState::Primary {
                    g.used
                } else {
                    v.reserved
                },
            })
            .collect()
    }

    /// The generation of the keystore file: 1 at creation, +1 at every
    /// write. A [`crate::RollbackAnchor`] keeps it for you; otherwise keep
    /// it where the keystore's writer cannot roll it back and pass it to
    /// [`Options::expect_generation`].
    pub fn generation(&self) -> u64 {
        self.lock_inner().file.generation
    }

    /// The KDF currently protecting the key-encryption key.
    pub fn kdf(&self) -> Kdf {
        Kdf::from_kind(self.lock_inner().file.kdf)
    }

    /// The keystore's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The path of the keystore file.
    pub fn file_path(&self) -> PathBuf {
        self.dir.path().join(KEYSTORE_FILE)
    }
}

#[cfg(feature = "test-util")]
impl Keystore {
    /// Test and benchmark support (feature `test-util`): `n` rotations in
    /// a single write of the keystore file, to build keystores with many
    /// versions quickly.
    ///
    /// # Errors
    /// As [`Keystore::rotate`].
    #[doc(hidden)]
    pub fn test_util_rotate_n(&self, n: u32) -> crate::Result<KeyId> {
        let mut g = self.lock_inner();
        self.rotate_n_locked(&mut g, n)
    }
}

#[cfg(test)]
mod tests;
