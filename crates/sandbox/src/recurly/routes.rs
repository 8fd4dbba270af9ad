//! The Recurly v3 API over HTTP: cursor lists sorted by `created_at` or `updated_at` in either
//! order with inclusive time bounds, records by id, the API key as Basic username, the version in
//! `Accept`, the site's rate limit with its headers, and Recurly's error body
//! `{"error": {"type", "message", "params"?}}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{any, get, put};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{API_VERSION, Books, State, deactivate};
use crate::emulator::faults::Fault;
use crate::emulator::paging::url_with;
use crate::emulator::ratelimit::{Limit, LimitHeaders, Reset};
use crate::emulator::respond::json as reply;
use crate::emulator::server::{Vendor, guard};
use crate::emulator::store::{Key, Record, Store};
use crate::emulator::{Core, auth};

/// The site's subdomain: `/sites/subdomain-sandbox-accord/...` addresses this site, as
/// `/sites/{site id}/...` does.
pub const SUBDOMAIN: &str = "sandbox-accord";

/// The site's id, for `/sites/{site_id}/...`.
pub const SITE_ID: &str = "s1teacc0rd00";

/// The API, and its site-scoped form: `/sites/{site_id}/<path>` is `<path>` of this site (`next`
/// paths keep the prefix); another site is `not_found`.
pub(crate) fn router(state: Arc<State>) -> Router {
    let api = api(state);
    Router::new().route("/sites/{site_id}/{*rest}", any(site_scoped)).fallback_service(api.clone()).with_state(api)
}

/// The `/sites/{site_id}` a request came under.
#[derive(Debug, Clone)]
struct Prefix(String);

async fn site_scoped(
    AxState(api): AxState<Router>,
    Path((site, rest)): Path<(String, String)>,
    mut req: Request,
) -> Response {
    if site != SITE_ID && site != format!("subdomain-{SUBDOMAIN}") {
        return error(StatusCode::NOT_FOUND, "not_found", &format!("Couldn't find Site with id = {site}"));
    }
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let Ok(uri) = format!("/{rest}{query}").parse() else { return not_found_response() };
    *req.uri_mut() = uri;
    req.extensions_mut().insert(Prefix(format!("/sites/{site}")));
    match api.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn api(state: Arc<State>) -> Router {
    Router::new()
        .route("/accounts", get(accounts))
        .route("/accounts/{id}", get(account).delete(deactivate_account))
        .route("/accounts/{id}/reactivate", put(reactivate_account))
        .route("/subscriptions", get(subscriptions))
        .route("/subscriptions/{id}", get(subscription))
        .route("/invoices", get(invoices))
        .route("/invoices/{id}", get(invoice))
        .route("/plans", get(plans))
        .route("/coupons", get(coupons))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Recurly's error body.
fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    versioned(reply(status, json!({ "error": { "type": kind, "message": message } })))
}

/// A refused parameter: 400 `bad_request`, naming it.
fn bad_param(param: &str, message: &str) -> Response {
    let body = json!({ "error": {
        "type": "bad_request",
        "message": message,
        "params": [{ "param": param, "message": message }],
    }});
    versioned(reply(StatusCode::BAD_REQUEST, body))
}

fn versioned(mut r: Response) -> Response {
    r.headers_mut().insert("recurly-version", HeaderValue::from_static("recurly.v2021-02-25"));
    r
}

fn not_found_response() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "The requested resource could not be found.")
}

async fn not_found() -> Response {
    not_found_response()
}

fn missing(object: &str, id: &str) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", &format!("Couldn't find {object} with id = {id}"))
}

/// The site's limit headers; the reset is a Unix time.
const LIMIT_HEADERS: LimitHeaders = LimitHeaders {
    limit: "x-ratelimit-limit",
    remaining: "x-ratelimit-remaining",
    reset: Some(("x-ratelimit-reset", Reset::UnixTime)),
};

fn rate_limited(headers: HeaderMap) -> Response {
    let mut r = error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "You have made too many API requests in the last 5 minutes. Please wait and try again.",
    );
    r.headers_mut().extend(headers);
    r
}

