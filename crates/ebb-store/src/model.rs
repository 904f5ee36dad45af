//! The records the store reads and writes. The records decisions are made on (groups,
//! policies, events, history entries) are `ebb_core::records`, re-exported here.
use std::sync::Arc;

use ebb_core::decide::Decision;
use ebb_core::group::GroupConfig;
pub use ebb_core::ids::{CollectorId, GroupId, MemberId, PolicyId, TenantId, WebhookId};
use ebb_core::launch::{LaunchConfig, LaunchKind};
pub use ebb_core::metrics::minutes::{MinuteAggregate, Of};
use ebb_core::policy::Policy;
use ebb_core::records::GroupState;
pub use ebb_core::records::{
    CollectorRecord, EventKind, Execution, Group, GroupEvent, GroupStatus, GroupWindows, HistoryEntry,
    MetricCredential, PolicyRecord, Source,
};
use jiff::Timestamp;
use serde_json::{Map, Value};

/// A tenant: the owner of groups and tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    /// Chosen by the operator.
    pub id: TenantId,
    /// When it was created.
    pub created_at: Timestamp,
}

/// What a tenant token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Read and write.
    Admin,
    /// Read only.
    Observer,
}

impl Role {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Observer => "observer",
        }
    }

    /// The role with that name.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "observer" => Some(Role::Observer),
            _ => None,
        }
    }
}

/// A tenant API token (its secret is never stored, only a hash of it).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Its id, used to revoke it.
    pub id: String,
    /// The tenant it acts for.
    pub tenant_id: TenantId,
    /// What it may do.
    pub role: Role,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A policy to store: its body as submitted, parsed, and when it first fires (schedules).
#[derive(Debug, Clone)]
pub struct NewPolicy {
    /// The body as submitted.
    pub body: Value,
    /// The body, validated.
    pub policy: Policy,
    /// Its first fire time, for schedule policies (`ebb_core::decide::arm_schedule`).
    pub next_fire: Option<Timestamp>,
}

/// A collector to store: its document as submitted (secrets included), and parsed.
#[derive(Debug, Clone)]
pub struct NewCollector {
    /// The document as submitted.
    pub body: Value,
    /// The document, validated.
    pub collector: ebb_core::collector::Collector,
}

/// A group to create.
#[derive(Debug, Clone)]
pub struct NewGroup {
    /// Its id (`GroupId::generate`).
    pub id: GroupId,
    /// The tenant that will own it.
    pub tenant_id: TenantId,
    /// Its validated configuration.
    pub config: GroupConfig,
    /// Its validated launch configuration.
    pub launch: LaunchConfig,
    /// Its first state and history entry (`ebb_core::decide::create_group`).
    pub state: GroupState,
    /// The first entry of its history.
    pub history: HistoryEntry,
    /// Policies to create with it.
    pub policies: Vec<NewPolicy>,
}

/// A webhook to create: its body and the hash of its capability secret.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Its name.
    pub name: String,
    /// Its metadata.
    pub metadata: Map<String, Value>,
    /// SHA-256 of the capability secret, lowercase hex.
    pub capability_hash: String,
}

/// A webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    /// Its id.
    pub id: WebhookId,
    /// Its policy.
    pub policy_id: PolicyId,
    /// Its name.
    pub name: String,
    /// Its metadata.
    pub metadata: Map<String, Value>,
}

/// What a capability URL executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityTarget {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The group.
    pub group_id: GroupId,
    /// The policy.
    pub policy_id: PolicyId,
    /// The webhook.
    pub webhook_id: WebhookId,
}

/// Where a page of a list starts and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Only items whose id sorts strictly after this one (before, for lists newest first).
    pub marker: Option<String>,
    /// At most this many items.
    pub limit: usize,
}

/// A member of a group, as recorded before it is started.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    /// Its id.
    pub id: MemberId,
    /// Its group.
    pub group_id: GroupId,
    /// `{launch name}-as{8 hex}`.
    pub name: String,
    /// The provider that runs it (`local_process`).
    pub provider: String,
    /// What the provider says identifies it once started (for `local_process`, its process
    /// id and port); `null` until then.
    pub reference: Value,
    /// When it was started.
    pub created_at: Timestamp,
}

