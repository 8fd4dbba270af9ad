//! One HTTP client per source: authentication (with OAuth2 refresh and token caching), the rate
//! limiter, and retries of 429s, 5xx, timeouts, dropped connections and truncated bodies, with
//! jittered exponential backoff and a cap. Vendors differ only in how they say "slow down" and
//! "this token expired", which they describe through `Vendor`.
//!
//! A data request is built only once the base URL is known: for a vendor that names its API host
//! in the token response (Salesforce's `instance_url`), the token comes first. Redirects are not
//! followed, and a redirect or an HTML page where JSON was expected is an error naming the host and
//! the status: both mean the request went to the wrong host.

use std::sync::Arc;
use std::time::Duration;

use accord_core::secret::SecretString;
use chrono::{DateTime, Utc};
use rand::RngExt;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::RwLock;
use tokio::time::Instant;

use super::limiter::Limiter;
use super::rotation::TokenFile;
use crate::ConnectorError;

/// A request, serializable so a cursor can hold the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestSpec {
    /// `GET` or `POST`.
    pub method: String,
    /// A path relative to the source's base URL, or an absolute URL (next-page links).
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A form-encoded body instead of JSON (Stripe's writes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub form: Vec<(String, String)>,
    /// Headers of this request only (Stripe's `Idempotency-Key`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// A body that is neither JSON nor a form: `(content type, text)` (Braintree's XML
    /// gateway takes `application/xml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<(String, String)>,
}

impl RequestSpec {
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: "GET".into(),
            path: path.into(),
            query: Vec::new(),
            body: None,
            form: Vec::new(),
            headers: Vec::new(),
            text: None,
        }
    }

    pub fn post(path: impl Into<String>, body: Value) -> Self {
        Self { body: Some(body), ..Self::get(path).with_method("POST") }
    }

    /// A write: `PUT`, `PATCH` or `POST` with a JSON body.
    pub fn with_body(method: &str, path: impl Into<String>, body: Value) -> Self {
        Self { body: Some(body), ..Self::get(path).with_method(method) }
    }

    /// A form-encoded write (`application/x-www-form-urlencoded`), as Stripe takes them.
    pub fn form(method: &str, path: impl Into<String>, fields: Vec<(String, String)>) -> Self {
        Self { form: fields, ..Self::get(path).with_method(method) }
    }

    /// A request with a text body of `content_type` (an XML document).
    pub fn text(method: &str, path: impl Into<String>, content_type: &str, body: impl Into<String>) -> Self {
        Self { text: Some((content_type.to_owned(), body.into())), ..Self::get(path).with_method(method) }
    }

    fn with_method(mut self, method: &str) -> Self {
        self.method = method.to_owned();
        self
    }

    /// Adds a header to this request only.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.retain(|(n, _)| n != name);
        self.query.push((name.to_owned(), value.into()));
        self
    }
}

/// How a source authenticates. Its `Debug` shows the method and the names it sends, never a
/// credential (a Basic user is often an API key).
#[derive(Clone)]
pub enum Auth {
    /// No credentials (an open API, or one reached through a network that authenticates).
    None,
    /// A header holding the key (e.g. `X-Api-Key`).
    Header {
        name: String,
        value: SecretString,
    },
    /// A query parameter holding the key.
    Query {
        name: String,
        value: SecretString,
    },
    Basic {
        user: String,
        password: SecretString,
    },
    Bearer(SecretString),
    /// OAuth2 refresh-token flow; the access token is cached until the vendor rejects it.
    OAuth2 {
        token_url: String,
        client_id: SecretString,
        client_secret: SecretString,
        refresh_token: SecretString,
    },
    /// OAuth2 refresh-token flow where every grant returns a new refresh token and the redeemed
    /// one stops working (Keap): the current one is kept in a [`TokenFile`], saved as soon as a
    /// grant returns it.
    OAuth2Rotating {
        token_url: String,
        client_id: SecretString,
        client_secret: SecretString,
        tokens: Arc<TokenFile>,
    },
    /// OAuth2 client credentials (Zuora): the id and secret buy an access token, which is kept
    /// until shortly before its `expires_in` runs out or until the vendor rejects it (a 401),
    /// then bought again. There is no refresh token.
    OAuth2ClientCredentials {
        token_url: String,
        client_id: SecretString,
        client_secret: SecretString,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("Auth::None"),
            Auth::Header { name, .. } => f.debug_struct("Auth::Header").field("name", name).finish_non_exhaustive(),
            Auth::Query { name, .. } => f.debug_struct("Auth::Query").field("name", name).finish_non_exhaustive(),
            Auth::Basic { .. } => f.write_str("Auth::Basic([redacted])"),
            Auth::Bearer(_) => f.write_str("Auth::Bearer([redacted])"),
            Auth::OAuth2 { token_url, .. } => {
                f.debug_struct("Auth::OAuth2").field("token_url", token_url).finish_non_exhaustive()
            }
            Auth::OAuth2Rotating { token_url, .. } => {
                f.debug_struct("Auth::OAuth2Rotating").field("token_url", token_url).finish_non_exhaustive()
            }
            Auth::OAuth2ClientCredentials { token_url, .. } => {
                f.debug_struct("Auth::OAuth2ClientCredentials").field("token_url", token_url).finish_non_exhaustive()
            }
        }
    }
}

