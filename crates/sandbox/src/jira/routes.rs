//! The JIRA Cloud REST API over HTTP (v3, and v2 on the same paths): issue search by JQL paged by
//! `nextPageToken`, fields, the API user and server info, and JIRA's `ErrorCollection` answers.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use super::State;
use super::model::{FIELDS, Issue, field_list};
use crate::emulator::faults::Fault;
use crate::emulator::paging::take_page;
use crate::emulator::ratelimit::{Limit, LimitHeaders};
use crate::emulator::respond::{base_url, json as reply, retry_after};
use crate::emulator::server::{Vendor, guard};
use crate::emulator::{Core, auth};

/// What `/search` answers since JIRA Cloud removed it.
pub(crate) const REMOVED: &str = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046";

pub(crate) fn router(state: Arc<State>) -> Router {
    let mut r = Router::new();
    for v in ["2", "3"] {
        r = r
            .route(&format!("/rest/api/{v}/search/jql"), get(search_get).post(search_post))
            .route(&format!("/rest/api/{v}/search"), get(removed).post(removed))
            .route(&format!("/rest/api/{v}/field"), get(fields))
            .route(&format!("/rest/api/{v}/issue/{{id}}"), get(issue).put(edit_issue))
            .route(&format!("/rest/api/{v}/myself"), get(myself))
            .route(&format!("/rest/api/{v}/serverInfo"), get(server_info));
    }
    r.fallback(not_found).layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>)).with_state(state)
}

/// JIRA's `ErrorCollection`.
fn error(status: StatusCode, message: &str) -> Response {
    reply(status, json!({ "errorMessages": [message], "errors": {} }))
}

/// JIRA's limit headers on every answer; 429s add `Retry-After`, `X-RateLimit-Reset` (an ISO-8601
/// instant) and `RateLimit-Reason`.
const LIMIT_HEADERS: LimitHeaders =
    LimitHeaders { limit: "x-ratelimit-limit", remaining: "x-ratelimit-remaining", reset: None };

fn too_many(limit: u32, reset_in: std::time::Duration) -> Response {
    let secs = reset_in.as_millis().div_ceil(1000).max(1) as u64;
    let mut r = retry_after(error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded."), secs);
    r.headers_mut().extend(LIMIT_HEADERS.headers(limit, 0, reset_in));
    let reset = (Utc::now() + Duration::seconds(secs as i64)).format("%Y-%m-%dT%H:%MZ").to_string();
    if let Ok(v) = HeaderValue::from_str(&reset) {
        r.headers_mut().insert(HeaderName::from_static("x-ratelimit-reset"), v);
    }
    r.headers_mut().insert(HeaderName::from_static("ratelimit-reason"), HeaderValue::from_static("jira-burst-based"));
    r
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        match auth::basic(req) {
            Some((user, token)) if user == self.credentials.email && token == self.credentials.api_token => Ok(()),
            _ => Err(error(
                StatusCode::UNAUTHORIZED,
                "You are not authenticated. Authentication required to perform this operation.",
            )),
        }
    }

    fn throttle(&self, _req: &Request) -> Result<HeaderMap, Response> {
        let max = self.options.per_minute.max(1);
        match self.core.limiter.acquire("site", Limit { max, window: self.options.window }) {
            None => Ok(LIMIT_HEADERS.headers(max, max, self.options.window)),
            Some(v) if v.allowed => Ok(LIMIT_HEADERS.headers(max, v.remaining, v.reset_in)),
            Some(v) => Err(too_many(max, v.reset_in)),
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => too_many(self.options.per_minute, std::time::Duration::from_secs(1)),
            Fault::Status(503) => retry_after(error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"), 1),
            Fault::Status(code) => {
                error(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "Internal server error")
            }
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => {
                error(StatusCode::NOT_FOUND, "Not Found")
            }
        }
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "null for uri: the resource does not exist")
}

async fn removed() -> Response {
    error(StatusCode::GONE, REMOVED)
}

/// What JIRA answers for an issue it does not have, or one the user cannot see.
const NO_ISSUE: &str = "Issue does not exist or you do not have permission to see it.";

/// The issue named by its id or its key.
fn find_issue(s: &State, id_or_key: &str) -> Option<Issue> {
    let issues = s.issues.read();
    match id_or_key.parse::<u64>() {
        Ok(id) => issues.get(&id).cloned(),
        Err(_) => issues.rows().iter().find(|i| i.key.eq_ignore_ascii_case(id_or_key)).cloned(),
    }
}

/// `GET /rest/api/3/issue/{idOrKey}`: every field unless `fields` names some.
async fn issue(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let mut asked: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "fields")
        .flat_map(|(_, v)| v.split(',').map(|f| f.trim().to_owned()))
        .filter(|f| !f.is_empty())
        .collect();
    if asked.is_empty() {
        asked.push("*all".into());
    }
    match find_issue(&s, &id) {
        Some(i) => Json(i.to_json(&base_url(&headers), keep_fields(&asked))).into_response(),
        None => error(StatusCode::NOT_FOUND, NO_ISSUE),
    }
}

