//! Building answers: a JSON body with a status, the `Retry-After` header, the base URL a vendor
//! writes into its own links (from the request's `Host`, as a server behind its domain names
//! itself), and vendors' time formats. Error bodies are the vendor's own shape, built by its
//! `routes.rs` with [`json`].

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Utc};
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

/// A `strftime` pattern parsed once: records carry several timestamps each, and parsing the
/// pattern per timestamp was a visible share of an emulator's time.
#[derive(Debug)]
pub struct TimeFormat {
    pattern: &'static str,
    items: OnceLock<Vec<Item<'static>>>,
}

impl TimeFormat {
    pub const fn new(pattern: &'static str) -> Self {
        Self { pattern, items: OnceLock::new() }
    }

    pub fn render(&self, t: DateTime<Utc>) -> String {
        let items = self.items.get_or_init(|| StrftimeItems::new(self.pattern).parse_to_owned().unwrap_or_default());
        t.format_with_items(items.iter()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats_render_as_strftime_does() {
        let t = DateTime::from_timestamp(1_704_067_200, 0).unwrap();
        for pattern in ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%.3f%z", "%a, %d %b %Y %H:%M:%S GMT"] {
            let format = TimeFormat::new(pattern);
            assert_eq!(format.render(t), t.format(pattern).to_string());
            assert_eq!(format.render(t), t.format(pattern).to_string(), "parsed once, rendered twice");
        }
    }

    #[test]
    fn forwarded_hosts_name_the_base() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9"));
        assert_eq!(base_url(&h), "http://127.0.0.1:9");
        h.insert("x-forwarded-host", HeaderValue::from_static("acme.zendesk.com"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(base_url(&h), "https://acme.zendesk.com");
        h.insert("x-forwarded-proto", HeaderValue::from_static("gopher"));
        assert_eq!(base_url(&h), "http://acme.zendesk.com");
    }
}
