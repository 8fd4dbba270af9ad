//! Crash convergence with real processes: `accord`'s sync, run as a child process, killed with
//! SIGKILL at random moments, then run again to the end; the final link state (every record, its
//! account and rule, every rejection with reason and hints, the dependency keys, the change feed)
//! must equal an uninterrupted sync's.
//!
//! `cargo bench -p accord-bench --bench crash` prints the trials, where each kill fell (pages
//! committed before it) and the differences found (goal: 0). `ACCORD_BENCH_TRIALS` sets the number
//! of trials (default 24), `ACCORD_BENCH_SIZE` the company (accounts; default 1,000).
//!
//! The child is this same executable, started with `ACCORD_CRASH_CHILD=<dir>`: it opens the hub
//! configured there and syncs it, as `accord sync` does, and the parent kills it.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use accord_bench::Gen;
use accord_core::Config;
use accord_engine::sync::Quiet;
use accord_engine::{Hub, SyncOptions};
use accord_sandbox::{Company, Sandbox, SandboxOptions};
use accord_store::contract::link_state;

const CHILD: &str = "ACCORD_CRASH_CHILD";

fn open(dir: &std::path::Path) -> Hub {
    Hub::open(Config::load(&dir.join("accord.toml")).expect("config")).expect("hub")
}

fn sync_here(dir: &std::path::Path) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let hub = open(dir);
    let report = accord_engine::sync(&hub, &SyncOptions::default(), &Quiet, rt.handle()).expect("sync");
    assert!(!report.failed(), "{:?}", report.sources.iter().filter_map(|s| s.error.as_ref()).collect::<Vec<_>>());
}

/// Runs a sync in a child process; kills it with SIGKILL after `kill_after` if given.
/// Returns true if it ran to its end.
fn child_sync(dir: &std::path::Path, kill_after: Option<Duration>) -> bool {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .env(CHILD, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the child sync");
    let Some(after) = kill_after else {
        return child.wait().unwrap().success();
    };
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    false
}

fn committed_pages(dir: &std::path::Path) -> u64 {
    let hub = open(dir);
    hub.store.runs(None, 100).unwrap().iter().map(|r| r.counts.fetched).sum()
}

fn differences(a: &BTreeMap<String, Vec<String>>, b: &BTreeMap<String, Vec<String>>) -> usize {
    a.iter()
        .map(|(table, rows)| {
            let other = &b[table];
            rows.iter().filter(|r| !other.contains(r)).count() + other.iter().filter(|r| !rows.contains(r)).count()
        })
        .sum()
}

fn main() {
    if let Some(dir) = std::env::var_os(CHILD) {
        sync_here(std::path::Path::new(&dir));
        return;
    }
    let trials: u64 = std::env::var("ACCORD_BENCH_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(24);
    let size: usize = std::env::var("ACCORD_BENCH_SIZE").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut options = SandboxOptions::unlimited();
    // Small pages: many commits to fall between.
    options.zendesk.per_page = 25;
    options.salesforce.batch_size = 50;
    let sandbox = rt.block_on(Sandbox::start(Company::generate(7, size), options)).unwrap();
    let write_config = |dir: &std::path::Path| {
        let toml = sandbox
            .accord_toml(dir, false)
            .unwrap()
            .replace("[sources.intercom]\n", "[sources.intercom]\nper_page = 20\n");
        std::fs::write(dir.join("accord.toml"), toml).unwrap();
    };

    let clean = tempfile::tempdir().unwrap();
    write_config(clean.path());
    let start = Instant::now();
    assert!(child_sync(clean.path(), None), "the uninterrupted sync failed");
    let full = start.elapsed();
    let expected = link_state(open(clean.path()).store.as_ref());
    let records: usize = expected.values().map(Vec::len).sum();
    println!("crash: uninterrupted sync of {size} accounts in {:.2} s; {records} state rows", full.as_secs_f64());

    let mut rng = Gen::new(2026);
    let mut killed = 0;
    let mut differing = 0;
    for trial in 1..=trials {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path());
        // Anywhere from the first request to just before the end.
        let after = full.mul_f64(0.02 + 0.96 * (rng.below(10_000) as f64 / 10_000.0));
        let finished = child_sync(dir.path(), Some(after));
        let fetched = committed_pages(dir.path());
        if !finished {
            killed += 1;
        }
        assert!(child_sync(dir.path(), None), "trial {trial}: the resumed sync failed");
        let got = link_state(open(dir.path()).store.as_ref());
        let diff = differences(&expected, &got);
        if diff > 0 {
            differing += 1;
        }
        println!(
            "crash: trial {trial:>2}: SIGKILL after {:>5.0} ms ({}, {fetched} records committed), resumed: {diff} differences",
            after.as_secs_f64() * 1000.0,
            if finished { "had finished" } else { "killed" },
        );
    }
    println!(
        "crash: {trials} trials, {killed} killed mid-sync, {differing} ended different from the uninterrupted sync"
    );
    rt.block_on(sandbox.shutdown());
    assert_eq!(differing, 0, "a killed and resumed sync must end where an uninterrupted one does");
}
