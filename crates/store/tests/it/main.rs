//! The store contract, run against SQLite always and PostgreSQL when `ACCORD_TEST_POSTGRES_URL` is set.

mod backlog;
mod locks;
mod pg;
mod tls;

use accord_store::Store;
use accord_store::contract::CASES;
use accord_store::sqlite::SqliteStore;

#[test]
fn sqlite_contract() {
    for (name, case) in CASES {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("hub.db").to_str().unwrap()).unwrap();
        store.migrate().unwrap();
        eprintln!("sqlite: {name}");
        case(&store);
    }
}

#[test]
fn sqlite_schema_matches_the_record_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let store = SqliteStore::open(path.to_str().unwrap()).unwrap();
    store.migrate().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    for kind in accord_core::ObjectKind::ALL {
        let mut st = conn.prepare(&format!("SELECT name FROM pragma_table_info('{}')", kind.table())).unwrap();
        let cols: Vec<String> = st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        for f in kind.fields() {
            assert!(cols.contains(&f.name.to_string()), "table {} lacks column {}", kind.table(), f.name);
        }
    }
}

#[test]
fn postgres_contract() {
    let Some(server) = pg::server() else { return };
    for (name, case) in CASES {
        let schema = pg::Schema::create(&server);
        let store = schema.store();
        eprintln!("postgres: {name}");
        case(&store);
    }
}

#[test]
fn postgres_schema_matches_the_record_kinds() {
    let Some(server) = pg::server() else { return };
    let schema = pg::Schema::create(&server);
    drop(schema.store());
    let pg_tables = schema.columns();
    for kind in accord_core::ObjectKind::ALL {
        let cols = pg_tables.get(kind.table()).unwrap_or_else(|| panic!("no table {}", kind.table()));
        for f in kind.fields() {
            assert!(cols.contains(&f.name.to_string()), "table {} lacks column {}", kind.table(), f.name);
        }
    }
    // Table for table and column for column, the same schema as SQLite's (views included).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    SqliteStore::open(path.to_str().unwrap()).unwrap().migrate().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut st = conn
        .prepare(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type IN ('table', 'view') AND m.name <> 'sqlite_sequence' ORDER BY m.name, p.cid",
        )
        .unwrap();
    let mut sqlite_tables: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap() {
        let (table, col) = row.unwrap();
        sqlite_tables.entry(table).or_default().push(col);
    }
    assert_eq!(pg_tables, sqlite_tables);
}

#[test]
fn postgres_migrations_refuse_a_newer_database_and_serialize() {
    let Some(server) = pg::server() else { return };
    let schema = pg::Schema::create(&server);
    // Two processes migrating one empty database at once: the advisory lock lets one apply it.
    let applied: Vec<usize> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let store = accord_store::postgres::PgStore::connect(&schema.url).unwrap();
                    store.migrate().unwrap().len()
                })
            })
            .collect();
        runs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let store = schema.store();
    let known = store.migrations().unwrap().len();
    assert!(known >= 2);
    assert_eq!(applied.iter().sum::<usize>(), known, "each migration is applied once: {applied:?}");
    assert!(store.migrations().unwrap().iter().all(|m| m.applied));
    schema
        .admin()
        .batch_execute(&format!("INSERT INTO {}.schema_migrations VALUES (99, 'future', 0)", schema.name))
        .unwrap();
    match store.migrate() {
        // `known` is the newest version, which is not the count while a number is unused.
        Err(accord_store::StoreError::TooNew { found: 99, known: k })
            if Some(k) == store.migrations().unwrap().last().map(|m| m.version) => {}
        other => panic!("expected TooNew, got {other:?}"),
    }
}

#[test]
fn postgres_unreachable_server_is_named_without_the_password() {
    // Nothing listens on port 1; this needs no server.
    let err = accord_store::open("postgres://ann:hunter2@127.0.0.1:1/hub").unwrap_err().to_string();
    assert!(err.contains("ann@127.0.0.1:1/hub"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let err = accord_store::open("postgresql://ann:hunter2@127.0.0.1:1/hub?bogus=1").unwrap_err().to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn postgres_overlapping_concurrent_batches_count_each_event_once() {
    let Some(server) = pg::server() else { return };
    let schema = pg::Schema::create(&server);
    let store = schema.store();
    pg::overlapping_batches(&store);
}

#[test]
fn sqlite_overlapping_concurrent_batches_count_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("hub.db").to_str().unwrap()).unwrap();
    store.migrate().unwrap();
    pg::overlapping_batches(&store);
}

#[test]
fn postgres_works_from_a_tokio_runtime() {
    let Some(server) = pg::server() else { return };
    let schema = pg::Schema::create(&server);
    pg::from_tokio(&schema.url);
}

/// `ACCORD_TEST_POSTGRES_URL=... cargo test -p accord-store --release --test it -- --ignored --nocapture throughput`
#[test]
#[ignore = "a measurement: prints the time to apply 100 batches of 1,000 new events"]
fn throughput_of_event_batches() {
    let report = |name: &str, (secs, n): (f64, u64)| {
        assert_eq!(n, 100_000);
        println!("{name:<24} {n} events in {secs:5.2} s = {:6.0} events/s", n as f64 / secs);
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("hub.db").to_str().unwrap()).unwrap();
    sqlite.migrate().unwrap();
    report("sqlite, 1 writer:", pg::event_throughput(&sqlite, 1));
    let Some(server) = pg::server() else { return };
    for writers in [1, 2] {
        let schema = pg::Schema::create(&server);
        let store = schema.store();
        report(&format!("postgresql, {writers} writer(s):"), pg::event_throughput(&store, writers));
    }
}

#[test]
fn postgres_and_sqlite_agree_on_keys_repeated_in_a_batch() {
    let Some(server) = pg::server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("hub.db").to_str().unwrap()).unwrap();
    sqlite.migrate().unwrap();
    let schema = pg::Schema::create(&server);
    let postgres = schema.store();
    let expected = pg::same_keys_in_one_batch(&sqlite);
    let got = pg::same_keys_in_one_batch(&postgres);
    for (e, g) in expected.lines().zip(got.lines()) {
        assert_eq!(g, e);
    }
    assert_eq!(got.lines().count(), expected.lines().count());
}

