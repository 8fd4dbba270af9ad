//! The hub: the store, the plan and the lookup index, and the operations that change them
//! together: ingesting a page, re-linking the quarantine, deactivating and restoring accounts.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use accord_connectors::{Item, RawRecord};
use accord_core::{AccountId, Config, KeySpace, ObjectKind, RejectReason, TriedKey};
use accord_link::{AccountState, LinkIndex};
use accord_store::{
    Checkpoint, DeleteListChange, DomainRow, IndexRow, QuarantineEntry, QuarantineQuery, RunCounts, Store, WriteBatch,
};
use serde::Serialize;
use serde_json::Value;

pub use crate::pipeline::ItemResult;
use crate::pipeline::{Context, IndexOp, MALFORMED, Prepared, entry_from, entry_of, record_link};
use crate::plan::{Plan, StreamPlan};
use crate::shared::IndexView;
use crate::{EngineError, Result};

/// Above this many changed keys, re-linking scans the quarantine instead of looking keys up.
const KEY_LOOKUP_LIMIT: usize = 5_000;
/// Records re-processed per batch when re-linking.
const RELINK_CHUNK: usize = 2_000;
/// Change-feed keys consumed per settle round.
const SETTLE_CHUNK: u32 = 5_000;
/// A settle pass stops (leaving the rest of the feed for the next one) after this many rounds.
const MAX_SETTLE_ROUNDS: usize = 10_000;

/// The hub.
#[derive(Debug)]
pub struct Hub {
    pub config: Config,
    pub plan: Plan,
    pub store: Arc<dyn Store>,
    index: Mutex<IndexView>,
    /// Whether each full pass seen by this process reconciles, by (source, object, pass).
    passes: Mutex<HashMap<(String, String, String), bool>>,
}

/// Extra inputs for ingesting a page from a sync.
#[derive(Debug, Default)]
pub struct PageContext<'a> {
    pub checkpoint: Option<Checkpoint>,
    pub run: Option<i64>,
    /// Values of the SOR's `also_exists_in` object.
    pub also: Option<&'a HashSet<String>>,
    /// SOR account ids claimed so far in this sync.
    pub sor_claims: Option<&'a mut HashMap<String, String>>,
    /// Report what happened to each item (`IngestOutcome::items`).
    pub report_items: bool,
    /// The page belongs to a full read of the object's list (`Page::full_pass`).
    pub full_pass: Option<accord_connectors::FullPass>,
}

/// A page submitted through an API, for `Hub::ingest_group`.
#[derive(Debug)]
pub struct ApiPage {
    pub plan: Arc<StreamPlan>,
    pub items: Vec<Item>,
    /// Report what happened to each item (`IngestOutcome::items`).
    pub report_items: bool,
    /// Per item (empty, or one list per item): nested account entries to store, in the same
    /// transaction, with the account the item becomes; their `account_id` is filled in then.
    pub account_entries: Vec<Vec<accord_store::AccountEntry>>,
}

impl From<(Arc<StreamPlan>, Vec<Item>, bool)> for ApiPage {
    fn from((plan, items, report_items): (Arc<StreamPlan>, Vec<Item>, bool)) -> Self {
        Self { plan, items, report_items, account_entries: Vec::new() }
    }
}

/// A page linked and ready to commit.
#[derive(Debug)]
pub struct PreparedPage(Prepared);

impl PreparedPage {
    /// The page's counts (fetched, linked, rejected by reason).
    pub fn counts(&self) -> &RunCounts {
        &self.0.counts
    }
}

/// What ingesting a page did.
#[derive(Debug, Default, Clone)]
pub struct IngestOutcome {
    pub counts: RunCounts,
    /// Keys whose meaning changed: the quarantined records that tried them may link now.
    pub changed: Vec<TriedKey>,
    /// New and duplicate events among the linked records.
    pub applied: accord_store::ApplyOutcome,
    /// What happened to each item, in order (empty unless `PageContext::report_items`).
    pub items: Vec<ItemResult>,
    /// Records tombstoned because the full pass this page completed never returned them.
    pub reconciled: u64,
}

/// What re-linking did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RelinkReport {
    /// Quarantined records looked at again.
    pub retried: u64,
    /// Of those, how many linked and left the quarantine.
    pub linked: u64,
    /// Still rejected, by reason.
    pub still_rejected: BTreeMap<String, u64>,
    /// Quarantined records that cannot be retried (malformed rows, or their source is no longer configured).
    pub not_retryable: u64,
}

