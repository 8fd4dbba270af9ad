//! Who is signed in, and what they may do.
//!
//! - Passwords are hashed with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes) and
//!   verified against the stored PHC string; an unknown user costs the same hash, so timing does
//!   not tell which names exist.
//! - A session is a random 256-bit token in an `HttpOnly; SameSite=Strict` cookie; the store keeps
//!   only its BLAKE3 hash, so the session survives a restart and works across processes sharing
//!   one database. `Secure` is added when the request came through HTTPS (`X-Forwarded-Proto:
//!   https` from the TLS proxy in front): accord itself serves plain HTTP, typically on loopback.
//! - Every form carries a CSRF token derived from the session token (from a sign-in cookie on the
//!   sign-in form), compared in constant time on every POST.
//! - Failed sign-ins are stored per user name: after `MAX_FAILURES` within `FAILURE_WINDOW_MS`
//!   the name is refused, right password or not, until the oldest failure leaves the window.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use subtle::ConstantTimeEq;

use crate::form::Pairs;
use crate::{Web, WebError};

/// What a web user may do. Each role may do everything the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads every page.
    Viewer,
    /// Also retries rejections, deactivates and restores accounts, and runs syncs.
    Operator,
    /// Also manages web users.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn code(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

pub const SESSION_COOKIE: &str = "accord_session";
/// Holds the CSRF seed of the sign-in form, before there is a session.
pub const SIGNIN_COOKIE: &str = "accord_signin";
/// How long a session lasts after sign-in.
pub const SESSION_MS: i64 = 12 * 3_600_000;
/// Failed sign-ins of one user name allowed within the window.
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW_MS: i64 = 15 * 60_000;
/// The shortest password `accord user add|passwd` and the users page accept.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Hashes a password with argon2id and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::PasswordHasher;
    let salt = argon2::password_hash::SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| format!("cannot make a salt: {e}"))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether a password matches a stored hash (false for an unreadable hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::password_hash::PasswordHash::new(hash)
        .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Why a password is refused, if it is.
pub fn password_problem(password: &str) -> Option<String> {
    (password.chars().count() < MIN_PASSWORD_LEN)
        .then(|| format!("the password must have at least {MIN_PASSWORD_LEN} characters"))
}

/// A fresh random token (256 bits, hex).
pub fn new_token() -> String {
    hex(&rand::random::<[u8; 32]>())
}

/// What the store keeps of a session token.
pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// The CSRF token of a session (or sign-in) token: derived, so it needs no storage.
pub fn csrf_token(token: &str) -> String {
    hex(&blake3::derive_key("accord web csrf token v1", token.as_bytes())[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn same(a: &str, b: &str) -> bool {
    blake3::hash(a.as_bytes()).as_bytes().ct_eq(blake3::hash(b.as_bytes()).as_bytes()).into()
}

/// A cookie of the request, by name.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether the request reached the proxy in front of accord over HTTPS.
pub fn is_https(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure behind HTTPS; `max_age` 0
/// removes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("accord_invalid=; Max-Age=0"))
}

/// A signed-in user, read from the session cookie (and the user's current role in the store).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: String,
    pub role: Role,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    pub(crate) token_hash: String,
}

impl SignedIn {
    /// Refuses the request unless the user's role is at least `role`.
    pub fn require(&self, role: Role, action: &str) -> Result<(), WebError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(WebError::Forbidden(format!(
                "{action} needs the {role} role; {} is a {}: ask an admin (`accord user add NAME --role {role}`)",
                self.user, self.role
            )))
        }
    }

    pub fn can(&self, role: Role) -> bool {
        self.role >= role
    }

    /// Checks the form's CSRF token against this session's.
    pub fn check_csrf(&self, form: &Pairs) -> Result<(), WebError> {
        check_csrf(form, &self.csrf)
    }
}

/// Checks a form's `csrf` field against the expected token, in constant time.
pub fn check_csrf(form: &Pairs, expected: &str) -> Result<(), WebError> {
    match form.get("csrf") {
        Some(presented) if same(presented, expected) => Ok(()),
        _ => Err(WebError::Csrf),
    }
}

impl FromRequestParts<Web> for SignedIn {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Self::Rejection> {
        let next = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let next = if parts.method == axum::http::Method::GET { next } else { "/".into() };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(WebError::SignIn { next }) };
        let hash = token_hash(&token);
        let found = web
            .blocking(move |hub| {
                let now = chrono::Utc::now().timestamp_millis();
                let Some(session) = hub.store.web_session(&hash, now)? else { return Ok(None) };
                let user = hub.store.web_user(&session.user_name)?;
                Ok(user.map(|u| (u, hash)))
            })
            .await?;
        let Some((user, token_hash)) = found else { return Err(WebError::SignIn { next }) };
        let role = Role::from_code(&user.role)
            .ok_or_else(|| WebError::Internal(format!("user {:?} has an unknown role {:?}", user.name, user.role)))?;
        Ok(SignedIn { user: user.name, role, csrf: csrf_token(&token), token_hash })
    }
}

