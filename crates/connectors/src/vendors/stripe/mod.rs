//! Stripe: customers by our account id in their metadata (`metadata.account_id`, the key
//! configurable), then by email; subscriptions and invoices through their customer.
//!
//! The secret key goes as a Bearer token; the version is pinned (`Stripe-Version`,
//! 2025-03-31.basil by default), and the record's shape-dependent fields (period dates on items
//! or on the subscription, `invoice.parent.subscription_details.subscription` or
//! `invoice.subscription`, `total_taxes` or `tax`) are read in either shape into `accord.*`
//! fields, with amounts as exact decimal text of the currency and percentages in basis points.
//!
//! Stripe objects have no update time, so a list is read whole only on the first pass, on
//! `--full`, and when the saved cursor is older than the 30 days Stripe keeps events (the user is
//! told why). Other passes read `/v1/events` of the object's types since the last pass started:
//! each event's `data.object` is the record as it changed, `customer.deleted` and
//! `invoice.deleted` are tombstones. Events come newest first, so of an object's events in one
//! pass only the first (the newest) is applied; a pass stopped half way starts again from its
//! start. An event's subscription names its discounts by id only: a subscription with
//! discounts is read again with them expanded. The client keeps to Stripe's limit: 25 requests a
//! second for test-mode keys, 100 for live ones.

mod streams;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::money::Currency;
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{self, accept_json};
use super::common::{RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::client::FetchStats;
use crate::http::{Auth, HttpClient, HttpConnector, HttpCursor, Limit, RequestSpec, Vendor};
use crate::{Connector, ConnectorError, Item, ObjectSpec, Page, Stream};

/// The version accord pins, whose shape the field mappings follow.
pub const API_VERSION: &str = "2025-03-31.basil";
/// How long Stripe keeps events.
const EVENT_DAYS: i64 = 30;
/// A finished pass's next start is this much before it started: events are created as their
/// change happens, and one read twice is harmless.
const MARGIN_SECONDS: i64 = 60;

/// `[sources.<name>]` settings of kind `stripe`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://api.stripe.com` (paths are `/v1/...` below it).
    #[serde(default = "default_base")]
    pub base_url: String,
    /// The secret (`sk_...`) or restricted (`rk_...`) key, with read access.
    pub secret_key: SecretRef,
    /// The customer metadata key holding our account id.
    #[serde(default = "default_account_key")]
    pub account_id_key: String,
    /// The `Stripe-Version` sent with every request: 2025-03-31.basil or later.
    #[serde(default = "default_version")]
    pub api_version: String,
    /// Objects per page (Stripe's maximum, 100, by default).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_base() -> String {
    "https://api.stripe.com".into()
}

fn default_account_key() -> String {
    "account_id".into()
}

fn default_version() -> String {
    API_VERSION.into()
}

fn default_page_size() -> u32 {
    100
}

#[derive(Debug)]
struct StripeRules;

/// Stripe answers as HTTP does: the default reading applies (it sends no `Retry-After` with a
/// 429, so the default wait does too).
impl Vendor for StripeRules {}

/// Builds a Stripe source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<StripeConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let key = common::secret(name, "secret_key", &s.secret_key, base_dir)?;
    let ok_key = !s.account_id_key.is_empty()
        && s.account_id_key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok_key {
        return Err(ConfigError::new(
            format!("sources.{name}.account_id_key"),
            format!("{:?} is not a metadata key accord can read: use letters, digits, _ and -", s.account_id_key),
        ));
    }
    if s.api_version.split('.').next().unwrap_or_default() < "2025-03-31" {
        return Err(ConfigError::new(
            format!("sources.{name}.api_version"),
            format!(
                "{:?} is older than 2025-03-31.basil, whose shape accord reads; leave api_version out",
                s.api_version
            ),
        ));
    }
    // Stripe's documented limits: 25 requests a second in test mode (the sandbox), 100 in live mode.
    let test_mode = key.expose().starts_with("sk_test_") || key.expose().starts_with("rk_test_");
    let default = Limit { requests: if test_mode { 25 } else { 100 }, window: Duration::from_secs(1) };
    let client = common::client(
        name,
        &s.base_url,
        Auth::Bearer(key),
        effective_limit(s.rate_limit, s.unthrottled, default),
        Box::new(StripeRules),
        vec![accept_json(), ("Stripe-Version".into(), s.api_version.clone())],
    )?;
    let mut streams = streams::streams(s.page_size.clamp(1, 100), &s.account_id_key);
    apply_overrides(name, &mut streams, &source.objects)?;
    let write = streams::customer_metadata(&s.account_id_key);
    Ok(StripeConnector { inner: HttpConnector::new("stripe", client, streams).with_writes(vec![write]) })
}

