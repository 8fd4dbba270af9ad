//! The Recurly (API v3) emulator: `GET /accounts`, `/subscriptions`, `/invoices`, `/plans` and
//! `/coupons` as `{object: "list", has_more, next, data}` lists, `limit` 1–200 (default 20),
//! `sort` by `created_at` (the default) or `updated_at`, `order` `desc` (the default) or `asc`,
//! inclusive `begin_time`/`end_time` on the sort field, an opaque `cursor` that the `next` path
//! carries with the rest of the query, and the lists' filters (`email` on accounts, `state` on
//! subscriptions and invoices, `type` on invoices, `ids` everywhere); one record by id
//! (`/accounts/{id}` also by `code-<code>`, `/subscriptions/{id}` by `uuid-<uuid>`,
//! `/invoices/{id}` by `number-<number>`), and each of these under `/sites/{site_id}` too
//! (`subdomain-sandbox-accord` or the site's id), as older clients address them. The API key is the Basic username; every request
//! must name the version in `Accept: application/vnd.recurly.v2021-02-25[+json]`, and a
//! missing or unknown version is refused with 406, as Recurly refuses it. Answers carry
//! `Recurly-Version` and the site's limit (`X-RateLimit-Limit`, `-Remaining`, `-Reset` as a Unix
//! time): 400 requests a minute, a sandbox site's limit, with `{"error": {"type": "rate_limited"}}`
//! and 429 beyond it. `DELETE /accounts/{id}` deactivates the account (it stays listed, with
//! `state: inactive` and `deleted_at`) and expires its live subscriptions;
//! `PUT /accounts/{id}/reactivate` undoes the deactivation. A change made through the mutation
//! methods (or a deactivation over HTTP) sends a JSON webhook notification to the subscribed
//! endpoint, `{id, object_type, site_id, event_type, event_time, ...}`, signed in
//! `Recurly-Signature` (see `emulator/webhooks.rs`).

pub mod model;
mod routes;
pub mod seed;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::emulator::Running;
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::store::{Key, Results, Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{Account, Coupon, Invoice, Plan, RecurlyData, Subscription, recurly_id};

/// The API version the emulator serves.
pub const API_VERSION: &str = "v2021-02-25";

/// How the Recurly emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests per `window`: a sandbox site's 400 a minute by default (production sites: 1,000).
    pub per_window: u32,
    pub window: Duration,
    /// Enforce the limit (counting happens either way).
    pub rate_limited: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { per_window: 400, window: Duration::from_secs(60), rate_limited: true }
    }
}

/// The site's private API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub api_key: String,
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

record!(Account, Subscription, Invoice => String, |r| created: at(r.created_at), updated: at(r.updated_at));
record!(Plan, Coupon => String, |r| created: at(r.created_at), updated: at(r.created_at));

/// The site's records, behind one lock.
#[derive(Debug, Default)]
pub(crate) struct Books {
    pub(crate) accounts: Store<Account>,
    pub(crate) subscriptions: Store<Subscription>,
    pub(crate) invoices: Store<Invoice>,
    pub(crate) plans: Store<Plan>,
    pub(crate) coupons: Store<Coupon>,
}

impl Books {
    /// Changes with every mutation of any list (the key of cached filter hits).
    pub(crate) fn version(&self) -> u64 {
        self.accounts.version() + self.subscriptions.version() + self.invoices.version()
    }

    fn find_account(&self, id: &str) -> Option<String> {
        match id.strip_prefix("code-") {
            Some(code) => self.accounts.rows().iter().find(|a| a.code == code).map(|a| a.id.clone()),
            None => self.accounts.get(&id.to_owned()).map(|a| a.id.clone()),
        }
    }
}

