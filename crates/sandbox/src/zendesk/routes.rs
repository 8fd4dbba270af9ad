//! The Zendesk Support API over HTTP: the incremental export endpoints and Zendesk's auth,
//! rate-limit and error answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::State;
use super::model::{self, Organization, Ticket, User, timestamp};
use crate::emulator::faults::Fault;
use crate::emulator::paging::{PageNumber, param, take_page, time_window, unix_seconds, url_with};
use crate::emulator::ratelimit::{Limit, LimitHeaders};
use crate::emulator::respond::{base_url as base, json as reply, retry_after};
use crate::emulator::server::{Vendor, guard};
use crate::emulator::store::{Ordered, Record};
use crate::emulator::{Core, auth};

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/api/v2/incremental/tickets/cursor.json", get(tickets))
        .route("/api/v2/incremental/tickets/cursor", get(tickets))
        .route("/api/v2/incremental/users/cursor.json", get(users))
        .route("/api/v2/incremental/users/cursor", get(users))
        .route("/api/v2/incremental/organizations.json", get(organizations))
        .route("/api/v2/incremental/organizations", get(organizations))
        .route("/api/v2/incremental/ticket_metric_events.json", get(ticket_metric_events))
        .route("/api/v2/incremental/ticket_metric_events", get(ticket_metric_events))
        .route("/api/v2/search.json", get(search))
        .route("/api/v2/search", get(search))
        .route("/api/v2/{list}", get(account_list))
        .route("/api/v2/organizations/{id}", get(show_organization).put(update_organization))
        .route("/api/v2/organizations/search", get(search_organizations))
        .route("/api/v2/organizations/search.json", get(search_organizations))
        .route("/api/v2/organizations", get(not_found).post(create_organization))
        .route("/api/v2/organizations.json", get(not_found).post(create_organization))
        .route("/api/v2/slas/policies.json", get(sla_policies))
        .route("/api/v2/slas/policies", get(sla_policies))
        .route("/api/v2/channels/voice/phone_numbers.json", get(phone_numbers))
        .route("/api/v2/channels/voice/phone_numbers", get(phone_numbers))
        .route("/api/v2/tickets/{ticket}/audits.json", get(audits))
        .route("/api/v2/tickets/{ticket}/audits", get(audits))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Zendesk's error body: `{"error": ..., "description": ...}`.
fn error(status: StatusCode, error: &str, description: &str) -> Response {
    reply(status, json!({ "error": error, "description": description }))
}

/// Zendesk's limit headers (no reset time: a refusal says `Retry-After`).
const LIMIT_HEADERS: LimitHeaders =
    LimitHeaders { limit: "x-rate-limit", remaining: "x-rate-limit-remaining", reset: None };

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "InvalidEndpoint", "Not found")
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        if !req.uri().path().starts_with("/api/v2/") {
            return Ok(());
        }
        if let Some(token) = auth::bearer(req) {
            if token == self.credentials.oauth_token {
                return Ok(());
            }
            let body = json!({
                "error": "invalid_token",
                "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."
            });
            return Err((StatusCode::UNAUTHORIZED, Json(body)).into_response());
        }
        let user = format!("{}/token", self.credentials.email);
        if auth::basic(req).is_some_and(|(u, p)| u == user && p == self.credentials.api_token) {
            return Ok(());
        }
        let mut r = (StatusCode::UNAUTHORIZED, Json(json!({ "error": "Couldn't authenticate you" }))).into_response();
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Web Password\""));
        Err(r)
    }

    fn throttle(&self, req: &Request) -> Result<HeaderMap, Response> {
        let path = req.uri().path();
        if !path.starts_with("/api/v2/") {
            return Ok(HeaderMap::new());
        }
        let account = Limit { max: self.options.per_minute, window: self.options.window };
        let incremental = Limit { max: self.options.incremental_limit(), window: self.options.window };
        let scopes: &[(&'static str, Limit)] = if path.starts_with("/api/v2/incremental/") {
            &[("incremental", incremental), ("account", account)]
        } else {
            &[("account", account)]
        };
        let verdicts = self.core.limiter.acquire_all(scopes);
        let account_verdict = verdicts.as_ref().and_then(|v| v.last().copied());
        let remaining = account_verdict.map_or(self.options.per_minute, |v| v.remaining);
        let mut headers = LIMIT_HEADERS.headers(self.options.per_minute, remaining, std::time::Duration::ZERO);
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
                r.headers_mut().extend(LIMIT_HEADERS.headers(self.options.per_minute, 0, std::time::Duration::ZERO));
                retry_after(r, 1)
            }
            Fault::Status(503) => retry_after(
                error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "Service temporarily unavailable"),
                1,
            ),
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
    // `datetime.timestamp()`, `946684800.0`), counted by the whole second, and an ISO 8601 time
    // (zenpy passes a string through as it is: the tap checks access with `2024-01-31T09:15:00Z`).
    let t = unix_seconds(t)
        .or_else(|| parse_time(t).map(|t| t.timestamp()))
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "InvalidValue", "start_time must be a Unix time in seconds"))?;
    if t > s.core.clock.now().timestamp() {
        return Err(error(StatusCode::BAD_REQUEST, "InvalidValue", "start_time must be in the past"));
    }
    // Ids are positive, so "after (t, 0)" is "at or after t".
    Ok((t, 0))
}

