//! The Intercom REST API over HTTP: company list and scroll, contact and conversation lists and
//! search, and Intercom's `error.list` answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::model::{Company, Contact, Conversation};
use super::{Scroll, State};
use crate::emulator::faults::Fault;
use crate::emulator::paging::{PageNumber, param, unix_seconds_json};
use crate::emulator::ratelimit::{Limit, LimitHeaders, Reset};
use crate::emulator::respond::json as reply;
use crate::emulator::server::{Vendor, guard};
use crate::emulator::store::{Key, Record, Store};
use crate::emulator::{Core, auth};

/// The values of `Intercom-Version` the 2.14 spec lists.
const VERSIONS: &[&str] = &[
    "1.0", "1.1", "1.2", "1.3", "1.4", "2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10",
    "2.11", "2.12", "2.13", "2.14", "2.15", "Unstable",
];

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/companies", get(companies))
        .route("/companies/list", post(companies_list))
        .route("/companies/scroll", get(scroll))
        .route("/contacts", get(contacts))
        .route("/contacts/search", post(search_contacts))
        .route("/contacts/{id}", get(show_contact).put(update_contact))
        .route("/conversations", get(conversations))
        .route("/conversations/search", post(search_conversations))
        .route("/tags", get(tags))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Intercom's error body: `{"type": "error.list", "request_id", "errors": [{code, message}]}`.
fn error(s: &State, status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "type": "error.list",
        "request_id": s.request_id(),
        "errors": [{ "code": code, "message": message }],
    });
    reply(status, body)
}

/// Intercom's limit headers; the reset is a wall-clock Unix time.
const LIMIT_HEADERS: LimitHeaders = LimitHeaders {
    limit: "x-ratelimit-limit",
    remaining: "x-ratelimit-remaining",
    reset: Some(("x-ratelimit-reset", Reset::UnixTime)),
};

/// `GET /tags` (`listTags`): the generated workspace has no tags. Clients call it to check a
/// token (Singer's tap-intercom does, before anything else).
async fn tags() -> Response {
    Json(json!({ "type": "list", "data": [] })).into_response()
}

/// `GET /contacts/{id}`.
async fn show_contact(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let found = s.data.read().contacts.get(&id).map(Contact::to_json);
    match found {
        Some(c) => Json(c).into_response(),
        None => error(&s, StatusCode::NOT_FOUND, "not_found", "User Not Found"),
    }
}

/// `PUT /contacts/{id}`: `name`, `email` and `custom_attributes.account_id` change (text or a
/// number; `null` clears it); the answer is the contact as stored.
async fn update_contact(AxState(s): AxState<Arc<State>>, Path(id): Path<String>, body: Bytes) -> Response {
    use super::model::AttributeValue;
    let Ok(Value::Object(change)) = serde_json::from_slice::<Value>(&body) else {
        return error(&s, StatusCode::BAD_REQUEST, "parameter_invalid", "the body is not a JSON object");
    };
    let account = match change.get("custom_attributes").and_then(|c| c.get("account_id")) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(t)) => Some(Some(AttributeValue::Text(t.clone()))),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Some(Some(AttributeValue::Int(i))),
            None => Some(n.as_f64().map(AttributeValue::Float)),
        },
        Some(other) => {
            let message = format!("Custom attribute 'account_id' has a value of the wrong type: {other}");
            return error(&s, StatusCode::BAD_REQUEST, "parameter_invalid", &message);
        }
    };
    let now = crate::clock::whole_seconds(s.core.clock.now());
    let stored = {
        let mut data = s.data.write();
        data.contacts.update(&id, |c| {
            if let Some(a) = account.clone() {
                c.account_id = a;
            }
            if let Some(name) = change.get("name").and_then(Value::as_str) {
                c.name = Some(name.to_owned());
            }
            if let Some(email) = change.get("email").and_then(Value::as_str) {
                c.email = Some(email.to_owned());
            }
            c.updated_at = now;
            c.to_json()
        })
    };
    match stored {
        Some(c) => {
            s.core.log_write("contact", &id);
            Json(c).into_response()
        }
        None => error(&s, StatusCode::NOT_FOUND, "not_found", "User Not Found"),
    }
}

