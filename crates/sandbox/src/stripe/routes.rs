//! The Stripe API over HTTP: newest-first lists with object-id cursors and `created[...]` filters,
//! retrieval by id, the secret key as Basic username or Bearer token, the sandbox rate limit, the
//! `Stripe-Version` shapes and Stripe's error body `{"error": {"type", "message", ...}}`.

use std::ops::Range;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::model::{Customer, Shape};
use super::{Books, EVENT_RETENTION_DAYS, State};
use crate::emulator::faults::Fault;
use crate::emulator::paging::{Anchor, newest_first, unix_seconds};
use crate::emulator::ratelimit::Limit;
use crate::emulator::respond::json as reply;
use crate::emulator::server::{Vendor, guard};
use crate::emulator::store::Key;
use crate::emulator::{Core, auth};

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/v1/customers", get(customers))
        .route("/v1/customers/{id}", get(customer).post(update_customer))
        .route("/v1/subscriptions", get(subscriptions))
        .route("/v1/subscriptions/{id}", get(subscription))
        .route("/v1/invoices", get(invoices))
        .route("/v1/invoices/{id}", get(invoice))
        .route("/v1/events", get(events))
        .route("/v1/account", get(account))
        .route("/v1/accounts/{id}", get(account))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Stripe's error body.
fn error(status: StatusCode, kind: &str, message: &str, code: Option<&str>, param: Option<&str>) -> Response {
    let mut e = json!({ "type": kind, "message": message });
    if let Some(c) = code {
        e["code"] = json!(c);
    }
    if let Some(p) = param {
        e["param"] = json!(p);
    }
    reply(status, json!({ "error": e }))
}

fn invalid(message: &str, param: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request_error", message, Some("parameter_invalid_integer"), Some(param))
}

fn missing(object: &str, id: &str, param: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        &format!("No such {object}: '{id}'"),
        Some("resource_missing"),
        Some(param),
    )
}

fn rate_limited() -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        "invalid_request_error",
        "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
        Some("rate_limit"),
        None,
    )
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        let key = match (auth::bearer(req), auth::basic(req)) {
            (Some(t), _) => Some(t.to_owned()),
            (None, Some((user, _))) => Some(user),
            (None, None) => None,
        };
        match key {
            Some(k) if k == self.credentials.secret_key => Ok(()),
            Some(k) => {
                let tail: String = k.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
                Err(error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request_error",
                    &format!("Invalid API Key provided: sk_test_****{tail}"),
                    None,
                    None,
                ))
            }
            None => Err(error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the Authorization header, \
                 using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                None,
                None,
            )),
        }
    }

    fn throttle(&self, _req: &Request) -> Result<HeaderMap, Response> {
        let limit = Limit { max: self.options.per_second.max(1), window: self.options.window };
        match self.core.limiter.acquire("requests", limit) {
            Some(v) if !v.allowed => Err(rate_limited()),
            _ => Ok(HeaderMap::new()),
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => rate_limited(),
            Fault::Status(code) => error(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "api_error",
                "An unknown error occurred",
                None,
                None,
            ),
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => not_found_response(),
        }
    }
}

fn not_found_response() -> Response {
    error(StatusCode::NOT_FOUND, "invalid_request_error", "Unrecognized request URL.", None, None)
}

async fn not_found() -> Response {
    not_found_response()
}

type Params = Vec<(String, String)>;

fn one<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn all<'a>(params: &'a Params, key: &str) -> Vec<&'a str> {
    params.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
}

/// The version a request is answered in, from `Stripe-Version` or the account's default.
fn version(s: &State, headers: &HeaderMap) -> String {
    headers
        .get("stripe-version")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map_or_else(|| s.options.default_version.clone(), str::to_owned)
}

fn answer(version: &str, body: Value) -> Response {
    let mut r = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(version) {
        r.headers_mut().insert("stripe-version", v);
    }
    r
}

/// The page request of a list: its size, its anchor and its `created` bounds.
struct ListQuery {
    limit: usize,
    anchor: Option<(String, bool)>,
    /// `[from, until)` in Unix seconds.
    created: (Option<i64>, Option<i64>),
}

