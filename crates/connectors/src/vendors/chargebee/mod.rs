//! Chargebee (API v2): customers by our account id in a custom field (`cf_account_id`, the name a
//! setting; a `meta_data.<key>` works too), then by the customer's own `id` where the System of
//! Record carries it (a `native_id` rule through an id accounts hold, `billing_account_id` by
//! default: the guide's "choosing a native Chargebee ID mandates that this ID is propagated");
//! subscriptions and invoices through their customer (`customer_id`).
//!
//! The site is `https://{site}.chargebee.com` (`base_url` overrides it); the API key is the HTTP
//! Basic user, with an empty password. Lists are paged by `limit` and the opaque `offset` /
//! `next_offset`, sorted by `updated_at`, with `include_deleted=true` so deleted records come back
//! flagged `deleted: true` and become tombstones (see `streams.rs`). Each list entry wraps its
//! record under the object's name; the stream unwraps it and adds `accord.*` fields where
//! Chargebee's shape is not what the typed fields read: the plan item of Product Catalog 2.0
//! (`subscription_items[]` with `item_type = plan`) or 1.0's `plan_id`/`plan_unit_price`/
//! `plan_quantity`, amounts (integer minor units) as decimal text, the coupon terms (a
//! subscription names its coupons by id; each is read once from `/api/v2/coupons/{id}`),
//! `non_renewing` as cancel-at-period-end, and an invoice's plan line as the price it bills.
//! Chargebee's own `mrr` goes to the typed `mrr`, which `accord doctor` compares with accord's.
//!
//! The limit is per minute by plan (Starter and test sites 150, Performance 1,000, Enterprise
//! 3,500); beyond it Chargebee answers 429 with `api_error_code: api_request_limit_exceeded`.
//! Errors are `{message, type, api_error_code, error_code, http_status_code}`.

mod streams;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::money::Currency;
use accord_core::secret::{SecretRef, SecretString};
use accord_core::{Config, ConfigError, FieldPath, IdMapRef};
use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{self, accept_json};
use super::common::{RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::client::{FetchStats, default_verdict, retry_after};
use crate::http::{Auth, HttpClient, HttpConnector, Limit, RequestSpec, Vendor, Verdict};
use crate::{Connector, ConnectorError, Item, ObjectSpec, Page, Stream};

/// `[sources.<name>]` settings of kind `chargebee`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The site name: the API is `https://{site}.chargebee.com` (a test site is `{name}-test`).
    pub site: Option<String>,
    /// The API's root, instead of the site's (paths are `/api/v2/...` below it).
    pub base_url: Option<String>,
    /// A full-access or read-only API key, sent as the HTTP Basic user.
    pub api_key: SecretRef,
    /// Where customers carry our account id: a custom field (`cf_account_id`, the default) or a
    /// `meta_data` key (`meta_data.account_id`).
    #[serde(default = "default_account_id_field")]
    pub account_id_field: String,
    /// The id accounts carry that holds their Chargebee customer id, for the `native_id` rule:
    /// `billing_account_id` (the default; the System of Record's field is mapped to it), another
    /// account id field, a `<source>/<object>`, or `"off"` for no such rule.
    #[serde(default = "default_customer_id_map")]
    pub customer_id_map: String,
    /// Records asked per page (Chargebee's maximum, 100, by default).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// The plan's API requests per minute (Starter and test sites: 150, Performance: 1,000,
    /// Enterprise: 3,500).
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_account_id_field() -> String {
    "cf_account_id".into()
}

fn default_customer_id_map() -> String {
    "billing_account_id".into()
}

fn default_page_size() -> u32 {
    100
}

fn default_per_minute() -> u32 {
    150
}

/// How long a 429 without `Retry-After` waits: Chargebee counts per minute.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(5);

/// Chargebee's signals: a 429 is `api_request_limit_exceeded` (or a `lock_timeout`, also worth
/// waiting out), 401 a wrong key; the rest follows HTTP.
#[derive(Debug)]
struct ChargebeeRules;

impl Vendor for ChargebeeRules {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Verdict::RateLimited(retry_after(headers).unwrap_or(RATE_LIMIT_WAIT));
        }
        match default_verdict(status, headers, body) {
            // A refusal names Chargebee's own code and message: say those.
            Verdict::Fatal(why) => match serde_json::from_slice::<Value>(body) {
                Ok(e) => Verdict::Fatal(format!(
                    "HTTP {status}: {} ({})",
                    e.get("message").and_then(Value::as_str).unwrap_or("no message"),
                    e.get("api_error_code").and_then(Value::as_str).unwrap_or("no api_error_code"),
                )),
                Err(_) => Verdict::Fatal(why),
            },
            other => other,
        }
    }
}

