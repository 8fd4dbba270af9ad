//! The sync driver: pulls pages from connectors and ingests them, System of Record first (then the
//! other sources at the same time), with a checkpoint after every page and a settle of the change
//! feed after every stream. Each source's run holds its run lock in the store
//! (`Store::lock_source`) from start to end, renewed while it runs, so a source never runs twice
//! at a time, whichever processes start it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use accord_connectors::PageStats;
use accord_core::ObjectKind;
use accord_store::{Checkpoint, LockHolder, RunCounts};
use serde::Serialize;

use crate::hub::{Hub, PageContext, RelinkReport};
use crate::plan::{SourcePlan, StreamPlan};
pub use crate::run_locks::LOCK_TTL;
use crate::run_locks::RunLocks;
use crate::{EngineError, Result};

/// What to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Sources to sync (all when empty). The System of Record still goes first.
    pub sources: Vec<String>,
    /// Ignore saved cursors and read everything again.
    pub full: bool,
    /// Sync the sources one after another. By default, once the System of Record's sources are
    /// done, the other sources sync at the same time, each within its own vendor's limit (their
    /// pages commit one at a time through the store), so a full sync takes about as long as its
    /// slowest source rather than the sum of them all.
    pub sequential: bool,
    /// What is running the sync, for the run locks' holder (`accord sync`, `accord serve
    /// (schedule)`); the process id and host are added. Empty: `accord`.
    pub started_by: String,
    /// What to do when another run holds a source's lock.
    pub if_busy: IfBusy,
    /// Set to stop the sync at the next page of each stream (its runs end `interrupted`, and the
    /// next sync resumes them from their last committed page).
    pub cancel: Option<std::sync::Arc<AtomicBool>>,
}

/// What a sync does when a source it should run is being run by someone else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IfBusy {
    /// Run nothing and return `EngineError::Busy`, naming the holder.
    #[default]
    Fail,
    /// Run the other sources and report the busy ones in `SyncReport::busy`.
    Skip,
}

/// Receives progress while a sync runs (the CLI draws progress bars with it).
pub trait SyncObserver: Send + Sync {
    fn stream_started(&self, _source: &str, _object: &str, _resumed: bool) {}
    fn page(&self, _source: &str, _object: &str, _stats: &PageStats, _counts: &RunCounts) {}
    fn stream_finished(&self, _source: &str, _report: &StreamReport) {}
    fn relinked(&self, _source: &str, _report: &RelinkReport) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;
impl SyncObserver for Quiet {}

/// The outcome of one stream.
#[derive(Debug, Clone, Serialize)]
pub struct StreamReport {
    pub object: String,
    pub kind: ObjectKind,
    pub counts: RunCounts,
    pub pages: u64,
    pub requests: u64,
    pub retries: u64,
    pub rate_limit_waits: u64,
    /// The stream continued from a saved cursor.
    pub resumed: bool,
    /// Records deleted at the source, found by a full pass that no longer returned them.
    pub reconciled_deletions: u64,
    /// What the vendor said is left of its daily budget of calls after the last page (Xero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day_calls_left: Option<u64>,
    pub error: Option<String>,
}

/// The outcome of one source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    pub source: String,
    pub run_id: i64,
    pub counts: RunCounts,
    pub streams: Vec<StreamReport>,
    /// Quarantined records (of any source) that linked after this source's records arrived.
    pub relinked: RelinkReport,
    /// Earlier runs of this source that a stopped process left unfinished (now marked
    /// `interrupted`; this run resumed from their checkpoints).
    pub interrupted_runs: u64,
    pub error: Option<String>,
}

/// The outcome of a sync.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub sources: Vec<SourceReport>,
    /// Sources not run because another run held their lock (with `IfBusy::Skip`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub busy: Vec<LockHolder>,
}

impl SyncReport {
    pub fn failed(&self) -> bool {
        self.sources.iter().any(|s| s.error.is_some())
    }
}

/// Syncs the configured sources. Must run outside async code: connector futures are driven with
/// `handle.block_on`.
pub fn sync(
    hub: &Hub,
    options: &SyncOptions,
    observer: &dyn SyncObserver,
    handle: &tokio::runtime::Handle,
) -> Result<SyncReport> {
    for name in &options.sources {
        if !hub.plan.sources.iter().any(|s| &s.name == name) {
            let known: Vec<_> = hub.plan.sources.iter().map(|s| s.name.as_str()).collect();
            return Err(EngineError::Invalid(format!(
                "no source named {name:?}; configured sources: {}",
                known.join(", ")
            )));
        }
    }
    let mut chosen: Vec<&SourcePlan> =
        hub.plan.sources.iter().filter(|s| options.sources.is_empty() || options.sources.contains(&s.name)).collect();
    let (locks, busy) = RunLocks::take(hub, &chosen, &options.started_by, options.if_busy)?;
    chosen.retain(|s| !busy.iter().any(|b| b.source == s.name));
    let result = locks.hold(|| sync_chosen(hub, &chosen, options, &locks, observer, handle));
    locks.release();
    let mut report = result??;
    report.busy = busy;
    Ok(report)
}

