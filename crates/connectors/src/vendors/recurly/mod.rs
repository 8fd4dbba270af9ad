//! Recurly (API v3): accounts by their `code` (the account_code) looked up in an SOR field that
//! holds each account's Recurly code (`billing_account_id` by default: the integration guide's
//! advice is to store the account_code in the System of Record), then by email; subscriptions
//! and invoices through their account (`account.id`).
//!
//! The API key is the Basic username (empty password). Every request sends the version in
//! `Accept: application/vnd.recurly.v2021-02-25+json`; a request without it, or with a version
//! the site does not know, is refused by Recurly. Sites live in the US (`https://v3.recurly.com`)
//! or the EU (`https://v3.eu.recurly.com`): `region` picks one, `base_url` overrides both.
//!
//! Amounts are JSON numbers in major units (`49.99`). accord never reads them as floats: the
//! number's text (kept by the JSON parser) is read exactly with the currency's exponent into
//! minor units or decimal text of the major unit (`accord.*`), and an amount finer than the
//! currency allows is left out rather than rounded. Subscriptions name their plan and coupons by
//! code only (`PlanMini`, `CouponMini`): the interval (`interval_unit` days/months and
//! `interval_length`) comes from `/plans` and a coupon's duration (forever, single_use,
//! temporal) from `/coupons`, both read once per subscriptions pass. Every 7 days is a weekly
//! plan and every 12 months a yearly one, so MRR normalises them as the vendor means them.
//!
//! Recurly limits GET requests per site (1,000 a minute in production and 400 on sandbox sites,
//! over a sliding five minutes); every answer says where the client stands
//! (`X-RateLimit-Limit`, `-Remaining`, `-Reset` as a Unix time) and a 429 says
//! `{"error": {"type": "rate_limited", ...}}`. The client keeps to 1,000 a minute by default and
//! waits for the reset when the remaining count reaches zero or a 429 comes.

mod streams;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::money::{Currency, Money};
use accord_core::rule::IdMapRef;
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use chrono::{DateTime, Months, Utc};
use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{self, RateLimitSetting, apply_overrides, effective_limit, settings};
use crate::http::client::{FetchStats, Verdict, default_verdict, until_epoch};
use crate::http::{Auth, HttpClient, HttpConnector, Limit, RequestSpec, Vendor};
use crate::{Connector, ConnectorError, Item, ObjectSpec, Page, Stream};

/// The API version accord pins, whose shape the mappings follow.
pub const API_VERSION: &str = "v2021-02-25";

/// `[sources.<name>]` settings of kind `recurly`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `us` (`https://v3.recurly.com`, the default) or `eu` (`https://v3.eu.recurly.com`).
    #[serde(default)]
    pub region: Region,
    /// Overrides the region's host (an emulator, a proxy).
    pub base_url: Option<String>,
    /// A private API key of the site, with read access.
    pub api_key: SecretRef,
    /// Where an account's `code` is looked up: an account field the System of Record fills
    /// with the Recurly account code (`billing_account_id`, `crm_account_id`,
    /// `support_account_id`) or another source's object (`<source>/<object>`).
    #[serde(default = "default_code_map")]
    pub account_code_field: String,
    /// The version sent in `Accept` (`v2021-02-25`).
    #[serde(default = "default_version")]
    pub api_version: String,
    /// Records per page: 1–200 (200 by default).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

/// Where the site's data lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    #[default]
    Us,
    Eu,
}

impl Region {
    pub fn base_url(self) -> &'static str {
        match self {
            Region::Us => "https://v3.recurly.com",
            Region::Eu => "https://v3.eu.recurly.com",
        }
    }
}

fn default_code_map() -> String {
    "billing_account_id".into()
}

fn default_version() -> String {
    API_VERSION.into()
}

fn default_page_size() -> u32 {
    200
}

/// The `Accept` header naming `version`.
pub fn accept(version: &str) -> String {
    format!("application/vnd.recurly.{version}+json")
}

#[derive(Debug)]
struct RecurlyRules;

