//! Unlocking a journal: the data directory and its writer lock, the
//! keystore (one KDF run per command), the journal's own keys, the audit
//! log, and the keystore's rollback anchor kept in that log.
//!
//! # Data directory layout
//!
//! ```text
//! DIR/                 0700, the journal's writer lock (.lock, holder's pid)
//!   keys/              keystore-rotation: keystore, keystore.bak
//!   journal.keys       envelope (context "journal/keys\0") of the journal's own
//!                      random keys: file names, audit state/read/fingerprint/
//!                      checkpoint keys, the audit log's public key and id
//!   entries/           one envelope per entry (see `store`)
//!   index.base, index.log
//!   audit/             encrypted-audit-log v2
//!   settings.json      preferences, no entry data (see `settings`)
//!   unlock-failures    count of failed unlocks since the last success (a number)
//!   models/            model manifests kept out of the model writer's reach
//! ```
//!
//! The journal's keys are random and live in their own envelope, so they
//! survive data-key rotation (the envelope is re-encrypted like every
//! entry). The audit keys never depend on the data key.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use encrypted_audit_log::{
    AuditLog, Event, Filter, Fingerprinter, LogReader, Options as AuditOptions, ReadKey, Sanitizer,
    StateKey, VerifyingKey,
};
use keystore_rotation::{
    Anchor, Credential, KeyState, Keystore, Options as KsOptions, RollbackAnchor, RotationPolicy,
};
use secure_fs::{DeleteOptions, DirLock, PrivateDir};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::entry::Reader;
use crate::error::{Code, error, fail, integrity, keystore_code};
use crate::passphrase::Passphrase;
use crate::settings::Settings;
use crate::store::Store;
use crate::ui::Ui;

/// The keystore's directory inside the data directory.
pub const KEYS_DIR: &str = "keys";
/// The audit log's directory.
pub const AUDIT_DIR: &str = "audit";
/// The journal's own keys.
pub const JOURNAL_KEYS: &str = "journal.keys";
/// The failed-unlock counter.
pub const FAILURES_FILE: &str = "unlock-failures";
/// Where model manifests are kept.
pub const MODELS_DIR: &str = "models";
/// How long a second writer waits for the lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);
/// The audit event that carries the keystore's rollback anchor.
pub const ANCHOR_EVENT: &str = "keystore.anchor";

const KEYS_MAGIC: &[u8; 4] = b"JKEY";
const KEYS_VERSION: u16 = 1;
const CTX_KEYS: &[u8] = b"journal/keys\0";

/// The journal's own random keys (never derived from the data key).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct JournalKeys {
    /// HMAC key of the entry file names.
    pub names: [u8; 32],
    /// The audit log's state key.
    pub audit_state: [u8; 32],
    /// The audit log's read key.
    pub audit_read: [u8; 32],
    /// Key of the audit log's fingerprints (prompts, outputs, long values).
    pub fingerprint: [u8; 32],
    /// Ed25519 seed of the key that signs `audit anchor` checkpoints.
    pub checkpoint: [u8; 32],
    /// The audit log's public verification key.
    pub audit_vk: [u8; 32],
    /// The audit log's id.
    pub audit_log_id: [u8; 16],
}

impl std::fmt::Debug for JournalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalKeys").finish_non_exhaustive()
    }
}