/// `PUT /rest/api/3/issue/{idOrKey}`: sets the `fields` it names. The text custom fields take a
/// string or null, story points a number or null, `summary` a string; a field the issue's edit
/// screen does not have is refused by name (400 with `errors`), nothing changed. The answer is
/// 204, or the issue with every field on `returnIssue=true`.
async fn edit_issue(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let refused =
        |errors: Map<String, Value>| reply(StatusCode::BAD_REQUEST, json!({"errorMessages": [], "errors": errors}));
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid request payload. Refer to the REST API documentation and try again.",
        );
    };
    let Some(issue) = find_issue(&s, &id) else { return error(StatusCode::NOT_FOUND, NO_ISSUE) };
    let fields = body.get("fields").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut errors = Map::new();
    for (field, value) in &fields {
        let ok = match field.as_str() {
            super::model::ACCOUNT_FIELD | super::model::SUPPORT_FIELD => value.is_string() || value.is_null(),
            super::model::STORY_POINTS => value.is_number() || value.is_null(),
            "summary" => value.as_str().is_some_and(|t| !t.trim().is_empty()),
            _ => {
                errors.insert(
                    field.clone(),
                    json!(format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown.")),
                );
                continue;
            }
        };
        if !ok {
            errors.insert(field.clone(), json!("Operation value must be a string"));
        }
    }
    if !errors.is_empty() {
        return refused(errors);
    }
    let now = s.core.clock.now();
    let text = |v: &Value| v.as_str().map(str::to_owned);
    s.issues.write().update(&issue.id, |i| {
        for (field, value) in &fields {
            match field.as_str() {
                super::model::ACCOUNT_FIELD => i.account_id = text(value),
                super::model::SUPPORT_FIELD => i.support_id = text(value),
                super::model::STORY_POINTS => i.story_points = value.as_f64(),
                _ => i.summary = text(value).unwrap_or_default(),
            }
        }
        i.updated = now;
    });
    s.core.log_write("issue", &issue.id.to_string());
    s.notify(issue.id, "updated");
    let return_issue = params.iter().any(|(k, v)| k == "returnIssue" && v == "true");
    match find_issue(&s, &issue.id.to_string()).filter(|_| return_issue) {
        Some(i) => Json(i.to_json(&base_url(&headers), |_| true)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn fields() -> Response {
    Json(field_list()).into_response()
}

async fn myself(AxState(s): AxState<Arc<State>>, headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    Json(json!({
        "self": format!("{base}/rest/api/3/user?accountId=5b10a2844c20165700ede21g"),
        "accountId": "5b10a2844c20165700ede21g",
        "accountType": "atlassian",
        "emailAddress": s.credentials.email,
        "displayName": "accord sync",
        "active": true,
        "timeZone": s.options.time_zone,
        "locale": "en_US",
    }))
    .into_response()
}

async fn server_info(AxState(s): AxState<Arc<State>>, headers: HeaderMap) -> Response {
    Json(json!({
        "baseUrl": base_url(&headers),
        "version": "1001.0.0-SNAPSHOT",
        "versionNumbers": [1001, 0, 0],
        "deploymentType": "Cloud",
        "buildNumber": 100_245,
        "buildDate": "2025-01-01T00:00:00.000+0000",
        "serverTime": super::model::jira_time(s.core.clock.now()),
        "scmInfo": "0000000000000000000000000000000000000000",
        "serverTitle": "JIRA",
    }))
    .into_response()
}

/// A search, however it was sent.
#[derive(Debug, Default)]
struct Search {
    jql: String,
    token: Option<String>,
    max_results: Option<i64>,
    fields: Vec<String>,
    expand: Vec<String>,
}

async fn search_get(
    AxState(s): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let mut q = Search::default();
    for (k, v) in params {
        match k.as_str() {
            "jql" => q.jql = v,
            "nextPageToken" => q.token = Some(v),
            "maxResults" => q.max_results = v.trim().parse().ok(),
            // `fields=a,b` or `fields=a&fields=b`.
            "fields" => q.fields.extend(v.split(',').map(|f| f.trim().to_owned()).filter(|f| !f.is_empty())),
            "expand" => q.expand.extend(v.split(',').map(|e| e.trim().to_owned())),
            _ => {}
        }
    }
    search(&s, &headers, q)
}

async fn search_post(AxState(s): AxState<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid request payload. Refer to the REST API documentation and try again.",
        );
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let list = |k: &str| match body.get(k) {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(s)) => s.split(',').map(|f| f.trim().to_owned()).collect(),
        _ => Vec::new(),
    };
    let q = Search {
        jql: text("jql").unwrap_or_default(),
        token: text("nextPageToken"),
        max_results: body.get("maxResults").and_then(Value::as_i64),
        fields: list("fields"),
        expand: list("expand"),
    };
    search(&s, &headers, q)
}

/// Which fields an issue shows: none (only `id`) unless asked; `*all`, `*navigable`, names,
/// and `-name` to leave one out.
fn keep_fields(asked: &[String]) -> impl Fn(&str) -> bool + '_ {
    let all = asked.iter().any(|f| f == "*all" || f == "*navigable");
    move |id: &str| {
        if asked.iter().any(|f| f.strip_prefix('-') == Some(id)) {
            return false;
        }
        all || asked.iter().any(|f| f == id)
    }
}

