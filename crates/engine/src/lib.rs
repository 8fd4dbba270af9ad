//! The engine: the page pipeline (normalize, link, persist, quarantine), re-linking, the sync
//! driver, the doctor and the account view. It owns no SQL (that is `accord-store`) and no linking
//! logic (that is `accord-link`); it decides what happens, in which order, in which transaction.

pub mod doctor;
pub mod explain;
pub mod hub;
pub mod identity;
pub mod overview;
mod pipeline;
pub mod plan;
pub mod propagate;
pub mod queue;
mod reclaim;
pub mod revenue;
mod run_locks;
pub mod schedule;
mod shared;
pub mod sync;
pub mod view;

pub use hub::{ApiPage, Hub, IngestOutcome, PageContext, RelinkReport};
pub use plan::{Plan, StreamPlan};
pub use sync::{IfBusy, SyncObserver, SyncOptions, SyncReport, sync};

/// Errors from the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] accord_core::ConfigError),
    #[error(transparent)]
    Store(#[from] accord_store::StoreError),
    #[error(transparent)]
    Connector(#[from] accord_connectors::ConnectorError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// A write failed for reasons outside the request (the store); reported as an internal error.
    #[error("{0}")]
    Failed(String),
    /// Another run holds a source's run lock (a sync with `IfBusy::Fail`).
    #[error("{0}: wait for that run to end (a lock whose holder stopped without releasing it expires within a minute)")]
    Busy(accord_store::LockHolder),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
