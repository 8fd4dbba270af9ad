//! `accord doctor`: id hygiene per source and coverage of each source against the System of Record.

use std::collections::BTreeMap;

use accord_core::{LinkRule, ObjectKind, RejectReason};
use accord_link::doctor::{Coverage, HygieneReport, KeyHygiene};
use accord_store::{AccountStatus, QuarantineQuery};
use serde::Serialize;

use crate::hub::text_at;
use crate::{Hub, Result};

const SAMPLES: usize = 5;

/// The doctor's findings.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub accounts: AccountCounts,
    /// Hygiene of the System of Record's own account ids.
    pub sor: HygieneReport,
    pub objects: Vec<ObjectReport>,
    /// Emails that belong to users or contacts of more than one account.
    pub shared_emails: Vec<SharedEmail>,
    /// Subscriptions whose vendor reports its own MRR (a stored `mrr` beside the price terms,
    /// such as Chargebee's `subscription.mrr`): how many were compared with accord's figure
    /// today, and the ones that disagree.
    pub mrr_checked: u64,
    pub mrr_disagreements: Vec<crate::revenue::Disagreement>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountCounts {
    pub active: u64,
    pub filtered: u64,
    pub deleted: u64,
    /// SOR records that did not become accounts, by reason.
    pub sor_rejected: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SharedEmail {
    pub email: String,
    pub accounts: Vec<String>,
}

/// One source object.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectReport {
    pub source: String,
    pub object: String,
    pub kind: ObjectKind,
    /// The field whose account keys were checked (the first `field` or `support_id` rule).
    pub key_field: Option<String>,
    pub hygiene: Option<HygieneReport>,
    pub coverage: Coverage,
    /// Keys of records that matched no account, each under the rule and field it came from.
    pub unmatched_keys: Vec<UnmatchedKey>,
}

/// A key that matched no account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedKey {
    /// The rule that tried it (`field`, `user_map`, ...) and the record field it was read from.
    pub rule: String,
    pub field: String,
    pub key: String,
    /// The record carrying it.
    pub record: String,
    /// A near-miss hint, when there is one.
    pub hint: Option<String>,
}

impl std::fmt::Display for UnmatchedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {:?} (record {}", self.rule, self.field, self.key, self.record)?;
        match &self.hint {
            Some(h) => write!(f, ": {h})"),
            None => write!(f, ")"),
        }
    }
}

