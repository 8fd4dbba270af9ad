//! Indexed stores of an emulator's records, so that serving a page costs time in proportion to
//! the page, not to the data set.
//!
//! A [`Store`] keeps its records in id order and two indexes beside them: `(updated, id)` (the
//! order of incremental exports and of "recently changed" lists) and `(created, id)` (the order
//! of plain lists). Finding where a cursor or a `since` time starts is a binary search; a page is
//! a slice of an index. Mutations keep the indexes in step and bump [`Store::version`], the key
//! under which a [`Results`] cache holds the hit list of a search, so a search is evaluated once
//! per query and data version and its later pages are slices too.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

/// What a store needs of a record.
pub trait Record: Clone {
    type Id: Ord + Clone + Debug;
    fn id(&self) -> &Self::Id;
    fn created(&self) -> DateTime<Utc>;
    fn updated(&self) -> DateTime<Utc>;
}

/// Implements [`Record`] for record types that keep their id in an `id` field: the types, their
/// id type, and how a record `r` gives its creation and update times, e.g.
/// `record!(Customer, Invoice => String, |r| created: at(r.created), updated: at(r.updated));`
/// (a vendor without update times gives the creation time for both).
macro_rules! record {
    ($($t:ty),+ => $id:ty, |$r:ident| created: $created:expr, updated: $updated:expr) => {
        $(impl $crate::emulator::store::Record for $t {
            type Id = $id;
            fn id(&self) -> &$id {
                &self.id
            }
            fn created(&self) -> ::chrono::DateTime<::chrono::Utc> {
                let $r = self;
                $created
            }
            fn updated(&self) -> ::chrono::DateTime<::chrono::Utc> {
                let $r = self;
                $updated
            }
        })+
    };
}
pub(crate) use record;

/// A position in an ordered index: a time and the id that breaks ties.
pub type Key<Id> = (DateTime<Utc>, Id);

/// The records of one object, in id order, indexed by `(updated, id)` and `(created, id)`.
#[derive(Debug, Clone)]
pub struct Store<R: Record> {
    rows: Vec<R>,
    by_updated: Vec<Key<R::Id>>,
    by_created: Vec<Key<R::Id>>,
    version: u64,
}

impl<R: Record> Default for Store<R> {
    fn default() -> Self {
        Self { rows: Vec::new(), by_updated: Vec::new(), by_created: Vec::new(), version: 0 }
    }
}

impl<R: Record> FromIterator<R> for Store<R> {
    fn from_iter<I: IntoIterator<Item = R>>(rows: I) -> Self {
        let mut rows: Vec<R> = rows.into_iter().collect();
        rows.sort_by(|a, b| a.id().cmp(b.id()));
        rows.dedup_by(|a, b| a.id() == b.id());
        let mut by_updated: Vec<_> = rows.iter().map(|r| (r.updated(), r.id().clone())).collect();
        let mut by_created: Vec<_> = rows.iter().map(|r| (r.created(), r.id().clone())).collect();
        by_updated.sort_unstable();
        by_created.sort_unstable();
        Self { rows, by_updated, by_created, version: 0 }
    }
}

impl<R: Record> Store<R> {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Changes with every mutation: cached results keyed by it are never stale.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The records in id order.
    pub fn rows(&self) -> &[R] {
        &self.rows
    }

    /// The position of `id` in id order.
    pub fn position(&self, id: &R::Id) -> Option<usize> {
        self.rows.binary_search_by(|r| r.id().cmp(id)).ok()
    }

    pub fn get(&self, id: &R::Id) -> Option<&R> {
        self.position(id).map(|i| &self.rows[i])
    }

