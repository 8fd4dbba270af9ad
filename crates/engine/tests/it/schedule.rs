//! Scheduled syncs with a clock the test moves, and the run locks every sync takes.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use accord_core::ObjectKind;
use accord_engine::schedule::Scheduler;
use accord_engine::sync::Quiet;
use accord_engine::{EngineError, IfBusy, SyncOptions};
use accord_store::{LockAttempt, RecordKey};
use chrono::{Duration, Utc};

use crate::*;

const CONFIG: &str = r#"
[system_of_record]
source = "crm"
object = "accounts"
account_id = "id"
name = "name"
join_date = "joined"

[sources.crm]
kind = "file"
schedule = "every 1h"
[[sources.crm.objects]]
name = "accounts"
kind = "account"
path = "accounts.csv"

[sources.support]
kind = "file"
schedule = "cron: */15 * * * *"
[[sources.support.objects]]
name = "tickets"
kind = "ticket"
path = "tickets.csv"
native_id = "id"
link = [{ rule = "field", field = "account" }]

[sources.manual]
kind = "file"
[[sources.manual.objects]]
name = "notes"
kind = "ticket"
path = "notes.csv"
native_id = "id"
link = [{ rule = "field", field = "account" }]
"#;

fn setup() -> (tempfile::TempDir, accord_engine::Hub) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", "id,name,joined\nA1,Alpha,2024-01-01\n");
    write(dir.path(), "tickets.csv", "id,account\nt1,A1\n");
    write(dir.path(), "notes.csv", "id,account\nn1,A1\n");
    let hub = hub(dir.path(), CONFIG);
    (dir, hub)
}

fn linked_to(hub: &accord_engine::Hub, native_id: &str) -> Option<String> {
    hub.store
        .record(ObjectKind::Ticket, &RecordKey::new("support", "tickets", native_id))
        .unwrap()
        .map(|r| r.account_id.as_str().to_owned())
}

#[test]
fn due_sources_run_sor_first_and_pick_up_new_data_at_their_slots() {
    let (dir, hub) = setup();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let scheduler = Scheduler::default();
    let t0 = Utc::now();
    // Never ran: both scheduled sources are due at once, the SOR first; the unscheduled one is not.
    let turn = scheduler.run_due(&hub, t0, rt.handle());
    assert_eq!(turn.due, ["crm", "support"]);
    let report = turn.report.unwrap();
    assert_eq!(report.sources.iter().map(|s| s.source.as_str()).collect::<Vec<_>>(), ["crm", "support"]);
    assert!(!report.failed());
    assert_eq!(turn.new_accounts, 1);
    assert_eq!(linked_to(&hub, "t1").as_deref(), Some("A1"));
    assert!(hub.store.runs(Some("manual"), 1).unwrap().is_empty());

    // New data in both files.
    write(dir.path(), "accounts.csv", "id,name,joined\nA1,Alpha,2024-01-01\nA2,Beta,2024-02-01\n");
    write(dir.path(), "tickets.csv", "id,account\nt1,A1\nt2,A2\n");
    let next = scheduler.next_runs(&hub, t0).unwrap();
    let support_at = next.iter().find(|s| s.source == "support").unwrap().next_run;
    let crm_at = next.iter().find(|s| s.source == "crm").unwrap().next_run;
    assert!(support_at > t0 && support_at <= t0 + Duration::minutes(16), "{support_at} vs {t0}");
    assert_eq!(support_at.timestamp() % 900, 0, "a quarter hour");
    assert!(crm_at > t0 + Duration::minutes(59) && crm_at <= t0 + Duration::minutes(61), "{crm_at}");
    // Just before the first slot: nothing is due, nothing runs.
    let turn = scheduler.run_due(&hub, support_at - Duration::milliseconds(1), rt.handle());
    assert!(turn.due.is_empty() && turn.report.is_none());
    assert_eq!(linked_to(&hub, "t2"), None);

    // The next quarter hour: support runs alone and reads t2, whose account the SOR has not
    // brought yet, so t2 waits in the quarantine.
    let turn = scheduler.run_due(&hub, support_at, rt.handle());
    assert_eq!(turn.due, ["support"]);
    assert_eq!(linked_to(&hub, "t2"), None);
    assert_eq!(quarantine(&hub).iter().filter(|q| q.key.native_id == "t2").count(), 1);

    // An hour on, both are due again: the SOR goes first, brings A2, and t2 links.
    let turn = scheduler.run_due(&hub, crm_at, rt.handle());
    assert_eq!(turn.due, ["crm", "support"]);
    assert_eq!(turn.new_accounts, 1);
    assert_eq!(linked_to(&hub, "t2").as_deref(), Some("A2"));
    let runs = hub.store.runs(Some("support"), 10).unwrap();
    assert_eq!(runs.len(), 3, "one run per due slot: {runs:?}");
    assert!(runs.iter().all(|r| r.status == "ok"));
}

