//! The PostgreSQL backend: a pool of synchronous `postgres` clients, embedded migrations, and
//! `WriteBatch`es applied as bulk `UNNEST` statements in one transaction each, safe to run from
//! several processes against one database.
//!
//! Writes are correct under concurrent transactions: every row is an `ON CONFLICT` upsert, rollups
//! and run counters are added to in SQL (never read, changed and written back), rows of a batch are
//! written in key order so two batches lock shared rows in the same order, and a transaction that
//! still hits a deadlock or serialization failure is retried whole.

mod lock;
mod rows;
mod tls;
mod web;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, Config, Transaction, error::SqlState};
use accord_core::{ObjectKind, TriedKey};
use r2d2_postgres::PostgresConnectionManager;
use serde_json::Value;

use crate::model::*;
use crate::sql;
use crate::usage::{DayUsage, FeatureUsage, PendingUsage, Span, UsageDelta, UsageSummary};
use crate::{MigrationInfo, Result, Store, StoreError};

use rows::*;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "pending_keys", include_str!("../../migrations/postgres/0002_pending_keys.sql")),
    (3, "record_keys", include_str!("../../migrations/postgres/0003_record_keys.sql")),
    (4, "natero_details", include_str!("../../migrations/postgres/0004_natero_details.sql")),
    (5, "web", include_str!("../../migrations/postgres/0005_web.sql")),
    (6, "event_backlog", include_str!("../../migrations/postgres/0006_event_backlog.sql")),
    (7, "daily_usage", include_str!("../../migrations/postgres/0007_daily_usage.sql")),
    (8, "revenue", include_str!("../../migrations/postgres/0008_revenue.sql")),
    (9, "source_locks", include_str!("../../migrations/postgres/0009_source_locks.sql")),
    (10, "contact_organization", include_str!("../../migrations/postgres/0010_contact_organization.sql")),
    (11, "webhook_deliveries", include_str!("../../migrations/postgres/0011_webhook_deliveries.sql")),
    (12, "propagation", include_str!("../../migrations/postgres/0012_propagation.sql")),
    (13, "billed_price", include_str!("../../migrations/postgres/0013_billed_price.sql")),
];

/// Connections per process: enough for a server's blocking threads and a sync at once, small
/// enough that several `accord serve` processes fit in PostgreSQL's default 100 connections.
const POOL_SIZE: u32 = 8;
/// How long to wait for the server to accept a connection (unless the URL sets `connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a caller waits for a free pooled connection before the store reports an error.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);
/// The advisory lock that serializes migrations across processes ("accord" in ASCII).
const MIGRATION_LOCK: i64 = 0x6163_636f_7264;
/// Attempts of a write transaction that fails with a deadlock or serialization failure.
const WRITE_ATTEMPTS: u32 = 5;

type Manager = PostgresConnectionManager<tokio_postgres_rustls::MakeRustlsConnect>;
type Pool = r2d2::Pool<Manager>;
/// A statement parameter with its type, so a statement costs one round trip (no separate prepare).
type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// The PostgreSQL store.
pub struct PgStore {
    /// `None` only while dropping (see `Drop`).
    pool: Option<Pool>,
    /// `user@host:port/db`, for messages: never the password.
    target: String,
    /// Usage of committed events not yet in the rollups.
    pending: std::sync::Mutex<PendingUsage>,
    /// How to open a connection outside the pool (a run lock keeps one for its life).
    config: Config,
    connector: tokio_postgres_rustls::MakeRustlsConnect,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore").field("target", &self.target).finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if !self.pending.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
            && let Err(e) = off_runtime(|| self.flush_usage())
        {
            tracing::warn!(error = %e, "could not write the last usage rollups; the next run rolls them up from the events");
        }
        if let Some(pool) = self.pool.take() {
            // Closing a `postgres::Client` blocks on the client's private runtime, which panics when
            // the store is dropped inside an async context (a server's state at shutdown). A plain
            // thread is never inside one.
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

/// Runs `f` on a plain thread. The sync `postgres` client drives a private tokio runtime with
/// `block_on`, which panics on a thread that is inside an async context; the blocking operations
/// that callers may reasonably run from `async fn main` (connecting, migrating) go through this.
fn off_runtime<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(out) => out,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// An error and its causes, as one line (a TLS refusal's reason is in its source).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// The URL without its password.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// `user@host:port/db` from a parsed config.
fn describe(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                ::postgres::config::Host::Tcp(name) => name.clone(),
                ::postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let db = config.get_dbname().map(|d| format!("/{d}")).unwrap_or_default();
    format!("{user}{}{db}", if hosts.is_empty() { "localhost:5432".into() } else { hosts.join(",") })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn is_transient(e: &StoreError) -> bool {
    let StoreError::Postgres(e) = e else { return false };
    e.code().is_some_and(|c| *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED)
}

/// Exponential backoff with jitter, so two transactions that deadlocked do not collide again.
fn backoff(attempt: u32) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    let base = 5u64 << attempt.min(6);
    Duration::from_millis(base + u64::from(nanos) % base)
}

impl PgStore {
    /// Connects to `postgres://user[:password]@host[:port]/db[?options]` and opens a pool. Fails
    /// fast, naming the server, when it cannot be reached. Does not migrate.
    /// `sslmode` (up to `verify-full`) and `sslrootcert` take libpq's meanings (see `tls.rs`).
    pub fn connect(url: &str) -> Result<Self> {
        let (rest, tls) = tls::split(url)?;
        let mut config: Config =
            rest.parse().map_err(|e| StoreError::Invalid(format!("invalid PostgreSQL URL {}: {e}", redact(url))))?;
        config.ssl_mode(tls.ssl_mode());
        let connector = tls::connector(&tls)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("accord");
        }
        let target = describe(&config);
        // One connection first, on this call: an unreachable server or a refused login is reported
        // now, with its cause, instead of after the pool's checkout timeout.
        off_runtime(|| {
            let probe = config
                .connect(connector.clone())
                .map_err(|e| StoreError::Unreachable { target: target.clone(), reason: error_chain(&e) })?;
            drop(probe);
            Ok(())
        })?;
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .build_unchecked(PostgresConnectionManager::new(config.clone(), connector.clone()));
        Ok(Self { pool: Some(pool), target, pending: Default::default(), config, connector })
    }

    /// `user@host:port/db`.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>> {
        let pool = self.pool.as_ref().ok_or_else(|| StoreError::Invalid("the store is closed".into()))?;
        pool.get().map_err(|e| StoreError::Unreachable { target: self.target.clone(), reason: e.to_string() })
    }

    /// Writes batches in one transaction; the usage of the events they store joins the pending
    /// rollups once it commits, and the pending rollups are written with it when they are due.
    fn apply_in_one(&self, batches: &[&WriteBatch]) -> Result<Vec<ApplyOutcome>> {
        // A retried transaction goes without the pending usage (taken by the first attempt): its
        // backlog entries stay, and a later flush rolls them up from the events.
        let mut flush = self.usage_to_flush(false);
        let flushing = flush.is_some();
        // Whether the attempt that committed wrote the pending usage.
        let wrote = std::cell::Cell::new(false);
        let (outcomes, fresh) = self.write(|tx| {
            wrote.set(false);
            let mut fresh = Vec::new();
            let outcomes = batches.iter().map(|b| apply_batch(tx, b, &mut fresh)).collect::<Result<Vec<_>>>()?;
            if let Some(entries) = flush.take() {
                write_pending_usage(tx, entries)?;
                wrote.set(true);
            }
            Ok((outcomes, fresh))
        })?;
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if flushing {
            pending.flushed(wrote.get());
        }
        for (seq, delta, events) in fresh {
            pending.add(seq, delta, events);
        }
        Ok(outcomes)
    }

