//! Delighted (REST v1): NPS survey responses, read with `expand[]=person` and linked by the
//! person's email (`person.email`). Each answer is an `nps_response`, which the Account API serves
//! as the account's `nps_history` and `current_nps_score`. Auth is HTTP Basic with the API key as
//! the user and an empty password. Lists page by `page`/`per_page` and end with an empty page;
//! incremental passes ask for `updated_since` in `asc:updated_at` order. 429s carry
//! `Retry-After`. Delighted has no deletion feed: every `reconcile_every` a pass re-reads the
//! whole list (in creation order, which does not shift as answers change) to reconcile.

mod streams;

use std::path::Path;

use accord_core::config::SourceConfig;
use accord_core::secret::{SecretRef, SecretString};
use accord_core::{Config, ConfigError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use super::common::{self, accept_json};
use super::common::{Period, RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::{Auth, HttpConnector, Limit, Vendor};

/// `[sources.<name>]` settings of kind `delighted`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://api.delighted.com` (the `/v1` paths are added).
    #[serde(default = "default_base")]
    pub base_url: String,
    /// The account's API key, sent as the Basic-auth user with an empty password.
    pub api_key: SecretRef,
    /// Survey responses per page (100, Delighted's maximum, by default).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// How often a sync re-reads every survey response to notice deletions (Delighted has no
    /// deletion feed) and answers a page-number pass may have skipped while others changed: a
    /// period such as `"7d"` (the default), `"12h"` or `"off"`.
    #[serde(default = "default_reconcile_every")]
    pub reconcile_every: Period,
    /// Requests per minute. Delighted documents 429 + `Retry-After` but no figure; 200 a minute
    /// is a cautious default, and the connector also waits as long as every 429 asks.
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_base() -> String {
    "https://api.delighted.com".into()
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

/// Delighted follows HTTP: 429 with `Retry-After` (seconds), 401 for a wrong key.
#[derive(Debug)]
struct DelightedRules;

impl Vendor for DelightedRules {}

/// Builds a Delighted source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<HttpConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let key = common::secret(name, "api_key", &s.api_key, base_dir)?;
    let client = common::client(
        name,
        &s.base_url,
        // Basic with the key as the user: sent as a header built here, so that the key stays a
        // secret (never in a `Debug` print of the client).
        Auth::Header {
            name: "Authorization".into(),
            value: SecretString::new(format!("Basic {}", BASE64.encode(format!("{}:", key.expose())))),
        },
        effective_limit(s.rate_limit, s.unthrottled, Limit::per_minute(s.per_minute.max(1))),
        Box::new(DelightedRules),
        vec![accept_json()],
    )?;
    let mut streams = streams::streams(s.per_page.clamp(1, 100), s.reconcile_every.0);
    apply_overrides(name, &mut streams, &source.objects)?;
    Ok(HttpConnector::new("delighted", client, streams))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Connector;

    fn config(dir: &Path, extra: &str) -> Config {
        let toml = format!(
            "[system_of_record]\nsource = \"crm\"\nobject = \"accounts\"\naccount_id = \"id\"\n\
             [sources.crm]\nkind = \"file\"\n[[sources.crm.objects]]\nname = \"accounts\"\nkind = \"account\"\n\
             path = \"a.csv\"\n[sources.nps]\nkind = \"delighted\"\napi_key = {{ file = \"key\" }}\n{extra}"
        );
        Config::from_toml(&toml, dir).unwrap()
    }

    #[test]
    fn the_key_is_sent_as_basic_auth_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "s3cr3t-delighted-key").unwrap();
        let c = config(dir.path(), "per_page = 500\n");
        let connector = connector("nps", &c.raw.sources["nps"], &c, dir.path()).unwrap();
        let printed = format!("{connector:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert_eq!(connector.objects()[0].name, "survey_responses");
        assert_eq!(connector.objects()[0].link[0].field().as_str(), "person.email");
        let bad = config(dir.path(), "page_size = 10\n");
        let e = super::connector("nps", &bad.raw.sources["nps"], &bad, dir.path()).unwrap_err().to_string();
        assert!(e.contains("sources.nps") && e.contains("page_size"), "{e}");
    }
}
