//! Declarative HTTP streams and the one runtime that interprets them.
//!
//! A `StreamDef` is data: where the records sit in a response, how to page, which record field is
//! the incremental cursor, how deletions show, what total the vendor reports. Only the first
//! request of a pass is code (it may need a query language, like SOQL). The runtime pages to the
//! end by the vendor's own "more" signal (never by guessing from a page's size), emits a cursor
//! after every page (the next request to send and the pass's high-water mark), and on a finished
//! pass moves the incremental start to the high-water mark, minus the vendor's overlap window.
//!
//! A pass either reads changes since the cursor, or reads the object's whole list. A whole-list
//! pass of an authoritative list is a reconciling full pass: every page carries its
//! [`FullPass`] mark, and its last page says it is complete, so the engine can tombstone what the
//! pass never returned. Passes are full on the first read, on `--full`, when the vendor's deletion
//! feed no longer reaches back to the cursor (Salesforce's `getDeleted` keeps 15 days), and every
//! `reconcile_every` for vendors without a deletion feed (Intercom).
//!
//! Where the vendor reports a total, a pass that read fewer records than it (or a page that holds
//! fewer than its own count) fails loudly: its last page is delivered with a cursor that restarts
//! the pass, and the stream then ends in an error naming both numbers. Counts are of what the
//! server returned, before repeats of the previous page's high-water mark are skipped. Reading
//! more than the total is only logged: records deleted during a pass, after they were read, do it.

use std::cmp::Ordering;
use std::sync::Arc;

use accord_core::FieldPath;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::{FetchStats, Fetched, HttpClient, RequestSpec};
use crate::{ConnectorError, FullPass, Item, ObjectSpec, Page, PageStats, RawRecord, Stream};

/// How a stream pages. Each variant follows the vendor's own signal for "more pages follow".
#[derive(Debug, Clone)]
pub enum Paginator {
    /// The response holds the next page's URL (Salesforce `nextRecordsUrl`, Zendesk `after_url`),
    /// and optionally a flag that says it was the last page (`done`, `end_of_stream`). A response
    /// whose flag says more follow but that has no URL is an error.
    NextUrl { field: FieldPath, done: Option<FieldPath> },
    /// Intercom's cursor: the token at `field` goes back as `starting_after`, in the JSON body's
    /// `pagination` of a search (POST) or as a query parameter of a list (GET). No token: the end.
    StartingAfter { field: FieldPath },
    /// `page` numbers: more follow while the response has a `next` (any non-null value) or its
    /// page number is below `total_pages` (Intercom's `pages`). A response with neither is an
    /// error, and so is an empty page that says more follow.
    PageNumber { param: String, first: u64, next: FieldPath, page: FieldPath, total_pages: FieldPath },
    /// One page only.
    Single,
    /// `page` numbers with no total and no link: the page after the last one is empty
    /// (Delighted's lists). A page shorter than asked is not the end, since a server may serve
    /// fewer than asked; only an empty page is. `param` starts at `first`.
    UntilEmpty { param: String, first: u64 },
    /// The answer's `Link` header names the next page (`<https://...?page=2>; rel="next"`), as
    /// Freshdesk, Capsule and GitHub page their lists: that URL is the next request, as given
    /// (it carries every parameter of the list). No `rel="next"` entry: the end. A link to the
    /// page it came from, or an empty page that links to another, is an error.
    LinkHeader,
    /// A continuation token: the token at `field` goes back as `param`, as a query parameter of
    /// a GET or a top-level member of a POST's JSON body (JIRA's `nextPageToken`, Keap's
    /// `next_page_token` sent as `page_token`). No token (absent, null or empty), or `last` true:
    /// the end. A token equal to the one just sent is an error (the server would loop), and so is
    /// `last` false without a token.
    NextToken { field: FieldPath, param: String, last: Option<FieldPath> },
    /// Stripe's lists: while the flag at `more` is true (`has_more`), the next page is the same
    /// request with `starting_after` set to the id (at `id`) of the page's last record. A page
    /// that says more follow but is empty, or whose last id is the one just sent, is an error.
    HasMore { more: FieldPath, id: FieldPath },
    /// Recurly's lists: while the flag at `more` is true (`has_more`), the path at `field`
    /// (`next`, the list's path with its query and a `cursor`) is the next request, as given.
    /// A flag that says more follow without a path, or a path to the page it came from, is an error.
    NextPath { field: FieldPath, more: FieldPath },
    /// Zuora's ZOQL `queryMore`: while the flag at `done` is false, the next page is a POST to
    /// `path` whose JSON body holds the answer's locator (at `locator`) as `param`
    /// (`{"queryLocator": "..."}`). `done` false without a locator, or a locator equal to the
    /// one just sent, is an error.
    QueryMore { path: String, locator: FieldPath, param: String, done: FieldPath },
    /// A GraphQL Relay connection (Braintree's searches): the records path names the
    /// connection's `edges`, each page's records are the edges' `node`s (an edge without one
    /// holds no record), and while `{page_info}.hasNextPage` is true the next page is the same
    /// POST with the `variables` member named `after` set to `{page_info}.endCursor`. More pages
    /// without an end cursor, or an end cursor equal to the one just sent, is an error.
    Relay { page_info: FieldPath, after: String },
}

/// A count the vendor reports, checked against the records it returned.
#[derive(Debug, Clone)]
pub enum Total {
    /// Every page holds the number of records of the whole pass (Salesforce `totalSize`,
    /// Intercom `total_count`); the latest page's value is the one checked when the pass ends.
    Pass(FieldPath),
    /// Every page holds the number of records on it (Zendesk's time-based export `count`).
    Page(FieldPath),
}

/// The part of a pass that varies: the incremental start (`since`), if any.
pub type FirstRequest = Arc<dyn Fn(Option<&Value>) -> RequestSpec + Send + Sync>;

/// The request for deletions from `start` to `end`, both in the server's time.
pub type DeletedRequest = Arc<dyn Fn(DateTime<Utc>, DateTime<Utc>) -> RequestSpec + Send + Sync>;

