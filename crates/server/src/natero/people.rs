//! `/api/v2/account_users` and `/api/v2/account_contacts`: product users and contacts. A user or
//! contact whose account is unknown is answered `Account not found` and kept in the quarantine, so
//! it links by itself when the account arrives.

use accord_connectors::Item;
use accord_core::{ObjectKind, RejectReason};
use accord_engine::hub::ItemResult;
use accord_engine::plan::API_SOURCE;
use accord_store::RecordQuery;
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

/// Users or contacts: what differs between the two resources.
#[derive(Debug, Clone, Copy)]
pub(crate) struct People {
    object: &'static str,
    kind: ObjectKind,
    id_field: &'static str,
    what: &'static str,
}

pub(crate) const USERS: People = People { object: "users", kind: ObjectKind::User, id_field: "user_id", what: "Users" };
pub(crate) const CONTACTS: People =
    People { object: "contacts", kind: ObjectKind::Contact, id_field: "contact_id", what: "Contacts" };

impl People {
    /// Contacts are identified by `contact_id`, or by their email when they have none.
    fn prepare(self, mut record: Value) -> Value {
        if self.kind == ObjectKind::Contact
            && let Some(map) = record.as_object_mut()
            && map.get("contact_id").is_none_or(Value::is_null)
            && let Some(email) = map.get("email").and_then(Value::as_str).map(|e| e.trim().to_lowercase())
        {
            map.insert("contact_id".into(), json!(email));
        }
        record
    }

    fn failure(self, record: &Value, index: usize, reason: RejectReason, message: &str) -> FailedResult {
        let message = match reason {
            RejectReason::UnknownAccount
            | RejectReason::MissingKey
            | RejectReason::FilteredAccount
            | RejectReason::DeletedAccount
            | RejectReason::InvalidAccountId => "Account not found".to_owned(),
            RejectReason::MissingRequiredField if message.contains("record id") => {
                let id = if self.kind == ObjectKind::Contact { "email" } else { self.id_field };
                missing_fields_message(self.what, &[id])
            }
            _ => message.to_owned(),
        };
        FailedResult {
            message,
            account_id: record.get("account_id").cloned(),
            user_id: record.get(self.id_field).cloned(),
            record: index,
            reason: reason.code().into(),
        }
    }

    async fn upsert(self, state: &AppState, records: Vec<Value>, deletes: Vec<String>) -> ApiResult<BatchResponse> {
        let records: Vec<Value> = records.into_iter().map(|r| self.prepare(r)).collect();
        let plan = state.hub().plan.stream(API_SOURCE, self.object).cloned().expect("built-in stream");
        let mut items = super::accounts::api_items(&records);
        items.extend(deletes.into_iter().map(|native_id| Item::Deleted { native_id }));
        let out = state.ingest(vec![(plan, items, true)]).await?.remove(0);
        let mut failed = Vec::new();
        for (i, (result, record)) in out.items.iter().zip(&records).enumerate() {
            if let ItemResult::Rejected { reason, message, .. } = result {
                failed.push(self.failure(record, i, *reason, message));
            }
        }
        count_reasons(state, &failed);
        Ok(BatchResponse { status_is_ok: true, stored: records.len() - failed.len(), failed_results: failed })
    }

    async fn list(
        self,
        state: &AppState,
        p: &ListParams,
        native_id: Option<String>,
        account_id: Option<String>,
    ) -> ApiResult<ListResponse> {
        let (page, size, include) = (p.page(), p.size(), p.include_inactive());
        let kind = self.kind;
        let query = RecordQuery { native_id, account_id, include_deleted: include, ..Default::default() };
        let records = state.blocking(move |hub| hub.store.records(kind, &query, page, size)).await??;
        Ok(ListResponse {
            status_is_ok: true,
            results: records.items.iter().map(|r| shape::record(r, self.id_field)).collect(),
            current_page: page,
            max_page_size: size,
            total: records.total,
            order_by: None,
            direction: None,
            include_inactive: include,
        })
    }

    /// The API's own record of one user, to merge a PUT onto.
    async fn existing(self, state: &AppState, native_id: String) -> ApiResult<Option<Value>> {
        let kind = self.kind;
        let query = RecordQuery {
            source: Some(API_SOURCE.into()),
            object: Some(self.object.into()),
            native_id: Some(native_id),
            ..Default::default()
        };
        let page = state.blocking(move |hub| hub.store.records(kind, &query, 0, 1)).await??;
        Ok(page.items.first().map(|r| r.payload.clone()))
    }
}

/// List product users.
#[utoipa::path(get, path = "/api/v2/account_users", tag = "Account API v2", params(ListParams),
    responses((status = 200, body = ListResponse)))]
pub async fn list_users(
    _: ApiKey,
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    Ok(Json(USERS.list(&state, &p, None, None).await?))
}

/// Insert or update product users in bulk: `{"records": [{"user_id", "account_id", ...}]}`.
#[utoipa::path(post, path = "/api/v2/account_users", tag = "Account API v2",
    request_body(content = Object, description = "{\"records\": [user, ...]}"),
    responses((status = 200, body = BatchResponse), (status = 400, body = crate::error::ErrorBody)))]
