//! Zuora Billing (REST v1): accounts by a custom field holding accord's account id (the tenant
//! names it, `AccountId__c` by default), then by the account's Zuora `Id` looked up in an SOR
//! field (`billing_account_id` by default: the integration guide's "Zuora plug-in for
//! Salesforce" case, which stores `Account.Id` in the CRM); subscriptions and invoices through
//! their account (`AccountId`).
//!
//! **Authentication.** OAuth 2.0 client credentials: `POST /oauth/token` with the form
//! `client_id`, `client_secret`, `grant_type=client_credentials` buys a bearer token that lives
//! `expires_in` seconds (an hour). The client buys the next one shortly before it runs out, and
//! again when Zuora answers 401. `Zuora-Entity-Ids` is sent when `entity_ids` is set
//! (multi-entity tenants). Tenants live on several hosts: `environment` picks one (US Cloud 2
//! `https://rest.zuora.com` by default), `base_url` overrides it.
//!
//! **Read path: ZOQL (`POST /v1/action/query`, then `/v1/action/queryMore`).** Chosen over the
//! Object Query API because ZOQL is Zuora's long-standing, generally available query call
//! (the Object Query API is documented as Early Adopter), it returns up to 2,000 rows a call
//! against the Object Query API's 99, it selects exactly the fields accord maps (custom fields
//! included) and filters on `UpdatedDate` for incremental reads, and its `queryLocator` lets a
//! killed pass resume where it stopped. What it costs: ZOQL has no `ORDER BY` and no joins. So a
//! pass is read to its end before its high-water mark moves (see `streams`), and what a row
//! names by id is read with extra queries per page (`where Id = '…' or …`, at most 200
//! conditions each, as ZOQL allows): the account's `Currency` (subscriptions, rate plan charges
//! and invoices carry none), a subscription's `RatePlan`s and their `RatePlanCharge`s, an
//! invoice's `InvoiceItem`s.
//!
//! **Rate plan charges.** Zuora keeps a subscription's prices on its rate plan charges, one
//! row per charge segment (a mid-cycle price change ends one segment and starts another;
//! `IsLastSegment` marks the current one). accord has no record kind for a charge: the charges
//! of a subscription's current segments are read with it and kept in its payload
//! (`accord.charges`), and they give its typed fields. Its recurring charges (`ChargeType =
//! 'Recurring'`, not a discount model) give the unit price (`Price`, minor units), the quantity
//! and the billing period (`Month`, `Quarter`, `Semi-Annual`, `Annual`, `Eighteen Months`,
//! `Two Years`, `Three Years`, `Five Years`, `Week`; `Specific Months`/`Specific Weeks` need
//! the charge's own count and are left out). Several recurring charges on one period become one
//! price (the sum of price × quantity, quantity 1); recurring charges on different periods
//! leave the price out, since the typed subscription has one period. The sum of the charges'
//! `MRR` (Zuora's own figure, discount charges negative) is the subscription's `mrr`, which
//! `accord doctor` compares with accord's.
//!
//! **Invoices.** `Amount` and `TaxAmount` are decimals in major units, read exactly with the
//! account currency's exponent (a JSON number's own digits, never a float). Their items give
//! the subscription billed and, from the positive charge item that starts last (a proration's
//! new-price item starts on the change day), `billed_from`/`billed_unit_amount`/
//! `billed_quantity`. `ServiceEndDate` is the last day served; the typed `period_end` is the
//! next day (an instant, as the other vendors give it).
//!
//! **Write-back.** `accord propagate` fills the custom field of accounts linked by their `Id`
//! (or another acceptable rule) with `PUT /v1/accounts/{id}`; Zuora's answer carries no account,
//! so the value is read back with ZOQL for the audit (`streams::account_field`).
//!
//! **Rate limits.** Zuora counts requests per tenant per minute, hour and day by request class,
//! and limits concurrent requests; either answers 429 with `REQUEST_EXCEEDED_LIMIT`. The client
//! keeps to 600 requests a minute by default (a setting) and sends one request at a time per
//! stream (pages follow one another, since each needs the previous locator), so the
//! concurrency limit is only reached by other clients of the tenant; a 429 waits for
//! `Retry-After`, or the `RateLimit-Reset` seconds, or a second, and a page whose
//! `RateLimit-Remaining` is 0 holds the next request until the reset.

