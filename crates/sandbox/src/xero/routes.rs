//! The Xero Accounting API 2.0 over HTTP: the identity token endpoint (refresh grants whose
//! refresh tokens rotate), `/connections`, and the four lists with their paging, filters, the
//! tenant check, Xero's error shapes and its minute and day limits.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Form, Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::model::ms_date;
use super::{OTHER_TENANT_ID, State, TENANT_ID};
use crate::emulator::faults::Fault;
use crate::emulator::ratelimit::Limit;
use crate::emulator::respond::json as reply;
use crate::emulator::server::{Vendor, guard};
use crate::emulator::store::{Record, Store};
use crate::emulator::{Core, auth};

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/connect/token", post(token))
        .route("/connections", get(connections))
        .route("/api.xro/2.0/Contacts", get(contacts))
        .route("/api.xro/2.0/Contacts/{id}", get(contact).post(update_contact))
        .route("/api.xro/2.0/Invoices", get(invoices))
        .route("/api.xro/2.0/Payments", get(payments))
        .route("/api.xro/2.0/RepeatingInvoices", get(repeating))
        .route("/api.xro/2.0/Currencies", get(currencies))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Xero's problem answer to a refused call: `{"Title", "Status", "Detail", "Instance"}`.
fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    reply(
        status,
        json!({"Type": null, "Title": title, "Status": status.as_u16(), "Detail": detail,
            "Instance": "8f7c6b0e-0000-4000-8000-00000000acc0", "Extensions": {}}),
    )
}

/// Xero's validation error: `{"ErrorNumber", "Type", "Message"}`.
fn api_error(status: StatusCode, number: u32, kind: &str, message: &str) -> Response {
    reply(status, json!({"ErrorNumber": number, "Type": kind, "Message": message}))
}

async fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, 0, "NotFound", "The resource you're looking for cannot be found")
}

fn put(h: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(HeaderName::from_static(name), v);
    }
}

/// A 429 naming the limit that was hit, and when to come back.
fn too_many(problem_kind: &str, retry_after: u64, day_remaining: u32, min_remaining: u32) -> Response {
    let mut r = (StatusCode::TOO_MANY_REQUESTS, "").into_response();
    let h = r.headers_mut();
    put(h, "retry-after", retry_after.max(1).to_string());
    put(h, "x-rate-limit-problem", problem_kind.to_owned());
    put(h, "x-daylimit-remaining", day_remaining.to_string());
    put(h, "x-minlimit-remaining", min_remaining.to_string());
    put(h, "x-appminlimit-remaining", "9999".into());
    r
}

fn is_api(req: &Request) -> bool {
    req.uri().path().starts_with("/api.xro/")
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        let path = req.uri().path();
        if path == "/connect/token" || !(is_api(req) || path == "/connections") {
            return Ok(());
        }
        match auth::bearer(req) {
            Some(t) if self.tokens.valid(t, self.core.clock.now()) => {}
            _ => return Err(problem(StatusCode::UNAUTHORIZED, "Unauthorized", "AuthenticationUnsuccessful")),
        }
        if !is_api(req) {
            return Ok(());
        }
        let tenant = req.headers().get("xero-tenant-id").and_then(|v| v.to_str().ok()).unwrap_or("").trim();
        let known = tenant.eq_ignore_ascii_case(TENANT_ID)
            || (self.options.two_tenants && tenant.eq_ignore_ascii_case(OTHER_TENANT_ID));
        if known { Ok(()) } else { Err(problem(StatusCode::FORBIDDEN, "Forbidden", "AuthorizationUnsuccessful")) }
    }

    /// The day's budget first (always enforced), then the minute's.
    fn throttle(&self, req: &Request) -> Result<HeaderMap, Response> {
        if !is_api(req) {
            return Ok(HeaderMap::new());
        }
        let now = self.core.clock.now();
        let per_day = self.options.per_day;
        let until_reset = {
            let mut resets = self.day.resets_at.lock().unwrap_or_else(|e| e.into_inner());
            if now >= *resets {
                self.day.used.store(0, Ordering::SeqCst);
                *resets = now + chrono::Duration::days(1);
            }
            (*resets - now).num_seconds().max(1) as u64
        };
        let used = self.day.used.load(Ordering::SeqCst);
        let max = self.options.per_minute.max(1);
        if used >= per_day {
            return Err(too_many("day", until_reset, 0, max));
        }
        let minute = match self.core.limiter.acquire("minute", Limit { max, window: self.options.window }) {
            None => max,
            Some(v) if v.allowed => v.remaining,
            Some(v) => return Err(too_many("minute", v.retry_after_secs(), per_day - used, 0)),
        };
        let used = self.day.used.fetch_add(1, Ordering::SeqCst) + 1;
        let mut h = HeaderMap::new();
        put(&mut h, "x-daylimit-remaining", per_day.saturating_sub(used).to_string());
        put(&mut h, "x-minlimit-remaining", minute.to_string());
        put(&mut h, "x-appminlimit-remaining", "9999".into());
        Ok(h)
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => too_many("minute", 1, self.options.per_day, 0),
            Fault::Status(code) => problem(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "Service Unavailable",
                "The Xero API is temporarily unavailable",
            ),
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => not_found_now(),
        }
    }
}

