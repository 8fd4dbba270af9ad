//! The Zuora Billing emulator: `POST /oauth/token` (client credentials, form-encoded; bearer
//! tokens that expire after `expires_in`), and ZOQL over REST, `POST /v1/action/query`
//! (`{"queryString": "...", "conf": {"batchSize": n}}`) and `POST /v1/action/queryMore`
//! (`{"queryLocator": "..."}`), answering `{"records": [...], "size": <rows of the query>,
//! "done": bool, "queryLocator": "..."}` with up to `batchSize` rows a call (1–2,000, 2,000 by
//! default). The queries parse as Zuora's do (see `zoql`); objects `Account` (with the custom
//! field `AccountId__c`), `Subscription`, `RatePlan`, `RatePlanCharge`, `Invoice`,
//! `InvoiceItem`. `PUT /v1/accounts/{account-key}` changes an account's `name` and
//! `AccountId__c` and answers `{"success": true}` without the account; an unknown field or key
//! is refused with HTTP 200 and `{"success": false, "reasons": [{"code", "message"}]}`, the
//! shape of Zuora's newer calls. `GET /v1/describe[/{Object}]` and the data-source exports
//! (`POST /v1/object/export`, its job, its CSV file) serve what Singer's tap-zuora reads (see
//! `export`). A query's refusal is Zuora's body `{"Errors": [{"Code", "Message"}], "Success":
//! false}`; a missing, unknown or expired token is 401 `{"message": "Authentication error"}`.
//!
//! Limits: requests per minute per tenant (`RateLimit-Limit`, `-Remaining`, `-Reset` in
//! seconds), and at most `concurrent` queries in flight; beyond either, 429 with
//! `REQUEST_EXCEEDED_LIMIT`. Cancellations are status changes: an account's `Status` becomes
//! `Canceled` (and its live subscriptions `Cancelled`), a subscription's `Cancelled`, an
//! invoice's `Canceled`. A change to a subscription's charges touches the subscription's
//! `UpdatedDate` too (the emulator does not model Zuora's subscription versions: a change is
//! made in place, a mid-cycle price change as a new charge segment).

mod export;
pub mod model;
mod routes;
pub mod seed;
#[cfg(test)]
mod tests;
pub mod zoql;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::emulator::Running;
use crate::emulator::auth::Tokens;
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::store::{Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{Account, Invoice, InvoiceItem, RatePlan, RatePlanCharge, Subscription, ZuoraData, zuora_id};

/// How the Zuora emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests per `window` (API class).
    pub per_window: u32,
    pub window: Duration,
    /// Queries in flight at once.
    pub concurrent: usize,
    /// Enforce the limits (counting happens either way).
    pub rate_limited: bool,
    /// How long an access token lives.
    pub token_lifetime: chrono::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            per_window: 1_000,
            window: Duration::from_secs(60),
            concurrent: 20,
            rate_limited: true,
            token_lifetime: chrono::Duration::seconds(3_599),
        }
    }
}

/// The OAuth client of the tenant's API user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

record!(Account, Subscription, RatePlan, RatePlanCharge, Invoice, InvoiceItem => String, |r| created: at(r.created), updated: at(r.updated));

/// The tenant's records, behind one lock, with the parent indexes `where <parent> = ... or`
/// queries use (no query scans a child object for its parent's rows).
#[derive(Debug, Default)]
pub(crate) struct Books {
    pub(crate) accounts: Store<Account>,
    pub(crate) subscriptions: Store<Subscription>,
    pub(crate) rate_plans: Store<RatePlan>,
    pub(crate) charges: Store<RatePlanCharge>,
    pub(crate) invoices: Store<Invoice>,
    pub(crate) invoice_items: Store<InvoiceItem>,
    /// Subscription id → its rate plans' ids.
    pub(crate) plans_of: HashMap<String, Vec<String>>,
    /// Rate plan id → its charges' ids.
    pub(crate) charges_of: HashMap<String, Vec<String>>,
    /// Invoice id → its items' ids.
    pub(crate) items_of: HashMap<String, Vec<String>>,
}

