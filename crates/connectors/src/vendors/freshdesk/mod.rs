//! Freshdesk (API v2): companies (a custom field holds our account id; its name is the
//! `account_id_field` setting), contacts (by their company or their email) and tickets (through
//! their company, then their requester).
//!
//! Lists are bare JSON arrays paged by `page` and `per_page` (at most 100), with the next page in
//! the `Link` header. Contacts are read incrementally with `_updated_since` and tickets with
//! `updated_since`, which the ticket list needs always: without it Freshdesk returns only the
//! tickets created in the last 30 days, so a full pass asks for everything updated since 1970.
//! Soft-deleted records leave the lists; the deletion feeds list them (`state=deleted` for
//! contacts, `filter=deleted` for tickets, both with `deleted: true`). Companies have no change
//! filter and are deleted for good: every pass lists them all, and every `reconcile_every` one
//! reconciles. Auth is HTTP Basic with the API key as the user and `X` as the password; the limit
//! is per minute by plan, and a 429 says `Retry-After` (seconds).

mod streams;

use std::path::Path;

use accord_core::config::SourceConfig;
use accord_core::secret::SecretRef;
use accord_core::secret::SecretString;
use accord_core::{Config, ConfigError};
use serde::Deserialize;

use super::common::{self, accept_json};
use super::common::{Period, RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::{Auth, HttpConnector, Limit, Vendor};

/// `[sources.<name>]` settings of kind `freshdesk`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://<domain>.freshdesk.com`.
    pub base_url: String,
    /// The agent's API key (Profile settings → "Your API Key").
    pub api_key: SecretRef,
    /// The name of the company custom field holding our account id (`custom_fields.<name>`).
    #[serde(default = "default_account_id_field")]
    pub account_id_field: String,
    /// Records asked per page (Freshdesk's maximum, 100, by default).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// How often a sync reconciles deleted companies (Freshdesk deletes companies for good, and
    /// lists no deletions of them): `"7d"` (the default), `"12h"` or `"off"`.
    #[serde(default = "default_reconcile_every")]
    pub reconcile_every: Period,
    /// The plan's API requests per minute (Growth: 200, Pro: 400, Enterprise: 700).
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_account_id_field() -> String {
    "account_id".into()
}

fn default_per_page() -> u32 {
    100
}

fn default_reconcile_every() -> Period {
    Period(Some(chrono::Duration::days(7)))
}

fn default_per_minute() -> u32 {
    200
}

/// Freshdesk signals follow HTTP: 429 with `Retry-After`, 401 for a wrong key.
#[derive(Debug)]
struct FreshdeskRules;

impl Vendor for FreshdeskRules {}

/// Builds a Freshdesk source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<HttpConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let key = common::secret(name, "api_key", &s.api_key, base_dir)?;
    let field = s.account_id_field.trim();
    if field.is_empty() || field.contains(['.', '[', ']', '"']) {
        return Err(ConfigError::new(
            format!("sources.{name}.account_id_field"),
            format!(
                "{:?} is not a custom field name: write the field's name as the API shows it, e.g. \"account_id\"",
                s.account_id_field
            ),
        ));
    }
    let client = common::client(
        name,
        &s.base_url,
        Auth::Basic { user: key.expose().to_owned(), password: SecretString::new("X") },
        effective_limit(s.rate_limit, s.unthrottled, Limit::per_minute(s.per_minute.max(1))),
        Box::new(FreshdeskRules),
        vec![accept_json()],
    )?;
    let mut streams = streams::streams(field, s.per_page.clamp(1, 100), s.reconcile_every.0);
    apply_overrides(name, &mut streams, &source.objects)?;
    Ok(HttpConnector::new("freshdesk", client, streams))
}
