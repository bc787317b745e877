//! Where entries live: one encrypted file per entry, and an encrypted
//! index (a base snapshot plus an append-only log of deltas) for fast
//! listing and search.
//!
//! # On disk (inside the data directory)
//!
//! ```text
//! entries/<64 hex>   one keystore envelope per entry; the name is secure-fs's
//!                    keyed private name of the entry id, the envelope's
//!                    context is "journal/entry\0" ‖ that name (so the id is bound)
//! index.base         envelope (context "journal/index-base\0") of
//!                    "JIDX" | version u16 = 1 | base id [16] | count u32 | record*
//! index.log          "JLOG" | version u16 = 1 | base id [16], then frames:
//!                    length u32 | envelope (context "journal/index-delta\0" ‖
//!                    base id ‖ ordinal u64) of
//!                    "JDLT" | version u16 = 1 | kind u8 | count u32 | payload
//!                    kind 1: upsert, payload = record*   kind 2: remove, payload = id*
//!                    kind 3: applied (the previous delta reached the entry files)
//! ```
//!
//! `record` is the entry layout of [`crate::entry`].
//!
//! # Why it stays fast and consistent
//!
//! Every change appends one delta (fsynced) *before* touching the entry
//! files, then an `applied` marker after; a crash in between is finished at
//! the next open by replaying the last delta onto the files (roll forward).
//! Adding costs one delta, not a rewrite: the log is folded into a new base
//! only once it outgrows a quarter of the base (amortized O(1) per change).
//! At every open the index's file names are compared with the directory
//! listing; entry files the index does not know are decrypted and added,
//! and index entries whose file is gone are dropped. An index that is
//! missing or does not decrypt is rebuilt from the entry files.

use std::collections::{HashMap, HashSet};
use std::io::{Seek, SeekFrom, Write};

use anyhow::{Context, Result};
use keystore_rotation::Keystore;
use secure_fs::{Access, DeleteOptions, PrivateDir, PrivateNamer};

use crate::entry::{DecodeError, Entry, EntryId, Reader, decode_entry_plaintext, put_record};
use crate::error::{error, integrity};

/// Directory of the entry files.
pub const ENTRIES_DIR: &str = "entries";
/// The index's base snapshot.
pub const INDEX_BASE: &str = "index.base";
/// The index's delta log.
pub const INDEX_LOG: &str = "index.log";

const INDEX_MAGIC: &[u8; 4] = b"JIDX";
const LOG_MAGIC: &[u8; 4] = b"JLOG";
const DELTA_MAGIC: &[u8; 4] = b"JDLT";
const VERSION: u16 = 1;
const LOG_HEADER_LEN: usize = 4 + 2 + 16;
const MAX_FRAME: usize = 64 << 20;
const MAX_INDEX_ENTRIES: u32 = 10_000_000;
/// The log is folded into a new base once it is larger than this share of
/// the base (and at least [`MIN_COMPACT_BYTES`]).
const COMPACT_DIVISOR: u64 = 4;
const MIN_COMPACT_BYTES: u64 = 256 << 10;
/// Deltas with more entries get an `applied` marker and one syncfs for
/// all their files; smaller ones are checked at the next open.
const SMALL_DELTA: usize = 8;

const CTX_ENTRY: &[u8] = b"journal/entry\0";
const CTX_BASE: &[u8] = b"journal/index-base\0";
const CTX_DELTA: &[u8] = b"journal/index-delta\0";

/// The decoded base snapshot of the index.
#[derive(Debug)]
pub struct IndexSnapshot {
    /// The random id of this base; the log names it.
    pub base_id: [u8; 16],
    /// Every entry.
    pub entries: Vec<Entry>,
}

/// One change recorded in the index log.
#[derive(Debug)]
#[non_exhaustive]
pub enum Delta {
    /// Entries added or replaced.
    Upsert(Vec<Entry>),
    /// Entries removed.
    Remove(Vec<EntryId>),
    /// The previous delta reached the entry files.
    Applied,
}

/// Decodes the plaintext of `index.base`.
///
/// # Errors
/// [`DecodeError`] for anything that is not one version-1 index.
pub fn decode_index(bytes: &[u8]) -> Result<IndexSnapshot, DecodeError> {
    let mut r = Reader::new(bytes);
    r.header(INDEX_MAGIC, VERSION)?;
    let base_id = r.array()?;
    let n = r.u32()?;
    if n > MAX_INDEX_ENTRIES {
        return Err(DecodeError::TooLarge);
    }
    // Each record is at least 38 bytes: do not trust `n` for the capacity.
    let mut entries = Vec::with_capacity((n as usize).min(bytes.len() / 38));
    for _ in 0..n {
        entries.push(r.record()?);
    }
    r.finish()?;
    Ok(IndexSnapshot { base_id, entries })
}

