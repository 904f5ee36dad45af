//! The documents clients send, as types: what the OpenAPI document publishes as request
//! schemas (derived from these types with `schemars`) and what every validator checks a
//! document against once its own rules passed ([`conforms`]).
//!
//! The validators (`policy`, `webhook`, `launch`, `windows`) own the rules and their messages;
//! these types own the shapes. Because a document that passes its validator is also required
//! to deserialize into its type here, the published schema can never refuse a document the
//! server accepts. Numbers that are stored and echoed as submitted are `serde_json::Number`,
//! so nothing is reformatted.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::Invalid;

/// String pairs, as `metadata` fields hold them.
pub type Metadata = std::collections::BTreeMap<String, String>;

/// Checks that a document that passed its validator has the documented shape `T`.
pub fn conforms<T: DeserializeOwned>(value: &Value, path: &str) -> Result<(), Invalid> {
    T::deserialize(value).map(|_| ()).map_err(|err| {
        let at = if path.is_empty() { String::new() } else { format!("{path}: ") };
        Invalid::schema(format!("{at}{err}"))
    })
}

/// A group configuration as submitted: on create `maxEntities` (default 1000, `null` too)
/// and `metadata` may be left out; a replacement (`PUT .../config`) gives every field.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupConfigDocument {
    /// At least one non-whitespace character, at most 256.
    pub name: String,
    /// Seconds (0 to 86400) after a successful execution during which no policy may execute.
    pub cooldown: u32,
    /// 0 to 1000.
    pub min_entities: u32,
    /// `minEntities` to 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_entities: Option<u32>,
    /// String pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Seconds (0 to 86400) after a successful execution during which no policy may scale the
    /// group up; `cooldown` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up_cooldown: Option<u32>,
    /// The same for scaling down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_cooldown: Option<u32>,
}

/// A group to create (`POST .../groups`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateGroupDocument {
    /// Name, cooldown and bounds.
    pub group_configuration: GroupConfigDocument,
    /// How one member is made.
    pub launch_configuration: LaunchDocument,
    /// Policies to create with the group (at most 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_policies: Option<Vec<PolicyDocument>>,
}

/// A scaling policy (Otter's `scalingPolicies[]`): for webhook and schedule policies exactly
/// one of `change`, `changePercent` and `desiredCapacity` (`args` for schedule policies only);
/// metric policies (`target_tracking`, `step`, `threshold`, `votes`) take `args` instead, and
/// may add `dry_run` and `fallback`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// At least one non-whitespace character, at most 256.
    pub name: String,
    /// What starts the policy.
    #[serde(rename = "type")]
    pub kind: PolicyKind,
    /// Seconds (0 to 86400) after a successful execution during which it may not execute again.
    pub cooldown: Number,
    /// Members to add (negative: remove); not 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<i64>,
    /// Percent of the current desired capacity to add, rounded away from zero; not 0.
    #[serde(rename = "changePercent", skip_serializing_if = "Option::is_none")]
    pub change_percent: Option<Number>,
    /// The desired capacity to set; 0 or more.
    #[serde(rename = "desiredCapacity", skip_serializing_if = "Option::is_none")]
    pub desired_capacity: Option<u64>,
    /// When a schedule policy fires, or how a metric policy decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<PolicyArgs>,
    /// A metric policy's decisions are recorded but never applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// What a metric policy proposes once its metric has failed so many reads in a row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackDocument>,
}

/// A metric policy's fallback.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FallbackDocument {
    /// Consecutive failed reads before it applies (3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<u32>,
    /// `hold`, `fixed` or `fixed_if_higher`.
    pub action: String,
    /// The count of `fixed` and `fixed_if_higher`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<u32>,
}

/// The policy types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// Executed through the API or a capability URL.
    Webhook,
    /// Executed at a time or on a cron schedule.
    Schedule,
    /// Rackspace Cloud Monitoring alarms: refused (no such integration).
    CloudMonitoring,
    /// Keep a metric at a target per member (Kubernetes HPA).
    TargetTracking,
    /// AWS step scaling.
    Step,
    /// autoscalebot's thresholds.
    Threshold,
    /// RightScale's instance voting.
    Votes,
}