    /// The pending usage to write with a transaction: when it is due, or always with `force`.
    fn usage_to_flush(&self, force: bool) -> Option<Vec<(i64, UsageDelta)>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).take(force)
    }

    /// Reads of the rollups see every event this process committed.
    pub(super) fn flush_own_usage(&self) -> Result<()> {
        if self.pending.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            return Ok(());
        }
        self.flush_usage()
    }

    fn read<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        f(&mut conn)
    }

    /// Runs `f` in a transaction, retrying the whole transaction on a deadlock or serialization
    /// failure: the server rolled it back, so running it again applies it once. Other errors roll
    /// back and return. A commit lost with its connection is not retried either: it may have
    /// committed, and a batch adds to counters, so applying it twice would count twice.
    fn write<T>(&self, mut f: impl FnMut(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let mut attempt = 1;
        loop {
            let result = (|| {
                let mut tx = conn.transaction()?;
                let out = f(&mut tx)?;
                tx.commit()?;
                Ok(out)
            })();
            match result {
                Err(e) if attempt < WRITE_ATTEMPTS && is_transient(&e) => {
                    tracing::debug!(attempt, error = %e, "retrying a PostgreSQL transaction");
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn migrate(&self) -> Result<Vec<MigrationInfo>> {
        off_runtime(|| {
            let mut conn = self.conn()?;
            let known = MIGRATIONS.last().map_or(0, |m| m.0);
            let mut applied = Vec::new();
            // One transaction per migration. Each takes the advisory lock before reading the
            // current version, so two processes migrating at once apply each migration once.
            loop {
                let mut tx = conn.transaction()?;
                tx.execute_typed("SELECT pg_advisory_xact_lock($1)", &[(&MIGRATION_LOCK, Type::INT8)])?;
                tx.batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations
                     (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                )?;
                let current: i64 =
                    tx.query_typed_one("SELECT COALESCE(MAX(version), 0)::int8 FROM schema_migrations", &[])?.get(0);
                if current > known {
                    return Err(StoreError::TooNew { found: current, known });
                }
                let Some((version, name, sql)) = MIGRATIONS.iter().find(|m| m.0 > current) else {
                    tx.commit()?;
                    return Ok(applied);
                };
                tx.batch_execute(sql)?;
                tx.execute_typed(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    &[(version, Type::INT8), (name, Type::TEXT), (&now_ms(), Type::INT8)],
                )?;
                tx.commit()?;
                tracing::info!(version, name, "applied migration");
                applied.push(MigrationInfo { version: *version, name: (*name).into(), applied: true });
            }
        })
    }

    fn migrations(&self) -> Result<Vec<MigrationInfo>> {
        off_runtime(|| {
            self.read(|conn| {
                let exists: bool =
                    conn.query_typed_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])?.get(0);
                let done: HashSet<i64> = if exists {
                    conn.query_typed("SELECT version FROM schema_migrations", &[])?.iter().map(|r| r.get(0)).collect()
                } else {
                    HashSet::new()
                };
                Ok(MIGRATIONS
                    .iter()
                    .map(|(v, n, _)| MigrationInfo { version: *v, name: (*n).into(), applied: done.contains(v) })
                    .collect())
            })
        })
    }

    fn apply(&self, batch: &WriteBatch) -> Result<ApplyOutcome> {
        if batch.is_empty() {
            return Ok(ApplyOutcome::default());
        }
        Ok(self.apply_in_one(&[batch])?.remove(0))
    }

    fn apply_all(&self, batches: &[&WriteBatch]) -> Result<Vec<ApplyOutcome>> {
        // One transaction for the group, as SQLite does: one commit (one WAL flush) instead of one
        // per batch. A failing batch fails the group, so each batch is still all-or-nothing.
        if batches.iter().all(|b| b.is_empty()) {
            return Ok(vec![ApplyOutcome::default(); batches.len()]);
        }
        self.apply_in_one(batches)
    }

    fn flush_usage(&self) -> Result<()> {
        let mut entries = self.usage_to_flush(true);
        let wrote = std::cell::Cell::new(false);
        self.write(|tx| {
            wrote.set(false);
            let taken = entries.take();
            let had = taken.is_some();
            write_pending_usage(tx, taken.unwrap_or_default())?;
            wrote.set(had);
            Ok(())
        })?;
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).flushed(wrote.get());
        Ok(())
    }

    fn load_index(&self, kinds: &[ObjectKind], visit: &mut dyn FnMut(IndexRow)) -> Result<()> {
        self.read(|conn| {
            let sql = format!("SELECT {} FROM accounts", sql::account_columns().join(", "));
            stream(conn, &sql, [], |r| {
                visit(IndexRow::Account(account_from_row(&r)?));
                Ok(())
            })?;
            let filtered = "SELECT link_key, source, object, native_id, payload FROM quarantine
                            WHERE kind = 'account' AND reason = 'filtered_account' AND link_key IS NOT NULL";
            stream(conn, filtered, [], |r| {
                let payload: &str = r.try_get(4)?;
                visit(IndexRow::Filtered {
                    account_id: r.try_get(0)?,
                    key: RecordKey { source: r.try_get(1)?, object: r.try_get(2)?, native_id: r.try_get(3)? },
                    payload: serde_json::from_str(payload)?,
                });
                Ok(())
            })?;
            stream(conn, "SELECT domain, account_id, origin FROM domain_map", [], |r| {
                visit(IndexRow::Domain(DomainRow {
                    domain: r.try_get(0)?,
                    account_id: account_id(&r, 1)?,
                    origin: r.try_get(2)?,
                }));
                Ok(())
            })?;
            let mut seen = HashSet::new();
            for kind in kinds.iter().copied().filter(|k| *k != ObjectKind::Account && seen.insert(*k)) {
                let email = sql::email_field(kind).unwrap_or("NULL::text");
                let organization = sql::organization_field(kind).unwrap_or("NULL::text");
                let sql = format!(
                    "SELECT source, object, native_id, account_id, {email}, link_rule, link_rule_index, link_key, {organization} FROM {} WHERE NOT is_deleted",
                    kind.table()
                );
                stream(conn, &sql, [], |r| {
                    visit(IndexRow::Link {
                        key: RecordKey { source: r.try_get(0)?, object: r.try_get(1)?, native_id: r.try_get(2)? },
                        kind,
                        account_id: account_id(&r, 3)?,
                        email: r.try_get(4)?,
                        organization: r.try_get(8)?,
                        provenance: accord_core::Provenance {
                            rule: accord_core::RuleKind::from_name(r.try_get::<_, &str>(5)?)
                                .ok_or_else(|| StoreError::Invalid("unknown link rule in the store".into()))?,
                            rule_index: r.try_get::<_, i64>(6)? as usize,
                            key: r.try_get(7)?,
                        },
                    });
                    Ok(())
                })?;
            }
            Ok(())
        })
    }

    fn checkpoint(&self, source: &str, stream: &str) -> Result<Option<Value>> {
        self.read(|conn| {
            let row = conn.query_typed_opt(
                "SELECT cursor FROM checkpoints WHERE source = $1 AND stream = $2",
                &[(&source, Type::TEXT), (&stream, Type::TEXT)],
            )?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(serde_json::from_str(row.try_get::<_, &str>(0)?)?))
        })
    }

    fn clear_checkpoints(&self, source: &str) -> Result<()> {
        self.read(|conn| {
            conn.execute_typed("DELETE FROM checkpoints WHERE source = $1", &[(&source, Type::TEXT)])?;
            Ok(())
        })
    }

    fn start_run(&self, source: &str) -> Result<i64> {
        self.read(|conn| {
            let row = conn.query_typed_one(
                "INSERT INTO sync_runs (source, started_at, status) VALUES ($1, $2, 'running') RETURNING id",
                &[(&source, Type::TEXT), (&now_ms(), Type::INT8)],
            )?;
            Ok(row.try_get(0)?)
        })
    }

    fn lock_source(&self, source: &str, holder: &str, now_ms: i64, ttl_ms: i64) -> Result<crate::LockAttempt> {
        lock::lock_source(self, source, holder, now_ms, ttl_ms)
    }

    fn source_lock_holder(&self, source: &str, _now_ms: i64) -> Result<Option<crate::LockHolder>> {
        self.read(|conn| lock::holder_of(conn, source))
    }

    fn interrupt_runs(&self, source: &str) -> Result<u64> {
        self.read(|conn| {
            Ok(conn.execute_typed(
                "UPDATE sync_runs SET status = 'interrupted', finished_at = $2,
                        error = 'the process stopped before the run finished; the next sync resumed it'
                 WHERE source = $1 AND status = 'running'",
                &[(&source, Type::TEXT), (&now_ms(), Type::INT8)],
            )?)
        })
    }

    fn pending_keys(&self, limit: u32) -> Result<Vec<PendingKey>> {
        self.read(|conn| {
            let rows = conn.query_typed(
                "SELECT space, key, version FROM pending_keys ORDER BY space, key LIMIT $1",
                &[(&i64::from(limit), Type::INT8)],
            )?;
            rows.iter()
                .map(|r| {
                    let space: String = r.try_get(0)?;
                    let space = accord_core::KeySpace::from_code(&space)
                        .ok_or_else(|| StoreError::Invalid(format!("unknown key space {space:?} in pending_keys")))?;
                    Ok(PendingKey { key: TriedKey { space, key: r.try_get(1)? }, version: r.try_get(2)? })
                })
                .collect()
        })
    }

    fn finish_run(&self, run_id: i64, status: &str, error: Option<&str>) -> Result<()> {
        self.read(|conn| {
            conn.execute_typed(
                "UPDATE sync_runs SET finished_at = $2, status = $3, error = $4 WHERE id = $1",
                &[(&run_id, Type::INT8), (&now_ms(), Type::INT8), (&status, Type::TEXT), (&error, Type::TEXT)],
            )?;
            Ok(())
        })
    }

    fn runs(&self, source: Option<&str>, limit: u32) -> Result<Vec<SyncRun>> {
        self.read(|conn| {
            let rows = conn.query_typed(
                "SELECT id, source, started_at, finished_at, status, fetched, linked, rejected, rejected_by_reason, error
                 FROM sync_runs WHERE ($1::text IS NULL OR source = $1) ORDER BY id DESC LIMIT $2",
                &[(&source, Type::TEXT), (&i64::from(limit), Type::INT8)],
            )?;
            rows.iter().map(run_from_row).collect()
        })
    }

    fn account(&self, id: &str) -> Result<Option<AccountRow>> {
        self.read(|conn| {
            let sql = format!("SELECT {} FROM accounts WHERE account_id = $1", sql::account_columns().join(", "));
            conn.query_typed_opt(&sql, &[(&id, Type::TEXT)])?.as_ref().map(account_from_row).transpose()
        })
    }

    fn account_by_origin(&self, origin: &RecordKey) -> Result<Option<AccountRow>> {
        self.read(|conn| {
            // Several accounts could name one origin only through the Account API; take the first
            // by id so the answer is stable.
            let sql = format!(
                "SELECT {} FROM accounts WHERE source = $1 AND object = $2 AND native_id = $3
                 ORDER BY account_id LIMIT 1",
                sql::account_columns().join(", ")
            );
            let params = key_params(origin);
            conn.query_typed_opt(&sql, &params)?.as_ref().map(account_from_row).transpose()
        })
    }

    fn accounts(&self, q: &AccountQuery) -> Result<Page<AccountRow>> {
        let statuses = status_codes(&q.statuses);
        // SQLite sorts NULL lowest: first ascending, last descending.
        let order = sql::account_order(q, true)?;
        let size = q.page_size.clamp(1, 10_000);
        let (limit, offset) = (i64::from(size), i64::from(q.page) * i64::from(size));
        self.read(|conn| {
            let total: i64 = conn
                .query_typed_one(
                    "SELECT COUNT(*) FROM accounts WHERE status = ANY($1)",
                    &[(&statuses, Type::TEXT_ARRAY)],
                )?
                .try_get(0)?;
            let sql = format!(
                "SELECT {} FROM accounts WHERE status = ANY($1) ORDER BY {order}
                 LIMIT $2 OFFSET $3",
                sql::account_columns().join(", ")
            );
            let rows =
                conn.query_typed(&sql, &[(&statuses, Type::TEXT_ARRAY), (&limit, Type::INT8), (&offset, Type::INT8)])?;
            let items = rows.iter().map(account_from_row).collect::<Result<_>>()?;
            Ok(Page { items, total: total as u64, page: q.page, page_size: size })
        })
    }

    fn for_each_account(&self, statuses: &[AccountStatus], visit: &mut dyn FnMut(AccountRow)) -> Result<()> {
        let statuses: Vec<&str> = if statuses.is_empty() {
            vec!["active", "filtered", "deleted"]
        } else {
            statuses.iter().map(|s| s.code()).collect()
        };
        self.read(|conn| {
            let sql = format!(
                "SELECT {} FROM accounts WHERE status = ANY($1) ORDER BY account_id",
                sql::account_columns().join(", ")
            );
            let params: [Param<'_>; 1] = [(&statuses, Type::TEXT_ARRAY)];
            stream(conn, &sql, params, |r| {
                visit(account_from_row(&r)?);
                Ok(())
            })
        })
    }

    fn delete_list(&self) -> Result<Vec<(String, accord_core::Timestamp, String)>> {
        self.read(|conn| {
            let rows = conn
                .query_typed("SELECT account_id, deleted_at, reason FROM deleted_accounts ORDER BY account_id", &[])?;
            rows.iter().map(|r| Ok((r.try_get(0)?, time(r.try_get(1)?), r.try_get(2)?))).collect()
        })
    }

    fn records(&self, kind: ObjectKind, q: &RecordQuery, page: u32, size: u32) -> Result<Page<RecordRow>> {
        let size = size.clamp(1, 10_000);
        let (limit, offset) = (i64::from(size), i64::from(page) * i64::from(size));
        let mut clauses = Vec::new();
        let mut args: Vec<Param<'_>> = Vec::new();
        for (col, v) in
            [("account_id", &q.account_id), ("source", &q.source), ("object", &q.object), ("native_id", &q.native_id)]
        {
            if let Some(v) = v {
                args.push((v, Type::TEXT));
                clauses.push(format!("{col} = ${}", args.len()));
            }
        }
        if !q.include_deleted {
            clauses.push("NOT is_deleted".into());
        }
        let clause = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
        let order = sql::record_order(kind, q, true)?;
        self.read(|conn| {
            let total: i64 =
                conn.query_typed_one(&format!("SELECT COUNT(*) FROM {} {clause}", kind.table()), &args)?.try_get(0)?;
            let sql = format!(
                "{} {clause} ORDER BY {order} LIMIT ${} OFFSET ${}",
                sql::select_record(kind),
                args.len() + 1,
                args.len() + 2
            );
            let mut all = args.clone();
            all.extend([(&limit as &(dyn ToSql + Sync), Type::INT8), (&offset, Type::INT8)]);
            let rows = conn.query_typed(&sql, &all)?;
            let items = rows.iter().map(|r| record_from_row(kind, r)).collect::<Result<_>>()?;
            Ok(Page { items, total: total as u64, page, page_size: size })
        })
    }

    fn record_counts(&self, account_id: &str) -> Result<Vec<RecordCount>> {
        self.flush_own_usage()?;
        self.read(|conn| {
            let mut out = Vec::new();
            for kind in sql::record_kinds() {
                let sql = sql::record_counts(kind).replace("?1", "$1").replace("is_deleted = 0", "NOT is_deleted");
                for r in conn.query_typed(&sql, &[(&account_id, Type::TEXT)])? {
                    out.push(RecordCount { source: r.try_get(0)?, object: r.try_get(1)?, kind, count: count(&r, 2)? });
                }
            }
            Ok(out)
        })
    }

    fn record(&self, kind: ObjectKind, key: &RecordKey) -> Result<Option<RecordRow>> {
        self.read(|conn| {
            let sql = format!("{} WHERE source = $1 AND object = $2 AND native_id = $3", sql::select_record(kind));
            conn.query_typed_opt(&sql, &key_params(key))?.map(|r| record_from_row(kind, &r)).transpose()
        })
    }

    fn for_each_record(
        &self,
        kind: ObjectKind,
        source: &str,
        object: &str,
        visit: &mut dyn FnMut(RecordRow),
    ) -> Result<()> {
        self.read(|conn| {
            let sql = format!("{} WHERE source = $1 AND object = $2 ORDER BY native_id", sql::select_record(kind));
            let params: [Param<'_>; 2] = [(&source, Type::TEXT), (&object, Type::TEXT)];
            stream(conn, &sql, params, |r| {
                visit(record_from_row(kind, &r)?);
                Ok(())
            })
        })
    }

    fn object_stats(&self, kind: ObjectKind, source: &str, object: &str) -> Result<ObjectStats> {
        self.read(|conn| {
            let mut stats = ObjectStats::default();
            let params: [Param<'_>; 2] = [(&source, Type::TEXT), (&object, Type::TEXT)];
            if kind != ObjectKind::Account {
                let sql = format!(
                    "SELECT COUNT(*) FILTER (WHERE NOT is_deleted), COUNT(*) FILTER (WHERE is_deleted),
                            COUNT(DISTINCT account_id) FILTER (WHERE NOT is_deleted)
                     FROM {} WHERE source = $1 AND object = $2",
                    kind.table()
                );
                let r = conn.query_typed_one(&sql, &params)?;
                (stats.linked, stats.deleted, stats.accounts_covered) = (count(&r, 0)?, count(&r, 1)?, count(&r, 2)?);
            } else {
                let r = conn.query_typed_one(
                    "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'active') FROM accounts
                     WHERE source = $1 AND object = $2",
                    &params,
                )?;
                (stats.linked, stats.accounts_covered) = (count(&r, 0)?, count(&r, 1)?);
            }
            let rows = conn.query_typed(
                "SELECT reason, COUNT(*) FROM quarantine WHERE source = $1 AND object = $2 GROUP BY reason",
                &params,
            )?;
            for r in rows {
                stats.rejected_by_reason.insert(r.try_get(0)?, count(&r, 1)?);
            }
            Ok(stats)
        })
    }

    fn quarantine(&self, q: &QuarantineQuery, page: u32, size: u32) -> Result<Page<QuarantineEntry>> {
        let size = size.clamp(1, 10_000);
        let (limit, offset) = (i64::from(size), i64::from(page) * i64::from(size));
        let (clause, args) = quarantine_where(q);
        self.read(|conn| {
            let params: Vec<Param<'_>> = args.iter().map(|a| (a as &(dyn ToSql + Sync), Type::TEXT)).collect();
            let total: i64 =
                conn.query_typed_one(&format!("SELECT COUNT(*) FROM quarantine {clause}"), &params)?.try_get(0)?;
            let sql = format!(
                "SELECT {QUARANTINE_COLUMNS} FROM quarantine {clause} ORDER BY id LIMIT ${} OFFSET ${}",
                args.len() + 1,
                args.len() + 2
            );
            let mut all = params.clone();
            all.extend([(&limit as &(dyn ToSql + Sync), Type::INT8), (&offset, Type::INT8)]);
            let items = conn.query_typed(&sql, &all)?.iter().map(quarantine_from_row).collect::<Result<_>>()?;
            Ok(Page { items, total: total as u64, page, page_size: size })
        })
    }

    fn quarantine_entry(&self, id: i64) -> Result<Option<QuarantineEntry>> {
        self.read(|conn| {
            let sql = format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE id = $1");
            conn.query_typed_opt(&sql, &[(&id, Type::INT8)])?.as_ref().map(quarantine_from_row).transpose()
        })
    }

    fn for_each_quarantined(&self, q: &QuarantineQuery, visit: &mut dyn FnMut(QuarantineEntry)) -> Result<()> {
        let (clause, args) = quarantine_where(q);
        self.read(|conn| {
            let sql = format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine {clause} ORDER BY id");
            let params: Vec<Param<'_>> = args.iter().map(|a| (a as &(dyn ToSql + Sync), Type::TEXT)).collect();
            stream(conn, &sql, params, |r| {
                visit(quarantine_from_row(&r)?);
                Ok(())
            })
        })
    }

    fn quarantine_by_keys(&self, keys: &[TriedKey]) -> Result<Vec<QuarantineEntry>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // Each key, and the near-miss watch of it.
        let spaces: Vec<String> = keys.iter().flat_map(|k| [k.space.code(), near_space(&k.space)]).collect();
        let names: Vec<&str> = keys.iter().flat_map(|k| [k.key.as_str(), k.key.as_str()]).collect();
        self.read(|conn| {
            // One statement for all the keys; the semi-join returns each record once, oldest first.
            let sql = format!(
                "SELECT {} FROM quarantine q WHERE (q.source, q.object, q.native_id) IN (
                    SELECT k.source, k.object, k.native_id FROM quarantine_keys k
                    JOIN UNNEST($1::text[], $2::text[]) AS t(space, key) ON k.space = t.space AND k.key = t.key
                 ) ORDER BY q.id",
                quarantine_columns_q()
            );
            let rows = conn.query_typed(&sql, &[(&spaces, Type::TEXT_ARRAY), (&names, Type::TEXT_ARRAY)])?;
            rows.iter().map(quarantine_from_row).collect()
        })
    }

    fn linked_by_keys(&self, keys: &[TriedKey]) -> Result<Vec<RecordKey>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let spaces: Vec<String> = keys.iter().map(|k| k.space.code()).collect();
        let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
        self.read(|conn| {
            let sql = "SELECT DISTINCT k.source, k.object, k.native_id FROM record_keys k
                       JOIN UNNEST($1::text[], $2::text[]) AS t(space, key) ON k.space = t.space AND k.key = t.key
                       ORDER BY 1, 2, 3";
            let rows = conn.query_typed(sql, &[(&spaces, Type::TEXT_ARRAY), (&names, Type::TEXT_ARRAY)])?;
            rows.iter()
                .map(|r| Ok(RecordKey { source: r.try_get(0)?, object: r.try_get(1)?, native_id: r.try_get(2)? }))
                .collect()
        })
    }

    fn linked_to_accounts(&self, kinds: &[ObjectKind], account_ids: &[String]) -> Result<Vec<(ObjectKind, RecordKey)>> {
        if account_ids.is_empty() {
            return Ok(Vec::new());
        }
        let kinds: std::collections::BTreeSet<ObjectKind> =
            kinds.iter().copied().filter(|k| !matches!(k, ObjectKind::Account | ObjectKind::Event)).collect();
        self.read(|conn| {
            let mut out = Vec::new();
            for kind in kinds {
                let sql = format!(
                    "SELECT source, object, native_id FROM {} WHERE account_id = ANY($1::text[]) AND NOT is_deleted
                     ORDER BY 1, 2, 3",
                    kind.table()
                );
                for r in conn.query_typed(&sql, &[(&account_ids, Type::TEXT_ARRAY)])? {
                    out.push((
                        kind,
                        RecordKey { source: r.try_get(0)?, object: r.try_get(1)?, native_id: r.try_get(2)? },
                    ));
                }
            }
            Ok(out)
        })
    }

    fn pass_state(&self, kind: ObjectKind, source: &str, object: &str, pass: &str) -> Result<PassState> {
        self.read(|conn| {
            // The "not reconciling" note is the row with an empty native id, which sorts first.
            let first = conn.query_typed_opt(
                "SELECT native_id FROM pass_seen WHERE source = $1 AND object = $2 AND pass = $3 ORDER BY native_id LIMIT 1",
                &[(&source, Type::TEXT), (&object, Type::TEXT), (&pass, Type::TEXT)],
            )?;
            if let Some(row) = first {
                let id: &str = row.try_get(0)?;
                return Ok(if id.is_empty() { PassState::NotReconciling } else { PassState::Marking });
            }
            let held = match kind {
                ObjectKind::Account => "SELECT 1 FROM accounts WHERE source = $1 AND object = $2".to_owned(),
                _ => format!("SELECT 1 FROM {} WHERE source = $1 AND object = $2", kind.table()),
            };
            let sql = format!(
                "SELECT EXISTS ({held}) OR EXISTS (SELECT 1 FROM quarantine WHERE source = $1 AND object = $2)"
            );
            let holds_records: bool =
                conn.query_typed_one(&sql, &[(&source, Type::TEXT), (&object, Type::TEXT)])?.try_get(0)?;
            Ok(PassState::New { holds_records })
        })
    }

    fn unseen_in_pass(&self, kind: ObjectKind, source: &str, object: &str, pass: &str) -> Result<Vec<String>> {
        let held = match kind {
            // Events are history, never a list the source still holds.
            ObjectKind::Event => return Ok(Vec::new()),
            ObjectKind::Account => {
                "SELECT native_id FROM accounts WHERE source = $1 AND object = $2 AND status <> 'deleted'".to_owned()
            }
            _ => format!("SELECT native_id FROM {} WHERE source = $1 AND object = $2 AND NOT is_deleted", kind.table()),
        };
        self.read(|conn| {
            let sql = format!(
                "SELECT native_id FROM ({held} UNION SELECT native_id FROM quarantine WHERE source = $1 AND object = $2) h
                 WHERE NOT EXISTS (SELECT 1 FROM pass_seen p
                                   WHERE p.source = $1 AND p.object = $2 AND p.pass = $3 AND p.native_id = h.native_id)
                 ORDER BY native_id"
            );
            let rows =
                conn.query_typed(&sql, &[(&source, Type::TEXT), (&object, Type::TEXT), (&pass, Type::TEXT)])?;
            rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
        })
    }

    fn index_log_since(&self, seq: i64, limit: u32) -> Result<IndexLog> {
        self.read(|conn| {
            let latest: i64 = conn.query_typed_one("SELECT COALESCE(MAX(seq), 0) FROM index_log", &[])?.try_get(0)?;
            let rows = conn.query_typed(
                "SELECT seq, entities FROM index_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[(&seq, Type::INT8), (&i64::from(limit), Type::INT8)],
            )?;
            let entries = rows
                .iter()
                .map(|r| Ok((r.try_get::<_, i64>(0)?, serde_json::from_str(r.try_get::<_, &str>(1)?)?)))
                .collect::<Result<Vec<_>>>()?;
            // Pruning keeps the last INDEX_LOG_KEEP entries, so a reader less far behind misses none.
            let complete = latest - seq < crate::INDEX_LOG_KEEP;
            Ok(IndexLog { entries, latest, complete })
        })
    }

    fn quarantined(&self, key: &RecordKey) -> Result<Option<QuarantineEntry>> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE source = $1 AND object = $2 AND native_id = $3"
            );
            conn.query_typed_opt(
                &sql,
                &[(&key.source, Type::TEXT), (&key.object, Type::TEXT), (&key.native_id, Type::TEXT)],
            )?
            .as_ref()
            .map(quarantine_from_row)
            .transpose()
        })
    }

    fn quarantine_key_count(&self, limit: u64) -> Result<u64> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            let sql = "SELECT COUNT(*) FROM (SELECT 1 FROM quarantine_keys LIMIT $1) k";
            count(&conn.query_typed_one(sql, &[(&limit, Type::INT8)])?, 0)
        })
    }

    fn for_each_quarantine_key(&self, visit: &mut dyn FnMut(TriedKey)) -> Result<()> {
        self.read(|conn| {
            let sql = "SELECT DISTINCT space, key FROM quarantine_keys WHERE space <> 'hint' AND space NOT LIKE 'near:%' ORDER BY space, key";
            stream(conn, sql, [], |r| {
                let space: &str = r.try_get(0)?;
                if let Some(space) = accord_core::KeySpace::from_code(space) {
                    visit(TriedKey { space, key: r.try_get(1)? });
                }
                Ok(())
            })
        })
    }

    fn quarantine_near(&self, account_id: &str) -> Result<Vec<QuarantineEntry>> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {} FROM quarantine q WHERE (q.source, q.object, q.native_id) IN (
                    SELECT k.source, k.object, k.native_id FROM quarantine_keys k
                    WHERE k.space IN ('account', 'hint') AND k.key = $1
                 ) ORDER BY q.id",
                quarantine_columns_q()
            );
            conn.query_typed(&sql, &[(&account_id, Type::TEXT)])?.iter().map(quarantine_from_row).collect()
        })
    }

    fn table_counts(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        self.read(|conn| {
            let mut out = std::collections::BTreeMap::new();
            for t in crate::TABLES {
                let n: i64 = conn.query_one(&format!("SELECT COUNT(*) FROM {t}"), &[])?.get(0);
                out.insert((*t).to_owned(), n as u64);
            }
            Ok(out)
        })
    }

    fn export_table(&self, table: &str, visit: &mut dyn FnMut(crate::ExportRow)) -> Result<()> {
        let table = crate::known_table(table)?;
        self.read(|conn| {
            stream(conn, &format!("SELECT row_to_json(t)::text FROM {table} t"), [], |r| {
                let text: &str = r.try_get(0)?;
                if let Value::Object(row) = serde_json::from_str(text)? {
                    visit(row);
                }
                Ok(())
            })
        })
    }

    fn import_rows(&self, table: &str, rows: &[crate::ExportRow]) -> Result<()> {
        let table = crate::known_table(table)?;
        if rows.is_empty() {
            return Ok(());
        }
        let json = Value::Array(rows.iter().cloned().map(Value::Object).collect()).to_string();
        self.write(|tx| {
            // Columns are matched by name, and values converted to the column types by PostgreSQL
            // (0/1 from SQLite become booleans).
            tx.execute(
                &format!("INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, $1::text::json)"),
                &[&json],
            )?;
            // Keep sequences ahead of the copied ids.
            let has_id = !tx
                .query(
                    "SELECT 1 FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'id'",
                    &[&table],
                )?
                .is_empty();
            if has_id {
                tx.query(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    ),
                    &[],
                )?;
            }
            Ok(())
        })
    }

    fn quarantine_summary(&self) -> Result<Vec<(String, String, String, u64)>> {
        self.read(|conn| {
            let rows = conn.query_typed(
                "SELECT source, object, reason, COUNT(*) FROM quarantine
                 GROUP BY source, object, reason ORDER BY source, object, reason",
                &[],
            )?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, count(r, 3)?))).collect()
        })
    }

    fn usage(&self, account_id: &str, from: i64, to: i64) -> Result<UsageSummary> {
        self.flush_own_usage()?;
        let span = Span::of(from, to);
        self.read(|conn| {
            let params = span_params(&account_id, &span);
            let mut out = UsageSummary::default();
            let r = conn.query_typed_one(
                &format!(
                    "SELECT COALESCE(SUM(events), 0)::int8, COALESCE(SUM(total), 0), COALESCE(SUM(time_spent), 0),
                            COALESCE(SUM(active_duration), 0)
                     FROM (SELECT events, total, time_spent, active_duration FROM {WHOLE_DAYS}
                           UNION ALL SELECT r.events, r.total, r.time_spent, r.active_duration FROM {EDGE_ROLLUPS}) u"
                ),
                &params,
            )?;
            (out.events, out.feature_total, out.time_spent, out.active_duration) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            out.active_users = count(
                &conn
                    .query_typed_one(&format!("SELECT COUNT(*) FROM ({DAILY_USERS} UNION {EDGE_USERS}) u"), &params)?,
                0,
            )?;
            out.sessions = count(
                &conn.query_typed_one(
                    "SELECT COUNT(*) FROM usage_session_starts
                     WHERE account_id = $1 AND first_hour >= $2 AND first_hour < $3",
                    &params[..3],
                )?,
                0,
            )?;
            let rows = conn.query_typed(
                &format!(
                    "SELECT product, module, feature, SUM(events)::int8, SUM(total), SUM(time_spent)
                     FROM (SELECT product, module, feature, events, total, time_spent FROM {WHOLE_DAYS}
                           UNION ALL SELECT r.product, r.module, r.feature, r.events, r.total, r.time_spent
                           FROM {EDGE_ROLLUPS}) u
                     GROUP BY product, module, feature
                     ORDER BY SUM(events) DESC, product, module, feature"
                ),
                &params,
            )?;
            for r in rows {
                out.features.push(FeatureUsage {
                    product: r.try_get(0)?,
                    module: r.try_get(1)?,
                    feature: r.try_get(2)?,
                    events: r.try_get(3)?,
                    total: r.try_get(4)?,
                    time_spent: r.try_get(5)?,
                });
            }
            let mut users_per_day = BTreeMap::new();
            for r in conn.query_typed(
                &format!(
                    "SELECT day, COUNT(*) FROM (
                         SELECT day, user_id FROM usage_daily_users WHERE account_id = $1 AND day >= $4 AND day < $5
                         UNION SELECT {DAY_OF_BUCKET}, r.user_id FROM {EDGE_ROLLUPS} WHERE r.user_id <> '') u
                     GROUP BY day"
                ),
                &params,
            )? {
                users_per_day.insert(r.try_get::<_, i64>(0)?, count(&r, 1)?);
            }
            let rows = conn.query_typed(
                &format!(
                    "SELECT day, SUM(events)::int8 FROM (
                         SELECT day, events FROM {WHOLE_DAYS}
                         UNION ALL SELECT {DAY_OF_BUCKET}, r.events FROM {EDGE_ROLLUPS}) u
                     GROUP BY day ORDER BY day"
                ),
                &params,
            )?;
            for r in rows {
                let day = r.try_get(0)?;
                let active_users = users_per_day.get(&day).copied().unwrap_or(0);
                out.days.push(DayUsage { day, events: r.try_get(1)?, active_users });
            }
            Ok(out)
        })
    }

    fn active_users(&self, account_id: &str, from_ms: i64, to_ms: i64) -> Result<u64> {
        self.flush_own_usage()?;
        let span = Span::of(from_ms, to_ms);
        self.read(|conn| {
            let sql = format!("SELECT COUNT(*) FROM ({DAILY_USERS} UNION {EDGE_USERS}) u");
            count(&conn.query_typed_one(&sql, &span_params(&account_id, &span))?, 0)
        })
    }

    fn prune_events(&self, before_ms: i64) -> Result<u64> {
        self.read(|conn| {
            // Events whose usage is still in the backlog stay until it is rolled up.
            Ok(conn.execute_typed(
                "DELETE FROM events WHERE created_at < $1
                 AND (backlog IS NULL OR backlog NOT IN (SELECT seq FROM usage_backlog))",
                &[(&before_ms, Type::INT8)],
            )?)
        })
    }

    fn metrics(&self, q: &MetricQuery, page: u32, size: u32) -> Result<Page<MetricRow>> {
        let size = size.clamp(1, 10_000);
        let (limit, offset) = (i64::from(size), i64::from(page) * i64::from(size));
        let mut clauses = Vec::new();
        let mut args: Vec<Param<'_>> = Vec::new();
        for (col, v) in [("account_id", &q.account_id), ("name", &q.name)] {
            if let Some(v) = v {
                args.push((v, Type::TEXT));
                clauses.push(format!("{col} = ${}", args.len()));
            }
        }
        let clause = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
        let order = sql::metric_order(q, true)?;
        self.read(|conn| {
            let total: i64 =
                conn.query_typed_one(&format!("SELECT COUNT(*) FROM account_metrics {clause}"), &args)?.try_get(0)?;
            let sql = format!(
                "SELECT account_id, name, day, value FROM account_metrics {clause}
                 ORDER BY {order} LIMIT ${} OFFSET ${}",
                args.len() + 1,
                args.len() + 2
            );
            let mut all = args.clone();
            all.extend([(&limit as &(dyn ToSql + Sync), Type::INT8), (&offset, Type::INT8)]);
            let items = conn
                .query_typed(&sql, &all)?
                .iter()
                .map(|r| {
                    Ok(MetricRow {
                        account_id: account_id(r, 0)?,
                        name: r.try_get(1)?,
                        day: time(r.try_get(2)?),
                        value: r.try_get(3)?,
                    })
                })
                .collect::<Result<_>>()?;
            Ok(Page { items, total: total as u64, page, page_size: size })
        })
    }

    fn account_entries(&self, account_ids: &[String]) -> Result<Vec<AccountEntry>> {
        if account_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn| {
            conn.query_typed(
                "SELECT account_id, field, entry_key, entry FROM account_entries
                 WHERE account_id = ANY($1) ORDER BY account_id, field, entry_key",
                &[(&account_ids, Type::TEXT_ARRAY)],
            )?
            .iter()
            .map(|r| {
                let entry: String = r.try_get(3)?;
                Ok(AccountEntry {
                    account_id: r.try_get(0)?,
                    field: r.try_get(1)?,
                    entry_key: r.try_get(2)?,
                    entry: serde_json::from_str(&entry)?,
                })
            })
            .collect()
        })
    }

    fn put_account_entries(&self, entries: &[AccountEntry]) -> Result<()> {
        self.apply(&WriteBatch { account_entries: entries.to_vec(), ..Default::default() }).map(|_| ())
    }

    fn delete_account_entry(&self, account_id: &str, field: &str, entry_key: &str) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute_typed(
                "DELETE FROM account_entries WHERE account_id = $1 AND field = $2 AND entry_key = $3",
                &[(&account_id, Type::TEXT), (&field, Type::TEXT), (&entry_key, Type::TEXT)],
            )? > 0)
        })
    }

    fn metric_definition(&self, name: &str) -> Result<Option<MetricDefinition>> {
        self.read(|conn| {
            let row = conn.query_typed_opt(
                "SELECT name, definition, updated_at FROM metric_definitions WHERE name = $1",
                &[(&name, Type::TEXT)],
            )?;
            row.map(|r| {
                let definition: String = r.try_get(1)?;
                Ok(MetricDefinition {
                    name: r.try_get(0)?,
                    definition: serde_json::from_str(&definition)?,
                    updated_at: time(r.try_get(2)?),
                })
            })
            .transpose()
        })
    }

    fn put_metric_definition(&self, def: &MetricDefinition) -> Result<()> {
        let (definition, at) = (def.definition.to_string(), def.updated_at.timestamp_millis());
        self.write(|tx| {
            tx.execute_typed(
                "INSERT INTO metric_definitions (name, definition, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at",
                &[(&def.name, Type::TEXT), (&definition, Type::TEXT), (&at, Type::INT8)],
            )?;
            Ok(())
        })
    }

    fn delete_metric(&self, name: &str) -> Result<bool> {
        self.write(|tx| {
            let defs = tx.execute_typed("DELETE FROM metric_definitions WHERE name = $1", &[(&name, Type::TEXT)])?;
            let values = tx.execute_typed("DELETE FROM account_metrics WHERE name = $1", &[(&name, Type::TEXT)])?;
            Ok(defs + values > 0)
        })
    }

    fn web_users(&self) -> Result<Vec<crate::WebUser>> {
        self.web_users_impl()
    }

    fn web_user(&self, name: &str) -> Result<Option<crate::WebUser>> {
        self.web_user_impl(name)
    }

    fn web_put_user(&self, user: &crate::WebUser) -> Result<bool> {
        self.web_put_user_impl(user)
    }

    fn web_remove_user(&self, name: &str) -> Result<bool> {
        self.web_remove_user_impl(name)
    }

    fn web_put_session(&self, session: &crate::WebSession) -> Result<()> {
        self.web_put_session_impl(session)
    }

    fn web_session(&self, token_hash: &str, now_ms: i64) -> Result<Option<crate::WebSession>> {
        self.web_session_impl(token_hash, now_ms)
    }

    fn web_remove_session(&self, token_hash: &str) -> Result<()> {
        self.web_remove_session_impl(token_hash)
    }

    fn web_remove_sessions_of(&self, user_name: &str) -> Result<u64> {
        self.web_remove_sessions_of_impl(user_name)
    }

    fn web_signin_failed(&self, user_name: &str, at_ms: i64, forget_before_ms: i64) -> Result<()> {
        self.web_signin_failed_impl(user_name, at_ms, forget_before_ms)
    }

    fn web_signin_failures(&self, user_name: &str, since_ms: i64) -> Result<Vec<i64>> {
        self.web_signin_failures_impl(user_name, since_ms)
    }

    fn web_clear_signin_failures(&self, user_name: &str) -> Result<()> {
        self.web_clear_signin_failures_impl(user_name)
    }

    fn remember_delivery(&self, source: &str, delivery: &str, at_ms: i64, forget_before_ms: i64) -> Result<bool> {
        self.remember_delivery_impl(source, delivery, at_ms, forget_before_ms)
    }

    fn propagation_begin(&self, entry: &crate::PropagationEntry) -> Result<i64> {
        self.propagation_begin_impl(entry)
    }

    fn propagation_finish(&self, id: i64, status: &str, answer: Option<&str>, at_ms: i64) -> Result<()> {
        self.propagation_finish_impl(id, status, answer, at_ms)
    }

    fn propagation_interrupted(&self) -> Result<u64> {
        self.propagation_interrupted_impl()
    }

    fn propagation_history(&self, limit: u32) -> Result<Vec<crate::PropagationEntry>> {
        self.propagation_history_impl(limit)
    }

    fn web_accounts(&self, search: &crate::AccountSearch) -> Result<Page<AccountRow>> {
        self.web_accounts_impl(search)
    }

    fn web_account_summaries(&self, account_ids: &[String], since_ms: i64) -> Result<Vec<crate::AccountSummary>> {
        self.web_account_summaries_impl(account_ids, since_ms)
    }

    fn web_daily_users(&self, account_id: &str, from_ms: i64, to_ms: i64) -> Result<Vec<(i64, String)>> {
        self.web_daily_users_impl(account_id, from_ms, to_ms)
    }
}

