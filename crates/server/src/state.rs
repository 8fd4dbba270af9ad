//! What every handler shares: the hub, the keys, the limits and the metrics.

use std::sync::Arc;

use accord_core::secret::SecretString;
use accord_engine::Hub;

use crate::metrics::Metrics;

/// A key pair of the Event API and the source its events are recorded under.
#[derive(Debug, Clone)]
pub struct EventKeys {
    pub source: String,
    pub auth_key: SecretString,
    pub api_key: SecretString,
}

/// The server's shared state.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub hub: Arc<Hub>,
    pub api_key: SecretString,
    pub event_keys: Vec<EventKeys>,
    /// Largest accepted request body (after decompression too), in bytes.
    pub body_limit: u64,
    pub metrics: Metrics,
    /// Origins allowed by CORS; `None` turns CORS off.
    pub cors: Option<Vec<axum::http::HeaderValue>>,
    /// Group commit of the API's writes.
    pub queue: accord_engine::queue::IngestQueue,
    /// The key of `GET /metrics`, when it has one.
    pub metrics_key: Option<SecretString>,
    /// Held while a product user is read, merged and written, so two writers of one user never
    /// drop each other's fields (one process; see `natero::people`).
    pub users_lock: tokio::sync::Mutex<()>,
    /// The web app (sign-in, pages, syncs started from the browser).
    pub web: accord_web::Web,
    /// `POST /webhooks/{source}`: the endpoints and the syncs they start.
    pub webhooks: crate::webhooks::Webhooks,
}

impl AppState {
    pub fn new(
        hub: Arc<Hub>,
        api_key: SecretString,
        event_keys: Vec<EventKeys>,
        body_limit: u64,
        cors: Option<Vec<axum::http::HeaderValue>>,
        metrics_key: Option<SecretString>,
        webhooks: crate::webhooks::Webhooks,
    ) -> Self {
        let queue = accord_engine::queue::IngestQueue::start(hub.clone()).expect("cannot start the ingest thread");
        let web = accord_web::Web::new(hub.clone());
        Self(Arc::new(Inner {
            hub,
            api_key,
            event_keys,
            body_limit,
            metrics: Metrics::new(),
            cors,
            queue,
            metrics_key,
            users_lock: tokio::sync::Mutex::new(()),
            web,
            webhooks,
        }))
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.0.hub
    }

    pub fn inner(&self) -> &Inner {
        &self.0
    }

    /// Ingests pages through the group-commit queue.
    pub async fn ingest(
        &self,
        pages: accord_engine::queue::Pages,
    ) -> Result<Vec<accord_engine::IngestOutcome>, crate::error::ApiError> {
        Ok(self.0.queue.ingest(pages).await?)
    }

    /// Runs blocking hub work off the async runtime.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Hub) -> T + Send + 'static,
    ) -> Result<T, crate::error::ApiError> {
        let hub = self.0.hub.clone();
        tokio::task::spawn_blocking(move || f(&hub)).await.map_err(crate::error::ApiError::internal)
    }
}