/// What `Accept` asks for: `Ok` with the version served, or the refusal of a missing, malformed
/// or unknown version.
fn check_version(req: &Request) -> Result<(), Response> {
    let accept = req.headers().get("accept").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let asked = accept.split(',').map(str::trim).find_map(|a| {
        let a = a.split(';').next().unwrap_or_default().trim();
        a.strip_prefix("application/vnd.recurly.").map(|v| v.strip_suffix("+json").unwrap_or(v).to_owned())
    });
    let refuse = |kind: &str, message: String| {
        let body = json!({ "error": {
            "type": kind,
            "message": message,
            "acceptable_accept_headers": [format!("application/vnd.recurly.{API_VERSION}")],
        }});
        Err(reply(StatusCode::NOT_ACCEPTABLE, body))
    };
    match asked {
        Some(v) if v == API_VERSION => Ok(()),
        Some(v) if v.strip_prefix('v').is_some_and(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()) => refuse(
            "unknown_api_version",
            format!("{v} is not a version this site can answer in. Try one of these instead:"),
        ),
        _ => refuse(
            "invalid_api_version",
            "That accept header isn't in the format we use to specify an API version. Try one of these instead:".into(),
        ),
    }
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        match auth::basic(req) {
            Some((user, _)) if user == self.credentials.api_key => check_version(req).map_err(versioned),
            Some(_) => Err(error(StatusCode::UNAUTHORIZED, "invalid_api_key", "Invalid API key.")),
            None => Err(error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Please provide your API key as the username of HTTP Basic authentication.",
            )),
        }
    }

    fn throttle(&self, _req: &Request) -> Result<HeaderMap, Response> {
        let max = self.options.per_window.max(1);
        let Some(v) = self.core.limiter.acquire("site", Limit { max, window: self.options.window }) else {
            return Ok(LIMIT_HEADERS.headers(max, max, self.options.window));
        };
        let headers = LIMIT_HEADERS.headers(max, v.remaining, v.reset_in);
        if v.allowed { Ok(headers) } else { Err(rate_limited(headers)) }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => {
                let max = self.options.per_window;
                rate_limited(LIMIT_HEADERS.headers(max, 0, std::time::Duration::from_secs(1)))
            }
            Fault::Status(code) => error(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                if code == 503 { "service_not_available" } else { "internal_server_error" },
                "An internal server error occurred. Please try again later.",
            ),
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => not_found_response(),
        }
    }
}

fn answer(body: Value) -> Response {
    versioned(Json(body).into_response())
}

type Params = Vec<(String, String)>;

fn one<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// An ISO 8601 time; one without a zone is UTC, a bare date is its midnight.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc()))
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
        })
}

/// A page request of a list.
#[derive(Debug)]
struct ListQuery {
    limit: usize,
    by_updated: bool,
    asc: bool,
    begin: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    /// The key of the last record of the previous page.
    cursor: Option<Key<String>>,
    ids: Option<Vec<String>>,
}

fn list_query(params: &Params) -> Result<ListQuery, Response> {
    let limit = match one(params, "limit") {
        None => 20,
        Some(t) => match t.trim().parse::<i64>() {
            Ok(n) if (1..=200).contains(&n) => n as usize,
            _ => return Err(bad_param("limit", &format!("limit must be an integer from 1 to 200, not {t:?}"))),
        },
    };
    let by_updated = match one(params, "sort").unwrap_or("created_at") {
        "created_at" => false,
        "updated_at" => true,
        other => return Err(bad_param("sort", &format!("sort must be created_at or updated_at, not {other:?}"))),
    };
    let asc = match one(params, "order").unwrap_or("desc") {
        "asc" => true,
        "desc" => false,
        other => return Err(bad_param("order", &format!("order must be asc or desc, not {other:?}"))),
    };
    let time = |name: &str| match one(params, name) {
        None => Ok(None),
        Some(t) => {
            parse_time(t).map(Some).ok_or_else(|| bad_param(name, &format!("{name} is not an ISO 8601 time: {t:?}")))
        }
    };
    let (begin, end) = (time("begin_time")?, time("end_time")?);
    let cursor = match one(params, "cursor") {
        None => None,
        Some(c) => {
            let parsed = c.rsplit_once(':').and_then(|(id, secs)| {
                let t = DateTime::from_timestamp(secs.parse::<i64>().ok()?, 0)?;
                (!id.is_empty()).then(|| (t, id.to_owned()))
            });
            Some(parsed.ok_or_else(|| bad_param("cursor", "The cursor is invalid."))?)
        }
    };
    let ids = match one(params, "ids") {
        None => None,
        Some(list) => {
            let others = ["limit", "order", "sort", "begin_time", "end_time", "cursor"];
            if others.iter().any(|k| one(params, k).is_some()) {
                return Err(bad_param("ids", "ids cannot be combined with ordering or filtering parameters"));
            }
            let ids: Vec<String> = list.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
            if ids.len() > 200 {
                return Err(bad_param("ids", "Up to 200 ids can be passed at once"));
            }
            Some(ids)
        }
    };
    Ok(ListQuery { limit, by_updated, asc, begin, end, cursor, ids })
}

