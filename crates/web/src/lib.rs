//! The web app of `accord serve`, for customer-success teams: sign-in with roles, the accounts
//! list, the 360 page of an account, integrations (with syncs started and watched from the page),
//! the quarantine (explain, retry) and the doctor's reports.
//!
//! Presentation only: every figure comes from the engine (`view`, `overview`, `doctor`,
//! `explain`, `Hub::retry`, `sync`) or the store's reads. Pages are HTML rendered on the server
//! from `maud` templates (checked at compile time), styled by one stylesheet and helped by one
//! small script, both served from the binary; every page works without JavaScript, every form
//! carries a CSRF token, and every table can be downloaded as CSV (`?csv=<table>`).

pub mod auth;
mod chart;
mod error;
mod form;
mod layout;
mod pages;
mod sync_jobs;
mod table;
pub mod users;

use std::sync::Arc;

use accord_engine::Hub;
use axum::Router;
use axum::routing::{get, post};

pub use auth::Role;
pub use error::WebError;

/// The web app's state: the hub, and the syncs started from the integrations page.
#[derive(Debug, Clone)]
pub struct Web(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    hub: Arc<Hub>,
    jobs: sync_jobs::SyncJobs,
}

impl Web {
    pub fn new(hub: Arc<Hub>) -> Self {
        Self(Arc::new(Inner { hub, jobs: sync_jobs::SyncJobs::default() }))
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.0.hub
    }

    /// Runs blocking hub work off the async runtime.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Hub) -> Result<T, WebError> + Send + 'static,
    ) -> Result<T, WebError> {
        let hub = self.0.hub.clone();
        tokio::task::spawn_blocking(move || f(&hub)).await.map_err(|e| WebError::Internal(e.to_string()))?
    }
}

/// The web app's routes, for any outer state (the server merges them into its router).
pub fn router<S: Clone + Send + Sync + 'static>(web: Web) -> Router<S> {
    Router::new()
        .route("/", get(|| async { axum::response::Redirect::to("/accounts") }))
        .route("/signin", get(pages::signin::form).post(pages::signin::submit))
        .route("/signout", post(pages::signin::signout))
        .route("/accounts", get(pages::accounts::list))
        .route("/accounts/{id}", get(pages::account::show))
        .route("/accounts/{id}/deactivate", post(pages::account::deactivate))
        .route("/accounts/{id}/restore", post(pages::account::restore))
        .route("/integrations", get(pages::integrations::show))
        .route("/integrations/sync", post(pages::integrations::start_sync))
        .route("/integrations/sync/{job}", get(pages::integrations::job))
        .route("/quarantine", get(pages::quarantine::list))
        .route("/quarantine/retry", post(pages::quarantine::retry))
        .route("/quarantine/{id}", get(pages::quarantine::explain))
        .route("/doctor", get(pages::doctor::show))
        .route("/users", get(pages::users::list).post(pages::users::add))
        .route("/users/{name}/remove", post(pages::users::remove))
        .route("/assets/app.css", get(layout::css))
        .route("/assets/app.js", get(layout::js))
        .with_state(web)
}
