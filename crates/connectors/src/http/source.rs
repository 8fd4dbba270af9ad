//! `kind = "http"`: a REST source described in `accord.toml`, for a system accord does not ship.
//!
//! The parsed config (`accord_core::config::http`) maps onto the same runtime as the shipped
//! vendors: one `HttpClient` (auth, rate limit, retries) and one `StreamDef` per object, read by
//! `HttpStream`. Nothing here fetches; this module only translates.

use std::path::Path;
use std::sync::Arc;

use accord_core::config::SourceConfig;
use accord_core::config::http::{
    self as conf, Credential, HttpAuth, HttpObject, PaginatorConfig, RetrySignal, TimeFormat, TotalPer, WaitFormat,
};
use accord_core::secret::SecretString;
use accord_core::{Config, ConfigError};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::client::{default_verdict, until_epoch};
use super::{Auth, DeletionFeed, HttpConnector, Paginator, RequestSpec, StreamDef, Total, Vendor, Verdict};
use crate::ObjectSpec;
use crate::vendors::common;

/// Builds an `http` source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    config: &Config,
    base_dir: &Path,
) -> Result<HttpConnector, ConfigError> {
    let sor = (config.sor().source == name).then_some(config.sor().object.as_str());
    let parsed = conf::parse(name, source, sor)?;
    let s = &parsed.settings;
    let auth = auth(name, &s.auth, base_dir)?;
    let limit = s.rate_limit.filter(|_| !s.unthrottled).map(common::limit_of);
    let headers = s.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let rules = Box::new(Signals { retry: s.retry.clone() });
    let client = common::client(name, &s.base_url, auth, limit, rules, headers)?;
    let streams = parsed.objects.iter().map(stream).collect();
    Ok(HttpConnector::new("http", client, streams))
}

/// Reads the secrets of the auth method, naming `sources.<name>.auth.<key>` when one is missing.
fn auth(name: &str, auth: &HttpAuth, base: &Path) -> Result<Auth, ConfigError> {
    let secret = |key: &str, s: &accord_core::secret::SecretRef| common::secret(name, &format!("auth.{key}"), s, base);
    let credential = |key: &str, c: &Credential| match c {
        Credential::Secret(s) => secret(key, s),
        Credential::Text(t) => Ok(SecretString::new(t.clone())),
    };
    Ok(match auth {
        HttpAuth::None => Auth::None,
        HttpAuth::Bearer { token } => Auth::Bearer(secret("token", token)?),
        HttpAuth::Basic { username, password } => Auth::Basic {
            user: credential("username", username)?.expose().to_owned(),
            password: credential("password", password)?,
        },
        HttpAuth::ApiKey { header: Some(header), key, prefix, .. } => {
            let key = secret("key", key)?;
            let value = match prefix {
                Some(p) => SecretString::new(format!("{p}{}", key.expose())),
                None => key,
            };
            Auth::Header { name: header.clone(), value }
        }
        HttpAuth::ApiKey { query, key, .. } => {
            // `parse` checked that one of header and query is set.
            Auth::Query { name: query.clone().unwrap_or_default(), value: secret("key", key)? }
        }
        HttpAuth::OAuth2 { token_url, client_id, client_secret, refresh_token } => Auth::OAuth2 {
            token_url: token_url.clone(),
            client_id: secret("client_id", client_id)?,
            client_secret: secret("client_secret", client_secret)?,
            refresh_token: secret("refresh_token", refresh_token)?,
        },
    })
}

/// How a configured API says "slow down": HTTP's defaults, with the configured retry header.
#[derive(Debug)]
struct Signals {
    retry: RetrySignal,
}

impl Vendor for Signals {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        match default_verdict(status, headers, body) {
            Verdict::RateLimited(default) => Verdict::RateLimited(self.wait(headers).unwrap_or(default)),
            other => other,
        }
    }
}

impl Signals {
    fn wait(&self, headers: &HeaderMap) -> Option<std::time::Duration> {
        match self.retry.format {
            WaitFormat::Seconds => {
                let v: f64 = headers.get(self.retry.header.as_str())?.to_str().ok()?.trim().parse().ok()?;
                (v.is_finite() && v >= 0.0).then(|| std::time::Duration::from_secs_f64(v.min(3600.0)))
            }
            WaitFormat::UnixTime => until_epoch(headers, &self.retry.header),
        }
    }
}

