//! Writing a generation: the backup, then the keystore file, then the
//! rollback anchor.

use secure_fs::{DirLock, PrivateDir};

use super::{BACKUP_FILE, Inner, KEYSTORE_FILE, KekKeys, Keystore};
use crate::anchor::Anchor;
use crate::error::{Error, Invalid, Result};
use crate::file::{self, FileState, MAX_KEYSTORE_FILE_LEN};

impl Keystore {
    /// Writes `next` as the next generation and swaps it in; see
    /// [`write_generation`]. With `new_kek`, `next` holds wraps under a new
    /// key-encryption key, whose MAC key signs the file.
    pub(super) fn commit(
        &self,
        g: &mut Inner,
        mut next: FileState,
        new_kek: Option<KekKeys>,
    ) -> Result<()> {
        next.generation = g
            .file
            .generation
            .checked_add(1)
            .ok_or(Error::invalid(Invalid::GenerationsExhausted))?;
        let mac_key = new_kek.as_ref().map_or(&g.keys.mac_key, |k| &k.mac_key);
        let bytes = file::encode(&next, mac_key);
        write_generation(&self.dir, &self.lock, &bytes)?;
        g.file = next;
        if let Some(k) = new_kek {
            g.keys = k;
        }
        store_anchor(&self.options, &g.file)
    }
}

/// Writes the encoded generation `bytes` to the backup and then to the
/// keystore file, each atomically and durably (temporary file, fsync,
/// rename, directory fsync, through secure-fs). Needs the directory's
/// writer lock, which `_lock` proves is held.
///
/// Both files get the new generation, the backup first: a crash between
/// the two writes leaves the keystore file at the old generation (the
/// change did not happen) and a backup one generation ahead, which
/// [`Keystore::open`] recognises as an interrupted update. No backup ever
/// holds an older generation, so there is no ready-made rollback on disk,
/// and a destroyed key, an old credential or an old KEK does not survive
/// in it.
pub(super) fn write_generation(dir: &PrivateDir, _lock: &DirLock, bytes: &[u8]) -> Result<()> {
    if bytes.len() > MAX_KEYSTORE_FILE_LEN {
        return Err(Error::invalid(Invalid::TooManyVersions));
    }
    dir.write_atomic(BACKUP_FILE, bytes)?;
    dir.write_atomic(KEYSTORE_FILE, bytes)?;
    Ok(())
}

/// Records `state` in the caller's rollback anchor, if there is one.
pub(super) fn store_anchor(options: &super::Options, state: &FileState) -> Result<()> {
    let Some(anchor) = &options.anchor else {
        return Ok(());
    };
    let a = Anchor::new(
        state.keystore_id,
        state.generation,
        file::header_hash(state),
    );
    anchor.store(&a).map_err(Error::Anchor)
}
