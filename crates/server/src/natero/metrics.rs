//! `/api/v2/metrics`: custom account metrics, one value per account, metric and day, and metric
//! definitions by name (`/api/v2/metrics/{name}`): their fields as given.

use accord_core::AccountId;
use accord_core::time::parse_timestamp;
use accord_store::{MetricDefinition, MetricQuery, MetricRow, Page};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa::openapi::{ObjectBuilder, Type};

use super::{BatchRequest, BatchResponse, FailedResult, ListResponse, OkResponse, data_of, records_of};
use crate::auth::ApiKey;
use crate::body::{RawBody, parse_json};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Path, Query};
use crate::state::AppState;

/// What `order_by` takes on metric lists: `date` is the value's day.
pub(crate) const METRIC_ORDER: [(&str, &str); 4] =
    [("account_id", "account_id"), ("name", "name"), ("date", "day"), ("value", "value")];

/// Query parameters of the metric lists.
#[derive(Debug, Default, Deserialize)]
pub struct MetricParams {
    pub account_id: Option<String>,
    pub name: Option<String>,
    pub page: Option<u32>,
    pub limit: Option<u32>,
    pub order_by: Option<String>,
    pub direction: Option<String>,
}

impl MetricParams {
    fn query(&self) -> ApiResult<MetricQuery> {
        let order = super::ListParams { order_by: self.order_by.clone(), ..Default::default() }.order(&METRIC_ORDER)?;
        Ok(MetricQuery {
            account_id: self.account_id.clone(),
            name: self.name.clone(),
            order_by: order.map(str::to_owned),
            descending: super::descending(self.direction.as_deref())?,
        })
    }
}

/// The documented parameters of the metric lists (`filters`: also `account_id` and `name`).
fn metric_params(filters: bool) -> Vec<utoipa::openapi::path::Parameter> {
    let mut out = super::page_params();
    let names: Vec<&str> = METRIC_ORDER.iter().map(|(n, _)| *n).chain([""]).collect();
    out.push(super::query_param(
        "order_by",
        "field to order by (default: newest date first)",
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)),
    ));
    out.push(super::query_param(
        "direction",
        "asc (default) or desc, any letter case",
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(super::DIRECTION_PATTERN)),
    ));
    if filters {
        for (name, what) in [("account_id", "only this account's values"), ("name", "only this metric's values")] {
            out.push(super::query_param(name, what, ObjectBuilder::new().schema_type(Type::String)));
        }
    }
    out
}

/// Query parameters of `/metrics`.
#[derive(Debug)]
pub struct MetricListParams;
impl utoipa::IntoParams for MetricListParams {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        metric_params(false)
    }
}

/// Query parameters of `/metrics` with its filters.
#[derive(Debug)]
pub struct MetricFilterParams;
impl utoipa::IntoParams for MetricFilterParams {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        metric_params(true)
    }
}

pub(crate) fn list_response(
    rows: Page<MetricRow>,
    page: u32,
    size: u32,
    order_by: Option<String>,
    descending: bool,
) -> ListResponse {
    ListResponse {
        status_is_ok: true,
        results: rows.items.iter().map(value_json).collect(),
        current_page: page,
        max_page_size: size,
        total: rows.total,
        order_by: order_by.filter(|o| !o.is_empty()),
        direction: Some(if descending { "desc" } else { "asc" }.into()),
        include_inactive: false,
    }
}

fn value_json(m: &MetricRow) -> Value {
    json!({"account_id": m.account_id, "name": m.name, "value": m.value, "date": m.day.timestamp_millis()})
}

