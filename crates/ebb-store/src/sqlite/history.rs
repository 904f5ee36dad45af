//! The history of desired capacity: listed newest first, pruned in small batches.

use jiff::Timestamp;
use rusqlite::params;

use super::SqliteStore;
use super::rows::*;
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::HistoryStore for SqliteStore {
    async fn list_history(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        query: &HistoryQuery,
    ) -> Result<Vec<HistoryRecord>, StoreError> {
        let _timer = self.metrics.time("list_history");
        let (tenant, group, query) = (tenant.to_string(), group.to_string(), query.clone());
        self.read(move |conn| {
            require(conn, &tenant, &group, None)?;
            query_all(
                conn,
                "listing history",
                "SELECT seq, group_id, at, source, policy_id, webhook_id, from_desired, to_desired, min_entities, \
                 max_entities, reason FROM history \
                 WHERE group_key = (SELECT history_key FROM groups WHERE id = ?1) \
                 AND (?2 IS NULL OR seq < CAST(?2 AS INTEGER)) \
                 AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4) AND (?5 IS NULL OR source = ?5) \
                 ORDER BY seq DESC LIMIT ?6",
                params![
                    group,
                    query.page.marker,
                    query.since.map(millis),
                    query.until.map(millis),
                    query.source.map(Source::as_str),
                    query.page.limit as i64
                ],
                history_from_row,
            )
        })
        .await
    }

    async fn prune_history(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let _timer = self.metrics.time("prune_history");
        self.write(move |conn| {
            execute(
                conn,
                "pruning history",
                // Oldest first in recorded order: only the oldest `limit` entries are looked at.
                "DELETE FROM history WHERE seq IN \
                 (SELECT seq FROM (SELECT seq, at FROM history ORDER BY seq LIMIT ?2) WHERE at < ?1)",
                params![millis(before), limit as i64],
            )
        })
        .await
    }

    async fn append_minutes(&self, minutes: Vec<(GroupId, MinuteAggregate)>) -> Result<(), StoreError> {
        let _timer = self.metrics.time("append_minutes");
        self.write(move |conn| {
            for (group, minute) in &minutes {
                execute(
                    conn,
                    "storing a minute of a metric",
                    "INSERT OR REPLACE INTO metric_minutes (group_id, metric, slot, minute, value, count) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        group.as_str(),
                        minute.metric,
                        slot_column(minute.of),
                        millis(minute.minute),
                        minute.value,
                        minute.count
                    ],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn list_minutes(
        &self,
        group: &GroupId,
        query: &MinuteQuery,
    ) -> Result<(Vec<MinuteAggregate>, usize), StoreError> {
        let _timer = self.metrics.time("list_minutes");
        let (group, query) = (group.to_string(), query.clone());
        self.read(move |conn| {
            let slots = if query.of_group { "slot = -1" } else { "slot >= 0" };
            let order = if query.descending { "DESC" } else { "ASC" };
            let filter = format!("group_id = ?1 AND metric = ?2 AND {slots} AND minute >= ?3 AND minute <= ?4");
            let total = count(
                conn,
                "counting minutes of a metric",
                &format!("SELECT COUNT(*) FROM metric_minutes WHERE {filter}"),
                params![group, query.metric, millis(query.from), millis(query.to)],
            )?;
            let rows = query_all(
                conn,
                "listing minutes of a metric",
                &format!(
                    "SELECT metric, slot, minute, value, count FROM metric_minutes WHERE {filter} \
                     ORDER BY minute {order}, slot LIMIT ?5 OFFSET ?6"
                ),
                params![
                    group,
                    query.metric,
                    millis(query.from),
                    millis(query.to),
                    query.limit as i64,
                    query.offset as i64
                ],
                |row| {
                    Ok(MinuteAggregate {
                        metric: col(row, "metric")?,
                        of: slot_of(col(row, "slot")?),
                        minute: from_millis(col(row, "minute")?)?,
                        value: col(row, "value")?,
                        count: col::<i64>(row, "count")? as u32,
                    })
                },
            )?;
            Ok((rows, total))
        })
        .await
    }

    async fn prune_minutes(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let _timer = self.metrics.time("prune_minutes");
        self.write(move |conn| {
            execute(
                conn,
                "pruning minutes of metrics",
                "DELETE FROM metric_minutes WHERE (group_id, metric, slot, minute) IN \
                 (SELECT group_id, metric, slot, minute FROM metric_minutes WHERE minute < ?1 LIMIT ?2)",
                params![millis(before), limit as i64],
            )
        })
        .await
    }
}
