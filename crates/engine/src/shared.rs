//! The lookup index as one process's view of a store that other processes write too.
//!
//! Every committed batch that changes index entries appends the entities it changed to the store's
//! index log. A view remembers the log position it reflects; `refresh` re-reads the entities of the
//! newer entries from the store and applies them, returning the keys whose meaning changed (so the
//! records linked against the older view are re-checked). Re-reading the store's current rows,
//! rather than replaying operations, makes every view converge whatever order it reads in.

use std::ops::{Deref, DerefMut};

use accord_core::{ObjectKind, RejectReason, TriedKey};
use accord_link::LinkIndex;
use accord_store::{IndexEntity, RecordKey, Store, WriteBatch};

use crate::Result;
use crate::pipeline::{IndexOp, entry_from, entry_of, record_link_of};
use crate::plan::Plan;

/// Index-log entries read per round of a refresh.
const LOG_CHUNK: u32 = 5_000;

/// A lookup index and the index-log position it reflects.
#[derive(Debug, Default)]
pub(crate) struct IndexView {
    pub index: LinkIndex,
    pub seq: i64,
    /// This view's own history, so a page linked against it and committed later (the sync driver
    /// links one page while another commits; several sources sync at once) learns what changed in
    /// between, in this process as well as in others.
    pub local: LocalChanges,
}

/// How many changes of a view are remembered: a page prepared further back is re-checked whole.
const LOCAL_HISTORY: usize = 4_096;

/// The changes made to a view, numbered.
#[derive(Debug, Default)]
pub(crate) struct LocalChanges {
    /// The number of the latest change.
    pub generation: u64,
    /// Recent changes, oldest first: the keys each changed (`None` when the view was rebuilt, so
    /// what changed is unknown), and the stream whose page made it, if a page did.
    recent: std::collections::VecDeque<(u64, Option<Vec<TriedKey>>, Option<StreamTag>)>,
}

/// A stream, as `(source, object)`. Pages of one stream never depend on each other (rules point at
/// other objects), so a page need not be re-checked for what its own stream's pages changed.
pub(crate) type StreamTag = (String, String);

/// What changed in a view since a generation.
#[derive(Debug, PartialEq)]
pub(crate) enum Since {
    Keys(Vec<TriedKey>),
    /// Too long ago, or the view was rebuilt since: every key of the page must be re-checked.
    Unknown,
}

impl LocalChanges {
    /// Records a change of the view that changed `keys` (nothing when none changed).
    pub fn note(&mut self, keys: &[TriedKey]) {
        self.note_by(keys, None);
    }

    /// Records a change a page of `stream` made.
    pub fn note_by(&mut self, keys: &[TriedKey], stream: Option<StreamTag>) {
        if !keys.is_empty() {
            self.push(Some(keys.to_vec()), stream);
        }
    }

    /// Records that the view was rebuilt from the store.
    pub fn note_rebuilt(&mut self) {
        self.push(None, None);
    }

    fn push(&mut self, change: Option<Vec<TriedKey>>, stream: Option<StreamTag>) {
        self.generation += 1;
        self.recent.push_back((self.generation, change, stream));
        if self.recent.len() > LOCAL_HISTORY {
            self.recent.pop_front();
        }
    }

    /// The keys changed after generation `since`, leaving out what pages of `stream` changed.
    pub fn since(&self, since: u64, stream: Option<&StreamTag>) -> Since {
        if since == self.generation {
            return Since::Keys(Vec::new());
        }
        if self.recent.front().is_none_or(|(g, _, _)| *g > since + 1) {
            return Since::Unknown;
        }
        let mut keys = Vec::new();
        for (_, change, by) in self.recent.iter().filter(|(g, _, _)| *g > since) {
            match change {
                Some(_) if stream.is_some() && by.as_ref() == stream => {}
                Some(k) => keys.extend(k.iter().cloned()),
                None => return Since::Unknown,
            }
        }
        Since::Keys(keys)
    }
}

impl Deref for IndexView {
    type Target = LinkIndex;
    fn deref(&self) -> &LinkIndex {
        &self.index
    }
}

impl DerefMut for IndexView {
    fn deref_mut(&mut self) -> &mut LinkIndex {
        &mut self.index
    }
}

/// What a refresh did.
#[derive(Debug, Default)]
pub(crate) struct Refreshed {
    /// Keys whose meaning changed in this view.
    pub changed: Vec<TriedKey>,
    /// The view was too far behind the log and was rebuilt from the store: which keys changed is
    /// unknown.
    pub rebuilt: bool,
}

impl IndexView {
    /// Brings the view up to the end of the store's index log.
    pub fn refresh(&mut self, store: &dyn Store, plan: &Plan) -> Result<Refreshed> {
        let mut out = Refreshed::default();
        loop {
            let log = store.index_log_since(self.seq, LOG_CHUNK)?;
            if !log.complete {
                let local = std::mem::take(&mut self.local);
                *self = build(store, plan)?;
                self.local = local;
                self.local.note_rebuilt();
                out.rebuilt = true;
                return Ok(out);
            }
            let done = log.entries.len() < LOG_CHUNK as usize;
            for (seq, entities) in log.entries {
                let mut changed = Vec::new();
                for entity in entities {
                    changed.extend(self.reread(store, plan, entity)?);
                }
                self.local.note(&changed);
                out.changed.extend(changed);
                self.seq = seq;
            }
            if done {
                return Ok(out);
            }
        }
    }

