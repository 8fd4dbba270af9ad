//! Xero (Accounting API 2.0): contacts by their `AccountNumber` (the integration guide's advice:
//! fill it with your product's account id), then by `EmailAddress`; invoices (sales, `ACCREC`),
//! payments and repeating invoices through their contact (`Contact.ContactID`,
//! `Invoice.Contact.ContactID` for a payment).
//!
//! OAuth2 authorization code with refresh. Xero's refresh tokens rotate: every grant returns a new
//! one and the redeemed one stops working, so, as for Keap, the configured `refresh_token` only
//! starts the chain and each successor is saved atomically to `token_file` before the access
//! token it came with is used (`http::rotation`). One authorization can reach several
//! organisations ("tenants"): every request names one in `xero-tenant-id`. Before the first page
//! the connector reads `GET /connections`; the `tenant_id` setting picks one of them, and with
//! several and no setting the error lists them (Xero would answer 403 without the header).
//!
//! Dates are Microsoft JSON dates (`/Date(1439434356790+0000)/`), read exactly by
//! `accord_core::time`. Amounts are JSON numbers in major units; accord reads each number's own
//! text (kept by the JSON parser) into minor units with the currency's exponent, never through a
//! float, and leaves out an amount finer than the currency allows rather than rounding it.
//!
//! Rate limits, per tenant: 60 calls a minute, 5 at once, 5,000 a day. The client keeps to 60 a
//! minute (one request at a time per source). Every answer says what is left of the day in
//! `X-DayLimit-Remaining`; the connector keeps the latest figure
//! ([`XeroConnector::day_remaining`]). A 429 with `X-Rate-Limit-Problem: minute` (or
//! `concurrent`) waits its `Retry-After` and retries; one with `X-Rate-Limit-Problem: day` ends
//! the stream with an error that says when the budget refills (now + `Retry-After`). The pages
//! read before it are committed with their cursors, so the next sync after the reset continues
//! from the last one: no gap and no repeat.
//!
//! Write-back: `accord propagate` fills the `AccountNumber` of contacts linked by email
//! (`updateContact`, `POST /Contacts/{ContactID}`, the answer the contact, read back), after
//! `/connections` names the organisation. Xero refuses an account number another contact has
//! (400 `ValidationException`): the write is reported refused, with Xero's reason.
//!
//! MRR: Xero has no subscriptions. Each sales repeating invoice is read as one: its `Schedule`
//! (`Unit` WEEKLY or MONTHLY, every `Period` of them; 12 months is a year) is the interval, the
//! sum of its line items' `UnitAmount` × `Quantity` (before tax and line discounts) the price,
//! `AUTHORISED` counts, `DRAFT` does not (`incomplete`), `DELETED` has ended (`canceled`; Xero
//! keeps no date for it, so it ends at its start), and `Schedule.EndDate` ends it. This is an
//! estimate of recurring revenue: a template says what will be invoiced, not what was agreed or
//! paid, and Xero reports no MRR of its own to check it against.

mod streams;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use accord_core::config::SourceConfig;
use accord_core::money::{Currency, Money};
use accord_core::secret::SecretRef;
use accord_core::{Config, ConfigError};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{self, RateLimitSetting, accept_json, apply_overrides, effective_limit, settings};
use crate::http::client::{FetchStats, date_header, default_verdict, retry_after};
use crate::http::{Auth, HttpClient, HttpConnector, Limit, RequestSpec, TokenFile, Vendor, Verdict};
use crate::{Connector, ConnectorError, Item, ObjectSpec, Page, Stream};

/// `[sources.<name>]` settings of kind `xero`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://api.xero.com` (lists are `/api.xro/2.0/...` below it, tenants `/connections`).
    #[serde(default = "default_base")]
    pub base_url: String,
    /// `https://identity.xero.com/connect/token`.
    #[serde(default = "default_token_url")]
    pub token_url: String,
    pub client_id: SecretRef,
    pub client_secret: SecretRef,
    /// The refresh token of the authorization; its successors go to `token_file`.
    pub refresh_token: SecretRef,
    /// Where the current refresh token is kept (default `<source name>.refresh_token` beside
    /// `accord.toml`).
    pub token_file: Option<PathBuf>,
    /// The organisation to read (`tenantId` from `/connections`); needed when the authorization
    /// reaches more than one.
    pub tenant_id: Option<String>,
    /// Records per page: 1–1,000 (1,000 by default, Xero's maximum).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// How often the paged lists are re-read whole: `"7d"` by default, or `"off"`.
    #[serde(default = "default_reconcile_every")]
    pub reconcile_every: common::Period,
    pub rate_limit: Option<RateLimitSetting>,
    #[serde(default)]
    pub unthrottled: bool,
}

