//! Braintree (GraphQL API): customers by the custom field whose API name is `account_id_field`
//! (`account_id` by default; Braintree stores a custom field only once it is defined in the
//! Control Panel), then by `email`; transactions through their customer (`customer.id`).
//!
//! One endpoint, `POST {base}/graphql`, with `Authorization: Basic base64(public_key:private_key)`
//! and the `Braintree-Version: YYYY-MM-DD` header Braintree requires (`braintree_version`, a
//! fixed date by default, so an upgrade of Braintree's API never changes what accord reads).
//! Both keys are secrets: they are read from the config's `{ env }`/`{ file }` references and
//! never logged (the client's `Debug` redacts Basic credentials).
//!
//! GraphQL answers HTTP 200 to most failures, with an `errors` array. Such an answer is an error
//! whatever `data` holds: `extensions.errorClass` `AUTHENTICATION`/`AUTHORIZATION` says the keys
//! are wrong, `RESOURCE_LIMIT` is a rate limit (waited out and retried like a 429), `INTERNAL`
//! and `SERVICE_AVAILABILITY` are passing failures (retried with backoff), and anything else
//! (`VALIDATION`, `NOT_FOUND`, ...) fails with Braintree's message. HTTP 429, 5xx, timeouts and
//! cut connections go through the client's usual retries.
//!
//! Incremental reads, deletions and their trade-off are described in `streams.rs`: there is no
//! update time to follow, so a change to a customer already read is seen by the next full
//! re-scan (`full_rescan`, a week by default), and so is a deletion.
//!
//! `accord propagate` writes our account id into the custom field of customers linked another
//! way (by email): `updateCustomer` with `customFields`, after reading the field back with
//! `node(id:)`. Braintree refuses a custom field not defined in its Control Panel; the write then
//! fails with Braintree's message. A customer written this way links by `field` once it is read
//! again, which for Braintree is the next full re-scan (or `accord sync --full`): an incremental
//! pass does not see a change to an existing customer.
//!
//! Amounts (`MonetaryAmount.value`, Braintree's `Amount` scalar: a decimal string in major
//! units) are read exactly with the currency's exponent (`accord_core::money`), never through a
//! float. Braintree reports no MRR: there is no vendor figure for `accord doctor` to compare.
//! Subscriptions are read through the server API's ("XML gateway") subscription search, since
//! the official schema accord validates its queries against (`schema.graphql` of 2025-04-29) has
//! no subscription query: see `subscriptions.rs`. They need `merchant_id` (the gateway's paths
//! are per merchant); without it the source reads customers and transactions only.

pub mod streams;
pub mod subscriptions;

use std::path::Path;
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::money::{Currency, Money};
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{self, RateLimitSetting, effective_limit, settings};
use crate::http::client::default_verdict;
use crate::http::{Auth, FetchStats, HttpConnector, Limit, RequestSpec, Vendor, Verdict};
use crate::{Connector, ConnectorError, Item, ObjectSpec, Page, Stream};

/// The `Braintree-Version` sent unless the settings name another.
pub const DEFAULT_VERSION: &str = "2025-04-29";

/// `[sources.<name>]` settings of kind `braintree`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `production` (`https://payments.braintree-api.com`, the default) or `sandbox`
    /// (`https://payments.sandbox.braintree-api.com`).
    #[serde(default)]
    pub environment: Environment,
    /// The API's root instead of `environment` (the GraphQL endpoint is `{base_url}/graphql`).
    pub base_url: Option<String>,
    /// The server API's ("XML gateway") root instead of `environment`'s
    /// (`https://api.braintreegateway.com`): subscriptions are read there.
    pub gateway_url: Option<String>,
    /// The merchant id (Control Panel → API keys): the gateway's paths are per merchant. Without
    /// it, subscriptions are not read.
    pub merchant_id: Option<String>,
    /// The API public key (the Basic user).
    pub public_key: SecretRef,
    /// The API private key (the Basic password).
    pub private_key: SecretRef,
    /// The `Braintree-Version` header: a date, `YYYY-MM-DD`.
    #[serde(default = "default_version")]
    pub braintree_version: String,
    /// The API name of the customer custom field holding our account id.
    #[serde(default = "default_field")]
    pub account_id_field: String,
    /// Records per page (`first`): 1–50, 50 by default (the bound accord keeps to; the schema
    /// states none).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// How often a pass reads every customer and transaction again (changes to records already
    /// read, and deleted customers, are seen only then): `"7d"` by default, `"1d"`, `"off"`.
    #[serde(default = "default_full_rescan")]
    pub full_rescan: common::Period,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

/// Braintree's two gateways.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Production,
    Sandbox,
}