/// Runs a query and hands each row to `each` as it arrives: the client reads the server's
/// result as the rows are consumed, so a large table streams in constant memory.
fn stream<'p>(
    conn: &mut Client,
    sql: &str,
    params: impl IntoIterator<Item = Param<'p>>,
    mut each: impl FnMut(::postgres::Row) -> Result<()>,
) -> Result<()> {
    let mut rows = conn.query_typed_raw(sql, params)?;
    while let Some(r) = rows.next()? {
        each(r)?;
    }
    Ok(())
}

fn key_params(key: &RecordKey) -> [Param<'_>; 3] {
    [(&key.source, Type::TEXT), (&key.object, Type::TEXT), (&key.native_id, Type::TEXT)]
}

/// The edge hours of a [`Span`] (bound by [`span_params`]): `[first_hour, first_day)` and
/// `[end_day, end_hour)`, as `b(x)`. Rollups are keyed by time first, so reading one account's
/// edges is one index seek per hour.
macro_rules! edge_hours {
    () => {
        "(SELECT x FROM generate_series($2::int8, $4::int8 - 1, 3600000) AS f(x)
          UNION ALL SELECT x FROM generate_series($5::int8, $3::int8 - 1, 3600000) AS l(x)) AS b(x)"
    };
}
pub(super) use edge_hours;
/// The hourly rollup rows of the edge hours, as `r`.
pub(super) const EDGE_ROLLUPS: &str =
    concat!(edge_hours!(), " JOIN usage_rollups r ON r.grain = 'hour' AND r.bucket = b.x AND r.account_id = $1");
