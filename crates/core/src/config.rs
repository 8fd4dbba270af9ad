//! `accord.toml`: parsed once, validated once, then trusted.
//!
//! `Config::load` reads the file, rejects unknown keys (naming the key and what is allowed), and
//! checks everything that does not depend on a connector: the System of Record, object names, link
//! rule references, the SOR filter, file options. Connector-specific settings stay a TOML table here
//! and are validated by the connector registry; an `http` source, whose objects are all written
//! here, is checked here too ([`http`]).

pub mod http;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::filter::Filter;
use crate::id::Normalizer;
use crate::path::FieldPath;
use crate::record::{FieldMapping, ObjectKind};
use crate::rule::{IdMapRef, LinkRule};
use crate::schedule::Schedule;
use crate::secret::SecretRef;

/// A configuration error: the file, the key, and what is wrong or allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default(), if key.is_empty() { "config" } else { key })]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    /// The dotted key, e.g. `sources.crm.objects[0].link[1].map`.
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { file: None, key: key.into(), message: message.into() }
    }
}

fn default_store() -> String {
    "sqlite://accord.db".into()
}

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where the hub keeps its data: `sqlite://<path>` (relative to this file) or `postgres://...`.
    #[serde(default = "default_store")]
    pub store: String,
    /// Which source and object create the accounts.
    pub system_of_record: SorConfig,
    /// Named sources, each with a `kind` and its objects.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceConfig>,
    /// Explicit domain → account_id entries for `domain` link rules.
    #[serde(default)]
    pub domains: Vec<DomainEntry>,
    /// `accord serve` settings.
    #[serde(default)]
    pub server: ServerConfig,
    /// How revenue is reported: the currency MRR is summed in and the rates to it.
    #[serde(default)]
    pub revenue: RevenueConfig,
}

/// Revenue reporting settings (`[revenue]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevenueConfig {
    /// The ISO currency MRR is reported in; `USD` when absent.
    pub currency: Option<String>,
    /// Reporting-currency units per unit of another currency, as decimal text read exactly:
    /// `rates = { EUR = "1.08", JPY = "0.0067" }`. Original amounts are kept beside the converted.
    #[serde(default)]
    pub rates: BTreeMap<String, String>,
}

/// The System of Record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SorConfig {
    /// The source that holds the accounts.
    pub source: String,
    /// The object of that source whose records are accounts.
    pub object: String,
    /// The field holding our account_id.
    pub account_id: FieldPath,
    /// The field holding the account name (default: the object's mapping for `name`).
    pub name: Option<FieldPath>,
    /// The field holding the join date (default: the object's mapping for `join_date`).
    pub join_date: Option<FieldPath>,
    /// Only SOR records matching this expression become active accounts.
    pub filter: Option<String>,
    /// Only SOR records that also exist in another source's object become active accounts.
    pub also_exists_in: Option<AlsoExistsIn>,
}

/// "Import Salesforce accounts that also exist in Zuora": an SOR record passes when the value of
/// its `sor_field` equals the value of `field` of some record of `source`/`object`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlsoExistsIn {
    pub source: String,
    pub object: String,
    /// Field of the other object to match (default: its native id).
    pub field: Option<FieldPath>,
    /// Field of the SOR record to match (default: the account_id field).
    pub sor_field: Option<FieldPath>,
}

/// One source: a `kind` (`file`, `salesforce`, `zendesk`, ...), the kind's own settings, and objects.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceConfig {
    pub kind: String,
    /// When `accord serve` syncs this source on its own (incrementally): `"every 15m"` (`s`, `m`,
    /// `h` or `d`) or `"cron: */15 * * * *"` (five fields, UTC). Unset: only when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Objects to read, in order (an object may depend on one read before it).
    #[serde(default)]
    pub objects: Vec<ObjectConfig>,
    /// The vendor's webhooks, received at `POST /webhooks/<source>` by `accord serve`.
    #[serde(default)]
    pub webhook: Option<WebhookConfig>,
    /// What `accord propagate` may do here besides writing account ids into records it links.
    #[serde(default)]
    pub propagate: Option<PropagateConfig>,
    /// The kind's own settings, validated by its connector.
    #[serde(flatten)]
    pub settings: toml::Table,
}

