//! Run locks on PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a key derived from
//! the schema and the source name, held by a connection opened for the lock alone, so the server
//! releases it the moment its holder's connection ends, however the holder stopped. The
//! `source_locks` row says who holds it: its `token` is the holding backend's pid, so a row left by
//! a stopped holder names nobody.

use std::sync::Mutex;

use ::postgres::Client;
use ::postgres::types::Type;

use super::PgStore;
use super::rows::time;
use crate::lock::{LockAttempt, LockHolder, SourceLock};
use crate::{Result, StoreError};

/// A held advisory lock and the connection that holds it.
struct Held {
    source: String,
    key: i64,
    /// The backend pid holding the lock, as text (the row's `token`).
    token: String,
    holder: String,
    acquired_at: i64,
    ttl_ms: i64,
    /// `None` once released.
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSourceLock").field("source", &self.source).field("backend", &self.token).finish()
    }
}

/// The lock key of a source in the current schema (two hubs in one database never share a key).
fn key(client: &mut Client, source: &str) -> Result<i64> {
    let schema: String = client.query_typed_one("SELECT COALESCE(current_schema(), '')", &[])?.try_get(0)?;
    let hash = blake3::hash(format!("accord run lock\0{schema}\0{source}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash.as_bytes()[..8]);
    Ok(i64::from_le_bytes(bytes))
}

pub(super) fn lock_source(
    store: &PgStore,
    source: &str,
    holder: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<LockAttempt> {
    let mut client = store
        .config
        .connect(store.connector.clone())
        .map_err(|e| StoreError::Unreachable { target: store.target.clone(), reason: super::error_chain(&e) })?;
    let key = key(&mut client, source)?;
    let taken: bool = client.query_typed_one("SELECT pg_try_advisory_lock($1)", &[(&key, Type::INT8)])?.try_get(0)?;
    if !taken {
        let held = find_holder(&mut client, source, key, now_ms)?;
        drop_off_runtime(client);
        return match held {
            Some(h) => Ok(LockAttempt::Held(h)),
            // Released between the two statements: try again.
            None => lock_source(store, source, holder, now_ms, ttl_ms),
        };
    }
    let pid: i32 = client.query_typed_one("SELECT pg_backend_pid()", &[])?.try_get(0)?;
    let held = Held {
        source: source.to_owned(),
        key,
        token: pid.to_string(),
        holder: holder.to_owned(),
        acquired_at: now_ms,
        ttl_ms,
        client: Mutex::new(None),
    };
    held.write_row(&mut client, now_ms)?;
    *held.client.lock().unwrap_or_else(|e| e.into_inner()) = Some(client);
    Ok(LockAttempt::Acquired(Box::new(held)))
}

/// Who holds the lock of `source`, from any connection.
pub(super) fn holder_of(client: &mut Client, source: &str) -> Result<Option<LockHolder>> {
    let key = key(client, source)?;
    find_holder(client, source, key, chrono::Utc::now().timestamp_millis())
}

fn find_holder(client: &mut Client, source: &str, key: i64, now_ms: i64) -> Result<Option<LockHolder>> {
    // A bigint advisory key shows in pg_locks as its high half in `classid`, its low half in `objid`.
    let (hi, lo) = ((key as u64 >> 32) as i64, (key as u64 & 0xffff_ffff) as i64);
    let row = client.query_typed_opt(
        "SELECT k.pid, s.holder, s.acquired_at, s.expires_at
         FROM (SELECT pid FROM pg_locks
               WHERE locktype = 'advisory' AND granted AND objsubid = 1
                 AND classid::bigint = $2 AND objid::bigint = $3
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
               LIMIT 1) k
         LEFT JOIN source_locks s ON s.source = $1 AND s.token = k.pid::text",
        &[(&source, Type::TEXT), (&hi, Type::INT8), (&lo, Type::INT8)],
    )?;
    let Some(row) = row else { return Ok(None) };
    let pid: i32 = row.try_get(0)?;
    let holder: Option<String> = row.try_get(1)?;
    Ok(Some(match holder {
        Some(holder) => LockHolder {
            source: source.to_owned(),
            holder,
            acquired_at: time(row.try_get(2)?),
            expires_at: time(row.try_get(3)?),
        },
        // The holder took the lock and has not written its row yet.
        None => LockHolder {
            source: source.to_owned(),
            holder: format!("the PostgreSQL session of backend pid {pid}"),
            acquired_at: time(now_ms),
            expires_at: time(now_ms),
        },
    }))
}

impl Held {
    fn write_row(&self, client: &mut Client, now_ms: i64) -> Result<()> {
        let expires = now_ms.saturating_add(self.ttl_ms);
        client.execute_typed(
            "INSERT INTO source_locks (source, holder, token, acquired_at, expires_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (source) DO UPDATE SET holder = excluded.holder, token = excluded.token,
                 acquired_at = excluded.acquired_at, expires_at = excluded.expires_at",
            &[
                (&self.source, Type::TEXT),
                (&self.holder, Type::TEXT),
                (&self.token, Type::TEXT),
                (&self.acquired_at, Type::INT8),
                (&expires, Type::INT8),
            ],
        )?;
        Ok(())
    }

    fn release_now(&self) -> Result<()> {
        let Some(mut client) = self.client.lock().unwrap_or_else(|e| e.into_inner()).take() else { return Ok(()) };
        let result = (|| -> Result<()> {
            client.execute_typed(
                "DELETE FROM source_locks WHERE source = $1 AND token = $2",
                &[(&self.source, Type::TEXT), (&self.token, Type::TEXT)],
            )?;
            client.query_typed_one("SELECT pg_advisory_unlock($1)", &[(&self.key, Type::INT8)])?;
            Ok(())
        })();
        // Closing the connection releases the lock in any case.
        drop_off_runtime(client);
        result
    }
}

impl SourceLock for Held {
    fn source(&self) -> &str {
        &self.source
    }

    fn renew(&self, now_ms: i64) -> Result<()> {
        let mut guard = self.client.lock().unwrap_or_else(|e| e.into_inner());
        let lost = |reason: String| StoreError::LockLost { name: self.source.clone(), reason };
        let client = guard.as_mut().ok_or_else(|| lost("it was released".into()))?;
        // The session lock lives as long as this connection: a statement that succeeds proves both.
        self.write_row(client, now_ms).map_err(|e| lost(format!("its connection failed: {e}")))
    }

    fn release(self: Box<Self>) -> Result<()> {
        self.release_now()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Err(e) = self.release_now() {
            tracing::warn!(source = %self.source, error = %e, "could not release a run lock cleanly; closing its connection did");
        }
    }
}

/// Closing a sync client blocks on its private runtime, which panics inside an async context.
fn drop_off_runtime(client: Client) {
    let _ = std::thread::spawn(move || drop(client)).join();
}
