//! `POST /v1/apps/{appId}/metrics`: custom metrics, with Cloud Foundry's payload and rules
//! (`cf-app-autoscaler.md` §3.5): names the group's rules read and no built-in name, a
//! number for each value, and an `instance_index` that names a member slot.

use axum::extract::State;
use axum::http::StatusCode;
use ebb_core::metrics::{self, series::Sample};
use ebb_engine::rules::{RecordError, SlotSample};
use serde::Deserialize;

use super::app::{CfApp, CfBody, app_not_found};
use crate::error::ApiError;
use crate::state::AppState;

/// Cloud Foundry's custom-metrics payload.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CustomMetrics {
    /// The member slot the values are of (0 to desired capacity − 1).
    pub instance_index: u32,
    /// The values.
    pub metrics: Vec<CustomMetric>,
}

/// One value of a custom metric.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CustomMetric {
    /// A metric one of the group's rules reads.
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Its unit, for people.
    #[serde(default)]
    pub unit: Option<String>,
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::cf(StatusCode::BAD_REQUEST, message)
}

/// Takes the values into the metric store, where the group's rules are evaluated on them.
pub async fn post(app: CfApp, State(state): State<AppState>, CfBody(body): CfBody) -> Result<StatusCode, ApiError> {
    let payload: CustomMetrics =
        serde_json::from_slice(&body).map_err(|_| bad_request("Error unmarshaling custom metrics request body"))?;
    if payload.metrics.is_empty() {
        return Err(bad_request("Error parsing request body"));
    }
    if app.facts.rules.is_none() && app.facts.policy_metrics.is_empty() {
        return Err(bad_request("no policy defined"));
    }
    for metric in &payload.metrics {
        if metrics::is_built_in(&metric.name) {
            return Err(bad_request(format!("Custom Metric: {} matches with standard metrics name", metric.name)));
        }
        if !app.facts.reads(&metric.name) {
            return Err(bad_request(format!(
                "Custom Metric: {} does not match with metrics defined in policy",
                metric.name
            )));
        }
    }
    let slots = app.facts.state.desired;
    if payload.instance_index >= slots {
        return Err(bad_request(format!(
            "instance_index {} does not name a member slot: the group has {slots}, numbered from 0",
            payload.instance_index
        )));
    }
    let at = state.now();
    let samples: Vec<SlotSample> = payload
        .metrics
        .into_iter()
        .map(|m| SlotSample { metric: m.name, slot: payload.instance_index, sample: Sample { at, value: m.value } })
        .collect();
    match state.engine.record_samples(&app.group, &samples) {
        Ok(()) => Ok(StatusCode::OK),
        Err(RecordError::NoGroup) => Err(app_not_found()),
        Err(RecordError::Refused(refused)) => Err(bad_request(refused.to_string())),
    }
}
