//! The Auto Scale API's answers: groups and their state, configurations, policies, webhooks,
//! members, logs, statistics, windows, events, schedules, history, limits, sample batches.

use ebb_core::group::GroupConfig;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Link, Stored};

/// A message of a group in ERROR.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorMessage {
    /// What the user can act on.
    pub message: String,
}

/// A member counted as active.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActiveMember {
    /// Its id.
    pub id: String,
    /// Its link.
    pub links: Vec<Link>,
}

/// A group's state.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateView {
    /// The group's name.
    pub name: String,
    /// Whether policy executions are refused.
    pub paused: bool,
    /// `in` or `out` when only scaling in or out is paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_direction: Option<&'static str>,
    /// `ACTIVE` or `ERROR`.
    pub status: String,
    /// How many members the group should have.
    pub desired_capacity: i64,
    /// Members ready and in every load balancer of the group.
    pub active_capacity: i64,
    /// Desired minus active (negative while scaling down).
    pub pending_capacity: i64,
    /// The active members.
    pub active: Vec<ActiveMember>,
    /// Why the group's members are not converged at all, when they are not (no provider
    /// runs its launch type on this server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convergence: Option<String>,
    /// Why the group is in ERROR (only then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ErrorMessage>>,
}

/// `GET .../state`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StateAnswer {
    /// The state.
    pub group: StateView,
}

/// A group in a list.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GroupSummary {
    /// Its id.
    pub id: String,
    /// Its link.
    pub links: Vec<Link>,
    /// Its state.
    pub state: StateView,
}

/// `GET .../groups`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GroupList {
    /// A page of groups, by id.
    pub groups: Vec<GroupSummary>,
    /// `next` when the page is full.
    pub groups_links: Vec<Link>,
}

/// A webhook; the capability link only in the answer that creates it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WebhookView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its metadata.
    #[schemars(with = "ebb_core::documents::Metadata")]
    pub metadata: Map<String, Value>,
    /// `self`, and `capability` at creation.
    pub links: Vec<Link>,
}

/// A policy: its body as submitted, with its id and link (and, in a group shown with
/// `?webhooks=true`, its webhooks).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicyView {
    /// Its id.
    pub id: String,
    /// Its link.
    pub links: Vec<Link>,
    /// The body as submitted.
    #[serde(flatten)]
    pub body: Stored<ebb_core::documents::PolicyDocument>,
    /// Its webhooks (`?webhooks=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<Vec<WebhookView>>,
    /// Its webhooks' collection (`?webhooks=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhooks_links: Option<Vec<Link>>,
}

/// A group with its configurations, state and policies.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GroupManifest {
    /// Its id.
    pub id: String,
    /// Its link.
    pub links: Vec<Link>,
    /// Name, cooldown, bounds, metadata.
    #[serde(rename = "groupConfiguration")]
    pub group_configuration: GroupConfig,
    /// How a member is made, as submitted.
    #[serde(rename = "launchConfiguration")]
    pub launch_configuration: Stored<ebb_core::documents::LaunchDocument>,
    /// Its state.
    pub state: StateView,
    /// Its policies (the first page).
    #[serde(rename = "scalingPolicies")]
    pub scaling_policies: Vec<PolicyView>,
    /// The policies' collection, and `next` when there are more.
    #[serde(rename = "scalingPolicies_links")]
    pub scaling_policies_links: Vec<Link>,
}

/// One group.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GroupAnswer {
    /// The group.
    pub group: GroupManifest,
}

/// `GET .../config`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConfigAnswer {
    /// The group configuration.
    #[serde(rename = "groupConfiguration")]
    pub group_configuration: GroupConfig,
}

/// `GET .../launch`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LaunchAnswer {
    /// The launch configuration, as submitted.
    #[serde(rename = "launchConfiguration")]
    pub launch_configuration: Stored<ebb_core::documents::LaunchDocument>,
}

/// A list of policies.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicyList {
    /// By id.
    pub policies: Vec<PolicyView>,
    /// `next` when the page is full (lists only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies_links: Option<Vec<Link>>,
}

/// One policy.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicyAnswer {
    /// The policy.
    pub policy: PolicyView,
}

/// A list of webhooks.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WebhookList {
    /// By id.
    pub webhooks: Vec<WebhookView>,
    /// `next` when the page is full (lists only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhooks_links: Option<Vec<Link>>,
}

/// One webhook.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WebhookAnswer {
    /// The webhook.
    pub webhook: WebhookView,
}

/// A member as Ebb runs it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MemberView {
    /// Its id.
    pub id: String,
    /// `{group name}-as{8 hex}`.
    pub name: String,
    /// `starting`, `active`, `draining`, `stopping` or `exited`.
    pub status: String,
    /// The provider that runs it (`local_process`).
    pub provider: String,
    /// The port it listens on, once started.
    pub port: Option<u16>,
    /// Its process id (local processes).
    pub pid: Option<u32>,
    /// When it was started.
    pub created_at: String,
    /// Its link (`.../servers/{id}/`).
    pub links: Vec<Link>,
}

/// `GET .../members`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MemberList {
    /// Every member, oldest first.
    pub members: Vec<MemberView>,
}

/// `GET .../members/{member}/logs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LogsAnswer {
    /// The member.
    pub member: String,
    /// The last lines of its output.
    pub lines: Vec<String>,
    /// Whether older output was left out.
    pub truncated: bool,
}

/// `GET .../stats`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatsAnswer {
    /// One entry per load balancer of the group.
    #[serde(rename = "loadBalancers")]
    pub load_balancers: Vec<ebb_engine::balancer::BalancerStats>,
}