/// A 429 waits until `X-RateLimit-Reset` (a Unix time); an answer with nothing remaining in
/// the window waits for the same before the next request.
impl Vendor for RecurlyRules {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = until_epoch(headers, "x-ratelimit-reset").unwrap_or(Duration::from_secs(1));
            return Verdict::RateLimited(wait.max(Duration::from_millis(100)));
        }
        default_verdict(status, headers, body)
    }

    fn quota_exhausted_until(&self, headers: &HeaderMap) -> Option<Duration> {
        let remaining: u64 = headers.get("x-ratelimit-remaining")?.to_str().ok()?.trim().parse().ok()?;
        (remaining == 0).then(|| until_epoch(headers, "x-ratelimit-reset")).flatten()
    }
}

/// Builds a Recurly source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<RecurlyConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let key = common::secret(name, "api_key", &s.api_key, base_dir)?;
    if IdMapRef::parse(&s.account_code_field).is_none() {
        return Err(ConfigError::new(
            format!("sources.{name}.account_code_field"),
            format!(
                "{:?} is no id map: name an account field (billing_account_id, crm_account_id, \
                 support_account_id) or \"<source>/<object>\"",
                s.account_code_field
            ),
        ));
    }
    let dated = s.api_version.strip_prefix('v').is_some_and(|d| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok_and(|d| d.to_string().as_str() >= "2021-02-25")
    });
    if !dated {
        return Err(ConfigError::new(
            format!("sources.{name}.api_version"),
            format!(
                "{:?} is not a Recurly v3 version accord reads (v2021-02-25 or later); leave it out",
                s.api_version
            ),
        ));
    }
    let base = s.base_url.clone().unwrap_or_else(|| s.region.base_url().to_owned());
    let default = Limit { requests: 1_000, window: Duration::from_secs(60) };
    let client = common::client(
        name,
        base.trim_end_matches('/'),
        Auth::Basic { user: key.expose().to_owned(), password: accord_core::secret::SecretString::new(String::new()) },
        effective_limit(s.rate_limit, s.unthrottled, default),
        Box::new(RecurlyRules),
        vec![("Accept".into(), accept(&s.api_version))],
    )?;
    let mut streams = streams::streams(s.page_size.clamp(1, 200), &s.account_code_field);
    apply_overrides(name, &mut streams, &source.objects)?;
    Ok(RecurlyConnector { inner: HttpConnector::new("recurly", client, streams) })
}

/// A configured Recurly source.
#[derive(Debug)]
pub struct RecurlyConnector {
    inner: HttpConnector,
}

impl Connector for RecurlyConnector {
    fn kind(&self) -> &'static str {
        "recurly"
    }

    fn objects(&self) -> &[ObjectSpec] {
        self.inner.objects()
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        Ok(Box::new(RecurlyStream {
            inner: self.inner.open_stream(object, cursor, full)?,
            client: self.inner.client().clone(),
            catalog: None,
        }))
    }
}

/// What subscriptions name by code only: plans' intervals and coupons' durations.
#[derive(Debug, Default)]
struct Catalog {
    /// Plan code → (`interval_unit`, `interval_length`).
    plans: HashMap<String, (String, i64)>,
    /// Coupon code → the coupon.
    coupons: HashMap<String, Value>,
}

/// A Recurly stream: the derived `accord.*` fields added to each record.
struct RecurlyStream {
    inner: Box<dyn Stream>,
    client: Arc<HttpClient>,
    catalog: Option<Catalog>,
}

/// Every record of a list (`/plans`, `/coupons`), following `next` while `has_more`.
async fn read_all(client: &HttpClient, list: &str, stats: &mut FetchStats) -> Result<Vec<Value>, ConnectorError> {
    let mut out = Vec::new();
    let mut request = RequestSpec::get(list).param("limit", "200");
    loop {
        let mut body = client.fetch(&request, stats).await?;
        if let Some(Value::Array(data)) = body.get_mut("data").map(Value::take) {
            out.extend(data);
        }
        let more = body.get("has_more").and_then(Value::as_bool) == Some(true);
        match body.get("next").and_then(Value::as_str).filter(|n| !n.is_empty()) {
            Some(next) if more && next != request.path => request = RequestSpec::get(next),
            Some(_) if more => {
                return Err(ConnectorError::Fatal(format!("{list}: `next` repeats the page it came from")));
            }
            None if more => {
                return Err(ConnectorError::Fatal(format!("{list}: has_more is true but there is no next")));
            }
            _ => return Ok(out),
        }
    }
}