/// Builds a Chargebee source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<ChargebeeConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let key = common::secret(name, "api_key", &s.api_key, base_dir)?;
    let base = match (&s.base_url, &s.site) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(site)) if !site.is_empty() && site.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
            format!("https://{site}.chargebee.com")
        }
        (None, Some(site)) => {
            return Err(ConfigError::new(
                format!("sources.{name}.site"),
                format!("{site:?} is not a site name: write the part before .chargebee.com, e.g. \"acme-test\""),
            ));
        }
        (None, None) => {
            return Err(ConfigError::new(
                format!("sources.{name}.site"),
                "missing: the site name (the part before .chargebee.com), or a base_url",
            ));
        }
    };
    let field = s.account_id_field.trim();
    let ok_field = match field.strip_prefix("meta_data.") {
        Some(k) => !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        None => {
            field.starts_with("cf_") && field.len() > 3 && field.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
    };
    if !ok_field {
        return Err(ConfigError::new(
            format!("sources.{name}.account_id_field"),
            format!(
                "{:?} is not a customer custom field (\"cf_account_id\") or meta_data key (\"meta_data.account_id\")",
                s.account_id_field
            ),
        ));
    }
    let map = match s.customer_id_map.trim() {
        "off" => None,
        text => Some(IdMapRef::parse(text).ok_or_else(|| {
            ConfigError::new(
                format!("sources.{name}.customer_id_map"),
                format!(
                    "{text:?} is not an id map: use billing_account_id, crm_account_id, support_account_id, \
                     \"<source>/<object>\" or \"off\""
                ),
            )
        })?),
    };
    let client = common::client(
        name,
        &base,
        Auth::Basic { user: key.expose().to_owned(), password: SecretString::new("") },
        effective_limit(s.rate_limit, s.unthrottled, Limit::per_minute(s.per_minute.max(1))),
        Box::new(ChargebeeRules),
        vec![accept_json()],
    )?;
    let mut streams = streams::streams(s.page_size.clamp(1, 100), field, map.as_ref());
    apply_overrides(name, &mut streams, &source.objects)?;
    let objects: Vec<ObjectSpec> = streams.iter().map(|d| d.object.clone()).collect();
    // The runtime sees list entries: its id, cursor and deletion paths are inside the member.
    for def in &mut streams {
        let member = streams::member(&def.object.name);
        let under = |p: &FieldPath| FieldPath::parse(&format!("{member}.{p}")).unwrap_or_else(|_| p.clone());
        def.object.native_id = def.object.native_id.as_ref().map(under);
        def.cursor_field = def.cursor_field.as_ref().map(under);
        def.deleted_when = def.deleted_when.take().map(|(p, v)| (under(&p), v));
    }
    let writes = streams::customer_field(field).into_iter().collect();
    Ok(ChargebeeConnector { inner: HttpConnector::new("chargebee", client, streams).with_writes(writes), objects })
}

/// A configured Chargebee source.
#[derive(Debug)]
pub struct ChargebeeConnector {
    inner: HttpConnector,
    /// The objects as the engine sees them: records unwrapped from their list entries.
    objects: Vec<ObjectSpec>,
}

