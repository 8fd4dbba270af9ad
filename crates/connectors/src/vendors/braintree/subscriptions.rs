//! Braintree subscriptions through the server API's subscription search (the "XML gateway" the
//! server SDKs call), since the GraphQL schema accord validates against has no subscription
//! query. A pass is two steps, as the SDKs do it:
//!
//! 1. `POST {gateway}/merchants/{merchant_id}/subscriptions/advanced_search_ids` with
//!    `<search><status type="array">` naming every status (Active, Canceled, Past Due, Pending,
//!    Expired): the answer, `<search-results>`, holds the page size and every matching id;
//! 2. `POST .../subscriptions/advanced_search` with `<search><ids type="array">` of one page of
//!    those ids at a time: `<subscriptions type="array">`.
//!
//! Headers: `Accept` and `Content-Type: application/xml`, `X-ApiVersion: 6`, the same Basic
//! auth as GraphQL. The cursor keeps the ids still to fetch, so a pass killed between pages
//! resumes with the next page and never repeats one.
//!
//! Every pass is a full read: the search's criteria are `created_at`, status, plan, price,
//! next billing date and the like, but nothing that changes when a subscription does (no update
//! time), so an incremental search would miss cancellations, price changes and new add-ons of
//! the subscriptions already read. The id search is one request, and the records come a page
//! (50) per request, so a full pass costs little for the counts subscriptions come in. Each pass
//! is authoritative: a subscription no longer returned becomes a tombstone. Cancelled and
//! expired subscriptions are returned (every status is asked for), with their status.
//!
//! A subscription names a payment method (`payment-method-token`), not a customer. The payment
//! method's owner is read with `GET .../payment_methods/any/{token}` (its `customer-id`, the
//! customer's legacy id), and the legacy id becomes the GraphQL global id accord's customers
//! carry with GraphQL's `idFromLegacyId(type: CUSTOMER)`, one query for a page's new customers.
//! Both are cached for the stream. A token Braintree no longer knows (HTTP 404) leaves the
//! subscription without a customer: it is stored, unlinked. The cost: a pass makes one
//! payment-method request per distinct token it meets (a payment method never changes owner,
//! but the cache lives only as long as the stream, not in the cursor, to keep cursors small).
//!
//! Revenue (`accord.*`): the plan (`GET .../plans`, read once per stream) gives the billing
//! frequency in months and the currency. The recurring amount of a billing period is the price
//! plus each add-on's amount times its quantity, less each discount's, counting only add-ons and
//! discounts still in force (`never-expires`, or fewer billing cycles passed than they last);
//! it goes to `unit_amount` in minor units (read exactly from the decimal strings), with
//! `billing_interval = month` and `interval_count` the plan's frequency. Statuses map to the
//! revenue model's: `Active` active, `Past Due` past_due, `Pending` (billing starts later) future,
//! `Canceled` canceled and `Expired` expired, ending on the day their status history says.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use accord_core::money::{Currency, Money};
use futures::future::BoxFuture;
use rand::RngExt;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::http::{FetchStats, HttpClient, RequestSpec};
use crate::{ConnectorError, FullPass, Item, Page, PageStats, RawRecord, Stream};

/// Every status the search is asked for, as Braintree spells them.
pub const STATUSES: [&str; 5] = ["Active", "Canceled", "Past Due", "Pending", "Expired"];

/// Turns a page's customer legacy ids into GraphQL ids. Each alias `cN` reads `$cN`.
pub fn customer_ids_query(count: usize) -> String {
    let vars: Vec<String> = (0..count).map(|i| format!("$c{i}: ID!")).collect();
    let fields: Vec<String> =
        (0..count).map(|i| format!("  c{i}: idFromLegacyId(legacyId: $c{i}, type: CUSTOMER)")).collect();
    format!("query CustomerIds({}) {{\n{}\n}}", vars.join(", "), fields.join("\n"))
}

/// Where the XML gateway is, and whose.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// `https://api.braintreegateway.com` or the sandbox's.
    pub url: String,
    pub merchant_id: String,
}

impl Gateway {
    fn path(&self, rest: &str) -> String {
        format!("{}/merchants/{}/{rest}", self.url.trim_end_matches('/'), self.merchant_id)
    }

    fn xml(&self, method: &str, rest: &str, body: Option<&Value>) -> RequestSpec {
        let req = match body {
            Some(b) => RequestSpec::text(method, self.path(rest), "application/xml", xml_body(b)),
            None => RequestSpec::get(self.path(rest)),
        };
        req.header("Accept", "application/xml").header("X-ApiVersion", "6")
    }

