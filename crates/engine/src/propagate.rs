//! `accord propagate`: writes our account_id back where the guide says it belongs ("new
//! account_ids will need to be propagated across all of your systems").
//!
//! The plan comes from the stored links alone. A record of an object whose *best choice* rule
//! (its first, a `field` rule) is a field the connector can write, but which linked by an
//! *acceptable* rule after it (a domain, its contacts, an email), is an **upgrade**: write its
//! account id into that field, and the next sync links it by `field`. One whose field already
//! holds another value is a **conflict**, reported with both values and never overwritten.
//!
//! Applying goes record by record through the vendor's API (its rate limit and retries are the
//! connector's): each write is audited in the store before it is sent (`pending`) and finished
//! with its outcome. Before writing, the field is read back from the vendor: a value equal to
//! ours is `already` (a write a stopped run had sent, so a re-run writes each field once), any
//! other value a `conflict`. A write the vendor refuses for its value (a validation error, a
//! unique value another record holds) is `refused`, with the vendor's reason, and not retried.
//! Writes a stopped run left `pending` are marked `interrupted` when the next run starts.
//!
//! Where a source says `[sources.<name>.propagate] create = true` (never for a billing system
//! unless `create_in_billing` says so too), the System of Record's active accounts with no record
//! there are **created**, each carrying its account id; a record already carrying it is looked
//! up first, so a stopped run never makes one twice.

use std::collections::BTreeMap;

use accord_core::{LinkRule, RuleKind};
use accord_store::{PropagationEntry, RecordKey};
use serde::Serialize;

use crate::Result;
use crate::hub::Hub;

/// A record to upgrade: `account_id` goes into its empty `field`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upgrade {
    pub key: RecordKey,
    pub account_id: String,
    /// The field the object's best rule reads (as the rule names it).
    pub field: String,
    /// The acceptable rule it linked by.
    pub linked_by: RuleKind,
}

/// A record whose best field holds another value: left as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub key: RecordKey,
    pub field: String,
    /// What the field holds (it resolves to no account, or not to this one).
    pub current: String,
    /// The account the record links to by another rule.
    pub account_id: String,
    pub linked_by: RuleKind,
}

/// An account to create in a source that has no record of it (`create = true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Create {
    pub source: String,
    pub object: String,
    pub account: accord_connectors::NewRecord,
}

/// What `accord propagate` would write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub upgrades: Vec<Upgrade>,
    pub conflicts: Vec<Conflict>,
    /// Accounts to create, in sources whose `[sources.<name>.propagate]` says `create = true`.
    pub creates: Vec<Create>,
    /// Source objects whose best rule could be written but was replaced in accord.toml by a
    /// rule that is not that field: `(source, object)`, skipped.
    pub skipped: Vec<(String, String)>,
}

/// The plan, from the stored links.
pub fn plan(hub: &Hub) -> Result<Plan> {
    let mut out = Plan::default();
    for source in &hub.plan.sources {
        let Some(writer) = source.connector.write_back() else { continue };
        for stream in &source.streams {
            let object = stream.object();
            let Some(writable) = writer.writable_field(object) else { continue };
            match stream.spec.link.first() {
                Some(LinkRule::Field { field }) if field == writable => {}
                _ => {
                    out.skipped.push((source.name.clone(), object.to_owned()));
                    continue;
                }
            }
            let field = writable.to_string();
            let create =
                hub.config.raw.sources.get(&source.name).and_then(|c| c.propagate.as_ref()).is_some_and(|p| p.create)
                    && writer.can_create(object);
            let mut covered = std::collections::HashSet::new();
            hub.store.for_each_record(stream.kind(), &source.name, object, &mut |r| {
                if !r.is_deleted {
                    covered.insert(r.account_id.to_string());
                }
                if r.is_deleted || r.provenance.rule_index == 0 {
                    return;
                }
                let current = writable.get(&r.payload).and_then(|v| accord_core::id::key_text(v).ok().flatten());
                match current {
                    None => out.upgrades.push(Upgrade {
                        key: r.key,
                        account_id: r.account_id.to_string(),
                        field: field.clone(),
                        linked_by: r.provenance.rule,
                    }),
                    Some(current) => out.conflicts.push(Conflict {
                        key: r.key,
                        field: field.clone(),
                        current,
                        account_id: r.account_id.to_string(),
                        linked_by: r.provenance.rule,
                    }),
                }
            })?;
            if create {
                plan_creates(hub, &source.name, object, &covered, &mut out.creates)?;
            }
        }
    }
    Ok(out)
}

/// The active accounts with no live record of `source/object`: each to create, with its name and
/// its website's domain.
fn plan_creates(
    hub: &Hub,
    source: &str,
    object: &str,
    covered: &std::collections::HashSet<String>,
    out: &mut Vec<Create>,
) -> Result<()> {
    hub.store.for_each_account(&[accord_store::AccountStatus::Active], &mut |a| {
        if covered.contains(a.account_id.as_str()) {
            return;
        }
        let text = |name: &str| a.field(name).as_text().map(str::to_owned);
        out.push(Create {
            source: source.to_owned(),
            object: object.to_owned(),
            account: accord_connectors::NewRecord {
                account_id: a.account_id.to_string(),
                name: text("name").unwrap_or_else(|| a.account_id.to_string()),
                domain: text("website").as_deref().and_then(accord_link::domain_of),
            },
        });
    })?;
    Ok(())
}

