//! The rows the store reads and writes. Backend-neutral: every backend maps these to its own SQL.

use std::collections::BTreeMap;

use accord_core::{AccountId, FieldValue, ObjectKind, Provenance, Rejection, Timestamp, TriedKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The identity of every record accord keeps: (source, object, native id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordKey {
    pub source: String,
    pub object: String,
    pub native_id: String,
}

impl RecordKey {
    pub fn new(source: impl Into<String>, object: impl Into<String>, native_id: impl Into<String>) -> Self {
        Self { source: source.into(), object: object.into(), native_id: native_id.into() }
    }

    /// `source/object`: the name of the id map this record belongs to.
    pub fn map_name(&self) -> String {
        format!("{}/{}", self.source, self.object)
    }
}

impl std::fmt::Display for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.source, self.object, self.native_id)
    }
}

/// Whether an account receives links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// Was active; the SOR filter now excludes it.
    Filtered,
    /// On the delete list.
    Deleted,
}

impl AccountStatus {
    pub fn code(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Filtered => "filtered",
            AccountStatus::Deleted => "deleted",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "active" => Some(Self::Active),
            "filtered" => Some(Self::Filtered),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// An account, as the System of Record (or the Account API) gave it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountRow {
    pub account_id: AccountId,
    pub status: AccountStatus,
    /// Typed fields in `ObjectKind::Account.fields()` order.
    pub fields: Vec<FieldValue>,
    /// Where the account came from.
    pub origin: RecordKey,
    /// The full source record, kept as given.
    pub attributes: Value,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

impl AccountRow {
    pub fn field(&self, name: &str) -> &FieldValue {
        ObjectKind::Account
            .fields()
            .iter()
            .position(|f| f.name == name)
            .and_then(|i| self.fields.get(i))
            .unwrap_or(&FieldValue::Null)
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.field(name).as_text()
    }
}

/// A record linked to an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordRow {
    pub key: RecordKey,
    pub kind: ObjectKind,
    pub account_id: AccountId,
    pub provenance: Provenance,
    /// Typed fields in `kind.fields()` order.
    pub fields: Vec<FieldValue>,
    pub payload: Value,
    /// `payload` as JSON text, when whoever built the row rendered it already (the pipeline does,
    /// on the thread that prepares pages, so the thread that commits does not); `None` has the
    /// store render it. Never read back: rows from the store carry `None`.
    #[serde(skip)]
    pub payload_json: Option<String>,
    /// Deleted at the source (tombstone); kept for history.
    pub is_deleted: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// The keys the link depends on besides its account (`Linked::depends_on`). Written to the
    /// dependency table with the record (not for events, which never re-link); empty when read.
    #[serde(skip)]
    pub depends_on: Vec<TriedKey>,
}

impl RecordRow {
    /// The payload as JSON text.
    pub fn payload_text(&self) -> serde_json::Result<std::borrow::Cow<'_, str>> {
        match &self.payload_json {
            Some(text) => Ok(std::borrow::Cow::Borrowed(text)),
            None => serde_json::to_string(&self.payload).map(std::borrow::Cow::Owned),
        }
    }

    pub fn field(&self, name: &str) -> &FieldValue {
        self.kind
            .fields()
            .iter()
            .position(|f| f.name == name)
            .and_then(|i| self.fields.get(i))
            .unwrap_or(&FieldValue::Null)
    }
}

/// A record that did not link, to be kept and explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantineRow {
    pub key: RecordKey,
    pub kind: ObjectKind,
    pub rejection: Rejection,
    pub payload: Value,
    /// Where the record was read, when it came from a file: `accounts.csv:14`.
    pub location: Option<String>,
    pub seen_at: Timestamp,
}

/// A quarantined record as stored, with its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantineEntry {
    /// A short number for the CLI and API (`accord rejects explain 17`).
    pub id: i64,
    pub key: RecordKey,
    pub kind: ObjectKind,
    pub rejection: Rejection,
    pub payload: Value,
    pub location: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// How many times the record was seen or retried without linking.
    pub attempts: i64,
}

