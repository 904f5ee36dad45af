//! Every rule that changes a group's desired capacity or arms a time, in one place.
//!
//! Each decision is a pure function of a [`Snapshot`] (the group, and the policy involved,
//! as stored) and `now`; it returns a [`Decision`]: the group as it is to be, the policy
//! cooldown and timers to set, and the history entries and events to record. The store
//! writes a decision atomically and decides nothing; the engine is the only caller and does
//! the logging, counting and convergence. Because nothing here does I/O, every rule is a row
//! of a table test, and `ebb simulate` can run the same code on a virtual clock.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::capacity::{self, Bounds, ExecutionInput, Refusal};
use crate::group::GroupConfig;
use crate::ids::{GroupId, PolicyId, WebhookId};
use crate::policy::{Adjustment, Policy};
use crate::records::{
    Direction, EventKind, Execution, Group, GroupEvent, GroupState, GroupWindows, HistoryEntry, PolicyRecord, Source,
};

/// What a decision reads, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The group.
    pub group: Group,
    /// The policy being executed or fired.
    pub policy: Option<PolicyRecord>,
    /// The webhook whose capability URL was called.
    pub webhook: Option<WebhookId>,
}

/// What a decision did, for its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A policy execution.
    Execution(Execution),
    /// A schedule's due time: its execution, or `None` when it was skipped (missed).
    Schedule(Option<Execution>),
    /// Desired capacity went from one value to another (equal when nothing changed).
    Capacity {
        /// Before.
        from: u32,
        /// After.
        to: u32,
    },
}

/// What to write, atomically, and what it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The group as it is to be stored, when it changed.
    pub group: Option<Group>,
    /// A policy whose cooldown starts now.
    pub policy_touched: Option<(PolicyId, Timestamp)>,
    /// A schedule policy's next fire time (`None`: it never fires again).
    pub schedule: Option<(PolicyId, Option<Timestamp>)>,
    /// The group's next window change (`None`: none), when it is to be set.
    pub window_timer: Option<Option<Timestamp>>,
    /// Entries of the group's history.
    pub history: Vec<HistoryEntry>,
    /// Events of the group.
    pub events: Vec<GroupEvent>,
    /// What the decision did.
    pub outcome: Outcome,
}

impl Decision {
    fn nothing(outcome: Outcome) -> Decision {
        Decision {
            group: None,
            policy_touched: None,
            schedule: None,
            window_timer: None,
            history: Vec::new(),
            events: Vec::new(),
            outcome,
        }
    }
}

/// Why a change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Removing a member without replacement would take the group below its minimum.
    #[error("the group is at its minimum of {min}")]
    BelowMinimum {
        /// The minimum in force.
        min: u32,
    },
    /// A group with a desired capacity other than 0 was deleted without `force`.
    #[error("the group still has a desired capacity")]
    GroupNotEmpty,
    /// The snapshot lacks the policy the decision is about.
    #[error("no such policy")]
    NoPolicy,
}

/// The bounds desired capacity is kept within at `now`: those of the window in force, else
/// the group's own.
pub fn effective_bounds(group: &Group, now: Timestamp) -> Bounds {
    bounds_in_force(group.windows.as_deref(), group.own_bounds(), now)
}

/// The bounds in force at `now` of a group with these windows and bounds of its own.
pub fn bounds_in_force(windows: Option<&GroupWindows>, own: Bounds, now: Timestamp) -> Bounds {
    match windows.and_then(|w| w.windows.active_at(now)) {
        Some(active) => active.clamp_bounds(),
        None => own,
    }
}

/// The state of a new group `id` and the first entry of its history: desired capacity at its
/// minimum.
pub fn create_group(id: &GroupId, config: &GroupConfig, now: Timestamp) -> (GroupState, HistoryEntry) {
    let desired = config.min_entities;
    let entry = HistoryEntry {
        group_id: id.clone(),
        at: now,
        source: Source::Create,
        policy_id: None,
        webhook_id: None,
        from: 0,
        to: desired,
        bounds: Bounds { min: config.min_entities, max: config.max_entities },
        reason: format!("group created at its minimum of {desired}"),
    };
    (GroupState::new(desired), entry)
}

/// When a policy fires next after `now`: for schedule policies, their next time; never for
/// any other policy or a schedule that is over.
pub fn arm_schedule(policy: &Policy, now: Timestamp) -> Option<Timestamp> {
    policy.schedule.as_ref().and_then(|schedule| schedule.next_after(now))
}

