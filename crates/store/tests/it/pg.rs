//! PostgreSQL test fixtures: a fresh schema per test on the server `ACCORD_TEST_POSTGRES_URL`
//! names, and the scenarios (concurrency, tokio, throughput) the tests run against a store.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use accord_core::ObjectKind;
use accord_store::contract::event;
use accord_store::postgres::PgStore;
use accord_store::{RecordQuery, RunCounts, Store, WriteBatch};
use postgres::{Client, NoTls};

/// The test server's URL, or `None` (saying so) when the PostgreSQL tests are off.
pub fn server() -> Option<String> {
    match std::env::var("ACCORD_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            eprintln!(
                "skipping the PostgreSQL contract suite: set ACCORD_TEST_POSTGRES_URL \
                 (e.g. postgres://postgres@127.0.0.1:5432/test)"
            );
            None
        }
    }
}

/// A schema of its own for one test, so tests run in parallel and leave nothing behind. The store
/// reaches it through `search_path`, set for every pooled connection by the URL's `options`.
#[derive(Debug)]
pub struct Schema {
    server: String,
    pub name: String,
    pub url: String,
}

impl Schema {
    pub fn create(server: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("accord_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let schema = Self {
            server: server.to_owned(),
            url: format!("{server}{}options=-c%20search_path%3D{name}", if server.contains('?') { '&' } else { '?' }),
            name,
        };
        schema
            .admin()
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}", schema.name))
            .unwrap();
        schema
    }

    pub fn admin(&self) -> Client {
        Client::connect(&self.server, NoTls).expect("connect to ACCORD_TEST_POSTGRES_URL")
    }

    /// A migrated store on this schema.
    pub fn store(&self) -> PgStore {
        let store = PgStore::connect(&self.url).unwrap();
        store.migrate().unwrap();
        store
    }

    /// Every table and view of the schema with its columns, in column order.
    pub fn columns(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let rows = self
            .admin()
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
                &[&self.name],
            )
            .unwrap();
        for r in rows {
            out.entry(r.get(0)).or_default().push(r.get(1));
        }
        out
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&self.server, NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

const DAY: i64 = 1_714_521_600_000; // 2024-05-01T00:00Z
const HOUR: i64 = 3_600_000;

/// Event `i` of round `round`: ten users, four features, spread over a day's hours, so that
/// concurrent batches share rollup rows.
fn round_event(round: usize, i: usize) -> accord_store::RecordRow {
    let user = format!("u{}", i % 10);
    let feature = ["export", "import", "share", "print"][i % 4];
    event(
        &format!("r{round}-e{i}"),
        "A",
        &user,
        &format!("s{}", i % 7),
        DAY + (i as i64 % 24) * HOUR + i as i64,
        Some(("reports", feature, 1.0 + (i % 3) as f64)),
        None,
    )
}