async fn not_found(AxState(s): AxState<Arc<State>>) -> Response {
    error(&s, StatusCode::NOT_FOUND, "not_found", "Resource Not Found")
}

impl State {
    fn rate_headers(&self, limit: u32, remaining: u32, reset_in: std::time::Duration) -> HeaderMap {
        LIMIT_HEADERS.headers(limit, remaining, reset_in)
    }
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        if auth::bearer(req) != Some(self.credentials.access_token.as_str()) {
            return Err(error(self, StatusCode::UNAUTHORIZED, "unauthorized", "Access Token Invalid"));
        }
        let version = req.headers().get("intercom-version").map(|v| v.to_str().unwrap_or_default());
        if let Some(v) = version
            && !VERSIONS.contains(&v)
        {
            return Err(error(
                self,
                StatusCode::BAD_REQUEST,
                "intercom_version_invalid",
                &format!("The requested version {v} could not be found"),
            ));
        }
        Ok(())
    }

    fn throttle(&self, _req: &Request) -> Result<HeaderMap, Response> {
        let limit = self.options.slice_limit();
        match self.core.limiter.acquire("app", Limit { max: limit, window: self.options.slice }) {
            None => Ok(self.rate_headers(limit, limit, self.options.slice)),
            Some(v) if v.allowed => Ok(self.rate_headers(limit, v.remaining, v.reset_in)),
            Some(v) => {
                let mut r = error(
                    self,
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_exceeded",
                    &format!("Exceeded rate limit of {limit} in {}_seconds", self.options.slice.as_secs().max(1)),
                );
                r.headers_mut().extend(self.rate_headers(limit, 0, v.reset_in));
                Err(r)
            }
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => {
                let limit = self.options.slice_limit();
                let mut r = error(
                    self,
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_exceeded",
                    &format!("Exceeded rate limit of {limit} in {}_seconds", self.options.slice.as_secs().max(1)),
                );
                r.headers_mut().extend(self.rate_headers(limit, 0, std::time::Duration::from_secs(1)));
                r
            }
            Fault::Status(503) => error(
                self,
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Sorry, the API service is temporarily unavailable",
            ),
            Fault::Status(code) => error(
                self,
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "server_error",
                "Server Error",
            ),
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => {
                error(self, StatusCode::NOT_FOUND, "not_found", "Resource Not Found")
            }
        }
    }
}

/// `page`/`per_page` pages of companies, most recently active first unless `order=asc`. The spec
/// documents no maximum `per_page`; the page size is what was asked, up to the configured cap, and
/// `pages` reports the size served.
fn company_page(s: &State, params: &HashMap<String, String>, ascending: bool) -> Response {
    let paging = PageNumber::from_params(params, 15, s.options.company_page_cap);
    let data = s.data.read();
    let order = data.companies.by_updated();
    let total = order.len();
    let items: Vec<Value> =
        paging.range(total).map(|i| order.get(if ascending { i } else { total - 1 - i }).to_json()).collect();
    drop(data);
    let (page, per_page) = (paging.page, paging.per_page);
    Json(json!({
        "type": "list",
        "data": items,
        "pages": { "type": "pages", "page": page, "per_page": per_page, "total_pages": paging.total_pages(total) },
        "total_count": total,
    }))
    .into_response()
}

async fn companies(AxState(s): AxState<Arc<State>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let by_id = params.get("company_id");
    let by_name = params.get("name");
    if by_id.is_none() && by_name.is_none() {
        return company_page(&s, &params, false);
    }
    let data = s.data.read();
    let found = data
        .companies
        .by_created()
        .iter_from(0)
        .map(|(_, c)| c)
        .find(|c| by_id.is_none_or(|id| &c.company_id == id) && by_name.is_none_or(|n| &c.name == n))
        .map(Company::to_json);
    drop(data);
    match found {
        Some(c) => Json(c).into_response(),
        None => error(&s, StatusCode::NOT_FOUND, "company_not_found", "Company Not Found"),
    }
}