/// A schedule policy whose time has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSchedule {
    /// The policy.
    pub policy_id: PolicyId,
    /// Its group.
    pub group_id: GroupId,
    /// When it is due.
    pub due: Timestamp,
}

/// A schedule policy and when it fires next.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleEntry {
    /// The group.
    pub group_id: GroupId,
    /// The policy.
    pub policy: PolicyRecord,
    /// Its next fire time.
    pub next_fire: Timestamp,
}

/// A group's windows and when the window in force next changes.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowTimer {
    /// The group.
    pub group_id: GroupId,
    /// Its windows.
    pub windows: Arc<GroupWindows>,
    /// The next change.
    pub next_change: Timestamp,
}

/// What a decision is about: the store loads it into a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A tenant's group (not being deleted), with one of its policies (absent from the
    /// snapshot when it does not exist) and a member that must exist.
    Group {
        /// The tenant.
        tenant: TenantId,
        /// The group.
        group: GroupId,
        /// A policy of the group to load.
        policy: Option<PolicyId>,
        /// A member of the group that must exist ([`crate::StoreError::MemberNotFound`]).
        member: Option<MemberId>,
    },
    /// The webhook with this capability hash, with its policy and group.
    Capability {
        /// SHA-256 of the capability secret.
        hash: String,
    },
    /// A schedule policy and its group, if still armed for `due`.
    Schedule {
        /// The policy.
        policy: PolicyId,
        /// Its due time.
        due: Timestamp,
    },
    /// A group whose window timer is still armed for `due`.
    WindowTimer {
        /// The group.
        group: GroupId,
        /// Its due time.
        due: Timestamp,
    },
}

/// A decision as committed, with what it was about.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The tenant of the group.
    pub tenant_id: TenantId,
    /// The group.
    pub group_id: GroupId,
    /// The policy, if the decision was about one.
    pub policy_id: Option<PolicyId>,
    /// The webhook, for a capability.
    pub webhook_id: Option<WebhookId>,
    /// The kind of the group's launch configuration: whether anything on this server runs
    /// its members, and so whether the change has anything to converge.
    pub launch_kind: LaunchKind,
    /// What was written.
    pub decision: Decision,
}

/// Which entries of a group's history to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Newest first: entries before this id, at most this many.
    pub page: Page,
    /// Only entries at or after this time.
    pub since: Option<Timestamp>,
    /// Only entries before this time.
    pub until: Option<Timestamp>,
    /// Only entries from this source.
    pub source: Option<Source>,
}

/// Which per-minute aggregates of a group's metric to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteQuery {
    /// The metric.
    pub metric: String,
    /// The group's own aggregates (`true`) or its member slots' (`false`).
    pub of_group: bool,
    /// Only minutes at or after this time.
    pub from: Timestamp,
    /// Only minutes at or before this time.
    pub to: Timestamp,
    /// Newest first.
    pub descending: bool,
    /// Skip this many.
    pub offset: usize,
    /// At most this many.
    pub limit: usize,
}

/// A stored history entry.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    /// Its id (time-ordered).
    pub id: String,
    /// The entry.
    pub entry: HistoryEntry,
}

/// A service instance of the service broker (Open Service Broker API v2).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceInstance {
    /// Its id, chosen by the platform.
    pub id: String,
    /// The catalog's service it is of.
    pub service_id: String,
    /// The catalog's plan it is of.
    pub plan_id: String,
    /// The platform's organization it belongs to.
    pub organization_guid: String,
    /// The platform's space it belongs to.
    pub space_guid: String,
    /// The policy of the groups bound to it without one of their own, if any.
    pub default_policy: Option<ebb_core::cf_policy::CfPolicy>,
    /// When it was provisioned.
    pub created_at: Timestamp,
}

/// A binding of a service instance to a group (Cloud Foundry's app).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceBinding {
    /// Its id, chosen by the platform.
    pub id: String,
    /// The service instance.
    pub instance_id: String,
    /// The group's tenant.
    pub tenant_id: TenantId,
    /// The group.
    pub group_id: GroupId,
    /// When it was made.
    pub created_at: Timestamp,
}

/// What creating a record with an id chosen by the caller found.
#[derive(Debug, Clone, PartialEq)]
pub enum Created<T> {
    /// It was created.
    New(T),
    /// One with that id exists already (it may differ from what was asked for); nothing was
    /// written.
    Existing(T),
}
