//! Writing a generation: the backup, then the keystore file, then the
//! rollback anchor.

use secure_fs::{DeleteOptions, DirLock, PrivateDir};

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
/// exchange with the target, directory fsync, through secure-fs). Needs
/// the directory's writer lock, which `_lock` proves is held.
///
/// The replaced version of each file is overwritten in place (one pass of
/// random data, fsynced) before it is released, and only if it is the very
/// file (device and inode) that was there when the write started: a
/// destroyed key, an old KEK wrap or an old credential's wrap does not stay
/// behind in free blocks on file systems that overwrite in place (see the
/// crate README for SSDs, copy-on-write file systems and snapshots). A
/// crash in the middle leaves the old version under a temporary name,
/// which the next open shreds.
///
/// Both files get the new generation, the backup first: a crash between
/// the two writes leaves the keystore file at the old generation (the
/// change did not happen) and a backup one generation ahead, which
/// [`Keystore::open`] recognises as an interrupted update. No backup ever
/// holds an older generation, so there is no ready-made rollback on disk,
/// and a destroyed key, an old credential or an old KEK does not survive
/// in it.
pub(super) fn write_generation(dir: &PrivateDir, lock: &DirLock, bytes: &[u8]) -> Result<()> {
    write_files(dir, lock, bytes, [BACKUP_FILE, KEYSTORE_FILE])
}

/// The first generation: the keystore file first, then the backup, so that
/// a crash in between leaves a keystore that opens (there is no earlier
/// generation to protect).
pub(super) fn write_first_generation(dir: &PrivateDir, lock: &DirLock, bytes: &[u8]) -> Result<()> {
    write_files(dir, lock, bytes, [KEYSTORE_FILE, BACKUP_FILE])
}

fn write_files(dir: &PrivateDir, _lock: &DirLock, bytes: &[u8], order: [&str; 2]) -> Result<()> {
    if bytes.len() > MAX_KEYSTORE_FILE_LEN {
        return Err(Error::invalid(Invalid::TooManyVersions));
    }
    let shred = DeleteOptions::new().passes(SHRED_PASSES);
    for name in order {
        // What happened to the old version is not an error either way: a
        // file replaced concurrently by someone else is left alone by
        // secure-fs.
        let _report = dir.write_atomic_shredding(name, bytes, &shred)?;
    }
    Ok(())
}

/// Overwrite passes over a replaced keystore file: one pass of random data
/// leaves nothing to read back on a disk that overwrites in place; more
/// passes only cost time (two fsyncs each) on every write.
const SHRED_PASSES: u32 = 1;

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