impl JournalKeys {
    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut v = Zeroizing::new(Vec::with_capacity(6 + 32 * 6 + 16));
        v.extend_from_slice(KEYS_MAGIC);
        v.extend_from_slice(&KEYS_VERSION.to_be_bytes());
        for k in [
            &self.names,
            &self.audit_state,
            &self.audit_read,
            &self.fingerprint,
            &self.checkpoint,
            &self.audit_vk,
        ] {
            v.extend_from_slice(k);
        }
        v.extend_from_slice(&self.audit_log_id);
        v
    }

    fn decode(b: &[u8]) -> Option<JournalKeys> {
        let mut r = Reader::new(b);
        r.header(KEYS_MAGIC, KEYS_VERSION).ok()?;
        let k = JournalKeys {
            names: r.array().ok()?,
            audit_state: r.array().ok()?,
            audit_read: r.array().ok()?,
            fingerprint: r.array().ok()?,
            checkpoint: r.array().ok()?,
            audit_vk: r.array().ok()?,
            audit_log_id: r.array().ok()?,
        };
        r.finish().ok()?;
        Some(k)
    }

    fn save(&self, root: &PrivateDir, ks: &Keystore) -> Result<()> {
        let sealed = ks.encrypt(CTX_KEYS, &self.encode())?;
        let _ = root.write_atomic_shredding(JOURNAL_KEYS, &sealed, &DeleteOptions::default())?;
        Ok(())
    }

    fn load(root: &PrivateDir, ks: &Keystore) -> Result<JournalKeys> {
        if !root.exists(JOURNAL_KEYS)? {
            return Err(integrity(format!(
                "{} is missing: the journal cannot be opened",
                root.path().join(JOURNAL_KEYS).display()
            )));
        }
        let sealed = root.read(JOURNAL_KEYS)?;
        let plain = ks
            .decrypt(CTX_KEYS, &sealed)
            .map_err(|e| integrity(format!("{JOURNAL_KEYS} is damaged or was replaced ({e})")))?;
        JournalKeys::decode(&plain)
            .ok_or_else(|| integrity(format!("{JOURNAL_KEYS} is damaged (bad format)")))
    }

    /// The audit log's public verification key.
    ///
    /// # Errors
    /// Exit 3 when the stored key is not a valid Ed25519 key.
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        VerifyingKey::from_bytes(&self.audit_vk)
            .map_err(|_| integrity("the stored audit verification key is invalid"))
    }

    /// The audit log's state key.
    pub fn state_key(&self) -> StateKey {
        StateKey::from_bytes(self.audit_state)
    }

    /// The audit log's read key.
    pub fn read_key(&self) -> ReadKey {
        ReadKey::from_bytes(self.audit_read)
    }

    /// The fingerprinter of the audit log.
    pub fn fingerprinter(&self) -> Fingerprinter {
        Fingerprinter::new(&self.fingerprint)
    }

    /// The key that signs `audit anchor` checkpoints.
    pub fn checkpoint_key(&self) -> encrypted_audit_log::SigningKey {
        encrypted_audit_log::SigningKey::from_bytes(&self.checkpoint)
    }
}

/// The keystore's [`RollbackAnchor`], kept in the audit log: every
/// keystore write is appended as a `keystore.anchor` event (generation and
/// header hash); at unlock the newest such event is compared with the
/// keystore found (see [`Keyring::check_anchor`]). `load` returns nothing
/// because the log can only be read after the unlock; the comparison runs
/// right after it.
#[derive(Debug, Default)]
pub struct AuditAnchor {
    state: Mutex<AnchorState>,
}

#[derive(Debug, Default)]
struct AnchorState {
    current: Option<Anchor>,
    log: Option<Arc<AuditLog>>,
}

fn anchor_event(a: &Anchor) -> Event {
    // Numbers, not hex strings: string fields pass the PII sanitizer.
    Event::new(ANCHOR_EVENT)
        .with("generation", a.generation())
        .with("header_hash", a.header_hash().to_vec())
        .with("keystore_id", a.keystore_id().to_vec())
}

impl AuditAnchor {
    fn lock(&self) -> std::sync::MutexGuard<'_, AnchorState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The keystore's current anchor (as last stored).
    pub fn current(&self) -> Option<Anchor> {
        self.lock().current
    }

    fn attach(&self, log: Arc<AuditLog>) {
        self.lock().log = Some(log);
    }
}

impl RollbackAnchor for AuditAnchor {
    fn load(&self) -> std::io::Result<Option<Anchor>> {
        Ok(None)
    }

    fn store(&self, anchor: &Anchor) -> std::io::Result<()> {
        let mut s = self.lock();
        s.current = Some(*anchor);
        if let Some(log) = &s.log {
            let _ = log
                .append(&anchor_event(anchor))
                .map_err(std::io::Error::other)?;
        }
        Ok(())
    }
}

