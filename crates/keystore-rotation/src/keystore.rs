//! The keystore: key versions, rotation, the keystore file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hkdf::Hkdf;
use secure_fs::{DirLock, PrivateDir};
use sha2::Sha256;

use crate::envelope::{self, Algorithm, Cipher, KeyId};
use crate::error::{Error, Result};
use crate::file::{self, FileState, VersionRecord};
use crate::kdf::{Credential, Kdf, derive_unlock_key};
use crate::secret::{KeyBytes, Subkey, fill_random};

/// Name of the keystore file inside its directory.
pub const KEYSTORE_FILE: &str = "keystore";
/// Name of the backup (the previous generation) inside the directory.
pub const BACKUP_FILE: &str = "keystore.bak";

/// Default limit of messages per key before rotation: 2^31, half the NIST
/// SP 800-38D bound of 2^32 random 96-bit nonces per key.
pub const DEFAULT_MAX_MESSAGES: u64 = 1 << 31;
/// The hard upper bound a policy may set: 2^32 messages per key.
pub const MAX_MESSAGES_LIMIT: u64 = 1 << 32;
/// Default maximum age of the primary key: 30 days.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Message counts are persisted as reservations: the file records an upper
/// bound, written before the messages are encrypted, so a crash or restart
/// can over-count but never under-count. A process's first reservation is
/// this many messages; each further one doubles, up to
/// [`COUNTER_BLOCK_MAX`]. A restart therefore over-counts by at most
/// `max(COUNTER_BLOCK, messages encrypted by that process)`, and a busy
/// process writes the keystore file only O(log n) times for n messages.
pub const COUNTER_BLOCK: u64 = 1 << 12;
/// The largest single reservation of the message counter.
pub const COUNTER_BLOCK_MAX: u64 = 1 << 24;

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

/// A source of the current time; injectable so tests can move time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's real-time clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// When the primary key is replaced: after `max_age`, or after
/// `max_messages` encryptions, whichever comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    max_age: Duration,
    max_messages: u64,
}

impl Default for RotationPolicy {
    /// 30 days or 2^31 messages.
    fn default() -> Self {
        RotationPolicy {
            max_age: DEFAULT_MAX_AGE,
            max_messages: DEFAULT_MAX_MESSAGES,
        }
    }
}

impl RotationPolicy {
    /// A policy with the given limits.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `max_age` is zero or `max_messages` is
    /// 0 or above 2^32 (the NIST limit for random 96-bit nonces).
    pub fn new(max_age: Duration, max_messages: u64) -> Result<RotationPolicy> {
        if max_age.is_zero() {
            return Err(Error::InvalidArgument {
                reason: "rotation max_age must be positive",
            });
        }
        if max_messages == 0 || max_messages > MAX_MESSAGES_LIMIT {
            return Err(Error::InvalidArgument {
                reason: "rotation max_messages must be between 1 and 2^32",
            });
        }
        Ok(RotationPolicy {
            max_age,
            max_messages,
        })
    }

    /// The maximum age of the primary key.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The maximum number of messages the primary key encrypts.
    pub fn max_messages(&self) -> u64 {
        self.max_messages
    }
}

/// How a keystore is created and opened.
///
/// ```
/// use keystore_rotation::{Algorithm, Kdf, Options};
/// let options = Options::default()
///     .kdf(Kdf::argon2id())
///     .algorithm(Algorithm::XChaCha20Poly1305)
///     .expect_generation(7);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    kdf: Kdf,
    algorithm: Algorithm,
    policy: RotationPolicy,
    clock: Arc<dyn Clock>,
    min_generation: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            kdf: Kdf::default(),
            algorithm: Algorithm::default(),
            policy: RotationPolicy::default(),
            clock: Arc::new(SystemClock),
            min_generation: None,
        }
    }
}

impl Options {
    /// The KDF for new passphrases (creation, passphrase change) and the
    /// target of the upgrade at open: a keystore stored with weaker
    /// parameters is re-wrapped with these at its next successful unlock.
    /// Default: PBKDF2-HMAC-SHA256, 600,000 iterations.
    #[must_use]
    pub fn kdf(mut self, kdf: Kdf) -> Self {
        self.kdf = kdf;
        self
    }