impl RelinkReport {
    fn add(&mut self, counts: &RunCounts) {
        self.retried += counts.fetched;
        self.linked += counts.linked;
        for (r, n) in &counts.rejected_by_reason {
            *self.still_rejected.entry(r.clone()).or_default() += n;
        }
    }
}

impl Hub {
    /// Opens the hub described by a config: builds the plan, opens and migrates the store, loads
    /// the lookup index.
    pub fn open(config: Config) -> Result<Self> {
        let plan = Plan::build(&config)?;
        let store = accord_store::open_and_migrate(&config.store_url())?;
        Self::with_parts(config, plan, store)
    }

    /// A hub over a given plan and store (already migrated).
    pub fn with_parts(config: Config, plan: Plan, store: Arc<dyn Store>) -> Result<Self> {
        let view = crate::shared::build(store.as_ref(), &plan)?;
        let hub = Self { config, plan, store, index: Mutex::new(view), passes: Mutex::default() };
        hub.load_config_domains()?;
        Ok(hub)
    }

    /// Rebuilds this process's view of the index from the store (after a failed write, whose index
    /// changes were made first).
    fn rebuild(&self, view: &mut IndexView) -> Result<()> {
        let local = std::mem::take(&mut view.local);
        *view = crate::shared::build(self.store.as_ref(), &self.plan)?;
        view.local = local;
        view.local.note_rebuilt();
        Ok(())
    }

    /// Copies `[[domains]]` from the config into the domain map.
    fn load_config_domains(&self) -> Result<()> {
        let mut batch = WriteBatch::default();
        for d in &self.config.raw.domains {
            let account_id = AccountId::new(d.account_id.clone()).map_err(|e| EngineError::Invalid(e.to_string()))?;
            batch.domains.push(DomainRow {
                domain: d.domain.trim().to_lowercase(),
                account_id,
                origin: "config".into(),
            });
        }
        if batch.domains.is_empty() {
            return Ok(());
        }
        batch.index_entities = crate::shared::entities_of(&[], &self.plan, &batch);
        let mut index = self.lock();
        self.store.apply(&batch)?;
        for d in &batch.domains {
            index.add_domain(&d.domain, &d.account_id);
        }
        Ok(())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, IndexView> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The index, brought up to what every process has committed.
    fn fresh(&self) -> Result<MutexGuard<'_, IndexView>> {
        let mut index = self.lock();
        self.refresh(&mut index)?;
        Ok(index)
    }

    /// Runs a read-only function over the lookup index (current with every process's commits).
    pub fn with_index<T>(&self, f: impl FnOnce(&LinkIndex) -> T) -> T {
        let mut index = self.lock();
        if let Err(e) = self.refresh(&mut index) {
            tracing::warn!(error = %e, "could not read the index log; answering from this process's view");
        }
        f(&index)
    }

    /// Ingests one page of one stream: link, write (with the checkpoint and run counts, in one
    /// transaction), then update the index.
    pub fn ingest(&self, plan: &StreamPlan, items: Vec<Item>, page: PageContext<'_>) -> Result<IngestOutcome> {
        let prepared = self.prepare(plan, items, page);
        self.commit(prepared)
    }

