//! The Salesforce REST API over HTTP: token endpoint, query/queryAll and their locators,
//! getDeleted, limits, and Salesforce's error bodies.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Value, json};

use super::model::{Record, SObject, datetime};
use super::soql::{self, Expr, Literal, Op, compare};
use super::{Locator, Object, State};
use crate::emulator::faults::Fault;
use crate::emulator::ratelimit::Limit;
use crate::emulator::respond::{base_url, json as reply};
use crate::emulator::server::{Vendor, guard};
use crate::emulator::store::Store;
use crate::emulator::{Core, auth};

/// The login host (`login.salesforce.com`): the token endpoint only. Data paths are unknown here,
/// as they are at Salesforce's login hosts, with or without a token: a client must send them to
/// the token's `instance_url`.
pub(crate) fn login_router(state: Arc<State>) -> Router {
    let login = Arc::new(LoginHost(state.clone()));
    Router::new()
        .route("/services/oauth2/token", post(token))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(login, guard::<LoginHost>))
        .with_state(state)
}

/// The login host's view of the org: the same faults and clock, no session check (it serves no
/// data), and no API allocation (token requests do not count).
pub(crate) struct LoginHost(Arc<State>);

impl Vendor for LoginHost {
    fn core(&self) -> &Core {
        &self.0.core
    }

    fn authorize(&self, _req: &Request) -> Result<(), Response> {
        Ok(())
    }

    fn throttle(&self, _req: &Request) -> Result<HeaderMap, Response> {
        Ok(HeaderMap::new())
    }

    fn fault_response(&self, fault: Fault) -> Response {
        self.0.fault_response(fault)
    }
}

/// The org's instance (`{MyDomain}.my.salesforce.com`): the token endpoint and the REST API.
pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/services/oauth2/token", post(token))
        .route("/services/data/{version}/query", get(query))
        .route("/services/data/{version}/query/", get(query))
        .route("/services/data/{version}/queryAll", get(query_all))
        .route("/services/data/{version}/queryAll/", get(query_all))
        .route("/services/data/{version}/query/{locator}", get(more))
        .route("/services/data/{version}/queryAll/{locator}", get(more))
        .route("/services/data/{version}/sobjects/{object}/deleted", get(deleted))
        .route("/services/data/{version}/sobjects/{object}/deleted/", get(deleted))
        .route("/services/data/{version}/limits", get(limits))
        .route("/services/data/{version}/limits/", get(limits))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Salesforce's REST error body: a list of `{message, errorCode}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    reply(status, json!([{ "message": message, "errorCode": code }]))
}

async fn not_found() -> Response {
    not_found_now()
}

/// `v59.0`-style versions are accepted; anything else is an unknown resource.
fn check_version(version: &str) -> Result<(), Response> {
    let ok = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && (a.to_owned() + b).bytes().all(|c| c.is_ascii_digit()));
    if ok { Ok(()) } else { Err(not_found_now()) }
}

fn not_found_now() -> Response {
    error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist")
}

fn is_api_path(path: &str) -> bool {
    path.starts_with("/services/data/")
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        if !is_api_path(req.uri().path()) {
            return Ok(());
        }
        let now = self.core.clock.now();
        let valid = auth::token(req, &["Bearer", "OAuth"]).is_some_and(|t| self.tokens.valid(t, now));
        if valid {
            Ok(())
        } else {
            let mut r = error(StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID", "Session expired or invalid");
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
            Err(r)
        }
    }

    fn throttle(&self, req: &Request) -> Result<HeaderMap, Response> {
        let mut headers = HeaderMap::new();
        if !is_api_path(req.uri().path()) {
            return Ok(headers);
        }
        let max = self.options.daily_limit;
        let limit = Limit { max, window: self.options.limit_window };
        let (used, allowed) = match self.core.limiter.acquire("daily", limit) {
            Some(v) => (max - v.remaining, v.allowed),
            None => (self.core.limiter.stats().requests as u32, true),
        };
        let info = format!("api-usage={used}/{max}");
        if let Ok(v) = HeaderValue::from_str(&info) {
            headers.insert("sforce-limit-info", v);
        }
        if allowed {
            Ok(headers)
        } else {
            let mut r = self.fault_response(Fault::RateLimited);
            r.headers_mut().extend(headers);
            Err(r)
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => {
                error(StatusCode::FORBIDDEN, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            }
            Fault::Status(503) => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVER_UNAVAILABLE",
                "Server temporarily unavailable. Please try again later.",
            ),
            Fault::Status(code) => error(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact support: 1672911540-49013 (-1510573245)",
            ),
            // The guard serves the other faults itself and never asks for these.
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => not_found_now(),
        }
    }
}

fn oauth_error(error: &str, description: &str) -> Response {
    reply(StatusCode::BAD_REQUEST, json!({ "error": error, "error_description": description }))
}

