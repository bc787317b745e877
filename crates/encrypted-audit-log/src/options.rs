//! How a log is written: durability, epochs, segments, retention, sanitizer.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::format::NONCE_BUDGET;
use crate::privacy::Sanitizer;

/// When appended records reach stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// Every append is written and `fdatasync`ed before it returns.
    PerRecord,
    /// Appends are batched and written with one `fdatasync` when
    /// `max_records` are pending, when the oldest pending record is
    /// `max_delay` old (checked at each append and by the background
    /// thread), on [`AuditLog::flush`](crate::AuditLog::flush), at every
    /// seal, and on close or drop. [`Appended::durable`](crate::Appended)
    /// says whether a record is already on disk.
    Group {
        /// Batch size that forces a write.
        max_records: usize,
        /// Age of the oldest pending record that forces a write.
        max_delay: Duration,
    },
}

/// How a log is written. `Options::default()`: per-record durability,
/// epochs of 1024 records or 10 minutes, segments of at most 64 MiB or 1
/// day, 90-day retention (fixed at creation), the default [`Sanitizer`].
///
/// ```
/// use std::time::Duration;
/// use encrypted_audit_log::{Durability, Options};
/// let o = Options::default()
///     .durability(Durability::Group { max_records: 64, max_delay: Duration::from_millis(5) })
///     .epoch(1024, Duration::from_secs(600))
///     .segment_limits(64 << 20, Duration::from_secs(86_400));
/// # let _ = o;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Options {
    pub(crate) durability: Durability,
    pub(crate) epoch_records: u64,
    pub(crate) epoch_duration: Duration,
    pub(crate) segment_bytes: u64,
    pub(crate) segment_age: Duration,
    pub(crate) retention: Duration,
    pub(crate) sanitizer: Sanitizer,
    pub(crate) expect_log_id: Option<[u8; 16]>,
    pub(crate) head_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::PerRecord,
            epoch_records: 1024,
            epoch_duration: Duration::from_secs(600),
            segment_bytes: 64 << 20,
            segment_age: Duration::from_secs(86_400),
            retention: Duration::from_secs(90 * 86_400),
            sanitizer: Sanitizer::default(),
            expect_log_id: None,
            head_interval: Duration::from_secs(1),
        }
    }
}

impl Options {
    /// Sets the durability policy.
    #[must_use]
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// An epoch ends (is sealed, signed, and its keys erased) after
    /// `records` records or once it is `duration` old, whichever comes
    /// first (default 1024 records, 10 minutes). An idle log is sealed on
    /// time too, by the background thread: the seal says "nothing happened
    /// until then". `records` may not exceed 2^32 - 1 (the nonce budget of
    /// one AES-GCM key with random nonces).
    #[must_use]
    pub fn epoch(mut self, records: u64, duration: Duration) -> Self {
        self.epoch_records = records;
        self.epoch_duration = duration;
        self
    }

    /// A new segment file starts at the first seal after the current one
    /// reaches `bytes` or `age` (default 64 MiB, 1 day). Retention prunes
    /// whole segments.
    #[must_use]
    pub fn segment_limits(mut self, bytes: u64, age: Duration) -> Self {
        self.segment_bytes = bytes;
        self.segment_age = age;
        self
    }

    /// How long records are kept before [`AuditLog::apply_retention`]
    /// may prune them (default 90 days). Fixed when the log is created and
    /// signed into every segment header; ignored by `open`.
    ///
    /// [`AuditLog::apply_retention`]: crate::AuditLog::apply_retention
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

    /// `open` refuses ([`Error::WrongLog`]) a log with another id.
    #[must_use]
    pub fn expect_log_id(mut self, id: [u8; 16]) -> Self {
        self.expect_log_id = Some(id);
        self
    }

    /// How often the background thread signs and syncs the head while
    /// records arrive (default and maximum 1 s). After a power loss, at
    /// most this much of acknowledged records can be lost without
    /// verification noticing.
    #[must_use]
    pub fn head_interval(mut self, d: Duration) -> Self {
        self.head_interval = d.min(Duration::from_secs(1));
        self
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.epoch_records == 0 || self.epoch_records >= NONCE_BUDGET {
            return Err(Error::InvalidInput(
                "an epoch must allow 1 to 2^32 - 1 records (the nonce budget of one key)".into(),
            ));
        }
        if self.epoch_duration.is_zero() || self.head_interval.is_zero() {
            return Err(Error::InvalidInput(
                "the epoch duration and the head interval must not be zero".into(),
            ));
        }
        if let Durability::Group { max_records: 0, .. } = self.durability {
            return Err(Error::InvalidInput(
                "group commit needs a batch of at least one record".into(),
            ));
        }
        if self.retention.as_secs() == 0 {
            return Err(Error::InvalidInput(
                "the retention period must be at least one second".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_budget_caps_epochs() {
        let o = Options::default().epoch(NONCE_BUDGET, Duration::from_secs(1));
        assert!(matches!(o.check(), Err(Error::InvalidInput(m)) if m.contains("nonce budget")));
        let o = Options::default().epoch(NONCE_BUDGET - 1, Duration::from_secs(1));
        assert!(o.check().is_ok());
    }
}