/// A feed of deletions read at the start of every incremental pass (Salesforce `getDeleted`).
/// On a stream paged by [`Paginator::LinkHeader`], the feed is a list paged the same way
/// (Freshdesk's `filter=deleted`), read to its last page.
#[derive(Clone)]
pub struct DeletionFeed {
    pub request: DeletedRequest,
    /// Where the array of deletions sits in the answer, and the id inside each.
    pub list: FieldPath,
    pub id: FieldPath,
    /// Where the answer says the next read must start (`latestDateCovered`); without it, the next
    /// read starts at this read's end.
    pub next_start: Option<FieldPath>,
    /// Where the answer says how far back the log reaches (`earliestDateAvailable`): a start
    /// before it may have missed deletions, so the pass becomes a reconciling full pass.
    pub earliest: Option<FieldPath>,
    /// Error codes of a refusal meaning "the log does not reach back that far"
    /// (`INVALID_REPLICATION_DATE`): the pass becomes a reconciling full pass.
    pub gap_errors: Vec<&'static str>,
    /// How far back the log is documented to reach: an older start goes straight to a full pass.
    pub window: chrono::Duration,
    /// The shortest span the vendor accepts: a read due sooner waits for the next pass.
    pub min_span: chrono::Duration,
}

/// One stream, as data.
#[derive(Clone)]
pub struct StreamDef {
    pub object: ObjectSpec,
    pub first_request: FirstRequest,
    /// Where the array of records sits in a response. An answer that is itself an array
    /// (Delighted's lists) is the records, whatever this says.
    pub records: FieldPath,
    pub paginator: Paginator,
    /// The record field that orders changes (`SystemModstamp`, `updated_at`), for incremental sync.
    pub cursor_field: Option<FieldPath>,
    /// How far before the high-water mark the next pass starts (for day-granular filters, and
    /// because "changed in the same second" is easy to miss). Expressed in the cursor's own unit:
    /// seconds for Unix times, seconds for ISO-8601 text.
    pub overlap_seconds: i64,
    /// A record field and value meaning "deleted at the source" (Zendesk's `status: deleted`).
    pub deleted_when: Option<(FieldPath, Value)>,
    /// Deletions reported by a separate request (Salesforce `getDeleted`).
    pub deletions: Option<DeletionFeed>,
    /// A pass without `since` returns every record the source still has, and no deleted record
    /// as live (Salesforce `query`, not `queryAll`; Intercom's lists). Only such passes carry
    /// `FullPass` marks. Zendesk's exports are not: they leave out the last minute's changes.
    pub authoritative: bool,
    /// The count the vendor reports, if any.
    pub total: Option<Total>,
    /// For vendors without a deletion feed: how often a pass reads the whole list to reconcile
    /// deletions (`None`: only the first pass and `--full` do).
    pub reconcile_every: Option<chrono::Duration>,
}

impl std::fmt::Debug for DeletionFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeletionFeed").field("list", &self.list).field("window", &self.window).finish()
    }
}

impl std::fmt::Debug for StreamDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDef")
            .field("object", &self.object.name)
            .field("paginator", &self.paginator)
            .field("authoritative", &self.authoritative)
            .finish()
    }
}

/// The cursor a page carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpCursor {
    /// Where the current pass started (the incremental filter), `None` for a full read.
    pub since: Option<Value>,
    /// The greatest cursor-field value seen in this pass.
    pub high_water: Option<Value>,
    /// The next request of an unfinished pass. `None` with `complete: false`: the pass starts
    /// again from `since` (its count disagreed with the vendor's total).
    pub next: Option<RequestSpec>,
    /// The pass reached its end.
    pub complete: bool,
    /// (id, cursor value) of the last page's records at its high-water mark: time-based exports
    /// restart at that instant, so these come again and are skipped once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boundary: Vec<(String, Value)>,
    /// The id of the reconciling full pass this cursor belongs to, kept across a resume or a
    /// restart so the pass's earlier pages still count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_pass: Option<String>,
    /// Records the vendor returned in this pass so far, repeats included.
    #[serde(default)]
    pub returned: u64,
    /// The vendor's total for the pass, as its latest page reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// When the pass started, in the server's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<DateTime<Utc>>,
    /// Where the next read of the deletion feed starts, in the server's time: the answer's
    /// `latestDateCovered`, or (after a full pass) shortly before the full pass started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletions_from: Option<DateTime<Utc>>,
    /// When the last completed reconciling full pass started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_full_pass: Option<DateTime<Utc>>,
}

/// A full pass's deletion start is this much before the pass started: the server's clock is
/// known to the second, and a deletion read twice is harmless.
const DELETION_MARGIN_SECONDS: i64 = 60;

/// What the next page must do first.
#[derive(Debug)]
enum Start {
    /// Plan a new pass after `previous` (a finished cursor, or none); `full` when asked for.
    Plan { previous: Option<Box<HttpCursor>>, full: bool },
    /// Continue the saved pass from its next request; if the vendor refuses it (an expired
    /// locator), restart the pass.
    Resume,
    /// Send the pass's first request again (`since`, full-pass id and deletion start kept).
    Restart,
    /// Continue the pass read in this process.
    Continue,
}

/// A stream being read.
#[derive(Debug)]
pub struct HttpStream {
    client: Arc<HttpClient>,
    def: Arc<StreamDef>,
    cursor: HttpCursor,
    start: Start,
    /// The pass failed after its last page was delivered: the next call ends the stream with it.
    failure: Option<String>,
    done: bool,
}

/// What a read of the deletion feed found.
enum Deletions {
    Read {
        ids: Vec<String>,
        next_from: DateTime<Utc>,
    },
    /// The span since the last read is shorter than the vendor accepts.
    TooSoon,
    /// The log does not reach back to the cursor: deletions may have been missed.
    Gap(String),
}

impl HttpStream {
    /// Starts from a saved cursor: continues an unfinished pass, or plans the next pass after a
    /// finished one; `full` ignores the cursor and reads the whole list.
    pub fn new(client: Arc<HttpClient>, def: Arc<StreamDef>, saved: Option<Value>, full: bool) -> Self {
        let saved: Option<HttpCursor> = if full { None } else { saved.and_then(|v| serde_json::from_value(v).ok()) };
        let (cursor, start) = match saved {
            Some(c) if !c.complete && c.next.is_some() => (c, Start::Resume),
            Some(c) if !c.complete && (c.started.is_some() || c.full_pass.is_some()) => (c, Start::Restart),
            previous => (HttpCursor::default(), Start::Plan { previous: previous.map(Box::new), full }),
        };
        Self { client, def, cursor, start, failure: None, done: false }
    }

    fn name(&self) -> &str {
        &self.def.object.name
    }