/// A configured Stripe source.
#[derive(Debug)]
pub struct StripeConnector {
    inner: HttpConnector,
}

impl Connector for StripeConnector {
    fn kind(&self) -> &'static str {
        "stripe"
    }

    fn objects(&self) -> &[ObjectSpec] {
        self.inner.objects()
    }

    fn write_back(&self) -> Option<&dyn crate::WriteBack> {
        self.inner.write_back()
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        let (cursor, full) = plan(object, cursor, full, chrono::Utc::now().timestamp());
        Ok(Box::new(StripeStream {
            inner: self.inner.open_stream(object, cursor, full)?,
            client: self.inner.client().clone(),
            seen: HashSet::new(),
        }))
    }
}

/// The saved cursor as the next pass needs it, and whether it must read the whole list: when the
/// cursor's start is older than the events Stripe keeps. A half-read events pass starts again
/// (the objects it applied are not remembered across processes, so a later page could hold an
/// older state of one of them).
fn plan(object: &str, saved: Option<Value>, full: bool, now: i64) -> (Option<Value>, bool) {
    let Some(mut cursor) = saved.and_then(|v| serde_json::from_value::<HttpCursor>(v).ok()) else {
        return (None, full);
    };
    if cursor.complete {
        let start = cursor.high_water.as_ref().and_then(Value::as_i64);
        if let Some(start) = start.filter(|s| now - s > EVENT_DAYS * 86_400)
            && !full
        {
            let at = chrono::DateTime::from_timestamp(start, 0).unwrap_or_default();
            tracing::warn!(
                stream = object,
                cursor = %at,
                "Stripe keeps events for {EVENT_DAYS} days and this source was last read before that; reading the whole list"
            );
            return (None, true);
        }
    } else if cursor.since.is_some() {
        cursor.next = None;
    }
    (serde_json::to_value(cursor).ok(), full)
}

/// A Stripe stream: events turned into their objects, the newest of each applied, and the derived
/// `accord.*` fields added.
struct StripeStream {
    inner: Box<dyn Stream>,
    client: Arc<HttpClient>,
    /// Objects an event of this pass applied (or deleted) already.
    seen: HashSet<String>,
}

impl StripeStream {
    async fn page(&mut self) -> Result<Option<Page>, ConnectorError> {
        let Some(mut page) = self.inner.next_page().await? else { return Ok(None) };
        let mut items = Vec::with_capacity(page.items.len());
        let mut stats = FetchStats::default();
        for item in std::mem::take(&mut page.items) {
            let Item::Record(mut raw) = item else {
                items.push(item);
                continue;
            };
            if raw.data.get("object").and_then(Value::as_str) == Some("event") {
                let kind = raw.data.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
                let mut object = raw.data.pointer_mut("/data/object").map(Value::take).unwrap_or(Value::Null);
                let Some(id) = object.get("id").and_then(Value::as_str).map(str::to_owned) else { continue };
                if !self.seen.insert(id.clone()) {
                    continue;
                }
                if kind == "customer.deleted" || kind == "invoice.deleted" {
                    items.push(Item::Deleted { native_id: id });
                    continue;
                }
                let ids_only =
                    object.get("discounts").and_then(Value::as_array).is_some_and(|d| d.iter().any(Value::is_string));
                if object.get("object").and_then(Value::as_str) == Some("subscription") && ids_only {
                    let request = RequestSpec::get(format!("/v1/subscriptions/{id}")).param("expand[]", "discounts");
                    object = self.client.fetch(&request, &mut stats).await?;
                }
                raw.data = object;
            }
            derive(&mut raw.data);
            items.push(Item::Record(raw));
        }
        page.items = items;
        page.stats.requests += stats.requests;
        page.stats.retries += stats.retries;
        page.stats.rate_limit_waits += stats.rate_limit_waits;
        finish(&mut page.cursor);
        Ok(Some(page))
    }
}

