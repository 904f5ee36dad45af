//! The route table: every endpoint once, with its method, path, summary, who may call it,
//! its success status, its query parameters and the types of its request and answer. Both the
//! router and the OpenAPI document are built from it, so the document cannot drift from what
//! is served; the body schemas are derived (`schemars`) from the very types the handlers
//! read (`ebb_core::documents`) and write (`wire`).

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, Uri};
use axum::middleware;
use axum::routing::{MethodFilter, MethodRouter, on};
use serde_json::{Map, Value, json};
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};

use ebb_core::documents;
use ebb_core::grant::LocalProcessGrant;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::error::ApiError;
use crate::otter::{collectors, explain, groups, history, limits, members, policies, samples, schedules, webhooks};
use crate::state::AppState;
use crate::wire;
use crate::{admin, auth, broker, cf, observe, ops};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, metrics, the OpenAPI document, capability URLs.
    Public,
    /// The operator or a token of the tenant in the path (`admin` to write).
    Tenant,
    /// Only the operator.
    Operator,
    /// Cloud Foundry routes: the operator or a token of the tenant owning the group `{appId}`
    /// (`admin` to write), checked by the handler's [`crate::cf::app::CfApp`].
    App,
    /// The service broker (`/v2`): the broker's own HTTP Basic credentials
    /// ([`crate::broker::require_broker`]).
    Broker,
    /// What a group's members may call: the group's metric credential over HTTP Basic, or
    /// what `Tenant` accepts ([`crate::auth::require_member`]).
    Member,
}

/// Adds the schema of a type to a generator and returns a reference to it.
type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
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
    /// The type of its JSON body, if it takes one.
    request: Option<SchemaOf>,
    /// The type of its JSON answer, if it has one.
    response: Option<SchemaOf>,
    /// Its query parameters: name, JSON type, meaning.
    query: &'static [(&'static str, &'static str, &'static str)],
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
    Route {
        method,
        path,
        summary,
        access,
        success,
        request: None,
        response: None,
        query: &[],
        handler: on(filter, handler),
    }
}

impl Route {
    /// The route takes a JSON body of type `T`.
    fn json_body<T: JsonSchema>(mut self) -> Self {
        self.request = Some(schema_of::<T>);
        self
    }

    /// The route answers with JSON of type `T`.
    fn returns<T: JsonSchema>(mut self) -> Self {
        self.response = Some(schema_of::<T>);
        self
    }

    /// The route takes these query parameters.
    fn query(mut self, parameters: &'static [(&'static str, &'static str, &'static str)]) -> Self {
        self.query = parameters;
        self
    }

    /// Whether it takes a JSON body.
    pub fn has_body(&self) -> bool {
        self.request.is_some()
    }
}

/// The history's pagination and filters.
const HISTORY: &[(&str, &str, &str)] = &[
    ("limit", "integer", "At most this many entries, 1 to 100 (larger is taken as 100)"),
    ("marker", "string", "Only entries older than the one with this id"),
    ("since", "string", "Only entries at or after this RFC 3339 time"),
    ("until", "string", "Only entries before this RFC 3339 time"),
    ("source", "string", "Only entries of this source"),
];

/// Cloud Foundry's history query parameters.
const CF_HISTORY: &[(&str, &str, &str)] = &[
    ("start-time", "integer", "From this time, in nanoseconds since the epoch (0)"),
    ("end-time", "integer", "Until this time, inclusive, in nanoseconds since the epoch (-1: now)"),
    ("order-direction", "string", "asc or desc (desc); `order` is taken when this is absent"),
    ("page", "integer", "The page, from 1 (1)"),
    ("results-per-page", "integer", "Results per page (50)"),
];

/// The catalog ids a service broker's `DELETE` names.
const BROKER_QUERY: &[(&str, &str, &str)] =
    &[("service_id", "string", "The catalog's service (required)"), ("plan_id", "string", "The catalog's plan")];

/// `limit` and `marker` of paginated lists.
const PAGE: &[(&str, &str, &str)] = &[
    ("limit", "integer", "At most this many items, 1 to 100 (larger is taken as 100)"),
    ("marker", "string", "Only items after the one with this id"),
];

