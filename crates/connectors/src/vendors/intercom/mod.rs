//! Intercom: companies (`company_id` holds our account id), contacts (by a custom attribute, their
//! company or email) and conversations (as interactions, through their contact). Rate limits are
//! per 10-second slice; 429s and every answer carry `X-RateLimit-Reset` (a Unix time). Intercom has
//! no deletion feed: every `reconcile_every` a pass re-reads the whole lists to reconcile.

mod streams;

use std::path::Path;
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use super::common::{self, accept_json};
use super::common::{Period, RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::client::{default_verdict, until_epoch};
use crate::http::{Auth, HttpConnector, Limit, Vendor, Verdict};

/// `[sources.<name>]` settings of kind `intercom`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://api.intercom.io` (or the EU / AU hosts).
    #[serde(default = "default_base")]
    pub base_url: String,
    pub access_token: SecretRef,
    /// The `Intercom-Version` sent with every request.
    #[serde(default = "default_version")]
    pub version: String,
    /// Records asked per page (150, Intercom's maximum for contacts and conversations, by
    /// default). Pages end by Intercom's own `pages` signals, whatever size the server serves.
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// How often a sync re-reads every company, contact and conversation to notice deletions
    /// (Intercom has no deletion feed): records a reconciling pass no longer finds are removed.
    /// A period such as `"7d"` (the default), `"12h"` or `"off"` (only the first sync and
    /// `sync --full` reconcile).
    #[serde(default = "default_reconcile_every")]
    pub reconcile_every: Period,
    /// The app's limit per minute (Intercom's default: 10,000, enforced in 10-second slices).
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_base() -> String {
    "https://api.intercom.io".into()
}

fn default_version() -> String {
    "2.14".into()
}

fn default_per_page() -> u32 {
    150
}

fn default_reconcile_every() -> Period {
    Period(Some(chrono::Duration::days(7)))
}

fn default_per_minute() -> u32 {
    10_000
}

#[derive(Debug)]
struct IntercomRules;

impl Vendor for IntercomRules {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = until_epoch(headers, "x-ratelimit-reset").unwrap_or(Duration::from_secs(1));
            return Verdict::RateLimited(wait.max(Duration::from_millis(100)));
        }
        default_verdict(status, headers, body)
    }

    fn quota_exhausted_until(&self, headers: &HeaderMap) -> Option<Duration> {
        let remaining: u64 = headers.get("x-ratelimit-remaining")?.to_str().ok()?.parse().ok()?;
        (remaining == 0).then(|| until_epoch(headers, "x-ratelimit-reset")).flatten()
    }
}

/// Builds an Intercom source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<HttpConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let token = common::secret(name, "access_token", &s.access_token, base_dir)?;
    // Intercom counts per 10-second slice: the minute's allowance split evenly.
    let default = Limit { requests: s.per_minute.div_ceil(6).max(1), window: Duration::from_secs(10) };
    let client = common::client(
        name,
        &s.base_url,
        Auth::Bearer(token),
        effective_limit(s.rate_limit, s.unthrottled, default),
        Box::new(IntercomRules),
        vec![("Intercom-Version".into(), s.version.clone()), accept_json()],
    )?;
    let mut streams = streams::streams(s.per_page.clamp(1, 150), s.reconcile_every.0);
    apply_overrides(name, &mut streams, &source.objects)?;
    Ok(HttpConnector::new("intercom", client, streams).with_writes(vec![streams::contact_account_id()]))
}
