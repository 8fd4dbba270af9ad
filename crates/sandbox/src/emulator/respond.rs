//! Building answers: a JSON body with a status, the `Retry-After` header, and the base URL a
//! vendor writes into its own links (from the request's `Host`, as a server behind its domain
//! names itself). Error bodies are the vendor's own shape, built by its `routes.rs` with [`json`].

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::Value;

/// `body` as JSON with `status`.
pub fn json(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// Adds `Retry-After: <seconds>`.
pub fn retry_after(mut response: Response, seconds: u64) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// `http://<Host>`, the base of the URLs an emulator writes in its bodies. Behind a proxy that
/// says `X-Forwarded-Host` and `X-Forwarded-Proto` (a client routed to the emulator under the
/// vendor's own host name), the URLs name what the client asked for.
pub fn base_url(headers: &HeaderMap) -> String {
    let get = |name: &str| headers.get(name).and_then(|h| h.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let host = get("x-forwarded-host").or_else(|| get(header::HOST.as_str())).unwrap_or("127.0.0.1");
    let scheme = get("x-forwarded-proto").filter(|p| *p == "https" || *p == "http").unwrap_or("http");
    format!("{scheme}://{host}")
}