mod streams;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::money::{Currency, Money};
use accord_core::rule::IdMapRef;
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{self, RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::client::{FetchStats, Verdict, default_verdict, excerpt, retry_after};
use crate::http::{Auth, HttpClient, HttpConnector, Limit, Vendor};
use crate::{Connector, ConnectorError, Item, ObjectSpec, Page, Stream};

pub use streams::{QUERY, QUERY_MORE};

/// `[sources.<name>]` settings of kind `zuora`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The tenant's host: `us` (US Cloud 2, `https://rest.zuora.com`, the default), `us-cloud1`
    /// (`https://rest.na.zuora.com`), `eu` (`https://rest.eu.zuora.com`), `us-sandbox`
    /// (`https://rest.apisandbox.zuora.com`).
    #[serde(default)]
    pub environment: Environment,
    /// Overrides the environment's host (another data center, an emulator).
    pub base_url: Option<String>,
    /// The OAuth client of a Zuora API user.
    pub client_id: SecretRef,
    pub client_secret: SecretRef,
    /// The Account custom field holding accord's account id (`AccountId__c`).
    #[serde(default = "default_account_field")]
    pub account_id_field: String,
    /// Where an account's Zuora `Id` is looked up: an account field the System of Record
    /// fills with it (`billing_account_id`, `crm_account_id`, `support_account_id`) or another
    /// source's object (`<source>/<object>`).
    #[serde(default = "default_id_map")]
    pub zuora_account_id_field: String,
    /// Rows per query call (`conf.batchSize`): 1–2,000, 2,000 by default.
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// `Zuora-Entity-Ids`, for multi-entity tenants.
    pub entity_ids: Option<String>,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Environment {
    #[default]
    Us,
    UsCloud1,
    Eu,
    UsSandbox,
}

impl Environment {
    pub fn base_url(self) -> &'static str {
        match self {
            Environment::Us => "https://rest.zuora.com",
            Environment::UsCloud1 => "https://rest.na.zuora.com",
            Environment::Eu => "https://rest.eu.zuora.com",
            Environment::UsSandbox => "https://rest.apisandbox.zuora.com",
        }
    }
}

fn default_account_field() -> String {
    "AccountId__c".into()
}

fn default_batch_size() -> u32 {
    2_000
}

fn default_id_map() -> String {
    "billing_account_id".into()
}

/// ZOQL allows 200 conditions in a `where`.
const MAX_CONDITIONS: usize = 200;

#[derive(Debug)]
struct ZuoraRules;

/// Seconds in a header (`RateLimit-Reset` counts seconds until the window resets).
fn seconds(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let v: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v.min(3600.0)))
}

/// Zuora's refusal in a body, either documented shape: `{"Errors": [{"Code", "Message"}],
/// "Success": false}` (the query calls) or `{"success": false, "reasons": [{"code",
/// "message"}]}` (the newer calls).
pub fn refusal(body: &Value) -> Option<String> {
    let failed = body.get("Success").or_else(|| body.get("success")).and_then(Value::as_bool) == Some(false);
    if !failed {
        return None;
    }
    let list = body.get("Errors").or_else(|| body.get("reasons")).and_then(Value::as_array);
    let parts: Vec<String> = list
        .into_iter()
        .flatten()
        .map(|e| {
            let code = e.get("Code").or_else(|| e.get("code")).map(|c| c.to_string().trim_matches('"').to_owned());
            let msg = e.get("Message").or_else(|| e.get("message")).and_then(Value::as_str).unwrap_or_default();
            format!("{}: {msg}", code.unwrap_or_default())
        })
        .collect();
    Some(if parts.is_empty() { "Zuora refused the request".into() } else { parts.join("; ") })
}

impl Vendor for ZuoraRules {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(headers).or_else(|| seconds(headers, "ratelimit-reset"));
            return Verdict::RateLimited(wait.unwrap_or(Duration::from_secs(1)).max(Duration::from_millis(100)));
        }
        // Error bodies are small; a page of rows is not read twice.
        if body.len() < 8_192
            && let Ok(v) = serde_json::from_slice::<Value>(body)
            && let Some(why) = refusal(&v)
        {
            if status.is_server_error() {
                return Verdict::Transient(format!("HTTP {status}: {why}"));
            }
            if status != StatusCode::UNAUTHORIZED {
                return Verdict::Fatal(format!("HTTP {status}: {why}"));
            }
        }
        if status.is_client_error() && status != StatusCode::UNAUTHORIZED {
            return Verdict::Fatal(format!("HTTP {status}: {}", excerpt(body)));
        }
        default_verdict(status, headers, body)
    }

    fn quota_exhausted_until(&self, headers: &HeaderMap) -> Option<Duration> {
        let remaining: u64 = headers.get("ratelimit-remaining")?.to_str().ok()?.trim().parse().ok()?;
        (remaining == 0).then(|| seconds(headers, "ratelimit-reset")).flatten()
    }
}