/// What a response means.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Ok,
    /// Slow down: wait this long (from Retry-After or a reset time), then retry.
    RateLimited(Duration),
    /// The access token expired: refresh and retry once.
    AuthExpired,
    /// A passing failure: retry with backoff.
    Transient(String),
    /// The request will not succeed by retrying.
    Fatal(String),
}

/// What differs between vendors' HTTP behaviour.
pub trait Vendor: Send + Sync + std::fmt::Debug {
    /// Reads a response's status, headers and body. The default follows HTTP: 2xx ok, 429 with
    /// `Retry-After`, 401 expired auth, 408/5xx transient, other 4xx fatal.
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        default_verdict(status, headers, body)
    }

    /// When a successful response says the quota is spent, the instant it refills.
    fn quota_exhausted_until(&self, _headers: &HeaderMap) -> Option<Duration> {
        None
    }

    /// Refuses, before it is sent, a request the vendor's budget cannot pay for (Xero's day of
    /// calls, spent): the reason, which ends the request with an error and sends nothing.
    fn before_send(&self, _req: &RequestSpec) -> Result<(), String> {
        Ok(())
    }

    /// The base URL learned from an OAuth2 token response (Salesforce's `instance_url`): `Ok(None)`
    /// keeps the configured base, `Err` says what the response lacks.
    fn base_url_from_token(&self, _token: &Value) -> Result<Option<String>, String> {
        Ok(None)
    }

    /// Reads a successful answer that is not JSON (Braintree's XML gateway) as a JSON value:
    /// `None` leaves it to the JSON parser, `Err` says why it cannot be read (a passing failure,
    /// like a cut JSON body).
    fn decode(&self, _headers: &HeaderMap, _body: &[u8]) -> Option<Result<Value, String>> {
        None
    }
}

pub fn default_verdict(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
    if status.is_success() {
        return Verdict::Ok;
    }
    match status.as_u16() {
        429 => Verdict::RateLimited(retry_after(headers).unwrap_or(Duration::from_secs(1))),
        401 => Verdict::AuthExpired,
        408 | 500..=599 => Verdict::Transient(format!("HTTP {status}")),
        _ => Verdict::Fatal(format!("HTTP {status}: {}", excerpt(body))),
    }
}

/// `Retry-After` in seconds (the form the vendors here use).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?.trim().parse::<f64>().ok()?;
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v.min(3600.0)))
}

/// A reset time given as a Unix timestamp (seconds), as a duration from now.
pub fn until_epoch(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let reset: i64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
    let now = chrono::Utc::now().timestamp();
    Some(Duration::from_secs(u64::try_from(reset - now).unwrap_or(0).min(3600)))
}

pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    if body.len() > 300 { format!("{text}…") } else { text }
}

/// Retry limits.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Transient failures retried per request before giving up.
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Rate-limit answers tolerated per request before giving up.
    pub max_rate_limited: u32,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 8,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            max_rate_limited: 50,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Counters of one fetch, reported with the page.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchStats {
    pub requests: u64,
    pub retries: u64,
    pub rate_limit_waits: u64,
}