/// One page of `keys` (a list's `(sort time, id)` keys, ascending) in the asked order, and
/// whether more follow: bounds and the cursor are binary searches, the page a slice.
fn page(keys: &[Key<String>], q: &ListQuery) -> (Vec<Key<String>>, bool) {
    let lo = q.begin.map_or(0, |b| keys.partition_point(|k| k.0 < b));
    let hi = q.end.map_or(keys.len(), |e| keys.partition_point(|k| k.0 <= e)).max(lo);
    if q.asc {
        let start = q.cursor.as_ref().map_or(lo, |c| keys.partition_point(|k| k <= c)).clamp(lo, hi);
        let to = (start + q.limit).min(hi);
        (keys[start..to].to_vec(), to < hi)
    } else {
        let top = q.cursor.as_ref().map_or(hi, |c| keys.partition_point(|k| k < c)).clamp(lo, hi);
        let from = top.saturating_sub(q.limit).max(lo);
        (keys[from..top].iter().rev().cloned().collect(), from > lo)
    }
}

/// The ordered keys of a store's records passing `keep`, computed once per filter, sort and data
/// version; all of them when there is no filter.
fn keys<'a, R: Record<Id = String>>(
    s: &State,
    books: &Books,
    store: &'a Store<R>,
    q: &ListQuery,
    filter: Option<String>,
    keep: impl Fn(&R) -> bool,
) -> Keys<'a> {
    let ordered = if q.by_updated { store.by_updated() } else { store.by_created() };
    let Some(filter) = filter else { return Keys::All(ordered.keys()) };
    let key = format!("{filter} by_updated={}", q.by_updated);
    Keys::Hits(
        s.hits
            .get_or_try::<()>(&key, books.version(), || {
                Ok(ordered.iter_from(0).filter(|(_, r)| keep(r)).map(|(k, _)| k.clone()).collect())
            })
            .unwrap_or_default(),
    )
}

/// A list's keys: a store's own index, or the cached hits of a filter.
enum Keys<'a> {
    All(&'a [Key<String>]),
    Hits(Arc<Vec<Key<String>>>),
}

impl std::ops::Deref for Keys<'_> {
    type Target = [Key<String>];
    fn deref(&self) -> &[Key<String>] {
        match self {
            Keys::All(k) => k,
            Keys::Hits(h) => h,
        }
    }
}

/// The list answer: the page's records and, while more follow, the `next` path (the request's
/// path and query with the cursor of the page's last record).
fn list_answer(path: &str, params: &Params, page: Vec<Value>, last: Option<&Key<String>>, more: bool) -> Response {
    let next = match (more, last) {
        (true, Some((t, id))) => {
            let query: HashMap<String, String> = params.iter().cloned().collect();
            json!(url_with(path, &query, &[("cursor", format!("{id}:{}", t.timestamp()))]))
        }
        _ => Value::Null,
    };
    answer(json!({ "object": "list", "has_more": more && last.is_some(), "next": next, "data": page }))
}

