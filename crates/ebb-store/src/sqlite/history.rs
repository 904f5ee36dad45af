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
}
