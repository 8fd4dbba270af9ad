//! The Maxio API over HTTP: page-numbered lists with Maxio's date filters and sorts, single
//! reads, the API key as the Basic-auth username, Rails' 401, `{"errors": [...]}` bodies, the
//! emulator's rate limit, and customer deletion.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::model::SITE_OFFSET_SECONDS;
use super::{Books, State};
use crate::emulator::faults::Fault;
use crate::emulator::paging::PageNumber;
use crate::emulator::ratelimit::Limit;
use crate::emulator::respond::{json as reply, retry_after};
use crate::emulator::server::{Vendor, guard};
use crate::emulator::store::{Key, Record, Store};
use crate::emulator::{Core, auth};

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/customers.json", get(customers))
        .route("/customers/lookup.json", get(lookup))
        .route("/customers/{id}", get(customer).put(update_customer).delete(delete_customer))
        .route("/subscriptions.json", get(subscriptions))
        .route("/subscriptions/{id}", get(subscription))
        .route("/invoices.json", get(invoices))
        .route("/invoices/{uid}", get(invoice))
        .route("/products/{product}/price_points/{point}", get(price_point))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Maxio's error body.
fn errors(status: StatusCode, messages: &[&str]) -> Response {
    reply(status, json!({ "errors": messages }))
}

fn unprocessable(message: &str) -> Response {
    errors(StatusCode::UNPROCESSABLE_ENTITY, &[message])
}

fn not_found_response() -> Response {
    errors(StatusCode::NOT_FOUND, &["Resource not found"])
}

async fn not_found() -> Response {
    not_found_response()
}

fn rate_limited(seconds: u64) -> Response {
    retry_after(errors(StatusCode::TOO_MANY_REQUESTS, &["Too many requests. Please try again later."]), seconds.max(1))
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        match auth::basic(req) {
            Some((user, _)) if user == self.credentials.api_key => Ok(()),
            _ => {
                let mut r = (StatusCode::UNAUTHORIZED, "HTTP Basic: Access denied.\n").into_response();
                r.headers_mut().insert(header::WWW_AUTHENTICATE, "Basic realm=\"Application\"".parse().unwrap());
                Err(r)
            }
        }
    }

    fn throttle(&self, _req: &Request) -> Result<HeaderMap, Response> {
        let limit = Limit { max: self.options.requests.max(1), window: self.options.window };
        match self.core.limiter.acquire("requests", limit) {
            Some(v) if !v.allowed => Err(rate_limited(v.retry_after_secs())),
            _ => Ok(HeaderMap::new()),
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => rate_limited(1),
            Fault::Status(code) => errors(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                &["We're sorry, but something went wrong."],
            ),
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => not_found_response(),
        }
    }
}

type Params = Vec<(String, String)>;

fn one<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.trim().is_empty())
}

fn flag(params: &Params, key: &str) -> bool {
    one(params, key).is_some_and(|v| v == "true" || v == "1")
}

fn site_zone() -> FixedOffset {
    FixedOffset::east_opt(SITE_OFFSET_SECONDS).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap())
}

/// `start_datetime` / `end_datetime`: `YYYY-MM-DD HH:MM:SS` (or with `T`, fractions of a second
/// ignored), in the site's zone unless followed by a zone (`UTC`, `Z`, `+HH:MM`, `-HHMM`).
pub(crate) fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    let (stamp, zone) = if t.len() > 19 { t.split_at(19) } else { (t, "") };
    let stamp = stamp.replacen('T', " ", 1);
    let naive = NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S").ok()?;
    let zone = zone.strip_prefix('.').map_or(zone, |z| z.trim_start_matches(|c: char| c.is_ascii_digit())).trim();
    let offset = match zone {
        "" => site_zone(),
        "UTC" | "Z" | "GMT" => FixedOffset::east_opt(0)?,
        z => {
            let (sign, digits) = match z.as_bytes().first()? {
                b'+' => (1, &z[1..]),
                b'-' => (-1, &z[1..]),
                _ => return None,
            };
            let digits: String = digits.chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let h: i32 = digits[..2].parse().ok()?;
            let m: i32 = digits[2..].parse().ok()?;
            FixedOffset::east_opt(sign * (h * 3600 + m * 60))?
        }
    };
    offset.from_local_datetime(&naive).single().map(|d| d.with_timezone(&Utc))
}