impl Environment {
    pub fn base_url(self) -> &'static str {
        match self {
            Environment::Production => "https://payments.braintree-api.com",
            Environment::Sandbox => "https://payments.sandbox.braintree-api.com",
        }
    }

    /// The server API ("XML gateway") the SDKs call.
    pub fn gateway_url(self) -> &'static str {
        match self {
            Environment::Production => "https://api.braintreegateway.com",
            Environment::Sandbox => "https://api.sandbox.braintreegateway.com",
        }
    }
}

fn default_version() -> String {
    DEFAULT_VERSION.into()
}

fn default_field() -> String {
    "account_id".into()
}

fn default_page_size() -> u32 {
    50
}

fn default_full_rescan() -> common::Period {
    common::Period(Some(chrono::Duration::days(7)))
}

/// Braintree publishes no rate limit: a cautious default (`rate_limit` overrides it); a 429 or a
/// `RESOURCE_LIMIT` error is waited out and retried all the same.
const DEFAULT_LIMIT: Limit = Limit::per_second(10);

/// How Braintree's GraphQL answers say what went wrong.
#[derive(Debug, Default)]
pub struct BraintreeRules;

/// What a GraphQL answer's `errors` mean, if it has any.
pub fn graphql_verdict(body: &[u8]) -> Option<Verdict> {
    // Cheap test first: most answers are pages of records without errors.
    if !body.windows(8).any(|w| w == b"\"errors\"") {
        return None;
    }
    let answer: Value = serde_json::from_slice(body).ok()?;
    let errors = answer.get("errors")?.as_array().filter(|e| !e.is_empty())?;
    let class = |e: &Value| e.pointer("/extensions/errorClass").and_then(Value::as_str).unwrap_or("").to_owned();
    let messages: Vec<String> = errors
        .iter()
        .map(|e| {
            let message = e.get("message").and_then(Value::as_str).unwrap_or("no message");
            match e.get("path").and_then(Value::as_array) {
                Some(p) if !p.is_empty() => {
                    let at: Vec<String> =
                        p.iter().map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_owned)).collect();
                    format!("{message} (at {})", at.join("."))
                }
                _ => message.to_owned(),
            }
        })
        .collect();
    let text = messages.join("; ");
    let classes: Vec<String> = errors.iter().map(class).collect();
    let any = |c: &str| classes.iter().any(|k| k == c);
    Some(if any("AUTHENTICATION") || any("AUTHORIZATION") {
        Verdict::Fatal(format!(
            "Braintree refused the API keys ({text}): check public_key and private_key, and that the key may read customers and transactions"
        ))
    } else if any("RESOURCE_LIMIT") {
        Verdict::RateLimited(Duration::from_secs(1))
    } else if classes.iter().all(|k| k == "INTERNAL" || k == "SERVICE_AVAILABILITY") {
        Verdict::Transient(format!("Braintree answered with an internal error: {text}"))
    } else {
        Verdict::Fatal(format!("Braintree refused the query: {text}"))
    })
}

/// An XML answer (the gateway's), by its type or its first character.
fn is_xml(headers: &HeaderMap, body: &[u8]) -> bool {
    let typed = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().contains("xml"));
    typed || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// The message of the gateway's `<api-error-response>` (or another XML error body).
fn xml_message(body: &[u8]) -> Option<String> {
    let doc = accord_core::xml::parse(std::str::from_utf8(body).ok()?).ok()?;
    let root = doc.as_object()?.values().next()?;
    root.get("message").and_then(Value::as_str).or_else(|| root.as_str()).map(str::to_owned)
}

impl Vendor for BraintreeRules {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        let graphql =
            status.is_success() || status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY;
        if graphql
            && !is_xml(headers, body)
            && let Some(v) = graphql_verdict(body)
        {
            return v;
        }
        let refused = status.is_client_error() && !matches!(status.as_u16(), 401 | 408 | 429);
        if refused
            && is_xml(headers, body)
            && let Some(message) = xml_message(body)
        {
            return Verdict::Fatal(format!("HTTP {status}: Braintree refused the request: {message}"));
        }
        default_verdict(status, headers, body)
    }

    fn decode(&self, headers: &HeaderMap, body: &[u8]) -> Option<Result<Value, String>> {
        if !is_xml(headers, body) {
            return None;
        }
        Some(
            std::str::from_utf8(body).map_err(|e| format!("the XML answer is not UTF-8: {e}")).and_then(|text| {
                accord_core::xml::parse(text).map_err(|e| format!("the XML answer is not complete: {e}"))
            }),
        )
    }
}

fn check_version(name: &str, version: &str) -> Result<(), ConfigError> {
    chrono::NaiveDate::parse_from_str(version, "%Y-%m-%d").map(|_| ()).map_err(|_| {
        ConfigError::new(
            format!("sources.{name}.braintree_version"),
            format!("{version:?} is not a date: write YYYY-MM-DD"),
        )
    })
}

