//! The answers of the API, as types: handlers build these, serde writes them, and the OpenAPI
//! document publishes their schemas (derived with `schemars`), so the document describes
//! exactly what is sent. Request bodies are the types of `ebb_core::documents`.

use std::marker::PhantomData;

use ebb_core::grant::LocalProcessGrant;
use ebb_core::group::GroupConfig;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// A document stored as it was submitted and shown as it was stored, published with the
/// schema of the type `T` it was checked against.
#[derive(Debug, Clone)]
pub struct Stored<T>(pub Value, PhantomData<T>);

impl<T> Stored<T> {
    /// A stored document.
    pub fn new(document: Value) -> Self {
        Stored(document, PhantomData)
    }
}

impl<T> Serialize for Stored<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<T: JsonSchema> JsonSchema for Stored<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// A link to a resource.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Link {
    /// An absolute URL, ending with `/`.
    pub href: String,
    /// `self`, `next`, `capability`, `policies`, `webhooks`.
    pub rel: String,
}

impl Link {
    /// `{"href": url, "rel": rel}`.
    pub fn new(href: String, rel: &str) -> Link {
        Link { href, rel: rel.to_string() }
    }
}

/// The error body every failure answers with.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorAnswer {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// The error type, such as `NoSuchScalingGroupError`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status.
    pub code: u16,
    /// What happened, in words.
    pub message: String,
    /// More detail (often empty).
    pub details: String,
}

/// `{}`: an answer with nothing to say.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// `GET /health`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Health {
    /// Whether the service can answer.
    pub healthy: bool,
    /// The store.
    pub store: StoreHealth,
}

/// The store's health.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StoreHealth {
    /// Whether it answered.
    pub healthy: bool,
    /// Why not.
    pub error: Option<String>,
}

/// `POST /admin/v1/tenants`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// 1 to 64 letters, digits, `_`, `-`, `.` or `:`, starting with a letter or digit.
    pub id: String,
}

/// A tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TenantView {
    /// Its id.
    pub id: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// One tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TenantAnswer {
    /// The tenant.
    pub tenant: TenantView,
}

/// Every tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TenantList {
    /// By id.
    pub tenants: Vec<TenantView>,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    /// Read and write the tenant's resources.
    Admin,
    /// Only read them.
    Observer,
}

/// `POST /admin/v1/tenants/{tenant}/tokens`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Its role.
    pub role: RoleName,
}

/// A token just made: its secret is shown here and never again.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TokenCreated {
    /// Its id, to revoke it.
    pub id: String,
    /// Its tenant.
    pub tenant: String,
    /// `admin` or `observer`.
    pub role: String,
    /// The secret: shown once.
    pub secret: String,
    /// When it was made.
    pub created_at: String,
}

/// The answer to a new token.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TokenAnswer {
    /// The token, with its secret.
    pub token: TokenCreated,
}

/// What a tenant may run as `local_process` members.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GrantAnswer {
    /// The grant.
    pub local_process: LocalProcessGrant,
}

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

/// An error of a Cloud Foundry route: `{"code", "message"}`, or, for a policy that does not
/// validate, the list of what is wrong.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CfErrorAnswer {
    /// Cloud Foundry's usual error.
    Error {
        /// The status text, or Cloud Foundry's own code (`App not found`, `Request-Limit-Exceeded`).
        code: String,
        /// What went wrong.
        message: String,
    },
    /// What is wrong with a policy.
    Invalid(Vec<ebb_core::cf_policy::PolicyError>),
}

/// An error of the service broker, as the Open Service Broker API v2 has it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerErrorAnswer {
    /// A code the platform acts on (`RequiresApp`, `InvalidPolicy`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What went wrong, for people.
    pub description: String,
}

/// The service broker's catalog: one service, Ebb's autoscaler, with its plans.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerCatalog {
    /// The services offered.
    pub services: Vec<BrokerService>,
}

/// A service of the catalog.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerService {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Whether instances can be bound (they can: binding attaches a group).
    pub bindable: bool,
    /// Whether an instance can change plans.
    pub plan_updateable: bool,
    /// Whether instances can be fetched (they cannot).
    pub instances_retrievable: bool,
    /// Whether bindings can be fetched (they cannot).
    pub bindings_retrievable: bool,
    /// Tags.
    pub tags: Vec<String>,
    /// Its plans.
    pub plans: Vec<BrokerPlan>,
}

/// A plan of the catalog's service.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerPlan {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it offers.
    pub description: String,
    /// Whether it is free.
    pub free: bool,
}

/// What a bind answers: the credentials the bound app submits its custom metrics with.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerBinding {
    /// The credentials, as Cloud Foundry puts them in `VCAP_SERVICES`.
    pub credentials: BrokerCredentials,
}

/// A binding's credentials.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerCredentials {
    /// The metric credential of the bound group.
    pub custom_metrics: BrokerMetricCredential,
}

/// A bound group's metric credential (HTTP Basic on `POST {url}/v1/apps/{appId}/metrics`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerMetricCredential {
    /// The user name.
    pub username: String,
    /// The password, shown only here.
    pub password: String,
    /// Where metrics are submitted.
    pub url: String,
}

/// A group's new metric credential; the password is shown only here.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CfCredentialAnswer {
    /// The group.
    pub app_id: String,
    /// The user name for HTTP Basic.
    pub username: String,
    /// The password for HTTP Basic (shown once).
    pub password: String,
    /// Where to submit metrics with it.
    pub url: String,
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

/// A page of Cloud Foundry history, in its envelope.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CfPage<T> {
    /// How many results there are in all.
    pub total_results: usize,
    /// How many pages.
    pub total_pages: usize,
    /// This page, from 1.
    pub page: usize,
    /// The previous page (relative), or `""`.
    pub prev_url: String,
    /// The next page (relative), or `""`.
    pub next_url: String,
    /// The results.
    pub resources: Vec<T>,
}

/// A change of a group's desired capacity, the way Cloud Foundry's history shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CfHistoryEntry {
    /// The group.
    pub app_id: String,
    /// When, in nanoseconds since the epoch.
    pub timestamp: i64,
    /// 0 dynamic (metric rules, policies), 1 scheduled (schedules and windows).
    pub scaling_type: u8,
    /// 0 succeeded (only those are shown).
    pub status: u8,
    /// Desired capacity before.
    pub old_instances: i64,
    /// Desired capacity after.
    pub new_instances: i64,
    /// Why.
    pub reason: String,
    /// More on why (empty).
    pub message: String,
}

/// A minute of a metric: the group's value, or one member slot's.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CfMetricPoint {
    /// The group.
    pub app_id: String,
    /// The member slot, for per-instance histories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_index: Option<u32>,
    /// The metric.
    pub name: String,
    /// The ceiling of the minute's mean, as a string (as Cloud Foundry sends it).
    pub value: String,
    /// The metric's unit (empty for custom metrics).
    pub unit: String,
    /// The start of the minute, in nanoseconds since the epoch.
    pub timestamp: i64,
}

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