fn time(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or(if seconds < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// The second before which exports end: they leave out what changed in the last minute.
fn cutoff(s: &State) -> DateTime<Utc> {
    time((s.core.clock.now() - s.options.exclude_recent).timestamp())
}

/// The items of a cursor export page: after `from`, changed before the cutoff and `visible`, in
/// `(updated_at, id)` order; and whether the export ended.
fn cursor_page<'a, R: Record<Id = u64>>(
    s: &State,
    order: Ordered<'a, R>,
    visible: impl Fn(&R) -> bool,
    (ts, id): Position,
    per_page: usize,
) -> (Vec<&'a R>, bool) {
    let cutoff = cutoff(s);
    let items = order.iter_from(order.after(time(ts), &id)).take_while(|(k, _)| k.0 < cutoff).map(|(_, r)| r);
    let (page, more) = take_page(items.filter(|r| visible(r)), per_page);
    (page, !more)
}

fn position<R: Record<Id = u64>>(r: &R) -> Position {
    (r.updated().timestamp(), *r.id())
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
    let data = s.data.read();
    let base = base(&headers);
    let visible = |t: &Ticket| !(exclude_deleted && t.is_deleted());
    let (rows, end) = cursor_page(&s, data.tickets.by_updated(), visible, from, per_page(&s, &params));
    let last = rows.last().map_or(from, |t| position(*t));
    let items = rows.iter().map(|t| t.to_json(&base)).collect();
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
    let data = s.data.read();
    let base = base(&headers);
    let (rows, end) = cursor_page(&s, data.users.by_updated(), |_: &User| true, from, per_page(&s, &params));
    let last = rows.last().map_or(from, |u| position(*u));
    let items = rows.iter().map(|u| u.to_json(&base)).collect();
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
    let cutoff = cutoff(&s);
    let data = s.data.read();
    let order = data.organizations.by_updated();
    let items = order
        .iter_from(order.since(time(start_time)))
        .take_while(|(k, _)| k.0 < cutoff)
        .map(|(k, o): (_, &Organization)| (k.0.timestamp(), o));
    let (page, end_of_stream, end_time) = time_window(items, start_time, per_page);
    let base = base(&headers);
    let count = page.len();
    let items: Vec<Value> = page.iter().map(|o| o.to_json(&base)).collect();
    drop(data);
    Json(json!({
        "organizations": items,
        "next_page": format!("{base}/api/v2/incremental/organizations.json?per_page={per_page}&start_time={end_time}"),
        "count": count,
        "end_of_stream": end_of_stream,
        "end_time": end_time,
    }))
    .into_response()
}

/// One page of a list endpoint, in either of Zendesk's styles: cursor pagination when the request
/// has `page[size]` or `page[after]` (`meta.has_more`, `meta.after_cursor`, `links.next`), else
/// offset pagination by `page` and `per_page` (`next_page`, `previous_page`, `count`). Both serve
/// at most 100 items a page.
fn listing(
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    path: &str,
    key: &str,
    items: Vec<Value>,
) -> Response {
    let url = format!("{}{path}", base(headers));
    let cursor_style = params.keys().any(|k| k.starts_with("page["));
    if !cursor_style {
        let paging = PageNumber::from_params(params, 100, Some(100));
        let range = paging.range(items.len());
        let link = |page: usize| Value::String(url_with(&url, params, &[("page", page.to_string())]));
        let next = if paging.has_next(items.len()) { link(paging.page + 1) } else { Value::Null };
        let previous = if paging.page > 1 && range.start > 0 { link(paging.page - 1) } else { Value::Null };
        let count = items.len();
        let page: Vec<Value> = items.into_iter().skip(range.start).take(range.len()).collect();
        return Json(json!({ key: page, "next_page": next, "previous_page": previous, "count": count }))
            .into_response();
    }
    let size = param::<usize>(params, "page[size]").unwrap_or(100).clamp(1, 100);
    let start = match params.get("page[after]") {
        None => 0,
        Some(c) => match decode_list_cursor(c) {
            Some(after) => after,
            None => return error(StatusCode::BAD_REQUEST, "InvalidPaginationParameter", "page[after] is invalid"),
        },
    };
    let start = start.min(items.len());
    let end = (start + size).min(items.len());
    let has_more = end < items.len();
    let after = (end > start).then(|| encode_list_cursor(end));
    let before = (end > start).then(|| encode_list_cursor(start));
    let next = match (&after, has_more) {
        (Some(a), true) => Value::String(url_with(&url, params, &[("page[after]", a.clone())])),
        _ => Value::Null,
    };
    let page: Vec<Value> = items.into_iter().skip(start).take(end - start).collect();
    Json(json!({
        key: page,
        "meta": { "has_more": has_more, "after_cursor": after, "before_cursor": before },
        "links": { "prev": null, "next": next },
    }))
    .into_response()
}

/// A list cursor names the position after the last item served (lists are in id order).
fn encode_list_cursor(position: usize) -> String {
    BASE64.encode(format!("p{position}"))
}

fn decode_list_cursor(cursor: &str) -> Option<usize> {
    String::from_utf8(BASE64.decode(cursor.trim()).ok()?).ok()?.strip_prefix('p')?.parse().ok()
}

fn organization_id(id: &str) -> Option<u64> {
    id.strip_suffix(".json").unwrap_or(id).parse().ok()
}

/// `GET /api/v2/organizations/{id}[.json]`.
async fn show_organization(AxState(s): AxState<Arc<State>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let found = {
        let data = s.data.read();
        organization_id(&id).and_then(|id| data.organizations.get(&id)).map(|o| o.to_json(&base(&headers)))
    };
    match found {
        Some(o) => Json(json!({"organization": o})).into_response(),
        None => not_found().await,
    }
}

/// `PUT /api/v2/organizations/{id}[.json]` with `{"organization": {...}}`: `name`, `external_id`,
/// `domain_names` and `organization_fields.tier` change (others are ignored, as fields a plan does
/// not have are); the answer is the organization as stored.
async fn update_organization(
    AxState(s): AxState<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(id) = organization_id(&id) else { return not_found().await };
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "InvalidJSON", "the body is not a JSON object");
    };
    let Some(Value::Object(change)) = root.get("organization") else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "RecordInvalid", "the body has no \"organization\" object");
    };
    if let Some(v) = change.get("external_id").filter(|v| !v.is_string() && !v.is_null()) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "RecordInvalid", &format!("external_id must be text, not {v}"));
    }
    let now = crate::clock::whole_seconds(s.core.clock.now());
    let stored = {
        let mut data = s.data.write();
        let updated = data.organizations.update(&id, |o| {
            if let Some(v) = change.get("external_id") {
                o.external_id = v.as_str().map(str::to_owned);
            }
            if let Some(name) = change.get("name").and_then(Value::as_str) {
                o.name = name.to_owned();
            }
            if let Some(Value::Array(d)) = change.get("domain_names") {
                o.domain_names = d.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            }
            o.updated_at = now;
        });
        updated.and_then(|()| data.organizations.get(&id).map(|o| o.to_json(&base(&headers))))
    };
    let Some(json) = stored else { return not_found().await };
    s.core.log_write("organization", &id.to_string());
    super::notify(&s, "organization", id, "updated", now);
    Json(json!({"organization": json})).into_response()
}

