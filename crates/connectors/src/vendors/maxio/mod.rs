//! Chargify / Maxio Advanced Billing: customers by `reference` (the customer's id in our
//! systems: the account id), then by email; subscriptions and invoices (Relationship Invoicing)
//! through their customer.
//!
//! The site is `https://{subdomain}.chargify.com`; the API key is the Basic-auth username and the
//! password is `x`. Lists are paged by `page`/`per_page` (200 at most) to the first empty page
//! (`streams.rs`); incremental passes filter on `date_field=updated_at&start_datetime=`. A pass
//! reads in creation order, so a record changed while the pass runs is not on the pages already
//! read with its new state: a finished pass's next start is therefore the server time it started
//! at (its `Date`), less a margin, not its greatest `updated_at`; records changed in the margin are
//! read twice, which upserts absorb.
//!
//! Deletions: Maxio has no deletion feed. A subscription is never deleted but changes state
//! (`canceled`, `expired`, `trial_ended`, ...), which an incremental pass reads as any change. A
//! customer can be deleted (`DELETE /customers/{id}.json`, only without subscriptions): every
//! `reconcile_every` (a day by default) a pass reads the whole lists, and records it no longer
//! finds are removed. A customer deleted while such a pass runs shifts the later pages by one,
//! which can hide one live customer from that pass; the next reconciling pass restores it.
//!
//! Money comes two ways and both are read exactly: `*_in_cents` integers (minor units as they
//! are, `product_price_in_cents`) and decimal strings of the major unit (invoice `total_amount`,
//! `tax_amount`, line `unit_price`), parsed with the currency's exponent (`"5000.0"` JPY is
//! ¥5000; a digit beyond the exponent makes the field absent and is logged, never rounded).
//!
//! Derived `accord.*` fields: the customer's name (`organization`, else first and last name); a
//! subscription's interval (`interval_unit` `month`/`day` × `interval`, read as year when a
//! multiple of 12 months and week when a multiple of 7 days), its end (`canceled_at`, else
//! `expires_at`, else a lapsed trial's `trial_ended_at`), quantity 1 (a product is billed once a
//! period; quantity-based components are not read), and its coupon: the list does not carry
//! coupon terms, so a subscription with a coupon code is read again with `include[]=coupons`
//! (`percentage` as basis points, `amount_in_cents`; not `recurring` is `once`, recurring with
//! `uses_allowed` is `repeating` until that many periods after activation, else `forever`). An
//! invoice's recurring line is its `baseline` line with a positive amount (of a proration, the
//! charge for the new product, not the credit for the old): `billed_from` is its
//! `period_range_start`, `billed_quantity` its quantity, and `billed_unit_amount` the recurring
//! price of its price point (`/products/{id}/price_points/{id}.json`, in the invoice's currency,
//! read once per price point and stream), since a prorated line's `unit_price` is the prorated
//! amount.
//!
//! Rate limits: Maxio publishes no fixed number; it answers 429 when a site sends too much. The
//! client keeps to 10 requests a second by default (`rate_limit` changes it) and waits out a
//! 429 (its `Retry-After`, else a second) before retrying.

mod streams;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::money::{Currency, Money};
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use chrono::{DateTime, Months, NaiveDate, Utc};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{self, Period, accept_json};
use super::common::{RateLimitSetting, apply_overrides, effective_limit, path, settings};
use crate::http::client::FetchStats;
use crate::http::{Auth, HttpClient, HttpConnector, HttpCursor, Limit, RequestSpec, Vendor};
use crate::{Connector, ConnectorError, Item, ObjectSpec, Page, Stream};

/// A finished pass's next start is this much before it started: a change is stamped as it
/// happens, and one read twice is harmless.
const MARGIN_SECONDS: i64 = 60;

/// `[sources.<name>]` settings of kind `maxio` (or `chargify`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The site's subdomain: the API is `https://{subdomain}.chargify.com`.
    pub subdomain: Option<String>,
    /// The site's URL instead of `subdomain` (a proxy, or the sandbox's emulator).
    pub base_url: Option<String>,
    /// The site's API key (sent as the Basic-auth username, with the password `x`).
    pub api_key: SecretRef,
    /// Records asked per page (Maxio's maximum, 200, by default).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// How often a sync re-reads the whole lists to notice deleted customers (Maxio has no
    /// deletion feed): `"1d"` by default, `"off"` for only the first sync and `sync --full`.
    #[serde(default = "default_reconcile_every")]
    pub reconcile_every: Period,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_per_page() -> u32 {
    200
}

