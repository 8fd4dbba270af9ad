//! The Capsule API v2 over HTTP: the party list, the deleted parties, one party, the custom
//! field definitions, and Capsule's auth, rate-limit and error answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::State;
use super::model::{self, timestamp};
use crate::emulator::faults::Fault;
use crate::emulator::paging::{PageNumber, link_next, param, url_with};
use crate::emulator::ratelimit::{Limit, LimitHeaders, Reset};
use crate::emulator::respond::{base_url as base, json as reply};
use crate::emulator::server::{Vendor, guard};
use crate::emulator::{Core, auth};

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/api/v2/parties", get(parties))
        .route("/api/v2/parties/deleted", get(deleted))
        .route("/api/v2/parties/fields/definitions", get(definitions))
        .route("/api/v2/parties/{id}", get(party).put(update_party))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Capsule's error body: `{"message": ...}`.
fn error(status: StatusCode, message: &str) -> Response {
    reply(status, json!({ "message": message }))
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Could not find resource")
}

/// Capsule's limit headers; the reset is a Unix time.
const LIMIT_HEADERS: LimitHeaders = LimitHeaders {
    limit: "x-ratelimit-limit",
    remaining: "x-ratelimit-remaining",
    reset: Some(("x-ratelimit-reset", Reset::UnixTime)),
};

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        if !req.uri().path().starts_with("/api/v2/")
            || auth::bearer(req) == Some(self.credentials.access_token.as_str())
        {
            return Ok(());
        }
        Err(error(StatusCode::UNAUTHORIZED, "authentication failed"))
    }

    fn throttle(&self, req: &Request) -> Result<HeaderMap, Response> {
        if !req.uri().path().starts_with("/api/v2/") {
            return Ok(HeaderMap::new());
        }
        let limit = self.options.per_hour;
        let Some(v) = self.core.limiter.acquire("user", Limit { max: limit, window: self.options.window }) else {
            return Ok(LIMIT_HEADERS.headers(limit, limit, self.options.window));
        };
        let headers = LIMIT_HEADERS.headers(limit, v.remaining, v.reset_in);
        if v.allowed {
            return Ok(headers);
        }
        let mut r = reply(StatusCode::TOO_MANY_REQUESTS, json!({ "error": "rate limit reached" }));
        r.headers_mut().extend(headers);
        Err(r)
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => {
                let mut r = reply(StatusCode::TOO_MANY_REQUESTS, json!({ "error": "rate limit reached" }));
                r.headers_mut().extend(LIMIT_HEADERS.headers(
                    self.options.per_hour,
                    0,
                    std::time::Duration::from_secs(1),
                ));
                r
            }
            Fault::Status(code) => {
                error(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "Internal server error")
            }
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => not_found_now(),
        }
    }
}

fn not_found_now() -> Response {
    error(StatusCode::NOT_FOUND, "Could not find resource")
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").ok().map(|t| t.and_utc()))
}

fn since(params: &HashMap<String, String>) -> Result<Option<DateTime<Utc>>, Response> {
    match params.get("since") {
        None => Ok(None),
        Some(t) => parse_time(t)
            .map(Some)
            .ok_or_else(|| error(StatusCode::BAD_REQUEST, "since must be an ISO 8601 date and time")),
    }
}

/// `page` (from 1) and `perPage` (default 50, at most 100).
fn paging(params: &HashMap<String, String>) -> PageNumber {
    let per_page = param::<usize>(params, "perPage").unwrap_or(50).clamp(1, 100);
    PageNumber { page: param(params, "page").unwrap_or(1).max(1), per_page }
}

fn listing(
    headers: &HeaderMap,
    path: &str,
    params: &HashMap<String, String>,
    body: Value,
    next: Option<usize>,
) -> Response {
    let mut r = Json(body).into_response();
    if let Some(n) = next {
        let url = url_with(&format!("{}{path}", base(headers)), params, &[("page", n.to_string())]);
        if let Some(link) = link_next(&url) {
            r.headers_mut().insert(header::LINK, link);
        }
    }
    r
}

fn embeds_fields(params: &HashMap<String, String>) -> bool {
    params.get("embed").is_some_and(|e| e.split(',').any(|x| x.trim() == "fields"))
}

