//! The history of desired capacity: listed newest first, pruned in small batches.

use jiff::Timestamp;

use super::PostgresStore;
use super::rows::*;
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
}
