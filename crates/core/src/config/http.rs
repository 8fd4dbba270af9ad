//! `kind = "http"` sources: a REST API described in `accord.toml`, for systems accord does not
//! ship a connector for.
//!
//! The source table holds the base URL, the auth method, an optional rate limit, the header that
//! says when to retry, and extra headers. Its `[[sources.<name>.objects]]` entries are written like
//! a file source's (`name`, `kind`, `native_id`, `link`, `normalize`, `fields`, `records`, with
//! `path` the list's path under the base URL) plus how the list is read: `params`, `paginator`,
//! `cursor`, `deletions` and `total`. Those five stay TOML tables in [`ObjectConfig`], so that
//! [`parse`] can name the source, the object and the key of every mistake; the connector runtime
//! (`accord_connectors::http::source`) maps the parsed form onto its `StreamDef`s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ConfigError, ObjectConfig, SourceConfig};
use crate::Normalizer;
use crate::path::FieldPath;
use crate::record::{FieldMapping, ObjectKind};
use crate::rule::LinkRule;
use crate::secret::SecretRef;
use crate::time::Period;

/// A rate limit to keep to: `rate_limit = { requests = 100, per_seconds = 60 }`. Vendor sources
/// take the same setting to override their documented limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSetting {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window, in seconds.
    pub per_seconds: f64,
}

/// `[sources.<name>]` settings of kind `http` (beside `kind` and `objects`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Where the API lives, `https://host/api/v2`; object paths are appended to it.
    pub base_url: String,
    /// How requests authenticate.
    pub auth: HttpAuth,
    /// The API's documented limit; without one, only its 429 answers slow the client down.
    pub rate_limit: Option<RateLimitSetting>,
    /// Ignore `rate_limit` (for emulators and tests).
    #[serde(default)]
    pub unthrottled: bool,
    /// Which header of a 429 answer says when to retry.
    #[serde(default)]
    pub retry: RetrySignal,
    /// Headers every request sends (`Accept = "application/json"`). Not for secrets: use `auth`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// How a source authenticates: `auth = { kind = "bearer", token = { env = "API_TOKEN" } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HttpAuth {
    /// No credentials.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer { token: SecretRef },
    /// HTTP Basic. APIs that take a key as the user (Freshdesk) write
    /// `username = { env = "KEY" }, password = "X"`.
    Basic { username: Credential, password: Credential },
    /// A key in a header (`header = "X-Api-Key"`) or a query parameter (`query = "api_key"`), the
    /// header's value optionally after a `prefix` (`"Token token="`).
    ApiKey { header: Option<String>, query: Option<String>, key: SecretRef, prefix: Option<String> },
    /// OAuth2 refresh-token grant at `token_url`; the access token is cached until refused.
    #[serde(rename = "oauth2")]
    OAuth2 { token_url: String, client_id: SecretRef, client_secret: SecretRef, refresh_token: SecretRef },
}

/// A credential written as text (a user name, Freshdesk's `X`) or read as a secret.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(untagged, expecting = "text, or a secret written as { env = \"VAR\" } or { file = \"path\" }")]
pub enum Credential {
    Secret(SecretRef),
    Text(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Secret(s) => s.fmt(f),
            Credential::Text(_) => f.write_str("Credential(text)"),
        }
    }
}

/// Which header of a 429 answer says when to retry: `retry = { header = "X-RateLimit-Reset",
/// format = "unix_time" }`. `Retry-After` in seconds by default.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySignal {
    #[serde(default = "retry_after")]
    pub header: String,
    #[serde(default)]
    pub format: WaitFormat,
}

fn retry_after() -> String {
    "Retry-After".into()
}

impl Default for RetrySignal {
    fn default() -> Self {
        Self { header: retry_after(), format: WaitFormat::Seconds }
    }
}

/// How a retry header says when: seconds to wait, or the Unix time to wait until.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitFormat {
    #[default]
    Seconds,
    UnixTime,
}

