//! The store contract, run against SQLite always and PostgreSQL when `ACCORD_TEST_POSTGRES_URL` is set.

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