impl Connector for ChargebeeConnector {
    fn kind(&self) -> &'static str {
        "chargebee"
    }

    fn objects(&self) -> &[ObjectSpec] {
        &self.objects
    }

    fn write_back(&self) -> Option<&dyn crate::WriteBack> {
        self.inner.write_back()
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        Ok(Box::new(ChargebeeStream {
            inner: self.inner.open_stream(object, cursor, full)?,
            client: self.inner.client().clone(),
            member: streams::member(object),
            coupons: HashMap::new(),
        }))
    }
}

/// A Chargebee stream: list entries unwrapped to their records, `accord.*` added.
struct ChargebeeStream {
    inner: Box<dyn Stream>,
    client: Arc<HttpClient>,
    member: &'static str,
    /// Coupons read so far in this pass, by id.
    coupons: HashMap<String, Value>,
}

impl ChargebeeStream {
    async fn page(&mut self) -> Result<Option<Page>, ConnectorError> {
        let Some(mut page) = self.inner.next_page().await? else { return Ok(None) };
        let mut stats = FetchStats::default();
        for item in &mut page.items {
            let Item::Record(raw) = item else { continue };
            let mut record = raw.data.get_mut(self.member).map(Value::take).unwrap_or(Value::Null);
            if !record.is_object() {
                *item = Item::Malformed {
                    location: format!("a list entry without {:?}", self.member),
                    problem: format!("Chargebee list entries hold the record under {:?}", self.member),
                    raw: raw.data.take(),
                };
                continue;
            }
            let derived = match self.member {
                "customer" => customer_fields(&record),
                "subscription" => {
                    let coupon = self.coupon(&record, &mut stats).await?;
                    subscription_fields(&record, coupon.as_ref())
                }
                _ => invoice_fields(&record),
            };
            if let Some(map) = record.as_object_mut() {
                map.insert("accord".into(), derived);
            }
            raw.data = record;
        }
        page.stats.requests += stats.requests;
        page.stats.retries += stats.retries;
        page.stats.rate_limit_waits += stats.rate_limit_waits;
        Ok(Some(page))
    }

    /// The first coupon of a subscription (`coupons[0].coupon_id`), read once per pass.
    async fn coupon(&mut self, s: &Value, stats: &mut FetchStats) -> Result<Option<Value>, ConnectorError> {
        let Some(id) = s.pointer("/coupons/0/coupon_id").and_then(Value::as_str) else { return Ok(None) };
        if let Some(c) = self.coupons.get(id) {
            return Ok(Some(c.clone()));
        }
        let request = RequestSpec::get(format!("/api/v2/coupons/{}", encode(id)));
        let answer = self.client.fetch(&request, stats).await?;
        let coupon = answer.get("coupon").cloned().unwrap_or(Value::Null);
        self.coupons.insert(id.to_owned(), coupon.clone());
        Ok(Some(coupon))
    }
}

impl Stream for ChargebeeStream {
    fn next_page(&mut self) -> BoxFuture<'_, Result<Option<Page>, ConnectorError>> {
        Box::pin(self.page())
    }
}

/// A path segment as Chargebee ids may hold characters a path cannot.
fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `minor` units of `currency` as exact decimal text of its major unit (`1250 USD` → `"12.50"`).
fn major(minor: i64, currency: &str) -> Option<String> {
    let e = u32::from(Currency::parse(currency).ok()?.exponent());
    if e == 0 {
        return Some(minor.to_string());
    }
    let scale = 10u64.pow(e);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    Some(format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = e as usize))
}

fn customer_fields(c: &Value) -> Value {
    let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let person = match (text("first_name"), text("last_name")) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l).map(str::to_owned),
    };
    json!({ "name": text("company").map(str::to_owned).or(person) })
}

