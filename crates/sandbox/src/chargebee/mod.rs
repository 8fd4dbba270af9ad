//! The Chargebee emulator (API v2, a Product Catalog 2.0 test site): `GET /api/v2/customers`,
//! `/subscriptions` and `/invoices` with `limit` (1–100, default 10) and the opaque `offset` its
//! previous page's `next_offset` gave; `sort_by[asc|desc]` on `created_at` or `updated_at`
//! (invoices also `date`; by default newest created first); the filters `updated_at[after|before]`,
//! `created_at[after|before]`, `customer_id[is]` (subscriptions, invoices), `subscription_id[is]`
//! and `status[is]`; and `include_deleted` (deleted records are listed only with it, flagged
//! `deleted: true`). Each list entry wraps its record under the object's name, and a subscription's
//! entry carries its customer too. Records by id (`/api/v2/customers/{id}`, ..., and
//! `/api/v2/coupons/{id}`), and `/api/v2/configurations` (the site's product catalog version, which
//! clients ask first).
//!
//! Auth is the API key as the HTTP Basic user (the password is not read). A test site allows 150
//! requests a minute; beyond that, and for an injected rate-limit fault, the answer is 429 with
//! `api_error_code: api_request_limit_exceeded`. Every error body is Chargebee's
//! `{message, type, api_error_code, error_code, http_status_code}`. Mutations bump `updated_at`
//! and `resource_version`; a deletion keeps the record, flagged. Each mutation sends the event
//! Chargebee would (`customer_changed`, `customer_deleted`, `subscription_created`,
//! `subscription_changed`, `subscription_cancelled`, `subscription_deleted`, `invoice_generated`,
//! `invoice_updated`, `invoice_deleted`) to the subscribed webhook, with HTTP Basic
//! authentication as a protected Chargebee webhook carries it.

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
use crate::emulator::store::{Key, Record, Results, Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{ChargebeeData, Coupon, Customer, Invoice, Subscription};

/// The emulated site's name: the API of a real one is `https://{SITE}.chargebee.com`.
pub const SITE: &str = "accord-sandbox-test";

/// How the Chargebee emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests per `window` (a test site and the Starter plan: 150 a minute).
    pub per_minute: u32,
    pub window: Duration,
    /// Enforce the limit (counting happens either way).
    pub rate_limited: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { per_minute: 150, window: Duration::from_secs(60), rate_limited: true }
    }
}

/// The site's API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub api_key: String,
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

record!(Customer, Subscription => String, |r| created: at(r.created_at), updated: at(r.updated_at));
record!(Invoice => String, |r| created: at(r.date), updated: at(r.updated_at));

impl Record for Coupon {
    type Id = String;
    fn id(&self) -> &String {
        &self.id
    }
    fn created(&self) -> DateTime<Utc> {
        at(self.created_at)
    }
    fn updated(&self) -> DateTime<Utc> {
        at(self.created_at)
    }
}

/// The site's records; one lock.
#[derive(Debug, Default)]
pub(crate) struct Books {
    pub(crate) customers: Store<Customer>,
    pub(crate) subscriptions: Store<Subscription>,
    pub(crate) invoices: Store<Invoice>,
    pub(crate) coupons: Store<Coupon>,
}

impl Books {
    /// A number that changes with every mutation of any list (the key of cached hits).
    pub(crate) fn version(&self) -> u64 {
        self.customers.version() + self.subscriptions.version() + self.invoices.version() + self.coupons.version()
    }
}

#[derive(Debug)]
pub struct State {
    pub(crate) books: Shared<Books>,
    /// The keys of a filtered list, by filter and data version.
    pub(crate) hits: Results<Vec<Key<String>>>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
}

impl State {
    /// Sends the event Chargebee would for a change to the webhook endpoint, if one subscribed.
    fn event(&self, kind: &str, content: serde_json::Value) {
        let now = self.core.clock.now();
        let body = serde_json::json!({
            "id": format!("ev_{}", model::event_id(self.core.webhooks.next_id())),
            "occurred_at": now.timestamp(),
            "source": "api",
            "object": "event",
            "api_version": "v2",
            "event_type": kind,
            "webhook_status": "scheduled",
            "content": content,
        });
        self.core.webhooks.deliver(crate::emulator::webhooks::Signing::Chargebee, &body, now);
    }
}