/// `GET /api/v2/organizations/search.json?external_id=X` (or `name=`): the organizations carrying it.
async fn search_organizations(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (external, name) = (params.get("external_id"), params.get("name"));
    if external.is_none() && name.is_none() {
        return error(StatusCode::BAD_REQUEST, "InvalidEndpoint", "external_id or name is required");
    }
    let b = base(&headers);
    let found: Vec<Value> = {
        let data = s.data.read();
        data.organizations
            .rows()
            .iter()
            .filter(|o| external.is_none_or(|e| o.external_id.as_deref() == Some(e.as_str())))
            .filter(|o| name.is_none_or(|n| o.name.eq_ignore_ascii_case(n)))
            .map(|o| o.to_json(&b))
            .collect()
    };
    let count = found.len();
    Json(json!({"organizations": found, "next_page": null, "previous_page": null, "count": count})).into_response()
}

/// `POST /api/v2/organizations.json` with `{"organization": {"name", "external_id", "domain_names"}}`:
/// 201 and the organization; a name already taken is 422, as Zendesk answers.
async fn create_organization(AxState(s): AxState<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "InvalidJSON", "the body is not a JSON object");
    };
    let Some(Value::Object(org)) = root.get("organization") else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "RecordInvalid", "the body has no \"organization\" object");
    };
    let Some(name) = org.get("name").and_then(Value::as_str).map(str::trim).filter(|n| !n.is_empty()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "RecordInvalid", "Name: cannot be blank");
    };
    let now = crate::clock::whole_seconds(s.core.clock.now());
    let created = {
        let mut data = s.data.write();
        if data.organizations.rows().iter().any(|o| o.name.eq_ignore_ascii_case(name)) {
            None
        } else {
            let id = data.organizations.rows().last().map_or(1, |o| o.id + 1);
            let o = Organization {
                id,
                name: name.to_owned(),
                external_id: org.get("external_id").and_then(Value::as_str).map(str::to_owned),
                domain_names: org
                    .get("domain_names")
                    .and_then(Value::as_array)
                    .map(|d| d.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default(),
                tier: None,
                created_at: now,
                updated_at: now,
            };
            let json = o.to_json(&base(&headers));
            data.organizations.insert(o);
            Some((id, json))
        }
    };
    let Some((id, json)) = created else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "RecordInvalid", "Name: has already been taken");
    };
    s.core.log_write("organization", &id.to_string());
    super::notify(&s, "organization", id, "created", now);
    (StatusCode::CREATED, Json(json!({"organization": json}))).into_response()
}