impl Books {
    fn add_plan(&mut self, p: RatePlan) {
        self.plans_of.entry(p.subscription_id.clone()).or_default().push(p.id.clone());
        self.rate_plans.insert(p);
    }

    fn add_charge(&mut self, c: RatePlanCharge) {
        self.charges_of.entry(c.rate_plan_id.clone()).or_default().push(c.id.clone());
        self.charges.insert(c);
    }

    fn add_item(&mut self, i: InvoiceItem) {
        self.items_of.entry(i.invoice_id.clone()).or_default().push(i.id.clone());
        self.invoice_items.insert(i);
    }

    /// The subscription a charge belongs to.
    fn subscription_of_charge(&self, charge: &str) -> Option<String> {
        let plan = &self.charges.get(&charge.to_owned())?.rate_plan_id;
        Some(self.rate_plans.get(plan)?.subscription_id.clone())
    }
}

/// A query being read: its rows' ids, taken when it ran, and how far `queryMore` got.
#[derive(Debug, Clone)]
pub(crate) struct Cursor {
    pub(crate) query: zoql::Query,
    pub(crate) ids: Arc<Vec<String>>,
    pub(crate) next: usize,
    pub(crate) batch: usize,
}

#[derive(Debug)]
pub struct State {
    pub(crate) books: Shared<Books>,
    /// `queryLocator` → the query it continues.
    pub(crate) cursors: std::sync::Mutex<HashMap<String, Cursor>>,
    pub(crate) in_flight: AtomicUsize,
    /// Data-source exports and their files (`export`).
    pub(crate) exports: std::sync::Mutex<export::Exports>,
    pub(crate) tokens: Tokens,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
}

