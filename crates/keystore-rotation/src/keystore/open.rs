//! Creating, opening and restoring a keystore, and the evidence an unlock
//! weighs before it calls a failure a wrong credential.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use secure_fs::PrivateDir;
use zeroize::Zeroizing;

use super::commit::{store_anchor, write_first_generation, write_generation};
use super::options::COUNTER_BLOCK;
use super::{BACKUP_FILE, Inner, KEYSTORE_FILE, KekKeys, KeyState, Keystore, Material, Options};
use crate::anchor::Anchor;
use crate::error::{Check, Error, Format, Invalid, Result};
use crate::file::{self, FileState, MAX_KEYSTORE_FILE_LEN, VersionRecord};
use crate::kdf::{Credential, Kdf, derive_unlock_key};
use crate::secret::{KeyBytes, random_array};
use crate::storage::{open_dir, read_capped};

/// The KDF a new credential gets.
pub(super) fn kdf_for(credential: Credential<'_>, options: &Options) -> Kdf {
    match credential {
        Credential::Passphrase(_) => options.kdf,
        Credential::MasterKey(_) => Kdf::master_key(),
    }
}

/// What [`load`] found.
enum Loaded {
    /// The file asked for unlocked.
    Opened(Inner),
    /// The backup, ahead of the keystore file, unlocked: an update
    /// interrupted between its two writes (or an older keystore file put
    /// back). The backup is the state to continue from.
    Interrupted(Inner),
}

