//! The Event API: `POST /v1/{auth_key}/{api_key}` with newline-delimited JSON events (`\n` or
//! `\r\n`), or a JSON array, optionally gzipped. Every line is checked on its own: bad lines are
//! reported with their number and reason and kept in the quarantine; good lines are stored. Events
//! without `account_id` resolve through the user → account mapping table; `identifyUser` events
//! feed that table. An event's identity is its content (see `accord_engine::identity`), so a
//! duplicate delivery is stored and counted once.

use accord_connectors::file::json_line_item;
use accord_connectors::{Item, RawRecord};
use accord_core::RejectReason;
use accord_engine::hub::ItemResult;
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::auth::event_source;
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

/// Splits a body into items: a JSON array, or one JSON object per line.
pub fn parse_events(body: &[u8]) -> Vec<(usize, Item)> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    if start.is_some_and(|i| body[i] == b'[') {
        return match serde_json::from_slice::<Vec<Value>>(body) {
            Ok(values) => values
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let location = format!("element {}", i + 1);
                    let item = match v {
                        Value::Object(_) => Item::Record(RawRecord { data: v, location: Some(location) }),
                        other => {
                            Item::Malformed { location, problem: "the event is not a JSON object".into(), raw: other }
                        }
                    };
                    (i + 1, item)
                })
                .collect(),
            Err(e) => vec![(
                e.line(),
                Item::Malformed {
                    location: format!("line {}", e.line()),
                    problem: format!("the JSON array is malformed at line {}, column {}: {e}", e.line(), e.column()),
                    raw: Value::String(String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]).into_owned()),
                },
            )],
        };
    }
    body.split(|b| *b == b'\n')
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                return None;
            }
            Some((i + 1, json_line_item(line, format!("line {}", i + 1))))
        })
        .collect()
}

/// The user record an `identifyUser` event carries, if any: its `details` plus `user_id` and
/// `account_id`, so the mapping table learns the user.
fn identified_user(event: &Value) -> Option<Value> {
    if event.get("action").and_then(Value::as_str) != Some("identifyUser") {
        return None;
    }
    let mut user: Map<String, Value> = event.get("details").and_then(Value::as_object).cloned().unwrap_or_default();
    for key in ["user_id", "account_id"] {
        user.insert(key.into(), event.get(key)?.clone());
    }
    Some(Value::Object(user))
}

/// Send product usage events.
#[utoipa::path(post, path = "/v1/{auth_key}/{api_key}", tag = "Event API",
    params(("auth_key" = String, Path, description = "the event source's auth key"),
           ("api_key" = String, Path, description = "the event source's API (send) key")),
    request_body(content = String, content_type = "application/x-ndjson", description = "one JSON event per line, or a JSON array; gzip accepted"),
    responses((status = 200, body = EventBatchResponse), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)))]
pub async fn post(
    State(state): State<AppState>,
    Path((auth_key, api_key)): Path<(String, String)>,
    RawBody(body): RawBody,
) -> ApiResult<Json<EventBatchResponse>> {
    let source =
        event_source(&state.inner().event_keys, &auth_key, &api_key).ok_or(ApiError::Forbidden)?.source.clone();
    let parsed = parse_events(&body);
    if parsed.is_empty() {
        return Err(ApiError::BadRequest("the body holds no events: send one JSON object per line".into()));
    }
    let received = parsed.len();
    let lines: Vec<usize> = parsed.iter().map(|(l, _)| *l).collect();
    let users: Vec<Item> = parsed
        .iter()
        .filter_map(|(line, item)| match item {
            Item::Record(r) => identified_user(&r.data)
                .map(|u| Item::Record(RawRecord { data: u, location: Some(format!("line {line}")) })),
            _ => None,
        })
        .collect();
    let items: Vec<Item> = parsed.into_iter().map(|(_, i)| i).collect();
    let hub = state.hub();
    let events_plan = hub.plan.stream(&source, "events").cloned().expect("event source stream");
    let mut pages = Vec::with_capacity(2);
    if !users.is_empty() {
        // identifyUser first, so the events of the same batch resolve through the users it names.
        let users_plan = hub.plan.stream(&source, "users").cloned().expect("event source users stream");
        pages.push((users_plan, users, false));
    }
    pages.push((events_plan, items, true));
    let out = state.ingest(pages).await?.pop().expect("one outcome per page");
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
        let items = parse_events(body);
        assert_eq!(items.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![1, 3, 4, 5]);
        assert!(matches!(items[1].1, Item::Malformed { .. }));
        let items = parse_events(b"  [{\"a\":1}, 2]");
        assert_eq!(items.len(), 2);
        assert!(matches!(items[1].1, Item::Malformed { .. }));
        assert_eq!(parse_events(b"[{\"a\":").len(), 1);
        assert!(parse_events(b"\n \r\n").is_empty());
    }

    #[test]
    fn identify_user_feeds_the_mapping_table() {
        let e = serde_json::json!({"action": "identifyUser", "user_id": "u1", "account_id": "A", "details": {"email": "x@y.z"}});
        assert_eq!(
            identified_user(&e),
            Some(serde_json::json!({"email": "x@y.z", "user_id": "u1", "account_id": "A"}))
        );
        assert_eq!(identified_user(&serde_json::json!({"action": "identifyUser", "user_id": "u1"})), None);
    }

    proptest::proptest! {
        /// Any body splits into items without panicking, one per non-blank line.
        #[test]
        fn any_body_parses(body in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse_events(&body);
        }
    }
}
