//! The writer: appends, durability, epochs, rotation, retention, recovery.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::{Duration, Instant, SystemTime};

use secure_fs::{Access, DeleteOptions, DirLock, PrivateDir};
use zeroize::Zeroizing;

use crate::anchor::Checkpoint;
use crate::error::{Error, Result};
use crate::event::{self, Event};
use crate::format::{
    self, HEAD_FILE, Head, Kind, MAX_NONCE_LEN, PrunedSegment, SEGMENT_HEADER_LEN, SegmentHeader,
    Suite,
};
use crate::keys::{EpochKeys, KeyRing};
use crate::privacy::{SanitizedFields, Sanitizer};
use crate::scan::{self, Start, TornTail, Walker};

/// When appended records reach stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// Every append is written and `fdatasync`ed before it returns.
    PerRecord,
    /// Appends are batched and written with one `fdatasync` when
    /// `max_records` are pending, or when an append finds the oldest
    /// pending record older than `max_delay`, on [`AuditLog::flush`], and
    /// when the log is closed or dropped. An append's
    /// [`Appended::durable`] says whether it is already on disk.
    Group {
        /// Batch size that forces a write.
        max_records: usize,
        /// Age of the oldest pending record that forces a write at the
        /// next append.
        max_delay: Duration,
    },
}

/// How a log is written. `Options::default()`: per-record durability,
/// epochs of 1024 records or 10 minutes, 90-day retention, the default
/// [`Sanitizer`], AES-256-GCM records ([`Suite::Aes256Gcm`]).
#[derive(Debug)]
pub struct Options {
    suite: Suite,
    durability: Durability,
    epoch_records: u64,
    epoch_duration: Duration,
    retention: Duration,
    sanitizer: Sanitizer,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            suite: Suite::default(),
            durability: Durability::PerRecord,
            epoch_records: 1024,
            epoch_duration: Duration::from_secs(600),
            retention: Duration::from_secs(90 * 86_400),
            sanitizer: Sanitizer::default(),
        }
    }
}

impl Options {
    /// The record encryption of a log created with these options. An
    /// existing log keeps the suite it was created with (its segment
    /// headers record it), whatever this says.
    #[must_use]
    pub fn suite(mut self, suite: Suite) -> Self {
        self.suite = suite;
        self
    }

    /// Sets the durability policy.
    #[must_use]
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// Keys evolve after `records` records, or once the epoch's first
    /// record is `duration` old, whichever comes first (default 1024
    /// records, 10 minutes). The time is checked at each append and by a
    /// background thread, so an idle log still moves on: its last records'
    /// keys are erased at most `duration` (plus a quarter of it, at most
    /// 1 s) after they were written. The age is the longer of the
    /// monotonic and the wall-clock time (the monotonic clock stops while
    /// the machine sleeps), and opening a log whose current epoch holds
    /// records ends that epoch at once.
    #[must_use]
    pub fn epoch(mut self, records: u64, duration: Duration) -> Self {
        self.epoch_records = records;
        self.epoch_duration = duration;
        self
    }

    /// How long [`AuditLog::apply_retention`] keeps records (default 90
    /// days).
    #[must_use]
    pub fn retention(mut self, d: Duration) -> Self {
        self.retention = d;
        self
    }

    /// The sanitizer run on every string field.
    #[must_use]
    pub fn sanitizer(mut self, s: Sanitizer) -> Self {
        self.sanitizer = s;
        self
    }

    fn check(&self) -> Result<()> {
        if self.epoch_records == 0 {
            return Err(Error::InvalidInput(
                "an epoch must allow at least one record".into(),
            ));
        }
        if let Durability::Group { max_records: 0, .. } = self.durability {
            return Err(Error::InvalidInput(
                "group commit needs a batch of at least one record".into(),
            ));
        }
        Ok(())
    }
}

/// The result of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Appended {
    /// The record's sequence number.
    pub seq: u64,
    /// Whether the record is already on stable storage (always true with
    /// [`Durability::PerRecord`]).
    pub durable: bool,
}

/// What [`AuditLog::prune_before`] removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PruneReport {
    /// The pruned segments, with the chain heads the tombstone keeps.
    pub segments: Vec<PrunedSegment>,
    /// First sequence number removed (if any).
    pub from_seq: Option<u64>,
    /// Last sequence number removed (if any).
    pub through_seq: Option<u64>,
    /// Whether the file system let the secure delete overwrite the old
    /// blocks (false on copy-on-write file systems and SSD-backed ones it
    /// recognises; destroying the key versions is what makes pruning final).
    pub overwrite_reliable: bool,
}

impl PruneReport {
    /// The key versions of the pruned segments (each segment has its own).
    /// They are already gone from the [`KeyRing`] given to the prune,
    /// erased from memory; delete them wherever else they are kept (your
    /// keystore), and no copy of a pruned record (a backup, a block the
    /// secure delete could not overwrite) can ever be decrypted again.
    pub fn destroyed_key_versions(&self) -> Vec<u32> {
        self.segments.iter().map(|s| s.key_version).collect()
    }
}

/// What opening a log had to repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// The torn bytes that were trimmed.
    pub torn: TornTail,
    /// Sequence number of the `audit.recovered` record noting it.
    pub noted_at: u64,
}