/// What executing `record`'s change on `group` within `bounds` looks at.
fn execution_input(
    group: &Group,
    record: &PolicyRecord,
    bounds: Bounds,
    adjustment: Adjustment,
    now: Timestamp,
) -> ExecutionInput {
    ExecutionInput {
        desired: group.state.desired,
        bounds,
        group_cooldown: group.config.cooldowns(),
        group_touched: group.state.touched_at,
        policy_cooldown: record.policy.cooldown,
        policy_touched: record.touched_at,
        adjustment,
        now,
    }
}

/// `group` scaled to `to` by a policy at `now` (which starts the group's cooldown).
fn scaled(group: &Group, to: u32, now: Timestamp) -> Group {
    let mut changed = group.clone();
    changed.state.desired = to;
    changed.state.touched_at = Some(now);
    changed
}

fn entry(group: &Group, now: Timestamp, source: Source, to: u32, bounds: Bounds, reason: String) -> HistoryEntry {
    HistoryEntry {
        group_id: group.id.clone(),
        at: now,
        source,
        policy_id: None,
        webhook_id: None,
        from: group.state.desired,
        to,
        bounds,
        reason,
    }
}

/// Executes the snapshot's policy for `source`: pause, cooldowns, the adjustment, clamping to
/// the bounds in force. A successful execution sets desired capacity and starts both
/// cooldowns; any other outcome changes nothing but is recorded in the history too.
pub fn execute_policy(snapshot: &Snapshot, source: Source, now: Timestamp) -> Result<Decision, Rejection> {
    let group = &snapshot.group;
    let bounds = effective_bounds(group, now);
    let from = group.state.desired;
    let history = |policy_id: Option<&PolicyId>, to: u32, reason: String| {
        let mut entry = entry(group, now, source, to, bounds, reason);
        entry.policy_id = policy_id.cloned();
        entry.webhook_id = snapshot.webhook.clone();
        entry
    };
    // Pause is checked first, as Otter does: a paused group refuses even an unknown policy.
    if group.state.paused {
        let record = snapshot.policy.as_ref();
        let name = record.map(|r| format!(" {:?}", r.name())).unwrap_or_default();
        let mut decision = Decision::nothing(Outcome::Execution(Execution::Paused));
        let reason = format!("policy{name} not executed: the group is paused");
        decision.history.push(history(record.map(|r| &r.id), from, reason));
        return Ok(decision);
    }
    let record = snapshot.policy.as_ref().ok_or(Rejection::NoPolicy)?;
    let name = record.name();
    let history = |to: u32, reason: String| history(Some(&record.id), to, reason);
    let executed = record
        .policy
        .adjustment()
        .ok_or(Refusal::NotExecutable)
        .and_then(|adjustment| capacity::execute(&execution_input(group, record, bounds, adjustment, now)));
    match executed {
        Ok(to) if group.state.pause_refuses(from, to).is_some() => {
            let direction = Direction::of(from, to).unwrap_or(Direction::Out);
            let why = group.state.pause_refuses(from, to).unwrap_or_default();
            let mut decision = Decision::nothing(Outcome::Execution(Execution::DirectionPaused(direction)));
            decision.history.push(history(from, format!("policy {name:?} not executed: {why}")));
            Ok(decision)
        }
        Ok(to) => {
            let changed = scaled(group, to, now);
            let mut decision = Decision::nothing(Outcome::Execution(Execution::Scaled { from, to }));
            decision.history.push(history(to, format!("policy {name:?} executed: desired capacity {from} to {to}")));
            decision.group = Some(changed);
            decision.policy_touched = Some((record.id.clone(), now));
            Ok(decision)
        }
        Err(refusal) => {
            let why = match refusal {
                Refusal::Cooldown => "cooldowns not met".to_string(),
                Refusal::NoChange => {
                    format!("no change: desired capacity stays {from} within bounds {}..{}", bounds.min, bounds.max)
                }
                Refusal::NotExecutable => "a metric policy is evaluated on its metric, never executed".to_string(),
            };
            let mut decision = Decision::nothing(Outcome::Execution(Execution::Refused(refusal)));
            decision.history.push(history(from, format!("policy {name:?} changed nothing: {why}")));
            Ok(decision)
        }
    }
}