/// A source's webhooks: each delivery whose signature checks out starts an incremental sync of
/// the source (deliveries close together share one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The secret the vendor signs with (Stripe's endpoint secret `whsec_...`, Intercom's client
    /// secret, Zendesk's webhook signing secret, JIRA's webhook secret, the token Freshdesk sends).
    pub secret: SecretRef,
    /// Deliveries within this many seconds of the first share one sync. Default 2, and 61 for
    /// Zendesk, whose incremental exports leave out the last minute of changes.
    pub debounce_seconds: Option<u64>,
    /// How far a signed timestamp may be from now, in seconds (default 300, Stripe's).
    #[serde(default = "default_tolerance_seconds")]
    pub tolerance_seconds: u64,
}

/// What `accord propagate` may do in a source besides upgrading links (always planned).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropagateConfig {
    /// Create the System of Record's active accounts that have no record here, each carrying its
    /// account id (off by default).
    #[serde(default)]
    pub create: bool,
    /// Billing systems are never created in unless this is set as well.
    #[serde(default)]
    pub create_in_billing: bool,
    /// `accord serve` propagates to this source after each scheduled System of Record run that
    /// added accounts (the upgrades, and the creates when `create` is on).
    #[serde(default)]
    pub after_sor_run: bool,
}

/// Billing systems: `accord propagate` creates nothing in them unless `create_in_billing` says so.
pub const BILLING_KINDS: &[&str] = &["stripe", "chargebee", "recurly", "chargify", "zuora", "braintree", "xero"];

/// The source kinds whose webhooks `accord serve` verifies (each vendor's own way; the server's
/// `webhooks` module holds the schemes).
pub const WEBHOOK_KINDS: &[&str] =
    &["stripe", "zendesk", "intercom", "jira", "freshdesk", "recurly", "maxio", "chargify", "chargebee"];

fn default_tolerance_seconds() -> u64 {
    300
}

/// The format of a file object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Csv,
    /// One JSON document: an array of records, or an object holding one at `records`.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl FileFormat {
    pub fn from_extension(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" | "tsv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            "ndjson" | "jsonl" => Some(Self::Ndjson),
            _ => None,
        }
    }
}

/// One object of a source.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectConfig {
    /// The object's name, unique in its source (`accounts`, `organizations`, `tickets`...).
    pub name: String,
    /// What the records are. Required for file objects; connectors know their own.
    pub kind: Option<ObjectKind>,
    /// The field holding the record's id in its source. Events without one get a content id.
    pub native_id: Option<FieldPath>,
    /// Link rules, tried in order; the first that resolves wins. Connectors provide defaults.
    pub link: Option<Vec<LinkRule>>,
    /// Id normalizers applied to keys before lookup (none by default).
    #[serde(default)]
    pub normalize: Vec<Normalizer>,
    /// Where typed fields are read from, when not from a key of the same name.
    #[serde(default)]
    pub fields: FieldMapping,
    /// File sources: the file, relative to the source's `dir`.
    pub path: Option<PathBuf>,
    /// File sources: csv, json or ndjson (default: from the file extension).
    pub format: Option<FileFormat>,
    /// File sources, JSON format: where the array of records sits in the document.
    pub records: Option<FieldPath>,
    /// File sources, CSV format: the field delimiter (default `,`; `\t` for .tsv).
    pub delimiter: Option<char>,
    /// HTTP sources: query parameters every request of the list sends (`{ order_by = "id" }`).
    pub params: Option<toml::Table>,
    /// HTTP sources: how the list pages (`{ kind = "link_header", per_page = 100 }`).
    pub paginator: Option<toml::Table>,
    /// HTTP sources: the incremental filter (`{ field = "updated_at", param = "updated_since" }`).
    pub cursor: Option<toml::Table>,
    /// HTTP sources: how deletions show (a field's value, a feed, reconciling full reads).
    pub deletions: Option<toml::Table>,
    /// HTTP sources: the count the API reports, checked against what was read.
    pub total: Option<toml::Table>,
}