/// An encrypted, tamper-evident, forward-secure audit log, open for
/// appending. One writer per directory: a second one, in this process or
/// another, gets [`Error::Locked`].
///
/// A background thread keeps the time bounds when appends stop: it ends an
/// epoch once its first record is as old as the epoch duration (so the
/// keys of records written long ago do not stay in memory while the log
/// is idle), and with [`Durability::Group`] it flushes a batch once its
/// oldest record is `max_delay` old. Dropping the log flushes and seals
/// it; [`AuditLog::close`] does the same and reports errors.
pub struct AuditLog {
    w: Arc<Mutex<Writer>>,
    background: Option<Background>,
}

struct Background {
    stop: mpsc::Sender<()>,
    handle: std::thread::JoinHandle<()>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("AuditLog");
        if let Ok(w) = self.w.lock() {
            d.field("dir", &w.dir.path())
                .field("segment", &w.segment)
                .field("key_version", &w.key_version)
                .field("epoch", &w.ek.epoch)
                .field("next_seq", &w.next_seq);
        }
        d.field("background_thread", &self.background.is_some())
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens the log in `path` for appending, creating the directory (0700)
    /// and a new log if there is none.
    ///
    /// A new log starts under the newest key version in `keys`. An existing
    /// log is resumed from its sealed head: the records written after it
    /// are verified, a torn final record (a crash in mid-append) is trimmed
    /// to the last valid record, the trim is synced, and an
    /// `audit.recovered` record noting offset and length is appended. If
    /// `keys` holds a newer version than the log's current one, the log
    /// then rotates to it. The caller's keys are not kept: the writer holds
    /// only the current epoch's keys.
    ///
    /// # Errors
    /// [`Error::Locked`] if another writer has it open;
    /// [`Error::Tampered`] if the records after the head, or the head
    /// itself, fail verification, or the log is shorter than its head says
    /// (never for a torn tail); [`Error::MissingKey`] if `keys` lacks both
    /// keys of the current or newest version; [`Error::InvalidInput`] for
    /// bad options; file-system errors.
    pub fn open(path: impl AsRef<Path>, keys: &KeyRing, options: Options) -> Result<AuditLog> {
        let tick = background_tick_period(&options);
        let w = Arc::new(Mutex::new(Writer::open(path, keys, options)?));
        let background = Some(spawn_background(Arc::downgrade(&w), tick)?);
        Ok(AuditLog { w, background })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Writer>> {
        self.w.lock().map_err(|_| Error::Poisoned)
    }

    /// The writer's state for the read-only accessors: still true after a
    /// thread panicked while holding the lock (writes refuse that case).
    fn state(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.w
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What opening had to repair, if anything.
    pub fn recovery(&self) -> Option<Recovery> {
        self.state().recovery()
    }

    /// The sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.state().next_seq()
    }

    /// The current key version.
    pub fn key_version(&self) -> u32 {
        self.state().key_version()
    }

    /// The current epoch (of the current key version).
    pub fn epoch(&self) -> u32 {
        self.state().epoch()
    }

    /// This log's random 128-bit id.
    pub fn log_id(&self) -> [u8; 16] {
        self.state().log_id()
    }

    /// Sanitizes, encrypts, MACs and appends `event`.
    ///
    /// With [`Durability::PerRecord`] the record is on stable storage when
    /// this returns; with [`Durability::Group`] see [`Appended::durable`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad event type, fields that do not
    /// serialize, or an event over 1 MiB; [`Error::Poisoned`] after an
    /// earlier write failure; I/O errors (after which the log is poisoned).
    pub fn append(&self, event: &Event) -> Result<Appended> {
        self.lock()?.append(event)
    }

    /// Writes and syncs every pending record (group commit), then updates
    /// the sealed head to the new end of the log. Returns the sequence
    /// number up to which everything is durable.
    ///
    /// # Errors
    /// I/O errors, after which the log is poisoned; [`Error::Poisoned`].
    pub fn flush(&self) -> Result<Option<u64>> {
        self.lock()?.flush()
    }

    /// Flushes, then syncs the sealed head, so that truncation up to here
    /// is detected on open and by verification even after a power loss.
    ///
    /// The head is updated after every flush (so truncating the log
    /// without a crash is always detected) and synced at each epoch
    /// change, rotation, prune, anchor and close; this syncs it now.
    ///
    /// # Errors
    /// As [`AuditLog::flush`].
    pub fn seal(&self) -> Result<()> {
        self.lock()?.seal()
    }

    /// Starts a new segment under the newest key version in `keys` (which
    /// must be newer than the current one). The chain continues: the new
    /// segment's header carries the previous segment's last MAC, and the
    /// old segment ends with a close record.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the newest version is not newer;
    /// [`Error::MissingKey`]; I/O errors.
    pub fn rotate(&self, keys: &KeyRing) -> Result<()> {
        self.lock()?.rotate(keys)
    }

    /// Prunes whole segments whose records are all older than `cutoff`
    /// (never the current segment). First a tombstone naming the pruned
    /// range and keeping the pruned segments' chain heads is appended and
    /// synced; then the segments are securely deleted and their key
    /// versions destroyed in `keys` ([`KeyRing::destroy`]). The remaining
    /// log still verifies from its start, without those keys. Delete the
    /// versions the report names ([`PruneReport::destroyed_key_versions`])
    /// from your keystore too, so that no copy of a pruned record (a
    /// backup, a copy-on-write block) can be decrypted.
    ///
    /// # Errors
    /// I/O errors; [`Error::Tampered`] if a segment header is unreadable.
    pub fn prune_before(&self, cutoff: SystemTime, keys: &mut KeyRing) -> Result<PruneReport> {
        self.lock()?.prune_before(cutoff, keys)
    }

    /// Applies the retention period of the [`Options`] (default 90 days):
    /// [`AuditLog::prune_before`] now minus the period.
    ///
    /// # Errors
    /// As [`AuditLog::prune_before`].
    pub fn apply_retention(&self, keys: &mut KeyRing) -> Result<PruneReport> {
        self.lock()?.apply_retention(keys)
    }

    /// Flushes and seals the head, then returns a signed checkpoint of the
    /// current head (C2SP signed-note text) to keep elsewhere: verifying
    /// against it later detects the removal or rewriting of any record
    /// written before it.
    ///
    /// # Errors
    /// As [`AuditLog::flush`]; [`Error::InvalidInput`] for a bad name.
    pub fn anchor(&self, key: &ed25519_dalek::SigningKey, name: &str) -> Result<Checkpoint> {
        self.lock()?.anchor(key, name)
    }

    /// Stops the background thread, flushes pending records and seals the
    /// head, reporting errors (drop does the same but cannot report them).
    ///
    /// # Errors
    /// As [`AuditLog::flush`].
    pub fn close(mut self) -> Result<()> {
        self.stop_background();
        self.lock()?.seal()
    }

    fn stop_background(&mut self) {
        if let Some(f) = self.background.take() {
            drop(f.stop);
            let _ = f.handle.join();
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // The writer itself flushes and seals when its last reference goes.
        self.stop_background();
    }
}

/// The start of an epoch's time bound. `Instant` does not advance while
/// the machine is suspended, so the wall clock is read too: an epoch has
/// lasted the longer of the two (a wall clock set back counts as zero).
#[derive(Debug, Clone, Copy)]
struct EpochClock {
    mono: Instant,
    wall: SystemTime,
}

impl EpochClock {
    fn now() -> Self {
        EpochClock {
            mono: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// Whether `d` has passed since the start, `now` being the monotonic
    /// time now.
    fn lasted(&self, now: Instant, d: Duration) -> bool {
        now.saturating_duration_since(self.mono) >= d
            || SystemTime::now()
                .duration_since(self.wall)
                .is_ok_and(|wall| wall >= d)
    }
}

/// How often the background thread looks at the writer: a quarter of the
/// epoch duration, or the group-commit delay if shorter, between 1 ms and
/// 1 s. An epoch then ends at most one period late.
fn background_tick_period(options: &Options) -> Duration {
    let mut tick = options.epoch_duration / 4;
    if let Durability::Group { max_delay, .. } = options.durability {
        tick = tick.min(max_delay);
    }
    tick.clamp(Duration::from_millis(1), Duration::from_secs(1))
}

fn spawn_background(w: Weak<Mutex<Writer>>, tick: Duration) -> Result<Background> {
    let (stop, rx) = mpsc::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("audit-log-background".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(tick) {
                let Some(w) = w.upgrade() else { return };
                let Ok(mut w) = w.lock() else { return };
                w.background_tick(Instant::now());
            }
        })
        .map_err(|e| Error::io("audit-log-background thread", e))?;
    Ok(Background { stop, handle })
}

/// What the writer learnt about a segment's header while it held the key
/// ring (on open, or when it wrote the header). Pruning trusts a header
/// only if its bytes on disk are still exactly the verified ones: the
/// writer keeps no keys afterwards, and someone who can write the files
/// but holds no key must not be able to back-date a segment into
/// retention or relabel its key version.
enum HeaderCheck {
    /// The header's bytes, MAC verified, for this log and file name.
    Verified([u8; SEGMENT_HEADER_LEN]),
    /// Its key version (this one) was not in the ring the log was opened
    /// with, so its MAC could not be checked.
    MissingKey(u32),
}

/// Checks the headers of `segments` (MAC under their key version's epoch-0
/// key, log id, segment number). A segment whose header fails is left out.
fn check_headers(
    dir: &PrivateDir,
    keys: &KeyRing,
    log_id: &[u8; 16],
    segments: &[u32],
) -> Result<BTreeMap<u32, HeaderCheck>> {
    let mut out = BTreeMap::new();
    for &n in segments {
        let Some(b) = read_header_bytes(dir, n)? else {
            continue;
        };
        let Ok((h, _)) = SegmentHeader::parse_unchecked(&b) else {
            continue;
        };
        if h.segment != n || h.log_id != *log_id {
            continue;
        }
        match keys.epoch0(log_id, h.key_version, false) {
            Ok(k0) if SegmentHeader::mac_ok(&b, &k0) => {
                let _ = out.insert(n, HeaderCheck::Verified(b));
            }
            Ok(_) => {}
            Err(_) => {
                let _ = out.insert(n, HeaderCheck::MissingKey(h.key_version));
            }
        }
    }
    Ok(out)
}

/// The writer's state, behind the [`AuditLog`] handle's mutex.
pub(crate) struct Writer {
    dir: PrivateDir,
    _lock: DirLock,
    /// Segment headers checked while the key ring was at hand.
    headers: BTreeMap<u32, HeaderCheck>,
    log_id: [u8; 16],
    segment: u32,
    file: File,
    file_len: u64,
    key_version: u32,
    ek: EpochKeys,
    next_seq: u64,
    chain: [u8; 32],
    epoch_count: u64,
    /// When the epoch's first record was written (or the epoch began, if
    /// it has none yet), on the monotonic clock and on the wall clock.
    epoch_started: EpochClock,
    first_seq: u64,
    options: Options,
    pending: Vec<u8>,
    pending_records: usize,
    pending_since: Option<Instant>,
    /// The sealed head, updated in place after the first write (see
    /// [`Writer::write_head`]).
    head_file: Option<File>,
    /// A sealing point (an epoch change) passed since the head was last
    /// synced: the next head update is synced.
    seal_due: bool,
    poisoned: bool,
    recovery: Option<Recovery>,
    plain: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("dir", &self.dir.path())
            .field("segment", &self.segment)
            .field("key_version", &self.key_version)
            .field("epoch", &self.ek.epoch)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

struct Resumed {
    segment: u32,
    offset: u64,
    key_version: u32,
    ek: EpochKeys,
    next_seq: u64,
    chain: [u8; 32],
    epoch_count: u64,
    first_seq: u64,
    log_id: [u8; 16],
    torn: Option<TornTail>,
}

impl Writer {
    /// Opens the log in `path` for appending, creating the directory (0700)
    /// and a new log if there is none.
    ///
    /// A new log starts under the newest key version in `keys`. An existing
    /// log is resumed from its sealed head: the records written after it
    /// are verified, a torn final record (a crash in mid-append) is trimmed
    /// to the last valid record, the trim is synced, and an
    /// `audit.recovered` record noting offset and length is appended. If
    /// `keys` holds a newer version than the log's current one, the log
    /// then rotates to it.
    ///
    /// # Errors
    /// [`Error::Locked`] if another writer has it open;
    /// [`Error::Tampered`] if the records after the head, or the head
    /// itself, fail verification (never for a torn tail);
    /// [`Error::MissingKey`] if `keys` lacks both keys of the current or
    /// newest version; file-system errors.
    pub(crate) fn open(path: impl AsRef<Path>, keys: &KeyRing, options: Options) -> Result<Writer> {
        options.check()?;
        let Some(newest) = keys.newest_version() else {
            return Err(Error::InvalidInput("the key ring is empty".into()));
        };
        let dir = PrivateDir::create(path.as_ref())?;
        let lock = dir.lock()?;
        dir.remove_stale_temp_files()?;
        let segments = scan::list_segments(&dir)?;
        let head = scan::read_head(&dir)?;
        let interrupted_creation =
            head.is_none() && segments == [1] && segment_len(&dir, 1)? <= SEGMENT_HEADER_LEN as u64;
        if segments.is_empty() && head.is_none() || interrupted_creation {
            return Self::create(dir, lock, keys, newest, options);
        }
        // A segment whose creation was interrupted (header incomplete,
        // after the head): nothing in it was ever acknowledged.
        let mut removed = None;
        if let (Some(&last), Some(h)) = (
            segments.last(),
            head.as_deref().and_then(|b| Head::parse_unchecked(b).ok()),
        ) && last > h.segment
        {
            let len = segment_len(&dir, last)?;
            if len < SEGMENT_HEADER_LEN as u64 {
                dir.remove_file(format::segment_file_name(last))?;
                removed = Some(TornTail {
                    segment: last,
                    offset: 0,
                    bytes: len,
                });
            }
        }
        let r = Self::resume(&dir, keys)?;
        let name = format::segment_file_name(r.segment);
        if let Some(t) = r.torn {
            let f = dir.open_file(&name, Access::ReadWrite)?;
            let p = dir.path().join(&name);
            f.set_len(t.offset).map_err(|e| Error::io(&p, e))?;
            f.sync_all().map_err(|e| Error::io(&p, e))?;
            dir.sync()?;
        }
        let file = dir.open_file(&name, Access::Append)?;
        let headers = check_headers(&dir, keys, &r.log_id, &scan::list_segments(&dir)?)?;
        let mut log = Writer {
            dir,
            _lock: lock,
            headers,
            log_id: r.log_id,
            segment: r.segment,
            file,
            file_len: r.offset,
            key_version: r.key_version,
            ek: r.ek,
            next_seq: r.next_seq,
            chain: r.chain,
            epoch_count: r.epoch_count,
            epoch_started: EpochClock::now(),
            first_seq: r.first_seq,
            options,
            pending: Vec::with_capacity(1 << 16),
            pending_records: 0,
            pending_since: None,
            head_file: None,
            seal_due: true,
            poisoned: false,
            recovery: None,
            plain: Zeroizing::new(Vec::with_capacity(4096)),
        };
        if let Some(torn) = r.torn.or(removed) {
            let body = format::encode_recovered(
                format::now_nanos(),
                torn.segment,
                torn.offset,
                torn.bytes,
            );
            let seq = log.push_frame(Kind::Recovered, &body)?;
            log.flush()?;
            log.recovery = Some(Recovery {
                torn,
                noted_at: seq,
            });
        }
        if newest > log.key_version {
            log.write_head(true)?;
            log.rotate(keys)?;
        } else if log.epoch_count > 0 {
            // The epoch holds records written before this open, at times
            // the head does not keep: end it now, so that this process
            // never holds the keys of records it did not write. (A
            // rotation ends it too.)
            // The flush seals the head (the epoch changed).
            log.close_epoch()?;
            log.flush()?;
        } else {
            log.write_head(true)?;
        }
        Ok(log)
    }

    /// Resumes from the sealed head. A walk from the head knows only the
    /// head's point, so when it finds tampering the log is walked from its
    /// start for the exact report (the first problem, where it is, and the
    /// last record found); if that walk cannot run (an old key version is
    /// missing), the head walk's report stands.
    fn resume(dir: &PrivateDir, keys: &KeyRing) -> Result<Resumed> {
        match Self::resume_at_head(dir, keys) {
            Err(Error::Tampered(t)) => Err(Self::first_problem(dir, keys)
                .filter(|e| matches!(e, Error::Tampered(_)))
                .unwrap_or(Error::Tampered(t))),
            r => r,
        }
    }

    /// The first problem a verification walk from the start finds.
    fn first_problem(dir: &PrivateDir, keys: &KeyRing) -> Option<Error> {
        let mut w = match Walker::open(dir, keys, false, Start::Full) {
            Ok(w) => w,
            Err(e) => return Some(e),
        };
        loop {
            match w.next() {
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(e) => return Some(e),
            }
        }
    }

    fn resume_at_head(dir: &PrivateDir, keys: &KeyRing) -> Result<Resumed> {
        let mut w = Walker::open(dir, keys, true, Start::Head)?;
        while w.next()?.is_some() {}
        let ek = std::mem::replace(&mut w.ek, EpochKeys::keyless(0, 0));
        Ok(Resumed {
            segment: w.segment(),
            offset: w.torn.map_or(w.reader.len, |t| t.offset),
            key_version: w.key_version,
            ek,
            next_seq: w.next_seq,
            chain: w.chain,
            epoch_count: w.epoch_count,
            first_seq: w.first_seq,
            log_id: w.log_id,
            torn: w.torn,
        })
    }

    fn create(
        dir: PrivateDir,
        lock: DirLock,
        keys: &KeyRing,
        version: u32,
        options: Options,
    ) -> Result<Writer> {
        if dir.exists(format::segment_file_name(1))? {
            dir.remove_file(format::segment_file_name(1))?;
        }
        let log_id: [u8; 16] = rand::random();
        let k0 = keys
            .epoch0(&log_id, version, true)?
            .with_suite(options.suite);
        let header = SegmentHeader {
            log_id,
            segment: 1,
            key_version: version,
            first_seq: 0,
            created_ns: format::now_nanos(),
            prev: [0u8; 32],
            suite: options.suite,
        };
        let header = header.encode(&k0);
        let file = new_segment_file(&dir, 1, &header)?;
        let mut log = Writer {
            dir,
            _lock: lock,
            headers: BTreeMap::from([(1, HeaderCheck::Verified(header))]),
            log_id,
            segment: 1,
            file,
            file_len: SEGMENT_HEADER_LEN as u64,
            key_version: version,
            ek: k0,
            next_seq: 0,
            chain: [0u8; 32],
            epoch_count: 0,
            epoch_started: EpochClock::now(),
            first_seq: 0,
            options,
            pending: Vec::with_capacity(1 << 16),
            pending_records: 0,
            pending_since: None,
            head_file: None,
            seal_due: true,
            poisoned: false,
            recovery: None,
            plain: Zeroizing::new(Vec::with_capacity(4096)),
        };
        log.write_head(true)?;
        Ok(log)
    }

    /// What opening had to repair, if anything.
    pub(crate) fn recovery(&self) -> Option<Recovery> {
        self.recovery
    }

    /// The sequence number the next record will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The current key version.
    pub(crate) fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The current epoch (of the current key version).
    pub(crate) fn epoch(&self) -> u32 {
        self.ek.epoch
    }

    /// This log's random 128-bit id.
    pub(crate) fn log_id(&self) -> [u8; 16] {
        self.log_id
    }

    /// Sanitizes, encrypts, MACs and appends `event`.
    ///
    /// With [`Durability::PerRecord`] the record is on stable storage when
    /// this returns; with [`Durability::Group`] see [`Appended::durable`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad event type, fields that do not
    /// serialize, or an event over 1 MiB; [`Error::Poisoned`] after an
    /// earlier write failure; I/O errors (after which the log is poisoned).
    pub(crate) fn append(&mut self, event: &Event) -> Result<Appended> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        Event::check_type(event.event_type())?;
        let time_ns = format::to_nanos(event.time().unwrap_or_else(SystemTime::now))?;
        let fields = SanitizedFields {
            fields: event.fields(),
            sanitizer: &self.options.sanitizer,
        };
        self.plain.clear();
        event::encode_plaintext(event.event_type(), time_ns, &fields, &mut self.plain)?;
        let now = Instant::now();
        self.roll_epoch_if_due(now)?;
        let seq = self.push_event()?;
        let durable = match self.options.durability {
            Durability::PerRecord => {
                self.flush()?;
                true
            }
            Durability::Group {
                max_records,
                max_delay,
            } => {
                let old = self
                    .pending_since
                    .is_some_and(|t| now.saturating_duration_since(t) >= max_delay);
                if self.pending_records >= max_records || old {
                    self.flush()?;
                    true
                } else {
                    false
                }
            }
        };
        Ok(Appended { seq, durable })
    }

    /// The background thread's round: ends an epoch whose first record is
    /// as old as the epoch duration (flushing its close record, which also
    /// seals the head), and with group commit flushes a batch whose oldest
    /// record is `max_delay` old. A failure poisons the writer; the next
    /// call reports it.
    fn background_tick(&mut self, now: Instant) {
        if self.poisoned {
            return;
        }
        if self.epoch_expired(now) {
            let _ = self.close_epoch().and_then(|()| self.flush());
            return;
        }
        if let Durability::Group { max_delay, .. } = self.options.durability
            && self
                .pending_since
                .is_some_and(|t| now.saturating_duration_since(t) >= max_delay)
        {
            let _ = self.flush();
        }
    }

    /// Whether the epoch holds records and its first one is as old as the
    /// epoch duration.
    fn epoch_expired(&self, now: Instant) -> bool {
        self.epoch_count > 0 && self.epoch_started.lasted(now, self.options.epoch_duration)
    }

    fn roll_epoch_if_due(&mut self, now: Instant) -> Result<()> {
        if self.epoch_count >= self.options.epoch_records || self.epoch_expired(now) {
            self.close_epoch()?;
        }
        Ok(())
    }

    /// Appends a close record and takes the one-way step to the next epoch;
    /// the old keys are erased.
    fn close_epoch(&mut self) -> Result<()> {
        let body = format::encode_close(format::now_nanos(), self.epoch_count);
        self.push_frame(Kind::Close, &body)?;
        let old = std::mem::replace(&mut self.ek, EpochKeys::keyless(0, 0));
        self.ek = old.evolve();
        self.epoch_count = 0;
        self.epoch_started = EpochClock::now();
        self.seal_due = true;
        Ok(())
    }

    /// The sequence number and epoch count after one more record. Both
    /// come from the sealed head on open, which a MAC-key holder can forge
    /// at the top of their range: that is reported, never an overflow.
    fn counts_after_push(&self) -> Result<(u64, u64)> {
        match (
            self.next_seq.checked_add(1),
            self.epoch_count.checked_add(1),
        ) {
            (Some(seq), Some(count)) => Ok((seq, count)),
            _ => Err(Error::tamper(
                crate::error::TamperKind::ModifiedBytes,
                0,
                0,
                None,
            )),
        }
    }

    fn push_event(&mut self) -> Result<u64> {
        let counts = self.counts_after_push()?;
        let seq = self.next_seq;
        let mut nonce = [0u8; MAX_NONCE_LEN];
        let nonce = &mut nonce[..self.ek.suite().nonce_len()];
        rand::fill(&mut *nonce);
        let mac = format::build_event_frame(
            &mut self.pending,
            &self.log_id,
            &self.ek,
            seq,
            &self.chain,
            nonce,
            &self.plain,
        )?;
        self.after_push(mac, counts);
        Ok(seq)
    }

    fn push_frame(&mut self, kind: Kind, body: &[u8]) -> Result<u64> {
        let counts = self.counts_after_push()?;
        let seq = self.next_seq;
        let mac = format::build_frame(
            &mut self.pending,
            kind,
            &self.log_id,
            &self.ek,
            seq,
            &self.chain,
            body,
        );
        self.after_push(mac, counts);
        Ok(seq)
    }

    fn after_push(&mut self, mac: [u8; 32], (next_seq, epoch_count): (u64, u64)) {
        if self.epoch_count == 0 {
            // The epoch's time bound runs from its first record.
            self.epoch_started = EpochClock::now();
        }
        self.chain = mac;
        self.next_seq = next_seq;
        self.epoch_count = epoch_count;
        self.pending_records += 1;
        if self.pending_since.is_none() {
            self.pending_since = Some(Instant::now());
        }
    }

    /// Writes and syncs every pending record (group commit), then updates
    /// the sealed head to the new end (synced if an epoch changed). Returns
    /// the sequence number up to which everything is durable.
    ///
    /// # Errors
    /// I/O errors, after which the log is poisoned; [`Error::Poisoned`].
    pub(crate) fn flush(&mut self) -> Result<Option<u64>> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        if !self.pending.is_empty() {
            let path = self.segment_path();
            let res = self
                .file
                .write_all(&self.pending)
                .and_then(|()| self.file.sync_data());
            if let Err(e) = res {
                self.poisoned = true;
                return Err(Error::io(path, e));
            }
            self.file_len += self.pending.len() as u64;
            self.pending.clear();
            self.pending_records = 0;
            self.pending_since = None;
            self.write_head(self.seal_due)?;
        } else if self.seal_due {
            self.write_head(true)?;
        }
        Ok(self.next_seq.checked_sub(1))
    }

    fn segment_path(&self) -> std::path::PathBuf {
        self.dir
            .path()
            .join(format::segment_file_name(self.segment))
    }

    /// Writes the sealed head for the current end of the log, which is
    /// already on stable storage (the head never runs ahead of it).
    ///
    /// The first write of a writer replaces the file atomically and syncs
    /// it; later ones overwrite its 136 bytes in place with one `pwrite`,
    /// which a crash cannot tear (it lies in the file's first 512-byte
    /// sector, the unit disks write atomically, as PostgreSQL relies on for
    /// `pg_control`), and sync it only when `sync` is set. Without a sync,
    /// a power loss can leave an older head, never a newer one: the records
    /// after it are then verified by the chain alone.
    fn write_head(&mut self, sync: bool) -> Result<()> {
        let head = Head {
            log_id: self.log_id,
            segment: self.segment,
            key_version: self.key_version,
            epoch: self.ek.epoch,
            epoch_count: self.epoch_count,
            next_seq: self.next_seq,
            end_offset: self.file_len,
            chain: self.chain,
            first_seq: self.first_seq,
        };
        let bytes = head.encode(&self.ek);
        let synced = sync || self.head_file.is_none();
        let res = match &self.head_file {
            Some(f) => f
                .write_all_at(&bytes, 0)
                .and_then(|()| if sync { f.sync_data() } else { Ok(()) })
                .map_err(|e| Error::io(self.dir.path().join(HEAD_FILE), e)),
            None => self
                .dir
                .write_atomic(HEAD_FILE, &bytes)
                .and_then(|()| self.dir.open_file(HEAD_FILE, Access::ReadWrite))
                .map(|f| self.head_file = Some(f))
                .map_err(Error::from),
        };
        if let Err(e) = res {
            self.poisoned = true;
            return Err(e);
        }
        if synced {
            self.seal_due = false;
        }
        Ok(())
    }

    /// Flushes, then seals the head (so that truncation up to here is
    /// detected on open and by verification).
    ///
    /// # Errors
    /// As [`AuditLog::flush`].
    pub(crate) fn seal(&mut self) -> Result<()> {
        self.flush()?;
        self.write_head(true)
    }

    /// Starts a new segment under the newest key version in `keys` (which
    /// must be newer than the current one). The chain continues: the new
    /// segment's header carries the previous segment's last MAC, and the
    /// old segment ends with a close record.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the newest version is not newer;
    /// [`Error::MissingKey`]; I/O errors.
    pub(crate) fn rotate(&mut self, keys: &KeyRing) -> Result<()> {
        let Some(version) = keys.newest_version().filter(|&v| v > self.key_version) else {
            return Err(Error::InvalidInput(format!(
                "rotation needs a key version newer than {}",
                self.key_version
            )));
        };
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        // The log keeps the suite it was created with.
        let suite = self.ek.suite();
        let k0 = keys.epoch0(&self.log_id, version, true)?.with_suite(suite);
        self.close_epoch()?;
        self.flush()?;
        let segment = self.segment + 1;
        let header = SegmentHeader {
            log_id: self.log_id,
            segment,
            key_version: version,
            first_seq: self.next_seq,
            created_ns: format::now_nanos(),
            prev: self.chain,
            suite,
        };
        let header = header.encode(&k0);
        let file = match new_segment_file(&self.dir, segment, &header) {
            Ok(f) => f,
            Err(e) => {
                self.poisoned = true;
                return Err(e);
            }
        };
        let _ = self.headers.insert(segment, HeaderCheck::Verified(header));
        self.file = file;
        self.segment = segment;
        self.file_len = SEGMENT_HEADER_LEN as u64;
        self.key_version = version;
        self.ek = k0;
        self.epoch_count = 0;
        self.epoch_started = EpochClock::now();
        self.write_head(true)
    }

    /// Prunes whole segments whose records are all older than `cutoff`
    /// (never the current segment). First a tombstone naming the pruned
    /// range and keeping the pruned segments' chain heads is appended and
    /// synced; then the pruned segments' key versions are destroyed in
    /// `keys` and the segments securely deleted. The remaining log still
    /// verifies from its start.
    ///
    /// Each header that decides what is pruned (the creation time of the
    /// following segment, the pruned segment's key version and first
    /// sequence number, the chain value it ends with) must be byte for
    /// byte the header whose MAC was verified when the log was opened or
    /// the segment created, and the two must follow each other in the
    /// chain; otherwise nothing is pruned.
    ///
    /// # Errors
    /// I/O errors; [`Error::Tampered`] (at the segment's header) if a
    /// header that decides the pruning is unreadable, fails its MAC, is
    /// another segment's or another log's, or was changed since it was
    /// verified; [`Error::MissingKey`] if the key ring the log was opened
    /// with lacked its key version, so it could not be verified.
    pub(crate) fn prune_before(
        &mut self,
        cutoff: SystemTime,
        keys: &mut KeyRing,
    ) -> Result<PruneReport> {
        self.flush()?;
        let cutoff_ns = format::to_nanos(cutoff).unwrap_or(0);
        let segments = scan::list_segments(&self.dir)?;
        let mut pruned = Vec::new();
        for pair in segments.windows(2) {
            let (s, t) = (pair[0], pair[1]);
            if t != s + 1 || s >= self.segment {
                break;
            }
            // Every record of `s` is older than the creation of `t`.
            let ht = self.verified_header(t)?;
            if ht.created_ns >= cutoff_ns {
                break;
            }
            let hs = self.verified_header(s)?;
            // `t` follows `s` in the chain: a newer key version, and `s`
            // holds at least its close record.
            let last_seq = ht.first_seq.checked_sub(1);
            let Some(last_seq) =
                last_seq.filter(|&l| ht.key_version > hs.key_version && l >= hs.first_seq)
            else {
                return Err(Error::tamper(
                    crate::error::TamperKind::ModifiedBytes,
                    t,
                    0,
                    None,
                ));
            };
            pruned.push(PrunedSegment {
                segment: s,
                key_version: hs.key_version,
                first_seq: hs.first_seq,
                last_seq,
                last_mac: ht.prev,
            });
        }
        let (Some(first), Some(last)) = (pruned.first(), pruned.last()) else {
            return Ok(PruneReport::default());
        };
        let (from, through) = (first.first_seq, last.last_seq);
        let body = format::encode_pruned(format::now_nanos(), from, through, &pruned);
        self.push_frame(Kind::Pruned, &body)?;
        self.flush()?;
        // The tombstone is durable: the range is pruned. Destroying the
        // keys first makes it final even if a delete below fails.
        for p in &pruned {
            let _ = keys.destroy(p.key_version);
        }
        let mut overwrite_reliable = true;
        for p in &pruned {
            let r = self.dir.secure_delete(
                format::segment_file_name(p.segment),
                &DeleteOptions::default(),
            )?;
            overwrite_reliable &= r.overwrite_reliable();
        }
        // `through` is a `first_seq - 1` above: no overflow.
        self.first_seq = through.saturating_add(1);
        self.write_head(true)?;
        Ok(PruneReport {
            segments: pruned,
            from_seq: Some(from),
            through_seq: Some(through),
            overwrite_reliable,
        })
    }

    /// Segment `n`'s header, if its bytes on disk are the ones verified
    /// while the key ring was at hand (see [`HeaderCheck`]).
    fn verified_header(&self, n: u32) -> Result<SegmentHeader> {
        let tampered = || Error::tamper(crate::error::TamperKind::ModifiedBytes, n, 0, None);
        match self.headers.get(&n) {
            Some(HeaderCheck::Verified(known)) => {
                let on_disk = read_header_bytes(&self.dir, n)?;
                if on_disk.as_ref() != Some(known) {
                    return Err(tampered());
                }
                SegmentHeader::parse_unchecked(known)
                    .map(|(h, _)| h)
                    .map_err(|_| tampered())
            }
            Some(HeaderCheck::MissingKey(version)) => Err(Error::MissingKey {
                version: *version,
                encryption: false,
            }),
            None => Err(tampered()),
        }
    }

    /// Applies the retention period of the [`Options`] (default 90 days):
    /// [`AuditLog::prune_before`] now minus the period.
    ///
    /// # Errors
    /// As [`AuditLog::prune_before`].
    pub(crate) fn apply_retention(&mut self, keys: &mut KeyRing) -> Result<PruneReport> {
        let cutoff = SystemTime::now()
            .checked_sub(self.options.retention)
            .unwrap_or(std::time::UNIX_EPOCH);
        self.prune_before(cutoff, keys)
    }

    /// Flushes and seals the head, then returns a signed checkpoint of the
    /// current head (C2SP signed-note text) to keep elsewhere: verifying
    /// against it later detects the removal or rewriting of any record
    /// written before it.
    ///
    /// # Errors
    /// As [`AuditLog::flush`]; [`Error::InvalidInput`] for a bad name.
    pub(crate) fn anchor(
        &mut self,
        key: &ed25519_dalek::SigningKey,
        name: &str,
    ) -> Result<Checkpoint> {
        self.seal()?;
        Checkpoint::sign(&self.log_id, self.next_seq, &self.chain, key, name)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.poisoned {
            // Best effort; `close()` reports errors.
            let _ = self.seal();
        }
    }
}

fn segment_len(dir: &PrivateDir, n: u32) -> Result<u64> {
    let name = format::segment_file_name(n);
    let f = dir.open_file(&name, Access::Read)?;
    Ok(f.metadata()
        .map_err(|e| Error::io(dir.path().join(&name), e))?
        .len())
}

fn new_segment_file(dir: &PrivateDir, n: u32, header: &[u8]) -> Result<File> {
    let name = format::segment_file_name(n);
    let path = dir.path().join(&name);
    let mut f = dir.create_new_file(&name)?;
    f.write_all(header)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(&path, e))?;
    drop(f);
    dir.sync()?;
    Ok(dir.open_file(&name, Access::Append)?)
}

/// The header bytes of segment `n`, or `None` if the file is shorter than
/// a header.
fn read_header_bytes(dir: &PrivateDir, n: u32) -> Result<Option<[u8; SEGMENT_HEADER_LEN]>> {
    let name = format::segment_file_name(n);
    let mut f = dir.open_file(&name, Access::Read)?;
    let mut b = [0u8; SEGMENT_HEADER_LEN];
    match std::io::Read::read_exact(&mut f, &mut b) {
        Ok(()) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(Error::io(dir.path().join(&name), e)),
    }
}

#[cfg(test)]
mod forward_tests;
