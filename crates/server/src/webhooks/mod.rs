//! `POST /webhooks/{source}`: a vendor says its data changed, and accord syncs that source
//! incrementally without anyone running `accord sync`.
//!
//! A delivery is checked the vendor's way ([`verify`]): the head first (signature header present
//! and well formed, signed timestamp within the tolerance), before the body is read; then the
//! signature over the body, in constant time; then replay protection: the delivery's identity is
//! remembered in the store (`remember_delivery`, so two `serve` processes agree) for as long as
//! its timestamp is acceptable, and a second delivery with it is refused (409). A refused delivery
//! is answered 401 and logged with the reason, never with its body. An accepted one is answered
//! 202 and starts a debounced incremental sync of the source ([`Debouncer`]): deliveries within
//! the debounce share one sync, and one arriving while it runs gets another after it.

pub mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord_core::Config;
use accord_core::secret::SecretString;
use accord_engine::{Hub, SyncOptions};
use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Serialize;

use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use verify::{Head, Scheme};

/// One source's webhook endpoint.
#[derive(Debug)]
struct Endpoint {
    scheme: Scheme,
    secret: SecretString,
    tolerance_s: i64,
    debounce: Duration,
}

/// The webhook endpoints of a server and the syncs they start.
#[derive(Debug, Default)]
pub struct Webhooks {
    endpoints: HashMap<String, Endpoint>,
    syncs: Debouncer,
}

impl Webhooks {
    /// The endpoints of every source with a `webhook` table, their secrets resolved.
    pub fn from_config(config: &Config) -> Result<Self, accord_core::secret::SecretError> {
        let mut endpoints = HashMap::new();
        for (name, source) in &config.raw.sources {
            let (Some(w), Some(scheme)) = (&source.webhook, Scheme::for_kind(&source.kind)) else { continue };
            endpoints.insert(
                name.clone(),
                Endpoint {
                    scheme,
                    secret: w.secret.resolve(&config.base_dir)?,
                    tolerance_s: i64::try_from(w.tolerance_seconds).unwrap_or(i64::MAX),
                    debounce: Duration::from_secs(w.debounce_seconds.unwrap_or(scheme.default_debounce_seconds())),
                },
            );
        }
        Ok(Self { endpoints, syncs: Debouncer::default() })
    }
}

/// The checked head of a delivery: its source and what the body check needs.
#[derive(Debug)]
pub struct WebhookHead {
    source: String,
    head: Head,
}

impl FromRequestParts<AppState> for WebhookHead {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Path(source) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("no such webhook source".into()))?;
        let Some(endpoint) = state.inner().webhooks.endpoints.get(&source) else {
            return Err(ApiError::NotFound(format!("source {source:?} takes no webhooks (see its `webhook` table)")));
        };
        let head = verify::check_head(endpoint.scheme, &parts.headers, chrono::Utc::now(), endpoint.tolerance_s)
            .map_err(|refusal| refused(&source, refusal))?;
        Ok(Self { source, head })
    }
}

fn refused(source: &str, refusal: verify::Refusal) -> ApiError {
    tracing::warn!(source, %refusal, "webhook delivery refused");
    ApiError::Unauthorized(format!("webhook delivery refused: {refusal}"))
}

/// The answer to an accepted delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookAccepted {
    /// Always true.
    pub received: bool,
    /// The source whose incremental sync the delivery started (or joined).
    pub source: String,
}

/// A vendor's webhook delivery.
#[utoipa::path(post, path = "/webhooks/{source}", tag = "accord", security(()),
    params(("source" = String, Path, description = "the source's name in accord.toml (it has a `webhook` table)")),
    request_body(content = String, content_type = "application/json", description = "the vendor's delivery, signed the vendor's way"),
    responses((status = 202, body = WebhookAccepted, description = "signature valid: an incremental sync of the source follows"),
              (status = 401, body = crate::error::ErrorBody, description = "missing, malformed, stale or wrong signature"),
              (status = 404, body = crate::error::ErrorBody, description = "no such source, or it takes no webhooks"),
              (status = 409, body = crate::error::ErrorBody, description = "a replay of a delivery already received"),
              (status = 413, body = crate::error::ErrorBody)))]
