//! `POST /v1.0/{tenant}/metrics`: many samples for many groups of one tenant in one request,
//! for high rates. Every sample is checked before any is taken: its group is the tenant's and
//! has metric rules, one of them reads its metric, and its slot is one of the group's.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use ebb_core::ids::GroupId;
use ebb_core::metrics::series::Sample;
use ebb_engine::rules::{RecordError, SlotSample};
use ebb_engine::samples::GroupFacts;
use ebb_store::StoreError;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::{Ids, TenantPath};
use crate::body::TypedBody;
use crate::error::{ApiError, Scope};
use crate::state::AppState;
use crate::wire;

/// The most samples one request may carry.
pub const MAX_SAMPLES: usize = 20_000;

/// How far ahead of the server's clock a sample's time may be.
const MAX_AHEAD: SignedDuration = SignedDuration::from_secs(60);

/// A batch of samples.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleBatch {
    /// The samples, at most 20,000.
    pub samples: Vec<BatchSample>,
}

/// One sample of a batch.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSample {
    /// The group.
    pub group: String,
    /// A metric one of the group's rules reads.
    pub metric: String,
    /// The member slot (0 to desired capacity − 1).
    pub instance_index: u32,
    /// The value.
    pub value: f64,
    /// When it was measured (RFC 3339; default: when it arrives).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timestamp: Option<Timestamp>,
}

fn check(sample: &BatchSample, facts: &GroupFacts, now: Timestamp) -> Result<(), String> {
    if facts.rules.is_none() && facts.policy_metrics.is_empty() {
        return Err(format!("group {} has no metric rules or metric policies (no policy defined)", sample.group));
    }
    if !facts.reads(&sample.metric) {
        return Err(format!("metric {:?} is not read by any rule or policy of group {}", sample.metric, sample.group));
    }
    if sample.instance_index >= facts.state.desired {
        return Err(format!(
            "instance_index {} does not name a member slot of group {}: it has {}, numbered from 0",
            sample.instance_index, sample.group, facts.state.desired
        ));
    }
    if !sample.value.is_finite() {
        return Err("value must be a finite number".to_string());
    }
    if sample.timestamp.is_some_and(|at| at > now + MAX_AHEAD) {
        return Err("timestamp is more than 60 s ahead of the server's clock".to_string());
    }
    Ok(())
}

/// Checks every sample, then takes them into the metric store group by group.
pub async fn post(
    State(state): State<AppState>,
    Ids(path): Ids<TenantPath>,
    TypedBody(batch): TypedBody<SampleBatch>,
) -> Result<Json<wire::SamplesAnswer>, ApiError> {
    if batch.samples.len() > MAX_SAMPLES {
        return Err(ApiError::Validation(format!("samples: at most {MAX_SAMPLES} in one request")));
    }
    let now = state.now();
    let mut facts: HashMap<&str, std::sync::Arc<GroupFacts>> = HashMap::new();
    let mut by_group: HashMap<&str, Vec<SlotSample>> = HashMap::new();
    for (index, sample) in batch.samples.iter().enumerate() {
        if !facts.contains_key(sample.group.as_str()) {
            let scope = Scope { tenant: path.tenant.as_str(), group: &sample.group, ..Scope::default() };
            let found = state.engine.metric_facts(&GroupId::new(sample.group.as_str())).await;
            let found =
                found.and_then(|f| if f.tenant == path.tenant { Ok(f) } else { Err(StoreError::GroupNotFound) });
            facts.insert(&sample.group, found.map_err(|err| scope.error(err))?);
        }
        check(sample, &facts[sample.group.as_str()], now)
            .map_err(|message| ApiError::Validation(format!("samples[{index}]: {message}")))?;
        by_group.entry(&sample.group).or_default().push(SlotSample {
            metric: sample.metric.clone(),
            slot: sample.instance_index,
            sample: Sample { at: sample.timestamp.unwrap_or(now), value: sample.value },
        });
    }
    let mut refused = Vec::new();
    for (group, samples) in &by_group {
        match state.engine.record_samples(&GroupId::new(*group), samples) {
            Ok(()) => {}
            Err(RecordError::NoGroup) => refused.push(format!("group {group}: deleted meanwhile")),
            Err(RecordError::Refused(why)) => refused.push(format!("group {group}: {why}")),
        }
    }
    Ok(Json(wire::SamplesAnswer { accepted: batch.samples.len(), refused }))
}
