//! File import: a 1,000,000-row CSV of support tickets into SQLite, after 100,000 SOR accounts.
//!
//! `cargo bench -p accord-bench --bench import` prints rows/s for the tickets file (read, parse,
//! link, write, checkpoint) and the process's peak resident memory. Set `ACCORD_BENCH_ROWS` to
//! change the row count, `ACCORD_BENCH_STORE` to a postgres:// URL to import into PostgreSQL.

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
    let crm = accord_engine::sync(&hub, &SyncOptions { sources: vec!["crm".into()], full: false }, &Quiet, rt.handle()).unwrap();
    let t_accounts = start.elapsed();
    let start = Instant::now();
    let support =
        accord_engine::sync(&hub, &SyncOptions { sources: vec!["support".into()], full: false }, &Quiet, rt.handle()).unwrap();
    let t_tickets = start.elapsed();
    let c = &support.sources[0].counts;
    assert_eq!(c.fetched, rows);
    assert_eq!(c.fetched, c.linked + c.rejected);
    println!("import ({}): {} accounts in {:.2} s ({:.0} rows/s)", hub.store.backend(), crm.sources[0].counts.linked, t_accounts.as_secs_f64(), ACCOUNTS as f64 / t_accounts.as_secs_f64());
    println!(
        "import ({}): {rows} ticket rows in {:.2} s: {:.0} rows/s (linked {}, rejected {})",
        hub.store.backend(),
        t_tickets.as_secs_f64(),
        rows as f64 / t_tickets.as_secs_f64(),
        c.linked,
        c.rejected
    );
    if let Some(mib) = peak_rss_mib() {
        println!("import ({}): peak RSS {mib:.0} MiB", hub.store.backend());
    }
}
