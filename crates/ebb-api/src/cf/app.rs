//! [`CfApp`]: the group a Cloud Foundry route is about, once its caller is known to be the
//! operator or a token of the group's tenant (`admin` to write), and within the app's budget.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use ebb_core::ids::{GroupId, TenantId};
use ebb_engine::samples::GroupFacts;
use ebb_store::{Role, StoreError};

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
    pub facts: GroupFacts,
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

impl FromRequestParts<AppState> for CfApp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Path(params) =
            Path::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|_| app_not_found())?;
        let group = GroupId::new(params.get("appId").map(String::as_str).unwrap_or_default());
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
