//! Order-freedom: the same generated company, synced with its sources in any order (the System of
//! Record not necessarily first), at any page sizes, with passes cut short at any page and resumed,
//! ends in one identical link state, equal to the generator's ground truth.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};

use accord_engine::{Hub, SyncOptions};
use accord_sandbox::{Company, Sandbox, SandboxOptions};
use proptest::prelude::*;

use crate::crash::{StopAt, assert_same, link_state};
use crate::sandbox::{differences, runtime};

const SOURCES: [&str; 3] = ["salesforce", "zendesk", "intercom"];

/// One way of syncing the company.
#[derive(Debug, Clone)]
struct Schedule {
    order: Vec<usize>,
    zendesk_per_page: usize,
    salesforce_batch: usize,
    intercom_per_page: usize,
    /// Per source (in `order`): stop its first sync before this page (1-based), then resume.
    stops: Vec<Option<u64>>,
}

fn schedules() -> impl Strategy<Value = Schedule> {
    (
        Just(vec![0usize, 1, 2]).prop_shuffle(),
        3usize..40,
        5usize..60,
        5usize..70,
        proptest::collection::vec(proptest::option::of(1u64..12), 3),
    )
        .prop_map(|(order, zendesk_per_page, salesforce_batch, intercom_per_page, stops)| Schedule {
            order,
            zendesk_per_page,
            salesforce_batch,
            intercom_per_page,
            stops,
        })
}

fn open(dir: &std::path::Path) -> Hub {
    Hub::open(accord_core::Config::load(&dir.join("accord.toml")).unwrap()).unwrap()
}

/// Syncs the company by `schedule`; returns the link state and the differences from the truth.
fn run(company: &Company, schedule: &Schedule) -> (std::collections::BTreeMap<String, Vec<String>>, Vec<String>) {
    let rt = runtime();
    let mut options = SandboxOptions::unlimited();
    options.zendesk.per_page = schedule.zendesk_per_page;
    options.salesforce.batch_size = schedule.salesforce_batch;
    let sandbox = rt.block_on(Sandbox::start(company.clone(), options)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = sandbox
        .accord_toml(dir.path(), false)
        .unwrap()
        .replace("[sources.intercom]\n", &format!("[sources.intercom]\nper_page = {}\n", schedule.intercom_per_page));
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    for (i, &s) in schedule.order.iter().enumerate() {
        let only = SyncOptions { sources: vec![SOURCES[s].to_owned()], full: false, ..SyncOptions::default() };
        if let Some(stop_at) = schedule.stops[i] {
            let hub = open(dir.path());
            let observer = StopAt { stop_at, seen: AtomicU64::new(0) };
            // A short stream may end before the stop: then the sync simply finishes.
            let _ =
                std::panic::catch_unwind(AssertUnwindSafe(|| accord_engine::sync(&hub, &only, &observer, rt.handle())));
        }
        let hub = open(dir.path());
        let report = accord_engine::sync(&hub, &only, &accord_engine::sync::Quiet, rt.handle()).unwrap();
        assert!(!report.failed(), "{schedule:?}: {:?}", report.sources[0].error);
    }
    let hub = open(dir.path());
    // An incremental pass over everything afterwards changes nothing.
    accord_engine::sync(&hub, &SyncOptions::default(), &accord_engine::sync::Quiet, rt.handle()).unwrap();
    let truth = sandbox.truth();
    let state = link_state(hub.store.as_ref());
    let diffs: Vec<String> = differences(&hub, &truth).iter().map(ToString::to_string).collect();
    drop(hub);
    rt.block_on(sandbox.shutdown());
    (state, diffs)
}

fn canonical() -> Schedule {
    Schedule {
        order: vec![0, 1, 2],
        zendesk_per_page: 100,
        salesforce_batch: 200,
        intercom_per_page: 60,
        stops: vec![None; 3],
    }
}

fn every_order_converges(cases: u32) {
    let company = Company::generate(11, 60);
    let (expected, diffs) = run(&company, &canonical());
    assert!(diffs.is_empty(), "the canonical sync differs from the truth:\n{}", diffs.join("\n"));
    let trials = AtomicU64::new(0);
    proptest!(ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }, |(schedule in schedules())| {
        trials.fetch_add(1, Ordering::SeqCst);
        let (state, diffs) = run(&company, &schedule);
        prop_assert!(diffs.is_empty(), "{schedule:?} differs from the truth:\n{}", diffs.join("\n"));
        assert_same(&expected, &state, &format!("{schedule:?}"));
    });
    eprintln!("{} schedules, each identical to the canonical sync and to the truth", trials.load(Ordering::SeqCst));
}

#[test]
fn any_source_order_page_size_and_cut_gives_one_state() {
    every_order_converges(6);
}

/// The long version (`cargo test -p accord-engine --test it -- --ignored order`).
#[test]
#[ignore = "long: 64 schedules"]
fn sixty_four_schedules_give_one_state() {
    every_order_converges(64);
}