const CANCELLED: &str = "stopped before the end (the process is shutting down); the next sync resumes here";

fn cancelled(cancel: Option<&std::sync::Arc<AtomicBool>>) -> bool {
    cancel.is_some_and(|c| c.load(Ordering::Relaxed))
}

fn sync_chosen(
    hub: &Hub,
    chosen: &[&SourcePlan],
    options: &SyncOptions,
    locks: &RunLocks,
    observer: &dyn SyncObserver,
    handle: &tokio::runtime::Handle,
) -> Result<SyncReport> {
    // The plan's order up to the System of Record (and the source its filter reads, before it)
    // goes first, one at a time: every other source links against the accounts they make.
    let creates = |s: &&SourcePlan| s.streams.iter().any(|p| p.creates_accounts());
    let split = chosen.iter().rposition(creates).map_or(0, |i| i + 1);
    let (first, rest) = chosen.split_at(split);
    let mut sor_claims: HashMap<String, String> = HashMap::new();
    let mut reports = Vec::new();
    for source in first {
        reports.push(sync_source(hub, source, options, locks, &mut sor_claims, observer, handle)?);
    }
    if options.sequential || rest.len() < 2 {
        for source in rest {
            reports.push(sync_source(hub, source, options, locks, &mut HashMap::new(), observer, handle)?);
        }
    } else {
        let results: Vec<Result<SourceReport>> = std::thread::scope(|scope| {
            let threads: Vec<_> = rest
                .iter()
                .map(|source| {
                    let name = source.name.clone();
                    let thread = std::thread::Builder::new().name(format!("sync {name}")).spawn_scoped(scope, || {
                        sync_source(hub, source, options, locks, &mut HashMap::new(), observer, handle)
                    });
                    (name, thread)
                })
                .collect();
            threads
                .into_iter()
                .map(|(name, thread)| match thread {
                    // A panic goes on up, as it would have without the thread.
                    Ok(t) => t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    Err(e) => Err(EngineError::Invalid(format!("cannot start the sync of {name:?}: {e}"))),
                })
                .collect()
        });
        for result in results {
            reports.push(result?);
        }
    }
    // Reported in the configured order, whatever order they finished in.
    reports.sort_by_key(|r| chosen.iter().position(|s| s.name == r.source));
    Ok(SyncReport { sources: reports, busy: Vec::new() })
}

/// Syncs one source's streams in order, settling the change feed after each.
fn sync_source(
    hub: &Hub,
    source: &SourcePlan,
    options: &SyncOptions,
    locks: &RunLocks,
    sor_claims: &mut HashMap<String, String>,
    observer: &dyn SyncObserver,
    handle: &tokio::runtime::Handle,
) -> Result<SourceReport> {
    let interrupted = hub.store.interrupt_runs(&source.name)?;
    let run_id = hub.store.start_run(&source.name)?;
    let mut report = SourceReport {
        source: source.name.clone(),
        run_id,
        counts: RunCounts::default(),
        streams: Vec::new(),
        relinked: RelinkReport::default(),
        interrupted_runs: interrupted,
        error: None,
    };
    resume(hub, source)?;
    for plan in &source.streams {
        if cancelled(options.cancel.as_ref()) {
            report.error.get_or_insert_with(|| CANCELLED.into());
            break;
        }
        let also = if plan.creates_accounts() { hub.also_exists_values()? } else { None };
        if plan.creates_accounts() {
            // The ids the SOR's stored records already hold: a resumed sync, whose first pages
            // were committed by a stopped process, must not let a later record take them.
            for (id, native_id) in hub.account_claims(plan)? {
                sor_claims.entry(id).or_insert(native_id);
            }
        }
        let claims = plan.creates_accounts().then_some(&mut *sor_claims);
        let stream_report =
            sync_stream(hub, source, plan, options, run_id, also.as_ref(), claims, locks, observer, handle)?;
        report.counts.add(&stream_report.counts);
        if let Some(e) = &stream_report.error {
            report.error.get_or_insert_with(|| format!("{}: {e}", plan.object()));
        }
        observer.stream_finished(&source.name, &stream_report);
        report.streams.push(stream_report);
        let relinked = hub.settle()?;
        if relinked.retried > 0 {
            observer.relinked(&source.name, &relinked);
        }
        report.relinked.retried += relinked.retried;
        report.relinked.linked += relinked.linked;
        for (r, n) in relinked.still_rejected {
            *report.relinked.still_rejected.entry(r).or_default() += n;
        }
    }
    let status = match &report.error {
        None => "ok",
        Some(_) if cancelled(options.cancel.as_ref()) => "interrupted",
        Some(_) => "failed",
    };
    hub.store.finish_run(run_id, status, report.error.as_deref())?;
    locks.release_source(&source.name);
    Ok(report)
}