/// A JSON answer and the server's clock when it answered (its `Date` header).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Value,
    /// The server's time from `Date`, when the answer had a readable one. Windows the vendor
    /// computes on its own clock (Salesforce's `getDeleted`) are asked in this time.
    pub server_time: Option<DateTime<Utc>>,
    /// The URL of the `Link` header's `rel="next"` entry, when the answer has one (Freshdesk,
    /// Capsule): read by [`Paginator::LinkHeader`](super::Paginator::LinkHeader).
    pub next_link: Option<String>,
}

/// A request the vendor refused for good (a 4xx other than 401 and 429): the status and the
/// vendor's error body, for callers that act on a specific error code.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub body: String,
    /// The refusal described for a person, with the host and path.
    pub message: String,
}

/// A source's HTTP client.
#[derive(Debug)]
pub struct HttpClient {
    http: reqwest::Client,
    base_url: RwLock<String>,
    auth: Auth,
    token: RwLock<Option<SecretString>>,
    /// When the cached token stops being used: its `expires_in` less a margin (`None`: until
    /// the vendor rejects it).
    token_deadline: std::sync::Mutex<Option<Instant>>,
    limiter: Arc<Limiter>,
    retry: RetryPolicy,
    vendor: Box<dyn Vendor>,
    extra_headers: Vec<(String, String)>,
}