fn not_found_now() -> Response {
    api_error(StatusCode::NOT_FOUND, 0, "NotFound", "The resource you're looking for cannot be found")
}

fn oauth_error(error: &str) -> Response {
    reply(StatusCode::BAD_REQUEST, json!({ "error": error }))
}

/// `POST /connect/token`, `grant_type=refresh_token`, the client's credentials in the form or
/// as Basic auth: a new access token and a new refresh token; the redeemed one stops working.
async fn token(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    if field("grant_type") != "refresh_token" {
        return oauth_error("unsupported_grant_type");
    }
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    let (id, secret) = basic.unwrap_or_else(|| (field("client_id"), field("client_secret")));
    if id != s.credentials.client_id || secret != s.credentials.client_secret {
        return oauth_error("invalid_client");
    }
    let n = s.core.next_seq();
    let (access, refresh) = (format!("xero-at-{n:08x}-sbx"), format!("xero-rt-{n:04}-sandbox"));
    if !s.tokens.grant(&field("refresh_token"), access.clone(), Some(refresh.clone()), s.core.clock.now()) {
        return oauth_error("invalid_grant");
    }
    *s.latest_refresh.lock().unwrap_or_else(|e| e.into_inner()) = refresh.clone();
    Json(json!({
        "id_token": null,
        "access_token": access,
        "expires_in": s.tokens.lifetime().num_seconds(),
        "token_type": "Bearer",
        "refresh_token": refresh,
        "scope": "offline_access accounting.transactions.read accounting.contacts.read",
    }))
    .into_response()
}

/// `GET /connections`: the organisations the token reaches.
async fn connections(AxState(s): AxState<Arc<State>>) -> Response {
    let at = "2024-01-01T00:00:00.0000000";
    let mut list = vec![json!({
        "id": "e1eede29-f875-4a5d-8470-17f6a29a88b1", "authEventId": "d99ecdfe-391d-43d2-b834-17636ba90e8d",
        "tenantId": TENANT_ID, "tenantType": "ORGANISATION", "tenantName": "Accord Sandbox Ltd",
        "createdDateUtc": at, "updatedDateUtc": at,
    })];
    if s.options.two_tenants {
        list.push(json!({
            "id": "f2ffef3a-0986-4b6e-9581-28a7b3ba99c2", "authEventId": "d99ecdfe-391d-43d2-b834-17636ba90e8d",
            "tenantId": OTHER_TENANT_ID, "tenantType": "ORGANISATION", "tenantName": "Accord Sandbox Inc",
            "createdDateUtc": at, "updatedDateUtc": at,
        }));
    }
    Json(Value::Array(list)).into_response()
}

