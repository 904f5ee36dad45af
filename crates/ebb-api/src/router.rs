//! The route table: every endpoint once, with its method, path, summary, who may call it
//! and its success status. Both the router and the OpenAPI document are built from it, so
//! the document cannot drift from what is served.

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, Uri};
use axum::middleware;
use axum::routing::{MethodFilter, MethodRouter, on};
use serde_json::{Map, Value, json};
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};

use crate::error::ApiError;
use crate::otter::{groups, limits, members, policies, schedules, webhooks};
use crate::state::AppState;
use crate::{admin, auth, observe, ops};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, metrics, the OpenAPI document, capability URLs.
    Public,
    /// The operator or a token of the tenant in the path (`admin` to write).
    Tenant,
    /// Only the operator.
    Operator,
}

/// One endpoint.
pub struct Route {
    /// Its method.
    pub method: Method,
    /// Its path pattern (axum syntax, no trailing slash; a trailing slash is accepted too).
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Its success status.
    pub success: u16,
    /// Whether it takes a JSON body.
    pub body: bool,
    handler: MethodRouter<AppState>,
}

fn route<H, T>(
    method: Method,
    path: &'static str,
    summary: &'static str,
    access: Access,
    success: u16,
    handler: H,
) -> Route
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
    Route { method, path, summary, access, success, body: false, handler: on(filter, handler) }
}

impl Route {
    /// Marks the route as taking a JSON body.
    fn json_body(mut self) -> Self {
        self.body = true;
        self
    }
}

/// Every route of the API, one per line.
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::{Operator, Public, Tenant};
    use Method as M;
    vec![
        route(M::GET, "/health", "Health of the service and its store", Public, 200, ops::health),
        route(M::GET, "/metrics", "Prometheus metrics", Public, 200, ops::metrics),
        route(M::GET, "/openapi.json", "This document", Public, 200, ops::openapi),
        route(M::POST, "/admin/v1/tenants", "Create a tenant", Operator, 201, admin::create_tenant).json_body(),
        route(M::GET, "/admin/v1/tenants", "List tenants", Operator, 200, admin::list_tenants),
        route(M::POST, "/admin/v1/tenants/{tenant}/tokens", "Create a token of a tenant; its secret is shown once", Operator, 201, admin::create_token).json_body(),
        route(M::DELETE, "/admin/v1/tenants/{tenant}/tokens/{token}", "Revoke a token", Operator, 204, admin::delete_token),
        route(M::GET, "/admin/v1/tenants/{tenant}/local-process", "What a tenant may run as local_process members", Operator, 200, admin::get_local_process),
        route(M::PUT, "/admin/v1/tenants/{tenant}/local-process", "Allow or forbid a tenant local_process members, optionally only some commands and working directories", Operator, 200, admin::put_local_process).json_body(),
        route(M::GET, "/v1.0/{tenant}/limits", "Absolute limits (XML when Accept contains xml)", Tenant, 200, limits::limits),
        route(M::GET, "/v1.0/{tenant}/schedules", "Schedule policies with their next fire times; ?group=", Tenant, 200, schedules::list),
        route(M::GET, "/v1.0/{tenant}/groups", "List groups with their state", Tenant, 200, groups::list),
        route(M::POST, "/v1.0/{tenant}/groups", "Create a group, optionally with policies", Tenant, 201, groups::create).json_body(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}", "Show a group; ?webhooks=true embeds webhooks", Tenant, 200, groups::show),
        route(M::DELETE, "/v1.0/{tenant}/groups/{group}", "Delete a group; ?force=true when it has members", Tenant, 204, groups::delete),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/state", "A group's state", Tenant, 200, groups::get_state),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/config", "A group's configuration", Tenant, 200, groups::get_config),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/config", "Replace a group's configuration", Tenant, 204, groups::put_config).json_body(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/launch", "A group's launch configuration", Tenant, 200, groups::get_launch),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/launch", "Replace a group's launch configuration", Tenant, 204, groups::put_launch).json_body(),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/pause", "Pause a group", Tenant, 204, groups::pause),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/resume", "Resume a group", Tenant, 204, groups::resume),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/converge", "Converge a group now", Tenant, 204, groups::converge),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/servers", "Not implemented", Tenant, 501, groups::servers_not_implemented),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/servers/{server}", "Not implemented", Tenant, 501, groups::servers_not_implemented),
        route(M::DELETE, "/v1.0/{tenant}/groups/{group}/servers/{server}", "Remove a member; ?replace= and ?purge=", Tenant, 202, groups::delete_server),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/members", "List the group's members with their status", Tenant, 200, members::list),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/members/{member}/logs", "A member's output; ?tail=N lines (200)", Tenant, 200, members::logs),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/windows", "The group's time windows and the one in force", Tenant, 200, schedules::get_windows),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/windows", "Replace the group's time windows (Cloud Foundry schedules format; null removes)", Tenant, 200, schedules::put_windows).json_body(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/events", "What happened to the group (schedule firings and skips); ?limit=", Tenant, 200, schedules::events),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/stats", "Traffic statistics of the group's load balancers", Tenant, 200, members::stats),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/policies", "List policies", Tenant, 200, policies::list),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/policies", "Create policies (a JSON array)", Tenant, 201, policies::create).json_body(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/policies/{policy}", "Show a policy", Tenant, 200, policies::show),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/policies/{policy}", "Replace a policy (same type)", Tenant, 204, policies::replace).json_body(),
        route(M::DELETE, "/v1.0/{tenant}/groups/{group}/policies/{policy}", "Delete a policy and its webhooks", Tenant, 204, policies::delete),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/policies/{policy}/execute", "Execute a policy now", Tenant, 202, policies::execute),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks", "List webhooks", Tenant, 200, webhooks::list),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks", "Create webhooks (a JSON array); capability URLs are shown once", Tenant, 201, webhooks::create).json_body(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks/{webhook}", "Show a webhook", Tenant, 200, webhooks::show),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks/{webhook}", "Replace a webhook's name and metadata", Tenant, 204, webhooks::replace).json_body(),
        route(M::DELETE, "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks/{webhook}", "Delete a webhook", Tenant, 204, webhooks::delete),
        route(M::POST, "/v1.0/execute/{version}/{secret}", "Execute through a capability URL (always 202)", Public, 202, webhooks::execute_capability),
    ]
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_string())
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// The API router (paths without trailing slashes).
pub fn router(state: AppState) -> Router {
    let mut public = Router::new();
    let mut tenant = Router::new();
    let mut operator = Router::new();
    for route in routes() {
        match route.access {
            Access::Public => public = public.route(route.path, route.handler),
            Access::Tenant => tenant = tenant.route(route.path, route.handler),
            Access::Operator => operator = operator.route(route.path, route.handler),
        }
    }
    let tenant = tenant.route_layer(middleware::from_fn_with_state(state.clone(), auth::require_tenant));
    let operator = operator.route_layer(middleware::from_fn_with_state(state.clone(), auth::require_operator));
    public
        .merge(tenant)
        .merge(operator)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(|_panic| {
            axum::response::IntoResponse::into_response(ApiError::Internal("a request handler panicked".to_string()))
        }))
        .layer(middleware::from_fn_with_state(state.clone(), observe::observe))
        .with_state(state)
}

