//! JIRA Cloud (REST v3): issues, as tickets, linked by a custom field holding our account id, or
//! by an issue field whose value equals the account's `support_account_id` (the integration
//! guide's "store the existing id field of JIRA issues as the account's support id").
//!
//! Issues are read with `POST /rest/api/3/search/jql`, paged by `nextPageToken` until `isLast`
//! (the old `/rest/api/3/search` with `startAt` is removed from JIRA Cloud). Incremental passes ask
//! `updated >= "yyyy-MM-dd HH:mm"`: JQL dates have minute precision and are read in the API
//! user's time zone, so the start is floored to the minute and moved back by the overlap; when
//! `GET /rest/api/3/myself` names a time zone other than UTC, by 14 hours more (the widest
//! offset), since no time-zone database is linked in. Issues at the previous pass's high-water
//! mark are skipped once; other repeats are upserts of the same issue.
//!
//! Users write custom fields by name, as JIRA shows them (`account_field = "Account ID"`):
//! before the first page, `GET /rest/api/3/field` maps the names to their ids, and every issue
//! gets a `fields_by_name` member holding its custom fields' values under their names, which the
//! link rules read. A name that no custom field has, or that two have, fails the stream naming
//! the candidates (write `fields.customfield_NNNNN` instead). Auth is Basic email + API token;
//! 429s (and some 503s) carry `Retry-After`. JIRA has no deletion feed: every `reconcile_every` a
//! pass re-reads the whole list.
//!
//! `accord propagate` writes the account id into the account field of issues linked another way
//! (by their support id): `PUT /rest/api/3/issue/{id}?returnIssue=true` with the field under its
//! id (resolved through `/field` as the stream does), the answer the edited issue, read back; `GET`
//! of the issue with that one field reads the value now.

mod streams;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use super::common::{self, accept_json};
use super::common::{Period, RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::client::FetchStats;
use crate::http::{Auth, HttpClient, HttpConnector, Limit, RequestSpec, Vendor};
use crate::{Connector, ConnectorError, Item, ObjectSpec, Page, Stream};

/// `[sources.<name>]` settings of kind `jira`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://<your-domain>.atlassian.net`.
    pub base_url: String,
    /// The Atlassian account's email: the user of Basic auth.
    pub email: String,
    /// An API token of that account (id.atlassian.com → Security → API tokens).
    pub api_token: SecretRef,
    /// JQL that restricts the issues read (`project = SUP`), without `ORDER BY`, joined with
    /// `AND` to the incremental filter. Without it every issue the user can see is read.
    pub jql: Option<String>,
    /// The issue custom field holding our account id: its name as JIRA shows it, or a path into
    /// the issue (`fields.customfield_10050`). `"off"` for none.
    #[serde(default = "default_account_field")]
    pub account_field: String,
    /// The issue field whose value equals the account's `support_account_id`: a custom field's
    /// name, or a path into the issue. `"off"` for none.
    #[serde(default = "default_support_id_field")]
    pub support_id_field: String,
    /// Issues asked per page (100 by default; JIRA may serve fewer, and pages end only by
    /// `isLast`).
    #[serde(default = "default_max_results")]
    pub max_results: u32,
    /// How often a pass re-reads every issue to notice deletions (JIRA has no deletion feed):
    /// `"7d"` by default, or `"off"`.
    #[serde(default = "default_reconcile_every")]
    pub reconcile_every: Period,
    /// Requests per minute the client keeps to (JIRA Cloud's limits are cost-based and
    /// unpublished; 600 by default, and every 429's `Retry-After` is obeyed).
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_account_field() -> String {
    "Account ID".into()
}

fn default_support_id_field() -> String {
    "Support ID".into()
}

fn default_max_results() -> u32 {
    100
}

fn default_reconcile_every() -> Period {
    Period(Some(chrono::Duration::days(7)))
}

fn default_per_minute() -> u32 {
    600
}

/// Where a field setting points: a custom field's name (resolved through `/field`), a path, or
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSetting {
    Name(String),
    Path(accord_core::FieldPath),
    Off,
}

impl FieldSetting {
    /// Reads a setting's text; `key` names it in errors.
    pub fn parse(text: &str, key: &str) -> Result<Self, ConfigError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(ConfigError::new(
                key,
                "write a custom field's name, a path such as fields.customfield_10050, or \"off\"",
            ));
        }
        if t.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        if t.starts_with("fields.") || t.starts_with("fields[") || t == "id" || t == "key" {
            return accord_core::FieldPath::parse(t).map(Self::Path).map_err(|e| ConfigError::new(key, e.to_string()));
        }
        if t.contains("\"]") {
            return Err(ConfigError::new(
                key,
                format!("{t:?}: a field name cannot contain \"]; write its path (fields.customfield_NNNNN)"),
            ));
        }
        Ok(Self::Name(t.to_owned()))
    }

    /// The path the link rules read.
    pub fn path(&self) -> Option<accord_core::FieldPath> {
        match self {
            Self::Name(n) => {
                Some(accord_core::FieldPath::parse(&format!("fields_by_name[\"{n}\"]")).expect("checked name"))
            }
            Self::Path(p) => Some(p.clone()),
            Self::Off => None,
        }
    }
}

