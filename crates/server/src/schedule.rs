//! The scheduler task of `accord serve`: sleeps until the next scheduled source is due, starts a
//! turn of the due sources (the engine's `Scheduler`, on a blocking thread), logs what each turn
//! did when it ends, and goes on.
//! A failed run is logged with its error and tried again at its next slot; nothing here stops the
//! server. On shutdown it stops waiting, and a run in progress stops at its next page (its run
//! ends `interrupted`, and the next sync resumes it).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use accord_engine::Hub;
use accord_engine::schedule::{Scheduler, Turn};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The longest the task sleeps without looking at the store again (another process's run moves a
/// source's next run).
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// The pause after starting a turn, so the next look finds its sources marked as running.
const MIN_PAUSE: Duration = Duration::from_millis(200);
/// How long to wait after the store could not be read before trying again.
const STORE_RETRY: Duration = Duration::from_secs(5);

/// Runs scheduled sources until `shutdown` turns true. Returns at once when no source has a
/// schedule.
pub async fn run(hub: Arc<Hub>, mut shutdown: watch::Receiver<bool>) {
    if !Scheduler::any(&hub) {
        return;
    }
    let scheduler = Arc::new(Scheduler::default());
    let names: Vec<String> = hub.config.schedules.iter().map(|(s, sch)| format!("{s} ({sch})")).collect();
    tracing::info!(sources = %names.join(", "), "scheduler started");
    // Turns run on blocking threads; one that runs long does not hold up the sources that fall due
    // meanwhile (they start a turn of their own).
    let mut turns: JoinSet<Turn> = JoinSet::new();
    loop {
        let (h, s) = (hub.clone(), scheduler.clone());
        let now = chrono::Utc::now();
        let next = match tokio::task::spawn_blocking(move || s.next_due(&h, now)).await {
            Ok(next) => next,
            Err(e) => Err(accord_engine::EngineError::Failed(format!("the scheduler thread failed: {e}"))),
        };
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
            Some(done) = turns.join_next(), if !turns.is_empty() => {
                log_joined(done);
                continue; // its sources may be due again: look again
            }
            () = stopping(&mut shutdown) => break,
        }
        if !next.as_ref().is_ok_and(|n| n.is_some_and(|at| at <= chrono::Utc::now())) {
            continue; // woke before a slot (MAX_SLEEP, or after a failed read): look again
        }
        let (h, s) = (hub.clone(), scheduler.clone());
        let handle = tokio::runtime::Handle::current();
        turns.spawn_blocking(move || s.run_due(&h, chrono::Utc::now(), &handle));
        // The new turn marks its sources as running before the next look.
        tokio::select! {
            () = tokio::time::sleep(MIN_PAUSE) => {}
            () = stopping(&mut shutdown) => break,
        }
    }
    // A run in progress stops at its next page; the turns are awaited, so their runs end recorded.
    scheduler.cancel.store(true, Ordering::Relaxed);
    while let Some(done) = turns.join_next().await {
        log_joined(done);
    }
    tracing::info!("scheduler stopped");
}

fn log_joined(done: Result<Turn, tokio::task::JoinError>) {
    match done {
        Ok(turn) => log_turn(&turn),
        // The turn's sources are free again; their next slots come as usual.
        Err(e) => tracing::error!(error = %e, "a scheduled sync panicked"),
    }
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
