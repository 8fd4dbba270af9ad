//! Reading PostgreSQL rows into model types, and model values into the column arrays the bulk
//! statements bind (one array per column, expanded server-side by `UNNEST`).

use accord_core::record::FieldType;
use accord_core::{AccountId, FieldValue, ObjectKind, Provenance, RejectReason, Rejection, RuleKind, Timestamp};
use chrono::TimeZone;
use postgres::Row;
use postgres::types::{ToSql, Type};

use crate::model::*;
use crate::{Result, StoreError};

pub(super) const QUARANTINE_COLUMNS: &str = "id, source, object, native_id, kind, reason, message, rule, link_key, hints, tried, payload, location, first_seen, last_seen, attempts";

/// `QUARANTINE_COLUMNS` qualified with the table alias `q`.
pub(super) fn quarantine_columns_q() -> String {
    QUARANTINE_COLUMNS.split(", ").map(|c| format!("q.{c}")).collect::<Vec<_>>().join(", ")
}

pub(super) fn time(ms: i64) -> Timestamp {
    chrono::Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(super) fn account_id(r: &Row, i: usize) -> Result<AccountId> {
    let s: String = r.try_get(i)?;
    AccountId::new(s).map_err(|e| StoreError::Invalid(format!("stored account id: {e}")))
}

/// A count column (`COUNT(*)`, `SUM(bigint)::bigint`) as the model's unsigned count.
pub(super) fn count(r: &Row, i: usize) -> Result<u64> {
    Ok(r.try_get::<_, i64>(i)?.max(0) as u64)
}

/// The SQL type a typed field is stored as.
fn column_type(ty: FieldType) -> ColumnType {
    match ty {
        FieldType::Text | FieldType::Email => ColumnType::Text,
        FieldType::Time | FieldType::Int | FieldType::Money => ColumnType::BigInt,
        FieldType::Float => ColumnType::Double,
        FieldType::Bool => ColumnType::Bool,
    }
}

fn field_value(ty: FieldType, r: &Row, i: usize) -> Result<FieldValue> {
    Ok(match ty {
        FieldType::Text | FieldType::Email => {
            r.try_get::<_, Option<String>>(i)?.map_or(FieldValue::Null, FieldValue::Text)
        }
        FieldType::Time => r.try_get::<_, Option<i64>>(i)?.map_or(FieldValue::Null, |ms| FieldValue::Time(time(ms))),
        FieldType::Int | FieldType::Money => r.try_get::<_, Option<i64>>(i)?.map_or(FieldValue::Null, FieldValue::Int),
        FieldType::Float => r.try_get::<_, Option<f64>>(i)?.map_or(FieldValue::Null, FieldValue::Float),
        FieldType::Bool => r.try_get::<_, Option<bool>>(i)?.map_or(FieldValue::Null, FieldValue::Bool),
    })
}

fn fields(kind: ObjectKind, r: &Row, start: usize) -> Result<Vec<FieldValue>> {
    kind.fields().iter().enumerate().map(|(i, f)| field_value(f.ty, r, start + i)).collect()
}

fn json(r: &Row, i: usize) -> Result<serde_json::Value> {
    Ok(serde_json::from_str(r.try_get::<_, &str>(i)?)?)
}

pub(super) fn account_from_row(r: &Row) -> Result<AccountRow> {
    let n = ObjectKind::Account.fields().len();
    let status: &str = r.try_get(1)?;
    Ok(AccountRow {
        account_id: account_id(r, 0)?,
        status: AccountStatus::from_code(status)
            .ok_or_else(|| StoreError::Invalid(format!("unknown account status {status:?}")))?,
        fields: fields(ObjectKind::Account, r, 2)?,
        origin: RecordKey { source: r.try_get(2 + n)?, object: r.try_get(3 + n)?, native_id: r.try_get(4 + n)? },
        attributes: json(r, 5 + n)?,
        first_seen: time(r.try_get(6 + n)?),
        last_seen: time(r.try_get(7 + n)?),
    })
}

pub(super) fn record_from_row(kind: ObjectKind, r: &Row) -> Result<RecordRow> {
    let n = kind.fields().len();
    let rule: &str = r.try_get(4)?;
    Ok(RecordRow {
        key: RecordKey { source: r.try_get(0)?, object: r.try_get(1)?, native_id: r.try_get(2)? },
        kind,
        account_id: account_id(r, 3)?,
        provenance: Provenance {
            rule: RuleKind::from_name(rule).ok_or_else(|| StoreError::Invalid(format!("unknown rule {rule:?}")))?,
            rule_index: r.try_get::<_, i64>(5)? as usize,
            key: r.try_get(6)?,
        },
        fields: fields(kind, r, 7)?,
        payload: json(r, 7 + n)?,
        payload_json: None,
        is_deleted: r.try_get(8 + n)?,
        first_seen: time(r.try_get(9 + n)?),
        last_seen: time(r.try_get(10 + n)?),
        depends_on: Vec::new(),
    })
}

pub(super) fn quarantine_from_row(r: &Row) -> Result<QuarantineEntry> {
    let kind: &str = r.try_get(4)?;
    let reason: &str = r.try_get(5)?;
    let rule: Option<&str> = r.try_get(7)?;
    Ok(QuarantineEntry {
        id: r.try_get(0)?,
        key: RecordKey { source: r.try_get(1)?, object: r.try_get(2)?, native_id: r.try_get(3)? },
        kind: ObjectKind::from_name(kind).ok_or_else(|| StoreError::Invalid(format!("unknown kind {kind:?}")))?,
        rejection: Rejection {
            reason: RejectReason::from_code(reason)
                .ok_or_else(|| StoreError::Invalid(format!("unknown reason {reason:?}")))?,
            message: r.try_get(6)?,
            rule: rule.and_then(RuleKind::from_name),
            key: r.try_get(8)?,
            hints: serde_json::from_str(r.try_get::<_, &str>(9)?)?,
            tried: serde_json::from_str(r.try_get::<_, &str>(10)?)?,
        },
        payload: json(r, 11)?,
        location: r.try_get(12)?,
        first_seen: time(r.try_get(13)?),
        last_seen: time(r.try_get(14)?),
        attempts: r.try_get(15)?,
    })
}

pub(super) fn run_from_row(r: &Row) -> Result<SyncRun> {
    let finished: Option<i64> = r.try_get(3)?;
    Ok(SyncRun {
        id: r.try_get(0)?,
        source: r.try_get(1)?,
        started_at: time(r.try_get(2)?),
        finished_at: finished.map(time),
        status: r.try_get(4)?,
        counts: RunCounts {
            fetched: count(r, 5)?,
            linked: count(r, 6)?,
            rejected: count(r, 7)?,
            rejected_by_reason: serde_json::from_str(r.try_get::<_, &str>(8)?)?,
        },
        error: r.try_get(9)?,
    })
}

/// The SQL types the bulk statements bind arrays of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ColumnType {
    Text,
    BigInt,
    Double,
    Bool,
}