/// A custom field's API name: letters, digits and underscores ending in `__c`.
fn is_custom_field(name: &str) -> bool {
    name.len() > 3
        && name.ends_with("__c")
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Builds a Zuora source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<ZuoraConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let client_id = common::secret(name, "client_id", &s.client_id, base_dir)?;
    let client_secret = common::secret(name, "client_secret", &s.client_secret, base_dir)?;
    if !is_custom_field(&s.account_id_field) {
        return Err(ConfigError::new(
            format!("sources.{name}.account_id_field"),
            format!("{:?} is not a Zuora custom field name: it ends in __c (AccountId__c)", s.account_id_field),
        ));
    }
    if IdMapRef::parse(&s.zuora_account_id_field).is_none() {
        return Err(ConfigError::new(
            format!("sources.{name}.zuora_account_id_field"),
            format!(
                "{:?} is no id map: name an account field (billing_account_id, crm_account_id, \
                 support_account_id) or \"<source>/<object>\"",
                s.zuora_account_id_field
            ),
        ));
    }
    let base = s.base_url.clone().unwrap_or_else(|| s.environment.base_url().to_owned());
    let base = base.trim_end_matches('/').to_owned();
    let default = Limit { requests: 600, window: Duration::from_secs(60) };
    let mut headers = vec![common::accept_json()];
    if let Some(ids) = s.entity_ids.as_ref().filter(|i| !i.trim().is_empty()) {
        headers.push(("Zuora-Entity-Ids".into(), ids.trim().to_owned()));
    }
    let client = common::client(
        name,
        &base,
        Auth::OAuth2ClientCredentials { token_url: format!("{base}/oauth/token"), client_id, client_secret },
        effective_limit(s.rate_limit, s.unthrottled, default),
        Box::new(ZuoraRules),
        headers,
    )?;
    let mut streams = streams::streams(&s.account_id_field, &s.zuora_account_id_field, s.batch_size.clamp(1, 2_000));
    apply_overrides(name, &mut streams, &source.objects)?;
    let writes = vec![streams::account_field(&s.account_id_field)];
    Ok(ZuoraConnector { inner: HttpConnector::new("zuora", client, streams).with_writes(writes) })
}

/// A configured Zuora source.
#[derive(Debug)]
pub struct ZuoraConnector {
    inner: HttpConnector,
}

impl Connector for ZuoraConnector {
    fn kind(&self) -> &'static str {
        "zuora"
    }

    fn objects(&self) -> &[ObjectSpec] {
        self.inner.objects()
    }

    fn write_back(&self) -> Option<&dyn crate::WriteBack> {
        self.inner.write_back()
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        Ok(Box::new(ZuoraStream {
            inner: self.inner.open_stream(object, cursor, full)?,
            client: self.inner.client().clone(),
            object: object.to_owned(),
            currencies: HashMap::new(),
        }))
    }
}

/// A Zuora stream: what a page's rows name by id is read, and `accord.*` is added to each.
struct ZuoraStream {
    inner: Box<dyn Stream>,
    client: Arc<HttpClient>,
    object: String,
    /// Account `Id` → `Currency`, learned as pages name accounts.
    currencies: HashMap<String, String>,
}

/// Every row of `select <fields> from <object> where <field> = <v1> or ...`, following
/// `queryMore`, in queries of at most 200 conditions.
async fn rows_where(
    client: &HttpClient,
    object: &str,
    fields: &[&str],
    field: &str,
    values: &[String],
    stats: &mut FetchStats,
) -> Result<Vec<Value>, ConnectorError> {
    let mut out = Vec::new();
    let fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    for chunk in values.chunks(MAX_CONDITIONS) {
        let cond: Vec<String> = chunk.iter().map(|v| format!("{field} = {}", streams::literal(v))).collect();
        let q = format!("{} where {}", streams::zoql(object, &fields, None), cond.join(" or "));
        let mut request = streams::query(q, 2_000);
        loop {
            let mut body = client.fetch(&request, stats).await?;
            if let Some(why) = refusal(&body) {
                return Err(ConnectorError::Fatal(format!("{object}: {why}")));
            }
            if let Some(Value::Array(rows)) = body.get_mut("records").map(Value::take) {
                out.extend(rows);
            }
            if body.get("done").and_then(Value::as_bool) != Some(false) {
                break;
            }
            match body.get("queryLocator").and_then(Value::as_str).filter(|l| !l.is_empty()) {
                Some(l) => request = crate::http::RequestSpec::post(QUERY_MORE, json!({"queryLocator": l})),
                None => {
                    return Err(ConnectorError::Fatal(format!("{object}: done is false but there is no queryLocator")));
                }
            }
        }
    }
    Ok(out)
}

