//! The Zendesk Support emulator: incremental exports (cursor-based tickets and users, time-based
//! organizations), Basic-token and Bearer auth, and the per-minute rate limits.

pub mod model;
mod routes;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, whole_seconds};
use crate::emulator::Running;
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::store::{Record, Results, Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{Organization, Ticket, User, ZendeskData};

/// How the Zendesk emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Items per export page unless the request's `per_page` asks for fewer (Zendesk: 1,000).
    pub per_page: usize,
    /// The plan's requests per `window` (Enterprise: 700 a minute).
    pub per_minute: u32,
    /// The incremental export endpoints' own limit per `window`: 10, or 30 with `high_volume`.
    pub incremental_per_minute: u32,
    /// The High Volume API add-on: raises the incremental limit to 30 a minute.
    pub high_volume: bool,
    pub window: Duration,
    /// Enforce the limits (counting happens either way).
    pub rate_limited: bool,
    /// Exports leave out items changed this recently (Zendesk: one minute).
    pub exclude_recent: chrono::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            per_page: 1000,
            per_minute: 700,
            incremental_per_minute: 10,
            high_volume: false,
            window: Duration::from_secs(60),
            rate_limited: true,
            exclude_recent: chrono::Duration::minutes(1),
        }
    }
}

impl Options {
    pub(crate) fn incremental_limit(&self) -> u32 {
        if self.high_volume { self.incremental_per_minute.max(30) } else { self.incremental_per_minute }
    }
}

/// An agent's API credentials: `{email}/token:{api_token}` for Basic auth, or an OAuth token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub email: String,
    pub api_token: String,
    pub oauth_token: String,
}

/// The account's records, indexed; exports serve `(updated_at, id)` order.
#[derive(Debug, Default)]
pub struct Stores {
    pub organizations: Store<Organization>,
    pub users: Store<User>,
    pub tickets: Store<Ticket>,
}

impl From<ZendeskData> for Stores {
    fn from(data: ZendeskData) -> Self {
        Self {
            organizations: data.organizations.into_iter().collect(),
            users: data.users.into_iter().collect(),
            tickets: data.tickets.into_iter().collect(),
        }
    }
}

#[derive(Debug)]
pub struct State {
    pub(crate) data: Shared<Stores>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
    /// Search hits (as served, with `result_type`) by query and data version.
    pub(crate) searches: Results<Vec<serde_json::Value>>,
}

/// The records of one exported resource, for the generic mutation methods.
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
resource!(Organization, "organizations", organizations);
resource!(User, "users", users);
resource!(Ticket, "tickets", tickets);

/// A running Zendesk emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: ZendeskData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let state = Arc::new(State {
            data: Shared::new(data.into()),
            options,
            credentials: Credentials {
                email: "sync@accord-sandbox.example".into(),
                api_token: "sandboxZendeskApiToken0123456789abcdef".into(),
                oauth_token: "sandbox-zendesk-oauth-token".into(),
            },
            core: Core::new(clock, limiter, 1),
            searches: Results::new(16),
        });
        Running::serve("zendesk", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://{subdomain}.zendesk.com`.
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    /// Adds a record created and updated now; an id of 0 gets the next free one. Returns the id.
    pub fn insert<R: Resource>(&self, mut record: R) -> u64 {
        let now = whole_seconds(self.state().core.clock.now());
        let mut data = self.state().data.write();
        let store = R::store_mut(&mut data);
        if *record.id() == 0 {
            record.set_id(store.rows().last().map_or(0, |r| *r.id()) + 1);
        }
        record.stamp(Some(now), now);
        let id = *record.id();
        store.insert(record);
        drop(data);
        self.notify::<R>(id, "created", now);
        id
    }

    fn notify<R: Resource>(&self, id: u64, change: &str, now: chrono::DateTime<chrono::Utc>) {
        notify(self.state(), R::NAME, id, change, now);
    }

    /// Changes a record and stamps its `updated_at` now.
    pub fn update<R: Resource>(&self, id: u64, change: impl FnOnce(&mut R)) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        let mut data = self.state().data.write();
        R::store_mut(&mut data)
            .update(&id, |r| {
                change(r);
                r.stamp(None, now);
            })
            .ok_or_else(|| Error::NotFound { vendor: "zendesk", object: R::NAME, id: id.to_string() })?;
        drop(data);
        self.notify::<R>(id, "updated", now);
        Ok(())
    }

    /// Deletes a ticket: it stays in the incremental export with `status: "deleted"`.
    pub fn delete_ticket(&self, id: u64) -> Result<()> {
        self.update::<Ticket>(id, |t| t.status = "deleted".into())
    }

    /// Deletes a user (soft, as `DELETE /api/v2/users/{id}` does): it stays in the incremental
    /// export with `active: false`, as `/api/v2/deleted_users` lists it.
    pub fn delete_user(&self, id: u64) -> Result<()> {
        self.update::<User>(id, |u| u.active = false)
    }

    /// A copy of the data as served now.
    pub fn snapshot(&self) -> ZendeskData {
        let data = self.state().data.read();
        ZendeskData {
            organizations: data.organizations.rows().to_vec(),
            users: data.users.rows().to_vec(),
            tickets: data.tickets.rows().to_vec(),
        }
    }
}

/// A Zendesk event webhook (`zen:event-type:<object>.<change>`) naming the changed record, when a
/// client subscribed.
pub(crate) fn notify(state: &State, object: &str, id: u64, change: &str, now: chrono::DateTime<chrono::Utc>) {
    let hooks = &state.core.webhooks;
    let body = serde_json::json!({
        "id": format!("01HZ{:020}", hooks.next_id()),
        "type": format!("zen:event-type:{object}.{change}"),
        "subject": format!("zen:{object}:{id}"),
        "time": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "zendesk_event_version": "2022-11-06",
        "detail": {"id": id.to_string()},
    });
    hooks.deliver(crate::emulator::webhooks::Signing::Zendesk, &body, state.core.clock.now());
}
