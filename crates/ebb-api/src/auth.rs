//! Who is calling: the operator (one token, manages tenants) or a tenant token
//! (`admin` reads and writes its tenant, `observer` only reads it).
//!
//! Tokens come as `Authorization: Bearer <secret>` or `X-Auth-Token: <secret>`. Only
//! SHA-256 hashes of secrets are stored; the operator's is compared in constant time.
//! Capability URLs (`/v1.0/execute/...`) need no token: the URL is the secret. A tenant
//! whose cloud settings accept identity tokens also takes tokens its identity endpoint
//! vouches for, of its cloud project, as its admin (checked by the engine's clouds, kept
//! until they expire).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use ebb_core::ids::TenantId;
use ebb_store::{Role, Token};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// The caller of a request that passed authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The operator.
    Operator,
    /// A tenant token.
    Tenant {
        /// Its tenant.
        tenant: TenantId,
        /// Its role.
        role: Role,
    },
}

fn presented_secret(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, secret) = value.trim().split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(secret.trim());
        }
        return None;
    }
    headers.get("x-auth-token").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// How long a verified token is trusted without reading the store again.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(10);

/// Tokens most recently cached.
const TOKEN_CACHE_SIZE: usize = 10_000;

/// Recently verified tenant tokens by secret hash, so that authenticating a request costs no
/// store read. Only tokens that exist are cached (a new token works at once), entries expire
/// after [`TOKEN_CACHE_TTL`], and revoking a token through this server evicts it at once.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (Token, Instant)>>,
}

impl TokenCache {
    fn get(&self, hash: &str) -> Option<Token> {
        let entries = self.entries.lock().ok()?;
        let (token, cached) = entries.get(hash)?;
        (cached.elapsed() < TOKEN_CACHE_TTL).then(|| token.clone())
    }

    fn put(&self, hash: String, token: Token) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= TOKEN_CACHE_SIZE {
                entries.retain(|_, (_, cached)| cached.elapsed() < TOKEN_CACHE_TTL);
                if entries.len() >= TOKEN_CACHE_SIZE {
                    entries.clear();
                }
            }
            entries.insert(hash, (token, Instant::now()));
        }
    }

    /// Forgets a revoked token.
    pub fn revoke(&self, token_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (token, _)| token.id != token_id);
        }
    }
}

/// Identifies the caller from the request headers.
pub async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let Some(secret) = presented_secret(headers).filter(|s| !s.is_empty()) else {
        return Err(ApiError::Unauthorized(
            "No credentials: send 'Authorization: Bearer <token>' or 'X-Auth-Token: <token>'".to_string(),
        ));
    };
    let hash = ebb_core::secret::hash(secret);
    if bool::from(hash.as_bytes().ct_eq(state.config.operator_token_hash.as_bytes())) {
        return Ok(Caller::Operator);
    }
    if let Some(token) = state.token_cache.get(&hash) {
        return Ok(Caller::Tenant { tenant: token.tenant_id, role: token.role });
    }
    match state.store().find_token(&hash).await {
        Ok(Some(token)) => {
            state.token_cache.put(hash, token.clone());
            Ok(Caller::Tenant { tenant: token.tenant_id, role: token.role })
        }
        Ok(None) => Err(ApiError::Unauthorized("Unknown or revoked token".to_string())),
        Err(err) => Err(crate::error::Scope::default().error(err)),
    }
}

/// A token Ebb does not know may be one the tenant's cloud identity issued, if the tenant
/// accepts those: the tenant's admin, then.
async fn identity_caller(state: &AppState, tenant: &TenantId, headers: &HeaderMap) -> Result<Option<Caller>, ApiError> {
    let Some(secret) = presented_secret(headers).filter(|s| !s.is_empty()) else { return Ok(None) };
    match state.engine.accepts_identity_token(tenant, secret).await {
        Ok(true) => Ok(Some(Caller::Tenant { tenant: tenant.clone(), role: Role::Admin })),
        Ok(false) => Ok(None),
        Err(ebb_engine::provider::cloud::tenant::AcceptError::Busy) => Err(ApiError::RateLimited { retry_after: 1 }),
        Err(err) => {
            tracing::warn!(%tenant, error = %err, "cannot check an identity token");
            Err(ApiError::Unavailable { retry_after: 5 })
        }
    }
}

fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware of `/v1.0/{tenant}/...`: the caller must be the operator or a token of that
/// tenant, with the `admin` role to write; then the tenant's request budget applies.
pub async fn require_tenant(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let tenant = TenantId::new(request.uri().path().split('/').nth(2).unwrap_or_default());
    let caller = match identify(&state, request.headers()).await {
        Err(ApiError::Unauthorized(message)) => match identity_caller(&state, &tenant, request.headers()).await? {
            Some(caller) => caller,
            None => return Err(ApiError::Unauthorized(message)),
        },
        other => other?,
    };
    match &caller {
        Caller::Operator => {
            // The operator may act for any tenant, but only one that exists.
            let scope = crate::error::Scope { tenant: tenant.as_str(), ..Default::default() };
            if !state.store().tenant_exists(&tenant).await.map_err(|err| scope.error(err))? {
                return Err(scope.error(ebb_store::StoreError::TenantNotFound));
            }
        }
        Caller::Tenant { tenant: own, role } => {
            if *own != tenant {
                return Err(ApiError::Forbidden(format!("This token may not act for tenant {tenant}")));
            }
            if *role == Role::Observer && !is_read(request.method()) {
                return Err(ApiError::Forbidden("An observer token may only read".to_string()));
            }
        }
    }
    state.rate_limits.tenant(tenant.as_str())?;
    Ok(next.run(request).await)
}

/// Middleware of what a group's members may call (`.../groups/{group}/members/{member}/vote`):
/// the group's metric credential over HTTP Basic, or what [`require_tenant`] accepts.
pub async fn require_member(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let Some((username, password)) = crate::cf::app::basic_credentials(request.headers()) else {
        return require_tenant(State(state), request, next).await;
    };
    let mut segments = request.uri().path().split('/').skip(2);
    let (tenant, group) = (TenantId::new(segments.next().unwrap_or_default()), segments.nth(1).unwrap_or_default());
    let refused = || ApiError::Unauthorized("The group's metric credential was not accepted".to_string());
    let facts = state.engine.metric_facts(&ebb_core::ids::GroupId::new(group)).await.map_err(|err| match err {
        ebb_store::StoreError::GroupNotFound => refused(),
        other => crate::error::Scope::default().error(other),
    })?;
    if facts.tenant != tenant || !crate::cf::app::credential_matches(&facts, &username, &password) {
        return Err(refused());
    }
    state.rate_limits.app(group)?;
    Ok(next.run(request).await)
}

/// Middleware of `/admin/v1/...`: only the operator.
pub async fn require_operator(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match identify(&state, request.headers()).await? {
        Caller::Operator => Ok(next.run(request).await),
        Caller::Tenant { .. } => Err(ApiError::Forbidden("Only the operator token may manage tenants".to_string())),
    }
}