/// One column of a bulk statement: a value per row, bound as one array parameter. Text borrows
/// from the batch, so building the arrays copies no strings.
#[derive(Debug)]
pub(super) enum Column<'a> {
    Text(Vec<Option<&'a str>>),
    BigInt(Vec<Option<i64>>),
    Double(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
}

impl<'a> Column<'a> {
    pub(super) fn new(ty: ColumnType, rows: usize) -> Self {
        match ty {
            ColumnType::Text => Column::Text(Vec::with_capacity(rows)),
            ColumnType::BigInt => Column::BigInt(Vec::with_capacity(rows)),
            ColumnType::Double => Column::Double(Vec::with_capacity(rows)),
            ColumnType::Bool => Column::Bool(Vec::with_capacity(rows)),
        }
    }

    /// The array type for `UNNEST($n::<type>)` and for binding.
    fn array_type(&self) -> (&'static str, Type) {
        match self {
            Column::Text(_) => ("text[]", Type::TEXT_ARRAY),
            Column::BigInt(_) => ("int8[]", Type::INT8_ARRAY),
            Column::Double(_) => ("float8[]", Type::FLOAT8_ARRAY),
            Column::Bool(_) => ("bool[]", Type::BOOL_ARRAY),
        }
    }

    fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Column::Text(v) => v,
            Column::BigInt(v) => v,
            Column::Double(v) => v,
            Column::Bool(v) => v,
        }
    }

    pub(super) fn text(&mut self, v: &'a str) {
        self.opt_text(Some(v));
    }

    pub(super) fn opt_text(&mut self, v: Option<&'a str>) {
        match self {
            Column::Text(c) => c.push(v),
            other => unreachable!("text pushed to a {:?} column", other.array_type().0),
        }
    }

    pub(super) fn int(&mut self, v: i64) {
        match self {
            Column::BigInt(c) => c.push(Some(v)),
            other => unreachable!("an integer pushed to a {:?} column", other.array_type().0),
        }
    }

    pub(super) fn double(&mut self, v: f64) {
        match self {
            Column::Double(c) => c.push(Some(v)),
            other => unreachable!("a real pushed to a {:?} column", other.array_type().0),
        }
    }

    pub(super) fn bool(&mut self, v: bool) {
        match self {
            Column::Bool(c) => c.push(Some(v)),
            other => unreachable!("a boolean pushed to a {:?} column", other.array_type().0),
        }
    }

    /// A typed field's value, converted to its column's type the way SQLite's column affinity
    /// would store it; a value that type cannot hold is refused rather than stored wrong.
    fn field(&mut self, ty: FieldType, v: &'a FieldValue) -> Result<()> {
        let mismatch = || StoreError::Invalid(format!("a {ty:?} field cannot hold {v:?}"));
        match (self, v) {
            (Column::Text(c), FieldValue::Null) => c.push(None),
            (Column::BigInt(c), FieldValue::Null) => c.push(None),
            (Column::Double(c), FieldValue::Null) => c.push(None),
            (Column::Bool(c), FieldValue::Null) => c.push(None),
            (Column::Text(c), FieldValue::Text(s)) => c.push(Some(s)),
            (Column::BigInt(c), FieldValue::Time(t)) if ty == FieldType::Time => c.push(Some(t.timestamp_millis())),
            (Column::BigInt(c), FieldValue::Int(i)) => c.push(Some(*i)),
            (Column::BigInt(c), FieldValue::Float(f)) if ty != FieldType::Time && f.is_finite() && f.fract() == 0.0 => {
                c.push(Some(*f as i64))
            }
            (Column::Double(c), FieldValue::Float(f)) => c.push(Some(*f)),
            (Column::Double(c), FieldValue::Int(i)) => c.push(Some(*i as f64)),
            (Column::Bool(c), FieldValue::Bool(b)) => c.push(Some(*b)),
            _ => return Err(mismatch()),
        }
        Ok(())
    }
}

