//! `/api/v2/accounts`: list, bulk upsert, read, modify, deactivate, the per-account lists, and the
//! removal of one nested entry (stage, dimension, CSM, NPS answer).

use accord_connectors::{Item, RawRecord};
use accord_core::{ObjectKind, RejectReason};
use accord_engine::hub::ItemResult;
use accord_engine::plan::API_SOURCE;
use accord_store::{AccountEntry, AccountOrder, AccountQuery, AccountRow, AccountStatus, MetricQuery, RecordQuery};
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::{
    BatchRequest, BatchResponse, FailedResult, ListParams, ListResponse, OkResponse, count_reasons, data_of, list_doc,
    missing_fields_message, nested, nps, record_columns, records_of, shape,
};
use crate::auth::ApiKey;
use crate::body::{RawBody, parse_json};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Path, Query};
use crate::state::AppState;

/// What `order_by` takes on `/accounts`: Natero's `id` is the account id.
const ACCOUNT_ORDER: [(&str, AccountOrder); 9] = [
    ("account_id", AccountOrder::AccountId),
    ("id", AccountOrder::AccountId),
    ("name", AccountOrder::Name),
    ("join_date", AccountOrder::JoinDate),
    ("renewal_date", AccountOrder::Field("renewal_date")),
    ("crm_account_id", AccountOrder::Field("crm_account_id")),
    ("billing_account_id", AccountOrder::Field("billing_account_id")),
    ("support_account_id", AccountOrder::Field("support_account_id")),
    ("parent_account_id", AccountOrder::Field("parent_account_id")),
];

list_doc!(AccountListParams, ACCOUNT_ORDER.iter().map(|(n, _)| *n).collect::<Vec<_>>(), true);

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
    records.iter().enumerate().map(|(i, r)| api_item(i, r.clone(), None)).collect()
}

/// One submitted record as a pipeline item; `problem` makes it malformed (kept with its content).
fn api_item(i: usize, record: Value, problem: Option<String>) -> Item {
    let location = format!("api record {i}");
    match (record, problem) {
        (record @ Value::Object(_), None) => {
            Item::Record(RawRecord { data: record, location: Some(location), identity: None })
        }
        (raw, problem) => Item::Malformed {
            location,
            problem: problem.unwrap_or_else(|| "the record is not a JSON object".into()),
            raw,
        },
    }
}

/// Ingests account records through the `api/accounts` stream, their nested entries with them (in
/// the same transaction, and only for the records that become accounts); returns Natero's batch
/// answer.
pub(crate) async fn upsert_accounts(state: &AppState, records: Vec<Value>) -> ApiResult<BatchResponse> {
    let plan = state.hub().plan.stream(API_SOURCE, "accounts").cloned().expect("built-in stream");
    let mut items = Vec::with_capacity(records.len());
    let mut account_entries = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let mut record = record.clone();
        let split = record.as_object_mut().map(nested::split).unwrap_or(Ok(vec![]));
        match split {
            Ok(e) => {
                // The account id is filled in by the engine once the record links.
                account_entries.push(nested::rows("", e));
                items.push(api_item(i, record, None));
            }
            Err(problem) => {
                account_entries.push(vec![]);
                items.push(api_item(i, records[i].clone(), Some(problem)));
            }
        }
    }
    let page = accord_engine::ApiPage { plan, items, report_items: true, account_entries };
    let out = state.ingest(vec![page]).await?.remove(0);
    let mut failed = Vec::new();
    for (i, (result, record)) in out.items.iter().zip(&records).enumerate() {
        if let ItemResult::Rejected { reason, message, .. } = result {
            failed.push(account_failure(record, i, *reason, message));
        }
    }
    count_reasons(state, &failed);
    Ok(BatchResponse { status_is_ok: true, stored: records.len() - failed.len(), failed_results: failed })
}

