//! Declarative HTTP streams and the one runtime that interprets them.
//!
//! A `StreamDef` is data: where the records sit in a response, how to page, which record field is
//! the incremental cursor, how deletions show. Only the first request of a pass is code (it may
//! need a query language, like SOQL). The runtime pages to the end, emits a cursor after every
//! page (the next request to send and the pass's high-water mark), and on a finished pass moves
//! the incremental start to the high-water mark, minus the vendor's overlap window.

use std::cmp::Ordering;
use std::sync::Arc;

use accord_core::FieldPath;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::{FetchStats, HttpClient, RequestSpec};
use crate::{ConnectorError, Item, ObjectSpec, Page, PageStats, RawRecord, Stream};

/// How a stream pages.
#[derive(Debug, Clone)]
pub enum Paginator {
    /// The response holds the next page's URL (Salesforce `nextRecordsUrl`, Zendesk `after_url`),
    /// and optionally a flag that says it was the last page.
    NextUrl { field: FieldPath, done: Option<FieldPath> },
    /// The response holds a token sent back in a query parameter (Zendesk `after_cursor`).
    Token { field: FieldPath, param: String, done: Option<FieldPath> },
    /// The response holds a token sent back in the JSON body at `body_path` (Intercom search's
    /// `pagination.starting_after`).
    BodyToken { field: FieldPath, body_path: FieldPath },
    /// Intercom's cursor: the token goes back as `starting_after`, in the JSON body's
    /// `pagination` of a search (POST) or as a query parameter of a list (GET).
    StartingAfter { field: FieldPath },
    /// `page`/`per_page` numbers; stops on a short page.
    PageNumber { param: String, first: u64, size: u64 },
    /// `offset`/`limit`; stops on a short page.
    Offset { param: String, size: u64 },
    /// One page only.
    Single,
}

/// The part of a pass that varies: the incremental start (`since`), if any.
pub type FirstRequest = Arc<dyn Fn(Option<&Value>) -> RequestSpec + Send + Sync>;

/// Deletions reported by a separate request after a pass (Salesforce `getDeleted`).
pub type DeletedRequest = Arc<dyn Fn(&Value) -> RequestSpec + Send + Sync>;

/// One stream, as data.
#[derive(Clone)]
pub struct StreamDef {
    pub object: ObjectSpec,
    pub first_request: FirstRequest,
    /// Where the array of records sits in a response.
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
    /// A request listing deletions since the pass's start, and where the ids sit in its answer.
    pub deleted: Option<(DeletedRequest, FieldPath, FieldPath)>,
}

impl std::fmt::Debug for StreamDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDef").field("object", &self.object.name).field("paginator", &self.paginator).finish()
    }
}

/// The cursor a page carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpCursor {
    /// Where the current pass started (the incremental filter), `None` for a full read.
    pub since: Option<Value>,
    /// The greatest cursor-field value seen in this pass.
    pub high_water: Option<Value>,
    /// The next request of an unfinished pass.
    pub next: Option<RequestSpec>,
    /// The pass reached its end.
    pub complete: bool,
    /// (id, cursor value) of the last page's records at its high-water mark: time-based exports
    /// restart at that instant, so these come again and are skipped once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boundary: Vec<(String, Value)>,
}

/// A stream being read.
#[derive(Debug)]
pub struct HttpStream {
    client: Arc<HttpClient>,
    def: Arc<StreamDef>,
    cursor: HttpCursor,
    /// The saved `next` request came from a checkpoint: if the vendor refuses it (expired
    /// locator), the pass restarts from `since`.
    resumed: bool,
    done: bool,
}