#[test]
fn apply_all_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("hub.db").to_str().unwrap()).unwrap();
    sqlite.migrate().unwrap();
    pg::apply_all_is_all_or_nothing(&sqlite);
    let Some(server) = pg::server() else { return };
    let schema = pg::Schema::create(&server);
    pg::apply_all_is_all_or_nothing(&schema.store());
}

type Scenario = (&'static str, fn(&dyn Fn() -> Box<dyn Store>, &dyn Fn()));
const BACKLOG: &[Scenario] = &[
    ("a killed writer's usage", backlog::a_killed_writers_usage_is_rolled_up_once),
    ("a slow writer's usage", backlog::a_slow_writers_usage_is_counted_once),
];

#[test]
fn sqlite_usage_backlog() {
    for (name, scenario) in BACKLOG {
        eprintln!("sqlite: {name}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        let open = || -> Box<dyn Store> {
            let store = SqliteStore::open(path.to_str().unwrap()).unwrap();
            store.migrate().unwrap();
            Box::new(store)
        };
        let age = || {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute("UPDATE usage_backlog SET written_at = written_at - 60000", []).unwrap();
        };
        scenario(&open, &age);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    backlog::reads_and_shutdown_flush(&|| -> Box<dyn Store> {
        let store = SqliteStore::open(path.to_str().unwrap()).unwrap();
        store.migrate().unwrap();
        Box::new(store)
    });
}

#[test]
fn postgres_usage_backlog() {
    let Some(server) = pg::server() else { return };
    for (name, scenario) in BACKLOG {
        eprintln!("postgres: {name}");
        let schema = pg::Schema::create(&server);
        let open = || -> Box<dyn Store> { Box::new(schema.store()) };
        let age = || {
            schema
                .admin()
                .execute(&format!("UPDATE {}.usage_backlog SET written_at = written_at - 60000", schema.name), &[])
                .unwrap();
        };
        scenario(&open, &age);
    }
    let schema = pg::Schema::create(&server);
    backlog::reads_and_shutdown_flush(&|| -> Box<dyn Store> { Box::new(schema.store()) });
}

#[test]
fn sqlite_run_lock_lease_is_taken_over_after_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let a = SqliteStore::open(path.to_str().unwrap()).unwrap();
    a.migrate().unwrap();
    let b = SqliteStore::open(path.to_str().unwrap()).unwrap();
    locks::sqlite_lease_expires_and_is_taken_over(&a, &b);
    locks::sqlite_lease_of_a_gone_process_is_taken_over_at_once(&a, &path);
}

#[test]
fn postgres_run_lock_ends_with_its_connection() {
    let Some(server) = pg::server() else { return };
    let schema = pg::Schema::create(&server);
    let (a, b) = (schema.store(), schema.store());
    let backend_of = || -> i32 {
        let token: String = schema
            .admin()
            .query_one(&format!("SELECT token FROM {}.source_locks WHERE source = 'crm'", schema.name), &[])
            .unwrap()
            .get(0);
        token.parse().unwrap()
    };
    let terminate = |pid: i32| {
        schema.admin().execute("SELECT pg_terminate_backend($1)", &[&pid]).unwrap();
    };
    locks::postgres_lock_ends_with_its_connection(&a, &b, &backend_of, &terminate);
}

#[test]
fn postgres_run_locks_of_two_schemas_are_distinct() {
    let Some(server) = pg::server() else { return };
    let (one, two) = (pg::Schema::create(&server), pg::Schema::create(&server));
    let (a, b) = (one.store(), two.store());
    let la = a.lock_source("crm", "hub one", 0, 1_000).unwrap();
    let lb = b.lock_source("crm", "hub two", 0, 1_000).unwrap();
    assert!(matches!((&la, &lb), (accord_store::LockAttempt::Acquired(_), accord_store::LockAttempt::Acquired(_))));
}