/// Reads a list: `ids`, or a page of `keys`, each record rendered by `render`.
fn list<R: Record<Id = String>>(
    prefix: &Option<Extension<Prefix>>,
    path: &str,
    params: &Params,
    q: &ListQuery,
    store: &Store<R>,
    keys: &[Key<String>],
    render: impl Fn(&R) -> Option<Value>,
) -> Response {
    if let Some(ids) = &q.ids {
        let data: Vec<Value> = ids.iter().filter_map(|id| store.get(id)).filter_map(&render).collect();
        return answer(json!({ "object": "list", "has_more": false, "next": null, "data": data }));
    }
    let (page, more) = page(keys, q);
    let data: Vec<Value> = page.iter().filter_map(|(_, id)| store.get(id)).filter_map(&render).collect();
    let path = format!("{}{path}", prefix.as_ref().map_or("", |p| p.0.0.as_str()));
    list_answer(&path, params, data, page.last(), more)
}

async fn accounts(
    AxState(s): AxState<Arc<State>>,
    prefix: Option<Extension<Prefix>>,
    Query(params): Query<Params>,
) -> Response {
    let q = match list_query(&params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let email = one(&params, "email").map(str::to_owned);
    let subscriber = match one(&params, "subscriber") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => return bad_param("subscriber", &format!("subscriber must be true or false, not {other:?}")),
    };
    let past_due = match one(&params, "past_due") {
        None => false,
        Some("true") => true,
        Some(other) => return bad_param("past_due", &format!("past_due must be true, not {other:?}")),
    };
    let books = s.books.read();
    let filter = (email.is_some() || subscriber.is_some() || past_due)
        .then(|| format!("accounts email={email:?} subscriber={subscriber:?} past_due={past_due}"));
    let (subscribers, late): (std::collections::HashSet<&str>, std::collections::HashSet<&str>) = if filter.is_some() {
        (
            books
                .subscriptions
                .rows()
                .iter()
                .filter(|x| matches!(x.state.as_str(), "active" | "canceled" | "future"))
                .map(|x| x.account_id.as_str())
                .collect(),
            books.invoices.rows().iter().filter(|i| i.state == "past_due").map(|i| i.account_id.as_str()).collect(),
        )
    } else {
        Default::default()
    };
    let keys = keys(&s, &books, &books.accounts, &q, filter, |a| {
        email.as_ref().is_none_or(|e| a.email.as_deref().unwrap_or_default() == e)
            && subscriber.is_none_or(|want| subscribers.contains(a.id.as_str()) == want)
            && (!past_due || late.contains(a.id.as_str()))
    });
    list(&prefix, "/accounts", &params, &q, &books.accounts, &keys, |a| Some(a.to_json()))
}

async fn account(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let books = s.books.read();
    match books.find_account(&id).and_then(|id| books.accounts.get(&id)) {
        Some(a) => answer(a.to_json()),
        None => missing("Account", &id),
    }
}

/// `DELETE /accounts/{id}`: deactivates the account and answers it.
async fn deactivate_account(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let now = s.core.clock.now().timestamp();
    let mut books = s.books.write();
    let Some(found) = books.find_account(&id) else { return missing("Account", &id) };
    deactivate(&mut books, &found, now);
    s.core.log_write("account", &found);
    let Some(body) = books.accounts.get(&found).map(|a| a.to_json()) else { return missing("Account", &id) };
    drop(books);
    s.notify("account", "deactivated", json!({ "account_code": body["code"] }));
    answer(body)
}

/// `PUT /accounts/{id}/reactivate`: an inactive account is active again.
async fn reactivate_account(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let now = s.core.clock.now().timestamp();
    let mut books = s.books.write();
    let Some(found) = books.find_account(&id) else { return missing("Account", &id) };
    books.accounts.update(&found, |a| {
        a.state = "active".into();
        a.deleted_at = None;
        a.updated_at = now;
    });
    s.core.log_write("account", &found);
    books.accounts.get(&found).map_or_else(|| missing("Account", &id), |a| answer(a.to_json()))
}

/// Whether a subscription passes a `state` filter at `now`.
fn subscription_state_matches(filter: &str, x: &super::model::Subscription, now: i64) -> bool {
    let in_trial = x.trial_started_at.is_some_and(|t| t < now) && x.trial_ends_at.is_some_and(|t| t > now);
    match filter {
        "in_trial" => in_trial,
        "live" => in_trial || matches!(x.state.as_str(), "active" | "canceled" | "future"),
        state => x.state == state,
    }
}