/// People and organisations: in id order, or with `since` in `updatedAt` order from then on.
async fn parties(
    headers: HeaderMap,
    AxState(s): AxState<Arc<State>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let since = match since(&params) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let p = paging(&params);
    let fields = embeds_fields(&params);
    let data = s.data.read();
    let (items, more): (Vec<Value>, bool) = match since {
        None => {
            let rows = data.parties.rows();
            (rows[p.range(rows.len())].iter().map(|r| r.to_json(fields)).collect(), p.has_next(rows.len()))
        }
        Some(t) => {
            let order = data.parties.by_updated();
            let start = order.since(t);
            let len = order.len() - start;
            let items = p.range(len).map(|r| order.get(start + r).to_json(fields)).collect();
            (items, p.has_next(len))
        }
    };
    drop(data);
    listing(&headers, "/api/v2/parties", &params, json!({ "parties": items }), more.then_some(p.page + 1))
}

/// The parties deleted since `since` (required).
async fn deleted(
    headers: HeaderMap,
    AxState(s): AxState<Arc<State>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let since = match since(&params) {
        Ok(Some(t)) => t,
        Ok(None) => return error(StatusCode::BAD_REQUEST, "since is required"),
        Err(r) => return r,
    };
    let p = paging(&params);
    let data = s.data.read();
    let order = data.deleted.by_updated();
    let start = order.since(since);
    let len = order.len() - start;
    let items: Vec<Value> = p
        .range(len)
        .map(|r| {
            let d = order.get(start + r);
            json!({"id": d.id, "deletedAt": timestamp(d.deleted_at)})
        })
        .collect();
    drop(data);
    let body = json!({ "parties": items, "restrictedParties": [] });
    listing(&headers, "/api/v2/parties/deleted", &params, body, p.has_next(len).then_some(p.page + 1))
}

async fn party(
    AxState(s): AxState<Arc<State>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let data = s.data.read();
    match id.parse::<u64>().ok().and_then(|id| data.parties.get(&id)) {
        Some(p) => Json(json!({ "party": p.to_json(embeds_fields(&params)) })).into_response(),
        None => not_found_now(),
    }
}

/// `PUT /api/v2/parties/{id}`: the party's changes under `party`. A `fields` entry without an
/// `id` adds a value of its `definition` (named by id), one with the `id` of a value the party
/// holds changes it, and `_delete: true` removes it; a definition Capsule does not have is a 422,
/// as is a body that is not a party. The answer is the party, with its fields on `embed=fields`.
async fn update_party(
    AxState(s): AxState<Arc<State>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let invalid = |message: &str, field: &str| {
        reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": message, "errors": [{"message": message, "resource": "party", "field": field}]}),
        )
    };
    let Ok(change) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Could not parse request body as JSON");
    };
    let Some(party) = change.get("party").and_then(Value::as_object) else {
        return invalid("party is required", "party");
    };
    let Some(pid) = id.parse::<u64>().ok().filter(|pid| s.data.read().parties.get(pid).is_some()) else {
        return not_found_now();
    };
    // `None`: fields untouched; `Some(v)`: the account id custom field becomes `v`.
    let mut account_id: Option<Option<String>> = None;
    if let Some(fields) = party.get("fields") {
        let Some(fields) = fields.as_array() else { return invalid("fields must be a list", "fields") };
        for f in fields {
            let definition = f.pointer("/definition/id").and_then(|d| d.as_u64().or_else(|| d.as_str()?.parse().ok()));
            if definition != Some(model::ACCOUNT_ID_DEFINITION) {
                return invalid("definition not found", "fields.definition");
            }
            if f.get("_delete").and_then(Value::as_bool) == Some(true) {
                account_id = Some(None);
                continue;
            }
            let value = match f.get("value") {
                Some(Value::String(v)) => v.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return invalid("value is required", "fields.value"),
            };
            account_id = Some(Some(value));
        }
    }
    let now = crate::clock::whole_seconds(s.core.clock.now());
    let answer = {
        let mut data = s.data.write();
        data.parties.update(&pid, |p| {
            if let Some(v) = account_id.clone() {
                p.account_id = v;
            }
            if let Some(name) = party.get("name").and_then(Value::as_str) {
                p.name = name.to_owned();
            }
            p.updated_at = now;
        });
        data.parties.get(&pid).map(|p| p.to_json(embeds_fields(&params)))
    };
    match answer {
        Some(p) => {
            s.core.log_write("party", &id);
            Json(json!({ "party": p })).into_response()
        }
        None => not_found_now(),
    }
}

async fn definitions() -> Response {
    let mut r = Json(model::definitions()).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
