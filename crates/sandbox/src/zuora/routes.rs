//! Zuora's REST API over HTTP: the client-credentials token endpoint, ZOQL `action/query` and
//! `action/queryMore` with locators, bearer tokens that expire, the tenant's rate and
//! concurrency limits with their headers, and Zuora's error bodies.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Form, Path, Request, State as AxState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::model::{
    ACCOUNT_ID_FIELD, Account, Invoice, InvoiceItem, Queryable, RatePlan, RatePlanCharge, Subscription,
};
use super::zoql::{self, Literal, Op, Query};
use super::{Books, Cursor, State};
use crate::emulator::faults::Fault;
use crate::emulator::ratelimit::{Limit, LimitHeaders, Reset};
use crate::emulator::respond::json as reply;
use crate::emulator::server::{Vendor, guard};
use crate::emulator::store::{Record, Store};
use crate::emulator::{Core, auth};

pub const TOKEN_PATH: &str = "/oauth/token";

/// The rows a query call returns at most, and by default.
pub const MAX_BATCH: usize = 2_000;

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route(TOKEN_PATH, post(token))
        .route("/v1/action/query", post(query))
        .route("/v1/action/queryMore", post(query_more))
        .route("/v1/accounts/{key}", axum::routing::put(update_account))
        .route("/v1/describe", axum::routing::get(super::export::describe_all))
        .route("/v1/describe/{object}", axum::routing::get(super::export::describe))
        .route("/v1/object/export", post(super::export::create))
        .route("/v1/object/export/{id}", axum::routing::get(super::export::job))
        .route("/v1/files/{id}", axum::routing::get(super::export::file))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Zuora's refusal body.
pub(crate) fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    reply(status, json!({ "Errors": [{ "Code": code, "Message": message }], "Success": false }))
}

async fn not_found() -> Response {
    refusal(StatusCode::NOT_FOUND, "UNKNOWN_ERROR", "No HTTP resource was found that matches the request URI.")
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    reply(status, json!({ "error": error, "error_description": description }))
}

/// The tenant's limit headers; the reset counts seconds.
const LIMIT_HEADERS: LimitHeaders = LimitHeaders {
    limit: "ratelimit-limit",
    remaining: "ratelimit-remaining",
    reset: Some(("ratelimit-reset", Reset::Seconds)),
};

fn exceeded(headers: HeaderMap, message: &str) -> Response {
    let mut r = refusal(StatusCode::TOO_MANY_REQUESTS, "REQUEST_EXCEEDED_LIMIT", message);
    r.headers_mut().extend(headers);
    r
}

const RATE_MESSAGE: &str = "Your request has exceeded the rate limit for this tenant. Please wait and try again.";

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        if req.uri().path() == TOKEN_PATH {
            return Ok(());
        }
        match auth::bearer(req) {
            Some(t) if self.tokens.valid(t, self.core.clock.now()) => Ok(()),
            _ => Err(reply(StatusCode::UNAUTHORIZED, json!({ "message": "Authentication error" }))),
        }
    }

    fn throttle(&self, req: &Request) -> Result<HeaderMap, Response> {
        let max = self.options.per_window.max(1);
        let scope = if req.uri().path() == TOKEN_PATH { "auth" } else { "api" };
        let Some(v) = self.core.limiter.acquire(scope, Limit { max, window: self.options.window }) else {
            return Ok(LIMIT_HEADERS.headers(max, max, self.options.window));
        };
        let headers = LIMIT_HEADERS.headers(max, v.remaining, v.reset_in);
        if v.allowed { Ok(headers) } else { Err(exceeded(headers, RATE_MESSAGE)) }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => exceeded(
                LIMIT_HEADERS.headers(self.options.per_window, 0, std::time::Duration::from_secs(1)),
                RATE_MESSAGE,
            ),
            Fault::Status(code) => refusal(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "UNKNOWN_ERROR",
                "An unexpected error occurred. Please try again later.",
            ),
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => {
                refusal(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN_ERROR", "unexpected")
            }
        }
    }
}