impl Keystore {
    /// Creates a new keystore in the directory `dir` (created 0700 if
    /// missing; it should be the keystore's own directory), with one
    /// primary key version. Every key, the salt and the keystore id come
    /// from the operating system's generator.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] if a keystore or backup is there;
    /// [`Error::Storage`] if the directory is not private or locked by
    /// another process, or on I/O errors; [`Error::Random`];
    /// [`Error::InvalidArgument`] for a rollback anchor inside `dir`;
    /// [`Error::Anchor`] if the anchor cannot be written (the keystore is
    /// then created but not anchored).
    pub fn create(
        dir: impl AsRef<Path>,
        credential: Credential<'_>,
        options: &Options,
    ) -> Result<Keystore> {
        let dir = PrivateDir::create(dir.as_ref())?;
        check_anchor_location(&dir, options)?;
        let lock = dir.lock()?;
        dir.remove_stale_temp_files()?;
        for name in [KEYSTORE_FILE, BACKUP_FILE] {
            if dir.exists(name)? {
                return Err(Error::AlreadyExists {
                    path: dir.path().join(name),
                });
            }
        }
        let keystore_id = random_array::<16>()?;
        let salt = random_array::<16>()?;
        let kdf = kdf_for(credential, options).kind();
        let unlock_key = derive_unlock_key(credential, kdf, &salt)?;
        let keys = KekKeys::derive(KeyBytes::random()?, &keystore_id);
        let kek_wrap = file::wrap_random(
            &unlock_key,
            &file::kek_ad(&keystore_id, kdf, &salt),
            &keys.kek,
        )?;
        let data_key = KeyBytes::random()?;
        let algorithm = options.algorithm;
        let wrapped = file::wrap_random(
            &keys.wrap_key,
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
        let bytes = file::encode(&state, &keys.mac_key);
        write_first_generation(&dir, &lock, &bytes)?;
        let mut material = BTreeMap::new();
        material.insert(1, Material::new(data_key, algorithm));
        let ks = Keystore {
            dir,
            lock,
            options: options.clone(),
            inner: Mutex::new(Inner {
                file: state,
                keys,
                material,
                used: 0,
                block: COUNTER_BLOCK,
            }),
        };
        store_anchor(options, &ks.lock_inner().file)?;
        Ok(ks)
    }

    /// Opens the keystore in `dir` and unlocks it.
    ///
    /// Checks, in order: the format version, the size, the file's checksum,
    /// the KDF parameters against the caps and against
    /// [`Options::kdf_floor`], the structure, the rollback anchor (keystore
    /// id, generation, header hash), then the credential, the MAC over the
    /// whole file (keyed by the key-encryption key), the data key wraps,
    /// and the generation against [`Options::expect_generation`]. The KDF
    /// runs only after every check that needs no key has passed.
    ///
    /// When the credential does not unlock the keystore file, the backup is
    /// weighed as evidence: if the same credential unlocks it and it is one
    /// generation ahead, an update was interrupted between its two writes
    /// and the keystore continues from the backup (which becomes the
    /// keystore file again); if it unlocks it otherwise, the keystore
    /// file's header was edited ([`Error::Tampered`],
    /// [`Check::HeaderMismatch`]). Only when no evidence says otherwise is
    /// the failure [`Error::WrongCredential`].
    ///
    /// When the credential does unlock the keystore file but the backup, of
    /// the same keystore, is ahead of it (an interrupted update, or an
    /// older keystore file put back in place), the keystore continues from
    /// the backup if the same credential unlocks it; if it does not and
    /// the backup is more than one generation ahead, the keystore file was
    /// rolled back ([`Error::RolledBack`]).
    ///
    /// If the file's KDF is weaker than [`Options::kdf`] and a passphrase
    /// was given, the key-encryption key is re-wrapped with the stronger
    /// KDF before this returns (data keys and data are untouched).
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::WrongCredential`]; [`Error::Tampered`];
    /// [`Error::RolledBack`]; [`Error::UnsupportedVersion`] or
    /// [`Error::Malformed`] for a file that is not a keystore of this
    /// version; [`Error::Storage`] (another process holds the keystore, the
    /// directory is not private, I/O); [`Error::Anchor`].
    pub fn open(
        dir: impl AsRef<Path>,
        credential: Credential<'_>,
        options: &Options,
    ) -> Result<Keystore> {
        let dir = open_dir(dir.as_ref(), KEYSTORE_FILE)?;
        check_anchor_location(&dir, options)?;
        let lock = dir.lock()?;
        dir.remove_stale_temp_files()?;
        let anchor = load_anchor(options)?;
        let inner = match load(
            &dir,
            KEYSTORE_FILE,
            credential,
            options,
            anchor.as_ref(),
            true,
        )? {
            Loaded::Opened(inner) => inner,
            Loaded::Interrupted(inner) => {
                // Finish the update: the backup's bytes become the keystore
                // file too.
                let bytes = file::encode(&inner.file, &inner.keys.mac_key);
                write_generation(&dir, &lock, &bytes)?;
                inner
            }
        };
        let upgrade = matches!(credential, Credential::Passphrase(_))
            && Kdf::from_kind(inner.file.kdf).weaker_than(&options.kdf);
        let newer = anchor.is_none_or(|a| inner.file.generation > a.generation());
        let ks = Keystore {
            dir,
            lock,
            options: options.clone(),
            inner: Mutex::new(inner),
        };
        if upgrade {
            // Updates the anchor too.
            ks.change_credential(credential)?;
        } else if newer {
            store_anchor(options, &ks.lock_inner().file)?;
        }
        Ok(ks)
    }

    /// Recovers from a damaged keystore file: unlocks the backup
    /// (`keystore.bak`) with all the checks of [`Keystore::open`], the
    /// rollback anchor's included, puts it back in place as the keystore
    /// file, then rotates at once.
    ///
    /// The backup holds the same generation as the keystore file (or the
    /// next one, after a crash in the middle of a write), never an older
    /// one, so a restore loses nothing this keystore wrote. A backup older
    /// than the anchor, or than a keystore file of the same keystore that
    /// still parses (an old copy put back), is [`Error::RolledBack`].
    /// Without an anchor and a readable keystore file, an old copy cannot
    /// be told from the real backup;
    /// its message counters may then lag behind the messages really
    /// encrypted, so the restored primary key is retired (its whole
    /// budget counted as used) and a fresh key encrypts from here on: a
    /// restore never reuses a nonce budget.
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is no backup; otherwise as
    /// [`Keystore::open`] and [`Keystore::rotate`].
    pub fn restore_backup(
        dir: impl AsRef<Path>,
        credential: Credential<'_>,
        options: &Options,
    ) -> Result<Keystore> {
        let dir = open_dir(dir.as_ref(), BACKUP_FILE)?;
        check_anchor_location(&dir, options)?;
        let lock = dir.lock()?;
        dir.remove_stale_temp_files()?;
        let anchor = load_anchor(options)?;
        let (Loaded::Opened(mut inner) | Loaded::Interrupted(mut inner)) = load(
            &dir,
            BACKUP_FILE,
            credential,
            options,
            anchor.as_ref(),
            false,
        )?;
        // The keystore file, if it still parses, is evidence too: the
        // backup is written first, so a keystore file of the same keystore
        // at a later generation means an older backup was put back.
        if let Ok((_, main)) = read_state(&dir, KEYSTORE_FILE)
            && main.keystore_id == inner.file.keystore_id
            && main.generation > inner.file.generation
        {
            return Err(Error::RolledBack {
                found: inner.file.generation,
                expected: main.generation,
            });
        }
        // Count the restored primary's whole budget as spent, then rotate.
        let limit = options.policy.max_messages();
        inner.used = limit;
        for v in &mut inner.file.versions {
            if v.state == KeyState::Primary {
                v.reserved = limit;
            }
        }
        let ks = Keystore {
            dir,
            lock,
            options: options.clone(),
            inner: Mutex::new(inner),
        };
        {
            let mut g = ks.lock_inner();
            ks.rotate_n_locked(&mut g, 1)?;
        }
        Ok(ks)
    }
}

/// Refuses a rollback anchor that lives inside the keystore directory.
fn check_anchor_location(dir: &PrivateDir, options: &Options) -> Result<()> {
    let Some(location) = options.anchor.as_ref().and_then(|a| a.location()) else {
        return Ok(());
    };
    let parent = match location.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a.starts_with(b),
        _ => a.starts_with(b),
    };
    if same(parent, dir.path()) {
        return Err(Error::invalid(Invalid::AnchorInsideKeystore));
    }
    Ok(())
}

fn load_anchor(options: &Options) -> Result<Option<Anchor>> {
    match &options.anchor {
        Some(a) => a.load().map_err(Error::Anchor),
        None => Ok(None),
    }
}

/// Reads and parses `name`: size cap, magic, version, checksum, KDF caps,
/// structure.
fn read_state(dir: &PrivateDir, name: &str) -> Result<(Zeroizing<Vec<u8>>, FileState)> {
    let path = dir.path().join(name);
    if !dir.exists(name)? {
        return Err(Error::NotFound { path });
    }
    let bytes = read_capped(dir, name, MAX_KEYSTORE_FILE_LEN, Format::KeystoreFile)?;
    let state = file::parse(&bytes, &path)?;
    Ok((bytes, state))
}

/// The checks that need no key, run before any KDF: the caller's KDF floor,
/// then the rollback anchor (same keystore, no older generation, and at
/// the anchored generation the anchored header).
fn precheck(
    state: &FileState,
    path: &Path,
    options: &Options,
    anchor: Option<&Anchor>,
) -> Result<()> {
    if !options.kdf_floor.admits(state.kdf) {
        return Err(Error::tampered(path, Check::KdfBelowFloor));
    }
    if let Some(a) = anchor {
        if a.keystore_id() != state.keystore_id {
            return Err(Error::tampered(path, Check::AnchorMismatch));
        }
        if state.generation < a.generation() {
            return Err(Error::RolledBack {
                found: state.generation,
                expected: a.generation(),
            });
        }
        if state.generation == a.generation() && file::header_hash(state) != a.header_hash() {
            return Err(Error::tampered(path, Check::AnchorMismatch));
        }
    }
    Ok(())
}

/// Reads, checks and unlocks the keystore file `name` (the backup, for
/// [`Keystore::restore_backup`]). With `weigh_backup`, a credential that
/// fails on `name` is tried on the backup before it is called wrong (see
/// [`Keystore::open`]).
fn load(
    dir: &PrivateDir,
    name: &str,
    credential: Credential<'_>,
    options: &Options,
    anchor: Option<&Anchor>,
    weigh_backup: bool,
) -> Result<Loaded> {
    let path = dir.path().join(name);
    let (bytes, state) = read_state(dir, name)?;
    precheck(&state, &path, options, anchor)?;
    let loaded = match unlock(&bytes, state.clone(), &path, credential) {
        Ok(inner) if weigh_backup => backup_ahead(dir, inner, credential, options, anchor)?,
        Ok(inner) => Loaded::Opened(inner),
        Err(Error::WrongCredential) if weigh_backup => {
            weigh_the_backup(dir, &state, &path, credential, options, anchor)?
        }
        Err(e) => return Err(e),
    };
    let (Loaded::Opened(inner) | Loaded::Interrupted(inner)) = &loaded;
    let expected = options.min_generation.unwrap_or(0);
    if inner.file.generation < expected {
        return Err(Error::RolledBack {
            found: inner.file.generation,
            expected,
        });
    }
    Ok(loaded)
}

/// The keystore file unlocked as `opened`. The backup is written first and
/// never holds an older generation, so a backup of the same keystore that
/// is ahead of the keystore file means either an update interrupted
/// between the two writes or an older keystore file put back in place (a
/// rollback: lower counters, destroyed keys back, a lower minimum
/// decryption version). Either way the backup is the state to continue
/// from when the credential unlocks it with all its checks. One it does
/// not unlock may be an interrupted credential change, but only one
/// generation ahead: further ahead, the keystore file was rolled back
/// ([`Error::RolledBack`]).
fn backup_ahead(
    dir: &PrivateDir,
    opened: Inner,
    credential: Credential<'_>,
    options: &Options,
    anchor: Option<&Anchor>,
) -> Result<Loaded> {
    let Ok((bytes, backup)) = read_state(dir, BACKUP_FILE) else {
        return Ok(Loaded::Opened(opened));
    };
    let generation = opened.file.generation;
    if backup.keystore_id != opened.file.keystore_id || backup.generation <= generation {
        return Ok(Loaded::Opened(opened));
    }
    let backup_path = dir.path().join(BACKUP_FILE);
    let found = backup.generation;
    if precheck(&backup, &backup_path, options, anchor).is_ok()
        && let Ok(inner) = unlock(&bytes, backup, &backup_path, credential)
    {
        return Ok(Loaded::Interrupted(inner));
    }
    if found > generation.saturating_add(1) {
        return Err(Error::RolledBack {
            found: generation,
            expected: found,
        });
    }
    Ok(Loaded::Opened(opened))
}

/// The credential failed on the keystore file `main`. If it unlocks the
/// backup, the two files disagree about who may open them: either an
/// update was interrupted (the backup is one generation ahead of the
/// keystore file, of the same keystore) or the keystore file's header was
/// edited. If it does not, or the backup is missing, damaged or shares the
/// keystore file's header (so it would fail the same way), nothing says the
/// credential is not simply wrong.
fn weigh_the_backup(
    dir: &PrivateDir,
    main: &FileState,
    path: &Path,
    credential: Credential<'_>,
    options: &Options,
    anchor: Option<&Anchor>,
) -> Result<Loaded> {
    let Ok((bytes, backup)) = read_state(dir, BACKUP_FILE) else {
        return Err(Error::WrongCredential);
    };
    if file::header_hash(&backup) == file::header_hash(main) {
        return Err(Error::WrongCredential);
    }
    let backup_path = dir.path().join(BACKUP_FILE);
    if precheck(&backup, &backup_path, options, anchor).is_err() {
        return Err(Error::WrongCredential);
    }
    let Ok(inner) = unlock(&bytes, backup, &backup_path, credential) else {
        return Err(Error::WrongCredential);
    };
    if inner.file.keystore_id == main.keystore_id && inner.file.generation > main.generation {
        Ok(Loaded::Interrupted(inner))
    } else {
        Err(Error::tampered(path, Check::HeaderMismatch))
    }
}

/// Derives the unlock key, unwraps the KEK, checks the MAC and unwraps the
/// data keys of the parsed `state` of `bytes`.
fn unlock(
    bytes: &[u8],
    state: FileState,
    path: &Path,
    credential: Credential<'_>,
) -> Result<Inner> {
    let unlock_key = derive_unlock_key(credential, state.kdf, &state.salt)?;
    let kek = file::unwrap(
        &unlock_key,
        &file::kek_ad(&state.keystore_id, state.kdf, &state.salt),
        &state.kek_wrap,
    )
    .ok_or(Error::WrongCredential)?;
    let keys = KekKeys::derive(kek, &state.keystore_id);
    if !file::verify_mac(&keys.mac_key, bytes) {
        return Err(Error::tampered(path, Check::Mac));
    }
    let mut material = BTreeMap::new();
    for v in &state.versions {
        if let Some(w) = &v.wrapped {
            let ad = file::data_key_ad(&state.keystore_id, v.id, v.algorithm);
            let dk = file::unwrap(&keys.wrap_key, &ad, w)
                .ok_or_else(|| Error::tampered(path, Check::KeyWrap))?;
            material.insert(v.id, Material::new(dk, v.algorithm));
        }
    }
    // The whole reservation counts as used: the process that wrote it may
    // have encrypted up to its end.
    let used = state
        .versions
        .iter()
        .find(|v| v.state == KeyState::Primary)
        .map_or(0, |v| v.reserved);
    Ok(Inner {
        file: state,
        keys,
        material,
        used,
        block: COUNTER_BLOCK,
    })
}
