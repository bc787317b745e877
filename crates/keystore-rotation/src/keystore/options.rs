//! [`Options`], [`RotationPolicy`], [`Clock`] and the counter constants.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::anchor::RollbackAnchor;
use crate::envelope::Algorithm;
use crate::error::{Error, Invalid, Result};
use crate::kdf::{Kdf, KdfFloor};
#[cfg(doc)]
use crate::keystore::Keystore;

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
            return Err(Error::invalid(Invalid::ZeroMaxAge));
        }
        if max_messages == 0 || max_messages > MAX_MESSAGES_LIMIT {
            return Err(Error::invalid(Invalid::MaxMessagesOutOfRange));
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
/// use std::sync::Arc;
/// use keystore_rotation::{Algorithm, FileAnchor, Kdf, Options};
/// # let tmp = tempfile::tempdir().unwrap();
/// # let anchor_path = tmp.path().join("keystore.anchor");
/// let options = Options::default()
///     .kdf(Kdf::argon2id())
///     .algorithm(Algorithm::XChaCha20Poly1305)
///     .rollback_anchor(Arc::new(FileAnchor::new(anchor_path)));
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    pub(crate) kdf: Kdf,
    pub(crate) kdf_floor: KdfFloor,
    pub(crate) algorithm: Algorithm,
    pub(crate) policy: RotationPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) min_generation: Option<u64>,
    pub(crate) anchor: Option<Arc<dyn RollbackAnchor>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            kdf: Kdf::default(),
            algorithm: Algorithm::default(),
            policy: RotationPolicy::default(),
            clock: Arc::new(SystemClock),
            min_generation: None,
            anchor: None,
            kdf_floor: KdfFloor::default(),
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

    /// The weakest KDF a stored keystore file may have (default: the
    /// crate's minimum, see [`KdfFloor`]). A file below it is
    /// [`Error::Tampered`] with [`crate::Check::KdfBelowFloor`], refused
    /// before any derivation runs.
    #[must_use]
    pub fn kdf_floor(mut self, floor: KdfFloor) -> Self {
        self.kdf_floor = floor;
        self
    }

    /// Where the keystore records its generation and header hash, outside
    /// its own directory (see [`RollbackAnchor`] and [`crate::FileAnchor`]).
    /// With an anchor, opening or restoring an older generation is
    /// [`Error::RolledBack`], and a header edited without raising the
    /// generation is [`Error::Tampered`] ([`crate::Check::AnchorMismatch`])
    /// before any derivation runs. Every write updates the anchor after the
    /// keystore files; an empty anchor is filled at the first open.
    #[must_use]
    pub fn rollback_anchor(mut self, anchor: Arc<dyn RollbackAnchor>) -> Self {
        self.anchor = Some(anchor);
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
    /// file of an older generation then fails with [`Error::RolledBack`].
    /// A [`Options::rollback_anchor`] does this and more by itself.
    #[must_use]
    pub fn expect_generation(mut self, generation: u64) -> Self {
        self.min_generation = Some(generation);
        self
    }

    pub(crate) fn now_secs(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}
