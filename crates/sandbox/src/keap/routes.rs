//! The Keap REST v2 API over HTTP: `/token` (refresh grants that rotate), company and contact
//! lists with `page_token` paging and `filter`s, Keap's error shape and product quota headers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Form, Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::State;
use super::model::{Company, Contact, keap_time};
use crate::emulator::faults::Fault;
use crate::emulator::paging::take_page;
use crate::emulator::ratelimit::Limit;
use crate::emulator::respond::json as reply;
use crate::emulator::server::{Vendor, guard};
use crate::emulator::{Core, auth};

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/crm/rest/v2/companies", get(companies))
        .route("/crm/rest/v2/companies/{id}", get(company).patch(update_company))
        .route("/crm/rest/v2/contacts", get(contacts))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Keap's `Error`: `{"code", "message", "status"}`.
fn error(status: StatusCode, message: &str) -> Response {
    let name = match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    reply(status, json!({ "code": status.as_u16(), "message": message, "status": name }))
}

/// The product quota's headers: limit, window, what is left and used, and when it refills.
fn quota_headers(limit: u32, available: u32, reset_in: std::time::Duration) -> HeaderMap {
    let mut h = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    put("x-keap-product-quota-limit", limit.to_string());
    put("x-keap-product-quota-time-unit", "minute".into());
    put("x-keap-product-quota-interval", "1".into());
    put("x-keap-product-quota-available", available.to_string());
    put("x-keap-product-quota-used", (limit - available.min(limit)).to_string());
    let expiry = Utc::now() + chrono::Duration::milliseconds(reset_in.as_millis() as i64);
    put("x-keap-product-quota-expiry-time", keap_time(expiry));
    h
}

fn quota_exceeded(limit: u32, reset_in: std::time::Duration) -> Response {
    let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Quota exceeded");
    r.headers_mut().extend(quota_headers(limit, 0, reset_in));
    r
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        if req.uri().path() == "/token" {
            return Ok(());
        }
        match auth::bearer(req) {
            Some(t) if self.tokens.valid(t, self.core.clock.now()) => Ok(()),
            _ => Err(error(StatusCode::UNAUTHORIZED, "Invalid Access Token")),
        }
    }

    fn throttle(&self, _req: &Request) -> Result<HeaderMap, Response> {
        let max = self.options.per_minute.max(1);
        match self.core.limiter.acquire("product", Limit { max, window: self.options.window }) {
            None => Ok(quota_headers(max, max, self.options.window)),
            Some(v) if v.allowed => Ok(quota_headers(max, v.remaining, v.reset_in)),
            Some(v) => Err(quota_exceeded(max, v.reset_in)),
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => quota_exceeded(self.options.per_minute, std::time::Duration::from_secs(1)),
            Fault::Status(code) => error(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "The service is unavailable",
            ),
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => {
                error(StatusCode::NOT_FOUND, "Not Found")
            }
        }
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

fn oauth_error(error: &str, description: &str) -> Response {
    reply(StatusCode::BAD_REQUEST, json!({ "error": error, "error_description": description }))
}

/// `POST /token`, `grant_type=refresh_token`: a new access token and a new refresh token; the
/// redeemed refresh token stops working.
async fn token(AxState(s): AxState<Arc<State>>, Form(form): Form<HashMap<String, String>>) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "refresh_token" {
        return oauth_error("unsupported_grant_type", "Unsupported grant type");
    }
    if field("client_id") != s.credentials.client_id || field("client_secret") != s.credentials.client_secret {
        return oauth_error("invalid_client", "Invalid client credentials");
    }
    let n = s.core.next_seq();
    let (access, refresh) = (format!("KeapAK-{n:08x}sbx"), format!("rt-{n:04}-sandbox"));
    if !s.tokens.grant(field("refresh_token"), access.clone(), Some(refresh.clone()), s.core.clock.now()) {
        return oauth_error("invalid_grant", "Invalid refresh token");
    }
    *s.latest_refresh.lock().unwrap_or_else(|e| e.into_inner()) = refresh.clone();
    Json(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": s.tokens.lifetime().num_seconds(),
        "refresh_token": refresh,
        "scope": "full",
    }))
    .into_response()
}

