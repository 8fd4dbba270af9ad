//! The account view: an account with its linked records (and the rule that linked each) and the
//! open rejections that point at it or hint at it.

use std::collections::BTreeMap;

use accord_core::record::FieldType;
use accord_core::{FieldValue, ObjectKind, Provenance, Timestamp};
use accord_store::{AccountRow, AccountStatus, QuarantineEntry, RecordQuery};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Hub, Result};

/// An account's typed fields as a JSON object (null fields left out).
pub fn account_fields(row: &AccountRow) -> Map<String, Value> {
    typed_map(ObjectKind::Account, &row.fields)
}

/// A kind's typed field values as a JSON object (null fields left out).
pub fn typed_map(kind: ObjectKind, values: &[FieldValue]) -> Map<String, Value> {
    kind.fields()
        .iter()
        .zip(values)
        .filter(|(_, v)| !v.is_null())
        .map(|(f, v)| {
            let value = match (f.ty, v) {
                (FieldType::Money, FieldValue::Int(minor)) => Value::String(money_text(*minor)),
                _ => serde_json::to_value(v).unwrap_or(Value::Null),
            };
            (f.name.to_owned(), value)
        })
        .collect()
}

/// Minor units as a decimal amount: 499000 → `"4990.00"`.
pub fn money_text(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.unsigned_abs() / 100, minor.unsigned_abs() % 100)
}

/// One linked record, briefly.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedRecord {
    pub native_id: String,
    pub provenance: Provenance,
    pub fields: Map<String, Value>,
    pub last_seen: Timestamp,
}

/// The records of one source object linked to the account.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedGroup {
    pub source: String,
    pub object: String,
    pub kind: ObjectKind,
    pub count: u64,
    /// How many of the shown records each rule linked.
    pub rules: BTreeMap<String, u64>,
    /// The most recent records (at most the requested number).
    pub recent: Vec<LinkedRecord>,
}

/// Everything accord knows about one account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub account_id: String,
    pub status: AccountStatus,
    pub fields: Map<String, Value>,
    pub origin: String,
    pub attributes: Value,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub delete_list: Option<DeleteListEntry>,
    pub linked: Vec<LinkedGroup>,
    pub rejections_near: Vec<QuarantineEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeleteListEntry {
    pub deleted_at: Timestamp,
    pub reason: String,
}

/// Builds the view of an account, with up to `recent` records per source object.
pub fn account_view(hub: &Hub, account_id: &str, recent: u32) -> Result<Option<AccountView>> {
    let Some(account) = hub.store.account(account_id)? else { return Ok(None) };
    let counts = hub.store.record_counts(account_id)?;
    let mut linked = Vec::new();
    let mut kinds: Vec<ObjectKind> = counts.iter().map(|c| c.kind).collect();
    kinds.dedup();
    let mut recent_by_object: BTreeMap<(String, String), Vec<LinkedRecord>> = BTreeMap::new();
    for kind in kinds {
        let query = RecordQuery { account_id: Some(account_id.to_owned()), ..Default::default() };
        let page = hub.store.records(kind, &query, 0, recent.saturating_mul(8).max(1))?;
        for r in page.items {
            let list = recent_by_object.entry((r.key.source.clone(), r.key.object.clone())).or_default();
            if list.len() < recent as usize {
                list.push(LinkedRecord {
                    native_id: r.key.native_id.clone(),
                    provenance: r.provenance.clone(),
                    fields: typed_map(kind, &r.fields),
                    last_seen: r.last_seen,
                });
            }
        }
    }
    for c in counts {
        let recent = recent_by_object.remove(&(c.source.clone(), c.object.clone())).unwrap_or_default();
        let mut rules = BTreeMap::new();
        for r in &recent {
            *rules.entry(r.provenance.rule.name().to_owned()).or_default() += 1;
        }
        linked.push(LinkedGroup { source: c.source, object: c.object, kind: c.kind, count: c.count, rules, recent });
    }
    let delete_list = hub
        .store
        .delete_list()?
        .into_iter()
        .find(|(id, _, _)| id == account_id)
        .map(|(_, deleted_at, reason)| DeleteListEntry { deleted_at, reason });
    Ok(Some(AccountView {
        account_id: account.account_id.to_string(),
        status: account.status,
        fields: account_fields(&account),
        origin: account.origin.to_string(),
        attributes: account.attributes.clone(),
        first_seen: account.first_seen,
        last_seen: account.last_seen,
        delete_list,
        linked,
        rejections_near: hub.store.quarantine_near(account_id)?,
    }))
}
