//! Braintree's server API ("XML gateway") for subscriptions, as the server SDKs call it: paths
//! under `/merchants/{merchant_id}/`, HTTP Basic auth with the API keys, `X-ApiVersion`
//! required, XML bodies both ways (`accord_core::xml`'s typed elements), refusals as
//! `<api-error-response>` with a `<message>`, a 401 without a body for wrong keys.
//!
//! The subscription search is two requests: `advanced_search_ids` answers every matching id in
//! creation order with the `page-size` (the emulator's `search_page_size`), and
//! `advanced_search` answers the records of at most a page of ids. Criteria: `status` and `ids`
//! (lists of `<item>`), and `plan-id` (`<is>`); any other is refused.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::State;
use super::model::{Subscription, xml_item};
use crate::emulator::auth;
use crate::emulator::faults::Fault;

const PREFIX: &str = "/merchants/";

/// Whether `path` is the gateway's.
pub(super) fn is_gateway(path: &str) -> bool {
    path.starts_with(PREFIX)
}

pub(super) fn routes() -> Router<Arc<State>> {
    Router::new()
        .route("/merchants/{merchant}/subscriptions/advanced_search_ids", post(search_ids))
        .route("/merchants/{merchant}/subscriptions/advanced_search", post(search))
        .route("/merchants/{merchant}/plans", get(plans))
        .route("/merchants/{merchant}/payment_methods/any/{token}", get(payment_method))
}

/// An XML answer: `{root}` holding `value`.
fn xml(status: StatusCode, root: &str, value: &Value) -> Response {
    let body = accord_core::xml::write(root, value, &xml_item);
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"));
    r
}

/// A refusal the vendor's way.
fn api_error(status: StatusCode, message: &str) -> Response {
    xml(status, "api-error-response", &json!({"errors": {"errors": []}, "message": message}))
}

pub(super) fn too_many(retry_after: u64) -> Response {
    let mut r = api_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

pub(super) fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::RateLimited => too_many(1),
        Fault::Status(code) => {
            api_error(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "Internal Server Error")
        }
        _ => api_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

pub(super) fn authorize(s: &State, req: &Request) -> Result<(), Response> {
    match auth::basic(req) {
        Some((public, private)) if public == s.credentials.public_key && private == s.credentials.private_key => {}
        // Braintree answers wrong keys with a bare 401 (the SDKs raise AuthenticationError).
        _ => return Err(StatusCode::UNAUTHORIZED.into_response()),
    }
    let merchant = req.uri().path()[PREFIX.len()..].split('/').next().unwrap_or("");
    if merchant != s.credentials.merchant_id {
        // The keys belong to another merchant.
        return Err(StatusCode::FORBIDDEN.into_response());
    }
    if req.headers().get("x-apiversion").and_then(|v| v.to_str().ok()).is_none_or(|v| v.trim().is_empty()) {
        return Err(api_error(StatusCode::BAD_REQUEST, "The X-ApiVersion header is required"));
    }
    Ok(())
}

/// What a `<search>` asks for.
struct Criteria {
    statuses: Option<Vec<String>>,
    ids: Option<Vec<String>>,
    plan: Option<String>,
}

fn texts(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Array(list) => list
            .iter()
            .map(|x| x.as_str().map(str::to_owned).ok_or_else(|| format!("{what}: {x} is not a value")))
            .collect(),
        other => Err(format!("{what} must be a list of <item> (type=\"array\"), got {other}")),
    }
}

fn criteria(body: &[u8]) -> Result<Criteria, String> {
    let text = std::str::from_utf8(body).map_err(|_| "The request body is not UTF-8".to_owned())?;
    let doc = accord_core::xml::parse(text).map_err(|e| format!("The request body is not XML: {e}"))?;
    let search = doc.get("search").ok_or("The request body must be a <search> document")?;
    let mut c = Criteria { statuses: None, ids: None, plan: None };
    let Some(fields) = search.as_object() else { return Ok(c) };
    for (k, v) in fields {
        match k.as_str() {
            "status" => {
                let list = texts(v, "status")?;
                if let Some(bad) = list
                    .iter()
                    .find(|s| !["Active", "Canceled", "Past Due", "Pending", "Expired"].contains(&s.as_str()))
                {
                    return Err(format!("Invalid Argument: status {bad:?}"));
                }
                c.statuses = Some(list);
            }
            "ids" => c.ids = Some(texts(v, "ids")?),
            "plan-id" => {
                c.plan = Some(v.get("is").and_then(Value::as_str).ok_or("plan-id takes <is>")?.to_owned());
            }
            other => return Err(format!("The emulator does not search subscriptions by {other}")),
        }
    }
    Ok(c)
}

fn matches(c: &Criteria, s: &Subscription) -> bool {
    c.statuses.as_ref().is_none_or(|l| l.contains(&s.status))
        && c.ids.as_ref().is_none_or(|l| l.contains(&s.id))
        && c.plan.as_ref().is_none_or(|p| *p == s.plan_id)
}

/// `POST .../subscriptions/advanced_search_ids`: every matching id, oldest first.
async fn search_ids(AxState(s): AxState<Arc<State>>, body: Bytes) -> Response {
    let c = match criteria(&body) {
        Ok(c) => c,
        Err(e) => return api_error(StatusCode::UNPROCESSABLE_ENTITY, &e),
    };
    let subs = s.subscriptions.read();
    let ids: Vec<Value> =
        subs.by_created().iter_from(0).filter(|(_, r)| matches(&c, r)).map(|(_, r)| json!(r.id)).collect();
    xml(StatusCode::OK, "search-results", &json!({"page-size": s.options.search_page_size, "ids": ids}))
}

/// `POST .../subscriptions/advanced_search`: the records of at most a page of `ids`.
async fn search(AxState(s): AxState<Arc<State>>, body: Bytes) -> Response {
    let c = match criteria(&body) {
        Ok(c) => c,
        Err(e) => return api_error(StatusCode::UNPROCESSABLE_ENTITY, &e),
    };
    let Some(ids) = &c.ids else {
        return api_error(StatusCode::UNPROCESSABLE_ENTITY, "advanced_search takes the <ids> of one page");
    };
    if ids.len() > s.options.search_page_size {
        return api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("{} ids: a page holds at most {}", ids.len(), s.options.search_page_size),
        );
    }
    let subs = s.subscriptions.read();
    let list: Vec<Value> =
        subs.by_created().iter_from(0).filter(|(_, r)| matches(&c, r)).map(|(_, r)| r.xml_json()).collect();
    xml(StatusCode::OK, "subscriptions", &Value::Array(list))
}

/// `GET .../plans`.
async fn plans(AxState(s): AxState<Arc<State>>) -> Response {
    let list: Vec<Value> = s.plans.read().iter().map(super::model::Plan::xml_json).collect();
    xml(StatusCode::OK, "plans", &Value::Array(list))
}

/// `GET .../payment_methods/any/{token}`: the payment method, its root its type.
async fn payment_method(AxState(s): AxState<Arc<State>>, Path((_merchant, token)): Path<(String, String)>) -> Response {
    let methods = s.payment_methods.read();
    match methods.iter().find(|m| m.token == token) {
        Some(m) => {
            let default = true;
            xml(
                StatusCode::OK,
                &m.kind,
                &json!({"token": m.token, "customer-id": m.customer_legacy_id, "default": default}),
            )
        }
        None => api_error(StatusCode::NOT_FOUND, "Payment method not found"),
    }
}
