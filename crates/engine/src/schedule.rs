//! Scheduled syncs: which sources are due when, and running the due ones. `accord serve` drives a
//! `Scheduler` from a task of its own; everything here takes the time as an argument, so the
//! decisions are tested with any clock.
//!
//! A source's next run is the first slot of its `schedule` after its last run started, whoever
//! started it (a schedule, `accord sync`, the web app, another process): the runs are in the
//! store, so every process computes the same next run and a restart changes nothing. A source that
//! never ran is due at once. The due sources run as one incremental sync (a turn), System of
//! Record first; one that another run holds the lock of is skipped and, like a failed run, tried
//! again at its next slot. Turns may overlap: sources that fall due while a long turn runs start a
//! turn of their own (a source is in at most one turn at a time).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use accord_core::{Schedule, Timestamp};
use accord_store::AccountQuery;
use serde::Serialize;

use crate::sync::{IfBusy, Quiet, SyncOptions, SyncReport};
use crate::{Hub, Result};

/// A scheduled source: its schedule, its last run's start and its next run.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduledSource {
    pub source: String,
    /// The setting, as written (`every 15m`, `cron: */15 * * * *`).
    pub schedule: String,
    pub last_started: Option<Timestamp>,
    pub next_run: Timestamp,
}

/// The next run of every scheduled source at `now`, in plan order, from the last runs in the
/// store.
pub fn next_runs(hub: &Hub, now: Timestamp) -> Result<Vec<ScheduledSource>> {
    next_runs_with(hub, &HashMap::new(), now)
}

fn next_runs_with(hub: &Hub, attempted: &HashMap<String, Timestamp>, now: Timestamp) -> Result<Vec<ScheduledSource>> {
    let mut out = Vec::new();
    for source in &hub.plan.sources {
        let Some(schedule) = hub.config.schedules.get(&source.name) else { continue };
        let last_run = hub.store.runs(Some(&source.name), 1)?.into_iter().next().map(|r| r.started_at);
        out.push(next_run(&source.name, schedule, last_run, attempted.get(&source.name).copied(), now));
    }
    Ok(out)
}

/// A source's next run from its last run's start and this scheduler's last attempt (a skipped or
/// failed attempt that left no run behind still uses up its slot).
fn next_run(
    source: &str,
    schedule: &Schedule,
    last_run: Option<Timestamp>,
    attempted: Option<Timestamp>,
    now: Timestamp,
) -> ScheduledSource {
    let last = match (last_run, attempted) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    ScheduledSource {
        source: source.to_owned(),
        schedule: schedule.to_string(),
        last_started: last_run,
        next_run: schedule.next_run(last, now),
    }
}

/// What one turn of the scheduler did.
#[derive(Debug, Default)]
pub struct Turn {
    /// The sources that were due, in plan order.
    pub due: Vec<String>,
    /// The sync of the due sources (busy ones listed in its `busy`).
    pub report: Option<SyncReport>,
    /// The sync could not run at all (the store failed, a connector could not start).
    pub error: Option<String>,
    /// Accounts the System of Record's run added (active accounts after minus before).
    pub new_accounts: u64,
}

/// Runs scheduled sources when they are due. Holds this process's last attempt per source and
/// the sources its turns are running; shared by the turns that run at once.
#[derive(Debug, Default)]
pub struct Scheduler {
    state: Mutex<State>,
    /// Set to stop a running sync at its next page (`accord serve` shutting down).
    pub cancel: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct State {
    attempted: HashMap<String, Timestamp>,
    running: HashSet<String>,
}

/// Takes a turn's sources off the running set however the turn ends.
struct InTurn<'a>(&'a Scheduler, Vec<String>);

impl Drop for InTurn<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        for source in &self.1 {
            state.running.remove(source);
        }
    }
}