/// Hands the connector every saved cursor of its source first: what the source's streams share
/// rides in them (Xero's day budget), so it is known before the first call, whichever stream
/// saved it last.
pub(crate) fn resume(hub: &Hub, source: &SourcePlan) -> Result<()> {
    let mut saved = Vec::new();
    for plan in &source.streams {
        saved.extend(hub.store.checkpoint(&source.name, plan.object())?);
    }
    source.connector.resume(&saved);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn sync_stream(
    hub: &Hub,
    source: &SourcePlan,
    plan: &StreamPlan,
    options: &SyncOptions,
    run_id: i64,
    also: Option<&HashSet<String>>,
    mut claims: Option<&mut HashMap<String, String>>,
    locks: &RunLocks,
    observer: &dyn SyncObserver,
    handle: &tokio::runtime::Handle,
) -> Result<StreamReport> {
    let (full, cancel) = (options.full, options.cancel.as_ref());
    let cursor = if full { None } else { hub.store.checkpoint(&source.name, plan.object())? };
    let mut report = StreamReport {
        object: plan.object().to_owned(),
        kind: plan.kind(),
        counts: RunCounts::default(),
        pages: 0,
        requests: 0,
        retries: 0,
        rate_limit_waits: 0,
        resumed: false,
        reconciled_deletions: 0,
        day_calls_left: None,
        error: None,
    };
    let had_cursor = cursor.is_some();
    let mut stream = match source.connector.open_stream(plan.object(), cursor, full) {
        Ok(s) => s,
        Err(e) => {
            report.error = Some(e.to_string());
            return Ok(report);
        }
    };
    // Pages are linked here and committed by a writer thread, so linking the next page overlaps
    // with writing the previous one; the hand-over is a rendezvous, so no page queues up in memory.
    let mut first = true;
    let (tx, rx) = std::sync::mpsc::sync_channel::<crate::hub::PreparedPage>(0);
    let written = std::thread::scope(|scope| -> Result<(RunCounts, u64)> {
        let writer = scope.spawn(move || -> Result<(RunCounts, u64)> {
            let mut counts = RunCounts::default();
            let mut reconciled = 0;
            for page in rx {
                let outcome = hub.commit(page)?;
                counts.add(&outcome.counts);
                reconciled += outcome.reconciled;
            }
            Ok((counts, reconciled))
        });
        loop {
            if let Some(why) = locks.lost(&source.name) {
                report.error = Some(why);
                break;
            }
            if cancelled(cancel) {
                report.error = Some(CANCELLED.into());
                break;
            }
            let page = match handle.block_on(stream.next_page()) {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(e) => {
                    report.error = Some(e.to_string());
                    break;
                }
            };
            if first {
                // A cursor that is not "complete" means this stream picks up where it stopped.
                report.resumed = had_cursor && page.cursor.get("complete").is_none_or(|c| c != true) && !full;
                observer.stream_started(&source.name, plan.object(), report.resumed);
                first = false;
            }
            report.pages += 1;
            report.requests += page.stats.requests;
            report.retries += page.stats.retries;
            report.rate_limit_waits += page.stats.rate_limit_waits;
            report.day_calls_left = page.stats.day_calls_left.or(report.day_calls_left);
            let checkpoint =
                Checkpoint { source: source.name.clone(), stream: plan.object().to_owned(), cursor: page.cursor };
            let ctx = PageContext {
                checkpoint: Some(checkpoint),
                run: Some(run_id),
                also,
                sor_claims: claims.as_deref_mut(),
                report_items: false,
                full_pass: page.full_pass,
            };
            let prepared = hub.prepare(plan, page.items, ctx);
            report.counts.add(prepared.counts());
            observer.page(&source.name, plan.object(), &page.stats, &report.counts);
            if tx.send(prepared).is_err() {
                break; // the writer stopped on an error, returned below
            }
        }
        drop(tx);
        writer.join().unwrap_or_else(|_| Err(EngineError::Invalid("the writer thread panicked".into())))
    });
    let (committed, reconciled) = written?;
    debug_assert_eq!(committed, report.counts);
    report.reconciled_deletions = reconciled;
    if first {
        observer.stream_started(&source.name, plan.object(), false);
    }
    Ok(report)
}
