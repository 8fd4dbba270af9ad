//! Syncing from the vendor emulators.
//!
//! `cargo bench -p accord-bench --bench sync` prints:
//! 1. a generated company of at least 500,000 records synced from Salesforce, Zendesk and Intercom
//!    emulators with their rate limits off, end to end into SQLite: records/s and peak memory;
//! 2. Intercom contacts read with Intercom's real limit on (10,000 requests a minute, counted in
//!    10-second slices) and one contact per page: achieved requests/s as a fraction of the limit,
//!    and the 429s the emulator sent;
//! 3. every shipped system at its real limit (a company of `ACCORD_BENCH_LIMITED_SIZE` accounts,
//!    default 6,000, enough for Zendesk's 10 export requests a minute to bind), synced one source
//!    after another and then with the sources at the same time: seconds, limiter waits and 429s
//!    of each, and the ratio. `ACCORD_BENCH_ONLY=limits` runs this part alone.
//!
//! Parts 1 and 3 also print a line per vendor: its records, requests, the span from its first
//! request to its last and the records/s over it, the peak requests one window of each of the
//! vendor's limits granted as a fraction of that limit, and the 429s it sent (goal: 0).
//!
//! The emulators run on a runtime of their own, whose threads are named `accord-emulator`, so
//! the CPU time they spend serving (handlers, JSON, their side of the sockets) is measured apart
//! from accord's and printed as a share of the process's CPU time during the sync.
//!
//! `ACCORD_BENCH_SIZE` sets the company size (accounts; default 55,000 ≈ 500,000 records).

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use accord_bench::{peak_rss_mib, process_cpu_secs, threads_cpu_secs};
use accord_core::Config;
use accord_engine::sync::Quiet;
use accord_engine::{Hub, SyncOptions};
use accord_sandbox::{Company, Sandbox, SandboxOptions};