    /// Why the next pass after `previous` must read the whole list, if it must.
    fn full_reason(&self, previous: Option<&HttpCursor>, full: bool) -> Option<String> {
        if full {
            return Some("a full read was asked for".into());
        }
        let Some(p) = previous else { return Some("no earlier pass".into()) };
        let now = Utc::now();
        if let Some(feed) = &self.def.deletions {
            return match p.deletions_from {
                None => Some("the cursor has no start for the deletion feed".into()),
                Some(from) if now - from > feed.window => Some(format!(
                    "the deletion feed reaches back {} days, and the cursor's deletion start {from} is older",
                    feed.window.num_days()
                )),
                Some(_) => None,
            };
        }
        let every = self.def.reconcile_every?;
        match p.last_full_pass {
            None => Some("no reconciling pass yet".into()),
            Some(at) if now - at >= every => Some(format!("the last reconciling pass started at {at}")),
            Some(_) => None,
        }
    }

    /// A fresh cursor for a full pass following `previous`.
    fn full_cursor(&self, previous: Option<&HttpCursor>) -> HttpCursor {
        let id = self.def.authoritative.then(|| format!("{:016x}", rand::rng().random::<u64>()));
        HttpCursor { full_pass: id, last_full_pass: previous.and_then(|p| p.last_full_pass), ..HttpCursor::default() }
    }

    /// Stamps the start of a pass with the server's time of its first answer.
    fn started(&mut self, fetched: &Fetched) -> DateTime<Utc> {
        let at = fetched.server_time.unwrap_or_else(Utc::now);
        self.cursor.started = Some(at);
        at
    }

    /// Sends the first request of a new pass: a full pass, or an incremental one that first reads
    /// the deletion feed (and becomes a full pass if the feed has a gap).
    async fn begin(
        &mut self,
        previous: Option<HttpCursor>,
        full: bool,
        stats: &mut FetchStats,
        deleted: &mut Vec<Item>,
    ) -> Result<(RequestSpec, Fetched), ConnectorError> {
        let (prev, reason) = match self.full_reason(previous.as_ref(), full) {
            None => match previous {
                Some(prev) => (prev, None),
                None => (HttpCursor::default(), Some("no earlier pass".to_owned())),
            },
            reason => (previous.unwrap_or_default(), reason),
        };
        if let Some(why) = reason {
            tracing::info!(stream = %self.name(), reason = %why, "reading the whole list");
            return self.begin_full(Some(&prev), stats).await;
        }
        let since = prev.high_water.clone().or(prev.since.clone()).map(|v| back_off(&v, self.def.overlap_seconds));
        self.cursor = HttpCursor {
            since,
            // The records at the mark were read already: skip them once if they come again.
            boundary: prev.boundary.clone(),
            deletions_from: prev.deletions_from,
            last_full_pass: prev.last_full_pass,
            ..HttpCursor::default()
        };
        let request = (self.def.first_request)(self.cursor.since.as_ref());
        let fetched = self.client.fetch_page(&request, stats).await?;
        let now = self.started(&fetched);
        let Some(feed) = self.def.deletions.clone() else { return Ok((request, fetched)) };
        match self.read_deletions(&feed, now, stats).await? {
            Deletions::Read { ids, next_from } => {
                deleted.extend(ids.into_iter().map(|native_id| Item::Deleted { native_id }));
                self.cursor.deletions_from = Some(next_from);
                Ok((request, fetched))
            }
            Deletions::TooSoon => Ok((request, fetched)),
            Deletions::Gap(why) => {
                tracing::warn!(stream = %self.name(), reason = %why, "deletions may have been missed; reading the whole list");
                self.begin_full(Some(&prev), stats).await
            }
        }
    }

    async fn begin_full(
        &mut self,
        previous: Option<&HttpCursor>,
        stats: &mut FetchStats,
    ) -> Result<(RequestSpec, Fetched), ConnectorError> {
        self.cursor = self.full_cursor(previous);
        let request = (self.def.first_request)(None);
        let fetched = self.client.fetch_page(&request, stats).await?;
        let at = self.started(&fetched);
        if self.def.deletions.is_some() {
            // Deletions before this instant are reconciled by the pass itself (the records are
            // not in it); the next incremental pass asks the feed for the ones after.
            self.cursor.deletions_from = Some(at - chrono::Duration::seconds(DELETION_MARGIN_SECONDS));
        }
        Ok((request, fetched))
    }

    /// Reads the deletion feed from the cursor's start to `end` (the server's time).
    async fn read_deletions(
        &self,
        feed: &DeletionFeed,
        end: DateTime<Utc>,
        stats: &mut FetchStats,
    ) -> Result<Deletions, ConnectorError> {
        let Some(from) = self.cursor.deletions_from else {
            return Ok(Deletions::Gap("the cursor has no start for the deletion feed".into()));
        };
        if end - from <= feed.min_span {
            return Ok(Deletions::TooSoon);
        }
        let mut request = (feed.request)(from, end);
        let mut ids = Vec::new();
        let answer = loop {
            let fetched = match self.client.fetch_or_refusal(&request, stats).await? {
                Ok(fetched) => fetched,
                Err(refusal) => {
                    return match feed.gap_errors.iter().find(|code| refusal.body.contains(*code)) {
                        Some(code) => {
                            Ok(Deletions::Gap(format!("the deletion feed refused the start {from} ({code})")))
                        }
                        None => Err(ConnectorError::Fatal(format!("{}: {}", self.name(), refusal.message))),
                    };
                }
            };
            let answer = fetched.body;
            let page = match feed.list.get(&answer) {
                Some(Value::Array(gone)) => gone.as_slice(),
                None | Some(Value::Null) => &[],
                Some(other) => {
                    return Err(ConnectorError::Fatal(format!(
                        "{}: expected an array at {} in the deletion feed's answer, found {}",
                        self.name(),
                        feed.list,
                        type_name(other)
                    )));
                }
            };
            ids.extend(
                page.iter().filter_map(|g| feed.id.get(g).and_then(|v| accord_core::id::key_text(v).ok().flatten())),
            );
            // A feed on a list paged by `Link` headers (Freshdesk's deleted tickets) is read to
            // its last page; other feeds answer in one document.
            let next = match self.def.paginator {
                Paginator::LinkHeader => next_link_request(&request, fetched.next_link.as_deref(), page.len())
                    .map_err(|why| ConnectorError::Fatal(format!("{}: deletion feed: {why}", self.name())))?,
                _ => None,
            };
            match next {
                Some(next) => request = next,
                None => break answer,
            }
        };
        let instant = |p: &Option<FieldPath>| {
            p.as_ref().and_then(|p| p.get(&answer)).and_then(accord_core::time::parse_timestamp)
        };
        if let Some(earliest) = instant(&feed.earliest)
            && earliest > from
        {
            return Ok(Deletions::Gap(format!(
                "the deletion log starts at {earliest}, after the cursor's start {from}"
            )));
        }
        // Never move the start back, and never past this read's end.
        let next_from = instant(&feed.next_start).map_or(end, |t| t.min(end)).max(from);
        Ok(Deletions::Read { ids, next_from })
    }