#[derive(Debug)]
struct JiraRules;

impl Vendor for JiraRules {}

/// What the stream learns before its first page: custom field names and the user's time zone.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// Custom field id → name, for names only one custom field has.
    names: HashMap<String, String>,
    /// The API user's time zone is UTC (JQL dates are read in it).
    pub(crate) utc: bool,
}

/// A configured JIRA source: the HTTP connector and the names its link rules need resolved.
#[derive(Debug)]
pub struct JiraConnector {
    inner: HttpConnector,
    names: Arc<Vec<String>>,
    resolved: Arc<OnceCell<Resolved>>,
    /// The account field: what its rule reads, and how the setting names it.
    account: Option<(accord_core::FieldPath, FieldSetting)>,
}

/// Builds a JIRA source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<JiraConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let token = common::secret(name, "api_token", &s.api_token, base_dir)?;
    if let Some(jql) = &s.jql
        && jql.to_ascii_lowercase().contains("order by")
    {
        return Err(ConfigError::new(
            format!("sources.{name}.jql"),
            format!("{jql:?}: leave ORDER BY out; accord orders by updated to read changes incrementally"),
        ));
    }
    let account = FieldSetting::parse(&s.account_field, &format!("sources.{name}.account_field"))?;
    let support = FieldSetting::parse(&s.support_id_field, &format!("sources.{name}.support_id_field"))?;
    let default = Limit { requests: s.per_minute.max(1), window: Duration::from_secs(60) };
    let client = common::client(
        name,
        &s.base_url,
        Auth::Basic { user: s.email.clone(), password: token },
        effective_limit(s.rate_limit, s.unthrottled, default),
        Box::new(JiraRules),
        vec![accept_json()],
    )?;
    let resolved = Arc::new(OnceCell::new());
    let names: Vec<String> = [&account, &support]
        .into_iter()
        .filter_map(|f| match f {
            FieldSetting::Name(n) => Some(n.clone()),
            _ => None,
        })
        .collect();
    let config = streams::Issues {
        jql: s.jql.clone(),
        max_results: s.max_results.clamp(1, 5000),
        reconcile_every: s.reconcile_every.0,
        account: account.path(),
        support: support.path(),
        resolved: resolved.clone(),
    };
    let mut streams = vec![config.stream()];
    apply_overrides(name, &mut streams, &source.objects)?;
    let account = account.path().map(|p| (p, account));
    Ok(JiraConnector { inner: HttpConnector::new("jira", client, streams), names: Arc::new(names), resolved, account })
}

impl Connector for JiraConnector {
    fn kind(&self) -> &'static str {
        "jira"
    }

    fn objects(&self) -> &[ObjectSpec] {
        self.inner.objects()
    }

    fn write_back(&self) -> Option<&dyn crate::WriteBack> {
        self.account.is_some().then_some(self as &dyn crate::WriteBack)
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        Ok(Box::new(JiraStream {
            inner: self.inner.open_stream(object, cursor, full)?,
            client: self.inner.client().clone(),
            names: self.names.clone(),
            resolved: self.resolved.clone(),
        }))
    }
}