async fn token(AxState(s): AxState<Arc<State>>, Form(form): Form<HashMap<String, String>>) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Unsupported grant type");
    }
    if field("client_id") != s.credentials.client_id || field("client_secret") != s.credentials.client_secret {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Bad client credentials");
    }
    let n = s.core.next_seq();
    let access = format!("{:032x}", u128::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
    s.tokens.issue(access.clone(), s.core.clock.now());
    Json(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": s.tokens.lifetime().num_seconds(),
        "scope": "entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc platform.write service.usage.delete tenant.12345 user.7a3bd3c1",
        "jti": format!("{n:032x}"),
    }))
    .into_response()
}

/// One query in flight; leaving the handler frees its slot.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Takes a slot of the concurrency limit, or the 429 a tenant past it gets.
fn slot(s: &State) -> Result<Slot<'_>, Response> {
    let before = s.in_flight.fetch_add(1, Ordering::SeqCst);
    let slot = Slot(&s.in_flight);
    if s.core.limiter.enabled() && before >= s.options.concurrent {
        let mut h = HeaderMap::new();
        h.insert(HeaderName::from_static("concurrency-limit-type"), HeaderValue::from_static("Default"));
        h.insert(HeaderName::from_static("concurrency-limit-limit"), HeaderValue::from(s.options.concurrent));
        h.insert(HeaderName::from_static("concurrency-limit-remaining"), HeaderValue::from(0));
        return Err(exceeded(h, "Your request has exceeded the concurrent request limit for this tenant."));
    }
    Ok(slot)
}

fn body_json(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| refusal(StatusCode::BAD_REQUEST, "INVALID_VALUE", "The request body is not a JSON object."))
}

/// `conf.batchSize`: 1–2,000 (more is served as 2,000, as Zuora does).
fn batch_size(body: &Value) -> Result<usize, Response> {
    match body.pointer("/conf/batchSize") {
        None | Some(Value::Null) => Ok(MAX_BATCH),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 1 => Ok((n as usize).min(MAX_BATCH)),
            _ => Err(refusal(StatusCode::BAD_REQUEST, "INVALID_VALUE", &format!("invalid batchSize: {v}"))),
        },
    }
}

/// The newer calls' refusal: HTTP 200 with `{"success": false, "processId", "reasons": [{"code",
/// "message"}]}` (Zuora's eight-digit codes end in the error's category: 20 an invalid value,
/// 40 an object not found).
fn reasons(s: &State, code: u64, message: &str) -> Response {
    let process = format!("{:016X}", s.core.next_seq().wrapping_mul(0x9E37_79B9_7F4A_7C15));
    reply(
        StatusCode::OK,
        json!({ "success": false, "processId": process, "reasons": [{ "code": code, "message": message }] }),
    )
}

/// Fields of the update call this emulator takes without modelling them (Zuora keeps them;
/// the emulator's accounts have no place for them).
const UNMODELLED: &[&str] = &["notes", "crmId", "salesRep", "batch", "autoPay", "tagging", "communicationProfileId"];

/// `PUT /v1/accounts/{account-key}` (the key is the account's `Id` or `AccountNumber`): the
/// fields to change at the top level of a JSON object, custom fields by their API name. This
/// emulator changes `name` and the custom field `AccountId__c` (a string, or null to clear it)
/// and takes a few fields it does not model; any other field is refused, as is a key no
/// account has. The answer is `{"success": true}`, without the account.
async fn update_account(AxState(s): AxState<Arc<State>>, Path(key): Path<String>, body: Bytes) -> Response {
    let body = match body_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(change) = body.as_object() else {
        return reasons(&s, 50_000_020, "The request body is not a JSON object.");
    };
    for (field, value) in change {
        let known = field == "name" || field == ACCOUNT_ID_FIELD || UNMODELLED.contains(&field.as_str());
        if !known {
            return reasons(&s, 50_000_020, &format!("Field '{field}' is not a valid field on Account."));
        }
        let text = value.is_string() || (field == ACCOUNT_ID_FIELD && value.is_null());
        if (field == "name" || field == ACCOUNT_ID_FIELD) && !text {
            return reasons(&s, 50_000_020, &format!("Invalid value for field '{field}': {value}"));
        }
    }
    let now = s.core.clock.now().timestamp();
    let mut books = s.books.write();
    let id = match books.accounts.get(&key) {
        Some(a) => a.id.clone(),
        None => match books.accounts.rows().iter().find(|a| a.account_number == key) {
            Some(a) => a.id.clone(),
            None => {
                drop(books);
                return reasons(&s, 50_000_040, &format!("Cannot find entity by key: '{key}'."));
            }
        },
    };
    books.accounts.update(&id, |a| {
        if let Some(name) = change.get("name").and_then(Value::as_str) {
            a.name = name.to_owned();
        }
        if let Some(v) = change.get(ACCOUNT_ID_FIELD) {
            a.account_id_c = v.as_str().map(str::to_owned);
        }
        a.updated = now;
    });
    drop(books);
    s.core.log_write("account", &id);
    reply(StatusCode::OK, json!({ "success": true }))
}

