//! Policies: create (in batches), list, show, replace, delete, and execute.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ebb_core::capacity::Refusal;
use ebb_core::json as checks;
use ebb_core::limits::PAGE_LIMIT;
use ebb_core::policy::{Origin, Policy};
use ebb_engine::engine::PolicyBody;
use ebb_store::Execution;
use serde_json::Value;

use super::{GroupPath, Ids, PolicyPath, view};
use crate::body::{JsonBody, QueryArgs};
use crate::error::ApiError;
use crate::links;
use crate::state::AppState;
use crate::wire;

/// A batch body: a JSON array of 1 to 100 items.
pub fn batch<'v>(body: &'v Value, what: &str) -> Result<&'v [Value], ApiError> {
    let items = checks::array(body, "", PAGE_LIMIT)
        .map_err(|_| ApiError::Validation(format!("the body must be an array of 1 to {PAGE_LIMIT} {what}")))?;
    if items.is_empty() {
        return Err(ApiError::Validation(format!("the body must be an array of 1 to {PAGE_LIMIT} {what}, not []")));
    }
    Ok(items)
}

/// `POST .../groups/{group}/policies`: all of the batch, or none.
pub async fn create(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let items = batch(&body, "policies")?;
    let now = state.now();
    let mut bodies = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let policy = Policy::parse(item, &format!("[{index}]"), Origin::Submitted(now))?;
        bodies.push(PolicyBody { body: item.clone(), policy });
    }
    let created = state
        .engine
        .create_policies(&path.tenant, &path.group, bodies, state.config.limits)
        .await
        .map_err(|err| path.scope().error(err))?;
    let location = state.links.policies(&path.tenant, &path.group);
    let policies = created.iter().map(|p| view::policy(&state.links, &path.tenant, p)).collect();
    let body = wire::PolicyList { policies, policies_links: None };
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

/// `GET .../groups/{group}/policies`.
pub async fn list(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    args: QueryArgs,
) -> Result<Json<wire::PolicyList>, ApiError> {
    let page = links::page(&args, PAGE_LIMIT)?;
    let policies = state
        .store()
        .list_policies(&path.tenant, &path.group, Some(&page))
        .await
        .map_err(|err| path.scope().error(err))?;
    let next = links::next_links(
        &state.links.policies(&path.tenant, &path.group),
        &page,
        policies.last().map(|p| p.id.as_str()),
        policies.len(),
    );
    Ok(Json(wire::PolicyList {
        policies: policies.iter().map(|p| view::policy(&state.links, &path.tenant, p)).collect(),
        policies_links: Some(next),
    }))
}

/// `GET .../policies/{policy}`.
pub async fn show(
    State(state): State<AppState>,
    Ids(path): Ids<PolicyPath>,
) -> Result<Json<wire::PolicyAnswer>, ApiError> {
    let policy = state
        .store()
        .get_policy(&path.tenant, &path.group, &path.policy)
        .await
        .map_err(|err| path.scope().error(err))?;
    Ok(Json(wire::PolicyAnswer { policy: view::policy(&state.links, &path.tenant, &policy) }))
}

/// `PUT .../policies/{policy}`: a full body of the same type.
pub async fn replace(
    State(state): State<AppState>,
    Ids(path): Ids<PolicyPath>,
    JsonBody(body): JsonBody,
) -> Result<StatusCode, ApiError> {
    let store = state.store();
    let current =
        store.get_policy(&path.tenant, &path.group, &path.policy).await.map_err(|err| path.scope().error(err))?;
    let policy = Policy::parse_replacement(&body, &current.policy, state.now())?;
    state
        .engine
        .replace_policy(&path.tenant, &path.group, &path.policy, PolicyBody { body, policy })
        .await
        .map_err(|err| path.scope().error(err))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE .../policies/{policy}`: its webhooks go with it.
pub async fn delete(State(state): State<AppState>, Ids(path): Ids<PolicyPath>) -> Result<StatusCode, ApiError> {
    state.engine.delete_policy(&path.tenant, &path.group, &path.policy).await.map_err(|err| path.scope().error(err))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST .../policies/{policy}/execute`: 202 `{}` when desired capacity changed.
pub async fn execute(State(state): State<AppState>, Ids(path): Ids<PolicyPath>) -> Result<Response, ApiError> {
    let execution = state
        .engine
        .execute_policy(&path.tenant, &path.group, &path.policy)
        .await
        .map_err(|err| path.scope().error(err))?;
    let PolicyPath { tenant: t, group: g, policy: p } = &path;
    let refusal = |why: &str| {
        ApiError::otter(
            StatusCode::FORBIDDEN,
            "CannotExecutePolicyError",
            format!("Cannot execute scaling policy {p} for group {g} for tenant {t}: {why}"),
        )
    };
    match execution {
        Execution::Scaled { .. } => Ok((StatusCode::ACCEPTED, Json(wire::Empty {})).into_response()),
        Execution::Refused(Refusal::Cooldown) => Err(refusal("Cooldowns not met.")),
        Execution::Refused(Refusal::NoChange) => Err(refusal("No change in servers")),
        Execution::Refused(Refusal::NotExecutable) => {
            Err(refusal("a metric policy is evaluated on its metric, never executed"))
        }
        Execution::DirectionPaused(direction) => Err(ApiError::otter(
            StatusCode::FORBIDDEN,
            "GroupPausedError",
            format!(
                "Cannot execute policy {p} for group {g} for tenant {t} because scale-{} is paused",
                direction.as_str()
            ),
        )),
        Execution::Paused => Err(ApiError::otter(
            StatusCode::FORBIDDEN,
            "GroupPausedError",
            format!("Cannot execute policy {p} for group {g} for tenant {t} because group is paused"),
        )),
    }
}