/// Accounts as Natero returns them, with the nested fields named in `only` (all when `None`), and
/// the NPS answers synced from survey tools in `nps_history` and `current_nps_score`.
async fn accounts_json(state: &AppState, accounts: &[AccountRow], only: Option<Vec<String>>) -> ApiResult<Vec<Value>> {
    let wanted: Option<Vec<&str>> =
        only.as_ref().map(|o| nested::FIELDS.into_iter().filter(|f| o.iter().any(|n| n == f)).collect());
    let entries = if wanted.as_ref().is_some_and(Vec::is_empty) {
        vec![]
    } else {
        let ids: Vec<String> = accounts.iter().map(|a| a.account_id.to_string()).collect();
        state.blocking(move |hub| hub.store.account_entries(&ids)).await??
    };
    let ids: Vec<String> = accounts.iter().map(|a| a.account_id.to_string()).collect();
    let answers = state.blocking(move |hub| nps::answers(hub.store.as_ref(), &ids)).await??;
    Ok(accounts
        .iter()
        .zip(&answers)
        .map(|(a, answers)| {
            let mut out = match shape::account(a) {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            let mine: Vec<&AccountEntry> = entries.iter().filter(|e| e.account_id == a.account_id.as_str()).collect();
            nested::insert(&mut out, &mine, wanted.as_deref());
            nps::apply(&mut out, answers);
            Value::Object(out)
        })
        .collect())
}

async fn account_or_404(state: &AppState, id: &str) -> ApiResult<AccountRow> {
    let lookup = id.to_owned();
    let account = state.blocking(move |hub| hub.store.account(&lookup)).await??;
    account.ok_or_else(|| ApiError::NotFound("Account not found".into()))
}

/// List accounts. Nested fields come only when named in `include`.
#[utoipa::path(get, path = "/api/v2/accounts", tag = "Account API v2", params(AccountListParams),
    responses((status = 200, body = ListResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn list(
    _: ApiKey,
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    let order = p.order(&ACCOUNT_ORDER)?.unwrap_or_default();
    let statuses = if p.include_inactive() {
        vec![AccountStatus::Active, AccountStatus::Filtered, AccountStatus::Deleted]
    } else {
        vec![AccountStatus::Active]
    };
    let (descending, size) = (p.descending()?, p.size()?);
    let query = AccountQuery { statuses, order, descending, page: p.page(), page_size: size };
    let page = state.blocking(move |hub| hub.store.accounts(&query)).await??;
    let only = p.includes().into_iter().map(str::to_owned).collect();
    Ok(Json(ListResponse {
        status_is_ok: true,
        results: accounts_json(&state, &page.items, Some(only)).await?,
        current_page: p.page(),
        max_page_size: size,
        total: page.total,
        order_by: Some(p.order_by.clone().filter(|o| !o.is_empty()).unwrap_or_else(|| "account_id".into())),
        direction: Some(if descending { "desc" } else { "asc" }.into()),
        include_inactive: p.include_inactive(),
    }))
}

/// Insert or update accounts in bulk: `{"records": [{"account_id", "name", "join_date", ...}]}`.
/// Nested fields merge entry by entry into what is stored.
#[utoipa::path(post, path = "/api/v2/accounts", tag = "Account API v2", request_body = BatchRequest,
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn post(_: ApiKey, State(state): State<AppState>, RawBody(body): RawBody) -> ApiResult<Json<BatchResponse>> {
    let body = parse_json(&body)?;
    let records = records_of(&body)?.clone();
    Ok(Json(upsert_accounts(&state, records).await?))
}

/// One account, with every nested field.
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}", tag = "Account API v2",
    params(("account_id" = String, Path)),
    responses((status = 200, body = OkResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get(_: ApiKey, State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<OkResponse>> {
    let account = account_or_404(&state, &id).await?;
    let result = accounts_json(&state, std::slice::from_ref(&account), None).await?.pop();
    Ok(Json(OkResponse { status_is_ok: true, message: None, result }))
}

/// Modify one account: `{"data": {...}}` or the fields as a bare object. Fields not given keep
/// their values; nested entries merge by their key.
#[utoipa::path(put, path = "/api/v2/accounts/{account_id}", tag = "Account API v2",
    params(("account_id" = String, Path)),
    request_body(content = Object, description = "{\"data\": {...}}, or the fields themselves"),
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody)))]
pub async fn put(
    _: ApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<BatchResponse>> {
    let body = parse_json(&body)?;
    let data = data_of(&body)?.clone();
    let existing = account_or_404(&state, &id).await?;
    let mut merged = match shape::account(&existing) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for k in ["is_active", shape::ORIGIN] {
        merged.remove(k);
    }
    merged.extend(data);
    merged.insert("account_id".into(), json!(id));
    Ok(Json(upsert_accounts(&state, vec![Value::Object(merged)]).await?))
}

/// Deactivate an account: it goes on the delete list; syncs do not bring it back.
#[utoipa::path(delete, path = "/api/v2/accounts/{account_id}", tag = "Account API v2",
    params(("account_id" = String, Path)),
    responses((status = 200, body = OkResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn delete(_: ApiKey, State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<OkResponse>> {
    state.blocking(move |hub| hub.deactivate(&id, "deactivated through the Account API")).await?.map_err(
        |e| match e {
            accord_engine::EngineError::NotFound(_) => ApiError::NotFound("Account not found".into()),
            other => other.into(),
        },
    )?;
    Ok(Json(OkResponse { status_is_ok: true, message: Some("account deactivated".into()), result: None }))
}

/// Removes one nested entry of an account, or answers 404 naming what was not there.
async fn delete_entry(
    state: AppState,
    id: String,
    field: &'static str,
    key: String,
    what: String,
) -> ApiResult<Json<OkResponse>> {
    account_or_404(&state, &id).await?;
    let removed = state.blocking(move |hub| hub.store.delete_account_entry(&id, field, &key)).await??;
    if !removed {
        return Err(ApiError::NotFound(format!("the account has no {what}")));
    }
    Ok(Json(OkResponse { status_is_ok: true, message: Some(format!("{what} removed")), result: None }))
}

fn timestamp_segment(name: &str, segment: &str) -> ApiResult<i64> {
    nested::path_timestamp(segment)
        .ok_or_else(|| ApiError::BadRequest(format!("{name} {segment:?} is not a timestamp: use epoch milliseconds")))
}

/// Remove one stage of the account's `stage_history`: its name and `start_date` (epoch ms).
#[utoipa::path(delete, path = "/api/v2/accounts/{account_id}/stage_history/{name}/{timestamp}", tag = "Account API v2",
    params(("account_id" = String, Path), ("name" = String, Path, description = "the stage's name"),
           ("timestamp" = String, Path, pattern = "^-?[0-9]{1,18}$", description = "the stage's start_date, epoch ms (accord also reads ISO-8601)")),
    responses((status = 200, body = OkResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_stage(
    _: ApiKey,
    State(state): State<AppState>,
    Path((id, name, timestamp)): Path<(String, String, String)>,
) -> ApiResult<Json<OkResponse>> {
    let start = timestamp_segment("timestamp", &timestamp)?;
    let what = format!("stage_history entry {name:?} starting at {start}");
    delete_entry(state, id, "stage_history", nested::stage_key(&name, start), what).await
}

/// Remove one custom value (numeric) dimension by its key.
#[utoipa::path(delete, path = "/api/v2/accounts/{account_id}/dimension_values/{key}", tag = "Account API v2",
    params(("account_id" = String, Path), ("key" = String, Path)),
    responses((status = 200, body = OkResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn delete_dimension_value(
    _: ApiKey,
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Json<OkResponse>> {
    let what = format!("custom_value_dimensions entry {key:?}");
    delete_entry(state, id, "custom_value_dimensions", key.trim().to_owned(), what).await
}

/// Remove one custom label (text) dimension by its key.
#[utoipa::path(delete, path = "/api/v2/accounts/{account_id}/dimension_labels/{key}", tag = "Account API v2",
    params(("account_id" = String, Path), ("key" = String, Path)),
    responses((status = 200, body = OkResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn delete_dimension_label(
    _: ApiKey,
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Json<OkResponse>> {
    let what = format!("custom_label_dimensions entry {key:?}");
    delete_entry(state, id, "custom_label_dimensions", key.trim().to_owned(), what).await
}

/// Unassign one CSM, by email (letter case does not matter).
#[utoipa::path(delete, path = "/api/v2/accounts/{account_id}/assigned_csms/{email}", tag = "Account API v2",
    params(("account_id" = String, Path), ("email" = String, Path)),
    responses((status = 200, body = OkResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn delete_assigned_csm(
    _: ApiKey,
    State(state): State<AppState>,
    Path((id, email)): Path<(String, String)>,
) -> ApiResult<Json<OkResponse>> {
    let what = format!("assigned_csms entry {email:?}");
    delete_entry(state, id, "assigned_csms", nested::csm_key(&email), what).await
}

/// Remove one NPS answer of the account's `nps_history`, by its `date` (epoch ms).
#[utoipa::path(delete, path = "/api/v2/accounts/{account_id}/nps_history/{timestamp}", tag = "Account API v2",
    params(("account_id" = String, Path), ("timestamp" = String, Path, pattern = "^-?[0-9]{1,18}$", description = "the answer's date, epoch ms (accord also reads ISO-8601)")),
    responses((status = 200, body = OkResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_nps(
    _: ApiKey,
    State(state): State<AppState>,
    Path((id, timestamp)): Path<(String, String)>,
) -> ApiResult<Json<OkResponse>> {
    let date = timestamp_segment("timestamp", &timestamp)?;
    delete_entry(state, id, "nps_history", date.to_string(), format!("nps_history entry dated {date}")).await
}

async fn records_of_account(
    state: &AppState,
    id: String,
    kind: ObjectKind,
    id_field: &'static str,
    p: &ListParams,
) -> ApiResult<Json<ListResponse>> {
    let order_by = p.order(&record_columns(kind, id_field))?;
    let (page, size, include, descending) = (p.page(), p.size()?, p.include_inactive(), p.descending()?);
    let (account, records) = state
        .blocking(move |hub| {
            let account = hub.store.account(&id)?;
            let query = RecordQuery {
                account_id: Some(id),
                include_deleted: include,
                order_by: order_by.map(str::to_owned),
                descending,
                ..Default::default()
            };
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
        order_by: p.order_by.clone().filter(|o| !o.is_empty()),
        direction: Some(if descending { "desc" } else { "asc" }.into()),
        include_inactive: include,
    }))
}

macro_rules! per_account_list {
    ($name:ident, $params:ident, $path:literal, $kind:expr, $id:literal, $doc:literal) => {
        list_doc!($params, record_columns($kind, $id).into_iter().map(|(n, _)| n).collect::<Vec<_>>(), false);

        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = "Account API v2",
                                    params(("account_id" = String, Path), $params),
                                    responses((status = 200, body = ListResponse), (status = 400, body = ErrorBody),
                                              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
                                              (status = 404, body = ErrorBody)))]
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
    AccountUsersParams,
    "/api/v2/accounts/{account_id}/users",
    ObjectKind::User,
    "user_id",
    "The account's product users."
);
per_account_list!(
    contacts,
    AccountContactsParams,
    "/api/v2/accounts/{account_id}/contacts",
    ObjectKind::Contact,
    "contact_id",
    "The account's contacts."
);
per_account_list!(
    support_tickets,
    AccountTicketsParams,
    "/api/v2/accounts/{account_id}/support_tickets",
    ObjectKind::Ticket,
    "ticket_id",
    "The account's support tickets."
);
per_account_list!(
    subscriptions,
    AccountSubscriptionsParams,
    "/api/v2/accounts/{account_id}/subscriptions",
    ObjectKind::Subscription,
    "subscription_id",
    "The account's subscriptions."
);
per_account_list!(
    statements,
    AccountStatementsParams,
    "/api/v2/accounts/{account_id}/statements",
    ObjectKind::Invoice,
    "invoice_id",
    "The account's invoice statements."
);

/// The account's custom metric values, newest day first unless `order_by` says otherwise.
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/metrics", tag = "Account API v2",
    params(("account_id" = String, Path), super::metrics::MetricListParams),
    responses((status = 200, body = ListResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn metrics(
    _: ApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    let (page, size) = (p.page(), p.size()?);
    let q = MetricQuery {
        account_id: Some(id.clone()),
        order_by: p.order(&super::metrics::METRIC_ORDER)?.map(str::to_owned),
        descending: p.descending()?,
        ..Default::default()
    };
    let (account, rows) = state
        .blocking(move |hub| {
            let account = hub.store.account(&id)?;
            Ok::<_, accord_store::StoreError>((account, hub.store.metrics(&q, page, size)?))
        })
        .await??;
    if account.is_none() {
        return Err(ApiError::NotFound("Account not found".into()));
    }
    Ok(Json(super::metrics::list_response(rows, page, size, p.order_by.clone(), p.descending()?)))
}