/// The daily rows of the whole days.
const WHOLE_DAYS: &str = "usage_daily WHERE account_id = $1 AND day >= $4 AND day < $5";
/// The users of the whole days and of the edge hours.
const DAILY_USERS: &str = "SELECT user_id FROM usage_daily_users WHERE account_id = $1 AND day >= $4 AND day < $5";
const EDGE_USERS: &str = concat!(
    "SELECT r.user_id FROM ",
    edge_hours!(),
    " JOIN usage_rollups r ON r.grain = 'hour' AND r.bucket = b.x AND r.account_id = $1 WHERE r.user_id <> ''"
);
/// The UTC day of an hourly bucket `b.x` (non-negative modulo: days before 1970 start at midnight too).
pub(super) const DAY_OF_BUCKET: &str = "b.x - ((b.x % 86400000) + 86400000) % 86400000";

/// The parameters of the span queries: `$1` the account, `$2`..`$5` the span's first hour, end
/// hour, first whole day and end of the whole days.
pub(super) fn span_params<'a>(account_id: &'a &'a str, s: &'a Span) -> [Param<'a>; 5] {
    [
        (account_id, Type::TEXT),
        (&s.first_hour, Type::INT8),
        (&s.end_hour, Type::INT8),
        (&s.first_day, Type::INT8),
        (&s.end_day, Type::INT8),
    ]
}