/// `filter=a==x;b==y`, leniently: both `==` and `=`, surrounding spaces.
fn filters(params: &HashMap<String, String>) -> Vec<(String, String)> {
    params
        .get("filter")
        .map(|f| {
            f.split(';')
                .filter(|c| !c.trim().is_empty())
                .map(|c| {
                    let (k, v) = c.split_once("==").or_else(|| c.split_once('=')).unwrap_or((c, ""));
                    (k.trim().to_owned(), v.trim().to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn time(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.trim()).ok().map(|t| t.with_timezone(&Utc))
}

fn fields(params: &HashMap<String, String>) -> Vec<String> {
    params.get("fields").map(|f| f.split(',').map(|x| x.trim().to_owned()).collect()).unwrap_or_default()
}

/// `GET /v2/companies/{company_id}` (`fields` as on the list).
async fn company(
    AxState(s): AxState<Arc<State>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let chosen = fields(&params);
    let found = id.parse::<u64>().ok().and_then(|id| s.companies.read().get(&id).map(|c| c.to_json(&chosen)));
    match found {
        Some(c) => Json(c).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("Company not found: {id}")),
    }
}

/// `PATCH /v2/companies/{company_id}`: `company_name` and the CompanyID custom field
/// (`custom_fields: [{"id": "7", "content": ...}]`) change; the answer is the company with its
/// custom fields.
async fn update_company(AxState(s): AxState<Arc<State>>, Path(id): Path<String>, body: Bytes) -> Response {
    let Ok(numeric) = id.parse::<u64>() else {
        return error(StatusCode::NOT_FOUND, &format!("Company not found: {id}"));
    };
    let Ok(Value::Object(change)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid request body: a Company object is expected");
    };
    let mut custom: Option<Option<String>> = None;
    if let Some(list) = change.get("custom_fields") {
        let Some(list) = list.as_array() else {
            return error(StatusCode::BAD_REQUEST, "custom_fields must be a list of {id, content}");
        };
        for f in list {
            match (
                f.get("id").and_then(|v| v.as_str().map(str::to_owned).or_else(|| v.as_i64().map(|n| n.to_string()))),
                f.get("content"),
            ) {
                (Some(fid), Some(content)) if fid == super::model::COMPANY_FIELD => {
                    custom = Some(content.as_str().map(str::to_owned));
                }
                (Some(fid), _) => return error(StatusCode::BAD_REQUEST, &format!("Unknown custom field id: {fid}")),
                _ => return error(StatusCode::BAD_REQUEST, "each custom field needs an id and a content"),
            }
        }
    }
    let now = crate::clock::whole_seconds(s.core.clock.now());
    let answer = {
        let mut store = s.companies.write();
        store
            .update(&numeric, |c| {
                if let Some(value) = custom.clone() {
                    c.account_id = value;
                }
                if let Some(name) = change.get("company_name").and_then(Value::as_str) {
                    c.company_name = name.to_owned();
                }
                c.update_time = now;
            })
            .and_then(|()| store.get(&numeric).map(|c| c.to_json(&["custom_fields".to_owned()])))
    };
    match answer {
        Some(c) => {
            s.core.log_write("company", &id);
            Json(c).into_response()
        }
        None => error(StatusCode::NOT_FOUND, &format!("Company not found: {id}")),
    }
}

fn page_size(params: &HashMap<String, String>) -> Result<usize, Response> {
    match params.get("page_size").map(|p| p.trim().parse::<i64>()) {
        None => Ok(50),
        Some(Ok(n)) if (0..=1000).contains(&n) => Ok(if n == 0 { 50 } else { n as usize }),
        Some(_) => Err(error(StatusCode::BAD_REQUEST, "page_size must be between 0 and 1000")),
    }
}

fn encode(filter: &str, t: DateTime<Utc>, id: u64) -> String {
    BASE64.encode(format!("{}|{}|{id}", filter, t.timestamp_micros()))
}

fn decode(token: &str, filter: &str) -> Option<(DateTime<Utc>, u64)> {
    let text = String::from_utf8(BASE64.decode(token.trim()).ok()?).ok()?;
    let mut parts = text.rsplitn(3, '|');
    let id = parts.next()?.parse().ok()?;
    let t = DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?;
    (parts.next()? == filter).then_some((t, id))
}

fn bad_token() -> Response {
    error(StatusCode::BAD_REQUEST, "Invalid page token")
}

/// Companies in id order (Keap orders them by `id`, `create_time`, `name` or `email` only).
/// A filtered list is evaluated once per filter and data version and served in slices.
async fn companies(AxState(s): AxState<Arc<State>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let per_page = match page_size(&params) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let mut since = None;
    let mut until = None;
    for (k, v) in filters(&params) {
        let t = time(&v);
        match (k.as_str(), t) {
            ("since_time", Some(t)) => since = Some(t),
            ("until_time", Some(t)) => until = Some(t),
            _ => return error(StatusCode::BAD_REQUEST, &format!("Invalid filter: {k}=={v}")),
        }
    }
    let filter = params.get("filter").cloned().unwrap_or_default();
    let store = s.companies.read();
    let after = match params.get("page_token").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => match decode(t, &filter) {
            Some((_, id)) => Some(id),
            None => return bad_token(),
        },
    };
    let chosen = fields(&params);
    let (page, more): (Vec<&Company>, bool) = if since.is_none() && until.is_none() {
        let start = after.map_or(0, |id| store.rows().partition_point(|c| c.id <= id));
        take_page(store.rows()[start..].iter(), per_page)
    } else {
        let hits = s.company_hits.get_or_try(&filter, store.version(), || {
            let order = store.by_updated();
            let from = since.map_or(0, |t| order.since(t));
            let mut ids: Vec<u64> =
                order.iter_from(from).take_while(|(k, _)| until.is_none_or(|u| k.0 <= u)).map(|(k, _)| k.1).collect();
            ids.sort_unstable();
            Ok::<_, Response>(ids)
        });
        let Ok(hits) = hits else { return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal error") };
        let start = after.map_or(0, |id| hits.partition_point(|h| *h <= id));
        take_page(hits[start..].iter().filter_map(|id| store.get(id)), per_page)
    };
    let next = match (more, page.last()) {
        (true, Some(last)) => encode(&filter, last.update_time, last.id),
        _ => String::new(),
    };
    let companies: Vec<Value> = page.iter().map(|c| c.to_json(&chosen)).collect();
    Json(json!({ "companies": companies, "next_page_token": next })).into_response()
}

/// Contacts in `update_time` order (`order_by=update_time asc`, the order an incremental read
/// needs), from `start_update_time`; other orders are served the same way.
async fn contacts(AxState(s): AxState<Arc<State>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let per_page = match page_size(&params) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let mut since = None;
    let mut until = None;
    for (k, v) in filters(&params) {
        match (k.as_str(), time(&v)) {
            ("start_update_time", Some(t)) => since = Some(t),
            ("end_update_time", Some(t)) => until = Some(t),
            _ => return error(StatusCode::BAD_REQUEST, &format!("Invalid filter: {k}=={v}")),
        }
    }
    let filter = params.get("filter").cloned().unwrap_or_default();
    let store = s.contacts.read();
    let order = store.by_updated();
    let start = match params.get("page_token").filter(|t| !t.is_empty()) {
        None => since.map_or(0, |t| order.since(t)),
        Some(t) => match decode(t, &filter) {
            Some((time, id)) => order.after(time, &id),
            None => return bad_token(),
        },
    };
    let rows = order.iter_from(start).map(|(_, c)| c).take_while(|c| until.is_none_or(|u| c.update_time <= u));
    let (page, more): (Vec<&Contact>, bool) = take_page(rows, per_page);
    let next = match (more, page.last()) {
        (true, Some(last)) => encode(&filter, last.update_time, last.id),
        _ => String::new(),
    };
    let chosen = fields(&params);
    let contacts: Vec<Value> = page.iter().map(|c| c.to_json(&chosen)).collect();
    Json(json!({ "contacts": contacts, "next_page_token": next })).into_response()
}
