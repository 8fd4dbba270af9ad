//! Schedules end to end: `accord serve` syncs a scheduled file source on its own and picks up new
//! rows; a manual `accord sync` refuses a source another process holds, naming the holder; and two
//! `accord serve` processes on one PostgreSQL database never run a source at the same time.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::accord;
use crate::postgres::{Killed, free_port, pg_url, schema, wait_healthy};

/// A hub with a scheduled SOR (`crm`, `accounts` rows) and a scheduled ticket source (`support`,
/// one ticket per account), both `every 1s`, on `store`.
fn scheduled_hub(store: &str, accounts: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_rows(dir.path(), accounts);
    std::fs::write(dir.path().join("key"), "k-123").unwrap();
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
schedule = "every 1s"
[[sources.crm.objects]]
name = "accounts"
kind = "account"
path = "accounts.csv"
[sources.support]
kind = "file"
schedule = "every 1s"
[[sources.support.objects]]
name = "tickets"
kind = "ticket"
path = "tickets.csv"
native_id = "id"
link = [{{ rule = "field", field = "account" }}]
[server]
api_key = {{ file = "key" }}
"#
    );
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    dir
}

fn write_rows(dir: &Path, accounts: usize) {
    let mut a = String::from("id,name,joined\n");
    let mut t = String::from("id,account\n");
    for i in 0..accounts {
        a.push_str(&format!("A{i},Account {i},2024-01-01\n"));
        t.push_str(&format!("t{i},A{i}\n"));
    }
    // Written aside and renamed, so a sync never reads half a file.
    for (name, text) in [("accounts.csv", a), ("tickets.csv", t)] {
        let tmp = dir.join(format!("{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(tmp, dir.join(name)).unwrap();
    }
}

fn serve(dir: &Path, port: u16, log: &Path) -> Killed {
    Killed(
        Command::new(env!("CARGO_BIN_EXE_accord"))
            .arg("--config")
            .arg(dir.join("accord.toml"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("ACCORD_LOG", "info")
            .stdout(Stdio::null())
            .stderr(File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// Stops a server as an operator would (SIGTERM) and returns whether it exited cleanly.
fn terminate(mut server: Killed) -> bool {
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            return status.success();
        }
        assert!(Instant::now() < deadline, "accord serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sources(port: u16) -> Vec<Value> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = format!("http://127.0.0.1:{port}/api/v2/sources?api_key=k-123");
    let body: Value = rt.block_on(async { reqwest::get(url).await?.json().await }).unwrap();
    body.as_array().unwrap().clone()
}

fn linked(sources: &[Value], source: &str) -> u64 {
    sources.iter().find(|s| s["source"] == source).map_or(0, |s| s["objects"][0]["linked"].as_u64().unwrap_or(0))
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serve_syncs_scheduled_sources_and_picks_up_new_rows() {
    let dir = scheduled_hub("sqlite://hub.db", 3);
    let port = free_port();
    let log = dir.path().join("serve.log");
    let server = serve(dir.path(), port, &log);
    wait_healthy(port);
    // Nobody runs `accord sync`: the schedule does, SOR first, and the tickets link.
    wait_until("the first scheduled runs linked everything", || linked(&sources(port), "support") == 3);
    let listed = sources(port);
    let support = listed.iter().find(|s| s["source"] == "support").unwrap();
    assert_eq!(support["schedule"], "every 1s");
    assert!(support["next_run"].is_string(), "{support}");
    assert_eq!(support["last_run"]["status"], "ok", "{support}");
    // New rows in both files reach the hub at the next slots.
    write_rows(dir.path(), 5);
    wait_until("the new rows were synced", || {
        let s = sources(port);
        linked(&s, "crm") == 5 && linked(&s, "support") == 5
    });
    assert!(terminate(server), "accord serve exits cleanly on SIGTERM");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("scheduler started") && log.contains("scheduler stopped"), "{log}");
}

#[test]
fn a_manual_sync_refuses_a_held_source_and_names_the_holder() {
    let dir = scheduled_hub("sqlite://hub.db", 2);
    assert!(accord(dir.path(), &["migrate"]).status.success());
    // Another process's live lease on the SOR.
    let db = rusqlite::Connection::open(dir.path().join("hub.db")).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    db.execute(
        "INSERT INTO source_locks VALUES ('crm', 'accord serve (schedule), pid 4242 on box-7', 'token', ?1, ?2)",
        (now, now + 60_000),
    )
    .unwrap();
    let out = accord(dir.path(), &["sync"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("accord serve (schedule), pid 4242 on box-7") && err.contains("\"crm\""), "{err}");
    let runs: i64 = db.query_row("SELECT COUNT(*) FROM sync_runs", [], |r| r.get(0)).unwrap();
    assert_eq!(runs, 0, "nothing ran");
    // Once that lease has expired (its holder stopped), the sync takes the lock over.
    db.execute("UPDATE source_locks SET expires_at = ?1", [now - 1]).unwrap();
    let out = accord(dir.path(), &["sync"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let left: i64 = db.query_row("SELECT COUNT(*) FROM source_locks", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0, "a finished sync releases its locks");
    // A sync killed on this machine (its process gone) leaves its lease behind: the next sync
    // takes it over at once and resumes, without waiting for the lease to expire (Linux: `/proc`
    // tells a gone process).
    if !Path::new("/proc/self").exists() {
        return;
    }
    let mut killed = Command::new("true").spawn().unwrap();
    let pid = killed.id();
    killed.wait().unwrap();
    let host = accord_store::this_host();
    db.execute(
        "INSERT INTO source_locks VALUES ('crm', 'accord sync, killed', ?1, ?2, ?3)",
        (format!("{pid}@{host}/1-0"), now, now + 60_000),
    )
    .unwrap();
    let out = accord(dir.path(), &["sync"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn two_servers_on_postgres_never_run_a_source_at_once() {
    let Some(base) = pg_url() else { return };
    let url = schema(&base, &format!("accord_sched_{}", std::process::id()));
    // Large enough that a run takes a while, so two servers due at the same instant collide.
    let dir = scheduled_hub(&url, 1_000);
    assert!(accord(dir.path(), &["migrate"]).status.success());
    let (p1, p2) = (free_port(), free_port());
    let (log1, log2) = (dir.path().join("serve1.log"), dir.path().join("serve2.log"));
    let (s1, s2) = (serve(dir.path(), p1, &log1), serve(dir.path(), p2, &log2));
    wait_healthy(p1);
    wait_healthy(p2);
    let mut db = postgres::Client::connect(&url.replace("%20", " ").replace("%3D", "="), postgres::NoTls).unwrap();
    let count = |db: &mut postgres::Client, source: &str| -> i64 {
        db.query_one("SELECT COUNT(*) FROM sync_runs WHERE source = $1 AND status = 'ok'", &[&source]).unwrap().get(0)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(count(&mut db, "crm") >= 4 && count(&mut db, "support") >= 4) {
        if Instant::now() > deadline {
            let logs = std::fs::read_to_string(&log1).unwrap() + &std::fs::read_to_string(&log2).unwrap();
            panic!("timed out waiting for several scheduled runs of each source:\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(terminate(s1) & terminate(s2), "both servers exit cleanly");
    for source in ["crm", "support"] {
        let rows = db
            .query(
                "SELECT id, started_at, finished_at, status FROM sync_runs WHERE source = $1 ORDER BY started_at, id",
                &[&source],
            )
            .unwrap();
        let runs: Vec<(i64, i64, Option<i64>, String)> =
            rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
        for pair in runs.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let a_end = a.2.unwrap_or_else(|| panic!("run {} of {source} never ended: {runs:?}", a.0));
            assert!(b.1 >= a_end, "{source}: run {} started at {} while run {} ran until {a_end}", b.0, b.1, a.0);
        }
        assert!(runs.iter().all(|r| r.3 == "ok" || r.3 == "interrupted"), "{runs:?}");
    }
    // They did contend: a server found a source held by the other and skipped that slot.
    let logs = std::fs::read_to_string(&log1).unwrap() + &std::fs::read_to_string(&log2).unwrap();
    assert!(logs.contains("another run holds the source"), "no collision happened; the test proves nothing:\n{logs}");
    let held: i64 = db.query_one("SELECT COUNT(*) FROM source_locks", &[]).unwrap().get(0);
    assert_eq!(held, 0, "stopped servers hold no lock");
    let linked: i64 = db.query_one("SELECT COUNT(*) FROM support_tickets", &[]).unwrap().get(0);
    assert_eq!(linked, 1_000);
}

#[test]
fn shutdown_stops_a_running_scheduled_sync_which_the_next_sync_resumes() {
    // Large enough that the first scheduled run is still going when the server is told to stop.
    let dir = scheduled_hub("sqlite://hub.db", 100_000);
    let port = free_port();
    let log = dir.path().join("serve.log");
    let server = serve(dir.path(), port, &log);
    wait_healthy(port);
    wait_until("a scheduled run holds its lock", || {
        sources(port).iter().any(|s| s["source"] == "crm" && s["running"]["holder"].is_string())
    });
    let stopping = Instant::now();
    assert!(terminate(server), "accord serve exits cleanly on SIGTERM mid-run");
    assert!(stopping.elapsed() < Duration::from_secs(20), "it stops at the next page, not at the end of the run");
    let db = rusqlite::Connection::open(dir.path().join("hub.db")).unwrap();
    let (status, error): (String, String) = db
        .query_row("SELECT status, error FROM sync_runs WHERE source = 'crm' ORDER BY id DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(status, "interrupted", "{error}");
    assert!(error.contains("shutting down"), "{error}");
    let locks: i64 = db.query_row("SELECT COUNT(*) FROM source_locks", [], |r| r.get(0)).unwrap();
    assert_eq!(locks, 0, "a stopped server leaves no lock behind");
    // The next sync resumes from the last committed page and ends with every account.
    let out = accord(dir.path(), &["sync", "crm"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let accounts: i64 = db.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0)).unwrap();
    assert_eq!(accounts, 100_000);
}