impl HttpClient {
    pub fn new(
        base_url: String,
        auth: Auth,
        limiter: Limiter,
        retry: RetryPolicy,
        vendor: Box<dyn Vendor>,
        extra_headers: Vec<(String, String)>,
    ) -> Result<Self, ConnectorError> {
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .connect_timeout(Duration::from_secs(10))
            .gzip(true)
            // A redirect means the base URL is wrong (or a login page answers): say so rather
            // than follow it to a host the credentials were not meant for.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConnectorError::Fatal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url: RwLock::new(base_url.trim_end_matches('/').to_owned()),
            auth,
            token: RwLock::new(None),
            token_deadline: std::sync::Mutex::new(None),
            limiter: Arc::new(limiter),
            retry,
            vendor,
            extra_headers,
        })
    }

    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    async fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!(
                "{}{}",
                self.base_url.read().await,
                if path.starts_with('/') { path.to_owned() } else { format!("/{path}") }
            )
        }
    }

    /// Fetches a JSON document, retrying what can be retried. Never logs secrets.
    pub async fn fetch(&self, req: &RequestSpec, stats: &mut FetchStats) -> Result<Value, ConnectorError> {
        Ok(self.fetch_page(req, stats).await?.body)
    }

    /// Fetches a JSON document with the server's time of the answer.
    pub async fn fetch_page(&self, req: &RequestSpec, stats: &mut FetchStats) -> Result<Fetched, ConnectorError> {
        match self.fetch_or_refusal(req, stats).await? {
            Ok(fetched) => Ok(fetched),
            Err(refusal) => Err(ConnectorError::Fatal(refusal.message)),
        }
    }

    /// Like `fetch_page`, but a request the vendor refuses for good comes back as a `Refusal`
    /// (status and body) rather than an error, for callers that act on a specific error code.
    pub async fn fetch_or_refusal(
        &self,
        req: &RequestSpec,
        stats: &mut FetchStats,
    ) -> Result<Result<Fetched, Refusal>, ConnectorError> {
        let mut transient = 0u32;
        let mut limited = 0u32;
        let mut refreshed = false;
        loop {
            self.vendor.before_send(req).map_err(ConnectorError::Fatal)?;
            if self.limiter.acquire().await {
                stats.rate_limit_waits += 1;
            }
            stats.requests += 1;
            let (url, sent) = match self.send_once(req).await {
                Ok(sent) => sent,
                Err(SendError::Fatal(why)) => return Err(ConnectorError::Fatal(why)),
                Err(SendError::Transient { url, why }) => (url, Err(why)),
            };
            let target = Target::of(&req.method, &url);
            let verdict = match sent {
                Ok((status, headers, _)) if status.is_redirection() => {
                    return Err(ConnectorError::Fatal(redirect_message(&target, status, &headers)));
                }
                Ok((status, headers, body)) => {
                    let server_time = date_header(&headers);
                    match self.vendor.classify(status, &headers, &body) {
                        Verdict::Ok if is_html(&headers, &body) => {
                            return Err(ConnectorError::Fatal(format!(
                                "{target} answered HTTP {status} with an HTML page, not JSON: the request went to \
                                 a host that does not serve this API (check the source's URL)"
                            )));
                        }
                        Verdict::Ok => match self.vendor.decode(&headers, &body).unwrap_or_else(|| {
                            serde_json::from_slice::<Value>(&body)
                                .map_err(|e| format!("the response body is not complete JSON: {e}"))
                        }) {
                            Ok(v) => {
                                if let Some(wait) = self.vendor.quota_exhausted_until(&headers) {
                                    self.limiter.pause_until(Instant::now() + wait).await;
                                }
                                let next_link = link_next(&headers);
                                return Ok(Ok(Fetched { body: v, server_time, next_link }));
                            }
                            Err(e) => Verdict::Transient(e),
                        },
                        Verdict::Fatal(why) => {
                            return Ok(Err(Refusal {
                                status,
                                body: String::from_utf8_lossy(&body).into_owned(),
                                message: format!("{target}: {why}"),
                            }));
                        }
                        other => other,
                    }
                }
                Err(e) => Verdict::Transient(e),
            };
            match verdict {
                Verdict::Ok | Verdict::Fatal(_) => unreachable!("handled above"),
                Verdict::RateLimited(wait) => {
                    limited += 1;
                    stats.rate_limit_waits += 1;
                    if limited > self.retry.max_rate_limited {
                        return Err(ConnectorError::Fatal(format!(
                            "{target}: still rate limited after {limited} waits"
                        )));
                    }
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "rate limited by the vendor");
                    self.limiter.pause_until(Instant::now() + wait).await;
                }
                Verdict::AuthExpired if !refreshed && self.is_oauth() => {
                    refreshed = true;
                    *self.token.write().await = None;
                }
                Verdict::AuthExpired => {
                    return Err(ConnectorError::Fatal(format!(
                        "{target}: the vendor refused the credentials (HTTP 401)"
                    )));
                }
                Verdict::Transient(why) => {
                    transient += 1;
                    stats.retries += 1;
                    if transient > self.retry.max_retries {
                        return Err(ConnectorError::Fatal(format!(
                            "{target}: gave up after {} retries: {why}",
                            transient - 1
                        )));
                    }
                    let delay = self.backoff(transient);
                    tracing::debug!(attempt = transient, delay_ms = delay.as_millis() as u64, %why, "retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.retry.base_delay.saturating_mul(1u32 << attempt.min(16).saturating_sub(1));
        let capped = exp.min(self.retry.max_delay);
        // Full jitter between half and all of the delay: retries of many clients spread out.
        let factor: f64 = rand::rng().random_range(0.5..=1.0);
        capped.mul_f64(factor)
    }

    /// Sends a request once: the URL it went to, and the answer or why none came.
    async fn send_once(&self, req: &RequestSpec) -> Result<(String, Result<Response, String>), SendError> {
        let method = Method::from_bytes(req.method.as_bytes())
            .map_err(|e| SendError::Fatal(format!("{:?} is not an HTTP method: {e}", req.method)))?;
        // Authenticate first: the token response may name the API host (Salesforce's
        // `instance_url`), and a URL built before it would go to the login host.
        let bearer = if self.is_oauth() { Some(self.access_token().await?) } else { None };
        let url = self.url(&req.path).await;
        let mut builder = self.http.request(method, &url).query(&req.query);
        for (k, v) in &self.extra_headers {
            builder = builder.header(k, v);
        }
        builder = match &self.auth {
            Auth::None => builder,
            Auth::Header { name, value } => builder.header(name, value.expose()),
            Auth::Query { name, value } => builder.query(&[(name, value.expose())]),
            Auth::Basic { user, password } => builder.basic_auth(user, Some(password.expose())),
            Auth::Bearer(token) => builder.bearer_auth(token.expose()),
            Auth::OAuth2 { .. } | Auth::OAuth2Rotating { .. } | Auth::OAuth2ClientCredentials { .. } => match &bearer {
                Some(token) => builder.bearer_auth(token.expose()),
                None => builder,
            },
        };
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        if let Some(body) = &req.body {
            builder = builder.json(body);
        } else if !req.form.is_empty() {
            builder = builder.form(&req.form);
        } else if let Some((content_type, text)) = &req.text {
            builder = builder.header(reqwest::header::CONTENT_TYPE, content_type).body(text.clone());
        }
        let resp = match builder.send().await {
            Ok(resp) => resp,
            Err(e) => return Ok((url, Err(describe(e)))),
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = match resp.bytes().await {
            Ok(body) => body,
            Err(e) => {
                return Ok((url, Err(format!("the connection dropped while reading the body: {}", describe(e)))));
            }
        };
        Ok((url, Ok((status, headers, body.to_vec()))))
    }

    /// The cached OAuth2 access token, refreshed when missing. A token endpoint that cannot be
    /// reached is a passing failure; one that answers with a refusal or an unusable body is not.
    fn is_oauth(&self) -> bool {
        matches!(self.auth, Auth::OAuth2 { .. } | Auth::OAuth2Rotating { .. } | Auth::OAuth2ClientCredentials { .. })
    }

    /// The cached token has passed its deadline (its `expires_in` less a margin).
    fn token_expired(&self) -> bool {
        let deadline = *self.token_deadline.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        deadline.is_some_and(|d| Instant::now() >= d)
    }

    async fn access_token(&self) -> Result<SecretString, SendError> {
        if let Some(t) = self.token.read().await.clone().filter(|_| !self.token_expired()) {
            return Ok(t);
        }
        let mut slot = self.token.write().await;
        if let Some(t) = slot.clone().filter(|_| !self.token_expired()) {
            return Ok(t);
        }
        let (token_url, client_id, client_secret, refresh_token, rotating) = match &self.auth {
            Auth::OAuth2 { token_url, client_id, client_secret, refresh_token } => {
                (token_url, client_id, client_secret, Some(refresh_token.clone()), None)
            }
            Auth::OAuth2Rotating { token_url, client_id, client_secret, tokens } => {
                (token_url, client_id, client_secret, Some(tokens.current().map_err(SendError::Fatal)?), Some(tokens))
            }
            Auth::OAuth2ClientCredentials { token_url, client_id, client_secret } => {
                (token_url, client_id, client_secret, None, None)
            }
            _ => return Err(SendError::Fatal("not an OAuth2 source".into())),
        };
        let form: Vec<(&str, &str)> = match &refresh_token {
            Some(refresh) => vec![
                ("grant_type", "refresh_token"),
                ("client_id", client_id.expose()),
                ("client_secret", client_secret.expose()),
                ("refresh_token", refresh.expose()),
            ],
            None => vec![
                ("grant_type", "client_credentials"),
                ("client_id", client_id.expose()),
                ("client_secret", client_secret.expose()),
            ],
        };
        // The token endpoint counts against the same quota as data calls.
        self.limiter.acquire().await;
        let target = Target::of("POST", token_url);
        let transient = |why: String| SendError::Transient { url: token_url.clone(), why };
        let resp = self.http.post(token_url).form(&form).send().await.map_err(|e| transient(describe(e)))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| {
            transient(format!("the connection dropped while reading the token response: {}", describe(e)))
        })?;
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(transient(format!("the token endpoint answered HTTP {status}")));
        }
        if status.is_redirection() {
            return Err(SendError::Fatal(redirect_message(&target, status, &headers)));
        }
        if is_html(&headers, &bytes) {
            return Err(SendError::Fatal(format!(
                "{target} answered HTTP {status} with an HTML page, not a token: check the login URL"
            )));
        }
        // Unreadable JSON is most likely a cut connection: retried like a truncated data answer.
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|e| transient(format!("the token response (HTTP {status}) is not complete JSON: {e}")))?;
        if !status.is_success() {
            let error = body.get("error").and_then(Value::as_str).unwrap_or("unknown error");
            let hint = rotating.map_or_else(String::new, |t| {
                format!(
                    "; the refresh token came from {} (or the config): authorize again and put the new refresh token in the config",
                    t.path().display()
                )
            });
            return Err(SendError::Fatal(format!(
                "{target}: the OAuth2 token refresh failed (HTTP {status}: {error}){hint}"
            )));
        }
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| SendError::Fatal(format!("{target}: the token response has no access_token")))?
            .to_owned();
        match self.vendor.base_url_from_token(&body) {
            Ok(Some(base)) => *self.base_url.write().await = base.trim_end_matches('/').to_owned(),
            Ok(None) => {}
            Err(why) => return Err(SendError::Fatal(format!("{target}: {why}"))),
        }
        if let Some(tokens) = rotating {
            // The redeemed token is dead now: keep its successor before anything else happens.
            let next =
                body.get("refresh_token").and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or_else(|| {
                    SendError::Fatal(format!(
                        "{target}: the token response has no refresh_token, and this vendor's refresh tokens rotate"
                    ))
                })?;
            if let Err(why) = tokens.save(&SecretString::new(next)) {
                // This process goes on with the new token; the next grant tries to save again.
                tracing::error!(%why, "the rotated refresh token is only in memory: fix the file before this process ends");
            }
        }
        // `expires_in` (seconds): the token is bought again a little before it runs out, so a
        // request in flight does not carry one that dies on the way (a 401 still buys a new one).
        let deadline = body.get("expires_in").and_then(Value::as_u64).map(|secs| {
            let margin = (secs / 10).clamp(1, 60);
            Instant::now() + Duration::from_secs(secs.saturating_sub(margin))
        });
        *self.token_deadline.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = deadline;
        let token = SecretString::new(token);
        *slot = Some(token.clone());
        Ok(token)
    }
}

