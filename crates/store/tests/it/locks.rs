//! Run locks, backend by backend: how a stopped holder's lock is taken over. On SQLite a lease
//! that nobody renews expires; on PostgreSQL the lock ends with its holder's connection.

use accord_store::{LockAttempt, SourceLock, Store, StoreError};

const T0: i64 = 1_700_000_000_000;

fn acquired(attempt: LockAttempt) -> Box<dyn SourceLock> {
    match attempt {
        LockAttempt::Acquired(l) => l,
        LockAttempt::Held(h) => panic!("expected the lock, {h}"),
    }
}

fn held_by(attempt: LockAttempt) -> String {
    match attempt {
        LockAttempt::Held(h) => h.holder,
        LockAttempt::Acquired(l) => panic!("a second holder got the lock of {}", l.source()),
    }
}

/// Two stores on one file stand for two processes.
pub fn sqlite_lease_expires_and_is_taken_over(a_store: &dyn Store, b_store: &dyn Store) {
    let a = acquired(a_store.lock_source("crm", "serve A", T0, 10_000).unwrap());
    assert_eq!(held_by(b_store.lock_source("crm", "serve B", T0 + 9_999, 10_000).unwrap()), "serve A");
    // A renews in time: its lease runs on.
    a.renew(T0 + 9_000).unwrap();
    assert_eq!(held_by(b_store.lock_source("crm", "serve B", T0 + 18_999, 10_000).unwrap()), "serve A");
    // A stalls past its lease: B takes the lock over, and A learns it on its next renewal.
    let b = acquired(b_store.lock_source("crm", "serve B", T0 + 19_000, 10_000).unwrap());
    match a.renew(T0 + 19_001) {
        Err(StoreError::LockLost { name, reason }) => {
            assert_eq!(name, "crm");
            assert!(reason.contains("serve B"), "{reason}");
        }
        other => panic!("expected LockLost, got {other:?}"),
    }
    // A letting go of its old lease does not free B's.
    drop(a);
    assert_eq!(a_store.source_lock_holder("crm", T0 + 19_002).unwrap().map(|h| h.holder), Some("serve B".into()));
    assert_eq!(held_by(a_store.lock_source("crm", "serve A", T0 + 19_003, 10_000).unwrap()), "serve B");
    // An expired lease is nobody's.
    std::mem::forget(b);
    assert_eq!(a_store.source_lock_holder("crm", T0 + 29_000).unwrap(), None);
}

/// `terminate` ends the PostgreSQL session of the backend whose pid is given.
pub fn postgres_lock_ends_with_its_connection(
    store: &dyn Store,
    other: &dyn Store,
    backend_of: &dyn Fn() -> i32,
    terminate: &dyn Fn(i32),
) {
    let a = acquired(store.lock_source("crm", "serve A", T0, 10_000).unwrap());
    // No lease time ends a PostgreSQL lock while its connection lives.
    assert_eq!(held_by(other.lock_source("crm", "serve B", T0 + 3_600_000, 10_000).unwrap()), "serve A");
    terminate(backend_of());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let b = loop {
        match other.lock_source("crm", "serve B", T0 + 1, 10_000).unwrap() {
            LockAttempt::Acquired(b) => break b,
            LockAttempt::Held(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            LockAttempt::Held(h) => panic!("the lock outlived its connection: {h}"),
        }
    };
    assert!(matches!(a.renew(T0 + 2), Err(StoreError::LockLost { .. })));
    drop(a);
    assert_eq!(store.source_lock_holder("crm", T0 + 3).unwrap().map(|h| h.holder), Some("serve B".into()));
    drop(b);
    assert_eq!(store.source_lock_holder("crm", T0 + 4).unwrap(), None);
}

/// A lease whose holder was a process of this machine that is gone is taken over at once.
pub fn sqlite_lease_of_a_gone_process_is_taken_over_at_once(store: &dyn Store, db: &std::path::Path) {
    if !std::path::Path::new("/proc/self").exists() {
        return; // no way to tell a gone process here: such leases wait for their expiry
    }
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "INSERT INTO source_locks VALUES ('billing', 'accord sync (killed)', ?1, ?2, ?3)",
        (format!("{pid}@{}/1-0", accord_store::this_host()), T0, T0 + 60_000),
    )
    .unwrap();
    let lock = acquired(store.lock_source("billing", "accord sync (resumed)", T0 + 1, 60_000).unwrap());
    assert_eq!(
        store.source_lock_holder("billing", T0 + 2).unwrap().map(|h| h.holder),
        Some("accord sync (resumed)".into())
    );
    drop(lock);
    conn.execute("DELETE FROM source_locks WHERE source = 'billing'", []).unwrap();
    // A live holder on another machine keeps its lease until it expires.
    conn.execute(
        "INSERT INTO source_locks VALUES ('billing', 'accord serve elsewhere', ?1, ?2, ?3)",
        (format!("{pid}@another-host/1-0"), T0, T0 + 60_000),
    )
    .unwrap();
    assert_eq!(held_by(store.lock_source("billing", "accord sync", T0 + 3, 60_000).unwrap()), "accord serve elsewhere");
}
