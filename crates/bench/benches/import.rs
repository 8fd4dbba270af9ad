//! File import: a 1,000,000-row CSV of support tickets into SQLite, after 100,000 SOR accounts.
//!
//! `cargo bench -p accord-bench --bench import` imports the tickets file through `accord sync`
//! (read, parse, link, write, checkpoint) into a fresh hub, `ACCORD_BENCH_RUNS` times (default 3),
//! and prints the median seconds and rows/s and the peak resident memory of the ticket import.
//! In the same run it times, for scale, SQLite's own ceiling: a bare bulk insert of the same CSV
//! rows (read with the csv crate, one prepared INSERT, transactions of 10,000) into a table with the
//! same two indexes the issue compares with (the primary key `ticket_id`, and `account_id`), and
//! bare upserts of ready-made rows into accord's own ticket table. Set `ACCORD_BENCH_ROWS` to change
//! the row count, `ACCORD_BENCH_STORE` to a postgres:// URL to import into PostgreSQL instead (each
//! run then starts by emptying that database's accord tables).

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::Instant;

use accord_bench::{median, peak_rss_mib, reset_peak_rss, runs, write_accounts_csv, write_tickets_csv};
use accord_core::Config;
use accord_engine::sync::Quiet;
use accord_engine::{Hub, SyncOptions};

const ACCOUNTS: u64 = 100_000;

struct Run {
    accounts_s: f64,
    tickets_s: f64,
    peak_mib: f64,
    linked: u64,
    rejected: u64,
}

fn main() {
    let rows: u64 = std::env::var("ACCORD_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let files = tempfile::tempdir().unwrap();
    write_accounts_csv(&files.path().join("accounts.csv"), ACCOUNTS).unwrap();
    write_tickets_csv(&files.path().join("tickets.csv"), rows, ACCOUNTS).unwrap();
    let store = std::env::var("ACCORD_BENCH_STORE").ok();
    let backend = if store.is_some() { "postgres" } else { "sqlite" };

    let mut accord = Vec::new();
    let mut bulk = Vec::new();
    let mut upserts = Vec::new();
    for _ in 0..runs() {
        accord.push(import_once(files.path(), store.as_deref(), rows));
        if store.is_none() {
            bulk.push(bare_bulk_insert(files.path(), rows));
            upserts.push(bare_upserts(files.path(), rows));
        }
    }
    let n = accord.len();
    let last = accord.last().unwrap();
    let accord_s = median(accord.iter().map(|r| r.tickets_s).collect());
    println!(
        "import ({backend}): {ACCOUNTS} accounts in {:.2} s (median of {n})",
        median(accord.iter().map(|r| r.accounts_s).collect())
    );
    println!(
        "import ({backend}): {rows} ticket rows in {accord_s:.2} s: {:.0} rows/s (median of {n}; linked {}, rejected {})",
        rows as f64 / accord_s,
        last.linked,
        last.rejected
    );
    println!(
        "import ({backend}): peak RSS during the ticket import {:.0} MiB (median of {n})",
        median(accord.iter().map(|r| r.peak_mib).collect())
    );
    if store.is_none() {
        let bulk_s = median(bulk);
        let upsert_s = median(upserts);
        println!(
            "import (sqlite): bare bulk insert of the same {rows} CSV rows, same indexes (ticket_id, account_id): {bulk_s:.2} s, {:.0} rows/s",
            rows as f64 / bulk_s
        );
        println!(
            "import (sqlite): accord reaches {:.2}x the bare bulk insert (its seconds / accord's seconds)",
            bulk_s / accord_s
        );
        println!(
            "import (sqlite): bare upserts of ready-made rows into accord's own ticket table: {upsert_s:.2} s ({:.2}x accord's time)",
            upsert_s / accord_s
        );
    }
}

fn import_once(files: &Path, store: Option<&str>, rows: u64) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let store = match store {
        Some(url) => {
            accord_bench::empty_postgres(url);
            url.to_owned()
        }
        None => format!("sqlite://{}", dir.path().join("hub.db").display()),
    };
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
path = "{accounts}"
fields = {{ website = "website" }}
[sources.support]
kind = "file"
[[sources.support.objects]]
name = "tickets"
kind = "ticket"
path = "{tickets}"
native_id = "ticket_id"
link = [{{ rule = "field", field = "account_id" }}]
fields = {{ requester_email = "requester", created_at = "created" }}
"#,
        accounts = files.join("accounts.csv").display(),
        tickets = files.join("tickets.csv").display(),
    );
    let config = Config::from_toml(&toml, dir.path()).unwrap();
    let hub = Hub::open(config).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let start = Instant::now();
    let only = |s: &str| SyncOptions { sources: vec![s.into()], full: false, ..SyncOptions::default() };
    accord_engine::sync(&hub, &only("crm"), &Quiet, rt.handle()).unwrap();
    let accounts_s = start.elapsed().as_secs_f64();
    reset_peak_rss();
    let start = Instant::now();
    let support = accord_engine::sync(&hub, &only("support"), &Quiet, rt.handle()).unwrap();
    let tickets_s = start.elapsed().as_secs_f64();
    let c = &support.sources[0].counts;
    assert_eq!(c.fetched, rows);
    assert_eq!(c.fetched, c.linked + c.rejected);
    Run { accounts_s, tickets_s, peak_mib: peak_rss_mib().unwrap_or(f64::NAN), linked: c.linked, rejected: c.rejected }
}