    /// The records in `(updated, id)` order.
    pub fn by_updated(&self) -> Ordered<'_, R> {
        Ordered { store: self, index: &self.by_updated }
    }

    /// The records in `(created, id)` order.
    pub fn by_created(&self) -> Ordered<'_, R> {
        Ordered { store: self, index: &self.by_created }
    }

    /// Adds a record, or replaces the one with its id (returned).
    pub fn insert(&mut self, record: R) -> Option<R> {
        let old = self.remove(record.id());
        add_key(&mut self.by_updated, (record.updated(), record.id().clone()));
        add_key(&mut self.by_created, (record.created(), record.id().clone()));
        let at = self.rows.partition_point(|r| r.id() < record.id());
        self.rows.insert(at, record);
        self.version += 1;
        old
    }

    /// Changes a record in place (its id must stay) and re-indexes it. `None` when absent.
    pub fn update<T>(&mut self, id: &R::Id, change: impl FnOnce(&mut R) -> T) -> Option<T> {
        let i = self.position(id)?;
        let before = (self.rows[i].updated(), self.rows[i].created());
        let out = change(&mut self.rows[i]);
        let r = &self.rows[i];
        assert!(r.id() == id, "a store's record keeps its id");
        if r.updated() != before.0 {
            remove_key(&mut self.by_updated, &(before.0, id.clone()));
            add_key(&mut self.by_updated, (r.updated(), id.clone()));
        }
        if r.created() != before.1 {
            remove_key(&mut self.by_created, &(before.1, id.clone()));
            add_key(&mut self.by_created, (r.created(), id.clone()));
        }
        self.version += 1;
        Some(out)
    }

    /// Removes a record. `None` when absent.
    pub fn remove(&mut self, id: &R::Id) -> Option<R> {
        let i = self.position(id)?;
        let r = self.rows.remove(i);
        remove_key(&mut self.by_updated, &(r.updated(), id.clone()));
        remove_key(&mut self.by_created, &(r.created(), id.clone()));
        self.version += 1;
        Some(r)
    }
}

fn add_key<Id: Ord>(index: &mut Vec<Key<Id>>, key: Key<Id>) {
    let at = index.partition_point(|k| *k < key);
    index.insert(at, key);
}

fn remove_key<Id: Ord>(index: &mut Vec<Key<Id>>, key: &Key<Id>) {
    if let Ok(at) = index.binary_search(key) {
        index.remove(at);
    }
}

/// A store seen through one of its indexes.
#[derive(Debug, Clone, Copy)]
pub struct Ordered<'a, R: Record> {
    store: &'a Store<R>,
    index: &'a [Key<R::Id>],
}

impl<'a, R: Record> Ordered<'a, R> {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The index itself: `(time, id)` in order.
    pub fn keys(&self) -> &'a [Key<R::Id>] {
        self.index
    }

    /// The key at `i`, in index order.
    pub fn key(&self, i: usize) -> &'a Key<R::Id> {
        &self.index[i]
    }

    /// The record at `i`, in index order.
    pub fn get(&self, i: usize) -> &'a R {
        self.store.get(&self.index[i].1).expect("every indexed id is stored")
    }

    /// The first position after `(time, id)`: where a cursor naming that record resumes.
    pub fn after(&self, time: DateTime<Utc>, id: &R::Id) -> usize {
        self.index.partition_point(|(t, i)| (*t, i) <= (time, id))
    }

    /// The first position at or after `time`: where a `since` (inclusive) starts.
    pub fn since(&self, time: DateTime<Utc>) -> usize {
        self.index.partition_point(|(t, _)| *t < time)
    }

    /// The records from position `from` on, in index order, each with its key.
    pub fn iter_from(&self, from: usize) -> impl DoubleEndedIterator<Item = (&'a Key<R::Id>, &'a R)> + 'a {
        let store = self.store;
        self.index[from.min(self.index.len())..]
            .iter()
            .map(move |k| (k, store.get(&k.1).expect("every indexed id is stored")))
    }
}

/// A small cache of computed results (a search's hits), keyed by the query's text and the data
/// version it was computed on. The oldest entry goes when `capacity` is reached.
#[derive(Debug)]
pub struct Results<V> {
    capacity: usize,
    entries: Mutex<VecDeque<(String, u64, Arc<V>)>>,
}