impl JiraConnector {
    /// The id of the account field (`customfield_10050`), its name resolved through `/field`
    /// first where the setting gives a name.
    async fn account_field_id(&self) -> Result<String, ConnectorError> {
        let Some((_, setting)) = &self.account else {
            return Err(ConnectorError::Fatal("jira: account_field is off: nothing to write".into()));
        };
        match setting {
            FieldSetting::Name(name) => {
                let (client, names) = (self.inner.client().clone(), self.names.clone());
                let resolved = self.resolved.get_or_try_init(|| resolve(client, names)).await?;
                resolved.names.iter().find(|(_, n)| *n == name).map(|(id, _)| id.clone()).ok_or_else(|| {
                    ConnectorError::Fatal(format!("jira: no custom field is named {name:?} (account_field)"))
                })
            }
            FieldSetting::Path(path) => path
                .as_str()
                .strip_prefix("fields.")
                .filter(|id| id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                .map(str::to_owned)
                .ok_or_else(|| {
                    ConnectorError::Fatal(format!(
                        "jira: account_field {path} is not a field accord can write; name the custom field"
                    ))
                }),
            FieldSetting::Off => Err(ConnectorError::Fatal("jira: account_field is off: nothing to write".into())),
        }
    }
}

/// A text field's value as the link rules read it: text, a number, or a select's `value`.
fn field_text(fields: Option<&Value>, id: &str) -> Option<String> {
    let v = fields?.get(id)?;
    let v = v.get("value").unwrap_or(v);
    accord_core::id::key_text(v).ok().flatten()
}

impl crate::WriteBack for JiraConnector {
    fn writable_field(&self, object: &str) -> Option<&accord_core::FieldPath> {
        self.account.as_ref().filter(|_| object == "issues").map(|(p, _)| p)
    }

    fn current<'a>(
        &'a self,
        _object: &'a str,
        native_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ConnectorError>> {
        Box::pin(async move {
            let field = self.account_field_id().await?;
            let request = RequestSpec::get(format!("/rest/api/3/issue/{native_id}")).param("fields", field.clone());
            let issue = self.inner.client().fetch(&request, &mut FetchStats::default()).await?;
            Ok(field_text(issue.get("fields"), &field))
        })
    }

    fn write<'a>(
        &'a self,
        _object: &'a str,
        native_id: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async move {
            let field = self.account_field_id().await?;
            let mut fields = Map::new();
            fields.insert(field.clone(), Value::String(value.to_owned()));
            let request = RequestSpec::with_body(
                "PUT",
                format!("/rest/api/3/issue/{native_id}"),
                serde_json::json!({ "fields": fields }),
            )
            .param("returnIssue", "true");
            let issue = self.inner.client().fetch(&request, &mut FetchStats::default()).await?;
            match field_text(issue.get("fields"), &field) {
                Some(v) if v == value => Ok(format!("PUT /rest/api/3/issue/{native_id}: stored in {field}")),
                other => Err(ConnectorError::Fatal(format!(
                    "PUT /rest/api/3/issue/{native_id} answered without the value written (it holds {other:?})"
                ))),
            }
        })
    }
}

/// The issue stream, with custom fields resolved by name before the first page.
struct JiraStream {
    inner: Box<dyn Stream>,
    client: Arc<HttpClient>,
    names: Arc<Vec<String>>,
    resolved: Arc<OnceCell<Resolved>>,
}

impl JiraStream {
    async fn page(&mut self) -> Result<Option<Page>, ConnectorError> {
        let (client, names) = (self.client.clone(), self.names.clone());
        let resolved = self.resolved.get_or_try_init(|| resolve(client, names)).await?;
        let Some(mut page) = self.inner.next_page().await? else { return Ok(None) };
        for item in &mut page.items {
            if let Item::Record(r) = item {
                add_fields_by_name(&mut r.data, &resolved.names);
            }
        }
        Ok(Some(page))
    }
}

impl Stream for JiraStream {
    fn next_page(&mut self) -> BoxFuture<'_, Result<Option<Page>, ConnectorError>> {
        Box::pin(self.page())
    }
}

/// Reads `/field` and `/myself`; fails when a configured name matches no custom field, or two.
async fn resolve(client: Arc<HttpClient>, wanted: Arc<Vec<String>>) -> Result<Resolved, ConnectorError> {
    let mut stats = FetchStats::default();
    let fields = client.fetch(&RequestSpec::get("/rest/api/3/field"), &mut stats).await?;
    let Value::Array(fields) = fields else {
        return Err(ConnectorError::Fatal("GET /rest/api/3/field did not answer with an array of fields".into()));
    };
    let custom: Vec<(String, String)> = fields
        .iter()
        .filter(|f| f.get("custom").and_then(Value::as_bool) == Some(true))
        .filter_map(|f| Some((f.get("id")?.as_str()?.to_owned(), f.get("name")?.as_str()?.to_owned())))
        .collect();
    let resolved = resolve_names(&custom, &wanted)?;
    let me = client.fetch(&RequestSpec::get("/rest/api/3/myself"), &mut stats).await?;
    let zone = me.get("timeZone").and_then(Value::as_str).unwrap_or_default();
    let utc = matches!(
        zone,
        "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Etc/UCT" | "UCT" | "Etc/Universal" | "Universal" | "Zulu"
    );
    if !utc {
        tracing::info!(
            time_zone = zone,
            "the JIRA user's time zone is not UTC: incremental passes start 14 hours earlier"
        );
    }
    Ok(Resolved { utc, ..resolved })
}

