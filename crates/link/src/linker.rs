//! The linker: a pure function from (rules, lookup tables, record) to a link or a rejection.
//!
//! Rules are tried in order and the first that resolves wins. A rule without a key in the record is
//! skipped. A rule that finds a key naming a deleted or filtered-out account stops the search: the
//! record explicitly points at that account, and linking it elsewhere would be a guess. Otherwise
//! the first failing rule that had a key decides the reason, and hints are gathered from all.

use std::borrow::Cow;

use accord_core::id::{key_str, near_key, normalize};
use accord_core::rule::{AccountIdField, IdMapRef};
use accord_core::{
    AccountId, Hint, KeySpace, LinkRule, Normalizer, Provenance, RejectReason, Rejection, RuleKind, TriedKey,
};
use serde_json::Value;

use crate::index::{AccountState, LinkIndex, domain_of};

/// The link rules of one source object, prepared for linking.
#[derive(Debug, Clone)]
pub struct LinkSpec {
    source: String,
    rules: Vec<LinkRule>,
    normalizers: Vec<Normalizer>,
    /// The id map each `native_id`/`parent` rule reads (`source/object`), resolved once.
    maps: Vec<Option<String>>,
}

/// A successful link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub account_id: AccountId,
    pub provenance: Provenance,
    /// The keys whose meaning this answer depends on, besides its own account: the keys the
    /// earlier rules tried without resolving (one of them resolving later takes over), and the key
    /// the winning rule went through unless it is the account id itself (an id-map entry, an email,
    /// a domain, a user). A change to any of them may change the answer.
    pub depends_on: Vec<TriedKey>,
}

/// The result of linking one record.
pub type LinkOutcome = Result<Linked, Rejection>;

enum Step {
    /// The account, the key as the provenance reports it, and the keys the rule went through.
    Linked(AccountId, String, Vec<TriedKey>),
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
    /// The keys this rule tried, so a change to any of them re-links the record.
    tried: Vec<TriedKey>,
}

impl Failure {
    fn new(reason: RejectReason, key: impl Into<String>, detail: String) -> Self {
        Self { reason, key: key.into(), detail, hints: Vec::new(), terminal: false, tried: Vec::new() }
    }

    fn tried(mut self, space: KeySpace, key: impl Into<String>) -> Self {
        self.tried.push(TriedKey { space, key: key.into() });
        self
    }

    fn terminal(mut self) -> Self {
        self.terminal = true;
        self
    }
}

impl LinkSpec {
    /// Prepares the rules of an object of `source`.
    pub fn new(source: impl Into<String>, rules: Vec<LinkRule>, normalizers: Vec<Normalizer>) -> Self {
        let source = source.into();
        let maps = rules
            .iter()
            .map(|r| match r {
                LinkRule::NativeId { map: IdMapRef::Object { source, object }, .. } => {
                    Some(format!("{source}/{object}"))
                }
                LinkRule::Parent { object, .. } | LinkRule::Children { object, .. } => {
                    Some(format!("{source}/{object}"))
                }
                _ => None,
            })
            .collect();
        Self { source, rules, normalizers, maps }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn rules(&self) -> &[LinkRule] {
        &self.rules
    }

    pub fn normalizers(&self) -> &[Normalizer] {
        &self.normalizers
    }

    /// Links one record. Never does I/O; never panics on any input.
    pub fn link(&self, index: &LinkIndex, record: &Value) -> LinkOutcome {
        let mut failures: Vec<(usize, Failure)> = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            match self.apply(index, i, rule, record) {
                Step::Linked(account_id, key, through) => {
                    let mut depends_on: Vec<TriedKey> =
                        failures.iter().flat_map(|(_, f)| f.tried.iter().cloned()).collect();
                    depends_on.extend(through);
                    depends_on.sort();
                    depends_on.dedup();
                    return Ok(Linked {
                        account_id,
                        provenance: Provenance { rule: rule.kind(), rule_index: i, key },
                        depends_on,
                    });
                }
                Step::NoKey => {}
                Step::Failed(f) => {
                    let terminal = f.terminal;
                    failures.push((i, f));
                    if terminal {
                        break;
                    }
                }
            }
        }
        Err(self.rejection(failures))
    }