/// How a list pages, written by name with its parameters:
/// `paginator = { kind = "link_header", per_page = 100 }`. `per_page` (with `per_page_param`,
/// default `per_page`) is the page size each request asks for; without it the API's default.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaginatorConfig {
    /// The answer's `Link` header names the next page (`rel="next"`).
    LinkHeader {
        per_page: Option<u32>,
        #[serde(default = "per_page_param")]
        per_page_param: String,
    },
    /// The answer holds the next page's URL at `field`; `done` is an optional "last page" flag.
    NextUrl {
        field: FieldPath,
        done: Option<FieldPath>,
        per_page: Option<u32>,
        #[serde(default = "per_page_param")]
        per_page_param: String,
    },
    /// The token at `field` goes back as the query parameter `param`; no token, or `last` true,
    /// ends the list.
    NextToken {
        field: FieldPath,
        param: String,
        last: Option<FieldPath>,
        per_page: Option<u32>,
        #[serde(default = "per_page_param")]
        per_page_param: String,
    },
    /// The token at `field` goes back as `starting_after` (Intercom's cursor).
    StartingAfter {
        field: FieldPath,
        per_page: Option<u32>,
        #[serde(default = "per_page_param")]
        per_page_param: String,
    },
    /// Page numbers in `param` from `first`, while the answer has a non-null `next` or its `page`
    /// is below `total_pages`.
    PageNumber {
        #[serde(default = "page_param")]
        param: String,
        #[serde(default = "one")]
        first: u64,
        #[serde(default = "next_path")]
        next: FieldPath,
        #[serde(default = "page_path")]
        page: FieldPath,
        #[serde(default = "total_pages_path")]
        total_pages: FieldPath,
        per_page: Option<u32>,
        #[serde(default = "per_page_param")]
        per_page_param: String,
    },
    /// Page numbers in `param` from `first` until an empty page.
    UntilEmpty {
        #[serde(default = "page_param")]
        param: String,
        #[serde(default = "one")]
        first: u64,
        per_page: Option<u32>,
        #[serde(default = "per_page_param")]
        per_page_param: String,
    },
    /// One answer holds the whole list.
    Single,
}

/// The paginator names, as written.
pub const PAGINATORS: &[&str] =
    &["link_header", "next_url", "next_token", "starting_after", "page_number", "until_empty", "single"];

fn per_page_param() -> String {
    "per_page".into()
}
fn page_param() -> String {
    "page".into()
}
fn one() -> u64 {
    1
}
fn next_path() -> FieldPath {
    FieldPath::key("next")
}
fn page_path() -> FieldPath {
    FieldPath::key("page")
}
fn total_pages_path() -> FieldPath {
    FieldPath::key("total_pages")
}
fn id_path() -> FieldPath {
    FieldPath::key("id")
}

impl PaginatorConfig {
    /// The page-size parameter and its value, when the paginator asks for a size.
    pub fn page_size(&self) -> Option<(&str, u32)> {
        match self {
            PaginatorConfig::LinkHeader { per_page, per_page_param }
            | PaginatorConfig::NextUrl { per_page, per_page_param, .. }
            | PaginatorConfig::NextToken { per_page, per_page_param, .. }
            | PaginatorConfig::StartingAfter { per_page, per_page_param, .. }
            | PaginatorConfig::PageNumber { per_page, per_page_param, .. }
            | PaginatorConfig::UntilEmpty { per_page, per_page_param, .. } => {
                per_page.map(|n| (per_page_param.as_str(), n))
            }
            PaginatorConfig::Single => None,
        }
    }
}

/// The incremental cursor: `cursor = { field = "updated_at", param = "updated_since" }`. After a
/// finished pass, the next one sends `param` = the greatest `field` seen, less `overlap_seconds`,
/// written in `format`. A full read sends `start` when given (for lists that hold only recent
/// records without the filter), else no `param`; so does a pass whose mark is not a time in
/// `format` (it reads more, never less).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorConfig {
    pub field: FieldPath,
    pub param: String,
    #[serde(default)]
    pub format: TimeFormat,
    #[serde(default)]
    pub overlap_seconds: i64,
    pub start: Option<String>,
}