pub async fn post_users(
    _: ApiKey,
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> ApiResult<Json<BatchResponse>> {
    let body = parse_json(&body)?;
    Ok(Json(USERS.upsert(&state, records_of(&body)?.clone(), vec![]).await?))
}

/// A product user (in every account it appears in).
#[utoipa::path(get, path = "/api/v2/account_users/{user_id}", tag = "Account API v2",
    params(("user_id" = String, Path), ListParams), responses((status = 200, body = ListResponse), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_user(
    _: ApiKey,
    State(state): State<AppState>,
    Path(user): Path<String>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    found(USERS.list(&state, &p, Some(user), None).await?)
}

/// A product user in one account.
#[utoipa::path(get, path = "/api/v2/account_users/{user_id}/{account_id}", tag = "Account API v2",
    params(("user_id" = String, Path), ("account_id" = String, Path), ListParams),
    responses((status = 200, body = ListResponse), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_user_in(
    _: ApiKey,
    State(state): State<AppState>,
    Path((user, account)): Path<(String, String)>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    found(USERS.list(&state, &p, Some(user), Some(account)).await?)
}

fn found(list: ListResponse) -> ApiResult<Json<ListResponse>> {
    if list.total == 0 { Err(ApiError::NotFound("User not found".into())) } else { Ok(Json(list)) }
}

async fn put_user_impl(
    state: AppState,
    user: String,
    account: Option<String>,
    body: &[u8],
) -> ApiResult<Json<BatchResponse>> {
    let body = parse_json(body)?;
    let data = data_of(&body)?.clone();
    let mut merged = match USERS.existing(&state, user.clone()).await? {
        Some(Value::Object(m)) => m,
        _ => Default::default(),
    };
    merged.extend(data);
    merged.insert("user_id".into(), json!(user));
    if let Some(a) = account {
        merged.insert("account_id".into(), json!(a));
    }
    Ok(Json(USERS.upsert(&state, vec![Value::Object(merged)], vec![]).await?))
}

/// Modify (or create) one product user: `{"data": {...}}`.
#[utoipa::path(put, path = "/api/v2/account_users/{user_id}", tag = "Account API v2",
    params(("user_id" = String, Path)), request_body(content = Object, description = "{\"data\": {...}}"),
    responses((status = 200, body = BatchResponse)))]
pub async fn put_user(
    _: ApiKey,
    State(state): State<AppState>,
    Path(user): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<BatchResponse>> {
    put_user_impl(state, user, None, &body).await
}

/// Modify (or create) one product user of one account: `{"data": {...}}`.
#[utoipa::path(put, path = "/api/v2/account_users/{user_id}/{account_id}", tag = "Account API v2",
    params(("user_id" = String, Path), ("account_id" = String, Path)), request_body(content = Object, description = "{\"data\": {...}}"),
    responses((status = 200, body = BatchResponse)))]
pub async fn put_user_in(
    _: ApiKey,
    State(state): State<AppState>,
    Path((user, account)): Path<(String, String)>,
    RawBody(body): RawBody,
) -> ApiResult<Json<BatchResponse>> {
    put_user_impl(state, user, Some(account), &body).await
}

async fn delete_user_impl(state: AppState, user: String) -> ApiResult<Json<OkResponse>> {
    if USERS.existing(&state, user.clone()).await?.is_none() {
        return Err(ApiError::NotFound("User not found".into()));
    }
    USERS.upsert(&state, vec![], vec![user]).await?;
    Ok(Json(OkResponse { status_is_ok: true, message: Some("user deactivated".into()), result: None }))
}

/// Deactivate a product user (kept, marked inactive; it no longer maps events to its account).
#[utoipa::path(delete, path = "/api/v2/account_users/{user_id}", tag = "Account API v2",
    params(("user_id" = String, Path)), responses((status = 200, body = OkResponse), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_user(
    _: ApiKey,
    State(state): State<AppState>,
    Path(user): Path<String>,
) -> ApiResult<Json<OkResponse>> {
    delete_user_impl(state, user).await
}

/// Deactivate a product user of one account.
#[utoipa::path(delete, path = "/api/v2/account_users/{user_id}/{account_id}", tag = "Account API v2",
    params(("user_id" = String, Path), ("account_id" = String, Path)),
    responses((status = 200, body = OkResponse), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_user_in(
    _: ApiKey,
    State(state): State<AppState>,
    Path((user, _account)): Path<(String, String)>,
) -> ApiResult<Json<OkResponse>> {
    delete_user_impl(state, user).await
}

/// List contacts.
#[utoipa::path(get, path = "/api/v2/account_contacts", tag = "Account API v2", params(ListParams),
    responses((status = 200, body = ListResponse)))]
pub async fn list_contacts(
    _: ApiKey,
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    Ok(Json(CONTACTS.list(&state, &p, None, None).await?))
}

/// Insert or update contacts in bulk: `{"records": [{"account_id", "email", ...}]}`.
#[utoipa::path(post, path = "/api/v2/account_contacts", tag = "Account API v2",
    request_body(content = Object, description = "{\"records\": [contact, ...]}"),
    responses((status = 200, body = BatchResponse), (status = 400, body = crate::error::ErrorBody)))]
pub async fn post_contacts(
    _: ApiKey,
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> ApiResult<Json<BatchResponse>> {
    let body = parse_json(&body)?;
    Ok(Json(CONTACTS.upsert(&state, records_of(&body)?.clone(), vec![]).await?))
}
