//! Groups: create, list, show, delete; their configuration, launch configuration and state;
//! pause, resume and converge; and their servers (members).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ebb_core::decide::Pause;
use ebb_core::group::{GroupConfig, Mode};
use ebb_core::ids::TenantId;
use ebb_core::json::{self as checks, Obj};
use ebb_core::launch::LaunchConfig;
use ebb_core::limits::PAGE_LIMIT;
use ebb_core::policy::{Origin, Policy};
use ebb_core::records::Direction;
use ebb_core::{Invalid, InvalidKind};
use ebb_engine::converger::Observation;
use ebb_engine::engine::{GroupRequest, PolicyBody, RemovalError};
use ebb_store::{Group, PolicyRecord};
use jiff::Timestamp;
use serde_json::Value;

use super::{GroupPath, Ids, ServerPath, TenantPath, view};
use crate::body::{JsonBody, QueryArgs};
use crate::error::{ApiError, Scope};
use crate::links::{self, Links, self_links};
use crate::state::AppState;
use crate::wire::{self, Link, Stored};

/// A validated `POST /groups` body.
struct CreateBody {
    config: GroupConfig,
    launch: LaunchConfig,
    policies: Vec<PolicyBody>,
}

/// Validates a `POST /groups` body in Otter's order: every shape check first, then
/// `minEntities <= maxEntities`, then cross-field rules such as ServiceNet.
fn parse_create(body: &Value, now: Timestamp) -> Result<CreateBody, Invalid> {
    let obj = Obj::new(body, "")?;
    obj.only(&["groupConfiguration", "launchConfiguration", "scalingPolicies"])?;
    let config = GroupConfig::parse(obj.required("groupConfiguration")?, "groupConfiguration", Mode::Create);
    let launch = LaunchConfig::parse(obj.required("launchConfiguration")?, "launchConfiguration");
    let mut policies = Vec::new();
    let mut policy_error = None;
    if let Some(list) = obj.get("scalingPolicies") {
        for (index, item) in checks::array(list, "scalingPolicies", PAGE_LIMIT)?.iter().enumerate() {
            match Policy::parse(item, &format!("scalingPolicies[{index}]"), Origin::Submitted(now)) {
                Ok(policy) => policies.push(PolicyBody { body: item.clone(), policy }),
                Err(err) => {
                    policy_error.get_or_insert(err);
                }
            }
        }
    }
    let errors = [config.as_ref().err(), launch.as_ref().err(), policy_error.as_ref()];
    for kind in [InvalidKind::Schema, InvalidKind::MinEntities, InvalidKind::Rule] {
        if let Some(err) = errors.iter().flatten().find(|err| err.kind == kind) {
            return Err((*err).clone());
        }
    }
    match (config, launch) {
        (Ok(config), Ok(launch)) => Ok(CreateBody { config, launch, policies }),
        (Err(err), _) | (_, Err(err)) => Err(err),
    }
}

/// The whole group document (`{"group": ...}` of create and show).
fn manifest(
    links: &Links,
    group: &Group,
    observation: &Observation,
    policies: &[PolicyRecord],
    webhooks: Option<Vec<Vec<wire::WebhookView>>>,
) -> wire::GroupAnswer {
    let tenant = &group.tenant_id;
    let mut webhooks = webhooks.map(Vec::into_iter);
    let scaling_policies = policies
        .iter()
        .map(|policy| {
            let mut view = view::policy(links, tenant, policy);
            if let Some(list) = webhooks.as_mut().and_then(Iterator::next) {
                view.webhooks = Some(list);
                view.webhooks_links = Some(vec![Link::new(links.webhooks(tenant, &group.id, &policy.id), "webhooks")]);
            }
            view
        })
        .collect();
    let policies_url = links.policies(tenant, &group.id);
    let mut scaling_policies_links = vec![Link::new(policies_url.clone(), "policies")];
    if policies.len() >= PAGE_LIMIT
        && let Some(last) = policies.get(PAGE_LIMIT - 1)
    {
        scaling_policies_links.push(Link::new(format!("{policies_url}?limit={PAGE_LIMIT}&marker={}", last.id), "next"));
    }
    wire::GroupAnswer {
        group: wire::GroupManifest {
            id: group.id.to_string(),
            links: self_links(links.group(tenant, &group.id)),
            group_configuration: GroupConfig::clone(&group.config),
            launch_configuration: Stored::new(group.launch.document.clone()),
            state: view::state(links, group, observation),
            scaling_policies,
            scaling_policies_links,
        },
    }
}

/// Refuses a `local_process` launch configuration the operator has not allowed the tenant.
async fn check_local_process(state: &AppState, tenant: &TenantId, launch: &LaunchConfig) -> Result<(), ApiError> {
    let Some(local) = &launch.local_process else { return Ok(()) };
    let scope = Scope { tenant: tenant.as_str(), ..Scope::default() };
    let grant = state.store().local_process(tenant).await.map_err(|err| scope.error(err))?;
    grant.check(tenant.as_str(), &local.process).map_err(ApiError::Forbidden)
}

