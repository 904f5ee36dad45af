//! `PUT/GET/DELETE /v1/apps/{appId}/policy`: a group's bounds, windows and metric rules as
//! one Cloud Foundry policy (`cf-app-autoscaler.md` §1, §3.1).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ebb_core::cf_policy::{self, PolicyError};
use ebb_core::records::Group;
use serde_json::{Map, Value};

use super::app::{CfApp, CfBody, store_error};
use crate::error::ApiError;
use crate::state::AppState;

fn rendered(group: &Group) -> Option<Map<String, Value>> {
    let rules = group.rules.as_ref()?;
    let schedules = group.windows.as_ref().map(|w| &w.document);
    match cf_policy::render(group.config.min_entities, group.config.max_entities, rules, schedules) {
        Value::Object(policy) => Some(policy),
        _ => None,
    }
}

/// The group's policy, normalised; 404 when it has none.
pub async fn get(app: CfApp, State(state): State<AppState>) -> Result<Json<Map<String, Value>>, ApiError> {
    let group = state.store().get_group(&app.tenant, &app.group).await.map_err(store_error)?;
    rendered(&group).map(Json).ok_or_else(|| ApiError::Cf {
        status: StatusCode::NOT_FOUND,
        code: "Not Found",
        message: "Policy Not Found".to_string(),
    })
}

/// Validates a policy as Cloud Foundry does and sets it; answers it normalised.
pub async fn put(
    app: CfApp,
    State(state): State<AppState>,
    CfBody(body): CfBody,
) -> Result<Json<Map<String, Value>>, ApiError> {
    let value: Value = serde_json::from_slice(&body).map_err(|err| {
        ApiError::CfPolicy(vec![PolicyError { context: "(root)".to_string(), description: err.to_string() }])
    })?;
    let policy = cf_policy::parse(&value, state.now(), &state.config.threshold_ranges).map_err(ApiError::CfPolicy)?;
    let group = state.engine.set_rules_policy(&app.tenant, &app.group, policy).await.map_err(store_error)?;
    rendered(&group).map(Json).ok_or_else(|| ApiError::Internal("a policy just set is not there".to_string()))
}

/// Deletes the policy: metric scaling stops, windows go, the group and its members stay.
/// `{}` whether or not there was one.
pub async fn delete(app: CfApp, State(state): State<AppState>) -> Result<Json<Map<String, Value>>, ApiError> {
    state.engine.delete_rules_policy(&app.tenant, &app.group).await.map_err(store_error)?;
    Ok(Json(Map::new()))
}
