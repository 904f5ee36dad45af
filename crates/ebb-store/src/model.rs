//! The records the store reads and writes.

use ebb_core::group::GroupConfig;
use jiff::Timestamp;
use serde_json::{Map, Value};

/// A tenant: the owner of groups and tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    /// Chosen by the operator.
    pub id: String,
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
    pub tenant_id: String,
    /// What it may do.
    pub role: Role,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Whether a group's last convergence succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupStatus {
    /// Fine.
    Active,
    /// The last convergence failed for a reason the user must fix.
    Error,
}

impl GroupStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupStatus::Active => "ACTIVE",
            GroupStatus::Error => "ERROR",
        }
    }
}

/// The changing part of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupState {
    /// How many members the group should have.
    pub desired: u32,
    /// Whether policy executions are refused.
    pub paused: bool,
    /// ACTIVE or ERROR.
    pub status: GroupStatus,
    /// Why the group is in ERROR.
    pub errors: Vec<String>,
    /// When a policy of the group last executed successfully.
    pub touched_at: Option<Timestamp>,
    /// Deleted by its tenant; hidden from the API until its members are gone.
    pub deleting: bool,
    /// The time window whose start was applied last and has not ended.
    pub window: Option<String>,
}

/// A scaling group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Name, cooldown, bounds and metadata.
    pub config: GroupConfig,
    /// The launch configuration as stored.
    pub launch: Value,
    /// Desired capacity, pause, status.
    pub state: GroupState,
    /// Its time windows (Cloud Foundry's `schedules` document), if any.
    pub windows: Option<Value>,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A group to create.
#[derive(Debug, Clone)]
pub struct NewGroup {
    /// The tenant that will own it.
    pub tenant_id: String,
    /// Its validated configuration.
    pub config: GroupConfig,
    /// Its validated launch configuration.
    pub launch: Value,
    /// Validated policy bodies to create with it.
    pub policies: Vec<Value>,
}

/// A scaling policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRecord {
    /// Its id.
    pub id: String,
    /// Its group.
    pub group_id: String,
    /// The body as submitted.
    pub body: Value,
    /// When it last executed successfully.
    pub touched_at: Option<Timestamp>,
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
    pub id: String,
    /// Its policy.
    pub policy_id: String,
    /// Its name.
    pub name: String,
    /// Its metadata.
    pub metadata: Map<String, Value>,
}

/// What a capability URL executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityTarget {
    /// The tenant.
    pub tenant_id: String,
    /// The group.
    pub group_id: String,
    /// The policy.
    pub policy_id: String,
}

/// Where a page of a list starts and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Only items whose id sorts strictly after this one.
    pub marker: Option<String>,
    /// At most this many items.
    pub limit: usize,
}

/// The outcome of executing a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// Desired capacity changed.
    Scaled {
        /// Before.
        from: u32,
        /// After.
        to: u32,
    },
    /// Nothing changed and no cooldown started.
    Refused(ebb_core::capacity::Refusal),
    /// The group is paused.
    Paused,
}

/// A member of a group, as recorded before it is started.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    /// Its id.
    pub id: String,
    /// Its group.
    pub group_id: String,
    /// `{launch name}-as{8 hex}`.
    pub name: String,
    /// The port it was given.
    pub port: u16,
    /// Its process id, once started.
    pub pid: Option<u32>,
    /// When it was started.
    pub created_at: Timestamp,
}

/// What happened at a schedule's due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The policy was executed (whether or not it changed anything).
    Fired,
    /// The policy was not executed: the group was paused, or the time was missed.
    Skipped,
    /// A time window started.
    WindowStart,
    /// A time window ended.
    WindowEnd,
}

impl EventKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Fired => "fired",
            EventKind::Skipped => "skipped",
            EventKind::WindowStart => "window_start",
            EventKind::WindowEnd => "window_end",
        }
    }

    /// The kind with that name.
    pub fn parse(text: &str) -> Option<EventKind> {
        match text {
            "fired" => Some(EventKind::Fired),
            "skipped" => Some(EventKind::Skipped),
            "window_start" => Some(EventKind::WindowStart),
            "window_end" => Some(EventKind::WindowEnd),
            _ => None,
        }
    }
}

/// Something that happened to a group, with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupEvent {
    /// The group.
    pub group_id: String,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
    /// The policy involved.
    pub policy_id: Option<String>,
    /// When the schedule was due.
    pub due: Option<Timestamp>,
    /// Why, in words.
    pub message: String,
}

/// A schedule policy whose time has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSchedule {
    /// The policy.
    pub policy_id: String,
    /// Its group.
    pub group_id: String,
    /// When it is due.
    pub due: Timestamp,
}

/// What firing a schedule did.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// The tenant of the group.
    pub tenant_id: String,
    /// The execution, when the policy was executed.
    pub execution: Option<Execution>,
    /// The recorded event.
    pub event: GroupEvent,
}

/// A schedule policy and when it fires next.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleEntry {
    /// The group.
    pub group_id: String,
    /// The policy.
    pub policy: PolicyRecord,
    /// Its next fire time.
    pub next_fire: Timestamp,
}