/// What applying did, per outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// Written now.
    pub written: u64,
    /// The vendor already held our value (sent by a run that stopped).
    pub already: u64,
    /// The vendor's field held another value when read back: left untouched.
    pub conflicts: u64,
    /// The vendor refused the value (a validation error, a unique value another record holds):
    /// audited as `refused` with the vendor's reason, and not sent again in this run.
    pub refused: u64,
    pub failed: u64,
    /// Writes a stopped run had left pending.
    pub interrupted_before: u64,
    /// Records created for accounts.
    pub created: u64,
    /// Accounts the source already had a record carrying their id for (made by a run that
    /// stopped, or by someone else): not created again.
    pub found: u64,
    /// The errors of the failed and refused writes, by record.
    pub errors: BTreeMap<String, String>,
}

/// Receives progress while a plan is applied.
pub trait ApplyObserver: Send + Sync {
    fn done(&self, _upgrade: &Upgrade, _status: &str) {}
}

impl ApplyObserver for crate::sync::Quiet {}

/// Applies a plan's upgrades (conflicts are never written).
pub fn apply(
    hub: &Hub,
    plan: &Plan,
    observer: &dyn ApplyObserver,
    runtime: &tokio::runtime::Handle,
) -> Result<Applied> {
    let mut applied = Applied { interrupted_before: hub.store.propagation_interrupted()?, ..Applied::default() };
    // Writes spend the same budget as syncs (Xero's day): the sources learn it first.
    for source in hub.plan.sources.iter().filter(|s| {
        plan.upgrades.iter().any(|u| u.key.source == s.name) || plan.creates.iter().any(|c| c.source == s.name)
    }) {
        crate::sync::resume(hub, source)?;
    }
    for upgrade in &plan.upgrades {
        let Some(writer) =
            hub.plan.sources.iter().find(|s| s.name == upgrade.key.source).and_then(|s| s.connector.write_back())
        else {
            continue;
        };
        let now = || chrono::Utc::now().timestamp_millis();
        let id = hub.store.propagation_begin(&PropagationEntry {
            id: 0,
            at_ms: now(),
            key: upgrade.key.clone(),
            field: upgrade.field.clone(),
            old_value: None,
            new_value: upgrade.account_id.clone(),
            status: "pending".into(),
            answer: None,
        })?;
        let (object, native_id, value) = (&upgrade.key.object, &upgrade.key.native_id, &upgrade.account_id);
        let outcome = runtime.block_on(async {
            match writer.current(object, native_id).await? {
                Some(held) if held == *value => Ok(("already", format!("the vendor holds {held:?}"))),
                Some(held) => Ok(("conflict", format!("the vendor holds {held:?}: left untouched"))),
                None => writer.write(object, native_id, value).await.map(|answer| ("written", answer)),
            }
        });
        let (status, answer) = match outcome {
            Ok((status, answer)) => (status, answer),
            Err(e) => {
                applied.errors.insert(format!("{}/{}/{}", upgrade.key.source, object, native_id), e.to_string());
                let status =
                    if matches!(e, accord_connectors::ConnectorError::Refused(_)) { "refused" } else { "failed" };
                (status, e.to_string())
            }
        };
        hub.store.propagation_finish(id, status, Some(&answer), now())?;
        match status {
            "written" => applied.written += 1,
            "already" => applied.already += 1,
            "conflict" => applied.conflicts += 1,
            "refused" => applied.refused += 1,
            _ => applied.failed += 1,
        }
        observer.done(upgrade, status);
    }
    for create in &plan.creates {
        let Some(writer) =
            hub.plan.sources.iter().find(|s| s.name == create.source).and_then(|s| s.connector.write_back())
        else {
            continue;
        };
        let now = || chrono::Utc::now().timestamp_millis();
        let key =
            RecordKey::new(create.source.clone(), create.object.clone(), format!("new:{}", create.account.account_id));
        let id = hub.store.propagation_begin(&PropagationEntry {
            id: 0,
            at_ms: now(),
            key: key.clone(),
            field: "create".into(),
            old_value: None,
            new_value: create.account.account_id.clone(),
            status: "pending".into(),
            answer: None,
        })?;
        let outcome = runtime.block_on(async {
            // Found first: a create a stopped run had sent is not made twice.
            match writer.find(&create.object, &create.account.account_id).await? {
                Some(existing) => Ok(("found", format!("{} {existing} already carries it", create.object))),
                None => writer
                    .create(&create.object, &create.account)
                    .await
                    .map(|new| ("created", format!("created {} {new}", create.object))),
            }
        });
        let (status, answer) = match outcome {
            Ok(done) => done,
            Err(e) => {
                applied.errors.insert(format!("{}/{}/{}", key.source, key.object, key.native_id), e.to_string());
                ("failed", e.to_string())
            }
        };
        hub.store.propagation_finish(id, status, Some(&answer), now())?;
        match status {
            "created" => applied.created += 1,
            "found" => applied.found += 1,
            _ => applied.failed += 1,
        }
    }
    Ok(applied)
}