impl<V> Results<V> {
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), entries: Mutex::new(VecDeque::new()) }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<(String, u64, Arc<V>)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The result for `query` at `version`, computed by `make` when not cached.
    pub fn get_or_try<E>(&self, query: &str, version: u64, make: impl FnOnce() -> Result<V, E>) -> Result<Arc<V>, E> {
        if let Some((_, _, v)) = self.lock().iter().find(|(q, ver, _)| *ver == version && q == query) {
            return Ok(v.clone());
        }
        let value = Arc::new(make()?);
        let mut entries = self.lock();
        entries.retain(|(_, ver, _)| *ver == version);
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((query.to_owned(), version, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Row {
        id: u64,
        created: i64,
        updated: i64,
    }

    impl Record for Row {
        type Id = u64;
        fn id(&self) -> &u64 {
            &self.id
        }
        fn created(&self) -> DateTime<Utc> {
            DateTime::from_timestamp(self.created, 0).unwrap()
        }
        fn updated(&self) -> DateTime<Utc> {
            DateTime::from_timestamp(self.updated, 0).unwrap()
        }
    }

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    fn ids<'a>(it: impl Iterator<Item = (&'a Key<u64>, &'a Row)>) -> Vec<u64> {
        it.map(|(_, r)| r.id).collect()
    }

    #[test]
    fn indexes_follow_inserts_updates_and_removals() {
        let mut s: Store<Row> = [(3, 10, 30), (1, 20, 30), (2, 5, 10)]
            .into_iter()
            .map(|(id, created, updated)| Row { id, created, updated })
            .collect();
        assert_eq!(s.rows().iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(ids(s.by_updated().iter_from(0)), [2, 1, 3], "ties by id");
        assert_eq!(ids(s.by_created().iter_from(0)), [2, 3, 1]);
        let v = s.version();
        s.update(&2, |r| r.updated = 40).unwrap();
        assert!(s.version() > v);
        assert_eq!(ids(s.by_updated().iter_from(0)), [1, 3, 2]);
        s.insert(Row { id: 0, created: 1, updated: 35 });
        assert_eq!(ids(s.by_updated().iter_from(0)), [1, 3, 0, 2]);
        assert_eq!(s.remove(&3).map(|r| r.id), Some(3));
        assert_eq!(ids(s.by_updated().iter_from(0)), [1, 0, 2]);
        assert_eq!(ids(s.by_created().iter_from(0)), [0, 2, 1]);
        assert_eq!(s.update(&3, |_| ()), None);
        assert_eq!(s.insert(Row { id: 1, created: 20, updated: 50 }).map(|r| r.updated), Some(30), "replaced");
        assert_eq!(s.len(), 3);
        assert_eq!(ids(s.by_updated().iter_from(0)), [0, 2, 1]);
    }

    #[test]
    fn cursors_resume_after_their_record_and_since_is_inclusive() {
        let s: Store<Row> = (1..=6).map(|id| Row { id, created: 0, updated: 100 + (id as i64) / 2 }).collect();
        // updated: 1→100, 2→101, 3→101, 4→102, 5→102, 6→103
        let o = s.by_updated();
        assert_eq!(ids(o.iter_from(o.after(t(101), &2))), [3, 4, 5, 6]);
        assert_eq!(ids(o.iter_from(o.after(t(101), &3))), [4, 5, 6]);
        assert_eq!(ids(o.iter_from(o.since(t(102)))), [4, 5, 6]);
        assert_eq!(o.since(t(200)), 6);
        assert_eq!(o.get(0).id, 1);
        assert_eq!(o.key(5), &(t(103), 6));
    }

    #[test]
    fn results_are_cached_per_query_and_version() {
        let cache: Results<Vec<u64>> = Results::new(2);
        let computed = std::cell::Cell::new(0);
        let get = |q: &str, v: u64| {
            cache
                .get_or_try::<()>(q, v, || {
                    computed.set(computed.get() + 1);
                    Ok(vec![v])
                })
                .unwrap()
        };
        assert_eq!(*get("a", 1), [1]);
        assert_eq!(*get("a", 1), [1]);
        assert_eq!(*get("b", 1), [1]);
        assert_eq!(*get("a", 2), [2], "a new version is a new result");
        assert_eq!(*get("a", 2), [2]);
        assert_eq!(computed.get(), 3);
    }
}