/// The columns of one bulk statement, in the statement's column order.
#[derive(Debug, Default)]
pub(super) struct Columns<'a> {
    pub(super) cols: Vec<Column<'a>>,
}

impl<'a> Columns<'a> {
    pub(super) fn of(types: &[ColumnType], rows: usize) -> Self {
        Self { cols: types.iter().map(|t| Column::new(*t, rows)).collect() }
    }

    /// `UNNEST($first::text[], $first+1::int8[], ...)`: the rows, expanded server-side.
    pub(super) fn unnest(&self, first: usize) -> String {
        let args: Vec<String> =
            self.cols.iter().enumerate().map(|(i, c)| format!("${}::{}", first + i, c.array_type().0)).collect();
        format!("UNNEST({})", args.join(", "))
    }

    /// The arrays as typed parameters, for `query_typed`/`execute_typed` (one round trip: no
    /// separate prepare).
    pub(super) fn params(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.cols.iter().map(|c| (c.param(), c.array_type().1)).collect()
    }
}

/// Column types of a kind table, in `sql::record_columns` order.
pub(super) fn record_types(kind: ObjectKind) -> Vec<ColumnType> {
    use ColumnType::*;
    [Text, Text, Text, Text, Text, BigInt, Text]
        .into_iter()
        .chain(kind.fields().iter().map(|f| column_type(f.ty)))
        .chain([Text, Bool, BigInt, BigInt])
        .collect()
}

