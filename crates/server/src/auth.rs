//! Authentication. The Account API takes `?api_key=KEY` or HTTP Basic with user `api` and the key
//! as password; the Event API takes its two keys in the path. Keys are compared in constant time
//! (as fixed-length BLAKE3 digests, so not even the length leaks), and a wrong key is answered
//! without saying which part was wrong.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use subtle::ConstantTimeEq;

use accord_core::secret::SecretString;

use crate::error::ApiError;
use crate::state::{AppState, EventKeys};

/// Constant-time equality of a presented secret and the configured one.
pub fn secret_eq(presented: &str, expected: &str) -> bool {
    let a = blake3::hash(presented.as_bytes());
    let b = blake3::hash(expected.as_bytes());
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Proof that the request carried the Account API key.
#[derive(Debug, Clone, Copy)]
pub struct ApiKey;

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let presented = query_key(parts.uri.query()).or_else(|| basic_key(parts));
        let Some(presented) = presented else {
            return Err(ApiError::Unauthorized(
                "missing API key: pass ?api_key=KEY or HTTP Basic auth with user \"api\" and the key as password"
                    .into(),
            ));
        };
        if secret_eq(&presented, state.inner().api_key.expose()) { Ok(ApiKey) } else { Err(ApiError::Forbidden) }
    }
}

/// Whether a request may read `GET /metrics`: always when it has no key of its own; otherwise with
/// `Authorization: Bearer KEY` (Prometheus `bearer_token`) or HTTP Basic with the key as password
/// (Prometheus `basic_auth`, any user name).
pub fn metrics_allowed(headers: &axum::http::HeaderMap, key: Option<&SecretString>) -> Result<(), ApiError> {
    let Some(key) = key else { return Ok(()) };
    let header = headers.get(axum::http::header::AUTHORIZATION).and_then(|h| h.to_str().ok());
    let presented = header.and_then(|h| {
        let bearer = h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "));
        bearer.map(|t| t.trim().to_owned()).or_else(|| basic_credentials(h).map(|(_, password)| password))
    });
    match presented {
        None => Err(ApiError::Unauthorized(
            "missing metrics key: send Authorization: Bearer KEY, or HTTP Basic auth with the key as password".into(),
        )),
        Some(p) if secret_eq(&p, key.expose()) => Ok(()),
        Some(_) => Err(ApiError::Forbidden),
    }
}

fn query_key(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "api_key")
        .map(|(_, v)| percent_decode(v))
        .filter(|v| !v.is_empty())
}

fn basic_key(parts: &Parts) -> Option<String> {
    let header = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (user, password) = basic_credentials(header)?;
    (user == "api").then_some(password)
}

/// The user and non-empty password of an HTTP Basic `Authorization` header.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let encoded = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    (!password.is_empty()).then(|| (user.to_owned(), password.to_owned()))
}

/// Percent-decoding of a query value. `+` stays a plus: keys may contain it.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The event source whose key pair is in the path (`/v1/{auth_key}/{api_key}`), checked from the
/// request head, before the body is read or decompressed.
#[derive(Debug, Clone)]
pub struct EventSource(pub String);

impl FromRequestParts<AppState> for EventSource {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let crate::extract::Path((auth_key, api_key)) =
            crate::extract::Path::<(String, String)>::from_request_parts(parts, state).await?;
        event_source(&state.inner().event_keys, &auth_key, &api_key)
            .map(|k| EventSource(k.source.clone()))
            .ok_or(ApiError::Forbidden)
    }
}

/// Finds the event source whose key pair matches, comparing every pair in constant time.
pub fn event_source<'a>(keys: &'a [EventKeys], auth_key: &str, api_key: &str) -> Option<&'a EventKeys> {
    let mut found = None;
    for k in keys {
        let ok = secret_eq(auth_key, k.auth_key.expose()) & secret_eq(api_key, k.api_key.expose());
        if ok && found.is_none() {
            found = Some(k);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_exactly() {
        assert!(secret_eq("abc", "abc"));
        assert!(!secret_eq("abc", "abd"));
        assert!(!secret_eq("abc", "abcd"));
        assert!(!secret_eq("", "abc"));
    }

    #[test]
    fn query_keys_are_decoded() {
        assert_eq!(query_key(Some("page=0&api_key=a%2Bb%3D")).as_deref(), Some("a+b="));
        assert_eq!(query_key(Some("api_key=")), None);
        assert_eq!(query_key(Some("page=1")), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
