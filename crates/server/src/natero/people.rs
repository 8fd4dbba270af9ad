//! `/api/v2/account_users` and `/api/v2/account_contacts`: product users and contacts. A user or
//! contact whose account is unknown is answered `Account not found` and kept in the quarantine, so
//! it links by itself when the account arrives.
//!
//! A product user is one record per `user_id` (`api/users/<user_id>`), whoever writes it: a POST,
//! a PUT, or an `identifyUser` event. Every write merges field by field onto what is stored, under
//! one lock per process, so two writers of one user never drop each other's fields.

use accord_connectors::Item;
use accord_core::{ObjectKind, RejectReason};
use accord_engine::hub::ItemResult;
use accord_engine::plan::API_SOURCE;
use accord_store::{RecordKey, RecordQuery};
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::{
    BatchRequest, BatchResponse, FailedResult, ListParams, ListResponse, OkResponse, count_reasons, data_of, list_doc,
    missing_fields_message, record_columns, records_of, shape,
};
use crate::auth::ApiKey;
use crate::body::{RawBody, parse_json};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Path, Query};
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

list_doc!(
    UserListParams,
    record_columns(ObjectKind::User, "user_id").into_iter().map(|(n, _)| n).collect::<Vec<_>>(),
    false
);
list_doc!(
    ContactListParams,
    record_columns(ObjectKind::Contact, "contact_id").into_iter().map(|(n, _)| n).collect::<Vec<_>>(),
    false
);

/// A record's id as text, when it has a usable one.
fn id_text(record: &Value, field: &str) -> Option<String> {
    match record.get(field)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => accord_core::id::key_text(&Value::Number(n.clone())).ok().flatten(),
        _ => None,
    }
}

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

    async fn upsert(self, state: &AppState, records: Vec<Value>) -> ApiResult<BatchResponse> {
        let records: Vec<Value> = records.into_iter().map(|r| self.prepare(r)).collect();
        let plan = state.hub().plan.stream(API_SOURCE, self.object).cloned().expect("built-in stream");
        let _guard = if self.kind == ObjectKind::User { Some(state.inner().users_lock.lock().await) } else { None };
        let records = if self.kind == ObjectKind::User { merged_users(state, records).await? } else { records };
        let items = super::accounts::api_items(&records);
        let out = state.ingest(vec![(plan, items, true).into()]).await?.remove(0);
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
        let order_by = p.order(&record_columns(self.kind, self.id_field))?;
        let (page, size, include, descending) = (p.page(), p.size()?, p.include_inactive(), p.descending()?);
        let kind = self.kind;
        let query = RecordQuery {
            native_id,
            account_id,
            include_deleted: include,
            order_by: order_by.map(str::to_owned),
            descending,
            ..Default::default()
        };
        let records = state.blocking(move |hub| hub.store.records(kind, &query, page, size)).await??;
        Ok(ListResponse {
            status_is_ok: true,
            results: records.items.iter().map(|r| shape::record(r, self.id_field)).collect(),
            current_page: page,
            max_page_size: size,
            total: records.total,
            order_by: p.order_by.clone().filter(|o| !o.is_empty()),
            direction: Some(if descending { "desc" } else { "asc" }.into()),
            include_inactive: include,
        })
    }
}

/// The API's own record of each user, by user id (deactivated ones too).
async fn stored_users(state: &AppState, ids: Vec<String>) -> ApiResult<Vec<(String, Value)>> {
    Ok(state
        .blocking(move |hub| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let key = RecordKey::new(API_SOURCE, USERS.object, id.clone());
                if let Some(r) = hub.store.record(ObjectKind::User, &key)? {
                    out.push((id, r.payload));
                }
            }
            Ok::<_, accord_store::StoreError>(out)
        })
        .await??)
}

/// Each user record merged field by field onto the stored one with its `user_id` (later records
/// of the batch onto earlier ones). Callers hold `users_lock` until the result is ingested.
pub(crate) async fn merged_users(state: &AppState, records: Vec<Value>) -> ApiResult<Vec<Value>> {
    let mut ids: Vec<String> = records.iter().filter_map(|r| id_text(r, "user_id")).collect();
    ids.sort();
    ids.dedup();
    let mut known: std::collections::HashMap<String, Map<String, Value>> = stored_users(state, ids)
        .await?
        .into_iter()
        .filter_map(|(id, payload)| match payload {
            Value::Object(m) => Some((id, m)),
            _ => None,
        })
        .collect();
    Ok(records
        .into_iter()
        .map(|record| {
            let (Some(id), Value::Object(fields)) = (id_text(&record, "user_id"), &record) else { return record };
            let mut merged = known.remove(&id).unwrap_or_default();
            merged.extend(fields.clone());
            known.insert(id, merged.clone());
            Value::Object(merged)
        })
        .collect())
}