/// How a cursor value is written into a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// `2024-01-31T09:15:00Z` (whole seconds).
    #[default]
    Rfc3339,
    /// `2024-01-31T09:15:00.000Z`.
    Rfc3339Millis,
    /// Unix seconds.
    Unix,
    /// Unix milliseconds.
    UnixMillis,
    /// `2024-01-31`.
    Date,
    /// The field's value as the API gave it (a sequence number, an opaque version).
    Raw,
}

impl TimeFormat {
    /// A cursor value in this form; `None` when it is not a time (for the time forms).
    pub fn write(self, value: &Value) -> Option<String> {
        if self == TimeFormat::Raw {
            return match value {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
        }
        Some(self.write_time(crate::time::parse_timestamp(value)?))
    }

    /// An instant in this form (`Raw` writes RFC 3339).
    pub fn write_time(self, t: crate::time::Timestamp) -> String {
        use chrono::SecondsFormat;
        match self {
            TimeFormat::Rfc3339 | TimeFormat::Raw => t.to_rfc3339_opts(SecondsFormat::Secs, true),
            TimeFormat::Rfc3339Millis => t.to_rfc3339_opts(SecondsFormat::Millis, true),
            TimeFormat::Unix => t.timestamp().to_string(),
            TimeFormat::UnixMillis => t.timestamp_millis().to_string(),
            TimeFormat::Date => t.format("%Y-%m-%d").to_string(),
        }
    }
}

/// How deletions show: `deletions = { authoritative = true, field = "deleted", value = true,
/// feed = { ... } }`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionsConfig {
    /// A read without the cursor lists every record the API still has, so one it misses was
    /// deleted: such reads reconcile (the first, `--full`, a gap in the feed, `reconcile_every`).
    #[serde(default)]
    pub authoritative: bool,
    /// Without a feed: how often a sync reads the whole list to reconcile (`"7d"`, `"off"`).
    pub reconcile_every: Option<Period>,
    /// A record field and the value meaning "deleted" (`field = "deleted", value = true`).
    pub field: Option<FieldPath>,
    pub value: Option<toml::Value>,
    /// A list of deleted records, read at the start of every incremental pass.
    pub feed: Option<DeletionFeedConfig>,
}

/// A list of deletions since an instant: `feed = { path = "/tickets", params = { filter =
/// "deleted" }, since_param = "updated_since", window = "30d" }`, paged like its stream when
/// that pages by `Link` header.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionFeedConfig {
    pub path: String,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// The parameter taking the start (the end of the last read), in `format`.
    pub since_param: String,
    /// The parameter taking the end, when the API wants one.
    pub until_param: Option<String>,
    /// How times are written (default: the cursor's format, else RFC 3339).
    pub format: Option<TimeFormat>,
    /// Where the array of deletions sits in the answer (default: the answer itself).
    #[serde(default = "FieldPath::root")]
    pub records: FieldPath,
    /// The deleted record's id inside each entry.
    #[serde(default = "id_path")]
    pub id: FieldPath,
    /// How long the API keeps deletions listed (`"30d"`, or `"off"` for forever): an older start
    /// reads the whole list instead.
    pub window: Period,
    /// The shortest span the API accepts between start and end.
    pub min_span: Option<Period>,
    /// Where the answer says the next read must start.
    pub next_start: Option<FieldPath>,
    /// Where the answer says how far back the log reaches.
    pub earliest: Option<FieldPath>,
}

/// The count the API reports: `total = { field = "meta.total" }` (records of the whole pass, the
/// default) or `{ field = "count", per = "page" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotalConfig {
    pub field: FieldPath,
    #[serde(default)]
    pub per: TotalPer,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TotalPer {
    #[default]
    Pass,
    Page,
}