/// Filters for listing the quarantine.
#[derive(Debug, Clone, Default)]
pub struct QuarantineQuery {
    pub source: Option<String>,
    pub object: Option<String>,
    pub reason: Option<accord_core::RejectReason>,
}

/// A domain map entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainRow {
    pub domain: String,
    pub account_id: AccountId,
    /// `config`, `api`, ...
    pub origin: String,
}

/// A change to the delete list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteListChange {
    Add { account_id: AccountId, reason: String },
    Remove { account_id: AccountId },
}

/// A sync cursor, saved in the same transaction as the page it follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub source: String,
    /// The stream within the source (usually the object name).
    pub stream: String,
    pub cursor: Value,
}

/// Counts added to a sync run by one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    pub fetched: u64,
    pub linked: u64,
    pub rejected: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
}

impl RunCounts {
    pub fn add(&mut self, other: &RunCounts) {
        self.fetched += other.fetched;
        self.linked += other.linked;
        self.rejected += other.rejected;
        for (r, n) in &other.rejected_by_reason {
            *self.rejected_by_reason.entry(r.clone()).or_default() += n;
        }
    }

    pub fn reject(&mut self, reason: accord_core::RejectReason) {
        self.rejected += 1;
        *self.rejected_by_reason.entry(reason.code().to_owned()).or_default() += 1;
    }
}

/// A sync run of one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncRun {
    pub id: i64,
    pub source: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// `running`, `ok`, `failed`.
    pub status: String,
    pub counts: RunCounts,
    pub error: Option<String>,
}

/// Everything one transaction writes. Applying a batch is all-or-nothing and idempotent: every
/// row is an upsert keyed by (source, object, native id) or by account id.
#[derive(Debug, Default)]
pub struct WriteBatch {
    pub accounts: Vec<AccountRow>,
    /// Status changes of existing accounts (delete list, filter).
    pub account_status: Vec<(AccountId, AccountStatus)>,
    /// Linked records. Each leaves the quarantine if it was there.
    pub records: Vec<RecordRow>,
    /// Rejected records. Each leaves its kind table if it was linked before.
    pub quarantine: Vec<QuarantineRow>,
    /// Records deleted at their source: kept, marked deleted, and out of the quarantine.
    pub tombstones: Vec<(ObjectKind, RecordKey)>,
    pub domains: Vec<DomainRow>,
    pub delete_list: Vec<DeleteListChange>,
    pub checkpoint: Option<Checkpoint>,
    /// Counts to add to a running sync run.
    pub run: Option<(i64, RunCounts)>,
    /// Custom account metric values (upserted per account, name and day).
    pub metrics: Vec<MetricRow>,
    /// Keys whose meaning this batch changes: recorded in the change feed with the change.
    pub pending_keys: Vec<TriedKey>,
    /// Feed entries whose dependent records were re-linked: removed (at the version read).
    pub settled_keys: Vec<PendingKey>,
    /// The native ids a page of a full pass returned (`pass_seen`); a completed pass's marks go.
    pub seen_in_pass: Option<SeenInPass>,
    /// The end of the index log the writer's in-memory index reflects: if the log has moved past
    /// it, the batch is refused with `StoreError::Stale` and nothing is written.
    pub expect_log_seq: Option<i64>,
    /// The lookup-index entries this batch changes, for the index log (one log entry per batch).
    pub index_entities: Vec<IndexEntity>,
    /// Nested account entries (the Natero API's), upserted by (account, field, entry key): written
    /// with the accounts they belong to.
    pub account_entries: Vec<AccountEntry>,
}

/// An entity whose lookup-index entry a batch changed; written to the index log, so that other
/// processes re-read it from the store and refresh their index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum IndexEntity {
    /// An account row (new, changed, or its status).
    Account { account_id: String },
    /// A System-of-Record record that is not an account: rejected (filtered out), or deleted.
    SorRecord { key: RecordKey },
    /// A record that links or stopped linking (an id-map, email or user entry).
    Record { kind: ObjectKind, key: RecordKey },
    /// An explicit domain entry.
    Domain { account_id: String, domain: String },
}