/// Examines the hub.
pub fn doctor(hub: &Hub) -> Result<DoctorReport> {
    let mut accounts = AccountCounts::default();
    let mut sor = KeyHygiene::default();
    hub.store.for_each_account(&[], &mut |a| {
        match a.status {
            AccountStatus::Active => accounts.active += 1,
            AccountStatus::Filtered => accounts.filtered += 1,
            AccountStatus::Deleted => accounts.deleted += 1,
        }
        if a.origin.source == hub.plan.sor.source && a.origin.object == hub.plan.sor.object {
            sor.observe(&a.origin.native_id, a.account_id.as_str());
        }
    })?;
    let sor_query = QuarantineQuery {
        source: Some(hub.plan.sor.source.clone()),
        object: Some(hub.plan.sor.object.clone()),
        reason: None,
    };
    hub.store.for_each_quarantined(&sor_query, &mut |e| {
        *accounts.sor_rejected.entry(e.rejection.reason.code().to_owned()).or_default() += 1;
        if e.rejection.reason == RejectReason::FilteredAccount {
            accounts.filtered += 1;
        }
        if let Some(k) = &e.rejection.key {
            sor.observe(&e.key.native_id, k);
        }
    })?;
    let mut objects = Vec::new();
    for plan in hub.plan.streams().filter(|p| !p.creates_accounts()) {
        let key_rule = plan.spec.link.iter().find(|r| matches!(r, LinkRule::Field { .. } | LinkRule::SupportId { .. }));
        let mut hygiene = key_rule.map(|_| KeyHygiene::default());
        let mut observe = |native_id: &str, payload: &serde_json::Value| {
            if let (Some(h), Some(rule)) = (hygiene.as_mut(), key_rule)
                && let Some(k) = text_at(payload, rule.field())
            {
                h.observe(native_id, &k);
            }
        };
        hub.store.for_each_record(plan.kind(), &plan.source, plan.object(), &mut |r| {
            if !r.is_deleted {
                observe(&r.key.native_id, &r.payload);
            }
        })?;
        let mut unmatched_keys = Vec::new();
        let q =
            QuarantineQuery { source: Some(plan.source.clone()), object: Some(plan.object().to_owned()), reason: None };
        hub.store.for_each_quarantined(&q, &mut |e| {
            observe(&e.key.native_id, &e.payload);
            if e.rejection.reason == RejectReason::UnknownAccount
                && unmatched_keys.len() < SAMPLES
                && let Some(k) = &e.rejection.key
                && let Some(rule) = e.rejection.rule
            {
                // The rule that decided the rejection, and the field it read.
                let field = plan.spec.link.iter().find(|r| r.kind() == rule).map(|r| r.field().to_string());
                unmatched_keys.push(UnmatchedKey {
                    rule: rule.name().to_owned(),
                    field: field.unwrap_or_default(),
                    key: k.clone(),
                    record: e.key.native_id.clone(),
                    hint: e.rejection.hints.first().map(|h| h.describe()),
                });
            }
        })?;
        let stats = hub.store.object_stats(plan.kind(), &plan.source, plan.object())?;
        let rejected: u64 = stats.rejected_by_reason.values().sum();
        let configured = hub.config.raw.sources.contains_key(&plan.source);
        if !configured && stats.linked + rejected == 0 {
            continue; // an API stream nothing was posted to
        }
        objects.push(ObjectReport {
            source: plan.source.clone(),
            object: plan.object().to_owned(),
            kind: plan.kind(),
            key_field: key_rule.map(|r| r.field().to_string()),
            hygiene: hygiene.map(|h| {
                let mut report = h.finish();
                // Many users, tickets or events per account is normal; one organization per
                // account is the rule, so only there do repeated keys mean duplicates.
                if plan.kind() != ObjectKind::Organization {
                    report.duplicate_keys = Default::default();
                }
                report
            }),
            coverage: Coverage {
                records: stats.linked + rejected,
                linked: stats.linked,
                rejected_by_reason: stats.rejected_by_reason,
                accounts_covered: stats.accounts_covered,
                accounts_total: accounts.active,
            },
            unmatched_keys,
        });
    }
    let shared_emails = hub.with_index(|ix| {
        ix.shared_emails()
            .into_iter()
            .map(|(e, ids)| SharedEmail { email: e.to_owned(), accounts: ids.iter().map(|i| i.to_string()).collect() })
            .collect()
    });
    let (mrr_checked, mrr_disagreements) = mrr_cross_check(hub)?;
    Ok(DoctorReport { accounts, sor: sor.finish(), objects, shared_emails, mrr_checked, mrr_disagreements })
}

/// Compares accord's MRR of each subscription with the vendor's own, where the vendor sends one.
fn mrr_cross_check(hub: &Hub) -> Result<(u64, Vec<crate::revenue::Disagreement>)> {
    use accord_core::TypedRecord;
    let today = chrono::Utc::now().date_naive();
    let reporting = crate::revenue::rates_from_config(&hub.config.raw.revenue)
        .map_err(|e| crate::EngineError::Invalid(e.to_string()))?
        .reporting;
    let mut pairs = Vec::new();
    for plan in hub.plan.streams().filter(|p| p.kind() == ObjectKind::Subscription) {
        hub.store.for_each_record(plan.kind(), &plan.source, plan.object(), &mut |r| {
            let TypedRecord::Subscription(t) = ObjectKind::Subscription.typed(&r.fields) else { return };
            let (Some(_), Some(reported)) = (t.unit_amount, t.mrr) else { return };
            if r.is_deleted {
                return;
            }
            let id = format!("{}/{}/{}", r.key.source, r.key.object, r.key.native_id);
            if let Some(s) = crate::revenue::from_record(&id, r.account_id.as_str(), &t, reporting) {
                pairs.push((s, reported));
            }
        })?;
    }
    let checked = pairs.len() as u64;
    Ok((checked, crate::revenue::cross_check(pairs.iter().map(|(s, m)| (s, *m)), today)))
}
