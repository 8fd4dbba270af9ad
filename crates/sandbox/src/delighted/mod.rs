//! The Delighted emulator (REST v1): survey responses listed by page number (ending with an empty
//! page), `since`/`until` on creation, `updated_since`/`updated_until` on change, `order` by
//! creation or by change, `expand[]=person`; HTTP Basic with the API key as the user; 429 with
//! `Retry-After`. Delighted has no deletion feed: a deleted response simply stops being listed.
//! The generator's seeding is in `seed.rs` (a part of `crate::generate`, which it extends).

pub mod model;
mod routes;
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
use model::{DelightedData, SurveyResponse};

/// How the Delighted emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests allowed per `window` (Delighted documents 429 + `Retry-After`, not a figure).
    pub per_minute: u32,
    pub window: Duration,
    /// Enforce the limit (counting happens either way).
    pub rate_limited: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { per_minute: 200, window: Duration::from_secs(60), rate_limited: true }
    }
}

/// The account's API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub api_key: String,
}

record!(SurveyResponse => String, |r| created: r.created_at, updated: r.updated_at);

#[derive(Debug)]
pub struct State {
    pub(crate) responses: Shared<Store<SurveyResponse>>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
}

/// A running Delighted emulator.
pub type Emulator = Running<State>;

impl Emulator {
    pub(crate) async fn start(data: DelightedData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let state = Arc::new(State {
            responses: Shared::new(data.survey_responses.into_iter().collect()),
            options,
            credentials: Credentials { api_key: "dlt_sandbox_3f9a1c7e5b2d".into() },
            core: Core::new(clock, limiter, 1),
        });
        Running::serve("delighted", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://api.delighted.com`.
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    /// Changes a survey response (a new score or comment) and stamps its `updated_at` now.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut SurveyResponse)) -> Result<()> {
        let now = whole_seconds(self.state().core.clock.now());
        self.state()
            .responses
            .write()
            .update(&id.to_owned(), |r| {
                change(r);
                r.updated_at = now;
            })
            .ok_or_else(|| Error::NotFound { vendor: "delighted", object: "survey_response", id: id.to_owned() })
    }

    /// Deletes a survey response: it stops being listed (there is no deletion feed).
    pub fn delete(&self, id: &str) -> Result<()> {
        self.state().responses.write().remove(&id.to_owned()).map(drop).ok_or_else(|| Error::NotFound {
            vendor: "delighted",
            object: "survey_response",
            id: id.to_owned(),
        })
    }

    /// A copy of the data as served now, in creation order.
    pub fn snapshot(&self) -> DelightedData {
        let store = self.state().responses.read();
        DelightedData { survey_responses: store.by_created().iter_from(0).map(|(_, r)| r.clone()).collect() }
    }
}
