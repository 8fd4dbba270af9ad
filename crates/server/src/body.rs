//! Request bodies: read up to the configured limit (413 past it), gunzipped when the client says
//! `Content-Encoding: gzip` (the limit applies after decompression too; any other encoding but
//! `identity` is a 415 before a byte is read), parsed into our errors.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// A request body, decompressed, within the size limit.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.inner().body_limit;
        let gzip = match request.headers().get(axum::http::header::CONTENT_ENCODING) {
            None => false,
            Some(v) => match v.to_str().map(str::trim) {
                Ok(e) if e.is_empty() || e.eq_ignore_ascii_case("identity") => false,
                Ok(e) if e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip") => true,
                Ok(e) => return Err(ApiError::UnsupportedEncoding(e.to_owned())),
                Err(_) => {
                    return Err(ApiError::UnsupportedEncoding(String::from_utf8_lossy(v.as_bytes()).into_owned()));
                }
            },
        };
        let bytes = axum::body::to_bytes(request.into_body(), usize::try_from(limit).unwrap_or(usize::MAX))
            .await
            .map_err(|e| {
                if is_length_limit(&e) {
                    ApiError::PayloadTooLarge(limit)
                } else {
                    ApiError::BadRequest(format!("cannot read the request body: {e}"))
                }
            })?;
        if !gzip {
            return Ok(RawBody(bytes));
        }
        let mut out = Vec::with_capacity(bytes.len() * 4);
        let mut decoder = flate2::read::GzDecoder::new(&bytes[..]).take(limit + 1);
        decoder.read_to_end(&mut out).map_err(|e| ApiError::BadRequest(format!("the body is not valid gzip: {e}")))?;
        if out.len() as u64 > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        Ok(RawBody(Bytes::from(out)))
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        if s.to_string().contains("length limit") {
            return true;
        }
        source = s.source();
    }
    false
}

/// Parses a JSON body, answering 400 with the line and column of the first error.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::BadRequest(format!("the body is not valid JSON (line {}, column {}): {e}", e.line(), e.column()))
    })
}
