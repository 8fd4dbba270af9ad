//! The Xero emulator (Accounting API 2.0): `/connections` (the organisations the token reaches),
//! the token endpoint's refresh grant with refresh tokens that rotate, and
//! `/api.xro/2.0/Contacts|Invoices|Payments|RepeatingInvoices` with `page`/`pageSize`,
//! `If-Modified-Since`, `includeArchived`, `where` (the type filters accord sends), the
//! `xero-tenant-id` check, Microsoft JSON dates and exact amounts; `/Currencies` (the
//! currencies of the books, which clients read to check their access); `GET` and `POST
//! /api.xro/2.0/Contacts/{ContactID}` read and update one contact (an `AccountNumber` another
//! contact has is refused with Xero's 400 `ValidationException`). Limits per tenant: calls a
//! minute (60) and a day (5,000, configurable so a test can spend it), with
//! `X-MinLimit-Remaining` / `X-DayLimit-Remaining` / `X-AppMinLimit-Remaining` on every answer
//! and a 429 with `X-Rate-Limit-Problem` (`minute` or `day`) and `Retry-After`. Nothing is
//! deleted: contacts are archived, invoices voided or deleted, payments deleted.

pub mod model;
mod routes;
pub mod seed;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, whole_seconds};
use crate::emulator::Running;
use crate::emulator::auth::{Refresh, Tokens};
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::store::{Results, Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{Contact, Invoice, Payment, RepeatingInvoice, XeroData};

/// The organisation's tenant id (a uuid, as Xero's are).
pub const TENANT_ID: &str = "a3a5c1f0-7d41-4b8e-9a21-5c0de0acc0de";
/// Another organisation the same authorization reaches in tests of tenant selection.
pub const OTHER_TENANT_ID: &str = "b7e2d9a4-1c3f-4e55-8f60-0ther0rg0001";

/// How the Xero emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Calls per `window` per tenant (Xero: 60 a minute).
    pub per_minute: u32,
    pub window: Duration,
    /// Enforce the minute limit (counting happens either way).
    pub rate_limited: bool,
    /// Calls a day per tenant (Xero: 5,000); always enforced, so a test can spend it.
    pub per_day: u32,
    /// How long an access token lives (Xero: 30 minutes).
    pub token_lifetime: chrono::Duration,
    /// Serve a second organisation in `/connections` (a connector must then be told which).
    pub two_tenants: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            per_minute: 60,
            window: Duration::from_secs(60),
            rate_limited: true,
            per_day: 5_000,
            token_lifetime: chrono::Duration::minutes(30),
            two_tenants: false,
        }
    }
}

/// The app's OAuth2 client and the refresh token valid now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
}

// Xero records carry an update time only (`UpdatedDateUTC`).
record!(Contact, Invoice, Payment, RepeatingInvoice => String, |r| created: r.updated, updated: r.updated);

/// The day's budget of the tenant: calls used since the day opened.
#[derive(Debug)]
pub(crate) struct Day {
    pub used: AtomicU32,
    /// When the current day's window closes (sandbox clock).
    pub resets_at: Mutex<DateTime<Utc>>,
}

#[derive(Debug)]
pub struct State {
    pub(crate) contacts: Shared<Store<Contact>>,
    pub(crate) invoices: Shared<Store<Invoice>>,
    pub(crate) payments: Shared<Store<Payment>>,
    pub(crate) repeating: Shared<Store<RepeatingInvoice>>,
    /// Ids (in `(updated, id)` order) matching a list's filters, by query and data version.
    pub(crate) contact_hits: Results<Vec<String>>,
    pub(crate) invoice_hits: Results<Vec<String>>,
    pub(crate) payment_hits: Results<Vec<String>>,
    pub(crate) tokens: Tokens,
    pub(crate) latest_refresh: Mutex<String>,
    pub(crate) day: Day,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
}

