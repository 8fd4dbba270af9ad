//! Sources. A connector turns a configured source into streams of raw records, one stream per
//! object, each page with the cursor to save after it. Connectors never see the store: the sync
//! driver in `accord-engine` persists their pages and checkpoints in one transaction.

pub mod file;
pub mod http;
pub mod registry;
pub mod vendors;

use std::fmt;

use accord_core::{ConfigError, FieldMapping, FieldPath, LinkRule, Normalizer, ObjectKind};
use futures::future::BoxFuture;
use serde_json::Value;

pub use registry::open_source;

/// A record as read from its source.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub data: Value,
    /// Where it was read, for files: `accounts.csv:14`.
    pub location: Option<String>,
    /// The record's content identity when whoever parsed it computed it already (the Event API
    /// hashes each event on the request's thread, `accord_engine::identity::event_id`, so the
    /// thread that commits does not); `None` has the pipeline compute it when it needs one.
    pub identity: Option<String>,
}

/// One item of a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Record(RawRecord),
    /// A row that could not be read as a record. Kept, with its raw content, never dropped.
    Malformed {
        location: String,
        problem: String,
        raw: Value,
    },
    /// The source says this record was deleted.
    Deleted {
        native_id: String,
    },
}

/// Counters a stream reports with each page, for progress display.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageStats {
    pub requests: u64,
    pub retries: u64,
    pub rate_limit_waits: u64,
    /// Work done and total work, in the stream's own unit (bytes for files), when known.
    pub position: Option<(u64, u64)>,
    /// Calls the vendor says are left of its daily budget after this page (Xero's
    /// `X-DayLimit-Remaining`), for vendors that count calls by the day.
    pub day_calls_left: Option<u64>,
}

/// A page of items and the cursor that resumes right after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    pub cursor: Value,
    pub stats: PageStats,
    /// Set when the page belongs to a read of every record the source still has for the object
    /// (an authoritative full list). The engine marks the records it stores with the pass, and
    /// when the pass completes, tombstones the records of the object that the pass never returned.
    pub full_pass: Option<FullPass>,
}

/// A read of the whole list of an object, across the pages that carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullPass {
    /// Identifies the pass. Kept in the stream's cursor, so a pass resumed after a crash (or
    /// restarted after an expired page locator) keeps its id and its earlier pages still count.
    pub id: String,
    /// This is the pass's last page: every record the source has was in it or in an earlier page
    /// of the same pass.
    pub complete: bool,
}

/// A source object, resolved: the connector's defaults with the user's overrides applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSpec {
    pub name: String,
    pub kind: ObjectKind,
    /// Where the record's id is. `None` only for events, which get a content id.
    pub native_id: Option<FieldPath>,
    pub link: Vec<LinkRule>,
    pub normalize: Vec<Normalizer>,
    pub fields: FieldMapping,
}

/// Errors that stop a stream.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("{path}: {problem}")]
    File { path: String, problem: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Fatal(String),
    /// The vendor refused a write for its value or its record (a validation error, a unique
    /// value another record holds): sending it again would be refused again.
    #[error("refused: {0}")]
    Refused(String),
}

/// A stream of pages for one object.
pub trait Stream: Send {
    /// The next page, or `None` at the end.
    fn next_page(&mut self) -> BoxFuture<'_, Result<Option<Page>, ConnectorError>>;
}

/// A configured source.
pub trait Connector: Send + Sync + fmt::Debug {
    /// The source kind (`file`, `salesforce`, ...).
    fn kind(&self) -> &'static str;

    /// The objects this source reads, in the order they must be read.
    fn objects(&self) -> &[ObjectSpec];

    /// Opens the stream of one object, resuming after `cursor` unless `full`.
    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError>;

    /// The saved cursors of this source's streams, given before its first stream opens in a
    /// sync: what the source's streams share (Xero's day budget) rides in them, and the stream
    /// that saved it last is not always the first to open.
    fn resume(&self, _cursors: &[Value]) {}

    /// How accord writes account ids back into this source (`accord propagate`), if it can.
    fn write_back(&self) -> Option<&dyn WriteBack> {
        None
    }
}

/// Writes accord's account_id into the field a source's best link rule reads (`accord
/// propagate`), through the vendor's API, within its rate limit and with its retries.
pub trait WriteBack: Send + Sync {
    /// The field of `object` the account id can be written into: the path its first link rule
    /// (a `field` rule) reads. `None`: the object cannot be written.
    fn writable_field(&self, object: &str) -> Option<&accord_core::FieldPath>;

    /// The field's value at the vendor now, read back from the record (`None`: empty).
    fn current<'a>(
        &'a self,
        object: &'a str,
        native_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ConnectorError>>;

    /// Writes `value` into the field; the vendor's answer in a few words.
    fn write<'a>(
        &'a self,
        object: &'a str,
        native_id: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<String, ConnectorError>>;

    /// Whether records of `object` can be created (carrying an account id). By default none can,
    /// and [`WriteBack::find`] and [`WriteBack::create`] refuse.
    fn can_create(&self, _object: &str) -> bool {
        false
    }

    /// The native id of a record of `object` that already carries `account_id`, if any (so a
    /// create is never made twice).
    fn find<'a>(
        &'a self,
        object: &'a str,
        _account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ConnectorError>> {
        Box::pin(async move { Err(ConnectorError::Fatal(format!("accord creates no {object} in this source"))) })
    }

    /// Creates a record of `object` for an account; its native id.
    fn create<'a>(&'a self, object: &'a str, _account: &'a NewRecord) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async move { Err(ConnectorError::Fatal(format!("accord creates no {object} in this source"))) })
    }
}

/// An account to create in a source (`accord propagate` with `create = true`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewRecord {
    pub account_id: String,
    pub name: String,
    /// The domain of the account's website (free-mail and unusable ones left out).
    pub domain: Option<String>,
}