impl RecurlyStream {
    async fn catalog(&mut self, stats: &mut FetchStats) -> Result<&Catalog, ConnectorError> {
        if self.catalog.is_none() {
            let mut c = Catalog::default();
            for p in read_all(&self.client, "/plans", stats).await? {
                let (Some(code), Some(unit), Some(length)) = (
                    p.get("code").and_then(Value::as_str),
                    p.get("interval_unit").and_then(Value::as_str),
                    p.get("interval_length").and_then(Value::as_i64),
                ) else {
                    continue;
                };
                c.plans.insert(code.to_owned(), (unit.to_owned(), length));
            }
            for coupon in read_all(&self.client, "/coupons", stats).await? {
                if let Some(code) = coupon.get("code").and_then(Value::as_str) {
                    c.coupons.insert(code.to_owned(), coupon.clone());
                }
            }
            self.catalog = Some(c);
        }
        Ok(self.catalog.as_ref().expect("loaded"))
    }

    async fn page(&mut self) -> Result<Option<Page>, ConnectorError> {
        let Some(mut page) = self.inner.next_page().await? else { return Ok(None) };
        let mut stats = FetchStats::default();
        let subscriptions = page.items.iter().any(
            |i| matches!(i, Item::Record(r) if r.data.get("object").and_then(Value::as_str) == Some("subscription")),
        );
        if subscriptions {
            self.catalog(&mut stats).await?;
        }
        let empty = Catalog::default();
        let catalog = self.catalog.as_ref().unwrap_or(&empty);
        for item in &mut page.items {
            if let Item::Record(raw) = item {
                derive(&mut raw.data, catalog);
            }
        }
        page.stats.requests += stats.requests;
        page.stats.retries += stats.retries;
        page.stats.rate_limit_waits += stats.rate_limit_waits;
        Ok(Some(page))
    }
}

impl Stream for RecurlyStream {
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
fn minor(v: Option<&Value>, currency: &str) -> Option<i64> {
    let c = Currency::parse(currency).ok()?;
    Money::parse_major(&amount_text(v?)?, c).ok().map(|m| m.minor)
}

/// `v` as decimal text of the major unit with the currency's decimals (`49.9` USD → `"49.90"`).
fn major_text(v: Option<&Value>, currency: &str) -> Option<String> {
    let c = Currency::parse(currency).ok()?;
    let m = Money::parse_major(&amount_text(v?)?, c).ok()?;
    Some(m.major_text())
}

/// Adds `accord.*`: what the typed fields read, in the form they read it.
fn derive(record: &mut Value, catalog: &Catalog) {
    let derived = match record.get("object").and_then(Value::as_str) {
        Some("subscription") => subscription_fields(record, catalog),
        Some("invoice") => invoice_fields(record),
        _ => return,
    };
    if let Some(map) = record.as_object_mut() {
        map.insert("accord".into(), derived);
    }
}

/// A plan's `interval_unit` and `interval_length` as an interval and a count: every 7 days is
/// weekly, every 12 months yearly.
fn interval(unit: &str, length: i64) -> Option<(&'static str, i64)> {
    match unit {
        "months" if length > 0 && length % 12 == 0 => Some(("year", length / 12)),
        "months" if length > 0 => Some(("month", length)),
        "days" if length > 0 && length % 7 == 0 => Some(("week", length / 7)),
        "days" if length > 0 => Some(("day", length)),
        _ => None,
    }
}

fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(accord_core::time::parse_timestamp)
}

/// The first day a temporal coupon no longer applies: `amount` `unit`s after `from`.
fn temporal_end(from: DateTime<Utc>, unit: &str, amount: i64) -> Option<DateTime<Utc>> {
    let n = u32::try_from(amount).ok()?;
    match unit {
        "day" => Some(from + chrono::Duration::days(i64::from(n))),
        "week" => Some(from + chrono::Duration::days(7 * i64::from(n))),
        "month" => from.checked_add_months(Months::new(n)),
        "year" => from.checked_add_months(Months::new(12 * n)),
        _ => None,
    }
}