    /// The id search of a pass: every status.
    pub fn ids_request(&self) -> RequestSpec {
        self.xml("POST", "subscriptions/advanced_search_ids", Some(&json!({"search": {"status": STATUSES}})))
    }

    /// One page of records by id.
    pub fn page_request(&self, ids: &[String]) -> RequestSpec {
        self.xml("POST", "subscriptions/advanced_search", Some(&json!({"search": {"ids": ids}})))
    }

    pub fn plans_request(&self) -> RequestSpec {
        self.xml("GET", "plans", None)
    }

    pub fn payment_method_request(&self, token: &str) -> RequestSpec {
        let encoded: String = token
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        self.xml("GET", &format!("payment_methods/any/{encoded}"), None)
    }
}

/// `{"search": {...}}` as Braintree's XML: arrays' items are `<item>`.
pub fn xml_body(body: &Value) -> String {
    let (root, inner) =
        body.as_object().and_then(|m| m.iter().next()).map_or(("search", &Value::Null), |(k, v)| (k.as_str(), v));
    accord_core::xml::write(root, inner, &|_| "item".into())
}

/// A plan's billing terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTerms {
    /// Months per billing cycle.
    pub frequency: u32,
    pub currency: Option<String>,
}

/// The plans of a `<plans type="array">` answer, by id.
pub fn plans(answer: &Value) -> Result<HashMap<String, PlanTerms>, String> {
    let list = answer.get("plans").and_then(Value::as_array).ok_or("the answer has no <plans> list")?;
    let mut out = HashMap::new();
    for (i, p) in list.iter().enumerate() {
        let id = p.get("id").and_then(Value::as_str).ok_or_else(|| format!("plan {i} has no id"))?;
        let frequency = match p.get("billing-frequency") {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("plan {id}: billing-frequency is not a number of months"))?;
        let currency = p.get("currency-iso-code").and_then(Value::as_str).map(str::to_owned);
        out.insert(id.to_owned(), PlanTerms { frequency, currency });
    }
    Ok(out)
}

/// The cursor of the subscriptions stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionsCursor {
    /// Ids still to fetch in the pass under way.
    #[serde(default)]
    pub pending: Vec<String>,
    /// Ids per page, as the id search said.
    #[serde(default)]
    pub page_size: usize,
    /// The pass's id (its pages' full-pass mark).
    #[serde(default)]
    pub full_pass: Option<String>,
    /// The pass reached its end.
    #[serde(default)]
    pub complete: bool,
}

/// A subscriptions stream.
#[derive(Debug)]
pub struct SubscriptionsStream {
    /// The source's client: both APIs share its rate limit.
    pub(super) client: Arc<HttpClient>,
    pub(super) gateway: Gateway,
    pub(super) cursor: SubscriptionsCursor,
    /// The pass must start with the id search.
    pub(super) begin: bool,
    pub(super) done: bool,
    pub(super) plans: Option<HashMap<String, PlanTerms>>,
    /// Payment method token → the owner's legacy customer id (`None`: not in the vault).
    pub(super) owners: HashMap<String, Option<String>>,
    /// Legacy customer id → GraphQL id.
    pub(super) global: HashMap<String, String>,
}

impl SubscriptionsStream {
    pub fn new(client: Arc<HttpClient>, gateway: Gateway, saved: Option<Value>, full: bool) -> Self {
        let saved: Option<SubscriptionsCursor> =
            if full { None } else { saved.and_then(|v| serde_json::from_value(v).ok()) };
        let (cursor, begin) = match saved {
            Some(c) if !c.complete && c.full_pass.is_some() && c.page_size > 0 => (c, false),
            _ => (SubscriptionsCursor::default(), true),
        };
        Self {
            client,
            gateway,
            cursor,
            begin,
            done: false,
            plans: None,
            owners: HashMap::new(),
            global: HashMap::new(),
        }
    }

