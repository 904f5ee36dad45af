//! Groups, in memory.

use std::sync::Arc;

use ebb_core::launch::LaunchConfig;
use ebb_core::limits::Limits;
use jiff::Timestamp;

use super::{MemoryStore, new_id, page};
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::GroupStore for MemoryStore {
    async fn create_group(
        &self,
        group: NewGroup,
        limits: Limits,
        now: Timestamp,
    ) -> Result<(Group, Vec<PolicyRecord>), StoreError> {
        self.with(|state| {
            if !state.tenants.contains_key(&group.tenant_id) {
                return Err(StoreError::TenantNotFound);
            }
            let existing =
                state.groups.values().filter(|g| g.tenant_id == group.tenant_id && !g.state.deleting).count();
            if existing >= limits.max_groups {
                return Err(StoreError::GroupLimit { limit: limits.max_groups });
            }
            let record = Group {
                id: group.id,
                tenant_id: group.tenant_id,
                config: Arc::new(group.config),
                launch: Arc::new(group.launch),
                state: group.state,
                windows: None,
                rules: None,
                credential: None,
                created_at: now,
            };
            let mut history = group.history;
            history.group_id = record.id.clone();
            state.history.insert(new_id(), history);
            state.groups.insert(record.id.clone(), record.clone());
            let policies = state.insert_policies(record.id.as_str(), group.policies);
            Ok((record, policies))
        })
    }

    async fn list_groups(&self, tenant: &TenantId, page_of: &Page) -> Result<Vec<Group>, StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| {
            let mine = state.groups.iter().filter(|(_, g)| g.tenant_id == tenant && !g.state.deleting);
            Ok(page(mine.map(|(id, g)| (id, g.clone())), Some(page_of)))
        })
    }

    async fn get_group(&self, tenant: &TenantId, group: &GroupId) -> Result<Group, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| state.group(tenant, group).cloned())
    }

    async fn replace_launch(&self, tenant: &TenantId, group: &GroupId, launch: LaunchConfig) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| {
            state.group(tenant, group)?;
            if let Some(record) = state.groups.get_mut(group) {
                record.launch = Arc::new(launch);
            }
            Ok(())
        })
    }

    async fn set_metric_credential(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        credential: Option<MetricCredential>,
    ) -> Result<(), StoreError> {
        self.with(|state| {
            state.group(tenant.as_str(), group.as_str())?;
            if let Some(record) = state.groups.get_mut(group.as_str()) {
                record.credential = credential;
            }
            Ok(())
        })
    }

    async fn group_ids(&self) -> Result<Vec<GroupId>, StoreError> {
        self.with(|state| Ok(state.groups.keys().cloned().collect()))
    }

    async fn group_by_id(&self, group: &GroupId) -> Result<Option<Group>, StoreError> {
        let group = group.as_str();
        self.with(|state| Ok(state.groups.get(group).cloned()))
    }

    async fn set_group_status(
        &self,
        group: &GroupId,
        status: GroupStatus,
        errors: Vec<String>,
    ) -> Result<(), StoreError> {
        let group = group.as_str();
        self.with(|state| {
            if let Some(record) = state.groups.get_mut(group) {
                record.state.status = status;
                record.state.errors = errors;
            }
            Ok(())
        })
    }

    async fn purge_group(&self, group: &GroupId) -> Result<(), StoreError> {
        let group = group.as_str();
        self.with(|state| {
            if !state.groups.get(group).is_some_and(|g| g.state.deleting) {
                return Ok(());
            }
            state.groups.remove(group);
            state.delete_policies(|p| p.group_id != group);
            state.members.retain(|m| m.group_id != group);
            state.window_timers.remove(group);
            state.events.retain(|(_, e)| e.group_id != group);
            state.history.retain(|_, e| e.group_id != group);
            state.service_bindings.retain(|_, b| b.group_id != group);
            state.collectors.retain(|_, c| c.group_id != group);
            Ok(())
        })
    }
}