/// Every route of the API, one per line.
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::{App, Broker, Member, Operator, Public, Tenant};
    use Method as M;
    vec![
        route(M::GET, "/health", "Health of the service and its store", Public, 200, ops::health).returns::<wire::Health>(),
        route(M::GET, "/metrics", "Prometheus metrics", Public, 200, ops::metrics),
        route(M::GET, "/openapi.json", "This document", Public, 200, ops::openapi).returns::<serde_json::Map<String, serde_json::Value>>(),
        route(M::POST, "/admin/v1/tenants", "Create a tenant", Operator, 201, admin::create_tenant).json_body::<wire::NewTenant>().returns::<wire::TenantAnswer>(),
        route(M::GET, "/admin/v1/tenants", "List tenants", Operator, 200, admin::list_tenants).returns::<wire::TenantList>(),
        route(M::POST, "/admin/v1/tenants/{tenant}/tokens", "Create a token of a tenant; its secret is shown once", Operator, 201, admin::create_token).json_body::<wire::NewToken>().returns::<wire::TokenAnswer>(),
        route(M::DELETE, "/admin/v1/tenants/{tenant}/tokens/{token}", "Revoke a token", Operator, 204, admin::delete_token),
        route(M::GET, "/admin/v1/tenants/{tenant}/cloud", "A tenant's cloud settings (identity, user, region, project), never its API key or password", Operator, 200, admin::get_cloud).returns::<wire::CloudAnswer>(),
        route(M::PUT, "/admin/v1/tenants/{tenant}/cloud", "Replace a tenant's cloud settings: its identity endpoint, user, API key or password, region and project", Operator, 200, admin::put_cloud).json_body::<documents::CloudDocument>().returns::<wire::CloudAnswer>(),
        route(M::DELETE, "/admin/v1/tenants/{tenant}/cloud", "Remove a tenant's cloud settings", Operator, 204, admin::delete_cloud),
        route(M::GET, "/admin/v1/tenants/{tenant}/local-process", "What a tenant may run as local_process members", Operator, 200, admin::get_local_process).returns::<wire::GrantAnswer>(),
        route(M::PUT, "/admin/v1/tenants/{tenant}/local-process", "Allow or forbid a tenant local_process members, optionally only some commands and working directories", Operator, 200, admin::put_local_process).json_body::<LocalProcessGrant>().returns::<wire::GrantAnswer>(),
        route(M::GET, "/v1.0/{tenant}/limits", "Absolute limits (XML when Accept contains xml)", Tenant, 200, limits::limits).returns::<wire::LimitsAnswer>(),
        route(M::GET, "/v1.0/{tenant}/schedules", "Schedule policies with their next fire times; ?group=", Tenant, 200, schedules::list).returns::<wire::ScheduleList>().query(&[("group", "string", "Only this group's")]),
        route(M::POST, "/v1.0/{tenant}/metrics", "Submit many samples for many groups of the tenant at once", Tenant, 200, samples::post).json_body::<samples::SampleBatch>().returns::<wire::SamplesAnswer>(),
        route(M::GET, "/v1.0/{tenant}/groups", "List groups with their state", Tenant, 200, groups::list).returns::<wire::GroupList>().query(PAGE),
        route(M::POST, "/v1.0/{tenant}/groups", "Create a group, optionally with policies", Tenant, 201, groups::create).json_body::<documents::CreateGroupDocument>().returns::<wire::GroupAnswer>(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}", "Show a group; ?webhooks=true embeds webhooks", Tenant, 200, groups::show).returns::<wire::GroupAnswer>().query(&[("webhooks", "boolean", "Embed every policy's webhooks")]),
        route(M::DELETE, "/v1.0/{tenant}/groups/{group}", "Delete a group; ?force=true when it has members", Tenant, 204, groups::delete).query(&[("force", "boolean", "Delete even with a desired capacity")]),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/state", "A group's state", Tenant, 200, groups::get_state).returns::<wire::StateAnswer>(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/config", "A group's configuration", Tenant, 200, groups::get_config).returns::<wire::ConfigAnswer>(),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/config", "Replace a group's configuration", Tenant, 204, groups::put_config).json_body::<documents::GroupConfigDocument>(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/launch", "A group's launch configuration", Tenant, 200, groups::get_launch).returns::<wire::LaunchAnswer>(),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/launch", "Replace a group's launch configuration", Tenant, 204, groups::put_launch).json_body::<documents::LaunchDocument>(),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/pause", "Pause a group; ?direction=in or out pauses only scaling in or out", Tenant, 204, groups::pause).query(&[("direction", "string", "in or out: pause only that direction")]),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/resume", "Resume a group", Tenant, 204, groups::resume),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/converge", "Converge a group now", Tenant, 204, groups::converge),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/servers", "Not implemented", Tenant, 501, groups::servers_not_implemented),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/servers/{server}", "Not implemented", Tenant, 501, groups::servers_not_implemented),
        route(M::DELETE, "/v1.0/{tenant}/groups/{group}/servers/{server}", "Remove a member; ?replace= and ?purge=", Tenant, 202, groups::delete_server).query(&[("replace", "boolean", "A new member takes its place (default true)"), ("purge", "boolean", "Drain and stop it (default true); false leaves it running, unmanaged")]),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/members", "List the group's members with their status", Tenant, 200, members::list).returns::<wire::MemberList>(),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/members/{member}/vote", "Cast a member's vote for the group's votes policies: grow, shrink, or null to abstain", Member, 204, explain::vote).json_body::<wire::VoteDocument>(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/explain", "Why the group is at its size: each metric policy's inputs, proposal and limits, and which proposal won", Tenant, 200, explain::explain).returns::<wire::ExplainAnswer>(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/members/{member}/logs", "A member's output; ?tail=N lines (200)", Tenant, 200, members::logs).returns::<wire::LogsAnswer>().query(&[("tail", "integer", "The last this many lines (200; at most 10000)")]),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/windows", "The group's time windows and the one in force", Tenant, 200, schedules::get_windows).returns::<wire::WindowsAnswer>(),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/windows", "Replace the group's time windows (Cloud Foundry schedules format; null removes)", Tenant, 200, schedules::put_windows).json_body::<Option<documents::WindowsDocument>>().returns::<wire::WindowsAnswer>(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/events", "What happened to the group (schedule firings and skips); ?limit=", Tenant, 200, schedules::events).returns::<wire::EventList>().query(&[("limit", "integer", "At most this many events, 1 to 1000 (100)")]),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/history", "Every change of the group's desired capacity, and every execution that changed nothing, newest first", Tenant, 200, history::list).returns::<wire::HistoryList>().query(HISTORY),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/stats", "Traffic statistics of the group's load balancers", Tenant, 200, members::stats).returns::<wire::StatsAnswer>(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/collectors", "List collectors, secrets redacted, with how their reads are going", Tenant, 200, collectors::list).returns::<wire::CollectorList>().query(PAGE),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/collectors", "Create collectors (a JSON array): pulled signals stored as group-wide samples of their metric", Tenant, 201, collectors::create).json_body::<Vec<documents::CollectorDocument>>().returns::<wire::CollectorList>(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/collectors/{collector}", "Show a collector: its document, secrets redacted, and its last success, last error and failures in a row", Tenant, 200, collectors::show).returns::<wire::CollectorAnswer>(),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/collectors/{collector}", "Replace a collector (\"********\" keeps a stored secret)", Tenant, 200, collectors::replace).json_body::<documents::CollectorDocument>().returns::<wire::CollectorAnswer>(),
        route(M::DELETE, "/v1.0/{tenant}/groups/{group}/collectors/{collector}", "Delete a collector", Tenant, 204, collectors::delete),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/policies", "List policies", Tenant, 200, policies::list).returns::<wire::PolicyList>().query(PAGE),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/policies", "Create policies (a JSON array)", Tenant, 201, policies::create).json_body::<Vec<documents::PolicyDocument>>().returns::<wire::PolicyList>(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/policies/{policy}", "Show a policy", Tenant, 200, policies::show).returns::<wire::PolicyAnswer>(),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/policies/{policy}", "Replace a policy (same type)", Tenant, 204, policies::replace).json_body::<documents::PolicyDocument>(),
        route(M::DELETE, "/v1.0/{tenant}/groups/{group}/policies/{policy}", "Delete a policy and its webhooks", Tenant, 204, policies::delete),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/policies/{policy}/execute", "Execute a policy now", Tenant, 202, policies::execute).returns::<wire::Empty>(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks", "List webhooks", Tenant, 200, webhooks::list).returns::<wire::WebhookList>().query(PAGE),
        route(M::POST, "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks", "Create webhooks (a JSON array); capability URLs are shown once", Tenant, 201, webhooks::create).json_body::<Vec<documents::WebhookDocument>>().returns::<wire::WebhookList>(),
        route(M::GET, "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks/{webhook}", "Show a webhook", Tenant, 200, webhooks::show).returns::<wire::WebhookAnswer>(),
        route(M::PUT, "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks/{webhook}", "Replace a webhook's name and metadata", Tenant, 204, webhooks::replace).json_body::<documents::WebhookDocument>(),
        route(M::DELETE, "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks/{webhook}", "Delete a webhook", Tenant, 204, webhooks::delete),
        route(M::GET, "/v1/apps/{appId}/policy", "A group's Cloud Foundry policy (its bounds, windows and metric rules)", App, 200, cf::policy::get).returns::<serde_json::Map<String, serde_json::Value>>(),
        route(M::PUT, "/v1/apps/{appId}/policy", "Set a group's Cloud Foundry policy; answers it normalised", App, 200, cf::policy::put).json_body::<serde_json::Map<String, serde_json::Value>>().returns::<serde_json::Map<String, serde_json::Value>>(),
        route(M::DELETE, "/v1/apps/{appId}/policy", "Delete a group's Cloud Foundry policy (metric scaling stops; the group stays)", App, 200, cf::policy::delete).returns::<serde_json::Map<String, serde_json::Value>>(),
        route(M::GET, "/v1/apps/{appId}/scaling_histories", "Changes of the group's desired capacity, Cloud Foundry's way", App, 200, cf::history::scaling).returns::<wire::CfPage<wire::CfHistoryEntry>>().query(CF_HISTORY),
        route(M::GET, "/v1/apps/{appId}/aggregated_metric_histories/{metric_type}", "The group's value of a metric, minute by minute", App, 200, cf::history::aggregated).returns::<wire::CfPage<wire::CfMetricPoint>>().query(CF_HISTORY),
        route(M::GET, "/v1/apps/{appId}/metric_histories/{metric_type}", "Each member slot's value of a metric, minute by minute", App, 200, cf::history::per_instance).returns::<wire::CfPage<wire::CfMetricPoint>>().query(CF_HISTORY),
        route(M::PUT, "/v1/apps/{appId}/credential", "Create or rotate the group's metric credential (HTTP Basic for custom metrics); the password is shown once", App, 200, cf::credential::put).returns::<wire::CfCredentialAnswer>(),
        route(M::DELETE, "/v1/apps/{appId}/credential", "Revoke the group's metric credential", App, 200, cf::credential::delete).returns::<serde_json::Map<String, serde_json::Value>>(),
        route(M::GET, "/v2/catalog", "The service broker's catalog: Ebb's autoscaler and its plan", Broker, 200, broker::catalog).returns::<wire::BrokerCatalog>(),
        route(M::PUT, "/v2/service_instances/{instanceId}", "Provision a service instance, optionally with a default policy (201; 200 when the same exists; 409 when another does)", Broker, 201, broker::provision).json_body::<broker::ProvisionRequest>().returns::<serde_json::Map<String, serde_json::Value>>(),
        route(M::PATCH, "/v2/service_instances/{instanceId}", "Change a service instance's default policy (`{}` removes it); groups following it follow", Broker, 200, broker::update).json_body::<broker::UpdateRequest>().returns::<serde_json::Map<String, serde_json::Value>>(),
        route(M::DELETE, "/v2/service_instances/{instanceId}", "Deprovision a service instance without bindings (410 when there is none)", Broker, 200, broker::deprovision).returns::<serde_json::Map<String, serde_json::Value>>().query(BROKER_QUERY),
        route(M::PUT, "/v2/service_instances/{instanceId}/service_bindings/{bindingId}", "Bind a group (`app_guid`) with a policy in `parameters`, or the instance's default; answers its metric credential", Broker, 201, broker::bind).json_body::<broker::BindRequest>().returns::<wire::BrokerBinding>(),
        route(M::DELETE, "/v2/service_instances/{instanceId}/service_bindings/{bindingId}", "Unbind a group: its policy and metric credential go (410 when there is no such binding)", Broker, 200, broker::unbind).returns::<serde_json::Map<String, serde_json::Value>>().query(BROKER_QUERY),
        route(M::POST, "/v1/apps/{appId}/metrics", "Submit custom metrics of a member slot (a tenant token, or the group's metric credential over HTTP Basic)", App, 200, cf::metrics::post).json_body::<cf::metrics::CustomMetrics>(),
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
    let mut brokered = Router::new();
    let mut members = Router::new();
    for route in routes() {
        match route.access {
            Access::Public | Access::App => public = public.route(route.path, route.handler),
            Access::Tenant => tenant = tenant.route(route.path, route.handler),
            Access::Operator => operator = operator.route(route.path, route.handler),
            Access::Broker => brokered = brokered.route(route.path, route.handler),
            Access::Member => members = members.route(route.path, route.handler),
        }
    }
    let members = members.route_layer(middleware::from_fn_with_state(state.clone(), auth::require_member));
    let brokered = brokered.route_layer(middleware::from_fn_with_state(state.clone(), broker::require_broker));
    let tenant = tenant.route_layer(middleware::from_fn_with_state(state.clone(), auth::require_tenant));
    let operator = operator.route_layer(middleware::from_fn_with_state(state.clone(), auth::require_operator));
    public
        .merge(tenant)
        .merge(operator)
        .merge(brokered)
        .merge(members)
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

