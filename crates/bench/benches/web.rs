//! Server time of the web app's heaviest pages: the 360 page of an account with 100,000 usage
//! events and 1,000 tickets, and the accounts list of a hub with 100,000 accounts (first page, and
//! a deep page sorted by name), on SQLite.
//!
//! `cargo bench -p accord-bench --bench web` prints p50 and p99 per page (goal: p99 under 100 ms).
//! Each request goes through the whole router (session lookup, the engine's reads, rendering) and
//! is timed until its body is read. `ACCORD_BENCH_REQUESTS` (default 200) sets requests per page;
//! `ACCORD_BENCH_DIR=folder` keeps the generated hub there.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_bench::Gen;
use accord_core::Config;
use accord_engine::Hub;
use accord_store::WriteBatch;
use accord_store::contract::{account, event, ticket};
use tower::ServiceExt;

const ACCOUNTS: u64 = 100_000;
const EVENTS: u64 = 100_000;
const TICKETS: u64 = 1_000;
const USERS: u64 = 200;
const HEAVY: &str = "100000";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let requests: usize = std::env::var("ACCORD_BENCH_REQUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    // `ACCORD_BENCH_DIR` keeps the hub in a folder of your choosing, to look at afterwards.
    let temp = tempfile::tempdir().unwrap();
    let dir = match std::env::var_os("ACCORD_BENCH_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            tempfile::Builder::new().prefix("web-").tempdir_in(d).unwrap().keep()
        }
        None => temp.path().to_path_buf(),
    };
    std::fs::write(dir.join("key"), "bench-key").unwrap();
    let toml = r#"
store = "sqlite://hub.db"
[system_of_record]
source = "crm"
object = "accounts"
account_id = "id"
name = "name"
[sources.crm]
kind = "file"
[[sources.crm.objects]]
name = "accounts"
kind = "account"
path = "accounts.csv"
[server]
api_key = { file = "key" }
"#;
    let config = Config::from_toml(toml, &dir).unwrap();
    let started = Instant::now();
    {
        let store = accord_store::open_and_migrate(&config.store_url()).unwrap();
        for chunk in (0..ACCOUNTS).collect::<Vec<_>>().chunks(10_000) {
            let accounts =
                chunk.iter().map(|i| account(&(100_000 + i).to_string(), &format!("Account {i:06}"))).collect();
            store.apply(&WriteBatch { accounts, ..WriteBatch::default() }).unwrap();
        }
        let mut g = Gen::new(7);
        let now = chrono::Utc::now().timestamp_millis();
        let modules = ["reports", "dashboards", "billing", "admin", "search"];
        let features = ["export", "create", "share", "filter", "schedule", "download"];
        for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(10_000) {
            let records = chunk
                .iter()
                .map(|i| {
                    let user = format!("u{}", g.below(USERS));
                    let at = now - (g.below(89 * 86_400) as i64) * 1_000;
                    let (m, f) = (modules[g.below(5) as usize], features[g.below(6) as usize]);
                    event(
                        &format!("e{i}"),
                        HEAVY,
                        &user,
                        &format!("s-{user}-{}", at / 3_600_000),
                        at,
                        Some((m, f, 1.0)),
                        None,
                    )
                })
                .collect();
            store.apply(&WriteBatch { records, ..WriteBatch::default() }).unwrap();
        }
        let records = (0..TICKETS).map(|i| ticket(&format!("T{i}"), HEAVY, &format!("Ticket number {i}"))).collect();
        store.apply(&WriteBatch { records, ..WriteBatch::default() }).unwrap();
    }
    eprintln!(
        "hub of {ACCOUNTS} accounts, {EVENTS} events and {TICKETS} tickets written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let hub = Arc::new(Hub::open(config).unwrap());
    let state = accord_server::state_from_config(hub.clone(), &hub.config).unwrap();
    accord_web::users::add(hub.store.as_ref(), "bench", accord_web::Role::Viewer, "bench password").unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let token = match accord_web::auth::sign_in(hub.store.as_ref(), "bench", "bench password", now).unwrap() {
        accord_web::auth::SignIn::Ok { token } => token,
        other => panic!("bench user cannot sign in: {other:?}"),
    };
    let app = rt.block_on(async { accord_server::app(state) });
    let cookie = format!("accord_session={token}");
    let pages = [
        ("360 page (100,000 events, 1,000 tickets)", format!("/accounts/{HEAVY}")),
        ("accounts list, first page of 100,000", "/accounts".to_owned()),
        ("accounts list, page 1,000 by name, descending", "/accounts?sort=name&dir=desc&page=1000".to_owned()),
        ("accounts list, search \"Account 0999\"", "/accounts?q=Account+0999".to_owned()),
    ];
    println!("web pages, server time over {requests} requests each (SQLite):");
    for (label, path) in pages {
        let mut times = Vec::with_capacity(requests);
        let mut bytes = 0;
        for i in 0..requests + 5 {
            let req = axum::http::Request::get(&path)
                .header(axum::http::header::COOKIE, &cookie)
                .body(axum::body::Body::empty())
                .unwrap();
            let (app, shown) = (app.clone(), path.clone());
            let t = Instant::now();
            let body = rt.block_on(async move {
                let res = app.oneshot(req).await.unwrap();
                assert_eq!(res.status(), 200, "{shown}");
                axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap()
            });
            let elapsed = t.elapsed();
            bytes = body.len();
            if i >= 5 {
                times.push(elapsed); // the first requests warm the caches
            }
        }
        times.sort();
        let (p50, p99) = (percentile(&times, 0.50), percentile(&times, 0.99));
        println!(
            "  {label:<48} p50 {:>6.1} ms  p99 {:>6.1} ms  ({} KiB){}",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            bytes / 1024,
            if p99 < Duration::from_millis(100) { "" } else { "  over the 100 ms goal" }
        );
    }
}
