//! Storage. One `Store` trait; an embedded SQLite backend (the default: one file, WAL, no server)
//! and a PostgreSQL backend for teams that run several `accord serve` processes on one database.
//!
//! Invariants every backend keeps:
//! - every write is an idempotent upsert keyed by (source, object, native id), or by account id;
//! - a record is either linked (in its kind's table) or quarantined, never both: linking a record
//!   releases it from the quarantine, rejecting it removes its link;
//! - a `WriteBatch` is one transaction, so a page of records, its checkpoint and its run counts
//!   commit together;
//! - SQL lives here and nowhere else, and every value is a bound parameter.

mod lock;
pub mod model;
pub mod postgres;
mod sql;
pub mod sqlite;
pub mod usage;
pub mod web;

#[doc(hidden)]
pub mod contract;

use std::sync::Arc;

use accord_core::{ObjectKind, TriedKey};
use serde_json::Value;

pub use lock::{LockAttempt, LockHolder, SourceLock, this_host};
pub use model::*;
pub use web::{AccountField, AccountSearch, AccountSummary, WebSession, WebUser};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// The PostgreSQL server could not be reached (or refused the login); names the server, never
    /// the password.
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("stored JSON is unreadable: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("the database is at schema version {found}, newer than this accord knows ({known}): upgrade accord")]
    TooNew { found: i64, known: i64 },
    #[error("unsupported store URL {0:?}: use sqlite://<path> or postgres://<user>@<host>/<db>")]
    Url(String),
    /// Another process changed the lookup index after this writer's view (`WriteBatch::expect_log_seq`).
    #[error("the index log moved to {latest} past this writer's view: refresh and write again")]
    Stale { latest: i64 },
    /// A run lock this process held is no longer its own (`SourceLock::renew`).
    #[error("lost the run lock of {name:?}: {reason}")]
    LockLost { name: String, reason: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A migration that was applied or is pending.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationInfo {
    pub version: i64,
    pub name: String,
    pub applied: bool,
}

/// The storage contract. Implementations are blocking; async callers use `spawn_blocking`.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations; returns the ones applied now.
    fn migrate(&self) -> Result<Vec<MigrationInfo>>;

    /// Every known migration and whether it is applied.
    fn migrations(&self) -> Result<Vec<MigrationInfo>>;

    /// Writes a batch in one transaction. Events are stored once per identity; only newly stored
    /// events are added to the usage rollups.
    fn apply(&self, batch: &WriteBatch) -> Result<ApplyOutcome>;

    /// Writes several batches, in order. Backends that can group them into one transaction (group
    /// commit, far fewer journal writes under concurrent ingestion) do; the default applies them
    /// one by one. Either way each batch is all-or-nothing.
    fn apply_all(&self, batches: &[&WriteBatch]) -> Result<Vec<ApplyOutcome>> {
        batches.iter().map(|b| self.apply(b)).collect()
    }

    /// Streams the lookup tables: accounts, filtered SOR ids, domains, and the links of records
    /// of the given kinds (the objects other records can point at).
    fn load_index(&self, kinds: &[ObjectKind], visit: &mut dyn FnMut(IndexRow)) -> Result<()>;

    /// The saved cursor of a stream.
    fn checkpoint(&self, source: &str, stream: &str) -> Result<Option<Value>>;

    /// Forgets the cursors of a source (for `accord sync --full`).
    fn clear_checkpoints(&self, source: &str) -> Result<()>;

    /// Starts a sync run and returns its id.
    fn start_run(&self, source: &str) -> Result<i64>;

    /// Ends a sync run (`ok` or `failed`).
    fn finish_run(&self, run_id: i64, status: &str, error: Option<&str>) -> Result<()>;

    /// Takes the run lock of a source for `holder` (a description: what and which process), or
    /// says who holds it. A lease lasts `ttl_ms` from `now_ms` unless renewed; an expired lease is
    /// taken over (SQLite). On PostgreSQL the lock is a session advisory lock held on a connection
    /// of its own for the lock's life, so it ends with its holder however it stops.
    fn lock_source(&self, source: &str, holder: &str, now_ms: i64, ttl_ms: i64) -> Result<LockAttempt>;

    /// Who holds a source's run lock at `now_ms`, if anyone.
    fn source_lock_holder(&self, source: &str, now_ms: i64) -> Result<Option<LockHolder>>;

    /// Marks the runs of a source still `running` as `interrupted` (their process stopped before
    /// finishing them); returns how many.
    fn interrupt_runs(&self, source: &str) -> Result<u64>;

    /// Up to `limit` keys of the change feed: keys whose meaning changed and whose dependent records
    /// are not re-linked yet. A batch's `settled_keys` removes them.
    fn pending_keys(&self, limit: u32) -> Result<Vec<PendingKey>>;

    /// Recent sync runs, newest first.
    fn runs(&self, source: Option<&str>, limit: u32) -> Result<Vec<SyncRun>>;

    fn account(&self, account_id: &str) -> Result<Option<AccountRow>>;

    /// The account a source record created.
    fn account_by_origin(&self, origin: &RecordKey) -> Result<Option<AccountRow>>;

    fn accounts(&self, query: &AccountQuery) -> Result<Page<AccountRow>>;

    /// Every account of the given statuses (all when empty), in account id order.
    fn for_each_account(&self, statuses: &[AccountStatus], visit: &mut dyn FnMut(AccountRow)) -> Result<()>;

    /// The delete list: account id, when, why.
    fn delete_list(&self) -> Result<Vec<(String, accord_core::Timestamp, String)>>;

    /// Records of one kind matching the query, most recently seen first.
    fn records(&self, kind: ObjectKind, query: &RecordQuery, page: u32, page_size: u32) -> Result<Page<RecordRow>>;

    /// How many live records of each source object link to an account.
    fn record_counts(&self, account_id: &str) -> Result<Vec<RecordCount>>;

    fn record(&self, kind: ObjectKind, key: &RecordKey) -> Result<Option<RecordRow>>;

    /// Every record of a source object, in native id order.
    fn for_each_record(
        &self,
        kind: ObjectKind,
        source: &str,
        object: &str,
        visit: &mut dyn FnMut(RecordRow),
    ) -> Result<()>;

    /// Linked, deleted and rejected counts of a source object.
    fn object_stats(&self, kind: ObjectKind, source: &str, object: &str) -> Result<ObjectStats>;

    /// A page of the quarantine, oldest first.
    fn quarantine(&self, query: &QuarantineQuery, page: u32, page_size: u32) -> Result<Page<QuarantineEntry>>;

    fn quarantine_entry(&self, id: i64) -> Result<Option<QuarantineEntry>>;

    /// Every quarantined record matching the query.
    fn for_each_quarantined(&self, query: &QuarantineQuery, visit: &mut dyn FnMut(QuarantineEntry)) -> Result<()>;

    /// Quarantined records that tried any of these keys.
    fn quarantine_by_keys(&self, keys: &[TriedKey]) -> Result<Vec<QuarantineEntry>>;

    /// Live linked records (of any kind but events) whose answer depends on any of these keys.
    fn linked_by_keys(&self, keys: &[TriedKey]) -> Result<Vec<RecordKey>>;

    /// Live records of these kinds linked to any of these accounts.
    fn linked_to_accounts(&self, kinds: &[ObjectKind], account_ids: &[String]) -> Result<Vec<(ObjectKind, RecordKey)>>;

    /// Where full pass `pass` of a source object stands.
    fn pass_state(&self, kind: ObjectKind, source: &str, object: &str, pass: &str) -> Result<PassState>;

    /// The native ids of a source object that accord holds (live records of `kind`, quarantined
    /// rows, or the accounts it created) and that full pass `pass` has not returned.
    fn unseen_in_pass(&self, kind: ObjectKind, source: &str, object: &str, pass: &str) -> Result<Vec<String>>;

    /// The index-log entries after `seq` (at most `limit`), and the log's end.
    fn index_log_since(&self, seq: i64, limit: u32) -> Result<IndexLog>;

    /// The quarantined row of a record, if it is quarantined.
    fn quarantined(&self, key: &RecordKey) -> Result<Option<QuarantineEntry>>;

    /// How many (key, record) pairs index the quarantine, counting at most `limit` of them.
    fn quarantine_key_count(&self, limit: u64) -> Result<u64>;

    /// Every distinct key the quarantined records tried.
    fn for_each_quarantine_key(&self, visit: &mut dyn FnMut(TriedKey)) -> Result<()>;

    /// Open rejections that point at an account or hint at it.
    fn quarantine_near(&self, account_id: &str) -> Result<Vec<QuarantineEntry>>;

    /// Open rejections per source, object and reason.
    fn quarantine_summary(&self) -> Result<Vec<(String, String, String, u64)>>;

    /// An account's usage between two instants (epoch ms, end exclusive), from the rollups.
    fn usage(&self, account_id: &str, from_ms: i64, to_ms: i64) -> Result<usage::UsageSummary>;

    /// Writes the usage rollups of the events this process stored and has not rolled up yet (they
    /// are otherwise written with a later transaction, within about a second), and those a stopped
    /// process left. Reads of the rollups through this store flush first.
    fn flush_usage(&self) -> Result<()>;

    /// Distinct active users of an account between two instants, from the daily rollups.
    fn active_users(&self, account_id: &str, from_ms: i64, to_ms: i64) -> Result<u64>;

    /// Deletes raw events created before `before_ms`; the rollups keep their counts.
    fn prune_events(&self, before_ms: i64) -> Result<u64>;

    /// Custom metric values, newest day first.
    fn metrics(&self, query: &MetricQuery, page: u32, page_size: u32) -> Result<Page<MetricRow>>;

    /// The nested entries of these accounts (Natero's `stage_history`, `custom_value_dimensions`,
    /// ...), ordered by account, field and entry key.
    fn account_entries(&self, account_ids: &[String]) -> Result<Vec<AccountEntry>>;

    /// Inserts or replaces nested account entries by (account, field, entry key), in one
    /// transaction.
    fn put_account_entries(&self, entries: &[AccountEntry]) -> Result<()>;

    /// Removes one nested account entry; whether it existed.
    fn delete_account_entry(&self, account_id: &str, field: &str, entry_key: &str) -> Result<bool>;

    /// A custom metric definition by name.
    fn metric_definition(&self, name: &str) -> Result<Option<MetricDefinition>>;

    /// Inserts or replaces a custom metric definition.
    fn put_metric_definition(&self, def: &MetricDefinition) -> Result<()>;

    /// Removes a metric: its definition and every value recorded under its name, in one
    /// transaction; whether there was either.
    fn delete_metric(&self, name: &str) -> Result<bool>;

    /// Rows per table (every table of `TABLES`).
    fn table_counts(&self) -> Result<std::collections::BTreeMap<String, u64>>;

    /// Every row of a table, as JSON objects.
    fn export_table(&self, table: &str, visit: &mut dyn FnMut(ExportRow)) -> Result<()>;

    /// Inserts exported rows into a table, in one transaction.
    fn import_rows(&self, table: &str, rows: &[ExportRow]) -> Result<()>;

    // The web app (`accord-web`): users, sessions, failed sign-ins and the accounts list.

    /// Every web user, by name.
    fn web_users(&self) -> Result<Vec<WebUser>>;

    fn web_user(&self, name: &str) -> Result<Option<WebUser>>;

    /// Inserts or replaces a web user (its `created_at` kept when it exists); whether it is new.
    fn web_put_user(&self, user: &WebUser) -> Result<bool>;

    /// Removes a web user and its sessions; whether it existed.
    fn web_remove_user(&self, name: &str) -> Result<bool>;

    /// Stores a session, and removes the sessions expired by its `created_at`.
    fn web_put_session(&self, session: &WebSession) -> Result<()>;

    /// The session of a token hash, if it has not expired at `now_ms`.
    fn web_session(&self, token_hash: &str, now_ms: i64) -> Result<Option<WebSession>>;

    fn web_remove_session(&self, token_hash: &str) -> Result<()>;

    /// Removes every session of a user (after a password change); how many.
    fn web_remove_sessions_of(&self, user_name: &str) -> Result<u64>;

    /// Records a failed sign-in for a user name at `at_ms`, and forgets those before `forget_before_ms`.
    fn web_signin_failed(&self, user_name: &str, at_ms: i64, forget_before_ms: i64) -> Result<()>;

    /// The times of a user name's failed sign-ins since `since_ms`, oldest first.
    fn web_signin_failures(&self, user_name: &str, since_ms: i64) -> Result<Vec<i64>>;

    /// Forgets a user name's failed sign-ins (after a successful one).
    fn web_clear_signin_failures(&self, user_name: &str) -> Result<()>;

    /// Records that a webhook delivery of `source` was received at `at_ms`, and forgets those
    /// received before `forget_before_ms`. `false` when it was already recorded: a replay. Two
    /// processes receiving one delivery get one `true` between them.
    fn remember_delivery(&self, source: &str, delivery: &str, at_ms: i64, forget_before_ms: i64) -> Result<bool>;

    // `accord propagate`: the audit of account ids written back into sources.

    /// Records a write about to be sent (its `status` is `pending`); its id.
    fn propagation_begin(&self, entry: &PropagationEntry) -> Result<i64>;

    /// Sets a write's outcome (`written`, `already`, `conflict`, `failed`) and the vendor's answer.
    fn propagation_finish(&self, id: i64, status: &str, answer: Option<&str>, at_ms: i64) -> Result<()>;

    /// Marks the writes a stopped run left `pending` as `interrupted`; how many.
    fn propagation_interrupted(&self) -> Result<u64>;

    /// The latest writes, newest first.
    fn propagation_history(&self, limit: u32) -> Result<Vec<PropagationEntry>>;

    /// A page of accounts matching a search.
    fn web_accounts(&self, search: &AccountSearch) -> Result<Page<AccountRow>>;

    /// What the accounts list shows of these accounts, in the order given; active users counted
    /// from `since_ms`.
    fn web_account_summaries(&self, account_ids: &[String], since_ms: i64) -> Result<Vec<AccountSummary>>;

    /// The distinct (day start, user id) pairs with usage of an account between two instants
    /// (epoch ms, end exclusive), ordered by day: what active-user series are counted from.
    fn web_daily_users(&self, account_id: &str, from_ms: i64, to_ms: i64) -> Result<Vec<(i64, String)>>;
}

/// How many index-log entries are kept; a process further behind rebuilds its index.
pub const INDEX_LOG_KEEP: i64 = 100_000;

/// Every table a hub keeps, in an order that copies cleanly (no table depends on another).
pub const TABLES: &[&str] = &[
    "accounts",
    "deleted_accounts",
    "domain_map",
    "organizations",
    "product_users",
    "contacts",
    "events",
    "support_tickets",
    "subscriptions",
    "statements",
    "interactions",
    "nps_responses",
    "quarantine",
    "quarantine_keys",
    "record_keys",
    "pass_seen",
    "index_log",
    "checkpoints",
    "sync_runs",
    "usage_rollups",
    "usage_session_starts",
    "usage_daily",
    "usage_daily_users",
    "event_counts",
    "account_metrics",
    "pending_keys",
    "account_entries",
    "metric_definitions",
];

/// A version for the keys a batch records in the change feed: unique per batch, so a settle pass
/// that read a key at one version never clears the same key recorded again later.
pub(crate) fn next_key_version() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let _ = NEXT.compare_exchange(0, seed_version(), Ordering::Relaxed, Ordering::Relaxed);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Start versions at the clock (in microseconds), so processes sharing a database never reuse a version.
fn seed_version() -> i64 {
    let micros = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_micros());
    i64::try_from(micros).unwrap_or(i64::MAX / 2).max(1) << 8 | i64::from(std::process::id() as u8)
}