/// The account's configuration lists and the lists derived from its records:
/// `/api/v2/{groups,group_memberships,ticket_fields,user_fields,organization_fields,ticket_forms,
/// macros,tags,satisfaction_ratings}[.json]`.
async fn account_list(
    AxState(s): AxState<Arc<State>>,
    Path(list): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let name = list.strip_suffix(".json").unwrap_or(&list);
    let b = base(&headers);
    let items: Vec<Value> = match name {
        "groups" => model::GROUPS.iter().map(|&g| model::group_json(&b, g)).collect(),
        "group_memberships" => {
            let data = s.data.read();
            data.users
                .rows()
                .iter()
                .filter(|u| u.role != "end-user")
                .map(|u| model::group_membership_json(&b, u))
                .collect()
        }
        "ticket_fields" => model::ticket_fields(&b),
        "user_fields" => model::user_fields(&b),
        "organization_fields" => model::organization_fields(&b),
        "ticket_forms" => model::ticket_forms(&b),
        "macros" => model::macros(&b),
        // Tags are counted over the records carrying them; none of the generated ones do.
        "tags" => Vec::new(),
        // No ticket was rated (every ticket's `satisfaction_rating` is null).
        "satisfaction_ratings" => Vec::new(),
        _ => return not_found().await,
    };
    listing(&headers, &params, &format!("/api/v2/{list}"), name, items)
}