/// A running Xero emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: XeroData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let credentials = Credentials {
            client_id: "SBXXEROCLIENT0ACCORD0000000000AA".into(),
            client_secret: "sbx-xero-secret-0accord".into(),
            refresh_token: "xero-rt-0001-sandbox".into(),
        };
        let resets_at = clock.now() + chrono::Duration::days(1);
        let state = Arc::new(State {
            contacts: Shared::new(data.contacts.into_iter().collect()),
            invoices: Shared::new(data.invoices.into_iter().collect()),
            payments: Shared::new(data.payments.into_iter().collect()),
            repeating: Shared::new(data.repeating_invoices.into_iter().collect()),
            contact_hits: Results::new(16),
            invoice_hits: Results::new(16),
            payment_hits: Results::new(16),
            tokens: Tokens::new(options.token_lifetime, Refresh::Rotating, &credentials.refresh_token),
            latest_refresh: Mutex::new(credentials.refresh_token.clone()),
            day: Day { used: AtomicU32::new(0), resets_at: Mutex::new(resets_at) },
            options,
            credentials,
            core: Core::new(clock, limiter, 2),
        });
        Running::serve("xero", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://api.xero.com`.
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    /// Standing in for `https://identity.xero.com/connect/token`.
    pub fn token_url(&self) -> String {
        format!("{}/connect/token", self.root_url())
    }

    /// The client's credentials with the refresh token valid now.
    pub fn credentials(&self) -> Credentials {
        let latest = self.state().latest_refresh.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Credentials { refresh_token: latest, ..self.state().credentials.clone() }
    }

    pub fn refresh_token_valid(&self, refresh_token: &str) -> bool {
        self.state().tokens.refresh_valid(refresh_token)
    }

    /// Expires every access token issued so far.
    pub fn expire_access_tokens(&self) {
        self.state().tokens.expire_all(self.state().core.clock.now());
    }

    /// Calls the tenant has made today.
    pub fn day_used(&self) -> u32 {
        self.state().day.used.load(Ordering::SeqCst)
    }

    /// Sets what is left of today's budget (a test spends it without making the calls).
    pub fn set_day_remaining(&self, remaining: u32) {
        let per_day = self.state().options.per_day;
        self.state().day.used.store(per_day.saturating_sub(remaining), Ordering::SeqCst);
    }

    /// Opens a new day: the whole budget again, closing a day from now.
    pub fn reset_day(&self) {
        let s = self.state();
        s.day.used.store(0, Ordering::SeqCst);
        *s.day.resets_at.lock().unwrap_or_else(|e| e.into_inner()) = s.core.clock.now() + chrono::Duration::days(1);
    }

    /// Changes a contact and stamps its `UpdatedDateUTC` now.
    pub fn update_contact(&self, id: &str, change: impl FnOnce(&mut Contact)) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        self.state()
            .contacts
            .write()
            .update(&id.to_owned(), |c| {
                change(c);
                c.updated = now;
            })
            .ok_or_else(|| Error::NotFound { vendor: "xero", object: "contact", id: id.to_owned() })
    }

    /// Archives a contact (Xero never deletes one).
    pub fn archive_contact(&self, id: &str) -> Result<()> {
        self.update_contact(id, |c| c.status = "ARCHIVED".into())
    }

    /// Changes an invoice and stamps its `UpdatedDateUTC` now.
    pub fn update_invoice(&self, id: &str, change: impl FnOnce(&mut Invoice)) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        self.state()
            .invoices
            .write()
            .update(&id.to_owned(), |i| {
                change(i);
                i.updated = now;
            })
            .ok_or_else(|| Error::NotFound { vendor: "xero", object: "invoice", id: id.to_owned() })
    }

    /// Changes a payment and stamps its `UpdatedDateUTC` now.
    pub fn update_payment(&self, id: &str, change: impl FnOnce(&mut Payment)) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        self.state()
            .payments
            .write()
            .update(&id.to_owned(), |p| {
                change(p);
                p.updated = now;
            })
            .ok_or_else(|| Error::NotFound { vendor: "xero", object: "payment", id: id.to_owned() })
    }

    /// Changes a repeating invoice (Xero keeps no update time on one).
    pub fn update_repeating_invoice(&self, id: &str, change: impl FnOnce(&mut RepeatingInvoice)) -> Result<()> {
        self.state().repeating.write().update(&id.to_owned(), change).ok_or_else(|| Error::NotFound {
            vendor: "xero",
            object: "repeating invoice",
            id: id.to_owned(),
        })
    }

    /// Adds a contact, stamped now.
    pub fn add_contact(&self, mut contact: Contact) {
        contact.updated = whole_seconds(self.state().core.clock.now());
        self.state().contacts.write().insert(contact);
    }

    /// A copy of the data as served now.
    pub fn snapshot(&self) -> XeroData {
        let s = self.state();
        XeroData {
            contacts: s.contacts.read().rows().to_vec(),
            invoices: s.invoices.read().rows().to_vec(),
            payments: s.payments.read().rows().to_vec(),
            repeating_invoices: s.repeating.read().rows().to_vec(),
        }
    }
}
