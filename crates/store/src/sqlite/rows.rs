//! Reading SQLite rows into model types, and model values into SQLite parameters.

use accord_core::record::FieldType;
use accord_core::{AccountId, FieldValue, ObjectKind, Provenance, RejectReason, Rejection, RuleKind, Timestamp};
use chrono::TimeZone;
use rusqlite::Row;
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};

use crate::model::*;
use crate::{Result, StoreError};

pub(super) const QUARANTINE_COLUMNS: &str = "id, source, object, native_id, kind, reason, message, rule, link_key, hints, tried, payload, location, first_seen, last_seen, attempts";

pub(super) fn time(ms: i64) -> Timestamp {
    chrono::Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(super) fn account_id(r: &Row<'_>, i: usize) -> Result<AccountId> {
    let s: String = r.get(i)?;
    AccountId::new(s).map_err(|e| StoreError::Invalid(format!("stored account id: {e}")))
}

/// A borrowed statement parameter: binding it copies nothing on the Rust side.
pub(super) enum Param<'a> {
    Str(&'a str),
    Int(i64),
    Field(&'a FieldValue),
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Str(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Param::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
            Param::Field(FieldValue::Text(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Param::Field(f) => ToSqlOutput::Owned(field_param(f)),
        })
    }
}

pub(super) fn field_param(v: &FieldValue) -> SqlValue {
    match v {
        FieldValue::Null => SqlValue::Null,
        FieldValue::Text(s) => SqlValue::Text(s.clone()),
        FieldValue::Time(t) => SqlValue::Integer(t.timestamp_millis()),
        FieldValue::Bool(b) => SqlValue::Integer(i64::from(*b)),
        FieldValue::Int(i) => SqlValue::Integer(*i),
        FieldValue::Float(f) => SqlValue::Real(*f),
    }
}

fn field_value(ty: FieldType, v: ValueRef<'_>) -> Result<FieldValue> {
    Ok(match (ty, v) {
        (_, ValueRef::Null) => FieldValue::Null,
        (FieldType::Time, ValueRef::Integer(i)) => FieldValue::Time(time(i)),
        (FieldType::Bool, ValueRef::Integer(i)) => FieldValue::Bool(i != 0),
        (FieldType::Int | FieldType::Money, ValueRef::Integer(i)) => FieldValue::Int(i),
        (FieldType::Float, ValueRef::Real(f)) => FieldValue::Float(f),
        (FieldType::Float, ValueRef::Integer(i)) => FieldValue::Float(i as f64),
        (FieldType::Text | FieldType::Email, ValueRef::Text(t)) => {
            FieldValue::Text(String::from_utf8_lossy(t).into_owned())
        }
        (ty, other) => {
            return Err(StoreError::Invalid(format!(
                "stored {:?} where a {ty:?} field was expected",
                other.data_type()
            )));
        }
    })
}

fn fields(kind: ObjectKind, r: &Row<'_>, start: usize) -> Result<Vec<FieldValue>> {
    kind.fields().iter().enumerate().map(|(i, f)| field_value(f.ty, r.get_ref(start + i)?)).collect()
}

fn json(text: String) -> Result<serde_json::Value> {
    Ok(serde_json::from_str(&text)?)
}

pub(super) fn account_from_row(r: &Row<'_>) -> Result<AccountRow> {
    let n = ObjectKind::Account.fields().len();
    let status: String = r.get(1)?;
    Ok(AccountRow {
        account_id: account_id(r, 0)?,
        status: AccountStatus::from_code(&status)
            .ok_or_else(|| StoreError::Invalid(format!("unknown account status {status:?}")))?,
        fields: fields(ObjectKind::Account, r, 2)?,
        origin: RecordKey { source: r.get(2 + n)?, object: r.get(3 + n)?, native_id: r.get(4 + n)? },
        attributes: json(r.get(5 + n)?)?,
        first_seen: time(r.get(6 + n)?),
        last_seen: time(r.get(7 + n)?),
    })
}

pub(super) fn provenance(rule: String, index: i64, key: String) -> Result<Provenance> {
    Ok(Provenance {
        rule: RuleKind::from_name(&rule).ok_or_else(|| StoreError::Invalid(format!("unknown rule {rule:?}")))?,
        rule_index: index as usize,
        key,
    })
}

pub(super) fn record_from_row(kind: ObjectKind, r: &Row<'_>) -> Result<RecordRow> {
    let n = kind.fields().len();
    let rule: String = r.get(4)?;
    Ok(RecordRow {
        key: RecordKey { source: r.get(0)?, object: r.get(1)?, native_id: r.get(2)? },
        kind,
        account_id: account_id(r, 3)?,
        provenance: Provenance {
            rule: RuleKind::from_name(&rule).ok_or_else(|| StoreError::Invalid(format!("unknown rule {rule:?}")))?,
            rule_index: r.get::<_, i64>(5)? as usize,
            key: r.get(6)?,
        },
        fields: fields(kind, r, 7)?,
        payload: json(r.get(7 + n)?)?,
        payload_json: None,
        is_deleted: r.get::<_, i64>(8 + n)? != 0,
        first_seen: time(r.get(9 + n)?),
        last_seen: time(r.get(10 + n)?),
        depends_on: Vec::new(),
    })
}

pub(super) fn quarantine_from_row(r: &Row<'_>) -> Result<QuarantineEntry> {
    let kind: String = r.get(4)?;
    let reason: String = r.get(5)?;
    let rule: Option<String> = r.get(7)?;
    Ok(QuarantineEntry {
        id: r.get(0)?,
        key: RecordKey { source: r.get(1)?, object: r.get(2)?, native_id: r.get(3)? },
        kind: ObjectKind::from_name(&kind).ok_or_else(|| StoreError::Invalid(format!("unknown kind {kind:?}")))?,
        rejection: Rejection {
            reason: RejectReason::from_code(&reason)
                .ok_or_else(|| StoreError::Invalid(format!("unknown reason {reason:?}")))?,
            message: r.get(6)?,
            rule: rule.as_deref().and_then(RuleKind::from_name),
            key: r.get(8)?,
            hints: serde_json::from_str(&r.get::<_, String>(9)?)?,
            tried: serde_json::from_str(&r.get::<_, String>(10)?)?,
        },
        payload: json(r.get(11)?)?,
        location: r.get(12)?,
        first_seen: time(r.get(13)?),
        last_seen: time(r.get(14)?),
        attempts: r.get(15)?,
    })
}

pub(super) fn run_from_row(r: &Row<'_>) -> Result<SyncRun> {
    let finished: Option<i64> = r.get(3)?;
    Ok(SyncRun {
        id: r.get(0)?,
        source: r.get(1)?,
        started_at: time(r.get(2)?),
        finished_at: finished.map(time),
        status: r.get(4)?,
        counts: RunCounts {
            fetched: r.get::<_, i64>(5)? as u64,
            linked: r.get::<_, i64>(6)? as u64,
            rejected: r.get::<_, i64>(7)? as u64,
            rejected_by_reason: serde_json::from_str(&r.get::<_, String>(8)?)?,
        },
        error: r.get(9)?,
    })
}