fn list_query(params: &Params) -> Result<ListQuery, Response> {
    let limit = match one(params, "limit") {
        None => 10,
        Some(t) => match t.trim().parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => n as usize,
            Ok(n) => {
                return Err(invalid(&format!("Invalid limit: {n}. The limit must be between 1 and 100."), "limit"));
            }
            Err(_) => return Err(invalid(&format!("Invalid integer: {t}"), "limit")),
        },
    };
    let anchor = match (one(params, "starting_after"), one(params, "ending_before")) {
        (Some(_), Some(_)) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "You may only specify one of these parameters: ending_before, starting_after.",
                None,
                None,
            ));
        }
        (Some(a), None) => Some((a.to_owned(), false)),
        (None, Some(b)) => Some((b.to_owned(), true)),
        (None, None) => None,
    };
    let (mut from, mut until): (Option<i64>, Option<i64>) = (None, None);
    for (k, v) in params.iter().filter(|(k, _)| k.starts_with("created")) {
        let Some(t) = unix_seconds(v) else {
            return Err(invalid(&format!("Invalid integer: {v}"), k));
        };
        let (lo, hi) = match k.as_str() {
            "created" => (Some(t), Some(t + 1)),
            "created[gte]" => (Some(t), None),
            "created[gt]" => (Some(t + 1), None),
            "created[lte]" => (None, Some(t + 1)),
            "created[lt]" => (None, Some(t)),
            _ => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    &format!("Received unknown parameter: {k}"),
                    Some("parameter_unknown"),
                    Some(k),
                ));
            }
        };
        from = from.max(lo);
        until = match (until, hi) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(ListQuery { limit, anchor, created: (from, until) })
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The ids of one page of `keys` (a list's `(created, id)` keys, oldest first), newest first, and
/// `has_more`. `created_of` finds an anchor's creation time (of objects outside this list too, so
/// a page anchored on a since deleted or filtered-out object resumes where it was).
fn page(
    keys: &[Key<String>],
    q: &ListQuery,
    floor: Option<i64>,
    created_of: impl Fn(&str) -> Option<i64>,
    object: &str,
) -> Result<(Vec<String>, bool), Response> {
    let from = match (q.created.0, floor) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let lo = from.map_or(0, |t| keys.partition_point(|k| k.0 < at(t)));
    let hi = q.created.1.map_or(keys.len(), |t| keys.partition_point(|k| k.0 < at(t)));
    let range: Range<usize> = lo..hi.max(lo);
    let anchor = match &q.anchor {
        None => Anchor::Newest,
        Some((id, newer)) => {
            let param = if *newer { "ending_before" } else { "starting_after" };
            let created = created_of(id).ok_or_else(|| missing(object, id, param))?;
            let key = (at(created), id.clone());
            match (keys.binary_search(&key), newer) {
                (Ok(p), false) | (Err(p), false) => Anchor::Older(p),
                (Ok(p), true) => Anchor::Newer(p + 1),
                (Err(p), true) => Anchor::Newer(p),
            }
        }
    };
    let (positions, more) = newest_first(range, anchor, q.limit);
    Ok((positions.into_iter().map(|p| keys[p].1.clone()).collect(), more))
}

fn list_body(url: &str, data: Vec<Value>, more: bool) -> Value {
    json!({ "object": "list", "data": data, "has_more": more, "url": url })
}

/// The keys of the records passing `keep`, computed once per filter and data version.
fn hits<R: crate::emulator::store::Record<Id = String>>(
    s: &State,
    books: &Books,
    filter: String,
    store: &crate::emulator::store::Store<R>,
    keep: impl Fn(&R) -> bool,
) -> Arc<Vec<Key<String>>> {
    let made = s.hits.get_or_try::<()>(&filter, books.version(), || {
        Ok(store.by_created().iter_from(0).filter(|(_, r)| keep(r)).map(|(k, _)| k.clone()).collect())
    });
    made.unwrap_or_default()
}

async fn customers(AxState(s): AxState<Arc<State>>, headers: HeaderMap, Query(params): Query<Params>) -> Response {
    let q = match list_query(&params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let v = version(&s, &headers);
    let books = s.books.read();
    let created_of =
        |id: &str| books.customers.get(&id.to_owned()).map(|c| c.created).or_else(|| books.deleted.get(id).copied());
    let result = match one(&params, "email") {
        Some(email) => {
            let keys = hits(&s, &books, format!("customers email={email}"), &books.customers, |c| {
                c.email.as_deref() == Some(email)
            });
            page(&keys, &q, None, created_of, "customer")
        }
        None => page(books.customers.by_created().keys(), &q, None, created_of, "customer"),
    };
    let (ids, more) = match result {
        Ok(p) => p,
        Err(r) => return r,
    };
    let data = ids.iter().filter_map(|id| books.customers.get(id)).map(Customer::to_json).collect();
    answer(&v, list_body("/v1/customers", data, more))
}

async fn customer(AxState(s): AxState<Arc<State>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let v = version(&s, &headers);
    let books = s.books.read();
    match books.customers.get(&id) {
        Some(c) => answer(&v, c.to_json()),
        None if books.deleted.contains_key(&id) => answer(&v, Customer::deleted_json(&id)),
        None => missing("customer", &id, "id"),
    }
}

/// `POST /v1/customers/{id}`, form-encoded: `metadata[key]=value` (an empty value removes the
/// key), `email`, `name`. With an `Idempotency-Key`, a repeat with the same parameters answers
/// the first answer again (`Idempotent-Replayed: true`) without applying anything; other
/// parameters with a used key are refused, as Stripe refuses them.
async fn update_customer(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let v = version(&s, &headers);
    let key = headers.get("idempotency-key").and_then(|k| k.to_str().ok()).map(str::to_owned);
    if let Some(k) = &key {
        let seen = s.idempotent.lock().unwrap_or_else(|e| e.into_inner()).get(k).cloned();
        match seen {
            Some((params, body)) if params == fields => {
                let mut r = answer(&v, body);
                r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
                return r;
            }
            Some(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    None,
                    None,
                );
            }
            None => {}
        }
    }
    for (name, _) in &fields {
        let known = name == "email" || name == "name" || (name.starts_with("metadata[") && name.ends_with(']'));
        if !known {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!("Received unknown parameter: {name}"),
                Some("parameter_unknown"),
                Some(name),
            );
        }
    }
    let body = {
        let mut books = s.books.write();
        let updated = books.customers.update(&id, |c| {
            for (name, value) in &fields {
                match name.as_str() {
                    "email" => c.email = Some(value.clone()).filter(|v| !v.is_empty()),
                    "name" => c.name = Some(value.clone()).filter(|v| !v.is_empty()),
                    meta => {
                        let k = meta["metadata[".len()..meta.len() - 1].to_owned();
                        if value.is_empty() {
                            c.metadata.remove(&k);
                        } else {
                            c.metadata.insert(k, value.clone());
                        }
                    }
                }
            }
            c.clone()
        });
        let Some(c) = updated else { return missing("customer", &id, "id") };
        let body = c.to_json();
        s.event(&mut books, "customer.updated", super::model::Snapshot::Customer(c));
        body
    };
    if let Some(k) = key {
        s.idempotent.lock().unwrap_or_else(|e| e.into_inner()).insert(k, (fields, body.clone()));
    }
    s.core.log_write("customer", &id);
    answer(&v, body)
}