    /// The saved pass's next request; a refused one (an expired locator) restarts the pass.
    async fn resume(&mut self, stats: &mut FetchStats) -> Result<(RequestSpec, Fetched), ConnectorError> {
        let Some(request) = self.cursor.next.clone() else { return self.restart(stats).await };
        match self.client.fetch_page(&request, stats).await {
            Ok(f) => Ok((request, f)),
            Err(e) => {
                tracing::warn!(error = %e, stream = %self.name(), "the saved page position was refused; restarting the pass");
                self.restart(stats).await
            }
        }
    }

    /// Sends the pass's first request again. Its earlier pages were delivered already: the count
    /// starts over, the full-pass id stays.
    async fn restart(&mut self, stats: &mut FetchStats) -> Result<(RequestSpec, Fetched), ConnectorError> {
        self.cursor.next = None;
        self.cursor.returned = 0;
        self.cursor.total = None;
        let request = (self.def.first_request)(self.cursor.since.as_ref());
        let fetched = self.client.fetch_page(&request, stats).await?;
        if self.cursor.started.is_none() {
            self.started(&fetched);
        }
        Ok((request, fetched))
    }

    async fn page(&mut self) -> Result<Option<Page>, ConnectorError> {
        if self.done {
            return Ok(None);
        }
        if let Some(failure) = self.failure.take() {
            self.done = true;
            return Err(ConnectorError::Fatal(failure));
        }
        let mut stats = FetchStats::default();
        let mut items = Vec::new();
        let (request, fetched) = match std::mem::replace(&mut self.start, Start::Continue) {
            Start::Plan { previous, full } => self.begin(previous.map(|p| *p), full, &mut stats, &mut items).await?,
            Start::Resume => self.resume(&mut stats).await?,
            Start::Restart => self.restart(&mut stats).await?,
            Start::Continue => {
                let request = self.cursor.next.clone().ok_or_else(|| {
                    ConnectorError::Fatal(format!("{}: the pass has no next request", self.def.object.name))
                })?;
                let fetched = self.client.fetch_page(&request, &mut stats).await?;
                (request, fetched)
            }
        };
        let next_link = fetched.next_link;
        let mut body = fetched.body;
        // An answer that is itself an array is the page's records (Delighted's lists).
        let bare = if body.is_array() { Some(body.take()) } else { None };
        let records = match bare.or_else(|| self.def.records.take(&mut body)) {
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => Vec::new(),
            Some(other) => {
                return Err(ConnectorError::Fatal(format!(
                    "{}: expected an array at {} in the response, found {}",
                    self.name(),
                    self.def.records,
                    type_name(&other)
                )));
            }
        };
        let records = match &self.def.paginator {
            Paginator::Relay { .. } => relay_nodes(records),
            _ => records,
        };
        let count = records.len();
        let last_id = match &self.def.paginator {
            Paginator::HasMore { id, .. } => {
                records.last().and_then(|r| id.get(r)).and_then(|v| accord_core::id::key_text(v).ok().flatten())
            }
            _ => None,
        };
        self.cursor.returned += count as u64;
        let mut failure = None;
        match &self.def.total {
            Some(Total::Pass(field)) => {
                // What a pass must read: for an incremental pass, what matched when it started
                // (records that start matching later changed after it began, and the next pass
                // reads them); for a whole-list pass, the list as it ends (records created during
                // the pass are appended to it and read).
                if let Some(n) = field.get(&body).and_then(Value::as_u64)
                    && (self.cursor.since.is_none() || self.cursor.total.is_none())
                {
                    self.cursor.total = Some(n);
                }
            }
            Some(Total::Page(field)) => {
                if let Some(n) = field.get(&body).and_then(Value::as_u64)
                    && n != count as u64
                {
                    failure = Some(format!(
                        "{}: a page says {field} = {n} but holds {count} records; the vendor's answer is \
                         incomplete, so the pass starts again on the next sync",
                        self.name()
                    ));
                }
            }
            None => {}
        }
        let previous_boundary = std::mem::take(&mut self.cursor.boundary);
        let def = &self.def;
        let id_of = |record: &Value| {
            def.object
                .native_id
                .as_ref()
                .and_then(|p| p.get(record))
                .and_then(|v| accord_core::id::key_text(v).ok().flatten())
        };
        let cursor_of = |record: &Value| def.cursor_field.as_ref().and_then(|c| c.get(record)).cloned();
        // First pass, by reference: the page's high-water mark and the records sitting on it.
        let mut page_max: Option<Value> = None;
        for record in &records {
            if let Some(at) = cursor_of(record)
                && page_max.as_ref().is_none_or(|m| compare(&at, m) == Ordering::Greater)
            {
                page_max = Some(at);
            }
        }
        if let Some(max) = &page_max
            && self.cursor.high_water.as_ref().is_none_or(|hw| compare(max, hw) == Ordering::Greater)
        {
            self.cursor.high_water = Some(max.clone());
        }
        let boundary: Vec<(String, Value)> = match &page_max {
            Some(max) => records
                .iter()
                .filter(|r| cursor_of(r).as_ref() == Some(max))
                .filter_map(|r| id_of(r).map(|id| (id, max.clone())))
                .collect(),
            None => Vec::new(),
        };
        // Second pass, by value: the items (after the deletion feed's, so a record deleted and
        // restored ends live), skipping what the previous page's mark already gave.
        items.reserve(count);
        for record in records {
            if !previous_boundary.is_empty()
                && let (Some(id), Some(at)) = (id_of(&record), cursor_of(&record))
                && previous_boundary.iter().any(|(i, c)| *i == id && *c == at)
            {
                continue;
            }
            let deleted = def.deleted_when.as_ref().is_some_and(|(f, v)| f.get(&record) == Some(v));
            match (deleted, id_of(&record)) {
                (true, Some(native_id)) => items.push(Item::Deleted { native_id }),
                _ => items.push(Item::Record(RawRecord { data: record, location: None, identity: None })),
            }
        }
        // A page without cursor values (the empty last page) keeps the mark of the one before.
        self.cursor.boundary = if boundary.is_empty() { previous_boundary } else { boundary };
        let next = match &self.def.paginator {
            Paginator::LinkHeader => next_link_request(&request, next_link.as_deref(), count),
            Paginator::HasMore { more, .. } => has_more_request(&request, more, &body, last_id),
            paginator => next_request(paginator, &request, &body, count),
        }
        .map_err(|why| ConnectorError::Fatal(format!("{}: {why}", self.name())))?;
        self.cursor.next = next;
        if self.cursor.next.is_none()
            && failure.is_none()
            && let (Some(Total::Pass(field)), Some(total)) = (&self.def.total, self.cursor.total)
        {
            let returned = self.cursor.returned;
            if returned < total {
                failure = Some(format!(
                    "{}: the pass read {returned} records but the vendor's {field} says {total}; paging ended \
                     early or the vendor lost records, so the pass is not complete and starts again on the next sync",
                    self.name()
                ));
            } else if returned > total {
                // More than the total is what a record deleted after it was read (or a repeat
                // across shifting pages) gives: nothing was lost.
                tracing::warn!(stream = %self.name(), returned, total, %field, "the pass read more records than the vendor's total");
            }
        }
        let mut full_pass = self.cursor.full_pass.clone().map(|id| FullPass { id, complete: false });
        if let Some(failure) = failure {
            tracing::error!(stream = %self.name(), %failure, "the pass disagrees with the vendor's count");
            // Deliver what was read, with a cursor that starts the pass again.
            self.cursor.next = None;
            self.cursor.complete = false;
            self.failure = Some(failure);
        } else if self.cursor.next.is_none() {
            self.cursor.complete = true;
            self.done = true;
            if self.cursor.full_pass.is_some() {
                self.cursor.last_full_pass = self.cursor.started;
            }
            if let Some(mark) = &mut full_pass {
                mark.complete = true;
            }
        }
        let page_stats = PageStats {
            requests: stats.requests,
            retries: stats.retries,
            rate_limit_waits: stats.rate_limit_waits,
            position: None,
            day_calls_left: None,
        };
        Ok(Some(Page {
            items,
            cursor: serde_json::to_value(&self.cursor).unwrap_or(Value::Null),
            stats: page_stats,
            full_pass,
        }))
    }
}

