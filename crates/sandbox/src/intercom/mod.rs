//! The Intercom emulator (API version 2.14): companies (list and scroll), contacts and
//! conversations (cursor lists and search), Bearer auth, and limits enforced in 10-second slices.

pub mod model;
mod routes;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, whole_seconds};
use crate::emulator::Running;
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::store::{Key, Record, Results, Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{Company, Contact, Conversation, IntercomData, object_id};

/// How the Intercom emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests per minute for the app (Intercom's default: 10,000), enforced per `slice` as
    /// `ceil(per_minute × slice / 60 s)`.
    pub per_minute: u32,
    pub slice: Duration,
    /// Enforce the limit (counting happens either way).
    pub rate_limited: bool,
    /// Companies per `/companies/scroll` page.
    pub scroll_page_size: usize,
    /// The most companies a `/companies` list page serves, whatever `per_page` asks. The spec
    /// sets no maximum (so `None`, the default, serves what is asked); a server that pages by
    /// fewer than asked is still within the spec, and `pages.total_pages` says so.
    pub company_page_cap: Option<usize>,
    /// An unused scroll expires after this long (Intercom: one minute).
    pub scroll_expiry: chrono::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            per_minute: 10_000,
            slice: Duration::from_secs(10),
            rate_limited: true,
            scroll_page_size: 50,
            company_page_cap: None,
            scroll_expiry: chrono::Duration::minutes(1),
        }
    }
}

impl Options {
    /// The limit of one slice, as `X-RateLimit-Limit` reports it.
    pub fn slice_limit(&self) -> u32 {
        let per_slice = u64::from(self.per_minute) * self.slice.as_millis() as u64;
        per_slice.div_ceil(60_000).max(1) as u32
    }
}

/// The app's access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_token: String,
}

/// The one open company scroll of the workspace.
#[derive(Debug, Clone)]
pub(crate) struct Scroll {
    pub param: String,
    /// The last company served: `(created_at, id)`.
    pub after: Option<(DateTime<Utc>, String)>,
    pub last_used: DateTime<Utc>,
}

/// The workspace's records, indexed. Lists serve `(created_at, id)` order; `/companies` pages
/// serve `(updated_at, id)` order.
#[derive(Debug, Default)]
pub struct Stores {
    pub companies: Store<Company>,
    pub contacts: Store<Contact>,
    pub conversations: Store<Conversation>,
}

impl From<IntercomData> for Stores {
    fn from(data: IntercomData) -> Self {
        Self {
            companies: data.companies.into_iter().collect(),
            contacts: data.contacts.into_iter().collect(),
            conversations: data.conversations.into_iter().collect(),
        }
    }
}

impl Stores {
    /// The data as `IntercomData` holds it: each list in creation order.
    fn snapshot(&self) -> IntercomData {
        fn list<R: Record>(store: &Store<R>) -> Vec<R> {
            store.by_created().iter_from(0).map(|(_, r)| r.clone()).collect()
        }
        IntercomData {
            companies: list(&self.companies),
            contacts: list(&self.contacts),
            conversations: list(&self.conversations),
        }
    }
}

#[derive(Debug)]
pub struct State {
    pub(crate) data: Shared<Stores>,
    pub(crate) scroll: Mutex<Option<Scroll>>,
    /// Search hits in list order, by query and data version.
    pub(crate) searches: Results<Vec<Key<String>>>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
}

impl State {
    pub(crate) fn scroll(&self) -> MutexGuard<'_, Option<Scroll>> {
        self.scroll.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request id in UUID form, as Intercom puts in error bodies.
    pub(crate) fn request_id(&self) -> String {
        let n = self.core.next_seq().wrapping_mul(0x9E37_79B9_7F4A_7C15);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            n >> 32,
            (n >> 16) & 0xffff,
            n & 0xfff,
            (n >> 4) & 0xfff,
            n & 0xffff_ffff_ffff
        )
    }
}

/// The records of one object, for the generic mutation methods.
pub trait Resource: Record<Id = String> {
    const NAME: &'static str;
    fn stamp(&mut self, id: Option<String>, created: Option<DateTime<Utc>>, updated: DateTime<Utc>);
    fn store_mut(data: &mut Stores) -> &mut Store<Self>;
}

