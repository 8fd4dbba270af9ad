//! Zendesk Support: organizations (`external_id` holds our account id), users (by organization or
//! email) and tickets (through their organization or requester), read with the incremental export
//! API. Its 429s carry `Retry-After`; export endpoints allow 10 requests a minute (30 with the
//! High Volume add-on).

mod streams;

use std::path::Path;

use accord_core::config::SourceConfig;
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use serde::Deserialize;

use super::common::{self};
use super::common::{RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::{Auth, HttpConnector, Limit, Vendor};

/// `[sources.<name>]` settings of kind `zendesk`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://<subdomain>.zendesk.com`.
    pub base_url: String,
    /// The agent email for API-token auth (`{email}/token:{api_token}`).
    pub email: Option<String>,
    pub api_token: Option<SecretRef>,
    /// An OAuth access token, instead of email + API token.
    pub oauth_token: Option<SecretRef>,
    /// Items per export page (Zendesk's maximum, 1,000, by default).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// The account has the High Volume API add-on (30 export requests a minute instead of 10).
    #[serde(default)]
    pub high_volume: bool,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_per_page() -> u32 {
    1000
}

#[derive(Debug)]
struct ZendeskRules;

impl Vendor for ZendeskRules {}

/// Builds a Zendesk source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<HttpConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let secret = |r: &SecretRef, key: &str| common::secret(name, key, r, base_dir);
    let auth = match (&s.email, &s.api_token, &s.oauth_token) {
        (_, _, Some(token)) => Auth::Bearer(secret(token, "oauth_token")?),
        (Some(email), Some(token), None) => {
            Auth::Basic { user: format!("{email}/token"), password: secret(token, "api_token")? }
        }
        _ => {
            return Err(ConfigError::new(
                format!("sources.{name}"),
                "set email and api_token (API-token auth) or oauth_token",
            ));
        }
    };
    let default = Limit::per_minute(if s.high_volume { 30 } else { 10 });
    let client = common::client(
        name,
        &s.base_url,
        auth,
        effective_limit(s.rate_limit, s.unthrottled, default),
        Box::new(ZendeskRules),
        vec![],
    )?;
    let mut streams = streams::streams(s.per_page.clamp(1, 1000));
    apply_overrides(name, &mut streams, &source.objects)?;
    Ok(HttpConnector::new("zendesk", client, streams).with_writes(vec![streams::organization_external_id()]))
}
