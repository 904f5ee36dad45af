//! `PUT/DELETE /v1/apps/{appId}/credential`: the group's metric credential, with which
//! anything may submit its custom metrics over HTTP Basic (and nothing else). The password is
//! shown once, in the answer to `PUT`; only its SHA-256 is stored.

use axum::Json;
use axum::extract::State;
use ebb_core::records::MetricCredential;
use serde_json::{Map, Value};

use super::app::{CfApp, store_error};
use crate::error::ApiError;
use crate::otter::webhooks::random_hex;
use crate::state::AppState;
use crate::wire;

/// A new metric credential, and its password (shown once, never stored).
pub(crate) fn generate() -> Result<(MetricCredential, String), ApiError> {
    let username = random_hex()?[..32].to_string();
    let password = random_hex()?;
    Ok((MetricCredential { username, password_hash: ebb_core::secret::hash(&password) }, password))
}

/// Creates the group's credential, or rotates it (the old one stops working at once).
pub async fn put(app: CfApp, State(state): State<AppState>) -> Result<Json<wire::CfCredentialAnswer>, ApiError> {
    let (credential, password) = generate()?;
    let username = credential.username.clone();
    state.engine.set_metric_credential(&app.tenant, &app.group, Some(credential)).await.map_err(store_error)?;
    Ok(Json(wire::CfCredentialAnswer {
        app_id: app.group.to_string(),
        username,
        password,
        url: format!("{}/v1/apps/{}/metrics", state.config.public_url.trim_end_matches('/'), app.group),
    }))
}

/// Revokes the group's credential; `{}` whether or not it had one.
pub async fn delete(app: CfApp, State(state): State<AppState>) -> Result<Json<Map<String, Value>>, ApiError> {
    state.engine.set_metric_credential(&app.tenant, &app.group, None).await.map_err(store_error)?;
    Ok(Json(Map::new()))
}