impl Stream for StripeStream {
    fn next_page(&mut self) -> BoxFuture<'_, Result<Option<Page>, ConnectorError>> {
        Box::pin(self.page())
    }
}

/// A finished pass's cursor starts the next one at the server time the pass started, less a
/// margin: what it read is everything up to then, whether it read a list or events.
fn finish(cursor: &mut Value) {
    let Ok(mut c) = serde_json::from_value::<HttpCursor>(cursor.clone()) else { return };
    if let (true, Some(started)) = (c.complete, c.started) {
        c.high_water = Some(json!(started.timestamp() - MARGIN_SECONDS));
        if let Ok(v) = serde_json::to_value(c) {
            *cursor = v;
        }
    }
}

/// `minor` units of `currency` as exact decimal text of its major unit (`1250 usd` → `"12.50"`).
fn major(minor: i64, currency: &str) -> Option<String> {
    let e = u32::from(Currency::parse(currency).ok()?.exponent());
    if e == 0 {
        return Some(minor.to_string());
    }
    let scale = 10i64.pow(e);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    Some(format!("{sign}{}.{:0width$}", abs / scale as u64, abs % scale as u64, width = e as usize))
}

/// Adds `accord.*`: what the typed fields read, whichever shape the record came in.
fn derive(record: &mut Value) {
    let kind = record.get("object").and_then(Value::as_str).unwrap_or_default().to_owned();
    let derived = match kind.as_str() {
        "subscription" => subscription_fields(record),
        "invoice" => invoice_fields(record),
        _ => return,
    };
    if let Some(map) = record.as_object_mut() {
        map.insert("accord".into(), derived);
    }
}

fn subscription_fields(s: &Value) -> Value {
    let item = s.pointer("/items/data/0");
    let recurring = item.and_then(|i| i.pointer("/price/recurring"));
    let period = |name: &str| item.and_then(|i| i.get(name)).filter(|v| !v.is_null()).or_else(|| s.get(name)).cloned();
    // The basil shape lists discounts (expanded: objects); the older one has one `discount`.
    let discount = s
        .get("discounts")
        .and_then(Value::as_array)
        .and_then(|d| d.iter().find(|x| x.is_object()))
        .or_else(|| s.get("discount").filter(|d| d.is_object()));
    let coupon = discount.and_then(|d| d.get("coupon"));
    let percent_bp =
        coupon.and_then(|c| c.get("percent_off")).and_then(Value::as_f64).map(|p| (p * 100.0).round() as i64);
    json!({
        "metered": recurring.and_then(|r| r.get("usage_type")).and_then(Value::as_str) == Some("metered"),
        "discount_percent_bp": percent_bp,
        "discount_amount": coupon.and_then(|c| c.get("amount_off")).cloned(),
        "discount_duration": coupon.and_then(|c| c.get("duration")).cloned(),
        "discount_end": discount.and_then(|d| d.get("end")).cloned(),
        "current_period_start": period("current_period_start"),
        "current_period_end": period("current_period_end"),
    })
}

