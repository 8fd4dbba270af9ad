//! Natero's Account API v2, field by field: accounts, users, contacts, metrics and the per-account
//! record lists. Conventions (from Natero's docs): POST is a bulk upsert of `{"records": [...]}`,
//! PUT modifies one entry with `{"data": {...}}`, DELETE deactivates; pages are 0-based with up to
//! 1,000 records; every response carries `status_is_ok`; a record that fails appears in
//! `failed_results` with its 0-based `record` index while the rest of the batch is stored; dates go
//! out as epoch milliseconds.

pub mod accounts;
pub mod metrics;
pub mod nested;
pub mod nps;
pub mod people;
pub mod shape;

use std::collections::BTreeMap;

use accord_core::ObjectKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};

use crate::error::ApiError;

/// Natero's page size: the most records a page holds.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Query parameters of the list routes (documented per route by `list_doc!`, since each route
/// orders by its own fields).
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    /// 0-based page.
    pub page: Option<u32>,
    /// Field to order by; what each route takes is in its documentation.
    pub order_by: Option<String>,
    /// `asc` (the default, also when empty) or `desc`, in any letter case.
    pub direction: Option<String>,
    /// Include deactivated records: nonzero numbers and `true` are true, anything else false.
    pub include_inactive: Option<String>,
    /// Records per page, 1 to 1,000 (an accord extension; Natero always used 1,000).
    pub limit: Option<u32>,
    /// Accounts: the nested fields to return in the list, comma-separated; other names are
    /// ignored, as clients send odd values (pytero sends `N,o,n,e`).
    pub include: Option<String>,
}

impl ListParams {
    pub fn page(&self) -> u32 {
        self.page.unwrap_or(0)
    }

    /// The page size, or a 400 naming `limit` when it is outside 1..=1000.
    pub fn size(&self) -> Result<u32, ApiError> {
        page_size(self.limit, "limit")
    }

    pub fn descending(&self) -> Result<bool, ApiError> {
        descending(self.direction.as_deref())
    }

    pub fn include_inactive(&self) -> bool {
        self.include_inactive.as_deref().is_some_and(natero_bool)
    }

    /// The names listed in `include`.
    pub fn includes(&self) -> Vec<&str> {
        self.include.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
    }

    /// The `order_by` value resolved through `columns` (Natero's name → what to order by), or a
    /// 400 naming the values allowed.
    pub fn order<T: Copy>(&self, columns: &[(&str, T)]) -> Result<Option<T>, ApiError> {
        let Some(name) = self.order_by.as_deref().filter(|s| !s.is_empty()) else { return Ok(None) };
        columns.iter().find(|(n, _)| *n == name).map(|(_, c)| Some(*c)).ok_or_else(|| {
            let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
            ApiError::BadRequest(format!(
                "order_by {name:?} is not a field of this list: use one of {}",
                names.join(", ")
            ))
        })
    }
}

/// Natero's boolean coercion: nonzero integers are true, "0" is false, "true"/"false" as
/// written, anything else false.
pub fn natero_bool(s: &str) -> bool {
    let s = s.trim();
    match s.parse::<i64>() {
        Ok(n) => n != 0,
        Err(_) => s.eq_ignore_ascii_case("true"),
    }
}

/// A page size, 1 to 1,000 (default 1,000), or a 400 naming the parameter.
pub fn page_size(limit: Option<u32>, name: &str) -> Result<u32, ApiError> {
    match limit {
        None => Ok(MAX_PAGE_SIZE),
        Some(n @ 1..=MAX_PAGE_SIZE) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!("{name} {n} is out of range: use 1 to {MAX_PAGE_SIZE}"))),
    }
}

/// `asc`, `desc` or empty, in any letter case.
pub fn descending(direction: Option<&str>) -> Result<bool, ApiError> {
    match direction.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(_) => Err(ApiError::BadRequest(format!(
            "direction {:?} is not a direction: use asc or desc",
            direction.unwrap_or_default()
        ))),
    }
}

/// The pattern `direction` is documented with: asc, desc or empty, in any letter case.
pub const DIRECTION_PATTERN: &str = "^([aA][sS][cC]|[dD][eE][sS][cC])?$";

/// One documented query parameter.
pub fn query_param(name: &str, description: &str, schema: utoipa::openapi::ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// The documented page parameters: `page` and `limit`.
pub fn page_params() -> Vec<Parameter> {
    vec![
        query_param(
            "page",
            "0-based page",
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).maximum(Some(u32::MAX)),
        ),
        query_param(
            "limit",
            "records per page, 1 to 1,000 (default 1,000)",
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(MAX_PAGE_SIZE)),
        ),
    ]
}

