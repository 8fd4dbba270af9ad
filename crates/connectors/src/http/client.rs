//! One HTTP client per source: authentication (with OAuth2 refresh and token caching), the rate
//! limiter, and retries of 429s, 5xx, timeouts, dropped connections and truncated bodies, with
//! jittered exponential backoff and a cap. Vendors differ only in how they say "slow down" and
//! "this token expired", which they describe through `Vendor`.

use std::sync::Arc;
use std::time::Duration;

use accord_core::secret::SecretString;
use rand::RngExt;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::RwLock;
use tokio::time::Instant;

use super::limiter::Limiter;
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
}

impl RequestSpec {
    pub fn get(path: impl Into<String>) -> Self {
        Self { method: "GET".into(), path: path.into(), query: Vec::new(), body: None }
    }

    pub fn post(path: impl Into<String>, body: Value) -> Self {
        Self { method: "POST".into(), path: path.into(), query: Vec::new(), body: Some(body) }
    }

    pub fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.retain(|(n, _)| n != name);
        self.query.push((name.to_owned(), value.into()));
        self
    }
}

/// How a source authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
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

    /// The base URL learned from an OAuth2 token response (Salesforce's `instance_url`).
    fn base_url_from_token(&self, _token: &Value) -> Option<String> {
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

/// A source's HTTP client.
#[derive(Debug)]
pub struct HttpClient {
    http: reqwest::Client,
    base_url: RwLock<String>,
    auth: Auth,
    token: RwLock<Option<SecretString>>,
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
            .build()
            .map_err(|e| ConnectorError::Fatal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url: RwLock::new(base_url.trim_end_matches('/').to_owned()),
            auth,
            token: RwLock::new(None),
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
        let mut transient = 0u32;
        let mut limited = 0u32;
        let mut refreshed = false;
        loop {
            if self.limiter.acquire().await {
                stats.rate_limit_waits += 1;
            }
            stats.requests += 1;
            let verdict = match self.send_once(req).await {
                Ok((status, headers, body)) => match self.vendor.classify(status, &headers, &body) {
                    Verdict::Ok => match serde_json::from_slice::<Value>(&body) {
                        Ok(v) => {
                            if let Some(wait) = self.vendor.quota_exhausted_until(&headers) {
                                self.limiter.pause_until(Instant::now() + wait).await;
                            }
                            return Ok(v);
                        }
                        Err(e) => Verdict::Transient(format!("the response body is not complete JSON: {e}")),
                    },
                    other => other,
                },
                Err(e) => Verdict::Transient(e),
            };
            match verdict {
                Verdict::Ok => unreachable!("handled above"),
                Verdict::RateLimited(wait) => {
                    limited += 1;
                    stats.rate_limit_waits += 1;
                    if limited > self.retry.max_rate_limited {
                        return Err(ConnectorError::Fatal(format!("still rate limited after {limited} waits")));
                    }
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "rate limited by the vendor");
                    self.limiter.pause_until(Instant::now() + wait).await;
                }
                Verdict::AuthExpired if !refreshed && matches!(self.auth, Auth::OAuth2 { .. }) => {
                    refreshed = true;
                    *self.token.write().await = None;
                }
                Verdict::AuthExpired => {
                    return Err(ConnectorError::Fatal("the vendor refused the credentials (HTTP 401)".into()));
                }
                Verdict::Transient(why) => {
                    transient += 1;
                    stats.retries += 1;
                    if transient > self.retry.max_retries {
                        return Err(ConnectorError::Fatal(format!("gave up after {} retries: {why}", transient - 1)));
                    }
                    let delay = self.backoff(transient);
                    tracing::debug!(attempt = transient, delay_ms = delay.as_millis() as u64, %why, "retrying");
                    tokio::time::sleep(delay).await;
                }
                Verdict::Fatal(why) => return Err(ConnectorError::Fatal(why)),
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

    async fn send_once(&self, req: &RequestSpec) -> Result<(StatusCode, HeaderMap, Vec<u8>), String> {
        let url = self.url(&req.path).await;
        let method = Method::from_bytes(req.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut builder = self.http.request(method, &url).query(&req.query);
        for (k, v) in &self.extra_headers {
            builder = builder.header(k, v);
        }
        builder = match &self.auth {
            Auth::Header { name, value } => builder.header(name, value.expose()),
            Auth::Query { name, value } => builder.query(&[(name, value.expose())]),
            Auth::Basic { user, password } => builder.basic_auth(user, Some(password.expose())),
            Auth::Bearer(token) => builder.bearer_auth(token.expose()),
            Auth::OAuth2 { .. } => builder.bearer_auth(self.access_token().await?.expose()),
        };
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        let resp = builder.send().await.map_err(describe)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("the connection dropped while reading the body: {}", describe(e)))?;
        Ok((status, headers, body.to_vec()))
    }

    /// The cached OAuth2 access token, refreshed when missing.
    async fn access_token(&self) -> Result<SecretString, String> {
        if let Some(t) = self.token.read().await.clone() {
            return Ok(t);
        }
        let mut slot = self.token.write().await;
        if let Some(t) = slot.clone() {
            return Ok(t);
        }
        let Auth::OAuth2 { token_url, client_id, client_secret, refresh_token } = &self.auth else {
            return Err("not an OAuth2 source".into());
        };
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", client_id.expose()),
            ("client_secret", client_secret.expose()),
            ("refresh_token", refresh_token.expose()),
        ];
        // The token endpoint counts against the same quota as data calls.
        self.limiter.acquire().await;
        let resp = self.http.post(token_url).form(&form).send().await.map_err(describe)?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| format!("unreadable token response: {}", describe(e)))?;
        if !status.is_success() {
            let error = body.get("error").and_then(Value::as_str).unwrap_or("unknown error");
            return Err(format!("the OAuth2 token refresh failed (HTTP {status}: {error})"));
        }
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or("the token response has no access_token")?
            .to_owned();
        if let Some(base) = self.vendor.base_url_from_token(&body) {
            *self.base_url.write().await = base.trim_end_matches('/').to_owned();
        }
        let token = SecretString::new(token);
        *slot = Some(token.clone());
        Ok(token)
    }
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
