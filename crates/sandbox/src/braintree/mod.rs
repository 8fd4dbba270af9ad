//! The Braintree emulator (GraphQL API): `POST /graphql` with HTTP Basic auth (the public and
//! private API keys) and the `Braintree-Version` header Braintree requires. The query is parsed
//! with a real GraphQL parser (`apollo-compiler`); the emulator answers `search { customers }`
//! and `search { transactions }` (Relay connections with `first`/`after` and opaque cursors, the
//! `createdAt` range and `id` filters, in creation order), `ping`, and the `updateCustomer`
//! mutation's custom fields (an API name not defined in the Control Panel is refused, as
//! Braintree refuses it). Answers carry exactly the fields the query selected, under their
//! aliases. Failures are GraphQL errors (`errors` with `extensions.errorClass`): a query error
//! is a 200 with `VALIDATION`, wrong keys a 401 with `AUTHENTICATION`. Customers are
//! hard-deleted ([`Emulator::delete_customer`]): they vanish from every search.
//!
//! Beside GraphQL it serves the server API (the "XML gateway" the server SDKs call) for
//! subscriptions, in `gateway.rs`: `POST /merchants/{id}/subscriptions/advanced_search_ids` and
//! `.../advanced_search`, `GET .../plans` and `GET .../payment_methods/any/{token}`, with the
//! same Basic auth, `X-ApiVersion` required, XML answers and `<api-error-response>` refusals.
//! GraphQL's `idFromLegacyId` turns a legacy customer id into its global id.

mod gateway;
pub mod model;
mod routes;
pub mod seed;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, whole_seconds};
use crate::emulator::Running;
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::store::{Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{BraintreeData, Customer, PaymentMethod, Plan, Subscription, Transaction};

/// How the Braintree emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests per `window` (Braintree publishes no limit; the emulator enforces this one).
    pub requests: u32,
    pub window: Duration,
    pub rate_limited: bool,
    /// The largest `first` a search accepts.
    pub max_page_size: u32,
    /// The `page-size` of the server API's subscription id search (Braintree's is 50).
    pub search_page_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            requests: 50,
            window: Duration::from_secs(1),
            rate_limited: true,
            max_page_size: 50,
            search_page_size: 50,
        }
    }
}

/// The merchant's API keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub public_key: String,
    pub private_key: String,
    /// The merchant id of the server API's paths.
    pub merchant_id: String,
}

// Braintree keeps no update time on customers and transactions: their index is by creation.
record!(Customer, Transaction => String, |r| created: r.created, updated: r.created);

record!(Subscription => String, |r| created: r.created, updated: r.updated);

#[derive(Debug)]
pub struct State {
    pub(crate) customers: Shared<Store<Customer>>,
    pub(crate) transactions: Shared<Store<Transaction>>,
    pub(crate) plans: Shared<Vec<Plan>>,
    pub(crate) payment_methods: Shared<Vec<PaymentMethod>>,
    pub(crate) subscriptions: Shared<Store<Subscription>>,
    pub(crate) custom_field_names: Shared<Vec<String>>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
}

