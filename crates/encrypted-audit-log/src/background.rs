//! The writer's background thread: time-based work when appends stop.
//!
//! Each tick (a quarter of the epoch duration, the group-commit delay, or
//! the head interval, whichever is shortest) it takes the writer's lock and:
//! flushes a group-commit batch whose oldest record is `max_delay` old;
//! seals an epoch that is as old as the epoch duration (an idle epoch too:
//! "nothing happened until now" is signed); and signs and syncs the head
//! if it lags the durable point and was last written a head interval ago.

use std::sync::{Mutex, Weak, mpsc};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::options::{Durability, Options};
use crate::writer::Writer;

/// The thread and the channel that stops it.
#[derive(Debug)]
pub(crate) struct Background {
    stop: mpsc::Sender<()>,
    handle: std::thread::JoinHandle<()>,
}

/// How often the thread looks at the writer: at most 1/4 of the head
/// interval, of the epoch duration and of the group delay; at least 1 ms.
pub(crate) fn tick_period(o: &Options) -> Duration {
    let mut t = (o.epoch_duration / 4).min(o.head_interval / 4);
    if let Durability::Group { max_delay, .. } = o.durability {
        t = t.min(max_delay);
    }
    t.clamp(Duration::from_millis(1), Duration::from_millis(250))
}

impl Background {
    pub(crate) fn spawn(w: Weak<Mutex<Writer>>, tick: Duration) -> Result<Background> {
        let (stop, rx) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("audit-log-background".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(tick) {
                    let Some(w) = w.upgrade() else { return };
                    let Ok(mut w) = w.lock() else { return };
                    if w.poisoned || tick_once(&mut w, tick).is_err() {
                        // The error poisoned the writer; the next call
                        // from the application reports it.
                        return;
                    }
                }
            })
            .map_err(|e| Error::io("audit-log-background thread", e))?;
        Ok(Background { stop, handle })
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(self) {
        drop(self.stop);
        let _ = self.handle.join();
    }
}

/// One tick's work; `&mut Writer` comes from the locked mutex.
fn tick_once(w: &mut Writer, tick: Duration) -> Result<()> {
    if w.pending_due() {
        let _ = w.flush_pending()?;
    }
    if w.epoch_due() {
        let _ = w.seal_epoch()?;
    }
    // One tick early rather than one late: the head never lags more than
    // the head interval.
    if w.head_stale() && w.last_head_sync.elapsed() + tick >= w.opts.head_interval {
        w.write_head()?;
    }
    Ok(())
}