/// List product users.
#[utoipa::path(get, path = "/api/v2/account_users", tag = "Account API v2", params(UserListParams),
    responses((status = 200, body = ListResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn list_users(
    _: ApiKey,
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    Ok(Json(USERS.list(&state, &p, None, None).await?))
}

/// Insert or update product users in bulk: `{"records": [{"user_id", "account_id", ...}]}`. Each
/// merges field by field onto the stored user.
#[utoipa::path(post, path = "/api/v2/account_users", tag = "Account API v2", request_body = BatchRequest,
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn post_users(
    _: ApiKey,
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> ApiResult<Json<BatchResponse>> {
    let body = parse_json(&body)?;
    Ok(Json(USERS.upsert(&state, records_of(&body)?.clone()).await?))
}

/// A product user.
#[utoipa::path(get, path = "/api/v2/account_users/{user_id}", tag = "Account API v2",
    params(("user_id" = String, Path), UserListParams),
    responses((status = 200, body = ListResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    _: ApiKey,
    State(state): State<AppState>,
    Path(user): Path<String>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    found(USERS.list(&state, &p, Some(user), None).await?)
}

/// A product user, if it belongs to this account.
#[utoipa::path(get, path = "/api/v2/account_users/{user_id}/{account_id}", tag = "Account API v2",
    params(("user_id" = String, Path), ("account_id" = String, Path), UserListParams),
    responses((status = 200, body = ListResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
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
    let mut data = data_of(&body)?.clone();
    data.insert("user_id".into(), json!(user));
    if let Some(a) = account {
        data.insert("account_id".into(), json!(a));
    }
    Ok(Json(USERS.upsert(&state, vec![Value::Object(data)]).await?))
}

/// Modify (or create) one product user: `{"data": {...}}` or the fields as a bare object. Fields
/// not given keep their values.
#[utoipa::path(put, path = "/api/v2/account_users/{user_id}", tag = "Account API v2",
    params(("user_id" = String, Path)),
    request_body(content = Object, description = "{\"data\": {...}}, or the fields themselves"),
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn put_user(
    _: ApiKey,
    State(state): State<AppState>,
    Path(user): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<BatchResponse>> {
    put_user_impl(state, user, None, &body).await
}

/// Modify (or create, or move) one product user of this account: `{"data": {...}}` or the fields.
#[utoipa::path(put, path = "/api/v2/account_users/{user_id}/{account_id}", tag = "Account API v2",
    params(("user_id" = String, Path), ("account_id" = String, Path)),
    request_body(content = Object, description = "{\"data\": {...}}, or the fields themselves"),
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn put_user_in(
    _: ApiKey,
    State(state): State<AppState>,
    Path((user, account)): Path<(String, String)>,
    RawBody(body): RawBody,
) -> ApiResult<Json<BatchResponse>> {
    put_user_impl(state, user, Some(account), &body).await
}

/// Deactivates every stored copy of a user the APIs wrote (the Account API's, and those that
/// event sources wrote before users were merged), if it is in `account` when one is given.
async fn delete_user_impl(state: AppState, user: String, account: Option<String>) -> ApiResult<Json<OkResponse>> {
    let _guard = state.inner().users_lock.lock().await;
    let api_sources: Vec<String> = std::iter::once(API_SOURCE.to_owned())
        .chain(state.hub().config.raw.server.event_sources.iter().map(|e| e.source.clone()))
        .collect();
    let lookup = user.clone();
    let copies = state
        .blocking(move |hub| {
            let q = RecordQuery { native_id: Some(lookup), account_id: account, ..Default::default() };
            hub.store.records(ObjectKind::User, &q, 0, 100)
        })
        .await??;
    let mut pages = Vec::new();
    for r in copies.items.iter().filter(|r| api_sources.contains(&r.key.source)) {
        if let Some(plan) = state.hub().plan.stream(&r.key.source, &r.key.object) {
            pages.push((plan.clone(), vec![Item::Deleted { native_id: user.clone() }], false).into());
        }
    }
    if pages.is_empty() {
        return Err(ApiError::NotFound("User not found".into()));
    }
    state.ingest(pages).await?;
    Ok(Json(OkResponse { status_is_ok: true, message: Some("user deactivated".into()), result: None }))
}

/// Deactivate a product user (kept, marked inactive; it no longer maps events to its account).
#[utoipa::path(delete, path = "/api/v2/account_users/{user_id}", tag = "Account API v2",
    params(("user_id" = String, Path)),
    responses((status = 200, body = OkResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn delete_user(
    _: ApiKey,
    State(state): State<AppState>,
    Path(user): Path<String>,
) -> ApiResult<Json<OkResponse>> {
    delete_user_impl(state, user, None).await
}

/// Deactivate a product user of this account (404 when the user is not in it).
#[utoipa::path(delete, path = "/api/v2/account_users/{user_id}/{account_id}", tag = "Account API v2",
    params(("user_id" = String, Path), ("account_id" = String, Path)),
    responses((status = 200, body = OkResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn delete_user_in(
    _: ApiKey,
    State(state): State<AppState>,
    Path((user, account)): Path<(String, String)>,
) -> ApiResult<Json<OkResponse>> {
    delete_user_impl(state, user, Some(account)).await
}

/// List contacts.
#[utoipa::path(get, path = "/api/v2/account_contacts", tag = "Account API v2", params(ContactListParams),
    responses((status = 200, body = ListResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn list_contacts(
    _: ApiKey,
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    Ok(Json(CONTACTS.list(&state, &p, None, None).await?))
}

/// Insert or update contacts in bulk: `{"records": [{"account_id", "email", ...}]}`.
#[utoipa::path(post, path = "/api/v2/account_contacts", tag = "Account API v2", request_body = BatchRequest,
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn post_contacts(
    _: ApiKey,
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> ApiResult<Json<BatchResponse>> {
    let body = parse_json(&body)?;
    Ok(Json(CONTACTS.upsert(&state, records_of(&body)?.clone()).await?))
}
