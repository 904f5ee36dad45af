//! Why a group is at the size it is: `GET .../explain` shows each metric policy's inputs,
//! proposal, what stabilization, rate policies and bounds did to it, and which proposal won;
//! `PUT .../members/{member}/vote` takes a member's vote for the `votes` strategy.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ebb_core::json::{self, Obj};
use ebb_core::strategy::behavior::Limit;
use ebb_core::strategy::combine::Combined;
use ebb_core::strategy::evaluate::Explained;
use ebb_core::strategy::state::PolicyFact;
use ebb_core::strategy::votes::Ballot;
use ebb_engine::policies::Explanation;
use ebb_store::StoreError;
use serde_json::Value;

use super::{GroupPath, Ids, MemberPath};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire;

/// `GET /v1.0/{tenant}/groups/{group}/explain`.
pub async fn explain(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
) -> Result<Json<wire::ExplainAnswer>, ApiError> {
    let group = state.store().get_group(&path.tenant, &path.group).await.map_err(|err| path.scope().error(err))?;
    let mut view = match state.engine.explain(&group.id) {
        Some(explanation) => view(&explanation),
        None => {
            let bounds = ebb_core::decide::effective_bounds(&group, state.now());
            wire::ExplainView {
                desired_capacity: group.state.desired,
                bounds: wire::BoundsView { min: bounds.min, max: bounds.max },
                paused: group.state.paused,
                paused_direction: group.state.paused_direction.map(|d| d.as_str()),
                policies: Vec::new(),
                outcome: wire::ExplainOutcome { decision: "no_proposal", to: None, winner: None, held_by: None },
                collectors: Vec::new(),
            }
        }
    };
    view.collectors = state
        .engine
        .collectors()
        .statuses(Some(&group.id))
        .into_iter()
        .map(|status| wire::CollectorExplainView {
            id: status.id.to_string(),
            name: status.name,
            kind: status.kind,
            metric: status.metric,
            status: super::collectors::status(Some(status.health)),
        })
        .collect();
    Ok(Json(wire::ExplainAnswer { explain: view }))
}

fn view(explanation: &Explanation) -> wire::ExplainView {
    let Explanation { evaluation, policies, facts, bounds, held } = explanation;
    let (decision, to) = match evaluation.combined {
        Combined::Scale(to) if to == evaluation.current => ("hold", Some(to)),
        Combined::Scale(to) => ("scale", Some(to)),
        Combined::ScaleDownBlocked => ("scale_down_blocked", None),
        Combined::NoProposal => ("no_proposal", None),
    };
    wire::ExplainView {
        desired_capacity: evaluation.current,
        bounds: wire::BoundsView { min: bounds.min, max: bounds.max },
        paused: facts.state.paused,
        paused_direction: facts.state.paused_direction.map(|d| d.as_str()),
        policies: evaluation.policies.iter().zip(policies).map(|(e, p)| policy_view(e, p)).collect(),
        collectors: Vec::new(),
        outcome: wire::ExplainOutcome {
            decision,
            to,
            winner: evaluation.winner.map(|index| evaluation.policies[index].policy.to_string()),
            held_by: held.clone(),
        },
    }
}

fn policy_view(explained: &Explained, fact: &PolicyFact) -> wire::PolicyExplainView {
    let inputs = &explained.inputs;
    let limited_by = explained.normalized.and_then(|n| match n.limit {
        Limit::WithinRange => None,
        Limit::Stabilized => Some("stabilization"),
        Limit::ScaleUpLimit => Some("scale_up_rate"),
        Limit::ScaleDownLimit => Some("scale_down_rate"),
        Limit::TooMany => Some("maximum"),
        Limit::TooFew => Some("minimum"),
    });
    wire::PolicyExplainView {
        id: explained.policy.to_string(),
        name: explained.name.clone(),
        kind: fact.policy.strategy.kind(),
        metric: fact.policy.strategy.metric().map(str::to_string),
        dry_run: explained.dry_run,
        inputs: wire::ExplainInputs {
            members: inputs
                .members
                .iter()
                .map(|m| wire::ExplainMember { slot: m.slot, value: m.value, counted: m.counted })
                .collect(),
            value: inputs.value,
            newest_sample_age_seconds: inputs.newest_age.map(|age| age.as_secs_f64()),
            votes: inputs.tally.map(|t| wire::ExplainVotes { live: t.live, grow: t.grow, shrink: t.shrink }),
        },
        proposal: explained.proposal,
        why: explained.why.to_string(),
        stabilized: explained.normalized.map(|n| n.stabilized),
        limited_by,
        outcome: explained.count(),
        failed_reads: explained.failures,
    }
}

/// `PUT /v1.0/{tenant}/groups/{group}/members/{member}/vote` with `{"vote": "grow"}`,
/// `{"vote": "shrink"}` or `{"vote": null}` (abstain): 204.
pub async fn vote(
    State(state): State<AppState>,
    Ids(path): Ids<MemberPath>,
    JsonBody(body): JsonBody,
) -> Result<StatusCode, ApiError> {
    let scope = path.scope();
    let ballot = parse_vote(&body)?;
    let facts = state.engine.metric_facts(&path.group).await.map_err(|err| scope.error(err))?;
    if facts.tenant != path.tenant {
        return Err(scope.error(StoreError::GroupNotFound));
    }
    state.engine.vote(&path.group, path.member.as_str(), ballot).await.map_err(|err| scope.error(err))?;
    tracing::info!(tenant = %path.tenant, group = %path.group, member = %path.member, ?ballot, "vote cast");
    Ok(StatusCode::NO_CONTENT)
}

fn parse_vote(body: &Value) -> Result<Option<Ballot>, ApiError> {
    let obj = Obj::new(body, "")?;
    obj.only(&["vote"])?;
    match obj.required("vote")? {
        Value::Null => Ok(None),
        value => match json::one_of(value, &obj.path_of("vote"), &["grow", "shrink"])? {
            "grow" => Ok(Some(Ballot::Grow)),
            _ => Ok(Some(Ballot::Shrink)),
        },
    }
}