/// Index-log entries after a point, and where the log stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexLog {
    /// (seq, entities), in commit order.
    pub entries: Vec<(i64, Vec<IndexEntity>)>,
    /// The last seq the log holds (0 when empty).
    pub latest: i64,
    /// False when entries after the asked point were pruned: the reader must rebuild its index.
    pub complete: bool,
}

/// The records a page of a full read of an object's list returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenInPass {
    pub source: String,
    pub object: String,
    pub pass: String,
    pub native_ids: Vec<String>,
    /// The pass ends with this page: the marks of every pass of the object are removed.
    pub complete: bool,
    /// False for a pass that began when accord held nothing of the object: there is nothing it
    /// could find gone, so it marks nothing (the store notes that once, for a resumed pass).
    pub reconcile: bool,
}

/// Where a full pass stands in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassState {
    /// No page of it was committed; `holds_records` says whether accord holds any record of the
    /// object (live, quarantined, or an account it created).
    New { holds_records: bool },
    /// It marks what it returns, to reconcile at its end.
    Marking,
    /// It began when accord held nothing of the object, and reconciles nothing.
    NotReconciling,
}

/// An entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingKey {
    pub key: TriedKey,
    pub version: i64,
}

impl WriteBatch {
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
            && self.account_status.is_empty()
            && self.records.is_empty()
            && self.quarantine.is_empty()
            && self.tombstones.is_empty()
            && self.domains.is_empty()
            && self.delete_list.is_empty()
            && self.checkpoint.is_none()
            && self.run.is_none()
            && self.metrics.is_empty()
            && self.pending_keys.is_empty()
            && self.settled_keys.is_empty()
            && self.seen_in_pass.is_none()
            && self.index_entities.is_empty()
            && self.account_entries.is_empty()
    }
}

/// What applying a batch did beyond what the batch says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// Events stored for the first time (and added to the rollups).
    pub new_events: u64,
    /// Events already stored: a duplicate delivery, counted once.
    pub duplicate_events: u64,
    /// The index-log entry the batch wrote, if it changed the index.
    pub log_seq: Option<i64>,
}

/// A custom account metric value (Natero's `/metrics`): one value per account, name and day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    pub account_id: AccountId,
    pub name: String,
    /// The day the value is for (its start, UTC).
    pub day: Timestamp,
    pub value: f64,
}

/// Which metric values to list.
#[derive(Debug, Clone, Default)]
pub struct MetricQuery {
    pub account_id: Option<String>,
    pub name: Option<String>,
    /// Order by `account_id`, `name`, `day` or `value` (ties by day, account and name); `None`:
    /// newest day first.
    pub order_by: Option<String>,
    pub descending: bool,
}

/// A custom metric definition (Natero's `/metrics/{name}`): its fields as given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricDefinition {
    pub name: String,
    /// A JSON object.
    pub definition: Value,
    pub updated_at: Timestamp,
}

/// One entry of an account's nested field (Natero's `stage_history`, `custom_value_dimensions`,
/// `assigned_csms`, ...), identified within its field by `entry_key`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountEntry {
    pub account_id: String,
    /// The nested field: `stage_history`, `custom_value_dimensions`, ...
    pub field: String,
    /// The entry's identity within the field (a dimension's key, a CSM's email...).
    pub entry_key: String,
    /// The entry as given (a JSON object).
    pub entry: Value,
}

/// Which records of a kind to list.
#[derive(Debug, Clone, Default)]
pub struct RecordQuery {
    pub account_id: Option<String>,
    pub source: Option<String>,
    pub object: Option<String>,
    pub native_id: Option<String>,
    /// Include records deleted at their source.
    pub include_deleted: bool,
    /// Order by this column of the kind table (one of [`orderable_columns`]), ties by native id;
    /// `None`: most recently seen first.
    pub order_by: Option<String>,
    pub descending: bool,
}

