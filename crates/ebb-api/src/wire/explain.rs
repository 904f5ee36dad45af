//! Explanations of a group's metric policies (`GET .../explain`) and members' votes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BoundsView;

/// `GET .../explain`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExplainAnswer {
    /// The explanation.
    pub explain: ExplainView,
}

/// What a group's metric policies make of it now.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplainView {
    /// Desired capacity now.
    pub desired_capacity: u32,
    /// The bounds in force.
    pub bounds: BoundsView,
    /// Whether the group is paused.
    pub paused: bool,
    /// `in` or `out` when only that direction is paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_direction: Option<&'static str>,
    /// Each metric policy, in the order they are listed.
    pub policies: Vec<PolicyExplainView>,
    /// What the live policies decide together.
    pub outcome: ExplainOutcome,
    /// The group's collectors and how their reads are going.
    pub collectors: Vec<CollectorExplainView>,
}

/// A collector in an explanation.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectorExplainView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The metric it feeds.
    pub metric: String,
    /// How its reads are going.
    pub status: super::CollectorStatusView,
}

/// One metric policy's evaluation.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyExplainView {
    /// The policy's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The metric it reads (none for `votes`).
    pub metric: Option<String>,
    /// Whether its decisions are only recorded.
    pub dry_run: bool,
    /// What it read.
    pub inputs: ExplainInputs,
    /// The count it proposes before stabilization, rate policies and bounds.
    pub proposal: Option<u32>,
    /// Why, in words.
    pub why: String,
    /// The count after stabilization (target tracking).
    pub stabilized: Option<u32>,
    /// What limited the proposal last: `stabilization`, `scale_up_rate`, `scale_down_rate`,
    /// `maximum` or `minimum` (none when nothing did).
    pub limited_by: Option<&'static str>,
    /// The count it asks for in the end; none when its metric could not be read or it
    /// abstains (no alarm, no decision, no majority).
    pub outcome: Option<u32>,
    /// Consecutive failed reads of its metric.
    pub failed_reads: u32,
}

/// What a metric policy read.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplainInputs {
    /// Each live member's newest fresh sample, and whether it counted.
    pub members: Vec<ExplainMember>,
    /// The value compared: utilization, mean or total (target tracking); the newest mean
    /// (step, threshold).
    pub value: Option<f64>,
    /// Age of the newest sample read, in seconds.
    pub newest_sample_age_seconds: Option<f64>,
    /// The votes counted (`votes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub votes: Option<ExplainVotes>,
}

/// A member as a policy read it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExplainMember {
    /// Its slot (`instance_index`).
    pub slot: u32,
    /// Its newest fresh sample.
    pub value: Option<f64>,
    /// Whether it counted.
    pub counted: bool,
}

/// Votes counted.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExplainVotes {
    /// Live members.
    pub live: usize,
    /// Unexpired `grow` votes.
    pub grow: usize,
    /// Unexpired `shrink` votes.
    pub shrink: usize,
}

/// The live policies' combined decision.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplainOutcome {
    /// `scale`, `hold`, `scale_down_blocked` (a policy that could not read its metric holds
    /// back a scale-down) or `no_proposal`.
    pub decision: &'static str,
    /// The count decided, for `scale` and `hold`.
    pub to: Option<u32>,
    /// The policy whose proposal won, when it changes the count.
    pub winner: Option<String>,
    /// What keeps the winning proposal from being applied now (a pause, cooldowns).
    pub held_by: Option<String>,
}

/// `PUT .../members/{member}/vote`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct VoteDocument {
    /// `grow`, `shrink`, or null to abstain.
    pub vote: Option<String>,
}
