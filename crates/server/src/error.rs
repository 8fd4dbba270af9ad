//! One error type for every route, answered in one JSON shape: `{"status_is_ok": false,
//! "error": <code>, "message": <words>}`. Internal details are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The error body of every route.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always false on errors (Natero's convention).
    pub status_is_ok: bool,
    /// A machine-readable code: `unauthorized`, `forbidden`, `bad_request`, `not_found`,
    /// `method_not_allowed`, `payload_too_large`, `unsupported_media_type`, `internal`.
    pub error: &'static str,
    pub message: String,
}

/// An error answered to a client.
#[derive(Debug)]
pub enum ApiError {
    /// No credentials (401).
    Unauthorized(String),
    /// Wrong credentials (403); the message never says which part was wrong.
    Forbidden,
    BadRequest(String),
    NotFound(String),
    /// The request repeats one already acted on (409), e.g. a replayed webhook delivery.
    Conflict(String),
    MethodNotAllowed,
    PayloadTooLarge(u64),
    /// A `Content-Encoding` we cannot decode (415).
    UnsupportedEncoding(String),
    /// A failure on our side (500): logged with its details, answered without them.
    Internal(String),
}

impl ApiError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, message) = match self {
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "the credentials are not valid".to_owned()),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method: see /api/openapi.json".to_owned(),
            ),
            ApiError::UnsupportedEncoding(e) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("Content-Encoding {e:?} is not supported: send gzip or an uncompressed body"),
            ),
            ApiError::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body exceeds the limit of {limit} bytes: send smaller batches"),
            ),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the request could not be completed; see the server log".into(),
                )
            }
        };
        (status, axum::Json(ErrorBody { status_is_ok: false, error, message })).into_response()
    }
}

impl From<accord_engine::EngineError> for ApiError {
    fn from(e: accord_engine::EngineError) -> Self {
        match e {
            accord_engine::EngineError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            accord_engine::EngineError::Invalid(m) => ApiError::BadRequest(m),
            accord_engine::EngineError::Failed(m) => ApiError::Internal(m),
            other => ApiError::internal(other),
        }
    }
}

impl From<accord_store::StoreError> for ApiError {
    fn from(e: accord_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(e: axum::extract::rejection::BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(0)
        } else {
            ApiError::BadRequest(format!("cannot read the request body: {e}"))
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        ApiError::BadRequest(format!("invalid path: {}", e.body_text()))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
