//! The linker: a pure function from (rules, lookup tables, record) to a link or a rejection.
//!
//! Rules are tried in order and the first that resolves wins. A rule without a key in the record is
//! skipped. A rule that finds a key naming a deleted or filtered-out account stops the search: the
//! record explicitly points at that account, and linking it elsewhere would be a guess. Otherwise
//! the first failing rule that had a key decides the reason, and hints are gathered from all.

use std::borrow::Cow;

use accord_core::id::{key_text, normalize, strip_zero_fraction};
use accord_core::rule::{AccountIdField, IdMapRef};
use accord_core::{
    AccountId, Hint, KeySpace, LinkRule, Normalizer, Provenance, RejectReason, Rejection, RuleKind, TriedKey,
};
use serde_json::Value;

use crate::index::{AccountState, LinkIndex, domain_of};

/// The link rules of one source object.
#[derive(Debug, Clone)]
pub struct LinkSpec {
    /// The source the records come from (for `parent` rules).
    pub source: String,
    pub rules: Vec<LinkRule>,
    pub normalizers: Vec<Normalizer>,
}

/// A successful link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub account_id: AccountId,
    pub provenance: Provenance,
}

/// The result of linking one record.
pub type LinkOutcome = Result<Linked, Rejection>;

enum Step {
    Linked(AccountId, String),
    NoKey,
    Failed(Failure),
}

struct Failure {
    reason: RejectReason,
    key: String,
    detail: String,
    hints: Vec<Hint>,
    /// Deleted or filtered account: stop trying further rules.
    terminal: bool,
    /// The excluded account a non-account key resolved to, so restoring it re-links the record.
    excluded: Option<String>,
}