/// `GET` and `PUT .../windows`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WindowsAnswer {
    /// The windows, as submitted; `null` without.
    pub windows: Option<Stored<ebb_core::documents::WindowsDocument>>,
    /// The window in force.
    pub active: Option<String>,
    /// Desired capacity after the change (`PUT` only).
    #[serde(rename = "desiredCapacity", skip_serializing_if = "Option::is_none")]
    pub desired_capacity: Option<u32>,
}

/// Something that happened to a group.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventView {
    /// When (RFC 3339).
    pub at: String,
    /// `fired`, `skipped`, `window_start` or `window_end`.
    pub kind: String,
    /// The policy involved.
    pub policy: Option<String>,
    /// When the schedule was due.
    pub due: Option<String>,
    /// Why, in words.
    pub message: String,
}

/// `GET .../events`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventList {
    /// Newest first.
    pub events: Vec<EventView>,
}

/// A schedule policy with its next fire time, or a group's windows with their next change.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ScheduleView {
    /// A schedule policy.
    Policy {
        /// Its group.
        group: String,
        /// The policy.
        policy: String,
        /// Its name.
        name: String,
        /// Its `args`.
        args: Value,
        /// The time zone it is written in.
        timezone: String,
        /// The next fire time, UTC.
        next_fire: String,
        /// The next fire time in its time zone.
        next_fire_local: String,
        /// The policy's link.
        links: Vec<Link>,
    },
    /// A group's time windows.
    Windows {
        /// The group.
        group: String,
        /// Its windows document.
        windows: Stored<ebb_core::documents::WindowsDocument>,
        /// Their time zone.
        timezone: String,
        /// When the window in force next changes, UTC.
        next_change: String,
        /// The same, in the windows' time zone.
        next_change_local: String,
    },
}

/// `GET /v1.0/{tenant}/schedules`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScheduleList {
    /// Schedule policies, then windows.
    pub schedules: Vec<ScheduleView>,
}

/// Bounds in force.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BoundsView {
    /// The minimum.
    pub min: u32,
    /// The maximum.
    pub max: u32,
}

/// One entry of a group's history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HistoryView {
    /// Its id (entries sort by it, newest last).
    pub id: String,
    /// When (RFC 3339).
    pub at: String,
    /// What asked: `create`, `api`, `capability`, `schedule`, `window_start`, `window_end`,
    /// `bounds`, `member_removed`, `convergence` or `metric`.
    pub source: String,
    /// The policy executed, if any.
    pub policy: Option<String>,
    /// The webhook whose capability URL was called, if any.
    pub webhook: Option<String>,
    /// Desired capacity before.
    pub from: u32,
    /// Desired capacity after (equal to `from` when nothing changed).
    pub to: u32,
    /// The bounds in force.
    pub bounds: BoundsView,
    /// Why, in words.
    pub reason: String,
}

/// `GET .../history`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HistoryList {
    /// Newest first.
    pub history: Vec<HistoryView>,
    /// `next` when the page is full.
    pub history_links: Vec<Link>,
}

/// Absolute limits.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AbsoluteLimits {
    /// Groups per tenant.
    pub max_groups: usize,
    /// Policies per group.
    pub max_policies_per_group: usize,
    /// Webhooks per policy.
    pub max_webhooks_per_policy: usize,
}

/// `{"absolute": ...}`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Limits {
    /// The limits.
    pub absolute: AbsoluteLimits,
}

/// `GET .../limits`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LimitsAnswer {
    /// The limits.
    pub limits: Limits,
}

/// What became of a batch of samples.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SamplesAnswer {
    /// How many samples the request carried (all were checked and offered).
    pub accepted: usize,
    /// Per group, why some were not kept (a group over its series limit, samples older
    /// than their series keeps); empty when all were.
    pub refused: Vec<String>,
}

/// A collector: its document (secrets shown as `********`), its id and link, and how its reads
/// are going on this server.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CollectorView {
    /// Its id.
    pub id: String,
    /// Its link.
    pub links: Vec<Link>,
    /// The document, its secrets redacted.
    #[serde(flatten)]
    pub body: Stored<ebb_core::documents::CollectorDocument>,
    /// Its reads since this server started it.
    pub status: CollectorStatusView,
}

/// How a collector's reads are going.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CollectorStatusView {
    /// `ok`, `failing`, or `pending` before its first read.
    pub state: &'static str,
    /// Reads done.
    pub reads: u64,
    /// Reads failed.
    pub failures: u64,
    /// Reads failed since the last success.
    pub consecutive_failures: u32,
    /// When the last successful read ended (RFC 3339).
    pub last_success: Option<String>,
    /// The value it read.
    pub last_value: Option<f64>,
    /// The last failure (kept after a success).
    pub last_error: Option<CollectorErrorView>,
    /// How long the last read took, ms.
    pub last_duration_ms: Option<f64>,
    /// The actual time between the starts of its reads (after two reads).
    pub actual_interval: Option<IntervalSpreadView>,
}

/// The actual time between the starts of a collector's reads, seconds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IntervalSpreadView {
    /// Intervals counted.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// Their standard deviation.
    pub stddev: f64,
    /// The shortest.
    pub min: f64,
    /// The longest.
    pub max: f64,
}

/// A collector's failed read.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CollectorErrorView {
    /// When (RFC 3339).
    pub at: String,
    /// What went wrong.
    pub message: String,
}

/// A list of collectors.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CollectorList {
    /// By id.
    pub collectors: Vec<CollectorView>,
    /// `next` when the page is full (lists only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collectors_links: Option<Vec<Link>>,
}

/// One collector.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CollectorAnswer {
    /// The collector.
    pub collector: CollectorView,
}