impl ObjectConfig {
    /// Whether any key only an `http` source reads is set.
    fn has_http_keys(&self) -> bool {
        self.params.is_some()
            || self.paginator.is_some()
            || self.cursor.is_some()
            || self.deletions.is_some()
            || self.total.is_some()
    }
}

/// A domain map entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainEntry {
    pub domain: String,
    pub account_id: String,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_body_limit() -> u64 {
    16 * 1024 * 1024
}
fn default_retention() -> u32 {
    90
}

/// `accord serve` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The Account API key (`?api_key=` or HTTP Basic user `api`).
    pub api_key: Option<SecretRef>,
    /// Event API key pairs (`POST /v1/{auth_key}/{api_key}`), one per event source.
    #[serde(default)]
    pub event_sources: Vec<EventSourceConfig>,
    /// Largest accepted request body, in bytes.
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: u64,
    /// How long raw usage events are kept (rollups are kept forever).
    #[serde(default = "default_retention")]
    pub event_retention_days: u32,
    /// Origins allowed by CORS; empty (the default) turns CORS off.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// A key of its own for `GET /metrics` (Prometheus `bearer_token`, or basic auth with the key
    /// as password); unset, `/metrics` is open like `/healthz`.
    #[serde(default)]
    pub metrics_key: Option<SecretRef>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            api_key: None,
            event_sources: Vec::new(),
            body_limit_bytes: default_body_limit(),
            event_retention_days: default_retention(),
            cors_origins: Vec::new(),
            metrics_key: None,
        }
    }
}

