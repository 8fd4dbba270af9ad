//! The pipeline for one page: each item becomes a linked record, an account, a quarantined
//! rejection or a tombstone, all in one `WriteBatch`, plus the index changes to make once the batch
//! is committed. Pure apart from reading the index; the hub applies the result.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use accord_connectors::Item;
use accord_core::record::extract_with_paths;
use accord_core::{
    AccountId, FieldValue, KeySpace, ObjectKind, RejectReason, Rejection, RuleKind, Timestamp, TriedKey,
};
use accord_link::{AccountEntry, AccountState, LinkIndex, RecordLink};
use accord_store::{AccountRow, AccountStatus, QuarantineRow, RecordKey, RecordRow, RunCounts, WriteBatch};
use serde_json::{Value, json};

use crate::identity::{content_id, event_id};
use crate::plan::{AccountRules, StreamPlan};

/// A change to the lookup index, made only after its batch commits.
#[derive(Debug, Clone)]
pub(crate) enum IndexOp {
    Account(AccountEntry),
    State(String, AccountState),
    /// An SOR record the filter excludes that is not an account (with its account-field ids), and
    /// its native id.
    Filtered(AccountEntry, String),
    Unfiltered(String),
    Link {
        map: String,
        native_id: String,
        link: RecordLink,
    },
    Unlink {
        map: String,
        native_id: String,
    },
}

impl IndexOp {
    pub(crate) fn apply(self, index: &mut LinkIndex) -> Vec<TriedKey> {
        match self {
            IndexOp::Account(e) => index.upsert_account(e),
            IndexOp::State(id, s) => index.set_account_state(&id, s),
            IndexOp::Filtered(entry, origin) => index.set_filtered(entry, &origin),
            IndexOp::Unfiltered(id) => index.clear_filtered(&id),
            IndexOp::Link { map, native_id, link } => index.upsert_link(&map, &native_id, link),
            IndexOp::Unlink { map, native_id } => index.remove_link(&map, &native_id),
        }
    }
}

/// The output of preparing a page.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    pub batch: WriteBatch,
    pub counts: RunCounts,
    pub ops: Vec<IndexOp>,
    /// SOR records deleted at the source.
    pub sor_deletions: Vec<RecordKey>,
    /// SOR records that held an account id a record with a lower native id now carries: they
    /// leave their account to it and are rejected as `ambiguous`.
    pub displaced: Vec<RecordKey>,
    /// What happened to each item, in order, when the caller asked (the APIs answer per record).
    pub items: Option<Vec<ItemResult>>,
    /// The index view's generation the page was linked against, and the page's stream (see
    /// `shared::LocalChanges`).
    pub generation: u64,
    pub stream: Option<crate::shared::StreamTag>,
}

/// What happened to one item of a page.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ItemResult {
    Linked { account_id: AccountId },
    Rejected { reason: RejectReason, message: String, key: Option<String> },
    Deleted,
}

impl Prepared {
    fn result(&mut self, r: impl FnOnce() -> ItemResult) {
        if let Some(items) = &mut self.items {
            items.push(r());
        }
    }
}

/// What the pipeline needs besides the items.
pub(crate) struct Context<'a> {
    pub index: &'a LinkIndex,
    pub plan: &'a StreamPlan,
    pub now: Timestamp,
    /// For an SOR with `also_exists_in`: the values that exist in the other object.
    pub also: Option<&'a HashSet<String>>,
    /// SOR account ids seen in this sync, with the native id that claimed each first.
    pub sor_claims: Option<&'a mut HashMap<String, String>>,
}