fn status_codes(statuses: &[AccountStatus]) -> Vec<&'static str> {
    if statuses.is_empty() { vec!["active"] } else { statuses.iter().map(|s| s.code()).collect() }
}

fn quarantine_where(q: &QuarantineQuery) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    for (col, v) in [("source", &q.source), ("object", &q.object)] {
        if let Some(v) = v {
            args.push(v.clone());
            clauses.push(format!("{col} = ${}", args.len()));
        }
    }
    if let Some(r) = q.reason {
        args.push(r.code().to_owned());
        clauses.push(format!("reason = ${}", args.len()));
    }
    let clause = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    (clause, args)
}

/// `c = excluded.c` for every column but the key and `first_seen` (which keeps its first value).
fn update_set(cols: &[&str], keep: &[&str]) -> String {
    cols.iter()
        .filter(|c| !keep.contains(c) && **c != "first_seen")
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies a batch with the SQLite backend's semantics, step for step (see `sqlite::apply_batch`).
/// Each step is one bulk statement. Rows with the same key in one batch are merged first, as the
/// sequence of row-by-row upserts SQLite runs would leave them, because one `INSERT ... ON
/// CONFLICT DO UPDATE` cannot touch a row twice.
/// The advisory lock that orders index-changing writers: it makes the index log's sequence
/// order its commit order, and the `expect_log_seq` check exact.
const INDEX_LOCK: i64 = 0x6163_636f_7264; // "accord"

/// A backlog entry a transaction wrote, the usage of its new events, and how many they are.
type FreshUsage = (i64, UsageDelta, u64);

fn apply_batch(tx: &mut Transaction<'_>, batch: &WriteBatch, fresh: &mut Vec<FreshUsage>) -> Result<ApplyOutcome> {
    let now = now_ms();
    let mut outcome = ApplyOutcome::default();
    let entities = &batch.index_entities;
    if !entities.is_empty() || batch.expect_log_seq.is_some() {
        tx.execute_typed("SELECT pg_advisory_xact_lock($1)", &[(&INDEX_LOCK, Type::INT8)])?;
    }
    if let Some(expected) = batch.expect_log_seq {
        let latest: i64 = tx.query_typed_one("SELECT COALESCE(MAX(seq), 0) FROM index_log", &[])?.try_get(0)?;
        if latest > expected {
            return Err(StoreError::Stale { latest });
        }
    }
    if !batch.accounts.is_empty() {
        upsert_accounts(tx, &batch.accounts)?;
        // The SOR record that created the account is no longer a rejection.
        release(tx, batch.accounts.iter().map(|a| &a.origin), Release::Always)?;
    }
    upsert_account_entries(tx, &batch.account_entries)?;
    if !batch.account_status.is_empty() {
        let mut last: BTreeMap<&str, &str> = BTreeMap::new();
        for (id, status) in &batch.account_status {
            last.insert(id.as_str(), status.code());
        }
        let mut c = Columns::of(&[ColumnType::Text; 2], last.len());
        for (id, status) in last {
            c.cols[0].text(id);
            c.cols[1].text(status);
        }
        tx.execute_typed(
            &format!(
                "UPDATE accounts SET status = u.status FROM {} AS u(account_id, status)
                 WHERE accounts.account_id = u.account_id",
                c.unnest(1)
            ),
            &c.params(),
        )?;
    }
    let mut by_kind: BTreeMap<ObjectKind, Vec<&RecordRow>> = BTreeMap::new();
    for rec in &batch.records {
        by_kind.entry(rec.kind).or_default().push(rec);
    }
    for (kind, recs) in by_kind {
        if kind == ObjectKind::Event {
            insert_events(tx, &recs, &mut outcome, fresh)?;
        } else {
            upsert_records(tx, kind, &recs)?;
        }
    }
    if !batch.records.is_empty() {
        let mut seen = HashSet::new();
        let keys = batch.records.iter().map(|r| &r.key).filter(|k| seen.insert(*k));
        release(tx, keys, Release::IfQuarantined)?;
    }
    if !batch.metrics.is_empty() {
        let mut last: BTreeMap<(&str, &str, i64), f64> = BTreeMap::new();
        for m in &batch.metrics {
            last.insert((m.account_id.as_str(), &m.name, m.day.timestamp_millis()), m.value);
        }
        use ColumnType::*;
        let mut c = Columns::of(&[Text, Text, BigInt, Double], last.len());
        for ((account, name, day), value) in last {
            c.cols[0].text(account);
            c.cols[1].text(name);
            c.cols[2].int(day);
            c.cols[3].double(value);
        }
        let n = c.cols.len();
        let mut params = c.params();
        params.push((&now, Type::INT8));
        tx.execute_typed(
            &format!(
                "INSERT INTO account_metrics (account_id, name, day, value, updated_at)
                 SELECT u.*, ${} FROM {} AS u
                 ON CONFLICT (account_id, name, day) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                n + 1,
                c.unnest(1)
            ),
            &params,
        )?;
    }
    upsert_quarantine(tx, &batch.quarantine)?;
    if !batch.tombstones.is_empty() {
        let mut by_kind: BTreeMap<ObjectKind, Vec<&RecordKey>> = BTreeMap::new();
        for (kind, key) in batch.tombstones.iter().filter(|(k, _)| *k != ObjectKind::Account) {
            by_kind.entry(*kind).or_default().push(key);
        }
        for (kind, mut keys) in by_kind {
            keys.sort();
            let c = key_arrays(keys);
            let mut params = c.params();
            params.push((&now, Type::INT8));
            tx.execute_typed(
                &format!(
                    "UPDATE {t} SET is_deleted = TRUE, last_seen = $4 FROM {} AS k(source, object, native_id)
                     WHERE {t}.source = k.source AND {t}.object = k.object AND {t}.native_id = k.native_id",
                    c.unnest(1),
                    t = kind.table()
                ),
                &params,
            )?;
        }
        release(tx, batch.tombstones.iter().map(|(_, k)| k), Release::Always)?;
    }
    write_record_keys(tx, batch)?;
    if !batch.domains.is_empty() {
        let mut last: BTreeMap<(&str, &str), &str> = BTreeMap::new();
        for d in &batch.domains {
            last.insert((d.account_id.as_str(), &d.domain), &d.origin);
        }
        let mut c = Columns::of(&[ColumnType::Text; 3], last.len());
        for ((account, domain), origin) in last {
            c.cols[0].text(account);
            c.cols[1].text(domain);
            c.cols[2].text(origin);
        }
        tx.execute_typed(
            &format!(
                "INSERT INTO domain_map (account_id, domain, origin) SELECT * FROM {}
                 ON CONFLICT (account_id, domain) DO UPDATE SET origin = excluded.origin",
                c.unnest(1)
            ),
            &c.params(),
        )?;
    }
    // In order: an add and a remove of one account in one batch end as the last one says.
    for change in &batch.delete_list {
        match change {
            DeleteListChange::Add { account_id, reason } => {
                tx.execute_typed(
                    "INSERT INTO deleted_accounts (account_id, deleted_at, reason) VALUES ($1, $2, $3)
                     ON CONFLICT (account_id) DO UPDATE SET reason = excluded.reason",
                    &[(&account_id.as_str(), Type::TEXT), (&now, Type::INT8), (reason, Type::TEXT)],
                )?;
            }
            DeleteListChange::Remove { account_id } => {
                tx.execute_typed(
                    "DELETE FROM deleted_accounts WHERE account_id = $1",
                    &[(&account_id.as_str(), Type::TEXT)],
                )?;
            }
        }
    }
    if !batch.pending_keys.is_empty() {
        let codes: std::collections::BTreeSet<(String, &str)> =
            batch.pending_keys.iter().map(|k| (k.space.code(), k.key.as_str())).collect();
        let mut c = Columns::of(&[ColumnType::Text; 2], codes.len());
        for (space, key) in &codes {
            c.cols[0].text(space);
            c.cols[1].text(key);
        }
        let version = crate::next_key_version();
        let mut params = c.params();
        params.push((&version, Type::INT8));
        tx.execute_typed(
            &format!(
                "INSERT INTO pending_keys (space, key, version) SELECT u.space, u.key, $3 FROM {} AS u(space, key)
                 WHERE u.space = 'account_state'
                    OR EXISTS (SELECT 1 FROM quarantine_keys q WHERE q.space IN (u.space, 'near:' || u.space) AND q.key = u.key)
                    OR EXISTS (SELECT 1 FROM record_keys r WHERE r.space = u.space AND r.key = u.key)
                 ON CONFLICT (space, key) DO UPDATE SET version = excluded.version",
                c.unnest(1)
            ),
            &params,
        )?;
    }
    if !batch.settled_keys.is_empty() {
        let codes: Vec<(String, &str, i64)> =
            batch.settled_keys.iter().map(|p| (p.key.space.code(), p.key.key.as_str(), p.version)).collect();
        let mut c = Columns::of(&[ColumnType::Text, ColumnType::Text, ColumnType::BigInt], codes.len());
        for (space, key, version) in &codes {
            c.cols[0].text(space);
            c.cols[1].text(key);
            c.cols[2].int(*version);
        }
        tx.execute_typed(
            &format!(
                "DELETE FROM pending_keys p USING {} AS u(space, key, version)
                 WHERE p.space = u.space AND p.key = u.key AND p.version = u.version",
                c.unnest(1)
            ),
            &c.params(),
        )?;
    }
    if let Some(seen) = &batch.seen_in_pass {
        write_pass_seen(tx, seen)?;
    }
    if let Some(cp) = &batch.checkpoint {
        tx.execute_typed(
            "INSERT INTO checkpoints (source, stream, cursor, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (source, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            &[
                (&cp.source, Type::TEXT),
                (&cp.stream, Type::TEXT),
                (&cp.cursor.to_string(), Type::TEXT),
                (&now, Type::INT8),
            ],
        )?;
    }
    if !entities.is_empty() {
        let text = serde_json::to_string(&entities)?;
        let seq: i64 = tx
            .query_typed_one("INSERT INTO index_log (entities) VALUES ($1) RETURNING seq", &[(&text, Type::TEXT)])?
            .try_get(0)?;
        outcome.log_seq = Some(seq);
        if seq % 1_000 == 0 {
            tx.execute_typed("DELETE FROM index_log WHERE seq <= $1", &[(&(seq - crate::INDEX_LOG_KEEP), Type::INT8)])?;
        }
    }
    if let Some((run_id, counts)) = &batch.run {
        add_run_counts(tx, *run_id, counts)?;
    }
    Ok(outcome)
}