/// An Event API key pair and the source name its events are recorded under.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSourceConfig {
    pub source: String,
    pub auth_key: SecretRef,
    pub api_key: SecretRef,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub raw: RawConfig,
    /// The folder relative paths are resolved against (the config file's folder).
    pub base_dir: PathBuf,
    pub file: Option<PathBuf>,
    pub sor_filter: Option<Filter>,
    /// The parsed `schedule` of each source that has one.
    pub schedules: BTreeMap<String, Schedule>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: Some(path.to_owned()),
            key: String::new(),
            message: format!("cannot read the config file: {e} (create one with `accord init`)"),
        })?;
        let base = path.parent().map(Path::to_owned).unwrap_or_default();
        Self::from_toml(&text, &base)
            .map_err(|mut e| {
                e.file = Some(path.to_owned());
                e
            })
            .map(|mut c| {
                c.file = Some(path.to_owned());
                c
            })
    }

    /// Parses and validates config text; relative paths resolve against `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().to_owned();
            let location = e.span().map(|s| line_col(text, s.start)).map(|(l, c)| format!(" (line {l}, column {c})"));
            ConfigError::new(String::new(), format!("{message}{}", location.unwrap_or_default()))
        })?;
        let sor_filter = validate(&raw)?;
        let schedules = schedules(&raw)?;
        Ok(Self { raw, base_dir: base_dir.to_owned(), file: None, sor_filter, schedules })
    }

    pub fn sor(&self) -> &SorConfig {
        &self.raw.system_of_record
    }

    pub fn is_sor(&self, source: &str, object: &str) -> bool {
        self.raw.system_of_record.source == source && self.raw.system_of_record.object == object
    }

    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.raw.sources.get(name)
    }

    /// Resolves a path from the config against its folder.
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() { p.to_owned() } else { self.base_dir.join(p) }
    }

    /// The store URL with a relative SQLite path resolved against the config's folder.
    pub fn store_url(&self) -> String {
        match self.raw.store.strip_prefix("sqlite://") {
            Some(p) if !Path::new(p).is_absolute() && p != ":memory:" => {
                format!("sqlite://{}", self.base_dir.join(p).display())
            }
            _ => self.raw.store.clone(),
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn validate(raw: &RawConfig) -> Result<Option<Filter>, ConfigError> {
    if !(raw.store.starts_with("sqlite://")
        || raw.store.starts_with("postgres://")
        || raw.store.starts_with("postgresql://"))
    {
        return Err(ConfigError::new(
            "store",
            format!("{:?} is not a store URL: use sqlite://<path> or postgres://<user>@<host>/<db>", raw.store),
        ));
    }
    validate_revenue(&raw.revenue)?;
    let sor = &raw.system_of_record;
    let Some(sor_source) = raw.sources.get(&sor.source) else {
        return Err(ConfigError::new(
            "system_of_record.source",
            format!("no source named {:?}; defined sources: {}", sor.source, names(raw.sources.keys())),
        ));
    };
    if lists_objects(&sor_source.kind) && !sor_source.objects.iter().any(|o| o.name == sor.object) {
        return Err(ConfigError::new(
            "system_of_record.object",
            format!(
                "source {:?} has no object {:?}; its objects: {}",
                sor.source,
                sor.object,
                names(sor_source.objects.iter().map(|o| &o.name))
            ),
        ));
    }
    let sor_filter = sor
        .filter
        .as_deref()
        .map(|f| Filter::parse(f).map_err(|e| ConfigError::new("system_of_record.filter", e.to_string())))
        .transpose()?;
    if let Some(also) = &sor.also_exists_in {
        check_object_ref(raw, "system_of_record.also_exists_in", &also.source, &also.object)?;
    }
    let mut seen_domains = BTreeSet::new();
    for (i, d) in raw.domains.iter().enumerate() {
        if d.domain.trim().is_empty() || d.domain.contains('@') || d.domain.contains(' ') {
            return Err(ConfigError::new(
                format!("domains[{i}].domain"),
                format!("{:?} is not a domain like example.com", d.domain),
            ));
        }
        if !seen_domains.insert((d.domain.to_lowercase(), d.account_id.clone())) {
            return Err(ConfigError::new(
                format!("domains[{i}]"),
                format!("{} → {} is listed twice", d.domain, d.account_id),
            ));
        }
    }
    let mut event_names = BTreeSet::new();
    for (i, es) in raw.server.event_sources.iter().enumerate() {
        let key = format!("server.event_sources[{i}].source");
        if !valid_name(&es.source) || es.source == "api" || raw.sources.contains_key(&es.source) {
            return Err(ConfigError::new(
                key,
                format!(
                    "{:?}: event sources need their own name (letters, digits, '_' or '-'), not \"api\" nor a name in [sources]",
                    es.source
                ),
            ));
        }
        if !event_names.insert(es.source.as_str()) {
            return Err(ConfigError::new(key, format!("event source {:?} is defined twice", es.source)));
        }
    }
    for (name, source) in &raw.sources {
        let key = format!("sources.{name}");
        if name == "api" {
            return Err(ConfigError::new(key, "\"api\" is reserved for records posted to the Account API"));
        }
        if !valid_name(name) {
            return Err(ConfigError::new(key, "source names use letters, digits, '_' and '-' (at most 64)"));
        }
        if source.webhook.is_some() && !WEBHOOK_KINDS.contains(&source.kind.as_str()) {
            return Err(ConfigError::new(
                format!("{key}.webhook"),
                format!(
                    "{:?} sources send no webhooks accord can verify; the kinds that do: {}",
                    source.kind,
                    WEBHOOK_KINDS.join(", ")
                ),
            ));
        }
        if let Some(p) = &source.propagate
            && p.create
            && BILLING_KINDS.contains(&source.kind.as_str())
            && !p.create_in_billing
        {
            return Err(ConfigError::new(
                format!("{key}.propagate.create"),
                "accord never creates customers in a billing system unless `create_in_billing = true` is set too",
            ));
        }
        let mut object_names = BTreeSet::new();
        for (i, obj) in source.objects.iter().enumerate() {
            let okey = format!("{key}.objects[{i}]");
            if !valid_name(&obj.name) {
                return Err(ConfigError::new(
                    format!("{okey}.name"),
                    format!("{:?}: object names use letters, digits, '_' and '-'", obj.name),
                ));
            }
            if !object_names.insert(obj.name.as_str()) {
                return Err(ConfigError::new(
                    format!("{okey}.name"),
                    format!("object {:?} is defined twice in source {name:?}", obj.name),
                ));
            }
            let is_sor = *name == sor.source && obj.name == sor.object;
            if obj.kind == Some(ObjectKind::Account) && !is_sor {
                return Err(ConfigError::new(
                    format!("{okey}.kind"),
                    format!(
                        "only the system of record ({}/{}) creates accounts; give this object another kind",
                        sor.source, sor.object
                    ),
                ));
            }
            if is_sor && obj.kind.is_some_and(|k| k != ObjectKind::Account) {
                return Err(ConfigError::new(
                    format!("{okey}.kind"),
                    "the system of record object must have kind \"account\"",
                ));
            }
            if let Some(kind) = obj.kind {
                let unknown = obj.fields.unknown_fields(kind);
                if !unknown.is_empty() {
                    let allowed: Vec<_> = kind.fields().iter().map(|f| f.name).collect();
                    return Err(ConfigError::new(
                        format!("{okey}.fields.{}", unknown[0]),
                        format!("{:?} is not a field of {}; allowed: {}", unknown[0], kind.name(), allowed.join(", ")),
                    ));
                }
            }
            if is_sor && obj.link.as_ref().is_some_and(|l| !l.is_empty()) {
                return Err(ConfigError::new(
                    format!("{okey}.link"),
                    "the system of record object creates accounts and has no link rules",
                ));
            }
            for (j, rule) in obj.link.iter().flatten().enumerate() {
                let rkey = format!("{okey}.link[{j}]");
                match rule {
                    LinkRule::Parent { object, .. } => {
                        if !source.objects.iter().any(|o| &o.name == object) && lists_objects(&source.kind) {
                            return Err(ConfigError::new(
                                format!("{rkey}.object"),
                                format!(
                                    "source {name:?} has no object {object:?}; its objects: {}",
                                    names(source.objects.iter().map(|o| &o.name))
                                ),
                            ));
                        }
                        if object == &obj.name {
                            return Err(ConfigError::new(
                                format!("{rkey}.object"),
                                "a record cannot be its own parent object",
                            ));
                        }
                    }
                    LinkRule::NativeId { map: IdMapRef::Object { source: s, object: o }, .. } => {
                        check_object_ref(raw, &format!("{rkey}.map"), s, o)?;
                    }
                    _ => {}
                }
            }
            if source.kind == "file" {
                validate_file_object(&okey, obj, is_sor)?;
            } else if source.kind == "http" {
                // Checked with the source's own settings below.
            } else if obj.path.is_some() || obj.format.is_some() || obj.records.is_some() || obj.delimiter.is_some() {
                return Err(ConfigError::new(okey, "path, format, records and delimiter are for file sources only"));
            }
            if source.kind != "http" && obj.has_http_keys() {
                return Err(ConfigError::new(
                    okey,
                    "params, paginator, cursor, deletions and total are for http sources only",
                ));
            }
        }
        if source.kind == "http" {
            http::parse(name, source, (*name == sor.source).then_some(sor.object.as_str()))?;
        }
    }
    Ok(sor_filter)
}

fn schedules(raw: &RawConfig) -> Result<BTreeMap<String, Schedule>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, source) in &raw.sources {
        if let Some(text) = &source.schedule {
            let schedule = Schedule::parse(text)
                .map_err(|e| ConfigError::new(format!("sources.{name}.schedule"), format!("source {name:?}: {e}")))?;
            out.insert(name.clone(), schedule);
        }
    }
    Ok(out)
}

