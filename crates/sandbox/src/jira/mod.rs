//! The JIRA Cloud emulator (REST v3, and v2's same paths): issue search with
//! `GET|POST /rest/api/3/search/jql` paged by `nextPageToken`, a small JQL (`updated` comparisons
//! with minute precision, `project =`, `AND`, `ORDER BY updated ASC`), the site's fields, the API
//! user (`/myself`, its time zone), Basic email + API token auth, 429 with `Retry-After`, and the
//! removed `/rest/api/3/search` answering 410 as JIRA Cloud does. Deleted issues disappear.

pub mod model;
mod routes;
pub mod seed;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::emulator::Running;
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::store::{Store, record};
use crate::emulator::{Core, Shared};
use crate::{Error, Result};
use model::{Issue, JiraData};

/// How the JIRA emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests allowed per `window` (JIRA Cloud's burst limits are unpublished; 600 a minute here).
    pub per_minute: u32,
    pub window: Duration,
    /// Enforce the limit (counting happens either way).
    pub rate_limited: bool,
    /// The most issues a search page holds, whatever `maxResults` asks (JIRA: 100 with fields).
    pub max_results_cap: usize,
    /// The API user's time zone, in which JQL dates are read. The emulator knows `UTC` and fixed
    /// offsets written `Etc/GMT-3` style (3 hours east, as the tz database spells it).
    pub time_zone: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            per_minute: 600,
            window: Duration::from_secs(60),
            rate_limited: true,
            max_results_cap: 100,
            time_zone: "UTC".into(),
        }
    }
}

/// The API user's email and API token (Basic auth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub email: String,
    pub api_token: String,
}

record!(Issue => u64, |r| created: r.created, updated: r.updated);

#[derive(Debug)]
pub struct State {
    pub(crate) issues: Shared<Store<Issue>>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
}

/// A running JIRA emulator.
pub type Emulator = Running<State>;

impl State {
    /// Sends the site's webhook of an issue's change (`created`, `updated`, `deleted`).
    pub(crate) fn notify(&self, id: u64, change: &str) {
        let now = self.core.clock.now();
        let body = serde_json::json!({
            "timestamp": now.timestamp_millis(),
            "webhookEvent": format!("jira:issue_{change}"),
            "issue_event_type_name": format!("issue_{change}"),
            "issue": {"id": id.to_string(), "key": format!("{}-{}", model::PROJECT, id.saturating_sub(10_000))},
        });
        self.core.webhooks.deliver(crate::emulator::webhooks::Signing::Jira, &body, now);
    }
}

impl Emulator {
    pub(crate) async fn start(data: JiraData, options: Options, clock: Clock) -> Result<Self> {
        let limiter = RateLimiter::new(options.rate_limited, options.window);
        let next = data.issues.iter().map(|i| i.id).max().unwrap_or(10_000) + 1;
        let state = Arc::new(State {
            issues: Shared::new(data.issues.into_iter().collect()),
            options,
            credentials: Credentials {
                email: "sync@accord-sandbox.example".into(),
                api_token: "ATATT3xFfGF0sandboxAccord0jira".into(),
            },
            core: Core::new(clock, limiter, next),
        });
        Running::serve("jira", state, routes::router).await
    }

    /// `http://127.0.0.1:PORT`, standing in for `https://<your-domain>.atlassian.net`.
    pub fn base_url(&self) -> String {
        self.root_url()
    }

    pub fn credentials(&self) -> Credentials {
        self.state().credentials.clone()
    }

    /// Adds an issue created and updated now, with the next id and key; returns the id.
    pub fn insert(&self, mut issue: Issue) -> u64 {
        let now = self.state().core.clock.now();
        issue.id = self.state().core.next_seq();
        issue.key = format!("{}-{}", model::PROJECT, issue.id - 10_000);
        issue.created = now;
        issue.updated = now;
        let id = issue.id;
        self.state().issues.write().insert(issue);
        self.notify(id, "created");
        id
    }

    /// A JIRA webhook (`jira:issue_created`, `_updated`, `_deleted`) naming the issue.
    fn notify(&self, id: u64, change: &str) {
        self.state().notify(id, change);
    }

    /// Changes an issue and stamps its `updated` now.
    pub fn update(&self, id: u64, change: impl FnOnce(&mut Issue)) -> Result<()> {
        let now = self.state().core.clock.now();
        self.state()
            .issues
            .write()
            .update(&id, |i| {
                change(i);
                i.updated = now;
            })
            .ok_or_else(|| Error::NotFound { vendor: "jira", object: "issue", id: id.to_string() })?;
        self.notify(id, "updated");
        Ok(())
    }

    /// Deletes an issue. JIRA has no feed of deletions: the issue stops appearing in searches.
    pub fn delete(&self, id: u64) -> Result<()> {
        self.state().issues.write().remove(&id).map(drop).ok_or_else(|| Error::NotFound {
            vendor: "jira",
            object: "issue",
            id: id.to_string(),
        })?;
        self.notify(id, "deleted");
        Ok(())
    }

    /// A copy of the data as served now.
    pub fn snapshot(&self) -> JiraData {
        JiraData { issues: self.state().issues.read().rows().to_vec() }
    }
}