    /// Links a page against the current index and builds its batch, writing nothing. Pages of one
    /// stream never depend on each other (rules point at other objects), so the sync driver
    /// prepares the next page while the previous one commits.
    pub fn prepare(&self, plan: &StreamPlan, items: Vec<Item>, mut page: PageContext<'_>) -> PreparedPage {
        let mut prepared = Prepared::default();
        prepared.batch.records.reserve(items.len());
        if page.report_items {
            prepared.items = Some(Vec::with_capacity(items.len()));
        }
        {
            let mut index = self.lock();
            // Link against what every process has committed so far; the commit re-checks.
            if let Err(e) = self.refresh(&mut index) {
                tracing::warn!(error = %e, "could not read the index log; the commit tries again");
            }
            Context {
                index: &index,
                plan,
                now: chrono::Utc::now(),
                also: page.also,
                sor_claims: page.sor_claims.as_deref_mut(),
            }
            .prepare(items, &mut prepared);
            prepared.generation = index.local.generation;
            prepared.stream = Some((plan.source.clone(), plan.object().to_owned()));
        }
        if let Some(pass) = page.full_pass.take() {
            let b = &prepared.batch;
            let native_ids = b
                .records
                .iter()
                .map(|r| &r.key)
                .chain(b.quarantine.iter().map(|q| &q.key))
                .chain(b.accounts.iter().map(|a| &a.origin))
                .filter(|k| k.source == plan.source && k.object == plan.object())
                .map(|k| k.native_id.clone())
                .collect();
            // A pass that began when accord held nothing of the object has nothing to find gone.
            let reconcile = match self.pass_reconciles(plan, &pass.id) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the full pass's state; marking its records");
                    true
                }
            };
            prepared.batch.seen_in_pass = Some(accord_store::SeenInPass {
                source: plan.source.clone(),
                object: plan.object().to_owned(),
                pass: pass.id,
                native_ids,
                complete: pass.complete,
                reconcile,
            });
        }
        prepared.batch.checkpoint = page.checkpoint.take();
        if let Some(run) = page.run {
            prepared.batch.run = Some((run, prepared.counts.clone()));
        }
        PreparedPage(prepared)
    }

    /// Writes a prepared page in one transaction, with the index changes it makes: SOR deletions
    /// and displaced SOR records resolved against the store, and, on the last page of a full pass,
    /// the object's records the pass never returned tombstoned (deleted at the source).
    pub fn commit(&self, page: PreparedPage) -> Result<IngestOutcome> {
        let Prepared { mut batch, counts, mut ops, mut sor_deletions, displaced, items, generation, stream } = page.0;
        let mut index = self.lock();
        // This process (another stream, source or API request) or another process may have changed
        // the index since the page was linked: the keys changed go to the feed with this page, so
        // its records are re-checked against the fresh view.
        let (mut stale, local) = match index.local.since(generation, stream.as_ref()) {
            crate::shared::Since::Keys(keys) => (false, keys),
            crate::shared::Since::Unknown => (true, Vec::new()),
        };
        let foreign = self.refresh(&mut index)?;
        stale |= foreign.rebuilt;
        let stale = if stale { page_keys(&batch) } else { Vec::new() };
        let mut foreign: Vec<TriedKey> = local.into_iter().chain(foreign.changed).chain(stale).collect();
        batch.pending_keys.extend(foreign.iter().cloned());
        let deletions = self.pass_deletions(&index, &batch)?;
        let reconciled = deletions.counts.fetched;
        batch.tombstones.extend(deletions.batch.tombstones);
        ops.extend(deletions.ops);
        sor_deletions.extend(deletions.sor_deletions);
        let extra_ops = self.resolve_sor_deletions(&index, &mut batch, sor_deletions)?;
        for key in displaced {
            if let Some(account) = self.store.account_by_origin(&key)? {
                batch.quarantine.push(displaced_rejection(&account, &batch));
            }
        }
        // The index changes first, so the keys they change go into the change feed in the same
        // transaction as the batch; if the transaction fails, the index is rebuilt from the store.
        ops.extend(extra_ops);
        let mut changed = Vec::new();
        for op in ops.iter().cloned() {
            changed.extend(op.apply(&mut index));
        }
        index.local.note_by(&changed, stream);
        batch.pending_keys.extend(changed.iter().cloned());
        batch.index_entities = crate::shared::entities_of(&ops, &self.plan, &batch);
        let mut batches = [batch];
        let (mut applied, later) = self.apply_fresh(&mut index, &mut batches, &ops)?;
        drop(index);
        crate::reclaim::later(batches);
        // What the page saw change under it is for the settle to look at, like its own changes.
        foreign.extend(later);
        changed.extend(foreign);
        Ok(IngestOutcome { counts, changed, applied: applied.remove(0), items: items.unwrap_or_default(), reconciled })
    }

    /// On the page that completes a reconciling full pass: the object's records the pass never
    /// returned, prepared as deletions (its `counts.fetched` says how many).
    fn pass_deletions(&self, index: &IndexView, batch: &WriteBatch) -> Result<Prepared> {
        let mut deletions = Prepared::default();
        let Some(seen) = batch.seen_in_pass.as_ref().filter(|s| s.complete && s.reconcile) else {
            return Ok(deletions);
        };
        let Some(plan) = self.plan.stream(&seen.source, &seen.object) else { return Ok(deletions) };
        let in_page: HashSet<&str> = seen.native_ids.iter().map(String::as_str).collect();
        let gone: Vec<Item> = self
            .store
            .unseen_in_pass(plan.kind(), &seen.source, &seen.object, &seen.pass)?
            .into_iter()
            .filter(|id| !in_page.contains(id.as_str()))
            .map(|native_id| Item::Deleted { native_id })
            .collect();
        Context { index, plan, now: chrono::Utc::now(), also: None, sor_claims: None }.prepare(gone, &mut deletions);
        Ok(deletions)
    }

    /// SOR records deleted at the source: the account each created goes on the delete list; one
    /// that is not an account (rejected, or filtered out) loses its rejection and filtered mark.
    /// Returns the index operations to make.
    fn resolve_sor_deletions(
        &self,
        index: &IndexView,
        batch: &mut WriteBatch,
        keys: Vec<accord_store::RecordKey>,
    ) -> Result<Vec<IndexOp>> {
        let mut ops = Vec::new();
        for key in keys {
            match self.store.account_by_origin(&key)? {
                Some(account) => {
                    let reason = format!("deleted in {}/{}", key.source, key.object);
                    batch.account_status.push((account.account_id.clone(), accord_store::AccountStatus::Deleted));
                    batch.delete_list.push(DeleteListChange::Add { account_id: account.account_id.clone(), reason });
                    ops.push(IndexOp::State(account.account_id.to_string(), AccountState::Deleted));
                }
                None => {
                    if let Some(id) = index.filtered_by_origin(&key.native_id) {
                        ops.push(IndexOp::Unfiltered(id.to_owned()));
                    }
                }
            }
            batch.tombstones.push((ObjectKind::Account, key));
        }
        Ok(ops)
    }

    /// Whether full pass `pass` of a stream reconciles: decided at its first page (it does when
    /// accord already holds records of the object), then read back from the store.
    fn pass_reconciles(&self, plan: &StreamPlan, pass: &str) -> Result<bool> {
        let key = (plan.source.clone(), plan.object().to_owned(), pass.to_owned());
        let mut passes = self.passes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = passes.get(&key) {
            return Ok(*r);
        }
        let reconciles = match self.store.pass_state(plan.kind(), &plan.source, plan.object(), pass)? {
            accord_store::PassState::New { holds_records } => holds_records,
            accord_store::PassState::Marking => true,
            accord_store::PassState::NotReconciling => false,
        };
        passes.insert(key, reconciles);
        Ok(reconciles)
    }

    /// Brings a view up to the store's index log; on a failure the view is rebuilt.
    fn refresh(&self, view: &mut IndexView) -> Result<crate::shared::Refreshed> {
        match view.refresh(self.store.as_ref(), &self.plan) {
            Ok(r) => Ok(r),
            Err(e) => {
                self.rebuild(view)?;
                Err(e)
            }
        }
    }

    /// Writes batches (one transaction) whose index changes `ops` are already made in `view`,
    /// provided no other process changed the index since the view's position. When one did, the
    /// view is refreshed, `ops` are made again over it (so the view ends as the store will), the
    /// keys that changed go to the first batch's feed, and the write is tried again. Any other
    /// failure rebuilds the view from the store, which never holds what was not committed.
    fn apply_fresh(
        &self,
        view: &mut IndexView,
        batches: &mut [WriteBatch],
        ops: &[IndexOp],
    ) -> Result<(Vec<accord_store::ApplyOutcome>, Vec<TriedKey>)> {
        const ATTEMPTS: usize = 50;
        let mut added = Vec::new();
        for attempt in 1.. {
            batches[0].expect_log_seq = Some(view.seq);
            let refs: Vec<&WriteBatch> = batches.iter().collect();
            let result =
                if refs.len() == 1 { self.store.apply(refs[0]).map(|a| vec![a]) } else { self.store.apply_all(&refs) };
            match result {
                Ok(applied) => {
                    if let Some(seq) = applied.iter().filter_map(|a| a.log_seq).max() {
                        view.seq = seq;
                    }
                    return Ok((applied, added));
                }
                Err(accord_store::StoreError::Stale { .. }) if attempt < ATTEMPTS => {
                    let foreign = self.refresh(view)?;
                    let mut keys = foreign.changed;
                    if foreign.rebuilt {
                        keys.extend(batches.iter().flat_map(page_keys));
                    }
                    let mut again = Vec::new();
                    for op in ops.iter().cloned() {
                        again.extend(op.apply(view));
                    }
                    view.local.note(&again);
                    keys.extend(again);
                    batches[0].pending_keys.extend(keys.iter().cloned());
                    added.extend(keys);
                }
                Err(e) => {
                    self.rebuild(view)?;
                    return Err(e.into());
                }
            }
        }
        unreachable!("the loop returns")
    }

    /// Ingests several pages (of any streams) in one transaction: group commit for concurrent API
    /// requests. Pages are linked in order, each seeing the index changes of the ones before it;
    /// if the transaction fails, the index is rebuilt from the store so it never holds what was
    /// not committed.
    pub fn ingest_group(&self, pages: Vec<ApiPage>) -> Result<Vec<IngestOutcome>> {
        let mut index = self.lock();
        self.refresh(&mut index)?;
        let mut all_ops = Vec::new();
        let mut prepared = Vec::with_capacity(pages.len());
        let mut changed: Vec<Vec<TriedKey>> = Vec::with_capacity(pages.len());
        for ApiPage { plan, items, report_items, account_entries } in pages {
            let mut p = Prepared::default();
            if report_items || !account_entries.is_empty() {
                p.items = Some(Vec::with_capacity(items.len()));
            }
            Context { index: &index, plan: &plan, now: chrono::Utc::now(), also: None, sor_claims: None }
                .prepare(items, &mut p);
            // Nested entries go with the accounts their items became, never with a rejection.
            for (result, entries) in p.items.iter().flatten().zip(account_entries) {
                if let ItemResult::Linked { account_id } = result {
                    p.batch.account_entries.extend(
                        entries
                            .into_iter()
                            .map(|e| accord_store::AccountEntry { account_id: account_id.to_string(), ..e }),
                    );
                }
            }
            if !report_items {
                p.items = None;
            }
            let mut keys = Vec::new();
            let ops = std::mem::take(&mut p.ops);
            p.batch.index_entities = crate::shared::entities_of(&ops, &self.plan, &p.batch);
            for op in ops {
                keys.extend(op.clone().apply(&mut index));
                all_ops.push(op);
            }
            index.local.note(&keys);
            p.batch.pending_keys.extend(keys.iter().cloned());
            changed.push(keys);
            prepared.push(p);
        }
        let mut batches: Vec<WriteBatch> = prepared.iter_mut().map(|p| std::mem::take(&mut p.batch)).collect();
        let (applied, later) = self.apply_fresh(&mut index, &mut batches, &all_ops)?;
        drop(index);
        crate::reclaim::later(batches);
        if let Some(first) = changed.first_mut() {
            first.extend(later);
        }
        Ok(prepared
            .into_iter()
            .zip(applied)
            .zip(changed)
            .map(|((p, applied), changed)| IngestOutcome {
                counts: p.counts,
                changed,
                applied,
                items: p.items.unwrap_or_default(),
                reconciled: 0,
            })
            .collect())
    }

    /// Brings the link state to its fixpoint: consumes the store's change feed (the keys whose
    /// meaning changed), re-links the records that depend on them, and clears each key once its
    /// records are re-linked. Re-linking records more changes (a cascade: an account unlocks an
    /// organization, which unlocks its tickets), which lands in the feed and is consumed in turn.
    /// A crash anywhere leaves the unconsumed keys in the store, so the next settle resumes.
    pub fn settle(&self) -> Result<RelinkReport> {
        let mut report = RelinkReport::default();
        let mut rounds = 0;
        loop {
            let pending = self.store.pending_keys(SETTLE_CHUNK)?;
            if pending.is_empty() {
                return Ok(report);
            }
            rounds += 1;
            if rounds > MAX_SETTLE_ROUNDS {
                tracing::warn!(rounds, "settling stopped: the change feed keeps refilling; the next settle goes on");
                return Ok(report);
            }
            // Re-check against what every process has committed.
            let _ = self.refresh(&mut self.lock())?;
            let keys: HashSet<TriedKey> = pending.iter().map(|p| p.key.clone()).collect();
            let mut entries = self.quarantined_for(&keys)?;
            entries.extend(self.linked_depending_on(&keys)?);
            self.reprocess(entries, &mut report)?;
            self.store.apply(&WriteBatch { settled_keys: pending, ..Default::default() })?;
        }
    }

    /// Linked records whose answer depends on one of `keys` (their own account, or a key in their
    /// `depends_on`) and whose answer, linked again now, differs: they are re-processed as if
    /// quarantined (an email that was unique may stop being so; an earlier rule may resolve now; an
    /// account may be filtered or deleted; a parent may move or go).
    fn linked_depending_on(&self, keys: &HashSet<TriedKey>) -> Result<Vec<QuarantineEntry>> {
        let list: Vec<TriedKey> = keys.iter().cloned().collect();
        let mut targets: BTreeSet<(ObjectKind, accord_store::RecordKey)> = BTreeSet::new();
        for key in self.store.linked_by_keys(&list)? {
            if let Some(plan) = self.plan.stream(&key.source, &key.object) {
                targets.insert((plan.kind(), key));
            }
        }
        let accounts: Vec<String> =
            keys.iter().filter(|k| k.space == KeySpace::AccountState).map(|k| k.key.clone()).collect();
        if !accounts.is_empty() {
            targets.extend(self.store.linked_to_accounts(&self.plan.relinkable_kinds(), &accounts)?);
        }
        let mut out = Vec::new();
        for (kind, key) in targets {
            let Some(plan) = self.plan.stream(&key.source, &key.object) else { continue };
            let Some(r) = self.store.record(kind, &key)? else { continue };
            if r.is_deleted {
                continue;
            }
            let unchanged = match plan.link.link(&self.lock(), &r.payload) {
                Ok(l) => l.account_id == r.account_id && l.provenance == r.provenance,
                Err(_) => false,
            };
            if unchanged {
                continue;
            }
            out.push(QuarantineEntry {
                id: 0,
                key: r.key,
                kind: r.kind,
                rejection: accord_core::Rejection::field(RejectReason::Ambiguous, "re-checked"),
                payload: r.payload,
                location: None,
                first_seen: r.first_seen,
                last_seen: r.last_seen,
                attempts: 0,
            });
        }
        Ok(out)
    }

    fn quarantined_for(&self, keys: &HashSet<TriedKey>) -> Result<Vec<QuarantineEntry>> {
        // Look the keys up, unless there are more of them than the quarantine has keys: then
        // scanning it is cheaper (a first import settles many keys against an empty quarantine).
        if keys.len() <= KEY_LOOKUP_LIMIT && self.store.quarantine_key_count(keys.len() as u64)? >= keys.len() as u64 {
            let keys: Vec<TriedKey> = keys.iter().cloned().collect();
            return Ok(self.store.quarantine_by_keys(&keys)?);
        }
        let mut out = Vec::new();
        self.store.for_each_quarantined(&QuarantineQuery::default(), &mut |e| {
            if e.rejection.tried.iter().any(|t| keys.contains(t)) {
                out.push(e);
            }
        })?;
        Ok(out)
    }

    /// Retries every quarantined record matching `query` (after a config change, say).
    pub fn retry(&self, query: &QuarantineQuery) -> Result<RelinkReport> {
        let mut entries = Vec::new();
        self.store.for_each_quarantined(query, &mut |e| entries.push(e))?;
        self.retry_entries(entries)
    }

    /// Retries the quarantined records with these ids (`QuarantineEntry::id`); ids no longer in the
    /// quarantine are skipped (they linked since, or were retried by someone else).
    pub fn retry_ids(&self, ids: &[i64]) -> Result<RelinkReport> {
        let mut entries = Vec::new();
        for id in ids {
            if let Some(e) = self.store.quarantine_entry(*id)? {
                entries.push(e);
            }
        }
        self.retry_entries(entries)
    }

    fn retry_entries(&self, entries: Vec<QuarantineEntry>) -> Result<RelinkReport> {
        let mut report = RelinkReport::default();
        self.reprocess(entries, &mut report)?;
        let more = self.settle()?;
        report.retried += more.retried;
        report.linked += more.linked;
        report.not_retryable += more.not_retryable;
        for (r, n) in more.still_rejected {
            *report.still_rejected.entry(r).or_default() += n;
        }
        Ok(report)
    }

    /// Runs quarantined records through the pipeline again (the keys that changes go to the feed).
    fn reprocess(&self, entries: Vec<QuarantineEntry>, report: &mut RelinkReport) -> Result<()> {
        let mut groups: BTreeMap<(String, String), Vec<Item>> = BTreeMap::new();
        for e in entries {
            if e.payload.get(MALFORMED).is_some() {
                report.not_retryable += 1;
                continue;
            }
            groups.entry((e.key.source, e.key.object)).or_default().push(Item::Record(RawRecord {
                data: e.payload,
                location: e.location,
                identity: None,
            }));
        }
        for ((source, object), items) in groups {
            let Some(plan) = self.plan.stream(&source, &object).cloned() else {
                report.not_retryable += items.len() as u64;
                continue;
            };
            let also = if plan.creates_accounts() { self.also_exists_values()? } else { None };
            // An SOR record retried must not take an account id that another SOR record holds.
            let mut claims = if plan.creates_accounts() { Some(self.account_claims(&plan)?) } else { None };
            let mut items = items;
            while !items.is_empty() {
                let rest = items.split_off(items.len().min(RELINK_CHUNK));
                let page = PageContext { also: also.as_ref(), sor_claims: claims.as_mut(), ..Default::default() };
                let outcome = self.ingest(&plan, items, page)?;
                report.add(&outcome.counts);
                items = rest;
            }
        }
        Ok(())
    }

    /// The account ids the SOR object's records hold, with the native id of the record holding each.
    pub(crate) fn account_claims(&self, plan: &StreamPlan) -> Result<HashMap<String, String>> {
        let mut claims = HashMap::new();
        let all = [
            accord_store::AccountStatus::Active,
            accord_store::AccountStatus::Filtered,
            accord_store::AccountStatus::Deleted,
        ];
        self.store.for_each_account(&all, &mut |a| {
            if a.origin.source == plan.source && a.origin.object == plan.object() {
                claims.insert(a.account_id.to_string(), a.origin.native_id);
            }
        })?;
        Ok(claims)
    }

    /// Deactivates an account: it goes on the delete list, and records pointing at it are rejected.
    pub fn deactivate(&self, account_id: &str, reason: &str) -> Result<()> {
        let mut index = self.fresh()?;
        let entry =
            index.account(account_id).ok_or_else(|| EngineError::NotFound(format!("account {account_id:?}")))?;
        let id = entry.account_id.clone();
        let pending_keys = index.set_account_state(account_id, AccountState::Deleted);
        index.local.note(&pending_keys);
        let batch = WriteBatch {
            account_status: vec![(id.clone(), accord_store::AccountStatus::Deleted)],
            delete_list: vec![DeleteListChange::Add { account_id: id.clone(), reason: reason.to_owned() }],
            pending_keys,
            index_entities: vec![accord_store::IndexEntity::Account { account_id: id.to_string() }],
            ..Default::default()
        };
        if let Err(e) = self.store.apply(&batch) {
            self.rebuild(&mut index)?;
            return Err(e.into());
        }
        drop(index);
        self.settle()?;
        Ok(())
    }

    /// Takes an account off the delete list and re-links what was rejected because of it.
    pub fn restore(&self, account_id: &str) -> Result<RelinkReport> {
        {
            let mut index = self.fresh()?;
            let entry =
                index.account(account_id).ok_or_else(|| EngineError::NotFound(format!("account {account_id:?}")))?;
            if entry.state != AccountState::Deleted {
                return Err(EngineError::Invalid(format!("account {account_id:?} is not on the delete list")));
            }
            let id = entry.account_id.clone();
            let pending_keys = index.set_account_state(account_id, AccountState::Active);
            index.local.note(&pending_keys);
            let batch = WriteBatch {
                account_status: vec![(id.clone(), accord_store::AccountStatus::Active)],
                delete_list: vec![DeleteListChange::Remove { account_id: id.clone() }],
                pending_keys,
                index_entities: vec![accord_store::IndexEntity::Account { account_id: id.to_string() }],
                ..Default::default()
            };
            if let Err(e) = self.store.apply(&batch) {
                self.rebuild(&mut index)?;
                return Err(e.into());
            }
        }
        self.settle()
    }

    /// For an SOR with `also_exists_in`: the values present in the other object, linked or not.
    pub fn also_exists_values(&self) -> Result<Option<HashSet<String>>> {
        let Some(also) = &self.plan.sor.rules.also_exists_in else { return Ok(None) };
        let plan = self
            .plan
            .stream(&also.source, &also.object)
            .ok_or_else(|| EngineError::Invalid(format!("no object {}/{}", also.source, also.object)))?;
        let mut values = HashSet::new();
        let pick = |native_id: &str, payload: &Value| match &also.field {
            Some(path) => text_at(payload, path),
            None => Some(native_id.to_owned()),
        };
        self.store.for_each_record(plan.kind(), &also.source, &also.object, &mut |r| {
            if !r.is_deleted {
                values.extend(pick(&r.key.native_id, &r.payload));
            }
        })?;
        let q = QuarantineQuery { source: Some(also.source.clone()), object: Some(also.object.clone()), reason: None };
        self.store.for_each_quarantined(&q, &mut |e| values.extend(pick(&e.key.native_id, &e.payload)))?;
        Ok(Some(values))
    }

    /// Stores custom metric values of active accounts; returns the (index, account) pairs whose
    /// account is unknown or inactive, and how many values were stored.
    pub fn record_metrics(
        &self,
        rows: Vec<(usize, accord_store::MetricRow)>,
    ) -> Result<(Vec<(usize, AccountId)>, usize)> {
        let index = self.fresh()?;
        let (known, unknown): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|(_, m)| index.account(m.account_id.as_str()).is_some_and(|e| e.state == AccountState::Active));
        let stored = known.len();
        let batch = WriteBatch { metrics: known.into_iter().map(|(_, m)| m).collect(), ..Default::default() };
        self.store.apply(&batch)?;
        Ok((unknown.into_iter().map(|(i, m)| (i, m.account_id)).collect(), stored))
    }
}