fn invoice_fields(i: &Value) -> Value {
    let currency = i.get("currency").and_then(Value::as_str).unwrap_or_default();
    let total = i.get("total").and_then(Value::as_i64);
    let tax = match i.get("total_taxes").and_then(Value::as_array) {
        Some(taxes) => Some(taxes.iter().filter_map(|t| t.get("amount").and_then(Value::as_i64)).sum()),
        None => i.get("tax").and_then(Value::as_i64).or(Some(0)),
    };
    let subscription = i
        .pointer("/parent/subscription_details/subscription")
        .filter(|v| !v.is_null())
        .or_else(|| i.get("subscription").filter(|v| !v.is_null()))
        .and_then(|v| v.as_str().map(str::to_owned).or_else(|| v.get("id").and_then(Value::as_str).map(str::to_owned)));
    let status = i.get("status").and_then(Value::as_str).unwrap_or_default();
    let attempted = i.get("attempted").and_then(Value::as_bool) == Some(true);
    let billed = billed_line(i);
    json!({
        "amount": total.and_then(|t| major(t, currency)),
        "tax": tax.and_then(|t| major(t, currency)),
        "subscription": subscription,
        "non_recurring": subscription.is_none(),
        "failed": status == "uncollectible" || (status == "open" && attempted),
        "line_count": i.pointer("/lines/data").and_then(Value::as_array).map(Vec::len),
        "billed_from": billed.map(|b| b.0),
        "billed_unit_amount": billed.map(|b| b.1),
        "billed_quantity": billed.map(|b| b.2),
    })
}