/// A running Zuora emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: ZuoraData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let mut books = Books {
            accounts: data.accounts.into_iter().collect(),
            subscriptions: data.subscriptions.into_iter().collect(),
            invoices: data.invoices.into_iter().collect(),
            ..Books::default()
        };
        for p in data.rate_plans {
            books.add_plan(p);
        }
        for c in data.charges {
            books.add_charge(c);
        }
        for i in data.invoice_items {
            books.add_item(i);
        }
        let state = Arc::new(State {
            books: Shared::new(books),
            cursors: Default::default(),
            in_flight: AtomicUsize::new(0),
            exports: Default::default(),
            tokens: Tokens::client_credentials(options.token_lifetime),
            options,
            credentials: Credentials {
                client_id: "6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5".into(),
                client_secret: "z/0uRa+S3cr3t=Acc0rd".into(),
            },
            core: Core::new(clock, limiter, 1),
        });
        Running::serve("zuora", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://rest.zuora.com`.
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    /// A new id, never one the seed used.
    pub fn new_id(&self) -> String {
        zuora_id(90_000_000 + self.state().core.next_seq())
    }

    fn now(&self) -> i64 {
        self.state().core.clock.now().timestamp()
    }

    fn missing(object: &'static str, id: &str) -> Error {
        Error::NotFound { vendor: "zuora", object, id: id.to_owned() }
    }

    /// Expires every access token issued so far: the next query answers 401.
    pub fn expire_tokens(&self) {
        self.state().tokens.expire_all(self.state().core.clock.now());
    }

    /// Forgets every query locator, as Zuora does after a while: `queryMore` refuses them.
    pub fn expire_locators(&self) {
        self.state().cursors.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Changes an account (its `UpdatedDate` becomes now).
    pub fn update_account(&self, id: &str, change: impl FnOnce(&mut Account)) -> Result<()> {
        let now = self.now();
        self.state()
            .books
            .write()
            .accounts
            .update(&id.to_owned(), |a| {
                change(a);
                a.updated = now;
            })
            .ok_or_else(|| Self::missing("account", id))
    }

    /// Cancels an account: `Status = Canceled`, and its live subscriptions are cancelled today.
    pub fn cancel_account(&self, id: &str) -> Result<()> {
        let now = self.now();
        let today = self.state().core.clock.now().date_naive();
        let mut books = self.state().books.write();
        books
            .accounts
            .update(&id.to_owned(), |a| {
                a.status = "Canceled".into();
                a.updated = now;
            })
            .ok_or_else(|| Self::missing("account", id))?;
        let live: Vec<String> = books
            .subscriptions
            .rows()
            .iter()
            .filter(|s| s.account_id == id && s.status == "Active")
            .map(|s| s.id.clone())
            .collect();
        for sid in live {
            books.subscriptions.update(&sid, |s| cancel(s, today, now));
        }
        Ok(())
    }

    /// Changes a subscription (its `UpdatedDate` becomes now).
    pub fn update_subscription(&self, id: &str, change: impl FnOnce(&mut Subscription)) -> Result<()> {
        let now = self.now();
        self.state()
            .books
            .write()
            .subscriptions
            .update(&id.to_owned(), |s| {
                change(s);
                s.updated = now;
            })
            .ok_or_else(|| Self::missing("subscription", id))
    }

    /// Cancels a subscription effective `on`: `Status = Cancelled`, `CancelledDate` today.
    pub fn cancel_subscription(&self, id: &str, on: chrono::NaiveDate) -> Result<()> {
        let now = self.now();
        self.state()
            .books
            .write()
            .subscriptions
            .update(&id.to_owned(), |s| {
                cancel(s, on, now);
                s.cancelled = Some(at(now).date_naive());
            })
            .ok_or_else(|| Self::missing("subscription", id))
    }

    /// Changes a rate plan charge; it and its subscription get `UpdatedDate` now.
    pub fn update_charge(&self, id: &str, change: impl FnOnce(&mut RatePlanCharge)) -> Result<()> {
        let now = self.now();
        let mut books = self.state().books.write();
        books
            .charges
            .update(&id.to_owned(), |c| {
                change(c);
                c.updated = now;
            })
            .ok_or_else(|| Self::missing("rate plan charge", id))?;
        if let Some(sub) = books.subscription_of_charge(id) {
            books.subscriptions.update(&sub, |s| s.updated = now);
        }
        Ok(())
    }

    /// Adds a subscription with its rate plans and charges (their times as given).
    pub fn create_subscription(&self, s: Subscription, plans: Vec<RatePlan>, charges: Vec<RatePlanCharge>) {
        let mut books = self.state().books.write();
        books.subscriptions.insert(s);
        for p in plans {
            books.add_plan(p);
        }
        for c in charges {
            books.add_charge(c);
        }
    }

    /// Adds an invoice with its items (their times as given).
    pub fn create_invoice(&self, invoice: Invoice, items: Vec<InvoiceItem>) {
        let mut books = self.state().books.write();
        books.invoices.insert(invoice);
        for i in items {
            books.add_item(i);
        }
    }

    /// Changes an invoice (its `UpdatedDate` becomes now): paying, cancelling.
    pub fn update_invoice(&self, id: &str, change: impl FnOnce(&mut Invoice)) -> Result<()> {
        let now = self.now();
        self.state()
            .books
            .write()
            .invoices
            .update(&id.to_owned(), |i| {
                change(i);
                i.updated = now;
            })
            .ok_or_else(|| Self::missing("invoice", id))
    }

    /// A copy of the data as served now.
    pub fn snapshot(&self) -> ZuoraData {
        let books = self.state().books.read();
        ZuoraData {
            accounts: books.accounts.rows().to_vec(),
            subscriptions: books.subscriptions.rows().to_vec(),
            rate_plans: books.rate_plans.rows().to_vec(),
            charges: books.charges.rows().to_vec(),
            invoices: books.invoices.rows().to_vec(),
            invoice_items: books.invoice_items.rows().to_vec(),
        }
    }
}

/// Cancels `s` effective `on` at `now`.
fn cancel(s: &mut Subscription, on: chrono::NaiveDate, now: i64) {
    s.status = "Cancelled".into();
    s.end = Some(on);
    s.cancelled.get_or_insert(at(now).date_naive());
    s.auto_renew = false;
    s.updated = now;
}
