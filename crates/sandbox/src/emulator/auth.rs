//! Credential checks as vendors do them: a Bearer (or `OAuth`) token, HTTP Basic, an API key in
//! a header, and the OAuth token endpoint's bookkeeping ([`Tokens`]: access tokens that expire,
//! refresh tokens that may rotate). Each vendor's `routes.rs` decides which it takes and answers a
//! refusal in its own shape.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use axum::extract::Request;
use axum::http::header;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};

/// The `Authorization` header's text, or `""`.
pub fn authorization(req: &Request) -> &str {
    req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The token of `Authorization: <scheme> <token>`, for any of `schemes` (`"Bearer"`, `"OAuth"`).
pub fn token<'a>(req: &'a Request, schemes: &[&str]) -> Option<&'a str> {
    let auth = authorization(req);
    schemes.iter().find_map(|s| auth.strip_prefix(s).and_then(|rest| rest.strip_prefix(' '))).map(str::trim)
}

/// `Authorization: Bearer <token>`.
pub fn bearer(req: &Request) -> Option<&str> {
    token(req, &["Bearer"])
}

/// The `user:password` of `Authorization: Basic ...`, decoded.
pub fn basic(req: &Request) -> Option<(String, String)> {
    let encoded = authorization(req).strip_prefix("Basic ")?;
    let text = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// An API key sent in its own header (`X-Keap-API-Key`, `apikey`, ...).
pub fn api_key<'a>(req: &'a Request, header_name: &str) -> Option<&'a str> {
    req.headers().get(header_name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// How refresh tokens behave when redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// A refresh token stays valid (Salesforce).
    Reusable,
    /// Each grant returns a new refresh token and invalidates the one redeemed (Keap).
    Rotating,
}

#[derive(Debug)]
struct Inner {
    /// Access token → expiry.
    access: HashMap<String, DateTime<Utc>>,
    refresh: HashSet<String>,
}

/// The token endpoint's state: issued access tokens with their expiry, and the valid refresh
/// tokens. Token texts are minted by the vendor (their shapes differ); this keeps the rules.
#[derive(Debug)]
pub struct Tokens {
    lifetime: Duration,
    refresh_mode: Refresh,
    inner: Mutex<Inner>,
}

impl Tokens {
    /// Access tokens live `lifetime`; `refresh_token` is the one valid refresh token to start with.
    pub fn new(lifetime: Duration, refresh_mode: Refresh, refresh_token: &str) -> Self {
        let inner = Inner { access: HashMap::new(), refresh: HashSet::from([refresh_token.to_owned()]) };
        Self { lifetime, refresh_mode, inner: Mutex::new(inner) }
    }

    /// A client-credentials endpoint's bookkeeping (Zuora): access tokens only, no refresh token
    /// to redeem.
    pub fn client_credentials(lifetime: Duration) -> Self {
        let inner = Inner { access: HashMap::new(), refresh: HashSet::new() };
        Self { lifetime, refresh_mode: Refresh::Reusable, inner: Mutex::new(inner) }
    }

    /// Issues `access` (valid from `now` for the lifetime) to a client whose credentials the
    /// endpoint checked.
    pub fn issue(&self, access: String, now: DateTime<Utc>) {
        self.lock().access.insert(access, now + self.lifetime);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long an access token stays valid.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Whether `refresh_token` may be redeemed now.
    pub fn refresh_valid(&self, refresh_token: &str) -> bool {
        self.lock().refresh.contains(refresh_token)
    }

    /// Redeems `refresh_token` for the access token `access` (valid from `now` for the lifetime).
    /// With [`Refresh::Rotating`], `next_refresh` replaces the redeemed token, which stops working.
    /// `false` (and nothing issued) when the refresh token is not valid.
    pub fn grant(&self, refresh_token: &str, access: String, next_refresh: Option<String>, now: DateTime<Utc>) -> bool {
        let mut inner = self.lock();
        if !inner.refresh.contains(refresh_token) {
            return false;
        }
        if self.refresh_mode == Refresh::Rotating {
            inner.refresh.remove(refresh_token);
            if let Some(next) = next_refresh {
                inner.refresh.insert(next);
            }
        }
        inner.access.insert(access, now + self.lifetime);
        true
    }

    /// Whether `access` was issued and has not expired at `now`.
    pub fn valid(&self, access: &str, now: DateTime<Utc>) -> bool {
        self.lock().access.get(access).is_some_and(|expiry| *expiry > now)
    }

    /// Expires every access token issued so far, as of `now` (refresh tokens stay valid).
    pub fn expire_all(&self, now: DateTime<Utc>) {
        for expiry in self.lock().access.values_mut() {
            *expiry = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(authorization: &str) -> Request {
        Request::builder().header(header::AUTHORIZATION, authorization).body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn schemes_are_read_as_sent() {
        assert_eq!(bearer(&request("Bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&request("Basic abc")), None);
        assert_eq!(token(&request("OAuth xyz"), &["Bearer", "OAuth"]), Some("xyz"));
        let b = format!("Basic {}", BASE64.encode("me@x.example/token:t0k:en"));
        assert_eq!(basic(&request(&b)), Some(("me@x.example/token".into(), "t0k:en".into())));
        assert_eq!(basic(&request("Basic !!")), None);
    }

    #[test]
    fn access_tokens_expire_and_reusable_refresh_tokens_stay() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let tokens = Tokens::new(Duration::hours(1), Refresh::Reusable, "r1");
        assert!(!tokens.grant("nope", "a0".into(), None, t0));
        assert!(tokens.grant("r1", "a1".into(), None, t0));
        assert!(tokens.valid("a1", t0 + Duration::minutes(59)));
        assert!(!tokens.valid("a1", t0 + Duration::hours(1)), "expired at its lifetime");
        assert!(!tokens.valid("a0", t0));
        assert!(tokens.grant("r1", "a2".into(), None, t0), "the refresh token is reusable");
        tokens.expire_all(t0);
        assert!(!tokens.valid("a2", t0));
    }

    #[test]
    fn client_credentials_tokens_expire_and_redeem_nothing() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let tokens = Tokens::client_credentials(Duration::hours(1));
        tokens.issue("a1".into(), t0);
        assert!(tokens.valid("a1", t0 + Duration::minutes(59)));
        assert!(!tokens.valid("a1", t0 + Duration::hours(1)));
        assert!(!tokens.refresh_valid("") && !tokens.grant("", "a2".into(), None, t0));
    }

    #[test]
    fn rotating_refresh_tokens_work_once() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let tokens = Tokens::new(Duration::hours(1), Refresh::Rotating, "r1");
        assert!(tokens.grant("r1", "a1".into(), Some("r2".into()), t0));
        assert!(!tokens.refresh_valid("r1"));
        assert!(!tokens.grant("r1", "a2".into(), Some("r3".into()), t0), "a redeemed token is spent");
        assert!(tokens.grant("r2", "a3".into(), Some("r3".into()), t0));
        assert!(tokens.valid("a1", t0) && tokens.valid("a3", t0) && !tokens.valid("a2", t0));
    }
}
