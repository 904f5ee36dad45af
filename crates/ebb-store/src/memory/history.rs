//! The history of desired capacity, in memory.

use jiff::Timestamp;

use super::MemoryStore;
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::HistoryStore for MemoryStore {
    async fn list_history(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        query: &HistoryQuery,
    ) -> Result<Vec<HistoryRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| {
            state.group(tenant, group)?;
            Ok(state
                .history
                .iter()
                .rev()
                .filter(|(id, entry)| {
                    entry.group_id == group
                        && query.page.marker.as_ref().is_none_or(|marker| *id < marker)
                        && query.since.is_none_or(|since| entry.at >= since)
                        && query.until.is_none_or(|until| entry.at < until)
                        && query.source.is_none_or(|source| entry.source == source)
                })
                .take(query.page.limit)
                .map(|(id, entry)| HistoryRecord { id: id.clone(), entry: entry.clone() })
                .collect())
        })
    }

    async fn prune_history(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        self.with(|state| {
            let mut old: Vec<(Timestamp, String)> =
                state.history.iter().filter(|(_, e)| e.at < before).map(|(id, e)| (e.at, id.clone())).collect();
            old.sort();
            old.truncate(limit);
            for (_, id) in &old {
                state.history.remove(id);
            }
            Ok(old.len())
        })
    }
}