fn default_reconcile_every() -> Period {
    Period(Some(chrono::Duration::days(1)))
}

#[derive(Debug)]
struct MaxioRules;

/// Maxio answers as HTTP does: a 429 is waited out (by its `Retry-After` when it has one).
impl Vendor for MaxioRules {}

/// Builds a Maxio source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<MaxioConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let base = match (&s.subdomain, &s.base_url) {
        (_, Some(url)) => url.trim_end_matches('/').to_owned(),
        (Some(sub), None) => {
            let ok = !sub.is_empty() && sub.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                return Err(ConfigError::new(
                    format!("sources.{name}.subdomain"),
                    format!("{sub:?} is not a subdomain: write only the part before .chargify.com"),
                ));
            }
            format!("https://{sub}.chargify.com")
        }
        (None, None) => {
            return Err(ConfigError::new(
                format!("sources.{name}"),
                "set subdomain (the site's name in https://<subdomain>.chargify.com) or base_url",
            ));
        }
    };
    let key = common::secret(name, "api_key", &s.api_key, base_dir)?;
    let password = accord_core::secret::SecretString::new("x".to_owned());
    let default = Limit { requests: 10, window: Duration::from_secs(1) };
    let client = common::client(
        name,
        &base,
        Auth::Basic { user: key.expose().to_owned(), password },
        effective_limit(s.rate_limit, s.unthrottled, default),
        Box::new(MaxioRules),
        vec![accept_json()],
    )?;
    let objects = streams::objects();
    let mut defs = streams::streams(&objects, s.per_page.clamp(1, 200), s.reconcile_every.0);
    apply_overrides(name, &mut defs, &source.objects)?;
    let objects: Vec<ObjectSpec> = defs.iter().map(|d| d.object.clone()).collect();
    // The runtime reads ids where the answer has them: inside each record's wrapper.
    for d in &mut defs {
        if let (Some(w), Some(id)) = (streams::wrapper(&d.object.name), d.object.native_id.as_ref()) {
            d.object.native_id = Some(path(&format!("{w}.{id}")));
        }
    }
    let writes = vec![streams::customer_reference()];
    Ok(MaxioConnector { inner: HttpConnector::new("maxio", client, defs).with_writes(writes), objects })
}

/// A configured Maxio source.
#[derive(Debug)]
pub struct MaxioConnector {
    inner: HttpConnector,
    /// The objects as the engine reads them: records unwrapped.
    objects: Vec<ObjectSpec>,
}

impl Connector for MaxioConnector {
    fn kind(&self) -> &'static str {
        "maxio"
    }

    fn objects(&self) -> &[ObjectSpec] {
        &self.objects
    }

    fn write_back(&self) -> Option<&dyn crate::WriteBack> {
        self.inner.write_back()
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        Ok(Box::new(MaxioStream {
            inner: self.inner.open_stream(object, cursor, full)?,
            client: self.inner.client().clone(),
            wrapper: streams::wrapper(object),
            prices: HashMap::new(),
        }))
    }
}

/// A Maxio stream: records unwrapped, subscriptions with a coupon read again with its terms,
/// the derived `accord.*` fields added, and a finished pass's cursor moved to its start.
struct MaxioStream {
    inner: Box<dyn Stream>,
    client: Arc<HttpClient>,
    wrapper: Option<&'static str>,
    /// Recurring prices by (product, price point, currency), in minor units.
    prices: HashMap<(String, String, String), Option<i64>>,
}

