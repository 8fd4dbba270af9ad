//! Event API load: NDJSON batches of 1,000 events posted over loopback by several concurrent
//! connections into a hub on SQLite (or PostgreSQL with `ACCORD_BENCH_STORE=postgres://...`).
//!
//! `cargo bench -p accord-bench --bench events` prints sustained events/s, p50/p99 batch latency,
//! and — in the same run, on the same payloads — how fast plain `serde_json` parses the lines, as
//! the ceiling the HTTP path is compared with. Each figure is the median of `ACCORD_BENCH_RUNS`
//! runs (default 3), each into a fresh hub. `ACCORD_BENCH_BATCHES` (default 400) and
//! `ACCORD_BENCH_CONNECTIONS` (default 4) change the load.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_bench::{Gen, median, runs};
use accord_core::Config;
use accord_engine::Hub;

const ACCOUNTS: usize = 1_000;
const USERS_PER_ACCOUNT: usize = 10;
const BATCH: usize = 1_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// NDJSON batches of unique events: most carry only a user id (resolved through the mapping
/// table), some an account id.
fn batches(n: usize) -> Vec<String> {
    let mut g = Gen::new(99);
    let base = 1_714_550_400_000_i64;
    let modules = ["reports", "dashboards", "billing", "admin"];
    let features = ["export", "create", "share", "filter", "search"];
    (0..n)
        .map(|b| {
            let mut out = String::with_capacity(BATCH * 200);
            for i in 0..BATCH {
                let account = g.below(ACCOUNTS as u64) as usize;
                let user = format!("u-{account}-{}", g.below(USERS_PER_ACCOUNT as u64));
                let at = base + ((b * BATCH + i) as i64) * 37;
                let module = modules[g.below(4) as usize];
                let feature = features[g.below(5) as usize];
                if g.below(10) < 3 {
                    out.push_str(&format!(
                        r#"{{"account_id":"A{account}","user_id":"{user}","created_at":{at},"session_id":"s-{user}","action":"feature","product":"app","module":"{module}","feature":"{feature}","total":1}}"#
                    ));
                } else {
                    out.push_str(&format!(
                        r#"{{"user_id":"{user}","created_at":{at},"session_id":"s-{user}","action":"feature","product":"app","module":"{module}","feature":"{feature}","total":1}}"#
                    ));
                }
                out.push('\n');
            }
            out
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Figures {
    backend: &'static str,
    seconds: f64,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    parse_rate: f64,
    /// CPU time of the whole process (server and client) per event, in microseconds.
    cpu_us: f64,
    /// CPU time of the one thread that commits every request's events, per event.
    commit_us: f64,
}

fn run_once(n_batches: usize, connections: usize) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("accounts.csv"), "id,name,joined\n").unwrap();
    std::fs::write(dir.path().join("key"), "bench-key").unwrap();
    std::fs::write(dir.path().join("auth"), "bench-auth").unwrap();
    std::fs::write(dir.path().join("send"), "bench-send").unwrap();
    let store = std::env::var("ACCORD_BENCH_STORE").unwrap_or_else(|_| "sqlite://hub.db".into());
    if store.starts_with("postgres") {
        accord_bench::empty_postgres(&store);
    }
    let toml = format!(
        r#"
store = "{store}"
[system_of_record]
source = "crm"
object = "accounts"
account_id = "id"
name = "name"
join_date = "joined"
[sources.crm]
kind = "file"
[[sources.crm.objects]]
name = "accounts"
kind = "account"
path = "accounts.csv"
[server]
api_key = {{ file = "key" }}
body_limit_bytes = 67108864
[[server.event_sources]]
source = "product"
auth_key = {{ file = "auth" }}
api_key = {{ file = "send" }}
"#
    );
    let config = Config::from_toml(&toml, dir.path()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let hub = Arc::new(Hub::open(config).unwrap());
    let backend = hub.store.backend();
    let state = accord_server::state_from_config(hub.clone(), &hub.config).unwrap();
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, accord_server::app(state)).await.unwrap() });
        addr
    });
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().unwrap();
    // Accounts and users through the Account API, as a customer would load them.
    rt.block_on(async {
        let accounts: Vec<_> = (0..ACCOUNTS)
            .map(|a| serde_json::json!({"account_id": format!("A{a}"), "name": format!("Account {a}"), "join_date": 1_600_000_000_000_i64}))
            .collect();
        let url = format!("http://{addr}/api/v2/accounts?api_key=bench-key");
        client.post(&url).json(&serde_json::json!({"records": accounts})).send().await.unwrap();
        let users: Vec<_> = (0..ACCOUNTS)
            .flat_map(|a| (0..USERS_PER_ACCOUNT).map(move |u| serde_json::json!({"user_id": format!("u-{a}-{u}"), "account_id": format!("A{a}")})))
            .collect();
        let url = format!("http://{addr}/api/v2/account_users?api_key=bench-key");
        let r: serde_json::Value = client.post(&url).json(&serde_json::json!({"records": users})).send().await.unwrap().json().await.unwrap();
        assert_eq!(r["stored"], ACCOUNTS * USERS_PER_ACCOUNT);
    });

    let payloads = Arc::new(batches(n_batches));
    let warmup = 5.min(n_batches);
    let url = format!("http://{addr}/v1/bench-auth/bench-send");
    let (cpu_before, commit_before) = (
        accord_bench::process_cpu_secs().unwrap_or(f64::NAN),
        accord_bench::threads_cpu("accord-ingest").unwrap_or_default(),
    );
    let start = Instant::now();
    let latencies = rt.block_on(async {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let (client, url, payloads, next) = (client.clone(), url.clone(), payloads.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= payloads.len() {
                        return lat;
                    }
                    let t = Instant::now();
                    let r = client.post(&url).body(payloads[i].clone()).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    let body: serde_json::Value = r.json().await.unwrap();
                    assert_eq!(body["stored"], BATCH, "{body}");
                    if i >= warmup {
                        lat.push(t.elapsed());
                    }
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    let elapsed = start.elapsed();
    let cpu = accord_bench::process_cpu_secs().unwrap_or(f64::NAN) - cpu_before;
    let commit = accord_bench::threads_cpu_secs_since("accord-ingest", &commit_before).unwrap_or(f64::NAN);
    let mut latencies = latencies;
    latencies.sort();
    let events = n_batches * BATCH;
    let rate = events as f64 / elapsed.as_secs_f64();

    // The same payloads parsed by serde_json alone, one line at a time.
    let start = Instant::now();
    let mut parsed = 0usize;
    for p in payloads.iter() {
        for line in p.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            parsed += usize::from(v.is_object());
        }
    }
    let parse_rate = parsed as f64 / start.elapsed().as_secs_f64();
    let stored = hub.store.records(accord_core::ObjectKind::Event, &Default::default(), 0, 1).unwrap().total;
    assert_eq!(stored as usize, events);

    Figures {
        backend,
        seconds: elapsed.as_secs_f64(),
        rate,
        p50_ms: percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        p99_ms: percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        parse_rate,
        cpu_us: cpu * 1e6 / events as f64,
        commit_us: commit * 1e6 / events as f64,
    }
}

fn main() {
    let n_batches = env("ACCORD_BENCH_BATCHES", 400);
    let connections = env("ACCORD_BENCH_CONNECTIONS", 4);
    let all: Vec<Figures> = (0..runs()).map(|_| run_once(n_batches, connections)).collect();
    let n = all.len();
    let backend = all[0].backend;
    let m = |f: fn(&Figures) -> f64| median(all.iter().map(f).collect());
    let (rate, parse_rate) = (m(|f| f.rate), m(|f| f.parse_rate));
    println!(
        "events ({backend}): {} events in {n_batches} batches of {BATCH}, {connections} connections, in {:.2} s (median of {n} runs)",
        n_batches * BATCH,
        m(|f| f.seconds)
    );
    println!(
        "events ({backend}): sustained {rate:.0} events/s; batch latency p50 {:.1} ms, p99 {:.1} ms (medians of {n})",
        m(|f| f.p50_ms),
        m(|f| f.p99_ms)
    );
    println!(
        "events ({backend}): serde_json alone parses the same lines at {parse_rate:.0} events/s; the Event API reaches {:.1}% of that",
        100.0 * rate / parse_rate
    );
    // CPU time is steadier than wall-clock time on a busy machine: the commit thread is serial, so
    // its microseconds per event bound the rate an idle core could sustain.
    let commit_us = m(|f| f.commit_us);
    println!(
        "events ({backend}): CPU per event {:.2} us (whole process, client included); commit thread {commit_us:.2} us, a ceiling of {:.0} events/s (medians of {n})",
        m(|f| f.cpu_us),
        1e6 / commit_us
    );
}