#[test]
fn a_failing_source_is_logged_in_the_turn_and_tried_at_its_next_slot() {
    let (dir, hub) = setup();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    std::fs::remove_file(dir.path().join("tickets.csv")).unwrap();
    let scheduler = Scheduler::default();
    let t0 = Utc::now();
    let turn = scheduler.run_due(&hub, t0, rt.handle());
    let report = turn.report.unwrap();
    let support = report.sources.iter().find(|s| s.source == "support").unwrap();
    assert!(support.error.as_deref().is_some_and(|e| e.contains("tickets.csv")), "{:?}", support.error);
    assert_eq!(hub.store.runs(Some("support"), 1).unwrap()[0].status, "failed");
    // Not retried in a loop: the next attempt waits for the next slot.
    let at = scheduler.next_runs(&hub, t0).unwrap().into_iter().find(|s| s.source == "support").unwrap().next_run;
    assert!(at > t0, "{at} vs {t0}");
    assert!(scheduler.run_due(&hub, at - Duration::milliseconds(1), rt.handle()).due.is_empty());
    write(dir.path(), "tickets.csv", "id,account\nt1,A1\n");
    let turn = scheduler.run_due(&hub, at, rt.handle());
    assert_eq!(turn.due, ["support"]);
    assert!(!turn.report.unwrap().failed());
    assert_eq!(linked_to(&hub, "t1").as_deref(), Some("A1"));
}

#[test]
fn a_held_source_fails_a_manual_sync_naming_the_holder_and_is_skipped_by_the_scheduler() {
    let (_dir, hub) = setup();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let now = Utc::now().timestamp_millis();
    let LockAttempt::Acquired(held) =
        hub.store.lock_source("support", "accord serve, pid 77 on box", now, 60_000).unwrap()
    else {
        panic!("the lock is free")
    };
    // A manual sync runs nothing, and says who holds the lock.
    let options = SyncOptions { started_by: "accord sync".into(), ..SyncOptions::default() };
    match accord_engine::sync(&hub, &options, &Quiet, rt.handle()) {
        Err(EngineError::Busy(h)) => {
            assert_eq!((h.source.as_str(), h.holder.as_str()), ("support", "accord serve, pid 77 on box"));
            let text = EngineError::Busy(h).to_string();
            assert!(text.contains("accord serve, pid 77 on box") && text.contains("\"support\""), "{text}");
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    assert!(hub.store.runs(None, 10).unwrap().is_empty(), "nothing ran");
    // The locks the refused sync took are released again.
    assert_eq!(hub.store.source_lock_holder("crm", now).unwrap(), None);
    // The scheduler runs the others and skips the held one until its next slot.
    let scheduler = Scheduler::default();
    let turn = scheduler.run_due(&hub, Utc::now(), rt.handle());
    let report = turn.report.unwrap();
    assert_eq!(report.sources.iter().map(|s| s.source.as_str()).collect::<Vec<_>>(), ["crm"]);
    assert_eq!(report.busy.iter().map(|b| b.source.as_str()).collect::<Vec<_>>(), ["support"]);
    // While a run holds it, the overview says who.
    let overview = accord_engine::overview::sources(&hub).unwrap();
    let support = overview.iter().find(|s| s.source == "support").unwrap();
    assert_eq!(support.running.as_ref().map(|h| h.holder.as_str()), Some("accord serve, pid 77 on box"));
    assert_eq!(support.schedule.as_deref(), Some("cron: */15 * * * *"));
    assert!(support.next_run.is_some());
    let manual = overview.iter().find(|s| s.source == "manual").unwrap();
    assert_eq!((manual.schedule.as_ref(), manual.next_run), (None, None));
    held.release().unwrap();
    let report = sync_with(&hub, SyncOptions { sources: vec!["support".into()], ..SyncOptions::default() });
    assert!(!report.failed());
    assert_eq!(hub.store.source_lock_holder("support", Utc::now().timestamp_millis()).unwrap(), None);
}

#[test]
fn a_cancelled_sync_stops_and_leaves_its_runs_interrupted() {
    let (_dir, hub) = setup();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let cancel = Arc::new(AtomicBool::new(true));
    let options = SyncOptions { cancel: Some(cancel), if_busy: IfBusy::Skip, ..SyncOptions::default() };
    let report = accord_engine::sync(&hub, &options, &Quiet, rt.handle()).unwrap();
    assert!(report.sources.iter().all(|s| s.error.as_deref().is_some_and(|e| e.contains("shutting down"))));
    assert!(hub.store.runs(None, 10).unwrap().iter().all(|r| r.status == "interrupted"));
    assert_eq!(hub.store.account("A1").unwrap(), None);
}

/// At a page of `source`: the holders of the locks of `crm` and `support`.
type Seen = (String, Option<String>, Option<String>);

/// Records, at each page, who holds the run locks of `crm` and `support`.
struct LockWatch<'a> {
    hub: &'a accord_engine::Hub,
    seen: std::sync::Mutex<Vec<Seen>>,
}

impl accord_engine::SyncObserver for LockWatch<'_> {
    fn page(&self, source: &str, _: &str, _: &accord_connectors::PageStats, _: &accord_store::RunCounts) {
        let now = Utc::now().timestamp_millis();
        let holder = |s: &str| self.hub.store.source_lock_holder(s, now).unwrap().map(|h| h.holder);
        self.seen.lock().unwrap().push((source.to_owned(), holder("crm"), holder("support")));
    }
}