/// `start_date` (midnight) or `end_date` (the last second of the day), in the site's zone.
fn parse_day(text: &str, end: bool) -> Option<DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    let time = if end { NaiveTime::from_hms_opt(23, 59, 59)? } else { NaiveTime::MIN };
    site_zone().from_local_datetime(&d.and_time(time)).single().map(|t| t.with_timezone(&Utc))
}

/// A list request: the page, the date window on one field, the order.
struct ListQuery {
    page: PageNumber,
    field: String,
    /// `[from, until]`, inclusive.
    window: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    sort: String,
    desc: bool,
}

fn list_query(
    params: &Params,
    default_per_page: usize,
    fields: &[&str],
    default_field: &str,
    sorts: &[&str],
    default_sort: &str,
    default_desc: bool,
) -> Result<ListQuery, Response> {
    let map: HashMap<String, String> = params.iter().cloned().collect();
    for name in ["page", "per_page"] {
        if let Some(v) = one(params, name)
            && v.trim().parse::<i64>().is_err()
        {
            return Err(unprocessable(&format!("{name} must be an integer")));
        }
    }
    let page = PageNumber::from_params(&map, default_per_page, Some(200));
    let field = one(params, "date_field").unwrap_or(default_field).to_owned();
    if !fields.contains(&field.as_str()) {
        return Err(unprocessable(&format!("date_field must be one of: {}", fields.join(", "))));
    }
    let bound = |datetime: &str, date: &str, end: bool| -> Result<Option<DateTime<Utc>>, Response> {
        match (one(params, datetime), one(params, date)) {
            (Some(t), _) => parse_datetime(t)
                .map(Some)
                .ok_or_else(|| unprocessable(&format!("{datetime} must be a date and time (YYYY-MM-DD HH:MM:SS)"))),
            (None, Some(d)) => {
                parse_day(d, end).map(Some).ok_or_else(|| unprocessable(&format!("{date} must be a date (YYYY-MM-DD)")))
            }
            (None, None) => Ok(None),
        }
    };
    let window = (bound("start_datetime", "start_date", false)?, bound("end_datetime", "end_date", true)?);
    let sort = one(params, "sort").unwrap_or(default_sort).to_owned();
    if !sorts.contains(&sort.as_str()) {
        return Err(unprocessable(&format!("sort must be one of: {}", sorts.join(", "))));
    }
    let desc = match one(params, "direction") {
        None => default_desc,
        Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(unprocessable("direction must be asc or desc")),
    };
    Ok(ListQuery { page, field, window, sort, desc })
}

impl ListQuery {
    fn key(&self, object: &str, extra: &str) -> String {
        format!("{object} {} {:?} {} {} {extra}", self.field, self.window, self.sort, self.desc)
    }

    fn within(&self, t: Option<DateTime<Utc>>) -> bool {
        let (from, until) = self.window;
        if from.is_none() && until.is_none() {
            return true;
        }
        t.is_some_and(|t| from.is_none_or(|f| t >= f) && until.is_none_or(|u| t <= u))
    }
}

