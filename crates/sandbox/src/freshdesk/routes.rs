//! The Freshdesk API v2 over HTTP: the company, contact and ticket lists (bare arrays, `Link`
//! headers), the lists a client reads first (agents, groups, roles, field definitions), a
//! ticket's conversations and time entries, and Freshdesk's auth, rate-limit and error answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::State;
use super::model::{self, Ticket};
use crate::emulator::faults::Fault;
use crate::emulator::paging::{PageNumber, link_next, url_with};
use crate::emulator::ratelimit::Limit;
use crate::emulator::respond::{base_url as base, json as reply, retry_after};
use crate::emulator::server::{Vendor, guard};
use crate::emulator::store::{Ordered, Record};
use crate::emulator::{Core, auth};

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/api/v2/companies", get(companies))
        .route("/api/v2/contacts", get(contacts))
        .route("/api/v2/tickets", get(tickets))
        .route("/api/v2/tickets/{id}/{list}", get(ticket_list))
        .route("/api/v2/{list}", get(account_list))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Freshdesk's error body for a refused request: `{"code": ..., "message": ...}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    reply(status, json!({ "code": code, "message": message }))
}

/// Freshdesk's validation error: `{"description": "Validation failed", "errors": [...]}`.
fn invalid(field: &str, message: &str) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        json!({
            "description": "Validation failed",
            "errors": [{ "field": field, "message": message, "code": "invalid_value" }],
        }),
    )
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "The requested resource was not found")
}

/// `X-RateLimit-Total`, `-Remaining` and `-Used-CurrentRequest` (every list call here costs 1).
fn limit_headers(total: u32, remaining: u32) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(HeaderName::from_static("x-ratelimit-total"), HeaderValue::from(total));
    h.insert(HeaderName::from_static("x-ratelimit-remaining"), HeaderValue::from(remaining));
    h.insert(HeaderName::from_static("x-ratelimit-used-currentrequest"), HeaderValue::from(1));
    h
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        if !req.uri().path().starts_with("/api/v2/") {
            return Ok(());
        }
        // The key is the user; Freshdesk ignores the password (`X` by convention, empty for some
        // clients).
        if auth::basic(req).is_some_and(|(user, _)| user == self.credentials.api_key) {
            return Ok(());
        }
        Err(error(StatusCode::UNAUTHORIZED, "invalid_credentials", "You have to be logged in to perform this action."))
    }

    fn throttle(&self, req: &Request) -> Result<HeaderMap, Response> {
        if !req.uri().path().starts_with("/api/v2/") {
            return Ok(HeaderMap::new());
        }
        let total = self.options.per_minute;
        let Some(v) = self.core.limiter.acquire("account", Limit { max: total, window: self.options.window }) else {
            return Ok(limit_headers(total, total));
        };
        let mut headers = limit_headers(total, v.remaining);
        if v.allowed {
            return Ok(headers);
        }
        headers.insert(header::RETRY_AFTER, HeaderValue::from(v.retry_after_secs()));
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "You have exceeded the limit of requests per minute. Please try again after some time.",
        );
        r.headers_mut().extend(headers);
        Err(r)
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => {
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    "You have exceeded the limit of requests per minute. Please try again after some time.",
                );
                r.headers_mut().extend(limit_headers(self.options.per_minute, 0));
                retry_after(r, 1)
            }
            Fault::Status(code) => error(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "internal_error",
                "We're sorry, but something went wrong.",
            ),
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => {
                error(StatusCode::NOT_FOUND, "not_found", "The requested resource was not found")
            }
        }
    }
}

/// A date-time parameter as Freshdesk reads it: ISO-8601 with or without a zone (UTC then), or a
/// date.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").ok().map(|t| t.and_utc()))
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

fn time_param(params: &HashMap<String, String>, name: &str) -> Result<Option<DateTime<Utc>>, Response> {
    match params.get(name) {
        None => Ok(None),
        Some(t) => parse_time(t).map(Some).ok_or_else(|| invalid(name, "It should be in the 'valid date time' format")),
    }
}

/// `page` (from 1) and `per_page` (default 30, at most 100).
fn paging(params: &HashMap<String, String>) -> PageNumber {
    PageNumber::from_params(params, 30, Some(100))
}

