//! The history of desired capacity: listed newest first, pruned in small batches.

use jiff::Timestamp;

use super::rows::*;
use super::{PostgresStore, backend};
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::HistoryStore for PostgresStore {
    async fn list_history(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        query: &HistoryQuery,
    ) -> Result<Vec<HistoryRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let _timer = self.metrics.time("list_history");
        let client = self.client().await?;
        require(&client, tenant, group, None, Lock::None).await?;
        query_all(
            &client,
            "listing history",
            "SELECT id, group_id, at, source, policy_id, webhook_id, from_desired, to_desired, min_entities, \
             max_entities, reason FROM history WHERE group_id = $1 AND ($2::text IS NULL OR id < $2) \
             AND ($3::bigint IS NULL OR at >= $3) AND ($4::bigint IS NULL OR at < $4) AND ($5::text IS NULL OR source = $5) \
             ORDER BY id DESC LIMIT $6",
            &[
                &group,
                &query.page.marker,
                &query.since.map(millis),
                &query.until.map(millis),
                &query.source.map(Source::as_str),
                &(query.page.limit as i64),
            ],
            history_from_row,
        )
        .await
    }

    async fn prune_history(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let _timer = self.metrics.time("prune_history");
        let client = self.client().await?;
        let deleted = execute(
            &client,
            "pruning history",
            "DELETE FROM history WHERE id IN (SELECT id FROM history WHERE at < $1 ORDER BY at LIMIT $2)",
            &[&millis(before), &(limit as i64)],
        )
        .await?;
        Ok(deleted as usize)
    }

    async fn append_minutes(&self, minutes: Vec<(GroupId, MinuteAggregate)>) -> Result<(), StoreError> {
        let _timer = self.metrics.time("append_minutes");
        if minutes.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(backend("storing minutes of metrics"))?;
        for (group, minute) in &minutes {
            execute(
                &transaction,
                "storing a minute of a metric",
                "INSERT INTO metric_minutes (group_id, metric, slot, minute, value, count) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (group_id, metric, slot, minute) DO UPDATE SET value = $5, count = $6",
                &[
                    &group.as_str(),
                    &minute.metric,
                    &(slot_column(minute.of) as i32),
                    &millis(minute.minute),
                    &minute.value,
                    &(minute.count as i32),
                ],
            )
            .await?;
        }
        transaction.commit().await.map_err(backend("storing minutes of metrics"))
    }

    async fn list_minutes(
        &self,
        group: &GroupId,
        query: &MinuteQuery,
    ) -> Result<(Vec<MinuteAggregate>, usize), StoreError> {
        let _timer = self.metrics.time("list_minutes");
        let client = self.client().await?;
        let slots = if query.of_group { "slot = -1" } else { "slot >= 0" };
        let order = if query.descending { "DESC" } else { "ASC" };
        let filter = format!("group_id = $1 AND metric = $2 AND {slots} AND minute >= $3 AND minute <= $4");
        let (from, to) = (millis(query.from), millis(query.to));
        let total: i64 = query_one(
            &client,
            "counting minutes of a metric",
            &format!("SELECT COUNT(*) AS n FROM metric_minutes WHERE {filter}"),
            &[&group.as_str(), &query.metric, &from, &to],
            |row| col(row, "n"),
        )
        .await?
        .unwrap_or(0);
        let rows = query_all(
            &client,
            "listing minutes of a metric",
            &format!(
                "SELECT metric, slot, minute, value, count FROM metric_minutes WHERE {filter} \
                 ORDER BY minute {order}, slot LIMIT $5 OFFSET $6"
            ),
            &[&group.as_str(), &query.metric, &from, &to, &(query.limit as i64), &(query.offset as i64)],
            |row| {
                Ok(MinuteAggregate {
                    metric: col(row, "metric")?,
                    of: slot_of(i64::from(col::<i32>(row, "slot")?)),
                    minute: from_millis(col(row, "minute")?)?,
                    value: col(row, "value")?,
                    count: col::<i32>(row, "count")? as u32,
                })
            },
        )
        .await?;
        Ok((rows, total as usize))
    }

    async fn prune_minutes(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let _timer = self.metrics.time("prune_minutes");
        let client = self.client().await?;
        let deleted = execute(
            &client,
            "pruning minutes of metrics",
            "DELETE FROM metric_minutes WHERE (group_id, metric, slot, minute) IN \
             (SELECT group_id, metric, slot, minute FROM metric_minutes WHERE minute < $1 LIMIT $2)",
            &[&millis(before), &(limit as i64)],
        )
        .await?;
        Ok(deleted as usize)
    }
}
