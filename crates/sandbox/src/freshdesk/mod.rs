//! The Freshdesk (API v2) emulator: companies, contacts and tickets as bare JSON arrays paged by
//! `page`/`per_page` with `Link` headers, `updated_since` / `_updated_since`, the 30-day window of
//! a ticket list without `updated_since`, soft-deleted contacts and tickets behind `state=deleted`
//! and `filter=deleted`, Basic auth with the API key, and the per-minute limit with
//! `X-RateLimit-Total/Remaining/Used-CurrentRequest` and `Retry-After` on 429.

pub mod model;
mod routes;
// `seed.rs` (the generator's Freshdesk records) is a module of `crate::generate`.
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, whole_seconds};
use crate::emulator::Running;
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::store::{Key, Record, Results, Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{Company, Contact, FreshdeskData, Ticket};

/// How the Freshdesk emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The plan's API requests per `window` (Pro: 400 a minute).
    pub per_minute: u32,
    pub window: Duration,
    /// Enforce the limit (counting happens either way).
    pub rate_limited: bool,
    /// What a ticket list without `updated_since` reaches back (Freshdesk: 30 days).
    pub default_ticket_window: chrono::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            per_minute: 400,
            window: Duration::from_secs(60),
            rate_limited: true,
            default_ticket_window: chrono::Duration::days(30),
        }
    }
}

/// The agent's API key (sent as the Basic user, with any password; `X` by convention).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub api_key: String,
}

/// The account's records, indexed. Soft-deleted contacts and tickets live in their own stores,
/// so the live lists and the deleted lists are both slices of an index.
#[derive(Debug, Default)]
pub struct Stores {
    pub companies: Store<Company>,
    pub contacts: Store<Contact>,
    pub deleted_contacts: Store<Contact>,
    pub tickets: Store<Ticket>,
    pub deleted_tickets: Store<Ticket>,
}

impl From<FreshdeskData> for Stores {
    fn from(data: FreshdeskData) -> Self {
        let (gone, live): (Vec<Contact>, Vec<Contact>) = data.contacts.into_iter().partition(|c| c.deleted);
        let (trash, open): (Vec<Ticket>, Vec<Ticket>) = data.tickets.into_iter().partition(|t| t.deleted);
        Self {
            companies: data.companies.into_iter().collect(),
            contacts: live.into_iter().collect(),
            deleted_contacts: gone.into_iter().collect(),
            tickets: open.into_iter().collect(),
            deleted_tickets: trash.into_iter().collect(),
        }
    }
}

impl Stores {
    fn snapshot(&self) -> FreshdeskData {
        let mut contacts: Vec<Contact> =
            self.contacts.rows().iter().chain(self.deleted_contacts.rows()).cloned().collect();
        contacts.sort_by_key(|c| c.id);
        let mut tickets: Vec<Ticket> = self.tickets.rows().iter().chain(self.deleted_tickets.rows()).cloned().collect();
        tickets.sort_by_key(|t| t.id);
        FreshdeskData { companies: self.companies.rows().to_vec(), contacts, tickets }
    }
}

#[derive(Debug)]
pub struct State {
    pub(crate) data: Shared<Stores>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
    /// Ticket lists no index serves in order (another `order_by`), by query and data version.
    pub(crate) lists: Results<Vec<Key<u64>>>,
}

/// The records of one resource, for the generic mutation methods.
pub trait Resource: Record<Id = u64> {
    const NAME: &'static str;
    fn set_id(&mut self, id: u64);
    fn stamp(&mut self, created: Option<DateTime<Utc>>, updated: DateTime<Utc>);
    fn store_mut(data: &mut Stores) -> &mut Store<Self>;
}

macro_rules! resource {
    ($t:ty, $name:literal, $field:ident) => {
        record!($t => u64, |r| created: r.created_at, updated: r.updated_at);
        impl Resource for $t {
            const NAME: &'static str = $name;
            fn set_id(&mut self, id: u64) {
                self.id = id;
            }
            fn stamp(&mut self, created: Option<DateTime<Utc>>, updated: DateTime<Utc>) {
                if let Some(c) = created {
                    self.created_at = c;
                }
                self.updated_at = updated;
            }
            fn store_mut(data: &mut Stores) -> &mut Store<Self> {
                &mut data.$field
            }
        }
    };
}
resource!(Company, "companies", companies);
resource!(Contact, "contacts", contacts);
resource!(Ticket, "tickets", tickets);

