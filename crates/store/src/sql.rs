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
/// An account's stored records of a kind per (source, object), `?1` the account id. Events are
/// counted by the rollups' `event_counts`, so the raw events need no index by account.
pub(crate) fn record_counts(kind: ObjectKind) -> String {
    if kind == ObjectKind::Event {
        return "SELECT source, object, events FROM event_counts WHERE account_id = ?1 AND events > 0 ORDER BY source, object"
            .into();
    }
    format!(
        "SELECT source, object, COUNT(*) FROM {} WHERE account_id = ?1 AND is_deleted = 0 GROUP BY source, object ORDER BY source, object",
        kind.table()
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

/// The column naming a record's organization in its own system, for `children` rules.
pub(crate) fn organization_field(kind: ObjectKind) -> Option<&'static str> {
    (kind == ObjectKind::Contact).then_some("organization_id")
}

/// The `ORDER BY` of a record listing. Only names from code reach the SQL: a requested column is
/// looked up among [`crate::orderable_columns`]. NULLs sort lowest (first ascending, last
/// descending) on both backends.
pub(crate) fn record_order(kind: ObjectKind, q: &crate::RecordQuery, nulls: bool) -> crate::Result<String> {
    let Some(col) = q.order_by.as_deref() else {
        return Ok("last_seen DESC, source, object, native_id".into());
    };
    let col = crate::orderable_columns(kind)
        .into_iter()
        .find(|c| *c == col)
        .ok_or_else(|| crate::StoreError::Invalid(format!("cannot order {} by {col:?}", kind.table())))?;
    let dir = direction(q.descending, nulls);
    Ok(format!("{col} {dir}, source {dir}, object {dir}, native_id {dir}"))
}

/// The `ORDER BY` of an account listing.
pub(crate) fn account_order(q: &crate::AccountQuery, nulls: bool) -> crate::Result<String> {
    let col = match q.order {
        crate::AccountOrder::AccountId => "account_id",
        crate::AccountOrder::Name => "name",
        crate::AccountOrder::JoinDate => "join_date",
        crate::AccountOrder::Field(f) => ObjectKind::Account
            .fields()
            .iter()
            .map(|d| d.name)
            .find(|n| *n == f)
            .ok_or_else(|| crate::StoreError::Invalid(format!("cannot order accounts by {f:?}")))?,
    };
    let dir = direction(q.descending, nulls);
    Ok(format!("{col} {dir}, account_id {dir}"))
}

/// The `ORDER BY` of a metric listing.
pub(crate) fn metric_order(q: &crate::MetricQuery, nulls: bool) -> crate::Result<String> {
    let Some(col) = q.order_by.as_deref() else {
        return Ok("day DESC, account_id, name".into());
    };
    let col = ["account_id", "name", "day", "value"]
        .into_iter()
        .find(|c| *c == col)
        .ok_or_else(|| crate::StoreError::Invalid(format!("cannot order metrics by {col:?}")))?;
    let dir = direction(q.descending, nulls);
    Ok(format!("{col} {dir}, day {dir}, account_id {dir}, name {dir}"))
}

/// `ASC`/`DESC`; with `nulls` (PostgreSQL) NULLs placed as SQLite places them.
fn direction(descending: bool, nulls: bool) -> &'static str {
    match (descending, nulls) {
        (false, false) => "ASC",
        (true, false) => "DESC",
        (false, true) => "ASC NULLS FIRST",
        (true, true) => "DESC NULLS LAST",
    }
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

    #[test]
    fn orderings_take_only_known_columns() {
        let q = |c: &str| crate::RecordQuery { order_by: Some(c.into()), descending: true, ..Default::default() };
        assert_eq!(
            record_order(ObjectKind::User, &q("email"), false).unwrap(),
            "email DESC, source DESC, object DESC, native_id DESC"
        );
        assert!(record_order(ObjectKind::User, &q("email; DROP TABLE x"), false).is_err());
        assert!(record_order(ObjectKind::User, &q("payload"), false).is_err());
        let a = crate::AccountQuery { order: crate::AccountOrder::Field("renewal_date"), ..Default::default() };
        assert_eq!(account_order(&a, true).unwrap(), "renewal_date ASC NULLS FIRST, account_id ASC NULLS FIRST");
        let a = crate::AccountQuery { order: crate::AccountOrder::Field("attributes"), ..Default::default() };
        assert!(account_order(&a, false).is_err());
        let m = crate::MetricQuery { order_by: Some("value".into()), ..Default::default() };
        assert_eq!(metric_order(&m, false).unwrap(), "value ASC, day ASC, account_id ASC, name ASC");
    }
}