/// Whether `expand[]` asks for the subscriptions' discount objects.
fn expands_discounts(params: &Params) -> bool {
    all(params, "expand[]").into_iter().chain(all(params, "expand")).any(|e| e.ends_with("discounts"))
}

async fn subscriptions(AxState(s): AxState<Arc<State>>, headers: HeaderMap, Query(params): Query<Params>) -> Response {
    let q = match list_query(&params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let status = one(&params, "status").unwrap_or("").to_owned();
    const STATUSES: [&str; 10] = [
        "",
        "all",
        "active",
        "past_due",
        "unpaid",
        "canceled",
        "incomplete",
        "incomplete_expired",
        "trialing",
        "paused",
    ];
    if !STATUSES.contains(&status.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            &format!("Invalid status: must be one of {}", STATUSES[1..].join(", ")),
            Some("parameter_invalid_string"),
            Some("status"),
        );
    }
    let customer = one(&params, "customer").map(str::to_owned);
    let v = version(&s, &headers);
    let shape = Shape::of(&v);
    let books = s.books.read();
    let filter = format!("subscriptions status={status} customer={customer:?}");
    let keys = hits(&s, &books, filter, &books.subscriptions, |sub| {
        let status_ok = match status.as_str() {
            // The default leaves canceled subscriptions out.
            "" => sub.status != "canceled",
            "all" => true,
            other => sub.status == other,
        };
        status_ok && customer.as_ref().is_none_or(|c| *c == sub.customer)
    });
    let created_of = |id: &str| books.subscriptions.get(&id.to_owned()).map(|x| x.created);
    let (ids, more) = match page(&keys, &q, None, created_of, "subscription") {
        Ok(p) => p,
        Err(r) => return r,
    };
    let expand = expands_discounts(&params);
    let data = ids.iter().filter_map(|id| books.subscriptions.get(id)).map(|x| x.to_json(shape, expand)).collect();
    answer(&v, list_body("/v1/subscriptions", data, more))
}

