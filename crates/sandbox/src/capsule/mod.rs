//! The Capsule CRM (API v2) emulator: the party list (people and organisations, custom fields
//! with `embed=fields`), `since`, the deleted-parties list, `page`/`perPage` with `Link` headers,
//! Bearer auth, and 4,000 requests an hour with `X-RateLimit-Limit/Remaining/Reset`.

pub mod model;
mod routes;
// `seed.rs` (the generator's Capsule records) is a module of `crate::generate`.
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
use model::{CapsuleData, Deleted, Party};

/// How the Capsule emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests per `window` (Capsule: 4,000 an hour).
    pub per_hour: u32,
    pub window: Duration,
    /// Enforce the limit (counting happens either way).
    pub rate_limited: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { per_hour: 4_000, window: Duration::from_secs(3600), rate_limited: true }
    }
}

/// The user's API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_token: String,
}

/// The parties, indexed, and the deletions by time.
#[derive(Debug, Default)]
pub struct Stores {
    pub parties: Store<Party>,
    pub deleted: Store<Deleted>,
}

record!(Party => u64, |r| created: r.created_at, updated: r.updated_at);

record!(Deleted => u64, |r| created: r.deleted_at, updated: r.deleted_at);

#[derive(Debug)]
pub struct State {
    pub(crate) data: Shared<Stores>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
}

/// A running Capsule emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: CapsuleData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let stores =
            Stores { parties: data.parties.into_iter().collect(), deleted: data.deleted.into_iter().collect() };
        let state = Arc::new(State {
            data: Shared::new(stores),
            options,
            credentials: Credentials { access_token: "sandbox-capsule-token-0123456789".into() },
            core: Core::new(clock, limiter, 1),
        });
        Running::serve("capsule", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://api.capsulecrm.com`.
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    /// Changes a party and stamps its `updatedAt` now.
    pub fn update(&self, id: u64, change: impl FnOnce(&mut Party)) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        let mut data = self.state().data.write();
        data.parties
            .update(&id, |p| {
                change(p);
                p.updated_at = now;
            })
            .ok_or_else(|| Error::NotFound { vendor: "capsule", object: "parties", id: id.to_string() })
    }

    /// Deletes a party: it leaves the list and `/api/v2/parties/deleted` lists it from now.
    pub fn delete(&self, id: u64) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        let mut data = self.state().data.write();
        data.parties.remove(&id).ok_or(Error::NotFound { vendor: "capsule", object: "parties", id: id.to_string() })?;
        data.deleted.insert(Deleted { id, deleted_at: now });
        Ok(())
    }

    /// A copy of the data as served now.
    pub fn snapshot(&self) -> CapsuleData {
        let data = self.state().data.read();
        CapsuleData { parties: data.parties.rows().to_vec(), deleted: data.deleted.rows().to_vec() }
    }
}