/// The columns a record listing can be ordered by: the record's identity, its account, when it
/// was seen, and the kind's typed fields.
pub fn orderable_columns(kind: ObjectKind) -> Vec<&'static str> {
    ["native_id", "account_id", "source", "object", "first_seen", "last_seen"]
        .into_iter()
        .chain(kind.fields().iter().map(|f| f.name))
        .collect()
}

/// One row of the lookup tables, as loaded into the linker's index.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexRow {
    Account(AccountRow),
    /// A linked record: `native_id` of `source/object` belongs to `account_id`.
    Link {
        key: RecordKey,
        kind: ObjectKind,
        account_id: AccountId,
        email: Option<String>,
        /// A contact's `organization_id`, for `children` rules.
        organization: Option<String>,
        /// How the record linked: email evidence comes only from records linked another way.
        provenance: Provenance,
    },
    /// An SOR record excluded by the filter (never an active account), with its payload (for its
    /// account-field ids).
    Filtered {
        account_id: String,
        key: RecordKey,
        payload: Value,
    },
    Domain(DomainRow),
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    /// 0-based.
    pub page: u32,
    pub page_size: u32,
}

/// How to order an account listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccountOrder {
    #[default]
    AccountId,
    Name,
    JoinDate,
    /// Another typed account field (a name from `ObjectKind::Account.fields()`).
    Field(&'static str),
}

/// Which accounts to list.
#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    /// Statuses to include; empty means active only.
    pub statuses: Vec<AccountStatus>,
    pub order: AccountOrder,
    pub descending: bool,
    pub page: u32,
    pub page_size: u32,
}

/// How many records of a source object link to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordCount {
    pub source: String,
    pub object: String,
    pub kind: ObjectKind,
    pub count: u64,
}

/// Linked and rejected counts of one source object, for coverage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObjectStats {
    pub linked: u64,
    pub deleted: u64,
    pub accounts_covered: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
}

/// The `quarantine_keys` space under which a rejection watches a near-miss id of `space`: not a
/// key it tried (so not listed as one), yet found when that key changes.
pub fn near_space(space: &accord_core::KeySpace) -> String {
    format!("near:{}", space.code())
}

/// The (space, key) pairs that index a quarantined record: every key it tried (with the near-miss
/// ids of an account id), and the accounts its hints name (space `hint`), so "rejections near this
/// account" is a lookup.
pub fn quarantine_index_keys(rejection: &Rejection) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = rejection.tried.iter().map(|t| (t.space.code(), t.key.clone())).collect();
    // An unknown account id also watches the ids its near-miss hints would name, so the hints
    // appear when such an account does, whichever arrived first.
    for t in rejection.tried.iter().filter(|t| t.space == accord_core::KeySpace::Account) {
        out.extend(accord_core::id::near_miss_keys(&t.key).into_iter().map(|k| (near_space(&k.space), k.key)));
    }
    for h in &rejection.hints {
        let ids: Vec<&AccountId> = match h {
            accord_core::Hint::FloatSuffix { account_id } | accord_core::Hint::Whitespace { account_id } => {
                vec![account_id]
            }
            accord_core::Hint::CaseOnly { account_ids } | accord_core::Hint::Candidates { account_ids } => {
                account_ids.iter().collect()
            }
        };
        out.extend(ids.into_iter().map(|a| ("hint".to_owned(), a.to_string())));
    }
    out.sort();
    out.dedup();
    out
}

/// One write of an account id back into a source (`accord propagate`), as audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropagationEntry {
    /// 0 until stored.
    pub id: i64,
    /// When it was recorded, then when it finished (epoch ms).
    pub at_ms: i64,
    pub key: RecordKey,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
    /// `pending`, `written`, `already`, `conflict`, `refused`, `failed` or `interrupted`.
    pub status: String,
    /// The vendor's answer, or the error.
    pub answer: Option<String>,
}
