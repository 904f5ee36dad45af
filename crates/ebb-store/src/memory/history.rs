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

    async fn append_minutes(&self, minutes: Vec<(GroupId, MinuteAggregate)>) -> Result<(), StoreError> {
        self.with(|state| {
            for (group, minute) in minutes {
                state.minutes.insert((group, minute.metric.clone(), minute.of, minute.minute), minute);
            }
            Ok(())
        })
    }

    async fn list_minutes(
        &self,
        group: &GroupId,
        query: &MinuteQuery,
    ) -> Result<(Vec<MinuteAggregate>, usize), StoreError> {
        self.with(|state| {
            let mut found: Vec<&MinuteAggregate> = state
                .minutes
                .iter()
                .filter(|((g, metric, of, minute), _)| {
                    g == group
                        && *metric == query.metric
                        && (*of == Of::Group) == query.of_group
                        && *minute >= query.from
                        && *minute <= query.to
                })
                .map(|(_, aggregate)| aggregate)
                .collect();
            if query.descending {
                found.sort_by_key(|a| (std::cmp::Reverse(a.minute), a.of));
            } else {
                found.sort_by_key(|a| (a.minute, a.of));
            }
            let total = found.len();
            Ok((found.into_iter().skip(query.offset).take(query.limit).cloned().collect(), total))
        })
    }

    async fn prune_minutes(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        self.with(|state| {
            let old: Vec<_> = state.minutes.keys().filter(|key| key.3 < before).take(limit).cloned().collect();
            for key in &old {
                state.minutes.remove(key);
            }
            Ok(old.len())
        })
    }
}
