//! The run locks of a sync: every chosen source's lock taken before anything runs (in plan order,
//! the same in every process), renewed by a thread of their own while the sync goes on, and each
//! released as soon as its source's run has ended.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use accord_store::{LockAttempt, LockHolder, SourceLock};

use crate::plan::SourcePlan;
use crate::sync::IfBusy;
use crate::{EngineError, Hub, Result};

/// How long a run lock lasts unless renewed: a holder that stopped without releasing it (killed,
/// or its machine gone) blocks its source this long at most (SQLite; on PostgreSQL the lock ends
/// with the holder's connection).
pub const LOCK_TTL: Duration = Duration::from_secs(60);
/// How often a running sync renews its locks: several renewals fit in one lease.
const LOCK_RENEW_EVERY: Duration = Duration::from_secs(15);

/// The locks of a sync's sources, renewed by a thread of their own while the sync runs; each is
/// released as soon as its source's run has ended.
pub(crate) struct RunLocks {
    locks: Mutex<Vec<Box<dyn SourceLock>>>,
    /// Sources whose lock was lost, with why: their streams stop at the next page.
    lost: Mutex<HashMap<String, String>>,
    stop: AtomicBool,
}

impl RunLocks {
    /// Takes the lock of every source, or: with `IfBusy::Fail`, `EngineError::Busy` naming the
    /// first held one (the locks taken so far are released); with `IfBusy::Skip`, the locks of the
    /// others and the holders of the busy ones.
    pub(crate) fn take(
        hub: &Hub,
        sources: &[&SourcePlan],
        started_by: &str,
        if_busy: IfBusy,
    ) -> Result<(Self, Vec<LockHolder>)> {
        let holder = lock_holder(started_by);
        let mut locks = Vec::new();
        let mut busy = Vec::new();
        for source in sources {
            match hub.store.lock_source(&source.name, &holder, now_ms(), LOCK_TTL.as_millis() as i64)? {
                LockAttempt::Acquired(lock) => locks.push(lock),
                LockAttempt::Held(h) if if_busy == IfBusy::Skip => busy.push(h),
                LockAttempt::Held(h) => return Err(EngineError::Busy(h)),
            }
        }
        Ok((Self { locks: Mutex::new(locks), lost: Mutex::new(HashMap::new()), stop: AtomicBool::new(false) }, busy))
    }

    /// Runs `f` while a thread renews the locks.
    pub(crate) fn hold<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        std::thread::scope(|scope| {
            let renewer = std::thread::Builder::new()
                .name("sync locks".into())
                .spawn_scoped(scope, || self.renew_until_stopped())
                .map_err(|e| EngineError::Invalid(format!("cannot start the lock renewer: {e}")))?;
            // Stops the renewer however `f` ends (a panic too: the scope waits for its threads).
            let _stop = StopRenewer(self, renewer.thread().clone());
            Ok(f())
        })
    }

    fn renew_until_stopped(&self) {
        loop {
            std::thread::park_timeout(LOCK_RENEW_EVERY);
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            for lock in self.locks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                if self.lost.lock().unwrap_or_else(|e| e.into_inner()).contains_key(lock.source()) {
                    continue;
                }
                match lock.renew(now_ms()) {
                    Ok(()) => {}
                    Err(e @ accord_store::StoreError::LockLost { .. }) => {
                        tracing::error!(source = lock.source(), error = %e, "stopping the run of a source whose lock is lost");
                        self.lost
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(lock.source().to_owned(), e.to_string());
                    }
                    // A failed renewal is retried at the next turn, well within the lease.
                    Err(e) => tracing::warn!(source = lock.source(), error = %e, "could not renew a run lock"),
                }
            }
        }
    }

    /// Why the lock of `source` was lost, if it was: its streams stop at their next page.
    pub(crate) fn lost(&self, source: &str) -> Option<String> {
        self.lost.lock().unwrap_or_else(|e| e.into_inner()).get(source).cloned()
    }

    /// Releases the lock of a source whose run has ended.
    pub(crate) fn release_source(&self, source: &str) {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = locks.iter().position(|l| l.source() == source) {
            let lock = locks.swap_remove(i);
            drop(locks);
            if let Err(e) = lock.release() {
                tracing::warn!(%source, error = %e, "could not release a run lock; it expires on its own");
            }
        }
    }

    /// Releases the locks still held.
    pub(crate) fn release(self) {
        for lock in self.locks.into_inner().unwrap_or_else(|e| e.into_inner()) {
            let source = lock.source().to_owned();
            if let Err(e) = lock.release() {
                tracing::warn!(%source, error = %e, "could not release a run lock; it expires on its own");
            }
        }
    }
}

struct StopRenewer<'a>(&'a RunLocks, std::thread::Thread);

impl Drop for StopRenewer<'_> {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Release);
        self.1.unpark();
    }
}

/// `<started_by>, pid <pid> on <host>`: enough to find the process that holds a lock.
fn lock_holder(started_by: &str) -> String {
    let what = if started_by.is_empty() { "accord" } else { started_by };
    format!("{what}, pid {} on {}", std::process::id(), accord_store::this_host())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
