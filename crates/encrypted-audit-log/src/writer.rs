//! The writer core: appends, flushes, seals, segment rolls, the head and
//! the encrypted state. One `Writer` lives behind the `AuditLog`'s mutex;
//! everything here runs with that lock held (methods take `&mut self`).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Instant, SystemTime};

use aes_gcm::Aes256Gcm;
use ed25519_dalek::{Signer, VerifyingKey};
use secure_fs::{Access, DirLock, PrivateDir};
use zeroize::Zeroize;

use crate::error::{Error, Result, TamperKind};
use crate::event::{self, Event};
use crate::format::{
    self, FRAME_HEADER_LEN, HEAD_FILE, Head, Kind, NONCE_LEN, RecoveredBody, SEGMENT_HEADER_LEN,
    STATE_AAD_LEN, STATE_FILE, STATE_SECRET_LEN, STATE_SLOT_LEN, STATE_USED_LEN, Seal,
    SegmentHeader, StateSlotHeader, TAG_LEN, Tombstone,
};
use crate::keys::{self, EpochSecrets, ReadKey, SecretBuf, StateKey};
use crate::options::{Durability, Options};
use crate::privacy::SanitizedFields;
use crate::walk::{self, Summary, TornTail, WalkOptions};

/// The result of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct Appended {
    /// The record's sequence number.
    pub seq: u64,
    /// Whether the record is already on stable storage (always true with
    /// [`Durability::PerRecord`]).
    pub durable: bool,
}

/// What opening a log had to repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// The torn bytes that were trimmed.
    pub torn: TornTail,
    /// Sequence number of the `audit.recovered` record noting it.
    pub noted_at: u64,
}

/// A point in the log: what the head may claim once it is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Point {
    pub(crate) segment: u32,
    pub(crate) offset: u64,
    pub(crate) next_seq: u64,
    pub(crate) chain: [u8; 32],
}

pub(crate) struct Writer {
    pub(crate) dir: PrivateDir,
    _lock: DirLock,
    pub(crate) log_id: [u8; 16],
    pub(crate) verifying_key: VerifyingKey,
    pub(crate) genesis_ns: u64,
    pub(crate) retention_secs: u64,
    pub(crate) opts: Options,

    state_cipher: Aes256Gcm,
    state_file: File,
    /// Slot (0 or 1) holding the current epoch's secrets.
    state_slot: usize,
    state_generation: u64,

    secrets: EpochSecrets,
    record_cipher: Aes256Gcm,
    pub(crate) epoch: u32,
    epoch_first_seq: u64,
    /// Records of the current epoch (the seal not counted).
    epoch_count: u64,
    epoch_started: Instant,
    epoch_started_wall: SystemTime,

    pub(crate) segment: u32,
    seg_file: File,
    /// Bytes of the segment on disk (pending frames not included).
    seg_len: u64,
    seg_created: Instant,
    seg_created_wall: SystemTime,

    pub(crate) first_seq: u64,
    pub(crate) next_seq: u64,
    chain: [u8; 32],
    last_time_ns: u64,

    pending: Vec<u8>,
    pending_count: usize,
    pending_since: Option<Instant>,

    /// Everything up to here is synced.
    durable: Point,
    head_file: File,
    /// What the head on disk says.
    head_point: Option<Point>,
    head_epoch: u32,
    pub(crate) last_head_sync: Instant,

