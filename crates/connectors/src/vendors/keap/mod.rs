//! Keap (Infusionsoft), REST v2: companies by their "CompanyID" custom field, contacts by their
//! "ContactID" custom field or through their company (the integration guide warns that several
//! contacts can carry one company's id; each links on its own).
//!
//! OAuth2 whose refresh tokens rotate: every grant returns a new refresh token and the redeemed one
//! stops working. The configured `refresh_token` only starts the chain; each successor is saved
//! atomically to `token_file` (beside `accord.toml` by default) before the access token it came
//! with is used, so a killed sync resumes with a live token (see `http::rotation` for why a file
//! and not the store). Lists page by `page_token` → `next_page_token`. Contacts are read
//! incrementally by `filter=start_update_time==…` in `update_time` order; companies are re-read
//! whole on every sync (reconciling deletions), because Keap orders company lists by id, name or
//! email only, and a `since_time` high-water mark over an id-ordered pass could skip a company
//! updated while the pass ran. The client keeps to the product quota (1,500 a minute for an OAuth2
//! key) and, when `x-keap-product-quota-available` reaches 0 or a 429 comes, waits until
//! `x-keap-product-quota-expiry-time`. Keap v2 has no deletion feed: contacts are reconciled by a
//! whole-list pass every `reconcile_every`.

mod streams;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use super::common::{self, accept_json};
use super::common::{Period, RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::client::default_verdict;
use crate::http::{Auth, HttpConnector, Limit, TokenFile, Vendor, Verdict};

/// `[sources.<name>]` settings of kind `keap`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://api.infusionsoft.com/crm` (paths are `/rest/v2/...` below it).
    #[serde(default = "default_base")]
    pub base_url: String,
    /// `https://api.infusionsoft.com/token`.
    #[serde(default = "default_token_url")]
    pub token_url: String,
    pub client_id: SecretRef,
    pub client_secret: SecretRef,
    /// The refresh token of the authorization; its successors go to `token_file`.
    pub refresh_token: SecretRef,
    /// Where the current refresh token is kept (default `<source name>.refresh_token` beside
    /// `accord.toml`). Keep it with the config's other secrets.
    pub token_file: Option<PathBuf>,
    /// The id of the company custom field holding our account id ("CompanyID").
    pub company_field: String,
    /// The id of the contact custom field holding our account id ("ContactID").
    pub contact_field: String,
    /// Records per page (Keap's maximum, 1,000, by default).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// How often contacts are re-read whole to notice deletions: `"7d"` by default, or `"off"`.
    #[serde(default = "default_reconcile_every")]
    pub reconcile_every: Period,
    /// The product quota per minute (1,500 for an OAuth2 key; 240 for a personal access token).
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_base() -> String {
    "https://api.infusionsoft.com/crm".into()
}

fn default_token_url() -> String {
    "https://api.infusionsoft.com/token".into()
}

fn default_page_size() -> u32 {
    1000
}

fn default_reconcile_every() -> Period {
    Period(Some(chrono::Duration::days(7)))
}

fn default_per_minute() -> u32 {
    1500
}

/// When the product quota refills: `x-keap-product-quota-expiry-time` (ISO-8601, or a Unix time
/// in seconds or milliseconds), as a wait from now.
fn quota_expiry(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get("x-keap-product-quota-expiry-time")?.to_str().ok()?.trim();
    let at = accord_core::time::parse_timestamp(&serde_json::Value::String(text.to_owned())).or_else(|| {
        let n: i64 = text.parse().ok()?;
        if n > 100_000_000_000 {
            chrono::DateTime::from_timestamp_millis(n)
        } else {
            chrono::DateTime::from_timestamp(n, 0)
        }
    })?;
    let wait = (at - chrono::Utc::now()).num_milliseconds().clamp(0, 3_600_000);
    Some(Duration::from_millis(wait as u64))
}

#[derive(Debug)]
struct KeapRules;

impl Vendor for KeapRules {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Keap documents no Retry-After: the quota headers say when it refills.
            let wait = quota_expiry(headers).unwrap_or(Duration::from_secs(1));
            return Verdict::RateLimited(wait.max(Duration::from_millis(100)));
        }
        default_verdict(status, headers, body)
    }

    fn quota_exhausted_until(&self, headers: &HeaderMap) -> Option<Duration> {
        let available: u64 = headers.get("x-keap-product-quota-available")?.to_str().ok()?.trim().parse().ok()?;
        (available == 0).then(|| quota_expiry(headers)).flatten()
    }
}

/// Builds a Keap source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<HttpConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let secret = |r: &SecretRef, key: &str| common::secret(name, key, r, base_dir);
    for (key, id) in [("company_field", &s.company_field), ("contact_field", &s.contact_field)] {
        if id.trim().is_empty() || id.contains(']') {
            return Err(ConfigError::new(
                format!("sources.{name}.{key}"),
                format!("{id:?} is not a custom field id: write the id Keap shows for the field, e.g. \"7\""),
            ));
        }
    }
    let file = base_dir.join(s.token_file.clone().unwrap_or_else(|| PathBuf::from(format!("{name}.refresh_token"))));
    let auth = Auth::OAuth2Rotating {
        token_url: s.token_url.clone(),
        client_id: secret(&s.client_id, "client_id")?,
        client_secret: secret(&s.client_secret, "client_secret")?,
        tokens: Arc::new(TokenFile::new(file, secret(&s.refresh_token, "refresh_token")?)),
    };
    let default = Limit { requests: s.per_minute.max(1), window: Duration::from_secs(60) };
    let client = common::client(
        name,
        &s.base_url,
        auth,
        effective_limit(s.rate_limit, s.unthrottled, default),
        Box::new(KeapRules),
        vec![accept_json()],
    )?;
    let mut streams = streams::streams(
        s.page_size.clamp(1, 1000),
        s.reconcile_every.0,
        s.company_field.trim(),
        s.contact_field.trim(),
    );
    apply_overrides(name, &mut streams, &source.objects)?;
    let write = streams::company_id_field(s.company_field.trim());
    Ok(HttpConnector::new("keap", client, streams).with_writes(vec![write]))
}