/// The group named by the path.
async fn load(state: &AppState, path: &GroupPath) -> Result<Group, ApiError> {
    state.store().get_group(&path.tenant, &path.group).await.map_err(|err| path.scope().error(err))
}

/// `POST /v1.0/{tenant}/groups`.
pub async fn create(
    State(state): State<AppState>,
    Ids(path): Ids<TenantPath>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let parsed = parse_create(&body, state.now())?;
    check_local_process(&state, &path.tenant, &parsed.launch).await?;
    let new_group = GroupRequest {
        tenant_id: path.tenant.clone(),
        config: parsed.config,
        launch: parsed.launch,
        policies: parsed.policies,
    };
    let scope = Scope { tenant: path.tenant.as_str(), ..Scope::default() };
    let (group, policies) =
        state.engine.create_group(new_group, state.config.limits).await.map_err(|err| scope.error(err))?;
    let location = state.links.group(&group.tenant_id, &group.id);
    let body = manifest(&state.links, &group, &Observation::default(), &policies, None);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

/// `GET /v1.0/{tenant}/groups`.
pub async fn list(
    State(state): State<AppState>,
    Ids(path): Ids<TenantPath>,
    args: QueryArgs,
) -> Result<Json<wire::GroupList>, ApiError> {
    let page = links::page(&args, PAGE_LIMIT)?;
    let scope = Scope { tenant: path.tenant.as_str(), ..Scope::default() };
    let groups = state.store().list_groups(&path.tenant, &page).await.map_err(|err| scope.error(err))?;
    let next =
        links::next_links(&state.links.groups(&path.tenant), &page, groups.last().map(|g| g.id.as_str()), groups.len());
    Ok(Json(wire::GroupList {
        groups: groups.iter().map(|g| view::group_summary(&state.links, g, &state.engine.observation(&g.id))).collect(),
        groups_links: next,
    }))
}

/// `GET /v1.0/{tenant}/groups/{group}`; `?webhooks=true` embeds every policy's webhooks.
pub async fn show(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    args: QueryArgs,
) -> Result<Json<wire::GroupAnswer>, ApiError> {
    let store = state.store();
    let scope = path.scope();
    let group = store.get_group(&path.tenant, &path.group).await.map_err(|err| scope.error(err))?;
    let policies = store.list_policies(&path.tenant, &path.group, None).await.map_err(|err| scope.error(err))?;
    let webhooks = if args.flag("webhooks") {
        let mut all = Vec::with_capacity(policies.len());
        for policy in &policies {
            let list = store
                .list_webhooks(&path.tenant, &path.group, &policy.id, None)
                .await
                .map_err(|err| scope.error(err))?;
            all.push(
                list.iter()
                    .map(|webhook| view::webhook(&state.links, &path.tenant, &path.group, webhook, None))
                    .collect(),
            );
        }
        Some(all)
    } else {
        None
    };
    let observation = state.engine.observation(&group.id);
    Ok(Json(manifest(&state.links, &group, &observation, &policies, webhooks)))
}

/// `DELETE /v1.0/{tenant}/groups/{group}`; `?force=true` deletes a group that still has
/// a desired capacity.
pub async fn delete(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    args: QueryArgs,
) -> Result<StatusCode, ApiError> {
    let force = args.boolean("force", false)?;
    state.engine.delete_group(&path.tenant, &path.group, force).await.map_err(|err| path.scope().error(err))?;
    tracing::info!(tenant = %path.tenant, group = %path.group, force, "group deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1.0/{tenant}/groups/{group}/state`.
pub async fn get_state(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
) -> Result<Json<wire::StateAnswer>, ApiError> {
    let group = load(&state, &path).await?;
    Ok(Json(wire::StateAnswer { group: view::state(&state.links, &group, &state.engine.observation(&group.id)) }))
}

/// `GET /v1.0/{tenant}/groups/{group}/config`.
pub async fn get_config(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
) -> Result<Json<wire::ConfigAnswer>, ApiError> {
    let group = load(&state, &path).await?;
    Ok(Json(wire::ConfigAnswer { group_configuration: Arc::unwrap_or_clone(group.config) }))
}

/// `PUT /v1.0/{tenant}/groups/{group}/config`: every field required; desired capacity is
/// re-clamped to the new bounds.
pub async fn put_config(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    JsonBody(body): JsonBody,
) -> Result<StatusCode, ApiError> {
    let config = GroupConfig::parse(&body, "", Mode::Replace)?;
    let group =
        state.engine.replace_config(&path.tenant, &path.group, config).await.map_err(|err| path.scope().error(err))?;
    tracing::info!(tenant = %path.tenant, group = %path.group, desired = group.state.desired, "group config replaced");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1.0/{tenant}/groups/{group}/launch`.
pub async fn get_launch(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
) -> Result<Json<wire::LaunchAnswer>, ApiError> {
    let group = load(&state, &path).await?;
    Ok(Json(wire::LaunchAnswer { launch_configuration: Stored::new(Arc::unwrap_or_clone(group.launch).document) }))
}

/// `PUT /v1.0/{tenant}/groups/{group}/launch`: replaces the whole launch configuration.
pub async fn put_launch(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    JsonBody(body): JsonBody,
) -> Result<StatusCode, ApiError> {
    let launch = LaunchConfig::parse(&body, "")?;
    check_local_process(&state, &path.tenant, &launch).await?;
    state.engine.replace_launch(&path.tenant, &path.group, launch).await.map_err(|err| path.scope().error(err))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1.0/{tenant}/groups/{group}/pause`; `?direction=in` or `out` pauses only scaling
/// in or out (both, when the other one is paused already).
pub async fn pause(state: State<AppState>, path: Ids<GroupPath>, args: QueryArgs) -> Result<StatusCode, ApiError> {
    let pause = match args.get("direction") {
        None => Pause::All,
        Some(name) => Pause::Only(Direction::parse(name).ok_or_else(|| {
            ApiError::InvalidQueryArgument(format!(
                "Invalid \"direction\" query argument: \"{name}\". Must be \"in\" or \"out\"; without it both are paused"
            ))
        })?),
    };
    set_pause(state, path, pause).await
}

/// `POST /v1.0/{tenant}/groups/{group}/resume`: both directions.
pub async fn resume(state: State<AppState>, path: Ids<GroupPath>) -> Result<StatusCode, ApiError> {
    set_pause(state, path, Pause::Resume).await
}

async fn set_pause(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    pause: Pause,
) -> Result<StatusCode, ApiError> {
    state.engine.set_pause(&path.tenant, &path.group, pause).await.map_err(|err| path.scope().error(err))?;
    tracing::info!(tenant = %path.tenant, group = %path.group, ?pause, "group pause changed");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1.0/{tenant}/groups/{group}/converge`: refused while paused.
pub async fn converge(State(state): State<AppState>, Ids(path): Ids<GroupPath>) -> Result<StatusCode, ApiError> {
    let group = load(&state, &path).await?;
    if group.state.paused {
        return Err(ApiError::otter(
            StatusCode::FORBIDDEN,
            "GroupPausedError",
            format!("Cannot converge for group {} for tenant {} because group is paused", path.group, path.tenant),
        ));
    }
    state.engine.converge(&group.id);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET .../servers` and `GET .../servers/{server}`: not implemented, as in Otter.
pub async fn servers_not_implemented() -> ApiError {
    ApiError::otter(StatusCode::NOT_IMPLEMENTED, "NotImplementedError", "Listing servers is not implemented")
}

/// `DELETE /v1.0/{tenant}/groups/{group}/servers/{server}`: removes a member. `replace`
/// (default true) keeps desired capacity so a new member takes its place; `purge` (default
/// true) drains and stops it, while `purge=false` leaves it running, no longer managed.
pub async fn delete_server(
    State(state): State<AppState>,
    Ids(path): Ids<ServerPath>,
    args: QueryArgs,
) -> Result<StatusCode, ApiError> {
    let replace = args.boolean("replace", true)?;
    let purge = args.boolean("purge", true)?;
    let scope = Scope {
        tenant: path.tenant.as_str(),
        group: path.group.as_str(),
        member: path.server.as_str(),
        ..Scope::default()
    };
    state.engine.remove_member(&path.tenant, &path.group, &path.server, replace, purge).await.map_err(
        |err| match err {
            RemovalError::Store(err) => scope.error(err),
            RemovalError::Cloud(err) => {
                tracing::warn!(tenant = %path.tenant, group = %path.group, error = %err, "cannot remove a server");
                ApiError::Unavailable { retry_after: 5 }
            }
        },
    )?;
    tracing::info!(tenant = %path.tenant, group = %path.group, member = %path.server, replace, purge, "member removed");
    Ok(StatusCode::ACCEPTED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn shape_errors_come_before_bounds_and_bounds_before_servicenet() {
        let body = json!({
            "groupConfiguration": {"name": "g", "cooldown": 0, "minEntities": 5, "maxEntities": 1},
            "launchConfiguration": {"type": "launch_server", "args": {"server": {}}},
        });
        assert_eq!(parse_create(&body, now()).err().unwrap().kind, InvalidKind::Schema);
        let body = json!({
            "groupConfiguration": {"name": "g", "cooldown": 0, "minEntities": 5, "maxEntities": 1},
            "launchConfiguration": {"type": "launch_server", "args": {
                "server": {"flavorRef": "2", "imageRef": "i", "networks": []},
                "loadBalancers": [{"loadBalancerId": 1, "port": 80}]}},
        });
        assert_eq!(parse_create(&body, now()).err().unwrap().kind, InvalidKind::MinEntities);
    }
}