pub(crate) const OBJECTS: &[(&str, &[&str])] = &[
    (Account::OBJECT, Account::FIELDS),
    (Subscription::OBJECT, Subscription::FIELDS),
    (RatePlan::OBJECT, RatePlan::FIELDS),
    (RatePlanCharge::OBJECT, RatePlanCharge::FIELDS),
    (Invoice::OBJECT, Invoice::FIELDS),
    (InvoiceItem::OBJECT, InvoiceItem::FIELDS),
];

async fn query(AxState(s): AxState<Arc<State>>, body: Bytes) -> Response {
    let _slot = match slot(&s) {
        Ok(slot) => slot,
        Err(r) => return r,
    };
    let body = match body_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let batch = match batch_size(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(text) = body.get("queryString").and_then(Value::as_str).filter(|q| !q.trim().is_empty()) else {
        return refusal(StatusCode::BAD_REQUEST, "INVALID_VALUE", "queryString is required.");
    };
    let q = match zoql::parse(text, OBJECTS) {
        Ok(q) => q,
        Err(r) => return refusal(StatusCode::BAD_REQUEST, r.code, &r.message),
    };
    let books = s.books.read();
    let ids = Arc::new(run_query(&books, &q));
    let cursor = Cursor { query: q, ids, next: 0, batch };
    answer(&s, &books, cursor)
}

async fn query_more(AxState(s): AxState<Arc<State>>, body: Bytes) -> Response {
    let _slot = match slot(&s) {
        Ok(slot) => slot,
        Err(r) => return r,
    };
    let body = match body_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(locator) = body.get("queryLocator").and_then(Value::as_str) else {
        return refusal(StatusCode::BAD_REQUEST, "INVALID_VALUE", "queryLocator is required.");
    };
    // A locator stays valid after use (until Zuora forgets it): a client whose answer was lost
    // on the way asks again with the same one.
    let cursor = s.cursors.lock().unwrap_or_else(|e| e.into_inner()).get(locator).cloned();
    let Some(mut cursor) = cursor else {
        return refusal(StatusCode::BAD_REQUEST, "INVALID_VALUE", "invalid query locator");
    };
    if let Some(conf) = body.get("conf").filter(|c| !c.is_null()) {
        match batch_size(&json!({ "conf": conf })) {
            Ok(b) => cursor.batch = b,
            Err(r) => return r,
        }
    }
    let books = s.books.read();
    answer(&s, &books, cursor)
}

/// One call's rows of `cursor`, and a new locator for the rest.
fn answer(s: &State, books: &Books, cursor: Cursor) -> Response {
    let total = cursor.ids.len();
    let to = (cursor.next + cursor.batch).min(total);
    let ids = &cursor.ids[cursor.next..to];
    let q = &cursor.query;
    let records = match q.object {
        "Account" => rows(&books.accounts, ids, &q.fields),
        "Subscription" => rows(&books.subscriptions, ids, &q.fields),
        "RatePlan" => rows(&books.rate_plans, ids, &q.fields),
        "RatePlanCharge" => rows(&books.charges, ids, &q.fields),
        "Invoice" => rows(&books.invoices, ids, &q.fields),
        _ => rows(&books.invoice_items, ids, &q.fields),
    };
    let done = to >= total;
    let mut body = json!({ "records": records, "size": total, "done": done });
    if !done {
        let locator = format!("{:032x}", u128::from(s.core.next_seq()).wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
        s.cursors.lock().unwrap_or_else(|e| e.into_inner()).insert(locator.clone(), Cursor { next: to, ..cursor });
        body["queryLocator"] = Value::String(locator);
    }
    Json(body).into_response()
}

/// The rows of `ids` still there, with the asked fields (nulls left out).
fn rows<R: Queryable + Record<Id = String>>(store: &Store<R>, ids: &[String], fields: &[&'static str]) -> Vec<Value> {
    ids.iter()
        .filter_map(|id| store.get(id))
        .map(|r| {
            let mut m = Map::new();
            for f in fields {
                let v = r.value(f);
                if !v.is_null() {
                    m.insert((*f).to_owned(), v);
                }
            }
            Value::Object(m)
        })
        .collect()
}

/// The ids a query selects, taken now.
pub(crate) fn run_query(books: &Books, q: &Query) -> Vec<String> {
    match q.object {
        "Account" => select(&books.accounts, q, None),
        "Subscription" => select(&books.subscriptions, q, None),
        "RatePlan" => select(&books.rate_plans, q, Some(("SubscriptionId", &books.plans_of))),
        "RatePlanCharge" => select(&books.charges, q, Some(("RatePlanId", &books.charges_of))),
        "Invoice" => select(&books.invoices, q, None),
        _ => select(&books.invoice_items, q, Some(("InvoiceId", &books.items_of))),
    }
}

/// Selects by the cheapest route: `Id = ... or ...` and `<parent> = ... or ...` by lookup, an
/// `UpdatedDate` lower bound by the store's index, anything else by a filter of the rows.
fn select<R: Queryable + Record<Id = String>>(
    store: &Store<R>,
    q: &Query,
    parent: Option<(&str, &HashMap<String, Vec<String>>)>,
) -> Vec<String> {
    let passes_all = |r: &R| {
        let check = |c: &zoql::Condition| zoql::passes(&r.value(c.field), c);
        if q.conditions.is_empty() {
            true
        } else if q.any {
            q.conditions.iter().any(check)
        } else {
            q.conditions.iter().all(check)
        }
    };
    let equals: Option<(&str, Vec<&str>)> = (q.any || q.conditions.len() == 1)
        .then(|| {
            let field = q.conditions.first()?.field;
            let values = q
                .conditions
                .iter()
                .map(|c| match (&c.value, c.op) {
                    (Literal::Text(v), Op::Eq) if c.field == field => Some(v.as_str()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some((field, values))
        })
        .flatten();
    if let Some((field, values)) = equals {
        let mut seen = HashSet::new();
        if field == "Id" {
            return values
                .into_iter()
                .filter(|v| store.get(&(*v).to_owned()).is_some() && seen.insert(*v))
                .map(str::to_owned)
                .collect();
        }
        if let Some((name, index)) = parent.filter(|(name, _)| *name == field) {
            let _ = name;
            return values
                .into_iter()
                .filter(|v| seen.insert(*v))
                .flat_map(|v| index.get(v).into_iter().flatten().cloned())
                .collect();
        }
    }
    let since = (!q.any)
        .then(|| {
            q.conditions.iter().find_map(|c| match (&c.value, c.op) {
                (Literal::Text(t), Op::Ge | Op::Gt) if c.field == "UpdatedDate" => zoql::time(t),
                _ => None,
            })
        })
        .flatten();
    match since {
        Some(t) => {
            let ordered = store.by_updated();
            ordered.iter_from(ordered.since(t)).filter(|(_, r)| passes_all(r)).map(|(_, r)| r.id().clone()).collect()
        }
        None => store.rows().iter().filter(|r| passes_all(r)).map(|r| r.id().clone()).collect(),
    }
}