/// The ids of the page: the list of `store` records passing `keep` and inside the window on
/// `field_of`, ordered by `sort_of` (ties by id), `desc` or not. A list without filters in
/// creation order is a slice of the store's index; others are computed once per query and data
/// version.
#[allow(clippy::too_many_arguments)]
fn page_ids<R: Record<Id = i64>>(
    s: &State,
    books: &Books,
    q: &ListQuery,
    filter_key: String,
    store: &Store<R>,
    keep: impl Fn(&R) -> bool,
    field_of: impl Fn(&R) -> Option<DateTime<Utc>>,
    sort_of: impl Fn(&R) -> DateTime<Utc>,
    plain: bool,
) -> Vec<i64> {
    let pick = |keys: &[Key<i64>]| -> Vec<i64> {
        let range = q.page.range(keys.len());
        if q.desc {
            let n = keys.len();
            range.map(|i| keys[n - 1 - i].1).collect()
        } else {
            keys[range].iter().map(|k| k.1).collect()
        }
    };
    let unfiltered = plain && q.window == (None, None);
    if unfiltered && (q.sort == "created_at" || q.sort == "signup_date" || q.sort == "number") {
        return pick(store.by_created().keys());
    }
    let keys = s.hits.get_or_try::<()>(&filter_key, books.version(), || {
        let mut keys: Vec<Key<i64>> =
            store.rows().iter().filter(|r| keep(r) && q.within(field_of(r))).map(|r| (sort_of(r), *r.id())).collect();
        keys.sort_unstable();
        Ok(keys)
    });
    pick(&keys.unwrap_or_default())
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    site_zone()
        .from_local_datetime(&d.and_time(NaiveTime::MIN))
        .single()
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

async fn customers(AxState(s): AxState<Arc<State>>, Query(params): Query<Params>) -> Response {
    let q = match list_query(
        &params,
        50,
        &["created_at", "updated_at"],
        "created_at",
        &["created_at"],
        "created_at",
        false,
    ) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let search = one(&params, "q").map(str::to_lowercase);
    let books = s.books.read();
    let by_updated = q.field == "updated_at";
    let ids = page_ids(
        &s,
        &books,
        &q,
        q.key("customers", &format!("q={search:?}")),
        &books.customers,
        |c| {
            search.as_ref().is_none_or(|t| {
                c.id.to_string() == *t
                    || c.email.as_deref().is_some_and(|e| e.to_lowercase().contains(t))
                    || c.reference.as_deref().is_some_and(|r| r.to_lowercase() == *t)
                    || c.organization.as_deref().is_some_and(|o| o.to_lowercase().contains(t))
            })
        },
        |c| Some(at(if by_updated { c.updated } else { c.created })),
        |c| at(c.created),
        search.is_none(),
    );
    let body: Vec<Value> =
        ids.iter().filter_map(|id| books.customers.get(id)).map(|c| json!({ "customer": c.to_json() })).collect();
    reply(StatusCode::OK, Value::Array(body))
}

fn json_id(text: &str) -> Option<i64> {
    text.strip_suffix(".json").unwrap_or(text).parse().ok()
}

async fn customer(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let books = s.books.read();
    match json_id(&id).and_then(|id| books.customers.get(&id)) {
        Some(c) => reply(StatusCode::OK, json!({ "customer": c.to_json() })),
        None => not_found_response(),
    }
}

/// `PUT /customers/{id}.json`: the changes under `customer`. This emulator changes `reference`,
/// `organization`, `email` and the names; a `reference` another customer has is refused as Maxio
/// does (422, "Reference must be unique"), as is a body without `customer`. The answer is the
/// customer.
async fn update_customer(AxState(s): AxState<Arc<State>>, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let Some(id) = json_id(&id) else { return not_found_response() };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return errors(StatusCode::BAD_REQUEST, &["The request body could not be parsed as JSON"]);
    };
    let Some(change) = body.get("customer").and_then(Value::as_object) else {
        return unprocessable("customer is required");
    };
    let text = |k: &str| change.get(k).and_then(Value::as_str).map(str::to_owned);
    let now = s.core.clock.now().timestamp();
    let mut books = s.books.write();
    if books.customers.get(&id).is_none() {
        return not_found_response();
    }
    if let Some(r) = text("reference")
        && books.customers.rows().iter().any(|c| c.id != id && c.reference.as_deref() == Some(r.as_str()))
    {
        return unprocessable("Reference must be unique");
    }
    let updated = books.customers.update(&id, |c| {
        if let Some(r) = text("reference") {
            c.reference = Some(r);
        }
        if let Some(o) = text("organization") {
            c.organization = Some(o);
        }
        if let Some(e) = text("email") {
            c.email = Some(e);
        }
        if let Some(f) = text("first_name") {
            c.first_name = f;
        }
        if let Some(l) = text("last_name") {
            c.last_name = l;
        }
        c.updated = now;
        c.to_json()
    });
    drop(books);
    match updated {
        Some(c) => {
            s.core.log_write("customer", &id.to_string());
            reply(StatusCode::OK, json!({ "customer": c }))
        }
        None => not_found_response(),
    }
}

async fn lookup(AxState(s): AxState<Arc<State>>, Query(params): Query<Params>) -> Response {
    let Some(reference) = one(&params, "reference") else { return not_found_response() };
    let books = s.books.read();
    match books.customers.rows().iter().find(|c| c.reference.as_deref() == Some(reference)) {
        Some(c) => reply(StatusCode::OK, json!({ "customer": c.to_json() })),
        None => not_found_response(),
    }
}