fn default_base() -> String {
    "https://api.xero.com".into()
}

fn default_token_url() -> String {
    "https://identity.xero.com/connect/token".into()
}

fn default_page_size() -> u32 {
    1000
}

fn default_reconcile_every() -> common::Period {
    common::Period(Some(chrono::Duration::days(7)))
}

/// The organisation every request names, learned from `/connections` before the first page.
#[derive(Debug, Clone, Default)]
pub struct Tenant(Arc<OnceLock<String>>);

impl Tenant {
    /// The tenant id (empty before it is known: no request is built before then).
    pub fn id(&self) -> String {
        self.0.get().cloned().unwrap_or_default()
    }
}

/// The tenant to read among `/connections`' answer: the configured one, or the only one.
pub fn pick_tenant(connections: &Value, wanted: Option<&str>) -> Result<String, String> {
    let list: Vec<(String, String)> = connections
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c.get("tenantType").and_then(Value::as_str).is_none_or(|t| t == "ORGANISATION"))
        .filter_map(|c| {
            let id = c.get("tenantId").and_then(Value::as_str)?;
            Some((id.to_owned(), c.get("tenantName").and_then(Value::as_str).unwrap_or("").to_owned()))
        })
        .collect();
    let names = || list.iter().map(|(id, name)| format!("{id} ({name})")).collect::<Vec<_>>().join(", ");
    match wanted.map(str::trim) {
        Some(w) => list.iter().find(|(id, _)| id.eq_ignore_ascii_case(w)).map(|(id, _)| id.clone()).ok_or_else(|| {
            format!("the tenant_id {w:?} is not among the organisations this authorization reaches: {}", names())
        }),
        None => match list.as_slice() {
            [(id, _)] => Ok(id.clone()),
            [] => Err("the authorization reaches no Xero organisation (GET /connections is empty): connect one".into()),
            _ => Err(format!(
                "the authorization reaches {} organisations; set tenant_id to one of: {}",
                list.len(),
                names()
            )),
        },
    }
}

/// What Xero last said of the organisation's day of calls. It rides in every stream's
/// checkpoint (`day_budget` in the cursor), so a new process knows it before its first call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayBudget {
    /// `X-DayLimit-Remaining` of the latest answer that carried it.
    pub remaining: Option<u64>,
    /// When that answer was sent, by Xero's clock (its `Date`).
    pub at: Option<DateTime<Utc>>,
    /// When the budget refills, by Xero's clock: a daily-limit 429's time plus its `Retry-After`.
    pub resets_at: Option<DateTime<Utc>>,
}

impl DayBudget {
    /// Xero's day is at most 24 hours: a budget seen spent refills by then even when no
    /// `Retry-After` said so.
    const DAY: chrono::TimeDelta = chrono::TimeDelta::hours(24);

    /// Until when the budget stays spent, if it is spent at `now` (Xero's clock).
    pub fn spent_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.remaining != Some(0) {
            return None;
        }
        let until = self.resets_at.or_else(|| self.at.map(|t| t + Self::DAY))?;
        (now < until).then_some(until)
    }

    /// What is left at `now`: `None` when unknown, or when the day it was seen in is over.
    pub fn left(&self, now: DateTime<Utc>) -> Option<u64> {
        let until = self.resets_at.or_else(|| self.at.map(|t| t + Self::DAY))?;
        self.remaining.filter(|_| now < until)
    }
}

/// The budget and the difference between Xero's clock and ours (from each answer's `Date`), so
/// that a budget seen by Xero's clock is judged by it.
#[derive(Debug, Default)]
struct Budget {
    day: DayBudget,
    /// Xero's clock minus ours, from the latest answer with a `Date`.
    offset: Option<chrono::TimeDelta>,
}

impl Budget {
    fn server_now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset.unwrap_or_default()
    }

    /// Keeps `saved` when it was seen later than what this process knows.
    fn merge(&mut self, saved: &DayBudget) {
        let newer = match (saved.at, self.day.at) {
            (Some(a), Some(b)) => a > b,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if newer {
            self.day = saved.clone();
        }
    }
}