async fn sla_policies(headers: HeaderMap, Query(params): Query<HashMap<String, String>>) -> Response {
    let items = model::sla_policies(&base(&headers));
    listing(&headers, &params, "/api/v2/slas/policies.json", "sla_policies", items)
}

/// Zendesk Talk: the account has no phone numbers.
async fn phone_numbers(headers: HeaderMap, Query(params): Query<HashMap<String, String>>) -> Response {
    listing(&headers, &params, "/api/v2/channels/voice/phone_numbers.json", "phone_numbers", Vec::new())
}

/// A ticket's audits: the one that created it, with its description as the first comment.
async fn audits(
    AxState(s): AxState<Arc<State>>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let id = ticket.strip_suffix(".json").unwrap_or(&ticket).parse::<u64>().ok();
    let data = s.data.read();
    let Some(t) = id.and_then(|id| data.tickets.get(&id)).filter(|t| !t.is_deleted()) else {
        return error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found");
    };
    let at = timestamp(t.created_at);
    let audit = json!({
        "id": t.id * 100 + 1,
        "ticket_id": t.id,
        "created_at": at,
        "author_id": t.requester_id,
        "metadata": { "system": {}, "custom": {} },
        "via": { "channel": "web", "source": { "from": {}, "to": {}, "rel": null } },
        "events": [
            { "id": t.id * 100 + 2, "type": "Comment", "author_id": t.requester_id, "body": t.subject,
              "html_body": format!("<div class=\"zd-comment\"><p>{}</p></div>", t.subject), "plain_body": t.subject,
              "public": true, "attachments": [], "audit_id": t.id * 100 + 1 },
            { "id": t.id * 100 + 3, "type": "Create", "field_name": "status", "value": t.status },
            { "id": t.id * 100 + 4, "type": "Create", "field_name": "subject", "value": t.subject },
        ],
    });
    drop(data);
    listing(&headers, &params, &format!("/api/v2/tickets/{ticket}/audits.json"), "audits", vec![audit])
}

/// Time-based export of ticket metric events, from `start_time` (inclusive), by the second.
async fn ticket_metric_events(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (start_time, _) = match start(&s, &params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let per_page = per_page(&s, &params);
    let cutoff = cutoff(&s);
    let data = s.data.read();
    // A ticket's events happen when it is created: the (created, id) index is their order.
    let order = data.tickets.by_created();
    let events = order
        .iter_from(order.since(time(start_time)))
        .take_while(|(k, _)| k.0 < cutoff)
        .filter(|(_, t)| !t.is_deleted())
        .flat_map(|(k, t)| model::ticket_metric_events(t).map(|e| (k.0.timestamp(), e)));
    let (page, end_of_stream, end_time) = time_window(events, start_time, per_page);
    drop(data);
    let b = base(&headers);
    Json(json!({
        "count": page.len(),
        "ticket_metric_events": page,
        "next_page": format!("{b}/api/v2/incremental/ticket_metric_events.json?start_time={end_time}"),
        "end_time": end_time,
        "end_of_stream": end_of_stream,
    }))
    .into_response()
}

/// One term of a search query: `type:user`, `updated>2024-01-01`, `created<...`, `status:open`, or
/// free text.
enum Term {
    Type(String),
    Time { field: String, after: bool, at: DateTime<Utc> },
    Field(String, String),
    Text(String),
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).ok().or_else(|| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    })
}

