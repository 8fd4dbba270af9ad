//! The Event API: `POST /v1/{auth_key}/{api_key}` with newline-delimited JSON events (`\n` or
//! `\r\n`), a JSON array, or one form-encoded event (what the Ruby gems send, whatever their
//! `Content-Type` says), optionally gzipped. The key pair is checked from the request head, before
//! the body is read. Every line is checked on its own: bad lines are reported with their number and
//! reason and kept in the quarantine; good lines are stored; a JSON array that does not parse is a
//! 400 with the position. Events without `account_id` resolve through the user → account mapping
//! table; `identifyUser` events merge into the product user of that `user_id` (the one the Account
//! API lists). An event's identity is its content (see `accord_engine::identity`), so a duplicate
//! delivery is stored and counted once.

use accord_connectors::file::json_line_item;
use accord_connectors::{Item, RawRecord};
use accord_core::RejectReason;
use accord_engine::hub::ItemResult;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use accord_engine::plan::API_SOURCE;

use crate::auth::EventSource;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::metrics::EventLabels;
use crate::state::AppState;

/// A line that was not stored, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FailedLine {
    /// 1-based line number (element number + 1 for a JSON array).
    pub line: usize,
    pub message: String,
    /// accord's reason code.
    pub reason: String,
}

/// The answer to an event batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventBatchResponse {
    pub status_is_ok: bool,
    /// Events in the body.
    pub received: usize,
    /// Events stored for the first time.
    pub stored: u64,
    /// Events already stored (duplicate deliveries), not counted again.
    pub duplicates: u64,
    /// Valid events whose account could not be resolved yet: kept in the quarantine, linked
    /// automatically when their user or account arrives.
    pub quarantined: usize,
    /// Lines that are not valid events (kept in the quarantine too).
    pub failed_lines: Vec<FailedLine>,
}

/// Splits a body into items: a JSON array, one form-encoded event, or one JSON object per line.
/// A JSON array that does not parse is an error with its position.
pub fn parse_events(body: &[u8]) -> Result<Vec<(usize, Item)>, ApiError> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    if start.is_some_and(|i| body[i] == b'[') {
        let values = serde_json::from_slice::<Vec<Value>>(body).map_err(|e| {
            ApiError::BadRequest(format!(
                "the JSON array is malformed at line {}, column {}: {e}; send a valid array or one event per line",
                e.line(),
                e.column()
            ))
        })?;
        return Ok(values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let location = format!("element {}", i + 1);
                let item = match v {
                    Value::Object(_) => Item::Record(RawRecord { data: v, location: Some(location), identity: None }),
                    other => Item::Malformed { location, problem: "the event is not a JSON object".into(), raw: other },
                };
                (i + 1, item)
            })
            .collect());
    }
    if let Some(event) = form_event(body) {
        return Ok(vec![(1, Item::Record(RawRecord { data: event, location: Some("line 1".into()), identity: None }))]);
    }
    Ok(body
        .split(|b| *b == b'\n')
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                return None;
            }
            Some((i + 1, json_line_item(line, format!("line {}", i + 1))))
        })
        .collect())
}

/// One event sent as a form (`account_id=A1&details%5Bemail%5D=a%40b.c`), as HTTParty encodes a
/// hash body: nested keys (`details[email]`) become objects, `key[]` a list, every value text.
/// `None` unless the whole body is one line of such pairs.
fn form_event(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() || text.starts_with('{') || text.contains('\n') {
        return None;
    }
    let mut event = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=')?;
        let (key, value) = (form_decode(key)?, form_decode(value)?);
        let (head, rest) = key.split_once('[').map_or((key.as_str(), ""), |(h, r)| (h, r));
        if head.is_empty() || !head.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        let mut path = vec![head.to_owned()];
        let mut rest = rest;
        while !rest.is_empty() {
            let (segment, after) = rest.split_once(']')?;
            path.push(segment.to_owned());
            rest = after.strip_prefix('[').unwrap_or(after);
            if !after.is_empty() && !after.starts_with('[') {
                return None;
            }
        }
        insert_form_value(&mut event, &path, Value::String(value))?;
    }
    (!event.is_empty()).then_some(Value::Object(event))
}

