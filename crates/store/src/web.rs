//! The rows of the web app (`accord-web`): its users, their sessions, and the account listing its
//! pages read (search, filters, per-account activity). Backend-neutral, like `model.rs`.

use accord_core::Timestamp;
use serde::Serialize;

use crate::model::{AccountOrder, AccountStatus};

/// A web user. The role is kept as text (`viewer`, `operator`, `admin`); the web app gives it
/// meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebUser {
    pub name: String,
    pub role: String,
    /// An argon2id PHC string; never a password.
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A signed-in browser, keyed by the hash of its cookie's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub token_hash: String,
    pub user_name: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A typed account column or a field of the System of Record's record (`attributes`), compared
/// as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountField {
    /// A typed account field (a name from `ObjectKind::Account.fields()`).
    Typed(&'static str),
    /// A top-level key of the source record.
    Attribute(String),
}

/// Which accounts a page of the accounts list shows.
#[derive(Debug, Clone, Default)]
pub struct AccountSearch {
    /// Part of the account id or name, case-insensitive (ASCII).
    pub text: Option<String>,
    /// Fields that must equal a value, as text.
    pub equals: Vec<(AccountField, String)>,
    /// Statuses to include; empty means active only.
    pub statuses: Vec<AccountStatus>,
    pub order: AccountOrder,
    pub descending: bool,
    pub page: u32,
    pub page_size: u32,
}

/// What the accounts list shows of an account beyond its row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    pub account_id: String,
    /// The start of the last hour with usage, epoch ms.
    pub last_activity_ms: Option<i64>,
    /// Distinct users with usage since the `since` instant asked for.
    pub active_users: u64,
    /// Live tickets whose status is not closed, solved or resolved.
    pub open_tickets: u64,
    /// Open rejections that point at the account or hint at it.
    pub rejections_near: u64,
}

/// Ticket statuses that count as done (compared lowercased).
pub const CLOSED_TICKET_STATUSES: [&str; 3] = ["closed", "solved", "resolved"];

/// `%text%` for `LIKE ... ESCAPE '\'`, with the pattern characters of `text` escaped.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The typed account column of a field name, or an error naming the allowed ones.
pub(crate) fn typed_column(name: &str) -> crate::Result<&'static str> {
    accord_core::ObjectKind::Account
        .fields()
        .iter()
        .map(|f| f.name)
        .find(|n| *n == name)
        .ok_or_else(|| crate::StoreError::Invalid(format!("accounts have no typed field {name:?}")))
}

/// Checks a source-record key a filter names: keys with quotes or backslashes are refused on every
/// backend (SQLite's JSON paths would need them escaped).
pub(crate) fn attribute_key(key: &str) -> crate::Result<&str> {
    if key.is_empty() || key.contains(['"', '\\']) {
        return Err(crate::StoreError::Invalid(format!("cannot filter by the field {key:?}")));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::like_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
