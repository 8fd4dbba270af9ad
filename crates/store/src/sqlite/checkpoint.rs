//! WAL checkpoints on a thread of their own. With SQLite's automatic checkpoint, the commit that
//! fills the WAL copies it into the database before it returns: every few thousand pages one
//! request waits tens of milliseconds for work that is not its own (the Event API's p99). Here the
//! thread copies the WAL back in `PASSIVE` mode as it grows, which never blocks a writer or a
//! reader, so when a commit's automatic checkpoint comes due (32 MiB of WAL) the pages are
//! already copied and it has only the last few to do. That automatic checkpoint stays with the
//! writer on purpose: it runs between the writer's transactions, so it can finish the WAL, and
//! only a finished WAL starts over; a passive checkpoint racing a steady stream of commits never
//! reaches the WAL's end, and the WAL would grow without bound.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the WAL is copied back.
const EVERY: Duration = Duration::from_millis(200);

/// The checkpoint thread of one store; stops (after a last checkpoint) when dropped.
#[derive(Debug)]
pub(super) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path) -> crate::Result<Self> {
        let conn = super::open_connection(path)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("accord-checkpoint".into())
            .spawn(move || {
                let (lock, wake) = &*signal;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    stopped = wake.wait_timeout(stopped, EVERY).unwrap_or_else(|e| e.into_inner()).0;
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::debug!(error = %e, "a background WAL checkpoint failed; the next one retries");
                    }
                    if *stopped {
                        return;
                    }
                }
            })
            .map_err(|e| crate::StoreError::Invalid(format!("cannot start the WAL checkpoint thread: {e}")))?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