fn validate_revenue(r: &RevenueConfig) -> Result<(), ConfigError> {
    if let Some(c) = &r.currency {
        crate::money::Currency::parse(c).map_err(|e| ConfigError::new("revenue.currency", e.to_string()))?;
    }
    for (code, rate) in &r.rates {
        let key = format!("revenue.rates.{code}");
        crate::money::Currency::parse(code).map_err(|e| ConfigError::new(&key, e.to_string()))?;
        let (whole, frac) = rate.split_once('.').unwrap_or((rate, ""));
        let digits_ok = !(whole.is_empty() && frac.is_empty())
            && whole.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
            && frac.len() <= 12;
        if !digits_ok || !rate.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            return Err(ConfigError::new(
                key,
                format!(
                    "{rate:?} is not a rate: write a positive decimal as text, e.g. \"1.08\" (at most 12 decimals)"
                ),
            ));
        }
    }
    Ok(())
}

/// Sources whose objects are all written in the config (so a reference to another is checked).
fn lists_objects(kind: &str) -> bool {
    matches!(kind, "file" | "http")
}

fn validate_file_object(okey: &str, obj: &ObjectConfig, is_sor: bool) -> Result<(), ConfigError> {
    require_kind_id_link(okey, obj, is_sor, "file")?;
    let Some(path) = &obj.path else {
        return Err(ConfigError::new(format!("{okey}.path"), "file objects need a path"));
    };
    if obj.format.is_none() && FileFormat::from_extension(path).is_none() {
        return Err(ConfigError::new(
            format!("{okey}.format"),
            format!("cannot tell the format of {}: set format to csv, json or ndjson", path.display()),
        ));
    }
    Ok(())
}