/// One object of an `http` source, parsed.
#[derive(Debug, Clone)]
pub struct HttpObject {
    pub name: String,
    pub kind: ObjectKind,
    pub native_id: Option<FieldPath>,
    pub link: Vec<LinkRule>,
    pub normalize: Vec<Normalizer>,
    pub fields: FieldMapping,
    /// The list's path under the base URL, `/companies`.
    pub path: String,
    /// Where the array of records sits in an answer (an answer that is an array is the records).
    pub records: FieldPath,
    /// Query parameters every request of the list sends, as text.
    pub params: Vec<(String, String)>,
    pub paginator: PaginatorConfig,
    pub cursor: Option<CursorConfig>,
    pub deletions: DeletionsConfig,
    /// `deletions.value` as JSON.
    pub deleted_value: Option<Value>,
    /// The feed's parameters, as text.
    pub feed_params: Vec<(String, String)>,
    pub total: Option<TotalConfig>,
}

/// An `http` source, parsed and checked.
#[derive(Debug, Clone)]
pub struct HttpSource {
    pub settings: HttpSettings,
    pub objects: Vec<HttpObject>,
}

/// Parses and checks an `http` source. `sor_object` is the System of Record's object when this
/// source holds it. Every error's key names the source, the object (by position) and the key.
pub fn parse(name: &str, source: &SourceConfig, sor_object: Option<&str>) -> Result<HttpSource, ConfigError> {
    let key = format!("sources.{name}");
    let settings: HttpSettings = source
        .settings
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::new(&key, e.message().to_owned()))?;
    check_url(&format!("{key}.base_url"), &settings.base_url)?;
    check_auth(&format!("{key}.auth"), &settings.auth)?;
    if let Some(limit) = settings.rate_limit
        && (limit.requests == 0 || !(limit.per_seconds > 0.0 && limit.per_seconds.is_finite()))
    {
        return Err(ConfigError::new(
            format!("{key}.rate_limit"),
            "write a positive number of requests per a positive number of seconds",
        ));
    }
    if settings.retry.header.trim().is_empty() {
        return Err(ConfigError::new(format!("{key}.retry.header"), "name the header, e.g. \"Retry-After\""));
    }
    if source.objects.is_empty() {
        return Err(ConfigError::new(
            format!("{key}.objects"),
            "an http source lists its objects as [[sources.<name>.objects]] entries",
        ));
    }
    let objects = source
        .objects
        .iter()
        .enumerate()
        .map(|(i, o)| parse_object(&format!("{key}.objects[{i}]"), o, sor_object == Some(o.name.as_str())))
        .collect::<Result<_, _>>()?;
    Ok(HttpSource { settings, objects })
}

fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    let ok = host.is_some_and(|h| !h.is_empty() && !h.contains(char::is_whitespace))
        && !url.contains(['?', '#'])
        && !url.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            key,
            format!("{url:?} is not a base URL: write http(s)://host[:port][/path], without a query"),
        ))
    }
}

fn check_auth(key: &str, auth: &HttpAuth) -> Result<(), ConfigError> {
    match auth {
        HttpAuth::ApiKey { header, query, prefix, .. } => match (header, query) {
            (Some(h), None) if !h.trim().is_empty() => Ok(()),
            (None, Some(q)) if !q.trim().is_empty() => {
                if prefix.is_some() {
                    Err(ConfigError::new(format!("{key}.prefix"), "a prefix is for keys sent in a header"))
                } else {
                    Ok(())
                }
            }
            _ => Err(ConfigError::new(
                key,
                "an api_key is sent in one place: set either header = \"<name>\" or query = \"<name>\"",
            )),
        },
        HttpAuth::OAuth2 { token_url, .. } => check_url(&format!("{key}.token_url"), token_url),
        HttpAuth::None | HttpAuth::Bearer { .. } | HttpAuth::Basic { .. } => Ok(()),
    }
}