/// List metric values, newest day first unless `order_by` says otherwise.
#[utoipa::path(get, path = "/api/v2/metrics", tag = "Account API v2", params(MetricFilterParams),
    responses((status = 200, body = ListResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn list(
    _: ApiKey,
    State(state): State<AppState>,
    Query(p): Query<MetricParams>,
) -> ApiResult<Json<ListResponse>> {
    let (page, size) = (p.page.unwrap_or(0), super::page_size(p.limit, "limit")?);
    let q = p.query()?;
    let descending = q.descending;
    let rows = state.blocking(move |hub| hub.store.metrics(&q, page, size)).await??;
    Ok(Json(list_response(rows, page, size, p.order_by.clone(), descending)))
}

/// Record metric values: `{"records": [{"account_id", "name", "value", "date"?}]}`; `date` is
/// epoch ms or ISO-8601 (default: today, UTC).
#[utoipa::path(post, path = "/api/v2/metrics", tag = "Account API v2", request_body = BatchRequest,
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
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

/// A metric: its definition and a page of its values.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricResponse {
    pub status_is_ok: bool,
    /// The definition's fields as written through `PUT`, with `name` (just `name` when only
    /// values were recorded).
    #[schema(value_type = Object)]
    pub result: Value,
    /// Values of this metric, newest day first unless `order_by` says otherwise.
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<Value>,
    pub current_page: u32,
    pub max_page_size: u32,
    pub total: u64,
}

/// One metric by name: its definition and its values.
#[utoipa::path(get, path = "/api/v2/metrics/{name}", tag = "Account API v2",
    params(("name" = String, Path), MetricListParams),
    responses((status = 200, body = MetricResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_by_name(
    _: ApiKey,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(p): Query<MetricParams>,
) -> ApiResult<Json<MetricResponse>> {
    let (page, size) = (p.page.unwrap_or(0), super::page_size(p.limit, "limit")?);
    let mut q = p.query()?;
    q.name = Some(name.clone());
    q.account_id = None;
    let lookup = name.clone();
    let (def, rows) = state
        .blocking(move |hub| {
            let def = hub.store.metric_definition(&lookup)?;
            Ok::<_, accord_store::StoreError>((def, hub.store.metrics(&q, page, size)?))
        })
        .await??;
    if def.is_none() && rows.total == 0 {
        return Err(ApiError::NotFound(format!("no metric named {name:?}")));
    }
    let result = def.map_or_else(|| json!({"name": name}), |d| d.definition);
    Ok(Json(MetricResponse {
        status_is_ok: true,
        result,
        results: rows.items.iter().map(value_json).collect(),
        current_page: page,
        max_page_size: size,
        total: rows.total,
    }))
}

/// Define or modify a metric: `{"data": {...}}` or the fields as a bare object (`description`,
/// `unit`, anything). Fields not given keep their values; `name` is the path's.
#[utoipa::path(put, path = "/api/v2/metrics/{name}", tag = "Account API v2",
    params(("name" = String, Path)),
    request_body(content = Object, description = "{\"data\": {...}}, or the fields themselves"),
    responses((status = 200, body = OkResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn put_by_name(
    _: ApiKey,
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<OkResponse>> {
    let body = parse_json(&body)?;
    let data = data_of(&body)?.clone();
    let definition = state
        .blocking(move |hub| {
            let mut merged: Map<String, Value> = match hub.store.metric_definition(&name)? {
                Some(MetricDefinition { definition: Value::Object(m), .. }) => m,
                _ => Map::new(),
            };
            merged.extend(data);
            merged.insert("name".into(), json!(name));
            let def = MetricDefinition { name, definition: Value::Object(merged), updated_at: chrono::Utc::now() };
            hub.store.put_metric_definition(&def)?;
            Ok::<_, accord_store::StoreError>(def.definition)
        })
        .await??;
    Ok(Json(OkResponse { status_is_ok: true, message: Some("metric saved".into()), result: Some(definition) }))
}

/// Delete a metric: its definition and every value recorded under its name.
#[utoipa::path(delete, path = "/api/v2/metrics/{name}", tag = "Account API v2",
    params(("name" = String, Path)),
    responses((status = 200, body = OkResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn delete_by_name(
    _: ApiKey,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<OkResponse>> {
    let lookup = name.clone();
    if !state.blocking(move |hub| hub.store.delete_metric(&lookup)).await?? {
        return Err(ApiError::NotFound(format!("no metric named {name:?}")));
    }
    Ok(Json(OkResponse { status_is_ok: true, message: Some("metric deleted".into()), result: None }))
}