impl State {
    pub(crate) fn notify(&self, object_type: &str, event_type: &str, keys: serde_json::Value) {
        let now = self.core.clock.now();
        let mut body = serde_json::json!({
            "id": recurly_id(50_000_000 + self.core.webhooks.next_id()),
            "object_type": object_type,
            "site_id": routes::SITE_ID,
            "event_type": event_type,
            "event_time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        if let (Some(b), serde_json::Value::Object(k)) = (body.as_object_mut(), keys) {
            b.extend(k);
        }
        self.core.webhooks.deliver(crate::emulator::webhooks::Signing::Recurly, &body, now);
    }
}

#[derive(Debug)]
pub struct State {
    pub(crate) books: Shared<Books>,
    /// The `(sort time, id)` keys of a filtered list, by filter, sort and data version.
    pub(crate) hits: Results<Vec<Key<String>>>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
}

/// A running Recurly emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: RecurlyData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let books = Books {
            accounts: data.accounts.into_iter().collect(),
            subscriptions: data.subscriptions.into_iter().collect(),
            invoices: data.invoices.into_iter().collect(),
            plans: data.plans.into_iter().collect(),
            coupons: data.coupons.into_iter().collect(),
        };
        let state = Arc::new(State {
            books: Shared::new(books),
            hits: Results::new(32),
            options,
            credentials: Credentials { api_key: "0a1b2c3d4e5f60718293a4b5c6d7e8f9".into() },
            core: Core::new(clock, limiter, 1),
        });
        Running::serve("recurly", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://v3.recurly.com`.
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    /// A new id, never one the seed used.
    pub fn new_id(&self) -> String {
        recurly_id(40_000_000 + self.state().core.next_seq())
    }

    fn now(&self) -> i64 {
        self.state().core.clock.now().timestamp()
    }

    /// Sends the notification of a change to `object_type` (`account`, `subscription`,
    /// `charge_invoice`).
    fn notify(&self, object_type: &str, event_type: &str, keys: serde_json::Value) {
        self.state().notify(object_type, event_type, keys);
    }

    fn missing(object: &'static str, id: &str) -> Error {
        Error::NotFound { vendor: "recurly", object, id: id.to_owned() }
    }

    /// Changes an account (its `updated_at` becomes now).
    pub fn update_account(&self, id: &str, change: impl FnOnce(&mut Account)) -> Result<()> {
        let now = self.now();
        let mut books = self.state().books.write();
        let code = books
            .accounts
            .update(&id.to_owned(), |a| {
                change(a);
                a.updated_at = now;
                a.code.clone()
            })
            .ok_or_else(|| Self::missing("account", id))?;
        drop(books);
        self.notify("account", "updated", serde_json::json!({ "account_code": code }));
        Ok(())
    }

    /// Deactivates an account as `DELETE /accounts/{id}` does.
    pub fn deactivate_account(&self, id: &str) -> Result<()> {
        let now = self.now();
        let mut books = self.state().books.write();
        deactivate(&mut books, id, now).ok_or_else(|| Self::missing("account", id))?;
        let code = books.accounts.get(&id.to_owned()).map(|a| a.code.clone());
        drop(books);
        self.notify("account", "deactivated", serde_json::json!({ "account_code": code }));
        Ok(())
    }

    /// Adds a subscription (its times as given).
    pub fn create_subscription(&self, subscription: Subscription) {
        let uuid = subscription.uuid.clone();
        self.state().books.write().subscriptions.insert(subscription);
        self.notify("subscription", "created", serde_json::json!({ "uuid": uuid }));
    }

    /// Changes a subscription (its `updated_at` becomes now).
    pub fn update_subscription(&self, id: &str, change: impl FnOnce(&mut Subscription)) -> Result<()> {
        let now = self.now();
        let mut books = self.state().books.write();
        let (was, state, uuid) = books
            .subscriptions
            .update(&id.to_owned(), |s| {
                let was = s.state.clone();
                change(s);
                s.updated_at = now;
                (was, s.state.clone(), s.uuid.clone())
            })
            .ok_or_else(|| Self::missing("subscription", id))?;
        drop(books);
        let event = match state.as_str() {
            "canceled" | "expired" | "paused" if state != was => state.as_str(),
            _ => "updated",
        };
        self.notify("subscription", event, serde_json::json!({ "uuid": uuid }));
        Ok(())
    }

    /// Adds an invoice (its times as given).
    pub fn create_invoice(&self, invoice: Invoice) {
        let number = invoice.number.clone();
        self.state().books.write().invoices.insert(invoice);
        self.notify("charge_invoice", "created", serde_json::json!({ "number": number }));
    }

    /// Changes an invoice (its `updated_at` becomes now): voiding, paying, failing.
    pub fn update_invoice(&self, id: &str, change: impl FnOnce(&mut Invoice)) -> Result<()> {
        let now = self.now();
        let mut books = self.state().books.write();
        let (was, state, number) = books
            .invoices
            .update(&id.to_owned(), |i| {
                let was = i.state.clone();
                change(i);
                i.updated_at = now;
                (was, i.state.clone(), i.number.clone())
            })
            .ok_or_else(|| Self::missing("invoice", id))?;
        drop(books);
        let event = match state.as_str() {
            "paid" | "past_due" | "failed" | "voided" if state != was => state.as_str(),
            _ => "updated",
        };
        self.notify("charge_invoice", event, serde_json::json!({ "number": number }));
        Ok(())
    }

    /// A copy of the data as served now.
    pub fn snapshot(&self) -> RecurlyData {
        let books = self.state().books.read();
        RecurlyData {
            accounts: books.accounts.rows().to_vec(),
            plans: books.plans.rows().to_vec(),
            coupons: books.coupons.rows().to_vec(),
            subscriptions: books.subscriptions.rows().to_vec(),
            invoices: books.invoices.rows().to_vec(),
        }
    }
}

/// Deactivates account `id` at `now`: `state: inactive`, `deleted_at`, and its live
/// subscriptions expire now. `None` when there is no such account.
pub(crate) fn deactivate(books: &mut Books, id: &str, now: i64) -> Option<()> {
    books.accounts.update(&id.to_owned(), |a| {
        if a.state != "inactive" {
            a.state = "inactive".into();
            a.deleted_at = Some(now);
            a.updated_at = now;
        }
    })?;
    let live: Vec<String> = books
        .subscriptions
        .rows()
        .iter()
        .filter(|s| s.account_id == id && !matches!(s.state.as_str(), "expired" | "failed"))
        .map(|s| s.id.clone())
        .collect();
    for sid in live {
        books.subscriptions.update(&sid, |s| {
            s.state = "expired".into();
            s.canceled_at.get_or_insert(now);
            s.expires_at = Some(now);
            s.auto_renew = false;
            s.updated_at = now;
        });
    }
    Some(())
}