impl LinkSpec {
    /// Links one record. Never does I/O; never panics on any input.
    pub fn link(&self, index: &LinkIndex, record: &Value) -> LinkOutcome {
        let mut tried = Vec::new();
        let mut first_failure: Option<(usize, Failure)> = None;
        let mut hints: Vec<Hint> = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            match self.apply(index, rule, record, &mut tried) {
                Step::Linked(account_id, key) => {
                    return Ok(Linked { account_id, provenance: Provenance { rule: rule.kind(), rule_index: i, key } });
                }
                Step::NoKey => {}
                Step::Failed(f) => {
                    if let Some(a) = &f.excluded {
                        tried.push(TriedKey { space: KeySpace::Account, key: a.clone() });
                    }
                    for h in &f.hints {
                        if !hints.contains(h) {
                            hints.push(h.clone());
                        }
                    }
                    let terminal = f.terminal;
                    if first_failure.is_none() || terminal {
                        first_failure = Some((i, f));
                    }
                    if terminal {
                        break;
                    }
                }
            }
        }
        Err(match first_failure {
            None => Rejection {
                reason: RejectReason::MissingKey,
                message: format!(
                    "no link key in the record: tried {}",
                    self.rules.iter().map(|r| r.field().to_string()).collect::<Vec<_>>().join(", ")
                ),
                rule: None,
                key: None,
                hints,
                tried,
            },
            Some((i, f)) => {
                let rule = &self.rules[i];
                Rejection {
                    reason: f.reason,
                    message: format!("{}: {}", rule.describe(), f.detail),
                    rule: Some(rule.kind()),
                    key: Some(f.key),
                    hints,
                    tried,
                }
            }
        })
    }

    fn apply(&self, index: &LinkIndex, rule: &LinkRule, record: &Value, tried: &mut Vec<TriedKey>) -> Step {
        let Some(raw) = rule.field().get(record) else {
            return Step::NoKey;
        };
        let text = match key_text(raw) {
            Ok(Some(t)) => t,
            Ok(None) => return Step::NoKey,
            Err(e) => {
                let reason = if matches!(rule.kind(), RuleKind::Field | RuleKind::SupportId) {
                    RejectReason::InvalidAccountId
                } else {
                    RejectReason::InvalidField
                };
                return Step::Failed(Failure {
                    reason,
                    key: raw.to_string(),
                    detail: e.to_string(),
                    hints: vec![],
                    terminal: false,
                    excluded: None,
                });
            }
        };
        match rule {
            LinkRule::Field { .. } => self.by_account_id(index, &text, tried),
            LinkRule::SupportId { .. } => self.by_account_field(index, AccountIdField::SupportAccountId, &text, tried),
            LinkRule::NativeId { map: IdMapRef::AccountField(f), .. } => self.by_account_field(index, *f, &text, tried),
            LinkRule::NativeId { map: IdMapRef::Object { source, object }, .. } => {
                self.by_map(index, &format!("{source}/{object}"), &text, tried)
            }
            LinkRule::Parent { object, .. } => self.by_map(index, &format!("{}/{object}", self.source), &text, tried),
            LinkRule::Email { .. } => {
                let email = text.trim().to_lowercase();
                if !email.contains('@') {
                    return Step::Failed(Failure {
                        reason: RejectReason::InvalidField,
                        key: text,
                        detail: "not an email address".into(),
                        hints: vec![],
                        terminal: false,
                        excluded: None,
                    });
                }
                tried.push(TriedKey { space: KeySpace::Email, key: email.clone() });
                self.choose(index, index.accounts_by_email(&email), text, "email")
            }
            LinkRule::Domain { .. } => {
                let Some(domain) = domain_of(&text) else {
                    return Step::Failed(Failure {
                        reason: RejectReason::InvalidField,
                        key: text,
                        detail: "no usable domain (free-mail domains never map)".into(),
                        hints: vec![],
                        terminal: false,
                        excluded: None,
                    });
                };
                tried.push(TriedKey { space: KeySpace::Domain, key: domain.clone() });
                self.choose(index, index.accounts_by_domain(&domain), text, "domain")
            }
            LinkRule::UserMap { .. } => {
                let user = normalize(&text, &self.normalizers).into_owned();
                tried.push(TriedKey { space: KeySpace::User, key: user.clone() });
                self.choose(index, index.accounts_by_user(&user), text, "user")
            }
        }
    }

    fn lowercase(&self) -> bool {
        self.normalizers.contains(&Normalizer::Lowercase)
    }

    fn by_account_id(&self, index: &LinkIndex, text: &str, tried: &mut Vec<TriedKey>) -> Step {
        let key: Cow<str> = normalize(text, &self.normalizers);
        if self.lowercase() {
            tried.push(TriedKey { space: KeySpace::AccountLower, key: key.to_string() });
            return self.choose(index, index.accounts_lower(&key), text.to_owned(), "account id");
        }
        tried.push(TriedKey { space: KeySpace::Account, key: key.to_string() });
        match index.account(&key) {
            Some(e) if e.state == AccountState::Active => Step::Linked(e.account_id.clone(), key.into_owned()),
            Some(e) if e.state == AccountState::Filtered => Step::Failed(Failure {
                reason: RejectReason::FilteredAccount,
                key: text.to_owned(),
                detail: format!("account {key:?} is excluded by the System of Record filter"),
                hints: vec![],
                terminal: true,
                excluded: None,
            }),
            Some(_) => Step::Failed(Failure {
                reason: RejectReason::DeletedAccount,
                key: text.to_owned(),
                detail: format!("account {key:?} is on the delete list"),
                hints: vec![],
                terminal: true,
                excluded: None,
            }),
            None if index.is_filtered(&key) => Step::Failed(Failure {
                reason: RejectReason::FilteredAccount,
                key: text.to_owned(),
                detail: format!("account {key:?} is excluded by the System of Record filter"),
                hints: vec![],
                terminal: true,
                excluded: None,
            }),
            None => Step::Failed(Failure {
                reason: RejectReason::UnknownAccount,
                key: text.to_owned(),
                detail: format!("no account {key:?}"),
                hints: near_misses(index, &key),
                terminal: false,
                excluded: None,
            }),
        }
    }

    fn by_account_field(&self, index: &LinkIndex, f: AccountIdField, text: &str, tried: &mut Vec<TriedKey>) -> Step {
        let key = normalize(text, &self.normalizers).into_owned();
        tried.push(TriedKey { space: KeySpace::Map(f.name().into()), key: key.clone() });
        self.choose(index, index.accounts_by_field(f, &key), text.to_owned(), f.name())
    }

    fn by_map(&self, index: &LinkIndex, map: &str, text: &str, tried: &mut Vec<TriedKey>) -> Step {
        let key = normalize(text, &self.normalizers).into_owned();
        tried.push(TriedKey { space: KeySpace::Map(map.into()), key: key.clone() });
        match index.map_lookup(map, &key) {
            Some(account) => self.choose(index, vec![account], text.to_owned(), map),
            None => Step::Failed(Failure {
                reason: RejectReason::UnknownAccount,
                key: text.to_owned(),
                detail: format!("no linked {map} record with id {key:?}"),
                hints: vec![],
                terminal: false,
                excluded: None,
            }),
        }
    }

    /// Decides among the accounts a key matched: one active account links; deleted ones are
    /// set aside; several active ones are ambiguous.
    fn choose(&self, index: &LinkIndex, candidates: Vec<&AccountId>, key: String, what: &str) -> Step {
        let (active, excluded): (Vec<&AccountId>, Vec<&AccountId>) = candidates
            .into_iter()
            .partition(|a| index.account(a.as_str()).is_some_and(|e| e.state == AccountState::Active));
        match active.as_slice() {
            [one] => Step::Linked((*one).clone(), key),
            [] if !excluded.is_empty() => {
                let filtered = index.account(excluded[0].as_str()).is_some_and(|e| e.state == AccountState::Filtered);
                let (reason, why) = if filtered {
                    (RejectReason::FilteredAccount, "is excluded by the System of Record filter")
                } else {
                    (RejectReason::DeletedAccount, "is on the delete list")
                };
                Step::Failed(Failure {
                    reason,
                    detail: format!("the {what} points at account {:?}, which {why}", excluded[0].as_str()),
                    key,
                    hints: vec![],
                    terminal: true,
                    excluded: Some(excluded[0].to_string()),
                })
            }
            [] => Step::Failed(Failure {
                reason: RejectReason::UnknownAccount,
                detail: format!("no account for this {what}"),
                key,
                hints: vec![],
                terminal: false,
                excluded: None,
            }),
            many => {
                let mut ids: Vec<AccountId> = many.iter().map(|a| (*a).clone()).collect();
                ids.sort();
                Step::Failed(Failure {
                    reason: RejectReason::Ambiguous,
                    detail: format!("the {what} matches {} accounts", ids.len()),
                    key,
                    hints: vec![Hint::Candidates { account_ids: ids }],
                    terminal: false,
                    excluded: None,
                })
            }
        }
    }
}

/// Near misses for an unknown account id: float formatting, whitespace, letter case.
pub fn near_misses(index: &LinkIndex, key: &str) -> Vec<Hint> {
    let mut hints = Vec::new();
    let exists = |k: &str| index.account(k).map(|e| e.account_id.clone());
    let trimmed = key.trim();
    if trimmed != key
        && let Some(id) = exists(trimmed) {
            hints.push(Hint::Whitespace { account_id: id });
        }
    if let Some(id) = strip_zero_fraction(trimmed).and_then(exists) {
        hints.push(Hint::FloatSuffix { account_id: id });
    }
    let mut case: Vec<AccountId> = index
        .accounts_lower(&trimmed.to_lowercase())
        .into_iter()
        .filter(|a| a.as_str() != key && a.as_str() != trimmed)
        .cloned()
        .collect();
    if !case.is_empty() {
        case.sort();
        hints.push(Hint::CaseOnly { account_ids: case });
    }
    hints
}