fn parse_query(query: &str) -> Result<Vec<Term>, String> {
    query
        .split_whitespace()
        .map(|word| {
            let word = word.trim_matches('"');
            if let Some(at) = word.find(['>', '<']) {
                let (field, rest) = word.split_at(at);
                let at = parse_time(rest[1..].trim_start_matches('='))
                    .ok_or_else(|| format!("{word} is not a valid date"))?;
                return Ok(Term::Time { field: field.to_owned(), after: rest.starts_with('>'), at });
            }
            Ok(match word.split_once(':') {
                Some(("type", t)) => Term::Type(t.to_owned()),
                Some((field, value)) => Term::Field(field.to_owned(), value.to_lowercase()),
                None => Term::Text(word.to_lowercase()),
            })
        })
        .collect()
}

/// Whether a record's JSON (with its type) matches every term.
fn matches(terms: &[Term], kind: &str, record: &Value) -> bool {
    terms.iter().all(|term| match term {
        Term::Type(t) => t == kind,
        Term::Time { field, after, at } => {
            let key = match field.as_str() {
                "updated" => "updated_at",
                "created" => "created_at",
                other => other,
            };
            let value = record.get(key).and_then(Value::as_str).and_then(parse_time);
            value.is_some_and(|v| if *after { v > *at } else { v < *at })
        }
        Term::Field(field, value) => {
            record.get(field).is_some_and(|v| v.as_str().map_or(v.to_string(), str::to_lowercase) == *value)
        }
        Term::Text(text) => ["name", "email", "subject"]
            .iter()
            .any(|k| record.get(*k).and_then(Value::as_str).is_some_and(|v| v.to_lowercase().contains(text.as_str()))),
    })
}

/// `GET /api/v2/search.json?query=...`: users, organizations and tickets matching every term,
/// each with its `result_type`, paged by `page` and `per_page` (at most 100). The hits are found
/// once per query and data version; later pages are slices.
async fn search(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(query) = params.get("query") else {
        return error(StatusCode::BAD_REQUEST, "InvalidSearchParameter", "query is required");
    };
    let terms = match parse_query(query) {
        Ok(t) => t,
        Err(m) => return error(StatusCode::BAD_REQUEST, "InvalidSearchParameter", &m),
    };
    let b = base(&headers);
    let data = s.data.read();
    // Versions only grow, so their sum names the data's state.
    let version = data.users.version() + data.organizations.version() + data.tickets.version();
    let hits = s.searches.get_or_try::<std::convert::Infallible>(&format!("{b} {query}"), version, || {
        let mut hits: Vec<Value> = Vec::new();
        let mut consider = |kind: &str, mut record: Value| {
            if matches(&terms, kind, &record) {
                record["result_type"] = Value::String(kind.to_owned());
                hits.push(record);
            }
        };
        for u in data.users.rows() {
            consider("user", u.to_json(&b));
        }
        for o in data.organizations.rows() {
            consider("organization", o.to_json(&b));
        }
        for t in data.tickets.rows().iter().filter(|t| !t.is_deleted()) {
            consider("ticket", t.to_json(&b));
        }
        Ok(hits)
    });
    drop(data);
    let Ok(hits) = hits;
    let paging = PageNumber::from_params(&params, 100, Some(100));
    let count = hits.len();
    let range = paging.range(count);
    let url = format!("{b}/api/v2/search.json");
    let link = |page: usize| Value::String(url_with(&url, &params, &[("page", page.to_string())]));
    let next = if paging.has_next(count) { link(paging.page + 1) } else { Value::Null };
    let previous = if paging.page > 1 && range.start > 0 { link(paging.page - 1) } else { Value::Null };
    let results: Vec<Value> = hits[range].to_vec();
    Json(json!({ "results": results, "facets": null, "next_page": next, "previous_page": previous, "count": count }))
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