async fn subscription(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    let v = version(&s, &headers);
    match s.books.read().subscriptions.get(&id) {
        Some(x) => answer(&v, x.to_json(Shape::of(&v), expands_discounts(&params))),
        None => missing("subscription", &id, "id"),
    }
}

async fn invoices(AxState(s): AxState<Arc<State>>, headers: HeaderMap, Query(params): Query<Params>) -> Response {
    let q = match list_query(&params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let customer = one(&params, "customer").map(str::to_owned);
    let subscription = one(&params, "subscription").map(str::to_owned);
    let status = one(&params, "status").map(str::to_owned);
    let v = version(&s, &headers);
    let shape = Shape::of(&v);
    let books = s.books.read();
    let created_of = |id: &str| books.invoices.get(&id.to_owned()).map(|x| x.created);
    let result = if customer.is_none() && subscription.is_none() && status.is_none() {
        page(books.invoices.by_created().keys(), &q, None, created_of, "invoice")
    } else {
        let filter = format!("invoices customer={customer:?} subscription={subscription:?} status={status:?}");
        let keys = hits(&s, &books, filter, &books.invoices, |i| {
            customer.as_ref().is_none_or(|c| *c == i.customer)
                && subscription.as_ref().is_none_or(|x| Some(x) == i.subscription.as_ref())
                && status.as_ref().is_none_or(|x| *x == i.status)
        });
        page(&keys, &q, None, created_of, "invoice")
    };
    let (ids, more) = match result {
        Ok(p) => p,
        Err(r) => return r,
    };
    let data = ids.iter().filter_map(|id| books.invoices.get(id)).map(|x| x.to_json(shape)).collect();
    answer(&v, list_body("/v1/invoices", data, more))
}

async fn invoice(AxState(s): AxState<Arc<State>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let v = version(&s, &headers);
    match s.books.read().invoices.get(&id) {
        Some(x) => answer(&v, x.to_json(Shape::of(&v))),
        None => missing("invoice", &id, "id"),
    }
}

/// The account the key belongs to (`/v1/account`, or `/v1/accounts/{id}` as clients that
/// check their connection ask for it): its id and display settings.
async fn account(AxState(s): AxState<Arc<State>>, headers: HeaderMap) -> Response {
    let v = version(&s, &headers);
    answer(
        &v,
        json!({
            "id": super::ACCOUNT_ID,
            "object": "account",
            "business_profile": { "name": "Sandbox Inc.", "url": null },
            "charges_enabled": true,
            "country": "US",
            "created": 1_546_300_800,
            "default_currency": "usd",
            "details_submitted": true,
            "email": "billing@sandbox.example",
            "payouts_enabled": true,
            "settings": { "dashboard": { "display_name": "Sandbox Inc.", "timezone": "Etc/UTC" } },
            "type": "standard",
        }),
    )
}

/// Whether an event type matches a `type` filter: exact, or a `*` wildcard (`customer.*`).
fn type_matches(filter: &str, kind: &str) -> bool {
    match filter.strip_suffix('*') {
        Some(prefix) => kind.starts_with(prefix),
        None => filter == kind,
    }
}

async fn events(AxState(s): AxState<Arc<State>>, headers: HeaderMap, Query(params): Query<Params>) -> Response {
    let q = match list_query(&params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let single = one(&params, "type").map(str::to_owned);
    let types: Vec<String> =
        all(&params, "types[]").into_iter().chain(all(&params, "types")).map(str::to_owned).collect();
    if single.is_some() && !types.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "You may only specify one of these parameters: type, types.",
            None,
            None,
        );
    }
    let v = version(&s, &headers);
    let shape = Shape::of(&v);
    let floor = s.core.clock.now().timestamp() - EVENT_RETENTION_DAYS * 86_400;
    let books = s.books.read();
    let created_of = |id: &str| books.events.get(&id.to_owned()).map(|e| e.created);
    let result = if single.is_none() && types.is_empty() {
        page(books.events.by_created().keys(), &q, Some(floor), created_of, "event")
    } else {
        let filter = format!("events type={single:?} types={types:?}");
        let keys = hits(&s, &books, filter, &books.events, |e| {
            single.as_deref().is_some_and(|t| type_matches(t, &e.kind))
                || types.iter().any(|t| type_matches(t, &e.kind))
        });
        page(&keys, &q, Some(floor), created_of, "event")
    };
    let (ids, more) = match result {
        Ok(p) => p,
        Err(r) => return r,
    };
    let data = ids.iter().filter_map(|id| books.events.get(id)).map(|e| e.to_json(shape)).collect();
    answer(&v, list_body("/v1/events", data, more))
}