/// The plan item of a subscription: Product Catalog 2.0's `subscription_items[]` entry with
/// `item_type = plan`, as `(item price id, unit price, quantity, metered)`; or 1.0's `plan_*`.
fn plan_item(s: &Value) -> (Option<Value>, Option<i64>, Option<i64>, bool) {
    let items = s.get("subscription_items").and_then(Value::as_array);
    match items.and_then(|i| i.iter().find(|x| x.get("item_type").and_then(Value::as_str) == Some("plan"))) {
        Some(item) => (
            item.get("item_price_id").cloned(),
            item.get("unit_price").and_then(Value::as_i64),
            item.get("quantity").and_then(Value::as_i64),
            // Usage-based pricing bills what was used, in arrears: not recurring revenue.
            item.get("metered_quantity").is_some()
                || item.get("usage_accumulation_reset_frequency").is_some()
                || item.get("pricing_model").and_then(Value::as_str) == Some("metered"),
        ),
        None => (
            s.get("plan_id").cloned(),
            s.get("plan_unit_price").and_then(Value::as_i64),
            s.get("plan_quantity").and_then(Value::as_i64),
            false,
        ),
    }
}

fn subscription_fields(s: &Value, coupon: Option<&Value>) -> Value {
    let status = s.get("status").and_then(Value::as_str).unwrap_or_default();
    let currency = s.get("currency_code").and_then(Value::as_str).unwrap_or_default();
    let (plan, unit, quantity, metered) = plan_item(s);
    let cancelled = status == "cancelled";
    let percent_bp = coupon
        .filter(|c| c.get("discount_type").and_then(Value::as_str) == Some("percentage"))
        .and_then(|c| c.get("discount_percentage"))
        .and_then(Value::as_f64)
        .map(|p| (p * 100.0).round() as i64);
    let amount_off = coupon
        .filter(|c| c.get("discount_type").and_then(Value::as_str) == Some("fixed_amount"))
        .and_then(|c| c.get("discount_amount"))
        .and_then(Value::as_i64);
    let duration = coupon.and_then(|c| c.get("duration_type")).and_then(Value::as_str).map(|d| match d {
        "one_time" => "once",
        "limited_period" => "repeating",
        other => other,
    });
    json!({
        "plan_code": plan,
        "unit_amount": unit,
        "quantity": quantity,
        "metered": metered,
        "mrr": s.get("mrr").and_then(Value::as_i64).and_then(|m| major(m, currency)),
        "start_date": s.get("started_at").or_else(|| s.get("start_date")).or_else(|| s.get("created_at")).cloned(),
        "end_date": if cancelled { s.get("cancelled_at").cloned() } else { None },
        // A cancelled subscription's `cancelled_at` is when it ended; a scheduled one's is when
        // it will, and `cancel_schedule_created_at` is when it was asked for.
        "canceled_at": if cancelled {
            s.get("cancelled_at").cloned()
        } else {
            s.get("cancel_schedule_created_at").cloned()
        },
        "cancel_at_period_end": status == "non_renewing",
        "discount_percent_bp": percent_bp,
        "discount_amount": amount_off,
        "discount_duration": duration,
        "discount_end": s.pointer("/coupons/0/apply_till").cloned(),
    })
}

/// The line of an invoice that bills the subscription's recurring price: the first plan line
/// with a positive amount (a proration invoice also credits the old price, negatively).
fn plan_line(i: &Value) -> Option<&Value> {
    i.get("line_items")?.as_array()?.iter().find(|l| {
        let plan = matches!(l.get("entity_type").and_then(Value::as_str), Some("plan_item_price" | "plan"));
        plan && l.get("amount").and_then(Value::as_i64).is_some_and(|a| a > 0)
    })
}