/// Replaces the dependency keys of the batch's records: linked records get theirs, records that
/// were rejected or deleted lose them (records come first, then the quarantine, then tombstones).
fn write_record_keys(tx: &mut Transaction<'_>, batch: &WriteBatch) -> Result<()> {
    let gone: HashSet<&RecordKey> = batch
        .quarantine
        .iter()
        .filter(|q| q.kind != ObjectKind::Account)
        .map(|q| &q.key)
        .chain(batch.tombstones.iter().filter(|(k, _)| *k != ObjectKind::Account).map(|(_, k)| k))
        .collect();
    let live: Vec<&RecordRow> =
        batch.records.iter().filter(|r| r.kind != ObjectKind::Event && !gone.contains(&r.key)).collect();
    let mut touched: Vec<&RecordKey> = live.iter().map(|r| &r.key).chain(gone.iter().copied()).collect();
    if touched.is_empty() {
        return Ok(());
    }
    touched.sort();
    touched.dedup();
    let c = key_arrays(touched);
    tx.execute_typed(
        &format!(
            "DELETE FROM record_keys rk USING {} AS k(source, object, native_id)
             WHERE rk.source = k.source AND rk.object = k.object AND rk.native_id = k.native_id",
            c.unnest(1)
        ),
        &c.params(),
    )?;
    let mut rows: std::collections::BTreeSet<(String, &str, &RecordKey)> = std::collections::BTreeSet::new();
    for r in &live {
        for k in &r.depends_on {
            rows.insert((k.space.code(), k.key.as_str(), &r.key));
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    insert_key_rows(tx, "record_keys", rows.iter().map(|(space, key, record)| (space.as_str(), *key, *record)))
}

/// Inserts (space, key, record) rows into a key index table (`record_keys`, `quarantine_keys`).
fn insert_key_rows<'a>(
    tx: &mut Transaction<'_>,
    table: &str,
    rows: impl ExactSizeIterator<Item = (&'a str, &'a str, &'a RecordKey)>,
) -> Result<()> {
    let mut c = Columns::of(&[ColumnType::Text; 5], rows.len());
    for (space, key, record) in rows {
        c.cols[0].text(space);
        c.cols[1].text(key);
        c.cols[2].text(&record.source);
        c.cols[3].text(&record.object);
        c.cols[4].text(&record.native_id);
    }
    tx.execute_typed(
        &format!(
            "INSERT INTO {table} (space, key, source, object, native_id) SELECT * FROM {} ON CONFLICT DO NOTHING",
            c.unnest(1)
        ),
        &c.params(),
    )?;
    Ok(())
}

/// Marks what a page of a full pass returned; a completed pass clears the object's marks.
fn write_pass_seen(tx: &mut Transaction<'_>, seen: &SeenInPass) -> Result<()> {
    if seen.complete {
        tx.execute_typed(
            "DELETE FROM pass_seen WHERE source = $1 AND object = $2",
            &[(&seen.source, Type::TEXT), (&seen.object, Type::TEXT)],
        )?;
        return Ok(());
    }
    let ids: std::collections::BTreeSet<&str> = if seen.reconcile {
        seen.native_ids.iter().map(String::as_str).collect()
    } else {
        std::iter::once("").collect()
    };
    if ids.is_empty() {
        return Ok(());
    }
    let mut c = Columns::of(&[ColumnType::Text], ids.len());
    for id in ids {
        c.cols[0].text(id);
    }
    let mut params = c.params();
    params.push((&seen.source, Type::TEXT));
    params.push((&seen.object, Type::TEXT));
    params.push((&seen.pass, Type::TEXT));
    tx.execute_typed(
        &format!(
            "INSERT INTO pass_seen (source, object, pass, native_id) SELECT $2, $3, $4, u.native_id FROM {} AS u(native_id)
             ON CONFLICT DO NOTHING",
            c.unnest(1)
        ),
        &params,
    )?;
    Ok(())
}

fn upsert_account_entries(tx: &mut Transaction<'_>, entries: &[AccountEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    // In key order, so concurrent writers lock shared rows in the same order; the last
    // occurrence of a key within the batch wins, as it would one statement at a time.
    let mut sorted: BTreeMap<(&str, &str, &str), String> = BTreeMap::new();
    for e in entries {
        sorted.insert((&e.account_id, &e.field, &e.entry_key), e.entry.to_string());
    }
    let (mut ids, mut fields, mut keys, mut values) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((a, f, k), v) in sorted {
        ids.push(a);
        fields.push(f);
        keys.push(k);
        values.push(v);
    }
    let now = now_ms();
    tx.execute_typed(
        "INSERT INTO account_entries (account_id, field, entry_key, entry, updated_at)
         SELECT a, f, k, e, $5 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS t (a, f, k, e)
         ON CONFLICT (account_id, field, entry_key) DO UPDATE SET
            entry = excluded.entry, updated_at = excluded.updated_at",
        &[
            (&ids, Type::TEXT_ARRAY),
            (&fields, Type::TEXT_ARRAY),
            (&keys, Type::TEXT_ARRAY),
            (&values, Type::TEXT_ARRAY),
            (&now, Type::INT8),
        ],
    )?;
    Ok(())
}

fn upsert_accounts(tx: &mut Transaction<'_>, accounts: &[AccountRow]) -> Result<()> {
    // Last values win, first_seen is the first sighting's: what row-by-row upserts would leave.
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut writes: Vec<AccountWrite<'_>> = Vec::with_capacity(accounts.len());
    for a in accounts {
        match at.get(a.account_id.as_str()) {
            Some(&i) => {
                writes[i].account = a;
                writes[i].attributes = a.attributes.to_string();
            }
            None => {
                at.insert(a.account_id.as_str(), writes.len());
                writes.push(AccountWrite {
                    account: a,
                    attributes: a.attributes.to_string(),
                    first_seen: a.first_seen.timestamp_millis(),
                });
            }
        }
    }
    writes.sort_by(|a, b| a.account.account_id.as_str().cmp(b.account.account_id.as_str()));
    let c = account_arrays(&writes)?;
    let cols = sql::account_columns();
    tx.execute_typed(
        &format!(
            "INSERT INTO accounts ({}) SELECT * FROM {} ON CONFLICT (account_id) DO UPDATE SET {}",
            cols.join(", "),
            c.unnest(1),
            update_set(&cols, &["account_id"])
        ),
        &c.params(),
    )?;
    Ok(())
}

fn upsert_records(tx: &mut Transaction<'_>, kind: ObjectKind, recs: &[&RecordRow]) -> Result<()> {
    let mut at: HashMap<&RecordKey, usize> = HashMap::new();
    let mut writes: Vec<RecordWrite<'_>> = Vec::with_capacity(recs.len());
    for r in recs.iter().copied() {
        match at.get(&r.key) {
            Some(&i) => {
                writes[i].rec = r;
                writes[i].payload = r.payload_text()?.into_owned();
            }
            None => {
                at.insert(&r.key, writes.len());
                writes.push(RecordWrite {
                    rec: r,
                    payload: r.payload_text()?.into_owned(),
                    first_seen: r.first_seen.timestamp_millis(),
                });
            }
        }
    }
    writes.sort_by(|a, b| a.rec.key.cmp(&b.rec.key));
    let c = record_arrays(kind, &writes)?;
    let cols = sql::record_columns(kind);
    tx.execute_typed(
        &format!(
            "INSERT INTO {} ({}) SELECT * FROM {} ON CONFLICT (source, object, native_id) DO UPDATE SET {}",
            kind.table(),
            cols.join(", "),
            c.unnest(1),
            update_set(&cols, &["source", "object", "native_id"])
        ),
        &c.params(),
    )?;
    Ok(())
}

/// Events are immutable by identity: a second delivery changes nothing and counts nothing. Only the
/// rows the insert reports back are new; their usage is pending until the rollups are written. A
/// concurrent transaction inserting the same event makes this insert wait for it, then skip the row
/// if it committed. Each (source, object) gets a backlog entry naming the range of ids stored, so
/// their usage is recoverable until its rollups are written.
fn insert_events(
    tx: &mut Transaction<'_>,
    recs: &[&RecordRow],
    outcome: &mut ApplyOutcome,
    fresh: &mut Vec<FreshUsage>,
) -> Result<()> {
    let mut by_pair: BTreeMap<(&str, &str), Vec<RecordWrite<'_>>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for r in recs.iter().copied() {
        // The first delivery in the batch is the one stored; later ones are duplicates.
        if seen.insert(&r.key) {
            by_pair.entry((r.key.source.as_str(), r.key.object.as_str())).or_default().push(RecordWrite {
                rec: r,
                payload: r.payload_text()?.into_owned(),
                first_seen: r.first_seen.timestamp_millis(),
            });
        } else {
            outcome.duplicate_events += 1;
        }
    }
    let now = now_ms();
    for ((source, object), mut writes) in by_pair {
        let seq: i64 = tx
            .query_typed_one(
                "INSERT INTO usage_backlog (source, object, first_id, last_id, written_at) VALUES ($1, $2, '', '', $3)
                 RETURNING seq",
                &[(&source, Type::TEXT), (&object, Type::TEXT), (&now, Type::INT8)],
            )?
            .try_get(0)?;
        writes.sort_by(|a, b| a.rec.key.cmp(&b.rec.key));
        let mut c = record_arrays(ObjectKind::Event, &writes)?;
        let mut backlog = Column::new(ColumnType::BigInt, writes.len());
        for _ in &writes {
            backlog.int(seq);
        }
        c.cols.push(backlog);
        let mut cols = sql::record_columns(ObjectKind::Event);
        cols.push("backlog");
        let rows = tx.query_typed(
            &format!(
                "INSERT INTO events ({}) SELECT * FROM {} ON CONFLICT (source, object, native_id) DO NOTHING
                 RETURNING native_id",
                cols.join(", "),
                c.unnest(1)
            ),
            &c.params(),
        )?;
        let mut new: HashSet<&str> = HashSet::with_capacity(rows.len());
        for r in &rows {
            new.insert(r.try_get(0)?);
        }
        let mut delta = UsageDelta::default();
        let mut range: Option<(&str, &str)> = None;
        for w in &writes {
            let id = w.rec.key.native_id.as_str();
            if new.contains(id) {
                delta.add(w.rec);
                range = Some(range.map_or((id, id), |(lo, hi)| (lo.min(id), hi.max(id))));
            } else {
                outcome.duplicate_events += 1;
            }
        }
        let stored = new.len() as u64;
        outcome.new_events += stored;
        match range {
            Some((first, last)) => {
                tx.execute_typed(
                    "UPDATE usage_backlog SET first_id = $2, last_id = $3 WHERE seq = $1",
                    &[(&seq, Type::INT8), (&first, Type::TEXT), (&last, Type::TEXT)],
                )?;
                fresh.push((seq, delta, stored));
            }
            None => {
                tx.execute_typed("DELETE FROM usage_backlog WHERE seq = $1", &[(&seq, Type::INT8)])?;
            }
        }
    }
    Ok(())
}

/// Writes, in `tx`, the rollups of the backlog entries this process holds (each unless another
/// process rolled it up already: deleting the entry is the claim) and of entries a stopped process
/// left, recomputed from their events.
fn write_pending_usage(tx: &mut Transaction<'_>, entries: Vec<(i64, UsageDelta)>) -> Result<()> {
    let mut total = UsageDelta::default();
    for (seq, delta) in entries {
        if tx.execute_typed("DELETE FROM usage_backlog WHERE seq = $1", &[(&seq, Type::INT8)])? == 1 {
            total.merge(delta);
        }
    }
    let before = now_ms() - crate::usage::ORPHAN_AFTER_MS;
    let orphans = tx.query_typed(
        "DELETE FROM usage_backlog WHERE written_at < $1 RETURNING seq, source, object, first_id, last_id",
        &[(&before, Type::INT8)],
    )?;
    for o in &orphans {
        let (seq, source, object, first, last): (i64, &str, &str, &str, &str) =
            (o.try_get(0)?, o.try_get(1)?, o.try_get(2)?, o.try_get(3)?, o.try_get(4)?);
        let rows = tx.query_typed(
            &format!(
                "{} WHERE source = $1 AND object = $2 AND native_id BETWEEN $3 AND $4 AND backlog = $5",
                sql::select_record(ObjectKind::Event)
            ),
            &[
                (&source, Type::TEXT),
                (&object, Type::TEXT),
                (&first, Type::TEXT),
                (&last, Type::TEXT),
                (&seq, Type::INT8),
            ],
        )?;
        for r in &rows {
            total.add(&record_from_row(ObjectKind::Event, r)?);
        }
        tracing::info!(
            seq,
            events = rows.len(),
            source,
            object,
            "rolled up the usage of events a stopped process stored"
        );
    }
    apply_usage(tx, &total)
}

fn apply_usage(tx: &mut Transaction<'_>, usage: &UsageDelta) -> Result<()> {
    use ColumnType::*;
    if !usage.rollups.is_empty() {
        // BTreeMap order: two batches touching the same rollup rows lock them in the same order.
        let mut c = Columns::of(&[Text, BigInt, Text, Text, Text, Text, Text, BigInt, Double, Double, Double], 0);
        for (k, v) in &usage.rollups {
            let cols = &mut c.cols;
            cols[0].text(k.grain.code());
            cols[1].int(k.bucket);
            cols[2].text(&k.account_id);
            cols[3].text(&k.user_id);
            cols[4].text(&k.product);
            cols[5].text(&k.module);
            cols[6].text(&k.feature);
            cols[7].int(v.events);
            cols[8].double(v.total);
            cols[9].double(v.time_spent);
            cols[10].double(v.active_duration);
        }
        tx.execute_typed(
            &format!(
                "INSERT INTO usage_rollups (grain, bucket, account_id, user_id, product, module, feature,
                                            events, total, time_spent, active_duration)
                 SELECT * FROM {}
                 ON CONFLICT (grain, bucket, account_id, user_id, product, module, feature) DO UPDATE SET
                    events = usage_rollups.events + excluded.events, total = usage_rollups.total + excluded.total,
                    time_spent = usage_rollups.time_spent + excluded.time_spent,
                    active_duration = usage_rollups.active_duration + excluded.active_duration",
                c.unnest(1)
            ),
            &c.params(),
        )?;
    }
    if !usage.daily.is_empty() {
        let mut c = Columns::of(&[Text, BigInt, Text, Text, Text, BigInt, Double, Double, Double], usage.daily.len());
        for (k, v) in &usage.daily {
            let cols = &mut c.cols;
            cols[0].text(&k.account_id);
            cols[1].int(k.day);
            cols[2].text(&k.product);
            cols[3].text(&k.module);
            cols[4].text(&k.feature);
            cols[5].int(v.events);
            cols[6].double(v.total);
            cols[7].double(v.time_spent);
            cols[8].double(v.active_duration);
        }
        tx.execute_typed(
            &format!(
                "INSERT INTO usage_daily (account_id, day, product, module, feature,
                                          events, total, time_spent, active_duration)
                 SELECT * FROM {}
                 ON CONFLICT (account_id, day, product, module, feature) DO UPDATE SET
                    events = usage_daily.events + excluded.events, total = usage_daily.total + excluded.total,
                    time_spent = usage_daily.time_spent + excluded.time_spent,
                    active_duration = usage_daily.active_duration + excluded.active_duration",
                c.unnest(1)
            ),
            &c.params(),
        )?;
    }
    if !usage.daily_users.is_empty() {
        let mut c = Columns::of(&[Text, BigInt, Text], usage.daily_users.len());
        for u in &usage.daily_users {
            c.cols[0].text(&u.account_id);
            c.cols[1].int(u.day);
            c.cols[2].text(&u.user_id);
        }
        tx.execute_typed(
            &format!(
                "INSERT INTO usage_daily_users (account_id, day, user_id) SELECT * FROM {} ON CONFLICT DO NOTHING",
                c.unnest(1)
            ),
            &c.params(),
        )?;
    }
    if !usage.sessions.is_empty() {
        let mut c = Columns::of(&[Text, Text, BigInt], usage.sessions.len());
        for (k, hour) in &usage.sessions {
            c.cols[0].text(&k.account_id);
            c.cols[1].text(&k.session_id);
            c.cols[2].int(*hour);
        }
        tx.execute_typed(
            &format!(
                "INSERT INTO usage_session_starts (account_id, session_id, first_hour) SELECT * FROM {}
                 ON CONFLICT (account_id, session_id) DO UPDATE SET first_hour = excluded.first_hour
                 WHERE excluded.first_hour < usage_session_starts.first_hour",
                c.unnest(1)
            ),
            &c.params(),
        )?;
    }
    if !usage.counts.is_empty() {
        // BTreeMap order, as for the rollups: concurrent flushes lock the rows in one order.
        let mut c = Columns::of(&[Text, Text, Text, BigInt], usage.counts.len());
        for ((account_id, source, object), n) in &usage.counts {
            c.cols[0].text(account_id);
            c.cols[1].text(source);
            c.cols[2].text(object);
            c.cols[3].int(*n);
        }
        tx.execute_typed(
            &format!(
                "INSERT INTO event_counts (account_id, source, object, events) SELECT * FROM {}
                 ON CONFLICT (account_id, source, object) DO UPDATE SET events = event_counts.events + excluded.events",
                c.unnest(1)
            ),
            &c.params(),
        )?;
    }
    Ok(())
}