    fn rejection(&self, failures: Vec<(usize, Failure)>) -> Rejection {
        let mut hints: Vec<Hint> = Vec::new();
        let mut tried = Vec::new();
        for (_, f) in &failures {
            for h in &f.hints {
                if !hints.contains(h) {
                    hints.push(h.clone());
                }
            }
            tried.extend(f.tried.iter().cloned());
        }
        let decisive = failures.iter().position(|(_, f)| f.terminal).unwrap_or(0);
        match failures.into_iter().nth(decisive) {
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
        }
    }

    fn apply(&self, index: &LinkIndex, i: usize, rule: &LinkRule, record: &Value) -> Step {
        let Some(raw) = rule.field().get(record) else { return Step::NoKey };
        if let (LinkRule::Domain { .. }, Value::Array(list)) = (rule, raw) {
            return self.by_domains(index, list);
        }
        let text = match key_str(raw) {
            Ok(Some(t)) => t,
            Ok(None) => return Step::NoKey,
            Err(e) => {
                let reason = if matches!(rule.kind(), RuleKind::Field | RuleKind::SupportId) {
                    RejectReason::InvalidAccountId
                } else {
                    RejectReason::InvalidField
                };
                return Step::Failed(Failure::new(reason, raw.to_string(), e.to_string()));
            }
        };
        match rule {
            LinkRule::Field { .. } => self.by_account_id(index, &text),
            LinkRule::SupportId { .. } => self.by_account_field(index, AccountIdField::SupportAccountId, &text),
            LinkRule::NativeId { map: IdMapRef::AccountField(f), .. } => self.by_account_field(index, *f, &text),
            LinkRule::NativeId { .. } | LinkRule::Parent { .. } => {
                let map = self.maps[i].as_deref().unwrap_or_default();
                self.by_map(index, map, &text)
            }
            LinkRule::Email { .. } => {
                let email = lower_trimmed(&text);
                if !email.contains('@') {
                    return Step::Failed(Failure::new(RejectReason::InvalidField, text, "not an email address".into()));
                }
                let step = self.choose(index, index.accounts_by_email(&email), &text, "email");
                with_tried(step, KeySpace::Email, &email)
            }
            LinkRule::Domain { .. } => {
                let Some(domain) = domain_of(&text) else {
                    return Step::Failed(Failure::new(
                        RejectReason::InvalidField,
                        text,
                        "no usable domain (free-mail domains never map)".into(),
                    ));
                };
                let step = self.choose(index, index.accounts_by_domain(&domain), &text, "domain");
                with_tried(step, KeySpace::Domain, &domain)
            }
            LinkRule::Children { .. } => {
                let map = self.maps[i].as_deref().unwrap_or_default();
                let id = normalize(&text, &self.normalizers);
                let step = self.choose(index, index.accounts_by_children(map, &id), &text, &format!("{map} records"));
                with_tried(step, KeySpace::Children(map.into()), &id)
            }
            LinkRule::UserMap { .. } => {
                let user = normalize(&text, &self.normalizers);
                let step = self.choose(index, index.accounts_by_user(&user), &text, "user");
                with_tried(step, KeySpace::User, &user)
            }
        }
    }