fn invoice_fields(i: &Value) -> Value {
    let currency = i.get("currency_code").and_then(Value::as_str).unwrap_or_default();
    let status = i.get("status").and_then(Value::as_str).unwrap_or_default();
    let line = plan_line(i);
    let recurring = i.get("recurring").and_then(Value::as_bool).unwrap_or(i.get("subscription_id").is_some());
    json!({
        "amount": i.get("total").and_then(Value::as_i64).and_then(|t| major(t, currency)),
        "tax": i.get("tax").and_then(Value::as_i64).or(Some(0)).and_then(|t| major(t, currency)),
        "non_recurring": !recurring,
        "failed": status == "payment_due" || status == "not_paid",
        "line_count": i.get("line_items").and_then(Value::as_array).map(Vec::len),
        "period_start": line.and_then(|l| l.get("date_from")).cloned(),
        "period_end": line.and_then(|l| l.get("date_to")).cloned(),
        "billed_from": line.and_then(|l| l.get("date_from")).cloned(),
        "billed_unit_amount": line.and_then(|l| l.get("unit_amount")).cloned(),
        "billed_quantity": line.and_then(|l| l.get("quantity")).cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_core::LinkRule;

    fn config(dir: &Path, extra: &str) -> Config {
        let toml = format!(
            "[system_of_record]\nsource = \"crm\"\nobject = \"accounts\"\naccount_id = \"id\"\n\
             [sources.crm]\nkind = \"file\"\n[[sources.crm.objects]]\nname = \"accounts\"\nkind = \"account\"\n\
             path = \"a.csv\"\n[sources.billing]\nkind = \"chargebee\"\napi_key = {{ file = \"key\" }}\n{extra}"
        );
        Config::from_toml(&toml, dir).unwrap()
    }

    fn build(dir: &Path, extra: &str) -> Result<ChargebeeConnector, ConfigError> {
        let c = config(dir, extra);
        connector("billing", &c.raw.sources["billing"], &c, dir)
    }

    #[test]
    fn customers_link_by_custom_field_then_by_their_id_through_the_accounts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "test_s3cr3t").unwrap();
        let c = build(dir.path(), "site = \"acme-test\"\n").unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let customers = &c.objects()[0];
        let rules: Vec<String> = customers.link.iter().map(LinkRule::describe).collect();
        assert_eq!(rules, ["field cf_account_id", "native_id id via billing_account_id"]);
        assert_eq!(customers.native_id.as_ref().unwrap().as_str(), "id", "the engine sees unwrapped records");
        assert_eq!(c.objects()[1].link[0].describe(), "parent customer_id → customers");
        let c =
            build(dir.path(), "site = \"acme\"\naccount_id_field = \"meta_data.acct\"\ncustomer_id_map = \"off\"\n")
                .unwrap();
        let rules: Vec<String> = c.objects()[0].link.iter().map(LinkRule::describe).collect();
        assert_eq!(rules, ["field meta_data.acct"]);
        for (bad, key) in [
            ("site = \"acme.chargebee.com\"\n", "sources.billing.site"),
            ("", "sources.billing.site"),
            ("site = \"acme\"\naccount_id_field = \"account_id\"\n", "sources.billing.account_id_field"),
            ("site = \"acme\"\ncustomer_id_map = \"nowhere\"\n", "sources.billing.customer_id_map"),
        ] {
            assert_eq!(build(dir.path(), bad).unwrap_err().key, key, "{bad}");
        }
    }

    #[test]
    fn amounts_become_decimal_text_of_their_currency() {
        assert_eq!(major(1250, "USD").as_deref(), Some("12.50"));
        assert_eq!(major(-5, "EUR").as_deref(), Some("-0.05"));
        assert_eq!(major(5000, "JPY").as_deref(), Some("5000"));
        assert_eq!(major(1, "???"), None);
    }

    #[test]
    fn both_product_catalogs_give_the_plan_item() {
        let pc2 = json!({"status": "active", "currency_code": "USD", "billing_period": 1, "billing_period_unit": "month",
            "subscription_items": [
                {"item_price_id": "seats-addon-USD", "item_type": "addon", "unit_price": 100, "quantity": 9},
                {"item_price_id": "pro-USD-monthly", "item_type": "plan", "unit_price": 4900, "quantity": 3}],
            "mrr": 14700, "started_at": 100});
        let pc1 = json!({"status": "active", "currency_code": "USD", "plan_id": "pro-USD-monthly",
            "plan_unit_price": 4900, "plan_quantity": 3, "mrr": 14700, "started_at": 100});
        assert_eq!(subscription_fields(&pc2, None), subscription_fields(&pc1, None));
        let f = subscription_fields(&pc2, None);
        assert_eq!(
            (&f["plan_code"], &f["unit_amount"], &f["quantity"], &f["mrr"], &f["start_date"]),
            (&json!("pro-USD-monthly"), &json!(4900), &json!(3), &json!("147.00"), &json!(100))
        );
    }

    #[test]
    fn cancellations_and_coupons_read_chargebee_spellings() {
        let scheduled = json!({"status": "non_renewing", "currency_code": "EUR", "cancelled_at": 900,
            "cancel_schedule_created_at": 500, "coupons": [{"coupon_id": "SPRING", "apply_till": 700}]});
        let coupon = json!({"id": "SPRING", "discount_type": "percentage", "discount_percentage": 12.5,
            "duration_type": "limited_period"});
        let f = subscription_fields(&scheduled, Some(&coupon));
        assert_eq!(f["cancel_at_period_end"], json!(true));
        assert_eq!((&f["end_date"], &f["canceled_at"]), (&Value::Null, &json!(500)), "not ended yet");
        assert_eq!(
            (&f["discount_percent_bp"], &f["discount_duration"], &f["discount_end"], &f["discount_amount"]),
            (&json!(1250), &json!("repeating"), &json!(700), &Value::Null)
        );
        let ended = json!({"status": "cancelled", "cancelled_at": 900, "currency_code": "EUR"});
        let f = subscription_fields(
            &ended,
            Some(&json!({"discount_type": "fixed_amount", "discount_amount": 500,
            "duration_type": "one_time"})),
        );
        assert_eq!(
            (&f["end_date"], &f["canceled_at"], &f["cancel_at_period_end"]),
            (&json!(900), &json!(900), &json!(false))
        );
        assert_eq!((&f["discount_amount"], &f["discount_duration"]), (&json!(500), &json!("once")));
    }

    #[test]
    fn an_invoice_bills_its_positive_plan_line() {
        let proration = json!({"status": "payment_due", "currency_code": "GBP", "total": 2400, "tax": 400,
            "recurring": true, "subscription_id": "sub_1", "line_items": [
                {"entity_type": "plan_item_price", "amount": -1000, "unit_amount": 3900, "quantity": 1, "date_from": 10},
                {"entity_type": "plan_item_price", "amount": 3000, "unit_amount": 7900, "quantity": 2, "date_from": 20, "date_to": 30},
                {"entity_type": "charge_item_price", "amount": 0, "unit_amount": 0, "quantity": 1}]});
        assert_eq!(
            invoice_fields(&proration),
            json!({"amount": "24.00", "tax": "4.00", "non_recurring": false, "failed": true, "line_count": 3,
                "period_start": 20, "period_end": 30, "billed_from": 20, "billed_unit_amount": 7900, "billed_quantity": 2})
        );
        let one_off = json!({"status": "paid", "currency_code": "JPY", "total": 50000, "recurring": false,
            "line_items": [{"entity_type": "adhoc", "amount": 50000, "unit_amount": 50000, "quantity": 1}]});
        let f = invoice_fields(&one_off);
        assert_eq!(
            (&f["amount"], &f["non_recurring"], &f["billed_from"]),
            (&json!("50000"), &json!(true), &Value::Null)
        );
    }

    #[test]
    fn rate_limits_wait_and_refusals_name_chargebee_s_code() {
        let body = br#"{"message":"Sorry, access has been blocked temporarily due to request count exceeding acceptable limits.","type":"operation_failed","api_error_code":"api_request_limit_exceeded","error_code":"api_request_limit_exceeded","http_status_code":429}"#;
        assert_eq!(
            ChargebeeRules.classify(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body),
            Verdict::RateLimited(RATE_LIMIT_WAIT)
        );
        let nf = br#"{"message":"Sorry, we couldn't find that resource","type":"invalid_request","api_error_code":"resource_not_found","error_code":"resource_not_found","http_status_code":404}"#;
        match ChargebeeRules.classify(StatusCode::NOT_FOUND, &HeaderMap::new(), nf) {
            Verdict::Fatal(why) => {
                assert!(why.contains("resource_not_found") && why.contains("couldn't find"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }
}
