//! Form bodies and query strings as ordered (name, value) pairs: a checkbox list repeats its name,
//! and the accounts filters are named by the user's own fields.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;

use crate::WebError;

/// The largest form accepted (a quarantine selection of a few thousand ids fits easily).
const FORM_LIMIT: usize = 1 << 20;

/// Decoded `name=value` pairs, in order.
#[derive(Debug, Clone, Default)]
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    pub fn parse(text: &[u8]) -> Self {
        Pairs(form_urlencoded::parse(text).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The first value of a name, if not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// Every value of a name.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A number, or an error naming the parameter.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, WebError> {
        self.get(name)
            .map(|v| v.parse().map_err(|_| WebError::BadRequest(format!("{name}: {v:?} is not a number"))))
            .transpose()
    }

    /// This query string with `name` set to `value` (or removed when `None`), for links.
    pub fn with(&self, name: &str, value: Option<&str>) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.0.iter().filter(|(k, _)| k != name && k != "csv") {
            out.append_pair(k, v);
        }
        if let Some(v) = value {
            out.append_pair(name, v);
        }
        out.finish()
    }
}

/// The query string of a request.
#[derive(Debug, Clone, Default)]
pub struct Query(pub Pairs);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query(Pairs::parse(parts.uri.query().unwrap_or_default().as_bytes())))
    }
}

/// An `application/x-www-form-urlencoded` body.
#[derive(Debug, Clone, Default)]
pub struct Form(pub Pairs);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = WebError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if !content_type.is_some_and(|t| t.starts_with("application/x-www-form-urlencoded")) {
            return Err(WebError::BadRequest("expected a form (application/x-www-form-urlencoded)".into()));
        }
        let bytes = axum::body::to_bytes(req.into_body(), FORM_LIMIT)
            .await
            .map_err(|_| WebError::BadRequest(format!("the form is larger than {FORM_LIMIT} bytes")))?;
        Ok(Form(Pairs::parse(&bytes)))
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Percent-encodes a path segment (`%20` for a space, unlike a query value's `+`).
pub fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
