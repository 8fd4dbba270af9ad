//! The sources at a glance: per source its last sync run, per object what it holds (linked,
//! rejected by reason, coverage of the System of Record's accounts) and its saved cursor. Read by
//! the sources API and the web app's integrations page. A scheduled source also shows its schedule
//! and next run, and a source being synced the run lock's holder.

use std::collections::BTreeMap;

use accord_core::ObjectKind;
use accord_core::Timestamp;
use accord_store::{AccountQuery, LockHolder, SyncRun};
use serde::Serialize;
use serde_json::Value;

use crate::{Hub, Result};

/// A source, its last sync run and what each of its objects holds.
#[derive(Debug, Clone, Serialize)]
pub struct SourceOverview {
    pub source: String,
    /// `file`, `salesforce`, ... or `api` / `events` for the APIs.
    pub kind: String,
    pub last_run: Option<SyncRun>,
    /// The `schedule` setting (`every 15m`, `cron: */15 * * * *`), if the source has one.
    pub schedule: Option<String>,
    /// When `accord serve` runs it next (in the past: due, and run as soon as a server is up).
    pub next_run: Option<Timestamp>,
    /// Who is syncing it now (the holder of its run lock), if anyone.
    pub running: Option<LockHolder>,
    pub objects: Vec<ObjectOverview>,
}

/// One object of a source.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectOverview {
    pub object: String,
    pub kind: ObjectKind,
    pub linked: u64,
    /// Records deleted at the source (kept as tombstones).
    pub deleted: u64,
    pub rejected: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Active accounts with at least one record of this object, and all active accounts.
    pub accounts_covered: u64,
    pub accounts_total: u64,
    /// The saved cursor of the object's stream, if a sync saved one.
    pub cursor: Option<Value>,
}

/// Every planned source and object, in plan order within a source, sources by name.
pub fn sources(hub: &Hub) -> Result<Vec<SourceOverview>> {
    let accounts_total = hub.store.accounts(&AccountQuery { page_size: 1, ..Default::default() })?.total;
    let mut by_source: BTreeMap<String, SourceOverview> = BTreeMap::new();
    for plan in hub.plan.streams() {
        let kind = match hub.config.raw.sources.get(&plan.source) {
            Some(s) => s.kind.clone(),
            None if plan.source == crate::plan::API_SOURCE => "api".into(),
            None => "events".into(),
        };
        let info = by_source.entry(plan.source.clone()).or_insert_with(|| SourceOverview {
            source: plan.source.clone(),
            kind,
            last_run: None,
            schedule: None,
            next_run: None,
            running: None,
            objects: vec![],
        });
        let stats = hub.store.object_stats(plan.kind(), &plan.source, plan.object())?;
        info.objects.push(ObjectOverview {
            object: plan.object().into(),
            kind: plan.kind(),
            linked: stats.linked,
            deleted: stats.deleted,
            rejected: stats.rejected_by_reason.values().sum(),
            rejected_by_reason: stats.rejected_by_reason,
            accounts_covered: stats.accounts_covered,
            accounts_total,
            cursor: hub.store.checkpoint(&plan.source, plan.object())?,
        });
    }
    let now = chrono::Utc::now();
    for info in by_source.values_mut() {
        info.last_run = hub.store.runs(Some(&info.source), 1)?.into_iter().next();
        if hub.config.raw.sources.contains_key(&info.source) {
            info.running = hub.store.source_lock_holder(&info.source, now.timestamp_millis())?;
        }
    }
    for next in crate::schedule::next_runs(hub, now)? {
        if let Some(info) = by_source.get_mut(&next.source) {
            info.schedule = Some(next.schedule);
            info.next_run = Some(next.next_run);
        }
    }
    Ok(by_source.into_values().collect())
}
