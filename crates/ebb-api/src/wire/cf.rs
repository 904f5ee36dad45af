//! Cloud Foundry's shapes: its errors, the metric credential, history pages and points.

use schemars::JsonSchema;
use serde::Serialize;

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