impl Scheduler {
    /// Whether any source has a schedule.
    pub fn any(hub: &Hub) -> bool {
        !hub.config.schedules.is_empty()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The scheduled sources with their next runs, as this scheduler sees them at `now`.
    pub fn next_runs(&self, hub: &Hub, now: Timestamp) -> Result<Vec<ScheduledSource>> {
        let attempted = self.state().attempted.clone();
        next_runs_with(hub, &attempted, now)
    }

    /// When the next source that is not running in a turn is due (`None`: none).
    pub fn next_due(&self, hub: &Hub, now: Timestamp) -> Result<Option<Timestamp>> {
        let running = self.state().running.clone();
        Ok(self.next_runs(hub, now)?.iter().filter(|s| !running.contains(&s.source)).map(|s| s.next_run).min())
    }

    /// The sources running in turns now.
    pub fn running(&self) -> Vec<String> {
        self.state().running.iter().cloned().collect()
    }

    /// Runs the sources due at `now` as one incremental sync (System of Record first; a source
    /// another run holds is skipped). Every attempt uses up its slot, so a failing source is tried
    /// again at its next slot, not in a loop. Never panics on a failed sync: the error is in the
    /// turn. Sources another turn of this scheduler is running are left to it. Must run outside
    /// async code, like `sync`.
    pub fn run_due(&self, hub: &Hub, now: Timestamp, handle: &tokio::runtime::Handle) -> Turn {
        let due: Vec<String> = {
            // Chosen and marked under one lock, so two turns never take the same source.
            let mut state = self.state();
            let all = match next_runs_with(hub, &state.attempted, now) {
                Ok(all) => all,
                Err(e) => return Turn { error: Some(e.to_string()), ..Turn::default() },
            };
            let due: Vec<String> = all
                .into_iter()
                .filter(|s| s.next_run <= now && !state.running.contains(&s.source))
                .map(|s| s.source)
                .collect();
            for source in &due {
                state.attempted.insert(source.clone(), now);
                state.running.insert(source.clone());
            }
            due
        };
        if due.is_empty() {
            return Turn::default();
        }
        let _in_turn = InTurn(self, due.clone());
        let options = SyncOptions {
            sources: due.clone(),
            full: false,
            started_by: "accord serve (schedule)".into(),
            if_busy: IfBusy::Skip,
            cancel: Some(self.cancel.clone()),
            ..SyncOptions::default()
        };
        let sor = &hub.config.sor().source;
        let before = due.contains(sor).then(|| active_accounts(hub)).transpose();
        let result = before.and_then(|before| {
            let report = crate::sync(hub, &options, &Quiet, handle)?;
            let after = before.map(|_| active_accounts(hub)).transpose()?;
            Ok((report, after.zip(before).map_or(0, |(a, b)| a.saturating_sub(b))))
        });
        match result {
            Ok((report, new_accounts)) => {
                let ran_sor = report.sources.iter().any(|s| &s.source == sor && s.error.is_none());
                if ran_sor {
                    after_sor_run(hub, new_accounts, handle);
                }
                Turn { due, report: Some(report), error: None, new_accounts }
            }
            Err(e) => Turn { due, report: None, error: Some(e.to_string()), new_accounts: 0 },
        }
    }
}

fn active_accounts(hub: &Hub) -> Result<u64> {
    let query = AccountQuery { page_size: 1, ..Default::default() };
    Ok(hub.store.accounts(&query)?.total)
}

/// After a scheduled run of the System of Record that added accounts: `accord propagate` to the
/// sources whose `[sources.<name>.propagate]` says `after_sor_run = true` (their upgrades, and the
/// new accounts where `create` is on). A failure is logged; it never stops the schedule.
fn after_sor_run(hub: &Hub, new_accounts: u64, handle: &tokio::runtime::Handle) {
    if new_accounts == 0 {
        return;
    }
    let targets: Vec<&String> = hub
        .config
        .raw
        .sources
        .iter()
        .filter(|(_, s)| s.propagate.as_ref().is_some_and(|p| p.after_sor_run))
        .map(|(name, _)| name)
        .collect();
    if targets.is_empty() {
        tracing::info!(source = %hub.config.sor().source, new_accounts, "the System of Record added accounts");
        return;
    }
    let outcome = crate::propagate::plan(hub).and_then(|mut plan| {
        plan.upgrades.retain(|u| targets.contains(&&u.key.source));
        plan.conflicts.clear();
        plan.creates.retain(|c| targets.contains(&&c.source));
        crate::propagate::apply(hub, &plan, &Quiet, handle)
    });
    match outcome {
        Ok(a) => tracing::info!(
            new_accounts,
            written = a.written,
            created = a.created,
            failed = a.failed,
            "propagated after the System of Record run"
        ),
        Err(e) => tracing::error!(error = %e, "propagating after the System of Record run failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc)
    }

    #[test]
    fn the_next_run_follows_the_last_start_or_the_last_attempt() {
        let every = Schedule::parse("every 15m").unwrap();
        let now = at("2026-03-01T10:00:00Z");
        // Never ran, never tried: due now.
        assert_eq!(next_run("crm", &every, None, None, now).next_run, now);
        // Ran at 09:50: due at 10:05.
        let ran = Some(at("2026-03-01T09:50:00Z"));
        let s = next_run("crm", &every, ran, None, now);
        assert_eq!((s.next_run, s.last_started, s.schedule.as_str()), (at("2026-03-01T10:05:00Z"), ran, "every 15m"));
        // Tried at 10:05 and skipped (another process held it) or failed before a run was stored:
        // the slot is used up, next at 10:20.
        let tried = Some(at("2026-03-01T10:05:00Z"));
        assert_eq!(next_run("crm", &every, ran, tried, now).next_run, at("2026-03-01T10:20:00Z"));
        // Another process ran it later than this one tried: that run counts.
        let later = Some(at("2026-03-01T10:07:00Z"));
        assert_eq!(next_run("crm", &every, later, tried, now).next_run, at("2026-03-01T10:22:00Z"));
        let cron = Schedule::parse("cron: 0 * * * *").unwrap();
        assert_eq!(next_run("crm", &cron, ran, None, now).next_run, at("2026-03-01T10:00:00Z"));
        assert_eq!(next_run("crm", &cron, None, tried, now).next_run, at("2026-03-01T11:00:00Z"));
    }
}