/// A payload's value at a path as text, for reports.
pub fn text_at(payload: &Value, path: &accord_core::FieldPath) -> Option<String> {
    path.get(payload).and_then(|v| accord_core::id::key_text(v).ok().flatten())
}

/// The rejection of an SOR record that held an account id until a record with a lower native id
/// came to carry it.
fn displaced_rejection(account: &accord_store::AccountRow, batch: &WriteBatch) -> accord_store::QuarantineRow {
    let holder = batch
        .accounts
        .iter()
        .rev()
        .find(|a| a.account_id == account.account_id)
        .map_or_else(|| "another SOR record".to_owned(), |a| format!("SOR record {:?}", a.origin.native_id));
    accord_store::QuarantineRow {
        key: account.origin.clone(),
        kind: ObjectKind::Account,
        rejection: accord_core::Rejection {
            reason: RejectReason::Ambiguous,
            message: format!(
                "account id {:?} is also carried by {holder}, which holds it (the lowest native id does): each \
                 account needs its own id",
                account.account_id.as_str()
            ),
            rule: None,
            key: Some(account.account_id.to_string()),
            hints: vec![],
            tried: vec![TriedKey { space: KeySpace::Account, key: account.account_id.to_string() }],
        },
        payload: account.attributes.clone(),
        location: None,
        seen_at: chrono::Utc::now(),
    }
}