/// The recurring price a subscription invoice bills, as `(from, unit amount, quantity)`: its
/// positive proration line when it prorates a mid-cycle change (from the change: the line's
/// period start), else its first subscription line (from its period start). Credit lines
/// (unused time on the old price) are negative and never the price billed. The line says
/// whether it prorates in `parent.subscription_item_details.proration` (basil) or `proration`,
/// and its price in `pricing.unit_amount_decimal` (basil; decimal text of minor units) or
/// `price.unit_amount`.
fn billed_line(i: &Value) -> Option<(i64, i64, i64)> {
    let lines = i.pointer("/lines/data").and_then(Value::as_array)?;
    let of_subscription = |l: &&Value| {
        l.get("type").and_then(Value::as_str) == Some("subscription")
            || l.pointer("/parent/type").and_then(Value::as_str) == Some("subscription_item_details")
    };
    let proration = |l: &Value| {
        l.pointer("/parent/subscription_item_details/proration")
            .or_else(|| l.get("proration"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let positive = |l: &&Value| l.get("amount").and_then(Value::as_i64).is_some_and(|a| a >= 0);
    let candidates: Vec<&Value> = lines.iter().filter(of_subscription).filter(positive).collect();
    let line = candidates.iter().find(|l| proration(l)).or_else(|| candidates.first())?;
    let unit = match line.pointer("/pricing/unit_amount_decimal").and_then(Value::as_str) {
        // Whole minor units only: a fractional unit price (`"12.5"`) is not an amount MRR can
        // hold exactly, so the invoice names no billed price.
        Some(text) => text.parse::<i64>().ok()?,
        None => line.pointer("/price/unit_amount").and_then(Value::as_i64)?,
    };
    let from = line.pointer("/period/start").and_then(Value::as_i64)?;
    Some((from, unit, line.get("quantity").and_then(Value::as_i64).unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_become_decimal_text_of_their_currency() {
        assert_eq!(major(1250, "usd").as_deref(), Some("12.50"));
        assert_eq!(major(-5, "EUR").as_deref(), Some("-0.05"));
        assert_eq!(major(5000, "jpy").as_deref(), Some("5000"));
        assert_eq!(major(1, "kwd").as_deref(), Some("0.001"));
        assert_eq!(major(1, "???"), None);
    }

    #[test]
    fn both_shapes_give_the_same_fields() {
        let basil = json!({
            "object": "subscription",
            "items": {"data": [{"current_period_start": 10, "current_period_end": 20,
                "price": {"recurring": {"usage_type": "licensed"}}}]},
            "discounts": [{"coupon": {"percent_off": 12.5, "duration": "forever"}, "end": null}],
        });
        let legacy = json!({
            "object": "subscription",
            "current_period_start": 10, "current_period_end": 20,
            "items": {"data": [{"price": {"recurring": {"usage_type": "licensed"}}}]},
            "discount": {"coupon": {"percent_off": 12.5, "duration": "forever"}, "end": null},
        });
        assert_eq!(subscription_fields(&basil), subscription_fields(&legacy));
        let f = subscription_fields(&basil);
        assert_eq!((f["discount_percent_bp"].clone(), f["current_period_end"].clone()), (json!(1250), json!(20)));
        let new = json!({"object": "invoice", "currency": "gbp", "total": 1200, "status": "open", "attempted": true,
            "total_taxes": [{"amount": 200}], "parent": {"subscription_details": {"subscription": "sub_1"}},
            "lines": {"data": [{}]}});
        let old = json!({"object": "invoice", "currency": "gbp", "total": 1200, "status": "open", "attempted": true,
            "tax": 200, "subscription": "sub_1", "lines": {"data": [{}]}});
        assert_eq!(invoice_fields(&new), invoice_fields(&old));
        let f = invoice_fields(&new);
        assert_eq!(
            f,
            json!({"amount": "12.00", "tax": "2.00", "subscription": "sub_1", "non_recurring": false,
            "failed": true, "line_count": 1, "billed_from": null, "billed_unit_amount": null,
            "billed_quantity": null})
        );
    }

    #[test]
    fn a_proration_bills_the_new_price_from_the_change_in_both_shapes() {
        // An upgrade on day 15 of a period: unused time on the old price (negative), remaining
        // time on the new one, both prorations over [15, 30).
        let basil = json!({"lines": {"data": [
            {"amount": -500, "quantity": 1, "period": {"start": 15, "end": 30},
             "pricing": {"unit_amount_decimal": "1000"},
             "parent": {"type": "subscription_item_details", "subscription_item_details": {"proration": true}}},
            {"amount": 3000, "quantity": 2, "period": {"start": 15, "end": 30},
             "pricing": {"unit_amount_decimal": "3000"},
             "parent": {"type": "subscription_item_details", "subscription_item_details": {"proration": true}}},
        ]}});
        let legacy = json!({"lines": {"data": [
            {"type": "subscription", "amount": -500, "quantity": 1, "proration": true,
             "period": {"start": 15, "end": 30}, "price": {"unit_amount": 1000}},
            {"type": "subscription", "amount": 3000, "quantity": 2, "proration": true,
             "period": {"start": 15, "end": 30}, "price": {"unit_amount": 3000}},
        ]}});
        assert_eq!(billed_line(&basil), Some((15, 3000, 2)));
        assert_eq!(billed_line(&legacy), Some((15, 3000, 2)));
        // A cycle invoice bills its line from its period start; a one-off bills no price.
        let cycle = json!({"lines": {"data": [{"type": "subscription", "amount": 2000, "quantity": 2,
            "proration": false, "period": {"start": 30, "end": 60}, "price": {"unit_amount": 1000}}]}});
        assert_eq!(billed_line(&cycle), Some((30, 1000, 2)));
        let one_off = json!({"lines": {"data": [{"type": "invoiceitem", "amount": 50_000, "quantity": 1,
            "period": {"start": 5, "end": 5}, "price": null}]}});
        assert_eq!(billed_line(&one_off), None);
    }

    #[test]
    fn an_old_cursor_reads_the_whole_list_and_a_half_read_events_pass_starts_again() {
        let now = 1_800_000_000;
        let done = |start: i64| json!({"since": start - 100, "high_water": start, "next": null, "complete": true});
        assert_eq!(plan("customers", Some(done(now - 31 * 86_400)), false, now), (None, true));
        let (kept, full) = plan("customers", Some(done(now - 29 * 86_400)), false, now);
        assert!(!full && kept.is_some());
        let half = json!({"since": now - 10, "high_water": now - 5, "next": {"method": "GET", "path": "/v1/events"},
            "complete": false, "started": "2027-01-15T08:00:00Z"});
        let (c, full) = plan("customers", Some(half), false, now);
        assert!(!full);
        assert_eq!(c.unwrap()["next"], Value::Null, "the events pass restarts");
        let listing = json!({"since": null, "next": {"method": "GET", "path": "/v1/customers"}, "complete": false});
        assert_eq!(plan("customers", Some(listing.clone()), false, now).0.unwrap()["next"]["path"], "/v1/customers");
    }
}