#[test]
fn a_run_holds_its_source_lock_until_its_own_end() {
    let (_dir, hub) = setup();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let watch = LockWatch { hub: &hub, seen: Default::default() };
    let options = SyncOptions {
        sources: vec!["crm".into(), "support".into()],
        sequential: true,
        started_by: "accord test".into(),
        ..SyncOptions::default()
    };
    accord_engine::sync(&hub, &options, &watch, rt.handle()).unwrap();
    let seen = watch.seen.into_inner().unwrap();
    let me = format!("accord test, pid {} on {}", std::process::id(), accord_store::this_host());
    let crm = seen.iter().find(|s| s.0 == "crm").expect("a crm page");
    assert_eq!(
        (crm.1.as_deref(), crm.2.as_deref()),
        (Some(me.as_str()), Some(me.as_str())),
        "both held from the start"
    );
    let support = seen.iter().find(|s| s.0 == "support").expect("a support page");
    assert_eq!(
        (support.1.as_deref(), support.2.as_deref()),
        (None, Some(me.as_str())),
        "crm released once its run ended"
    );
    assert_eq!(hub.store.source_lock_holder("support", Utc::now().timestamp_millis()).unwrap(), None);
}

#[test]
fn a_source_in_a_running_turn_is_left_to_it() {
    let (dir, hub) = setup();
    // A turn that takes a while: many tickets.
    let mut tickets = String::from("id,account\n");
    for i in 0..100_000 {
        tickets.push_str(&format!("t{i},A1\n"));
    }
    write(dir.path(), "tickets.csv", &tickets);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let scheduler = Scheduler::default();
    let t0 = Utc::now();
    std::thread::scope(|s| {
        let long = s.spawn(|| scheduler.run_due(&hub, t0, rt.handle()));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while scheduler.running().is_empty() {
            assert!(std::time::Instant::now() < deadline, "the turn never started");
            std::thread::yield_now();
        }
        let mut running = scheduler.running();
        running.sort();
        assert_eq!(running, ["crm", "support"]);
        // Due, but in the other turn: this one takes nothing, and the next due ignores them.
        let second = scheduler.run_due(&hub, t0, rt.handle());
        assert!(second.due.is_empty() && second.report.is_none(), "{:?}", second.due);
        assert_eq!(scheduler.next_due(&hub, t0).unwrap(), None, "every scheduled source is running");
        let first = long.join().unwrap();
        assert_eq!(first.due, ["crm", "support"]);
        assert_eq!(first.report.unwrap().sources[1].counts.linked, 100_000);
    });
    assert!(scheduler.running().is_empty(), "a finished turn frees its sources");
    assert!(scheduler.next_due(&hub, t0).unwrap().is_some());
}