impl Stream for HttpStream {
    fn next_page(&mut self) -> BoxFuture<'_, Result<Option<Page>, ConnectorError>> {
        Box::pin(self.page())
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The request for the page after `body`, `None` at the end, or why the answer is inconsistent.
fn next_request(
    p: &Paginator,
    current: &RequestSpec,
    body: &Value,
    count: usize,
) -> Result<Option<RequestSpec>, String> {
    match p {
        Paginator::NextUrl { field, done } => {
            let flag = done.as_ref().and_then(|f| f.get(body)).and_then(Value::as_bool);
            if flag == Some(true) {
                return Ok(None);
            }
            match field.get(body).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                Some(url) if url == current.path && current.query.is_empty() => {
                    Err(format!("the vendor's {field} points at the page it came from ({url})"))
                }
                Some(url) => Ok(Some(RequestSpec::get(url))),
                None if flag == Some(false) => Err(format!(
                    "the response says more pages follow ({} is false) but has no {field}",
                    done.as_ref().map_or_else(String::new, ToString::to_string)
                )),
                None => Ok(None),
            }
        }
        Paginator::NextPath { field, more } => {
            if more.get(body).and_then(Value::as_bool) != Some(true) {
                return Ok(None);
            }
            match field.get(body).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                None => Err(format!("the response says more pages follow ({more} is true) but has no {field}")),
                Some(next) if current.query.is_empty() && next == current.path => {
                    Err(format!("the vendor's {field} points at the page it came from ({next})"))
                }
                Some(next) => Ok(Some(RequestSpec::get(next))),
            }
        }
        Paginator::StartingAfter { field } => {
            let Some(token) = field.get(body).and_then(|v| accord_core::id::key_text(v).ok().flatten()) else {
                return Ok(None);
            };
            let after = FieldPath::parse("pagination.starting_after").expect("static path");
            let previous = match current.body.as_ref() {
                Some(b) => after.get(b).and_then(Value::as_str).map(str::to_owned),
                None => current.query.iter().find(|(n, _)| n == "starting_after").map(|(_, v)| v.clone()),
            };
            if previous.as_deref() == Some(token.as_str()) {
                return Err(format!("the vendor's {field} repeats the token of the page it came from"));
            }
            let mut next = current.clone();
            match next.body.as_mut() {
                Some(b) => {
                    after.set(b, Value::String(token));
                }
                None => next = next.param("starting_after", token),
            }
            Ok(Some(next))
        }
        Paginator::PageNumber { param, first, next, page, total_pages } => {
            let asked =
                current.query.iter().find(|(n, _)| n == param).and_then(|(_, v)| v.parse().ok()).unwrap_or(*first);
            let this = page.get(body).and_then(Value::as_u64).unwrap_or(asked);
            let has_next = next.get(body).is_some_and(|v| !v.is_null());
            let total = total_pages.get(body).and_then(Value::as_u64);
            let more = match (has_next, total) {
                (true, _) => true,
                (false, Some(total)) => this < total,
                (false, None) if next.get(body).is_some() => false,
                (false, None) => {
                    return Err(format!("the response has neither {next} nor {total_pages}, so its end is unknown"));
                }
            };
            if !more {
                return Ok(None);
            }
            if count == 0 {
                return Err(format!(
                    "page {this} is empty but the vendor says more follow ({total_pages} = {})",
                    total.map_or_else(|| "unknown".to_owned(), |t| t.to_string())
                ));
            }
            Ok(Some(current.clone().param(param, (this + 1).to_string())))
        }
        Paginator::QueryMore { path, locator, param, done } => {
            match done.get(body).and_then(Value::as_bool) {
                Some(true) => return Ok(None),
                Some(false) => {}
                None => return Err(format!("the response has no boolean {done}, so its end is unknown")),
            }
            let Some(token) = locator.get(body).and_then(Value::as_str).filter(|t| !t.is_empty()) else {
                return Err(format!("the response says more rows follow ({done} is false) but has no {locator}"));
            };
            let previous = current.body.as_ref().and_then(|b| b.get(param.as_str())).and_then(Value::as_str);
            if previous == Some(token) {
                return Err(format!("the vendor's {locator} repeats the locator of the page it came from"));
            }
            Ok(Some(RequestSpec::post(path.clone(), serde_json::json!({ param.as_str(): token }))))
        }
        Paginator::Relay { page_info, after } => relay_request(current, page_info, after, body),
        Paginator::Single => Ok(None),
        Paginator::UntilEmpty { param, first } => {
            if count == 0 {
                return Ok(None);
            }
            let this: u64 =
                current.query.iter().find(|(n, _)| n == param).and_then(|(_, v)| v.parse().ok()).unwrap_or(*first);
            Ok(Some(current.clone().param(param, (this + 1).to_string())))
        }
        Paginator::LinkHeader => Err("the Link header paginator reads the answer's headers".into()),
        Paginator::HasMore { .. } => Err("the has-more paginator reads the page's last record".into()),
        Paginator::NextToken { field, param, last } => {
            let flag = last.as_ref().and_then(|f| f.get(body)).and_then(Value::as_bool);
            let token = field.get(body).and_then(Value::as_str).filter(|t| !t.is_empty());
            let token = match (flag, token) {
                (Some(true), _) => return Ok(None),
                (Some(false), None) => {
                    return Err(format!(
                        "the response says more pages follow ({} is false) but has no {field}",
                        last.as_ref().map_or_else(String::new, ToString::to_string)
                    ));
                }
                (_, None) => return Ok(None),
                (_, Some(t)) => t.to_owned(),
            };
            let previous = match current.body.as_ref() {
                Some(b) => b.get(param.as_str()).and_then(Value::as_str).map(str::to_owned),
                None => current.query.iter().find(|(n, _)| n == param).map(|(_, v)| v.clone()),
            };
            if previous.as_deref() == Some(token.as_str()) {
                return Err(format!("the vendor's {field} repeats the token of the page it came from"));
            }
            let mut next = current.clone();
            match next.body.as_mut() {
                Some(Value::Object(b)) => {
                    b.insert(param.clone(), Value::String(token));
                }
                Some(_) => return Err("the request body is not a JSON object; the token has no place".into()),
                None => next = next.param(param, token),
            }
            Ok(Some(next))
        }
    }
}