fn sqlite_bench_connection(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    // The pragmas accord's store uses, so the comparison is of the write paths alone.
    conn.pragma_update(None, "page_size", 8192).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "cache_size", -32_000).unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 4_000).unwrap();
    conn
}

/// SQLite's bulk-load ceiling for this file: what `sqlite3`'s `.import` does, without its shell:
/// the CSV's rows, read and inserted as text into a table of its columns with the primary key
/// `ticket_id` and an index on `account_id`, 10,000 rows per transaction. Returns seconds.
fn bare_bulk_insert(files: &Path, rows: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = sqlite_bench_connection(&dir.path().join("bulk.db"));
    conn.execute_batch(
        "CREATE TABLE tickets (ticket_id TEXT PRIMARY KEY, account_id TEXT, subject TEXT, status TEXT,
                               priority TEXT, requester TEXT, created TEXT);
         CREATE INDEX tickets_account ON tickets (account_id);",
    )
    .unwrap();
    let start = Instant::now();
    let mut reader = csv::Reader::from_path(files.join("tickets.csv")).unwrap();
    let mut record = csv::StringRecord::new();
    let mut n = 0u64;
    let mut more = true;
    while more {
        let tx = conn.transaction().unwrap();
        {
            let mut st = tx.prepare_cached("INSERT INTO tickets VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)").unwrap();
            for _ in 0..10_000 {
                if !reader.read_record(&mut record).unwrap() {
                    more = false;
                    break;
                }
                st.execute(rusqlite::params_from_iter(record.iter())).unwrap();
                n += 1;
            }
        }
        tx.commit().unwrap();
    }
    assert_eq!(n, rows);
    start.elapsed().as_secs_f64()
}

/// The floor set by accord's own storage format: prepared upserts of ready-made rows into a fresh
/// hub's ticket table, in transactions of 10,000, with no parsing, linking or JSON work. Seconds.
fn bare_upserts(_files: &Path, rows: u64) -> f64 {
    use accord_store::Store;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bare.db");
    let store = accord_store::sqlite::SqliteStore::open(path.to_str().unwrap()).unwrap();
    store.migrate().unwrap();
    drop(store);
    let mut conn = sqlite_bench_connection(&path);
    let mut g = accord_bench::Gen::new(42);
    let sql = "INSERT INTO support_tickets (source, object, native_id, account_id, link_rule, link_rule_index, link_key,
               subject, status, priority, requester_email, created_at, updated_at, payload, is_deleted, first_seen, last_seen)
               VALUES (?1, ?2, ?3, ?4, 'field', 0, ?4, ?5, 'open', 'p1', ?6, ?7, NULL, ?8, 0, ?7, ?7)
               ON CONFLICT (source, object, native_id) DO UPDATE SET account_id = excluded.account_id,
               payload = excluded.payload, last_seen = excluded.last_seen";
    let start = Instant::now();
    let mut i = 0u64;
    while i < rows {
        let tx = conn.transaction().unwrap();
        {
            let mut st = tx.prepare_cached(sql).unwrap();
            for _ in 0..10_000.min(rows - i) {
                let account = (100_000 + g.below(ACCOUNTS)).to_string();
                let subject = format!("Subject number {i} about the dashboard");
                let email = format!("user{}@acct.example.com", i % 1000);
                let payload = format!(
                    r#"{{"account_id":"{account}","created":"2024-01-01T10:00:00Z","priority":"p1","requester":"{email}","status":"open","subject":"{subject}","ticket_id":"T{i}"}}"#
                );
                st.execute(rusqlite::params![
                    "support",
                    "tickets",
                    format!("T{i}"),
                    account,
                    subject,
                    email,
                    1_700_000_000_000i64,
                    payload
                ])
                .unwrap();
                i += 1;
            }
        }
        tx.commit().unwrap();
    }
    start.elapsed().as_secs_f64()
}