fn insert_form_value(map: &mut Map<String, Value>, path: &[String], value: Value) -> Option<()> {
    let (first, rest) = path.split_first()?;
    if rest.is_empty() {
        map.insert(first.clone(), value);
        return Some(());
    }
    if rest[0].is_empty() && rest.len() == 1 {
        let list = map.entry(first.clone()).or_insert_with(|| Value::Array(vec![]));
        list.as_array_mut()?.push(value);
        return Some(());
    }
    let child = map.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
    insert_form_value(child.as_object_mut()?, rest, value)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The user record an `identifyUser` event carries, if any: its `details` plus `user_id` and
/// (when given) `account_id`, merged later onto the stored user, so the mapping table learns it.
fn identified_user(event: &Value) -> Option<Value> {
    if event.get("action").and_then(Value::as_str) != Some("identifyUser") {
        return None;
    }
    let mut user: Map<String, Value> = event.get("details").and_then(Value::as_object).cloned().unwrap_or_default();
    user.insert("user_id".into(), event.get("user_id")?.clone());
    if let Some(account) = event.get("account_id") {
        user.insert("account_id".into(), account.clone());
    }
    Some(Value::Object(user))
}

/// Send product usage events.
#[utoipa::path(post, path = "/v1/{auth_key}/{api_key}", tag = "Event API", security(()),
    params(("auth_key" = String, Path, description = "the event source's auth key"),
           ("api_key" = String, Path, description = "the event source's API (send) key")),
    request_body(content = String, content_type = "text/plain",
                 description = "one JSON event per line (NDJSON), a JSON array, or one form-encoded event, whatever \
                                the Content-Type says; gzip accepted"),
    responses((status = 200, body = EventBatchResponse), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
              (status = 415, body = crate::error::ErrorBody)))]