/// Which quarantine_keys rows a release deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    /// Those of every key given (SQLite's `release`).
    Always,
    /// Only those of keys that were in the quarantine (SQLite's `release_linked`).
    IfQuarantined,
}

/// Takes records out of the quarantine and its key index, in one statement.
fn release<'a>(tx: &mut Transaction<'_>, keys: impl IntoIterator<Item = &'a RecordKey>, how: Release) -> Result<()> {
    let mut keys: Vec<&RecordKey> = keys.into_iter().collect();
    if keys.is_empty() {
        return Ok(());
    }
    keys.sort();
    keys.dedup();
    let c = key_arrays(keys);
    let sql = match how {
        Release::Always => format!(
            "WITH k AS (SELECT * FROM {} AS k(source, object, native_id)),
                  gone AS (DELETE FROM quarantine q USING k
                           WHERE q.source = k.source AND q.object = k.object AND q.native_id = k.native_id)
             DELETE FROM quarantine_keys qk USING k
             WHERE qk.source = k.source AND qk.object = k.object AND qk.native_id = k.native_id",
            c.unnest(1)
        ),
        Release::IfQuarantined => format!(
            "WITH gone AS (DELETE FROM quarantine q USING {} AS k(source, object, native_id)
                           WHERE q.source = k.source AND q.object = k.object AND q.native_id = k.native_id
                           RETURNING q.source, q.object, q.native_id)
             DELETE FROM quarantine_keys qk USING gone
             WHERE qk.source = gone.source AND qk.object = gone.object AND qk.native_id = gone.native_id",
            c.unnest(1)
        ),
    };
    tx.execute_typed(&sql, &c.params())?;
    Ok(())
}