/// Encodes an index base (the inverse of [`decode_index`]).
pub fn encode_index<'a>(
    base_id: &[u8; 16],
    entries: impl ExactSizeIterator<Item = &'a Entry>,
) -> zeroize::Zeroizing<Vec<u8>> {
    let mut out = zeroize::Zeroizing::new(Vec::new());
    out.extend_from_slice(INDEX_MAGIC);
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(base_id);
    let n = u32::try_from(entries.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_be_bytes());
    for e in entries.take(n as usize) {
        put_record(&mut out, e);
    }
    out
}

/// Decodes the plaintext of one index-log delta.
///
/// # Errors
/// [`DecodeError`] for anything that is not one version-1 delta.
pub fn decode_delta(bytes: &[u8]) -> Result<Delta, DecodeError> {
    let mut r = Reader::new(bytes);
    r.header(DELTA_MAGIC, VERSION)?;
    let kind = r.u8()?;
    let n = r.u32()?;
    if n > MAX_INDEX_ENTRIES {
        return Err(DecodeError::TooLarge);
    }
    let cap = (n as usize).min(bytes.len() / 16);
    let d = match kind {
        1 => {
            let mut v = Vec::with_capacity(cap);
            for _ in 0..n {
                v.push(r.record()?);
            }
            Delta::Upsert(v)
        }
        2 => {
            let mut v = Vec::with_capacity(cap);
            for _ in 0..n {
                v.push(EntryId::from_bytes(r.array()?));
            }
            Delta::Remove(v)
        }
        3 if n == 0 => Delta::Applied,
        _ => return Err(DecodeError::BadMagic),
    };
    r.finish()?;
    Ok(d)
}

/// Encodes one delta (the inverse of [`decode_delta`]).
pub fn encode_delta(d: &Delta) -> zeroize::Zeroizing<Vec<u8>> {
    let mut out = zeroize::Zeroizing::new(Vec::new());
    out.extend_from_slice(DELTA_MAGIC);
    out.extend_from_slice(&VERSION.to_be_bytes());
    match d {
        Delta::Upsert(v) => {
            out.push(1);
            let n = u32::try_from(v.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&n.to_be_bytes());
            for e in v.iter().take(n as usize) {
                put_record(&mut out, e);
            }
        }
        Delta::Remove(v) => {
            out.push(2);
            let n = u32::try_from(v.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&n.to_be_bytes());
            for id in v.iter().take(n as usize) {
                out.extend_from_slice(id.as_bytes());
            }
        }
        Delta::Applied => {
            out.push(3);
            out.extend_from_slice(&0u32.to_be_bytes());
        }
    }
    out
}

/// What opening the store had to repair.
#[derive(Debug, Default, Clone)]
pub struct Repairs {
    /// The index was missing or unreadable and was rebuilt from the files.
    pub rebuilt: bool,
    /// Entry files found that the index did not list (added to it).
    pub added: usize,
    /// Index entries whose file was gone (dropped from the index).
    pub dropped: usize,
    /// Entry files that do not decrypt or decode (left in place, not listed).
    pub damaged: Vec<String>,
    /// An interrupted change was finished.
    pub rolled_forward: bool,
    /// The log was missing or belonged to an older base (a crash during
    /// compaction): a new base and log were written.
    pub log_reset: bool,
}

impl Repairs {
    /// Whether anything was repaired.
    pub fn any(&self) -> bool {
        self.rebuilt
            || self.added > 0
            || self.dropped > 0
            || !self.damaged.is_empty()
            || self.rolled_forward
            || self.log_reset
    }
}

/// What [`Store::rewrap_all`] did.
#[derive(Debug, Default, Clone)]
pub struct Rewrapped {
    /// Entry files re-encrypted under the primary key.
    pub rewrapped: usize,
    /// Entry files that do not decrypt (left as they are).
    pub damaged: Vec<String>,
}

/// The open store: the index in memory, the entry directory, and the
/// keystore that encrypts both.
pub struct Store<'k> {
    root: &'k PrivateDir,
    entries: PrivateDir,
    ks: &'k Keystore,
    namer: PrivateNamer,
    index: HashMap<EntryId, Entry>,
    base_id: [u8; 16],
    base_len: u64,
    /// Valid bytes of the log (a torn tail after them is cut at the next append).
    log_len: u64,
    /// Deltas in the log.
    ordinal: u64,
    repairs: Repairs,
    /// Opened for appending only: `index` holds just what this process
    /// added (see [`Store::open_for_append`]).
    partial: bool,
}

impl std::fmt::Debug for Store<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("entries", &self.index.len())
            .finish_non_exhaustive()
    }
}

fn ctx(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut c = prefix.to_vec();
    for p in parts {
        c.extend_from_slice(p);
    }
    c
}

