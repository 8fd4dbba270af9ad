//! Link outcomes: provenance of a link, rejection reasons and near-miss hints.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::id::AccountId;
use crate::rule::RuleKind;

/// Why a record did not reach an account. Machine-readable codes; `message()` gives the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// No link rule found a key in the record.
    MissingKey,
    /// The key cannot be an account id (a non-integral number, a list, ...).
    InvalidAccountId,
    /// The key names no account, id map entry, user, email or domain that accord knows.
    UnknownAccount,
    /// The key matched more than one account.
    Ambiguous,
    /// The account exists in the System of Record but its filter excludes it.
    FilteredAccount,
    /// The account is on the delete list.
    DeletedAccount,
    /// A field the record needs is absent.
    MissingRequiredField,
    /// A field is present but unreadable, or the row itself is malformed.
    InvalidField,
}

impl RejectReason {
    pub const ALL: [RejectReason; 8] = [
        Self::MissingKey,
        Self::InvalidAccountId,
        Self::UnknownAccount,
        Self::Ambiguous,
        Self::FilteredAccount,
        Self::DeletedAccount,
        Self::MissingRequiredField,
        Self::InvalidField,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::MissingKey => "missing_key",
            Self::InvalidAccountId => "invalid_account_id",
            Self::UnknownAccount => "unknown_account",
            Self::Ambiguous => "ambiguous",
            Self::FilteredAccount => "filtered_account",
            Self::DeletedAccount => "deleted_account",
            Self::MissingRequiredField => "missing_required_field",
            Self::InvalidField => "invalid_field",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the code means, for people.
    pub fn message(self) -> &'static str {
        match self {
            Self::MissingKey => "no link rule found a key in the record",
            Self::InvalidAccountId => "the key cannot be an account id",
            Self::UnknownAccount => "the key matches no known account",
            Self::Ambiguous => "the key matches more than one account",
            Self::FilteredAccount => "the account is excluded by the System of Record filter",
            Self::DeletedAccount => "the account is on the delete list",
            Self::MissingRequiredField => "a required field is missing",
            Self::InvalidField => "a field is invalid",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A near miss: something that would have linked if the source had not mangled the key.
/// Hints never link anything by themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "hint", rename_all = "snake_case")]
pub enum Hint {
    /// `"12345.0"` was tried and account `"12345"` exists: the id went through a float. Or the other
    /// way: `"12345"` was tried and the System of Record's account `"12345.0"` exists.
    FloatSuffix { account_id: AccountId },
    /// The key has surrounding whitespace and the trimmed id exists. Or the other way: the key is
    /// clean and the System of Record's account id (named here) has the whitespace.
    Whitespace { account_id: AccountId },
    /// Accounts whose id differs only in letter case.
    CaseOnly { account_ids: Vec<AccountId> },
    /// The accounts an ambiguous key matched.
    Candidates { account_ids: Vec<AccountId> },
}

impl Hint {
    pub fn describe(&self) -> String {
        match self {
            // The hint names the account that exists; when that is the mangled one, the System of
            // Record must be fixed (a normalizer on this source would not help).
            Hint::FloatSuffix { account_id } if crate::id::strip_zero_fraction(account_id.as_str()).is_some() => {
                format!(
                    "account {:?} exists: the System of Record's id looks float-formatted (fix it there)",
                    account_id.as_str()
                )
            }
            Hint::FloatSuffix { account_id } => {
                format!(
                    "account {:?} exists: the id looks float-formatted (normalizer integer_text)",
                    account_id.as_str()
                )
            }
            Hint::Whitespace { account_id } if account_id.as_str().trim() != account_id.as_str() => {
                format!(
                    "account {:?} exists: the System of Record's id has surrounding whitespace (fix it there)",
                    account_id.as_str()
                )
            }
            Hint::Whitespace { account_id } => {
                format!("account {:?} exists: the id has surrounding whitespace (normalizer trim)", account_id.as_str())
            }
            Hint::CaseOnly { account_ids } => {
                format!("account {} differs only in letter case (normalizer lowercase)", quoted_list(account_ids))
            }
            Hint::Candidates { account_ids } => {
                format!("matches accounts {}", quoted_list(account_ids))
            }
        }
    }
}

fn quoted_list(ids: &[AccountId]) -> String {
    ids.iter().map(|i| format!("{:?}", i.as_str())).collect::<Vec<_>>().join(", ")
}

/// How a record reached its account: recorded with every linked record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub rule: RuleKind,
    /// Position of the winning rule in the object's rule list (0-based).
    pub rule_index: usize,
    /// The key the rule used, after normalizers.
    pub key: String,
}

/// What kind of lookup a key went through; with the key's value it indexes the quarantine so that
/// a change re-links exactly the records that tried it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeySpace {
    /// An account id (`field` rule); also the SOR's own account ids.
    Account,
    /// An account id compared in lower case (the `lowercase` normalizer).
    AccountLower,
    /// Account ids under their near key (`accord_core::id::near_key`: trimmed, no zero
    /// fraction): where near-miss hints come from.
    AccountNear,
    /// An existing account whose state changed (filtered, deleted, active again): the records
    /// linked to it are re-checked. Only in the change feed.
    AccountState,
    /// An id map, e.g. `salesforce/Account` or `crm_account_id`.
    Map(String),
    /// A lower-cased email.
    Email,
    /// A lower-cased domain.
    Domain,
    /// A product user id.
    User,
    /// The organization id that linked records of an object (`source/object`) name in their
    /// `organization_id`: what a `children` rule reads.
    Children(String),
}

impl KeySpace {
    /// The text stored in the quarantine key index.
    pub fn code(&self) -> String {
        match self {
            KeySpace::Account => "account".into(),
            KeySpace::AccountLower => "account_lower".into(),
            KeySpace::AccountState => "account_state".into(),
            KeySpace::AccountNear => "account_near".into(),
            KeySpace::Map(m) => format!("map:{m}"),
            KeySpace::Email => "email".into(),
            KeySpace::Domain => "domain".into(),
            KeySpace::User => "user".into(),
            KeySpace::Children(m) => format!("children:{m}"),
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "account" => KeySpace::Account,
            "account_lower" => KeySpace::AccountLower,
            "account_state" => KeySpace::AccountState,
            "account_near" => KeySpace::AccountNear,
            "email" => KeySpace::Email,
            "domain" => KeySpace::Domain,
            "user" => KeySpace::User,
            other => match other.strip_prefix("children:") {
                Some(m) => KeySpace::Children(m.to_owned()),
                None => KeySpace::Map(other.strip_prefix("map:")?.to_owned()),
            },
        })
    }
}

impl Serialize for KeySpace {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code())
    }
}

impl<'de> Deserialize<'de> for KeySpace {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        KeySpace::from_code(&code).ok_or_else(|| serde::de::Error::custom(format!("unknown key space {code:?}")))
    }
}

/// A key a link rule tried.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TriedKey {
    pub space: KeySpace,
    pub key: String,
}

/// A record that did not link, with everything needed to explain and retry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub reason: RejectReason,
    /// One line for people: what failed and on which key or field.
    pub message: String,
    /// The rule whose failure decided the reason, if a rule was involved.
    pub rule: Option<RuleKind>,
    /// The key that decided the reason (as found in the record, before normalizers).
    pub key: Option<String>,
    pub hints: Vec<Hint>,
    /// Every key tried, so the quarantine can be re-linked by key.
    pub tried: Vec<TriedKey>,
}

impl Rejection {
    /// A rejection that involves no link rule (bad rows, missing fields).
    pub fn field(reason: RejectReason, message: impl Into<String>) -> Self {
        Self { reason, message: message.into(), rule: None, key: None, hints: Vec::new(), tried: Vec::new() }
    }
}