fn text(v: &Value, field: &str) -> Option<String> {
    v.get(field).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The distinct non-empty values of `field` over `rows`, in first-seen order.
fn distinct<'a>(rows: impl Iterator<Item = &'a Value>, field: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    rows.filter_map(|r| text(r, field)).filter(|v| seen.insert(v.clone())).collect()
}

impl ZuoraStream {
    /// Learns the currencies of the accounts `rows` name that are not known yet.
    async fn currencies_of(&mut self, rows: &[&Value], stats: &mut FetchStats) -> Result<(), ConnectorError> {
        let missing: Vec<String> = distinct(rows.iter().copied(), "AccountId")
            .into_iter()
            .filter(|a| !self.currencies.contains_key(a))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        for a in rows_where(&self.client, "Account", &["Id", "Currency"], "Id", &missing, stats).await? {
            if let (Some(id), Some(c)) = (text(&a, "Id"), text(&a, "Currency")) {
                self.currencies.insert(id, c);
            }
        }
        Ok(())
    }

    async fn page(&mut self) -> Result<Option<Page>, ConnectorError> {
        let Some(mut page) = self.inner.next_page().await? else { return Ok(None) };
        let mut stats = FetchStats::default();
        let rows: Vec<&Value> =
            page.items.iter().filter_map(|i| if let Item::Record(r) = i { Some(&r.data) } else { None }).collect();
        let subscriptions = self.object == "subscriptions" && !rows.is_empty();
        let invoices = self.object == "invoices" && !rows.is_empty();
        if subscriptions || invoices {
            self.currencies_of(&rows, &mut stats).await?;
        }
        if subscriptions {
            let ids = distinct(rows.iter().copied(), "Id");
            let plans =
                rows_where(&self.client, "RatePlan", streams::RATE_PLAN_FIELDS, "SubscriptionId", &ids, &mut stats)
                    .await?;
            let plan_ids = distinct(plans.iter(), "Id");
            let charges =
                rows_where(&self.client, "RatePlanCharge", streams::CHARGE_FIELDS, "RatePlanId", &plan_ids, &mut stats)
                    .await?;
            let plan_of: HashMap<String, &Value> = plans.iter().filter_map(|p| Some((text(p, "Id")?, p))).collect();
            let mut by_sub: HashMap<String, Vec<Value>> = HashMap::new();
            for c in charges {
                // The current segment only; a row without the flag is its only segment.
                if c.get("IsLastSegment").and_then(Value::as_bool) == Some(false) {
                    continue;
                }
                let Some(plan) = text(&c, "RatePlanId").and_then(|p| plan_of.get(&p).copied()) else { continue };
                let Some(sub) = text(plan, "SubscriptionId") else { continue };
                let mut c = c;
                if let (Some(map), Some(name)) = (c.as_object_mut(), text(plan, "Name")) {
                    map.insert("RatePlanName".into(), Value::String(name));
                }
                by_sub.entry(sub).or_default().push(c);
            }
            for item in &mut page.items {
                if let Item::Record(raw) = item {
                    let id = text(&raw.data, "Id").unwrap_or_default();
                    let currency = text(&raw.data, "AccountId").and_then(|a| self.currencies.get(&a).cloned());
                    let charges = by_sub.remove(&id).unwrap_or_default();
                    let derived = subscription_fields(&raw.data, &charges, currency.as_deref());
                    if let Some(map) = raw.data.as_object_mut() {
                        map.insert("accord".into(), derived);
                    }
                }
            }
        } else if invoices {
            let ids = distinct(rows.iter().copied(), "Id");
            let items =
                rows_where(&self.client, "InvoiceItem", streams::INVOICE_ITEM_FIELDS, "InvoiceId", &ids, &mut stats)
                    .await?;
            let mut by_invoice: HashMap<String, Vec<Value>> = HashMap::new();
            for i in items {
                if let Some(inv) = text(&i, "InvoiceId") {
                    by_invoice.entry(inv).or_default().push(i);
                }
            }
            for item in &mut page.items {
                if let Item::Record(raw) = item {
                    let id = text(&raw.data, "Id").unwrap_or_default();
                    let currency = text(&raw.data, "AccountId").and_then(|a| self.currencies.get(&a).cloned());
                    let items = by_invoice.remove(&id).unwrap_or_default();
                    let derived = invoice_fields(&raw.data, &items, currency.as_deref());
                    if let Some(map) = raw.data.as_object_mut() {
                        map.insert("accord".into(), derived);
                    }
                }
            }
        }
        page.stats.requests += stats.requests;
        page.stats.retries += stats.retries;
        page.stats.rate_limit_waits += stats.rate_limit_waits;
        Ok(Some(page))
    }
}