    /// The algorithm of new key versions. Default: AES-256-GCM.
    #[must_use]
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// When the primary key is rotated. Default: 30 days or 2^31 messages.
    #[must_use]
    pub fn rotation_policy(mut self, policy: RotationPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The clock used for key ages (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The generation the caller last saw (from [`Keystore::generation`],
    /// kept somewhere the keystore's writer cannot roll back). Opening a
    /// file of an older generation then fails with [`Error::Rollback`].
    #[must_use]
    pub fn expect_generation(mut self, generation: u64) -> Self {
        self.min_generation = Some(generation);
        self
    }

    fn now_secs(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
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
    /// An upper bound of the messages it encrypted (exact within this
    /// process; rounded up to the reserved block across restarts).
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

/// The unlocked state, behind the keystore's mutex.
struct Inner {
    file: FileState,
    /// The bytes of the current keystore file (the next backup).
    bytes: Vec<u8>,
    kek: KeyBytes,
    wrap_key: KeyBytes,
    mac_key: KeyBytes,
    keys: BTreeMap<u32, Arc<Material>>,
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

/// The keys of a new key-encryption key, swapped in by a commit.
struct KekKeys {
    kek: KeyBytes,
    wrap_key: KeyBytes,
    mac_key: KeyBytes,
}

/// Which backup a commit leaves behind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Backup {
    /// The previous generation (rotation, counters, policy changes).
    Previous,
    /// The new generation too: after a destroy (so the erased key is not
    /// kept in the backup), a credential change (so the old passphrase
    /// opens nothing on disk) and a rekey (so the old KEK does not
    /// survive in the backup).
    Replace,
}

/// A keystore: key versions in a private directory, unlocked by a
/// passphrase or a master key. See the [crate documentation](crate).
///
/// One process at a time: the directory's writer lock is held while the
/// `Keystore` lives. All methods take `&self`; the keystore is `Send` and
/// `Sync`.
pub struct Keystore {
    dir: PrivateDir,
    _lock: DirLock,
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

fn random_array<const N: usize>() -> [u8; N] {
    let mut a = [0u8; N];
    fill_random(&mut a);
    a
}

fn kdf_for(credential: Credential<'_>, options: &Options) -> Kdf {
    match credential {
        Credential::Passphrase(_) => options.kdf,
        Credential::MasterKey(_) => Kdf::master_key(),
    }
}

fn open_dir(path: &Path) -> Result<PrivateDir> {
    PrivateDir::open(path).map_err(|e| match e.kind() {
        secure_fs::ErrorKind::NotFound => Error::NotFound {
            path: path.join(KEYSTORE_FILE),
        },
        _ => Error::Fs(e),
    })
}

impl Keystore {
    /// Creates a new keystore in the directory `dir` (created 0700 if
    /// missing; it should be the keystore's own directory), with one
    /// primary key version.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] if a keystore or backup is there;
    /// [`Error::Fs`] if the directory is not private or locked by another
    /// process, or on I/O errors.
    pub fn create(
        dir: impl AsRef<Path>,
        credential: Credential<'_>,
        options: &Options,
    ) -> Result<Keystore> {
        let dir = PrivateDir::create(dir.as_ref())?;
        let lock = dir.lock()?;
        dir.remove_stale_temp_files()?;
        for name in [KEYSTORE_FILE, BACKUP_FILE] {
            if dir.exists(name)? {
                return Err(Error::AlreadyExists {
                    path: dir.path().join(name),
                });
            }
        }
        let keystore_id = random_array::<16>();
        let salt = random_array::<16>();
        let kdf = kdf_for(credential, options).kind();
        let unlock_key = derive_unlock_key(credential, kdf, &salt)?;
        let kek = KeyBytes::random();
        let kek_wrap = file::wrap(
            &unlock_key,
            &random_array(),
            &file::kek_ad(&keystore_id, kdf, &salt),
            &kek,
        )?;
        let wrap_key = file::kek_subkey(&kek, &keystore_id, file::WRAP_LABEL);
        let mac_key = file::kek_subkey(&kek, &keystore_id, file::MAC_LABEL);
        let data_key = KeyBytes::random();
        let algorithm = options.algorithm;
        let wrapped = file::wrap(
            &wrap_key,
            &random_array(),
            &file::data_key_ad(&keystore_id, 1, algorithm),
            &data_key,
        )?;
        let state = FileState {
            keystore_id,
            generation: 1,
            kdf,
            salt,
            kek_wrap,
            min_decrypt: 0,
            versions: vec![VersionRecord {
                id: 1,
                algorithm,
                state: KeyState::Primary,
                created: options.now_secs(),
                reserved: 0,
                wrapped: Some(wrapped),
            }],
        };
        let bytes = file::encode(&state, &mac_key);
        dir.write_atomic(KEYSTORE_FILE, &bytes)?;
        let mut keys = BTreeMap::new();
        keys.insert(1, Material::new(data_key, algorithm));
        let inner = Inner {
            file: state,
            bytes,
            kek,
            wrap_key,
            mac_key,
            keys,
            used: 0,
            block: COUNTER_BLOCK,
        };
        Ok(Keystore {
            dir,
            _lock: lock,
            options: options.clone(),
            inner: Mutex::new(inner),
        })
    }

    /// Opens the keystore in `dir` and unlocks it.
    ///
    /// Checks, in order: the format version, the file's checksum, its
    /// structure, the credential, the MAC over the whole file (keyed by the
    /// key-encryption key), and the generation against
    /// [`Options::expect_generation`]. If the file's KDF is weaker than
    /// [`Options::kdf`] and a passphrase was given, the key-encryption key
    /// is re-wrapped with the stronger KDF before this returns (data keys
    /// and data are untouched).
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::WrongCredential`]; [`Error::Tampered`];
    /// [`Error::Rollback`]; [`Error::UnsupportedVersion`] or
    /// [`Error::Malformed`] for a file that is not a keystore of this
    /// version; [`Error::Fs`] (another process holds the keystore, the
    /// directory is not private, I/O).
    pub fn open(
        dir: impl AsRef<Path>,
        credential: Credential<'_>,
        options: &Options,
    ) -> Result<Keystore> {
        let (dir, lock, inner) = load(dir.as_ref(), KEYSTORE_FILE, credential, options)?;
        let upgrade = matches!(credential, Credential::Passphrase(_))
            && Kdf::from_kind(inner.file.kdf).weaker_than(&options.kdf);
        let ks = Keystore {
            dir,
            _lock: lock,
            options: options.clone(),
            inner: Mutex::new(inner),
        };
        if upgrade {
            ks.change_credential(credential)?;
        }
        Ok(ks)
    }

    /// Recovers from a damaged keystore file: unlocks the backup
    /// (`keystore.bak`, the previous generation) with all the checks of
    /// [`Keystore::open`], then puts it back in place as the keystore file.
    ///
    /// The backup may lack the last change: a key version created by the
    /// last rotation is then missing (its envelopes fail with
    /// [`Error::UnknownKey`]). A destroyed key version never comes back:
    /// a destroy, a credential change and a rekey write the backup first,
    /// with the new generation (after a crash in the middle of one, the
    /// backup may be that new generation while the keystore file is still
    /// the old one). Pass [`Options::expect_generation`] to refuse a backup
    /// older than what you know.
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is no backup; otherwise as
    /// [`Keystore::open`].
    pub fn restore_backup(
        dir: impl AsRef<Path>,
        credential: Credential<'_>,
        options: &Options,
    ) -> Result<Keystore> {
        let (dir, lock, inner) = load(dir.as_ref(), BACKUP_FILE, credential, options)?;
        dir.write_atomic(KEYSTORE_FILE, &inner.bytes)?;
        Ok(Keystore {
            dir,
            _lock: lock,
            options: options.clone(),
            inner: Mutex::new(inner),
        })
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` half-updated:
        // every mutation builds the next state aside and swaps it in last.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encrypts `plaintext` under the primary key, bound to `context` (for
    /// example the id of the record it belongs to): decryption needs the
    /// same context. Rotates first if the primary is due (age or message
    /// count). A fresh random nonce is drawn for every message.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty context; errors of
    /// [`Keystore::rotate`] when a due rotation or a counter reservation
    /// cannot be written.
    pub fn encrypt(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        if context.is_empty() {
            return Err(Error::InvalidArgument {
                reason: "the context must not be empty",
            });
        }
        let (id, material) = {
            let mut g = self.lock_inner();
            if self.due(&g) {
                self.rotate_locked(&mut g)?;
            }
            let next = g.used + 1;
            if next > g.primary().reserved {
                let limit = self.options.policy.max_messages;
                let reserve = g.used.saturating_add(g.block).min(limit).max(next);
                g.block = (g.block * 2).min(COUNTER_BLOCK_MAX);
                let mut file = g.file.clone();
                if let Some(v) = file
                    .versions
                    .iter_mut()
                    .find(|v| v.state == KeyState::Primary)
                {
                    v.reserved = reserve;
                }
                self.commit(&mut g, file, Backup::Previous)?;
            }
            g.used = next;
            let id = g.primary().id;
            let material = g
                .keys
                .get(&id)
                .cloned()
                .ok_or(Error::KeyDestroyed { id: KeyId::new(id) })?;
            (KeyId::new(id), material)
        };
        material.cipher.seal(id, context, plaintext)
    }

    /// Decrypts an envelope made by [`Keystore::encrypt`] with the same
    /// `context`.
    ///
    /// # Errors
    /// [`Error::DecryptionFailed`] if it does not authenticate (other
    /// context, any edited byte, truncated); [`Error::UnknownKey`],
    /// [`Error::KeyDestroyed`], [`Error::KeyRetired`] when its key version
    /// is missing, destroyed, or below the minimum decryption version;
    /// [`Error::Malformed`] or [`Error::UnsupportedVersion`] if it is not
    /// an envelope.
    pub fn decrypt(&self, context: &[u8], envelope: &[u8]) -> Result<Vec<u8>> {
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
        g.keys.get(&n).cloned().ok_or(Error::KeyDestroyed { id })
    }

    /// Re-encrypts an envelope under the current primary key, with the same
    /// context (Vault's "rewrap"): decrypt, then encrypt. Use it to move
    /// data off old key versions before raising the minimum decryption
    /// version or destroying them.
    ///
    /// # Errors
    /// Those of [`Keystore::decrypt`] and [`Keystore::encrypt`].
    pub fn rewrap(&self, context: &[u8], envelope: &[u8]) -> Result<Vec<u8>> {
        let mut plaintext = zeroize::Zeroizing::new(self.decrypt(context, envelope)?);
        let out = self.encrypt(context, &plaintext);
        zeroize::Zeroize::zeroize(&mut *plaintext);
        out
    }

    fn due(&self, g: &Inner) -> bool {
        let p = g.primary();
        let age = self.options.now_secs().saturating_sub(p.created);
        g.used >= self.options.policy.max_messages || age >= self.options.policy.max_age.as_secs()
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
            self.rotate_locked(&mut g).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Makes a fresh random key the primary; the old primary becomes
    /// decrypt-only. Returns the new key's id.
    ///
    /// # Errors
    /// [`Error::Fs`] if the keystore file cannot be written (nothing
    /// changes then); [`Error::InvalidArgument`] after 2^32 - 1 versions.
    pub fn rotate(&self) -> Result<KeyId> {
        let mut g = self.lock_inner();
        self.rotate_locked(&mut g)
    }

    fn rotate_locked(&self, g: &mut Inner) -> Result<KeyId> {
        self.rotate_n_locked(g, 1)
    }

    /// `n` rotations in one write (n >= 1): the last new key is primary.
    fn rotate_n_locked(&self, g: &mut Inner, n: u32) -> Result<KeyId> {
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
            id = id.checked_add(1).ok_or(Error::InvalidArgument {
                reason: "no key ids left",
            })?;
            let data_key = KeyBytes::random();
            let wrapped = file::wrap(
                &g.wrap_key,
                &random_array(),
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
        self.commit(g, next, Backup::Previous)?;
        for (id, data_key) in new_keys {
            g.keys.insert(id, Material::new(data_key, algorithm));
        }
        g.used = 0;
        g.block = COUNTER_BLOCK;
        Ok(KeyId::new(id))
    }

    /// Destroys a key version: its wrapped key bytes are removed from the
    /// keystore file and from the backup, and its material from memory.
    /// Envelopes under it then fail with [`Error::KeyDestroyed`]. Destroying
    /// a destroyed version does nothing.
    ///
    /// The old bytes may survive on the storage device (see secure-fs on
    /// copy-on-write file systems and SSDs).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for the primary key (rotate first);
    /// [`Error::UnknownKey`]; [`Error::Fs`] on write errors.
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
            KeyState::Primary => {
                return Err(Error::InvalidArgument {
                    reason: "the primary key cannot be destroyed; rotate first",
                });
            }
            KeyState::DecryptOnly => {}
        }
        v.state = KeyState::Destroyed;
        v.wrapped = None;
        self.commit(&mut g, next, Backup::Replace)?;
        g.keys.remove(&n);
        Ok(())
    }

    /// Sets the minimum decryption version: envelopes under older versions
    /// fail with [`Error::KeyRetired`] (their keys are kept, so the minimum
    /// can be lowered again). `KeyId::new(0)` removes the minimum.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] above the primary key's id; [`Error::Fs`]
    /// on write errors.
    pub fn set_min_decryption_version(&self, id: KeyId) -> Result<()> {
        let mut g = self.lock_inner();
        let n = u32::from(id);
        if n > g.primary().id {
            return Err(Error::InvalidArgument {
                reason: "the minimum decryption version cannot exceed the primary key",
            });
        }
        let mut next = g.file.clone();
        next.min_decrypt = n;
        self.commit(&mut g, next, Backup::Previous)
    }

    /// The minimum decryption version (`KeyId::new(0)` when none is set).
    pub fn min_decryption_version(&self) -> KeyId {
        KeyId::new(self.lock_inner().file.min_decrypt)
    }

    /// Changes the passphrase (or switches to or between master keys):
    /// a new salt, the KDF of [`Options::kdf`] for a passphrase, and only
    /// the key-encryption key re-wrapped. Data keys and everything encrypted
    /// with them are untouched, so the cost does not depend on the amount of
    /// data. The backup is replaced too, so the old credential opens nothing
    /// left on disk by this keystore.
    ///
    /// The key-encryption key itself stays the same: someone who had both
    /// an old copy of the file and the old passphrase can still unwrap it,
    /// and with it every data key. After a suspected compromise of the
    /// passphrase or of the file, use [`Keystore::rekey`] instead.
    ///
    /// # Errors
    /// [`Error::Fs`] on write errors (the old credential stays valid).
    pub fn change_credential(&self, new: Credential<'_>) -> Result<()> {
        let mut g = self.lock_inner();
        let salt = random_array::<16>();
        let kdf = kdf_for(new, &self.options).kind();
        let unlock_key = derive_unlock_key(new, kdf, &salt)?;
        let mut next = g.file.clone();
        next.kdf = kdf;
        next.salt = salt;
        next.kek_wrap = file::wrap(
            &unlock_key,
            &random_array(),
            &file::kek_ad(&next.keystore_id, kdf, &salt),
            &g.kek,
        )?;
        self.commit(&mut g, next, Backup::Replace)
    }

    /// Replaces the key-encryption key (KEK): a fresh random KEK, every
    /// live data key re-wrapped under it, the KEK wrapped under `new` (a
    /// new salt, the KDF of [`Options::kdf`] for a passphrase; pass the
    /// current credential to keep it), written as one new generation with
    /// the backup replaced too. The file's MAC key, derived from the KEK,
    /// changes with it.
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
    /// [`Error::Fs`] on write errors (the old KEK and credential then stay
    /// valid).
    pub fn rekey(&self, new: Credential<'_>) -> Result<()> {
        let mut g = self.lock_inner();
        let salt = random_array::<16>();
        let kdf = kdf_for(new, &self.options).kind();
        let unlock_key = derive_unlock_key(new, kdf, &salt)?;
        let kek = KeyBytes::random();
        let mut next = g.file.clone();
        let wrap_key = file::kek_subkey(&kek, &next.keystore_id, file::WRAP_LABEL);
        let mac_key = file::kek_subkey(&kek, &next.keystore_id, file::MAC_LABEL);
        next.kdf = kdf;
        next.salt = salt;
        next.kek_wrap = file::wrap(
            &unlock_key,
            &random_array(),
            &file::kek_ad(&next.keystore_id, kdf, &salt),
            &kek,
        )?;
        for v in &mut next.versions {
            if v.wrapped.is_none() {
                continue;
            }
            let id = KeyId::new(v.id);
            let material = g.keys.get(&v.id).ok_or(Error::KeyDestroyed { id })?;
            v.wrapped = Some(file::wrap(
                &wrap_key,
                &random_array(),
                &file::data_key_ad(&next.keystore_id, v.id, v.algorithm),
                &material.data_key,
            )?);
        }
        self.commit_with(
            &mut g,
            next,
            Backup::Replace,
            Some(KekKeys {
                kek,
                wrap_key,
                mac_key,
            }),
        )
    }

    /// Changes the passphrase; see [`Keystore::change_credential`].
    ///
    /// # Errors
    /// As [`Keystore::change_credential`].
    pub fn change_passphrase(&self, new: &[u8]) -> Result<()> {
        self.change_credential(Credential::Passphrase(new))
    }

    /// Writes `next` as the next generation: the backup first (the current
    /// file, or with [`Backup::Replace`] the new one), then the new file,
    /// each atomically (temporary file, fsync, rename, directory fsync).
    /// The in-memory state changes only once the new file is in place.
    fn commit(&self, g: &mut Inner, next: FileState, backup: Backup) -> Result<()> {
        self.commit_with(g, next, backup, None)
    }

    /// [`Keystore::commit`], optionally under a new key-encryption key
    /// (`next` then holds wraps under it, and its MAC key signs the file).
    fn commit_with(
        &self,
        g: &mut Inner,
        mut next: FileState,
        backup: Backup,
        new_kek: Option<KekKeys>,
    ) -> Result<()> {
        next.generation = g
            .file
            .generation
            .checked_add(1)
            .ok_or(Error::InvalidArgument {
                reason: "generation counter exhausted",
            })?;
        let bytes = file::encode(&next, new_kek.as_ref().map_or(&g.mac_key, |k| &k.mac_key));
        // Backup first, in both cases: a crash between the two writes then
        // leaves the keystore file at the old generation (the change did
        // not happen) rather than a new keystore file beside a backup that
        // still holds a destroyed key, the old credential or the old KEK.
        match backup {
            Backup::Previous => self.dir.write_atomic(BACKUP_FILE, &g.bytes)?,
            Backup::Replace => self.dir.write_atomic(BACKUP_FILE, &bytes)?,
        }
        self.dir.write_atomic(KEYSTORE_FILE, &bytes)?;
        g.file = next;
        g.bytes = bytes;
        if let Some(k) = new_kek {
            g.kek = k.kek;
            g.wrap_key = k.wrap_key;
            g.mac_key = k.mac_key;
        }
        Ok(())
    }

    /// A 256-bit sub-key of the primary key version for one purpose:
    /// HKDF-SHA256(data key, info = "keystore-rotation v1 subkey\0" ||
    /// label). Different labels give independent keys, so one keystore
    /// can serve several uses ("entries", "audit-encryption", "audit-mac",
    /// "file-names") without reusing a key. Store [`Subkey::key_id`] to
    /// derive the same key later with [`Keystore::subkey_for`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty label.
    pub fn subkey(&self, label: &str) -> Result<Subkey> {
        let id = KeyId::new(self.lock_inner().primary().id);
        self.subkey_for(label, id)
    }

    /// The sub-key `label` of key version `id` (see [`Keystore::subkey`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty label; [`Error::UnknownKey`],
    /// [`Error::KeyDestroyed`] or [`Error::KeyRetired`] for the version.
    pub fn subkey_for(&self, label: &str, id: KeyId) -> Result<Subkey> {
        if label.is_empty() {
            return Err(Error::InvalidArgument {
                reason: "the sub-key label must not be empty",
            });
        }
        let material = self.material_for_decrypt(id)?;
        let mut info = b"keystore-rotation v1 subkey\0".to_vec();
        info.extend_from_slice(label.as_bytes());
        let mut out = KeyBytes::zero();
        let _ =
            Hkdf::<Sha256>::new(None, material.data_key.expose()).expand(&info, out.expose_mut());
        Ok(Subkey::new(id, out))
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
                created: UNIX_EPOCH + Duration::from_secs(v.created),
                messages: if v.state == KeyState::Primary {
                    g.used
                } else {
                    v.reserved
                },
            })
            .collect()
    }

    /// The generation of the keystore file: 1 at creation, +1 at every
    /// write. Keep it where the keystore's writer cannot roll it back and
    /// pass it to [`Options::expect_generation`] to detect rollbacks.
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
    pub fn test_util_rotate_n(&self, n: u32) -> Result<KeyId> {
        let mut g = self.lock_inner();
        self.rotate_n_locked(&mut g, n)
    }
}

/// Parses and unlocks keystore file bytes.
/// The common start of [`Keystore::open`] and [`Keystore::restore_backup`]:
/// open the directory, take the writer lock, clear stale temporary files,
/// then read `file`, unlock it and apply the rollback check.
fn load(
    dir: &Path,
    file: &str,
    credential: Credential<'_>,
    options: &Options,
) -> Result<(PrivateDir, DirLock, Inner)> {
    let dir = open_dir(dir)?;
    let lock = dir.lock()?;
    dir.remove_stale_temp_files()?;
    let path = dir.path().join(file);
    if !dir.exists(file)? {
        return Err(Error::NotFound { path });
    }
    let bytes = dir.read(file)?;
    let inner = unlock(bytes, &path, credential)?;
    if let Some(expected) = options.min_generation
        && inner.file.generation < expected
    {
        return Err(Error::Rollback {
            found: inner.file.generation,
            expected,
        });
    }
    Ok((dir, lock, inner))
}

fn unlock(bytes: Vec<u8>, path: &Path, credential: Credential<'_>) -> Result<Inner> {
    let file = file::parse(&bytes, path)?;
    let unlock_key = derive_unlock_key(credential, file.kdf, &file.salt)?;
    let kek = file::unwrap(
        &unlock_key,
        &file::kek_ad(&file.keystore_id, file.kdf, &file.salt),
        &file.kek_wrap,
    )
    .ok_or(Error::WrongCredential)?;
    let mac_key = file::kek_subkey(&kek, &file.keystore_id, file::MAC_LABEL);
    if !file::verify_mac(&mac_key, &bytes) {
        return Err(Error::Tampered {
            path: path.to_path_buf(),
            check: "MAC",
        });
    }
    let wrap_key = file::kek_subkey(&kek, &file.keystore_id, file::WRAP_LABEL);
    let mut keys = BTreeMap::new();
    for v in &file.versions {
        if let Some(w) = &v.wrapped {
            let ad = file::data_key_ad(&file.keystore_id, v.id, v.algorithm);
            let dk = file::unwrap(&wrap_key, &ad, w).ok_or(Error::Tampered {
                path: path.to_path_buf(),
                check: "key wrap",
            })?;
            keys.insert(v.id, Material::new(dk, v.algorithm));
        }
    }
    let used = file
        .versions
        .iter()
        .find(|v| v.state == KeyState::Primary)
        .map_or(0, |v| v.reserved);
    Ok(Inner {
        file,
        bytes,
        kek,
        wrap_key,
        mac_key,
        keys,
        used,
        block: COUNTER_BLOCK,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn copy(k: &KeyBytes) -> KeyBytes {
        KeyBytes::from_slice(k.expose()).unwrap()
    }

    #[test]
    fn after_a_rekey_the_old_kek_opens_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let options = Options::default().kdf(Kdf::insecure_pbkdf2_sha256(10).unwrap());
        let pass = Credential::Passphrase(b"old");
        let ks = Keystore::create(&dir, pass, &options).unwrap();
        let sealed = ks.encrypt(b"c", b"kept").unwrap();
        ks.rotate().unwrap();
        ks.rotate().unwrap();
        ks.destroy(KeyId::new(2)).unwrap();
        let (old_kek, old_wrap_key, old_mac_key, id) = {
            let g = ks.lock_inner();
            (
                copy(&g.kek),
                copy(&g.wrap_key),
                copy(&g.mac_key),
                g.file.keystore_id,
            )
        };
        ks.rekey(Credential::Passphrase(b"new")).unwrap();
        let g = ks.lock_inner();
        assert_ne!(g.kek.expose(), old_kek.expose());
        let on_disk = ks.dir.read(KEYSTORE_FILE).unwrap();
        assert_eq!(on_disk, g.bytes);
        assert_eq!(ks.dir.read(BACKUP_FILE).unwrap(), on_disk);
        // The old KEK's MAC key does not verify the new file; its wrap key
        // unwraps none of the data keys; the new ones do.
        assert!(!file::verify_mac(&old_mac_key, &on_disk));
        assert!(file::verify_mac(&g.mac_key, &on_disk));
        let parsed = file::parse(&on_disk, Path::new("k")).unwrap();
        let mut live = 0;
        for v in &parsed.versions {
            if let Some(w) = &v.wrapped {
                live += 1;
                let ad = file::data_key_ad(&id, v.id, v.algorithm);
                assert!(file::unwrap(&old_wrap_key, &ad, w).is_none());
                let dk = file::unwrap(&g.wrap_key, &ad, w).unwrap();
                assert_eq!(dk.expose(), g.keys[&v.id].data_key.expose());
            }
        }
        assert_eq!(live, 2);
        drop(g);
        assert_eq!(ks.decrypt(b"c", &sealed).unwrap(), b"kept");
    }
}