fn subscription_fields(s: &Value, catalog: &Catalog) -> Value {
    let currency = s.get("currency").and_then(Value::as_str).unwrap_or_default();
    let state = s.get("state").and_then(Value::as_str).unwrap_or_default();
    let plan = s.pointer("/plan/code").and_then(Value::as_str).and_then(|c| catalog.plans.get(c));
    let every = plan.and_then(|(unit, length)| interval(unit, *length));
    // No more renewals: canceled (it expires at the period end), or auto-renew off with no
    // billing cycles left.
    let last_cycle = s.get("auto_renew").and_then(Value::as_bool) == Some(false)
        && s.get("remaining_billing_cycles").and_then(Value::as_i64) == Some(0);
    let cancel_at_period_end = state == "canceled" || (state == "active" && last_cycle);
    let end = match state {
        "canceled" | "expired" | "failed" => s.get("expires_at").filter(|v| !v.is_null()).cloned(),
        _ => None,
    };
    // The discount of the first redemption whose coupon takes money off (a free-trial coupon
    // does not).
    let mut discount = json!({});
    for r in s.get("coupon_redemptions").and_then(Value::as_array).into_iter().flatten() {
        let Some(coupon) = r.get("coupon") else { continue };
        let d = coupon.get("discount");
        let percent_bp = match d.and_then(|d| d.get("type")).and_then(Value::as_str) {
            Some("percent") => minor(d.and_then(|d| d.get("percent")), "USD"),
            _ => None,
        };
        let amount = match d.and_then(|d| d.get("type")).and_then(Value::as_str) {
            Some("fixed") => d
                .and_then(|d| d.get("currencies"))
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c.get("currency").and_then(Value::as_str) == Some(currency)))
                .and_then(|c| minor(c.get("amount"), currency)),
            _ => None,
        };
        if percent_bp.is_none() && amount.is_none() {
            continue;
        }
        let full = coupon.get("code").and_then(Value::as_str).and_then(|c| catalog.coupons.get(c));
        let (duration, until) = match full.and_then(|c| c.get("duration")).and_then(Value::as_str) {
            Some("forever") => (Some("forever"), None),
            Some("single_use") => (Some("once"), None),
            Some("temporal") => {
                let unit = full.and_then(|c| c.get("temporal_unit")).and_then(Value::as_str).unwrap_or_default();
                let n = full.and_then(|c| c.get("temporal_amount")).and_then(Value::as_i64).unwrap_or_default();
                let until = time(r.get("created_at")).and_then(|from| temporal_end(from, unit, n));
                (Some("repeating"), until.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
            }
            _ => (None, None),
        };
        discount = json!({"percent_bp": percent_bp, "amount": amount, "duration": duration, "end": until});
        break;
    }
    let add_ons: Vec<Value> = s
        .get("add_ons")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|a| {
            json!({
                "code": a.pointer("/add_on/code"),
                "quantity": a.get("quantity"),
                "unit_amount": minor(a.get("unit_amount"), currency),
            })
        })
        .collect();
    json!({
        "start_date": s.get("activated_at").filter(|v| !v.is_null()).or_else(|| s.get("created_at")),
        "end_date": end,
        "billing_interval": every.map(|e| e.0),
        "interval_count": every.map(|e| e.1),
        "unit_amount": minor(s.get("unit_amount"), currency),
        "discount_percent_bp": discount.get("percent_bp"),
        "discount_amount": discount.get("amount"),
        "discount_duration": discount.get("duration"),
        "discount_end": discount.get("end"),
        "cancel_at_period_end": cancel_at_period_end,
        "add_ons": add_ons,
    })
}

/// The line an invoice bills a subscription's recurring price with: the plan's charge (a
/// proration's positive line, dated from the change), not its credit for unused time.
fn plan_line(i: &Value) -> Option<&Value> {
    i.get("line_items").and_then(Value::as_array)?.iter().find(|l| {
        l.get("origin").and_then(Value::as_str) == Some("plan")
            && l.get("type").and_then(Value::as_str) == Some("charge")
            && amount_text(l.get("amount").unwrap_or(&Value::Null)).is_some_and(|t| !t.starts_with('-'))
    })
}

