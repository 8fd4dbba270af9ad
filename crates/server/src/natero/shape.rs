//! Stored records in Natero's JSON shape: the fields as given, the typed fields on top, dates as
//! epoch milliseconds.

use accord_core::{FieldValue, ObjectKind};
use accord_engine::view::money_text;
use accord_store::{AccountRow, AccountStatus, RecordRow};
use serde_json::{Map, Value, json};

fn typed_into(kind: ObjectKind, values: &[FieldValue], out: &mut Map<String, Value>) {
    for (f, v) in kind.fields().iter().zip(values) {
        let value = match (f.ty, v) {
            (_, FieldValue::Null) => continue,
            (_, FieldValue::Time(t)) => json!(t.timestamp_millis()),
            (accord_core::record::FieldType::Money, FieldValue::Int(minor)) => json!(money_text(*minor)),
            (_, other) => serde_json::to_value(other).unwrap_or(Value::Null),
        };
        out.insert(f.name.to_owned(), value);
    }
}

/// Where accord got a record (`api/accounts`, `crm/accounts`...): a name of its own, so the
/// `source` field stays the client's.
pub const ORIGIN: &str = "accord_origin";

/// An account as Natero returns it: the fields as given (`source` included) when the Account API
/// wrote it, the typed fields, `is_active`, and [`ORIGIN`].
pub fn account(a: &AccountRow) -> Value {
    let mut out = match &a.attributes {
        Value::Object(m) if a.origin.source == accord_engine::plan::API_SOURCE => m.clone(),
        _ => Map::new(),
    };
    typed_into(ObjectKind::Account, &a.fields, &mut out);
    out.insert("account_id".into(), json!(a.account_id));
    out.insert("is_active".into(), json!(a.status == AccountStatus::Active));
    out.insert(ORIGIN.into(), json!(a.origin.map_name()));
    Value::Object(out)
}

/// A linked record (user, contact, ticket...) as Natero returns it. `id_field` names the record's
/// id (`user_id` for users).
pub fn record(r: &RecordRow, id_field: &str) -> Value {
    let mut out = match &r.payload {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    typed_into(r.kind, &r.fields, &mut out);
    out.insert(id_field.into(), json!(r.key.native_id));
    out.insert("account_id".into(), json!(r.account_id));
    out.insert("is_active".into(), json!(!r.is_deleted));
    out.insert(ORIGIN.into(), json!(r.key.map_name()));
    Value::Object(out)
}