    frame: SecretBuf,
    pub(crate) poisoned: bool,
    pub(crate) tombstone: Option<Tombstone>,
    pub(crate) recovery: Option<Recovery>,
    /// Added to the wall clock (tests of retention move time forward).
    pub(crate) clock_offset: std::time::Duration,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("dir", &self.dir.path())
            .field("segment", &self.segment)
            .field("epoch", &self.epoch)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

fn io_err(dir: &PrivateDir, name: &str) -> impl Fn(std::io::Error) -> Error {
    let path = dir.path().join(name);
    move |e| Error::io(&path, e)
}

/// Seals `secrets` into a state slot.
fn encode_slot(
    cipher: &Aes256Gcm,
    log_id: &[u8; 16],
    epoch: u32,
    generation: u64,
    secrets: &EpochSecrets,
) -> Result<[u8; STATE_SLOT_LEN]> {
    let mut nonce = [0u8; NONCE_LEN];
    keys::fill_random(&mut nonce)?;
    encode_slot_with_nonce(cipher, log_id, epoch, generation, secrets, nonce)
}

/// As `encode_slot`, with a given nonce (test vectors).
pub(crate) fn encode_slot_with_nonce(
    cipher: &Aes256Gcm,
    log_id: &[u8; 16],
    epoch: u32,
    generation: u64,
    secrets: &EpochSecrets,
    nonce: [u8; NONCE_LEN],
) -> Result<[u8; STATE_SLOT_LEN]> {
    let hdr = StateSlotHeader {
        log_id: *log_id,
        epoch,
        generation,
        nonce,
    }
    .encode();
    let mut slot = [0u8; STATE_SLOT_LEN];
    slot[..STATE_AAD_LEN].copy_from_slice(&hdr);
    let body = &mut slot[STATE_AAD_LEN..STATE_AAD_LEN + STATE_SECRET_LEN];
    body.copy_from_slice(&*secrets.to_bytes());
    let tag = keys::seal_in_place(cipher, &nonce, &hdr, body)?;
    slot[STATE_AAD_LEN + STATE_SECRET_LEN..STATE_USED_LEN].copy_from_slice(&tag);
    Ok(slot)
}

/// A valid state slot: its header and the secrets.
pub(crate) fn decode_slot(
    cipher: &Aes256Gcm,
    slot: &[u8],
) -> Result<Option<(StateSlotHeader, EpochSecrets)>> {
    if slot.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    // The padding is part of the format: any change to a slot is refused.
    if slot.len() != STATE_SLOT_LEN || slot[STATE_USED_LEN..].iter().any(|&b| b != 0) {
        return Err(Error::DecryptionFailed);
    }
    let hdr = StateSlotHeader::parse(slot).map_err(|e| match e {
        format::HeaderError::Version(version) => Error::UnsupportedVersion {
            what: "state",
            version,
        },
        format::HeaderError::Malformed => Error::DecryptionFailed,
    })?;
    let mut body = zeroize::Zeroizing::new([0u8; STATE_SECRET_LEN]);
    body.copy_from_slice(&slot[STATE_AAD_LEN..STATE_AAD_LEN + STATE_SECRET_LEN]);
    keys::open_in_place(
        cipher,
        &hdr.nonce,
        &slot[..STATE_AAD_LEN],
        &mut *body,
        &slot[STATE_AAD_LEN + STATE_SECRET_LEN..STATE_USED_LEN],
    )?;
    Ok(Some((hdr, EpochSecrets::from_bytes(&body))))
}

/// What `create` hands back once.
#[derive(Debug)]
#[non_exhaustive]
pub struct Created {
    /// The new log's id.
    pub log_id: [u8; 16],
    /// The log's public verification key: give it to verifiers, print it,
    /// keep it somewhere the writer's machine cannot change.
    pub verifying_key: VerifyingKey,
    /// The key that decrypts the records. The writer does not keep it:
    /// store it (a keystore, another machine) or the records can never be
    /// read.
    pub read_key: ReadKey,
}

/// The first steps of every call that continues an existing log (`open`,
/// `recover_after_tamper`): checks the options, opens the log's directory
/// (a missing one is [`Error::NotALog`], never created), takes the writer
/// lock, and sets up a walk that pins the log id when the options do.
pub(crate) fn open_existing(
    path: &std::path::Path,
    opts: &Options,
) -> Result<(PrivateDir, DirLock, WalkOptions)> {
    opts.check()?;
    let dir = match PrivateDir::open(path) {
        Ok(d) => d,
        Err(e) if *e.kind() == secure_fs::ErrorKind::NotFound => {
            return Err(Error::NotALog {
                path: path.to_owned(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let lock = dir.lock()?;
    let walk_opts = WalkOptions {
        expect_log_id: opts.expect_log_id,
        expect_key: None,
        now: SystemTime::now(),
    };
    Ok((dir, lock, walk_opts))
}

impl Writer {
    /// Creates a new log in `path` (a new or empty directory).
    pub(crate) fn create(
        path: &std::path::Path,
        state_key: &StateKey,
        opts: Options,
    ) -> Result<(Writer, Created)> {
        opts.check()?;
        let dir = PrivateDir::create(path)?;
        let lock = dir.lock()?;
        if dir.entries()?.iter().any(|n| n.to_str() != Some(".lock")) {
            return Err(Error::AlreadyExists {
                path: path.to_owned(),
            });
        }
        let mut log_id = [0u8; 16];
        keys::fill_random(&mut log_id)?;
        let mut r0 = zeroize::Zeroizing::new([0u8; 32]);
        keys::fill_random(&mut *r0)?;
        let read_key = ReadKey::from_bytes(*r0);
        let secrets = EpochSecrets::new(r0)?;
        let vk = secrets.public();
        let now = SystemTime::now();
        let genesis_ns = format::nanos(now);
        let retention_secs = opts.retention.as_secs();
        let state_cipher = state_key.cipher(&log_id);

        // The state first: a segment whose key nobody holds is useless.
        let state_file = dir.create_new_file(STATE_FILE)?;
        let mut both = vec![0u8; 2 * STATE_SLOT_LEN];
        both[..STATE_SLOT_LEN].copy_from_slice(&encode_slot(
            &state_cipher,
            &log_id,
            0,
            0,
            &secrets,
        )?);
        state_file
            .write_all_at(&both, 0)
            .and_then(|()| state_file.sync_all())
            .map_err(io_err(&dir, STATE_FILE))?;

        let header = SegmentHeader {
            log_id,
            verifying_key: vk.to_bytes(),
            segment: 1,
            first_seq: 0,
            epoch: 0,
            created_ns: genesis_ns,
            genesis_ns,
            retention_secs,
            prev: [0; 32],
        };
        let seg_file = write_segment_header(&dir, &header)?;
        let head_file = dir.create_new_file(HEAD_FILE)?;
        let chain = format::chain_segment(&header.encode());
        let point = Point {
            segment: 1,
            offset: SEGMENT_HEADER_LEN as u64,
            next_seq: 0,
            chain,
        };
        let mut w = Writer {
            record_cipher: keys::record_cipher(&secrets.seed, &log_id),
            dir,
            _lock: lock,
            log_id,
            verifying_key: vk,
            genesis_ns,
            retention_secs,
            opts,
            state_cipher,
            state_file,
            state_slot: 0,
            state_generation: 0,
            secrets,
            epoch: 0,
            epoch_first_seq: 0,
            epoch_count: 0,
            epoch_started: Instant::now(),
            epoch_started_wall: now,
            segment: 1,
            seg_file,
            seg_len: SEGMENT_HEADER_LEN as u64,
            seg_created: Instant::now(),
            seg_created_wall: now,
            first_seq: 0,
            next_seq: 0,
            chain,
            last_time_ns: genesis_ns,
            pending: Vec::new(),
            pending_count: 0,
            pending_since: None,
            durable: point,
            head_file,
            head_point: None,
            head_epoch: 0,
            last_head_sync: Instant::now(),
            frame: SecretBuf::with_capacity(4096),
            poisoned: false,
            tombstone: None,
            recovery: None,
            clock_offset: std::time::Duration::ZERO,
        };
        w.write_head()?;
        w.dir.sync()?;
        let created = Created {
            log_id,
            verifying_key: vk,
            read_key,
        };
        Ok((w, created))
    }

    /// Opens an existing log: verifies all of it with its public key,
    /// loads the state, trims a torn tail (only then) and notes it.
    pub(crate) fn open(
        path: &std::path::Path,
        state_key: &StateKey,
        opts: Options,
    ) -> Result<Writer> {
        let (dir, lock, walk_opts) = open_existing(path, &opts)?;
        let summary = walk::verify_dir(&dir, walk_opts)?;
        Writer::resume(dir, lock, &summary, state_key, opts)
    }

    /// Continues from a verified walk.
    pub(crate) fn resume(
        dir: PrivateDir,
        lock: DirLock,
        s: &Summary,
        state_key: &StateKey,
        opts: Options,
    ) -> Result<Writer> {
        let log_id = s.log_id;
        let state_cipher = state_key.cipher(&log_id);
        let state_bytes = walk::read_bounded(&dir, STATE_FILE, 2 * STATE_SLOT_LEN)?.ok_or_else(|| {
            Error::InvalidInput("the writer state file is missing: the log can be verified and read, not continued".into())
        })?;
        if state_bytes.len() != 2 * STATE_SLOT_LEN {
            return Err(Error::DecryptionFailed);
        }
        let mut found = None;
        let mut newest_epoch = None::<u32>;
        for slot in 0..2 {
            let bytes = &state_bytes[slot * STATE_SLOT_LEN..(slot + 1) * STATE_SLOT_LEN];
            if let Some((hdr, secrets)) = decode_slot(&state_cipher, bytes)? {
                if hdr.log_id != log_id {
                    return Err(Error::DecryptionFailed);
                }
                newest_epoch = Some(newest_epoch.map_or(hdr.epoch, |e| e.max(hdr.epoch)));
                if hdr.epoch == s.state.epoch {
                    found = Some((slot, hdr, secrets));
                }
            }
        }
        let Some((slot, hdr, secrets)) = found else {
            // The state is ahead of the log: the log was rolled back to an
            // older copy (or the state belongs to another copy).
            let at = s.state.next_seq;
            return Err(walk::tamper(
                TamperKind::Truncated {
                    expected_last: at,
                    found_last: at.checked_sub(1),
                },
                s.last_segment,
                s.end_offset,
                Some(at),
            ));
        };
        if newest_epoch.is_some_and(|e| e > s.state.epoch + 1) {
            return Err(walk::tamper(
                TamperKind::Truncated {
                    expected_last: s.state.next_seq,
                    found_last: s.state.next_seq.checked_sub(1),
                },
                s.last_segment,
                s.end_offset,
                Some(s.state.next_seq),
            ));
        }
        if secrets.public() != s.state.epoch_key {
            return Err(walk::tamper(
                TamperKind::BadSignature {
                    epoch: s.state.epoch,
                },
                s.last_segment,
                s.end_offset,
                None,
            ));
        }
        let state_file = dir.open_file(STATE_FILE, Access::ReadWrite)?;
        let seg_name = format::segment_file_name(s.last_segment);
        let seg_file = dir.open_file(&seg_name, Access::ReadWrite)?;
        // Created if missing (a recovery after the head was deleted).
        let head_file = dir.create_file(HEAD_FILE, Access::ReadWrite)?;
        let now = SystemTime::now();
        let seg_age = now
            .duration_since(format::from_nanos(s.last_segment_created_ns))
            .unwrap_or_default();
        let point = Point {
            segment: s.last_segment,
            offset: s.end_offset,
            next_seq: s.state.next_seq,
            chain: s.state.chain,
        };
        let head_point = s.head.as_ref().map(|h| Point {
            segment: h.segment,
            offset: h.offset,
            next_seq: h.next_seq,
            chain: h.chain,
        });
        let mut w = Writer {
            record_cipher: keys::record_cipher(&secrets.seed, &log_id),
            dir,
            _lock: lock,
            log_id,
            verifying_key: s.verifying_key,
            genesis_ns: s.genesis_ns,
            retention_secs: s.retention_secs,
            opts,
            state_cipher,
            state_file,
            state_slot: slot,
            state_generation: hdr.generation,
            secrets,
            epoch: s.state.epoch,
            epoch_first_seq: s.state.epoch_first_seq,
            epoch_count: s.epoch_count,
            epoch_started: Instant::now(),
            epoch_started_wall: now,
            segment: s.last_segment,
            seg_file,
            seg_len: s.end_offset,
            seg_created: Instant::now()
                .checked_sub(seg_age)
                .unwrap_or_else(Instant::now),
            seg_created_wall: format::from_nanos(s.last_segment_created_ns),
            first_seq: s.first_seq,
            next_seq: s.state.next_seq,
            chain: s.state.chain,
            last_time_ns: s.state.last_time_ns,
            pending: Vec::new(),
            pending_count: 0,
            pending_since: None,
            durable: point,
            head_file,
            head_point,
            head_epoch: s.head.as_ref().map_or(0, |h| h.epoch),
            last_head_sync: Instant::now(),
            frame: SecretBuf::with_capacity(4096),
            poisoned: false,
            tombstone: s.tombstone.clone(),
            recovery: None,
            clock_offset: std::time::Duration::ZERO,
        };
        // Erase the other slot: a certified-but-unused or an old key.
        w.wipe_slot(1 - slot)?;
        if let Some(torn) = s.torn {
            // Verified above: only now is anything removed.
            w.seg_file
                .set_len(torn.offset)
                .and_then(|()| w.seg_file.sync_all())
                .map_err(io_err(&w.dir, &seg_name))?;
            // A full epoch is sealed first; the note is dated after that
            // seal (public times never go back).
            let seq = w.system_record(Kind::Recovered, |time_ns| {
                RecoveredBody {
                    time_ns,
                    segment: torn.segment,
                    offset: torn.offset,
                    bytes: torn.bytes,
                }
                .encode()
            })?;
            w.recovery = Some(Recovery {
                torn,
                noted_at: seq,
            });
        }
        w.write_head()?;
        Ok(w)
    }

    /// Current time in ns, never before the last public time written.
    pub(crate) fn now_ns(&mut self) -> u64 {
        let t = format::nanos(self.wall_now()).max(self.last_time_ns);
        self.last_time_ns = t;
        t
    }

    /// The wall clock (plus the test offset).
    pub(crate) fn wall_now(&self) -> SystemTime {
        SystemTime::now() + self.clock_offset
    }

    fn check_poisoned(&self) -> Result<()> {
        if self.poisoned {
            Err(Error::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Whether the current epoch must end (by count or age).
    pub(crate) fn epoch_due(&self) -> bool {
        self.epoch_count >= self.opts.epoch_records || self.epoch_age() >= self.opts.epoch_duration
    }

    fn epoch_age(&self) -> std::time::Duration {
        // The longer of the monotonic and wall clocks: the monotonic clock
        // stops while the machine sleeps.
        let mono = self.epoch_started.elapsed();
        let wall = SystemTime::now()
            .duration_since(self.epoch_started_wall)
            .unwrap_or_default();
        mono.max(wall)
    }

    /// Appends an event.
    pub(crate) fn append(&mut self, e: &Event) -> Result<Appended> {
        self.check_poisoned()?;
        Event::check_type(e.event_type())?;
        if self.epoch_due() {
            self.seal_epoch()?;
        }
        let time_ns = e
            .time()
            .map_or_else(|| format::nanos(SystemTime::now()), format::nanos);
        let seq = self.next_seq;
        // Build the frame in place: header, nonce, plaintext (encrypted in
        // place, so no other copy of it exists), tag, chain.
        self.frame.clear();
        self.frame.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
        let mut nonce = [0u8; NONCE_LEN];
        keys::fill_random(&mut nonce)?;
        self.frame.extend_from_slice(&nonce);
        let fields = SanitizedFields {
            fields: e.fields(),
            sanitizer: &self.opts.sanitizer,
        };
        if let Err(err) = event::encode_plaintext(e.event_type(), time_ns, &fields, &mut self.frame)
        {
            self.frame.clear();
            return Err(err);
        }
        let pt_len = self.frame.len() - FRAME_HEADER_LEN - NONCE_LEN;
        let mut hdr = Vec::with_capacity(FRAME_HEADER_LEN);
        format::push_frame_header(
            &mut hdr,
            Kind::Event,
            self.epoch,
            seq,
            NONCE_LEN + pt_len + TAG_LEN,
        );
        self.frame.as_mut_slice()[..FRAME_HEADER_LEN].copy_from_slice(&hdr);
        let aad = format::event_aad(&self.log_id, &hdr);
        let tag = keys::seal_in_place(
            &self.record_cipher,
            &nonce,
            &aad,
            &mut self.frame.as_mut_slice()[FRAME_HEADER_LEN + NONCE_LEN..],
        )?;
        self.frame.extend_from_slice(&tag);
        let chain = format::chain_record(&self.chain, self.frame.as_slice());
        self.frame.extend_from_slice(&chain);
        self.chain = chain;
        self.next_seq += 1;
        self.epoch_count += 1;
        let durable = self.emit_frame()?;
        Ok(Appended { seq, durable })
    }

    /// Writes the frame in `self.frame` according to the durability policy.
    fn emit_frame(&mut self) -> Result<bool> {
        match self.opts.durability {
            Durability::PerRecord => {
                let at = self.seg_len;
                let r = self
                    .seg_file
                    .write_all_at(self.frame.as_slice(), at)
                    .and_then(|()| self.seg_file.sync_data());
                if let Err(e) = r {
                    self.poisoned = true;
                    return Err(Error::io(self.seg_path(), e));
                }
                self.seg_len += self.frame.len() as u64;
                self.mark_durable();
                Ok(true)
            }
            Durability::Group {
                max_records,
                max_delay,
            } => {
                self.pending.extend_from_slice(self.frame.as_slice());
                self.pending_count += 1;
                let since = *self.pending_since.get_or_insert_with(Instant::now);
                if self.pending_count >= max_records || since.elapsed() >= max_delay {
                    self.flush_pending()?;
                    return Ok(true);
                }
                Ok(false)
            }
        }
    }

    fn seg_path(&self) -> std::path::PathBuf {
        self.dir
            .path()
            .join(format::segment_file_name(self.segment))
    }

    fn mark_durable(&mut self) {
        self.durable = Point {
            segment: self.segment,
            offset: self.seg_len,
            next_seq: self.next_seq,
            chain: self.chain,
        };
    }

    /// Writes and syncs pending group-commit records.
    pub(crate) fn flush_pending(&mut self) -> Result<Option<u64>> {
        self.check_poisoned()?;
        if self.pending.is_empty() {
            return Ok(None);
        }
        let r = self
            .seg_file
            .write_all_at(&self.pending, self.seg_len)
            .and_then(|()| self.seg_file.sync_data());
        if let Err(e) = r {
            self.poisoned = true;
            return Err(Error::io(self.seg_path(), e));
        }
        self.seg_len += self.pending.len() as u64;
        self.pending.clear();
        self.pending_count = 0;
        self.pending_since = None;
        self.mark_durable();
        Ok(Some(self.next_seq - 1))
    }

    /// Whether the group-commit delay has passed.
    pub(crate) fn pending_due(&self) -> bool {
        match (self.opts.durability, self.pending_since) {
            (Durability::Group { max_delay, .. }, Some(t)) => t.elapsed() >= max_delay,
            _ => false,
        }
    }

    /// Appends a record the log writes itself (recovery, tombstone),
    /// durably. If the epoch is full or old it is sealed first; `body`
    /// then builds the body from the record's time, taken after that seal:
    /// verification rejects a public time before the previous one, so a
    /// body dated before the seal would read as modified bytes.
    pub(crate) fn system_record(
        &mut self,
        kind: Kind,
        body: impl FnOnce(u64) -> Vec<u8>,
    ) -> Result<u64> {
        self.check_poisoned()?;
        self.flush_pending()?;
        if self.epoch_due() {
            self.seal_epoch()?;
        }
        let body = body(self.now_ns());
        let seq = self.next_seq;
        let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + body.len() + 32);
        let chain = format::build_frame(&mut frame, kind, self.epoch, seq, &body, &self.chain);
        self.write_sync(&frame)?;
        self.chain = chain;
        self.next_seq += 1;
        self.epoch_count += 1;
        self.mark_durable();
        Ok(seq)
    }

    fn write_sync(&mut self, bytes: &[u8]) -> Result<()> {
        let r = self
            .seg_file
            .write_all_at(bytes, self.seg_len)
            .and_then(|()| self.seg_file.sync_data());
        if let Err(e) = r {
            self.poisoned = true;
            return Err(Error::io(self.seg_path(), e));
        }
        self.seg_len += bytes.len() as u64;
        Ok(())
    }

    /// Ends the current epoch: the next epoch's secrets go to the free
    /// state slot (synced), the seal (signed, certifying the next key) to
    /// the log (synced), then the old slot is overwritten with zeros and
    /// the old secrets dropped (zeroized). A crash at any point leaves a
    /// state that `open` resumes from (FORMAT.md, "Writer state").
    /// Returns the sequence number after the seal and the chain value
    /// after it.
    pub(crate) fn seal_epoch(&mut self) -> Result<(u64, [u8; 32])> {
        self.check_poisoned()?;
        self.flush_pending()?;
        let next = self.secrets.next()?;
        let free = 1 - self.state_slot;
        let slot = encode_slot(
            &self.state_cipher,
            &self.log_id,
            self.epoch + 1,
            self.state_generation + 1,
            &next,
        )?;
        self.write_slot(free, &slot)?;
        let seq = self.next_seq;
        let mut seal = Seal {
            time_ns: self.now_ns(),
            first_seq: self.epoch_first_seq,
            count: seq - self.epoch_first_seq,
            prev: self.chain,
            next_key: next.public().to_bytes(),
            signature: [0; 64],
        };
        seal.signature = self
            .secrets
            .signing
            .sign(&seal.message(&self.log_id, self.epoch, seq))
            .to_bytes();
        let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + format::SEAL_BODY_LEN + 32);
        let chain = format::build_frame(
            &mut frame,
            Kind::Seal,
            self.epoch,
            seq,
            &seal.body(),
            &self.chain,
        );
        self.write_sync(&frame)?;
        self.chain = chain;
        self.next_seq += 1;
        let sealed = (self.next_seq, chain);
        // The seal is on disk: the old epoch's secrets go, on disk and in memory.
        let old = self.state_slot;
        self.state_slot = free;
        self.state_generation += 1;
        self.wipe_slot(old)?;
        self.record_cipher = keys::record_cipher(&next.seed, &self.log_id);
        self.secrets = next;
        self.epoch += 1;
        self.epoch_first_seq = self.next_seq;
        self.epoch_count = 0;
        self.epoch_started = Instant::now();
        self.epoch_started_wall = SystemTime::now();
        self.mark_durable();
        self.write_head()?;
        if self.seg_len >= self.opts.segment_bytes
            || self.seg_created.elapsed() >= self.opts.segment_age
            || SystemTime::now()
                .duration_since(self.seg_created_wall)
                .unwrap_or_default()
                >= self.opts.segment_age
        {
            self.roll_segment()?;
        }
        Ok(sealed)
    }

    /// Starts a new segment (right after a seal).
    fn roll_segment(&mut self) -> Result<()> {
        let now = SystemTime::now();
        let header = SegmentHeader {
            log_id: self.log_id,
            verifying_key: self.verifying_key.to_bytes(),
            segment: self.segment + 1,
            first_seq: self.next_seq,
            epoch: self.epoch,
            created_ns: format::nanos(now),
            genesis_ns: self.genesis_ns,
            retention_secs: self.retention_secs,
            prev: self.chain,
        };
        let file = match write_segment_header(&self.dir, &header) {
            Ok(f) => f,
            Err(e) => {
                self.poisoned = true;
                return Err(e);
            }
        };
        self.dir.sync()?;
        self.seg_file = file;
        self.segment += 1;
        self.seg_len = SEGMENT_HEADER_LEN as u64;
        self.seg_created = Instant::now();
        self.seg_created_wall = now;
        self.chain = format::chain_segment(&header.encode());
        self.mark_durable();
        self.write_head()
    }

    fn write_slot(&mut self, slot: usize, bytes: &[u8; STATE_SLOT_LEN]) -> Result<()> {
        let r = self
            .state_file
            .write_all_at(bytes, (slot * STATE_SLOT_LEN) as u64)
            .and_then(|()| self.state_file.sync_data());
        if let Err(e) = r {
            self.poisoned = true;
            return Err(Error::io(self.dir.path().join(STATE_FILE), e));
        }
        Ok(())
    }

    /// Overwrites a state slot with zeros, in place, and syncs.
    fn wipe_slot(&mut self, slot: usize) -> Result<()> {
        let mut zeros = [0u8; STATE_SLOT_LEN];
        let r = self.write_slot(slot, &zeros);
        zeros.zeroize();
        r
    }

    /// Signs and writes the head for the durable point, and syncs it.
    pub(crate) fn write_head(&mut self) -> Result<()> {
        self.check_poisoned()?;
        let p = self.durable;
        let time_ns = self.now_ns();
        let mut head = Head {
            log_id: self.log_id,
            verifying_key: self.verifying_key.to_bytes(),
            segment: p.segment,
            offset: p.offset,
            epoch: self.epoch,
            next_seq: p.next_seq,
            time_ns,
            first_seq: self.first_seq,
            chain: p.chain,
            epoch_key: self.secrets.public().to_bytes(),
            signature: [0; 64],
        };
        head.signature = self.secrets.signing.sign(&head.message()).to_bytes();
        let r = self
            .head_file
            .write_all_at(&head.encode(), 0)
            .and_then(|()| self.head_file.sync_data());
        if let Err(e) = r {
            self.poisoned = true;
            return Err(Error::io(self.dir.path().join(HEAD_FILE), e));
        }
        self.head_point = Some(p);
        self.head_epoch = self.epoch;
        self.last_head_sync = Instant::now();
        Ok(())
    }

    /// Whether the head on disk lags the durable point.
    pub(crate) fn head_stale(&self) -> bool {
        self.head_point != Some(self.durable) || self.head_epoch != self.epoch
    }

    /// Closes: flush, seal, head.
    pub(crate) fn close(&mut self) -> Result<()> {
        self.check_poisoned()?;
        self.seal_epoch().map(|_| ())
    }
}

fn write_segment_header(dir: &PrivateDir, header: &SegmentHeader) -> Result<File> {
    let name = format::segment_file_name(header.segment);
    let file = dir.create_new_file(&name)?;
    file.write_all_at(&header.encode(), 0)
        .and_then(|()| file.sync_all())
        .map_err(io_err(dir, &name))?;
    Ok(file)
}