/// The documented list parameters of a route that orders by `order_by`.
pub fn list_params(order_by: &[&str], include: bool) -> Vec<Parameter> {
    let mut out = page_params();
    out.push(query_param(
        "order_by",
        "field to order by (empty: the default order)",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(order_by.iter().copied().chain([""]).collect::<Vec<_>>())),
    ));
    out.push(query_param(
        "direction",
        "asc (default) or desc, any letter case",
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(DIRECTION_PATTERN)),
    ));
    out.push(query_param(
        "include_inactive",
        "include deactivated records: nonzero numbers and true are true, anything else false",
        ObjectBuilder::new().schema_type(Type::String),
    ));
    if include {
        out.push(query_param(
            "include",
            "nested fields to return, comma-separated (custom_value_dimensions, custom_label_dimensions, \
             custom_event_dimensions, assigned_csms, stage_history, nps_history, documents); other names are ignored",
            ObjectBuilder::new().schema_type(Type::String),
        ));
    }
    out
}

/// Declares a type documenting a list route's query parameters, with the fields it orders by.
macro_rules! list_doc {
    ($name:ident, $order:expr, $include:expr) => {
        #[doc = concat!("Query parameters of a list route (", stringify!($name), ").")]
        #[derive(Debug)]
        pub struct $name;
        impl utoipa::IntoParams for $name {
            fn into_params(
                _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
            ) -> Vec<utoipa::openapi::path::Parameter> {
                $crate::natero::list_params(&$order, $include)
            }
        }
    };
}
pub(crate) use list_doc;

/// Natero's names for the columns a record list orders by: `id_field` is the record's id.
pub fn record_columns(kind: ObjectKind, id_field: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![(id_field, "native_id")];
    for c in accord_store::orderable_columns(kind) {
        if c != "native_id" && c != "object" {
            out.push((c, c));
        }
    }
    out
}

/// A page of results, as Natero returns lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse {
    pub status_is_ok: bool,
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<Value>,
    pub current_page: u32,
    pub max_page_size: u32,
    /// How many records there are in all (an accord extension).
    pub total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    pub include_inactive: bool,
}

/// One record of a batch that failed, by its 0-based index in `records`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FailedResult {
    pub message: String,
    /// The record's `account_id` as given (text, number, anything).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub account_id: Option<Value>,
    /// The record's `user_id` as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub user_id: Option<Value>,
    pub record: usize,
    /// accord's reason code (`missing_required_field`, `unknown_account`, ...).
    pub reason: String,
}

/// The answer to a bulk upsert.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    pub status_is_ok: bool,
    /// How many records were stored.
    pub stored: usize,
    pub failed_results: Vec<FailedResult>,
}

/// The answer to a single-record change.
#[derive(Debug, Serialize, ToSchema)]
pub struct OkResponse {
    pub status_is_ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
}

/// A POST body: `{"records": [...]}`. A record that is not an object fails on its own, in
/// `failed_results`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchRequest {
    #[schema(value_type = Vec<Value>)]
    pub records: Vec<Value>,
}

/// A POST body: `{"records": [...]}`. The batch fails as a whole (400) only when the body itself
/// is not of that shape.
pub fn records_of(body: &Value) -> Result<&Vec<Value>, ApiError> {
    body.get("records").and_then(Value::as_array).ok_or_else(|| {
        ApiError::BadRequest("the body must be a JSON object with a \"records\" array: {\"records\": [...]}".into())
    })
}

/// A PUT body: `{"data": {...}}`, or the fields themselves as a bare object (as the Ruby gems send
/// them). An object whose only key is `data`, holding an object, is the wrapper.
pub fn data_of(body: &Value) -> Result<&serde_json::Map<String, Value>, ApiError> {
    let map = body.as_object().ok_or_else(|| {
        ApiError::BadRequest("the body must be a JSON object: {\"data\": {...}} or the fields themselves".into())
    })?;
    match map.get("data") {
        Some(Value::Object(data)) if map.len() == 1 => Ok(data),
        _ => Ok(map),
    }
}

/// Natero's message for missing or invalid required fields of an insert.
pub fn missing_fields_message(what: &str, fields: &[&str]) -> String {
    let list: Vec<String> = fields.iter().map(|f| format!("'{f}'")).collect();
    format!("Missing/invalid required field(s) for {what} insert: {}", list.join(", "))
}

/// Counts failures by reason, for the rejection metrics.
pub fn count_reasons(state: &crate::state::AppState, failed: &[FailedResult]) {
    let mut by: BTreeMap<&str, u64> = BTreeMap::new();
    for f in failed {
        *by.entry(f.reason.as_str()).or_default() += 1;
    }
    for (reason, n) in by {
        state
            .inner()
            .metrics
            .rejections
            .get_or_create(&crate::metrics::ReasonLabels { reason: reason.to_owned() })
            .inc_by(n);
    }
}
