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

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use serde_json::json;

    use super::*;
    use crate::Connector;

    const TOML: &str = r#"
        [system_of_record]
        source = "crm"
        object = "accounts"
        account_id = "number"
        [sources.crm]
        kind = "file"
        [[sources.crm.objects]]
        name = "accounts"
        kind = "account"
        path = "accounts.csv"

        [sources.helpdesk]
        kind = "http"
        base_url = "http://127.0.0.1:9/api/v2"
        auth = { kind = "basic", username = { file = "key" }, password = "X" }
        retry = { header = "X-Wait" }
        [[sources.helpdesk.objects]]
        name = "tickets"
        kind = "ticket"
        path = "/tickets"
        native_id = "id"
        link = [{ rule = "field", field = "account" }]
        params = { order_by = "updated_at" }
        paginator = { kind = "next_token", field = "next", param = "token", per_page = 50, per_page_param = "limit" }
        cursor = { field = "updated_at", param = "since", format = "unix", overlap_seconds = 60, start = "0" }
        deletions = { authoritative = true, field = "state", value = "gone", feed = { path = "/tickets/deleted", params = { all = true }, since_param = "from", until_param = "to", records = "items", id = "ticket_id", window = "14d" } }
        total = { field = "count", per = "page" }
    "#;

    fn parsed(text: &str) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "secret-key\n").unwrap();
        let config = Config::from_toml(text, dir.path()).unwrap();
        (dir, config)
    }

    #[test]
    fn an_object_becomes_a_stream_of_the_shared_runtime() {
        let (dir, config) = parsed(TOML);
        let parsed = conf::parse("helpdesk", &config.raw.sources["helpdesk"], None).unwrap();
        let def = stream(&parsed.objects[0]);
        let full = (def.first_request)(None);
        assert_eq!(full.path, "/tickets");
        let q = |r: &RequestSpec| r.query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
        assert_eq!(q(&full), ["order_by=updated_at", "limit=50", "since=0"], "a full read sends `start`");
        let since = json!("2024-01-31T09:15:00.000Z");
        assert_eq!(q(&(def.first_request)(Some(&since))), ["order_by=updated_at", "limit=50", "since=1706692500"]);
        assert!(matches!(&def.paginator, Paginator::NextToken { param, last: None, .. } if param == "token"));
        assert_eq!((def.cursor_field.as_ref().unwrap().as_str(), def.overlap_seconds), ("updated_at", 60));
        assert_eq!(def.deleted_when, Some((accord_core::FieldPath::key("state"), json!("gone"))));
        assert!(def.authoritative && def.reconcile_every.is_none());
        assert!(matches!(&def.total, Some(Total::Page(f)) if f.as_str() == "count"));
        let feed = def.deletions.as_ref().unwrap();
        assert_eq!((feed.list.as_str(), feed.id.as_str(), feed.window.num_days()), ("items", "ticket_id", 14));
        let (from, to) = (DateTime::from_timestamp(1_000, 0).unwrap(), DateTime::from_timestamp(2_000, 0).unwrap());
        let gone = (feed.request)(from, to);
        assert_eq!(gone.path, "/tickets/deleted");
        assert_eq!(q(&gone), ["all=true", "limit=50", "from=1000", "to=2000"], "the cursor's format, the page size");
        let c = connector("helpdesk", &config.raw.sources["helpdesk"], &config, dir.path()).unwrap();
        assert_eq!((c.kind(), c.objects()[0].name.as_str()), ("http", "tickets"));
    }

    #[test]
    fn auth_reads_its_secrets_and_names_a_missing_one() {
        let (dir, config) = parsed(TOML);
        let source = &config.raw.sources["helpdesk"];
        let s = conf::parse("helpdesk", source, None).unwrap().settings;
        match auth("helpdesk", &s.auth, dir.path()).unwrap() {
            Auth::Basic { user, password } => assert_eq!((user.as_str(), password.expose()), ("secret-key", "X")),
            other => panic!("{other:?}"),
        }
        let header = HttpAuth::ApiKey {
            header: Some("Authorization".into()),
            query: None,
            key: accord_core::secret::SecretRef::File { file: "key".into() },
            prefix: Some("Token token=".into()),
        };
        match auth("helpdesk", &header, dir.path()).unwrap() {
            Auth::Header { name, value } => {
                assert_eq!((name.as_str(), value.expose()), ("Authorization", "Token token=secret-key"))
            }
            other => panic!("{other:?}"),
        }
        let c = connector("helpdesk", source, &config, dir.path()).unwrap();
        assert!(!format!("{c:?}").contains("secret-key"), "the key is the Basic user: never printed");
        std::fs::remove_file(dir.path().join("key")).unwrap();
        let e = connector("helpdesk", source, &config, dir.path()).unwrap_err();
        assert_eq!(e.key, "sources.helpdesk.auth.username");
        assert!(!e.to_string().contains("secret-key"));
    }

    #[test]
    fn a_429_waits_as_long_as_the_configured_header_says() {
        let mut h = HeaderMap::new();
        h.insert("x-wait", HeaderValue::from_static("7"));
        h.insert("retry-after", HeaderValue::from_static("1"));
        let seconds = Signals { retry: RetrySignal { header: "X-Wait".into(), format: WaitFormat::Seconds } };
        let v = seconds.classify(StatusCode::TOO_MANY_REQUESTS, &h, b"");
        assert_eq!(v, Verdict::RateLimited(std::time::Duration::from_secs(7)));
        let reset = (Utc::now().timestamp() + 30).to_string();
        h.insert("x-reset", HeaderValue::from_str(&reset).unwrap());
        let unix = Signals { retry: RetrySignal { header: "X-Reset".into(), format: WaitFormat::UnixTime } };
        let Verdict::RateLimited(wait) = unix.classify(StatusCode::TOO_MANY_REQUESTS, &h, b"") else { panic!() };
        assert!((28..=30).contains(&wait.as_secs()), "{wait:?}");
        // Without the configured header, HTTP's Retry-After; other answers as HTTP says.
        let other = Signals { retry: RetrySignal { header: "X-None".into(), format: WaitFormat::Seconds } };
        assert_eq!(
            other.classify(StatusCode::TOO_MANY_REQUESTS, &h, b""),
            Verdict::RateLimited(std::time::Duration::from_secs(1))
        );
        assert!(matches!(other.classify(StatusCode::SERVICE_UNAVAILABLE, &h, b""), Verdict::Transient(_)));
        assert_eq!(other.classify(StatusCode::OK, &h, b""), Verdict::Ok);
    }

    #[test]
    fn the_example_in_examples_rest_is_a_valid_source() {
        let example = include_str!("../../../../examples/rest/freshdesk.toml");
        let text = format!(
            "[system_of_record]\nsource = \"crm\"\nobject = \"accounts\"\naccount_id = \"n\"\n[sources.crm]\nkind = \"file\"\n[[sources.crm.objects]]\nname = \"accounts\"\nkind = \"account\"\npath = \"a.csv\"\n{example}"
        );
        let config = Config::from_toml(&text, Path::new(".")).unwrap();
        let parsed = conf::parse("freshdesk", &config.raw.sources["freshdesk"], None).unwrap();
        let names: Vec<_> = parsed.objects.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["companies", "contacts", "tickets"]);
    }

    #[test]
    fn the_readme_example_is_a_valid_source() {
        let readme = include_str!("../../../../README.md");
        let section = &readme[readme.find("## Adding a REST source").expect("the README section")..];
        let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
        let block = &section[start..start + section[start..].find("```").unwrap()];
        let text = format!(
            "[system_of_record]\nsource = \"crm\"\nobject = \"accounts\"\naccount_id = \"n\"\n[sources.crm]\nkind = \"file\"\n[[sources.crm.objects]]\nname = \"accounts\"\nkind = \"account\"\npath = \"a.csv\"\n{block}"
        );
        let config = Config::from_toml(&text, Path::new(".")).unwrap();
        let parsed = conf::parse("freshdesk", &config.raw.sources["freshdesk"], None).unwrap();
        assert_eq!(parsed.objects.len(), 2);
    }
}