fn search(s: &State, headers: &HeaderMap, q: Search) -> Response {
    let now = s.core.clock.now();
    let jql = match Jql::parse(&q.jql, now, &s.options.time_zone) {
        Ok(j) => j,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let per_page = q.max_results.unwrap_or(50).clamp(1, s.options.max_results_cap.max(1) as i64) as usize;
    let query_hash = fnv(q.jql.trim());
    let after = match q.token.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => match decode_token(t) {
            Some((hash, updated, id)) if hash == query_hash => Some((updated, id)),
            _ => {
                return error(StatusCode::BAD_REQUEST, "The provided next page token is invalid or expired.");
            }
        },
    };
    let base = base_url(headers);
    let store = s.issues.read();
    let order = store.by_updated();
    let start = match (after, jql.from) {
        (Some((t, id)), _) => order.after(t, &id),
        (None, Some((t, true))) => order.since(t),
        (None, Some((t, false))) => order.after(t, &u64::MAX),
        (None, None) => 0,
    };
    let matching = order
        .iter_from(start)
        .map(|(_, issue)| issue)
        .take_while(|i| jql.to.is_none_or(|(t, inclusive)| i.updated < t || (inclusive && i.updated == t)))
        .filter(|i| jql.matches(i));
    let (page, more) = take_page(matching, per_page);
    let keep = keep_fields(&q.fields);
    let wants = |e: &str| q.expand.iter().any(|x| x == e);
    let issues: Vec<Value> = page
        .iter()
        .map(|i| {
            let mut v = i.to_json(&base, &keep);
            if q.fields.is_empty() {
                // Without `fields`, `/search/jql` returns ids only.
                v = json!({ "id": v["id"].clone() });
            }
            if wants("changelog") {
                v["changelog"] = json!({ "startAt": 0, "maxResults": 0, "total": 0, "histories": [] });
            }
            if wants("transitions") {
                v["transitions"] = json!([]);
            }
            v
        })
        .collect();
    let mut body = json!({ "issues": issues, "isLast": !more });
    if more && let Some(last) = page.last() {
        body["nextPageToken"] = json!(encode_token(query_hash, last.updated, last.id));
    }
    if wants("names") {
        let names: Map<String, Value> =
            FIELDS.iter().filter(|(id, ..)| keep(id)).map(|(id, name, ..)| ((*id).to_owned(), json!(name))).collect();
        body["names"] = Value::Object(names);
    }
    Json(body).into_response()
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// An opaque token: the query's hash and the `(updated, id)` of the last issue served.
fn encode_token(hash: u64, updated: DateTime<Utc>, id: u64) -> String {
    BASE64.encode(format!("{hash:x}.{}.{id}", updated.timestamp_micros()))
}

fn decode_token(token: &str) -> Option<(u64, DateTime<Utc>, u64)> {
    let text = String::from_utf8(BASE64.decode(token.trim()).ok()?).ok()?;
    let mut parts = text.split('.');
    let hash = u64::from_str_radix(parts.next()?, 16).ok()?;
    let updated = DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?;
    let id = parts.next()?.parse().ok()?;
    Some((hash, updated, id))
}

/// The JQL the emulator understands: clauses joined by `AND` (in parentheses or not) comparing
/// `updated` or `created` with a date, or `project = KEY`; then `ORDER BY updated [ASC]`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Jql {
    /// The lowest `updated`, and whether it is included.
    from: Option<(DateTime<Utc>, bool)>,
    /// The highest `updated`, and whether it is included.
    to: Option<(DateTime<Utc>, bool)>,
    created: Vec<(String, DateTime<Utc>)>,
    project: Option<String>,
}

