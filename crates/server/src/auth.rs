//! Authentication. The Account API takes `?api_key=KEY` or HTTP Basic with user `api` and the key
//! as password; the Event API takes its two keys in the path. Keys are compared in constant time
//! (as fixed-length BLAKE3 digests, so not even the length leaks), and a wrong key is answered
//! without saying which part was wrong.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use subtle::ConstantTimeEq;

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
    let encoded = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    (user == "api" && !password.is_empty()).then(|| password.to_owned())
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
