//! Syncs started from the integrations page: run on a thread of their own with the engine's sync
//! driver, observed stream by stream, so the page can show their progress while they run. One at
//! a time per process; the store's run bookkeeping is the engine's.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use accord_connectors::PageStats;
use accord_engine::sync::{StreamReport, SyncObserver};
use accord_engine::{Hub, RelinkReport, SyncOptions, SyncReport};
use accord_store::RunCounts;

/// Progress of one stream.
#[derive(Debug, Clone, Default)]
pub struct StreamProgress {
    pub source: String,
    pub object: String,
    pub pages: u64,
    pub counts: RunCounts,
    pub rate_limit_waits: u64,
    pub retries: u64,
    pub resumed: bool,
    /// Work done and total work in the stream's own unit, when the connector knows.
    pub position: Option<(u64, u64)>,
    pub finished: bool,
    pub error: Option<String>,
}

/// What a sync has done so far.
#[derive(Debug, Clone, Default)]
pub struct JobState {
    pub streams: Vec<StreamProgress>,
    /// Quarantined records that linked after a source's records arrived.
    pub relinked: u64,
    pub report: Option<SyncReport>,
    /// The sync could not run at all (an unknown source, the store failing).
    pub error: Option<String>,
}

impl JobState {
    pub fn done(&self) -> bool {
        self.report.is_some() || self.error.is_some()
    }
}

/// A sync started from the page.
#[derive(Debug)]
pub struct Job {
    pub id: u64,
    pub started_by: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub full: bool,
    pub sources: Vec<String>,
    pub state: Mutex<JobState>,
}

impl Job {
    pub fn snapshot(&self) -> JobState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut JobState)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn stream(state: &mut JobState, source: &str, object: &str) -> usize {
        match state.streams.iter().position(|s| s.source == source && s.object == object && !s.finished) {
            Some(i) => i,
            None => {
                state.streams.push(StreamProgress {
                    source: source.to_owned(),
                    object: object.to_owned(),
                    ..Default::default()
                });
                state.streams.len() - 1
            }
        }
    }
}

struct Observer(Arc<Job>);

impl SyncObserver for Observer {
    fn stream_started(&self, source: &str, object: &str, resumed: bool) {
        self.0.update(|s| {
            let i = Job::stream(s, source, object);
            s.streams[i].resumed = resumed;
        });
    }

    fn page(&self, source: &str, object: &str, stats: &PageStats, counts: &RunCounts) {
        self.0.update(|s| {
            let i = Job::stream(s, source, object);
            let st = &mut s.streams[i];
            st.pages += 1;
            st.counts = counts.clone();
            st.rate_limit_waits += stats.rate_limit_waits;
            st.retries += stats.retries;
            if stats.position.is_some() {
                st.position = stats.position;
            }
        });
    }

    fn stream_finished(&self, source: &str, report: &StreamReport) {
        self.0.update(|s| {
            let i = Job::stream(s, source, &report.object);
            let st = &mut s.streams[i];
            st.counts = report.counts.clone();
            st.rate_limit_waits = report.rate_limit_waits;
            st.retries = report.retries;
            st.pages = report.pages;
            st.resumed = report.resumed;
            st.error = report.error.clone();
            st.finished = true;
        });
    }

    fn relinked(&self, _source: &str, report: &RelinkReport) {
        self.0.update(|s| s.relinked += report.linked);
    }
}

/// The syncs this process started from the page, newest last.
#[derive(Debug, Default)]
pub struct SyncJobs {
    next: AtomicU64,
    jobs: Mutex<BTreeMap<u64, Arc<Job>>>,
}

/// Jobs kept for their pages.
const KEEP: usize = 20;

impl SyncJobs {
    pub fn get(&self, id: u64) -> Option<Arc<Job>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).get(&id).cloned()
    }

    /// The most recent job, if any.
    pub fn latest(&self) -> Option<Arc<Job>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).values().next_back().cloned()
    }

    /// Starts a sync unless one is running; returns the job that runs (the new one, or the one
    /// already running) and whether it is new.
    pub fn start(
        &self,
        hub: Arc<Hub>,
        options: SyncOptions,
        started_by: &str,
        handle: tokio::runtime::Handle,
    ) -> Result<(Arc<Job>, bool), std::io::Error> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(running) = jobs.values().find(|j| !j.snapshot().done()) {
            return Ok((running.clone(), false));
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let job = Arc::new(Job {
            id,
            started_by: started_by.to_owned(),
            started_at: chrono::Utc::now(),
            full: options.full,
            sources: options.sources.clone(),
            state: Mutex::new(JobState::default()),
        });
        let running = job.clone();
        std::thread::Builder::new().name(format!("web-sync-{id}")).spawn(move || {
            let observer = Observer(running.clone());
            let result = accord_engine::sync(&hub, &options, &observer, &handle);
            running.update(|s| match result {
                Ok(report) => s.report = Some(report),
                Err(e) => s.error = Some(e.to_string()),
            });
            tracing::info!(job = id, "sync started from the web app finished");
        })?;
        jobs.insert(id, job.clone());
        while jobs.len() > KEEP {
            let oldest = *jobs.keys().next().unwrap_or(&0);
            jobs.remove(&oldest);
        }
        Ok((job, true))
    }
}