/// Two writers apply overlapping batches at the same moment, round after round: the same events
/// (one writer in reverse order), the same rollup rows and the same run. Each event must be stored
/// and counted once, and the run's counts must add up.
pub fn overlapping_batches(store: &dyn Store) {
    const ROUNDS: usize = 15;
    let run = store.start_run("events").unwrap();
    let barrier = Barrier::new(2);
    let outcomes: Vec<(u64, u64)> = std::thread::scope(|s| {
        let writers: Vec<_> = [(0..300), (100..400)]
            .into_iter()
            .enumerate()
            .map(|(w, range)| {
                let barrier = &barrier;
                s.spawn(move || {
                    let (mut new, mut dup) = (0, 0);
                    for round in 0..ROUNDS {
                        let mut records: Vec<_> = range.clone().map(|i| round_event(round, i)).collect();
                        if w == 1 {
                            records.reverse();
                        }
                        let mut counts = RunCounts { fetched: 300, linked: 299, ..Default::default() };
                        counts.reject(accord_core::RejectReason::UnknownAccount);
                        let batch = WriteBatch { records, run: Some((run, counts)), ..Default::default() };
                        barrier.wait();
                        let outcome = store.apply(&batch).unwrap();
                        new += outcome.new_events;
                        dup += outcome.duplicate_events;
                    }
                    (new, dup)
                })
            })
            .collect();
        writers.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let unique = (ROUNDS * 400) as u64;
    let new: u64 = outcomes.iter().map(|o| o.0).sum();
    let dup: u64 = outcomes.iter().map(|o| o.1).sum();
    assert_eq!((new, dup), (unique, (ROUNDS * 200) as u64), "per writer: {outcomes:?}");
    let stored = store.records(ObjectKind::Event, &RecordQuery::default(), 0, 1).unwrap().total;
    assert_eq!(stored, unique);
    let usage = store.usage("A", DAY, DAY + 24 * HOUR).unwrap();
    assert_eq!(usage.events as u64, unique, "the rollups count each event once");
    let expected_total: f64 = (0..ROUNDS).flat_map(|_| 0..400).map(|i| 1.0 + (i % 3) as f64).sum();
    assert_eq!(usage.feature_total, expected_total);
    assert_eq!(usage.features.iter().map(|f| f.events).sum::<i64>() as u64, unique);
    assert_eq!((usage.active_users, usage.sessions), (10, 7));
    let r = &store.runs(Some("events"), 1).unwrap()[0];
    let writes = 2 * ROUNDS as u64;
    assert_eq!((r.counts.fetched, r.counts.linked, r.counts.rejected), (300 * writes, 299 * writes, writes));
    assert_eq!(r.counts.rejected_by_reason, BTreeMap::from([("unknown_account".to_owned(), writes)]));
}

/// The store used the way `accord serve` uses it: opened and migrated inside `async fn main`, called
/// from `spawn_blocking` threads of a multi-thread runtime, dropped inside the async context.
pub fn from_tokio(url: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let store = Arc::new(PgStore::connect(url).unwrap());
        store.migrate().unwrap();
        assert!(store.migrations().unwrap().iter().all(|m| m.applied));
        let tasks: Vec<_> = (0..16)
            .map(|t| {
                let store = store.clone();
                tokio::task::spawn_blocking(move || {
                    let records = (0..50).map(|i| round_event(t, i)).collect();
                    let outcome = store.apply(&WriteBatch { records, ..Default::default() }).unwrap();
                    assert_eq!(outcome.new_events, 50);
                    store.usage("A", DAY, DAY + 24 * HOUR).unwrap().events
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap() >= 50);
        }
        let total = tokio::task::spawn_blocking({
            let store = store.clone();
            move || store.usage("A", DAY, DAY + 24 * HOUR).unwrap().events
        })
        .await
        .unwrap();
        assert_eq!(total, 16 * 50);
        // The last handle goes away inside the async context: the pool closes on its own thread.
        drop(store);
    });
}

/// Applies 100 batches of 1,000 new events (50 accounts, 200 users, a month of hours) from
/// `writers` threads and returns the seconds it took and the events stored.
pub fn event_throughput(store: &dyn Store, writers: usize) -> (f64, u64) {
    let batches: Vec<WriteBatch> = (0..100)
        .map(|b| {
            let records = (0..1000)
                .map(|i| {
                    let n = b * 1000 + i;
                    event(
                        &format!("ev-{n}"),
                        &format!("acct-{}", n % 50),
                        &format!("user-{}", n % 200),
                        &format!("sess-{}", n / 20),
                        DAY + (n as i64 * 7_919) % (30 * 24 * HOUR),
                        Some(("reports", ["export", "import", "share"][n % 3], 1.0)),
                        None,
                    )
                })
                .collect();
            WriteBatch { records, ..Default::default() }
        })
        .collect();
    let start = Instant::now();
    let new: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = batches
            .chunks(batches.len().div_ceil(writers))
            .map(|chunk| s.spawn(move || chunk.iter().map(|b| store.apply(b).unwrap().new_events).sum::<u64>()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    (start.elapsed().as_secs_f64(), new)
}

/// Applies batches that hold the same key more than once (accounts, records, events, rejections,
/// metrics, domains, statuses, delete-list changes) and returns everything a reader can see, for
/// comparing backends: PostgreSQL merges such rows before its bulk statements, SQLite writes them
/// one by one, and the results must not differ.
pub fn same_keys_in_one_batch(store: &dyn Store) -> String {
    use accord_core::{AccountId, FieldValue, RejectReason};
    use accord_store::contract::{account, rejected_ticket, ticket};
    use accord_store::*;
    use chrono::TimeZone;
    let t = |ms: i64| chrono::Utc.timestamp_millis_opt(ms).unwrap();
    let id = |s: &str| AccountId::new(s).unwrap();
    let mut later_account = account("1", "Second");
    (later_account.first_seen, later_account.last_seen) = (t(1_800_000_000_000), t(1_800_000_000_000));
    let mut later_ticket = ticket("T1", "1", "b");
    (later_ticket.first_seen, later_ticket.last_seen) = (t(1_800_000_000_000), t(1_800_000_000_000));
    let e1 = round_event(0, 1);
    let mut e1_again = e1.clone();
    e1_again.payload = serde_json::json!({"second": true});
    e1_again.fields[0] = FieldValue::Text("someone-else".into());
    let mut q2 = rejected_ticket("T9", "y");
    q2.seen_at = t(1_800_000_000_000);
    q2.rejection.reason = RejectReason::Ambiguous;
    let mut q_event = rejected_ticket("x", "x");
    (q_event.key, q_event.kind) = (e1.key.clone(), ObjectKind::Event);
    let metric = |v| MetricRow { account_id: id("1"), name: "seats".into(), day: t(0), value: v };
    let domain = |o: &str| DomainRow { domain: "acme.io".into(), account_id: id("1"), origin: o.into() };
    let first = WriteBatch {
        accounts: vec![account("1", "First"), later_account, account("2", "Other")],
        account_status: vec![(id("2"), AccountStatus::Filtered), (id("2"), AccountStatus::Deleted)],
        records: vec![ticket("T1", "1", "a"), e1.clone(), later_ticket, e1_again, ticket("T2", "1", "c")],
        quarantine: vec![rejected_ticket("T9", "x"), q_event, q2.clone()],
        domains: vec![domain("config"), domain("api")],
        delete_list: vec![
            DeleteListChange::Add { account_id: id("2"), reason: "churned".into() },
            DeleteListChange::Remove { account_id: id("2") },
            DeleteListChange::Add { account_id: id("3"), reason: "test".into() },
        ],
        metrics: vec![metric(1.0), metric(2.0)],
        ..Default::default()
    };
    let mut seen = vec![format!("{:?}", store.apply(&first).unwrap())];
    let mut reject_t1 = rejected_ticket("T1", "z");
    reject_t1.key.native_id = "T1".into();
    let second = WriteBatch {
        records: vec![e1.clone(), round_event(0, 2)],
        quarantine: vec![q2, reject_t1],
        tombstones: vec![(ObjectKind::Ticket, RecordKey::new("support", "tickets", "T2"))],
        ..Default::default()
    };
    seen.push(format!("{:?}", store.apply(&second).unwrap()));
    seen.push(format!("{:?}", store.account("1").unwrap()));
    seen.push(format!("{:?}", store.account("2").unwrap().map(|a| a.status)));
    for native in ["T1", "T2"] {
        let mut rec = store.record(ObjectKind::Ticket, &RecordKey::new("support", "tickets", native)).unwrap();
        // A tombstone's last_seen is the clock's; everything else must match.
        if let Some(r) = rec.as_mut().filter(|r| r.is_deleted) {
            r.last_seen = t(0);
        }
        seen.push(format!("{rec:?}"));
    }
    seen.push(format!("{:?}", store.record(ObjectKind::Event, &e1.key).unwrap()));
    let mut entries = Vec::new();
    store.for_each_quarantined(&QuarantineQuery::default(), &mut |e| entries.push(e)).unwrap();
    for mut e in entries {
        e.id = 0;
        seen.push(format!("{e:?}"));
    }
    let mut keys = Vec::new();
    store.for_each_quarantine_key(&mut |k| keys.push(k)).unwrap();
    seen.push(format!("{keys:?} {}", store.quarantine_key_count(u64::MAX).unwrap()));
    seen.push(format!("{:?}", store.metrics(&MetricQuery::default(), 0, 10).unwrap()));
    let mut domains = Vec::new();
    store.load_index(&[], &mut |r| domains.extend(matches!(r, IndexRow::Domain(_)).then(|| format!("{r:?}")))).unwrap();
    seen.push(domains.join(","));
    seen.push(format!("{:?}", store.delete_list().unwrap().iter().map(|d| (&d.0, &d.2)).collect::<Vec<_>>()));
    seen.push(format!("{:?}", store.usage("A", DAY, DAY + 24 * HOUR).unwrap()));
    seen.join("\n")
}

/// `apply_all` applies a group of batches in order and, when one fails, none of them.
pub fn apply_all_is_all_or_nothing(store: &dyn Store) {
    use accord_store::contract::ticket;
    let run = store.start_run("events").unwrap();
    let events = |range: std::ops::Range<usize>| WriteBatch {
        records: range.map(|i| round_event(0, i)).collect(),
        run: Some((run, RunCounts { fetched: 1, ..Default::default() })),
        ..Default::default()
    };
    let (a, b) = (events(0..10), events(5..20));
    let outcomes = store.apply_all(&[&a, &b]).unwrap();
    assert_eq!(outcomes.iter().map(|o| (o.new_events, o.duplicate_events)).collect::<Vec<_>>(), [(10, 0), (10, 5)]);
    let bad = WriteBatch { run: Some((999_999, RunCounts::default())), ..Default::default() };
    let late = WriteBatch { records: vec![ticket("T1", "A", "x")], ..Default::default() };
    assert!(store.apply_all(&[&late, &events(20..30), &bad]).is_err());
    let key = accord_store::RecordKey::new("support", "tickets", "T1");
    assert!(store.record(ObjectKind::Ticket, &key).unwrap().is_none(), "the failed group wrote nothing");
    assert_eq!(store.usage("A", DAY, DAY + 24 * HOUR).unwrap().events, 20);
    assert_eq!(store.runs(Some("events"), 1).unwrap()[0].counts.fetched, 2);
    assert!(store.apply_all(&[]).unwrap().is_empty());
}
