//! The scheduler task of `accord serve`: sleeps until the next scheduled source is due, runs the
//! due sources (the engine's `Scheduler`, on a blocking thread), logs what happened, and goes on.
//! A failed run is logged with its error and tried again at its next slot; nothing here stops the
//! server. On shutdown it stops waiting, and a run in progress stops at its next page (its run
//! ends `interrupted`, and the next sync resumes it).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use accord_engine::Hub;
use accord_engine::schedule::{Scheduler, Turn};
use tokio::sync::watch;

/// The longest the task sleeps without looking at the store again (another process's run moves a
/// source's next run).
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// The shortest pause between two turns, so a source that is due again at once (a run longer than
/// its interval) never makes a busy loop.
const MIN_PAUSE: Duration = Duration::from_millis(200);
/// How long to wait after the store could not be read before trying again.
const STORE_RETRY: Duration = Duration::from_secs(5);

/// Runs scheduled sources until `shutdown` turns true. Returns at once when no source has a
/// schedule.
pub async fn run(hub: Arc<Hub>, mut shutdown: watch::Receiver<bool>) {
    if !Scheduler::any(&hub) {
        return;
    }
    let mut scheduler = Scheduler::default();
    let cancel = scheduler.cancel.clone();
    let names: Vec<String> = hub.config.schedules.iter().map(|(s, sch)| format!("{s} ({sch})")).collect();
    tracing::info!(sources = %names.join(", "), "scheduler started");
    loop {
        let (h, s) = (hub.clone(), scheduler);
        let now = chrono::Utc::now();
        let (next, returned) = match tokio::task::spawn_blocking(move || (s.next_due(&h, now), s)).await {
            Ok(out) => out,
            Err(e) => {
                tracing::error!(error = %e, "the scheduler thread failed; schedules stop");
                return;
            }
        };
        scheduler = returned;
        let sleep = match &next {
            Ok(Some(at)) => (*at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO).min(MAX_SLEEP),
            Ok(None) => MAX_SLEEP,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the last runs; trying again shortly");
                STORE_RETRY
            }
        };
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = stopping(&mut shutdown) => break,
        }
        if next.as_ref().is_ok_and(|n| n.is_some_and(|at| at > chrono::Utc::now())) {
            continue; // woke for MAX_SLEEP before the slot: look again
        }
        let (h, mut s) = (hub.clone(), scheduler);
        let handle = tokio::runtime::Handle::current();
        let turn = tokio::task::spawn_blocking(move || {
            let turn = s.run_due(&h, chrono::Utc::now(), &handle);
            (turn, s)
        });
        // A shutdown while the turn runs cancels it at its next page; the turn is awaited either way.
        let mut turn = std::pin::pin!(turn);
        let joined = tokio::select! {
            out = &mut turn => out,
            () = stopping(&mut shutdown) => {
                cancel.store(true, Ordering::Relaxed);
                let out = turn.await;
                if let Ok((t, _)) = &out {
                    log_turn(t);
                }
                break;
            }
        };
        match joined {
            Ok((t, s)) => {
                log_turn(&t);
                scheduler = s;
            }
            Err(e) => {
                tracing::error!(error = %e, "a scheduled sync panicked; schedules stop");
                return;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(MIN_PAUSE) => {}
            () = stopping(&mut shutdown) => break,
        }
    }
    tracing::info!("scheduler stopped");
}

/// Resolves when the server stops (or whatever stops it is gone).
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

fn log_turn(turn: &Turn) {
    if let Some(e) = &turn.error {
        tracing::error!(sources = %turn.due.join(", "), error = %e, "a scheduled sync failed; each source is tried again at its next slot");
    }
    let Some(report) = &turn.report else { return };
    for b in &report.busy {
        tracing::info!(source = %b.source, holder = %b.holder, "scheduled sync skipped: another run holds the source");
    }
    for s in &report.sources {
        match &s.error {
            Some(e) => {
                tracing::error!(source = %s.source, run = s.run_id, error = %e, "scheduled sync failed; tried again at its next slot")
            }
            None => tracing::info!(
                source = %s.source,
                run = s.run_id,
                fetched = s.counts.fetched,
                linked = s.counts.linked,
                rejected = s.counts.rejected,
                "scheduled sync done"
            ),
        }
    }
}