/// Xero's answers: the day's budget kept from every answer, and its 429s told apart.
#[derive(Debug, Default)]
struct XeroRules {
    budget: Arc<Mutex<Budget>>,
}

/// The 429's `X-Rate-Limit-Problem` (`minute`, `concurrent`, `day`, `appminute`).
fn problem(headers: &HeaderMap) -> String {
    headers.get("x-rate-limit-problem").and_then(|v| v.to_str().ok()).unwrap_or("").trim().to_ascii_lowercase()
}

fn at_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The error that ends a sync on the day's limit: when it can resume.
pub fn day_limit_message(headers: &HeaderMap) -> String {
    let wait = retry_after(headers);
    let when = wait.and_then(|w| chrono::Duration::from_std(w).ok()).map(|w| at_text(Utc::now() + w));
    format!(
        "Xero's daily limit of calls for this organisation is spent (429, X-Rate-Limit-Problem: day); the sync \
         stopped after its last committed page and resumes from it when run again {}",
        match (when, wait) {
            (Some(at), Some(w)) => format!("after {at} (Retry-After: {}s)", w.as_secs()),
            _ => "tomorrow (the answer gave no Retry-After)".into(),
        }
    )
}

/// The error that refuses a call the day's budget cannot pay for, before it is sent.
fn spent_message(day: &DayBudget, until: DateTime<Utc>) -> String {
    format!(
        "Xero's daily limit of calls for this organisation is spent (X-DayLimit-Remaining was 0{}): no call was \
         made; the sync keeps its last committed page and resumes from it when run again after {} (Xero's clock)",
        day.at.map(|t| format!(" at {}", at_text(t))).unwrap_or_default(),
        at_text(until)
    )
}

impl Vendor for XeroRules {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
        {
            let mut b = self.budget.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(server) = date_header(headers) {
                b.offset = Some(server - Utc::now());
            }
            let now = b.server_now();
            if let Some(n) =
                headers.get("x-daylimit-remaining").and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            {
                b.day = DayBudget { remaining: Some(n), at: Some(now), resets_at: None };
            }
            if status == StatusCode::TOO_MANY_REQUESTS && problem(headers) == "day" {
                let reset = retry_after(headers).and_then(|w| chrono::Duration::from_std(w).ok()).map(|w| now + w);
                b.day = DayBudget { remaining: Some(0), at: Some(now), resets_at: reset };
            }
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            if problem(headers) == "day" {
                // Waiting hours inside a sync helps no one: stop, keep the checkpoint.
                return Verdict::Fatal(day_limit_message(headers));
            }
            let wait = retry_after(headers).unwrap_or(Duration::from_secs(1));
            return Verdict::RateLimited(wait.max(Duration::from_millis(100)));
        }
        if status == StatusCode::BAD_REQUEST
            && let Some(why) = validation_errors(body)
        {
            return Verdict::Fatal(format!("HTTP 400: {why}"));
        }
        default_verdict(status, headers, body)
    }

    /// The Accounting API's calls count against the day (`/connections` does not).
    fn before_send(&self, req: &RequestSpec) -> Result<(), String> {
        if !req.path.starts_with("/api.xro/") {
            return Ok(());
        }
        let b = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        match b.day.spent_until(b.server_now()) {
            Some(until) => Err(spent_message(&b.day, until)),
            None => Ok(()),
        }
    }
}

/// A 400's `{"Type": "ValidationException", "Message", "Elements": [{"ValidationErrors":
/// [{"Message"}]}]}` in a few words: the validation messages (the reason a write is refused).
pub fn validation_errors(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let kind = v.get("Type").and_then(Value::as_str)?;
    let messages: Vec<&str> = v
        .get("Elements")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("ValidationErrors").and_then(Value::as_array))
        .flatten()
        .filter_map(|m| m.get("Message").and_then(Value::as_str))
        .collect();
    let message = v.get("Message").and_then(Value::as_str).unwrap_or_default();
    Some(if messages.is_empty() { format!("{kind}: {message}") } else { format!("{kind}: {}", messages.join("; ")) })
}