/// What an object of a source that lists its objects (`file`, `http`) must say: its kind, where
/// its records keep their ids, and (but for the System of Record) its link rules.
fn require_kind_id_link(okey: &str, obj: &ObjectConfig, is_sor: bool, what: &str) -> Result<ObjectKind, ConfigError> {
    let Some(kind) = obj.kind else {
        let kinds: Vec<_> = ObjectKind::ALL.iter().map(|k| k.name()).collect();
        return Err(ConfigError::new(
            format!("{okey}.kind"),
            format!("{what} objects need a kind; one of {}", kinds.join(", ")),
        ));
    };
    if obj.native_id.is_none() && kind != ObjectKind::Event && !is_sor {
        return Err(ConfigError::new(
            format!("{okey}.native_id"),
            format!("name the field that holds each record's id in this {what} source"),
        ));
    }
    if !is_sor && obj.link.as_ref().is_none_or(|l| l.is_empty()) {
        return Err(ConfigError::new(
            format!("{okey}.link"),
            "list at least one link rule (field, native_id, parent, email, domain, support_id, user_map)",
        ));
    }
    Ok(kind)
}

fn check_object_ref(raw: &RawConfig, key: &str, source: &str, object: &str) -> Result<(), ConfigError> {
    let Some(s) = raw.sources.get(source) else {
        return Err(ConfigError::new(
            key,
            format!("no source named {source:?}; defined sources: {}", names(raw.sources.keys())),
        ));
    };
    if lists_objects(&s.kind) && !s.objects.iter().any(|o| o.name == object) {
        return Err(ConfigError::new(
            key,
            format!(
                "source {source:?} has no object {object:?}; its objects: {}",
                names(s.objects.iter().map(|o| &o.name))
            ),
        ));
    }
    Ok(())
}