async fn subscriptions(
    AxState(s): AxState<Arc<State>>,
    prefix: Option<Extension<Prefix>>,
    Query(params): Query<Params>,
) -> Response {
    let q = match list_query(&params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let state = one(&params, "state").map(str::to_owned);
    const STATES: [&str; 6] = ["active", "canceled", "expired", "future", "in_trial", "live"];
    if let Some(st) = &state
        && !STATES.contains(&st.as_str())
    {
        return bad_param("state", &format!("state must be one of {}, not {st:?}", STATES.join(", ")));
    }
    let now = s.core.clock.now().timestamp();
    let books = s.books.read();
    // `in_trial` and `live` depend on the time: the filter key carries the minute.
    let filter = state.as_ref().map(|st| format!("subscriptions state={st} at={}", now / 60));
    let keys = keys(&s, &books, &books.subscriptions, &q, filter, |x| {
        state.as_ref().is_none_or(|st| subscription_state_matches(st, x, now))
    });
    list(&prefix, "/subscriptions", &params, &q, &books.subscriptions, &keys, |x| {
        books.accounts.get(&x.account_id).map(|a| x.to_json(a))
    })
}

async fn subscription(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let books = s.books.read();
    let found = match id.strip_prefix("uuid-") {
        Some(uuid) => books.subscriptions.rows().iter().find(|x| x.uuid == uuid),
        None => books.subscriptions.get(&id),
    };
    match found.and_then(|x| books.accounts.get(&x.account_id).map(|a| x.to_json(a))) {
        Some(body) => answer(body),
        None => missing("Subscription", &id),
    }
}

async fn invoices(
    AxState(s): AxState<Arc<State>>,
    prefix: Option<Extension<Prefix>>,
    Query(params): Query<Params>,
) -> Response {
    let q = match list_query(&params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let state = one(&params, "state").map(str::to_owned);
    const STATES: [&str; 4] = ["pending", "past_due", "paid", "failed"];
    if let Some(st) = &state
        && !STATES.contains(&st.as_str())
    {
        return bad_param("state", &format!("state must be one of {}, not {st:?}", STATES.join(", ")));
    }
    let kind = one(&params, "type").map(str::to_owned);
    const TYPES: [&str; 4] = ["charge", "credit", "legacy", "non-legacy"];
    if let Some(t) = &kind
        && !TYPES.contains(&t.as_str())
    {
        return bad_param("type", &format!("type must be one of {}, not {t:?}", TYPES.join(", ")));
    }
    let books = s.books.read();
    let filter = (state.is_some() || kind.is_some()).then(|| format!("invoices state={state:?} type={kind:?}"));
    let keys = keys(&s, &books, &books.invoices, &q, filter, |i| {
        state.as_ref().is_none_or(|st| i.state == *st)
            && kind.as_deref().is_none_or(|t| match t {
                "non-legacy" => i.kind != "legacy",
                t => i.kind == t,
            })
    });
    list(&prefix, "/invoices", &params, &q, &books.invoices, &keys, |i| {
        books.accounts.get(&i.account_id).map(|a| i.to_json(a))
    })
}

async fn invoice(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let books = s.books.read();
    let found = match id.strip_prefix("number-") {
        Some(number) => books.invoices.rows().iter().find(|i| i.number == number),
        None => books.invoices.get(&id),
    };
    match found.and_then(|i| books.accounts.get(&i.account_id).map(|a| i.to_json(a))) {
        Some(body) => answer(body),
        None => missing("Invoice", &id),
    }
}

async fn plans(
    AxState(s): AxState<Arc<State>>,
    prefix: Option<Extension<Prefix>>,
    Query(params): Query<Params>,
) -> Response {
    let q = match list_query(&params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let books = s.books.read();
    let keys = keys(&s, &books, &books.plans, &q, None, |_| true);
    list(&prefix, "/plans", &params, &q, &books.plans, &keys, |p| Some(p.to_json()))
}

async fn coupons(
    AxState(s): AxState<Arc<State>>,
    prefix: Option<Extension<Prefix>>,
    Query(params): Query<Params>,
) -> Response {
    let q = match list_query(&params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let books = s.books.read();
    let keys = keys(&s, &books, &books.coupons, &q, None, |_| true);
    list(&prefix, "/coupons", &params, &q, &books.coupons, &keys, |c| Some(c.to_json()))
}
