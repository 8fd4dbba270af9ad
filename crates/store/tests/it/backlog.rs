//! Usage rollups are written a moment after their events, so a process that stops in between
//! leaves a backlog entry. These scenarios run against SQLite and PostgreSQL: two store handles
//! on one database stand for two processes, `std::mem::forget` for kill -9 (no flush on drop),
//! and `age` for the time that makes an entry an orphan.

use accord_store::contract::event;
use accord_store::{Store, WriteBatch};

const DAY: i64 = 1_714_521_600_000;

fn three_events() -> WriteBatch {
    WriteBatch {
        records: vec![
            event("e1", "A", "u1", "s1", DAY + 10, Some(("reports", "export", 2.0)), None),
            event("e2", "A", "u2", "s2", DAY + 3_600_000, Some(("reports", "export", 1.0)), None),
            event("e3", "A", "u1", "s1", DAY + 20, None, Some(120.0)),
        ],
        ..WriteBatch::default()
    }
}

fn events_of_a(store: &dyn Store) -> i64 {
    store.usage("A", DAY, DAY + 86_400_000).unwrap().events
}

/// A process killed after its events committed and before their rollups: the next process rolls
/// them up from the raw events, once.
pub fn a_killed_writers_usage_is_rolled_up_once(open: &dyn Fn() -> Box<dyn Store>, age: &dyn Fn()) {
    let killed = open();
    assert_eq!(killed.apply(&three_events()).unwrap().new_events, 3);
    std::mem::forget(killed);
    let next = open();
    assert_eq!(events_of_a(next.as_ref()), 0, "a young entry may belong to a live process: left alone");
    assert_eq!(next.prune_events(DAY + 86_400_000).unwrap(), 0, "retention keeps events not rolled up yet");
    age();
    next.flush_usage().unwrap();
    assert_eq!(events_of_a(next.as_ref()), 3);
    next.flush_usage().unwrap();
    assert_eq!(events_of_a(next.as_ref()), 3, "an entry is rolled up once");
    assert_eq!(next.usage("A", DAY, DAY + 86_400_000).unwrap().active_users, 2);
    assert_eq!(next.prune_events(DAY + 86_400_000).unwrap(), 3, "rolled up, they may go");
    assert_eq!(events_of_a(next.as_ref()), 3);
}

/// A process too slow to write its rollups has its entry rolled up by another; its own flush then
/// finds the entry gone and counts nothing.
pub fn a_slow_writers_usage_is_counted_once(open: &dyn Fn() -> Box<dyn Store>, age: &dyn Fn()) {
    let slow = open();
    assert_eq!(slow.apply(&three_events()).unwrap().new_events, 3);
    let other = open();
    age();
    other.flush_usage().unwrap();
    assert_eq!(events_of_a(other.as_ref()), 3);
    slow.flush_usage().unwrap();
    assert_eq!(events_of_a(slow.as_ref()), 3);
    // A duplicate delivery to either counts nothing.
    assert_eq!(other.apply(&three_events()).unwrap().duplicate_events, 3);
    drop(slow);
    assert_eq!(events_of_a(other.as_ref()), 3);
}

/// Reads see the events their own process stored, and a clean shutdown writes what is pending.
pub fn reads_and_shutdown_flush(open: &dyn Fn() -> Box<dyn Store>) {
    let a = open();
    a.apply(&three_events()).unwrap();
    let b = open();
    drop(a);
    assert_eq!(events_of_a(b.as_ref()), 3, "dropping the store wrote its rollups");
}