/// `If-Modified-Since`: ISO-8601 with or without a zone (UTC when none: Xero's documented
/// `yyyy-mm-ddThh:mm:ss`), or an HTTP date.
fn modified_since(headers: &HeaderMap) -> Result<Option<DateTime<Utc>>, Response> {
    let Some(v) = headers.get("if-modified-since") else { return Ok(None) };
    let text = v.to_str().unwrap_or("").trim();
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc()))
        .or_else(|| DateTime::parse_from_rfc2822(text).ok().map(|t| t.with_timezone(&Utc)));
    parsed.map(Some).ok_or_else(|| {
        api_error(
            StatusCode::BAD_REQUEST,
            10,
            "ValidationException",
            &format!("The If-Modified-Since header {text:?} is not a date"),
        )
    })
}

/// `page` (from 1) and `pageSize` (1–1,000; 100 when absent).
fn paging(params: &HashMap<String, String>) -> Result<(usize, usize), Response> {
    let number = |k: &str, default: usize| match params.get(k) {
        None => Ok(default),
        Some(v) => v.trim().parse::<usize>().map_err(|_| {
            api_error(StatusCode::BAD_REQUEST, 10, "ValidationException", &format!("{k} must be a whole number"))
        }),
    };
    let page = number("page", 1)?;
    let size = number("pageSize", 100)?;
    if page < 1 {
        return Err(api_error(StatusCode::BAD_REQUEST, 10, "ValidationException", "page must be 1 or more"));
    }
    if !(1..=1000).contains(&size) {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            10,
            "ValidationException",
            "pageSize must be between 1 and 1000",
        ));
    }
    Ok((page, size))
}