async fn companies_list(AxState(s): AxState<Arc<State>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let ascending = params.get("order").is_some_and(|o| o == "asc");
    company_page(&s, &params, ascending)
}

/// One scroll per workspace: a new one while another is open is refused; an unknown or expired
/// `scroll_param` is refused; the end is a page with empty `data`, which closes the scroll.
async fn scroll(AxState(s): AxState<Arc<State>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let now = s.core.clock.now();
    let mut open = s.scroll();
    if open.as_ref().is_some_and(|sc| sc.last_used + s.options.scroll_expiry <= now) {
        *open = None;
    }
    let mut current = match (params.get("scroll_param"), open.take()) {
        (None, Some(existing)) => {
            *open = Some(existing);
            return error(&s, StatusCode::BAD_REQUEST, "scroll_exists", "scroll already exists for this workspace");
        }
        (None, None) => Scroll { param: scroll_param(&s), after: None, last_used: now },
        (Some(p), Some(existing)) if *p == existing.param => existing,
        (Some(_), existing) => {
            *open = existing;
            return error(&s, StatusCode::NOT_FOUND, "not_found", "scroll parameter not found");
        }
    };
    let data = s.data.read();
    let order = data.companies.by_created();
    let start = current.after.as_ref().map_or(0, |(t, id)| order.after(*t, id));
    let page: Vec<&Company> = order.iter_from(start).take(s.options.scroll_page_size.max(1)).map(|(_, c)| c).collect();
    let items: Vec<Value> = page.iter().map(|c| c.to_json()).collect();
    let param = current.param.clone();
    if let Some(last) = page.last() {
        current.after = Some((last.created_at, last.id.clone()));
        current.last_used = now;
        *open = Some(current);
    }
    drop(data);
    Json(json!({ "type": "list", "data": items, "pages": null, "total_count": null, "scroll_param": param }))
        .into_response()
}

fn scroll_param(s: &State) -> String {
    s.request_id()
}

/// A `starting_after` cursor: base64 of `[created_at_ms, "id", next_page]`, as Intercom's look.
fn encode_cursor(created: DateTime<Utc>, id: &str, page: usize) -> String {
    BASE64.encode(json!([created.timestamp_millis(), id, page]).to_string())
}

fn decode_cursor(cursor: &str) -> Option<(DateTime<Utc>, String, usize)> {
    let v: Value = serde_json::from_slice(&BASE64.decode(cursor).ok()?).ok()?;
    let created = DateTime::from_timestamp_millis(v.get(0)?.as_i64()?)?;
    Some((created, v.get(1)?.as_str()?.to_owned(), v.get(2)?.as_u64()? as usize))
}

/// A `starting_after` page of a list in `(created_at, id)` order (`keys`): the positions it
/// serves and its `pages` object.
fn cursor_page(
    s: &State,
    keys: &[Key<String>],
    starting_after: Option<&str>,
    per_page: usize,
) -> Result<(std::ops::Range<usize>, Value), Response> {
    let (start, page) = match starting_after {
        None => (0, 1),
        Some(c) => {
            let (created, id, page) = decode_cursor(c)
                .ok_or_else(|| error(s, StatusCode::BAD_REQUEST, "parameter_invalid", "starting_after is invalid"))?;
            (keys.partition_point(|(t, i)| (*t, i.as_str()) <= (created, id.as_str())), page.max(1))
        }
    };
    let end = (start + per_page).min(keys.len());
    let mut pages = json!({
        "type": "pages",
        "page": page,
        "per_page": per_page,
        "total_pages": keys.len().div_ceil(per_page),
    });
    if end < keys.len() && end > start {
        let (created, id) = &keys[end - 1];
        pages["next"] = json!({ "per_page": per_page, "starting_after": encode_cursor(*created, id, page + 1) });
    }
    Ok((start..end, pages))
}