impl Context<'_> {
    pub(crate) fn prepare(&mut self, items: Vec<Item>, out: &mut Prepared) {
        for item in items {
            out.counts.fetched += 1;
            match item {
                Item::Record(raw) => match self.plan.accounts.clone() {
                    Some(rules) => self.account(&rules, raw.data, raw.location, out),
                    None => self.record(raw.data, raw.location, raw.identity, out),
                },
                Item::Malformed { location, problem, raw } => {
                    let key = self.key(format!("row:{}", content_id(&raw)));
                    let rejection = Rejection::field(RejectReason::InvalidField, format!("{location}: {problem}"));
                    self.reject(key, json!({ MALFORMED: raw }), Some(location), rejection, out);
                }
                Item::Deleted { native_id } => self.deleted(native_id, out),
            }
        }
    }

    fn key(&self, native_id: String) -> RecordKey {
        RecordKey { source: self.plan.source.clone(), object: self.plan.spec.name.clone(), native_id }
    }

    fn reject(
        &self,
        key: RecordKey,
        payload: Value,
        location: Option<String>,
        rejection: Rejection,
        out: &mut Prepared,
    ) {
        out.counts.reject(rejection.reason);
        out.result(|| ItemResult::Rejected {
            reason: rejection.reason,
            message: rejection.message.clone(),
            key: rejection.key.clone(),
        });
        if self.plan.indexed {
            out.ops.push(IndexOp::Unlink { map: self.plan.map_name(), native_id: key.native_id.clone() });
        }
        out.batch.quarantine.push(QuarantineRow {
            key,
            kind: self.plan.kind(),
            rejection,
            payload,
            location,
            seen_at: self.now,
        });
    }

    /// The record's native id: from its configured field, or a content id for events (the one
    /// computed where the event was parsed, when it was).
    fn native_id(&self, data: &Value, identity: Option<String>) -> Result<String, Rejection> {
        match &self.plan.spec.native_id {
            Some(path) => match path.get(data).map(accord_core::id::key_text) {
                Some(Ok(Some(id))) => Ok(id),
                Some(Err(e)) => Err(Rejection::field(
                    RejectReason::InvalidField,
                    format!("the record id in field {path} is unusable: {e}"),
                )),
                _ => Err(Rejection::field(
                    RejectReason::MissingRequiredField,
                    format!("missing record id (field {path})"),
                )),
            },
            None => Ok(identity.inspect(|id| debug_assert_eq!(*id, event_id(data))).unwrap_or_else(|| event_id(data))),
        }
    }

    fn record(&mut self, data: Value, location: Option<String>, identity: Option<String>, out: &mut Prepared) {
        let native_id = match self.native_id(&data, identity) {
            Ok(id) => id,
            Err(rejection) => {
                let key = self.key(format!("row:{}", content_id(&data)));
                return self.reject(key, data, location, rejection, out);
            }
        };
        let key = self.key(native_id);
        let kind = self.plan.kind();
        let fields = match extract_with_paths(kind, &self.plan.field_paths, &data) {
            Ok(f) => f,
            Err(e) => {
                let reason = if e.missing { RejectReason::MissingRequiredField } else { RejectReason::InvalidField };
                return self.reject(key, data, location, Rejection::field(reason, e.to_string()), out);
            }
        };
        match self.plan.link.link(self.index, &data) {
            Ok(linked) => {
                out.counts.linked += 1;
                out.result(|| ItemResult::Linked { account_id: linked.account_id.clone() });
                if self.plan.indexed {
                    out.ops.push(IndexOp::Link {
                        map: self.plan.map_name(),
                        native_id: key.native_id.clone(),
                        link: record_link_of(kind, linked.account_id.clone(), linked.provenance.rule, &fields),
                    });
                }
                out.batch.records.push(RecordRow {
                    key,
                    kind,
                    account_id: linked.account_id,
                    provenance: linked.provenance,
                    fields,
                    // Rendered here, on the thread that prepares pages, not on the one that commits.
                    payload_json: serde_json::to_string(&data).ok(),
                    payload: data,
                    is_deleted: false,
                    first_seen: self.now,
                    last_seen: self.now,
                    depends_on: linked.depends_on,
                });
            }
            Err(rejection) => self.reject(key, data, location, rejection, out),
        }
    }

    fn account(&mut self, rules: &AccountRules, data: Value, location: Option<String>, out: &mut Prepared) {
        let id_field = &rules.account_id;
        let native_id = match &self.plan.spec.native_id {
            Some(p) => p.get(&data).and_then(|v| accord_core::id::key_text(v).ok().flatten()),
            None => id_field.get(&data).and_then(|v| accord_core::id::key_text(v).ok().flatten()),
        }
        .unwrap_or_else(|| format!("row:{}", content_id(&data)));
        let key = self.key(native_id);
        let account_id = match id_field.get(&data).map(AccountId::from_json) {
            None | Some(Err(accord_core::InvalidAccountId::Empty)) => {
                let r = Rejection::field(
                    RejectReason::MissingRequiredField,
                    format!("missing required field account_id (read from {:?})", id_field.as_str()),
                );
                return self.reject(key, data, location, r, out);
            }
            Some(Err(e)) => {
                let r = Rejection {
                    key: id_field.get(&data).map(|v| v.to_string()),
                    ..Rejection::field(RejectReason::InvalidAccountId, format!("{e} (field {:?})", id_field.as_str()))
                };
                return self.reject(key, data, location, r, out);
            }
            // The SOR object's opt-in normalizers (`integer_text` for an export that writes
            // `1042.0`, `trim`): the account id is the repaired text.
            Some(Ok(id)) if self.plan.spec.normalize.is_empty() => id,
            Some(Ok(id)) => match AccountId::new(accord_core::id::normalize(id.as_str(), &self.plan.spec.normalize)) {
                Ok(fixed) => fixed,
                Err(e) => {
                    let r = Rejection {
                        key: Some(id.to_string()),
                        ..Rejection::field(RejectReason::InvalidAccountId, format!("{e} after normalizing {id:?}"))
                    };
                    return self.reject(key, data, location, r, out);
                }
            },
        };
        let fields = match extract_with_paths(ObjectKind::Account, &self.plan.field_paths, &data) {
            Ok(f) => f,
            Err(e) => {
                let reason = if e.missing { RejectReason::MissingRequiredField } else { RejectReason::InvalidField };
                let r = Rejection { key: Some(account_id.to_string()), ..Rejection::field(reason, e.to_string()) };
                return self.reject(key, data, location, r, out);
            }
        };
        let account_key = TriedKey { space: KeySpace::Account, key: account_id.to_string() };
        if let Some(claims) = self.sor_claims.as_deref_mut() {
            // Two SOR records carrying one account id: the one with the lowest native id holds it,
            // whatever order they arrive in; the other is rejected, and re-checked if the holder goes.
            let holder = claims.entry(account_id.to_string()).or_insert_with(|| key.native_id.clone());
            if *holder != key.native_id {
                if key.native_id < *holder {
                    let displaced =
                        RecordKey { native_id: std::mem::replace(holder, key.native_id.clone()), ..key.clone() };
                    match out.batch.accounts.iter().position(|a| a.origin == displaced) {
                        // Taken earlier in this page: it becomes the rejection it would have been.
                        Some(pos) => {
                            let row = out.batch.accounts.remove(pos);
                            out.counts.linked -= 1;
                            let r = Rejection {
                                reason: RejectReason::Ambiguous,
                                message: format!(
                                    "account id {:?} is also carried by SOR record {:?}, which holds it (the lowest \
                                     native id does): each account needs its own id",
                                    account_id.as_str(),
                                    key.native_id
                                ),
                                rule: None,
                                key: Some(account_id.to_string()),
                                hints: vec![],
                                tried: vec![account_key.clone()],
                            };
                            out.counts.reject(r.reason);
                            out.batch.quarantine.push(QuarantineRow {
                                key: row.origin,
                                kind: ObjectKind::Account,
                                rejection: r,
                                payload: row.attributes,
                                location: None,
                                seen_at: self.now,
                            });
                        }
                        // Stored by an earlier page or sync: the hub rejects it with the store's copy.
                        None => out.displaced.push(displaced),
                    }
                } else {
                    let r = Rejection {
                        reason: RejectReason::Ambiguous,
                        message: format!(
                            "account id {:?} is also carried by SOR record {holder:?}: each account needs its own id",
                            account_id.as_str()
                        ),
                        rule: None,
                        key: Some(account_id.to_string()),
                        hints: vec![],
                        tried: vec![account_key.clone()],
                    };
                    return self.reject(key, data, location, r, out);
                }
            }
        }
        let existing = self.index.account(account_id.as_str()).map(|e| e.state);
        if existing == Some(AccountState::Deleted) {
            let r = Rejection {
                reason: RejectReason::DeletedAccount,
                message: format!(
                    "account {:?} is on the delete list; `accord account restore {}` brings it back",
                    account_id.as_str(),
                    account_id
                ),
                rule: None,
                key: Some(account_id.to_string()),
                hints: vec![],
                tried: vec![account_key],
            };
            return self.reject(key, data, location, r, out);
        }
        if let Some(why) = self.excluded_by_filter(rules, &data, &account_id) {
            match existing {
                Some(_) => {
                    out.batch.account_status.push((account_id.clone(), AccountStatus::Filtered));
                    out.ops.push(IndexOp::State(account_id.to_string(), AccountState::Filtered));
                }
                None => out.ops.push(IndexOp::Filtered(
                    entry_from(&account_id, AccountStatus::Filtered, &fields),
                    key.native_id.clone(),
                )),
            }
            let r = Rejection {
                reason: RejectReason::FilteredAccount,
                message: format!("account {:?} {why}", account_id.as_str()),
                rule: None,
                key: Some(account_id.to_string()),
                hints: vec![],
                tried: vec![account_key],
            };
            out.counts.reject(r.reason);
            out.result(|| ItemResult::Rejected { reason: r.reason, message: r.message.clone(), key: r.key.clone() });
            out.batch.quarantine.push(QuarantineRow {
                key,
                kind: ObjectKind::Account,
                rejection: r,
                payload: data,
                location,
                seen_at: self.now,
            });
            return;
        }
        out.counts.linked += 1;
        out.result(|| ItemResult::Linked { account_id: account_id.clone() });
        let row = AccountRow {
            account_id: account_id.clone(),
            status: AccountStatus::Active,
            fields,
            origin: key,
            attributes: data,
            first_seen: self.now,
            last_seen: self.now,
        };
        out.ops.push(IndexOp::Unfiltered(account_id.to_string()));
        out.ops.push(IndexOp::Account(entry_of(&row)));
        out.batch.accounts.push(row);
    }

    fn excluded_by_filter(&self, rules: &AccountRules, data: &Value, account_id: &AccountId) -> Option<String> {
        if let Some(f) = &rules.filter
            && !f.matches(data)
        {
            return Some(format!("is excluded by the System of Record filter `{}`", f.text));
        }
        if let (Some(also), Some(set)) = (&rules.also_exists_in, self.also) {
            let value = match &also.sor_field {
                Some(p) => p.get(data).and_then(|v| accord_core::id::key_text(v).ok().flatten()),
                None => Some(account_id.to_string()),
            };
            if !value.as_ref().is_some_and(|v| set.contains(v)) {
                return Some(format!(
                    "is excluded by the System of Record filter: {} not found in {}/{}",
                    value.map_or("no value".into(), |v| format!("{v:?}")),
                    also.source,
                    also.object
                ));
            }
        }
        None
    }

    fn deleted(&mut self, native_id: String, out: &mut Prepared) {
        out.result(|| ItemResult::Deleted);
        let key = self.key(native_id);
        if self.plan.creates_accounts() {
            // The hub finds the account this SOR record created and puts it on the delete list.
            out.sor_deletions.push(key);
            return;
        }
        if self.plan.indexed {
            out.ops.push(IndexOp::Unlink { map: self.plan.map_name(), native_id: key.native_id.clone() });
        }
        out.batch.tombstones.push((self.plan.kind(), key));
    }
}