/// A running Braintree emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: BraintreeData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let state = Arc::new(State {
            customers: Shared::new(data.customers.into_iter().collect()),
            transactions: Shared::new(data.transactions.into_iter().collect()),
            plans: Shared::new(data.plans),
            payment_methods: Shared::new(data.payment_methods),
            subscriptions: Shared::new(data.subscriptions.into_iter().collect()),
            custom_field_names: Shared::new(data.custom_field_names),
            options,
            credentials: Credentials {
                public_key: "sbx0accord0public".into(),
                private_key: "sbx0accord0private0key0000000000".into(),
                merchant_id: "accord0merchant".into(),
            },
            core: Core::new(clock, limiter, 1),
        });
        Running::serve("braintree", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://payments.braintree-api.com` (the
    /// GraphQL endpoint is `/graphql` below it).
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    /// The same server standing in for the server API (`https://api.braintreegateway.com`).
    pub fn gateway_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    /// Adds a customer, created now (a legacy id and global id are minted when empty).
    pub fn add_customer(&self, mut customer: Customer) -> String {
        let s = self.state();
        customer.created = whole_seconds(s.core.clock.now());
        if customer.legacy_id.is_empty() {
            customer.legacy_id = format!("new{}", s.core.next_seq());
        }
        if customer.id.is_empty() {
            customer.id = model::global_id("customer", &customer.legacy_id);
        }
        let id = customer.id.clone();
        s.customers.write().insert(customer);
        id
    }

    /// Changes a customer. Braintree keeps no update time, so nothing says it changed.
    pub fn update_customer(&self, id: &str, change: impl FnOnce(&mut Customer)) -> Result<()> {
        self.state().customers.write().update(&id.to_owned(), change).ok_or_else(|| Error::NotFound {
            vendor: "braintree",
            object: "customer",
            id: id.to_owned(),
        })
    }

    /// Hard-deletes a customer: it is in no search any more.
    pub fn delete_customer(&self, id: &str) -> Result<Customer> {
        self.state().customers.write().remove(&id.to_owned()).ok_or_else(|| Error::NotFound {
            vendor: "braintree",
            object: "customer",
            id: id.to_owned(),
        })
    }

    /// Adds a transaction, created now.
    pub fn add_transaction(&self, mut transaction: Transaction) -> String {
        let s = self.state();
        transaction.created = whole_seconds(s.core.clock.now());
        if transaction.legacy_id.is_empty() {
            transaction.legacy_id = format!("t{:07}", s.core.next_seq());
        }
        if transaction.id.is_empty() {
            transaction.id = model::global_id("transaction", &transaction.legacy_id);
        }
        let id = transaction.id.clone();
        s.transactions.write().insert(transaction);
        id
    }

    /// Changes a transaction (its status moves on; Braintree keeps no update time either).
    pub fn update_transaction(&self, id: &str, change: impl FnOnce(&mut Transaction)) -> Result<()> {
        self.state().transactions.write().update(&id.to_owned(), change).ok_or_else(|| Error::NotFound {
            vendor: "braintree",
            object: "transaction",
            id: id.to_owned(),
        })
    }

    /// Deletes a vaulted payment method: `payment_methods/any/{token}` answers 404 from then on.
    /// (Braintree cancels its subscriptions; the caller changes them as it needs.)
    pub fn delete_payment_method(&self, token: &str) -> Result<PaymentMethod> {
        let mut methods = self.state().payment_methods.write();
        let at = methods.iter().position(|m| m.token == token).ok_or_else(|| Error::NotFound {
            vendor: "braintree",
            object: "payment method",
            id: token.to_owned(),
        })?;
        Ok(methods.remove(at))
    }

    /// Adds a subscription as given (its `created` decides its place in the search).
    pub fn add_subscription(&self, subscription: Subscription) {
        self.state().subscriptions.write().insert(subscription);
    }

    /// Changes a subscription (a cancellation, a new price), stamping its update time; a new
    /// status is added to its status history.
    pub fn update_subscription(&self, id: &str, change: impl FnOnce(&mut Subscription)) -> Result<()> {
        let s = self.state();
        let now = whole_seconds(s.core.clock.now());
        s.subscriptions
            .write()
            .update(&id.to_owned(), |sub| {
                let before = sub.status.clone();
                change(sub);
                sub.updated = now;
                if sub.status != before {
                    sub.status_history.push((now, sub.status.clone()));
                }
            })
            .ok_or_else(|| Error::NotFound { vendor: "braintree", object: "subscription", id: id.to_owned() })
    }

    /// A copy of the data as served now.
    pub fn snapshot(&self) -> BraintreeData {
        let s = self.state();
        BraintreeData {
            customers: s.customers.read().rows().to_vec(),
            transactions: s.transactions.read().rows().to_vec(),
            plans: s.plans.read().clone(),
            payment_methods: s.payment_methods.read().clone(),
            subscriptions: s.subscriptions.read().rows().to_vec(),
            custom_field_names: s.custom_field_names.read().clone(),
        }
    }
}