/// The answer to a sign-in attempt.
#[derive(Debug)]
pub enum SignIn {
    /// The new session's token, for the cookie.
    Ok {
        token: String,
    },
    Wrong,
    /// Too many failures: refused for this many more minutes.
    Locked {
        minutes: i64,
    },
}

/// Checks a user name and password (blocking: argon2 and the store), applying the rate limit, and
/// opens a session on success.
pub fn sign_in(store: &dyn accord_store::Store, name: &str, password: &str, now_ms: i64) -> Result<SignIn, WebError> {
    let failures = store.web_signin_failures(name, now_ms - FAILURE_WINDOW_MS)?;
    if failures.len() >= MAX_FAILURES {
        let oldest = failures[failures.len() - MAX_FAILURES];
        let minutes = ((oldest + FAILURE_WINDOW_MS - now_ms) as f64 / 60_000.0).ceil().max(1.0) as i64;
        return Ok(SignIn::Locked { minutes });
    }
    let user = store.web_user(name)?;
    // An unknown name is checked against a hash of its own, so it takes as long as a known one.
    static UNKNOWN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let unknown = UNKNOWN.get_or_init(|| hash_password(&new_token()).unwrap_or_default());
    let hash = user.as_ref().map_or(unknown.as_str(), |u| u.password_hash.as_str());
    let ok = verify_password(password, hash) && user.is_some();
    if !ok {
        store.web_signin_failed(name, now_ms, now_ms - FAILURE_WINDOW_MS)?;
        return Ok(SignIn::Wrong);
    }
    store.web_clear_signin_failures(name)?;
    let token = new_token();
    let now = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    store.web_put_session(&accord_store::WebSession {
        token_hash: token_hash(&token),
        user_name: name.to_owned(),
        created_at: now,
        expires_at: now + chrono::Duration::milliseconds(SESSION_MS),
    })?;
    Ok(SignIn::Ok { token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_as_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
        assert_eq!(Role::from_code("operator"), Some(Role::Operator));
        assert_eq!(Role::from_code("root"), None);
    }

    #[test]
    fn cookies_are_read_by_name_and_set_strictly() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; accord_session=tok; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "c"), None);
        let v = set_cookie(SESSION_COOKIE, "tok", 60, false);
        assert_eq!(v.to_str().unwrap(), "accord_session=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=60");
        assert!(set_cookie(SESSION_COOKIE, "tok", 60, true).to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn csrf_tokens_depend_on_the_session() {
        assert_ne!(csrf_token("a"), csrf_token("b"));
        let form = Pairs(vec![("csrf".into(), csrf_token("a"))]);
        assert!(check_csrf(&form, &csrf_token("a")).is_ok());
        assert!(check_csrf(&form, &csrf_token("b")).is_err());
        assert!(check_csrf(&Pairs::default(), &csrf_token("a")).is_err());
    }
}
