//! The operator's API: tenants and their tokens (`/admin/v1`).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ebb_core::Invalid;
use ebb_core::ids::TenantId;
use ebb_core::json::{self, Obj};
use ebb_store::{Role, Tenant};
use serde_json::Value;

use crate::body::JsonBody;
use crate::error::{ApiError, Scope};
use crate::otter::Ids;
use crate::state::AppState;
use crate::wire;

/// Path of a tenant.
#[derive(serde::Deserialize)]
pub struct TenantPath {
    tenant: TenantId,
}

/// Path of a token.
#[derive(serde::Deserialize)]
pub struct TokenPath {
    tenant: TenantId,
    token: String,
}

fn tenant_view(tenant: &Tenant) -> wire::TenantView {
    wire::TenantView { id: tenant.id.to_string(), created_at: tenant.created_at.to_string() }
}

/// A tenant id: 1 to 64 characters of letters, digits, `_`, `-`, `.` and `:`, starting with
/// a letter or digit (ids appear in URL paths).
fn parse_tenant_id(body: &Value) -> Result<String, Invalid> {
    let obj = Obj::new(body, "")?;
    obj.only(&["id"])?;
    let id = json::string(obj.required("id")?, "id", 64)?;
    let valid = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c));
    if !valid {
        return Err(Invalid::schema(format!(
            "id: {} must be 1 to 64 letters, digits, '_', '-', '.' or ':', starting with a letter or digit",
            json::show(&Value::String(id.to_string()))
        )));
    }
    Ok(id.to_string())
}

/// `POST /admin/v1/tenants`.
pub async fn create_tenant(State(state): State<AppState>, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let id = parse_tenant_id(&body)?;
    let scope = Scope { tenant: &id, ..Scope::default() };
    let tenant =
        state.store().create_tenant(&TenantId::new(id.as_str()), state.now()).await.map_err(|err| scope.error(err))?;
    let location = format!("{}/admin/v1/tenants/{}/", state.config.public_url.trim_end_matches('/'), tenant.id);
    let body = wire::TenantAnswer { tenant: tenant_view(&tenant) };
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

/// `GET /admin/v1/tenants`.
pub async fn list_tenants(State(state): State<AppState>) -> Result<Json<wire::TenantList>, ApiError> {
    let tenants = state.store().list_tenants().await.map_err(|err| Scope::default().error(err))?;
    Ok(Json(wire::TenantList { tenants: tenants.iter().map(tenant_view).collect() }))
}

/// `POST /admin/v1/tenants/{tenant}/tokens`: the secret is in the answer, and only there.
pub async fn create_token(
    State(state): State<AppState>,
    Ids(path): Ids<TenantPath>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let obj = Obj::new(&body, "")?;
    obj.only(&["role"])?;
    let role_value = obj.required("role")?;
    let role = role_value.as_str().and_then(Role::parse).ok_or_else(|| {
        ApiError::Validation(format!("role: {} is not one of 'admin', 'observer'", json::show(role_value)))
    })?;
    let secret = crate::otter::webhooks::random_hex().map(|hex| format!("ebb_{hex}"))?;
    let scope = Scope { tenant: path.tenant.as_str(), ..Scope::default() };
    let token = state
        .store()
        .create_token(&path.tenant, role, &ebb_core::secret::hash(&secret), state.now())
        .await
        .map_err(|err| scope.error(err))?;
    let body = wire::TokenAnswer {
        token: wire::TokenCreated {
            id: token.id,
            tenant: token.tenant_id.into_string(),
            role: token.role.as_str().to_string(),
            secret,
            created_at: token.created_at.to_string(),
        },
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /admin/v1/tenants/{tenant}/local-process`: what the tenant may run as
/// `local_process` members.
pub async fn get_local_process(
    State(state): State<AppState>,
    Ids(path): Ids<TenantPath>,
) -> Result<Json<wire::GrantAnswer>, ApiError> {
    let scope = Scope { tenant: path.tenant.as_str(), ..Scope::default() };
    let grant = state.store().local_process(&path.tenant).await.map_err(|err| scope.error(err))?;
    Ok(Json(wire::GrantAnswer { local_process: grant }))
}

/// `PUT /admin/v1/tenants/{tenant}/local-process`: replaces what the tenant may run as
/// `local_process` members; the tenant's groups are converged at once, so members the grant
/// no longer allows are stopped.
pub async fn put_local_process(
    State(state): State<AppState>,
    Ids(path): Ids<TenantPath>,
    JsonBody(body): JsonBody,
) -> Result<Json<wire::GrantAnswer>, ApiError> {
    let grant = ebb_core::grant::LocalProcessGrant::parse(&body)?;
    let scope = Scope { tenant: path.tenant.as_str(), ..Scope::default() };
    state.engine.set_local_process(&path.tenant, grant.clone()).await.map_err(|err| scope.error(err))?;
    tracing::info!(tenant = %path.tenant, enabled = grant.enabled, "local process grant replaced");
    Ok(Json(wire::GrantAnswer { local_process: grant }))
}

/// `DELETE /admin/v1/tenants/{tenant}/tokens/{token}`.
pub async fn delete_token(State(state): State<AppState>, Ids(path): Ids<TokenPath>) -> Result<StatusCode, ApiError> {
    let scope = Scope { tenant: path.tenant.as_str(), ..Scope::default() };
    state.store().delete_token(&path.tenant, &path.token).await.map_err(|err| scope.error(err))?;
    state.token_cache.revoke(&path.token);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/v1/tenants/{tenant}/cloud`: the tenant's cloud settings, without their secret.
pub async fn get_cloud(
    State(state): State<AppState>,
    Ids(path): Ids<TenantPath>,
) -> Result<Json<wire::CloudAnswer>, ApiError> {
    let scope = Scope { tenant: path.tenant.as_str(), ..Scope::default() };
    let settings = state.store().cloud(&path.tenant).await.map_err(|err| scope.error(err))?;
    Ok(Json(wire::CloudAnswer { cloud: settings.map(|s| s.shown()) }))
}

/// `PUT /admin/v1/tenants/{tenant}/cloud`: replaces the tenant's cloud settings.
pub async fn put_cloud(
    State(state): State<AppState>,
    Ids(path): Ids<TenantPath>,
    JsonBody(body): JsonBody,
) -> Result<Json<wire::CloudAnswer>, ApiError> {
    let settings = ebb_core::cloud::settings::CloudSettings::parse(&body)?;
    let scope = Scope { tenant: path.tenant.as_str(), ..Scope::default() };
    state.engine.set_cloud(&path.tenant, Some(settings.clone())).await.map_err(|err| scope.error(err))?;
    tracing::info!(tenant = %path.tenant, region = %settings.credentials.region, "cloud settings replaced");
    Ok(Json(wire::CloudAnswer { cloud: Some(settings.shown()) }))
}

/// `DELETE /admin/v1/tenants/{tenant}/cloud`: removes the tenant's cloud settings.
pub async fn delete_cloud(State(state): State<AppState>, Ids(path): Ids<TenantPath>) -> Result<StatusCode, ApiError> {
    let scope = Scope { tenant: path.tenant.as_str(), ..Scope::default() };
    state.engine.set_cloud(&path.tenant, None).await.map_err(|err| scope.error(err))?;
    Ok(StatusCode::NO_CONTENT)
}
