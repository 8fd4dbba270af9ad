//! The Keap (Infusionsoft) emulator, REST v2: companies and contacts listed with `page_size` /
//! `page_token` → `next_page_token`, filtered by `since_time` (companies) and
//! `start_update_time` (contacts), custom fields served when `fields` asks; OAuth2 at `/token`
//! with refresh tokens that rotate (every grant returns a new one and the redeemed one stops
//! working); the per-minute product quota with Keap's `x-keap-product-quota-*` headers and a 429
//! when it is spent. Deleted records disappear (v2 has no deletion feed).

pub mod model;
mod routes;
pub mod seed;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, whole_seconds};
use crate::emulator::Running;
use crate::emulator::auth::{Refresh, Tokens};
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::store::{Results, Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{Company, Contact, KeapData};

/// How the Keap emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests per `window` for the OAuth2 key (Keap: 1,500 a minute).
    pub per_minute: u32,
    pub window: Duration,
    /// Enforce the quota (counting happens either way).
    pub rate_limited: bool,
    /// How long an access token lives (Keap: 24 hours).
    pub token_lifetime: chrono::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            per_minute: 1500,
            window: Duration::from_secs(60),
            rate_limited: true,
            token_lifetime: chrono::Duration::hours(24),
        }
    }
}

/// The app's OAuth2 client and the refresh token valid now (each grant replaces it: what a user
/// authorizing again would be given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
}

record!(Company, Contact => u64, |r| created: r.create_time, updated: r.update_time);

#[derive(Debug)]
pub struct State {
    pub(crate) companies: Shared<Store<Company>>,
    pub(crate) contacts: Shared<Store<Contact>>,
    /// Company ids (in id order) matching a filter, by filter and data version.
    pub(crate) company_hits: Results<Vec<u64>>,
    pub(crate) tokens: Tokens,
    /// The refresh token the last grant issued (the one valid now).
    pub(crate) latest_refresh: std::sync::Mutex<String>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
}

/// A running Keap emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: KeapData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let credentials = Credentials {
            client_id: "sbxKeapClient0accord".into(),
            client_secret: "sbxKeapSecret0accord".into(),
            refresh_token: "rt-0001-sandbox".into(),
        };
        let state = Arc::new(State {
            companies: Shared::new(data.companies.into_iter().collect()),
            contacts: Shared::new(data.contacts.into_iter().collect()),
            company_hits: Results::new(16),
            tokens: Tokens::new(options.token_lifetime, Refresh::Rotating, &credentials.refresh_token),
            latest_refresh: std::sync::Mutex::new(credentials.refresh_token.clone()),
            options,
            credentials,
            core: Core::new(clock, limiter, 2),
        });
        Running::serve("keap", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT/crm`, standing in for `https://api.infusionsoft.com/crm`.
    pub fn base_url(&self) -> String {
        format!("{}/crm", self.root_url())
    }

    /// `http://127.0.0.1:PORT/token`, standing in for `https://api.infusionsoft.com/token`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.root_url())
    }

    /// The client's credentials with the refresh token valid now.
    pub fn credentials(&self) -> Credentials {
        let latest = self.state().latest_refresh.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Credentials { refresh_token: latest, ..self.state().credentials.clone() }
    }

    /// Whether `refresh_token` can be redeemed now (a rotated-away one cannot).
    pub fn refresh_token_valid(&self, refresh_token: &str) -> bool {
        self.state().tokens.refresh_valid(refresh_token)
    }

    /// Expires every access token issued so far.
    pub fn expire_access_tokens(&self) {
        self.state().tokens.expire_all(self.state().core.clock.now());
    }

    /// Changes a company and stamps its `update_time` now.
    pub fn update_company(&self, id: u64, change: impl FnOnce(&mut Company)) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        self.state()
            .companies
            .write()
            .update(&id, |c| {
                change(c);
                c.update_time = now;
            })
            .ok_or_else(|| Error::NotFound { vendor: "keap", object: "company", id: id.to_string() })
    }

    /// Changes a contact and stamps its `update_time` now.
    pub fn update_contact(&self, id: u64, change: impl FnOnce(&mut Contact)) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        self.state()
            .contacts
            .write()
            .update(&id, |c| {
                change(c);
                c.update_time = now;
            })
            .ok_or_else(|| Error::NotFound { vendor: "keap", object: "contact", id: id.to_string() })
    }

    /// Deletes a contact: it stops appearing in lists.
    pub fn delete_contact(&self, id: u64) -> Result<()> {
        self.state().contacts.write().remove(&id).map(drop).ok_or_else(|| Error::NotFound {
            vendor: "keap",
            object: "contact",
            id: id.to_string(),
        })
    }

    /// A copy of the data as served now.
    pub fn snapshot(&self) -> KeapData {
        KeapData {
            companies: self.state().companies.read().rows().to_vec(),
            contacts: self.state().contacts.read().rows().to_vec(),
        }
    }
}