/// A running Chargebee emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: ChargebeeData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let books = Books {
            customers: data.customers.into_iter().collect(),
            subscriptions: data.subscriptions.into_iter().collect(),
            invoices: data.invoices.into_iter().collect(),
            coupons: data.coupons.into_iter().collect(),
        };
        let state = Arc::new(State {
            books: Shared::new(books),
            hits: Results::new(32),
            options,
            credentials: Credentials { api_key: "test_cbSandboxAccord0000000000000000".into() },
            core: Core::new(clock, limiter, 1),
        });
        Running::serve("chargebee", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://{SITE}.chargebee.com` (paths are
    /// `/api/v2/...`).
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    fn now(&self) -> i64 {
        self.state().core.clock.now().timestamp()
    }

    fn missing(object: &'static str, id: &str) -> Error {
        Error::NotFound { vendor: "chargebee", object, id: id.to_owned() }
    }

    /// Changes a customer; its `updated_at` becomes now.
    pub fn update_customer(&self, id: &str, change: impl FnOnce(&mut Customer)) -> Result<()> {
        let now = self.now();
        let mut books = self.state().books.write();
        let c = books
            .customers
            .update(&id.to_owned(), |c| {
                change(c);
                c.updated_at = now;
                c.clone()
            })
            .ok_or_else(|| Self::missing("customer", id))?;
        self.state().event("customer_changed", serde_json::json!({"customer": c.to_json()}));
        Ok(())
    }

    /// Deletes a customer as `POST /api/v2/customers/{id}/delete` does: the customer and its
    /// subscriptions are deleted (kept, flagged `deleted`, listed only with `include_deleted`);
    /// its invoices stay.
    pub fn delete_customer(&self, id: &str) -> Result<()> {
        let now = self.now();
        let mut books = self.state().books.write();
        books
            .customers
            .update(&id.to_owned(), |c| {
                c.deleted = true;
                c.updated_at = now;
            })
            .ok_or_else(|| Self::missing("customer", id))?;
        let subs: Vec<String> = books
            .subscriptions
            .rows()
            .iter()
            .filter(|s| s.customer_id == id && !s.deleted)
            .map(|s| s.id.clone())
            .collect();
        for sid in subs {
            books.subscriptions.update(&sid, |s| {
                s.deleted = true;
                s.updated_at = now;
            });
        }
        Ok(())
    }

    /// Adds a subscription.
    pub fn create_subscription(&self, subscription: Subscription) {
        let body = serde_json::json!({"subscription": subscription.to_json()});
        self.state().books.write().subscriptions.insert(subscription);
        self.state().event("subscription_created", body);
    }

    /// Changes a subscription; its `updated_at` becomes now.
    pub fn update_subscription(&self, id: &str, change: impl FnOnce(&mut Subscription)) -> Result<()> {
        let now = self.now();
        let (was, s) = self
            .state()
            .books
            .write()
            .subscriptions
            .update(&id.to_owned(), |s| {
                let was = s.status.clone();
                change(s);
                s.updated_at = now;
                (was, s.clone())
            })
            .ok_or_else(|| Self::missing("subscription", id))?;
        let kind = if s.status == "cancelled" && was != "cancelled" {
            "subscription_cancelled"
        } else {
            "subscription_changed"
        };
        self.state().event(kind, serde_json::json!({"subscription": s.to_json()}));
        Ok(())
    }

    /// Adds an invoice.
    pub fn create_invoice(&self, invoice: Invoice) {
        let body = serde_json::json!({"invoice": invoice.to_json()});
        self.state().books.write().invoices.insert(invoice);
        self.state().event("invoice_generated", body);
    }

    /// Changes an invoice; its `updated_at` becomes now.
    pub fn update_invoice(&self, id: &str, change: impl FnOnce(&mut Invoice)) -> Result<()> {
        let now = self.now();
        let i = self
            .state()
            .books
            .write()
            .invoices
            .update(&id.to_owned(), |i| {
                change(i);
                i.updated_at = now;
                i.clone()
            })
            .ok_or_else(|| Self::missing("invoice", id))?;
        let kind = if i.deleted { "invoice_deleted" } else { "invoice_updated" };
        self.state().event(kind, serde_json::json!({"invoice": i.to_json()}));
        Ok(())
    }

    /// Deletes an invoice (kept, flagged `deleted`).
    pub fn delete_invoice(&self, id: &str) -> Result<()> {
        self.update_invoice(id, |i| i.deleted = true)
    }

    /// A copy of the data as it is now, deleted records included (flagged).
    pub fn snapshot(&self) -> ChargebeeData {
        let books = self.state().books.read();
        ChargebeeData {
            customers: books.customers.rows().to_vec(),
            subscriptions: books.subscriptions.rows().to_vec(),
            invoices: books.invoices.rows().to_vec(),
            coupons: books.coupons.rows().to_vec(),
        }
    }
}
