//! The one write path of decisions, in memory: load, decide and write under one lock.

use super::{MemoryStore, State, new_id};
use crate::error::StoreError;
use crate::model::*;

/// Loads what `subject` names; `None` when it no longer exists in that form.
fn load(
    state: &mut State,
    subject: &Subject,
) -> Result<Option<(ebb_core::decide::Snapshot, Option<PolicyId>)>, StoreError> {
    use ebb_core::decide::Snapshot;
    match subject {
        Subject::Group { tenant, group, policy, member } => {
            let record = state.group(tenant.as_str(), group.as_str())?.clone();
            if let Some(member) = member
                && !state.members.iter().any(|m| &m.id == member && &m.group_id == group)
            {
                return Err(StoreError::MemberNotFound);
            }
            let loaded = policy.as_ref().and_then(|p| state.policy(group.as_str(), p.as_str()).cloned());
            Ok(Some((Snapshot { group: record, policy: loaded, webhook: None }, policy.clone())))
        }
        Subject::Capability { hash } => {
            let Some(target) = state.capability(hash) else { return Ok(None) };
            let group = state.groups[&target.group_id].clone();
            let policy = state.policy(target.group_id.as_str(), target.policy_id.as_str()).cloned();
            Ok(Some((Snapshot { group, policy, webhook: Some(target.webhook_id) }, Some(target.policy_id))))
        }
        Subject::Schedule { policy, due } => {
            let Some((group_id, next)) = state.schedules.get(policy).cloned() else { return Ok(None) };
            if next != *due {
                return Ok(None);
            }
            let group = state.groups.get(&group_id).filter(|g| !g.state.deleting).cloned();
            let record = state.policy(group_id.as_str(), policy.as_str()).cloned();
            let (Some(group), Some(record)) = (group, record) else {
                state.arm_schedule(group_id.as_str(), policy.as_str(), None);
                return Ok(None);
            };
            Ok(Some((Snapshot { group, policy: Some(record), webhook: None }, Some(policy.clone()))))
        }
        Subject::WindowTimer { group, due } => {
            if state.window_timers.get(group) != Some(due) {
                return Ok(None);
            }
            let Some(record) = state.groups.get(group).filter(|g| !g.state.deleting).cloned() else {
                state.arm_window(group.as_str(), None);
                return Ok(None);
            };
            Ok(Some((Snapshot { group: record, policy: None, webhook: None }, None)))
        }
    }
}

#[async_trait::async_trait]
impl crate::DecisionStore for MemoryStore {
    async fn decide(&self, subject: Subject, decide: crate::Decide) -> Result<Option<Committed>, StoreError> {
        self.with(|state| {
            let Some((snapshot, policy_id)) = load(state, &subject)? else { return Ok(None) };
            let decision = decide(&snapshot)?;
            let group = &snapshot.group;
            if let Some(changed) = &decision.group {
                // Status is convergence's to record, not a decision's.
                let mut changed = changed.clone();
                changed.state.status = state.groups[&group.id].state.status;
                changed.state.errors = state.groups[&group.id].state.errors.clone();
                state.groups.insert(group.id.clone(), changed);
            }
            if let Some((policy, at)) = &decision.policy_touched
                && let Some(record) = state.policies.get_mut(policy)
            {
                record.touched_at = Some(*at);
            }
            if let Some((policy, next)) = &decision.schedule {
                state.arm_schedule(group.id.as_str(), policy.as_str(), *next);
            }
            if let Some(next) = decision.window_timer {
                state.arm_window(group.id.as_str(), next);
            }
            for entry in &decision.history {
                state.history.insert(new_id(), entry.clone());
            }
            for event in &decision.events {
                state.events.push((new_id(), event.clone()));
            }
            Ok(Some(Committed {
                tenant_id: group.tenant_id.clone(),
                group_id: group.id.clone(),
                policy_id,
                webhook_id: snapshot.webhook.clone(),
                launch_kind: group.launch.kind,
                decision,
            }))
        })
    }
}