fn main() {
    let size: usize = std::env::var("ACCORD_BENCH_SIZE").ok().and_then(|v| v.parse().ok()).unwrap_or(55_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let emulators = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(EMULATOR_THREAD)
        .enable_all()
        .build()
        .unwrap();

    // `ACCORD_BENCH_ONLY=limits` runs part 3 alone.
    if std::env::var("ACCORD_BENCH_ONLY").as_deref() != Ok("limits") {
        unthrottled_and_intercom(&rt, &emulators, size);
    }
    every_system_at_its_limit(&rt, &emulators);
}

/// Parts 1 and 2.
fn unthrottled_and_intercom(rt: &tokio::runtime::Runtime, emulators: &tokio::runtime::Runtime, size: usize) {
    // 1. Unthrottled, end to end.
    let start = Instant::now();
    let company = Company::generate(3, size);
    let records = company.record_count();
    println!("sync: generated {records} records ({size} accounts) in {:.1} s", start.elapsed().as_secs_f64());
    let start = Instant::now();
    let sandbox = emulators.block_on(Sandbox::start(company, SandboxOptions::unlimited())).unwrap();
    println!("sync: emulators started in {:.2} s", start.elapsed().as_secs_f64());
    let dir = tempfile::tempdir().unwrap();
    let toml = sandbox.accord_toml(dir.path(), false).unwrap();
    let config = Config::from_toml(&toml, dir.path()).unwrap();
    let hub = Hub::open(config).unwrap();
    let rss_before = peak_rss_mib().unwrap_or(0.0);
    let (cpu_before, emulator_before) = (process_cpu_secs(), threads_cpu_secs(EMULATOR_THREAD));
    let start = Instant::now();
    let report = accord_engine::sync(&hub, &SyncOptions::default(), &Quiet, rt.handle()).unwrap();
    let elapsed = start.elapsed();
    let cpu = process_cpu_secs().zip(cpu_before).map(|(a, b)| a - b);
    let emulator = threads_cpu_secs(EMULATOR_THREAD).zip(emulator_before).map(|(a, b)| a - b);
    assert!(!report.failed());
    let fetched: u64 = report.sources.iter().map(|s| s.counts.fetched).sum();
    let requests: u64 = report.sources.iter().flat_map(|s| &s.streams).map(|s| s.requests).sum();
    println!(
        "sync (unthrottled): {fetched} records in {requests} requests, {:.1} s: {:.0} records/s end to end into {}",
        elapsed.as_secs_f64(),
        fetched as f64 / elapsed.as_secs_f64(),
        hub.store.backend()
    );
    println!(
        "sync (unthrottled): peak RSS {:.0} MiB (the emulators and the generated company in the same process hold {:.0} MiB of it)",
        peak_rss_mib().unwrap_or(0.0),
        rss_before
    );
    if let (Some(cpu), Some(emulator)) = (cpu, emulator) {
        println!(
            "sync (unthrottled): CPU {cpu:.1} s, of which the emulators {emulator:.1} s ({:.0}%): {:.0} records per emulator CPU-second",
            100.0 * emulator / cpu,
            fetched as f64 / emulator
        );
    }
    per_vendor("unthrottled", &report, &sandbox);
    drop(hub);
    emulators.block_on(sandbox.shutdown());

    // 2. Intercom's real limit, measured over three whole 10-second slices.
    let mut options = SandboxOptions::unlimited();
    options.intercom.rate_limited = true;
    let company = Company::generate(4, 5_000);
    let sandbox = emulators.block_on(Sandbox::start(company, options)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = sandbox
        .accord_toml(dir.path(), true)
        .unwrap()
        .replace("[sources.intercom]\n", "[sources.intercom]\nper_page = 1\n");
    let config = Config::from_toml(&toml, dir.path()).unwrap();
    let connector = accord_connectors::open_source("intercom", &config.raw.sources["intercom"], &config).unwrap();
    let limit_per_s = 10_000.0 / 60.0;
    let window = std::time::Duration::from_secs(30);
    let (requests, read) = rt.block_on(async {
        let start = Instant::now();
        let mut stream = connector.open_stream("contacts", None, false).unwrap();
        let (mut requests, mut read) = (0u64, 0usize);
        let deadline = tokio::time::Instant::from_std(start + window);
        while let Ok(Ok(Some(page))) = tokio::time::timeout_at(deadline, stream.next_page()).await {
            requests += page.stats.requests;
            read += page.items.len();
        }
        (requests, read)
    });
    let stats = sandbox.intercom.rate_limiter().stats();
    let achieved = requests as f64 / window.as_secs_f64();
    println!(
        "sync (Intercom limit 10,000/min): {read} contacts in {requests} requests over {:.0} s: {achieved:.1} requests/s = {:.1}% of the limit; 429s sent by the emulator: {}",
        window.as_secs_f64(),
        100.0 * achieved / limit_per_s,
        stats.throttled
    );
    emulators.block_on(sandbox.shutdown());
}

/// Part 3: every system at its real limit, one source after another against all at once. Each run
/// has emulators of its own (their limit windows start empty), serving the same company.
fn every_system_at_its_limit(rt: &tokio::runtime::Runtime, emulators: &tokio::runtime::Runtime) {
    let size: usize = std::env::var("ACCORD_BENCH_LIMITED_SIZE").ok().and_then(|v| v.parse().ok()).unwrap_or(6_000);
    let mut seconds = Vec::new();
    for sequential in [true, false] {
        let sandbox =
            emulators.block_on(Sandbox::start(Company::generate(6, size), SandboxOptions::default())).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_toml(&sandbox.accord_toml(dir.path(), true).unwrap(), dir.path()).unwrap();
        let hub = Hub::open(config).unwrap();
        let options = SyncOptions { sequential, ..SyncOptions::default() };
        let start = Instant::now();
        let report = accord_engine::sync(&hub, &options, &Quiet, rt.handle()).unwrap();
        let elapsed = start.elapsed().as_secs_f64();
        assert!(!report.failed(), "{report:?}");
        let fetched: u64 = report.sources.iter().map(|s| s.counts.fetched).sum();
        let waits: u64 = report.sources.iter().flat_map(|s| &s.streams).map(|s| s.rate_limit_waits).sum();
        let throttled = sandbox.throttled();
        println!(
            "sync (every system at its real limit, {}): {fetched} records in {elapsed:.1} s, {waits} waits for the limiter, 429s sent by the emulators: {throttled}",
            if sequential { "one source after another" } else { "sources at the same time" },
        );
        per_vendor(if sequential { "at its limit, sequential" } else { "at its limit, concurrent" }, &report, &sandbox);
        seconds.push(elapsed);
        drop(hub);
        emulators.block_on(sandbox.shutdown());
    }
    println!(
        "sync (every system at its real limit): concurrent sources take {:.2}x the time of sequential ones",
        seconds[1] / seconds[0]
    );
}

/// One line per vendor emulator: records, requests, active span, records/s, how close it came to
/// each of its limits (when they are on), and its 429s.
fn per_vendor(run: &str, report: &accord_engine::SyncReport, sandbox: &Sandbox) {
    for (source, limiter) in sandbox.rate_limiters() {
        let Some(r) = report.sources.iter().find(|s| s.source == source) else { continue };
        let stats = limiter.stats();
        let active = stats.active().as_secs_f64();
        let limits: Vec<String> = limiter
            .scope_use()
            .iter()
            .map(|u| {
                format!(
                    "{} {}/{} per {} s ({:.0}%)",
                    u.scope,
                    u.peak,
                    u.limit.max,
                    u.limit.window.as_secs(),
                    100.0 * u.fraction()
                )
            })
            .collect();
        println!(
            "sync ({run}) {source}: {} records in {} requests over {active:.1} s: {:.0} records/s; limits: {}; 429s: {}",
            r.counts.fetched,
            stats.requests,
            r.counts.fetched as f64 / active.max(0.001),
            if limits.is_empty() { "off".to_owned() } else { limits.join(", ") },
            stats.throttled
        );
    }
}

/// The name of the emulator runtime's threads (`/proc` keeps 15 bytes of it).
const EMULATOR_THREAD: &str = "accord-emulator";
