//! accord's own API: the 360 view of an account, the quarantine, and the sources.

use accord_core::RejectReason;
use accord_engine::view::{Account360, account_360};
use accord_store::{Page, QuarantineEntry, QuarantineQuery, SyncRun};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::ApiKey;
use crate::body::{RawBody, parse_json};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::state::AppState;

/// The 360 view of an account.
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/360", tag = "accord",
    params(("account_id" = String, Path), PerKind),
    responses((status = 200, description = "the account, its users, contacts, 30-day usage with DAU/WAU/MAU, tickets, subscriptions with MRR, statements, interactions, NPS, each record's source and link provenance, and open rejections that hint at the account", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn view_360(
    _: ApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PerKind>,
) -> ApiResult<Json<Account360>> {
    let per_kind = match q.per_kind {
        None => 100,
        Some(n) => crate::natero::page_size(Some(n), "per_kind")?,
    };
    let view = state.blocking(move |hub| account_360(hub, &id, per_kind, chrono::Utc::now())).await??;
    view.map(Json).ok_or_else(|| ApiError::NotFound("Account not found".into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PerKind {
    /// Records shown per kind, 1 to 1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub per_kind: Option<u32>,
}

/// Filters of the quarantine routes.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct RejectionFilter {
    pub source: Option<String>,
    pub object: Option<String>,
    /// A reason code: missing_key, invalid_account_id, unknown_account, ambiguous,
    /// filtered_account, deleted_account, missing_required_field, invalid_field.
    #[param(
        pattern = "^(missing_key|invalid_account_id|unknown_account|ambiguous|filtered_account|deleted_account|missing_required_field|invalid_field)$"
    )]
    #[schema(
        pattern = "^(missing_key|invalid_account_id|unknown_account|ambiguous|filtered_account|deleted_account|missing_required_field|invalid_field)$"
    )]
    pub reason: Option<String>,
}

impl RejectionFilter {
    fn query(&self) -> ApiResult<QuarantineQuery> {
        let reason = self
            .reason
            .as_deref()
            .map(|r| RejectReason::from_code(r).ok_or_else(|| ApiError::BadRequest(format!("unknown reason {r:?}"))))
            .transpose()?;
        Ok(QuarantineQuery { source: self.source.clone(), object: self.object.clone(), reason })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 0-based page.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_u64)]
    pub page: Option<u32>,
    /// Entries per page, 1 to 1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub page_size: Option<u32>,
}

/// A page of the quarantine.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectionPage {
    pub status_is_ok: bool,
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<QuarantineEntry>,
    pub current_page: u32,
    pub page_size: u32,
    pub total: u64,
}

/// Rejected records, oldest first.
#[utoipa::path(get, path = "/api/v2/rejections", tag = "accord", params(RejectionFilter, PageParams),
    responses((status = 200, body = RejectionPage), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn rejections(
    _: ApiKey,
    State(state): State<AppState>,
    Query(filter): Query<RejectionFilter>,
    Query(p): Query<PageParams>,
) -> ApiResult<Json<RejectionPage>> {
    let query = filter.query()?;
    let page = p.page.unwrap_or(0);
    let size = match p.page_size {
        None => 100,
        Some(n) => crate::natero::page_size(Some(n), "page_size")?,
    };
    let Page { items, total, .. } = state.blocking(move |hub| hub.store.quarantine(&query, page, size)).await??;
    Ok(Json(RejectionPage { status_is_ok: true, results: items, current_page: page, page_size: size, total }))
}

/// Retry rejected records (all, or those matching `{"source", "object", "reason"}`).
#[utoipa::path(post, path = "/api/v2/rejections/retry", tag = "accord",
    request_body(content = Option<RejectionFilter>, description = "optional filter; no body (or null) retries everything"),
    responses((status = 200, description = "what the retry did", body = Object), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody)))]
pub async fn retry(_: ApiKey, State(state): State<AppState>, RawBody(body): RawBody) -> ApiResult<Json<Value>> {
    let filter: RejectionFilter = match body.iter().all(u8::is_ascii_whitespace) {
        true => RejectionFilter::default(),
        false => match parse_json(&body)? {
            Value::Null => RejectionFilter::default(),
            v @ Value::Object(_) => {
                serde_json::from_value(v).map_err(|e| ApiError::BadRequest(format!("invalid filter: {e}")))?
            }
            _ => {
                return Err(ApiError::BadRequest(
                    "the filter must be a JSON object: {\"source\", \"object\", \"reason\"}".into(),
                ));
            }
        },
    };
    let query = filter.query()?;
    let report = state.blocking(move |hub| hub.retry(&query)).await??;
    Ok(Json(serde_json::json!({"status_is_ok": true, "report": report})))
}

/// A source, its last sync run and what it holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceInfo {
    pub source: String,
    /// `file`, `salesforce`, ... or `api` / `events` for the APIs.
    pub kind: String,
    #[schema(value_type = Option<Object>)]
    pub last_run: Option<SyncRun>,
    /// The source's `schedule` setting (`every 15m`, `cron: */15 * * * *`); absent when it has none.
    #[schema(example = "every 15m")]
    pub schedule: Option<String>,
    /// When `accord serve` syncs it next (UTC); absent without a schedule. In the past: due now.
    pub next_run: Option<chrono::DateTime<chrono::Utc>>,
    /// Who is syncing the source now (the holder of its run lock); absent when nobody is.
    pub running: Option<RunningInfo>,
    pub objects: Vec<ObjectInfo>,
}

/// The holder of a source's run lock.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunningInfo {
    /// What holds it and where: `accord serve (schedule), pid 4242 on host-a`.
    pub holder: String,
    pub since: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectInfo {
    pub object: String,
    pub kind: String,
    pub linked: u64,
    pub rejected: u64,
    #[schema(value_type = Object)]
    pub rejected_by_reason: std::collections::BTreeMap<String, u64>,
}

/// The sources: last sync per source, its schedule and next run, who syncs it now, and counts per
/// object.
#[utoipa::path(get, path = "/api/v2/sources", tag = "accord",
    responses((status = 200, body = Vec<SourceInfo>), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub async fn sources(_: ApiKey, State(state): State<AppState>) -> ApiResult<Json<Vec<SourceInfo>>> {
    let out = state
        .blocking(|hub| {
            Ok::<_, accord_engine::EngineError>(
                accord_engine::overview::sources(hub)?
                    .into_iter()
                    .map(|s| SourceInfo {
                        source: s.source,
                        kind: s.kind,
                        last_run: s.last_run,
                        schedule: s.schedule,
                        next_run: s.next_run,
                        running: s.running.map(|h| RunningInfo { holder: h.holder, since: h.acquired_at }),
                        objects: s
                            .objects
                            .into_iter()
                            .map(|o| ObjectInfo {
                                object: o.object,
                                kind: o.kind.name().into(),
                                linked: o.linked,
                                rejected: o.rejected,
                                rejected_by_reason: o.rejected_by_reason,
                            })
                            .collect(),
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await??;
    Ok(Json(out))
}