/// The key under which a malformed row's raw content is kept.
pub(crate) const MALFORMED: &str = "malformed_row";

fn normal_email(text: &str) -> Option<String> {
    let e = text.trim().to_lowercase();
    e.contains('@').then_some(e)
}

fn text_field<'f>(kind: ObjectKind, fields: &'f [FieldValue], name: &str) -> Option<&'f str> {
    let pos = kind.fields().iter().position(|f| f.name == name)?;
    fields.get(pos)?.as_text().map(str::trim).filter(|t| !t.is_empty())
}

/// A linked record's entry in the lookup tables. Only what the record is evidence of goes in: a
/// record linked by its email says nothing about that email, and only a contact linked by a
/// direct rule says which account its organization (`organization_id`) belongs to.
pub(crate) fn record_link(
    kind: ObjectKind,
    account_id: AccountId,
    rule: RuleKind,
    email: Option<&str>,
    organization: Option<&str>,
) -> RecordLink {
    RecordLink {
        account_id,
        email: email.filter(|_| rule != RuleKind::Email).and_then(normal_email).map(Arc::from),
        is_user: kind == ObjectKind::User,
        organization: organization.filter(|_| kind == ObjectKind::Contact && rule.is_direct()).map(Arc::from),
    }
}

/// [`record_link`] of a record's typed fields.
pub(crate) fn record_link_of(
    kind: ObjectKind,
    account_id: AccountId,
    rule: RuleKind,
    fields: &[FieldValue],
) -> RecordLink {
    let email = text_field(kind, fields, "email");
    record_link(kind, account_id, rule, email, text_field(kind, fields, "organization_id"))
}

/// The index entry of an account row.
pub(crate) fn entry_of(row: &AccountRow) -> AccountEntry {
    entry_from(&row.account_id, row.status, &row.fields)
}

/// The index entry of an account, from its typed fields (in `ObjectKind::Account` order).
pub(crate) fn entry_from(account_id: &AccountId, status: AccountStatus, fields: &[FieldValue]) -> AccountEntry {
    let text = |n: &str| {
        let pos = ObjectKind::Account.fields().iter().position(|f| f.name == n)?;
        fields.get(pos)?.as_text().map(str::to_owned)
    };
    AccountEntry {
        account_id: account_id.clone(),
        state: match status {
            AccountStatus::Active => AccountState::Active,
            AccountStatus::Filtered => AccountState::Filtered,
            AccountStatus::Deleted => AccountState::Deleted,
        },
        crm_account_id: text("crm_account_id"),
        billing_account_id: text("billing_account_id"),
        support_account_id: text("support_account_id"),
        website: text("website"),
    }
}