/// A schedule policy's due time came at `now`: it executes through the same rules as an API
/// execution (or is skipped when missed by more than `grace`), an event is recorded, and the
/// schedule is armed again (a missed cron goes on from now: one catch-up, not many).
pub fn fire_schedule(
    snapshot: &Snapshot,
    due: Timestamp,
    now: Timestamp,
    grace: SignedDuration,
) -> Result<Decision, Rejection> {
    let record = snapshot.policy.as_ref().ok_or(Rejection::NoPolicy)?;
    let lateness = now.duration_since(due);
    let (mut decision, kind, message) = if lateness > grace {
        let message = format!(
            "missed: {:.1} s late, beyond the grace period of {:.0} s",
            lateness.as_secs_f64(),
            grace.as_secs_f64()
        );
        (Decision::nothing(Outcome::Schedule(None)), EventKind::Skipped, message)
    } else {
        let mut decision = execute_policy(snapshot, Source::Schedule, now)?;
        let Outcome::Execution(execution) = decision.outcome else { unreachable!("an execution") };
        let (kind, message) = match execution {
            Execution::Scaled { from, to } => (EventKind::Fired, format!("desired capacity {from} to {to}")),
            Execution::Refused(Refusal::Cooldown) => (EventKind::Fired, "cooldowns not met: nothing changed".into()),
            Execution::Refused(Refusal::NoChange) => (EventKind::Fired, "no change in servers".into()),
            Execution::Refused(Refusal::NotExecutable) => (EventKind::Fired, "a metric policy is not executed".into()),
            Execution::Paused => (EventKind::Skipped, "the group is paused".into()),
            Execution::DirectionPaused(direction) => {
                (EventKind::Skipped, format!("scale-{} is paused", direction.as_str()))
            }
        };
        decision.outcome = Outcome::Schedule(Some(execution));
        (decision, kind, message)
    };
    decision.events.push(GroupEvent {
        group_id: snapshot.group.id.clone(),
        at: now,
        kind,
        policy_id: Some(record.id.clone()),
        due: Some(due),
        message,
    });
    let after = if now > due { now } else { due };
    decision.schedule = Some((record.id.clone(), arm_schedule(&record.policy, after)));
    Ok(decision)
}

/// Applies the window in force at `now` if it is not the one applied last: a window that
/// starts raises capacity to its initial minimum (and into its bounds); when a window ends,
/// capacity is clamped into the group's own bounds. Arms the next window change.
pub fn apply_windows(group: &Group, now: Timestamp) -> Decision {
    let active = group.windows.as_ref().and_then(|w| w.windows.active_at(now));
    let active_id = active.as_ref().map(|a| a.id.clone());
    let from = group.state.desired;
    let mut decision = Decision::nothing(Outcome::Capacity { from, to: from });
    decision.window_timer = Some(group.windows.as_ref().and_then(|w| w.windows.next_change_after(now)));
    if active_id == group.state.window {
        return decision;
    }
    let mut changed = group.clone();
    let mut desired = from;
    if let Some(ended) = &group.state.window {
        let bounds = group.own_bounds();
        let to = bounds.clamp(i128::from(desired));
        let reason = format!("window {ended} ends; desired capacity {desired} to {to}");
        let mut history = entry(group, now, Source::WindowEnd, to, bounds, reason.clone());
        history.from = desired;
        decision.history.push(history);
        decision.events.push(event(group, now, EventKind::WindowEnd, reason));
        desired = to;
    }
    if let Some(started) = &active {
        let to = started.starting_capacity(desired);
        let bounds = started.bounds;
        let reason = format!(
            "window {} starts with instance min {}, instance max {} and instance min initial {}; desired capacity {desired} to {to}",
            started.id,
            bounds.min,
            bounds.max,
            bounds.initial_min.unwrap_or(0)
        );
        let mut history = entry(group, now, Source::WindowStart, to, started.clamp_bounds(), reason.clone());
        history.from = desired;
        decision.history.push(history);
        decision.events.push(event(group, now, EventKind::WindowStart, reason));
        desired = to;
    }
    changed.state.desired = desired;
    changed.state.window = active_id;
    decision.group = Some(changed);
    decision.outcome = Outcome::Capacity { from, to: desired };
    decision
}

