//! The Chargebee API v2 over HTTP: wrapped lists paged by an opaque `offset` (a keyset of the
//! sort field and the id, so a page resumes after its last record whatever changed meanwhile),
//! sorting, the `[after]`/`[before]`/`[is]` filters, `include_deleted`, records by id, the API
//! key as Basic user, the test site's rate limit, and Chargebee's error body.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Books, SITE, State};
use crate::emulator::faults::Fault;
use crate::emulator::paging::unix_seconds;
use crate::emulator::ratelimit::Limit;
use crate::emulator::respond::json as reply;
use crate::emulator::server::{Vendor, guard};
use crate::emulator::store::{Key, Record, Store};
use crate::emulator::{Core, auth};

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/api/v2/customers", get(customers))
        .route("/api/v2/customers/{id}", get(customer).post(update_customer))
        .route("/api/v2/subscriptions", get(subscriptions))
        .route("/api/v2/subscriptions/{id}", get(subscription))
        .route("/api/v2/invoices", get(invoices))
        .route("/api/v2/invoices/{id}", get(invoice))
        .route("/api/v2/coupons/{id}", get(coupon))
        .route("/api/v2/configurations", get(configurations))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Chargebee's error body: `type` only for the kinds that have one (`invalid_request`,
/// `operation_failed`, `payment`), `param` for a parameter's error.
fn error(
    status: StatusCode,
    kind: Option<&str>,
    api_code: &str,
    code: &str,
    message: &str,
    param: Option<&str>,
) -> Response {
    let mut e = json!({
        "message": message,
        "api_error_code": api_code,
        "error_code": code,
        "error_msg": message,
        "http_status_code": status.as_u16(),
    });
    if let Some(k) = kind {
        e["type"] = json!(k);
    }
    if let Some(p) = param {
        e["param"] = json!(p);
        e["error_param"] = json!(p);
    }
    reply(status, e)
}

fn invalid(param: &str, message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        Some("invalid_request"),
        "invalid_request",
        "param_invalid_value",
        &format!("{param} : {message}"),
        Some(param),
    )
}

fn missing(object: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        Some("invalid_request"),
        "resource_not_found",
        "resource_not_found",
        &format!("{id} not found"),
        Some(&format!("{object}_id")),
    )
}

fn rate_limited() -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        None,
        "api_request_limit_exceeded",
        "api_request_limit_exceeded",
        "Sorry, access has been blocked temporarily due to request count exceeding acceptable limits. \
         Please try after some time.",
        None,
    )
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        match auth::basic(req) {
            Some((user, _)) if user == self.credentials.api_key => Ok(()),
            Some(_) => Err(error(
                StatusCode::UNAUTHORIZED,
                None,
                "api_authentication_failed",
                "api_authentication_invalid_key",
                "Sorry, authentication failed. Invalid api key",
                None,
            )),
            None => Err(error(
                StatusCode::UNAUTHORIZED,
                None,
                "api_authentication_failed",
                "api_authentication_failed",
                "Sorry, authentication failed. Please pass your api key as the username (HTTP Basic), with an \
                 empty password",
                None,
            )),
        }
    }

    fn throttle(&self, _req: &Request) -> Result<HeaderMap, Response> {
        let limit = Limit { max: self.options.per_minute.max(1), window: self.options.window };
        match self.core.limiter.acquire("requests", limit) {
            Some(v) if !v.allowed => Err(rate_limited()),
            _ => Ok(HeaderMap::new()),
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => rate_limited(),
            Fault::Status(code) => {
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                error(
                    status,
                    None,
                    "internal_error",
                    if code == 503 { "site_not_ready" } else { "internal_error" },
                    "Sorry, something went wrong when trying to process the request.",
                    None,
                )
            }
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => not_found_response(),
        }
    }
}

fn not_found_response() -> Response {
    error(
        StatusCode::NOT_FOUND,
        Some("invalid_request"),
        "resource_not_found",
        "resource_not_found",
        "Sorry, we couldn't find that resource",
        None,
    )
}

async fn not_found() -> Response {
    not_found_response()
}

type Params = Vec<(String, String)>;