/// The `args` of a policy.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PolicyArgs {
    /// A schedule: exactly one of `at` and `cron`.
    Schedule(ScheduleArgs),
    /// Cloud Monitoring arguments (refused).
    CloudMonitoring(MonitoringArgs),
    /// A metric policy's arguments (`target_tracking`, `step`, `threshold`, `votes`): an object
    /// whose fields its type defines (see docs/policies.md).
    Metric(Map<String, Value>),
}

/// When a schedule policy fires.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleArgs {
    /// Once, at this UTC time with seconds (`2030-01-31T08:00:00Z`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// A 5-field cron expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// The IANA time zone of `cron`, spelled exactly (default UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// Cloud Monitoring arguments.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringArgs {
    /// The alarm's criteria.
    pub alarm_criteria: Value,
    /// The check.
    pub check: Value,
}

/// A webhook.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookDocument {
    /// At least one non-whitespace character, at most 256.
    pub name: String,
    /// String pairs (required when replacing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// A launch configuration: how one member is made.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "args", rename_all = "snake_case")]
pub enum LaunchDocument {
    /// A Nova server, optionally behind Cloud Load Balancers or RackConnect v3.
    LaunchServer(ServerLaunch),
    /// A Heat stack.
    LaunchStack(StackLaunch),
    /// An OS process on the Ebb server, behind its built-in load balancer.
    LocalProcess(crate::launch::LocalProcessLaunch),
}

/// The `args` of `launch_server`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerLaunch {
    /// The Nova server to create; fields not named here are passed to Nova as they are.
    pub server: ServerSpec,
    /// At most 5, no duplicates.
    #[serde(rename = "loadBalancers", skip_serializing_if = "Option::is_none")]
    pub load_balancers: Option<Vec<OtterBalancer>>,
    /// Seconds (30 to 3600) a removed server is drained from its Cloud Load Balancers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draining_timeout: Option<Number>,
}

/// A Nova server.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ServerSpec {
    /// The flavor.
    #[serde(rename = "flavorRef")]
    pub flavor_ref: String,
    /// The image; empty or absent with a block device mapping.
    #[serde(rename = "imageRef", default, skip_serializing_if = "Option::is_none")]
    pub image_ref: Option<String>,
    /// Files to inject, base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<Vec<PersonalityFile>>,
    /// Server metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Everything else Nova takes (`networks`, `user_data`, `block_device_mapping_v2`, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A file to inject into a server.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalityFile {
    /// Where.
    pub path: String,
    /// Base64.
    pub contents: String,
}

/// A Cloud Load Balancer (with `port`) or a RackConnect v3 pool (`"type": "RackConnectV3"`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OtterBalancer {
    /// The load balancer's id (a number or a string).
    #[serde(rename = "loadBalancerId")]
    pub load_balancer_id: BalancerId,
    /// The port members serve on (Cloud Load Balancers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `CloudLoadBalancer` (the default) or `RackConnectV3`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A load balancer id: Cloud Load Balancers use numbers, RackConnect v3 strings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BalancerId {
    /// A number.
    Number(i64),
    /// A string.
    Text(String),
}

/// The `args` of `launch_stack`: exactly one of `template` and `template_url`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackLaunch {
    /// The Heat stack.
    pub stack: StackSpec,
}

/// A Heat stack.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackSpec {
    /// The template, as text or as an object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    /// Where the template is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_url: Option<String>,
    /// Whether to keep a failed stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_rollback: Option<bool>,
    /// The environment, as text or as an object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Value>,
    /// Files the template refers to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Map<String, Value>>,
    /// Template parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
    /// Minutes Heat may take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_mins: Option<Number>,
}

/// Time windows (Cloud Foundry's `schedules` document): bounds in force by time of day or date.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowsDocument {
    /// The IANA time zone of every time, spelled exactly.
    pub timezone: String,
    /// Windows that recur on days of the week or of the month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurring_schedule: Option<Vec<RecurringWindow>>,
    /// Windows between two local date-times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specific_date: Option<Vec<SpecificWindow>>,
}