fn invoice_fields(i: &Value) -> Value {
    let currency = i.get("currency").and_then(Value::as_str).unwrap_or_default();
    let state = i.get("state").and_then(Value::as_str).unwrap_or_default();
    let subscriptions = i.get("subscription_ids").and_then(Value::as_array).map_or(0, Vec::len);
    let line = plan_line(i);
    json!({
        "amount": major_text(i.get("total"), currency),
        "tax": major_text(i.get("tax"), currency),
        "paid_at": if state == "paid" { i.get("closed_at").cloned() } else { None },
        "failed": state == "failed" || state == "past_due",
        "non_recurring": subscriptions == 0,
        "line_count": i.get("line_items").and_then(Value::as_array).map(Vec::len),
        "period_start": line.and_then(|l| l.get("start_date")),
        "period_end": line.and_then(|l| l.get("end_date")),
        "billed_from": line.and_then(|l| l.get("start_date")),
        "billed_unit_amount": line.and_then(|l| minor(l.get("unit_amount"), currency)),
        "billed_quantity": line.and_then(|l| l.get("quantity")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn amounts_are_read_exactly_from_the_numbers_text() {
        let v = parsed(r#"{"a": 49.99, "b": 0.1, "c": 5000.0, "d": 12.345, "e": 1e2, "f": "7.5"}"#);
        assert_eq!(minor(v.get("a"), "USD"), Some(4999));
        assert_eq!(minor(v.get("b"), "EUR"), Some(10));
        assert_eq!(minor(v.get("c"), "JPY"), Some(5000));
        assert_eq!(minor(v.get("d"), "USD"), None, "finer than cents: left out, never rounded");
        assert_eq!(minor(v.get("e"), "GBP"), Some(10_000));
        assert_eq!(major_text(v.get("f"), "USD").as_deref(), Some("7.50"));
        assert_eq!(major_text(v.get("c"), "JPY").as_deref(), Some("5000"));
        assert_eq!(minor(v.get("a"), "???"), None);
    }

    #[test]
    fn plan_intervals_become_weeks_months_and_years() {
        assert_eq!(interval("months", 1), Some(("month", 1)));
        assert_eq!(interval("months", 3), Some(("month", 3)));
        assert_eq!(interval("months", 12), Some(("year", 1)));
        assert_eq!(interval("days", 7), Some(("week", 1)));
        assert_eq!(interval("days", 14), Some(("week", 2)));
        assert_eq!(interval("days", 10), Some(("day", 10)));
        assert_eq!(interval("days", 0), None);
        assert_eq!(interval("fortnights", 1), None);
    }

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.plans.insert("gold-annual".into(), ("months".into(), 12));
        c.coupons.insert(
            "q3".into(),
            json!({"code": "q3", "duration": "temporal", "temporal_unit": "month", "temporal_amount": 3}),
        );
        c.coupons.insert("once".into(), json!({"code": "once", "duration": "single_use"}));
        c
    }

    #[test]
    fn subscriptions_carry_interval_minor_units_discounts_and_their_end() {
        let s = parsed(
            r#"{"object": "subscription", "state": "canceled", "currency": "EUR", "unit_amount": 890.5,
            "plan": {"code": "gold-annual"}, "activated_at": "2024-01-10T12:00:00Z",
            "expires_at": "2025-01-10T12:00:00Z", "auto_renew": true,
            "add_ons": [{"add_on": {"code": "seats"}, "quantity": 2, "unit_amount": 5.25}],
            "coupon_redemptions": [{"created_at": "2024-01-10T12:00:00Z",
                "coupon": {"code": "q3", "discount": {"type": "fixed", "currencies": [{"currency": "USD", "amount": 9},
                {"currency": "EUR", "amount": 5.0}]}}}]}"#,
        );
        let f = subscription_fields(&s, &catalog());
        assert_eq!(f["unit_amount"], json!(89_050));
        assert_eq!((f["billing_interval"].clone(), f["interval_count"].clone()), (json!("year"), json!(1)));
        assert_eq!(f["discount_amount"], json!(500), "the subscription's currency's amount");
        assert_eq!(f["discount_duration"], json!("repeating"));
        assert_eq!(f["discount_end"], json!("2024-04-10T12:00:00Z"));
        assert_eq!(f["end_date"], json!("2025-01-10T12:00:00Z"));
        assert_eq!(f["cancel_at_period_end"], json!(true));
        assert_eq!(f["add_ons"][0]["unit_amount"], json!(525));
        let active = parsed(
            r#"{"object": "subscription", "state": "active", "currency": "USD", "unit_amount": 10,
            "plan": {"code": "unknown"}, "created_at": "2024-01-01T00:00:00Z", "expires_at": null,
            "auto_renew": false, "remaining_billing_cycles": 0,
            "coupon_redemptions": [{"coupon": {"code": "once", "discount": {"type": "percent", "percent": 50}}}]}"#,
        );
        let f = subscription_fields(&active, &catalog());
        assert_eq!(f["start_date"], json!("2024-01-01T00:00:00Z"));
        assert_eq!((f["end_date"].clone(), f["billing_interval"].clone()), (Value::Null, Value::Null));
        assert_eq!(f["cancel_at_period_end"], json!(true), "auto-renew off on its last cycle");
        assert_eq!((f["discount_percent_bp"].clone(), f["discount_duration"].clone()), (json!(5000), json!("once")));
    }

    #[test]
    fn invoices_bill_the_positive_plan_line_of_a_proration() {
        let i = parsed(
            r#"{"object": "invoice", "state": "past_due", "currency": "USD", "total": 60.0, "tax": 0,
            "subscription_ids": ["s1"], "closed_at": null, "line_items": [
              {"origin": "plan", "type": "credit", "amount": -24.5, "unit_amount": 49, "quantity": 1,
               "start_date": "2024-03-15T12:00:00Z"},
              {"origin": "plan", "type": "charge", "amount": 84.5, "unit_amount": 99.0, "quantity": 2,
               "start_date": "2024-03-15T12:00:00Z", "end_date": "2024-04-01T12:00:00Z"}]}"#,
        );
        let f = invoice_fields(&i);
        assert_eq!(
            f,
            json!({"amount": "60.00", "tax": "0.00", "paid_at": null, "failed": true, "non_recurring": false,
                "line_count": 2, "period_start": "2024-03-15T12:00:00Z", "period_end": "2024-04-01T12:00:00Z",
                "billed_from": "2024-03-15T12:00:00Z", "billed_unit_amount": 9900, "billed_quantity": 2})
        );
        let one_off = parsed(
            r#"{"object": "invoice", "state": "paid", "currency": "JPY", "total": 50000, "tax": 0,
            "subscription_ids": [], "closed_at": "2024-02-01T00:00:00Z",
            "line_items": [{"origin": "one_time", "type": "charge", "amount": 50000}]}"#,
        );
        let f = invoice_fields(&one_off);
        assert_eq!((f["non_recurring"].clone(), f["paid_at"].clone()), (json!(true), json!("2024-02-01T00:00:00Z")));
        assert_eq!((f["billed_from"].clone(), f["amount"].clone()), (Value::Null, json!("50000")));
    }

    #[test]
    fn rate_limits_wait_for_the_reset() {
        let mut h = HeaderMap::new();
        let reset = Utc::now().timestamp() + 30;
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
        let wait = RecurlyRules.quota_exhausted_until(&h).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30), "{wait:?}");
        h.insert("x-ratelimit-remaining", "3".parse().unwrap());
        assert_eq!(RecurlyRules.quota_exhausted_until(&h), None);
        let body = br#"{"error": {"type": "rate_limited", "message": "You have made too many API requests."}}"#;
        match RecurlyRules.classify(StatusCode::TOO_MANY_REQUESTS, &h, body) {
            Verdict::RateLimited(d) => assert!(d > Duration::from_secs(25), "{d:?}"),
            other => panic!("{other:?}"),
        }
    }
}
