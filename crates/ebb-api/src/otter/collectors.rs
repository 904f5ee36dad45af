//! Collectors: create (in batches), list, show, replace, delete. Answers show each document
//! with its secrets redacted, and how its reads are going.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ebb_core::collector::health::Health;
use ebb_core::collector::{Collector, secrets};
use ebb_core::ids::{CollectorId, GroupId, TenantId};
use ebb_core::limits::PAGE_LIMIT;
use ebb_store::{CollectorRecord, NewCollector};
use serde::Deserialize;
use serde_json::Value;

use super::policies::batch;
use super::{GroupPath, Ids};
use crate::body::{JsonBody, QueryArgs};
use crate::error::{ApiError, Scope};
use crate::links::{self, Links};
use crate::state::AppState;
use crate::wire;

/// `/v1.0/{tenant}/groups/{group}/collectors/{collector}`.
#[derive(Debug, Deserialize)]
pub struct CollectorPath {
    /// The tenant.
    pub tenant: TenantId,
    /// The group.
    pub group: GroupId,
    /// The collector.
    pub collector: CollectorId,
}

impl CollectorPath {
    fn scope(&self) -> Scope<'_> {
        Scope {
            tenant: self.tenant.as_str(),
            group: self.group.as_str(),
            collector: self.collector.as_str(),
            ..Scope::default()
        }
    }
}

/// A document validated, and runnable on this server.
fn validated(body: &Value, path: &str) -> Result<NewCollector, ApiError> {
    let collector = Collector::parse(body, path)?;
    ebb_engine::collectors::check(&collector.source).map_err(|why| {
        let at = if path.is_empty() { "type".to_string() } else { format!("{path}.type") };
        ApiError::Validation(format!("{at}: {why}"))
    })?;
    Ok(NewCollector { body: body.clone(), collector })
}

/// How a collector's reads are going, for answers.
pub fn status(health: Option<Health>) -> wire::CollectorStatusView {
    let health = health.unwrap_or_default();
    let state = match (health.reads, health.failing()) {
        (0, _) => "pending",
        (_, true) => "failing",
        (_, false) => "ok",
    };
    wire::CollectorStatusView {
        state,
        reads: health.reads,
        failures: health.failures,
        consecutive_failures: health.consecutive_failures,
        last_success: health.last_success.map(|at| at.to_string()),
        last_value: health.last_value,
        last_error: health.last_error.map(|e| wire::CollectorErrorView { at: e.at.to_string(), message: e.message }),
        last_duration_ms: health.last_duration.map(|d| d.as_secs_f64() * 1000.0),
        actual_interval: (health.intervals.count > 0).then(|| wire::IntervalSpreadView {
            count: health.intervals.count,
            mean: health.intervals.mean,
            stddev: health.intervals.stddev(),
            min: health.intervals.min,
            max: health.intervals.max,
        }),
    }
}

fn view(state: &AppState, links: &Links, record: &CollectorRecord) -> wire::CollectorView {
    wire::CollectorView {
        id: record.id.to_string(),
        links: vec![wire::Link::new(links.collector(&record.tenant_id, &record.group_id, &record.id), "self")],
        body: wire::Stored::new(secrets::redact(&record.body)),
        status: status(state.engine.collectors().health(&record.id)),
    }
}

/// `POST .../groups/{group}/collectors`: all of the batch, or none.
pub async fn create(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let items = batch(&body, "collectors")?;
    let collectors =
        items.iter().enumerate().map(|(i, item)| validated(item, &format!("[{i}]"))).collect::<Result<Vec<_>, _>>()?;
    let created = state
        .engine
        .create_collectors(&path.tenant, &path.group, collectors, state.config.limits)
        .await
        .map_err(|err| path.scope().error(err))?;
    let location = state.links.collectors(&path.tenant, &path.group);
    let collectors = created.iter().map(|c| view(&state, &state.links, c)).collect();
    let body = wire::CollectorList { collectors, collectors_links: None };
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

/// `GET .../groups/{group}/collectors`.
pub async fn list(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    args: QueryArgs,
) -> Result<Json<wire::CollectorList>, ApiError> {
    let page = links::page(&args, PAGE_LIMIT)?;
    let found = state
        .store()
        .list_collectors(&path.tenant, &path.group, Some(&page))
        .await
        .map_err(|err| path.scope().error(err))?;
    let next = links::next_links(
        &state.links.collectors(&path.tenant, &path.group),
        &page,
        found.last().map(|c| c.id.as_str()),
        found.len(),
    );
    Ok(Json(wire::CollectorList {
        collectors: found.iter().map(|c| view(&state, &state.links, c)).collect(),
        collectors_links: Some(next),
    }))
}

/// `GET .../collectors/{collector}`.
pub async fn show(
    State(state): State<AppState>,
    Ids(path): Ids<CollectorPath>,
) -> Result<Json<wire::CollectorAnswer>, ApiError> {
    let record = state
        .store()
        .get_collector(&path.tenant, &path.group, &path.collector)
        .await
        .map_err(|err| path.scope().error(err))?;
    Ok(Json(wire::CollectorAnswer { collector: view(&state, &state.links, &record) }))
}

/// `PUT .../collectors/{collector}`: a whole document; `********` keeps a stored secret.
pub async fn replace(
    State(state): State<AppState>,
    Ids(path): Ids<CollectorPath>,
    JsonBody(body): JsonBody,
) -> Result<Json<wire::CollectorAnswer>, ApiError> {
    let current = state
        .store()
        .get_collector(&path.tenant, &path.group, &path.collector)
        .await
        .map_err(|err| path.scope().error(err))?;
    let body = secrets::restore(&body, &current.body)?;
    let replaced = state
        .engine
        .replace_collector(&path.tenant, &path.group, &path.collector, validated(&body, "")?)
        .await
        .map_err(|err| path.scope().error(err))?;
    Ok(Json(wire::CollectorAnswer { collector: view(&state, &state.links, &replaced) }))
}

/// `DELETE .../collectors/{collector}`.
pub async fn delete(State(state): State<AppState>, Ids(path): Ids<CollectorPath>) -> Result<StatusCode, ApiError> {
    state
        .engine
        .delete_collector(&path.tenant, &path.group, &path.collector)
        .await
        .map_err(|err| path.scope().error(err))?;
    Ok(StatusCode::NO_CONTENT)
}