impl MaxioStream {
    async fn page(&mut self) -> Result<Option<Page>, ConnectorError> {
        let Some(mut page) = self.inner.next_page().await? else { return Ok(None) };
        let mut stats = FetchStats::default();
        let today = Utc::now().date_naive();
        for item in &mut page.items {
            let Item::Record(raw) = item else { continue };
            if let Some(w) = self.wrapper
                && let Some(inner) = raw.data.get_mut(w).map(Value::take)
            {
                raw.data = inner;
            }
            let derived = match self.wrapper {
                Some("customer") => customer_fields(&raw.data),
                Some(_) => {
                    if has_coupon(&raw.data)
                        && let Some(id) = raw.data.get("id").and_then(|v| accord_core::id::key_text(v).ok().flatten())
                    {
                        let request =
                            RequestSpec::get(format!("/subscriptions/{id}.json")).param("include[]", "coupons");
                        let mut answer = self.client.fetch(&request, &mut stats).await?;
                        if let Some(s) = answer.get_mut("subscription").map(Value::take).filter(Value::is_object) {
                            raw.data = s;
                        }
                    }
                    subscription_fields(&raw.data)
                }
                None => {
                    let price = match billed_line(&raw.data) {
                        Some(line) => self.price(&raw.data, line, &mut stats).await?,
                        None => None,
                    };
                    invoice_fields(&raw.data, price, today)
                }
            };
            if let Some(map) = raw.data.as_object_mut() {
                map.insert("accord".into(), derived);
            }
        }
        page.stats.requests += stats.requests;
        page.stats.retries += stats.retries;
        page.stats.rate_limit_waits += stats.rate_limit_waits;
        finish(&mut page.cursor);
        Ok(Some(page))
    }

    /// The recurring price of the price point an invoice line bills, in the invoice's currency.
    async fn price(
        &mut self,
        invoice: &Value,
        line: &Value,
        stats: &mut FetchStats,
    ) -> Result<Option<i64>, ConnectorError> {
        let text = |v: Option<&Value>| v.and_then(|v| accord_core::id::key_text(v).ok().flatten());
        let (Some(product), Some(point)) = (
            text(line.get("product_id")),
            text(line.get("price_point_id").or_else(|| line.get("product_price_point_id"))),
        ) else {
            return Ok(None);
        };
        let currency = invoice.get("currency").and_then(Value::as_str).unwrap_or("USD").to_ascii_uppercase();
        let key = (product.clone(), point.clone(), currency.clone());
        if let Some(known) = self.prices.get(&key) {
            return Ok(*known);
        }
        let request =
            RequestSpec::get(format!("/products/{product}/price_points/{point}.json")).param("currency_prices", "true");
        let answer = self.client.fetch(&request, stats).await?;
        let found = price_in(answer.get("price_point").unwrap_or(&Value::Null), &currency);
        self.prices.insert(key, found);
        Ok(found)
    }
}

impl Stream for MaxioStream {
    fn next_page(&mut self) -> BoxFuture<'_, Result<Option<Page>, ConnectorError>> {
        Box::pin(self.page())
    }
}