/// Which of a record's times a sort or a filter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Created,
    Updated,
}

/// The page request of a list.
#[derive(Debug)]
struct ListQuery {
    limit: usize,
    /// The keyset the previous page ended at.
    offset: Option<(i64, String)>,
    sort: Field,
    asc: bool,
    include_deleted: bool,
    /// `[from, until)` bounds, in Unix seconds, on each time field.
    bounds: [(Option<i64>, Option<i64>); 2],
    /// `<field>[is]` filters.
    is: Vec<(String, String)>,
}

impl ListQuery {
    fn bound(&self, f: Field) -> (Option<i64>, Option<i64>) {
        self.bounds[f as usize]
    }
}

/// Reads a list's parameters. `created` names the object's creation time (`created_at`, an
/// invoice's `date`); `is` the fields it filters by equality.
fn list_query(params: &Params, created: &str, is: &[&str]) -> Result<ListQuery, Response> {
    let mut q = ListQuery {
        limit: 10,
        offset: None,
        sort: Field::Created,
        asc: false,
        include_deleted: false,
        bounds: [(None, None); 2],
        is: Vec::new(),
    };
    let mut sorted = false;
    for (k, v) in params {
        let field = |name: &str| match name {
            "updated_at" => Some(Field::Updated),
            n if n == created => Some(Field::Created),
            _ => None,
        };
        match k.as_str() {
            "limit" => match v.trim().parse::<i64>() {
                Ok(n) if (1..=100).contains(&n) => q.limit = n as usize,
                Ok(n) if n > 100 => return Err(invalid("limit", "cannot be more than 100")),
                _ => return Err(invalid("limit", &format!("invalid integer value {v:?}"))),
            },
            "offset" => {
                let key: Option<(String, String)> = serde_json::from_str::<[String; 2]>(v).ok().map(|[a, b]| (a, b));
                match key.and_then(|(t, id)| t.parse::<i64>().ok().map(|t| (t, id))) {
                    Some(k) => q.offset = Some(k),
                    None => return Err(invalid("offset", "invalid offset value")),
                }
            }
            "include_deleted" => match v.trim().to_ascii_lowercase().as_str() {
                "true" => q.include_deleted = true,
                "false" => q.include_deleted = false,
                _ => return Err(invalid("include_deleted", "must be true or false")),
            },
            "sort_by[asc]" | "sort_by[desc]" => {
                if sorted {
                    return Err(invalid("sort_by", "only one sort order can be given"));
                }
                sorted = true;
                q.asc = k == "sort_by[asc]";
                q.sort = field(v).ok_or_else(|| {
                    invalid(k, &format!("sorting is supported on {created} and updated_at, not {v:?}"))
                })?;
            }
            other => {
                let Some((name, op)) = other.strip_suffix(']').and_then(|o| o.split_once('[')) else {
                    return Err(invalid(other, "unknown parameter"));
                };
                if let Some(f) = field(name) {
                    let t = unix_seconds(v).ok_or_else(|| invalid(other, &format!("invalid timestamp {v:?}")))?;
                    let b = &mut q.bounds[f as usize];
                    match op {
                        "after" => b.0 = Some(b.0.map_or(t + 1, |x| x.max(t + 1))),
                        "before" => b.1 = Some(b.1.map_or(t, |x| x.min(t))),
                        "on" => {
                            b.0 = Some(t);
                            b.1 = Some(t + 1);
                        }
                        _ => return Err(invalid(other, "unsupported filter operator")),
                    }
                } else if is.contains(&name) && op == "is" {
                    q.is.push((name.to_owned(), v.clone()));
                } else {
                    return Err(invalid(other, "unknown parameter"));
                }
            }
        }
    }
    Ok(q)
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The ids of one page of `store` in the query's order, and the next page's offset. `keep` says
/// whether a record passes the `[is]` filters; a filtered list's keys are computed once per
/// filter and data version, an unfiltered one pages its index.
fn page<R: Record<Id = String>>(
    s: &State,
    books: &Books,
    object: &str,
    store: &Store<R>,
    q: &ListQuery,
    deleted: impl Fn(&R) -> bool,
    keep: impl Fn(&R) -> bool,
) -> (Vec<String>, Option<String>) {
    let ordered = if q.sort == Field::Updated { store.by_updated() } else { store.by_created() };
    let cached;
    let keys: &[Key<String>] = if q.is.is_empty() {
        ordered.keys()
    } else {
        let filter = format!("{object} {:?} sort={:?}", q.is, q.sort);
        cached = s
            .hits
            .get_or_try::<()>(&filter, books.version(), || {
                Ok(ordered.iter_from(0).filter(|(_, r)| keep(r)).map(|(k, _)| k.clone()).collect())
            })
            .unwrap_or_default();
        &cached
    };
    // The sort field's bounds are a range of the index; the other field's are checked per record.
    let (from, until) = q.bound(q.sort);
    let lo = from.map_or(0, |t| keys.partition_point(|k| k.0 < at(t)));
    let hi = until.map_or(keys.len(), |t| keys.partition_point(|k| k.0 < at(t))).max(lo);
    let other = if q.sort == Field::Updated { Field::Created } else { Field::Updated };
    let (o_from, o_until) = q.bound(other);
    let passes = |r: &R| {
        let t = if other == Field::Updated { r.updated() } else { r.created() }.timestamp();
        (q.include_deleted || !deleted(r)) && o_from.is_none_or(|f| t >= f) && o_until.is_none_or(|u| t < u)
    };
    let positions: Box<dyn Iterator<Item = usize>> = match (&q.offset, q.asc) {
        (None, true) => Box::new(lo..hi),
        (Some((t, id)), true) => {
            let key = (at(*t), id.clone());
            Box::new(keys.partition_point(|k| *k <= key).max(lo)..hi)
        }
        (None, false) => Box::new((lo..hi).rev()),
        (Some((t, id)), false) => {
            let key = (at(*t), id.clone());
            Box::new((lo..keys.partition_point(|k| *k < key).min(hi)).rev())
        }
    };
    let mut ids = Vec::with_capacity(q.limit);
    let mut last = None;
    for p in positions {
        let (t, id) = &keys[p];
        let Some(r) = store.get(id) else { continue };
        if !passes(r) {
            continue;
        }
        if ids.len() == q.limit {
            // One more passes: the page ends at the last one taken.
            let next =
                last.map(|(t, id): (i64, String)| serde_json::to_string(&[t.to_string(), id]).unwrap_or_default());
            return (ids, next);
        }
        ids.push(id.clone());
        last = Some((t.timestamp(), id.clone()));
    }
    (ids, None)
}

fn list_body(list: Vec<Value>, next: Option<String>) -> Value {
    let mut body = json!({ "list": list });
    if let Some(n) = next {
        body["next_offset"] = json!(n);
    }
    body
}

fn is_value<'a>(q: &'a ListQuery, name: &str) -> Option<&'a str> {
    q.is.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn customers(AxState(s): AxState<Arc<State>>, Query(params): Query<Params>) -> Response {
    let q = match list_query(&params, "created_at", &["id", "email"]) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let books = s.books.read();
    let (ids, next) = page(
        &s,
        &books,
        "customers",
        &books.customers,
        &q,
        |c| c.deleted,
        |c| {
            is_value(&q, "id").is_none_or(|v| v == c.id)
                && is_value(&q, "email").is_none_or(|v| c.email.as_deref() == Some(v))
        },
    );
    let list = ids.iter().filter_map(|id| books.customers.get(id)).map(|c| json!({"customer": c.to_json()})).collect();
    ok(list_body(list, next))
}

fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

async fn customer(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    match s.books.read().customers.get(&id) {
        Some(c) => ok(json!({"customer": c.to_json()})),
        None => missing("customer", &id),
    }
}

/// `POST /api/v2/customers/{id}`: a form-encoded update. Of the customer's fields this emulator
/// changes the custom fields (`cf_*`) it holds a definition of, `company`, `email` and the names;
/// a `cf_*` Chargebee has no field for is refused (400, naming it), as is an empty body. The
/// answer is the customer, and its `customer_changed` event is sent.
async fn update_customer(
    AxState(s): AxState<Arc<State>>,
    Path(id): Path<String>,
    axum::extract::Form(fields): axum::extract::Form<Vec<(String, String)>>,
) -> Response {
    if fields.is_empty() {
        return invalid("customer", "at least one attribute is required");
    }
    for (name, _) in &fields {
        let known = name == super::model::ACCOUNT_ID_FIELD
            || matches!(name.as_str(), "company" | "email" | "first_name" | "last_name");
        if !known {
            return invalid(name, "Unknown parameter or custom field");
        }
    }
    let now = s.core.clock.now();
    let updated = {
        let mut books = s.books.write();
        books.customers.update(&id, |c| {
            for (name, value) in &fields {
                match name.as_str() {
                    "company" => c.company = Some(value.clone()),
                    "email" => c.email = Some(value.clone()),
                    "first_name" => c.first_name = Some(value.clone()),
                    "last_name" => c.last_name = Some(value.clone()),
                    _ => {
                        c.custom.insert(name.clone(), value.clone());
                    }
                }
            }
            c.updated_at = now.timestamp();
            c.clone()
        })
    };
    match updated {
        Some(c) if !c.deleted => {
            s.core.log_write("customer", &id);
            let body = json!({"customer": c.to_json()});
            s.event("customer_changed", body.clone());
            ok(body)
        }
        _ => missing("customer", &id),
    }
}