pub async fn receive(
    State(state): State<AppState>,
    WebhookHead { source, head }: WebhookHead,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<WebhookAccepted>)> {
    let webhooks = &state.inner().webhooks;
    let endpoint =
        webhooks.endpoints.get(&source).ok_or_else(|| ApiError::NotFound("no such webhook source".into()))?;
    let now = chrono::Utc::now();
    let identity = verify::check_body(&head, endpoint.secret.expose().as_bytes(), &body, now, endpoint.tolerance_s)
        .map_err(|refusal| refused(&source, refusal))?;
    if let Some(identity) = identity {
        let (src, at, forget) =
            (source.clone(), now.timestamp_millis(), now.timestamp_millis() - endpoint.tolerance_s * 2 * 1000);
        let fresh = state.blocking(move |hub| hub.store.remember_delivery(&src, &identity, at, forget)).await??;
        if !fresh {
            tracing::warn!(source, "webhook delivery refused: a replay");
            return Err(ApiError::Conflict("this delivery was already received".into()));
        }
    }
    webhooks.syncs.poke(state.hub().clone(), &source, endpoint.debounce);
    Ok((StatusCode::ACCEPTED, Json(WebhookAccepted { received: true, source })))
}

/// Incremental syncs started by deliveries, one source at a time: the first delivery schedules
/// one after the debounce, later ones join it, and one arriving while it runs schedules another.
#[derive(Debug, Default, Clone)]
pub struct Debouncer {
    slots: Arc<Mutex<HashMap<String, Slot>>>,
}

#[derive(Debug, Default)]
struct Slot {
    scheduled: bool,
    running: bool,
    again: bool,
}

impl Debouncer {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A delivery for `source` arrived.
    pub fn poke(&self, hub: Arc<Hub>, source: &str, debounce: Duration) {
        {
            let mut slots = self.lock();
            let slot = slots.entry(source.to_owned()).or_default();
            if slot.scheduled {
                return;
            }
            if slot.running {
                slot.again = true;
                return;
            }
            slot.scheduled = true;
        }
        let (this, source) = (self.clone(), source.to_owned());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(debounce).await;
                {
                    let mut slots = this.lock();
                    let slot = slots.entry(source.clone()).or_default();
                    slot.scheduled = false;
                    slot.running = true;
                }
                let (h, s, rt) = (hub.clone(), source.clone(), tokio::runtime::Handle::current());
                let outcome = tokio::task::spawn_blocking(move || {
                    let options = SyncOptions {
                        sources: vec![s],
                        started_by: "accord serve (webhook)".into(),
                        ..SyncOptions::default()
                    };
                    accord_engine::sync(&h, &options, &accord_engine::sync::Quiet, &rt)
                })
                .await;
                // Another run holds the source (a schedule, `accord sync`, the browser): this
                // delivery's change may be newer than what that run reads, so try again after it.
                let busy = matches!(outcome, Ok(Err(accord_engine::EngineError::Busy(_))));
                match outcome {
                    Ok(Ok(report)) if !report.failed() => {
                        let fetched: u64 = report.sources.iter().map(|s| s.counts.fetched).sum();
                        tracing::info!(source, fetched, "webhook sync done");
                    }
                    Ok(Ok(report)) => {
                        let errors: Vec<String> = report.sources.iter().filter_map(|s| s.error.clone()).collect();
                        tracing::error!(source, errors = ?errors, "webhook sync failed");
                    }
                    Ok(Err(e)) if busy => {
                        tracing::info!(source, holder = %e, "webhook sync waits for the run in progress")
                    }
                    Ok(Err(e)) => tracing::error!(source, error = %e, "webhook sync failed"),
                    Err(e) => tracing::error!(source, error = %e, "webhook sync panicked"),
                }
                let mut slots = this.lock();
                let slot = slots.entry(source.clone()).or_default();
                slot.running = false;
                if !slot.again && !busy {
                    return;
                }
                slot.again = false;
                slot.scheduled = true;
            }
        });
    }
}