/// The data directory: `--data-dir`, else `JOURNAL_DIR`, else the
/// platform's data directory (`directories`), e.g.
/// `~/.local/share/journal` on Linux.
///
/// # Errors
/// Exit 1 when no home directory is known.
pub fn data_dir(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(d) = flag {
        return Ok(absolute(d));
    }
    if let Some(d) = std::env::var_os("JOURNAL_DIR").filter(|d| !d.is_empty()) {
        return Ok(absolute(Path::new(&d)));
    }
    directories::ProjectDirs::from("", "", "journal")
        .map(|p| p.data_dir().to_path_buf())
        .ok_or_else(|| error("no home directory: give --data-dir DIR or set JOURNAL_DIR"))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Takes the journal's writer lock, waiting up to [`LOCK_WAIT`].
///
/// # Errors
/// Exit 1 naming the holder's process id when it is still held after 10 s.
pub fn lock_wait(root: &PrivateDir, ui: &Ui) -> Result<DirLock> {
    let start = Instant::now();
    let mut told = false;
    loop {
        match root.lock() {
            Ok(l) => return Ok(l),
            Err(e) => {
                let secure_fs::ErrorKind::Locked { pid } = e.kind() else {
                    return Err(e.into());
                };
                let who =
                    pid.map_or_else(|| "another process".to_owned(), |p| format!("process {p}"));
                if start.elapsed() >= LOCK_WAIT {
                    return Err(error(format!(
                        "the journal at {} is locked by {who} (another journal command); gave up after {} s",
                        root.path().display(),
                        LOCK_WAIT.as_secs()
                    )));
                }
                if !told {
                    ui.info(format!(
                        "waiting for {who}, which holds the journal's lock..."
                    ));
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn ks_options(settings: &Settings, anchor: &Arc<AuditAnchor>) -> Result<KsOptions> {
    let policy = RotationPolicy::new(
        Duration::from_secs(u64::from(settings.rotation_days) * 86_400),
        keystore_rotation::DEFAULT_MAX_MESSAGES,
    )?;
    Ok(KsOptions::default()
        .rotation_policy(policy)
        .rollback_anchor(Arc::clone(anchor) as Arc<dyn RollbackAnchor>))
}

fn audit_options(keys: &JournalKeys) -> AuditOptions {
    AuditOptions::default()
        .sanitizer(
            Sanitizer::new()
                .hook(crate::pii::audit_hook())
                .fingerprinter(keys.fingerprinter()),
        )
        .expect_log_id(keys.audit_log_id)
}

/// Opens the data directory (it must hold a journal).
///
/// # Errors
/// Exit 1 when there is no journal there.
pub fn open_root(dir: &Path) -> Result<PrivateDir> {
    let root = match PrivateDir::open(dir) {
        Ok(r) => r,
        Err(e) if matches!(e.kind(), secure_fs::ErrorKind::NotFound) => {
            return Err(error(format!(
                "no journal at {}: run `journal init` first (or give --data-dir)",
                dir.display()
            )));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("opening the data directory")),
    };
    if !root.exists(KEYS_DIR)? {
        return Err(error(format!(
            "no journal at {}: run `journal init` first (or give --data-dir)",
            dir.display()
        )));
    }
    Ok(root)
}

/// What `init` created.
#[derive(Debug)]
pub struct Initialized {
    /// The audit log's public verification key (hex).
    pub verifying_key: String,
    /// The audit log's id (hex).
    pub log_id: String,
}

/// Creates a journal in `dir`: the keystore, the journal's keys, an empty
/// store, the audit log, and the settings.
///
/// # Errors
/// Exit 1 when a journal is already there; file-system and keystore errors.
pub fn init(dir: &Path, pass: &Passphrase, settings: &Settings, ui: &Ui) -> Result<Initialized> {
    // Someone else's directory is not made private (0700) or filled.
    if let Ok(mut list) = std::fs::read_dir(dir) {
        let journal = dir.join(KEYS_DIR).exists() || dir.join(JOURNAL_KEYS).exists();
        if !journal && list.next().is_some() {
            return Err(error(format!(
                "{} is not empty and holds no journal: give an empty or new directory (--data-dir)",
                dir.display()
            )));
        }
    }
    let root = PrivateDir::create(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))?;
    let _lock = lock_wait(&root, ui)?;
    if root.exists(KEYS_DIR)? || root.exists(JOURNAL_KEYS)? {
        return Err(error(format!(
            "there is already a journal at {}",
            dir.display()
        )));
    }
    settings.save(&root)?;
    let anchor = Arc::new(AuditAnchor::default());
    let ks = Keystore::create(
        root.path().join(KEYS_DIR),
        Credential::Passphrase(pass),
        &ks_options(settings, &anchor)?,
    )?;
    let mut keys = JournalKeys {
        names: [0; 32],
        audit_state: [0; 32],
        audit_read: [0; 32],
        fingerprint: [0; 32],
        checkpoint: [0; 32],
        audit_vk: [0; 32],
        audit_log_id: [0; 16],
    };
    for k in [
        &mut keys.names,
        &mut keys.audit_state,
        &mut keys.fingerprint,
        &mut keys.checkpoint,
    ] {
        getrandom::fill(k).map_err(|e| error(format!("the OS random generator failed: {e}")))?;
    }
    let (log, created) = AuditLog::create(
        root.path().join(AUDIT_DIR),
        &keys.state_key(),
        AuditOptions::default().sanitizer(
            Sanitizer::new()
                .hook(crate::pii::audit_hook())
                .fingerprinter(keys.fingerprinter()),
        ),
    )?;
    keys.audit_read = *created.read_key.to_bytes();
    keys.audit_vk = created.verifying_key.to_bytes();
    keys.audit_log_id = created.log_id;
    keys.save(&root, &ks)?;
    Store::create(&root, &ks, &keys.names)?;
    let log = Arc::new(log);
    if let Some(a) = anchor.current() {
        let _ = log.append(&anchor_event(&a))?;
    }
    anchor.attach(Arc::clone(&log));
    let _ = log.append(&Event::new("journal.init"))?;
    drop(anchor);
    close_log(log)?;
    Ok(Initialized {
        verifying_key: data_encoding::HEXLOWER.encode(&created.verifying_key.to_bytes()),
        log_id: data_encoding::HEXLOWER.encode(&created.log_id),
    })
}

fn close_log(log: Arc<AuditLog>) -> Result<()> {
    match Arc::try_unwrap(log) {
        Ok(l) => l.close()?,
        Err(l) => drop(l),
    }
    Ok(())
}

/// A `keystore.anchor` event: generation, header hash, keystore id.
pub type LoggedAnchor = (u64, [u8; 32], [u8; 16]);

fn parse_anchor(f: &serde_json::Map<String, serde_json::Value>) -> Option<LoggedAnchor> {
    let generation = f.get("generation").and_then(serde_json::Value::as_u64)?;
    let bytes = |k: &str| -> Option<Vec<u8>> {
        f.get(k)?
            .as_array()?
            .iter()
            .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect()
    };
    let h = <[u8; 32]>::try_from(bytes("header_hash")?).ok()?;
    let id = <[u8; 16]>::try_from(bytes("keystore_id")?).ok()?;
    Some((generation, h, id))
}

/// The keystore unlocked and the journal's keys read; the audit log not yet
/// opened (what `audit verify` and `audit recover` need).
pub struct Keyring {
    /// The data directory.
    pub root: PrivateDir,
    _lock: DirLock,
    /// The keystore.
    pub ks: Keystore,
    /// The journal's keys.
    pub keys: JournalKeys,
    /// The settings.
    pub settings: Settings,
    anchor: Arc<AuditAnchor>,
    failures: u64,
    /// How to talk to the user.
    pub ui: Ui,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("root", &self.root.path())
            .finish_non_exhaustive()
    }
}

fn read_failures(root: &PrivateDir) -> u64 {
    root.read(FAILURES_FILE)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Unlocks the keystore (the one KDF run of the command) and reads the
/// journal's keys.
///
/// # Errors
/// Exit 4 for a wrong passphrase (counted, nothing else changed); exit 3
/// for a tampered keystore or keys file; exit 1 otherwise.
pub fn unlock(dir: &Path, pass_file: Option<&PathBuf>, ui: Ui) -> Result<Keyring> {
    let root = open_root(dir)?;
    // The passphrase is asked for before the lock is taken: a prompt left
    // open does not keep other commands waiting.
    let pass = crate::passphrase::current(pass_file)?;
    let lock = lock_wait(&root, &ui)?;
    let settings = Settings::load(&root)?;
    let anchor = Arc::new(AuditAnchor::default());
    let options = ks_options(&settings, &anchor)?;
    crate::timing::mark("start");
    let ks = match Keystore::open(
        root.path().join(KEYS_DIR),
        Credential::Passphrase(&pass),
        &options,
    ) {
        Ok(k) => k,
        Err(e) => {
            let code = keystore_code(&e);
            if code == Code::WrongPassphrase {
                let n = read_failures(&root).saturating_add(1);
                let _ = root.write_atomic(FAILURES_FILE, format!("{n}\n").as_bytes());
                return Err(fail(Code::WrongPassphrase, "wrong passphrase"));
            }
            if code == Code::Integrity {
                return Err(integrity(format!(
                    "the keystore failed its integrity checks: {e}"
                )));
            }
            return Err(anyhow::Error::new(e).context("opening the keystore"));
        }
    };
    drop(pass);
    crate::timing::mark("unlock_kdf");
    let keys = JournalKeys::load(&root, &ks)?;
    let failures = read_failures(&root);
    Ok(Keyring {
        root,
        _lock: lock,
        ks,
        keys,
        settings,
        anchor,
        failures,
        ui,
    })
}

impl Keyring {
    /// The newest anchor recorded in the audit log, read with the read key
    /// (the whole log is verified on the way).
    ///
    /// # Errors
    /// Exit 3 when the log is tampered.
    pub fn logged_anchor(&self) -> Result<Option<LoggedAnchor>> {
        let reader = LogReader::open(
            self.root.path().join(AUDIT_DIR),
            &self.keys.verifying_key()?,
        )?;
        let mut last: Option<LoggedAnchor> = None;
        for r in reader.records(
            &self.keys.read_key(),
            Filter::all().event_type(ANCHOR_EVENT),
        )? {
            if let Some(a) = parse_anchor(r?.fields()) {
                last = Some(a);
            }
        }
        // An `audit recover` quarantines everything after the damage, the
        // newest anchors too: the highest generation any readable record
        // there names still counts, or damaging the log before the newest
        // anchor and recovering would let a rolled-back keystore through.
        let quarantined = encrypted_audit_log::quarantined_events(
            self.root.path().join(AUDIT_DIR),
            &self.keys.read_key(),
            &self.keys.audit_log_id,
        )?;
        for r in quarantined
            .iter()
            .filter(|r| r.event_type() == ANCHOR_EVENT)
        {
            if let Some(a) = parse_anchor(r.fields())
                && last.is_none_or(|l| a.0 > l.0)
            {
                last = Some(a);
            }
        }
        Ok(last)
    }

    /// Compares the keystore just unlocked with the newest anchor in the
    /// audit log. Returns whether the log is behind (the caller records the
    /// current anchor).
    ///
    /// # Errors
    /// Exit 3 when the keystore is older than the log says (rolled back)
    /// or its header differs at the same generation.
    pub fn check_anchor(&self) -> Result<bool> {
        let Some(current) = self.anchor.current() else {
            return Ok(false);
        };
        let Some((g, h, id)) = self.logged_anchor()? else {
            return Ok(true);
        };
        if id != current.keystore_id() {
            return Err(integrity(
                "the keystore is not the one this journal's audit log records (replaced)",
            ));
        }
        if current.generation() < g {
            return Err(integrity(format!(
                "the keystore was rolled back: generation {} found, the audit log records {g}",
                current.generation()
            )));
        }
        if current.generation() == g && current.header_hash() != h {
            return Err(integrity(
                "the keystore's header differs from the one the audit log records",
            ));
        }
        Ok(current.generation() > g)
    }

    /// Opens the audit log for appending, checks the rollback anchor, and
    /// records the unlock (and earlier failed unlocks).
    ///
    /// # Errors
    /// Exit 3 when the audit log is tampered (run `journal audit verify`,
    /// then `journal audit recover`) or the keystore was rolled back.
    pub fn into_session(self) -> Result<Session> {
        crate::timing::mark("keys");
        let behind = self.check_anchor()?;
        crate::timing::mark("anchor_check");
        let log = AuditLog::open(
            self.root.path().join(AUDIT_DIR),
            &self.keys.state_key(),
            audit_options(&self.keys),
        )
        .map_err(|e| tamper_hint(e.into()))?;
        crate::timing::mark("audit_open");
        let s = self.finish(log, behind);
        crate::timing::mark("audit_unlock_events");
        s
    }

    /// As [`Keyring::into_session`], for a log that `open` refuses:
    /// quarantines the damage and continues (`audit recover`).
    ///
    /// # Errors
    /// Exit 1 when the log cannot be continued.
    pub fn into_recovered_session(
        self,
    ) -> Result<(Session, Option<encrypted_audit_log::QuarantineEvent>)> {
        let (log, q) = AuditLog::recover_after_tamper(
            self.root.path().join(AUDIT_DIR),
            &self.keys.state_key(),
            audit_options(&self.keys),
        )?;
        let behind = self.check_anchor()?;
        let s = self.finish(log, behind)?;
        Ok((s, q))
    }

    fn finish(self, log: AuditLog, behind: bool) -> Result<Session> {
        let log = Arc::new(log);
        if behind && let Some(a) = self.anchor.current() {
            let _ = log.append(&anchor_event(&a))?;
        }
        self.anchor.attach(Arc::clone(&log));
        if self.failures > 0 {
            let _ = log.append(&Event::new("unlock.failed").with("count", self.failures))?;
            self.root.write_atomic(FAILURES_FILE, b"0\n")?;
        }
        let _ = log.append(&Event::new("unlock"))?;
        Ok(Session {
            failures: self.failures,
            root: self.root,
            _lock: self._lock,
            ks: self.ks,
            keys: self.keys,
            settings: self.settings,
            anchor: self.anchor,
            log,
            ui: self.ui,
        })
    }
}

fn tamper_hint(e: anyhow::Error) -> anyhow::Error {
    if crate::error::code_of(&e) == Code::Integrity {
        let msg = format!("{e:#}");
        integrity(format!(
            "{msg}\n(run `journal audit verify` for details; `journal audit recover` continues a tampered audit log and keeps the evidence)"
        ))
    } else {
        e
    }
}

/// An unlocked journal: keystore, keys, audit log. One per command.
pub struct Session {
    /// The data directory.
    pub root: PrivateDir,
    _lock: DirLock,
    /// The keystore.
    pub ks: Keystore,
    /// The journal's keys.
    pub keys: JournalKeys,
    /// The settings.
    pub settings: Settings,
    anchor: Arc<AuditAnchor>,
    log: Arc<AuditLog>,
    /// Failed unlocks logged at this unlock.
    pub failures: u64,
    /// How to talk to the user.
    pub ui: Ui,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("root", &self.root.path())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Appends an audit event (sanitized through pii-scan).
    ///
    /// # Errors
    /// Audit-log errors.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "call sites build the event inline"
    )]
    pub fn audit(&self, event: Event) -> Result<()> {
        let _ = self.log.append(&event)?;
        Ok(())
    }

    /// The audit log writer.
    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    /// Opens the entry store; first finishes or starts a key rotation when
    /// one is due or unfinished.
    ///
    /// # Errors
    /// As [`Store::open`] and [`Session::rotate`].
    pub fn store(&self) -> Result<Store<'_>> {
        let mut store = Store::open(&self.root, &self.ks, &self.keys.names)?;
        crate::timing::mark("index_open");
        let r = store.repairs().clone();
        if r.any() {
            self.audit(
                Event::new("index.repair")
                    .with("rebuilt", r.rebuilt)
                    .with("added", r.added as u64)
                    .with("dropped", r.dropped as u64)
                    .with("damaged", r.damaged.len() as u64)
                    .with("rolled_forward", r.rolled_forward),
            )?;
            if !r.damaged.is_empty() {
                self.ui.warn(format!(
                    "{} entry file(s) do not decrypt and are not listed; `journal doctor` names them",
                    r.damaged.len()
                ));
            }
        }
        if self.ks.rotation_due() || self.unfinished_rotation() {
            // Best effort: the command the user asked for goes on whatever
            // happens to the rotation (the next open tries again).
            match self.rotate(&mut store, false) {
                Ok(r) if r.damaged > 0 => self.ui.warn(format!(
                    "{} entry file(s) do not decrypt: the previous key version is kept until they are deleted (`journal doctor` names them)",
                    r.damaged
                )),
                Ok(_) => {}
                Err(e) => self.ui.warn(format!(
                    "the key rotation could not finish ({e:#}); it is tried again at the next command"
                )),
            }
        }
        Ok(store)
    }

    /// Opens the entry store for adding only (see
    /// [`Store::open_for_append`]); a due or unfinished rotation takes the
    /// full path of [`Session::store`].
    ///
    /// # Errors
    /// As [`Session::store`].
    pub fn store_for_append(&self) -> Result<Store<'_>> {
        if self.ks.rotation_due() || self.unfinished_rotation() {
            return self.store();
        }
        let store = Store::open_for_append(&self.root, &self.ks, &self.keys.names)?;
        crate::timing::mark("index_open");
        if store.repairs().any() {
            self.audit(Event::new("index.repair").with("rolled_forward", true))?;
        }
        Ok(store)
    }

    fn unfinished_rotation(&self) -> bool {
        self.ks
            .keys()
            .iter()
            .any(|k| k.state == KeyState::DecryptOnly)
    }

    /// Rotates the data key (unless only finishing an interrupted
    /// rotation), re-encrypts every entry, the index and the journal's
    /// keys under the new key with a progress bar, then destroys the old
    /// versions.
    ///
    /// # Errors
    /// Keystore and file-system errors; a crash leaves both versions, and
    /// the next unlock finishes the job.
    pub fn rotate(&self, store: &mut Store<'_>, force: bool) -> Result<RotationReport> {
        let old = self.ks.primary();
        let new = if force || self.ks.rotation_due() {
            Some(self.ks.rotate()?)
        } else {
            None
        };
        let pb = self.ui.progress(store.len() as u64, "re-encrypting");
        let done = store.rewrap_all(|n| pb.inc(n))?;
        pb.finish_and_clear();
        self.keys.save(&self.root, &self.ks)?;
        let primary = self.ks.primary();
        let mut destroyed = Vec::new();
        // An entry file that does not decrypt keeps the old versions alive:
        // nothing that might still be read with them is destroyed.
        if done.damaged.is_empty() {
            self.ks.set_min_decryption_version(primary)?;
            for k in self.ks.keys() {
                if k.state == KeyState::DecryptOnly {
                    self.ks.destroy(k.id)?;
                    destroyed.push(u32::from(k.id));
                }
            }
        }
        if new.is_some() || done.rewrapped > 0 || !destroyed.is_empty() {
            self.audit(
                Event::new("key.rotate")
                    .with("from", u32::from(old))
                    .with("to", u32::from(primary))
                    .with("entries_reencrypted", done.rewrapped as u64)
                    .with("entries_damaged", done.damaged.len() as u64)
                    .with("destroyed", destroyed.clone()),
            )?;
        }
        Ok(RotationReport {
            rotated: new.is_some(),
            from: u32::from(old),
            to: u32::from(primary),
            reencrypted: done.rewrapped,
            damaged: done.damaged.len(),
            destroyed,
        })
    }

    /// Changes the passphrase: only the key-encryption layer is re-wrapped.
    ///
    /// # Errors
    /// Keystore errors.
    pub fn change_passphrase(&self, new: &Passphrase) -> Result<()> {
        self.ks.change_passphrase(new)?;
        self.audit(Event::new("key.passwd"))?;
        Ok(())
    }

    /// Ends the session: seals the audit log.
    ///
    /// # Errors
    /// Audit-log errors.
    pub fn close(self) -> Result<()> {
        crate::timing::mark("command");
        let Session { log, anchor, .. } = self;
        anchor.lock().log = None;
        let r = close_log(log);
        crate::timing::mark("audit_close");
        r
    }
}

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct RotationReport {
    /// Whether a new version was made (false: an interrupted one was finished).
    pub rotated: bool,
    /// The previous primary version.
    pub from: u32,
    /// The new primary version.
    pub to: u32,
    /// Entry files re-encrypted.
    pub reencrypted: usize,
    /// Entry files that do not decrypt (the old versions are kept for them).
    pub damaged: usize,
    /// Versions destroyed.
    pub destroyed: Vec<u32>,
}