/// The records of a Relay page: its edges' nodes, in order; an edge with a null or missing node
/// (the schema allows it) holds none.
fn relay_nodes(edges: Vec<Value>) -> Vec<Value> {
    edges
        .into_iter()
        .filter_map(|mut edge| match edge.get_mut("node").map(Value::take) {
            Some(Value::Null) | None => None,
            Some(node) => Some(node),
        })
        .collect()
}

/// The request after a Relay page: the same query with `variables.<after>` set to the page's
/// end cursor while `hasNextPage` is true.
fn relay_request(
    current: &RequestSpec,
    page_info: &FieldPath,
    after: &str,
    body: &Value,
) -> Result<Option<RequestSpec>, String> {
    let Some(info) = page_info.get(body) else {
        return Err(format!("the response has no {page_info}, so its end is unknown"));
    };
    match info.get("hasNextPage") {
        Some(Value::Bool(false)) => return Ok(None),
        Some(Value::Bool(true)) => {}
        other => {
            return Err(format!(
                "expected a boolean at {page_info}.hasNextPage, found {}",
                other.map_or("nothing", type_name)
            ));
        }
    }
    let Some(cursor) = info.get("endCursor").and_then(Value::as_str).filter(|c| !c.is_empty()) else {
        return Err(format!("the response says more pages follow ({page_info}.hasNextPage) but has no endCursor"));
    };
    let mut next = current.clone();
    let Some(Value::Object(request)) = next.body.as_mut() else {
        return Err("a Relay connection is read by a POST with a JSON body; this request has none".into());
    };
    let variables = request.entry("variables").or_insert_with(|| json!({}));
    let Value::Object(variables) = variables else {
        return Err("the request's variables are not a JSON object".into());
    };
    if variables.get(after).and_then(Value::as_str) == Some(cursor) {
        return Err(format!("the vendor's endCursor repeats the cursor of the page it came from ({cursor})"));
    }
    variables.insert(after.to_owned(), Value::String(cursor.to_owned()));
    Ok(Some(next))
}

/// The request after a page of a `has_more` list whose last record's id is `last_id`.
fn has_more_request(
    current: &RequestSpec,
    more: &FieldPath,
    body: &Value,
    last_id: Option<String>,
) -> Result<Option<RequestSpec>, String> {
    match more.get(body) {
        Some(Value::Bool(false)) => return Ok(None),
        Some(Value::Bool(true)) => {}
        other => return Err(format!("expected a boolean at {more}, found {}", other.map_or("nothing", type_name))),
    }
    let Some(last) = last_id else {
        return Err(format!("the page says more follow ({more} is true) but has no record to continue after"));
    };
    if current.query.iter().any(|(k, v)| k == "starting_after" && *v == last) {
        return Err(format!("the page after {last} ends with {last} again"));
    }
    Ok(Some(current.clone().param("starting_after", last)))
}

/// The request for the page after one whose `Link` header named `link` as next (`None`: the end).
fn next_link_request(current: &RequestSpec, link: Option<&str>, count: usize) -> Result<Option<RequestSpec>, String> {
    let Some(url) = link.map(str::trim).filter(|u| !u.is_empty()) else { return Ok(None) };
    let same = if current.query.is_empty() {
        url == current.path
    } else {
        let query: Vec<String> = current.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        url.ends_with(&format!("{}?{}", current.path, query.join("&")))
    };
    if same {
        return Err(format!("the Link header's next page is the page it came from ({url})"));
    }
    if count == 0 {
        return Err(format!("an empty page links to a next one ({url})"));
    }
    Ok(Some(RequestSpec::get(url)))
}

/// Orders cursor values: numbers numerically, text as RFC 3339 instants when both parse, else
/// lexically.
fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => match (parse_instant(x), parse_instant(y)) {
            (Some(p), Some(q)) => p.cmp(&q),
            _ => x.cmp(y),
        },
        _ => Ordering::Equal,
    }
}

fn parse_instant(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    accord_core::time::parse_timestamp(&Value::String(s.to_owned()))
}

