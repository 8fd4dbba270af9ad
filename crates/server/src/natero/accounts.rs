//! `/api/v2/accounts`: list, bulk upsert, read, modify, deactivate, and the per-account lists.

use accord_connectors::{Item, RawRecord};
use accord_core::{ObjectKind, RejectReason};
use accord_engine::hub::ItemResult;
use accord_engine::plan::API_SOURCE;
use accord_store::{AccountOrder, AccountQuery, AccountStatus, MetricQuery, RecordQuery};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::{
    BatchResponse, FailedResult, ListParams, ListResponse, OkResponse, count_reasons, data_of, missing_fields_message,
    records_of, shape,
};
use crate::auth::ApiKey;
use crate::body::{RawBody, parse_json};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Required account fields that are absent or unusable in a submitted record, in Natero's order.
fn missing_required(record: &Value) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if record.get("account_id").is_none_or(|v| accord_core::AccountId::from_json(v).is_err()) {
        missing.push("account_id");
    }
    if record.get("name").and_then(Value::as_str).is_none_or(|s| s.trim().is_empty()) {
        missing.push("name");
    }
    if record.get("join_date").is_none_or(|v| v.is_null()) {
        missing.push("join_date");
    }
    missing
}

/// Natero's words for a failed account record.
fn account_failure(record: &Value, index: usize, reason: RejectReason, message: &str) -> FailedResult {
    let missing = missing_required(record);
    let message = match reason {
        RejectReason::MissingRequiredField | RejectReason::InvalidAccountId if !missing.is_empty() => {
            missing_fields_message("Accounts", &missing)
        }
        RejectReason::InvalidField => {
            let field = ["join_date", "renewal_date"]
                .into_iter()
                .find(|f| message.contains(&format!("field {f}")))
                .map(|f| format!("Invalid type for property: {f} (expecting timestamp)"));
            field.unwrap_or_else(|| message.to_owned())
        }
        RejectReason::DeletedAccount => "Account is deactivated (on the delete list)".to_owned(),
        _ => message.to_owned(),
    };
    FailedResult {
        message,
        account_id: record.get("account_id").cloned(),
        user_id: None,
        record: index,
        reason: reason.code().into(),
    }
}

/// The submitted records as pipeline items; a record that is not a JSON object is kept as malformed.
pub(crate) fn api_items(records: &[Value]) -> Vec<Item> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| match r {
            Value::Object(_) => Item::Record(RawRecord { data: r.clone(), location: Some(format!("api record {i}")) }),
            other => Item::Malformed {
                location: format!("api record {i}"),
                problem: "the record is not a JSON object".into(),
                raw: other.clone(),
            },
        })
        .collect()
}

/// Ingests account records through the `api/accounts` stream; returns Natero's batch answer.
pub(crate) async fn upsert_accounts(state: &AppState, records: Vec<Value>) -> ApiResult<BatchResponse> {
    let plan = state.hub().plan.stream(API_SOURCE, "accounts").cloned().expect("built-in stream");
    let items = api_items(&records);
    let out = state.ingest(vec![(plan, items, true)]).await?.remove(0);
    let mut failed = Vec::new();
    for (i, (result, record)) in out.items.iter().zip(&records).enumerate() {
        if let ItemResult::Rejected { reason, message, .. } = result {
            failed.push(account_failure(record, i, *reason, message));
        }
    }
    count_reasons(state, &failed);
    Ok(BatchResponse { status_is_ok: true, stored: records.len() - failed.len(), failed_results: failed })
}

/// List accounts.
#[utoipa::path(get, path = "/api/v2/accounts", tag = "Account API v2", params(ListParams),
    responses((status = 200, body = ListResponse), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    _: ApiKey,
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    let order = match p.order_by.as_deref() {
        None | Some("account_id") | Some("id") => AccountOrder::AccountId,
        Some("name") => AccountOrder::Name,
        Some("join_date") => AccountOrder::JoinDate,
        Some(other) => {
            return Err(ApiError::BadRequest(format!("order_by {other:?}: use account_id, name or join_date")));
        }
    };
    let statuses = if p.include_inactive() {
        vec![AccountStatus::Active, AccountStatus::Filtered, AccountStatus::Deleted]
    } else {
        vec![AccountStatus::Active]
    };
    let query = AccountQuery { statuses, order, descending: p.descending()?, page: p.page(), page_size: p.size() };
    let page = state.blocking(move |hub| hub.store.accounts(&query)).await??;
    Ok(Json(ListResponse {
        status_is_ok: true,
        results: page.items.iter().map(shape::account).collect(),
        current_page: p.page(),
        max_page_size: p.size(),
        total: page.total,
        order_by: Some(p.order_by.clone().unwrap_or_else(|| "account_id".into())),
        direction: Some(p.direction.clone().unwrap_or_else(|| "asc".into())),
        include_inactive: p.include_inactive(),
    }))
}

/// Insert or update accounts in bulk: `{"records": [{"account_id", "name", "join_date", ...}]}`.
#[utoipa::path(post, path = "/api/v2/accounts", tag = "Account API v2",
    request_body(content = Object, description = "{\"records\": [account, ...]}"),
    responses((status = 200, body = BatchResponse), (status = 400, body = crate::error::ErrorBody)))]
pub async fn post(_: ApiKey, State(state): State<AppState>, RawBody(body): RawBody) -> ApiResult<Json<BatchResponse>> {
    let body = parse_json(&body)?;
    let records = records_of(&body)?.clone();
    Ok(Json(upsert_accounts(&state, records).await?))
}