/// A running Freshdesk emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: FreshdeskData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let state = Arc::new(State {
            data: Shared::new(data.into()),
            options,
            credentials: Credentials { api_key: "sandboxFreshdeskApiKey0123456789".into() },
            core: Core::new(clock, limiter, 1),
            lists: Results::new(16),
        });
        Running::serve("freshdesk", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://{domain}.freshdesk.com`.
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    /// Adds a live record created and updated now; an id of 0 gets the next free one. Returns it.
    pub fn insert<R: Resource>(&self, mut record: R) -> u64 {
        let now = whole_seconds(self.state().core.clock.now());
        let mut data = self.state().data.write();
        let store = R::store_mut(&mut data);
        if *record.id() == 0 {
            record.set_id(store.rows().last().map_or(0, |r| *r.id()) + 1_000_000);
        }
        record.stamp(Some(now), now);
        let id = *record.id();
        store.insert(record);
        drop(data);
        self.notify(R::NAME, id, "created");
        id
    }

    /// An automation rule's webhook (`{"freshdesk_webhook": {...}}`, the placeholders its author
    /// chose) naming the changed record, when a client subscribed.
    fn notify(&self, object: &str, id: u64, change: &str) {
        let singular = object.trim_end_matches('s');
        let body = serde_json::json!({
            "freshdesk_webhook": {
                "triggered_event": format!("{singular}_{change}"),
                format!("{singular}_id"): id,
            }
        });
        let core = &self.state().core;
        core.webhooks.deliver(crate::emulator::webhooks::Signing::Freshdesk, &body, core.clock.now());
    }

    /// Changes a live record and stamps its `updated_at` now.
    pub fn update<R: Resource>(&self, id: u64, change: impl FnOnce(&mut R)) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        let mut data = self.state().data.write();
        R::store_mut(&mut data)
            .update(&id, |r| {
                change(r);
                r.stamp(None, now);
            })
            .ok_or_else(|| Error::NotFound { vendor: "freshdesk", object: R::NAME, id: id.to_string() })?;
        drop(data);
        self.notify(R::NAME, id, "updated");
        Ok(())
    }

    /// Soft-deletes a contact (`DELETE /api/v2/contacts/{id}`): it leaves the list and appears
    /// with `state=deleted`, `deleted: true`, updated now.
    pub fn delete_contact(&self, id: u64) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        let mut data = self.state().data.write();
        let mut c = data.contacts.remove(&id).ok_or(Error::NotFound {
            vendor: "freshdesk",
            object: "contacts",
            id: id.to_string(),
        })?;
        c.deleted = true;
        c.updated_at = now;
        data.deleted_contacts.insert(c);
        Ok(())
    }

    /// Deletes a ticket to the trash (`DELETE /api/v2/tickets/{id}`): it leaves the lists and
    /// appears with `filter=deleted`, `deleted: true`, updated now.
    pub fn delete_ticket(&self, id: u64) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        let mut data = self.state().data.write();
        let mut t = data.tickets.remove(&id).ok_or(Error::NotFound {
            vendor: "freshdesk",
            object: "tickets",
            id: id.to_string(),
        })?;
        t.deleted = true;
        t.updated_at = now;
        data.deleted_tickets.insert(t);
        Ok(())
    }

    /// Deletes a company for good (`DELETE /api/v2/companies/{id}`): it simply stops appearing.
    pub fn delete_company(&self, id: u64) -> Result<()> {
        let mut data = self.state().data.write();
        data.companies.remove(&id).map(drop).ok_or(Error::NotFound {
            vendor: "freshdesk",
            object: "companies",
            id: id.to_string(),
        })
    }

    /// A copy of the data as served now, deleted contacts and tickets included.
    pub fn snapshot(&self) -> FreshdeskData {
        self.state().data.read().snapshot()
    }
}