/// Deserializes one of an object's HTTP tables, naming the object and the key on error.
fn table<T: for<'de> Deserialize<'de>>(key: &str, object: &str, t: &toml::Table) -> Result<T, ConfigError> {
    t.clone()
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::new(key, format!("object {object:?}: {}", e.message())))
}

/// A query parameter's value as text: strings, integers and booleans.
fn param_text(key: &str, v: &toml::Value) -> Result<String, ConfigError> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => Err(ConfigError::new(
            key,
            format!("a query parameter is text, an integer or a boolean, not a {}", other.type_str()),
        )),
    }
}

fn params<'a>(
    key: &str,
    it: impl Iterator<Item = (&'a String, &'a toml::Value)>,
) -> Result<Vec<(String, String)>, ConfigError> {
    it.map(|(k, v)| Ok((k.clone(), param_text(&format!("{key}.{k}"), v)?))).collect()
}

fn check_path(key: &str, path: &str) -> Result<(), ConfigError> {
    if path.starts_with('/') && !path.contains(['?', '#']) && !path.chars().any(char::is_whitespace) {
        Ok(())
    } else {
        Err(ConfigError::new(
            key,
            format!(
                "{path:?} is not a path under the base URL: write it from its first '/', and query parameters in params"
            ),
        ))
    }
}