/// A recurring window: exactly one of `days_of_week` (1 = Monday) and `days_of_month`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurringWindow {
    /// `HH:MM`.
    pub start_time: String,
    /// `HH:MM`, after `start_time`.
    pub end_time: String,
    /// 1 (Monday) to 7.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_of_week: Option<Vec<u8>>,
    /// 1 to 31.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_of_month: Option<Vec<u8>>,
    /// `YYYY-MM-DD` (or empty): from this day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// `YYYY-MM-DD` (or empty): until this day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// The minimum in force.
    pub instance_min_count: u32,
    /// The maximum in force.
    pub instance_max_count: u32,
    /// Capacity is raised to at least this when the window starts (0: the minimum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_min_instance_count: Option<u32>,
}

/// A window between two local date-times.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecificWindow {
    /// `YYYY-MM-DDTHH:MM`, in the future.
    pub start_date_time: String,
    /// `YYYY-MM-DDTHH:MM`, after the start.
    pub end_date_time: String,
    /// The minimum in force.
    pub instance_min_count: u32,
    /// The maximum in force.
    pub instance_max_count: u32,
    /// Capacity is raised to at least this when the window starts (0: the minimum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_min_instance_count: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_echo_what_was_submitted() {
        let policy = json!({"name": "p", "type": "webhook", "cooldown": 1.5, "changePercent": 10});
        let parsed: PolicyDocument = serde_json::from_value(policy.clone()).unwrap();
        assert_eq!(serde_json::to_value(parsed).unwrap(), policy);
        let launch = json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i", "networks": [{"uuid": "x"}], "OS-DCF:diskConfig": "AUTO"}, "loadBalancers": [{"loadBalancerId": 1, "port": 80}]}});
        let parsed: LaunchDocument = serde_json::from_value(launch.clone()).unwrap();
        assert_eq!(serde_json::to_value(parsed).unwrap(), launch);
    }

    #[test]
    fn shapes_that_do_not_conform_are_invalid() {
        assert!(
            conforms::<PolicyDocument>(&json!({"name": "p", "type": "webhook", "cooldown": 0, "extra": 1}), "")
                .is_err()
        );
        assert!(conforms::<WebhookDocument>(&json!({"name": "w", "metadata": {"a": "b"}}), "").is_ok());
        assert!(conforms::<WindowsDocument>(&json!({"timezone": "UTC", "specific_date": []}), "").is_ok());
    }
}

/// A collector: what it reads, how often, and under which metric its samples are stored
/// (`POST .../collectors` takes an array of them; `docs/collectors.md`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectorDocument {
    /// At least one non-whitespace character, at most 255.
    pub name: String,
    /// Where it reads.
    #[serde(rename = "type")]
    pub kind: CollectorKind,
    /// The metric its samples are stored under (letters, digits, underscores).
    pub metric: String,
    /// Seconds between reads, 1 to 86400 (15).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Number>,
    /// Seconds a read may take, at most the interval and 300 (10, or the interval if shorter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Number>,
    /// The type's arguments; secrets in them are shown as `********` and kept when sent back so.
    pub args: serde_json::Map<String, serde_json::Value>,
}

/// The collector types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CollectorKind {
    /// A URL's response time, or a number in one of its headers.
    HttpProbe,
    /// A number in the JSON a URL returns.
    AppDecision,
    /// An instant PromQL query.
    Prometheus,
    /// A Redis list's length, sorted set's size or stream group's lag.
    Redis,
    /// A RabbitMQ queue's messages.
    Rabbitmq,
    /// A NATS JetStream consumer's pending messages.
    Nats,
    /// One read-only SQL query returning one number.
    Sql,
    /// A load balancer's connections or requests per member.
    LbStats,
}

/// A tenant's cloud settings (`PUT /admin/v1/tenants/{tenant}/cloud`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudDocument {
    /// The identity endpoint (Keystone v2 or Rackspace identity), `http(s)://…/v2.0`.
    pub identity_url: String,
    /// The cloud user.
    pub username: String,
    /// Its API key (or `password`; exactly one). Stored and used, never shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Its password (or `api_key`; exactly one). Stored and used, never shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The region whose endpoints are used (`ORD`).
    pub region: String,
    /// The cloud project (tenant) to pin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Whether the API accepts tokens this identity issues (false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_identity_tokens: Option<bool>,
}
