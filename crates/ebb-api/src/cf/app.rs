//! [`CfApp`]: the group a Cloud Foundry route is about, once its caller is known to be the
//! operator or a token of the group's tenant (`admin` to write) — or, to submit metrics, the
//! group's metric credential over HTTP Basic — and within the app's budget.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use ebb_core::ids::{GroupId, TenantId};
use ebb_engine::samples::GroupFacts;
use ebb_store::{Role, StoreError};
use subtle::ConstantTimeEq;

use crate::auth::{Caller, identify};
use crate::error::ApiError;
use crate::state::AppState;

/// The group of a Cloud Foundry route and what the metric store knows of it.
#[derive(Debug, Clone)]
pub struct CfApp {
    /// Its tenant.
    pub tenant: TenantId,
    /// The group.
    pub group: GroupId,
    /// Its rules, slots and tenant, as the metric store knows them.
    pub facts: std::sync::Arc<GroupFacts>,
}

/// Cloud Foundry's answer for an app that does not exist (or is not the caller's).
pub fn app_not_found() -> ApiError {
    ApiError::Cf {
        status: StatusCode::NOT_FOUND,
        code: "App not found",
        message: "The app guid supplied does not exist".to_string(),
    }
}

/// A store error on a Cloud Foundry route.
pub fn store_error(err: StoreError) -> ApiError {
    match err {
        StoreError::GroupNotFound => app_not_found(),
        other => crate::error::Scope::default().error(other),
    }
}

/// Cloud Foundry's answer to a wrong or missing metric credential.
fn unauthorized() -> ApiError {
    ApiError::cf(StatusCode::UNAUTHORIZED, "Unauthorized")
}

/// Whether `username` and `password` are the group's metric credential (in constant time).
pub(crate) fn credential_matches(facts: &GroupFacts, username: &str, password: &str) -> bool {
    facts.credential.as_ref().is_some_and(|c| {
        let hash = ebb_core::secret::hash(password);
        bool::from(c.username.as_bytes().ct_eq(username.as_bytes()) & c.password_hash.as_bytes().ct_eq(hash.as_bytes()))
    })
}

/// `Authorization: Basic base64(user:password)`, if that is what was sent.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = data_encoding::BASE64.decode(encoded.trim().as_bytes()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

impl FromRequestParts<AppState> for CfApp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Path(params) =
            Path::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|_| app_not_found())?;
        let group = GroupId::new(params.get("appId").map(String::as_str).unwrap_or_default());
        if let Some((username, password)) = basic_credentials(&parts.headers) {
            let submits = parts.method == axum::http::Method::POST && parts.uri.path().ends_with("/metrics");
            let facts = state.engine.metric_facts(&group).await.map_err(|err| match err {
                StoreError::GroupNotFound => unauthorized(),
                other => store_error(other),
            })?;
            if !submits || !credential_matches(&facts, &username, &password) {
                return Err(unauthorized());
            }
            state.rate_limits.app(group.as_str())?;
            return Ok(CfApp { tenant: facts.tenant.clone(), group, facts });
        }
        let caller = identify(state, &parts.headers).await.map_err(|err| match err {
            ApiError::Unauthorized(message) => ApiError::cf(StatusCode::UNAUTHORIZED, message),
            other => other,
        })?;
        let facts = state.engine.metric_facts(&group).await.map_err(store_error)?;
        if let Caller::Tenant { tenant, role } = &caller {
            if *tenant != facts.tenant {
                return Err(app_not_found());
            }
            let reads = parts.method == axum::http::Method::GET;
            if *role == Role::Observer && !reads {
                return Err(ApiError::cf(
                    StatusCode::UNAUTHORIZED,
                    "You are not authorized to perform the requested action",
                ));
            }
        }
        state.rate_limits.app(group.as_str())?;
        Ok(CfApp { tenant: facts.tenant.clone(), group, facts })
    }
}

/// The body of a Cloud Foundry request, at most [`crate::body::MAX_BODY_BYTES`]; what cannot
/// be read is answered Cloud Foundry's way.
#[derive(Debug)]
pub struct CfBody(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for CfBody {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, _state: &S) -> Result<Self, ApiError> {
        crate::body::read_limited(request).await.map(CfBody).map_err(|err| match err {
            ApiError::PayloadTooLarge { .. } => ApiError::cf(StatusCode::PAYLOAD_TOO_LARGE, err.to_string()),
            other => ApiError::cf(StatusCode::BAD_REQUEST, other.to_string()),
        })
    }
}