fn delta_ctx(base_id: &[u8; 16], ordinal: u64) -> Vec<u8> {
    ctx(CTX_DELTA, &[base_id, &ordinal.to_be_bytes()])
}

fn random16() -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| error(format!("the OS random generator failed: {e}")))?;
    Ok(b)
}

/// The loaded index, before it is checked against the files.
struct Loaded {
    base_id: [u8; 16],
    base_len: u64,
    index: HashMap<EntryId, Entry>,
    log_len: u64,
    ordinal: u64,
    /// The last delta, if the log does not end with an `applied` marker.
    pending: Option<Delta>,
}

impl<'k> Store<'k> {
    /// A store with no index loaded yet, over the `entries` directory.
    fn empty(
        root: &'k PrivateDir,
        entries: PrivateDir,
        ks: &'k Keystore,
        names_key: &[u8; 32],
    ) -> Store<'k> {
        Store {
            root,
            entries,
            ks,
            namer: PrivateNamer::new(names_key),
            index: HashMap::new(),
            base_id: [0; 16],
            base_len: 0,
            log_len: 0,
            ordinal: 0,
            repairs: Repairs::default(),
            partial: false,
        }
    }

    /// Creates an empty store in `root` (the journal's data directory).
    ///
    /// # Errors
    /// File-system and keystore errors.
    pub fn create(root: &'k PrivateDir, ks: &'k Keystore, names_key: &[u8; 32]) -> Result<()> {
        root.create_dir(ENTRIES_DIR)?;
        let mut s = Store::empty(root, root.open_dir(ENTRIES_DIR)?, ks, names_key);
        s.compact()
    }

    /// Opens the store: loads the index, checks it against the entry
    /// files, and repairs what it must (see the module docs).
    ///
    /// # Errors
    /// File-system and keystore errors.
    pub fn open(root: &'k PrivateDir, ks: &'k Keystore, names_key: &[u8; 32]) -> Result<Store<'k>> {
        let entries = match root.open_dir(ENTRIES_DIR) {
            Ok(d) => d,
            Err(e) if matches!(e.kind(), secure_fs::ErrorKind::NotFound) => {
                root.create_dir(ENTRIES_DIR)?
            }
            Err(e) => return Err(e.into()),
        };
        entries.remove_stale_temp_files()?;
        let mut s = Store::empty(root, entries, ks, names_key);
        let pending = match s.load() {
            Ok(l) => {
                s.base_id = l.base_id;
                s.base_len = l.base_len;
                s.index = l.index;
                s.log_len = l.log_len;
                s.ordinal = l.ordinal;
                l.pending
            }
            Err(_) => {
                s.rebuild_from_files()?;
                s.repairs.rebuilt = true;
                None
            }
        };
        if s.log_len < LOG_HEADER_LEN as u64 {
            // No log of this base (missing, or one of an older base left by
            // a crash during compaction): start one now, so that no change
            // is ever appended where the next open would not read it.
            s.compact()?;
            s.repairs.log_reset = true;
        }
        if let Some(d) = pending
            && s.finish_pending(&d)?
        {
            s.repairs.rolled_forward = true;
        }
        s.reconcile()?;
        Ok(s)
    }

    /// Opens the store to add entries only, at a cost independent of the
    /// journal's size: the snapshot is not read and the entry directory not
    /// listed. The log's frames are walked by their lengths, and only its
    /// last delta is decrypted (to finish an interrupted change). Falls
    /// back to [`Store::open`] when the log does not belong to the snapshot
    /// or its last frame does not decrypt. A compaction, when due, loads
    /// the whole index (amortized O(1) per change).
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_for_append(
        root: &'k PrivateDir,
        ks: &'k Keystore,
        names_key: &[u8; 32],
    ) -> Result<Store<'k>> {
        let full = || Store::open(root, ks, names_key);
        if !root.exists(INDEX_BASE)? || !root.exists(INDEX_LOG)? {
            return full();
        }
        let Ok(entries) = root.open_dir(ENTRIES_DIR) else {
            return full();
        };
        // `compact` writes the base, then the log: a log older than the base
        // is one left by a crash in between (it names the previous base).
        // The full open replaces it.
        let modified = |name: &str| {
            std::fs::metadata(root.path().join(name))
                .and_then(|m| m.modified())
                .ok()
        };
        match (modified(INDEX_BASE), modified(INDEX_LOG)) {
            (Some(base), Some(log)) if log >= base => {}
            _ => return full(),
        }
        let log = root.read(INDEX_LOG)?;
        if log.len() < LOG_HEADER_LEN
            || &log[..4] != LOG_MAGIC
            || log[4..6] != VERSION.to_be_bytes()
        {
            return full();
        }
        let mut base_id = [0u8; 16];
        base_id.copy_from_slice(&log[6..22]);
        let mut pos = LOG_HEADER_LEN;
        let mut frames: Vec<(usize, usize)> = Vec::new();
        while log.len() - pos >= 4 {
            let len =
                u32::from_be_bytes([log[pos], log[pos + 1], log[pos + 2], log[pos + 3]]) as usize;
            if len > MAX_FRAME || log.len() - pos - 4 < len {
                break;
            }
            frames.push((pos + 4, len));
            pos += 4 + len;
        }
        let mut s = Store {
            base_id,
            base_len: std::fs::metadata(root.path().join(INDEX_BASE)).map_or(0, |m| m.len()),
            log_len: pos as u64,
            ordinal: frames.len() as u64,
            partial: true,
            ..Store::empty(root, entries, ks, names_key)
        };
        if let Some(&(start, len)) = frames.last() {
            let ordinal = frames.len() as u64 - 1;
            // A base that does not match, or a damaged frame: the full open
            // sorts it out (and rebuilds when it must).
            let Ok(plain) = ks.decrypt(&delta_ctx(&base_id, ordinal), &log[start..start + len])
            else {
                return full();
            };
            let Ok(d) = decode_delta(&plain) else {
                return full();
            };
            if s.finish_pending(&d)? {
                s.repairs.rolled_forward = true;
            }
        }
        Ok(s)
    }

    /// What opening repaired.
    pub fn repairs(&self) -> &Repairs {
        &self.repairs
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the journal has no entries.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Every entry, oldest first (ties by id).
    pub fn all_sorted(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.index.values().collect();
        v.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        v
    }

    /// Every entry id.
    pub fn ids(&self) -> Vec<EntryId> {
        self.index.keys().copied().collect()
    }

    /// The index's copy of an entry.
    pub fn indexed(&self, id: &EntryId) -> Option<&Entry> {
        self.index.get(id)
    }

    /// Resolves an id or a unique prefix of at least 8 hex digits
    /// (hyphens optional).
    ///
    /// # Errors
    /// Exit 1 naming the problem: too short, unknown, or ambiguous.
    pub fn resolve(&self, prefix: &str) -> Result<EntryId> {
        let p: String = prefix
            .trim()
            .chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if p.len() < 8 || !p.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(error(format!(
                "`{}` is not an entry id: give the id or a prefix of at least 8 hex digits (see `journal list`)",
                prefix.escape_debug()
            )));
        }
        let mut found = self.index.keys().filter(|id| {
            data_encoding::HEXLOWER
                .encode(id.as_bytes())
                .starts_with(&p)
        });
        match (found.next(), found.next()) {
            (Some(id), None) => Ok(*id),
            (None, _) => Err(error(format!("no entry with id {p}"))),
            (Some(_), Some(_)) => Err(error(format!(
                "the prefix {p} matches more than one entry: give more digits"
            ))),
        }
    }

    /// The file name of an entry.
    pub fn file_name(&self, id: &EntryId) -> String {
        self.namer.name(id.as_bytes())
    }

    /// Reads and decrypts an entry from its own file (not the index).
    ///
    /// # Errors
    /// Exit 3 when the file is damaged or was moved from another entry;
    /// exit 1 when it is missing.
    pub fn read_entry(&self, id: &EntryId) -> Result<Entry> {
        let name = self.file_name(id);
        if !self.entries.exists(&name)? {
            return Err(error(format!("the file of entry {id} is missing")));
        }
        let bytes = self.entries.read(&name)?;
        let e = self
            .decrypt_file(&name, &bytes)
            .map_err(|why| integrity(format!("entry {id} is damaged: {why}")))?;
        if e.id != *id {
            return Err(integrity(format!(
                "entry {id} is damaged: its file holds another entry"
            )));
        }
        Ok(e)
    }

    fn decrypt_file(&self, name: &str, bytes: &[u8]) -> Result<Entry, String> {
        let plain = self
            .ks
            .decrypt(&ctx(CTX_ENTRY, &[name.as_bytes()]), bytes)
            .map_err(|e| e.to_string())?;
        let e = decode_entry_plaintext(&plain).map_err(|e| e.to_string())?;
        if self.file_name(&e.id) != name {
            return Err("the file was renamed or moved from another entry".into());
        }
        Ok(e)
    }

    fn write_file(&self, e: &Entry, replace: bool) -> Result<()> {
        let name = self.file_name(&e.id);
        let sealed = self
            .ks
            .encrypt(&ctx(CTX_ENTRY, &[name.as_bytes()]), &e.encode())?;
        if replace && self.entries.exists(&name)? {
            let _ =
                self.entries
                    .write_atomic_shredding(&name, &sealed, &DeleteOptions::default())?;
        } else {
            self.entries.write_atomic(&name, &sealed)?;
        }
        Ok(())
    }

    /// Adds or replaces entries: one delta (durable), then the files, then
    /// the `applied` marker. Returns when all of it is on disk. Replacing
    /// an entry the index holds (an edit) compacts the index, so that the
    /// old version does not stay in its files.
    ///
    /// # Errors
    /// File-system and keystore errors; nothing is acknowledged then.
    pub fn upsert(&mut self, entries: Vec<Entry>) -> Result<()> {
        for e in &entries {
            e.check().map_err(error)?;
        }
        // An edit: the old version must not linger in the index files.
        let replaces = entries.iter().any(|e| self.index.contains_key(&e.id));
        let batch = entries.len() > SMALL_DELTA;
        let d = Delta::Upsert(entries);
        self.append(&d)?;
        self.apply_to_files(&d)?;
        if batch {
            // A small delta is checked against its files at the next open
            // instead (one read each): one sync less per change.
            self.append(&Delta::Applied)?;
        }
        self.apply_to_index(d);
        if replaces {
            self.compact()
        } else {
            self.maybe_compact()
        }
    }

    /// Removes an entry: the delta, then the file securely deleted (see
    /// secure-fs for what overwriting reaches), then the index compacted
    /// (its old base and log shredded), so that no copy of the entry stays.
    ///
    /// # Errors
    /// File-system and keystore errors.
    pub fn remove(&mut self, id: &EntryId) -> Result<secure_fs::Overwrite> {
        let d = Delta::Remove(vec![*id]);
        self.append(&d)?;
        let name = self.file_name(id);
        let overwrite = if self.entries.exists(&name)? {
            self.entries
                .secure_delete(&name, &DeleteOptions::default())?
                .overwrite()
        } else {
            secure_fs::Overwrite::Unknown
        };
        self.apply_to_index(d);
        // Nothing of the entry may stay in the index files: a new base and
        // log, the old ones shredded.
        self.compact()?;
        Ok(overwrite)
    }

    /// Brings the files in line with the last delta of the log (one not
    /// followed by an `applied` marker): entries whose file is missing or
    /// holds something else are written again, removed ones deleted.
    /// Returns whether anything had to be done.
    fn finish_pending(&mut self, d: &Delta) -> Result<bool> {
        let mut fixed = false;
        match d {
            Delta::Upsert(v) => {
                for e in v {
                    let name = self.file_name(&e.id);
                    let same = self.entries.exists(&name)?
                        && self
                            .entries
                            .read(&name)
                            .ok()
                            .and_then(|b| self.decrypt_file(&name, &b).ok())
                            .is_some_and(|f| f == *e);
                    if !same {
                        self.write_file(e, true)?;
                        fixed = true;
                    }
                }
            }
            Delta::Remove(v) => {
                for id in v {
                    let name = self.file_name(id);
                    if self.entries.exists(&name)? {
                        let _ = self
                            .entries
                            .secure_delete(&name, &DeleteOptions::default())?;
                        fixed = true;
                    }
                }
            }
            Delta::Applied => {}
        }
        if fixed {
            self.entries.sync()?;
            self.append(&Delta::Applied)?;
        }
        Ok(fixed)
    }

    fn apply_to_files(&self, d: &Delta) -> Result<()> {
        match d {
            Delta::Upsert(v) if v.len() > SMALL_DELTA => {
                // A batch (import): the delta is already durable, so the
                // files need not be synced one by one; a crash before the
                // `applied` marker is finished from the delta at the next
                // open. One syncfs makes them durable before the marker.
                for e in v {
                    let name = self.file_name(&e.id);
                    if self.entries.exists(&name)? {
                        self.write_file(e, true)?;
                        continue;
                    }
                    let sealed = self
                        .ks
                        .encrypt(&ctx(CTX_ENTRY, &[name.as_bytes()]), &e.encode())?;
                    let mut f = self.entries.create_new_file(&name)?;
                    f.write_all(&sealed)?;
                }
                let d = std::fs::File::open(self.entries.path())?;
                rustix::fs::syncfs(&d)?;
                return Ok(());
            }
            Delta::Upsert(v) => {
                for e in v {
                    self.write_file(e, true)?;
                }
                // write_atomic synced the file and the directory.
                return Ok(());
            }
            Delta::Remove(v) => {
                for id in v {
                    let name = self.file_name(id);
                    if self.entries.exists(&name)? {
                        let _ = self
                            .entries
                            .secure_delete(&name, &DeleteOptions::default())?;
                    }
                }
            }
            Delta::Applied => {}
        }
        self.entries.sync()?;
        Ok(())
    }

    fn apply_to_index(&mut self, d: Delta) {
        match d {
            Delta::Upsert(v) => {
                for e in v {
                    self.index.insert(e.id, e);
                }
            }
            Delta::Remove(v) => {
                for id in v {
                    self.index.remove(&id);
                }
            }
            Delta::Applied => {}
        }
    }

    fn load(&self) -> Result<Loaded> {
        let sealed = self.root.read(INDEX_BASE)?;
        let base_len = sealed.len() as u64;
        let plain = self.ks.decrypt(CTX_BASE, &sealed)?;
        let snap = decode_index(&plain)?;
        drop(plain);
        let base_id = snap.base_id;
        let mut index = HashMap::with_capacity(snap.entries.len());
        for e in snap.entries {
            index.insert(e.id, e);
        }
        let mut loaded = Loaded {
            base_id,
            base_len,
            index,
            log_len: 0,
            ordinal: 0,
            pending: None,
        };
        if !self.root.exists(INDEX_LOG)? {
            return Ok(loaded);
        }
        let log = self.root.read(INDEX_LOG)?;
        if log.len() < LOG_HEADER_LEN
            || &log[..4] != LOG_MAGIC
            || log[4..6] != VERSION.to_be_bytes()
            || log[6..22] != base_id
        {
            // A log of an older base (a crash during compaction): the base
            // already holds everything it had.
            return Ok(loaded);
        }
        let mut pos = LOG_HEADER_LEN;
        let mut last: Option<Delta> = None;
        loop {
            let rest = &log[pos..];
            if rest.len() < 4 {
                break;
            }
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if len > MAX_FRAME || rest.len() < 4 + len {
                break; // torn tail
            }
            let frame = &rest[4..4 + len];
            let plain = match self.ks.decrypt(&delta_ctx(&base_id, loaded.ordinal), frame) {
                Ok(p) => p,
                // The last frame may be torn (a crash while appending);
                // anything before it is damage.
                Err(_) if rest.len() == 4 + len => break,
                Err(e) => return Err(e.into()),
            };
            let d = decode_delta(&plain)?;
            drop(plain);
            pos += 4 + len;
            loaded.ordinal += 1;
            match d {
                Delta::Applied => last = None,
                Delta::Upsert(v) => {
                    for e in &v {
                        loaded.index.insert(e.id, e.clone());
                    }
                    last = Some(Delta::Upsert(v));
                }
                Delta::Remove(v) => {
                    for id in &v {
                        loaded.index.remove(id);
                    }
                    last = Some(Delta::Remove(v));
                }
            }
        }
        loaded.log_len = pos as u64;
        loaded.pending = last;
        Ok(loaded)
    }

    /// Appends one delta to the log and syncs it.
    fn append(&mut self, d: &Delta) -> Result<()> {
        if self.log_len < LOG_HEADER_LEN as u64 {
            return Err(error(
                "the index log has no header for this index (a bug): nothing changed",
            ));
        }
        let sealed = self
            .ks
            .encrypt(&delta_ctx(&self.base_id, self.ordinal), &encode_delta(d))?;
        let len = u32::try_from(sealed.len()).map_err(|_| error("a change too large to record"))?;
        let mut f = self
            .root
            .open_file(INDEX_LOG, Access::ReadWrite)
            .context("opening the index log")?;
        f.seek(SeekFrom::Start(self.log_len))?;
        let mut frame = Vec::with_capacity(4 + sealed.len());
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&sealed);
        f.write_all(&frame)?;
        let end = self.log_len + frame.len() as u64;
        f.set_len(end)?;
        f.sync_data()?;
        self.log_len = end;
        self.ordinal += 1;
        Ok(())
    }

    fn maybe_compact(&mut self) -> Result<()> {
        let log = self.log_len.saturating_sub(LOG_HEADER_LEN as u64);
        if log > MIN_COMPACT_BYTES.max(self.base_len / COMPACT_DIVISOR) {
            if self.partial {
                // The log now holds this process's changes too.
                let l = self.load()?;
                self.index = l.index;
                self.partial = false;
            }
            self.compact()?;
        }
        Ok(())
    }

    /// Writes a new base (under the primary key) and starts an empty log.
    /// A crash between the two leaves a log naming the old base, which is
    /// then ignored: the new base already holds it.
    ///
    /// # Errors
    /// File-system and keystore errors.
    pub fn compact(&mut self) -> Result<()> {
        let base_id = random16()?;
        let mut sorted: Vec<&Entry> = self.index.values().collect();
        sorted.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        let plain = encode_index(&base_id, sorted.into_iter());
        let sealed = self.ks.encrypt(CTX_BASE, &plain)?;
        drop(plain);
        let _ = self.root.write_atomic_shredding(
            INDEX_BASE,
            &sealed,
            &DeleteOptions::default().passes(1),
        )?;
        let mut header = Vec::with_capacity(LOG_HEADER_LEN);
        header.extend_from_slice(LOG_MAGIC);
        header.extend_from_slice(&VERSION.to_be_bytes());
        header.extend_from_slice(&base_id);
        let _ = self.root.write_atomic_shredding(
            INDEX_LOG,
            &header,
            &DeleteOptions::default().passes(1),
        )?;
        self.base_id = base_id;
        self.base_len = sealed.len() as u64;
        self.log_len = LOG_HEADER_LEN as u64;
        self.ordinal = 0;
        Ok(())
    }

    fn rebuild_from_files(&mut self) -> Result<()> {
        self.index.clear();
        for name in self.entry_file_names()? {
            let bytes = self.entries.read(&name)?;
            match self.decrypt_file(&name, &bytes) {
                Ok(e) => {
                    self.index.insert(e.id, e);
                }
                Err(_) => self.repairs.damaged.push(name),
            }
        }
        self.compact()
    }

    fn entry_file_names(&self) -> Result<Vec<String>> {
        Ok(self
            .entries
            .entries()?
            .into_iter()
            .filter_map(|n| n.into_string().ok())
            .filter(|n| {
                n.len() == secure_fs::PRIVATE_NAME_LEN && n.bytes().all(|b| b.is_ascii_hexdigit())
            })
            .collect())
    }

    /// Compares the index with the directory listing and repairs the
    /// difference (see the module docs).
    fn reconcile(&mut self) -> Result<()> {
        let on_disk: HashSet<String> = self.entry_file_names()?.into_iter().collect();
        let mut known: HashMap<String, EntryId> = HashMap::with_capacity(self.index.len());
        for id in self.index.keys() {
            known.insert(self.namer.name(id.as_bytes()), *id);
        }
        let mut changed = false;
        let gone: Vec<EntryId> = known
            .iter()
            .filter(|(n, _)| !on_disk.contains(*n))
            .map(|(_, id)| *id)
            .collect();
        for id in gone {
            self.index.remove(&id);
            self.repairs.dropped += 1;
            changed = true;
        }
        for name in on_disk.iter().filter(|n| !known.contains_key(*n)) {
            let bytes = self.entries.read(name)?;
            match self.decrypt_file(name, &bytes) {
                Ok(e) => {
                    self.index.insert(e.id, e);
                    self.repairs.added += 1;
                    changed = true;
                }
                Err(_) => self.repairs.damaged.push(name.clone()),
            }
        }
        if changed {
            self.compact()?;
        }
        Ok(())
    }

    /// Re-encrypts every entry file and the index under the keystore's
    /// primary key (after a rotation), calling `progress` after each file.
    /// Files already under the primary are left alone; files that do not
    /// decrypt are left as they are and named in the result (the caller
    /// keeps the old key version while any remain), so one damaged entry
    /// never stops the others from being re-encrypted.
    ///
    /// # Errors
    /// File-system and keystore errors.
    pub fn rewrap_all(&mut self, mut progress: impl FnMut(u64)) -> Result<Rewrapped> {
        let primary = self.ks.primary();
        let mut done = Rewrapped::default();
        for name in self.entry_file_names()? {
            let bytes = self.entries.read(&name)?;
            if keystore_rotation::envelope_key_id(&bytes).ok() != Some(primary) {
                let c = ctx(CTX_ENTRY, &[name.as_bytes()]);
                match self.ks.rewrap(&c, &bytes) {
                    Ok(new) => {
                        let _ = self.entries.write_atomic_shredding(
                            &name,
                            &new,
                            &DeleteOptions::default(),
                        )?;
                        done.rewrapped += 1;
                    }
                    Err(_) => done.damaged.push(name),
                }
            }
            progress(1);
        }
        self.entries.sync()?;
        // With damaged files left the old versions stay, so an index already
        // under the primary need not be written again at every open.
        let base_current = self
            .root
            .read(INDEX_BASE)
            .ok()
            .and_then(|b| keystore_rotation::envelope_key_id(&b).ok())
            == Some(primary);
        if done.rewrapped > 0 || done.damaged.is_empty() || !base_current {
            self.compact()?;
        }
        Ok(done)
    }

    /// The entry directory, for `doctor`.
    pub fn entries_dir(&self) -> &PrivateDir {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(n: i64) -> Entry {
        Entry {
            id: EntryId::generate().unwrap(),
            created: n,
            updated: n,
            tags: vec!["t".into()],
            title: format!("title {n}"),
            body: format!("body {n}"),
        }
    }

    #[test]
    fn index_and_deltas_round_trip() {
        let es = [entry(1), entry(2)];
        let b = encode_index(&[7; 16], es.iter());
        let snap = decode_index(&b).unwrap();
        assert_eq!(snap.base_id, [7; 16]);
        assert_eq!(snap.entries, es.to_vec());
        for n in 0..b.len() {
            assert!(decode_index(&b[..n]).is_err());
        }
        let d = encode_delta(&Delta::Upsert(es.to_vec()));
        assert!(matches!(decode_delta(&d).unwrap(), Delta::Upsert(v) if v == es.to_vec()));
        let d = encode_delta(&Delta::Remove(vec![es[0].id]));
        assert!(matches!(decode_delta(&d).unwrap(), Delta::Remove(v) if v == vec![es[0].id]));
        let d = encode_delta(&Delta::Applied);
        assert!(matches!(decode_delta(&d).unwrap(), Delta::Applied));
    }

    struct Fixture {
        _tmp: tempfile::TempDir,
        root: PrivateDir,
        ks: Keystore,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = PrivateDir::create(tmp.path().join("j")).unwrap();
        let ks = Keystore::create(
            root.path().join("keys"),
            keystore_rotation::Credential::Passphrase(b"store tests"),
            &keystore_rotation::Options::default(),
        )
        .unwrap();
        Store::create(&root, &ks, &[9; 32]).unwrap();
        Fixture {
            _tmp: tmp,
            root,
            ks,
        }
    }

    #[test]
    fn an_add_interrupted_after_its_delta_is_rolled_forward_and_deletes_too() {
        let f = fixture();
        let e = entry(5);
        {
            let mut s = Store::open(&f.root, &f.ks, &[9; 32]).unwrap();
            // The commit point: the delta is durable, the file not written.
            s.append(&Delta::Upsert(vec![e.clone()])).unwrap();
            assert!(!s.entries.exists(s.file_name(&e.id)).unwrap());
        }
        {
            let s = Store::open_for_append(&f.root, &f.ks, &[9; 32]).unwrap();
            assert!(s.repairs().rolled_forward);
            assert_eq!(s.read_entry(&e.id).unwrap(), e);
        }
        let mut s = Store::open(&f.root, &f.ks, &[9; 32]).unwrap();
        assert!(!s.repairs().any(), "{:?}", s.repairs());
        assert_eq!(s.indexed(&e.id), Some(&e));
        s.append(&Delta::Remove(vec![e.id])).unwrap();
        drop(s);
        let s = Store::open(&f.root, &f.ks, &[9; 32]).unwrap();
        assert!(s.repairs().rolled_forward);
        assert!(s.is_empty());
        assert!(!s.entries.exists(s.file_name(&e.id)).unwrap());
    }

    #[test]
    fn appends_compact_into_a_new_base_and_index_files_are_rebuilt_or_reconciled() {
        let f = fixture();
        let big = "x".repeat(100 << 10);
        let mut ids = Vec::new();
        {
            let mut s = Store::open_for_append(&f.root, &f.ks, &[9; 32]).unwrap();
            for n in 0..4 {
                let mut e = entry(n);
                e.body.clone_from(&big);
                ids.push(e.id);
                s.upsert(vec![e]).unwrap();
            }
            // 400 KiB of deltas passed the 256 KiB floor: folded into the base.
            assert!(s.log_len < 200 << 10, "{}", s.log_len);
        }
        let s = Store::open(&f.root, &f.ks, &[9; 32]).unwrap();
        assert_eq!(s.len(), 4);
        drop(s);
        // A file the index does not list is added; a missing one dropped.
        let s = Store::open(&f.root, &f.ks, &[9; 32]).unwrap();
        let gone = s.file_name(&ids[0]);
        drop(s);
        let entries = f.root.open_dir(ENTRIES_DIR).unwrap();
        let _ = entries
            .secure_delete(&gone, &DeleteOptions::default())
            .unwrap();
        let s = Store::open(&f.root, &f.ks, &[9; 32]).unwrap();
        assert_eq!((s.len(), s.repairs().dropped), (3, 1));
        drop(s);
        // An index that does not decrypt is rebuilt from the files.
        f.root.write_atomic(INDEX_BASE, b"garbage").unwrap();
        let s = Store::open(&f.root, &f.ks, &[9; 32]).unwrap();
        assert!(s.repairs().rebuilt);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn an_entry_file_moved_onto_another_name_is_refused() {
        let f = fixture();
        let (a, b) = (entry(1), entry(2));
        let mut s = Store::open(&f.root, &f.ks, &[9; 32]).unwrap();
        s.upsert(vec![a.clone()]).unwrap();
        s.upsert(vec![b.clone()]).unwrap();
        let bytes = s.entries.read(s.file_name(&a.id)).unwrap();
        s.entries.write_atomic(s.file_name(&b.id), &bytes).unwrap();
        assert_eq!(
            crate::error::code_of(&s.read_entry(&b.id).unwrap_err()),
            crate::error::Code::Integrity
        );
        assert_eq!(s.read_entry(&a.id).unwrap(), a);
    }

    #[test]
    fn a_huge_count_does_not_allocate() {
        let mut b = Vec::new();
        b.extend_from_slice(INDEX_MAGIC);
        b.extend_from_slice(&VERSION.to_be_bytes());
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&MAX_INDEX_ENTRIES.to_be_bytes());
        assert_eq!(decode_index(&b).unwrap_err(), DecodeError::Truncated);
    }
}
