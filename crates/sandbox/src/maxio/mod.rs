//! The Maxio (Chargify) emulator: one site, as `https://{subdomain}.chargify.com` serves it.
//!
//! `GET /customers.json`, `/subscriptions.json` and `/invoices.json` (Relationship Invoicing) are
//! paged by `page` (from 1) and `per_page` (over 200 is served as 200; defaults 50, 20 and 20),
//! each ending with an empty page, with Maxio's filters: `date_field` with `start_date`/`end_date`
//! (days in the site's zone) or `start_datetime`/`end_datetime` (a time without a zone is the
//! site's), `direction`, subscriptions' `state` and `sort`, invoices' `status`,
//! `subscription_id`, `customer_ids`, `sort` and the breakdown flags (`line_items=true`, ...).
//! Customers and subscriptions are wrapped (`[{"customer": {...}}]`), invoices are
//! `{"invoices": [...]}`. Single reads: `/customers/{id}.json`, `/customers/lookup.json?reference=`,
//! `/subscriptions/{id}.json` (with `include[]=coupons`), `/invoices/{uid}.json` and
//! `/products/{id}/price_points/{id}.json` (with `currency_prices=true`).
//!
//! Auth is HTTP Basic with the site's API key as the username (the password is not checked, as
//! Maxio's convention is `x`); a wrong or missing key is Rails' `401 HTTP Basic: Access denied.`.
//! Errors are `{"errors": [...]}` with 404, 422 and, past the rate limit, 429 with `Retry-After`
//! (Maxio publishes no number: the emulator's limit is an option). `DELETE /customers/{id}.json`
//! deletes a customer without subscriptions (one with any is refused with 422), as Maxio does.
//! Mutations stamp `updated_at` with the sandbox clock and, when someone subscribed to the
//! site's webhooks, send one as Maxio does: form-encoded (`id`, `event`, `payload[...]`), signed
//! `X-Chargify-Webhook-Signature-Hmac-Sha-256` with the site's shared key (`customer_create`,
//! `customer_update`, `subscription_state_change`, `subscription_product_change`,
//! `subscription_updated`, `invoice_issued`, `invoice_updated`).

pub mod model;
mod routes;
pub mod seed;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::clock::Clock;
use crate::emulator::Running;
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::store::{Key, Results, Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{Customer, Invoice, Line, MaxioData, Product, Subscription};

/// The emulated site's subdomain.
pub const SUBDOMAIN: &str = "sandbox-accord";

/// How the Maxio emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests per `window` before a 429 (Maxio publishes no limit; this is the emulator's).
    pub requests: u32,
    pub window: Duration,
    /// Enforce the limit (counting happens either way).
    pub rate_limited: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { requests: 20, window: Duration::from_secs(1), rate_limited: true }
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

record!(Customer, Subscription, Invoice => i64, |r| created: at(r.created), updated: at(r.updated));

/// The site's objects, under one lock.
#[derive(Debug, Default)]
pub(crate) struct Books {
    pub(crate) customers: Store<Customer>,
    pub(crate) products: Vec<Product>,
    pub(crate) subscriptions: Store<Subscription>,
    pub(crate) invoices: Store<Invoice>,
}

impl Books {
    pub(crate) fn version(&self) -> u64 {
        self.customers.version() + self.subscriptions.version() + self.invoices.version()
    }

    pub(crate) fn product(&self, id: i64) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }
}

#[derive(Debug)]
pub struct State {
    pub(crate) books: Shared<Books>,
    /// The keys of a filtered, sorted list, by query and data version.
    pub(crate) hits: Results<Vec<Key<i64>>>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
}

