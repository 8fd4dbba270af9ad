//! Salesforce: OAuth2 refresh-token auth against the login host, then every data request to the
//! token response's `instance_url`; SOQL `query` paged by `nextRecordsUrl`, incremental on
//! `SystemModstamp`, deletions from `getDeleted` (a full reconciling pass when its 15-day log no
//! longer reaches back to the cursor). Usable as the System of Record: the account id is a custom
//! field (`Account_ID__c` by default), `Account.Id` becomes `crm_account_id`.

mod soql;
mod streams;

use std::path::Path;
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::common::{self};
use super::common::{RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::client::{default_verdict, excerpt};
use crate::http::{Auth, HttpConnector, Limit, Vendor, Verdict};

pub use soql::compile as filter_to_soql;

/// `[sources.<name>]` settings of kind `salesforce`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where tokens are refreshed: `https://login.salesforce.com` (or test.salesforce.com, or a
    /// My Domain URL). Data requests never go here: they go to the token response's
    /// `instance_url`, learned before the first one is sent.
    pub login_url: String,
    pub client_id: SecretRef,
    pub client_secret: SecretRef,
    pub refresh_token: SecretRef,
    #[serde(default = "default_version")]
    pub api_version: String,
    /// The Account custom field holding our account_id.
    #[serde(default = "default_account_field")]
    pub account_id_field: String,
    /// More Account fields to read (for the SOR filter or account attributes).
    #[serde(default)]
    pub extra_account_fields: Vec<String>,
    /// Push the System of Record filter into the SOQL `WHERE` when it can be expressed there.
    /// Off by default: pushed down, excluded accounts are never read, so records pointing at them
    /// are rejected as `unknown_account` rather than `filtered_account`, and an account that
    /// leaves the filter is not seen again by incremental syncs.
    #[serde(default)]
    pub push_filter_to_soql: bool,
    /// The org's API request allocation (default: 100,000 per 24 hours).
    pub rate_limit: Option<RateLimitSetting>,
    /// No client-side limit (benchmarks against an unthrottled sandbox).
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_version() -> String {
    "59.0".into()
}

fn default_account_field() -> String {
    "Account_ID__c".into()
}

#[derive(Debug)]
struct SalesforceRules;

impl Vendor for SalesforceRules {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        let text = String::from_utf8_lossy(body);
        if status == StatusCode::FORBIDDEN && text.contains("REQUEST_LIMIT_EXCEEDED") {
            return Verdict::Fatal(
                "the org's daily API request allocation is spent (REQUEST_LIMIT_EXCEEDED); the next sync resumes from the checkpoint".into(),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            return Verdict::AuthExpired;
        }
        if status == StatusCode::BAD_REQUEST {
            return Verdict::Fatal(format!("Salesforce refused the request: {}", excerpt(body)));
        }
        default_verdict(status, headers, body)
    }

    fn quota_exhausted_until(&self, headers: &HeaderMap) -> Option<Duration> {
        let info = headers.get("sforce-limit-info")?.to_str().ok()?;
        let usage = info.split(';').find_map(|p| p.trim().strip_prefix("api-usage="))?;
        let (used, max) = usage.split_once('/')?;
        let (used, max): (u64, u64) = (used.parse().ok()?, max.parse().ok()?);
        (used >= max).then(|| Duration::from_secs(3600))
    }

    fn base_url_from_token(&self, token: &Value) -> Result<Option<String>, String> {
        match token.get("instance_url").and_then(Value::as_str).filter(|u| !u.is_empty()) {
            Some(url) => Ok(Some(url.to_owned())),
            None => Err("the token response has no instance_url, so the org's API host is unknown".into()),
        }
    }
}

/// Builds a Salesforce source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    config: &Config,
    base_dir: &Path,
) -> Result<HttpConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let secret = |r: &SecretRef, key: &str| common::secret(name, key, r, base_dir);
    let auth = Auth::OAuth2 {
        token_url: format!("{}/services/oauth2/token", s.login_url.trim_end_matches('/')),
        client_id: secret(&s.client_id, "client_id")?,
        client_secret: secret(&s.client_secret, "client_secret")?,
        refresh_token: secret(&s.refresh_token, "refresh_token")?,
    };
    let limit =
        effective_limit(s.rate_limit, s.unthrottled, Limit { requests: 100_000, window: Duration::from_secs(86_400) });
    let client = common::client(name, &s.login_url, auth, limit, Box::new(SalesforceRules), vec![])?;
    let sor_where = (s.push_filter_to_soql && config.sor().source == name)
        .then(|| config.sor_filter.as_ref().and_then(soql::compile))
        .flatten();
    let mut streams = streams::streams(&s, sor_where);
    apply_overrides(name, &mut streams, &source.objects)?;
    Ok(HttpConnector::new("salesforce", client, streams))
}