    /// A domain rule over a list field (Zendesk's `domain_names`): every entry is tried, and the
    /// accounts they map to together decide (several accounts are ambiguous).
    fn by_domains(&self, index: &LinkIndex, list: &[Value]) -> Step {
        let domains: Vec<String> = list.iter().filter_map(Value::as_str).filter_map(domain_of).collect();
        if domains.is_empty() {
            return if list.is_empty() {
                Step::NoKey
            } else {
                Step::Failed(Failure::new(
                    RejectReason::InvalidField,
                    Value::Array(list.to_vec()).to_string(),
                    "no usable domain in the list (free-mail domains never map)".into(),
                ))
            };
        }
        let mut candidates: Vec<&AccountId> = Vec::new();
        for d in &domains {
            for a in index.accounts_by_domain(d) {
                if !candidates.contains(&a) {
                    candidates.push(a);
                }
            }
        }
        let text = domains.join(", ");
        let mut step = match self.choose(index, candidates, &text, "domain list") {
            // The provenance names the entry that maps to the account; every entry is a dependency
            // (another entry coming to map to a second account makes the record ambiguous).
            Step::Linked(account, _, _) => {
                let key =
                    domains.iter().find(|d| index.accounts_by_domain(d).contains(&&account)).cloned().unwrap_or(text);
                let through = domains.iter().map(|d| TriedKey { space: KeySpace::Domain, key: d.clone() }).collect();
                return Step::Linked(account, key, through);
            }
            other => other,
        };
        for d in &domains {
            step = with_tried(step, KeySpace::Domain, d);
        }
        step
    }

    fn lowercase(&self) -> bool {
        self.normalizers.contains(&Normalizer::Lowercase)
    }

    fn by_account_id(&self, index: &LinkIndex, text: &str) -> Step {
        let key: Cow<str> = normalize(text, &self.normalizers);
        if self.lowercase() {
            let step = self.choose(index, index.accounts_lower(&key), text, "account id");
            return with_tried(step, KeySpace::AccountLower, &key);
        }
        match index.account(&key) {
            // The record's own account is a dependency of every link: no need to list it.
            Some(e) if e.state == AccountState::Active => {
                Step::Linked(e.account_id.clone(), key.into_owned(), Vec::new())
            }
            Some(e) => {
                let (reason, why) = excluded(e.state);
                let detail = format!("account {key:?} {why}");
                Step::Failed(Failure::new(reason, text, detail).terminal().tried(KeySpace::Account, key))
            }
            None if index.is_filtered(&key) => {
                let detail = format!("account {key:?} is excluded by the System of Record filter");
                Step::Failed(
                    Failure::new(RejectReason::FilteredAccount, text, detail).terminal().tried(KeySpace::Account, key),
                )
            }
            None => {
                let mut f = Failure::new(RejectReason::UnknownAccount, text, format!("no account {key:?}"));
                f.hints = near_misses(index, &key);
                Step::Failed(f.tried(KeySpace::Account, key))
            }
        }
    }

    fn by_account_field(&self, index: &LinkIndex, f: AccountIdField, text: &str) -> Step {
        let key = normalize(text, &self.normalizers);
        let step = self.choose(index, index.accounts_by_field(f, &key), text, f.name());
        with_tried(step, KeySpace::Map(f.name().into()), &key)
    }

    fn by_map(&self, index: &LinkIndex, map: &str, text: &str) -> Step {
        let key = normalize(text, &self.normalizers);
        let step = match index.map_lookup(map, &key) {
            Some(account) => self.choose(index, vec![account], text, map),
            None => Step::Failed(Failure::new(
                RejectReason::UnknownAccount,
                text,
                format!("no linked {map} record with id {key:?}"),
            )),
        };
        with_tried(step, KeySpace::Map(map.into()), &key)
    }