/// The high-water mark moved back by the overlap window, in the mark's own form.
fn back_off(v: &Value, seconds: i64) -> Value {
    if seconds == 0 {
        return v.clone();
    }
    match v {
        Value::Number(n) => n.as_i64().map(|i| json!(i - seconds)).unwrap_or_else(|| v.clone()),
        Value::String(s) => parse_instant(s)
            .map(|t| {
                let back = t - chrono::Duration::seconds(seconds);
                Value::String(back.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            })
            .unwrap_or_else(|| v.clone()),
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> FieldPath {
        FieldPath::parse(p).unwrap()
    }

    #[test]
    fn next_urls_follow_the_done_flag_and_refuse_a_missing_link() {
        let cur = RequestSpec::get("/x").param("per_page", "2");
        let p = Paginator::NextUrl { field: path("next"), done: Some(path("done")) };
        let next = next_request(&p, &cur, &json!({"next": "/q/2", "done": false}), 2).unwrap();
        assert_eq!(next.unwrap().path, "/q/2");
        assert_eq!(next_request(&p, &cur, &json!({"next": "/q/2", "done": true}), 2), Ok(None));
        let err = next_request(&p, &cur, &json!({"done": false}), 2).unwrap_err();
        assert!(err.contains("done is false") && err.contains("no next"), "{err}");
        assert_eq!(next_request(&p, &cur, &json!({}), 2), Ok(None), "no flag and no link: the end");
        let same = RequestSpec::get("/q/2");
        assert!(next_request(&p, &same, &json!({"next": "/q/2", "done": false}), 2).is_err());
    }

    #[test]
    fn query_more_posts_the_locator_until_done() {
        let p = Paginator::QueryMore {
            path: "/v1/action/queryMore".into(),
            locator: path("queryLocator"),
            param: "queryLocator".into(),
            done: path("done"),
        };
        let first = RequestSpec::post("/v1/action/query", json!({"queryString": "select Id from Account"}));
        let next =
            next_request(&p, &first, &json!({"done": false, "queryLocator": "L1", "size": 9}), 2).unwrap().unwrap();
        assert_eq!((next.method.as_str(), next.path.as_str()), ("POST", "/v1/action/queryMore"));
        assert_eq!(next.body, Some(json!({"queryLocator": "L1"})));
        assert_eq!(next_request(&p, &next, &json!({"done": true, "size": 9}), 1), Ok(None));
        assert!(next_request(&p, &next, &json!({"done": false, "queryLocator": "L1"}), 2).is_err(), "a repeat");
        assert!(next_request(&p, &first, &json!({"done": false}), 2).is_err(), "more without a locator");
        assert!(next_request(&p, &first, &json!({"size": 2}), 2).is_err(), "no done flag");
    }

    #[test]
    fn relay_pages_send_the_end_cursor_as_after_until_has_next_page_is_false() {
        let p = Paginator::Relay { page_info: path("data.search.customers.pageInfo"), after: "after".into() };
        let first = RequestSpec::post("/graphql", json!({"query": "q", "variables": {"input": {}, "first": 2}}));
        let page = |more: bool, end: Value| json!({"data": {"search": {"customers": {"pageInfo": {"hasNextPage": more, "endCursor": end}}}}});
        let next = next_request(&p, &first, &page(true, json!("c2")), 2).unwrap().unwrap();
        assert_eq!(
            next.body.clone().unwrap(),
            json!({"query": "q", "variables": {"input": {}, "first": 2, "after": "c2"}})
        );
        let third = next_request(&p, &next, &page(true, json!("c4")), 2).unwrap().unwrap();
        assert_eq!(third.body.as_ref().unwrap()["variables"]["after"], "c4", "the cursor moves, the rest stays");
        assert_eq!(next_request(&p, &third, &page(false, json!("c5")), 1), Ok(None));
        assert!(next_request(&p, &next, &page(true, json!("c2")), 2).unwrap_err().contains("repeats"));
        assert!(next_request(&p, &first, &page(true, Value::Null), 2).unwrap_err().contains("no endCursor"));
        assert!(next_request(&p, &first, &json!({"data": null}), 0).unwrap_err().contains("end is unknown"));
        assert!(next_request(&p, &RequestSpec::get("/graphql"), &page(true, json!("c")), 1).is_err(), "no body");
        let nodes = relay_nodes(vec![json!({"cursor": "a", "node": {"id": "1"}}), json!({"node": null}), json!({})]);
        assert_eq!(nodes, vec![json!({"id": "1"})], "edges without a node hold no record");
    }

    #[test]
    fn next_paths_follow_has_more_and_refuse_a_missing_or_repeated_path() {
        let p = Paginator::NextPath { field: path("next"), more: path("has_more") };
        let cur = RequestSpec::get("/accounts").param("limit", "2");
        let next = next_request(&p, &cur, &json!({"has_more": true, "next": "/accounts?cursor=x&limit=2"}), 2);
        assert_eq!(next.unwrap().unwrap().path, "/accounts?cursor=x&limit=2");
        assert_eq!(next_request(&p, &cur, &json!({"has_more": false, "next": null}), 2), Ok(None));
        let err = next_request(&p, &cur, &json!({"has_more": true, "next": null}), 2).unwrap_err();
        assert!(err.contains("has_more is true") && err.contains("no next"), "{err}");
        let same = RequestSpec::get("/accounts?cursor=x&limit=2");
        assert!(next_request(&p, &same, &json!({"has_more": true, "next": "/accounts?cursor=x&limit=2"}), 2).is_err());
    }

    #[test]
    fn starting_after_goes_in_the_body_of_a_search_and_the_query_of_a_list() {
        let p = Paginator::StartingAfter { field: path("pages.next.starting_after") };
        let post = RequestSpec::post("/search", json!({"pagination": {"per_page": 2}}));
        let next = next_request(&p, &post, &json!({"pages": {"next": {"starting_after": "t1"}}}), 2).unwrap().unwrap();
        assert_eq!(next.body.clone().unwrap(), json!({"pagination": {"per_page": 2, "starting_after": "t1"}}));
        assert!(next_request(&p, &next, &json!({"pages": {"next": {"starting_after": "t1"}}}), 2).is_err());
        assert_eq!(next_request(&p, &post, &json!({"pages": {}}), 2), Ok(None));
        let get = RequestSpec::get("/contacts");
        let next = next_request(&p, &get, &json!({"pages": {"next": {"starting_after": "t2"}}}), 0).unwrap().unwrap();
        assert_eq!(next.query, vec![("starting_after".into(), "t2".into())]);
    }

    #[test]
    fn page_numbers_follow_next_and_total_pages_never_the_page_size() {
        let p = Paginator::PageNumber {
            param: "page".into(),
            first: 1,
            next: path("pages.next"),
            page: path("pages.page"),
            total_pages: path("pages.total_pages"),
        };
        let cur = RequestSpec::get("/companies").param("per_page", "60").param("page", "1");
        // A page of 50 when 60 were asked is not the end while total_pages says more.
        let body = json!({"pages": {"page": 1, "per_page": 60, "total_pages": 3, "next": null}});
        let next = next_request(&p, &cur, &body, 50).unwrap().unwrap();
        assert_eq!(next.query[1], ("page".into(), "2".into()));
        let last = json!({"pages": {"page": 3, "total_pages": 3, "next": null}});
        assert_eq!(next_request(&p, &next, &last, 60), Ok(None));
        // `next` alone says more follow, whatever its shape.
        let linked = json!({"pages": {"page": 2, "next": "https://api.intercom.io/companies?page=3"}});
        assert_eq!(next_request(&p, &next, &linked, 1).unwrap().unwrap().query[1], ("page".into(), "3".into()));
        assert!(next_request(&p, &cur, &json!({"data": []}), 50).unwrap_err().contains("neither"));
        assert!(next_request(&p, &cur, &body, 0).unwrap_err().contains("empty"));
    }

    #[test]
    fn until_empty_pages_end_only_on_an_empty_page() {
        let p = Paginator::UntilEmpty { param: "page".into(), first: 1 };
        let first = RequestSpec::get("/v1/survey_responses.json").param("per_page", "100");
        // No page parameter yet: the first page is `first`, the next is 2.
        let next = next_request(&p, &first, &json!([]), 100).unwrap().unwrap();
        assert_eq!(next.query, vec![("per_page".into(), "100".into()), ("page".into(), "2".into())]);
        // A short page (fewer than asked) is not the end.
        let third = next_request(&p, &next, &json!([]), 3).unwrap().unwrap();
        assert_eq!(third.query[1], ("page".into(), "3".into()));
        assert_eq!(next_request(&p, &third, &json!([]), 0), Ok(None), "an empty page is the end");
    }

    #[test]
    fn link_headers_name_the_next_request_until_there_is_none() {
        let first = RequestSpec::get("/api/v2/tickets").param("per_page", "100").param("page", "1");
        let url = "https://acme.freshdesk.com/api/v2/tickets?page=2&per_page=100";
        let next = next_link_request(&first, Some(url), 100).unwrap().unwrap();
        assert_eq!((next.method.as_str(), next.path.as_str(), next.query.len()), ("GET", url, 0));
        assert_eq!(next_link_request(&next, None, 3), Ok(None), "no next link: the end");
        // However few records it held, a page with a next link is not the last one.
        let third = next_link_request(&next, Some("https://acme.freshdesk.com/api/v2/tickets?page=3"), 7).unwrap();
        assert!(third.is_some());
        assert!(next_link_request(&next, Some(url), 100).unwrap_err().contains("page it came from"));
        let e = next_link_request(&first, Some(url), 0).unwrap_err();
        assert!(e.contains("empty page"), "{e}");
        let relative = RequestSpec::get("/api/v2/parties").param("page", "2");
        assert!(next_link_request(&relative, Some("https://api.capsulecrm.com/api/v2/parties?page=2"), 5).is_err());
        assert!(next_request(&Paginator::LinkHeader, &first, &json!({}), 1).is_err(), "the body alone cannot tell");
    }

    #[test]
    fn next_tokens_go_back_in_the_query_of_a_get_or_the_body_of_a_post() {
        let p = Paginator::NextToken {
            field: path("nextPageToken"),
            param: "nextPageToken".into(),
            last: Some(path("isLast")),
        };
        let get = RequestSpec::get("/rest/api/3/search/jql").param("jql", "updated >= 0");
        let next = next_request(&p, &get, &json!({"nextPageToken": "t1", "isLast": false}), 2).unwrap().unwrap();
        assert_eq!(next.query[1], ("nextPageToken".into(), "t1".into()));
        assert_eq!(next.query[0].0, "jql", "the rest of the request stays");
        assert!(next_request(&p, &next, &json!({"nextPageToken": "t1"}), 2).unwrap_err().contains("repeats"));
        assert_eq!(next_request(&p, &get, &json!({"nextPageToken": "t9", "isLast": true}), 2), Ok(None));
        assert_eq!(next_request(&p, &get, &json!({"issues": []}), 0), Ok(None), "no token, no flag: the end");
        assert!(next_request(&p, &get, &json!({"isLast": false}), 2).unwrap_err().contains("isLast is false"));
        let post = RequestSpec::post("/rest/api/3/search/jql", json!({"jql": "x", "maxResults": 2}));
        let next = next_request(&p, &post, &json!({"nextPageToken": "t2"}), 2).unwrap().unwrap();
        assert_eq!(next.body.unwrap(), json!({"jql": "x", "maxResults": 2, "nextPageToken": "t2"}));
        assert!(next.query.is_empty());
        // Keap: `next_page_token` in the answer, `page_token` in the request, no flag.
        let keap = Paginator::NextToken { field: path("next_page_token"), param: "page_token".into(), last: None };
        let list = RequestSpec::get("/rest/v2/contacts");
        let next = next_request(&keap, &list, &json!({"next_page_token": "abc"}), 1).unwrap().unwrap();
        assert_eq!(next.query, vec![("page_token".into(), "abc".into())]);
        assert_eq!(next_request(&keap, &next, &json!({"next_page_token": ""}), 0), Ok(None));
    }

    #[test]
    fn has_more_pages_continue_after_the_last_record() {
        let more = path("has_more");
        let first = RequestSpec::get("/v1/customers").param("limit", "2");
        let next = has_more_request(&first, &more, &json!({"has_more": true}), Some("cus_2".into())).unwrap().unwrap();
        assert_eq!(next.query, vec![("limit".into(), "2".into()), ("starting_after".into(), "cus_2".into())]);
        let third = has_more_request(&next, &more, &json!({"has_more": true}), Some("cus_4".into())).unwrap().unwrap();
        assert_eq!(third.query[1], ("starting_after".into(), "cus_4".into()), "the anchor moves, the rest stays");
        assert_eq!(has_more_request(&next, &more, &json!({"has_more": false}), Some("cus_4".into())), Ok(None));
        assert!(
            has_more_request(&next, &more, &json!({"has_more": true}), Some("cus_2".into()))
                .unwrap_err()
                .contains("again")
        );
        assert!(has_more_request(&first, &more, &json!({"has_more": true}), None).unwrap_err().contains("no record"));
        assert!(has_more_request(&first, &more, &json!({"data": []}), None).unwrap_err().contains("boolean"));
    }

    #[test]
    fn cursors_compare_by_meaning_and_back_off_by_the_overlap() {
        assert_eq!(compare(&json!(10), &json!(9)), Ordering::Greater);
        assert_eq!(compare(&json!("2024-01-02T00:00:00Z"), &json!("2024-01-01T23:00:00.000+0000")), Ordering::Greater);
        assert_eq!(back_off(&json!(1000), 60), json!(940));
        assert_eq!(back_off(&json!("2024-01-02T00:00:00Z"), 86_400), json!("2024-01-01T00:00:00.000Z"));
    }

    #[test]
    fn cursors_of_earlier_versions_still_resume_or_plan() {
        let old = json!({"since": null, "high_water": "2024-01-01T00:00:00Z", "next": null, "complete": true});
        let c: HttpCursor = serde_json::from_value(old).unwrap();
        assert!(c.complete && c.deletions_from.is_none() && c.full_pass.is_none());
        let round: HttpCursor = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(round, c);
    }
}
