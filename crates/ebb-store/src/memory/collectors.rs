//! Collectors, in memory.

use ebb_core::limits::Limits;
use jiff::Timestamp;

use super::{MemoryStore, new_id, page};
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::CollectorStore for MemoryStore {
    async fn create_collectors(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collectors: Vec<NewCollector>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<CollectorRecord>, StoreError> {
        self.with(|state| {
            let tenant_id = state.group(tenant.as_str(), group.as_str())?.tenant_id.clone();
            let current = state.collectors.values().filter(|c| &c.group_id == group).count();
            if current + collectors.len() > limits.max_collectors_per_group {
                return Err(StoreError::CollectorLimit {
                    current,
                    adding: collectors.len(),
                    limit: limits.max_collectors_per_group,
                });
            }
            let created: Vec<CollectorRecord> = collectors
                .into_iter()
                .map(|new| CollectorRecord {
                    id: CollectorId::new(new_id()),
                    group_id: group.clone(),
                    tenant_id: tenant_id.clone(),
                    body: new.body,
                    collector: new.collector,
                    created_at: now,
                    updated_at: now,
                })
                .collect();
            for record in &created {
                state.collectors.insert(record.id.clone(), record.clone());
            }
            Ok(created)
        })
    }

    async fn list_collectors(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        page_of: Option<&Page>,
    ) -> Result<Vec<CollectorRecord>, StoreError> {
        self.with(|state| {
            state.group(tenant.as_str(), group.as_str())?;
            let mine = state.collectors.iter().filter(|(_, c)| &c.group_id == group);
            Ok(page(mine.map(|(id, c)| (id, c.clone())), page_of))
        })
    }

    async fn get_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
    ) -> Result<CollectorRecord, StoreError> {
        self.with(|state| {
            state.group(tenant.as_str(), group.as_str())?;
            state
                .collectors
                .get(collector)
                .filter(|c| &c.group_id == group)
                .cloned()
                .ok_or(StoreError::CollectorNotFound)
        })
    }

    async fn replace_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
        body: NewCollector,
        now: Timestamp,
    ) -> Result<CollectorRecord, StoreError> {
        self.with(|state| {
            state.group(tenant.as_str(), group.as_str())?;
            let record = state
                .collectors
                .get_mut(collector)
                .filter(|c| &c.group_id == group)
                .ok_or(StoreError::CollectorNotFound)?;
            record.body = body.body;
            record.collector = body.collector;
            record.updated_at = now;
            Ok(record.clone())
        })
    }

    async fn delete_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
    ) -> Result<(), StoreError> {
        self.with(|state| {
            state.group(tenant.as_str(), group.as_str())?;
            match state.collectors.get(collector) {
                Some(c) if &c.group_id == group => {
                    state.collectors.remove(collector);
                    Ok(())
                }
                _ => Err(StoreError::CollectorNotFound),
            }
        })
    }

    async fn all_collectors(&self, group: Option<&GroupId>) -> Result<Vec<CollectorRecord>, StoreError> {
        self.with(|state| {
            let live = |c: &CollectorRecord| state.groups.get(&c.group_id).is_some_and(|g| !g.state.deleting);
            Ok(state
                .collectors
                .values()
                .filter(|c| group.is_none_or(|g| &c.group_id == g) && live(c))
                .cloned()
                .collect())
        })
    }
}