    /// Sets one entity's index entries to what the store holds now.
    fn reread(&mut self, store: &dyn Store, plan: &Plan, entity: IndexEntity) -> Result<Vec<TriedKey>> {
        Ok(match entity {
            IndexEntity::Account { account_id } => match store.account(&account_id)? {
                Some(row) => self.index.upsert_account(entry_of(&row)),
                None => Vec::new(),
            },
            IndexEntity::SorRecord { key } => {
                let filtered = store.quarantined(&key)?.filter(|q| q.rejection.reason == RejectReason::FilteredAccount);
                match filtered.and_then(|q| Some((q.rejection.key.clone()?, q))) {
                    Some((id, q)) if self.index.account(&id).is_none() => {
                        let Ok(id) = accord_core::AccountId::new(id) else { return Ok(Vec::new()) };
                        let fields = plan
                            .stream(&key.source, &key.object)
                            .and_then(|s| {
                                accord_core::record::extract_with_paths(ObjectKind::Account, &s.field_paths, &q.payload)
                                    .ok()
                            })
                            .unwrap_or_default();
                        let entry = entry_from(&id, accord_store::AccountStatus::Filtered, &fields);
                        self.index.set_filtered(entry, &key.native_id)
                    }
                    Some(_) => Vec::new(),
                    None => match self.index.filtered_by_origin(&key.native_id).map(str::to_owned) {
                        Some(id) => self.index.clear_filtered(&id),
                        None => Vec::new(),
                    },
                }
            }
            IndexEntity::Record { kind, key } => {
                if !plan.stream(&key.source, &key.object).is_some_and(|s| s.indexed) {
                    return Ok(Vec::new());
                }
                match store.record(kind, &key)?.filter(|r| !r.is_deleted) {
                    Some(r) => {
                        let link = record_link_of(kind, r.account_id, r.provenance.rule, &r.fields);
                        self.index.upsert_link(&key.map_name(), &key.native_id, link)
                    }
                    None => self.index.remove_link(&key.map_name(), &key.native_id),
                }
            }
            IndexEntity::Domain { account_id, domain } => match accord_core::AccountId::new(account_id) {
                Ok(id) => self.index.add_domain(&domain, &id),
                Err(_) => Vec::new(),
            },
        })
    }
}

/// Loads a view from the store: the log position first, so entries committed while loading are
/// re-read afterwards (re-reading is idempotent).
pub(crate) fn build(store: &dyn Store, plan: &Plan) -> Result<IndexView> {
    let seq = store.index_log_since(0, 0)?.latest;
    let index = crate::hub::load_index(store, plan)?;
    Ok(IndexView { index, seq, local: LocalChanges::default() })
}

/// The index-log entities of a batch: what its index operations change (other processes re-read
/// them), and the System-of-Record records it rejects or deletes (a filtered mark may come or go).
pub(crate) fn entities_of(ops: &[IndexOp], plan: &Plan, batch: &WriteBatch) -> Vec<IndexEntity> {
    let sor = |native_id: &str| RecordKey::new(plan.sor.source.clone(), plan.sor.object.clone(), native_id);
    let mut out: Vec<IndexEntity> = Vec::with_capacity(ops.len());
    for op in ops {
        out.push(match op {
            IndexOp::Account(e) => IndexEntity::Account { account_id: e.account_id.to_string() },
            IndexOp::State(id, _) | IndexOp::Unfiltered(id) => IndexEntity::Account { account_id: id.clone() },
            IndexOp::Filtered(_, origin) => IndexEntity::SorRecord { key: sor(origin) },
            IndexOp::Link { map, native_id, .. } | IndexOp::Unlink { map, native_id } => {
                let Some((source, object)) = map.split_once('/') else { continue };
                let Some(stream) = plan.stream(source, object) else { continue };
                IndexEntity::Record { kind: stream.kind(), key: RecordKey::new(source, object, native_id.as_str()) }
            }
        });
    }
    let sor_records = batch
        .quarantine
        .iter()
        .filter(|q| q.kind == ObjectKind::Account)
        .map(|q| &q.key)
        .chain(batch.tombstones.iter().filter(|(k, _)| *k == ObjectKind::Account).map(|(_, k)| k));
    out.extend(sor_records.map(|key| IndexEntity::SorRecord { key: key.clone() }));
    out.extend(
        batch
            .domains
            .iter()
            .map(|d| IndexEntity::Domain { account_id: d.account_id.to_string(), domain: d.domain.clone() }),
    );
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> TriedKey {
        TriedKey { space: accord_core::KeySpace::Email, key: k.to_owned() }
    }

    #[test]
    fn a_page_learns_what_changed_since_it_was_linked_except_by_its_own_stream() {
        let mut local = LocalChanges::default();
        let at = local.generation;
        assert_eq!(local.since(at, None), Since::Keys(vec![]));
        let own: StreamTag = ("crm".into(), "contacts".into());
        local.note_by(&[key("a@x.io")], Some(own.clone()));
        local.note(&[]);
        local.note_by(&[key("b@x.io")], Some(("support".into(), "users".into())));
        local.note(&[key("c@x.io")]);
        assert_eq!(local.since(at, Some(&own)), Since::Keys(vec![key("b@x.io"), key("c@x.io")]));
        assert_eq!(local.since(at, None), Since::Keys(vec![key("a@x.io"), key("b@x.io"), key("c@x.io")]));
        assert_eq!(local.since(local.generation - 1, None), Since::Keys(vec![key("c@x.io")]));
        local.note_rebuilt();
        assert_eq!(local.since(at, None), Since::Unknown, "a rebuild since: unknown");
        let after = local.generation;
        for i in 0..=LOCAL_HISTORY {
            local.note(&[key(&format!("{i}@x.io"))]);
        }
        assert_eq!(local.since(after, None), Since::Unknown, "further back than the history");
    }
}