/// The service to serve: the router behind trailing-slash normalisation, so every route
/// answers with and without a trailing slash.
pub fn app(state: AppState) -> NormalizePath<Router> {
    NormalizePathLayer::trim_trailing_slash().layer(router(state))
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = axum::ServiceExt::<Request>::into_make_service(app(state));
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}

/// The OpenAPI 3.1 document of [`routes`].
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for route in routes() {
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": route.summary,
            "operationId": format!("{} {}", route.method, route.path),
            "parameters": params,
            "responses": {
                route.success.to_string(): {"description": "success"},
                "default": {"description": "an error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
        if route.body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {}}}});
        }
        match route.access {
            Access::Public => operation["security"] = json!([]),
            Access::Tenant => operation["security"] = json!([{"bearer": []}, {"authToken": []}]),
            Access::Operator => operation["security"] = json!([{"bearer": []}]),
        }
        let item = paths.entry(route.path.to_string()).or_insert_with(|| Value::Object(Map::new()));
        item[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Ebb", "version": env!("CARGO_PKG_VERSION"), "description": "The Ebb autoscaler: the Auto Scale API v1.0 and the operator's admin API. Every path also accepts a trailing slash."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "authToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
            },
            "schemas": {"Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {
                    "type": "object",
                    "required": ["type", "code", "message", "details"],
                    "properties": {
                        "type": {"type": "string"},
                        "code": {"type": "integer"},
                        "message": {"type": "string"},
                        "details": {"type": "string"},
                    },
                }},
            }},
        },
    })
}
