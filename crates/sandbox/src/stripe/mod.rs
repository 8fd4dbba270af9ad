//! The Stripe emulator: customers, subscriptions, invoices and events listed newest first with
//! `limit` (1–100, default 10), `starting_after`/`ending_before` object ids and `created[gt|gte|
//! lt|lte]`, each answer `{object: "list", data, has_more, url}`; `GET /v1/customers/{id}` (a
//! deleted customer answers `{id, object, deleted: true}`), `/v1/subscriptions/{id}`,
//! `/v1/invoices/{id}`, and the account itself (`/v1/account`, `/v1/accounts/{id}`). Subscriptions default to every status but `canceled` (`status=all` lists
//! them all); events filter by `type` (with a `*` wildcard) or `types[]` and are kept 30 days.
//! Auth is the secret key as the Basic username or a Bearer token; test-mode keys get Stripe's
//! sandbox limit (25 requests a second) and a 429 beyond it. The `Stripe-Version` header chooses
//! the answer's shape ([`model::Shape`]). Mutations record the events Stripe would send:
//! `customer.updated`/`customer.deleted` (a deleted customer leaves the lists and its live
//! subscriptions are canceled), `customer.subscription.created/updated/deleted`, `invoice.*`.

pub mod model;
mod routes;
pub mod seed;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::emulator::Running;
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::store::{Key, Results, Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{Customer, Event, Invoice, Snapshot, StripeData, Subscription, stripe_id};

/// The emulated account's id (`GET /v1/account`).
pub const ACCOUNT_ID: &str = "acct_1SandboxAccord0000";

/// The customer metadata key that holds our account id.
pub const ACCOUNT_ID_KEY: &str = "account_id";

/// How long Stripe keeps events.
pub const EVENT_RETENTION_DAYS: i64 = 30;

/// How the Stripe emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests per `window` (Stripe: 25 a second in test mode, 100 in live mode).
    pub per_second: u32,
    pub window: Duration,
    /// Enforce the limit (counting happens either way).
    pub rate_limited: bool,
    /// The account's API version, used when a request sends no `Stripe-Version`.
    pub default_version: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            per_second: 25,
            window: Duration::from_secs(1),
            rate_limited: true,
            default_version: model::LEGACY.to_owned(),
        }
    }
}

/// The account's secret API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub secret_key: String,
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

// Stripe objects have no update time: lists order by creation only.
record!(Customer, Subscription, Invoice, Event => String, |r| created: at(r.created), updated: at(r.created));

/// The account's objects; one lock, so a change and its event are seen together.
#[derive(Debug, Default)]
pub(crate) struct Books {
    pub(crate) customers: Store<Customer>,
    /// Deleted customers' ids and creation times: `GET /v1/customers/{id}` still answers for
    /// them, and a page anchored on one still resumes where it was.
    pub(crate) deleted: HashMap<String, i64>,
    pub(crate) subscriptions: Store<Subscription>,
    pub(crate) invoices: Store<Invoice>,
    pub(crate) events: Store<Event>,
}

impl Books {
    /// A version number that changes with every mutation of any list (the key of cached hits).
    pub(crate) fn version(&self) -> u64 {
        self.customers.version() + self.subscriptions.version() + self.invoices.version() + self.events.version()
    }
}

#[derive(Debug)]
pub struct State {
    pub(crate) books: Shared<Books>,
    /// The `(created, id)` keys of a filtered list, by filter and data version.
    pub(crate) hits: Results<Vec<Key<String>>>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
    /// Answers to writes by `Idempotency-Key`.
    pub(crate) idempotent: std::sync::Mutex<HashMap<String, Idempotent>>,
}

/// A write made with an `Idempotency-Key`: the parameters it was sent with, and its answer.
pub(crate) type Idempotent = (Vec<(String, String)>, serde_json::Value);

impl State {
    /// Records an event, and sends it to the webhook endpoint (as `/v1/events` serves it, in the
    /// account's pinned shape).
    pub(crate) fn event(&self, books: &mut Books, kind: &str, object: Snapshot) {
        let event = Event {
            id: stripe_id("evt", self.core.next_seq()),
            created: self.core.clock.now().timestamp(),
            kind: kind.to_owned(),
            object,
        };
        let body = event.to_json(model::Shape::Basil);
        books.events.insert(event);
        self.core.webhooks.deliver(crate::emulator::webhooks::Signing::Stripe, &body, self.core.clock.now());
    }
}