async fn token(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "refresh_token" {
        return oauth_error("unsupported_grant_type", "grant type not supported");
    }
    if field("client_id") != s.credentials.client_id {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    if field("client_secret") != s.credentials.client_secret {
        return oauth_error("invalid_client", "invalid client credentials");
    }
    if !s.tokens.refresh_valid(field("refresh_token")) {
        return oauth_error("invalid_grant", "expired access/refresh token");
    }
    let now = s.core.clock.now();
    let access_token = format!("{}!AQ{}", s.mint("00D"), s.mint("sbx"));
    if !s.tokens.grant(field("refresh_token"), access_token.clone(), None, now) {
        return oauth_error("invalid_grant", "expired access/refresh token");
    }
    // The org's instance, whichever host was asked (the login host names the instance).
    let instance_url = s.instance_url.get().cloned().unwrap_or_else(|| base_url(&headers));
    let issued_at = now.timestamp_millis().to_string();
    let signature = BASE64.encode(format!("{instance_url}{issued_at}{access_token}").as_bytes());
    Json(json!({
        "access_token": access_token,
        "signature": signature,
        "scope": "api refresh_token",
        "instance_url": instance_url,
        "id": format!("{instance_url}/id/00DHs000000sbx0MAA/005Hs000000sbx0IAA"),
        "token_type": "Bearer",
        "issued_at": issued_at,
    }))
    .into_response()
}

async fn query(
    AxState(s): AxState<Arc<State>>,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    run_query(&s, &version, &params, &headers, false)
}

async fn query_all(
    AxState(s): AxState<Arc<State>>,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    run_query(&s, &version, &params, &headers, true)
}

/// `Sforce-Query-Options: batchSize=N` (200 to 2,000), else the configured batch size.
fn batch_size(s: &State, headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|p| p.trim().strip_prefix("batchSize=")))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map_or(s.options.batch_size, |n| n.clamp(200, 2000))
        .max(1)
}

fn run_query(s: &State, version: &str, params: &HashMap<String, String>, headers: &HeaderMap, all: bool) -> Response {
    if let Err(r) = check_version(version) {
        return r;
    }
    let Some(text) = params.get("q") else {
        return error(StatusCode::BAD_REQUEST, "MALFORMED_QUERY", "A query string has to be specified");
    };
    let q = match soql::parse(text) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.code(), &e.to_string()),
    };
    let data = s.data.read();
    let rows = match q.object {
        SObject::Account => select(&data.accounts, &q, all),
        SObject::Contact => select(&data.contacts, &q, all),
        SObject::Case => select(&data.cases, &q, all),
    };
    drop(data);
    let locator = Arc::new(Locator { object: q.object, fields: q.fields, rows, batch: batch_size(s, headers) });
    let id = s.mint("01g");
    page(s, version, &id, &locator, 0, true)
}

/// The positions (in Id order) of the records a query returns, in result order. A query ordered
/// by `SystemModstamp` ascending walks the store's `(SystemModstamp, Id)` index from the lower
/// bound its filter sets, so it costs what it returns; other orders are sorted.
fn select<R: Object>(store: &Store<R>, q: &soql::Query, all: bool) -> Vec<u32> {
    let keep = |r: &R| (all || r.deleted_at().is_none()) && q.filter.as_ref().is_none_or(|f| f.matches(r));
    let limit = q.limit.unwrap_or(usize::MAX);
    match &q.order_by {
        // Modstamps are never null, and ties are in Id order, as the stable sort below leaves them.
        Some(order) if order.field == "SystemModstamp" && !order.descending => {
            let index = store.by_updated();
            let from = q.filter.as_ref().and_then(modstamp_since).map_or(0, |t| index.since(t));
            index
                .iter_from(from)
                .filter(|(_, r)| keep(r))
                .take(limit)
                .filter_map(|(key, _)| store.position(&key.1))
                .map(|i| i as u32)
                .collect()
        }
        order => {
            let list = store.rows();
            let mut rows: Vec<u32> = (0..list.len() as u32).filter(|&i| keep(&list[i as usize])).collect();
            if let Some(order) = order {
                // Stable: ties stay in Id order.
                rows.sort_by(|a, b| compare(&list[*a as usize], &list[*b as usize], order));
            }
            rows.truncate(limit);
            rows
        }
    }
}

/// The earliest `SystemModstamp` a record satisfying `filter` can have, when the filter bounds it.
fn modstamp_since(filter: &Expr) -> Option<DateTime<Utc>> {
    match filter {
        Expr::And(terms) => terms.iter().filter_map(modstamp_since).max(),
        Expr::Compare { field: "SystemModstamp", op: Op::Gt | Op::Ge, value: Literal::Time(t) } => Some(*t),
        _ => None,
    }
}