impl Jql {
    pub(crate) fn parse(text: &str, now: DateTime<Utc>, zone: &str) -> Result<Self, String> {
        let lower = text.to_ascii_lowercase();
        let (filter, order) = match lower.find("order by") {
            Some(at) => (&text[..at], Some(&lower[at + "order by".len()..])),
            None => (text, None),
        };
        if let Some(order) = order {
            let words: Vec<&str> = order.split_whitespace().collect();
            if !matches!(words.as_slice(), ["updated"] | ["updated", "asc"]) {
                return Err(format!(
                    "Error in the JQL Query: the sandbox orders by updated ASC only (found ORDER BY{order})"
                ));
            }
        }
        let mut jql = Jql::default();
        let clauses = split_and(filter)?;
        if clauses.is_empty() {
            return Err(
                "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.".into()
            );
        }
        for clause in clauses {
            jql.clause(&clause, now, zone)?;
        }
        Ok(jql)
    }

    fn clause(&mut self, clause: &str, now: DateTime<Utc>, zone: &str) -> Result<(), String> {
        let ops = [">=", "<=", "!=", ">", "<", "="];
        let (at, op) = ops
            .iter()
            .filter_map(|op| clause.find(op).map(|i| (i, *op)))
            .min_by_key(|(i, op)| (*i, std::cmp::Reverse(op.len())))
            .ok_or_else(|| format!("Error in the JQL Query: expecting an operator in {clause:?}"))?;
        let field = clause[..at].trim().to_ascii_lowercase();
        let value = unquote(clause[at + op.len()..].trim());
        match field.as_str() {
            "project" if op == "=" => {
                self.project = Some(value.to_owned());
                Ok(())
            }
            "updated" | "updateddate" | "created" | "createddate" => {
                let t = date(value, now, zone).ok_or_else(|| {
                    format!(
                        "Date value '{value}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
                    )
                })?;
                if field.starts_with("created") {
                    self.created.push((op.to_owned(), t));
                    return Ok(());
                }
                match op {
                    ">=" => self.from = Some((t, true)),
                    ">" => self.from = Some((t, false)),
                    "<=" => self.to = Some((t, true)),
                    "<" => self.to = Some((t, false)),
                    _ => {
                        return Err(format!(
                            "Error in the JQL Query: the sandbox compares updated with >, >=, < or <= ({clause:?})"
                        ));
                    }
                }
                Ok(())
            }
            _ => Err(format!("Error in the JQL Query: the sandbox does not know the clause {clause:?}")),
        }
    }

    fn matches(&self, issue: &Issue) -> bool {
        let created_ok = self.created.iter().all(|(op, t)| match op.as_str() {
            ">=" => issue.created >= *t,
            ">" => issue.created > *t,
            "<=" => issue.created <= *t,
            "<" => issue.created < *t,
            "=" => issue.created == *t,
            _ => issue.created != *t,
        });
        let project_ok = self
            .project
            .as_deref()
            .is_none_or(|p| issue.key.split('-').next().is_some_and(|k| k.eq_ignore_ascii_case(p)));
        created_ok && project_ok
    }
}