impl Stream for ZuoraStream {
    fn next_page(&mut self) -> BoxFuture<'_, Result<Option<Page>, ConnectorError>> {
        Box::pin(self.page())
    }
}

/// A JSON amount's exact text: a number's own digits (the parser keeps them), or a string.
fn amount_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// `v` (major units of `currency`) in minor units, exactly; `None` when absent or finer than
/// the currency's exponent.
fn minor(v: Option<&Value>, currency: Option<&str>) -> Option<i64> {
    let c = Currency::parse(currency?).ok()?;
    Money::parse_major(&amount_text(v?)?, c).ok().map(|m| m.minor)
}

/// Minor units as decimal text of the major unit (`4990` USD → `"49.90"`).
fn major_text(minor: i64, currency: &str) -> Option<String> {
    let c = Currency::parse(currency).ok()?;
    let e = u32::from(c.exponent());
    let (sign, abs) = (if minor < 0 { "-" } else { "" }, minor.unsigned_abs());
    if e == 0 {
        return Some(format!("{sign}{abs}"));
    }
    let scale = 10u64.pow(e);
    Some(format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = e as usize))
}

/// Decimal places an `MRR` figure is read to exactly (Zuora gives up to nine).
const MRR_SCALE: u32 = 12;

/// A decimal's text in units of 10^-`MRR_SCALE`, exactly; `None` when finer or not a decimal.
fn scaled(text: &str) -> Option<i128> {
    let (neg, t) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > MRR_SCALE as usize
    {
        return None;
    }
    let int: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_units: i128 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    let v =
        int.checked_mul(10i128.pow(MRR_SCALE))?.checked_add(frac_units * 10i128.pow(MRR_SCALE - frac.len() as u32))?;
    Some(if neg { -v } else { v })
}

/// The sum of the charges' `MRR`, exact, rounded once to the currency's minor unit (half away
/// from zero), as decimal text of the major unit. Zuora's MRR of an annual price is a
/// repeating decimal (`83.333333333`); accord rounds its own figure to the minor unit too.
fn mrr_sum(charges: &[Value], currency: Option<&str>) -> Option<String> {
    let code = currency?;
    let c = Currency::parse(code).ok()?;
    let total = charges.iter().try_fold(0i128, |acc, ch| acc.checked_add(scaled(&amount_text(ch.get("MRR")?)?)?))?;
    let step = 10i128.pow(MRR_SCALE - u32::from(c.exponent()));
    let half = step / 2;
    let minor = if total >= 0 { (total + half) / step } else { -((-total + half) / step) };
    major_text(i64::try_from(minor).ok()?, code)
}

/// A decimal quantity (`2`, `2.0`, `"3.000"`) that is a whole number.
fn whole(v: Option<&Value>) -> Option<i64> {
    let t = amount_text(v?)?;
    let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
    if !frac.bytes().all(|b| b == b'0') {
        return None;
    }
    int.parse().ok()
}

/// A `BillingPeriod` as an interval and a count.
pub fn billing_period(p: &str) -> Option<(&'static str, i64)> {
    Some(match p {
        "Month" => ("month", 1),
        "Quarter" => ("month", 3),
        "Semi-Annual" => ("month", 6),
        "Annual" => ("year", 1),
        "Eighteen Months" => ("month", 18),
        "Two Years" => ("year", 2),
        "Three Years" => ("year", 3),
        "Five Years" => ("year", 5),
        "Week" => ("week", 1),
        _ => return None,
    })
}

fn is_discount(c: &Value) -> bool {
    c.get("ChargeModel").and_then(Value::as_str).is_some_and(|m| m.starts_with("Discount"))
}