impl HttpStream {
    /// Starts from a saved cursor: continues an unfinished pass, or starts the next incremental
    /// pass after a finished one; `full` ignores the cursor.
    pub fn new(client: Arc<HttpClient>, def: Arc<StreamDef>, saved: Option<Value>, full: bool) -> Self {
        let saved: Option<HttpCursor> = if full { None } else { saved.and_then(|v| serde_json::from_value(v).ok()) };
        let (cursor, resumed) = match saved {
            Some(c) if !c.complete && c.next.is_some() => (c, true),
            Some(c) => {
                let since = c.high_water.clone().or(c.since.clone()).map(|v| back_off(&v, def.overlap_seconds));
                // The records at the mark were read already: skip them once if they come again.
                (HttpCursor { since, high_water: None, next: None, complete: false, boundary: c.boundary }, false)
            }
            None => (HttpCursor::default(), false),
        };
        Self { client, def, cursor, resumed, done: false }
    }

    async fn page(&mut self) -> Result<Option<Page>, ConnectorError> {
        if self.done {
            return Ok(None);
        }
        let mut stats = FetchStats::default();
        let request = match &self.cursor.next {
            Some(r) => r.clone(),
            None => (self.def.first_request)(self.cursor.since.as_ref()),
        };
        let body = match self.client.fetch(&request, &mut stats).await {
            Ok(b) => b,
            Err(e) if self.resumed => {
                tracing::warn!(error = %e, stream = %self.def.object.name, "the saved page position was refused; restarting the pass");
                self.resumed = false;
                self.cursor.next = None;
                let first = (self.def.first_request)(self.cursor.since.as_ref());
                self.client.fetch(&first, &mut stats).await?
            }
            Err(e) => return Err(e),
        };
        self.resumed = false;
        let mut body = body;
        let records = match self.def.records.take(&mut body) {
            Some(Value::Array(a)) => a,
            None => Vec::new(),
            Some(other) => {
                return Err(ConnectorError::Fatal(format!(
                    "expected an array at {} in the response, found {}",
                    self.def.records,
                    type_name(&other)
                )));
            }
        };
        let count = records.len();
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
        // Second pass, by value: the items, skipping what the previous page's mark already gave.
        let mut items = Vec::with_capacity(count);
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
                _ => items.push(Item::Record(RawRecord { data: record, location: None })),
            }
        }
        // A page without cursor values (the empty last page) keeps the mark of the one before.
        self.cursor.boundary = if boundary.is_empty() { previous_boundary } else { boundary };
        self.cursor.next = next_request(&self.def.paginator, &request, &body, count);
        if self.cursor.next.is_none() {
            if let (Some((build, list, id)), Some(since)) = (&self.def.deleted, &self.cursor.since) {
                let answer = self.client.fetch(&build(since), &mut stats).await?;
                if let Some(Value::Array(gone)) = list.get(&answer) {
                    for g in gone {
                        if let Some(Ok(Some(native_id))) = id.get(g).map(accord_core::id::key_text) {
                            items.push(Item::Deleted { native_id });
                        }
                    }
                }
            }
            self.cursor.complete = true;
            self.done = true;
        }
        let page_stats = PageStats {
            requests: stats.requests,
            retries: stats.retries,
            rate_limit_waits: stats.rate_limit_waits,
            position: None,
        };
        Ok(Some(Page {
            items,
            cursor: serde_json::to_value(&self.cursor).unwrap_or(Value::Null),
            stats: page_stats,
            full_pass: None,
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

/// The request for the page after `body`, or `None` at the end.
fn next_request(p: &Paginator, current: &RequestSpec, body: &Value, count: usize) -> Option<RequestSpec> {
    let truthy = |f: &Option<FieldPath>| f.as_ref().and_then(|f| f.get(body)).and_then(Value::as_bool) == Some(true);
    match p {
        Paginator::NextUrl { field, done } => {
            if truthy(done) {
                return None;
            }
            let url = field.get(body)?.as_str().filter(|s| !s.is_empty())?;
            Some(RequestSpec::get(url))
        }
        Paginator::Token { field, param, done } => {
            if truthy(done) || count == 0 {
                return None;
            }
            let token = accord_core::id::key_text(field.get(body)?).ok()??;
            Some(current.clone().param(param, token))
        }
        Paginator::BodyToken { field, body_path } => {
            let token = field.get(body)?.clone();
            if token.is_null() || count == 0 {
                return None;
            }
            let mut next = current.clone();
            let mut b = next.body.take().unwrap_or_else(|| json!({}));
            body_path.set(&mut b, token);
            next.body = Some(b);
            Some(next)
        }
        Paginator::StartingAfter { field } => {
            let token = field.get(body).and_then(|v| accord_core::id::key_text(v).ok().flatten())?;
            if count == 0 {
                return None;
            }
            let mut next = current.clone();
            match next.body.as_mut() {
                Some(b) => {
                    FieldPath::parse("pagination.starting_after").expect("static path").set(b, Value::String(token));
                }
                None => next = next.param("starting_after", token),
            }
            Some(next)
        }
        Paginator::PageNumber { param, first, size } => {
            if (count as u64) < *size {
                return None;
            }
            let page =
                current.query.iter().find(|(n, _)| n == param).and_then(|(_, v)| v.parse().ok()).unwrap_or(*first);
            Some(current.clone().param(param, (page + 1).to_string()))
        }
        Paginator::Offset { param, size } => {
            if (count as u64) < *size {
                return None;
            }
            let offset: u64 =
                current.query.iter().find(|(n, _)| n == param).and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
            Some(current.clone().param(param, (offset + size).to_string()))
        }
        Paginator::Single => None,
    }
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
    fn paginators_find_the_next_request_or_stop() {
        let cur = RequestSpec::get("/x").param("per_page", "2");
        let next = next_request(
            &Paginator::NextUrl { field: path("next"), done: Some(path("done")) },
            &cur,
            &json!({"next": "/q/2", "done": false}),
            2,
        );
        assert_eq!(next.unwrap().path, "/q/2");
        assert!(
            next_request(
                &Paginator::NextUrl { field: path("next"), done: Some(path("done")) },
                &cur,
                &json!({"next": "/q/2", "done": true}),
                2
            )
            .is_none()
        );
        let tok =
            Paginator::Token { field: path("after_cursor"), param: "cursor".into(), done: Some(path("end_of_stream")) };
        let next = next_request(&tok, &cur, &json!({"after_cursor": "abc", "end_of_stream": false}), 2).unwrap();
        assert_eq!(next.query, vec![("per_page".into(), "2".into()), ("cursor".into(), "abc".into())]);
        assert!(next_request(&tok, &cur, &json!({"after_cursor": "abc", "end_of_stream": true}), 2).is_none());
        let body = Paginator::BodyToken {
            field: path("pages.next.starting_after"),
            body_path: path("pagination.starting_after"),
        };
        let post = RequestSpec::post("/search", json!({"pagination": {"per_page": 2}}));
        let next = next_request(&body, &post, &json!({"pages": {"next": {"starting_after": "t1"}}}), 2).unwrap();
        assert_eq!(next.body.unwrap(), json!({"pagination": {"per_page": 2, "starting_after": "t1"}}));
        assert!(next_request(&body, &post, &json!({"pages": {}}), 2).is_none());
        let pages = Paginator::PageNumber { param: "page".into(), first: 1, size: 2 };
        assert_eq!(next_request(&pages, &cur, &json!({}), 2).unwrap().query[1], ("page".into(), "2".into()));
        assert!(next_request(&pages, &cur, &json!({}), 1).is_none());
    }

    #[test]
    fn cursors_compare_by_meaning_and_back_off_by_the_overlap() {
        assert_eq!(compare(&json!(10), &json!(9)), Ordering::Greater);
        assert_eq!(compare(&json!("2024-01-02T00:00:00Z"), &json!("2024-01-01T23:00:00.000+0000")), Ordering::Greater);
        assert_eq!(back_off(&json!(1000), 60), json!(940));
        assert_eq!(back_off(&json!("2024-01-02T00:00:00Z"), 86_400), json!("2024-01-01T00:00:00.000Z"));
    }
}
