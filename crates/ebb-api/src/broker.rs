//! The service broker: Ebb's autoscaler offered as a service through the Open Service Broker
//! API v2 (`/v2/...`), as Cloud Foundry offers its App Autoscaler (`cf-app-autoscaler.md`
//! §3.7). A service instance may carry a default policy; binding it to an app (a group, named
//! by `app_guid`) attaches the policy given in the binding's parameters, or the default.
//!
//! The broker is the platform's, not a tenant's: it has its own HTTP Basic credentials, set
//! by the operator, and may bind any group. Without them configured, every `/v2` route
//! answers 404.

use axum::Json;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use ebb_core::cf_policy::{self, CfPolicy};
use ebb_engine::broker::Bound;
use ebb_store::{Created, ServiceInstance, StoreError};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::body::QueryArgs;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire;

/// The id of the catalog's one service.
pub const SERVICE_ID: &str = "6d0b1a3c-5c1e-4b8e-9f53-6a1f3e2b7c40";
/// The id of its one plan.
pub const PLAN_ID: &str = "b1c7e2d4-3a5f-4e6b-8c9d-0f1a2b3c4d5e";

/// The broker's own credentials, set by the operator.
#[derive(Debug, Clone)]
pub struct BrokerAccount {
    /// The user name.
    pub username: String,
    /// SHA-256 (lowercase hex) of the password.
    pub password_hash: String,
}

fn empty() -> Json<Map<String, Value>> {
    Json(Map::new())
}

fn bad_request(code: Option<&'static str>, description: impl Into<String>) -> ApiError {
    ApiError::broker(StatusCode::BAD_REQUEST, code, description)
}

/// Lets through requests with the broker's credentials and a supported
/// `X-Broker-API-Version` (2.x), as the Open Service Broker API asks.
pub async fn require_broker(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let Some(account) = &state.config.broker else {
        return Err(ApiError::broker(
            StatusCode::NOT_FOUND,
            None,
            "the service broker is not enabled on this server (see --broker-username)",
        ));
    };
    let authorized = crate::cf::app::basic_credentials(request.headers()).is_some_and(|(user, password)| {
        user == account.username && ebb_core::secret::hash(&password) == account.password_hash
    });
    if !authorized {
        return Err(ApiError::broker(StatusCode::UNAUTHORIZED, None, "Unauthorized"));
    }
    check_version(request.headers())?;
    Ok(next.run(request).await)
}

fn check_version(headers: &HeaderMap) -> Result<(), ApiError> {
    let failed = |description: &str| ApiError::broker(StatusCode::PRECONDITION_FAILED, None, description);
    let Some(version) = headers.get("x-broker-api-version") else {
        return Err(failed("X-Broker-API-Version Header not set"));
    };
    match version.to_str().ok().and_then(|v| v.trim().split('.').next()) {
        Some("2") => Ok(()),
        _ => Err(failed("X-Broker-API-Version Header must be 2.x")),
    }
}

/// A broker request's JSON body, in the broker's error shape when it is not what it should be.
pub struct BrokerBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for BrokerBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = crate::body::read_limited(request).await.map_err(|err| match err {
            ApiError::PayloadTooLarge { .. } => ApiError::broker(StatusCode::PAYLOAD_TOO_LARGE, None, err.to_string()),
            other => bad_request(None, other.to_string()),
        })?;
        serde_json::from_slice(&bytes).map(BrokerBody).map_err(|err| bad_request(None, format!("request body: {err}")))
    }
}

/// `PUT /v2/service_instances/{id}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ProvisionRequest {
    /// The catalog's service.
    pub service_id: String,
    /// The catalog's plan.
    pub plan_id: String,
    /// The platform's organization.
    pub organization_guid: String,
    /// The platform's space.
    pub space_guid: String,
    /// `{"default_policy": {...}}`: the policy of groups bound without one of their own.
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
}

/// `PATCH /v2/service_instances/{id}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct UpdateRequest {
    /// The catalog's service.
    pub service_id: String,
    /// The catalog's plan, when it changes.
    #[serde(default)]
    pub plan_id: Option<String>,
    /// `{"default_policy": {...}}` replaces the default policy; `{"default_policy": {}}`
    /// removes it; without `default_policy` it stays.
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
}

/// `PUT /v2/service_instances/{id}/service_bindings/{binding}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct BindRequest {
    /// The catalog's service.
    pub service_id: String,
    /// The catalog's plan.
    pub plan_id: String,
    /// The app (group) to bind, in the request's older place.
    #[serde(default)]
    pub app_guid: Option<String>,
    /// The app (group) to bind.
    #[serde(default)]
    pub bind_resource: Option<BindResource>,
    /// The group's policy (Cloud Foundry's document); without one, the instance's default.
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
}