/// The `where` filters accord sends: `Field=="VALUE"` on one of `fields`, joined by ` AND `.
fn where_clause(params: &HashMap<String, String>, fields: &[&str]) -> Result<Vec<(String, String)>, Response> {
    let Some(w) = params.get("where").map(|w| w.trim()).filter(|w| !w.is_empty()) else { return Ok(Vec::new()) };
    let bad = || {
        api_error(StatusCode::BAD_REQUEST, 16, "QueryParseException", &format!("cannot parse the where clause {w:?}"))
    };
    let mut out = Vec::new();
    for part in w.split(" AND ") {
        let (k, v) = part.split_once("==").ok_or_else(bad)?;
        let (k, v) = (k.trim(), v.trim());
        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).ok_or_else(bad)?;
        if !fields.contains(&k) {
            return Err(bad());
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

fn include_archived(params: &HashMap<String, String>) -> bool {
    params.get("includeArchived").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The envelope of a list: ids and times of the answer, then the page's pagination and records.
fn envelope(s: &State, key: &str, records: Vec<Value>, pagination: Option<(usize, usize, usize)>) -> Response {
    let mut body = json!({
        "Id": format!("{:08x}-0000-4000-8000-00000000acc0", s.core.next_seq()),
        "Status": "OK",
        "ProviderName": "accord sandbox",
        "DateTimeUTC": ms_date(s.core.clock.now()),
    });
    if let Some((page, size, count)) = pagination {
        body["pagination"] =
            json!({"page": page, "pageSize": size, "pageCount": count.div_ceil(size), "itemCount": count});
    }
    body[key] = Value::Array(records);
    Json(body).into_response()
}

/// One page of a store's records in `(UpdatedDateUTC, id)` order from `since`, filtered by
/// `keep`; the hit list is computed once per query and data version.
#[allow(clippy::too_many_arguments)] // one list's request, read the way every list is
fn page_of<R: Record<Id = String>>(
    s: &State,
    store: &Store<R>,
    hits: &crate::emulator::store::Results<Vec<String>>,
    query: String,
    since: Option<DateTime<Utc>>,
    keep: impl Fn(&R) -> bool,
    (page, size): (usize, usize),
    key: &str,
    to_json: impl Fn(&R) -> Value,
) -> Response {
    let ids = hits.get_or_try(&query, store.version(), || {
        let order = store.by_updated();
        let from = since.map_or(0, |t| order.since(t));
        Ok::<_, ()>(order.iter_from(from).filter(|(_, r)| keep(r)).map(|(k, _)| k.1.clone()).collect::<Vec<_>>())
    });
    let Ok(ids) = ids else { return not_found_now() };
    let start = (page - 1).saturating_mul(size).min(ids.len());
    let end = (start + size).min(ids.len());
    let records = ids[start..end].iter().filter_map(|id| store.get(id)).map(&to_json).collect();
    envelope(s, key, records, Some((page, size, ids.len())))
}

fn query_key(params: &HashMap<String, String>, since: Option<DateTime<Utc>>) -> String {
    format!("{}|{}|{:?}", params.get("where").map_or("", String::as_str), include_archived(params), since)
}

/// `GET /Contacts`: archived contacts only with `includeArchived=true`.
async fn contacts(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (since, paging) = match (modified_since(&headers), paging(&params), where_clause(&params, &["ContactStatus"])) {
        (Ok(since), Ok(p), Ok(_)) => (since, p),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let filters = where_clause(&params, &["ContactStatus"]).unwrap_or_default();
    let archived = include_archived(&params);
    let store = s.contacts.read();
    page_of(
        &s,
        &store,
        &s.contact_hits,
        query_key(&params, since),
        since,
        |c| (archived || c.status != "ARCHIVED") && filters.iter().all(|(_, v)| c.status == *v),
        paging,
        "Contacts",
        super::model::Contact::to_json,
    )
}

/// `GET /Currencies` (`getCurrencies`): the organisation's currencies, those its invoices and
/// repeating invoices are in, by code (`where=Code=="USD"` picks one). Clients read it to check
/// their access (tap-xero does before anything else).
async fn currencies(AxState(s): AxState<Arc<State>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let filters = match where_clause(&params, &["Code"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut codes: Vec<String> = s.invoices.read().rows().iter().map(|i| i.currency.clone()).collect();
    codes.extend(s.repeating.read().rows().iter().map(|r| r.currency.clone()));
    codes.sort();
    codes.dedup();
    let name = |code: &str| match code {
        "USD" => "United States Dollar",
        "EUR" => "Euro",
        "GBP" => "British Pound",
        "JPY" => "Japanese Yen",
        "AUD" => "Australian Dollar",
        "NZD" => "New Zealand Dollar",
        "CAD" => "Canadian Dollar",
        _ => "",
    };
    let records = codes
        .iter()
        .filter(|c| filters.iter().all(|(_, v)| *c == v))
        .map(|c| json!({"Code": c, "Description": name(c)}))
        .collect();
    envelope(&s, "Currencies", records, None)
}

/// `GET /Contacts/{ContactID}` (`getContact`): the contact, archived or not, alone in `Contacts`.
async fn contact(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let store = s.contacts.read();
    match store.get(&id.to_ascii_lowercase()).or_else(|| store.get(&id)) {
        Some(c) => envelope(&s, "Contacts", vec![c.to_json()], None),
        None => not_found_now(),
    }
}

/// Xero's refusal of a write that fails validation: 400, `ValidationException`, the reasons
/// under `Elements[].ValidationErrors`, the element echoed.
fn validation(element: Value, messages: &[String]) -> Response {
    let mut element = element;
    element["ValidationErrors"] = Value::Array(messages.iter().map(|m| json!({ "Message": m })).collect());
    element["HasValidationErrors"] = Value::Bool(true);
    reply(
        StatusCode::BAD_REQUEST,
        json!({"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
            "Elements": [element]}),
    )
}

/// `POST /Contacts/{ContactID}` (`updateContact`): `{"Contacts": [{...}]}`, one contact whose
/// given fields change. This emulator changes `AccountNumber`, `Name`, `EmailAddress` and
/// `ContactStatus` and ignores the fields it does not model, as Xero ignores properties it does
/// not know. An `AccountNumber` another contact has is refused (Xero keeps them unique), as is
/// an empty `Name` or a `ContactID` in the body naming another contact. The answer is the
/// contact, in `Contacts`.
async fn update_contact(AxState(s): AxState<Arc<State>>, Path(id): Path<String>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return api_error(StatusCode::BAD_REQUEST, 14, "PostDataInvalidException", "Invalid Json data");
    };
    let change = match body.get("Contacts").and_then(Value::as_array).map(Vec::as_slice) {
        Some([one]) if one.is_object() => one.clone(),
        _ => {
            return api_error(
                StatusCode::BAD_REQUEST,
                14,
                "PostDataInvalidException",
                "The request body must hold one contact in Contacts",
            );
        }
    };
    let text = |k: &str| change.get(k).and_then(Value::as_str).map(str::trim).map(str::to_owned);
    let now = s.core.clock.now();
    let mut store = s.contacts.write();
    let Some(current) = store.get(&id.to_ascii_lowercase()).or_else(|| store.get(&id)).cloned() else {
        return not_found_now();
    };
    if let Some(other) = text("ContactID")
        && !other.eq_ignore_ascii_case(&current.id)
    {
        return validation(change, &[format!("The ContactID {other} in the body is not the contact {id} updated")]);
    }
    let mut problems = Vec::new();
    if let Some(n) = text("AccountNumber")
        && !n.is_empty()
        && store.rows().iter().any(|c| c.id != current.id && c.account_number.as_deref() == Some(n.as_str()))
    {
        problems.push("Account Number already exists. Please enter a different Account Number.".to_owned());
    }
    if text("Name").is_some_and(|n| n.is_empty()) {
        problems.push("The contact name must be specified.".to_owned());
    }
    if let Some(st) = text("ContactStatus")
        && !matches!(st.as_str(), "ACTIVE" | "ARCHIVED")
    {
        problems.push(format!("{st} is not a contact status this call can set"));
    }
    if !problems.is_empty() {
        return validation(change, &problems);
    }
    let updated = store.update(&current.id, |c| {
        if let Some(n) = text("AccountNumber") {
            c.account_number = (!n.is_empty()).then_some(n);
        }
        if let Some(n) = text("Name") {
            c.name = n;
        }
        if let Some(e) = text("EmailAddress") {
            c.email = (!e.is_empty()).then_some(e);
        }
        if let Some(st) = text("ContactStatus") {
            c.status = st;
        }
        c.updated = now;
        c.to_json()
    });
    drop(store);
    match updated {
        Some(c) => {
            s.core.log_write("contact", &current.id);
            envelope(&s, "Contacts", vec![c], None)
        }
        None => not_found_now(),
    }
}

/// `GET /Invoices`: sales and bills, `where=Type=="ACCREC"` for sales only.
async fn invoices(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (since, paging, filters) =
        match (modified_since(&headers), paging(&params), where_clause(&params, &["Type", "Status"])) {
            (Ok(since), Ok(p), Ok(f)) => (since, p, f),
            (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
        };
    let store = s.invoices.read();
    page_of(
        &s,
        &store,
        &s.invoice_hits,
        query_key(&params, since),
        since,
        |i| filters.iter().all(|(k, v)| if k == "Type" { i.kind == *v } else { i.status == *v }),
        paging,
        "Invoices",
        super::model::Invoice::to_json,
    )
}

/// `GET /Payments`: `where=PaymentType=="ACCRECPAYMENT"` (every payment here is one).
async fn payments(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (since, paging, filters) =
        match (modified_since(&headers), paging(&params), where_clause(&params, &["PaymentType", "Status"])) {
            (Ok(since), Ok(p), Ok(f)) => (since, p, f),
            (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
        };
    let store = s.payments.read();
    page_of(
        &s,
        &store,
        &s.payment_hits,
        query_key(&params, since),
        since,
        |p| filters.iter().all(|(k, v)| if k == "PaymentType" { v == "ACCRECPAYMENT" } else { p.status == *v }),
        paging,
        "Payments",
        super::model::Payment::to_json,
    )
}

/// `GET /RepeatingInvoices`: the whole list in one answer (no paging, no `If-Modified-Since`).
async fn repeating(AxState(s): AxState<Arc<State>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let filters = match where_clause(&params, &["Type", "Status"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let store = s.repeating.read();
    let records = store
        .rows()
        .iter()
        .filter(|r| filters.iter().all(|(k, v)| if k == "Type" { r.kind == *v } else { r.status == *v }))
        .map(super::model::RepeatingInvoice::to_json)
        .collect();
    envelope(&s, "RepeatingInvoices", records, None)
}