/// A bare JSON array, with a `Link` header to the next page when one follows.
fn page(
    headers: &HeaderMap,
    path: &str,
    params: &HashMap<String, String>,
    items: Vec<Value>,
    next: Option<usize>,
) -> Response {
    let mut r = Json(Value::Array(items)).into_response();
    if let Some(n) = next {
        let url = url_with(&format!("{}{path}", base(headers)), params, &[("page", n.to_string())]);
        if let Some(link) = link_next(&url) {
            r.headers_mut().insert(header::LINK, link);
        }
    }
    r
}

/// Page `p` of the records of `order` from position `start` on, ascending or descending, and
/// whether another page follows.
fn slice<'a, R: Record>(order: Ordered<'a, R>, start: usize, descending: bool, p: PageNumber) -> (Vec<&'a R>, bool) {
    let len = order.len().saturating_sub(start);
    let range = p.range(len);
    let rows = range.map(|r| if descending { order.get(order.len() - 1 - r) } else { order.get(start + r) }).collect();
    (rows, p.has_next(len))
}

async fn companies(
    headers: HeaderMap,
    AxState(s): AxState<Arc<State>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let p = paging(&params);
    let data = s.data.read();
    let rows = data.companies.rows();
    let items = rows[p.range(rows.len())].iter().map(|c| c.to_json()).collect();
    let next = p.has_next(rows.len()).then_some(p.page + 1);
    drop(data);
    page(&headers, "/api/v2/companies", &params, items, next)
}

/// `state=deleted` lists the soft-deleted contacts (other states: the live ones); with
/// `_updated_since` in `updated_at` order, else in id order.
async fn contacts(
    headers: HeaderMap,
    AxState(s): AxState<Arc<State>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    // `updated_since` is read as `_updated_since` (clients such as Singer's tap send either).
    let name = if params.contains_key("_updated_since") { "_updated_since" } else { "updated_since" };
    let since = match time_param(&params, name) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let state = params.get("state").map(String::as_str);
    if let Some(st) = state.filter(|st| !["blocked", "deleted", "unverified", "verified"].contains(st)) {
        return invalid(
            "state",
            &format!("It should be one of these values: 'blocked,deleted,unverified,verified' (got {st})"),
        );
    }
    let p = paging(&params);
    let data = s.data.read();
    let store = if state == Some("deleted") { &data.deleted_contacts } else { &data.contacts };
    let (items, more): (Vec<Value>, bool) = match (state, since) {
        // No contact here is blocked.
        (Some("blocked"), _) => (Vec::new(), false),
        (_, Some(t)) => {
            let order = store.by_updated();
            let start = order.since(t);
            let (rows, more) = slice(order, start, false, p);
            (rows.iter().map(|c| c.to_json()).collect(), more)
        }
        (_, None) => {
            let rows = store.rows();
            (rows[p.range(rows.len())].iter().map(|c| c.to_json()).collect(), p.has_next(rows.len()))
        }
    };
    drop(data);
    page(&headers, "/api/v2/contacts", &params, items, more.then_some(p.page + 1))
}