/// The OpenAPI 3.1 document of [`routes`], with the schemas of every body under
/// `components/schemas` (JSON Schema 2020-12, which OpenAPI 3.1 uses as it is).
pub fn openapi() -> Value {
    let settings = SchemaSettings::draft2020_12().with(|s| s.definitions_path = "/components/schemas".into());
    let mut generator = settings.into_generator();
    let otter_error = schema_of::<wire::ErrorAnswer>(&mut generator).to_value();
    let cf_error = schema_of::<wire::CfErrorAnswer>(&mut generator).to_value();
    let broker_error = schema_of::<wire::BrokerErrorAnswer>(&mut generator).to_value();
    let mut paths = Map::new();
    for route in routes() {
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        parameters.extend(route.query.iter().map(|(name, kind, description)| {
            json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": kind}})
        }));
        let success = match (route.response, route.path) {
            (Some(schema), _) => {
                json!({"description": "success", "content": {"application/json": {"schema": schema(&mut generator).to_value()}}})
            }
            (None, "/metrics") => {
                json!({"description": "success", "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}})
            }
            (None, _) => json!({"description": "success, without a body"}),
        };
        let error = match route.access {
            Access::App => &cf_error,
            Access::Broker => &broker_error,
            _ => &otter_error,
        };
        let mut operation = json!({
            "summary": route.summary,
            "operationId": format!("{} {}", route.method, route.path),
            "parameters": parameters,
            "responses": {
                route.success.to_string(): success,
                "default": {"description": "an error", "content": {"application/json": {"schema": error}}},
            },
        });
        if let Some(schema) = route.request {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema(&mut generator).to_value()}}});
        }
        match route.access {
            Access::Public => operation["security"] = json!([]),
            Access::Tenant | Access::App => operation["security"] = json!([{"bearer": []}, {"authToken": []}]),
            Access::Operator => operation["security"] = json!([{"bearer": []}]),
            Access::Broker => operation["security"] = json!([{"basic": []}]),
            Access::Member => operation["security"] = json!([{"bearer": []}, {"authToken": []}, {"basic": []}]),
        }
        let item = paths.entry(route.path.to_string()).or_insert_with(|| Value::Object(Map::new()));
        item[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Ebb", "version": env!("CARGO_PKG_VERSION"), "description": "The Ebb autoscaler: the Auto Scale API v1.0 and the operator's admin API. Every path also accepts a trailing slash."},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "authToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
                "basic": {"type": "http", "scheme": "basic"},
            },
            "schemas": generator.take_definitions(true),
        },
    })
}