async fn delete_customer(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let Some(id) = json_id(&id) else { return not_found_response() };
    let mut books = s.books.write();
    if books.customers.get(&id).is_none() {
        return not_found_response();
    }
    if books.subscriptions.rows().iter().any(|x| x.customer == id) {
        return unprocessable("Customer cannot be deleted because it has subscriptions.");
    }
    books.customers.remove(&id);
    drop(books);
    s.core.log_write("customer", &id.to_string());
    StatusCode::NO_CONTENT.into_response()
}

const SUBSCRIPTION_STATES: [&str; 12] = [
    "active",
    "canceled",
    "expired",
    "expired_cards",
    "on_hold",
    "past_due",
    "pending_cancellation",
    "pending_renewal",
    "suspended",
    "trial_ended",
    "trialing",
    "unpaid",
];

const SUBSCRIPTION_DATE_FIELDS: [&str; 9] = [
    "current_period_ends_at",
    "current_period_starts_at",
    "created_at",
    "activated_at",
    "canceled_at",
    "expires_at",
    "trial_started_at",
    "trial_ended_at",
    "updated_at",
];

async fn subscriptions(AxState(s): AxState<Arc<State>>, Query(params): Query<Params>) -> Response {
    let sorts = ["signup_date", "period_start", "period_end", "next_assessment", "updated_at", "created_at"];
    let q = match list_query(&params, 20, &SUBSCRIPTION_DATE_FIELDS, "created_at", &sorts, "signup_date", false) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let state = one(&params, "state").map(str::to_owned);
    if let Some(st) = &state
        && !SUBSCRIPTION_STATES.contains(&st.as_str())
    {
        return unprocessable(&format!("state must be one of: {}", SUBSCRIPTION_STATES.join(", ")));
    }
    let product = one(&params, "product").map(str::to_owned);
    let books = s.books.read();
    let field = q.field.clone();
    let field_of = |x: &super::model::Subscription| {
        let t = match field.as_str() {
            "current_period_ends_at" => Some(x.current_period_ends_at),
            "current_period_starts_at" => Some(x.current_period_started_at),
            "activated_at" => x.activated_at,
            "canceled_at" => x.canceled_at,
            "expires_at" => x.expires_at,
            "trial_started_at" => x.trial_started_at,
            "trial_ended_at" => x.trial_ended_at,
            "updated_at" => Some(x.updated),
            _ => Some(x.created),
        };
        t.map(at)
    };
    let sort = q.sort.clone();
    let sort_of = |x: &super::model::Subscription| {
        at(match sort.as_str() {
            "period_start" => x.current_period_started_at,
            "period_end" | "next_assessment" => x.current_period_ends_at,
            "updated_at" => x.updated,
            _ => x.created,
        })
    };
    let ids = page_ids(
        &s,
        &books,
        &q,
        q.key("subscriptions", &format!("state={state:?} product={product:?}")),
        &books.subscriptions,
        |x| {
            state.as_ref().is_none_or(|st| *st == x.state)
                && product.as_ref().is_none_or(|p| *p == x.product.to_string())
        },
        field_of,
        sort_of,
        state.is_none() && product.is_none(),
    );
    let body: Vec<Value> = ids
        .iter()
        .filter_map(|id| books.subscriptions.get(id))
        .map(
            |x| json!({ "subscription": x.to_json(books.customers.get(&x.customer), books.product(x.product), false) }),
        )
        .collect();
    reply(StatusCode::OK, Value::Array(body))
}

async fn subscription(
    AxState(s): AxState<Arc<State>>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    let coupons = params.iter().any(|(k, v)| (k == "include[]" || k == "include") && v == "coupons");
    let books = s.books.read();
    match json_id(&id).and_then(|id| books.subscriptions.get(&id)) {
        Some(x) => reply(
            StatusCode::OK,
            json!({ "subscription": x.to_json(books.customers.get(&x.customer), books.product(x.product), coupons) }),
        ),
        None => not_found_response(),
    }
}

const INVOICE_STATUSES: [&str; 6] = ["draft", "open", "paid", "pending", "voided", "canceled"];