/// Reads `/connections` once and keeps the organisation to name (see `pick_tenant`).
async fn ensure_tenant(
    client: &HttpClient,
    tenant: &Tenant,
    wanted: Option<&str>,
    stats: &mut FetchStats,
) -> Result<(), ConnectorError> {
    if tenant.0.get().is_none() {
        let connections = client.fetch(&RequestSpec::get("/connections"), stats).await?;
        let id = pick_tenant(&connections, wanted).map_err(ConnectorError::Fatal)?;
        let _ = tenant.0.set(id);
    }
    Ok(())
}

/// Builds a Xero source.
pub fn connector(
    name: &str,
    source: &SourceConfig,
    _config: &Config,
    base_dir: &Path,
) -> Result<XeroConnector, ConfigError> {
    let s: Settings = settings(name, &source.settings)?;
    let secret = |r: &SecretRef, key: &str| common::secret(name, key, r, base_dir);
    if let Some(t) = &s.tenant_id
        && t.trim().is_empty()
    {
        return Err(ConfigError::new(format!("sources.{name}.tenant_id"), "empty: leave it out or write a tenantId"));
    }
    let file = base_dir.join(s.token_file.clone().unwrap_or_else(|| PathBuf::from(format!("{name}.refresh_token"))));
    let auth = Auth::OAuth2Rotating {
        token_url: s.token_url.clone(),
        client_id: secret(&s.client_id, "client_id")?,
        client_secret: secret(&s.client_secret, "client_secret")?,
        tokens: Arc::new(TokenFile::new(file, secret(&s.refresh_token, "refresh_token")?)),
    };
    let rules = XeroRules::default();
    let budget = rules.budget.clone();
    let client = common::client(
        name,
        s.base_url.trim_end_matches('/'),
        auth,
        effective_limit(s.rate_limit, s.unthrottled, Limit::per_minute(60)),
        Box::new(rules),
        vec![accept_json()],
    )?;
    let tenant = Tenant::default();
    let mut streams = streams::streams(&tenant, s.page_size.clamp(1, 1000), s.reconcile_every.0);
    apply_overrides(name, &mut streams, &source.objects)?;
    let writes = vec![streams::contact_account_number(&tenant)];
    Ok(XeroConnector {
        inner: HttpConnector::new("xero", client, streams).with_writes(writes),
        tenant,
        wanted: s.tenant_id.clone(),
        budget,
    })
}

/// A configured Xero source.
#[derive(Debug)]
pub struct XeroConnector {
    inner: HttpConnector,
    tenant: Tenant,
    wanted: Option<String>,
    budget: Arc<Mutex<Budget>>,
}

/// Where a stream's checkpoint keeps the day's budget.
const BUDGET_KEY: &str = "day_budget";

impl XeroConnector {
    /// What Xero last said is left of the organisation's daily budget (this process's answers
    /// or a checkpoint's), while that day lasts.
    pub fn day_remaining(&self) -> Option<u64> {
        let b = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        b.day.left(b.server_now())
    }

    /// The budget as the checkpoints keep it.
    pub fn day_budget(&self) -> DayBudget {
        self.budget.lock().unwrap_or_else(|e| e.into_inner()).day.clone()
    }

    /// Learns the budget a checkpoint kept, when it is newer than this process's.
    fn learn(&self, cursor: &Value) {
        if let Some(saved) = cursor.get(BUDGET_KEY).and_then(|v| serde_json::from_value::<DayBudget>(v.clone()).ok()) {
            self.budget.lock().unwrap_or_else(|e| e.into_inner()).merge(&saved);
        }
    }
}

impl Connector for XeroConnector {
    fn kind(&self) -> &'static str {
        "xero"
    }

    fn objects(&self) -> &[ObjectSpec] {
        self.inner.objects()
    }

    fn write_back(&self) -> Option<&dyn crate::WriteBack> {
        Some(self)
    }

    fn resume(&self, cursors: &[Value]) {
        for c in cursors {
            self.learn(c);
        }
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        let cursor = cursor.map(|mut c| {
            self.learn(&c);
            if let Some(map) = c.as_object_mut() {
                map.remove(BUDGET_KEY);
            }
            c
        });
        Ok(Box::new(XeroStream {
            inner: self.inner.open_stream(object, cursor, full)?,
            client: self.inner.client().clone(),
            tenant: self.tenant.clone(),
            wanted: self.wanted.clone(),
            budget: self.budget.clone(),
        }))
    }
}

