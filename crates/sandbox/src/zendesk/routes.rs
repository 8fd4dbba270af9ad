//! The Zendesk Support API over HTTP: the incremental export endpoints and Zendesk's auth,
//! rate-limit and error answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::State;
use crate::faults::Fault;
use crate::ratelimit::Limit;
use crate::server::{Vendor, guard};

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/api/v2/incremental/tickets/cursor.json", get(tickets))
        .route("/api/v2/incremental/tickets/cursor", get(tickets))
        .route("/api/v2/incremental/users/cursor.json", get(users))
        .route("/api/v2/incremental/users/cursor", get(users))
        .route("/api/v2/incremental/organizations.json", get(organizations))
        .route("/api/v2/incremental/organizations", get(organizations))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Zendesk's error body: `{"error": ..., "description": ...}`.
fn error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({ "error": error, "description": description }))).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "InvalidEndpoint", "Not found")
}

impl Vendor for State {
    fn faults(&self) -> &crate::faults::FaultHandle {
        &self.faults
    }

    fn clock(&self) -> &crate::clock::Clock {
        &self.clock
    }

    fn limiter(&self) -> &crate::ratelimit::RateLimiter {
        &self.limiter
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        if !req.uri().path().starts_with("/api/v2/") {
            return Ok(());
        }
        let auth = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if let Some(token) = auth.strip_prefix("Bearer ") {
            if token.trim() == self.credentials.oauth_token {
                return Ok(());
            }
            let body = json!({
                "error": "invalid_token",
                "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."
            });
            return Err((StatusCode::UNAUTHORIZED, Json(body)).into_response());
        }
        let expected = format!("{}/token:{}", self.credentials.email, self.credentials.api_token);
        let basic = auth
            .strip_prefix("Basic ")
            .and_then(|b| BASE64.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok());
        if basic.as_deref() == Some(expected.as_str()) {
            return Ok(());
        }
        let mut r = (StatusCode::UNAUTHORIZED, Json(json!({ "error": "Couldn't authenticate you" }))).into_response();
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Web Password\""));
        Err(r)
    }

    fn throttle(&self, req: &Request) -> Result<HeaderMap, Response> {
        let mut headers = HeaderMap::new();
        let path = req.uri().path();
        if !path.starts_with("/api/v2/") {
            return Ok(headers);
        }
        let account = Limit { max: self.options.per_minute, window: self.options.window };
        let incremental = Limit { max: self.options.incremental_limit(), window: self.options.window };
        let scopes: &[(&'static str, Limit)] = if path.starts_with("/api/v2/incremental/") {
            &[("incremental", incremental), ("account", account)]
        } else {
            &[("account", account)]
        };
        let verdicts = self.limiter.acquire_all(scopes);
        let account_verdict = verdicts.as_ref().and_then(|v| v.last().copied());
        let remaining = account_verdict.map_or(self.options.per_minute, |v| v.remaining);
        headers.insert("x-rate-limit", HeaderValue::from(self.options.per_minute));
        headers.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
        let refused = verdicts.and_then(|vs| vs.into_iter().find(|v| !v.allowed));
        match refused {
            None => Ok(headers),
            Some(v) => {
                let what = if v.limit == self.options.per_minute && scopes.len() == 1 {
                    "Number of allowed API requests per minute exceeded"
                } else {
                    "Number of allowed incremental export API requests per minute exceeded"
                };
                let mut r = error(StatusCode::TOO_MANY_REQUESTS, "APIRateLimitExceeded", what);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(v.retry_after_secs()));
                r.headers_mut().extend(headers);
                Err(r)
            }
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => {
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "APIRateLimitExceeded",
                    "Number of allowed API requests per minute exceeded",
                );
                let h = r.headers_mut();
                h.insert(header::RETRY_AFTER, HeaderValue::from(1));
                h.insert("x-rate-limit", HeaderValue::from(self.options.per_minute));
                h.insert("x-rate-limit-remaining", HeaderValue::from(0));
                r
            }
            Fault::Status(503) => {
                let mut r =
                    error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "Service temporarily unavailable");
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
                r
            }
            Fault::Status(code) => error(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "InternalError",
                "Something went wrong, please try again",
            ),
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => {
                error(StatusCode::NOT_FOUND, "InvalidEndpoint", "Not found")
            }
        }
    }
}

/// A position in an export: items after `(updated_at, id)`.
type Position = (i64, u64);

/// Zendesk-style opaque cursor: base64 of `"<updated_at>.0||<id>|"`.
fn encode_cursor((ts, id): Position) -> String {
    BASE64.encode(format!("{ts}.0||{id}|"))
}

fn decode_cursor(cursor: &str) -> Option<Position> {
    let text = String::from_utf8(BASE64.decode(cursor.trim()).ok()?).ok()?;
    let (ts, rest) = text.split_once("||")?;
    let ts = ts.strip_suffix(".0").unwrap_or(ts).parse().ok()?;
    let id = rest.strip_suffix('|').unwrap_or(rest).parse().ok()?;
    Some((ts, id))
}