/// The subscription's typed fields from its current charges (see the module doc).
fn subscription_fields(s: &Value, charges: &[Value], currency: Option<&str>) -> Value {
    let status = s.get("Status").and_then(Value::as_str).unwrap_or_default();
    let recurring: Vec<&Value> = charges
        .iter()
        .filter(|c| c.get("ChargeType").and_then(Value::as_str) == Some("Recurring") && !is_discount(c))
        .collect();
    let periods: HashSet<Option<(&str, i64)>> =
        recurring.iter().map(|c| c.get("BillingPeriod").and_then(Value::as_str).and_then(billing_period)).collect();
    let period = match periods.into_iter().collect::<Vec<_>>().as_slice() {
        [Some(p)] => Some(*p),
        _ => None,
    };
    let (unit, quantity) = match (period, recurring.as_slice()) {
        (None, _) | (_, []) => (None, None),
        (Some(_), [one]) => (minor(one.get("Price"), currency), whole(one.get("Quantity"))),
        (Some(_), many) => {
            let sum = many.iter().try_fold(0i64, |acc, c| {
                let line = minor(c.get("Price"), currency)?.checked_mul(whole(c.get("Quantity"))?)?;
                acc.checked_add(line)
            });
            (sum, sum.map(|_| 1))
        }
    };
    let unit = unit.filter(|_| quantity.is_some());
    let ended = matches!(status, "Cancelled" | "Expired");
    // An ended subscription's charges keep their MRR figure; it is not revenue now, so it is
    // not reported as the subscription's MRR.
    let mrr = if ended || charges.is_empty() { None } else { mrr_sum(charges, currency) };
    let termed = s.get("TermType").and_then(Value::as_str) == Some("TERMED");
    let auto_renew = s.get("AutoRenew").and_then(Value::as_bool).unwrap_or(false);
    let end = if ended {
        s.get("SubscriptionEndDate").or_else(|| s.get("TermEndDate")).filter(|v| !v.is_null()).cloned()
    } else {
        None
    };
    json!({
        "currency": currency,
        "plan_code": recurring.first().and_then(|c| c.get("RatePlanName")).cloned(),
        "unit_amount": unit,
        "quantity": quantity.filter(|_| unit.is_some()),
        "billing_interval": period.filter(|_| unit.is_some()).map(|p| p.0),
        "interval_count": period.filter(|_| unit.is_some()).map(|p| p.1),
        "mrr": mrr,
        "end_date": end,
        "current_period_end": if termed && !ended { s.get("TermEndDate").cloned() } else { None },
        "cancel_at_period_end": status == "Cancelled" || (termed && !auto_renew && !ended),
        "charges": charges,
    })
}

fn date(v: Option<&Value>) -> Option<chrono::NaiveDate> {
    v.and_then(accord_core::time::parse_timestamp).map(|t| t.date_naive())
}