    async fn start_pass(&mut self, stats: &mut FetchStats) -> Result<(), ConnectorError> {
        let answer = self.client.fetch(&self.gateway.ids_request(), stats).await?;
        let results = answer
            .get("search-results")
            .ok_or_else(|| fatal("the id search answered without <search-results>".into()))?;
        let page_size = match results.get("page-size") {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|n| *n >= 1)
        .ok_or_else(|| fatal("the id search answered without a page-size".into()))?;
        let ids = match results.get("ids") {
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| fatal(format!("the id search lists {v} as an id")))
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(fatal("the id search answered without an <ids> list".into())),
        };
        let id = format!("{:016x}", rand::rng().random::<u64>());
        self.cursor = SubscriptionsCursor { pending: ids, page_size, full_pass: Some(id), complete: false };
        Ok(())
    }

    async fn plans(&mut self, stats: &mut FetchStats) -> Result<(), ConnectorError> {
        if self.plans.is_none() {
            let answer = self.client.fetch(&self.gateway.plans_request(), stats).await?;
            self.plans = Some(plans(&answer).map_err(|e| fatal(format!("GET plans: {e}")))?);
        }
        Ok(())
    }

    /// The legacy id of the customer owning `token`, read once per token.
    async fn owner(&mut self, token: &str, stats: &mut FetchStats) -> Result<Option<String>, ConnectorError> {
        if let Some(known) = self.owners.get(token) {
            return Ok(known.clone());
        }
        let owner = match self.client.fetch_or_refusal(&self.gateway.payment_method_request(token), stats).await? {
            Ok(fetched) => {
                // The root is the payment method's type: `credit-card`, `paypal-account`, ...
                let method = fetched.body.as_object().and_then(|m| m.values().next()).cloned().unwrap_or(Value::Null);
                method.get("customer-id").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
            }
            Err(refusal) if refusal.status == StatusCode::NOT_FOUND => {
                tracing::warn!(
                    "braintree: a subscription's payment method is not in the vault; its subscriptions stay unlinked"
                );
                None
            }
            Err(refusal) => return Err(ConnectorError::Fatal(refusal.message)),
        };
        self.owners.insert(token.to_owned(), owner.clone());
        Ok(owner)
    }

    /// GraphQL ids for the legacy ids not yet known.
    async fn global_ids(&mut self, legacy: Vec<String>, stats: &mut FetchStats) -> Result<(), ConnectorError> {
        let wanted: Vec<String> = {
            let mut w: Vec<String> = legacy.into_iter().filter(|l| !self.global.contains_key(l)).collect();
            w.sort();
            w.dedup();
            w
        };
        if wanted.is_empty() {
            return Ok(());
        }
        let variables: serde_json::Map<String, Value> =
            wanted.iter().enumerate().map(|(i, l)| (format!("c{i}"), json!(l))).collect();
        let request =
            RequestSpec::post("/graphql", json!({"query": customer_ids_query(wanted.len()), "variables": variables}))
                .header("Accept", "application/json");
        let answer = self.client.fetch(&request, stats).await?;
        for (i, l) in wanted.iter().enumerate() {
            let id = answer
                .pointer(&format!("/data/c{i}"))
                .and_then(Value::as_str)
                .ok_or_else(|| fatal(format!("idFromLegacyId answered no id for customer {l}")))?;
            self.global.insert(l.clone(), id.to_owned());
        }
        Ok(())
    }

    async fn page(&mut self) -> Result<Option<Page>, ConnectorError> {
        if self.done {
            return Ok(None);
        }
        let mut stats = FetchStats::default();
        if self.begin {
            self.begin = false;
            self.start_pass(&mut stats).await?;
        }
        self.plans(&mut stats).await?;
        let take = self.cursor.page_size.min(self.cursor.pending.len());
        let ids: Vec<String> = self.cursor.pending[..take].to_vec();
        let mut records = Vec::new();
        if !ids.is_empty() {
            let answer = self.client.fetch(&self.gateway.page_request(&ids), &mut stats).await?;
            match answer.get("subscriptions") {
                Some(Value::Array(list)) => records.clone_from(list),
                _ => return Err(fatal("advanced_search answered without a <subscriptions> list".into())),
            }
        }
        let mut legacy = Vec::new();
        let mut owners = Vec::with_capacity(records.len());
        for r in &records {
            let owner = match r.get("payment-method-token").and_then(Value::as_str) {
                Some(token) => self.owner(token, &mut stats).await?,
                None => None,
            };
            legacy.extend(owner.clone());
            owners.push(owner);
        }
        self.global_ids(legacy, &mut stats).await?;
        let plans = self.plans.clone().unwrap_or_default();
        let items = records
            .into_iter()
            .zip(owners)
            .map(|(mut r, owner)| {
                let global = owner.as_ref().and_then(|l| self.global.get(l)).cloned();
                if let Some(map) = r.as_object_mut() {
                    map.insert("customer".into(), json!({"id": global, "legacyId": owner}));
                }
                let derived = derive(&r, &plans);
                match derived {
                    Ok(d) => {
                        if let Some(map) = r.as_object_mut() {
                            map.insert("accord".into(), d);
                        }
                        Item::Record(RawRecord { data: r, location: None, identity: None })
                    }
                    Err(problem) => Item::Malformed {
                        location: format!(
                            "subscription {}",
                            r.get("id").and_then(Value::as_str).unwrap_or("without an id")
                        ),
                        problem,
                        raw: r,
                    },
                }
            })
            .collect();
        self.cursor.pending.drain(..take);
        self.cursor.complete = self.cursor.pending.is_empty();
        self.done = self.cursor.complete;
        let full_pass = self.cursor.full_pass.clone().map(|id| FullPass { id, complete: self.cursor.complete });
        Ok(Some(Page {
            items,
            cursor: serde_json::to_value(&self.cursor).unwrap_or(Value::Null),
            stats: PageStats {
                requests: stats.requests,
                retries: stats.retries,
                rate_limit_waits: stats.rate_limit_waits,
                position: None,
                day_calls_left: None,
            },
            full_pass,
        }))
    }
}