fn names<'a>(it: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<_> = it.map(|s| format!("{s:?}")).collect();
    if v.is_empty() { "(none)".into() } else { v.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [system_of_record]
        source = "crm"
        object = "accounts"
        account_id = "Account Number"
        name = "Account Name"
        join_date = "Created"
        filter = "Status = 'Active'"

        [sources.crm]
        kind = "file"
        [[sources.crm.objects]]
        name = "accounts"
        kind = "account"
        path = "accounts.csv"

        [sources.support]
        kind = "file"
        [[sources.support.objects]]
        name = "orgs"
        kind = "organization"
        path = "orgs.ndjson"
        native_id = "id"
        link = [{ rule = "field", field = "external_id" }]
        [[sources.support.objects]]
        name = "tickets"
        kind = "ticket"
        path = "tickets.csv"
        native_id = "id"
        normalize = ["trim"]
        link = [{ rule = "parent", field = "org_id", object = "orgs" }, { rule = "email", field = "requester" }]
    "#;

    fn err(text: &str) -> ConfigError {
        Config::from_toml(text, Path::new(".")).unwrap_err()
    }

    #[test]
    fn a_good_config_validates() {
        let c = Config::from_toml(GOOD, Path::new("/etc/accord")).unwrap();
        assert!(c.is_sor("crm", "accounts"));
        assert_eq!(c.store_url(), "sqlite:///etc/accord/accord.db");
        assert!(c.sor_filter.is_some());
        assert_eq!(c.raw.sources["support"].objects[1].link.as_ref().unwrap().len(), 2);
    }

    #[test]
    fn unknown_keys_are_named_with_what_is_allowed() {
        let e = err(&GOOD.replace("normalize = [\"trim\"]", "normalise = [\"trim\"]"));
        assert!(e.message.contains("normalise"), "{e}");
        assert!(e.message.contains("normalize"), "{e}");
        assert!(e.message.contains("line"), "{e}");
    }

    #[test]
    fn bad_references_name_the_key() {
        let e = err(&GOOD.replace("object = \"orgs\"", "object = \"organisations\""));
        assert_eq!(e.key, "sources.support.objects[1].link[0].object");
        let e = err(&GOOD.replace("source = \"crm\"", "source = \"salesforce\""));
        assert_eq!(e.key, "system_of_record.source");
        let e = err(&GOOD.replace("Status = 'Active'", "Status = "));
        assert_eq!(e.key, "system_of_record.filter");
        let e = err(&GOOD.replace("kind = \"organization\"", "kind = \"account\""));
        assert!(e.message.contains("only the system of record"), "{e}");
        let e = err(&GOOD.replace("rule = \"field\"", "rule = \"fuzzy\""));
        assert!(e.message.contains("fuzzy"), "{e}");
        let e = err(&GOOD.replace("normalize = [\"trim\"]", "normalize = [\"upper\"]"));
        assert!(e.message.contains("integer_text"), "{e}");
    }

    #[test]
    fn file_objects_need_their_keys() {
        let e =
            err(&GOOD.replace("native_id = \"id\"\n        link = [{ rule = \"field\"", "link = [{ rule = \"field\""));
        assert_eq!(e.key, "sources.support.objects[0].native_id");
        let e = err(&GOOD.replace("path = \"orgs.ndjson\"", "path = \"orgs.dat\""));
        assert_eq!(e.key, "sources.support.objects[0].format");
    }

    #[test]
    fn schedules_parse_per_source_and_errors_name_source_and_value() {
        let text = GOOD.replace(
            "[sources.support]\n        kind = \"file\"",
            "[sources.support]\n        kind = \"file\"\n        schedule = \"every 15m\"",
        );
        let text = text.replace(
            "[sources.crm]\n        kind = \"file\"",
            "[sources.crm]\n        kind = \"file\"\n        schedule = \"cron: 0 * * * *\"",
        );
        let c = Config::from_toml(&text, Path::new(".")).unwrap();
        assert_eq!(c.schedules["support"], Schedule::Every(std::time::Duration::from_secs(900)));
        assert_eq!(c.schedules["crm"].to_string(), "cron: 0 * * * *");
        assert_eq!(c.schedules.len(), 2);
        assert!(Config::from_toml(GOOD, Path::new(".")).unwrap().schedules.is_empty());
        let e = err(&text.replace("every 15m", "every fortnight"));
        assert_eq!(e.key, "sources.support.schedule");
        assert!(e.message.contains("\"support\"") && e.message.contains("every fortnight"), "{e}");
        let e = err(&text.replace("cron: 0 * * * *", "cron: 0 25 * * *"));
        assert_eq!(e.key, "sources.crm.schedule");
        assert!(e.message.contains("0 25 * * *"), "{e}");
    }

    #[test]
    fn the_store_must_be_a_url() {
        let e = err(&format!("store = \"accord.db\"\n{GOOD}"));
        assert_eq!(e.key, "store");
    }
}