fn day_text(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The invoice's typed fields from its items (see the module doc).
fn invoice_fields(inv: &Value, items: &[Value], currency: Option<&str>) -> Value {
    let money = |field: &str| minor(inv.get(field), currency).and_then(|m| major_text(m, currency?));
    let charge = |i: &&Value| {
        matches!(i.get("ProcessingType").and_then(Value::as_i64).or(Some(0)), Some(0))
            && text(i, "SubscriptionId").is_some()
    };
    let billed = items
        .iter()
        .filter(charge)
        .filter(|i| minor(i.get("ChargeAmount"), currency).is_some_and(|a| a > 0))
        .max_by_key(|i| date(i.get("ServiceStartDate")));
    let starts = items.iter().filter(charge).filter_map(|i| date(i.get("ServiceStartDate")));
    let ends = items.iter().filter(charge).filter_map(|i| date(i.get("ServiceEndDate")));
    json!({
        "currency": currency,
        "amount": money("Amount"),
        "tax": money("TaxAmount"),
        "line_count": items.len(),
        "subscription_id": items.iter().find_map(|i| text(i, "SubscriptionId")),
        "non_recurring": !items.is_empty() && !items.iter().any(|i| text(i, "SubscriptionId").is_some()),
        "period_start": starts.min().map(day_text),
        "period_end": ends.max().and_then(|d| d.succ_opt()).map(day_text),
        "billed_from": billed.and_then(|i| date(i.get("ServiceStartDate"))).map(day_text),
        "billed_unit_amount": billed.and_then(|i| minor(i.get("UnitPrice"), currency)),
        "billed_quantity": billed.and_then(|i| whole(i.get("Quantity"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn incremental_zoql_filters_on_updated_date_and_quotes_literals() {
        let fields = vec!["Id".to_owned(), "UpdatedDate".to_owned()];
        assert_eq!(streams::zoql("Account", &fields, None), "select Id, UpdatedDate from Account");
        let q = streams::zoql("Account", &fields, Some(&json!("2024-03-01T12:00:00Z")));
        assert_eq!(q, "select Id, UpdatedDate from Account where UpdatedDate >= '2024-03-01T12:00:00+00:00'");
        assert_eq!(streams::literal("o'k\\"), "'o\\'k\\\\'");
        let r = streams::query(q, 50);
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/action/query"));
        assert_eq!(r.body.unwrap()["conf"], json!({"batchSize": 50}));
    }

    #[test]
    fn a_subscription_takes_price_quantity_period_and_the_charges_mrr() {
        let s = parsed(
            r#"{"Id": "s1", "AccountId": "a1", "Status": "Active", "TermType": "TERMED", "AutoRenew": true,
            "SubscriptionStartDate": "2024-01-10", "TermEndDate": "2025-01-10"}"#,
        );
        let charges = [parsed(
            r#"{"ChargeType": "Recurring", "ChargeModel": "Per Unit Pricing", "BillingPeriod": "Quarter",
            "Price": 300.5, "Quantity": 2.0, "MRR": 200.333333333, "RatePlanName": "Gold"}"#,
        )];
        let f = subscription_fields(&s, &charges, Some("USD"));
        assert_eq!((f["unit_amount"].clone(), f["quantity"].clone()), (json!(30_050), json!(2)));
        assert_eq!((f["billing_interval"].clone(), f["interval_count"].clone()), (json!("month"), json!(3)));
        assert_eq!(f["mrr"], json!("200.33"), "rounded once to the cent");
        let charges = [
            parsed(
                r#"{"ChargeType": "Recurring", "BillingPeriod": "Annual", "Price": 1200, "Quantity": 1, "MRR": 100}"#,
            ),
            parsed(r#"{"ChargeType": "Recurring", "ChargeModel": "Discount-Percentage", "MRR": -10.5}"#),
        ];
        let f = subscription_fields(&s, &charges, Some("EUR"));
        assert_eq!((f["unit_amount"].clone(), f["billing_interval"].clone()), (json!(120_000), json!("year")));
        assert_eq!(f["mrr"], json!("89.50"), "the discount charge's MRR lowers the sum");
        assert_eq!(
            (f["current_period_end"].clone(), f["cancel_at_period_end"].clone()),
            (json!("2025-01-10"), json!(false))
        );
        let mixed = [
            parsed(
                r#"{"ChargeType": "Recurring", "BillingPeriod": "Annual", "Price": 1200, "Quantity": 1, "MRR": 100}"#,
            ),
            parsed(r#"{"ChargeType": "Recurring", "BillingPeriod": "Month", "Price": 5, "Quantity": 3, "MRR": 15}"#),
        ];
        let f = subscription_fields(&s, &mixed, Some("JPY"));
        assert_eq!((f["unit_amount"].clone(), f["mrr"].clone()), (Value::Null, json!("115")));
        let same = [
            parsed(r#"{"ChargeType": "Recurring", "BillingPeriod": "Month", "Price": 10, "Quantity": 2, "MRR": 20}"#),
            parsed(r#"{"ChargeType": "Recurring", "BillingPeriod": "Month", "Price": 5, "Quantity": 3, "MRR": 15}"#),
        ];
        let f = subscription_fields(&s, &same, Some("GBP"));
        assert_eq!((f["unit_amount"].clone(), f["quantity"].clone()), (json!(3_500), json!(1)));
        let cancelled = parsed(
            r#"{"Status": "Cancelled", "TermType": "EVERGREEN", "SubscriptionEndDate": "2024-06-01",
            "CancelledDate": "2024-05-20"}"#,
        );
        let f = subscription_fields(&cancelled, &[], Some("USD"));
        assert_eq!((f["end_date"].clone(), f["mrr"].clone()), (json!("2024-06-01"), Value::Null));
        assert_eq!(f["cancel_at_period_end"], json!(true));
    }

    #[test]
    fn an_invoice_bills_the_positive_charge_item_that_starts_last() {
        let inv = parsed(r#"{"Id": "i1", "Amount": 60.0, "TaxAmount": 0, "InvoiceNumber": "INV1"}"#);
        let items = [
            parsed(
                r#"{"SubscriptionId": "s1", "ProcessingType": 0, "ChargeAmount": -24.5, "UnitPrice": 49,
                "Quantity": 1, "ServiceStartDate": "2024-03-15", "ServiceEndDate": "2024-03-31"}"#,
            ),
            parsed(
                r#"{"SubscriptionId": "s1", "ProcessingType": 0, "ChargeAmount": 84.5, "UnitPrice": 99.0,
                "Quantity": 2, "ServiceStartDate": "2024-03-15", "ServiceEndDate": "2024-03-31"}"#,
            ),
            parsed(
                r#"{"SubscriptionId": "s1", "ProcessingType": 0, "ChargeAmount": 49, "UnitPrice": 49,
                "Quantity": 1, "ServiceStartDate": "2024-03-01", "ServiceEndDate": "2024-03-14"}"#,
            ),
        ];
        let f = invoice_fields(&inv, &items, Some("USD"));
        assert_eq!(
            f,
            json!({"currency": "USD", "amount": "60.00", "tax": "0.00", "line_count": 3, "subscription_id": "s1",
                "non_recurring": false, "period_start": "2024-03-01", "period_end": "2024-04-01",
                "billed_from": "2024-03-15", "billed_unit_amount": 9900, "billed_quantity": 2})
        );
        let one_off = invoice_fields(&inv, &[parsed(r#"{"ChargeAmount": 60, "Quantity": 1}"#)], Some("JPY"));
        assert_eq!((one_off["non_recurring"].clone(), one_off["amount"].clone()), (json!(true), json!("60")));
    }

    #[test]
    fn rate_limits_and_refusals() {
        let mut h = HeaderMap::new();
        h.insert("ratelimit-remaining", "0".parse().unwrap());
        h.insert("ratelimit-reset", "30".parse().unwrap());
        assert_eq!(ZuoraRules.quota_exhausted_until(&h), Some(Duration::from_secs(30)));
        let body = br#"{"Errors": [{"Code": "REQUEST_EXCEEDED_LIMIT", "Message": "too many"}], "Success": false}"#;
        assert_eq!(
            ZuoraRules.classify(StatusCode::TOO_MANY_REQUESTS, &h, body),
            Verdict::RateLimited(Duration::from_secs(30))
        );
        h.insert("ratelimit-remaining", "5".parse().unwrap());
        assert_eq!(ZuoraRules.quota_exhausted_until(&h), None);
        let bad = br#"{"Errors": [{"Code": "INVALID_VALUE", "Message": "invalid field Foo"}], "Success": false}"#;
        match ZuoraRules.classify(StatusCode::OK, &HeaderMap::new(), bad) {
            Verdict::Fatal(why) => assert!(why.contains("INVALID_VALUE: invalid field Foo"), "{why}"),
            other => panic!("{other:?}"),
        }
        let newer = parsed(r#"{"success": false, "reasons": [{"code": 53100020, "message": "bad"}]}"#);
        assert_eq!(refusal(&newer).as_deref(), Some("53100020: bad"));
        assert_eq!(refusal(&json!({"records": [], "done": true})), None);
        assert_eq!(ZuoraRules.classify(StatusCode::UNAUTHORIZED, &HeaderMap::new(), b"{}"), Verdict::AuthExpired);
        assert!(is_custom_field("AccountId__c") && !is_custom_field("AccountId") && !is_custom_field("__c"));
    }

    #[test]
    fn the_write_back_puts_the_custom_field_and_reads_it_back_by_zoql() {
        let def = streams::account_field("Acct__c");
        let w = (def.write)("2c92a0f9", "acct-1");
        assert_eq!((w.method.as_str(), w.path.as_str()), ("PUT", "/v1/accounts/2c92a0f9"));
        assert_eq!(w.body, Some(json!({"Acct__c": "acct-1"})));
        let r = (def.read)("o'brien");
        assert_eq!(r.path, QUERY);
        assert_eq!(r.body.unwrap()["queryString"], "select Id, Acct__c from Account where Id = 'o\\'brien'");
        assert_eq!(def.confirm, crate::http::Confirm::ReadBack, "Zuora's answer carries no account");
        let answer = json!({"records": [{"Id": "2c92a0f9", "Acct__c": "acct-1"}], "size": 1, "done": true});
        assert_eq!(def.read_value.get(&answer), Some(&json!("acct-1")));
        assert_eq!(def.field.to_string(), "Acct__c");
    }

    #[test]
    fn billing_periods() {
        assert_eq!(billing_period("Annual"), Some(("year", 1)));
        assert_eq!(billing_period("Semi-Annual"), Some(("month", 6)));
        assert_eq!(billing_period("Specific Months"), None);
        assert_eq!(whole(Some(&json!("3.000"))), Some(3));
        assert_eq!(whole(Some(&json!(2.5))), None);
        assert_eq!(scaled("83.333333333"), Some(83_333_333_333_000));
        assert_eq!(scaled("-0.5"), Some(-500_000_000_000));
        assert_eq!((scaled("1.0000000000001"), scaled("1e3"), scaled(".")), (None, None, None));
        let annual = [json!({"MRR": 83.333333333}), json!({"MRR": 0.005})];
        assert_eq!(mrr_sum(&annual, Some("USD")).as_deref(), Some("83.34"), "summed before rounding");
        assert_eq!(mrr_sum(&[json!({"MRR": -10.505})], Some("USD")).as_deref(), Some("-10.51"));
    }
}
