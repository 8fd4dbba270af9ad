//! The lookup index as one process's view of a store that other processes write too.
//!
//! Every committed batch that changes index entries appends the entities it changed to the store's
//! index log. A view remembers the log position it reflects; `refresh` re-reads the entities of the
//! newer entries from the store and applies them, returning the keys whose meaning changed (so the
//! records linked against the older view are re-checked). Re-reading the store's current rows,
//! rather than replaying operations, makes every view converge whatever order it reads in.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use accord_core::{ObjectKind, RejectReason, RuleKind, TriedKey};
use accord_link::{LinkIndex, RecordLink};
use accord_store::{IndexEntity, RecordKey, Store, WriteBatch};

use crate::Result;
use crate::pipeline::{IndexOp, email_of, entry_from, entry_of};
use crate::plan::Plan;

/// Index-log entries read per round of a refresh.
const LOG_CHUNK: u32 = 5_000;

/// A lookup index and the index-log position it reflects.
#[derive(Debug, Default)]
pub(crate) struct IndexView {
    pub index: LinkIndex,
    pub seq: i64,
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
                *self = build(store, plan)?;
                out.rebuilt = true;
                return Ok(out);
            }
            let done = log.entries.len() < LOG_CHUNK as usize;
            for (seq, entities) in log.entries {
                for entity in entities {
                    out.changed.extend(self.reread(store, plan, entity)?);
                }
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
                        let email = (r.provenance.rule != RuleKind::Email)
                            .then(|| email_of(kind, &r.fields))
                            .flatten()
                            .map(Arc::from);
                        let link = RecordLink { account_id: r.account_id, email, is_user: kind == ObjectKind::User };
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
    Ok(IndexView { index, seq })
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