/// What a binding is for.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct BindResource {
    /// The app (group).
    #[serde(default)]
    pub app_guid: Option<String>,
}

fn check_catalog(service_id: &str, plan_id: Option<&str>) -> Result<(), ApiError> {
    if service_id != SERVICE_ID {
        return Err(bad_request(None, format!("unknown service_id {service_id:?}: the catalog's is {SERVICE_ID}")));
    }
    match plan_id {
        Some(plan) if plan != PLAN_ID => {
            Err(bad_request(None, format!("unknown plan_id {plan:?}: the catalog's is {PLAN_ID}")))
        }
        _ => Ok(()),
    }
}

/// A policy validated as the policy API validates it; its errors in Cloud Foundry's words.
fn policy(state: &AppState, document: &Value) -> Result<CfPolicy, ApiError> {
    cf_policy::parse(document, state.now(), &state.config.threshold_ranges).map_err(|errors| {
        let listed = serde_json::to_string(&errors).unwrap_or_default();
        bad_request(Some("InvalidPolicy"), format!("invalid policy provided: {listed}"))
    })
}

/// The `default_policy` parameter: absent (`None`), removed (`Some(None)`: `{}`), or a policy.
fn default_policy(
    state: &AppState,
    parameters: Option<&Map<String, Value>>,
) -> Result<Option<Option<CfPolicy>>, ApiError> {
    match parameters.and_then(|p| p.get("default_policy")) {
        None => Ok(None),
        Some(Value::Object(empty)) if empty.is_empty() => Ok(Some(None)),
        Some(document @ Value::Object(_)) => policy(state, document).map(|p| Some(Some(p))),
        Some(_) => Err(bad_request(Some("InvalidPolicy"), "default_policy must be a JSON object")),
    }
}

/// The catalog: one service with one plan.
pub async fn catalog() -> Json<wire::BrokerCatalog> {
    Json(wire::BrokerCatalog {
        services: vec![wire::BrokerService {
            id: SERVICE_ID.to_string(),
            name: "autoscaler".to_string(),
            description: "Automatically scale your application horizontally, on metrics and on schedules".to_string(),
            bindable: true,
            plan_updateable: false,
            instances_retrievable: false,
            bindings_retrievable: false,
            tags: vec!["autoscaler".to_string()],
            plans: vec![wire::BrokerPlan {
                id: PLAN_ID.to_string(),
                name: "standard".to_string(),
                description: "Scaling rules, schedules and custom metrics".to_string(),
                free: true,
            }],
        }],
    })
}

/// Provisions an instance: 201 when new, 200 when the same one exists, 409 when another does.
pub async fn provision(
    State(state): State<AppState>,
    Path(id): Path<String>,
    BrokerBody(request): BrokerBody<ProvisionRequest>,
) -> Result<(StatusCode, Json<Map<String, Value>>), ApiError> {
    check_catalog(&request.service_id, Some(&request.plan_id))?;
    let default_policy = default_policy(&state, request.parameters.as_ref())?.flatten();
    let instance = ServiceInstance {
        id,
        service_id: request.service_id,
        plan_id: request.plan_id,
        organization_guid: request.organization_guid,
        space_guid: request.space_guid,
        default_policy,
        created_at: state.now(),
    };
    match state.engine.provision(instance.clone()).await.map_err(broker_error)? {
        Created::New(_) => Ok((StatusCode::CREATED, empty())),
        Created::Existing(existing) if ServiceInstance { created_at: existing.created_at, ..instance } == existing => {
            Ok((StatusCode::OK, empty()))
        }
        Created::Existing(_) => Ok((StatusCode::CONFLICT, empty())),
    }
}

/// Updates an instance's default policy; the groups that follow it follow the new one.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    BrokerBody(request): BrokerBody<UpdateRequest>,
) -> Result<Json<Map<String, Value>>, ApiError> {
    check_catalog(&request.service_id, request.plan_id.as_deref())?;
    let Some(default_policy) = default_policy(&state, request.parameters.as_ref())? else {
        // Nothing to change, once the instance is known to exist.
        return match state.store().service_instance(&id).await.map_err(broker_error)? {
            Some(_) => Ok(empty()),
            None => Err(broker_error(StoreError::ServiceInstanceNotFound)),
        };
    };
    let changed = state.engine.set_default_policy(&id, default_policy).await.map_err(broker_error)?;
    tracing::info!(instance = %id, groups = changed.len(), "default policy changed");
    Ok(empty())
}

