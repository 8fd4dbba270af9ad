//! Group commit for concurrent API requests. Requests hand their pages to one committer thread,
//! which takes everything waiting (up to a bound), links it in order, and writes it in one
//! transaction: with several clients posting at once, one journal write serves them all.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};

use tokio::sync::oneshot;

use crate::hub::IngestOutcome;
use crate::{EngineError, Hub, Result};

/// At most this many items go into one transaction.
const MAX_GROUP_ITEMS: usize = 20_000;

/// Pages of one request, in order; `true` asks for per-item results.
pub type Pages = Vec<crate::hub::ApiPage>;

struct Job {
    pages: Pages,
    reply: oneshot::Sender<Result<Vec<IngestOutcome>>>,
}

/// The handle requests submit to. Dropping every handle stops the committer thread.
#[derive(Debug, Clone)]
pub struct IngestQueue {
    tx: Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("pages", &self.pages.len()).finish()
    }
}

impl IngestQueue {
    /// Starts the committer thread.
    pub fn start(hub: Arc<Hub>) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("accord-ingest".into()).spawn(move || commit_loop(&hub, &rx))?;
        Ok(Self { tx })
    }

    /// Ingests a request's pages; resolves when they are committed (and what they unlocked in the
    /// quarantine is re-linked).
    pub async fn ingest(&self, pages: Pages) -> Result<Vec<IngestOutcome>> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job { pages, reply }).map_err(|_| EngineError::Invalid("the ingest queue has stopped".into()))?;
        rx.await.map_err(|_| EngineError::Invalid("the ingest queue dropped the request".into()))?
    }
}

/// With no request for this long, the commit thread settles the change feed (keys other processes,
/// or a stopped one, left there are consumed without waiting for the next request or sync) and
/// writes the pending usage rollups.
const IDLE_SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

fn commit_loop(hub: &Hub, rx: &Receiver<Job>) {
    loop {
        let first = match rx.recv_timeout(IDLE_SETTLE) {
            Ok(job) => job,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = hub.settle() {
                    tracing::warn!(error = %e, "settling the change feed failed; retrying when idle again");
                }
                // The usage of the last events (and any a stopped process left) goes to the rollups.
                if let Err(e) = hub.store.flush_usage() {
                    tracing::warn!(error = %e, "writing the usage rollups failed; retrying when idle again");
                }
                continue;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut items: usize = first.pages.iter().map(|p| p.items.len()).sum();
        let mut jobs = vec![first];
        while items < MAX_GROUP_ITEMS {
            match rx.try_recv() {
                Ok(job) => {
                    items += job.pages.iter().map(|p| p.items.len()).sum::<usize>();
                    jobs.push(job);
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let sizes: Vec<usize> = jobs.iter().map(|j| j.pages.len()).collect();
        let (pages, replies): (Vec<Pages>, Vec<_>) = jobs.into_iter().map(|j| (j.pages, j.reply)).unzip();
        let result = hub.ingest_group(pages.into_iter().flatten().collect());
        match result {
            Ok(outcomes) => {
                // The changed keys are in the store's change feed; settling consumes them (a
                // failure leaves them there for the next settle).
                if outcomes.iter().any(|o| !o.changed.is_empty())
                    && let Err(e) = hub.settle()
                {
                    tracing::warn!(error = %e, "re-linking after an API batch failed; the next batch settles it");
                }
                let mut outcomes = outcomes.into_iter();
                for (reply, n) in replies.into_iter().zip(sizes) {
                    let _ = reply.send(Ok(outcomes.by_ref().take(n).collect()));
                }
            }
            Err(e) => {
                let message = e.to_string();
                tracing::error!(error = %message, "a group commit failed");
                for reply in replies {
                    let _ = reply.send(Err(EngineError::Failed(message.clone())));
                }
            }
        }
    }
}