async fn subscriptions(AxState(s): AxState<Arc<State>>, Query(params): Query<Params>) -> Response {
    let q = match list_query(&params, "created_at", &["id", "customer_id", "status"]) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let books = s.books.read();
    let (ids, next) = page(
        &s,
        &books,
        "subscriptions",
        &books.subscriptions,
        &q,
        |x| x.deleted,
        |x| {
            is_value(&q, "id").is_none_or(|v| v == x.id)
                && is_value(&q, "customer_id").is_none_or(|v| v == x.customer_id)
                && is_value(&q, "status").is_none_or(|v| v == x.status)
        },
    );
    let list = ids
        .iter()
        .filter_map(|id| books.subscriptions.get(id))
        .map(|x| {
            let mut entry = json!({"subscription": x.to_json()});
            if let Some(c) = books.customers.get(&x.customer_id) {
                entry["customer"] = c.to_json();
            }
            entry
        })
        .collect();
    ok(list_body(list, next))
}

async fn subscription(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let books = s.books.read();
    match books.subscriptions.get(&id) {
        Some(x) => {
            let mut entry = json!({"subscription": x.to_json()});
            if let Some(c) = books.customers.get(&x.customer_id) {
                entry["customer"] = c.to_json();
            }
            ok(entry)
        }
        None => missing("subscription", &id),
    }
}

async fn invoices(AxState(s): AxState<Arc<State>>, Query(params): Query<Params>) -> Response {
    let q = match list_query(&params, "date", &["id", "customer_id", "subscription_id", "status"]) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let books = s.books.read();
    let (ids, next) = page(
        &s,
        &books,
        "invoices",
        &books.invoices,
        &q,
        |x| x.deleted,
        |x| {
            is_value(&q, "id").is_none_or(|v| v == x.id)
                && is_value(&q, "customer_id").is_none_or(|v| v == x.customer_id)
                && is_value(&q, "subscription_id").is_none_or(|v| Some(v) == x.subscription_id.as_deref())
                && is_value(&q, "status").is_none_or(|v| v == x.status)
        },
    );
    let list = ids.iter().filter_map(|id| books.invoices.get(id)).map(|x| json!({"invoice": x.to_json()})).collect();
    ok(list_body(list, next))
}

async fn invoice(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    match s.books.read().invoices.get(&id) {
        Some(x) => ok(json!({"invoice": x.to_json()})),
        None => missing("invoice", &id),
    }
}

async fn coupon(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    match s.books.read().coupons.get(&id) {
        Some(c) => ok(json!({"coupon": c.to_json()})),
        None => missing("coupon", &id),
    }
}

/// The site's configuration: clients (Singer's tap) read its product catalog version first.
async fn configurations() -> Response {
    ok(json!({"configurations": [{
        "domain": SITE,
        "product_catalog_version": "v2",
        "chargebee_response_schema_type": "compat",
    }]}))
}