macro_rules! resource {
    ($t:ty, $name:literal, $field:ident) => {
        record!($t => String, |r| created: r.created_at, updated: r.updated_at);
        impl Resource for $t {
            const NAME: &'static str = $name;
            fn stamp(&mut self, id: Option<String>, created: Option<DateTime<Utc>>, updated: DateTime<Utc>) {
                if let Some(id) = id {
                    self.id = id;
                }
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
resource!(Company, "company", companies);
resource!(Contact, "contact", contacts);
resource!(Conversation, "conversation", conversations);

/// A running Intercom emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: IntercomData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.slice);
        let state = Arc::new(State {
            data: Shared::new(data.into()),
            scroll: Mutex::new(None),
            searches: Results::new(16),
            options,
            credentials: Credentials { access_token: "dG9rOnNhbmRib3hfYWNjb3JkOjE6MA==".into() },
            core: Core::new(clock, limiter, 1),
        });
        Running::serve("intercom", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://api.intercom.io`.
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    /// Adds a record created and updated now; an empty `id` gets a new Intercom-style one
    /// (conversations get the next number). Returns the id.
    pub fn insert<R: Resource>(&self, mut record: R) -> String {
        let now = whole_seconds(self.state().core.clock.now());
        let mut data = self.state().data.write();
        let store = R::store_mut(&mut data);
        let id = if !record.id().is_empty() {
            None
        } else if R::NAME == "conversation" {
            let max = store.rows().iter().filter_map(|c| c.id().parse::<u64>().ok()).max().unwrap_or(1000);
            Some((max + 1).to_string())
        } else {
            Some(object_id(now, 1 << 40 | self.state().core.next_seq()))
        };
        record.stamp(id, Some(now), now);
        let id = record.id().clone();
        store.insert(record);
        drop(data);
        self.notify::<R>(&id, "created", now);
        id
    }

    /// An Intercom notification (`contact.user.updated`, `company.created`, ...) naming the item.
    fn notify<R: Resource>(&self, id: &str, change: &str, now: chrono::DateTime<chrono::Utc>) {
        let hooks = &self.state().core.webhooks;
        let topic = match R::NAME {
            "contact" => format!("contact.user.{change}"),
            other => format!("{other}.{change}"),
        };
        let body = serde_json::json!({
            "type": "notification_event",
            "app_id": "sandbox",
            "id": format!("notif_{:08x}", hooks.next_id()),
            "topic": topic,
            "created_at": now.timestamp(),
            "delivery_attempts": 1,
            "first_sent_at": now.timestamp(),
            "data": {"type": "notification_event_data", "item": {"type": R::NAME, "id": id}},
        });
        hooks.deliver(crate::emulator::webhooks::Signing::Intercom, &body, self.state().core.clock.now());
    }

    /// Changes a record and stamps its `updated_at` now.
    pub fn update<R: Resource>(&self, id: &str, change: impl FnOnce(&mut R)) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        let mut data = self.state().data.write();
        R::store_mut(&mut data)
            .update(&id.to_owned(), |r| {
                change(r);
                r.stamp(None, None, now);
            })
            .ok_or_else(|| Error::NotFound { vendor: "intercom", object: R::NAME, id: id.to_owned() })?;
        drop(data);
        self.notify::<R>(id, "updated", now);
        Ok(())
    }

    /// Deletes a record. Intercom has no feed of deletions: the record simply stops appearing in
    /// lists, searches and `total_count`. Use it between two syncs to test reconciliation.
    pub fn delete<R: Resource>(&self, id: &str) -> Result<()> {
        let mut data = self.state().data.write();
        R::store_mut(&mut data).remove(&id.to_owned()).map(drop).ok_or_else(|| Error::NotFound {
            vendor: "intercom",
            object: R::NAME,
            id: id.to_owned(),
        })?;
        drop(data);
        self.notify::<R>(id, "deleted", whole_seconds(self.state().core.clock.now()));
        Ok(())
    }

    /// A copy of the data as served now.
    pub fn snapshot(&self) -> IntercomData {
        self.state().data.read().snapshot()
    }
}