fn base(headers: &HeaderMap) -> String {
    format!("http://{}", headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"))
}

/// The page size: the request's `per_page` capped at 1,000, else the configured default.
fn per_page(s: &State, params: &HashMap<String, String>) -> usize {
    params.get("per_page").and_then(|p| p.parse::<usize>().ok()).map_or(s.options.per_page, |n| n.min(1000)).max(1)
}

/// Where an export starts: after the cursor, or at `start_time` (inclusive).
fn start(s: &State, params: &HashMap<String, String>) -> Result<Position, Response> {
    if let Some(c) = params.get("cursor") {
        return decode_cursor(c)
            .ok_or_else(|| error(StatusCode::BAD_REQUEST, "InvalidPaginationParameter", "cursor is invalid"));
    }
    let Some(t) = params.get("start_time") else {
        return Err(error(StatusCode::BAD_REQUEST, "InvalidValue", "start_time or cursor is required"));
    };
    // Whole seconds; Zendesk also takes fractional ones (Singer's tap-zendesk sends Python's
    // `datetime.timestamp()`, `946684800.0`), counted by the whole second.
    let t: i64 = t
        .parse::<i64>()
        .ok()
        .or_else(|| t.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f.floor() as i64))
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "InvalidValue", "start_time must be a Unix time in seconds"))?;
    if t > s.clock.now().timestamp() {
        return Err(error(StatusCode::BAD_REQUEST, "InvalidValue", "start_time must be in the past"));
    }
    // Ids are positive, so "after (t, 0)" is "at or after t".
    Ok((t, 0))
}

/// The items of a cursor export page: after `from`, changed before the cutoff, in order.
fn cursor_page<T>(
    s: &State,
    items: &[T],
    key: impl Fn(&T) -> Position,
    from: Position,
    per_page: usize,
) -> (Vec<usize>, bool) {
    let cutoff = (s.clock.now() - s.options.exclude_recent).timestamp();
    let mut hits: Vec<(Position, usize)> =
        items.iter().enumerate().map(|(i, t)| (key(t), i)).filter(|(k, _)| *k > from && k.0 < cutoff).collect();
    let more = hits.len() > per_page;
    if more {
        hits.select_nth_unstable(per_page);
        hits.truncate(per_page);
    }
    hits.sort_unstable();
    (hits.into_iter().map(|(_, i)| i).collect(), !more)
}

fn cursor_response(
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    resource: &str,
    items: Vec<Value>,
    last: Position,
    end_of_stream: bool,
) -> Response {
    let cursor = encode_cursor(last);
    let mut after_url = format!("{}/api/v2/incremental/{resource}/cursor.json?cursor={cursor}", base(headers));
    if let Some(p) = params.get("per_page") {
        after_url.push_str(&format!("&per_page={p}"));
    }
    Json(json!({
        resource: items,
        "after_url": after_url,
        "after_cursor": cursor,
        "before_url": null,
        "before_cursor": null,
        "end_of_stream": end_of_stream,
    }))
    .into_response()
}

async fn tickets(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let from = match start(&s, &params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let exclude_deleted = params.get("exclude_deleted").is_some_and(|v| v == "true");
    let data = s.read();
    let base = base(&headers);
    let key = |t: &super::model::Ticket| (t.updated_at.timestamp(), t.id);
    let visible: Vec<&super::model::Ticket> =
        data.tickets.iter().filter(|t| !(exclude_deleted && t.is_deleted())).collect();
    let (rows, end) = cursor_page(&s, &visible, |t| key(t), from, per_page(&s, &params));
    let last = rows.last().map_or(from, |&i| key(visible[i]));
    let items = rows.iter().map(|&i| visible[i].to_json(&base)).collect();
    drop(data);
    cursor_response(&headers, &params, "tickets", items, last, end)
}

async fn users(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let from = match start(&s, &params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let data = s.read();
    let base = base(&headers);
    let key = |u: &super::model::User| (u.updated_at.timestamp(), u.id);
    let (rows, end) = cursor_page(&s, &data.users, key, from, per_page(&s, &params));
    let last = rows.last().map_or(from, |&i| key(&data.users[i]));
    let items = rows.iter().map(|&i| data.users[i].to_json(&base)).collect();
    drop(data);
    cursor_response(&headers, &params, "users", items, last, end)
}

/// Time-based export: `start_time` is inclusive and the next page starts at the last item's
/// time, so items of that second come again (Zendesk says to dedupe by id and `updated_at`).
async fn organizations(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if params.contains_key("cursor") {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidPaginationParameter",
            "organizations support time-based export only",
        );
    }
    let (start_time, _) = match start(&s, &params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let per_page = per_page(&s, &params);
    let cutoff = (s.clock.now() - s.options.exclude_recent).timestamp();
    let data = s.read();
    let mut hits: Vec<(i64, u64, usize)> = data
        .organizations
        .iter()
        .enumerate()
        .map(|(i, o)| (o.updated_at.timestamp(), o.id, i))
        .filter(|(t, _, _)| *t >= start_time && *t < cutoff)
        .collect();
    hits.sort_unstable();
    let mut take = hits.len().min(per_page);
    // Never end inside a second, and always get past `start_time` while more remain: otherwise
    // a second holding more than a page would be served forever.
    while take > 0 && take < hits.len() && (hits[take].0 == hits[take - 1].0 || hits[take - 1].0 == start_time) {
        take += 1;
    }
    let end_of_stream = take == hits.len();
    let end_time = hits[..take].last().map_or(start_time, |h| h.0);
    let base = base(&headers);
    let items: Vec<Value> = hits[..take].iter().map(|&(_, _, i)| data.organizations[i].to_json(&base)).collect();
    drop(data);
    Json(json!({
        "organizations": items,
        "next_page": format!("{base}/api/v2/incremental/organizations.json?per_page={per_page}&start_time={end_time}"),
        "count": take,
        "end_of_stream": end_of_stream,
        "end_time": end_time,
    }))
    .into_response()
}

#[cfg(test)]
mod cursor_tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_look_like_zendesk_ones() {
        let c = encode_cursor((1_580_753_798, 432));
        assert_eq!(c, "MTU4MDc1Mzc5OC4wfHw0MzJ8");
        assert_eq!(decode_cursor(&c), Some((1_580_753_798, 432)));
        assert_eq!(decode_cursor("not a cursor"), None);
    }
}