/// A running Maxio emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: MaxioData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let books = Books {
            customers: data.customers.into_iter().collect(),
            products: data.products,
            subscriptions: data.subscriptions.into_iter().collect(),
            invoices: data.invoices.into_iter().collect(),
        };
        let state = Arc::new(State {
            books: Shared::new(books),
            hits: Results::new(32),
            options,
            credentials: Credentials { api_key: "sandbox_maxio_api_key_0000000000000000000".into() },
            core: Core::new(clock, limiter, 1),
        });
        Running::serve("maxio", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://{SUBDOMAIN}.chargify.com`.
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    fn now(&self) -> i64 {
        self.state().core.clock.now().timestamp()
    }

    /// A new id, never one the seed used.
    pub fn new_id(&self) -> i64 {
        1_000_000_000 + self.state().core.next_seq() as i64
    }

    /// Sends the site's webhook for `event` about `about` (`("customer", id)` ...).
    fn notify(&self, event: &str, about: &[(&str, String)]) {
        let core = &self.state().core;
        let id = core.webhooks.next_id();
        let mut fields = vec![
            ("id".to_owned(), id.to_string()),
            ("event".to_owned(), event.to_owned()),
            ("payload[site][id]".to_owned(), "51288".to_owned()),
            ("payload[site][subdomain]".to_owned(), SUBDOMAIN.to_owned()),
            ("payload[event_id]".to_owned(), id.to_string()),
        ];
        fields.extend(about.iter().map(|(k, v)| (format!("payload[{k}]"), v.clone())));
        core.webhooks.deliver_form(crate::emulator::webhooks::Signing::Maxio, &fields, core.clock.now(), id);
    }

    fn missing(object: &'static str, id: impl ToString) -> Error {
        Error::NotFound { vendor: "maxio", object, id: id.to_string() }
    }

    /// Changes a customer (its `updated_at` becomes now).
    pub fn update_customer(&self, id: i64, change: impl FnOnce(&mut Customer)) -> Result<()> {
        let now = self.now();
        let reference = {
            let mut books = self.state().books.write();
            books
                .customers
                .update(&id, |c| {
                    change(c);
                    c.updated = now;
                    c.reference.clone().unwrap_or_default()
                })
                .ok_or_else(|| Self::missing("customer", id))?
        };
        self.notify("customer_update", &[("customer][id", id.to_string()), ("customer][reference", reference)]);
        Ok(())
    }

    /// Deletes a customer as `DELETE /customers/{id}.json` does: only one without subscriptions.
    pub fn delete_customer(&self, id: i64) -> Result<()> {
        let mut books = self.state().books.write();
        if books.subscriptions.rows().iter().any(|s| s.customer == id) {
            return Err(Error::NotFound {
                vendor: "maxio",
                object: "customer without subscriptions",
                id: id.to_string(),
            });
        }
        books.customers.remove(&id).map(|_| ()).ok_or_else(|| Self::missing("customer", id))
    }

    /// Adds a customer.
    pub fn create_customer(&self, mut customer: Customer) {
        let now = self.now();
        customer.created = customer.created.min(now);
        customer.updated = now;
        let about = [
            ("customer][id", customer.id.to_string()),
            ("customer][reference", customer.reference.clone().unwrap_or_default()),
        ];
        self.state().books.write().customers.insert(customer);
        self.notify("customer_create", &about);
    }

    /// Changes a subscription (its `updated_at` becomes now).
    pub fn update_subscription(&self, id: i64, change: impl FnOnce(&mut Subscription)) -> Result<()> {
        let now = self.now();
        let (was, is) = {
            let mut books = self.state().books.write();
            books
                .subscriptions
                .update(&id, |s| {
                    let was = s.state.clone();
                    change(s);
                    s.updated = now;
                    (was, s.state.clone())
                })
                .ok_or_else(|| Self::missing("subscription", id))?
        };
        let event = if was == is { "subscription_updated" } else { "subscription_state_change" };
        self.notify(event, &[("subscription][id", id.to_string()), ("subscription][state", is)]);
        Ok(())
    }

    /// Moves a subscription to `product` on `day` mid-cycle, as a product change with proration
    /// does: the price changes now, and an invoice bills the rest of the period at the new price
    /// less a credit for the rest at the old one (its lines are `baseline`: the credit negative,
    /// the charge positive). Returns the invoice's uid.
    pub fn change_product(&self, id: i64, product: i64, day: NaiveDate) -> Result<String> {
        let now = self.now();
        let mut books = self.state().books.write();
        let sub = books.subscriptions.get(&id).cloned().ok_or_else(|| Self::missing("subscription", id))?;
        let old = books.product(sub.product).cloned().ok_or_else(|| Self::missing("product", sub.product))?;
        let new = books.product(product).cloned().ok_or_else(|| Self::missing("product", product))?;
        let price = new.price(sub.currency).ok_or_else(|| Self::missing("price in the currency", sub.currency))?;
        let (from, to) =
            (crate::billing::date(sub.current_period_started_at), crate::billing::date(sub.current_period_ends_at));
        let seq = self.state().core.next_seq() as i64;
        let invoice = seed::proration(
            seed::Proration {
                id: 2_000_000_000 + seq,
                customer: sub.customer,
                subscription: id,
                currency: sub.currency,
            },
            (&old, sub.price_in_cents),
            (&new, price),
            (from, day, to),
            now,
        );
        let uid = invoice.uid.clone();
        books.subscriptions.update(&id, |s| {
            s.product = product;
            s.price_in_cents = price;
            s.updated = now;
        });
        books.invoices.insert(invoice);
        drop(books);
        self.notify(
            "subscription_product_change",
            &[("subscription][id", id.to_string()), ("subscription][product][id", product.to_string())],
        );
        self.notify("invoice_issued", &[("invoice][uid", uid.clone()), ("invoice][subscription_id", id.to_string())]);
        Ok(uid)
    }

    /// Adds an invoice (its `updated_at` becomes now).
    pub fn create_invoice(&self, mut invoice: Invoice) {
        invoice.updated = self.now();
        let about =
            [("invoice][uid", invoice.uid.clone()), ("invoice][subscription_id", invoice.subscription.to_string())];
        self.state().books.write().invoices.insert(invoice);
        self.notify("invoice_issued", &about);
    }

    /// Changes an invoice (its `updated_at` becomes now).
    pub fn update_invoice(&self, id: i64, change: impl FnOnce(&mut Invoice)) -> Result<()> {
        let now = self.now();
        let uid = {
            let mut books = self.state().books.write();
            books
                .invoices
                .update(&id, |i| {
                    change(i);
                    i.updated = now;
                    i.uid.clone()
                })
                .ok_or_else(|| Self::missing("invoice", id))?
        };
        self.notify("invoice_updated", &[("invoice][uid", uid)]);
        Ok(())
    }

    /// A copy of the data as served now.
    pub fn snapshot(&self) -> MaxioData {
        let books = self.state().books.read();
        MaxioData {
            customers: books.customers.rows().to_vec(),
            products: books.products.clone(),
            subscriptions: books.subscriptions.rows().to_vec(),
            invoices: books.invoices.rows().to_vec(),
            deleted_customers: Vec::new(),
        }
    }
}

/// A line of one product for a period, at `unit` minor units.
pub(crate) fn product_line(uid: String, product: &Product, unit: i64, period: (NaiveDate, NaiveDate)) -> Line {
    Line {
        uid,
        title: product.name.clone(),
        kind: "baseline",
        quantity: 1,
        unit_price: unit,
        discount: 0,
        tax: 0,
        period: Some(period),
        product_id: Some(product.id),
        price_point_id: Some(product.price_point_id),
    }
}
