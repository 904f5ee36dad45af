//! Webhooks and their capability URLs.
//!
//! A capability URL is `{public_url}/v1.0/execute/1/{secret}/` where the secret is 32 bytes
//! of OS randomness in lowercase hex. Only its SHA-256 is stored, so the URL is shown once,
//! when the webhook is created. `POST` to any capability URL answers 202 at once; the
//! execution follows the response and its outcome is only logged and counted.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ebb_core::limits::PAGE_LIMIT;
use ebb_core::webhook::WebhookBody;
use ebb_store::NewWebhook;
use serde::Deserialize;

use super::policies::batch;
use super::{Ids, PolicyPath, WebhookPath, view};
use crate::body::{JsonBody, QueryArgs};
use crate::error::ApiError;
use crate::links;
use crate::state::AppState;
use crate::wire;

/// 32 bytes of OS randomness as 64 lowercase hex characters.
pub fn random_hex() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| ApiError::Internal(format!("no OS randomness: {err}")))?;
    Ok(data_encoding::HEXLOWER.encode(&bytes))
}

/// `POST .../policies/{policy}/webhooks`: all of the batch, or none.
pub async fn create(
    State(state): State<AppState>,
    Ids(path): Ids<PolicyPath>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let items = batch(&body, "webhooks")?;
    let mut bodies = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        bodies.push(WebhookBody::parse(item, &format!("[{index}]"), false)?);
    }
    let mut secrets = Vec::with_capacity(bodies.len());
    let mut new_webhooks = Vec::with_capacity(bodies.len());
    for body in bodies {
        let secret = random_hex()?;
        new_webhooks.push(NewWebhook {
            name: body.name,
            metadata: body.metadata,
            capability_hash: ebb_core::secret::hash(&secret),
        });
        secrets.push(secret);
    }
    let created = state
        .store()
        .create_webhooks(&path.tenant, &path.group, &path.policy, new_webhooks, state.config.limits, state.now())
        .await
        .map_err(|err| path.scope().error(err))?;
    let webhooks = created
        .iter()
        .zip(&secrets)
        .map(|(webhook, secret)| view::webhook(&state.links, &path.tenant, &path.group, webhook, Some(secret)))
        .collect();
    let location = state.links.webhooks(&path.tenant, &path.group, &path.policy);
    let body = wire::WebhookList { webhooks, webhooks_links: None };
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

/// `GET .../policies/{policy}/webhooks`.
pub async fn list(
    State(state): State<AppState>,
    Ids(path): Ids<PolicyPath>,
    args: QueryArgs,
) -> Result<Json<wire::WebhookList>, ApiError> {
    let page = links::page(&args, PAGE_LIMIT)?;
    let webhooks = state
        .store()
        .list_webhooks(&path.tenant, &path.group, &path.policy, Some(&page))
        .await
        .map_err(|err| path.scope().error(err))?;
    let next = links::next_links(
        &state.links.webhooks(&path.tenant, &path.group, &path.policy),
        &page,
        webhooks.last().map(|w| w.id.as_str()),
        webhooks.len(),
    );
    Ok(Json(wire::WebhookList {
        webhooks: webhooks.iter().map(|w| view::webhook(&state.links, &path.tenant, &path.group, w, None)).collect(),
        webhooks_links: Some(next),
    }))
}

/// `GET .../webhooks/{webhook}`.
pub async fn show(
    State(state): State<AppState>,
    Ids(path): Ids<WebhookPath>,
) -> Result<Json<wire::WebhookAnswer>, ApiError> {
    let webhook = state
        .store()
        .get_webhook(&path.tenant, &path.group, &path.policy, &path.webhook)
        .await
        .map_err(|err| path.scope().error(err))?;
    Ok(Json(wire::WebhookAnswer { webhook: view::webhook(&state.links, &path.tenant, &path.group, &webhook, None) }))
}

/// `PUT .../webhooks/{webhook}`: name and metadata both required.
pub async fn replace(
    State(state): State<AppState>,
    Ids(path): Ids<WebhookPath>,
    JsonBody(body): JsonBody,
) -> Result<StatusCode, ApiError> {
    let body = WebhookBody::parse(&body, "", true)?;
    state
        .store()
        .replace_webhook(&path.tenant, &path.group, &path.policy, &path.webhook, body.name, body.metadata)
        .await
        .map_err(|err| path.scope().error(err))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE .../webhooks/{webhook}`.
pub async fn delete(State(state): State<AppState>, Ids(path): Ids<WebhookPath>) -> Result<StatusCode, ApiError> {
    state
        .store()
        .delete_webhook(&path.tenant, &path.group, &path.policy, &path.webhook)
        .await
        .map_err(|err| path.scope().error(err))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `/v1.0/execute/{version}/{secret}`.
#[derive(Debug, Deserialize)]
pub struct CapabilityPath {
    version: String,
    secret: String,
}

/// `POST /v1.0/execute/{version}/{secret}`: 202 at once; the execution follows.
///
/// Only version `1` exists; any other version, like an unknown secret, executes nothing.
pub async fn execute_capability(
    State(state): State<AppState>,
    Ids(path): Ids<CapabilityPath>,
) -> Result<Response, ApiError> {
    let hash = ebb_core::secret::hash(&path.secret);
    state.rate_limits.capability(&hash)?;
    if path.version == "1" && ebb_core::secret::is_capability(&path.secret) {
        state.engine.accept_capability(hash).await;
    } else {
        state.engine.unknown_capability();
    }
    Ok(StatusCode::ACCEPTED.into_response())
}
