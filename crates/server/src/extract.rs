//! Extractors that answer in our error shape: a query string or path that does not parse is a
//! JSON 400 naming the parameter, never axum's plain-text rejection.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Query parameters, parsed into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri).map(|q| Query(q.0)).map_err(|e| {
            let text = e.body_text();
            let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
            ApiError::BadRequest(format!("invalid query string: {detail}"))
        })
    }
}

/// Path parameters, parsed into `T`.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| Path(p.0)).map_err(ApiError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct P {
        page: Option<u32>,
    }

    async fn parse(uri: &str) -> Result<Option<u32>, String> {
        let (mut parts, ()) = axum::http::Request::get(uri).body(()).unwrap().into_parts();
        match Query::<P>::from_request_parts(&mut parts, &()).await {
            Ok(Query(p)) => Ok(p.page),
            Err(ApiError::BadRequest(m)) => Err(m),
            Err(other) => Err(format!("{other:?}")),
        }
    }

    #[tokio::test]
    async fn bad_query_values_name_the_parameter() {
        assert_eq!(parse("/x?page=3&other=1").await, Ok(Some(3)));
        assert_eq!(parse("/x").await, Ok(None));
        let err = parse("/x?page=-1").await.unwrap_err();
        assert!(err.contains("page"), "{err}");
        let err = parse("/x?page=99999999999").await.unwrap_err();
        assert!(err.contains("page"), "{err}");
    }
}
