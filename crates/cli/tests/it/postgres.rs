//! Several processes on one PostgreSQL database: two `accord serve` and one `accord sync` at once
//! lose nothing and count nothing twice; `accord copy` moves a hub there and back. Runs when
//! `ACCORD_TEST_POSTGRES_URL` is set (`.ci/run` sets it).

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{accord, example_copy, json as read_json};

pub fn pg_url() -> Option<String> {
    match std::env::var("ACCORD_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("skipping the PostgreSQL process tests: set ACCORD_TEST_POSTGRES_URL");
            None
        }
    }
}

/// A fresh schema and a store URL that uses it.
pub fn schema(base: &str, name: &str) -> String {
    let mut client = postgres::Client::connect(base, postgres::NoTls).unwrap();
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};")).unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{name}")
}

/// A hub folder for the Event API tests: `accounts` SOR accounts `A0`, `A1`, ... in a CSV, the API
/// key `k-123`, and the event source `product` with keys `auth-1` / `send-1`, on `store`.
pub fn event_hub(store: &str, accounts: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,name,joined\n");
    for a in 0..accounts {
        csv.push_str(&format!("A{a},Account {a},2024-01-01\n"));
    }
    std::fs::write(dir.path().join("accounts.csv"), csv).unwrap();
    for (f, v) in [("key", "k-123"), ("auth", "auth-1"), ("send", "send-1")] {
        std::fs::write(dir.path().join(f), v).unwrap();
    }
    let toml = format!(
        r#"store = "{store}"
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
[[server.event_sources]]
source = "product"
auth_key = {{ file = "auth" }}
api_key = {{ file = "send" }}
"#
    );
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    dir
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn wait_healthy(port: u16) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("accord serve on port {port} did not start");
}

#[test]
fn two_servers_and_a_sync_share_one_database() {
    let Some(base) = pg_url() else { return };
    let url = schema(&base, &format!("accord_procs_{}", std::process::id()));
    let accounts = 400;
    let dir = event_hub(&url, accounts);
    assert!(accord(dir.path(), &["migrate"]).status.success());

    let (p1, p2) = (free_port(), free_port());
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
    let (s1, s2) = (serve(p1), serve(p2));
    wait_healthy(p1);
    wait_healthy(p2);
    // The sync runs while both servers take events; each event batch goes to both servers.
    let sync = Command::new(env!("CARGO_BIN_EXE_accord"))
        .arg("--config")
        .arg(dir.path().join("accord.toml"))
        .args(["sync", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let batches = 20;
    let per_batch = 250;
    // Recent, so no server's retention prunes them.
    let t0 = chrono::Utc::now().timestamp_millis() - 3_600_000;
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for b in 0..batches {
            let body: String = (0..per_batch)
                .map(|i| {
                    let n = b * per_batch + i;
                    format!("{}\n", json!({"account_id": format!("A{}", n % accounts), "user_id": format!("u{}", n % 97), "created_at": t0 + n as i64 * 1000, "action": "feature", "feature": "export", "total": 1}))
                })
                .collect();
            for port in [p1, p2] {
                let (client, body) = (client.clone(), body.clone());
                tasks.push(tokio::spawn(async move {
                    let r = client.post(format!("http://127.0.0.1:{port}/v1/auth-1/send-1")).body(body).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    r.json::<Value>().await.unwrap()
                }));
            }
        }
        for t in tasks {
            let r = t.await.unwrap();
            assert_eq!(r["failed_lines"], json!([]), "{r}");
        }
    });
    let out = sync.wait_with_output().unwrap();
    assert!(out.status.success());
    let sent = (batches * per_batch) as i64;
    let mut db = postgres::Client::connect(&url.replace("%20", " ").replace("%3D", "="), postgres::NoTls).unwrap();
    let one = |db: &mut postgres::Client, sql: &str| -> i64 { db.query_one(sql, &[]).unwrap().get(0) };
    // Events that reached a server before its view had their account were quarantined; the keys
    // the sync changed reach every process through the index log and the change feed, so the
    // servers settle them with no manual retry.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while one(&mut db, "SELECT COUNT(*) FROM quarantine") > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    drop((s1, s2));
    // Killed (SIGKILL), the servers may leave usage they had not rolled up yet in the backlog; the
    // next process to write rollups takes it over once it is an orphan.
    let p3 = free_port();
    let s3 = serve(p3);
    wait_healthy(p3);
    let rolled = |db: &mut postgres::Client| one(db, "SELECT COALESCE(SUM(events), 0)::int8 FROM usage_rollups");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while rolled(&mut db) < sent && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    drop(s3);
    assert_eq!(one(&mut db, "SELECT COUNT(*) FROM pending_keys"), 0, "the change feed is consumed");
    assert_eq!(one(&mut db, "SELECT COUNT(*) FROM accounts"), accounts as i64, "every account once");
    assert_eq!(one(&mut db, "SELECT COUNT(*) FROM events"), sent, "each event stored once, from two servers");
    assert_eq!(
        one(&mut db, "SELECT COALESCE(SUM(events), 0)::int8 FROM usage_rollups"),
        sent,
        "each event counted once"
    );
    assert_eq!(one(&mut db, "SELECT COUNT(*) FROM quarantine"), 0, "nothing left behind, and no retry was run");
}

#[test]
fn copy_moves_a_hub_to_postgres_and_back() {
    let Some(base) = pg_url() else { return };
    let url = schema(&base, &format!("accord_copy_{}", std::process::id()));
    let dir = example_copy();
    assert!(accord(dir.path(), &["sync"]).status.success());
    let sqlite = format!("sqlite://{}", dir.path().join("accord.db").display());
    let there = accord(dir.path(), &["copy", "--from", &sqlite, "--to", &url, "--json"]);
    assert!(there.status.success(), "{}", String::from_utf8_lossy(&there.stderr));
    assert_eq!(read_json(&there)["verified"], true);
    let back_path = dir.path().join("back.db");
    let back =
        accord(dir.path(), &["copy", "--from", &url, "--to", &format!("sqlite://{}", back_path.display()), "--json"]);
    assert_eq!(read_json(&back)["verified"], true);
    let tables = read_json(&back)["tables"].clone();
    assert_eq!(tables["quarantine"], json!([21, 21]));
    // A copy into a store that is not empty is refused.
    let again = accord(dir.path(), &["copy", "--from", &sqlite, "--to", &url]);
    assert_eq!(again.status.code(), Some(1));
    let _ = std::io::stderr().flush();
}