/// A page of a list (`keys` name records of `store`, in list order) in the list's `wrapper`:
/// `{"type": "list", "data": [...]}` for contacts, `conversation.list` for conversations.
fn list_page<R: Record<Id = String>>(
    s: &State,
    store: &Store<R>,
    keys: &[Key<String>],
    starting_after: Option<&str>,
    per_page: usize,
    render: impl Fn(&R) -> Value,
    wrap: impl FnOnce(Vec<Value>, usize, Value) -> Value,
) -> Response {
    match cursor_page(s, keys, starting_after, per_page) {
        Err(r) => r,
        Ok((rows, pages)) => {
            let data: Vec<Value> = keys[rows].iter().filter_map(|(_, id)| store.get(id)).map(&render).collect();
            Json(wrap(data, keys.len(), pages)).into_response()
        }
    }
}

fn contacts_body(data: Vec<Value>, total: usize, pages: Value) -> Value {
    json!({ "type": "list", "data": data, "total_count": total, "pages": pages })
}

fn conversations_body(data: Vec<Value>, total: usize, pages: Value) -> Value {
    json!({ "type": "conversation.list", "conversations": data, "total_count": total, "pages": pages })
}

async fn contacts(AxState(s): AxState<Arc<State>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let per_page = param(&params, "per_page").unwrap_or(50).clamp(1, 150);
    let data = s.data.read();
    let store = &data.contacts;
    let after = params.get("starting_after").map(String::as_str);
    list_page(&s, store, store.by_created().keys(), after, per_page, Contact::to_json, contacts_body)
}

async fn conversations(AxState(s): AxState<Arc<State>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let per_page = param(&params, "per_page").unwrap_or(20).clamp(1, 150);
    let data = s.data.read();
    let store = &data.conversations;
    let after = params.get("starting_after").map(String::as_str);
    list_page(&s, store, store.by_created().keys(), after, per_page, Conversation::to_json, conversations_body)
}

/// The value of a searchable field of a record.
enum Field {
    Text(Option<String>),
    Date(DateTime<Utc>),
    Bool(bool),
}

/// A search query, checked against the fields the object offers.
enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Test { field: String, operator: String, value: Value },
}

const DAY: i64 = 86_400;

fn parse_filter(v: &Value, depth: usize) -> Result<Filter, String> {
    let operator = v.get("operator").and_then(Value::as_str).ok_or("every query needs an operator")?;
    if operator == "AND" || operator == "OR" {
        if depth >= 2 {
            return Err("queries nest at most 2 levels deep".into());
        }
        let parts = v.get("value").and_then(Value::as_array).ok_or("AND and OR take a list of queries")?;
        if parts.len() > 15 {
            return Err("at most 15 filters per AND or OR group".into());
        }
        let parts = parts.iter().map(|p| parse_filter(p, depth + 1)).collect::<Result<Vec<_>, _>>()?;
        return Ok(if operator == "AND" { Filter::All(parts) } else { Filter::Any(parts) });
    }
    let field = v.get("field").and_then(Value::as_str).ok_or("a filter needs a field")?;
    Ok(Filter::Test {
        field: field.to_owned(),
        operator: operator.to_owned(),
        value: v.get("value").cloned().unwrap_or(Value::Null),
    })
}