async fn invoices(AxState(s): AxState<Arc<State>>, Query(params): Query<Params>) -> Response {
    let fields = ["created_at", "due_date", "issue_date", "updated_at", "paid_date"];
    let sorts =
        ["status", "total_amount", "due_amount", "created_at", "updated_at", "issue_date", "due_date", "number"];
    let q = match list_query(&params, 20, &fields, "due_date", &sorts, "number", true) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let timed = one(&params, "start_datetime").is_some() || one(&params, "end_datetime").is_some();
    if timed && q.field != "created_at" && q.field != "updated_at" {
        return unprocessable(
            "start_datetime and end_datetime are allowed only with date_field created_at or updated_at",
        );
    }
    let status = one(&params, "status").map(str::to_owned);
    if let Some(st) = &status
        && !INVOICE_STATUSES.contains(&st.as_str())
    {
        return unprocessable(&format!("status must be one of: {}", INVOICE_STATUSES.join(", ")));
    }
    let subscription = one(&params, "subscription_id").map(str::to_owned);
    let customers: Option<Vec<String>> =
        one(&params, "customer_ids").map(|c| c.split(',').map(|x| x.trim().to_owned()).collect());
    let books = s.books.read();
    let field = q.field.clone();
    let field_of = |i: &super::model::Invoice| {
        Some(match field.as_str() {
            "created_at" => at(i.created),
            "updated_at" => at(i.updated),
            "issue_date" => day_start(i.issue_date),
            "paid_date" => return i.paid_date.map(day_start),
            _ => day_start(i.due_date),
        })
    };
    let sort = q.sort.clone();
    let sort_of = |i: &super::model::Invoice| match sort.as_str() {
        "updated_at" => at(i.updated),
        "issue_date" => day_start(i.issue_date),
        "due_date" => day_start(i.due_date),
        // Numbers, statuses and amounts: numbers follow creation, and the others sort as
        // their creation too here (ties broken by id either way).
        _ => at(i.created),
    };
    let ids = page_ids(
        &s,
        &books,
        &q,
        q.key("invoices", &format!("status={status:?} sub={subscription:?} customers={customers:?}")),
        &books.invoices,
        |i| {
            status.as_ref().is_none_or(|st| *st == i.status)
                && subscription.as_ref().is_none_or(|x| *x == i.subscription.to_string())
                && customers.as_ref().is_none_or(|cs| cs.contains(&i.customer.to_string()))
        },
        field_of,
        sort_of,
        status.is_none() && subscription.is_none() && customers.is_none(),
    );
    let lines = flag(&params, "line_items");
    let body: Vec<Value> = ids
        .iter()
        .filter_map(|id| books.invoices.get(id))
        .map(|i| i.to_json(books.customers.get(&i.customer), lines))
        .collect();
    reply(StatusCode::OK, json!({ "invoices": body }))
}

async fn invoice(AxState(s): AxState<Arc<State>>, Path(uid): Path<String>) -> Response {
    let uid = uid.strip_suffix(".json").unwrap_or(&uid).to_owned();
    let books = s.books.read();
    match super::seed::invoice_id(&uid).and_then(|id| books.invoices.get(&id)).filter(|i| i.uid == uid) {
        Some(i) => reply(StatusCode::OK, i.to_json(books.customers.get(&i.customer), true)),
        None => not_found_response(),
    }
}

async fn price_point(
    AxState(s): AxState<Arc<State>>,
    Path((product, point)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Response {
    let books = s.books.read();
    let found = product
        .parse::<i64>()
        .ok()
        .and_then(|p| books.product(p))
        .filter(|p| json_id(&point) == Some(p.price_point_id));
    match found {
        Some(p) => reply(StatusCode::OK, p.price_point_json(flag(&params, "currency_prices"))),
        None => not_found_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_read_in_the_site_zone_unless_zoned() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(parse_datetime("2026-01-10 07:00:00"), Some(utc("2026-01-10T12:00:00Z")));
        assert_eq!(parse_datetime("2026-01-10 07:00:00 UTC"), Some(utc("2026-01-10T07:00:00Z")));
        assert_eq!(parse_datetime("2026-01-10T07:00:00Z"), Some(utc("2026-01-10T07:00:00Z")));
        assert_eq!(parse_datetime("2026-01-10T07:00:00.250000+00:00"), Some(utc("2026-01-10T07:00:00Z")));
        assert_eq!(parse_datetime("2026-01-10 07:00:00+01:00"), Some(utc("2026-01-10T06:00:00Z")));
        assert_eq!(parse_datetime("2026-01-10 07:00:00 -0500"), Some(utc("2026-01-10T12:00:00Z")));
        assert_eq!(parse_datetime("2026-01-10"), None);
        assert_eq!(parse_datetime("2026-01-10 07:00:00 Mars"), None);
        assert_eq!(parse_day("2026-01-10", true), Some(utc("2026-01-11T04:59:59Z")));
    }
}