/// A finished pass's cursor starts the next pass at the server time this one started, less a
/// margin (see the module's notes).
fn finish(cursor: &mut Value) {
    let Ok(mut c) = serde_json::from_value::<HttpCursor>(cursor.clone()) else { return };
    if let (true, Some(started)) = (c.complete, c.started) {
        let from = started - chrono::Duration::seconds(MARGIN_SECONDS);
        c.high_water = Some(json!(from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
        if let Ok(v) = serde_json::to_value(c) {
            *cursor = v;
        }
    }
}

/// The price of a price point in `currency`: its `currency_prices` entry, or `price_in_cents`
/// when the currency has none (the site's own currency).
fn price_in(point: &Value, currency: &str) -> Option<i64> {
    let listed = point.get("currency_prices").and_then(Value::as_array).and_then(|prices| {
        prices
            .iter()
            .find(|p| p.get("currency").and_then(Value::as_str).is_some_and(|c| c.eq_ignore_ascii_case(currency)))
    });
    match listed {
        Some(p) => minor(p.get("price")?, currency),
        None => point.get("price_in_cents").and_then(Value::as_i64),
    }
}

/// Decimal text (or a JSON number, read by its text) of the major unit as minor units of
/// `currency`, exactly; `None` (logged) when it is not an amount of that currency.
fn minor(value: &Value, currency: &str) -> Option<i64> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let c = Currency::parse(currency).ok()?;
    match Money::parse_major(&text, c) {
        Ok(m) => Some(m.minor),
        Err(e) => {
            tracing::warn!(amount = %text, currency, error = %e, "not an exact amount of its currency; left out");
            None
        }
    }
}

/// `minor` units of `currency` as exact decimal text of its major unit (`1250 usd` → `"12.50"`).
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

/// A decimal amount re-written as exact text of its currency (`"29.9"` USD → `"29.90"`).
fn decimal(value: Option<&Value>, currency: &str) -> Option<String> {
    major(minor(value?, currency)?, currency)
}

fn non_empty(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn customer_fields(c: &Value) -> Value {
    let name = non_empty(c.get("organization")).map(str::to_owned).or_else(|| {
        let parts: Vec<&str> = [c.get("first_name"), c.get("last_name")].into_iter().filter_map(non_empty).collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    json!({ "name": name })
}

fn has_coupon(s: &Value) -> bool {
    non_empty(s.get("coupon_code")).is_some()
        || s.get("coupon_codes").and_then(Value::as_array).is_some_and(|c| !c.is_empty())
}

/// The interval as accord names it: (`month`|`year`|`day`|`week`, count).
fn interval(s: &Value) -> (Option<&'static str>, Option<i64>) {
    let product = s.get("product");
    let n = product.and_then(|p| p.get("interval")).and_then(Value::as_i64).filter(|n| *n > 0);
    let unit = product.and_then(|p| p.get("interval_unit")).and_then(Value::as_str);
    match (unit, n) {
        (Some("month"), Some(n)) if n % 12 == 0 => (Some("year"), Some(n / 12)),
        (Some("month"), Some(n)) => (Some("month"), Some(n)),
        (Some("day"), Some(n)) if n % 7 == 0 => (Some("week"), Some(n / 7)),
        (Some("day"), Some(n)) => (Some("day"), Some(n)),
        _ => (None, None),
    }
}

/// `day` moved on by `n` intervals.
fn after_intervals(day: NaiveDate, unit: &str, count: i64, n: i64) -> Option<NaiveDate> {
    let times = u32::try_from(count.checked_mul(n)?).ok()?;
    match unit {
        "month" => day.checked_add_months(Months::new(times)),
        "year" => day.checked_add_months(Months::new(times.checked_mul(12)?)),
        "week" => day.checked_add_signed(chrono::Duration::days(7 * i64::from(times))),
        _ => day.checked_add_signed(chrono::Duration::days(i64::from(times))),
    }
}

fn timestamp(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(accord_core::time::parse_timestamp)
}

fn subscription_fields(s: &Value) -> Value {
    let (unit, count) = interval(s);
    let state = s.get("state").and_then(Value::as_str).unwrap_or_default();
    let end = match state {
        "canceled" | "expired" | "trial_ended" => s
            .get("canceled_at")
            .filter(|v| !v.is_null())
            .or_else(|| s.get("expires_at").filter(|v| !v.is_null()))
            .or_else(|| s.get("trial_ended_at").filter(|v| !v.is_null()))
            .cloned(),
        _ => None,
    };
    // The first coupon with terms (`include[]=coupons`); the list's answer has codes only.
    let coupon = s.get("coupons").and_then(Value::as_array).and_then(|c| c.first());
    let percent_bp = coupon
        .and_then(|c| c.get("percentage"))
        .filter(|v| !v.is_null())
        .and_then(|p| minor_scaled(p, 2))
        .filter(|bp| *bp > 0);
    let amount = coupon.and_then(|c| c.get("amount_in_cents")).and_then(Value::as_i64).filter(|a| *a > 0);
    let recurring = coupon.and_then(|c| c.get("recurring")).and_then(Value::as_bool).unwrap_or(false);
    let uses = coupon.and_then(|c| c.get("uses_allowed")).and_then(Value::as_i64).filter(|n| *n > 0);
    let (duration, until) = match (coupon, recurring, uses) {
        (None, _, _) => (None, None),
        (Some(_), false, _) => (Some("once"), None),
        (Some(_), true, None) => (Some("forever"), None),
        (Some(_), true, Some(n)) => {
            let from = timestamp(s.get("activated_at").filter(|v| !v.is_null()))
                .or_else(|| timestamp(s.get("trial_ended_at")))
                .or_else(|| timestamp(s.get("created_at")));
            let until = match (from, unit, count) {
                (Some(f), Some(u), Some(c)) => after_intervals(f.date_naive(), u, c, n),
                _ => None,
            };
            (Some("repeating"), until.map(|d| d.format("%Y-%m-%d").to_string()))
        }
    };
    json!({
        "billing_interval": unit,
        "interval_count": count,
        "quantity": 1,
        "end_date": end,
        "discount_percent_bp": percent_bp,
        "discount_amount": amount,
        "discount_duration": duration,
        "discount_end": until,
    })
}

/// Decimal text times 10^`places`, exactly (`"15.0"`, 2 → 1500); `None` when it has more digits.
fn minor_scaled(v: &Value, places: u8) -> Option<i64> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    // A currency with `places` decimals reads the text the same way.
    let c = match places {
        0 => "JPY",
        2 => "USD",
        _ => return None,
    };
    Money::parse_major(&text, Currency::parse(c).ok()?).ok().map(|m| m.minor)
}

/// The invoice's recurring line: a `baseline` line with a positive amount (of a proration, the
/// charge for the new product).
fn billed_line(i: &Value) -> Option<&Value> {
    let currency = i.get("currency").and_then(Value::as_str).unwrap_or("USD");
    i.get("line_items")?.as_array()?.iter().find(|l| {
        l.get("kind").and_then(Value::as_str) == Some("baseline")
            && minor(l.get("subtotal_amount").unwrap_or(&Value::Null), currency).is_some_and(|a| a > 0)
    })
}

fn invoice_fields(i: &Value, price: Option<i64>, today: NaiveDate) -> Value {
    let currency = i.get("currency").and_then(Value::as_str).unwrap_or("USD");
    let lines = i.get("line_items").and_then(Value::as_array);
    let line = billed_line(i);
    let status = i.get("status").and_then(Value::as_str).unwrap_or_default();
    let due = i.get("due_date").and_then(Value::as_str).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let recurring =
        lines.is_some_and(|ls| ls.iter().any(|l| l.get("kind").and_then(Value::as_str) == Some("baseline")));
    let quantity = line.and_then(|l| l.get("quantity")).and_then(|q| minor_scaled(q, 0));
    json!({
        "amount": decimal(i.get("total_amount"), currency),
        "tax": decimal(i.get("tax_amount"), currency),
        "subscription": i.get("subscription_id").and_then(|v| accord_core::id::key_text(v).ok().flatten()),
        "non_recurring": !recurring,
        // Open past its due date: the collection failed so far.
        "failed": status == "open" && due.is_some_and(|d| d < today),
        "line_count": lines.map(Vec::len),
        "period_start": line.and_then(|l| l.get("period_range_start")).cloned(),
        "period_end": line.and_then(|l| l.get("period_range_end")).cloned(),
        "billed_from": line.and_then(|l| l.get("period_range_start")).cloned(),
        "billed_unit_amount": price,
        "billed_quantity": quantity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_amount_forms_are_exact() {
        assert_eq!(minor(&json!("29.9"), "USD"), Some(2990));
        assert_eq!(minor(&json!("5000.0"), "JPY"), Some(5000));
        assert_eq!(minor(&json!("0.1"), "JPY"), None, "a yen has no decimals: never rounded");
        assert_eq!(minor(&json!("-12.05"), "EUR"), Some(-1205));
        let n: Value = serde_json::from_str("45.99").unwrap();
        assert_eq!(minor(&n, "GBP"), Some(4599), "a JSON number is read by its text");
        assert_eq!(decimal(Some(&json!("29.9")), "USD").as_deref(), Some("29.90"));
        assert_eq!(decimal(Some(&json!("5000.0")), "JPY").as_deref(), Some("5000"));
        assert_eq!(minor_scaled(&json!("15.5"), 2), Some(1550));
        assert_eq!(minor_scaled(&json!("3.0"), 0), Some(3));
        assert_eq!(minor_scaled(&json!("2.5"), 0), None, "a fractional quantity is not a whole one");
    }

    #[test]
    fn intervals_name_years_and_weeks() {
        let s = |unit: &str, n: i64| json!({"product": {"interval": n, "interval_unit": unit}});
        assert_eq!(interval(&s("month", 1)), (Some("month"), Some(1)));
        assert_eq!(interval(&s("month", 12)), (Some("year"), Some(1)));
        assert_eq!(interval(&s("month", 3)), (Some("month"), Some(3)));
        assert_eq!(interval(&s("day", 7)), (Some("week"), Some(1)));
        assert_eq!(interval(&s("day", 30)), (Some("day"), Some(30)));
        assert_eq!(interval(&json!({})), (None, None));
    }

    #[test]
    fn coupons_become_discount_terms() {
        let base = json!({"state": "active", "activated_at": "2026-01-10T07:00:00-05:00",
            "product": {"interval": 1, "interval_unit": "month"}});
        let with = |c: Value| {
            let mut s = base.clone();
            s["coupons"] = json!([c]);
            subscription_fields(&s)
        };
        let f = with(json!({"code": "TWENTY", "recurring": true, "percentage": "20.0", "amount_in_cents": null}));
        assert_eq!((f["discount_percent_bp"].clone(), f["discount_duration"].clone()), (json!(2000), json!("forever")));
        let f = with(json!({"code": "FIVE", "recurring": true, "uses_allowed": 3, "amount_in_cents": 500}));
        assert_eq!(f["discount_amount"], json!(500));
        assert_eq!(
            (f["discount_duration"].clone(), f["discount_end"].clone()),
            (json!("repeating"), json!("2026-04-10"))
        );
        let f = with(json!({"code": "HALF", "recurring": false, "percentage": "50"}));
        assert_eq!(f["discount_duration"], json!("once"));
        assert_eq!(subscription_fields(&base)["discount_duration"], Value::Null);
    }

    #[test]
    fn ends_follow_the_state() {
        let f = subscription_fields(&json!({"state": "canceled", "canceled_at": "2026-03-01T00:00:00Z"}));
        assert_eq!(f["end_date"], json!("2026-03-01T00:00:00Z"));
        let f = subscription_fields(&json!({"state": "trial_ended", "canceled_at": null,
            "trial_ended_at": "2026-02-01T00:00:00Z"}));
        assert_eq!(f["end_date"], json!("2026-02-01T00:00:00Z"));
        let f = subscription_fields(&json!({"state": "active", "canceled_at": "2026-03-01T00:00:00Z"}));
        assert_eq!(f["end_date"], Value::Null, "an active subscription set to cancel has not ended");
    }

    #[test]
    fn a_proration_bills_its_positive_baseline_line() {
        let i = json!({"currency": "EUR", "status": "paid", "total_amount": "12.4", "tax_amount": "0.0",
        "subscription_id": 77, "due_date": "2026-01-01",
        "line_items": [
            {"kind": "baseline", "subtotal_amount": "-30.0", "quantity": "1.0", "unit_price": "-30.0",
             "period_range_start": "2026-01-15", "product_id": 1, "price_point_id": 10},
            {"kind": "baseline", "subtotal_amount": "42.4", "quantity": "1.0", "unit_price": "42.4",
             "period_range_start": "2026-01-15", "period_range_end": "2026-02-01", "product_id": 2, "price_point_id": 20}
        ]});
        let line = billed_line(&i).unwrap();
        assert_eq!(line["product_id"], json!(2));
        let f = invoice_fields(&i, Some(8900), NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        assert_eq!(
            f,
            json!({"amount": "12.40", "tax": "0.00", "subscription": "77", "non_recurring": false, "failed": false,
                "line_count": 2, "period_start": "2026-01-15", "period_end": "2026-02-01",
                "billed_from": "2026-01-15", "billed_unit_amount": 8900, "billed_quantity": 1})
        );
        let one_off = json!({"currency": "USD", "status": "open", "total_amount": "500.0", "due_date": "2026-01-01",
            "line_items": [{"kind": "initial", "subtotal_amount": "500.0", "quantity": "1.0"}]});
        let f = invoice_fields(&one_off, None, NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        assert_eq!((f["non_recurring"].clone(), f["failed"].clone()), (json!(true), json!(true)));
    }

    #[test]
    fn price_points_answer_in_the_invoice_currency() {
        let p = json!({"price_in_cents": 9900,
            "currency_prices": [{"currency": "EUR", "price": serde_json::from_str::<Value>("89.0").unwrap()}]});
        assert_eq!(price_in(&p, "EUR"), Some(8900));
        assert_eq!(price_in(&p, "USD"), Some(9900));
    }

    #[test]
    fn finished_passes_restart_at_their_start() {
        let mut c = json!({"since": null, "high_water": "2027-01-20T00:00:00Z", "next": null, "complete": true,
            "started": "2027-01-15T08:00:00Z"});
        finish(&mut c);
        assert_eq!(c["high_water"], json!("2027-01-15T07:59:00Z"));
        assert_eq!(streams::start_datetime(&c["high_water"]).as_deref(), Some("2027-01-15 07:59:00 UTC"));
        let mut half = json!({"since": null, "high_water": "2027-01-20T00:00:00Z", "next": null, "complete": false,
            "started": "2027-01-15T08:00:00Z"});
        finish(&mut half);
        assert_eq!(half["high_water"], json!("2027-01-20T00:00:00Z"), "an unfinished pass keeps its mark");
    }
}