    /// Decides among the accounts a key matched: one active account links; excluded (deleted or
    /// filtered) ones are set aside; several active ones are ambiguous.
    fn choose(&self, index: &LinkIndex, candidates: Vec<&AccountId>, key: &str, what: &str) -> Step {
        if let [one] = candidates.as_slice()
            && index.account(one.as_str()).is_some_and(|e| e.state == AccountState::Active)
        {
            return Step::Linked((*one).clone(), key.to_owned(), Vec::new());
        }
        let (active, excluded_ids): (Vec<&AccountId>, Vec<&AccountId>) = candidates
            .into_iter()
            .partition(|a| index.account(a.as_str()).is_some_and(|e| e.state == AccountState::Active));
        match active.as_slice() {
            [one] => Step::Linked((*one).clone(), key.to_owned(), Vec::new()),
            [] if !excluded_ids.is_empty() => {
                let first = excluded_ids[0];
                let state = index.state(first.as_str()).unwrap_or(AccountState::Deleted);
                let (reason, why) = excluded(state);
                let detail = format!("the {what} points at account {:?}, which {why}", first.as_str());
                // Restoring the account (or a filter change) re-links the record.
                Step::Failed(Failure::new(reason, key, detail).terminal().tried(KeySpace::Account, first.as_str()))
            }
            [] => Step::Failed(Failure::new(RejectReason::UnknownAccount, key, format!("no account for this {what}"))),
            many => {
                let mut ids: Vec<AccountId> = many.iter().map(|a| (*a).clone()).collect();
                ids.sort();
                let mut f =
                    Failure::new(RejectReason::Ambiguous, key, format!("the {what} matches {} accounts", ids.len()));
                f.hints = vec![Hint::Candidates { account_ids: ids }];
                Step::Failed(f)
            }
        }
    }
}

/// Adds the key a rule went through to its outcome: a failure re-links when it changes, and a
/// link is re-checked when it changes.
fn with_tried(step: Step, space: KeySpace, key: &str) -> Step {
    match step {
        Step::Failed(f) => Step::Failed(f.tried(space, key)),
        Step::Linked(account, text, mut through) => {
            through.push(TriedKey { space, key: key.to_owned() });
            Step::Linked(account, text, through)
        }
        other => other,
    }
}

fn excluded(state: AccountState) -> (RejectReason, &'static str) {
    match state {
        AccountState::Filtered => (RejectReason::FilteredAccount, "is excluded by the System of Record filter"),
        _ => (RejectReason::DeletedAccount, "is on the delete list"),
    }
}

/// Lower-cased and trimmed, borrowing when the text already is.
pub fn lower_trimmed(text: &str) -> Cow<'_, str> {
    let t = text.trim();
    if t.bytes().any(|b| b.is_ascii_uppercase()) || !t.is_ascii() {
        Cow::Owned(t.to_lowercase())
    } else {
        Cow::Borrowed(t)
    }
}

/// Near misses for an unknown account id: float formatting, whitespace, letter case.
///
/// Both directions, with any padding and any zero fraction: the record's key may be mangled
/// (`"1042.0"`, `" 1050 "` while account `"1042"`, `"1050"` exists), or the System of Record's own
/// id may be (`"1042"` while account `"1042.00"` or `"1050 "` exists). Candidates meet under their
/// near key (`accord_core::id::near_key`). The hint names the account that exists.
pub fn near_misses(index: &LinkIndex, key: &str) -> Vec<Hint> {
    let mut hints = Vec::new();
    let mut push = |hint: Hint| {
        if !hints.contains(&hint) {
            hints.push(hint);
        }
    };
    let mut near: Vec<&AccountId> =
        index.accounts_near(near_key(key)).into_iter().filter(|a| a.as_str() != key).collect();
    near.sort();
    for account in near {
        let account_id = account.clone();
        // Only whitespace apart, or a zero fraction (maybe with whitespace) apart.
        push(if account.as_str().trim() == key.trim() {
            Hint::Whitespace { account_id }
        } else {
            Hint::FloatSuffix { account_id }
        });
    }
    let trimmed = key.trim();
    let mut case: Vec<AccountId> = index
        .accounts_lower(&trimmed.to_lowercase())
        .into_iter()
        .filter(|a| a.as_str() != key && a.as_str() != trimmed)
        .cloned()
        .collect();
    if !case.is_empty() {
        case.sort();
        push(Hint::CaseOnly { account_ids: case });
    }
    hints
}