/// A running Stripe emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: StripeData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let books = Books {
            customers: data.customers.into_iter().collect(),
            deleted: HashMap::new(),
            subscriptions: data.subscriptions.into_iter().collect(),
            invoices: data.invoices.into_iter().collect(),
            events: data.events.into_iter().collect(),
        };
        let state = Arc::new(State {
            books: Shared::new(books),
            hits: Results::new(32),
            options,
            credentials: Credentials { secret_key: "sk_test_51SandboxAccord0000000000000000".into() },
            core: Core::new(clock, limiter, 1),
            idempotent: Default::default(),
        });
        Running::serve("stripe", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://api.stripe.com` (paths are `/v1/...`).
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    /// A new id with `prefix` (`sub`, `in`, ...), never one the seed used.
    pub fn new_id(&self, prefix: &str) -> String {
        stripe_id(prefix, 1_000_000_000_000 + self.state().core.next_seq())
    }

    fn now(&self) -> i64 {
        self.state().core.clock.now().timestamp()
    }

    fn event(&self, books: &mut Books, kind: &str, object: Snapshot) {
        self.state().event(books, kind, object);
    }

    fn missing(object: &'static str, id: &str) -> Error {
        Error::NotFound { vendor: "stripe", object, id: id.to_owned() }
    }

    /// Changes a customer and records `customer.updated`.
    pub fn update_customer(&self, id: &str, change: impl FnOnce(&mut Customer)) -> Result<()> {
        let mut books = self.state().books.write();
        let c = books.customers.update(&id.to_owned(), |c| {
            change(c);
            c.clone()
        });
        let c = c.ok_or_else(|| Self::missing("customer", id))?;
        self.event(&mut books, "customer.updated", Snapshot::Customer(c));
        Ok(())
    }

    /// Deletes a customer as `DELETE /v1/customers/{id}` does: it leaves the lists, its live
    /// subscriptions are canceled now (`customer.subscription.deleted`), and `customer.deleted`
    /// is recorded.
    pub fn delete_customer(&self, id: &str) -> Result<()> {
        let now = self.now();
        let mut books = self.state().books.write();
        let c = books.customers.remove(&id.to_owned()).ok_or_else(|| Self::missing("customer", id))?;
        books.deleted.insert(c.id.clone(), c.created);
        let live: Vec<String> = books
            .subscriptions
            .rows()
            .iter()
            .filter(|s| s.customer == c.id && s.status != "canceled")
            .map(|s| s.id.clone())
            .collect();
        for sid in live {
            let canceled = books.subscriptions.update(&sid, |s| {
                s.status = "canceled".into();
                s.canceled_at = Some(now);
                s.ended_at = Some(now);
                s.clone()
            });
            if let Some(s) = canceled {
                self.event(&mut books, "customer.subscription.deleted", Snapshot::Subscription(s));
            }
        }
        self.event(&mut books, "customer.deleted", Snapshot::Customer(c));
        Ok(())
    }

    /// Adds a subscription and records `customer.subscription.created`.
    pub fn create_subscription(&self, subscription: Subscription) {
        let mut books = self.state().books.write();
        books.subscriptions.insert(subscription.clone());
        self.event(&mut books, "customer.subscription.created", Snapshot::Subscription(subscription));
    }

    /// Changes a subscription and records `customer.subscription.updated`, or
    /// `customer.subscription.deleted` when the change cancels it.
    pub fn update_subscription(&self, id: &str, change: impl FnOnce(&mut Subscription)) -> Result<()> {
        let mut books = self.state().books.write();
        let s = books.subscriptions.update(&id.to_owned(), |s| {
            let was = s.status.clone();
            change(s);
            (was, s.clone())
        });
        let (was, s) = s.ok_or_else(|| Self::missing("subscription", id))?;
        let kind = if s.status == "canceled" && was != "canceled" {
            "customer.subscription.deleted"
        } else {
            "customer.subscription.updated"
        };
        self.event(&mut books, kind, Snapshot::Subscription(s));
        Ok(())
    }

    /// Adds an invoice and records `invoice.created` (and `invoice.paid` when it is paid).
    pub fn create_invoice(&self, invoice: Invoice) {
        let mut books = self.state().books.write();
        books.invoices.insert(invoice.clone());
        let paid = invoice.status == "paid";
        self.event(&mut books, "invoice.created", Snapshot::Invoice(invoice.clone()));
        if paid {
            self.event(&mut books, "invoice.paid", Snapshot::Invoice(invoice));
        }
    }

    /// Changes an invoice and records `invoice.paid`, `invoice.voided` or `invoice.updated`.
    pub fn update_invoice(&self, id: &str, change: impl FnOnce(&mut Invoice)) -> Result<()> {
        let mut books = self.state().books.write();
        let i = books.invoices.update(&id.to_owned(), |i| {
            let was = i.status.clone();
            change(i);
            (was, i.clone())
        });
        let (was, i) = i.ok_or_else(|| Self::missing("invoice", id))?;
        let kind = match i.status.as_str() {
            "paid" if was != "paid" => "invoice.paid",
            "void" if was != "void" => "invoice.voided",
            _ => "invoice.updated",
        };
        self.event(&mut books, kind, Snapshot::Invoice(i));
        Ok(())
    }

    /// A copy of the data as served now (deleted customers left out).
    pub fn snapshot(&self) -> StripeData {
        let books = self.state().books.read();
        StripeData {
            customers: books.customers.rows().to_vec(),
            subscriptions: books.subscriptions.rows().to_vec(),
            invoices: books.invoices.rows().to_vec(),
            events: books.events.rows().to_vec(),
        }
    }
}
