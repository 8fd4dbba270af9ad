//! Xero's day of calls across processes: a sync that spends the organisation's budget stops
//! before the call it cannot pay for and keeps its checkpoints; a new process (a new hub on the
//! same store) knows the budget is spent before its first call and makes none; the progress the
//! engine reports carries what is left; a propagate run knows it too; the day after, the sync
//! finishes with every record.

use std::sync::Mutex;

use accord_connectors::PageStats;
use accord_engine::sync::SyncObserver;
use accord_engine::{Hub, SyncOptions, SyncReport};
use accord_sandbox::{Company, Sandbox, SandboxOptions};
use accord_store::RunCounts;

use crate::sandbox::runtime;

/// The calls left after each Xero page, in order.
#[derive(Default)]
struct Pages(Mutex<Vec<(String, Option<u64>)>>);

impl SyncObserver for Pages {
    fn page(&self, source: &str, object: &str, stats: &PageStats, _counts: &RunCounts) {
        if source == "xero" {
            self.0.lock().unwrap().push((object.to_owned(), stats.day_calls_left));
        }
    }
}

fn xero_errors(report: &SyncReport) -> Vec<(String, String)> {
    let xero = report.sources.iter().find(|s| s.source == "xero").expect("xero ran");
    xero.streams.iter().filter_map(|st| Some((st.object.clone(), st.error.clone()?))).collect()
}

#[test]
fn xeros_day_budget_is_kept_across_processes_and_shown_with_each_page() {
    let rt = runtime();
    let sandbox = rt.block_on(Sandbox::start(Company::generate(8, 120), SandboxOptions::unlimited())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml =
        sandbox.accord_toml(dir.path(), false).unwrap().replace("[sources.xero]\n", "[sources.xero]\npage_size = 5\n");
    let config = || accord_core::Config::from_toml(&toml, dir.path()).unwrap();
    let options = SyncOptions { sources: vec!["salesforce".into(), "xero".into()], ..SyncOptions::default() };
    let contacts = sandbox.xero.snapshot().contacts.len();
    assert!(contacts > 20, "contacts span more than four pages of 5: {contacts}");

    // Process 1: four calls left today. Four pages come, each saying what is left; then no call.
    sandbox.xero.set_day_remaining(4);
    let pages = Pages::default();
    let hub = Hub::open(config()).unwrap();
    let report = accord_engine::sync(&hub, &options, &pages, rt.handle()).unwrap();
    let seen = pages.0.lock().unwrap().clone();
    let contacts_left: Vec<Option<u64>> = seen.iter().map(|(_, l)| *l).collect();
    assert_eq!(contacts_left, vec![Some(3), Some(2), Some(1), Some(0)], "{seen:?}");
    assert!(seen.iter().all(|(o, _)| o == "contacts"));
    let errors = xero_errors(&report);
    assert_eq!(errors.len(), 4, "every stream stops on the spent budget: {errors:?}");
    assert!(errors.iter().all(|(_, e)| e.contains("daily limit") && e.contains("no call was made")), "{errors:?}");
    let xero = report.sources.iter().find(|s| s.source == "xero").unwrap();
    assert_eq!(xero.streams[0].day_calls_left, Some(0));
    assert_eq!(sandbox.xero.day_used(), 5_000, "the budget and not a call more");
    drop(hub);

    // Process 2: a new hub. The budget comes from the checkpoints: no call at all.
    let hub = Hub::open(config()).unwrap();
    let before = sandbox.xero.day_used();
    let report = accord_engine::sync(&hub, &options, &pages, rt.handle()).unwrap();
    let errors = xero_errors(&report);
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors.iter().all(|(_, e)| e.contains("no call was made") && e.contains("resumes")), "{errors:?}");
    assert_eq!(sandbox.xero.day_used(), before, "a spent budget is known before the first call");
    // Writing back spends the same budget: `accord propagate --apply` learns it too.
    let mut plan = accord_engine::propagate::plan(&hub).unwrap();
    plan.upgrades.retain(|u| u.key.source == "xero");
    plan.creates.clear();
    assert!(!plan.upgrades.is_empty(), "the contacts read so far include some linked by email");
    let applied = accord_engine::propagate::apply(&hub, &plan, &accord_engine::sync::Quiet, rt.handle()).unwrap();
    assert_eq!((applied.written, applied.failed), (0, plan.upgrades.len() as u64), "{applied:?}");
    assert!(applied.errors.values().all(|e| e.contains("no call was made")), "{:?}", applied.errors);
    assert_eq!(sandbox.xero.day_used(), before);
    drop(hub);

    // The next day (by Xero's clock): the sync finishes, every contact read once.
    sandbox.clock().advance(chrono::Duration::hours(24) + chrono::Duration::minutes(1));
    let hub = Hub::open(config()).unwrap();
    let report = accord_engine::sync(&hub, &options, &Pages::default(), rt.handle()).unwrap();
    assert!(xero_errors(&report).is_empty(), "{report:?}");
    let mut stored = 0;
    hub.store
        .for_each_record(accord_core::ObjectKind::Organization, "xero", "contacts", &mut |r| {
            stored += usize::from(!r.is_deleted)
        })
        .unwrap();
    let quarantined = crate::quarantine(&hub)
        .iter()
        .filter(|q| (q.key.source.as_str(), q.key.object.as_str()) == ("xero", "contacts"))
        .count();
    assert_eq!(stored + quarantined, contacts, "no gap across the two stops: {report:?}");
    let xero = report.sources.iter().find(|s| s.source == "xero").unwrap();
    let left = xero.streams.iter().rev().find_map(|s| s.day_calls_left).expect("the budget is reported");
    assert!(left < 5_000 && left > 4_000, "{left}");
    rt.block_on(sandbox.shutdown());
}