/// Maps custom field ids to names (only names one field has), checking the names the settings
/// use.
fn resolve_names(custom: &[(String, String)], wanted: &[String]) -> Result<Resolved, ConnectorError> {
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, name) in custom {
        by_name.entry(name.as_str()).or_default().push(id.as_str());
    }
    for name in wanted {
        match by_name.get(name.as_str()).map(Vec::as_slice) {
            Some([_]) => {}
            Some(ids) => {
                return Err(ConnectorError::Fatal(format!(
                    "jira: {} custom fields are named {name:?} ({}); write the one meant as a path, e.g. fields.{}",
                    ids.len(),
                    ids.join(", "),
                    ids[0]
                )));
            }
            None => {
                let mut known: Vec<&str> = by_name.keys().copied().collect();
                known.sort_unstable();
                return Err(ConnectorError::Fatal(format!(
                    "jira: no custom field is named {name:?}; the custom fields are: {}",
                    known.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
                )));
            }
        }
    }
    let names = custom
        .iter()
        .filter(|(_, name)| by_name.get(name.as_str()).is_some_and(|ids| ids.len() == 1))
        .map(|(id, name)| (id.clone(), name.clone()))
        .collect();
    Ok(Resolved { names, utc: false })
}

/// Adds `fields_by_name`: the issue's custom field values under their names.
fn add_fields_by_name(issue: &mut Value, names: &HashMap<String, String>) {
    let Some(fields) = issue.get("fields").and_then(Value::as_object) else { return };
    let mut named = Map::new();
    for (id, value) in fields {
        if let Some(name) = names.get(id) {
            named.insert(name.clone(), value.clone());
        }
    }
    if let Some(o) = issue.as_object_mut() {
        o.insert("fields_by_name".into(), Value::Object(named));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn custom() -> Vec<(String, String)> {
        [
            ("customfield_10050", "Account ID"),
            ("customfield_10051", "Support ID"),
            ("customfield_1", "Team"),
            ("customfield_2", "Team"),
        ]
        .map(|(i, n)| (i.to_owned(), n.to_owned()))
        .to_vec()
    }

    #[test]
    fn names_resolve_to_one_custom_field_or_fail_naming_the_candidates() {
        let r = resolve_names(&custom(), &["Account ID".into(), "Support ID".into()]).unwrap();
        assert_eq!(r.names.get("customfield_10050").map(String::as_str), Some("Account ID"));
        assert!(!r.names.contains_key("customfield_1"), "a name two fields share is left out");
        let e = resolve_names(&custom(), &["Team".into()]).unwrap_err().to_string();
        assert!(e.contains("2 custom fields are named \"Team\"") && e.contains("customfield_1, customfield_2"), "{e}");
        let e = resolve_names(&custom(), &["Acount ID".into()]).unwrap_err().to_string();
        assert!(e.contains("no custom field is named \"Acount ID\"") && e.contains("\"Account ID\""), "{e}");
    }

    #[test]
    fn issues_carry_their_custom_fields_by_name() {
        let r = resolve_names(&custom(), &[]).unwrap();
        let mut issue =
            json!({"id": "10001", "fields": {"summary": "x", "customfield_10050": "100042", "customfield_1": "a"}});
        add_fields_by_name(&mut issue, &r.names);
        assert_eq!(issue["fields_by_name"], json!({"Account ID": "100042"}));
        let path = FieldSetting::parse("Account ID", "k").unwrap().path().unwrap();
        assert_eq!(path.get(&issue), Some(&json!("100042")));
    }

    #[test]
    fn field_settings_are_names_paths_or_off() {
        assert_eq!(FieldSetting::parse("off", "k").unwrap(), FieldSetting::Off);
        assert!(matches!(FieldSetting::parse("fields.customfield_10051", "k").unwrap(), FieldSetting::Path(_)));
        assert_eq!(FieldSetting::parse(" Support ID ", "k").unwrap(), FieldSetting::Name("Support ID".into()));
        let e = FieldSetting::parse("", "sources.jira.account_field").unwrap_err().to_string();
        assert!(e.contains("sources.jira.account_field"), "{e}");
    }
}