/// One quarantined record as written: the last of its rows in the batch, with the first one's
/// sighting and how many times the batch saw it.
#[derive(Debug)]
struct QuarantineWrite<'a> {
    row: &'a QuarantineRow,
    first_seen: i64,
    attempts: i64,
    hints: String,
    tried: String,
    payload: String,
}

fn upsert_quarantine(tx: &mut Transaction<'_>, rows: &[QuarantineRow]) -> Result<()> {
    use ColumnType::*;
    if rows.is_empty() {
        return Ok(());
    }
    // A stored event is immutable: a later delivery of it that fails to link is a duplicate.
    let event_keys: Vec<&RecordKey> = rows.iter().filter(|q| q.kind == ObjectKind::Event).map(|q| &q.key).collect();
    let mut stored: HashSet<RecordKey> = HashSet::new();
    if !event_keys.is_empty() {
        let c = key_arrays(event_keys);
        let found = tx.query_typed(
            &format!(
                "SELECT k.source, k.object, k.native_id FROM {} AS k(source, object, native_id)
                 WHERE EXISTS (SELECT 1 FROM events e
                               WHERE e.source = k.source AND e.object = k.object AND e.native_id = k.native_id)",
                c.unnest(1)
            ),
            &c.params(),
        )?;
        for r in found {
            stored.insert(RecordKey { source: r.try_get(0)?, object: r.try_get(1)?, native_id: r.try_get(2)? });
        }
    }
    let kept: Vec<&QuarantineRow> =
        rows.iter().filter(|q| !(q.kind == ObjectKind::Event && stored.contains(&q.key))).collect();
    if kept.is_empty() {
        return Ok(());
    }
    let mut at: HashMap<&RecordKey, usize> = HashMap::new();
    let mut writes: Vec<QuarantineWrite<'_>> = Vec::with_capacity(kept.len());
    for q in kept.iter().copied() {
        let (hints, tried, payload) = (
            serde_json::to_string(&q.rejection.hints)?,
            serde_json::to_string(&q.rejection.tried)?,
            q.payload.to_string(),
        );
        match at.get(&q.key) {
            Some(&i) => {
                let w = &mut writes[i];
                (w.row, w.hints, w.tried, w.payload) = (q, hints, tried, payload);
                w.attempts += 1;
            }
            None => {
                at.insert(&q.key, writes.len());
                let first_seen = q.seen_at.timestamp_millis();
                writes.push(QuarantineWrite { row: q, first_seen, attempts: 1, hints, tried, payload });
            }
        }
    }
    writes.sort_by(|a, b| a.row.key.cmp(&b.row.key));
    let types = [Text, Text, Text, Text, Text, Text, Text, Text, Text, Text, Text, Text, BigInt, BigInt, BigInt];
    let mut c = Columns::of(&types, writes.len());
    for w in &writes {
        let (q, r, cols) = (w.row, &w.row.rejection, &mut c.cols);
        cols[0].text(&q.key.source);
        cols[1].text(&q.key.object);
        cols[2].text(&q.key.native_id);
        cols[3].text(q.kind.name());
        cols[4].text(r.reason.code());
        cols[5].text(&r.message);
        cols[6].opt_text(r.rule.map(|r| r.name()));
        cols[7].opt_text(r.key.as_deref());
        cols[8].text(&w.hints);
        cols[9].text(&w.tried);
        cols[10].text(&w.payload);
        cols[11].opt_text(q.location.as_deref());
        cols[12].int(w.first_seen);
        cols[13].int(q.seen_at.timestamp_millis());
        cols[14].int(w.attempts);
    }
    tx.execute_typed(
        &format!(
            "INSERT INTO quarantine (source, object, native_id, kind, reason, message, rule, link_key, hints, tried,
                                     payload, location, first_seen, last_seen, attempts)
             SELECT * FROM {}
             ON CONFLICT (source, object, native_id) DO UPDATE SET
                kind = excluded.kind, reason = excluded.reason, message = excluded.message, rule = excluded.rule,
                link_key = excluded.link_key, hints = excluded.hints, tried = excluded.tried,
                payload = excluded.payload, location = excluded.location, last_seen = excluded.last_seen,
                attempts = quarantine.attempts + excluded.attempts",
            c.unnest(1)
        ),
        &c.params(),
    )?;
    // The key index is replaced by the keys of the record's latest rejection.
    let keys = key_arrays(writes.iter().map(|w| &w.row.key));
    tx.execute_typed(
        &format!(
            "DELETE FROM quarantine_keys qk USING {} AS k(source, object, native_id)
             WHERE qk.source = k.source AND qk.object = k.object AND qk.native_id = k.native_id",
            keys.unnest(1)
        ),
        &keys.params(),
    )?;
    let index: Vec<(String, String, &RecordKey)> = writes
        .iter()
        .flat_map(|w| {
            crate::model::quarantine_index_keys(&w.row.rejection).into_iter().map(|(s, k)| (s, k, &w.row.key))
        })
        .collect();
    if !index.is_empty() {
        insert_key_rows(tx, "quarantine_keys", index.iter().map(|(s, k, rec)| (s.as_str(), k.as_str(), *rec)))?;
    }
    // A rejected record leaves its kind table, as each of its rows in the batch says.
    let mut by_kind: BTreeMap<ObjectKind, Vec<&RecordKey>> = BTreeMap::new();
    for q in kept.iter().filter(|q| q.kind != ObjectKind::Account) {
        by_kind.entry(q.kind).or_default().push(&q.key);
    }
    for (kind, mut keys) in by_kind {
        keys.sort();
        keys.dedup();
        let c = key_arrays(keys);
        tx.execute_typed(
            &format!(
                "DELETE FROM {t} USING {} AS k(source, object, native_id)
                 WHERE {t}.source = k.source AND {t}.object = k.object AND {t}.native_id = k.native_id",
                c.unnest(1),
                t = kind.table()
            ),
            &c.params(),
        )?;
    }
    Ok(())
}

/// Adds a batch's counts to its run in one statement: the row lock the UPDATE takes makes
/// concurrent batches of one run add up, and `rejected_by_reason` is merged key by key in SQL.
fn add_run_counts(tx: &mut Transaction<'_>, run_id: i64, counts: &RunCounts) -> Result<()> {
    let by_reason = serde_json::to_string(&counts.rejected_by_reason)?;
    let (fetched, linked, rejected) = (counts.fetched as i64, counts.linked as i64, counts.rejected as i64);
    let updated = tx.execute_typed(
        "UPDATE sync_runs SET fetched = fetched + $2, linked = linked + $3, rejected = rejected + $4,
            rejected_by_reason = CASE WHEN $5 = '{}' THEN rejected_by_reason ELSE (
                SELECT COALESCE(jsonb_object_agg(key, n), '{}'::jsonb)::text FROM (
                    SELECT key, SUM(value::bigint) AS n FROM (
                        SELECT * FROM jsonb_each_text(sync_runs.rejected_by_reason::jsonb)
                        UNION ALL SELECT * FROM jsonb_each_text($5::jsonb)
                    ) AS parts GROUP BY key
                ) AS sums
            ) END
         WHERE id = $1",
        &[
            (&run_id, Type::INT8),
            (&fetched, Type::INT8),
            (&linked, Type::INT8),
            (&rejected, Type::INT8),
            (&by_reason, Type::TEXT),
        ],
    )?;
    if updated == 0 {
        return Err(StoreError::Invalid(format!("no sync run {run_id}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_and_targets_name_the_server() {
        assert_eq!(redact("postgres://u:secret@h:5433/db"), "postgres://u:***@h:5433/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        let config: Config = "postgres://ann:secret@db.example:5433/hub".parse().unwrap();
        assert_eq!(describe(&config), "ann@db.example:5433/hub");
    }

    #[test]
    fn deadlocks_and_serialization_failures_are_retried() {
        assert!(!is_transient(&StoreError::Invalid("x".into())));
        assert!(backoff(1) >= Duration::from_millis(10) && backoff(1) < Duration::from_millis(20));
    }
}