/// A record to write: the row, its JSON payload as text, and the `first_seen` to insert with
/// (the first sighting within the batch when the batch holds the record more than once).
#[derive(Debug)]
pub(super) struct RecordWrite<'a> {
    pub(super) rec: &'a RecordRow,
    pub(super) payload: String,
    pub(super) first_seen: i64,
}

/// The column arrays of records of one kind, in `sql::record_columns` order.
pub(super) fn record_arrays<'a>(kind: ObjectKind, recs: &'a [RecordWrite<'a>]) -> Result<Columns<'a>> {
    let mut c = Columns::of(&record_types(kind), recs.len());
    let n = kind.fields().len();
    for w in recs {
        let r = w.rec;
        if r.fields.len() != n {
            return Err(StoreError::Invalid(format!(
                "record {} has {} typed fields; kind {} has {n}",
                r.key,
                r.fields.len(),
                kind.name()
            )));
        }
        let cols = &mut c.cols;
        cols[0].text(&r.key.source);
        cols[1].text(&r.key.object);
        cols[2].text(&r.key.native_id);
        cols[3].text(r.account_id.as_str());
        cols[4].text(r.provenance.rule.name());
        cols[5].int(r.provenance.rule_index as i64);
        cols[6].text(&r.provenance.key);
        for (i, (spec, v)) in kind.fields().iter().zip(&r.fields).enumerate() {
            cols[7 + i].field(spec.ty, v).map_err(|e| StoreError::Invalid(format!("{} {}: {e}", r.key, spec.name)))?;
        }
        cols[7 + n].text(&w.payload);
        cols[8 + n].bool(r.is_deleted);
        cols[9 + n].int(w.first_seen);
        cols[10 + n].int(r.last_seen.timestamp_millis());
    }
    Ok(c)
}

/// An account to write; see `RecordWrite`.
#[derive(Debug)]
pub(super) struct AccountWrite<'a> {
    pub(super) account: &'a AccountRow,
    pub(super) attributes: String,
    pub(super) first_seen: i64,
}

/// The column arrays of accounts, in `sql::account_columns` order.
pub(super) fn account_arrays<'a>(accounts: &'a [AccountWrite<'a>]) -> Result<Columns<'a>> {
    use ColumnType::*;
    let spec = ObjectKind::Account.fields();
    let types: Vec<ColumnType> = [Text, Text]
        .into_iter()
        .chain(spec.iter().map(|f| column_type(f.ty)))
        .chain([Text, Text, Text, Text, BigInt, BigInt])
        .collect();
    let mut c = Columns::of(&types, accounts.len());
    let n = spec.len();
    for w in accounts {
        let a = w.account;
        if a.fields.len() != n {
            return Err(StoreError::Invalid(format!(
                "account {} has {} typed fields; accounts have {n}",
                a.account_id,
                a.fields.len()
            )));
        }
        let cols = &mut c.cols;
        cols[0].text(a.account_id.as_str());
        cols[1].text(a.status.code());
        for (i, (f, v)) in spec.iter().zip(&a.fields).enumerate() {
            cols[2 + i]
                .field(f.ty, v)
                .map_err(|e| StoreError::Invalid(format!("account {} {}: {e}", a.account_id, f.name)))?;
        }
        cols[2 + n].text(&a.origin.source);
        cols[3 + n].text(&a.origin.object);
        cols[4 + n].text(&a.origin.native_id);
        cols[5 + n].text(&w.attributes);
        cols[6 + n].int(w.first_seen);
        cols[7 + n].int(a.last_seen.timestamp_millis());
    }
    Ok(c)
}

/// Three text arrays of record keys, for `UNNEST(...) AS k(source, object, native_id)`.
pub(super) fn key_arrays<'a>(keys: impl IntoIterator<Item = &'a RecordKey>) -> Columns<'a> {
    let mut c = Columns::of(&[ColumnType::Text; 3], 0);
    for k in keys {
        c.cols[0].text(&k.source);
        c.cols[1].text(&k.object);
        c.cols[2].text(&k.native_id);
    }
    c
}
