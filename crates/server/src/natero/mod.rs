//! Natero's Account API v2, field by field: accounts, users, contacts, metrics and the per-account
//! record lists. Conventions (from Natero's docs): POST is a bulk upsert of `{"records": [...]}`,
//! PUT modifies one entry with `{"data": {...}}`, DELETE deactivates; pages are 0-based with up to
//! 1,000 records; every response carries `status_is_ok`; a record that fails appears in
//! `failed_results` with its 0-based `record` index while the rest of the batch is stored; dates go
//! out as epoch milliseconds.

pub mod accounts;
pub mod metrics;
pub mod people;
pub mod shape;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Natero's page size: the most records a page holds.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Query parameters of the list routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 0-based page.
    pub page: Option<u32>,
    /// Field to order by (accounts: `account_id`, `id`, `name`, `join_date`).
    pub order_by: Option<String>,
    /// `asc` (default) or `desc`.
    pub direction: Option<String>,
    /// Include deactivated records: nonzero numbers and `true` are true, anything else false.
    pub include_inactive: Option<String>,
    /// Records per page, at most 1,000 (an accord extension; Natero always used 1,000).
    pub limit: Option<u32>,
    /// The API key (or use HTTP Basic with user `api`).
    pub api_key: Option<String>,
}

impl ListParams {
    pub fn page(&self) -> u32 {
        self.page.unwrap_or(0)
    }

    pub fn size(&self) -> u32 {
        self.limit.unwrap_or(MAX_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
    }

    pub fn descending(&self) -> Result<bool, ApiError> {
        match self.direction.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => Ok(false),
            Some("desc") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!("direction {other:?}: use asc or desc"))),
        }
    }

    pub fn include_inactive(&self) -> bool {
        self.include_inactive.as_deref().is_some_and(natero_bool)
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
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub account_id: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
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

/// A POST body: `{"records": [...]}`. The batch fails as a whole (400) only when the body itself
/// is not of that shape.
pub fn records_of(body: &Value) -> Result<&Vec<Value>, ApiError> {
    body.get("records").and_then(Value::as_array).ok_or_else(|| {
        ApiError::BadRequest("the body must be a JSON object with a \"records\" array: {\"records\": [...]}".into())
    })
}

/// A PUT body: `{"data": {...}}`.
pub fn data_of(body: &Value) -> Result<&serde_json::Map<String, Value>, ApiError> {
    body.get("data").and_then(Value::as_object).ok_or_else(|| {
        ApiError::BadRequest("the body must be a JSON object with a \"data\" object: {\"data\": {...}}".into())
    })
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