pub async fn post(
    State(state): State<AppState>,
    EventSource(source): EventSource,
    RawBody(body): RawBody,
) -> ApiResult<Json<EventBatchResponse>> {
    let parsed = parse_events(&body)?;
    if parsed.is_empty() {
        return Err(ApiError::BadRequest("the body holds no events: send one JSON object per line".into()));
    }
    let received = parsed.len();
    let lines: Vec<usize> = parsed.iter().map(|(l, _)| *l).collect();
    let users: Vec<(usize, Value)> = parsed
        .iter()
        .filter_map(|(line, item)| match item {
            Item::Record(r) => identified_user(&r.data).map(|u| (*line, u)),
            _ => None,
        })
        .collect();
    // Each event's identity is hashed here, on the request's thread, so the thread that commits
    // every request's events does not.
    let items: Vec<Item> = parsed
        .into_iter()
        .map(|(_, item)| match item {
            Item::Record(mut r) => {
                r.identity = Some(accord_engine::identity::event_id(&r.data));
                Item::Record(r)
            }
            other => other,
        })
        .collect();
    let hub = state.hub();
    let events_plan = hub.plan.stream(&source, "events").cloned().expect("event source stream");
    let mut pages = Vec::with_capacity(2);
    // identifyUser first, so the events of the same batch resolve through the users it names. They
    // merge into the Account API's user of that id: one product user per user_id.
    let _guard = if users.is_empty() { None } else { Some(state.inner().users_lock.lock().await) };
    if !users.is_empty() {
        let (user_lines, records): (Vec<usize>, Vec<Value>) = users.into_iter().unzip();
        let merged = crate::natero::people::merged_users(&state, records).await?;
        let users_plan = hub.plan.stream(API_SOURCE, "users").cloned().expect("built-in stream");
        // A user the event names without an account, and that nobody stored before, says nothing.
        let user_items: Vec<Item> = user_lines
            .into_iter()
            .zip(merged)
            .filter(|(_, data)| data.get("account_id").is_some())
            .map(|(line, data)| {
                Item::Record(RawRecord { data, location: Some(format!("event line {line}")), identity: None })
            })
            .collect();
        if !user_items.is_empty() {
            pages.push((users_plan, user_items, false).into());
        }
    }
    pages.push((events_plan, items, true).into());
    let out = state.ingest(pages).await?.pop().expect("one outcome per page");
    drop(_guard);
    let mut failed_lines = Vec::new();
    let mut quarantined = 0;
    for (line, result) in lines.iter().zip(&out.items) {
        if let ItemResult::Rejected { reason, message, .. } = result {
            match reason {
                RejectReason::InvalidField | RejectReason::MissingRequiredField | RejectReason::InvalidAccountId => {
                    failed_lines.push(FailedLine {
                        line: *line,
                        message: message.clone(),
                        reason: reason.code().into(),
                    })
                }
                _ => quarantined += 1,
            }
        }
    }
    let m = &state.inner().metrics;
    let count = |outcome: &str, n: u64| {
        if n > 0 {
            m.events.get_or_create(&EventLabels { source: source.clone(), outcome: outcome.into() }).inc_by(n);
        }
    };
    count("stored", out.applied.new_events);
    count("duplicate", out.applied.duplicate_events);
    count("quarantined", quarantined as u64);
    count("invalid", failed_lines.len() as u64);
    for (reason, n) in &out.counts.rejected_by_reason {
        m.rejections.get_or_create(&crate::metrics::ReasonLabels { reason: reason.clone() }).inc_by(*n);
    }
    Ok(Json(EventBatchResponse {
        status_is_ok: true,
        received,
        stored: out.applied.new_events,
        duplicates: out.applied.duplicate_events,
        quarantined,
        failed_lines,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_arrays_split_into_numbered_items() {
        let body = b"{\"a\":1}\r\n\n{bad}\n[1]\n{\"a\":2}";
        let items = parse_events(body).unwrap();
        assert_eq!(items.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![1, 3, 4, 5]);
        assert!(matches!(items[1].1, Item::Malformed { .. }));
        let items = parse_events(b"  [{\"a\":1}, 2]").unwrap();
        assert_eq!(items.len(), 2);
        assert!(matches!(items[1].1, Item::Malformed { .. }));
        match parse_events(b"[{\"a\":1},\n {\"a\" 2}]") {
            Err(ApiError::BadRequest(m)) => assert!(m.contains("line 2, column 7"), "{m}"),
            other => panic!("a broken array is a 400: {other:?}"),
        }
        assert!(parse_events(b"\n \r\n").unwrap().is_empty());
    }

    #[test]
    fn a_form_encoded_event_is_one_event() {
        let body = b"account_id=A1&created_at=1714550400000&action=identifyUser&details%5Bemail%5D=a%40b.c&details%5Bfirst_name%5D=Ann+Lee&tags%5B%5D=x&tags%5B%5D=y";
        let items = parse_events(body).unwrap();
        let Item::Record(r) = &items[0].1 else { panic!("{items:?}") };
        assert_eq!(
            r.data,
            serde_json::json!({"account_id": "A1", "created_at": "1714550400000", "action": "identifyUser",
                               "details": {"email": "a@b.c", "first_name": "Ann Lee"}, "tags": ["x", "y"]})
        );
        // Not a form: kept as (bad) lines.
        assert!(matches!(parse_events(b"hello world").unwrap()[0].1, Item::Malformed { .. }));
        assert!(matches!(parse_events(b"a=1\nb=2").unwrap()[0].1, Item::Malformed { .. }));
        assert!(matches!(parse_events(b"a%ZZ=1").unwrap()[0].1, Item::Malformed { .. }));
        assert!(matches!(parse_events(b"a]=1").unwrap()[0].1, Item::Malformed { .. }));
    }

    #[test]
    fn identify_user_feeds_the_mapping_table() {
        let e = serde_json::json!({"action": "identifyUser", "user_id": "u1", "account_id": "A", "details": {"email": "x@y.z"}});
        assert_eq!(
            identified_user(&e),
            Some(serde_json::json!({"email": "x@y.z", "user_id": "u1", "account_id": "A"}))
        );
        assert_eq!(
            identified_user(&serde_json::json!({"action": "identifyUser", "user_id": "u1"})),
            Some(serde_json::json!({"user_id": "u1"})),
            "merged onto the stored user, which knows its account"
        );
        assert_eq!(identified_user(&serde_json::json!({"action": "identifyUser", "account_id": "A"})), None);
    }

    proptest::proptest! {
        /// Any body splits into items without panicking, one per non-blank line.
        #[test]
        fn any_body_parses(body in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse_events(&body);
            let _ = form_event(&body);
        }
    }
}
