//! The Delighted REST v1 API over HTTP: `GET /v1/survey_responses.json` (also without `.json`, as
//! the official Python client asks for it), and Delighted's `{"status", "message"}` errors.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::State;
use crate::emulator::faults::Fault;
use crate::emulator::paging::{PageNumber, unix_seconds};
use crate::emulator::ratelimit::Limit;
use crate::emulator::respond::{json as reply, retry_after};
use crate::emulator::server::{Vendor, guard};
use crate::emulator::{Core, auth};

/// Delighted's page size when `per_page` is absent, and its maximum.
const DEFAULT_PER_PAGE: usize = 20;
const MAX_PER_PAGE: usize = 100;

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/v1/survey_responses.json", get(survey_responses))
        .route("/v1/survey_responses", get(survey_responses))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// Delighted's error body: `{"status": 401, "message": "..."}`.
fn error(status: StatusCode, message: &str) -> Response {
    reply(status, json!({ "status": status.as_u16(), "message": message }))
}

async fn not_found() -> Response {
    not_found_body()
}

fn not_found_body() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

/// The API key of `Authorization: Basic`, with or without the `:` of an empty password (the
/// official Python client encodes the key alone).
fn basic_key(req: &Request) -> Option<String> {
    let encoded = auth::authorization(req).strip_prefix("Basic ")?;
    let text = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
    Some(text.split_once(':').map_or(text.clone(), |(user, _)| user.to_owned()))
}

fn too_many(seconds: u64) -> Response {
    retry_after(error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"), seconds)
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        match basic_key(req) {
            Some(key) if key == self.credentials.api_key => Ok(()),
            _ => Err(error(StatusCode::UNAUTHORIZED, "Invalid API key")),
        }
    }

    fn throttle(&self, _req: &Request) -> Result<HeaderMap, Response> {
        let limit = Limit { max: self.options.per_minute, window: self.options.window };
        match self.core.limiter.acquire("account", limit) {
            Some(v) if !v.allowed => Err(too_many(v.retry_after_secs())),
            _ => Ok(HeaderMap::new()),
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => too_many(1),
            Fault::Status(503) => error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
            Fault::Status(code) => {
                error(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "Internal Server Error")
            }
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => not_found_body(),
        }
    }
}

/// A Unix-time parameter (`1700000000` or `1700000000.0`); `Err` names a bad one.
fn time_param(params: &HashMap<String, String>, key: &str) -> Result<Option<DateTime<Utc>>, Response> {
    match params.get(key) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => unix_seconds(v)
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .map(Some)
            .ok_or_else(|| error(StatusCode::UNPROCESSABLE_ENTITY, &format!("{key} must be a Unix timestamp"))),
    }
}

/// `GET /v1/survey_responses.json`: a JSON array, `per_page` (≤ 100) of page `page`; the page
/// after the last is `[]`. `order` is `asc` (creation, the default), `desc`, `asc:updated_at` or
/// `desc:updated_at`. The bounds on the order's own time are a binary search in its index; a
/// bound on the other time, `person_id` and `person_email` filter while paging (no sync reads
/// that way: the cost grows with the page number). `trend` is not emulated (there is one survey).
async fn survey_responses(AxState(s): AxState<Arc<State>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let paging = PageNumber::from_params(&params, DEFAULT_PER_PAGE, Some(MAX_PER_PAGE));
    let (by_updated, descending) = match params.get("order").map(|o| o.trim()) {
        None | Some("") | Some("asc") => (false, false),
        Some("desc") => (false, true),
        Some("asc:updated_at") => (true, false),
        Some("desc:updated_at") => (true, true),
        Some(other) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("order {other:?} is not one of asc, desc, asc:updated_at, desc:updated_at"),
            );
        }
    };
    let expand_person =
        params.iter().any(|(k, v)| k.starts_with("expand") && v.split(',').any(|x| x.trim() == "person"));
    let bounds = (|| {
        Ok::<_, Response>((
            time_param(&params, "since")?,
            time_param(&params, "until")?,
            time_param(&params, "updated_since")?,
            time_param(&params, "updated_until")?,
        ))
    })();
    let (since, until, updated_since, updated_until) = match bounds {
        Ok(b) => b,
        Err(r) => return r,
    };
    let store = s.responses.read();
    let ordered = if by_updated { store.by_updated() } else { store.by_created() };
    let (own_from, own_until, other_from, other_until) = if by_updated {
        (updated_since, updated_until, since, until)
    } else {
        (since, until, updated_since, updated_until)
    };
    // Bounds are inclusive: `since` from its second, `until` to the end of its second.
    let lo = own_from.map_or(0, |t| ordered.since(t));
    let hi = own_until.map_or(ordered.len(), |t| ordered.since(t + chrono::Duration::seconds(1))).max(lo);
    let offset = (paging.page - 1).saturating_mul(paging.per_page);
    let person_id = params.get("person_id").map(|p| p.trim()).filter(|p| !p.is_empty());
    let person_email = params.get("person_email").map(|e| e.trim()).filter(|e| !e.is_empty());
    let keep = |r: &super::SurveyResponse| {
        let t = if by_updated { r.created_at } else { r.updated_at };
        other_from.is_none_or(|f| t >= f)
            && other_until.is_none_or(|u| t < u + chrono::Duration::seconds(1))
            && person_id.is_none_or(|p| r.person.id == p)
            && person_email.is_none_or(|e| r.person.email.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(e)))
    };
    let positions: Box<dyn Iterator<Item = usize>> =
        if descending { Box::new((lo..hi).rev()) } else { Box::new(lo..hi) };
    let filtered = other_from.is_some() || other_until.is_some() || person_id.is_some() || person_email.is_some();
    let page: Vec<Value> = if !filtered {
        positions.skip(offset).take(paging.per_page).map(|i| ordered.get(i).to_json(expand_person)).collect()
    } else {
        positions
            .map(|i| ordered.get(i))
            .filter(|r| keep(r))
            .skip(offset)
            .take(paging.per_page)
            .map(|r| r.to_json(expand_person))
            .collect()
    };
    drop(store);
    Json(Value::Array(page)).into_response()
}
