//! Run locks on SQLite: a lease row per source in `source_locks`, on a connection of the lock's
//! own so renewing it never waits behind the store's writer.

use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use super::rows::time;
use crate::lock::{LockAttempt, LockHolder, SourceLock, holder_is_gone, new_token};
use crate::{Result, StoreError};

/// A held lease.
#[derive(Debug)]
struct Lease {
    source: String,
    token: String,
    ttl_ms: i64,
    /// `None` once released.
    conn: Mutex<Option<Connection>>,
}

pub(super) fn lock_source(
    store: &SqliteStore,
    source: &str,
    holder: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<LockAttempt> {
    let conn = super::open_connection(store.path())?;
    let token = new_token();
    // One statement: it inserts the lease, or replaces one that has expired, or changes nothing.
    let taken = conn.execute(
        "INSERT INTO source_locks (source, holder, token, acquired_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (source) DO UPDATE SET holder = excluded.holder, token = excluded.token,
             acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
         WHERE source_locks.expires_at <= ?4",
        params![source, holder, token, now_ms, now_ms.saturating_add(ttl_ms)],
    )?;
    if taken == 1 {
        let lease = Lease { source: source.to_owned(), token, ttl_ms, conn: Mutex::new(Some(conn)) };
        return Ok(LockAttempt::Acquired(Box::new(lease)));
    }
    // Held by a process of this machine that is gone (killed before it could release it): its
    // lease is taken over now rather than when it expires, so a killed sync resumes at once.
    let token_held: Option<String> =
        conn.query_row("SELECT token FROM source_locks WHERE source = ?1", params![source], |r| r.get(0)).optional()?;
    if let Some(dead) = token_held.filter(|t| holder_is_gone(t)) {
        let taken = conn.execute(
            "UPDATE source_locks SET holder = ?2, token = ?3, acquired_at = ?4, expires_at = ?5
             WHERE source = ?1 AND token = ?6",
            params![source, holder, token, now_ms, now_ms.saturating_add(ttl_ms), dead],
        )?;
        if taken == 1 {
            tracing::info!(source, previous = %dead, "took over the run lock of a process that is gone");
            let lease = Lease { source: source.to_owned(), token, ttl_ms, conn: Mutex::new(Some(conn)) };
            return Ok(LockAttempt::Acquired(Box::new(lease)));
        }
    }
    // Held: by whom (unless it was released in between, when the caller may simply try again).
    match holder_of(&conn, source, i64::MIN)? {
        Some(h) => Ok(LockAttempt::Held(h)),
        None => lock_source(store, source, holder, now_ms, ttl_ms),
    }
}

pub(super) fn holder_of(conn: &Connection, source: &str, now_ms: i64) -> Result<Option<LockHolder>> {
    Ok(conn
        .query_row(
            "SELECT holder, acquired_at, expires_at FROM source_locks WHERE source = ?1 AND expires_at > ?2",
            params![source, now_ms],
            |r| {
                Ok(LockHolder {
                    source: source.to_owned(),
                    holder: r.get(0)?,
                    acquired_at: time(r.get(1)?),
                    expires_at: time(r.get(2)?),
                })
            },
        )
        .optional()?)
}

impl Lease {
    fn lost(&self, reason: &str) -> StoreError {
        StoreError::LockLost { name: self.source.clone(), reason: reason.to_owned() }
    }
}

impl SourceLock for Lease {
    fn source(&self) -> &str {
        &self.source
    }

    fn renew(&self, now_ms: i64) -> Result<()> {
        let guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let conn = guard.as_ref().ok_or_else(|| self.lost("it was released"))?;
        let n = conn.execute(
            "UPDATE source_locks SET expires_at = ?3 WHERE source = ?1 AND token = ?2",
            params![self.source, self.token, now_ms.saturating_add(self.ttl_ms)],
        )?;
        if n == 1 {
            return Ok(());
        }
        let by = holder_of(conn, &self.source, i64::MIN)?
            .map_or_else(|| "it expired".to_owned(), |h| format!("it expired and {} took it over", h.holder));
        Err(self.lost(&by))
    }

    fn release(self: Box<Self>) -> Result<()> {
        self.release_now()
    }
}

impl Lease {
    fn release_now(&self) -> Result<()> {
        let Some(conn) = self.conn.lock().unwrap_or_else(|e| e.into_inner()).take() else { return Ok(()) };
        conn.execute("DELETE FROM source_locks WHERE source = ?1 AND token = ?2", params![self.source, self.token])?;
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Err(e) = self.release_now() {
            tracing::warn!(source = %self.source, error = %e, "could not release a run lock; it expires on its own");
        }
    }
}
