//! Schedule and window timers and their events, in memory.

use jiff::Timestamp;

use super::MemoryStore;
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::ScheduleStore for MemoryStore {
    async fn next_schedule(&self) -> Result<Option<Timestamp>, StoreError> {
        self.with(|state| {
            let schedules = state.schedules.values().map(|(_, at)| *at);
            Ok(schedules.chain(state.window_timers.values().copied()).min())
        })
    }

    async fn due_schedules(&self, until: Timestamp, limit: usize) -> Result<Vec<DueSchedule>, StoreError> {
        self.with(|state| {
            let mut due: Vec<DueSchedule> = state
                .schedules
                .iter()
                .filter(|(_, (_, at))| *at <= until)
                .map(|(policy, (group, at))| DueSchedule {
                    policy_id: policy.clone(),
                    group_id: group.clone(),
                    due: *at,
                })
                .collect();
            due.sort_by(|a, b| (a.due, &a.policy_id).cmp(&(b.due, &b.policy_id)));
            due.truncate(limit);
            Ok(due)
        })
    }

    async fn due_windows(&self, until: Timestamp, limit: usize) -> Result<Vec<(GroupId, Timestamp)>, StoreError> {
        self.with(|state| {
            let mut due: Vec<(GroupId, Timestamp)> =
                state.window_timers.iter().filter(|(_, at)| **at <= until).map(|(g, at)| (g.clone(), *at)).collect();
            due.sort_by_key(|(group, at)| (*at, group.clone()));
            due.truncate(limit);
            Ok(due)
        })
    }

    async fn disarm_schedule(&self, policy: &PolicyId) -> Result<(), StoreError> {
        let policy = policy.as_str();
        self.with(|state| {
            state.schedules.remove(policy);
            Ok(())
        })
    }

    async fn list_schedules(
        &self,
        tenant: &TenantId,
        group: Option<&GroupId>,
    ) -> Result<Vec<ScheduleEntry>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.map(|id| id.as_str());
        self.with(|state| {
            if let Some(group) = group {
                state.group(tenant, group)?;
            }
            let mut entries: Vec<ScheduleEntry> = state
                .schedules
                .iter()
                .filter_map(|(policy, (group_id, at))| {
                    let owner = state.groups.get(group_id)?;
                    let wanted =
                        owner.tenant_id == tenant && !owner.state.deleting && group.is_none_or(|g| group_id == g);
                    wanted.then(|| ScheduleEntry {
                        group_id: group_id.clone(),
                        policy: state.policies[policy].clone(),
                        next_fire: *at,
                    })
                })
                .collect();
            entries.sort_by(|a, b| (a.next_fire, &a.policy.id).cmp(&(b.next_fire, &b.policy.id)));
            Ok(entries)
        })
    }

    async fn window_timers(&self, tenant: &TenantId) -> Result<Vec<WindowTimer>, StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| {
            let mut timers: Vec<WindowTimer> = state
                .window_timers
                .iter()
                .filter_map(|(group_id, at)| {
                    let group = state.groups.get(group_id).filter(|g| g.tenant_id == tenant && !g.state.deleting)?;
                    Some(WindowTimer { group_id: group_id.clone(), windows: group.windows.clone()?, next_change: *at })
                })
                .collect();
            timers.sort_by_key(|timer| timer.next_change);
            Ok(timers)
        })
    }

    async fn list_events(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        limit: usize,
    ) -> Result<Vec<GroupEvent>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| {
            state.group(tenant, group)?;
            let mut events: Vec<&(String, GroupEvent)> =
                state.events.iter().filter(|(_, e)| e.group_id == group).collect();
            events.sort_by(|a, b| (b.1.at, &b.0).cmp(&(a.1.at, &a.0)));
            Ok(events.into_iter().take(limit).map(|(_, e)| e.clone()).collect())
        })
    }
}
