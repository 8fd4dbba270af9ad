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

/// This machine's name (`HOSTNAME`, else `/etc/hostname`), for lock holders and lease tokens.
pub fn this_host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "localhost".into())
}

/// A token no other holder uses: `<pid>@<host>/<clock>-<counter>`, so a lease of a process that
/// is gone from this machine can be told from a live one (`holder_is_gone`).
pub(crate) fn new_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}@{}/{nanos}-{}", std::process::id(), this_host(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Whether a lease token names a process of this machine that no longer runs (Linux: no
/// `/proc/<pid>`). Anything else (another machine, a token of another form, no `/proc`) counts as
/// alive, and its lease is only taken over once it expires.
pub(crate) fn holder_is_gone(token: &str) -> bool {
    let Some((pid, rest)) = token.split_once('@') else { return false };
    let Some((host, _)) = rest.rsplit_once('/') else { return false };
    let Ok(pid) = pid.parse::<u32>() else { return false };
    let proc = std::path::Path::new("/proc");
    host == this_host()
        && pid != std::process::id()
        && proc.join("self").exists()
        && !proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_process_and_a_gone_process_is_told_apart() {
        let token = new_token();
        assert!(token.starts_with(&format!("{}@{}/", std::process::id(), this_host())), "{token}");
        assert!(!holder_is_gone(&token), "this process runs");
        if !std::path::Path::new("/proc/self").exists() {
            return; // no way to tell on this system: every holder counts as alive
        }
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(holder_is_gone(&format!("{pid}@{}/1-0", this_host())), "an exited process");
        assert!(!holder_is_gone(&format!("{pid}@another-host/1-0")), "another machine's process");
        assert!(!holder_is_gone("token"), "a token of another form");
    }
}