/// One object's `StreamDef`.
fn stream(o: &HttpObject) -> StreamDef {
    let page_size = o.paginator.page_size().map(|(p, n)| (p.to_owned(), n.to_string()));
    let base = {
        let mut r = RequestSpec::get(o.path.clone());
        for (k, v) in &o.params {
            r = r.param(k, v.clone());
        }
        if let Some((p, n)) = &page_size {
            r = r.param(p, n.clone());
        }
        r
    };
    let cursor = o.cursor.clone();
    let first = base.clone();
    let first_request = Arc::new(move |since: Option<&Value>| {
        let Some(c) = &cursor else { return first.clone() };
        let value = since.and_then(|v| c.format.write(v)).or_else(|| c.start.clone());
        match value {
            Some(v) => first.clone().param(&c.param, v),
            None => first.clone(),
        }
    });
    let deletions = o.deletions.feed.as_ref().map(|f| {
        let format = f.format.or(o.cursor.as_ref().map(|c| c.format)).unwrap_or(TimeFormat::Rfc3339);
        let mut request = RequestSpec::get(f.path.clone());
        for (k, v) in &o.feed_params {
            request = request.param(k, v.clone());
        }
        if let Some((p, n)) = &page_size {
            request = request.param(p, n.clone());
        }
        let (since, until) = (f.since_param.clone(), f.until_param.clone());
        DeletionFeed {
            request: Arc::new(move |from: DateTime<Utc>, end: DateTime<Utc>| {
                let r = request.clone().param(&since, format.write_time(from));
                match &until {
                    Some(u) => r.param(u, format.write_time(end)),
                    None => r,
                }
            }),
            list: f.records.clone(),
            id: f.id.clone(),
            next_start: f.next_start.clone(),
            earliest: f.earliest.clone(),
            gap_errors: vec![],
            // "off": the API keeps its deletions; no start is too old.
            window: f.window.0.unwrap_or(chrono::Duration::days(365 * 1000)),
            min_span: f.min_span.and_then(|p| p.0).unwrap_or_else(chrono::Duration::zero),
        }
    });
    StreamDef {
        object: ObjectSpec {
            name: o.name.clone(),
            kind: o.kind,
            native_id: o.native_id.clone(),
            link: o.link.clone(),
            normalize: o.normalize.clone(),
            fields: o.fields.clone(),
        },
        first_request,
        records: o.records.clone(),
        paginator: paginator(&o.paginator),
        cursor_field: o.cursor.as_ref().map(|c| c.field.clone()),
        overlap_seconds: o.cursor.as_ref().map_or(0, |c| c.overlap_seconds),
        deleted_when: o.deletions.field.clone().zip(o.deleted_value.clone()),
        deletions,
        authoritative: o.deletions.authoritative,
        total: o.total.as_ref().map(|t| match t.per {
            TotalPer::Pass => Total::Pass(t.field.clone()),
            TotalPer::Page => Total::Page(t.field.clone()),
        }),
        reconcile_every: o.deletions.reconcile_every.and_then(|p| p.0),
    }
}

fn paginator(p: &PaginatorConfig) -> Paginator {
    match p.clone() {
        PaginatorConfig::LinkHeader { .. } => Paginator::LinkHeader,
        PaginatorConfig::NextUrl { field, done, .. } => Paginator::NextUrl { field, done },
        PaginatorConfig::NextToken { field, param, last, .. } => Paginator::NextToken { field, param, last },
        PaginatorConfig::StartingAfter { field, .. } => Paginator::StartingAfter { field },
        PaginatorConfig::PageNumber { param, first, next, page, total_pages, .. } => {
            Paginator::PageNumber { param, first, next, page, total_pages }
        }
        PaginatorConfig::UntilEmpty { param, first, .. } => Paginator::UntilEmpty { param, first },
        PaginatorConfig::Single => Paginator::Single,
    }
}
