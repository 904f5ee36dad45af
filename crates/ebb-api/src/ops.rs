//! Operations endpoints: `/health`, `/metrics` (Prometheus text) and `/openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;
use crate::wire;

/// `GET /health`: healthy when the store answers.
pub async fn health(State(state): State<AppState>) -> Response {
    let store = state.store().tenant_exists(&ebb_core::ids::TenantId::new("")).await;
    let healthy = store.is_ok();
    let body =
        wire::Health { healthy, store: wire::StoreHealth { healthy, error: store.err().map(|err| err.to_string()) } };
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

/// `GET /metrics`: every metric of the process in the Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut text = String::new();
    {
        let registry =
            state.registry.lock().map_err(|_| ApiError::Internal("metrics registry lock poisoned".to_string()))?;
        prometheus_client::encoding::text::encode(&mut text, &registry)
            .map_err(|err| ApiError::Internal(format!("encoding metrics: {err}")))?;
    }
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response())
}

/// `GET /openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(crate::router::openapi())
}
