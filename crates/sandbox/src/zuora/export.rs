//! Zuora's describe and data-source export calls, as Singer's tap-zuora (REST mode) uses them:
//! `GET /v1/describe` (the objects, XML), `GET /v1/describe/{Object}` (its fields with their
//! types and the contexts they can be used in, XML), `POST /v1/object/export` (`{"Format":
//! "csv", "Query": "<Export ZOQL>"}` → `{"Id", "Success": true}`), `GET /v1/object/export/{id}`
//! (the job: `Status`, `FileId`) and `GET /v1/files/{id}` (the CSV, headers `Object.Field`).
//!
//! Export ZOQL is ZOQL with `select *`, a trailing `limit n` and fields qualified by their
//! object (`Account.Name`); this emulator answers those and refuses joins (a field qualified by
//! another object), which it does not model. A job runs at once: its status is `Completed` when
//! first asked. accord itself reads through `action/query` (see `routes`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use super::State;
use super::model::{Queryable, datetime};
use super::routes::{OBJECTS, refusal, run_query};
use super::zoql;
use crate::emulator::store::{Record, Store};

/// A finished export: the query it ran and its file.
#[derive(Debug, Clone)]
pub(crate) struct Export {
    query: String,
    created: String,
    file_id: String,
    rows: usize,
}

/// The type `describe` gives a field, from its name (Zuora's `text`, `picklist`, `boolean`,
/// `integer`, `decimal`, `date`, `datetime`).
pub fn field_type(field: &str) -> &'static str {
    match field {
        "CreatedDate" | "UpdatedDate" => "datetime",
        "AutoRenew" | "IsLastSegment" => "boolean",
        "BillCycleDay" | "Version" | "Segment" | "ProcessingType" => "integer",
        "Price" | "Quantity" | "MRR" | "TCV" | "Amount" | "AmountWithoutTax" | "TaxAmount" | "Balance"
        | "ChargeAmount" | "UnitPrice" => "decimal",
        "Status" | "Currency" | "TermType" | "ChargeType" | "ChargeModel" | "BillingPeriod" | "AmendmentType"
        | "Batch" => "picklist",
        f if f.ends_with("Date") => "date",
        _ => "text",
    }
}

fn xml(body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
    r
}

/// `GET /v1/describe`: the objects this tenant can describe.
pub(crate) async fn describe_all() -> Response {
    let objects: String = OBJECTS
        .iter()
        .map(|(name, _)| {
            format!("<object href=\"/v1/describe/{name}\"><name>{name}</name><label>{name}</label></object>")
        })
        .collect();
    xml(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><objects>{objects}</objects>"))
}

/// `GET /v1/describe/{Object}`: its fields, each usable in SOAP and exports; the custom field
/// says `custom`.
pub(crate) async fn describe(Path(object): Path<String>) -> Response {
    let Some((name, fields)) = OBJECTS.iter().find(|(n, _)| n.eq_ignore_ascii_case(&object)) else {
        return refusal(StatusCode::NOT_FOUND, "INVALID_VALUE", &format!("invalid object: {object}"));
    };
    let fields: String = fields
        .iter()
        .map(|f| {
            format!(
                "<field><name>{f}</name><label>{f}</label><selectable>true</selectable><createable>false</createable>\
                 <updateable>{updateable}</updateable><filterable>true</filterable><custom>{custom}</custom>\
                 <maxlength></maxlength><required>{required}</required><type>{kind}</type>\
                 <contexts><context>soap</context><context>export</context></contexts></field>",
                updateable = f.ends_with("__c"),
                custom = f.ends_with("__c"),
                required = *f == "Id",
                kind = field_type(f),
            )
        })
        .collect();
    xml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><object href=\"/v1/describe/{name}\"><name>{name}</name>\
         <label>{name}</label><fields>{fields}</fields><related-objects></related-objects></object>"
    ))
}