/// Checks a filter against a record; `Err` names what the API would refuse.
fn test(filter: &Filter, get: &dyn Fn(&str) -> Option<Field>) -> Result<bool, String> {
    match filter {
        Filter::All(parts) => parts.iter().try_fold(true, |acc, p| Ok(test(p, get)? && acc)),
        Filter::Any(parts) => parts.iter().try_fold(false, |acc, p| Ok(test(p, get)? || acc)),
        Filter::Test { field, operator, value } => {
            let actual = get(field).ok_or_else(|| format!("{field} is not a searchable field in the sandbox"))?;
            match actual {
                Field::Date(t) => {
                    // A Unix timestamp: Intercom takes fractional seconds too (Singer's tap-intercom
                    // sends Python's `datetime.timestamp()`, a float); they count by whole seconds.
                    let v = unix_seconds_json(value).ok_or_else(|| format!("{field} takes a Unix timestamp"))?;
                    // Dates match by calendar day (the workspace is on UTC): `>` starts at the
                    // next day, `<` before the day, `=` the whole day.
                    let day = v.div_euclid(DAY) * DAY;
                    let t = t.timestamp();
                    match operator.as_str() {
                        ">" => Ok(t >= day + DAY),
                        "<" => Ok(t < day),
                        "=" => Ok(t.div_euclid(DAY) * DAY == day),
                        other => Err(format!("Operator {other} is not supported for date field {field}")),
                    }
                }
                Field::Bool(b) => match (operator.as_str(), value.as_bool()) {
                    ("=", Some(v)) => Ok(b == v),
                    ("!=", Some(v)) => Ok(b != v),
                    _ => Err(format!("{field} takes = or != with true or false")),
                },
                Field::Text(t) => {
                    let t = t.unwrap_or_default();
                    let list = || value.as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>());
                    let one = value.as_str();
                    match (operator.as_str(), one) {
                        ("=", Some(v)) => Ok(t == v),
                        ("!=", Some(v)) => Ok(t != v),
                        ("~", Some(v)) => Ok(t.contains(v)),
                        ("!~", Some(v)) => Ok(!t.contains(v)),
                        ("^", Some(v)) => Ok(t.starts_with(v)),
                        ("$", Some(v)) => Ok(t.ends_with(v)),
                        // The spec lists `>`/`<` for integers and dates only, yet Intercom takes them
                        // on a conversation's string `id`: Singer's tap-intercom resumes its
                        // conversations search with `id > <last id>` (ids are digits: numeric order).
                        (">" | "<", Some(v)) => {
                            let order = match (t.parse::<u128>(), v.parse::<u128>()) {
                                (Ok(a), Ok(b)) => a.cmp(&b),
                                _ => t.as_str().cmp(v),
                            };
                            Ok(if operator == ">" { order.is_gt() } else { order.is_lt() })
                        }
                        ("IN", _) => list().map(|l| l.contains(&t.as_str())).ok_or_else(|| "IN takes a list".into()),
                        ("NIN", _) => list().map(|l| !l.contains(&t.as_str())).ok_or_else(|| "NIN takes a list".into()),
                        (other, _) => Err(format!("Operator {other} is not supported for string field {field}")),
                    }
                }
            }
        }
    }
}

/// The parts of a search body: filter, page size, cursor, and the query's text (the cache key of
/// its hits).
fn search_request(
    s: &State,
    body: &Bytes,
    default_per_page: usize,
) -> Result<(Filter, usize, Option<String>, String), Response> {
    let invalid = |m: &str| error(s, StatusCode::BAD_REQUEST, "parameter_invalid", m);
    let v: Value = serde_json::from_slice(body).map_err(|_| invalid("the body must be a JSON search request"))?;
    let query = v.get("query").ok_or_else(|| invalid("query is required"))?;
    let filter = parse_filter(query, 0).map_err(|m| invalid(&m))?;
    let pagination = v.get("pagination");
    let per_page = pagination
        .and_then(|p| p.get("per_page"))
        .and_then(Value::as_u64)
        .map_or(default_per_page, |n| n as usize)
        .clamp(1, 150);
    let after = pagination.and_then(|p| p.get("starting_after")).and_then(Value::as_str).map(str::to_owned);
    Ok((filter, per_page, after, query.to_string()))
}

