//! The records decisions are made on: a group (its configuration, launch configuration, time
//! windows and state), its policies, what an execution did, and what is recorded of it
//! (events and the history of desired capacity).
//!
//! Stored documents are held typed, parsed once when read: a group's launch configuration
//! and windows, a policy's body. The documents as submitted are kept beside the typed values,
//! to be shown as they were written.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;

use crate::capacity::{Bounds, Refusal};
use crate::cf_policy::MetricRules;
use crate::collector::Collector;
use crate::group::GroupConfig;
use crate::ids::{CollectorId, GroupId, PolicyId, TenantId, WebhookId};
use crate::launch::LaunchConfig;
use crate::policy::Policy;
use crate::windows::Windows;

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

/// A direction of scaling, which a group may pause alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Removing members.
    In,
    /// Adding members.
    Out,
}

impl Direction {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }

    /// The direction named `name`.
    pub fn parse(name: &str) -> Option<Direction> {
        match name {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        }
    }

    /// The direction of a change from `from` to `to`, if it changes anything.
    pub fn of(from: u32, to: u32) -> Option<Direction> {
        match to.cmp(&from) {
            std::cmp::Ordering::Less => Some(Direction::In),
            std::cmp::Ordering::Greater => Some(Direction::Out),
            std::cmp::Ordering::Equal => None,
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
    /// A direction in which policies may not scale the group (beside `paused`, which stops
    /// both).
    pub paused_direction: Option<Direction>,
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
    /// Until when the group's metric rules may not scale it (the cooldown of the last
    /// scale by a rule).
    pub rules_cooldown_until: Option<Timestamp>,
}

impl GroupState {
    /// The state of a new group: desired capacity at its minimum.
    pub fn new(desired: u32) -> Self {
        GroupState {
            desired,
            paused: false,
            paused_direction: None,
            status: GroupStatus::Active,
            errors: Vec::new(),
            touched_at: None,
            deleting: false,
            window: None,
            rules_cooldown_until: None,
        }
    }

    /// Why a pause refuses a policy's change of desired capacity from `from` to `to`, if one
    /// does: a full pause refuses everything, a one-way pause the changes in its direction.
    pub fn pause_refuses(&self, from: u32, to: u32) -> Option<&'static str> {
        if self.paused {
            return Some("the group is paused");
        }
        match (self.paused_direction, Direction::of(from, to)) {
            (Some(Direction::In), Some(Direction::In)) => Some("scale-in is paused"),
            (Some(Direction::Out), Some(Direction::Out)) => Some("scale-out is paused"),
            _ => None,
        }
    }
}

/// A group's time windows: the document as submitted and its parsed form.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupWindows {
    /// Cloud Foundry's `schedules` document, as submitted.
    pub document: Value,
    /// The windows.
    pub windows: Windows,
}

impl GroupWindows {
    /// Parses a stored document (validated when it was written: dates may since be past).
    pub fn parse_stored(document: Value) -> Result<Self, crate::Invalid> {
        let windows = Windows::parse(&document, None)?;
        Ok(GroupWindows { document, windows })
    }
}

/// A group's metric credential: a user name and the hash of its password (shown once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricCredential {
    /// The user name.
    pub username: String,
    /// SHA-256 of the password, lowercase hex ([`crate::secret::hash`]).
    pub password_hash: String,
}

/// A scaling group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Its id.
    pub id: GroupId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Name, cooldown, bounds and metadata (shared: decisions copy groups, and few change it).
    pub config: Arc<GroupConfig>,
    /// How a member is made.
    pub launch: Arc<LaunchConfig>,
    /// Desired capacity, pause, status.
    pub state: GroupState,
    /// Its time windows, if any.
    pub windows: Option<Arc<GroupWindows>>,
    /// Its metric rules (a Cloud Foundry policy's `scaling_rules`), if it has a policy.
    pub rules: Option<Arc<MetricRules>>,
    /// The credential that may submit its metrics, if it has one.
    pub credential: Option<MetricCredential>,
    /// When it was created.
    pub created_at: Timestamp,
}

impl Group {
    /// The group's own bounds.
    pub fn own_bounds(&self) -> Bounds {
        Bounds { min: self.config.min_entities, max: self.config.max_entities }
    }
}

/// A scaling policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRecord {
    /// Its id.
    pub id: PolicyId,
    /// Its group.
    pub group_id: GroupId,
    /// The body as submitted.
    pub body: Value,
    /// The body, parsed.
    pub policy: Policy,
    /// When it last executed successfully.
    pub touched_at: Option<Timestamp>,
}

impl PolicyRecord {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.policy.name
    }
}

/// A collector of a group, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectorRecord {
    /// Its id.
    pub id: CollectorId,
    /// Its group.
    pub group_id: GroupId,
    /// The group's tenant.
    pub tenant_id: TenantId,
    /// The document as submitted, secrets included: never shown as it is
    /// ([`crate::collector::secrets::redact`]).
    pub body: Value,
    /// The document, parsed.
    pub collector: Collector,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last replaced.
    pub updated_at: Timestamp,
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
    Refused(Refusal),
    /// The group is paused.
    Paused,
    /// The group is paused in the direction the execution would take.
    DirectionPaused(Direction),
}

/// What happened at a schedule's due time or to a group's windows.
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
    pub group_id: GroupId,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
    /// The policy involved.
    pub policy_id: Option<PolicyId>,
    /// When the schedule was due.
    pub due: Option<Timestamp>,
    /// Why, in words.
    pub message: String,
}

/// What asked for a change of desired capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The group was created (at its minimum).
    Create,
    /// A tenant executed a policy through the API.
    Api,
    /// Someone called a capability URL.
    Capability,
    /// A schedule policy's time came.
    Schedule,
    /// A time window started.
    WindowStart,
    /// A time window ended.
    WindowEnd,
    /// The group's bounds changed (its configuration or its windows were replaced).
    Bounds,
    /// A member was removed without replacement.
    MemberRemoved,
    /// Convergence changed it (a group being deleted goes to 0).
    Convergence,
    /// A metric rule was breached.
    Metric,
}

impl Source {
    /// Every source, in the order of their names.
    pub const ALL: [Source; 10] = [
        Source::Api,
        Source::Bounds,
        Source::Capability,
        Source::Convergence,
        Source::Create,
        Source::MemberRemoved,
        Source::Metric,
        Source::Schedule,
        Source::WindowEnd,
        Source::WindowStart,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Create => "create",
            Source::Api => "api",
            Source::Capability => "capability",
            Source::Schedule => "schedule",
            Source::WindowStart => "window_start",
            Source::WindowEnd => "window_end",
            Source::Bounds => "bounds",
            Source::MemberRemoved => "member_removed",
            Source::Convergence => "convergence",
            Source::Metric => "metric",
        }
    }

    /// The source with that name.
    pub fn parse(text: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|source| source.as_str() == text)
    }
}

/// One entry of a group's history: a change of desired capacity, or an execution that
/// changed nothing, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The group.
    pub group_id: GroupId,
    /// When.
    pub at: Timestamp,
    /// What asked.
    pub source: Source,
    /// The policy executed, if any.
    pub policy_id: Option<PolicyId>,
    /// The webhook whose capability URL was called, if any.
    pub webhook_id: Option<WebhookId>,
    /// Desired capacity before.
    pub from: u32,
    /// Desired capacity after (equal to `from` when nothing changed).
    pub to: u32,
    /// The bounds in force.
    pub bounds: Bounds,
    /// Why, in words.
    pub reason: String,
}