/// Deprovisions an instance: 200, or 410 when there is none; 422 while groups are bound.
pub async fn deprovision(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryArgs(query): QueryArgs,
) -> Result<(StatusCode, Json<Map<String, Value>>), ApiError> {
    let service_id = query.get("service_id").ok_or_else(|| bad_request(None, "service_id is required"))?;
    check_catalog(service_id, query.get("plan_id").map(String::as_str))?;
    match state.engine.deprovision(&id).await.map_err(broker_error)? {
        true => Ok((StatusCode::OK, empty())),
        false => Ok((StatusCode::GONE, empty())),
    }
}

/// Binds a group: 201 with its metric credential; 200 (with a new one) when the same binding
/// exists; 409 when the id is another binding's or the group is bound already.
pub async fn bind(
    State(state): State<AppState>,
    Path((instance, id)): Path<(String, String)>,
    BrokerBody(request): BrokerBody<BindRequest>,
) -> Result<(StatusCode, Json<wire::BrokerBinding>), ApiError> {
    check_catalog(&request.service_id, Some(&request.plan_id))?;
    let app = request.bind_resource.and_then(|r| r.app_guid).or(request.app_guid).ok_or_else(|| {
        ApiError::broker(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("RequiresApp"),
            "This service supports generation of credentials through binding an application only.",
        )
    })?;
    let mut parameters = request.parameters.unwrap_or_default();
    match parameters.remove("credential-type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind == "binding-secret" => {}
        Some(other) => {
            return Err(bad_request(None, format!("credential-type {other} is not supported: only binding-secret")));
        }
    }
    // Only `configuration` (who may submit custom metrics) is no policy: the default applies.
    let policy = match parameters.keys().any(|key| key != "configuration") {
        true => Some(policy(&state, &Value::Object(parameters))?),
        false => None,
    };
    let (credential, password) = crate::cf::credential::generate()?;
    let username = credential.username.clone();
    let group = ebb_core::ids::GroupId::from(app.clone());
    let bound = state.engine.bind(&id, &instance, &group, policy, credential).await.map_err(|err| match err {
        StoreError::GroupNotFound => bad_request(None, format!("app_guid {app} names no scaling group")),
        StoreError::GroupBound => ApiError::broker(
            StatusCode::CONFLICT,
            None,
            "An autoscaler service instance is already bound to the application. Multiple bindings are not supported.",
        ),
        other => broker_error(other),
    })?;
    let status = match bound {
        Bound::Bound(Created::New(_)) => StatusCode::CREATED,
        Bound::Bound(Created::Existing(_)) => StatusCode::OK,
        Bound::Conflict(_) => {
            return Err(ApiError::broker(
                StatusCode::CONFLICT,
                None,
                format!("binding {id} exists with other attributes"),
            ));
        }
    };
    let url = state.config.public_url.trim_end_matches('/').to_string();
    let custom_metrics = wire::BrokerMetricCredential { username, password, url };
    Ok((status, Json(wire::BrokerBinding { credentials: wire::BrokerCredentials { custom_metrics } })))
}

/// Unbinds a group, removing its policy and metric credential: 200, or 410 when there is no
/// such binding.
pub async fn unbind(
    State(state): State<AppState>,
    Path((instance, id)): Path<(String, String)>,
    QueryArgs(query): QueryArgs,
) -> Result<(StatusCode, Json<Map<String, Value>>), ApiError> {
    let service_id = query.get("service_id").ok_or_else(|| bad_request(None, "service_id is required"))?;
    check_catalog(service_id, query.get("plan_id").map(String::as_str))?;
    match state.engine.unbind(&instance, &id).await.map_err(broker_error)? {
        Some(_) => Ok((StatusCode::OK, empty())),
        None => Ok((StatusCode::GONE, empty())),
    }
}

/// A store error in the broker's shape.
fn broker_error(err: StoreError) -> ApiError {
    match err {
        StoreError::ServiceInstanceNotFound => {
            ApiError::broker(StatusCode::NOT_FOUND, None, "no such service instance")
        }
        StoreError::ServiceInstanceBound => ApiError::broker(
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            "the service instance still has bindings: unbind every app first",
        ),
        StoreError::GroupNotFound => ApiError::broker(StatusCode::NOT_FOUND, None, "no such scaling group"),
        // Busy stays 503 with Retry-After; backend failures stay 500s, logged once.
        other => crate::error::Scope::default().error(other),
    }
}
