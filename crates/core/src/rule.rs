//! Link rules: how a record of a source reaches an account_id.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::path::FieldPath;

/// The name of a rule, as recorded in provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Field,
    NativeId,
    Parent,
    Email,
    Domain,
    SupportId,
    UserMap,
    Children,
}

impl RuleKind {
    pub fn name(self) -> &'static str {
        match self {
            RuleKind::Field => "field",
            RuleKind::NativeId => "native_id",
            RuleKind::Parent => "parent",
            RuleKind::Email => "email",
            RuleKind::Domain => "domain",
            RuleKind::SupportId => "support_id",
            RuleKind::UserMap => "user_map",
            RuleKind::Children => "children",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Field,
            Self::NativeId,
            Self::Parent,
            Self::Email,
            Self::Domain,
            Self::SupportId,
            Self::UserMap,
            Self::Children,
        ]
        .into_iter()
        .find(|r| r.name() == name)
    }

    /// Whether a record linked by this rule is evidence of its account for others: its key is
    /// an id of the account itself (`field`, `native_id`, `support_id`, `user_map`) or a website's
    /// domain, not another record's link (`parent`, `children`) or an email, whose meaning comes
    /// from records linked some other way.
    pub fn is_direct(self) -> bool {
        !matches!(self, RuleKind::Parent | RuleKind::Children | RuleKind::Email)
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An account field that holds another system's id for the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountIdField {
    CrmAccountId,
    BillingAccountId,
    SupportAccountId,
}

impl AccountIdField {
    pub const ALL: [AccountIdField; 3] = [Self::CrmAccountId, Self::BillingAccountId, Self::SupportAccountId];

    pub fn name(self) -> &'static str {
        match self {
            Self::CrmAccountId => "crm_account_id",
            Self::BillingAccountId => "billing_account_id",
            Self::SupportAccountId => "support_account_id",
        }
    }
}

/// Where a `native_id` rule looks an id up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdMapRef {
    /// The ids of linked records of a source's object, e.g. `salesforce/Account`.
    Object { source: String, object: String },
    /// An id the accounts themselves carry, e.g. `crm_account_id`.
    AccountField(AccountIdField),
}

impl IdMapRef {
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(f) = AccountIdField::ALL.into_iter().find(|f| f.name() == text) {
            return Some(Self::AccountField(f));
        }
        let (source, object) = text.split_once('/')?;
        (!source.is_empty() && !object.is_empty() && !object.contains('/'))
            .then(|| Self::Object { source: source.to_owned(), object: object.to_owned() })
    }
}

impl fmt::Display for IdMapRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdMapRef::Object { source, object } => write!(f, "{source}/{object}"),
            IdMapRef::AccountField(a) => f.write_str(a.name()),
        }
    }
}

impl Serialize for IdMapRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IdMapRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        IdMapRef::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid id map {text:?}: expected \"<source>/<object>\" or one of crm_account_id, billing_account_id, support_account_id"
            ))
        })
    }
}

/// One link rule of a source object, as written in `accord.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum LinkRule {
    /// The record carries our account_id in `field`.
    Field { field: FieldPath },
    /// The id in `field` is looked up in an id map learned from another object or system.
    NativeId { field: FieldPath, map: IdMapRef },
    /// The record belongs to a linked record of `object` in the same source, whose id is in `field`.
    Parent { field: FieldPath, object: String },
    /// The email in `field` belongs to users/contacts of exactly one account.
    Email { field: FieldPath },
    /// The domain of the email or website in `field` maps to one account through the domain map.
    Domain { field: FieldPath },
    /// The id in `field` equals an account's `support_account_id`.
    SupportId { field: FieldPath },
    /// The user id in `field` maps to an account through the user → account mapping table.
    UserMap { field: FieldPath },
    /// The record is the organization of linked records of `object` in the same source (their
    /// `organization_id` is the id in `field`), and those linked by a direct rule (see
    /// [`RuleKind::is_direct`]) agree on one account; several accounts are ambiguous.
    Children { field: FieldPath, object: String },
}

impl LinkRule {
    pub fn kind(&self) -> RuleKind {
        match self {
            LinkRule::Field { .. } => RuleKind::Field,
            LinkRule::NativeId { .. } => RuleKind::NativeId,
            LinkRule::Parent { .. } => RuleKind::Parent,
            LinkRule::Email { .. } => RuleKind::Email,
            LinkRule::Domain { .. } => RuleKind::Domain,
            LinkRule::SupportId { .. } => RuleKind::SupportId,
            LinkRule::UserMap { .. } => RuleKind::UserMap,
            LinkRule::Children { .. } => RuleKind::Children,
        }
    }

    pub fn field(&self) -> &FieldPath {
        match self {
            LinkRule::Field { field }
            | LinkRule::NativeId { field, .. }
            | LinkRule::Parent { field, .. }
            | LinkRule::Email { field }
            | LinkRule::Domain { field }
            | LinkRule::SupportId { field }
            | LinkRule::UserMap { field }
            | LinkRule::Children { field, .. } => field,
        }
    }

    /// A short human description: `field external_id`, `native_id AccountId via salesforce/Account`.
    pub fn describe(&self) -> String {
        match self {
            LinkRule::NativeId { field, map } => format!("native_id {field} via {map}"),
            LinkRule::Parent { field, object } => format!("parent {field} → {object}"),
            LinkRule::Children { field, object } => format!("children {object} naming {field}"),
            other => format!("{} {}", other.kind(), other.field()),
        }
    }
}