/// Checks a table name against `TABLES` (names are spliced into SQL, so only known ones pass).
pub(crate) fn known_table(table: &str) -> Result<&'static str> {
    TABLES.iter().copied().find(|t| *t == table).ok_or_else(|| StoreError::Invalid(format!("no table {table:?}")))
}

/// A table row as a JSON object, column by column: the form `accord copy` moves between backends.
pub type ExportRow = serde_json::Map<String, Value>;

/// Opens a store by URL (`sqlite://path`, `sqlite://:memory:`, `postgres://...`). Does not migrate.
pub fn open(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Arc::new(sqlite::SqliteStore::open(path)?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PgStore::connect(url)?));
    }
    Err(StoreError::Url(url.to_owned()))
}

/// Opens a store and applies pending migrations.
pub fn open_and_migrate(url: &str) -> Result<Arc<dyn Store>> {
    let store = open(url)?;
    store.migrate()?;
    Ok(store)
}

/// What `copy` moved, table by table: (rows in the source, rows in the target afterwards).
pub type CopyReport = std::collections::BTreeMap<String, (u64, u64)>;

/// Copies a whole hub from one store to another (SQLite to PostgreSQL or back), table by table in
/// chunks, then counts both sides. The target must be migrated and empty. Returns the counts; the
/// caller checks that they agree (`copy_verified`).
pub fn copy(from: &dyn Store, to: &dyn Store, mut progress: impl FnMut(&str, u64)) -> Result<CopyReport> {
    const CHUNK: usize = 5_000;
    // The usage still pending (of this process, or left by a stopped one) goes to the rollups
    // first, so the copy has it; the backlog itself is not copied.
    from.flush_usage()?;
    let target = to.table_counts()?;
    if let Some((t, n)) = target.iter().find(|(_, n)| **n > 0) {
        return Err(StoreError::Invalid(format!("the target is not empty: table {t} holds {n} rows")));
    }
    for table in TABLES {
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut failed = None;
        let mut copied = 0u64;
        from.export_table(table, &mut |row| {
            if failed.is_some() {
                return;
            }
            chunk.push(row);
            if chunk.len() == CHUNK {
                if let Err(e) = to.import_rows(table, &chunk) {
                    failed = Some(e);
                }
                copied += chunk.len() as u64;
                chunk.clear();
                progress(table, copied);
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        to.import_rows(table, &chunk)?;
        copied += chunk.len() as u64;
        progress(table, copied);
    }
    let (a, b) = (from.table_counts()?, to.table_counts()?);
    Ok(a.into_iter().map(|(t, n)| (t.clone(), (n, b.get(&t).copied().unwrap_or(0)))).collect())
}

/// True when every table of a copy holds as many rows on both sides.
pub fn copy_verified(report: &CopyReport) -> bool {
    report.values().all(|(a, b)| a == b)
}