impl Stream for SubscriptionsStream {
    fn next_page(&mut self) -> BoxFuture<'_, Result<Option<Page>, ConnectorError>> {
        Box::pin(self.page())
    }
}

fn fatal(why: String) -> ConnectorError {
    ConnectorError::Fatal(format!("braintree subscriptions: {why}"))
}

/// A decimal string in minor units of `currency`, exactly.
fn minor(v: Option<&Value>, currency: Currency, what: &str) -> Result<i64, String> {
    let text = v.and_then(Value::as_str).ok_or_else(|| format!("{what} is missing"))?;
    Money::parse_major(text.trim(), currency).map(|m| m.minor).map_err(|e| format!("{what} {text:?}: {e}"))
}

fn quantity(v: &Value) -> i64 {
    match v.get("quantity") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(1),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(1),
        _ => 1,
    }
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An add-on or discount still applies: it never expires, or fewer of its billing cycles passed
/// than it lasts.
fn in_force(m: &Value) -> bool {
    if m.get("never-expires") == Some(&Value::Bool(true)) {
        return true;
    }
    match (int(m.get("number-of-billing-cycles")), int(m.get("current-billing-cycle"))) {
        (Some(total), Some(current)) => current < total,
        (Some(_), None) => true,
        (None, _) => true,
    }
}

/// The day a subscription's status history says it became `status`.
fn status_day(r: &Value, status: &str) -> Option<String> {
    let history = r.get("status-history")?.as_array()?;
    history
        .iter()
        .filter(|e| e.get("status").and_then(Value::as_str) == Some(status))
        .filter_map(|e| e.get("timestamp").and_then(Value::as_str))
        .min()
        .map(str::to_owned)
}

/// `accord.*` of a subscription, or why its revenue cannot be read.
pub fn derive(r: &Value, plans: &HashMap<String, PlanTerms>) -> Result<Value, String> {
    let plan_id = r.get("plan-id").and_then(Value::as_str).ok_or("plan-id is missing")?;
    let plan = plans.get(plan_id).ok_or_else(|| format!("plan {plan_id} is not among the merchant's plans"))?;
    let code = plan.currency.as_deref().ok_or_else(|| format!("plan {plan_id} has no currency-iso-code"))?;
    let currency = Currency::parse(code).map_err(|e| format!("plan {plan_id}: currency {code:?}: {e}"))?;
    let mut amount = minor(r.get("price"), currency, "price")?;
    let mut parts = BTreeMap::new();
    for (list, sign) in [("add-ons", 1i64), ("discounts", -1i64)] {
        for m in r.get(list).and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
            if !in_force(m) {
                continue;
            }
            let id = m.get("id").and_then(Value::as_str).unwrap_or("?");
            let each = minor(m.get("amount"), currency, &format!("{list} {id} amount"))?;
            let total = each.checked_mul(quantity(m)).ok_or_else(|| format!("{list} {id}: the amount overflows"))?;
            amount += sign * total;
            parts.insert(format!("{list}:{id}"), sign * total);
        }
    }
    let status = r.get("status").and_then(Value::as_str).unwrap_or_default();
    let (accord_status, ended) = match status {
        "Active" => ("active", None),
        "Past Due" => ("past_due", None),
        "Pending" => ("future", None),
        "Canceled" => ("canceled", status_day(r, "Canceled").or_else(|| text(r, "updated-at"))),
        "Expired" => ("expired", status_day(r, "Expired").or_else(|| text(r, "updated-at"))),
        other => return Err(format!("status {other:?} is not one Braintree documents")),
    };
    let start = text(r, "first-billing-date").or_else(|| text(r, "created-at"));
    Ok(json!({
        "status": accord_status,
        "currency": currency.code(),
        "unit_amount": amount.max(0),
        "quantity": 1,
        "billing_interval": "month",
        "interval_count": plan.frequency,
        "start_date": start,
        "end_date": ended,
        "canceled_at": ended,
        "parts": parts,
    }))
}

fn text(r: &Value, key: &str) -> Option<String> {
    r.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty()).map(str::to_owned)
}