type Response = (StatusCode, HeaderMap, Vec<u8>);

/// Why a request got no answer to classify.
#[derive(Debug)]
enum SendError {
    /// Retrying cannot help (a token endpoint refusing the credentials, a bad method).
    Fatal(String),
    /// A passing failure before any answer (the token endpoint unreachable).
    Transient { url: String, why: String },
}

/// A request named for error messages: method, scheme, host and path, never the query (which may
/// hold a key).
struct Target(String);

impl Target {
    fn of(method: &str, url: &str) -> Self {
        let without_query = url.split(['?', '#']).next().unwrap_or(url);
        Target(format!("{method} {without_query}"))
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn redirect_message(target: &Target, status: StatusCode, headers: &HeaderMap) -> String {
    let location = headers.get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("nowhere");
    let location = Target::of("", location).0.trim_start().to_owned();
    format!(
        "{target} answered HTTP {status}, a redirect to {location}: redirects are not followed, since they mean \
         the request went to the wrong host (check the source's URL)"
    )
}

/// The answer is a web page: its content type says so, or its body starts like one.
fn is_html(headers: &HeaderMap, body: &[u8]) -> bool {
    let typed = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let start = body.iter().position(|b| !b.is_ascii_whitespace()).map(|i| &body[i..]).unwrap_or_default();
    typed || start.starts_with(b"<!") || start.to_ascii_lowercase().starts_with(b"<html")
}

/// The target of the `rel="next"` entry of the `Link` headers (RFC 8288:
/// `<https://h/x?page=2>; rel="next", <...>; rel="last"`), whatever the order of entries and
/// parameters, and however many `Link` headers there are.
pub fn link_next(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        let mut rest = text;
        while let Some(open) = rest.find('<') {
            let Some(close) = rest[open..].find('>').map(|c| open + c) else { break };
            let target = rest[open + 1..close].trim();
            // The entry's parameters run to the next entry's `<`.
            let params_end = rest[close..].find('<').map_or(rest.len(), |n| close + n);
            let params = &rest[close + 1..params_end];
            let is_next = params.split(';').any(|p| {
                let p = p.trim().trim_end_matches(',').trim();
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("rel")
                        && v.trim().trim_matches('"').split_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
                })
            });
            if is_next && !target.is_empty() {
                return Some(target.to_owned());
            }
            rest = &rest[params_end..];
        }
    }
    None
}