/// The ticket list: `filter=deleted` is the trash (`spam`: none here; other predefined filters
/// name the open tickets), `updated_since` filters on `updated_at` and without it only tickets
/// created in the last 30 days come back; `order_by` (`created_at` by default, `updated_at`,
/// `due_by`, `status`) and `order_type` (`desc` by default); `include=requester,company,stats`.
async fn tickets(
    headers: HeaderMap,
    AxState(s): AxState<Arc<State>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let since = match time_param(&params, "updated_since") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let filter = params.get("filter").map(String::as_str);
    if let Some(f) = filter.filter(|f| !["new_and_my_open", "watching", "spam", "deleted"].contains(f)) {
        return invalid(
            "filter",
            &format!("It should be one of these values: 'new_and_my_open,watching,spam,deleted' (got {f})"),
        );
    }
    let order_by = params.get("order_by").map_or("created_at", String::as_str);
    if !["created_at", "updated_at", "due_by", "status"].contains(&order_by) {
        return invalid("order_by", "It should be one of these values: 'created_at,due_by,updated_at,status'");
    }
    let descending = match params.get("order_type").map(String::as_str) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return invalid("order_type", "It should be one of these values: 'asc,desc'"),
    };
    let includes: Vec<&str> = params.get("include").map(|i| i.split(',').map(str::trim).collect()).unwrap_or_default();
    if let Some(bad) = includes.iter().find(|i| !["requester", "company", "stats", "description"].contains(*i)) {
        return invalid(
            "include",
            &format!("It should be one of these values: 'requester,company,stats,description' (got {bad})"),
        );
    }
    let p = paging(&params);
    let data = s.data.read();
    let store = if filter == Some("deleted") { &data.deleted_tickets } else { &data.tickets };
    // Without `updated_since`, tickets created in the last 30 days.
    let created_from = since.is_none().then(|| s.core.clock.now() - s.options.default_ticket_window);
    let (rows, more): (Vec<&Ticket>, bool) = match (filter, order_by, since) {
        (Some("spam"), _, _) => (Vec::new(), false),
        (_, "updated_at", Some(t)) => {
            let order = store.by_updated();
            let start = order.since(t);
            slice(order, start, descending, p)
        }
        (_, "created_at", None) => {
            let order = store.by_created();
            let start = order.since(created_from.unwrap_or(DateTime::<Utc>::MIN_UTC));
            slice(order, start, descending, p)
        }
        _ => {
            // Another order of the filtered list: computed once per query and data version.
            let query = format!("{filter:?} {order_by} {since:?} {created_from:?}");
            let version = store.version();
            let keys = s.lists.get_or_try::<std::convert::Infallible>(
                &format!("{} {query}", filter == Some("deleted")),
                version,
                || {
                    let mut keys: Vec<(DateTime<Utc>, u64)> = store
                        .rows()
                        .iter()
                        .filter(|t| since.is_none_or(|since| t.updated_at >= since))
                        .filter(|t| created_from.is_none_or(|from| t.created_at >= from))
                        .map(|t| match order_by {
                            "updated_at" => (t.updated_at, t.id),
                            "due_by" => (t.created_at + chrono::Duration::days(3), t.id),
                            "status" => (DateTime::from_timestamp(i64::from(t.status), 0).unwrap_or_default(), t.id),
                            _ => (t.created_at, t.id),
                        })
                        .collect();
                    keys.sort_unstable();
                    Ok(keys)
                },
            );
            let Ok(keys) = keys;
            let range = p.range(keys.len());
            let rows =
                range.filter_map(|r| store.get(&keys[if descending { keys.len() - 1 - r } else { r }].1)).collect();
            (rows, p.has_next(keys.len()))
        }
    };
    let items: Vec<Value> = rows
        .iter()
        .map(|t| {
            let mut v = t.to_json();
            for include in &includes {
                match *include {
                    "requester" => {
                        let c =
                            data.contacts.get(&t.requester_id).or_else(|| data.deleted_contacts.get(&t.requester_id));
                        v["requester"] = c.map_or(
                            Value::Null,
                            |c| json!({"id": c.id, "name": c.name, "email": c.email, "mobile": null, "phone": null}),
                        );
                    }
                    "company" => {
                        v["company"] = t
                            .company_id
                            .and_then(|id| data.companies.get(&id))
                            .map_or(json!({}), |c| json!({"id": c.id, "name": c.name}));
                    }
                    "stats" => v["stats"] = t.stats(),
                    "description" => {
                        v["description"] = Value::String(format!("<div>{}</div>", t.subject));
                        v["description_text"] = Value::String(t.subject.clone());
                    }
                    _ => {}
                }
            }
            v
        })
        .collect();
    drop(data);
    page(&headers, "/api/v2/tickets", &params, items, more.then_some(p.page + 1))
}

/// A ticket's conversations, time entries and satisfaction ratings (of a ticket in the trash
/// too): none in the generated data.
async fn ticket_list(
    headers: HeaderMap,
    AxState(s): AxState<Arc<State>>,
    Path((id, list)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if !["conversations", "time_entries", "satisfaction_ratings"].contains(&list.as_str()) {
        return not_found().await;
    }
    let exists = id.parse::<u64>().ok().is_some_and(|id| {
        let data = s.data.read();
        data.tickets.get(&id).is_some() || data.deleted_tickets.get(&id).is_some()
    });
    if !exists {
        return not_found().await;
    }
    page(&headers, &format!("/api/v2/tickets/{id}/{list}"), &params, Vec::new(), None)
}

/// Lists of the account's configuration: agents, groups, roles, and the field definitions.
async fn account_list(
    headers: HeaderMap,
    Path(list): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let items = match list.as_str() {
        "agents" => model::agents(),
        "groups" => model::groups(),
        "roles" => model::roles(),
        "company_fields" => model::company_fields(),
        "contact_fields" | "ticket_fields" | "time_entries" | "satisfaction_ratings" => Vec::new(),
        _ => return not_found().await,
    };
    let p = paging(&params);
    let next = p.has_next(items.len()).then_some(p.page + 1);
    let range = p.range(items.len());
    page(&headers, &format!("/api/v2/{list}"), &params, items[range].to_vec(), next)
}
