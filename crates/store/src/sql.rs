//! SQL text shared by the backends: column lists of the kind tables and upsert statements.
//! Only identifiers from code are interpolated here; every value is a bound parameter.

use accord_core::ObjectKind;

/// Columns of every kind table before the typed fields.
pub(crate) const RECORD_HEAD: [&str; 7] =
    ["source", "object", "native_id", "account_id", "link_rule", "link_rule_index", "link_key"];
/// Columns of every kind table after the typed fields.
pub(crate) const RECORD_TAIL: [&str; 4] = ["payload", "is_deleted", "first_seen", "last_seen"];

pub(crate) fn record_columns(kind: ObjectKind) -> Vec<&'static str> {
    RECORD_HEAD.iter().copied().chain(kind.fields().iter().map(|f| f.name)).chain(RECORD_TAIL).collect()
}

/// `INSERT ... ON CONFLICT (source, object, native_id) DO UPDATE` for a kind table.
/// `first_seen` keeps its first value; a re-seen record is no longer deleted.
pub(crate) fn upsert_record(kind: ObjectKind, ph: fn(usize) -> String) -> String {
    let cols = record_columns(kind);
    let values: Vec<String> = (1..=cols.len()).map(ph).collect();
    let updates: Vec<String> = cols
        .iter()
        .filter(|c| !matches!(**c, "source" | "object" | "native_id" | "first_seen"))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (source, object, native_id) DO UPDATE SET {}",
        kind.table(),
        cols.join(", "),
        values.join(", "),
        updates.join(", ")
    )
}

/// `INSERT ... ON CONFLICT DO NOTHING` for events: an event's identity is its content.
pub(crate) fn insert_event(ph: fn(usize) -> String) -> String {
    let cols = record_columns(ObjectKind::Event);
    let values: Vec<String> = (1..=cols.len()).map(ph).collect();
    format!(
        "INSERT INTO events ({}) VALUES ({}) ON CONFLICT (source, object, native_id) DO NOTHING",
        cols.join(", "),
        values.join(", ")
    )
}

pub(crate) fn select_record(kind: ObjectKind) -> String {
    format!("SELECT {} FROM {}", record_columns(kind).join(", "), kind.table())
}

/// Account columns in row order: id, status, typed fields, origin, attributes, times.
pub(crate) fn account_columns() -> Vec<&'static str> {
    ["account_id", "status"]
        .into_iter()
        .chain(ObjectKind::Account.fields().iter().map(|f| f.name))
        .chain(["source", "object", "native_id", "attributes", "first_seen", "last_seen"])
        .collect()
}

pub(crate) fn upsert_account(ph: fn(usize) -> String) -> String {
    let cols = account_columns();
    let values: Vec<String> = (1..=cols.len()).map(ph).collect();
    let updates: Vec<String> = cols
        .iter()
        .filter(|c| !matches!(**c, "account_id" | "first_seen"))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO accounts ({}) VALUES ({}) ON CONFLICT (account_id) DO UPDATE SET {}",
        cols.join(", "),
        values.join(", "),
        updates.join(", ")
    )
}

/// Kinds that have a kind table (every kind but accounts).
pub(crate) fn record_kinds() -> impl Iterator<Item = ObjectKind> {
    ObjectKind::ALL.iter().copied().filter(|k| *k != ObjectKind::Account)
}

/// The typed field of a kind that carries a person's email, if any.
pub(crate) fn email_field(kind: ObjectKind) -> Option<&'static str> {
    matches!(kind, ObjectKind::User | ObjectKind::Contact).then_some("email")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upserts_keep_first_seen_and_bind_everything() {
        let sql = upsert_record(ObjectKind::Ticket, |i| format!("?{i}"));
        assert!(sql.starts_with("INSERT INTO support_tickets (source, object, native_id, account_id"));
        assert!(!sql.contains("first_seen = excluded"));
        assert!(sql.contains("last_seen = excluded.last_seen"));
        assert_eq!(sql.matches('?').count(), record_columns(ObjectKind::Ticket).len());
    }
}