fn event(group: &Group, now: Timestamp, kind: EventKind, message: String) -> GroupEvent {
    GroupEvent { group_id: group.id.clone(), at: now, kind, policy_id: None, due: None, message }
}

/// Replaces a group's configuration and clamps desired capacity into the bounds in force
/// (a window's, or the new configuration's).
pub fn replace_config(group: &Group, config: GroupConfig, now: Timestamp) -> Decision {
    let mut changed = group.clone();
    changed.config = Arc::new(config);
    let bounds = effective_bounds(&changed, now);
    let from = group.state.desired;
    let to = bounds.clamp(i128::from(from));
    changed.state.desired = to;
    let mut decision = Decision::nothing(Outcome::Capacity { from, to });
    if to != from {
        let reason = format!("bounds changed to {}..{}: desired capacity {from} to {to}", bounds.min, bounds.max);
        decision.history.push(entry(group, now, Source::Bounds, to, bounds, reason));
    }
    decision.group = Some(changed);
    decision
}

/// Replaces (or, with `None`, removes) a group's windows and applies the window in force now.
pub fn replace_windows(group: &Group, windows: Option<GroupWindows>, now: Timestamp) -> Decision {
    let mut replaced = group.clone();
    replaced.windows = windows.map(Arc::new);
    let mut decision = apply_windows(&replaced, now);
    if decision.group.is_none() {
        decision.group = Some(replaced);
    }
    decision
}

/// A member is removed: with `replace` a new one takes its place (nothing changes here);
/// without, desired capacity goes down by one, never below the minimum in force.
pub fn remove_member(group: &Group, member: &str, replace: bool, now: Timestamp) -> Result<Decision, Rejection> {
    let from = group.state.desired;
    if replace {
        return Ok(Decision::nothing(Outcome::Capacity { from, to: from }));
    }
    let bounds = effective_bounds(group, now);
    if from <= bounds.min {
        return Err(Rejection::BelowMinimum { min: bounds.min });
    }
    let to = from - 1;
    let mut changed = group.clone();
    changed.state.desired = to;
    let mut decision = Decision::nothing(Outcome::Capacity { from, to });
    let reason = format!("member {member} removed without replacement: desired capacity {from} to {to}");
    decision.history.push(entry(group, now, Source::MemberRemoved, to, bounds, reason));
    decision.group = Some(changed);
    Ok(decision)
}

/// What a pause request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// Resume: both directions again.
    Resume,
    /// Pause both directions.
    All,
    /// Pause one direction; with the other already paused, both are.
    Only(Direction),
}

/// Pauses a group (in one direction or both) or resumes it.
pub fn set_pause(group: &Group, pause: Pause) -> Decision {
    let mut changed = group.clone();
    let state = &mut changed.state;
    match pause {
        Pause::Resume => (state.paused, state.paused_direction) = (false, None),
        Pause::All => (state.paused, state.paused_direction) = (true, None),
        Pause::Only(_) if state.paused => {}
        Pause::Only(direction) if state.paused_direction.is_some_and(|d| d != direction) => {
            (state.paused, state.paused_direction) = (true, None);
        }
        Pause::Only(direction) => state.paused_direction = Some(direction),
    }
    let from = group.state.desired;
    let mut decision = Decision::nothing(Outcome::Capacity { from, to: from });
    decision.group = Some(changed);
    decision
}

/// Marks a group deleted: without `force` only when its desired capacity is 0. Its members
/// are then drained and stopped by convergence.
pub fn delete_group(group: &Group, force: bool, now: Timestamp) -> Result<Decision, Rejection> {
    let from = group.state.desired;
    if !force && from != 0 {
        return Err(Rejection::GroupNotEmpty);
    }
    let mut changed = group.clone();
    changed.state.deleting = true;
    let mut decision = Decision::nothing(Outcome::Capacity { from, to: 0 });
    if from != 0 {
        let reason = format!("group deleted: its {from} members are drained and stopped");
        decision.history.push(entry(group, now, Source::Convergence, 0, Bounds { min: 0, max: 0 }, reason));
    }
    decision.group = Some(changed);
    Ok(decision)
}

mod metric;
mod rules;

pub use metric::{Proposed, Verdict, scale_on_metric_policies};
pub use rules::{
    Points, delete_rules_policy, detach_rules_policy, follow_default, paced, rules_of, scale_on_rules, set_rules_policy,
};

#[cfg(test)]
mod tests;
