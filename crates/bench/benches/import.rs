//! File import: a 1,000,000-row CSV of support tickets into SQLite, after 100,000 SOR accounts.
//!
//! `cargo bench -p accord-bench --bench import` prints rows/s for the tickets file (read, parse,
//! link, write, checkpoint) and the process's peak resident memory, then — in the same run, for
//! scale — the rows/s of bare SQLite upserts of the same number of rows into the same table with
//! nothing else done. Set `ACCORD_BENCH_ROWS` to change the row count, `ACCORD_BENCH_STORE` to a
//! postgres:// URL to import into PostgreSQL instead.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use accord_bench::{peak_rss_mib, write_accounts_csv, write_tickets_csv};
use accord_core::Config;
use accord_engine::sync::Quiet;
use accord_engine::{Hub, SyncOptions};

const ACCOUNTS: u64 = 100_000;

fn main() {
    let rows: u64 = std::env::var("ACCORD_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    write_accounts_csv(&dir.path().join("accounts.csv"), ACCOUNTS).unwrap();
    write_tickets_csv(&dir.path().join("tickets.csv"), rows, ACCOUNTS).unwrap();
    let store = std::env::var("ACCORD_BENCH_STORE").unwrap_or_else(|_| "sqlite://hub.db".into());
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
fields = {{ website = "website" }}
[sources.support]
kind = "file"
[[sources.support.objects]]
name = "tickets"
kind = "ticket"
path = "tickets.csv"
native_id = "ticket_id"
link = [{{ rule = "field", field = "account_id" }}]
fields = {{ requester_email = "requester", created_at = "created" }}
"#
    );
    let config = Config::from_toml(&toml, dir.path()).unwrap();
    let hub = Hub::open(config).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();

    let start = Instant::now();
    let crm = accord_engine::sync(&hub, &SyncOptions { sources: vec!["crm".into()], full: false }, &Quiet, rt.handle())
        .unwrap();
    let t_accounts = start.elapsed();
    let rss_after_accounts = peak_rss_mib();
    let start = Instant::now();
    let support =
        accord_engine::sync(&hub, &SyncOptions { sources: vec!["support".into()], full: false }, &Quiet, rt.handle())
            .unwrap();
    let t_tickets = start.elapsed();
    let c = &support.sources[0].counts;
    assert_eq!(c.fetched, rows);
    assert_eq!(c.fetched, c.linked + c.rejected);
    println!(
        "import ({}): {} accounts in {:.2} s ({:.0} rows/s)",
        hub.store.backend(),
        crm.sources[0].counts.linked,
        t_accounts.as_secs_f64(),
        ACCOUNTS as f64 / t_accounts.as_secs_f64()
    );
    println!(
        "import ({}): {rows} ticket rows in {:.2} s: {:.0} rows/s (linked {}, rejected {})",
        hub.store.backend(),
        t_tickets.as_secs_f64(),
        rows as f64 / t_tickets.as_secs_f64(),
        c.linked,
        c.rejected
    );
    if let (Some(before), Some(mib)) = (rss_after_accounts, peak_rss_mib()) {
        println!("import ({}): peak RSS {mib:.0} MiB ({before:.0} MiB after the accounts)", hub.store.backend());
    }
    if hub.store.backend() == "sqlite" {
        let bare = bare_sqlite_upserts(dir.path(), rows);
        println!(
            "import (sqlite): bare SQLite upserts of {rows} rows into the same table: {bare:.0} rows/s (accord reaches {:.0}% of it)",
            100.0 * (rows as f64 / t_tickets.as_secs_f64()) / bare
        );
    }
}

/// The floor set by SQLite itself: prepared upserts of ready-made rows into a fresh hub's ticket
/// table, in transactions of 10,000, with no parsing, linking or JSON work.
fn bare_sqlite_upserts(dir: &std::path::Path, rows: u64) -> f64 {
    use accord_store::Store;
    let path = dir.join("bare.db");
    let store = accord_store::sqlite::SqliteStore::open(path.to_str().unwrap()).unwrap();
    store.migrate().unwrap();
    drop(store);
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "cache_size", -32_000).unwrap();
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
    rows as f64 / start.elapsed().as_secs_f64()
}
