//! Extractors that turn bad input into the documented errors instead of framework defaults:
//! [`JsonBody`] (size limit, UTF-8, JSON syntax, nesting depth) and [`QueryArgs`].

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde_json::Value;

use crate::error::ApiError;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A request body parsed as JSON, at most [`MAX_BODY_BYTES`] long.
///
/// serde_json refuses documents nested deeper than 128 levels, so deep nesting is an
/// `InvalidJsonError` rather than a stack overflow.
#[derive(Debug)]
pub struct JsonBody(pub Value);

/// Reads a request body of at most [`MAX_BODY_BYTES`]: `PayloadTooLarge` beyond, and
/// `InvalidJson` when it cannot be read.
pub async fn read_limited(request: Request) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await.map_err(|err| {
        let too_large =
            std::error::Error::source(&err).is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES }
        } else {
            ApiError::InvalidJson(format!("could not read the request body: {err}"))
        }
    })
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = read_limited(request).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|err| ApiError::InvalidJson(format!("request body is not valid JSON: {err}")))
    }
}

/// A request body of a known shape, at most [`MAX_BODY_BYTES`] long, parsed straight into
/// its type (for bodies too large or too frequent to go through a `Value`).
#[derive(Debug)]
pub struct TypedBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for TypedBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = read_limited(request).await?;
        serde_json::from_slice(&bytes).map(TypedBody).map_err(|err| match err.classify() {
            serde_json::error::Category::Data => ApiError::Validation(format!("request body: {err}")),
            _ => ApiError::InvalidJson(format!("request body is not valid JSON: {err}")),
        })
    }
}

/// The query arguments of a request, by name.
#[derive(Debug, Default)]
pub struct QueryArgs(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryArgs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded_pairs(query).map(QueryArgs)
    }
}

fn serde_urlencoded_pairs(query: &str) -> Result<HashMap<String, String>, ApiError> {
    let mut args = HashMap::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        args.insert(decode(key)?, decode(value)?);
    }
    Ok(args)
}

fn decode(text: &str) -> Result<String, ApiError> {
    let spaced = text.replace('+', " ");
    let bytes = percent_decode(&spaced)
        .ok_or_else(|| ApiError::InvalidQueryArgument(format!("Invalid query string: {text:?}")))?;
    String::from_utf8(bytes).map_err(|_| ApiError::InvalidQueryArgument(format!("Invalid query string: {text:?}")))
}

fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes.get(index + 1..index + 3)?;
            let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(value);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    Some(out)
}

impl QueryArgs {
    /// A boolean argument: `true`/`false` in any case, `default` when absent.
    pub fn boolean(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.0.get(name) {
            None => Ok(default),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
            Some(value) => Err(ApiError::InvalidQueryArgument(format!(
                "Invalid \"{name}\" query argument: \"{value}\". Must be \"true\" or \"false\". Defaults to \"{default}\" if not provided"
            ))),
        }
    }

    /// A boolean flag that is true only when `true` (any case); anything else is false.
    pub fn flag(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|value| value.eq_ignore_ascii_case("true"))
    }

    /// A string argument.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_are_percent_decoded() {
        let args = serde_urlencoded_pairs("limit=%26&marker=a+b&flag").unwrap();
        assert_eq!(args["limit"], "&");
        assert_eq!(args["marker"], "a b");
        assert_eq!(args["flag"], "");
        assert!(serde_urlencoded_pairs("limit=%zz").is_err());
        assert!(serde_urlencoded_pairs("limit=%ff").is_err());
    }
}