/// The HTTP connector's write-back, once the organisation to name is known (a `propagate` run
/// reads no page before its first write).
impl crate::WriteBack for XeroConnector {
    fn writable_field(&self, object: &str) -> Option<&accord_core::FieldPath> {
        self.writes().writable_field(object)
    }

    fn current<'a>(
        &'a self,
        object: &'a str,
        native_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ConnectorError>> {
        Box::pin(async move {
            self.tenant_known().await?;
            self.writes().current(object, native_id).await
        })
    }

    fn write<'a>(
        &'a self,
        object: &'a str,
        native_id: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async move {
            self.tenant_known().await?;
            self.writes().write(object, native_id, value).await
        })
    }
}

impl XeroConnector {
    fn writes(&self) -> &dyn crate::WriteBack {
        &self.inner
    }

    async fn tenant_known(&self) -> Result<(), ConnectorError> {
        ensure_tenant(self.inner.client(), &self.tenant, self.wanted.as_deref(), &mut FetchStats::default()).await
    }
}

/// A Xero stream: the tenant found before the first page, and `accord.*` added to each record.
struct XeroStream {
    inner: Box<dyn Stream>,
    client: Arc<HttpClient>,
    tenant: Tenant,
    wanted: Option<String>,
    budget: Arc<Mutex<Budget>>,
}

impl XeroStream {
    async fn page(&mut self) -> Result<Option<Page>, ConnectorError> {
        let mut stats = FetchStats::default();
        ensure_tenant(&self.client, &self.tenant, self.wanted.as_deref(), &mut stats).await?;
        let Some(mut page) = self.inner.next_page().await? else { return Ok(None) };
        for item in &mut page.items {
            if let Item::Record(raw) = item {
                derive(&mut raw.data);
            }
        }
        page.stats.requests += stats.requests;
        page.stats.retries += stats.retries;
        page.stats.rate_limit_waits += stats.rate_limit_waits;
        let (day, left) = {
            let b = self.budget.lock().unwrap_or_else(|e| e.into_inner());
            (b.day.clone(), b.day.left(b.server_now()))
        };
        page.stats.day_calls_left = left;
        // The budget is committed with the page, so the next process knows it before calling.
        if let (Some(map), Ok(saved)) = (page.cursor.as_object_mut(), serde_json::to_value(&day)) {
            map.insert(BUDGET_KEY.into(), saved);
        }
        Ok(Some(page))
    }
}

impl Stream for XeroStream {
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

/// Minor units as decimal text of the major unit with the currency's decimals.
fn major_of(minor: i64, currency: &str) -> Option<String> {
    let e = u32::from(Currency::parse(currency).ok()?.exponent());
    let (sign, abs) = (if minor < 0 { "-" } else { "" }, minor.unsigned_abs());
    if e == 0 {
        return Some(format!("{sign}{abs}"));
    }
    let scale = 10u64.pow(e);
    Some(format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = e as usize))
}

fn major_text(v: Option<&Value>, currency: &str) -> Option<String> {
    major_of(minor(v, currency)?, currency)
}

/// A decimal's exact text as (digits, decimal places): `"1.5000"` → (15000, 4).
fn decimal(text: &str) -> Option<(i128, u32)> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    if t.contains(['e', 'E']) {
        // Exponent form (`1e2`): only whole numbers.
        let n: f64 = t.parse().ok()?;
        return (n.fract() == 0.0 && n.abs() < 1e15).then_some((if neg { -(n as i128) } else { n as i128 }, 0));
    }
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: i128 = format!("{int}{frac}").parse().ok()?;
    Some((if neg { -digits } else { digits }, u32::try_from(frac.len()).ok()?))
}

/// The sum of `UnitAmount` × `Quantity` over the line items, in minor units, computed exactly;
/// `None` when a line lacks either or the product is finer than the currency allows.
fn lines_total(lines: &[Value], currency: &str) -> Option<i64> {
    let mut total: i128 = 0;
    for l in lines {
        let unit = i128::from(minor(l.get("UnitAmount"), currency)?);
        let (q, places) = decimal(&amount_text(l.get("Quantity").unwrap_or(&json!(1)))?)?;
        let scale = 10i128.checked_pow(places)?;
        let product = unit.checked_mul(q)?;
        if product % scale != 0 {
            return None;
        }
        total = total.checked_add(product / scale)?;
    }
    i64::try_from(total).ok()
}

