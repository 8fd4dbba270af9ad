//! Capsule CRM (API v2): organisations (parties of type `organisation`; a custom field, named by
//! the `account_id_field` setting, holds our account id, else their website's domain maps to an
//! account) and people (parties of type `person`, linked through their organisation).
//!
//! Both objects read the one party list, `GET /api/v2/parties?embed=fields`, each keeping its own
//! type; it is paged by `page`/`perPage` (at most 100) with the next page in the `Link` header,
//! read incrementally with `since`, and its deletions are listed by
//! `GET /api/v2/parties/deleted?since=` (people and organisations alike: a deletion that names a
//! party of the other type changes nothing). Auth is a Bearer token. The limit is 4,000 requests
//! an hour; every answer carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` (a Unix time),
//! and a 429 is waited out until that reset.

mod streams;

use std::path::Path;
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::common::{self, accept_json};
use super::common::{RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::client::{default_verdict, until_epoch};
use crate::http::{Auth, HttpConnector, Limit, Vendor, Verdict};
use crate::{Connector, ConnectorError, Item, ObjectSpec, Page, Stream};

/// `[sources.<name>]` settings of kind `capsule`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://api.capsulecrm.com`.
    #[serde(default = "default_base")]
    pub base_url: String,
    /// A personal API token or an OAuth2 access token.
    pub access_token: SecretRef,
    /// The name of the party custom field (its definition's name) holding our account id.
    #[serde(default = "default_account_id_field")]
    pub account_id_field: String,
    /// Parties asked per page (Capsule's maximum, 100, by default).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// The user's requests per hour (Capsule: 4,000).
    #[serde(default = "default_per_hour")]
    pub per_hour: u32,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_base() -> String {
    "https://api.capsulecrm.com".into()
}

fn default_account_id_field() -> String {
    "Account ID".into()
}

fn default_per_page() -> u32 {
    100
}

fn default_per_hour() -> u32 {
    4_000
}

#[derive(Debug)]
struct CapsuleRules;

impl Vendor for CapsuleRules {
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

/// A Capsule source: the party streams, each keeping the parties of its own type.
#[derive(Debug)]
pub struct CapsuleConnector {
    inner: HttpConnector,
}

impl Connector for CapsuleConnector {
    fn kind(&self) -> &'static str {
        "capsule"
    }

    fn objects(&self) -> &[ObjectSpec] {
        self.inner.objects()
    }

    fn write_back(&self) -> Option<&dyn crate::WriteBack> {
        self.inner.write_back()
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        let keep = streams::party_type(object)
            .ok_or_else(|| ConnectorError::Fatal(format!("capsule has no object {object}")))?;
        Ok(Box::new(OfType { inner: self.inner.open_stream(object, cursor, full)?, keep }))
    }
}

/// A party stream that keeps the records of one `type` (deletions name no type: all pass).
struct OfType {
    inner: Box<dyn Stream>,
    keep: &'static str,
}

impl Stream for OfType {
    fn next_page(&mut self) -> BoxFuture<'_, Result<Option<Page>, ConnectorError>> {
        Box::pin(async move {
            let keep = self.keep;
            Ok(self.inner.next_page().await?.map(|mut page| {
                page.items.retain(|item| match item {
                    Item::Record(r) => r.data.get("type").and_then(Value::as_str) == Some(keep),
                    Item::Malformed { .. } | Item::Deleted { .. } => true,
                });
                page
            }))
        })
    }
}

/// Builds a Capsule source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<CapsuleConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let token = common::secret(name, "access_token", &s.access_token, base_dir)?;
    let field = s.account_id_field.trim();
    if field.is_empty() || field.contains([']', '=']) {
        return Err(ConfigError::new(
            format!("sources.{name}.account_id_field"),
            format!(
                "{:?} is not a custom field name: write the field's name as Capsule shows it, e.g. \"Account ID\"",
                s.account_id_field
            ),
        ));
    }
    let default = Limit { requests: s.per_hour.max(1), window: Duration::from_secs(3600) };
    let client = common::client(
        name,
        &s.base_url,
        Auth::Bearer(token),
        effective_limit(s.rate_limit, s.unthrottled, default),
        Box::new(CapsuleRules),
        vec![accept_json()],
    )?;
    let mut streams = streams::streams(field, s.per_page.clamp(1, 100));
    apply_overrides(name, &mut streams, &source.objects)?;
    let write = streams::organisation_field(field);
    Ok(CapsuleConnector { inner: HttpConnector::new("capsule", client, streams).with_writes(vec![write]) })
}