/// Export ZOQL made ZOQL: `select *` spelled out, `Object.Field` of the queried object
/// unqualified, a trailing `limit n` taken off (returned). A field of another object is a join.
fn plain(query: &str) -> Result<(String, Option<usize>), String> {
    let mut q = query.trim().to_owned();
    let mut limit = None;
    let lower = q.to_ascii_lowercase();
    if let Some(at) = lower.rfind(" limit ") {
        let n = q[at + 7..].trim();
        if let Ok(n) = n.parse::<usize>() {
            limit = Some(n);
            q.truncate(at);
        }
    }
    let lower = q.to_ascii_lowercase();
    let from = lower.find(" from ").ok_or("a query names its object after from")?;
    let object_name = q[from + 6..].split_whitespace().next().unwrap_or_default().to_owned();
    let (object, fields) = OBJECTS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&object_name))
        .ok_or_else(|| format!("invalid object: {object_name}"))?;
    let selected = q[..from].trim_start()[6..].trim().to_owned();
    let list = if selected == "*" {
        fields.join(", ")
    } else {
        let mut out = Vec::new();
        for f in selected.split(',') {
            let f = f.trim();
            match f.split_once('.') {
                Some((o, name)) if o.eq_ignore_ascii_case(object) => out.push(name.to_owned()),
                Some(_) => return Err(format!("joined objects are not emulated: {f}")),
                None => out.push(f.to_owned()),
            }
        }
        out.join(", ")
    };
    let rest = &q[from..];
    let prefix = format!("{}.", object.to_ascii_lowercase());
    // `where Account.UpdatedDate >= ...`: the object's own qualifier is dropped there too.
    let mut rest_plain = String::with_capacity(rest.len());
    let mut i = 0;
    let lower_rest = rest.to_ascii_lowercase();
    while i < rest.len() {
        if lower_rest[i..].starts_with(&prefix) && (i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric()) {
            i += prefix.len();
        } else {
            let c = rest[i..].chars().next().unwrap_or(' ');
            rest_plain.push(c);
            i += c.len_utf8();
        }
    }
    Ok((format!("select {list}{rest_plain}"), limit))
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn cell(v: &Value) -> String {
    let text = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

fn csv<R: Queryable + Record<Id = String>>(store: &Store<R>, ids: &[String], q: &zoql::Query) -> String {
    let mut out = q.fields.iter().map(|f| format!("{}.{f}", q.object)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in ids.iter().filter_map(|id| store.get(id)) {
        out.push_str(&q.fields.iter().map(|f| cell(&r.value(f))).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// `POST /v1/object/export`: runs the query now and keeps its CSV.
pub(crate) async fn create(AxState(s): AxState<Arc<State>>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return refusal(StatusCode::BAD_REQUEST, "INVALID_VALUE", "The request body is not a JSON object.");
    };
    let format = body.get("Format").and_then(Value::as_str).unwrap_or("csv");
    if !format.eq_ignore_ascii_case("csv") {
        return refusal(StatusCode::BAD_REQUEST, "INVALID_VALUE", &format!("Format {format} is not emulated: csv is"));
    }
    let Some(text) = body.get("Query").and_then(Value::as_str) else {
        return refusal(StatusCode::BAD_REQUEST, "MISSING_REQUIRED_VALUE", "Query is required.");
    };
    let (plain, limit) = match plain(text) {
        Ok(p) => p,
        Err(why) => return refusal(StatusCode::BAD_REQUEST, "INVALID_VALUE", &why),
    };
    let q = match zoql::parse(&plain, OBJECTS) {
        Ok(q) => q,
        Err(r) => return refusal(StatusCode::BAD_REQUEST, r.code, &r.message),
    };
    let books = s.books.read();
    let mut ids = run_query(&books, &q);
    if let Some(n) = limit {
        ids.truncate(n);
    }
    let file = match q.object {
        "Account" => csv(&books.accounts, &ids, &q),
        "Subscription" => csv(&books.subscriptions, &ids, &q),
        "RatePlan" => csv(&books.rate_plans, &ids, &q),
        "RatePlanCharge" => csv(&books.charges, &ids, &q),
        "Invoice" => csv(&books.invoices, &ids, &q),
        _ => csv(&books.invoice_items, &ids, &q),
    };
    drop(books);
    let id = format!("{:032x}", u128::from(s.core.next_seq()).wrapping_mul(0x6A09_E667_F3BC_C908) | 3);
    let file_id = format!("{:032x}", u128::from(s.core.next_seq()).wrapping_mul(0xBB67_AE85_84CA_A73B) | 5);
    let export = Export {
        query: text.to_owned(),
        created: datetime(s.core.clock.now().timestamp()),
        file_id: file_id.clone(),
        rows: ids.len(),
    };
    let mut exports = s.exports.lock().unwrap_or_else(|e| e.into_inner());
    exports.jobs.insert(id.clone(), export);
    exports.files.insert(file_id, file);
    Json(json!({ "Id": id, "Success": true })).into_response()
}

/// `GET /v1/object/export/{id}`: the job, completed, with its file.
pub(crate) async fn job(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let exports = s.exports.lock().unwrap_or_else(|e| e.into_inner());
    let Some(e) = exports.jobs.get(&id) else {
        return refusal(StatusCode::NOT_FOUND, "INVALID_VALUE", &format!("invalid export id: {id}"));
    };
    Json(json!({
        "Id": id, "CreatedDate": e.created, "Format": "csv", "Name": "", "Query": e.query, "Status": "Completed",
        "FileId": e.file_id, "Size": e.rows, "Zip": false, "Success": true,
    }))
    .into_response()
}

/// `GET /v1/files/{id}`: an export's CSV.
pub(crate) async fn file(AxState(s): AxState<Arc<State>>, Path(id): Path<String>) -> Response {
    let exports = s.exports.lock().unwrap_or_else(|e| e.into_inner());
    let Some(body) = exports.files.get(&id).cloned() else {
        return refusal(StatusCode::NOT_FOUND, "INVALID_VALUE", &format!("invalid file id: {id}"));
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    r
}

/// The exports made, and their files.
#[derive(Debug, Default)]
pub(crate) struct Exports {
    jobs: std::collections::HashMap<String, Export>,
    files: std::collections::HashMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::super::model::Account;
    use super::*;

    #[test]
    fn export_zoql_becomes_zoql() {
        let (q, limit) = plain("select * from account limit 1").unwrap();
        assert!(q.starts_with("select Id, AccountNumber, Name") && q.ends_with(" from account"), "{q}");
        assert_eq!(limit, Some(1));
        let (q, limit) = plain(
            "select Account.Id, Name from Account where Account.UpdatedDate >= '2024-01-01T00:00:00Z' and UpdatedDate < '2024-01-31T00:00:00Z'",
        )
        .unwrap();
        assert_eq!(
            (q.as_str(), limit),
            (
                "select Id, Name from Account where UpdatedDate >= '2024-01-01T00:00:00Z' and UpdatedDate < '2024-01-31T00:00:00Z'",
                None
            )
        );
        assert!(plain("select Id, Account.Name from Subscription").unwrap_err().contains("joined"));
        assert!(plain("select Id from Nothing").unwrap_err().contains("invalid object"));
        assert_eq!(cell(&json!("a,\"b\"")), "\"a,\"\"b\"\"\"");
        assert_eq!(
            (cell(&json!(2.5)), cell(&Value::Null), cell(&json!(true))),
            ("2.5".into(), String::new(), "true".into())
        );
    }

    #[test]
    fn described_types_match_the_values() {
        let a = Account {
            id: "2c92a0f9".repeat(4),
            account_number: "A1".into(),
            name: "N".into(),
            status: "Active".into(),
            currency: "USD".into(),
            account_id_c: None,
            work_email: None,
            created: 0,
            updated: 0,
        };
        for f in Account::FIELDS {
            let v = a.value(f);
            let ok = match field_type(f) {
                "boolean" => v.is_boolean(),
                "integer" => v.is_i64(),
                "decimal" => v.is_number(),
                "datetime" => v.as_str().is_some_and(|t| t.contains('T')),
                "date" => v.as_str().is_some_and(|t| t.len() == 10),
                _ => v.is_string() || v.is_null(),
            };
            assert!(ok, "{f}: {v} is not a {}", field_type(f));
        }
    }
}