fn parse_object(okey: &str, o: &ObjectConfig, is_sor: bool) -> Result<HttpObject, ConfigError> {
    let name = o.name.as_str();
    let kind = super::require_kind_id_link(okey, o, is_sor, "http")?;
    if o.format.is_some() || o.delimiter.is_some() {
        return Err(ConfigError::new(okey, "format and delimiter are for file sources only"));
    }
    let Some(path) = &o.path else {
        return Err(ConfigError::new(
            format!("{okey}.path"),
            "http objects need the path of their list, e.g. \"/companies\"",
        ));
    };
    let path = path.to_str().unwrap_or_default().to_owned();
    check_path(&format!("{okey}.path"), &path)?;
    let Some(paginator) = &o.paginator else {
        return Err(ConfigError::new(
            format!("{okey}.paginator"),
            format!("name how the list pages: {{ kind = \"...\" }}, one of {}", PAGINATORS.join(", ")),
        ));
    };
    let paginator: PaginatorConfig = table(&format!("{okey}.paginator"), name, paginator)?;
    if paginator.page_size().is_some_and(|(_, n)| n == 0) {
        return Err(ConfigError::new(format!("{okey}.paginator.per_page"), "ask for at least one record per page"));
    }
    let cursor: Option<CursorConfig> =
        o.cursor.as_ref().map(|t| table(&format!("{okey}.cursor"), name, t)).transpose()?;
    if let Some(c) = &cursor {
        if c.param.trim().is_empty() {
            return Err(ConfigError::new(format!("{okey}.cursor.param"), "name the query parameter of the filter"));
        }
        if c.overlap_seconds < 0 {
            return Err(ConfigError::new(format!("{okey}.cursor.overlap_seconds"), "the overlap is zero or more"));
        }
    }
    let deletions: DeletionsConfig =
        o.deletions.as_ref().map(|t| table(&format!("{okey}.deletions"), name, t)).transpose()?.unwrap_or_default();
    let dkey = format!("{okey}.deletions");
    let deleted_value = match (&deletions.field, &deletions.value) {
        (Some(_), Some(v)) => {
            Some(serde_json::to_value(v).map_err(|e| ConfigError::new(format!("{dkey}.value"), e.to_string()))?)
        }
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::new(format!("{dkey}.value"), "say which value of the field means deleted"));
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(format!("{dkey}.field"), "name the field whose value means deleted"));
        }
    };
    if deletions.reconcile_every.is_some_and(|p| p.0.is_some()) && !deletions.authoritative {
        return Err(ConfigError::new(
            format!("{dkey}.reconcile_every"),
            "only a list that holds every record reconciles deletions: set authoritative = true",
        ));
    }
    let mut feed_params = Vec::new();
    if let Some(feed) = &deletions.feed {
        let fkey = format!("{dkey}.feed");
        if deletions.reconcile_every.is_some() {
            return Err(ConfigError::new(
                format!("{dkey}.reconcile_every"),
                "a stream with a deletion feed reconciles when the feed has a gap; leave reconcile_every out",
            ));
        }
        check_path(&format!("{fkey}.path"), &feed.path)?;
        if feed.since_param.trim().is_empty() {
            return Err(ConfigError::new(format!("{fkey}.since_param"), "name the parameter taking the start"));
        }
        feed_params = params(&format!("{fkey}.params"), feed.params.iter())?;
    }
    let total: Option<TotalConfig> = o.total.as_ref().map(|t| table(&format!("{okey}.total"), name, t)).transpose()?;
    let query = match &o.params {
        Some(t) => params(&format!("{okey}.params"), t.iter())?,
        None => Vec::new(),
    };
    Ok(HttpObject {
        name: o.name.clone(),
        kind,
        native_id: o.native_id.clone(),
        link: o.link.clone().unwrap_or_default(),
        normalize: o.normalize.clone(),
        fields: o.fields.clone(),
        path,
        records: o.records.clone().unwrap_or_else(FieldPath::root),
        params: query,
        paginator,
        cursor,
        deletions,
        deleted_value,
        feed_params,
        total,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::Config;

    const GOOD: &str = r#"
        [system_of_record]
        source = "crm"
        object = "accounts"
        account_id = "number"

        [sources.crm]
        kind = "http"
        base_url = "https://crm.example.com/api"
        auth = { kind = "bearer", token = { env = "CRM_TOKEN" } }
        [[sources.crm.objects]]
        name = "accounts"
        kind = "account"
        path = "/accounts"
        native_id = "id"
        records = "data"
        paginator = { kind = "next_url", field = "links.next" }
        total = { field = "meta.total" }

        [sources.helpdesk]
        kind = "http"
        base_url = "http://127.0.0.1:8080/api/v2"
        auth = { kind = "basic", username = { env = "HD_KEY" }, password = "X" }
        rate_limit = { requests = 100, per_seconds = 60 }
        retry = { header = "X-RateLimit-Reset", format = "unix_time" }
        [[sources.helpdesk.objects]]
        name = "companies"
        kind = "organization"
        path = "/companies"
        native_id = "id"
        link = [{ rule = "field", field = "custom_fields.account_id" }]
        fields = { name = "name" }
        paginator = { kind = "link_header", per_page = 100 }
        deletions = { authoritative = true, reconcile_every = "7d" }
        [[sources.helpdesk.objects]]
        name = "tickets"
        kind = "ticket"
        path = "/tickets"
        native_id = "id"
        link = [{ rule = "parent", field = "company_id", object = "companies" }]
        params = { order_by = "updated_at", limit = 5, archived = false }
        paginator = { kind = "page_number", per_page = 50, per_page_param = "limit" }
        cursor = { field = "updated_at", param = "updated_since", format = "unix", overlap_seconds = 60 }
        deletions = { field = "status", value = "deleted", feed = { path = "/tickets/deleted", since_param = "since", window = "30d" } }
    "#;

    fn err(text: &str) -> ConfigError {
        Config::from_toml(text, Path::new(".")).unwrap_err()
    }

    fn helpdesk(text: &str) -> HttpSource {
        let c = Config::from_toml(text, Path::new(".")).unwrap();
        parse("helpdesk", &c.raw.sources["helpdesk"], None).unwrap()
    }

    #[test]
    fn an_http_source_parses_into_its_objects() {
        let s = helpdesk(GOOD);
        assert_eq!(s.settings.base_url, "http://127.0.0.1:8080/api/v2");
        assert_eq!(s.settings.retry, RetrySignal { header: "X-RateLimit-Reset".into(), format: WaitFormat::UnixTime });
        assert!(matches!(s.settings.auth, HttpAuth::Basic { password: Credential::Text(ref p), .. } if p == "X"));
        let [companies, tickets] = &s.objects[..] else { panic!("two objects") };
        assert_eq!(companies.paginator.page_size(), Some(("per_page", 100)));
        assert_eq!(companies.records, FieldPath::root(), "an answer's records default to the answer itself");
        assert_eq!(companies.deletions.reconcile_every, Some(Period(Some(chrono::Duration::days(7)))));
        assert_eq!(tickets.paginator.page_size(), Some(("limit", 50)));
        assert!(matches!(&tickets.paginator, PaginatorConfig::PageNumber { param, first: 1, .. } if param == "page"));
        let params: Vec<_> = tickets.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(params, ["archived=false", "limit=5", "order_by=updated_at"]);
        assert_eq!(tickets.cursor.as_ref().unwrap().format, TimeFormat::Unix);
        assert_eq!(tickets.deleted_value, Some(serde_json::json!("deleted")));
        assert_eq!(tickets.deletions.feed.as_ref().unwrap().id, FieldPath::key("id"));
        let c = Config::from_toml(GOOD, Path::new(".")).unwrap();
        let crm = parse("crm", &c.raw.sources["crm"], Some("accounts")).unwrap();
        assert!(crm.objects[0].link.is_empty() && crm.objects[0].total.is_some());
    }

    #[test]
    fn an_unknown_paginator_names_the_source_object_and_key_and_the_known_ones() {
        let e = err(&GOOD.replace("kind = \"link_header\"", "kind = \"cursor\""));
        assert_eq!(e.key, "sources.helpdesk.objects[0].paginator");
        assert!(e.message.contains("\"companies\"") && e.message.contains("cursor"), "{e}");
        assert!(e.message.contains("link_header") && e.message.contains("next_token"), "{e}");
        let e = err(&GOOD.replace("paginator = { kind = \"link_header\", per_page = 100 }\n", ""));
        assert_eq!(e.key, "sources.helpdesk.objects[0].paginator");
        assert!(e.message.contains("until_empty"), "{e}");
        let e = err(&GOOD.replace("per_page = 100", "page_size = 100"));
        assert_eq!(e.key, "sources.helpdesk.objects[0].paginator");
        assert!(e.message.contains("page_size") && e.message.contains("per_page"), "{e}");
        let e = err(&GOOD.replace("per_page = 100", "per_page = 0"));
        assert_eq!(e.key, "sources.helpdesk.objects[0].paginator.per_page");
    }

    #[test]
    fn a_missing_field_names_the_object_and_the_key() {
        let e = err(&GOOD.replace("param = \"updated_since\", ", ""));
        assert_eq!(e.key, "sources.helpdesk.objects[1].cursor");
        assert!(e.message.contains("\"tickets\"") && e.message.contains("missing field `param`"), "{e}");
        let e = err(&GOOD.replace("path = \"/tickets\"\n", ""));
        assert_eq!(e.key, "sources.helpdesk.objects[1].path");
        let e = err(&GOOD.replace("since_param = \"since\", ", ""));
        assert_eq!(e.key, "sources.helpdesk.objects[1].deletions");
        assert!(e.message.contains("since_param"), "{e}");
        let e = err(&GOOD.replace("window = \"30d\"", "window = \"a month\""));
        assert_eq!(e.key, "sources.helpdesk.objects[1].deletions");
        assert!(e.message.contains("not a period"), "{e}");
        let e = err(&GOOD.replace("field = \"status\", ", ""));
        assert_eq!(e.key, "sources.helpdesk.objects[1].deletions.field");
        let e = err(
            &GOOD.replace("native_id = \"id\"\n        link = [{ rule = \"parent\"", "link = [{ rule = \"parent\"")
        );
        assert_eq!(e.key, "sources.helpdesk.objects[1].native_id");
        let e = err(&GOOD.replace("kind = \"ticket\"\n", ""));
        assert_eq!(e.key, "sources.helpdesk.objects[1].kind");
        let e = err(&GOOD.replace(", token = { env = \"CRM_TOKEN\" }", ""));
        assert_eq!(e.key, "sources.crm");
        assert!(e.message.contains("token"), "{e}");
    }

    #[test]
    fn a_bad_url_or_path_names_its_key() {
        for bad in ["127.0.0.1:8080/api/v2", "http:///api", "http://host/api?x=1", "ftp://host"] {
            let e = err(&GOOD.replace("http://127.0.0.1:8080/api/v2", bad));
            assert_eq!(e.key, "sources.helpdesk.base_url", "{bad}");
            assert!(e.message.contains(bad), "{e}");
        }
        let e = err(&GOOD.replace("path = \"/companies\"", "path = \"companies?page=1\""));
        assert_eq!(e.key, "sources.helpdesk.objects[0].path");
        let e = err(&GOOD.replace("path = \"/tickets/deleted\"", "path = \"tickets/deleted\""));
        assert_eq!(e.key, "sources.helpdesk.objects[1].deletions.feed.path");
    }

    #[test]
    fn settings_and_references_are_checked() {
        let e = err(&GOOD.replace("retry = {", "retries = {"));
        assert_eq!(e.key, "sources.helpdesk");
        assert!(e.message.contains("retries") && e.message.contains("rate_limit"), "{e}");
        let e = err(&GOOD.replace("object = \"companies\"", "object = \"orgs\""));
        assert_eq!(e.key, "sources.helpdesk.objects[1].link[0].object", "http objects are all listed: {e}");
        let e =
            err(&GOOD.replace("object = \"accounts\"\n        account_id", "object = \"Account\"\n        account_id"));
        assert_eq!(e.key, "system_of_record.object");
        let e = err(&GOOD.replace(
            "auth = { kind = \"bearer\", token = { env = \"CRM_TOKEN\" } }",
            "auth = { kind = \"api_key\", header = \"X-Key\", query = \"key\", key = { env = \"K\" } }",
        ));
        assert_eq!(e.key, "sources.crm.auth");
        let e = err(&GOOD.replace("params = { order_by", "params = { since = 2024-01-01, order_by"));
        assert_eq!(e.key, "sources.helpdesk.objects[1].params.since");
        let e = err(&GOOD
            .replace("reconcile_every = \"7d\"", "reconcile_every = \"7d\", authoritative = false")
            .replace("authoritative = true, ", ""));
        assert_eq!(e.key, "sources.helpdesk.objects[0].deletions.reconcile_every");
        let file = r#"
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
            paginator = { kind = "single" }
        "#;
        let e = err(file);
        assert_eq!(e.key, "sources.crm.objects[0]");
        assert!(e.message.contains("for http sources only"), "{e}");
    }

    #[test]
    fn cursor_values_are_written_in_the_chosen_form() {
        let v = serde_json::json!("2024-01-31T09:15:00.250Z");
        assert_eq!(TimeFormat::Rfc3339.write(&v).unwrap(), "2024-01-31T09:15:00Z");
        assert_eq!(TimeFormat::Rfc3339Millis.write(&v).unwrap(), "2024-01-31T09:15:00.250Z");
        assert_eq!(TimeFormat::Unix.write(&v).unwrap(), "1706692500");
        assert_eq!(TimeFormat::UnixMillis.write(&v).unwrap(), "1706692500250");
        assert_eq!(TimeFormat::Date.write(&v).unwrap(), "2024-01-31");
        assert_eq!(TimeFormat::Raw.write(&serde_json::json!(42)).unwrap(), "42");
        assert_eq!(TimeFormat::Rfc3339.write(&serde_json::json!("soon")), None);
    }

    #[test]
    fn a_credential_never_prints_its_text() {
        let c = Credential::Text("hunter2".into());
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