/// Builds a Braintree source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<BraintreeConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    check_version(name, &s.braintree_version)?;
    if s.account_id_field.trim().is_empty() {
        return Err(ConfigError::new(
            format!("sources.{name}.account_id_field"),
            "empty: name the custom field's API name",
        ));
    }
    if !(1..=50).contains(&s.page_size) {
        return Err(ConfigError::new(format!("sources.{name}.page_size"), format!("{} is outside 1–50", s.page_size)));
    }
    let public_key = common::secret(name, "public_key", &s.public_key, base_dir)?;
    let auth = Auth::Basic {
        user: public_key.expose().to_owned(),
        password: common::secret(name, "private_key", &s.private_key, base_dir)?,
    };
    let base = s.base_url.clone().unwrap_or_else(|| s.environment.base_url().to_owned());
    // One client, so one rate limit, for both APIs: GraphQL paths are relative to `base`, the
    // gateway's are absolute; each request says what it accepts.
    let client = common::client(
        name,
        base.trim_end_matches('/'),
        auth,
        effective_limit(s.rate_limit, s.unthrottled, DEFAULT_LIMIT),
        Box::new(BraintreeRules),
        vec![("Braintree-Version".into(), s.braintree_version.clone())],
    )?;
    let gateway = match s.merchant_id.as_deref().map(str::trim) {
        Some("") => {
            return Err(ConfigError::new(
                format!("sources.{name}.merchant_id"),
                "empty: give the merchant id, or leave it out to read no subscriptions",
            ));
        }
        Some(id) => Some(subscriptions::Gateway {
            url: s.gateway_url.clone().unwrap_or_else(|| s.environment.gateway_url().to_owned()),
            merchant_id: id.to_owned(),
        }),
        None => None,
    };
    let mut streams = streams::streams(s.account_id_field.trim(), s.page_size, s.full_rescan.0);
    let mut subscription_spec = gateway.as_ref().map(|_| streams::subscriptions_object());
    let mut specs: Vec<&mut ObjectSpec> = streams.iter_mut().map(|d| &mut d.object).collect();
    specs.extend(subscription_spec.as_mut());
    common::override_objects(name, specs, &source.objects)?;
    // The custom field written back is the one the customers' first rule reads, when that rule
    // is the default `customFields[name=...].value` (after the user's overrides).
    let writable = streams.iter().find(|s| s.object.name == "customers").and_then(|s| match s.object.link.first() {
        Some(accord_core::LinkRule::Field { field, .. }) => custom_field_name(field).map(|n| (field.clone(), n)),
        _ => None,
    });
    let inner = HttpConnector::new("braintree", client, streams);
    let mut objects = inner.objects().to_vec();
    objects.extend(subscription_spec);
    Ok(BraintreeConnector { inner, objects, gateway, writable })
}

/// The API name a `customFields[name=X].value` path reads.
fn custom_field_name(path: &accord_core::FieldPath) -> Option<String> {
    let text = path.as_str();
    let name = text.strip_prefix("customFields[name=")?.strip_suffix("].value")?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// A configured Braintree source.
#[derive(Debug)]
pub struct BraintreeConnector {
    inner: HttpConnector,
    /// The GraphQL objects, then subscriptions when the gateway is configured.
    objects: Vec<ObjectSpec>,
    gateway: Option<subscriptions::Gateway>,
    /// The customers' account-id path and the custom field's API name, when writable.
    writable: Option<(accord_core::FieldPath, String)>,
}

impl BraintreeConnector {
    fn custom_field(&self) -> Result<&str, ConnectorError> {
        self.writable.as_ref().map(|(_, n)| n.as_str()).ok_or_else(|| {
            ConnectorError::Fatal(
                "braintree: the customers' first link rule is not a custom field: nothing to write".into(),
            )
        })
    }

    async fn graphql(&self, query: &str, variables: Value) -> Result<Value, ConnectorError> {
        let request = RequestSpec::post("/graphql", json!({"query": query, "variables": variables}))
            .header("Accept", "application/json");
        self.inner.client().fetch(&request, &mut FetchStats::default()).await
    }
}

/// The value of custom field `name` in `fields` (a `customFields` list).
fn custom_value(fields: Option<&Value>, name: &str) -> Option<String> {
    fields?
        .as_array()?
        .iter()
        .find(|f| f.get("name").and_then(Value::as_str) == Some(name))?
        .get("value")?
        .as_str()
        .map(str::to_owned)
        .filter(|v| !v.is_empty())
}

impl crate::WriteBack for BraintreeConnector {
    fn writable_field(&self, object: &str) -> Option<&accord_core::FieldPath> {
        self.writable.as_ref().filter(|_| object == "customers").map(|(p, _)| p)
    }

    fn current<'a>(
        &'a self,
        _object: &'a str,
        native_id: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Option<String>, ConnectorError>> {
        Box::pin(async move {
            let name = self.custom_field()?;
            let answer = self.graphql(streams::READ_CUSTOMER, json!({"id": native_id})).await?;
            let node = answer.pointer("/data/node").filter(|n| !n.is_null()).ok_or_else(|| {
                ConnectorError::Fatal(format!("braintree: customer {native_id} is not in the vault (deleted?)"))
            })?;
            Ok(custom_value(node.get("customFields"), name))
        })
    }

    fn write<'a>(
        &'a self,
        _object: &'a str,
        native_id: &'a str,
        value: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async move {
            let name = self.custom_field()?;
            let input =
                json!({"customerId": native_id, "customer": {"customFields": [{"name": name, "value": value}]}});
            let answer = self.graphql(streams::UPDATE_CUSTOMER, json!({"input": input})).await?;
            match custom_value(answer.pointer("/data/updateCustomer/customer/customFields"), name) {
                Some(v) if v == value => Ok(format!("updateCustomer {native_id}: stored in custom field {name}")),
                other => Err(ConnectorError::Fatal(format!(
                    "updateCustomer {native_id} answered without the value written (custom field {name} holds {other:?})"
                ))),
            }
        })
    }
}