/// The clauses of `a AND (b) AND c`, each without its parentheses; `OR` is refused.
fn split_and(text: &str) -> Result<Vec<String>, String> {
    let mut clauses = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for word in text.split_inclusive(char::is_whitespace) {
        for c in word.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (None, '"' | '\'') => quote = Some(c),
                _ => {}
            }
        }
        let bare = word.trim().trim_matches(|c| c == '(' || c == ')');
        if quote.is_none() && bare.eq_ignore_ascii_case("and") && word.trim().len() == 3 {
            clauses.push(std::mem::take(&mut current));
            continue;
        }
        if quote.is_none() && word.trim().eq_ignore_ascii_case("or") {
            return Err("Error in the JQL Query: the sandbox understands AND, not OR".into());
        }
        current.push_str(word);
    }
    clauses.push(current);
    Ok(clauses
        .into_iter()
        .map(|c| c.trim().trim_start_matches('(').trim_end_matches(')').trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect())
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// The user's offset east of UTC: `UTC`, or `Etc/GMT-3` (three hours east, as the tz database
/// writes it).
fn offset(zone: &str) -> Duration {
    let hours = zone.strip_prefix("Etc/GMT").and_then(|h| h.parse::<i64>().ok()).map_or(0, |h| -h);
    Duration::hours(hours)
}

/// A JQL date in the user's time zone (minute precision), or a period from now (`-5d`, `-90m`).
fn date(text: &str, now: DateTime<Utc>, zone: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Some(period) = relative(t) {
        return Some(now + period);
    }
    let local = ["%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .or_else(|| {
            ["%Y-%m-%d", "%Y/%m/%d"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    Some(local.and_utc() - offset(zone))
}

/// `-5d`, `-90m`, `4w 2d`, `-1h`: a signed sum of weeks, days, hours and minutes.
fn relative(text: &str) -> Option<Duration> {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let mut total = Duration::zero();
    let mut any = false;
    for part in rest.split_whitespace() {
        let unit = part.chars().last()?;
        let n: i64 = part[..part.len() - unit.len_utf8()].parse().ok()?;
        total += match unit {
            'w' => Duration::weeks(n),
            'd' => Duration::days(n),
            'h' => Duration::hours(n),
            'm' => Duration::minutes(n),
            _ => return None,
        };
        any = true;
    }
    any.then_some(total * sign)
}

#[cfg(test)]
mod unit {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn jql_dates_are_minutes_in_the_users_zone_or_periods() {
        let now = t("2025-01-10T12:00:00Z");
        let j = Jql::parse("updated >= \"2025-01-02 10:05\" ORDER BY updated ASC", now, "UTC").unwrap();
        assert_eq!(j.from, Some((t("2025-01-02T10:05:00Z"), true)));
        let j = Jql::parse("updated >= '2025/01/02 10:05' order by updated asc", now, "Etc/GMT-3").unwrap();
        assert_eq!(j.from, Some((t("2025-01-02T07:05:00Z"), true)), "three hours east of UTC");
        let j = Jql::parse("updated >= -1d", now, "UTC").unwrap();
        assert_eq!(j.from, Some((t("2025-01-09T12:00:00Z"), true)));
        let j = Jql::parse("(project = SUP) AND updated > \"2025-01-02\" AND updated < \"2025-01-03\"", now, "UTC")
            .unwrap();
        assert_eq!(
            (j.from, j.to, j.project.as_deref()),
            (Some((t("2025-01-02T00:00:00Z"), false)), Some((t("2025-01-03T00:00:00Z"), false)), Some("SUP"))
        );
    }

    #[test]
    fn unbounded_unknown_and_or_queries_are_refused_as_jira_words_them() {
        let now = t("2025-01-10T12:00:00Z");
        assert!(Jql::parse("ORDER BY updated ASC", now, "UTC").unwrap_err().starts_with("Unbounded JQL"));
        assert!(Jql::parse("", now, "UTC").is_err());
        assert!(Jql::parse("updated >= \"yesterday\"", now, "UTC").unwrap_err().contains("Valid formats include"));
        assert!(Jql::parse("assignee = me", now, "UTC").is_err());
        assert!(Jql::parse("updated >= -1d OR project = SUP", now, "UTC").is_err());
        assert!(Jql::parse("updated >= -1d ORDER BY created DESC", now, "UTC").is_err());
    }

    #[test]
    fn tokens_round_trip_and_name_their_query() {
        let at = t("2025-01-02T10:05:37.123Z");
        let token = encode_token(fnv("q"), at, 10_042);
        assert_eq!(decode_token(&token), Some((fnv("q"), at, 10_042)));
        assert_eq!(decode_token("not a token"), None);
    }
}
