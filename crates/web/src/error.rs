//! The web app's one error type: each variant is an HTML page with its status code, or a redirect
//! to the sign-in page. Internal details are logged, never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

/// What went wrong with a request to the web app.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not signed in (or the session expired): go to the sign-in page, then back to `next`.
    #[error("sign in first")]
    SignIn { next: String },
    /// Signed in, but the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// A form without the CSRF token of this session.
    #[error("the form's security token is missing or does not match this session: reload the page and try again")]
    Csrf,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TooManyAttempts(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<accord_store::StoreError> for WebError {
    fn from(e: accord_store::StoreError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<accord_engine::EngineError> for WebError {
    fn from(e: accord_engine::EngineError) -> Self {
        match e {
            accord_engine::EngineError::NotFound(what) => WebError::NotFound(format!("{what} not found")),
            accord_engine::EngineError::Invalid(m) => WebError::BadRequest(m),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::SignIn { next } => {
                let target = format!("/signin?next={}", crate::form::encode(next));
                return Redirect::to(&target).into_response();
            }
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Internal(detail) => {
                tracing::error!(error = %detail, "web request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = match &self {
            WebError::Internal(_) => "something went wrong on the server; the log says what".to_owned(),
            other => other.to_string(),
        };
        (status, crate::layout::error_page(status, &message)).into_response()
    }
}