/// The server's clock from an HTTP `Date` header (`Tue, 15 Nov 1994 08:12:31 GMT`).
pub(crate) fn date_header(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let text = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(text.trim()).ok().map(|t| t.with_timezone(&Utc))
}

fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".into()
    } else if e.is_connect() {
        format!("cannot connect: {e}")
    } else {
        // reqwest errors carry the URL; ours never hold secrets in URLs except query-key auth,
        // which we strip here.
        e.without_url().to_string()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[derive(Debug)]
    struct Plain;
    impl Vendor for Plain {}

    /// Serves `response` (a raw HTTP/1.1 answer) to every connection; returns the base URL.
    async fn canned(response: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = vec![0u8; 8192];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => read += n,
                    }
                }
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        base
    }

    fn client(base: &str) -> HttpClient {
        let retry = RetryPolicy { max_retries: 1, base_delay: Duration::from_millis(1), ..RetryPolicy::default() };
        HttpClient::new(
            base.to_owned(),
            Auth::Header { name: "X-Key".into(), value: SecretString::new("k") },
            Limiter::new(None),
            retry,
            Box::new(Plain),
            vec![],
        )
        .unwrap()
    }

    async fn fail(response: &'static str) -> (String, String) {
        let base = canned(response).await;
        let req = RequestSpec::get("/api/things").param("key", "secret-in-query");
        let e = client(&base).fetch(&req, &mut FetchStats::default()).await.unwrap_err().to_string();
        assert!(!e.contains("secret-in-query"), "the query never shows: {e}");
        (base, e)
    }

    /// A token endpoint whose refresh tokens rotate (`/token`) and a data path that takes only
    /// the latest access token (`/data`); returns the base URL.
    async fn rotating_server() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(std::sync::Mutex::new((1u32, String::new())));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16384];
                    let mut read = 0;
                    loop {
                        match socket.read(&mut buf[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read += n,
                        }
                        let text = String::from_utf8_lossy(&buf[..read]).into_owned();
                        let Some(end) = text.find("\r\n\r\n") else { continue };
                        let length: usize = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if read < end + 4 + length {
                            continue;
                        }
                        let (head, body) = (&text[..end], &text[end + 4..end + 4 + length]);
                        let (status, json) = {
                            let mut s = state.lock().unwrap();
                            if head.starts_with("POST /token") {
                                if body.contains(&format!("refresh_token=r{}", s.0)) {
                                    s.0 += 1;
                                    s.1 = format!("a{}", s.0);
                                    (
                                        "200 OK",
                                        format!("{{\"access_token\":\"{}\",\"refresh_token\":\"r{}\"}}", s.1, s.0),
                                    )
                                } else {
                                    ("400 Bad Request", "{\"error\":\"invalid_grant\"}".to_owned())
                                }
                            } else if head.contains(&format!("Bearer {}", s.1)) && !s.1.is_empty() {
                                ("200 OK", "{}".to_owned())
                            } else {
                                ("401 Unauthorized", "{}".to_owned())
                            }
                        };
                        let answer = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                            json.len()
                        );
                        let _ = socket.write_all(answer.as_bytes()).await;
                        let _ = socket.shutdown().await;
                        return;
                    }
                });
            }
        });
        base
    }

    fn rotating_client(base: &str, file: &std::path::Path, seed: &str) -> HttpClient {
        let auth = Auth::OAuth2Rotating {
            token_url: format!("{base}/token"),
            client_id: SecretString::new("id"),
            client_secret: SecretString::new("secret"),
            tokens: Arc::new(TokenFile::new(file.to_owned(), SecretString::new(seed))),
        };
        HttpClient::new(base.to_owned(), auth, Limiter::new(None), RetryPolicy::default(), Box::new(Plain), vec![])
            .unwrap()
    }

    #[tokio::test]
    async fn a_rotated_refresh_token_is_saved_before_use_and_the_next_process_continues_the_chain() {
        let base = rotating_server().await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keap.refresh_token");
        let first = rotating_client(&base, &file, "r1");
        first.fetch(&RequestSpec::get("/data"), &mut FetchStats::default()).await.unwrap();
        assert!(std::fs::read_to_string(&file).unwrap().contains("\"r2\""), "r1 is spent, r2 is on disk");
        // The process is killed; the next one starts from the same config (still naming r1).
        let second = rotating_client(&base, &file, "r1");
        second.fetch(&RequestSpec::get("/data"), &mut FetchStats::default()).await.unwrap();
        assert!(std::fs::read_to_string(&file).unwrap().contains("\"r3\""));
        // Its access token expires (another client took a newer one): one refresh, from r3.
        let third = rotating_client(&base, &file, "r1");
        third.fetch(&RequestSpec::get("/data"), &mut FetchStats::default()).await.unwrap();
        second.fetch(&RequestSpec::get("/data"), &mut FetchStats::default()).await.unwrap();
        assert!(std::fs::read_to_string(&file).unwrap().contains("\"r5\""));
        // Without the file, the configured token is dead, and the error says what to do.
        std::fs::remove_file(&file).unwrap();
        let lost = rotating_client(&base, &file, "r1");
        let e = lost.fetch(&RequestSpec::get("/data"), &mut FetchStats::default()).await.unwrap_err().to_string();
        assert!(
            e.contains("invalid_grant") && e.contains("keap.refresh_token") && e.contains("authorize again"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn an_html_page_is_an_error_naming_the_host_and_status() {
        let (base, e) = fail(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 29\r\nConnection: close\r\n\r\n<html><body>Login</body></html>",
        )
        .await;
        assert!(
            e.contains(&format!("GET {base}/api/things")) && e.contains("HTTP 200 OK") && e.contains("HTML"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_says_where_it_pointed() {
        let (base, e) = fail(
            "HTTP/1.1 302 Found\r\nLocation: https://login.example.com/start?token=x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(e.contains(&base) && e.contains("302") && e.contains("https://login.example.com/start"), "{e}");
        assert!(!e.contains("token=x"), "{e}");
    }

    #[tokio::test]
    async fn a_404_names_the_host_and_path() {
        let (base, e) = fail(
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 25\r\nConnection: close\r\n\r\n[{\"errorCode\":\"NOT_FOUND\"}",
        )
        .await;
        assert!(e.contains(&format!("{base}/api/things")) && e.contains("404") && e.contains("NOT_FOUND"), "{e}");
    }

    #[tokio::test]
    async fn the_servers_date_comes_with_the_answer() {
        let base = canned(
            "HTTP/1.1 200 OK\r\nDate: Tue, 15 Nov 1994 08:12:31 GMT\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        )
        .await;
        let f = client(&base).fetch_page(&RequestSpec::get("/x"), &mut FetchStats::default()).await.unwrap();
        assert_eq!(f.server_time, DateTime::from_timestamp(784_887_151, 0));
        assert_eq!(f.body, serde_json::json!({}));
    }

    #[test]
    fn the_next_link_is_found_among_link_entries() {
        let mut h = HeaderMap::new();
        h.append(reqwest::header::LINK, "<https://a.example/x?page=1>; rel=\"prev\"".parse().unwrap());
        h.append(
            reqwest::header::LINK,
            "<https://a.example/x?page=9>; rel=\"last\", <https://a.example/x?page=3&q=a,b>; type=\"json\"; REL=next"
                .parse()
                .unwrap(),
        );
        assert_eq!(link_next(&h).as_deref(), Some("https://a.example/x?page=3&q=a,b"));
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::LINK, "<https://a.example/x?page=2>; rel=\"prev first\"".parse().unwrap());
        assert_eq!(link_next(&h), None, "no next entry");
        h.insert(reqwest::header::LINK, "<https://a.example/x?page=2>; rel=\"nofollow next\"".parse().unwrap());
        assert_eq!(link_next(&h).as_deref(), Some("https://a.example/x?page=2"), "one of several relations");
        assert_eq!(link_next(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn a_refusal_comes_back_with_its_body_for_callers_that_read_error_codes() {
        let base = canned(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 41\r\nConnection: close\r\n\r\n[{\"errorCode\":\"INVALID_REPLICATION_DATE\"}]",
        )
        .await;
        let r = client(&base).fetch_or_refusal(&RequestSpec::get("/d"), &mut FetchStats::default()).await.unwrap();
        let refusal = r.unwrap_err();
        assert_eq!(refusal.status, StatusCode::BAD_REQUEST);
        assert!(refusal.body.contains("INVALID_REPLICATION_DATE"));
        assert!(refusal.message.contains(&format!("{base}/d")), "{}", refusal.message);
    }
}