impl Connector for BraintreeConnector {
    fn kind(&self) -> &'static str {
        "braintree"
    }

    fn objects(&self) -> &[ObjectSpec] {
        &self.objects
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        if object == "subscriptions"
            && let Some(gateway) = &self.gateway
        {
            let client = self.inner.client().clone();
            return Ok(Box::new(subscriptions::SubscriptionsStream::new(client, gateway.clone(), cursor, full)));
        }
        Ok(Box::new(BraintreeStream { inner: self.inner.open_stream(object, cursor, full)? }))
    }

    fn write_back(&self) -> Option<&dyn crate::WriteBack> {
        self.writable.as_ref().map(|_| self as &dyn crate::WriteBack)
    }
}

/// A Braintree stream: `accord.*` added to each record.
struct BraintreeStream {
    inner: Box<dyn Stream>,
}

impl Stream for BraintreeStream {
    fn next_page(&mut self) -> futures::future::BoxFuture<'_, Result<Option<Page>, ConnectorError>> {
        Box::pin(async move {
            let Some(mut page) = self.inner.next_page().await? else { return Ok(None) };
            for item in &mut page.items {
                if let Item::Record(raw) = item {
                    derive(&mut raw.data);
                }
            }
            Ok(Some(page))
        })
    }
}

/// An `Amount` in `currency`, checked exactly: the decimal text with the currency's decimals,
/// or `None` when it is not a decimal or finer than the currency allows.
pub fn exact_amount(value: Option<&Value>, currency: Option<&str>) -> Option<String> {
    let text = value?.as_str()?.trim();
    let c = Currency::parse(currency?).ok()?;
    let m = Money::parse_major(text, c).ok()?;
    Some(m.major_text())
}

/// Adds `accord.*`: what the typed fields read, in the form they read it.
fn derive(record: &mut Value) {
    let derived = if record.get("amount").is_some() || record.get("status").is_some() {
        transaction_fields(record)
    } else {
        customer_fields(record)
    };
    if let Some(map) = record.as_object_mut() {
        map.insert("accord".into(), derived);
    }
}

fn customer_fields(c: &Value) -> Value {
    let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let person = match (text("firstName"), text("lastName")) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(n), None) | (None, Some(n)) => Some(n.to_owned()),
        (None, None) => None,
    };
    json!({"name": text("company").map(str::to_owned).or(person)})
}

fn transaction_fields(t: &Value) -> Value {
    let status = t.get("status").and_then(Value::as_str).unwrap_or_default();
    let currency = t.pointer("/amount/currencyCode").and_then(Value::as_str);
    let paid = matches!(
        status,
        "SETTLED" | "SETTLEMENT_CONFIRMED" | "SETTLING" | "SETTLEMENT_PENDING" | "SUBMITTED_FOR_SETTLEMENT"
    );
    let failed = matches!(status, "FAILED" | "GATEWAY_REJECTED" | "PROCESSOR_DECLINED" | "SETTLEMENT_DECLINED");
    json!({
        "amount": exact_amount(t.pointer("/amount/value"), currency),
        "status": status.to_ascii_lowercase(),
        "paid_at": if paid { t.get("createdAt").cloned() } else { None },
        "failed": failed,
        // A transaction is a payment, billing no subscription accord reads.
        "non_recurring": true,
    })
}

#[cfg(test)]
mod tests;