/// One batch of a stored result, opening a locator when more remain.
fn page(s: &State, version: &str, id: &str, locator: &Arc<Locator>, offset: usize, first: bool) -> Response {
    let end = (offset + locator.batch).min(locator.rows.len());
    let rows = &locator.rows[offset..end];
    let data = s.data.read();
    let records: Vec<Value> = match locator.object {
        SObject::Account => render(&data.accounts, rows, &locator.fields, version),
        SObject::Contact => render(&data.contacts, rows, &locator.fields, version),
        SObject::Case => render(&data.cases, rows, &locator.fields, version),
    };
    drop(data);
    let done = end >= locator.rows.len();
    let mut body = json!({ "totalSize": locator.rows.len(), "done": done });
    if !done {
        if first {
            let mut open = s.locators();
            open.push_back((id.to_owned(), locator.clone()));
            while open.len() > s.options.max_open_locators.max(1) {
                open.pop_front();
            }
        }
        body["nextRecordsUrl"] = Value::String(format!("/services/data/{version}/query/{id}-{end}"));
    }
    body["records"] = Value::Array(records);
    Json(body).into_response()
}

fn render<R: Object>(store: &Store<R>, rows: &[u32], fields: &[&str], version: &str) -> Vec<Value> {
    rows.iter().filter_map(|&i| store.rows().get(i as usize)).map(|r| r.to_json(version, fields)).collect()
}

async fn more(AxState(s): AxState<Arc<State>>, Path((version, locator)): Path<(String, String)>) -> Response {
    if let Err(r) = check_version(&version) {
        return r;
    }
    let invalid = || error(StatusCode::BAD_REQUEST, "INVALID_QUERY_LOCATOR", "invalid query locator");
    let Some((id, offset)) = locator.rsplit_once('-') else { return invalid() };
    let Ok(offset) = offset.parse::<usize>() else { return invalid() };
    let found = s.locators().iter().find(|(l, _)| l == id).map(|(_, loc)| loc.clone());
    match found {
        Some(loc) if offset < loc.rows.len() => page(&s, &version, id, &loc, offset, false),
        _ => invalid(),
    }
}

/// Salesforce accepts ISO-8601 with `Z`, an offset, or its own `+0000` form.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::minutes(1)).unwrap_or(t)
}

async fn deleted(
    AxState(s): AxState<Arc<State>>,
    Path((version, object)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = check_version(&version) {
        return r;
    }
    let Some(object) = SObject::parse(&object) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("The requested resource does not exist: {object}"));
    };
    let replication = |msg: &str| error(StatusCode::BAD_REQUEST, "INVALID_REPLICATION_DATE", msg);
    let (Some(start), Some(end)) = (params.get("start"), params.get("end")) else {
        return error(StatusCode::BAD_REQUEST, "MISSING_ARGUMENT", "start and end must be specified");
    };
    let (Some(start), Some(end)) = (parse_time(start), parse_time(end)) else {
        return replication("start and end must be dateTimes like 2024-01-01T00:00:00+00:00");
    };
    let now = s.core.clock.now();
    if end - start <= Duration::minutes(1) {
        return replication("startDate must chronologically precede endDate by more than one minute");
    }
    if start < now - Duration::days(30) {
        return replication("startDate cannot be more than 30 days ago");
    }
    let purged = *s.purged();
    if let Some(purged) = purged
        && start < purged
    {
        return replication(&format!(
            "the delete log was purged at {}, after startDate; resynchronize the data",
            datetime(purged)
        ));
    }
    // The log keeps 15 days, less if it was purged since.
    let window = now - Duration::days(15);
    let earliest = minute(purged.map_or(window, |p| p.max(window)));
    let latest = minute(end.min(now));
    let data = s.data.read();
    let mut out: Vec<(DateTime<Utc>, String)> = match object {
        SObject::Account => deletions(&data.accounts, start.max(earliest), latest),
        SObject::Contact => deletions(&data.contacts, start.max(earliest), latest),
        SObject::Case => deletions(&data.cases, start.max(earliest), latest),
    };
    drop(data);
    out.sort();
    let records: Vec<Value> =
        out.into_iter().map(|(at, id)| json!({ "id": id, "deletedDate": datetime(at) })).collect();
    Json(json!({
        "deletedRecords": records,
        "earliestDateAvailable": datetime(earliest),
        "latestDateCovered": datetime(latest),
    }))
    .into_response()
}

fn deletions<R: Object>(store: &Store<R>, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, String)> {
    store
        .rows()
        .iter()
        .filter_map(|r| r.deleted_at().filter(|d| *d >= from && *d <= to).map(|d| (d, Record::id(r).to_owned())))
        .collect()
}

async fn limits(AxState(s): AxState<Arc<State>>, Path(version): Path<String>) -> Response {
    if let Err(r) = check_version(&version) {
        return r;
    }
    let max = s.options.daily_limit;
    let used = (s.core.limiter.stats().requests as u32).min(max);
    Json(json!({ "DailyApiRequests": { "Max": max, "Remaining": max - used } })).into_response()
}
