//! `AuditLog`: the public face of the writer (create, open, append, flush,
//! seal, anchor, close), the mutex around the writer core, and its
//! background thread.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use ed25519_dalek::VerifyingKey;

use crate::anchor::Checkpoint;
use crate::background::Background;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::keys::StateKey;
use crate::options::Options;
use crate::writer::{Appended, Created, Recovery, Writer};

/// An encrypted, publicly verifiable, forward-secure audit log, open for
/// appending. One writer per directory: a second one, in this process or
/// another, gets [`Error::Locked`]. `AuditLog` is `Send + Sync`: threads
/// can share one writer (and, with group commit, a batch).
///
/// A background thread signs and syncs the head at least every
/// [`Options::head_interval`] (1 s) while records arrive, flushes group
/// commit batches once `max_delay` old, and seals an epoch once it is as
/// old as the epoch duration, even when nothing was appended. Dropping the
/// log seals it; [`AuditLog::close`] does the same and reports errors.
pub struct AuditLog {
    w: Arc<Mutex<Writer>>,
    background: Option<Background>,
    closed: bool,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self.state();
        f.debug_struct("AuditLog")
            .field("dir", &w.dir.path())
            .field("segment", &w.segment)
            .field("epoch", &w.epoch)
            .field("next_seq", &w.next_seq)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Creates a new log in `path` (created 0700 if missing; it must hold
    /// nothing else). Returns the log, open for appending, and what the
    /// caller must keep: the public verification key (give it to
    /// verifiers) and the [`ReadKey`](crate::ReadKey) (the writer keeps no
    /// copy). The writer's state is encrypted under `state_key`.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] if the directory is not empty;
    /// [`Error::InvalidInput`] for bad options; [`Error::Random`];
    /// file-system errors.
    pub fn create(
        path: impl AsRef<Path>,
        state_key: &StateKey,
        options: Options,
    ) -> Result<(AuditLog, Created)> {
        let (w, created) = Writer::create(path.as_ref(), state_key, options)?;
        Ok((AuditLog::start(w)?, created))
    }

    /// Opens an existing log for appending. The whole log is verified
    /// first with its public key (as [`LogReader::verify`] does; nothing
    /// is changed before that succeeds), then the writer state is
    /// decrypted with `state_key`. A torn final record (a crash) is then
    /// trimmed, the trim synced, and an `audit.recovered` record appended.
    ///
    /// [`LogReader::verify`]: crate::LogReader::verify
    ///
    /// # Errors
    /// [`Error::NotALog`] if there is no log (it is never created here);
    /// [`Error::WrongLog`] if [`Options::expect_log_id`] names another;
    /// [`Error::Locked`]; [`Error::Tampered`] with the first problem (a
    /// log rolled back behind its writer state included);
    /// [`Error::DecryptionFailed`] for a wrong state key;
    /// [`Error::InvalidInput`] for bad options; file-system errors.
    pub fn open(
        path: impl AsRef<Path>,
        state_key: &StateKey,
        options: Options,
    ) -> Result<AuditLog> {
        AuditLog::start(Writer::open(path.as_ref(), state_key, options)?)
    }

    pub(crate) fn start(w: Writer) -> Result<AuditLog> {
        let tick = crate::background::tick_period(&w.opts);
        let w = Arc::new(Mutex::new(w));
        let background = Some(Background::spawn(Arc::downgrade(&w), tick)?);
        Ok(AuditLog {
            w,
            background,
            closed: false,
        })
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Writer>> {
        self.w.lock().map_err(|_| Error::Poisoned)
    }

    /// The writer for read-only accessors, even after a panic elsewhere.
    fn state(&self) -> MutexGuard<'_, Writer> {
        self.w
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends an event: sanitized, encrypted under the epoch's key with a
    /// random nonce from the OS, chained; then made durable as the
    /// [`Durability`](crate::Durability) policy says. If the epoch is full
    /// or old, it is sealed first.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad event type (or a reserved
    /// `audit.` one), fields that do not serialize or are too large;
    /// [`Error::Poisoned`] after an earlier write failure; I/O errors
    /// (which poison the writer).
    pub fn append(&self, event: &Event) -> Result<Appended> {
        self.lock()?.append(event)
    }

    /// Writes and syncs pending group-commit records. Returns the last
    /// durable sequence number written by this call, if any.
    ///
    /// # Errors
    /// [`Error::Poisoned`], I/O errors.
    pub fn flush(&self) -> Result<Option<u64>> {
        self.lock()?.flush_pending()
    }

    /// Seals the current epoch now (even if empty): its records are signed
    /// and its secret keys erased. Returns the number of records now sealed
    /// (every sequence number below it).
    ///
    /// # Errors
    /// As [`AuditLog::flush`].
    pub fn seal(&self) -> Result<u64> {
        Ok(self.lock()?.seal_epoch()?.0)
    }

    /// Seals, then signs a checkpoint of the sealed point with `key` (a
    /// key of yours, kept elsewhere). Keep the text somewhere the writer's
    /// machine cannot change; [`LogReader::verify_with_anchor`] checks it.
    ///
    /// [`LogReader::verify_with_anchor`]: crate::LogReader::verify_with_anchor
    ///
    /// # Errors
    /// As [`AuditLog::flush`]; [`Error::InvalidInput`] for a bad key name.
    pub fn anchor(&self, key: &ed25519_dalek::SigningKey, name: &str) -> Result<Checkpoint> {
        let mut w = self.lock()?;
        let (size, chain) = w.seal_epoch()?;
        Checkpoint::sign(
            &w.log_id,
            size,
            &chain,
            &w.verifying_key.to_bytes(),
            key,
            name,
        )
    }

    /// What opening had to repair, if anything.
    pub fn recovery(&self) -> Option<Recovery> {
        self.state().recovery
    }

    /// The sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.state().next_seq
    }

    /// The current epoch.
    pub fn epoch(&self) -> u32 {
        self.state().epoch
    }

    /// The current segment number.
    pub fn segment(&self) -> u32 {
        self.state().segment
    }

    /// The log's id.
    pub fn log_id(&self) -> [u8; 16] {
        self.state().log_id
    }

    /// The log's public verification key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.state().verifying_key
    }

    /// Stops the background thread, flushes and seals, reporting errors
    /// (drop does the same but cannot report them).
    ///
    /// # Errors
    /// As [`AuditLog::flush`].
    pub fn close(mut self) -> Result<()> {
        self.stop_background();
        self.closed = true;
        self.lock()?.close()
    }

    fn stop_background(&mut self) {
        if let Some(b) = self.background.take() {
            b.stop();
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.stop_background();
        if self.closed {
            return;
        }
        if let Ok(mut w) = self.w.lock()
            && !w.poisoned
        {
            let _ = w.close();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn audit_log_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<AuditLog>();
    }
}
