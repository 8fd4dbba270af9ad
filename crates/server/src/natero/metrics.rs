//! `/api/v2/metrics`: custom account metrics, one value per account, metric and day.

use accord_core::AccountId;
use accord_core::time::parse_timestamp;
use accord_store::{MetricQuery, MetricRow, Page};
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::{BatchResponse, FailedResult, ListResponse, records_of};
use crate::auth::ApiKey;
use crate::body::{RawBody, parse_json};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricParams {
    pub account_id: Option<String>,
    pub name: Option<String>,
    pub page: Option<u32>,
    pub limit: Option<u32>,
    pub api_key: Option<String>,
}

pub(crate) fn list_response(rows: Page<MetricRow>, page: u32, size: u32) -> ListResponse {
    ListResponse {
        status_is_ok: true,
        results: rows
            .items
            .iter()
            .map(|m| json!({"account_id": m.account_id, "name": m.name, "value": m.value, "date": m.day.timestamp_millis()}))
            .collect(),
        current_page: page,
        max_page_size: size,
        total: rows.total,
        order_by: None,
        direction: None,
        include_inactive: false,
    }
}

/// List metric values, newest day first.
#[utoipa::path(get, path = "/api/v2/metrics", tag = "Account API v2", params(MetricParams),
    responses((status = 200, body = ListResponse)))]
pub async fn list(
    _: ApiKey,
    State(state): State<AppState>,
    Query(p): Query<MetricParams>,
) -> ApiResult<Json<ListResponse>> {
    let (page, size) = (p.page.unwrap_or(0), p.limit.unwrap_or(super::MAX_PAGE_SIZE).clamp(1, super::MAX_PAGE_SIZE));
    let q = MetricQuery { account_id: p.account_id, name: p.name };
    let rows = state.blocking(move |hub| hub.store.metrics(&q, page, size)).await??;
    Ok(Json(list_response(rows, page, size)))
}

/// Record metric values: `{"records": [{"account_id", "name", "value", "date"?}]}`; `date` is
/// epoch ms or ISO-8601 (default: today, UTC).
#[utoipa::path(post, path = "/api/v2/metrics", tag = "Account API v2",
    request_body(content = Object, description = "{\"records\": [{\"account_id\", \"name\", \"value\", \"date\"}]}"),
    responses((status = 200, body = BatchResponse), (status = 400, body = crate::error::ErrorBody)))]
pub async fn post(_: ApiKey, State(state): State<AppState>, RawBody(body): RawBody) -> ApiResult<Json<BatchResponse>> {
    let body = parse_json(&body)?;
    let records = records_of(&body)?.clone();
    let now = chrono::Utc::now();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let fail = |message: &str, reason: &str| FailedResult {
            message: message.into(),
            account_id: r.get("account_id").cloned(),
            user_id: None,
            record: i,
            reason: reason.into(),
        };
        let account = r.get("account_id").map(AccountId::from_json);
        let name = r.get("name").and_then(Value::as_str).filter(|n| !n.trim().is_empty());
        let value = r.get("value").and_then(Value::as_f64).filter(|v| v.is_finite());
        let (Some(Ok(account)), Some(name), Some(value)) = (account, name, value) else {
            let mut missing = Vec::new();
            if !matches!(r.get("account_id").map(AccountId::from_json), Some(Ok(_))) {
                missing.push("account_id");
            }
            if name.is_none() {
                missing.push("name");
            }
            if value.is_none() {
                missing.push("value");
            }
            failed.push(fail(&super::missing_fields_message("Metrics", &missing), "missing_required_field"));
            continue;
        };
        let day = match r.get("date") {
            None | Some(Value::Null) => now,
            Some(v) => match parse_timestamp(v) {
                Some(t) => t,
                None => {
                    failed.push(fail("Invalid type for property: date (expecting timestamp)", "invalid_field"));
                    continue;
                }
            },
        };
        let day =
            chrono::DateTime::from_timestamp_millis(accord_store::usage::Grain::Day.bucket(day.timestamp_millis()))
                .unwrap_or(day);
        rows.push((i, MetricRow { account_id: account, name: name.to_owned(), day, value }));
    }
    let (unknown, stored) = state.blocking(move |hub| hub.record_metrics(rows)).await??;
    for (i, account) in unknown {
        failed.push(FailedResult {
            message: "Account not found".into(),
            account_id: Some(json!(account)),
            user_id: None,
            record: i,
            reason: "unknown_account".into(),
        });
    }
    failed.sort_by_key(|f| f.record);
    super::count_reasons(&state, &failed);
    Ok(Json(BatchResponse { status_is_ok: true, stored, failed_results: failed }))
}
