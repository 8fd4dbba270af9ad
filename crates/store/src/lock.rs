//! The run lock of a source: never more than one run of a source at a time, across processes.
//!
//! `Store::lock_source` either takes the lock, returning a `SourceLock` the run keeps (and renews)
//! until it ends, or says who holds it. SQLite keeps a lease row that expires unless renewed, so a
//! stopped holder's lock is taken over after its expiry; PostgreSQL holds a session advisory lock
//! on a connection of its own, which the server releases the moment that connection ends.

use accord_core::Timestamp;
use serde::Serialize;

use crate::Result;

/// Who holds a source's run lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockHolder {
    pub source: String,
    /// What the holder said it is, e.g. `accord serve (schedule), pid 4242 on host-a`.
    pub holder: String,
    pub acquired_at: Timestamp,
    /// When the lease runs out unless renewed (PostgreSQL: when the holder last said it is alive
    /// plus the lease time; the lock itself lasts as long as its connection).
    pub expires_at: Timestamp,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} holds the run lock of {:?} since {}",
            self.holder,
            self.source,
            self.acquired_at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// A held run lock. Dropping it releases it (best effort, as `release` does without the answer).
pub trait SourceLock: Send + Sync + std::fmt::Debug {
    fn source(&self) -> &str;

    /// Keeps the lock: the lease now runs until `now_ms` plus its time. `StoreError::LockLost` when
    /// it is no longer this holder's (it expired and another process took it over, or the
    /// connection holding it ended).
    fn renew(&self, now_ms: i64) -> Result<()>;

    /// Releases the lock now.
    fn release(self: Box<Self>) -> Result<()>;
}

/// The answer of `Store::lock_source`.
#[derive(Debug)]
pub enum LockAttempt {
    Acquired(Box<dyn SourceLock>),
    /// Someone else holds it.
    Held(LockHolder),
}

/// A token no other holder uses: this process, the clock, and a counter.
pub(crate) fn new_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}