/// One account.
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}", tag = "Account API v2",
    params(("account_id" = String, Path)), responses((status = 200, body = OkResponse), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(_: ApiKey, State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<OkResponse>> {
    let lookup = id.clone();
    let account = state.blocking(move |hub| hub.store.account(&lookup)).await??;
    let account = account.ok_or_else(|| ApiError::NotFound("Account not found".into()))?;
    Ok(Json(OkResponse { status_is_ok: true, message: None, result: Some(shape::account(&account)) }))
}

/// Modify one account: `{"data": {...}}`. Fields not given keep their values.
#[utoipa::path(put, path = "/api/v2/accounts/{account_id}", tag = "Account API v2",
    params(("account_id" = String, Path)), request_body(content = Object, description = "{\"data\": {...}}"),
    responses((status = 200, body = BatchResponse), (status = 404, body = crate::error::ErrorBody)))]
pub async fn put(
    _: ApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<BatchResponse>> {
    let body = parse_json(&body)?;
    let data = data_of(&body)?.clone();
    let lookup = id.clone();
    let existing = state.blocking(move |hub| hub.store.account(&lookup)).await??;
    let existing = existing.ok_or_else(|| ApiError::NotFound("Account not found".into()))?;
    let mut merged = match shape::account(&existing) {
        Value::Object(m) => m,
        _ => Default::default(),
    };
    for k in ["is_active", "source"] {
        merged.remove(k);
    }
    merged.extend(data);
    merged.insert("account_id".into(), json!(id));
    Ok(Json(upsert_accounts(&state, vec![Value::Object(merged)]).await?))
}

/// Deactivate an account: it goes on the delete list; syncs do not bring it back.
#[utoipa::path(delete, path = "/api/v2/accounts/{account_id}", tag = "Account API v2",
    params(("account_id" = String, Path)), responses((status = 200, body = OkResponse), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(_: ApiKey, State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<OkResponse>> {
    state.blocking(move |hub| hub.deactivate(&id, "deactivated through the Account API")).await?.map_err(
        |e| match e {
            accord_engine::EngineError::NotFound(_) => ApiError::NotFound("Account not found".into()),
            other => other.into(),
        },
    )?;
    Ok(Json(OkResponse { status_is_ok: true, message: Some("account deactivated".into()), result: None }))
}

async fn records_of_account(
    state: &AppState,
    id: String,
    kind: ObjectKind,
    id_field: &'static str,
    p: &ListParams,
) -> ApiResult<Json<ListResponse>> {
    let (page, size, include) = (p.page(), p.size(), p.include_inactive());
    let (account, records) = state
        .blocking(move |hub| {
            let account = hub.store.account(&id)?;
            let query = RecordQuery { account_id: Some(id), include_deleted: include, ..Default::default() };
            Ok::<_, accord_store::StoreError>((account, hub.store.records(kind, &query, page, size)?))
        })
        .await??;
    if account.is_none() {
        return Err(ApiError::NotFound("Account not found".into()));
    }
    Ok(Json(ListResponse {
        status_is_ok: true,
        results: records.items.iter().map(|r| shape::record(r, id_field)).collect(),
        current_page: page,
        max_page_size: size,
        total: records.total,
        order_by: None,
        direction: None,
        include_inactive: include,
    }))
}

macro_rules! per_account_list {
    ($name:ident, $path:literal, $kind:expr, $id:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = "Account API v2",
                    params(("account_id" = String, Path), ListParams),
                    responses((status = 200, body = ListResponse), (status = 404, body = crate::error::ErrorBody)))]
        pub async fn $name(
            _: ApiKey,
            State(state): State<AppState>,
            Path(id): Path<String>,
            Query(p): Query<ListParams>,
        ) -> ApiResult<Json<ListResponse>> {
            records_of_account(&state, id, $kind, $id, &p).await
        }
    };
}

per_account_list!(
    users,
    "/api/v2/accounts/{account_id}/users",
    ObjectKind::User,
    "user_id",
    "The account's product users."
);
per_account_list!(
    contacts,
    "/api/v2/accounts/{account_id}/contacts",
    ObjectKind::Contact,
    "contact_id",
    "The account's contacts."
);
per_account_list!(
    support_tickets,
    "/api/v2/accounts/{account_id}/support_tickets",
    ObjectKind::Ticket,
    "ticket_id",
    "The account's support tickets."
);
per_account_list!(
    subscriptions,
    "/api/v2/accounts/{account_id}/subscriptions",
    ObjectKind::Subscription,
    "subscription_id",
    "The account's subscriptions."
);
per_account_list!(
    statements,
    "/api/v2/accounts/{account_id}/statements",
    ObjectKind::Invoice,
    "invoice_id",
    "The account's invoice statements."
);

/// The account's custom metric values, newest day first.
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/metrics", tag = "Account API v2",
    params(("account_id" = String, Path), ListParams),
    responses((status = 200, body = ListResponse), (status = 404, body = crate::error::ErrorBody)))]
pub async fn metrics(
    _: ApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    let (page, size) = (p.page(), p.size());
    let (account, rows) = state
        .blocking(move |hub| {
            let account = hub.store.account(&id)?;
            let q = MetricQuery { account_id: Some(id), name: None };
            Ok::<_, accord_store::StoreError>((account, hub.store.metrics(&q, page, size)?))
        })
        .await??;
    if account.is_none() {
        return Err(ApiError::NotFound("Account not found".into()));
    }
    Ok(Json(super::metrics::list_response(rows, page, size)))
}
