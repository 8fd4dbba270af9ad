//! kill -9 during Event API ingest: `accord serve` is killed while clients post, three times, and
//! restarted. Every event a response acknowledged is stored, none twice, and once the last server
//! has rolled up what the killed ones left in the usage backlog, the rollups count exactly the
//! stored events. Runs on SQLite always, and on PostgreSQL when `ACCORD_TEST_POSTGRES_URL` is set.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::accord;
use crate::postgres::{Killed, event_hub, free_port, pg_url, schema, wait_healthy};

const ACCOUNTS: usize = 50;
const PER_BATCH: usize = 200;

/// An hour ago: recent enough that the server's retention never prunes the events under test.
fn an_hour_ago() -> i64 {
    chrono::Utc::now().timestamp_millis() - 3_600_000
}

/// What the store holds: the `created_at` of every stored event, and the events the rollups count.
type Read = Box<dyn Fn() -> (Vec<i64>, i64)>;

fn run(store: &str, read: Read) {
    let dir = event_hub(store, ACCOUNTS);
    assert!(accord(dir.path(), &["sync"]).status.success());

    let serve = |port: u16| {
        Killed(
            Command::new(env!("CARGO_BIN_EXE_accord"))
                .arg("--config")
                .arg(dir.path().join("accord.toml"))
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let t0 = an_hour_ago();
    // Batch b holds the events created at t0 + b * PER_BATCH + i.
    let body = move |b: usize| -> String {
        (0..PER_BATCH)
            .map(|i| {
                let n = b * PER_BATCH + i;
                format!(
                    "{}\n",
                    json!({"account_id": format!("A{}", n % ACCOUNTS), "user_id": format!("u{}", n % 37),
                           "session_id": format!("s{}", n % 11), "created_at": t0 + n as i64,
                           "action": "feature", "module": "reports", "feature": "export", "total": 1})
                )
            })
            .collect()
    };
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for (round, lifetime_ms) in [(0, 700u64), (1, 350), (2, 1_100)] {
        let port = free_port();
        let server = serve(port);
        wait_healthy(port);
        let stop = Instant::now() + Duration::from_millis(lifetime_ms);
        rt.block_on(async {
            let client = reqwest::Client::new();
            let mut posters = Vec::new();
            for _ in 0..3 {
                let (client, acked, next) = (client.clone(), acked.clone(), next.clone());
                let url = format!("http://127.0.0.1:{port}/v1/auth-1/send-1");
                posters.push(tokio::spawn(async move {
                    loop {
                        let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        match client.post(&url).body(body(b)).send().await {
                            Ok(r) if r.status() == 200 => {
                                let answer: serde_json::Value = r.json().await.unwrap_or_default();
                                if answer["stored"].as_u64().map(|s| s + answer["duplicates"].as_u64().unwrap_or(0))
                                    == Some(PER_BATCH as u64)
                                {
                                    acked.lock().unwrap().insert(b);
                                }
                            }
                            // The server was killed under this request: not acknowledged.
                            _ => return,
                        }
                    }
                }));
            }
            tokio::time::sleep_until(stop.into()).await;
            drop(server); // SIGKILL, with requests in flight
            for p in posters {
                p.await.unwrap();
            }
        });
        assert!(!acked.lock().unwrap().is_empty(), "round {round}: some batches were acknowledged");
    }
    // One more server: it rolls up what the killed ones left once their entries are orphans.
    let port = free_port();
    let last = serve(port);
    wait_healthy(port);
    let deadline = Instant::now() + Duration::from_secs(60);
    let (stored, rolled) = loop {
        let (stored, rolled) = read();
        if rolled == stored.len() as i64 || Instant::now() > deadline {
            break (stored, rolled);
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    drop(last);
    let sent = next.load(std::sync::atomic::Ordering::Relaxed);
    let stored_set: BTreeSet<i64> = stored.iter().copied().collect();
    assert_eq!(stored_set.len(), stored.len(), "no event is stored twice");
    let acked = acked.lock().unwrap();
    for b in acked.iter() {
        for i in 0..PER_BATCH {
            let at = t0 + (b * PER_BATCH + i) as i64;
            assert!(
                stored_set.contains(&at),
                "event {i} of acknowledged batch {b} (created at {at}) was lost; stored from {:?} to {:?}",
                stored_set.first(),
                stored_set.last()
            );
        }
    }
    assert!(stored.len() <= sent * PER_BATCH);
    assert_eq!(rolled, stored.len() as i64, "the rollups count every stored event once");
    eprintln!(
        "ingest kill -9 ({store}): {} batches acknowledged, {} events stored, {} counted in the rollups",
        acked.len(),
        stored.len(),
        rolled
    );
}

#[test]
fn kill_9_during_event_ingest_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let db = path.clone();
    run(
        &format!("sqlite://{}", path.display()),
        Box::new(move || {
            let conn = rusqlite::Connection::open(&db).unwrap();
            let mut st = conn.prepare("SELECT created_at FROM events").unwrap();
            let stored = st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
            let rolled =
                conn.query_row("SELECT COALESCE(SUM(events), 0) FROM usage_rollups", [], |r| r.get(0)).unwrap();
            (stored, rolled)
        }),
    );
}

#[test]
fn kill_9_during_event_ingest_on_postgres() {
    let Some(base) = pg_url() else { return };
    let url = schema(&base, &format!("accord_kill_{}", std::process::id()));
    let plain = url.replace("%20", " ").replace("%3D", "=");
    run(
        &url,
        Box::new(move || {
            let mut db = postgres::Client::connect(&plain, postgres::NoTls).unwrap();
            let stored = db.query("SELECT created_at FROM events", &[]).unwrap().iter().map(|r| r.get(0)).collect();
            let rolled = db.query_one("SELECT COALESCE(SUM(events), 0)::int8 FROM usage_rollups", &[]).unwrap().get(0);
            (stored, rolled)
        }),
    );
}