fn contact_field(c: &Contact, name: &str) -> Option<Field> {
    Some(match name {
        "id" => Field::Text(Some(c.id.clone())),
        "external_id" => Field::Text(c.external_id.clone()),
        "email" => Field::Text(c.email.clone()),
        "role" => Field::Text(Some(c.role.clone())),
        "name" => Field::Text(c.name.clone()),
        "created_at" => Field::Date(c.created_at),
        "updated_at" => Field::Date(c.updated_at),
        _ => return None,
    })
}

fn conversation_field(c: &Conversation, name: &str) -> Option<Field> {
    Some(match name {
        "id" => Field::Text(Some(c.id.clone())),
        "state" => Field::Text(Some(c.state.clone())),
        "source.type" => Field::Text(Some(c.source_type.clone())),
        "contact_ids" => Field::Text(c.contacts.first().map(|r| r.id.clone())),
        "open" => Field::Bool(c.state == "open"),
        "created_at" => Field::Date(c.created_at),
        "updated_at" => Field::Date(c.updated_at),
        _ => return None,
    })
}

/// The earliest `updated_at` a record matching `filter` can have, when the filter says: a
/// search by `updated_at` (how clients read incrementally) then looks only at the records changed
/// since, through the store's `(updated, id)` index.
fn updated_since(filter: &Filter) -> Option<DateTime<Utc>> {
    match filter {
        Filter::All(parts) => parts.iter().filter_map(updated_since).max(),
        Filter::Any(parts) => parts.iter().map(updated_since).collect::<Option<Vec<_>>>()?.into_iter().min(),
        Filter::Test { field, operator, value } if field == "updated_at" => {
            let day = unix_seconds_json(value)?.div_euclid(DAY) * DAY;
            let from = match operator.as_str() {
                ">" => day + DAY,
                "=" => day,
                _ => return None,
            };
            DateTime::from_timestamp(from, 0)
        }
        Filter::Test { .. } => None,
    }
}

/// The hits of a search in list order, `(created_at, id)`. A filter's errors do not depend on
/// the record it is tested on, so testing the first record reports them as a full scan would.
fn search<R: Record<Id = String>>(
    store: &Store<R>,
    filter: &Filter,
    field: impl Fn(&R, &str) -> Option<Field>,
) -> Result<Vec<Key<String>>, String> {
    if let Some(first) = store.rows().first() {
        test(filter, &|f| field(first, f))?;
    }
    let candidates: Box<dyn Iterator<Item = &R>> = match updated_since(filter) {
        Some(t) => {
            let order = store.by_updated();
            Box::new(order.iter_from(order.since(t)).map(|(_, r)| r))
        }
        None => Box::new(store.rows().iter()),
    };
    let mut hits = Vec::new();
    for r in candidates {
        if test(filter, &|f| field(r, f))? {
            hits.push((r.created(), r.id().clone()));
        }
    }
    hits.sort_unstable();
    Ok(hits)
}

async fn search_contacts(AxState(s): AxState<Arc<State>>, body: Bytes) -> Response {
    let (filter, per_page, after, query) = match search_request(&s, &body, 50) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let data = s.data.read();
    let store = &data.contacts;
    match s.searches.get_or_try(&format!("contacts {query}"), store.version(), || search(store, &filter, contact_field))
    {
        Ok(hits) => list_page(&s, store, &hits, after.as_deref(), per_page, Contact::to_json, contacts_body),
        Err(m) => error(&s, StatusCode::BAD_REQUEST, "parameter_invalid", &m),
    }
}

async fn search_conversations(AxState(s): AxState<Arc<State>>, body: Bytes) -> Response {
    let (filter, per_page, after, query) = match search_request(&s, &body, 20) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let data = s.data.read();
    let store = &data.conversations;
    let key = format!("conversations {query}");
    match s.searches.get_or_try(&key, store.version(), || search(store, &filter, conversation_field)) {
        Ok(hits) => list_page(&s, store, &hits, after.as_deref(), per_page, Conversation::to_json, conversations_body),
        Err(m) => error(&s, StatusCode::BAD_REQUEST, "parameter_invalid", &m),
    }
}