fn lines(r: &Value) -> &[Value] {
    r.get("LineItems").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Adds `accord.*`: what the typed fields read, in the form they read it.
fn derive(record: &mut Value) {
    let derived = if record.get("RepeatingInvoiceID").is_some() && record.get("Schedule").is_some() {
        repeating_fields(record)
    } else if record.get("PaymentID").is_some() {
        payment_fields(record)
    } else if record.get("InvoiceID").is_some() {
        invoice_fields(record)
    } else {
        return;
    };
    if let Some(map) = record.as_object_mut() {
        map.insert("accord".into(), derived);
    }
}

/// A schedule's `Unit` and `Period` as an interval and a count: every 12 months is yearly.
fn interval(unit: &str, period: i64) -> Option<(&'static str, i64)> {
    match unit.to_ascii_uppercase().as_str() {
        "MONTHLY" if period > 0 && period % 12 == 0 => Some(("year", period / 12)),
        "MONTHLY" if period > 0 => Some(("month", period)),
        "WEEKLY" if period > 0 => Some(("week", period)),
        _ => None,
    }
}

fn repeating_fields(r: &Value) -> Value {
    let currency = r.get("CurrencyCode").and_then(Value::as_str).unwrap_or_default();
    let unit = r.pointer("/Schedule/Unit").and_then(Value::as_str).unwrap_or_default();
    let period = r.pointer("/Schedule/Period").and_then(Value::as_i64).unwrap_or(1);
    let every = interval(unit, period);
    let status = match r.get("Status").and_then(Value::as_str).unwrap_or_default() {
        "AUTHORISED" => "active",
        // Never invoiced from: no revenue.
        "DRAFT" => "incomplete",
        "DELETED" => "canceled",
        _ => "incomplete",
    };
    let lines = lines(r);
    let plan = lines
        .iter()
        .find_map(|l| l.get("ItemCode").and_then(Value::as_str))
        .or_else(|| r.get("Reference").and_then(Value::as_str));
    json!({
        "plan_code": plan,
        "status": status,
        "billing_interval": every.map(|e| e.0),
        "interval_count": every.map(|e| e.1),
        "quantity": 1,
        "unit_amount": lines_total(lines, currency),
        "next_invoice": if status == "active" { r.pointer("/Schedule/NextScheduledDate").cloned() } else { None },
        "canceled_at": if status == "canceled" { r.pointer("/Schedule/StartDate").cloned() } else { None },
    })
}

fn invoice_fields(i: &Value) -> Value {
    let currency = i.get("CurrencyCode").and_then(Value::as_str).unwrap_or_default();
    let status = i.get("Status").and_then(Value::as_str).unwrap_or_default();
    let repeating = i.get("RepeatingInvoiceID").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    let line_total = repeating.then(|| lines_total(lines(i), currency)).flatten();
    let overdue = status == "AUTHORISED"
        && i.get("DueDate").and_then(accord_core::time::parse_timestamp).is_some_and(|d| d < chrono::Utc::now())
        && minor(i.get("AmountDue"), currency).is_some_and(|d| d > 0);
    json!({
        "amount": major_text(i.get("Total"), currency),
        "tax": major_text(i.get("TotalTax"), currency),
        // Xero's spellings, lowercased: `voided` and `deleted` bill nothing.
        "status": status.to_ascii_lowercase(),
        "failed": overdue,
        "non_recurring": !repeating,
        "line_count": i.get("LineItems").and_then(Value::as_array).map(Vec::len),
        "billed_from": if repeating { i.get("Date").cloned() } else { None },
        "billed_unit_amount": line_total,
        "billed_quantity": line_total.map(|_| 1),
    })
}

fn payment_fields(p: &Value) -> Value {
    let currency = p.pointer("/Invoice/CurrencyCode").and_then(Value::as_str).unwrap_or_default();
    let status = p.get("Status").and_then(Value::as_str).unwrap_or_default();
    json!({
        "amount": major_text(p.get("Amount"), currency),
        // A deleted payment received nothing.
        "status": if status == "DELETED" { "deleted" } else { "paid" },
        "paid_at": if status == "DELETED" { None } else { p.get("Date").cloned() },
        "non_recurring": true,
    })
}

#[cfg(test)]
mod tests;