/// Loads the lookup index from the store.
pub(crate) fn load_index(store: &dyn Store, plan: &Plan) -> Result<LinkIndex> {
    let mut index = LinkIndex::new();
    store.load_index(&plan.index_kinds(), &mut |row| match row {
        IndexRow::Account(a) => {
            index.upsert_account(entry_of(&a));
        }
        IndexRow::Filtered { account_id, key, payload } => {
            let Ok(id) = AccountId::new(account_id) else { return };
            if index.account(id.as_str()).is_some() {
                return;
            }
            // The account-field ids the SOR record carries, read as the SOR stream reads them.
            let fields = plan
                .stream(&key.source, &key.object)
                .and_then(|s| {
                    accord_core::record::extract_with_paths(ObjectKind::Account, &s.field_paths, &payload).ok()
                })
                .unwrap_or_default();
            index.set_filtered(entry_from(&id, accord_store::AccountStatus::Filtered, &fields), &key.native_id);
        }
        IndexRow::Domain(d) => {
            index.add_domain(&d.domain, &d.account_id);
        }
        IndexRow::Link { key, kind, account_id, email, organization, provenance } => {
            if !plan.stream(&key.source, &key.object).is_some_and(|s| s.indexed) {
                return;
            }
            let link = record_link(kind, account_id, provenance.rule, email.as_deref(), organization.as_deref());
            index.upsert_link(&key.map_name(), &key.native_id, link);
        }
    })?;
    Ok(index)
}

/// The keys a page's answers depend on (each record's own account and `depends_on`, each
/// rejection's tried keys): re-checking them re-links the page against a fresh view.
fn page_keys(batch: &WriteBatch) -> Vec<TriedKey> {
    let mut keys: Vec<TriedKey> = Vec::new();
    for r in &batch.records {
        keys.push(TriedKey { space: KeySpace::AccountState, key: r.account_id.to_string() });
        keys.extend(r.depends_on.iter().cloned());
    }
    for q in &batch.quarantine {
        keys.extend(q.rejection.tried.iter().cloned());
    }
    keys
}
