//! Convergence: a sync stopped dead after any committed page, then resumed by a fresh process,
//! ends in exactly the state of an uninterrupted sync — every record, its account and the rule
//! that linked it, every quarantine row with its reason and hints — and `accord rejects retry`
//! on the result changes nothing.
//!
//! The stop is simulated in-process: an observer panics when a chosen page of a chosen stream is
//! about to be handed to the writer, so the pages before it are committed and nothing after
//! (no re-link, no in-memory state) survives; the hub is then dropped, as a killed process's
//! memory is. The subprocess `kill -9` version is the `crash` bench.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};

use accord_connectors::PageStats;
use accord_engine::{Hub, SyncObserver, SyncOptions};
use accord_sandbox::{Company, Sandbox, SandboxOptions};
use accord_store::{QuarantineQuery, RunCounts};

use crate::sandbox::runtime;

pub use accord_store::contract::link_state;

/// Asserts two link states are equal, naming the first rows that differ.
pub fn assert_same(expected: &BTreeMap<String, Vec<String>>, got: &BTreeMap<String, Vec<String>>, what: &str) {
    for (table, rows) in expected {
        let missing: Vec<_> = rows.iter().filter(|r| !got[table].contains(r)).take(5).collect();
        let extra: Vec<_> = got[table].iter().filter(|r| !rows.contains(r)).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{what}: {table} differs\nmissing: {missing:#?}\nextra: {extra:#?}"
        );
    }
}

/// Panics when page `stop_at` (1-based, counted over every stream of the sync) is about to be
/// written: the sync stops like a killed process after committing the pages before it.
pub struct StopAt {
    pub stop_at: u64,
    pub seen: AtomicU64,
}

impl SyncObserver for StopAt {
    fn page(&self, _source: &str, _object: &str, _stats: &PageStats, _counts: &RunCounts) {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.stop_at {
            std::panic::panic_any("simulated kill");
        }
    }
}

struct CountPages(AtomicU64);
impl SyncObserver for CountPages {
    fn page(&self, _source: &str, _object: &str, _stats: &PageStats, _counts: &RunCounts) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The sandbox's config, with Intercom paging by 9.
fn write_config(sandbox: &Sandbox, dir: &std::path::Path) {
    let toml =
        sandbox.accord_toml(dir, false).unwrap().replace("[sources.intercom]\n", "[sources.intercom]\nper_page = 9\n");
    std::fs::write(dir.join("accord.toml"), toml).unwrap();
}

fn open(dir: &std::path::Path) -> Hub {
    Hub::open(accord_core::Config::load(&dir.join("accord.toml")).unwrap()).unwrap()
}

#[test]
fn a_sync_stopped_after_any_page_resumes_to_the_uninterrupted_state() {
    stopped_syncs_converge(8);
}

/// The long version: 40 stop points (`cargo test -p accord-engine --test it -- --ignored crash`).
#[test]
#[ignore = "long: 40 stopped and resumed syncs"]
fn forty_stopped_syncs_all_resume_to_the_uninterrupted_state() {
    stopped_syncs_converge(40);
}

fn stopped_syncs_converge(trials: u64) {
    let rt = runtime();
    let company = Company::generate(7, 60);
    let mut options = SandboxOptions::unlimited();
    // Small pages, so a stop can fall between many pages of every stream.
    options.zendesk.per_page = 7;
    options.salesforce.batch_size = 11;
    let sandbox = rt.block_on(Sandbox::start(company, options)).unwrap();

    let clean_dir = tempfile::tempdir().unwrap();
    write_config(&sandbox, clean_dir.path());
    let clean = open(clean_dir.path());
    let pages = CountPages(AtomicU64::new(0));
    assert!(!accord_engine::sync(&clean, &SyncOptions::default(), &pages, rt.handle()).unwrap().failed());
    let expected = link_state(clean.store.as_ref());
    let total = pages.0.load(Ordering::SeqCst);
    assert!(total > 20, "only {total} pages: the stop points would not cover the streams");
    assert!(
        expected["pending_keys"].is_empty(),
        "a finished sync left the change feed: {:?}",
        expected["pending_keys"]
    );
    let retry = clean.retry(&QuarantineQuery::default()).unwrap();
    assert_same(&expected, &link_state(clean.store.as_ref()), "retry right after a sync");
    assert_eq!(retry.linked, 0, "retry right after a sync linked records: the sync had not settled");
    let quarantined = expected["quarantine"].len() as u64;
    assert_eq!(retry.retried, quarantined, "the retry report counts each quarantined record once: {retry:?}");
    let still: u64 = retry.still_rejected.values().sum();
    assert_eq!(still + retry.not_retryable, quarantined, "{retry:?}");

    // A deterministic spread of stop points over the whole sync (every stream gets some).
    let stops: Vec<u64> = (1..=trials).map(|i| 1 + i * (total - 1) / (trials + 1)).collect();
    eprintln!("{} stop points over {total} pages: {stops:?}", stops.len());
    for stop_at in stops {
        let dir = tempfile::tempdir().unwrap();
        write_config(&sandbox, dir.path());
        {
            let hub = open(dir.path());
            let observer = StopAt { stop_at, seen: AtomicU64::new(0) };
            let stopped = std::panic::catch_unwind(AssertUnwindSafe(|| {
                accord_engine::sync(&hub, &SyncOptions::default(), &observer, rt.handle())
            }));
            assert!(stopped.is_err(), "the sync was meant to stop at page {stop_at}");
        }
        let hub = open(dir.path());
        let report =
            accord_engine::sync(&hub, &SyncOptions::default(), &accord_engine::sync::Quiet, rt.handle()).unwrap();
        assert!(!report.failed());
        assert!(
            report.sources.iter().any(|s| s.interrupted_runs == 1),
            "the resumed sync did not mark the stopped run as interrupted"
        );
        assert_same(&expected, &link_state(hub.store.as_ref()), &format!("stopped at page {stop_at} of {total}"));
    }
    rt.block_on(sandbox.shutdown());
}
