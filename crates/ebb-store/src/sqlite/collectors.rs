//! Collectors.

use ebb_core::limits::Limits;
use jiff::Timestamp;
use rusqlite::{Connection, Row, params};

use super::SqliteStore;
use super::rows::*;
use crate::error::StoreError;
use crate::model::*;
use crate::stored;

const COLUMNS: &str = "c.id AS id, c.group_id AS group_id, g.tenant_id AS tenant_id, c.body AS body, \
                       c.created_at AS created_at, c.updated_at AS updated_at";
const FROM: &str = "collectors c JOIN groups g ON g.id = c.group_id";

fn collector_from_row(row: &Row<'_>) -> Result<CollectorRecord, StoreError> {
    stored::collector(
        col(row, "id")?,
        col(row, "group_id")?,
        col(row, "tenant_id")?,
        &col::<String>(row, "body")?,
        col(row, "created_at")?,
        col(row, "updated_at")?,
    )
}

fn find(conn: &Connection, group: &str, collector: &str) -> Result<CollectorRecord, StoreError> {
    query_one(
        conn,
        "reading a collector",
        &format!("SELECT {COLUMNS} FROM {FROM} WHERE c.group_id = ?1 AND c.id = ?2"),
        params![group, collector],
        collector_from_row,
    )?
    .ok_or(StoreError::CollectorNotFound)
}

fn body_text(body: &serde_json::Value) -> String {
    body.to_string()
}

#[async_trait::async_trait]
impl crate::CollectorStore for SqliteStore {
    async fn create_collectors(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collectors: Vec<NewCollector>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<CollectorRecord>, StoreError> {
        let _timer = self.metrics.time("create_collectors");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, None)?;
            let current =
                count(conn, "counting collectors", "SELECT COUNT(*) FROM collectors WHERE group_id = ?1", [&group])?;
            if current + collectors.len() > limits.max_collectors_per_group {
                return Err(StoreError::CollectorLimit {
                    current,
                    adding: collectors.len(),
                    limit: limits.max_collectors_per_group,
                });
            }
            let mut created = Vec::with_capacity(collectors.len());
            for new in collectors {
                let id = new_id();
                execute(
                    conn,
                    "creating a collector",
                    "INSERT INTO collectors (id, group_id, body, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![id, group, body_text(&new.body), millis(now)],
                )?;
                created.push(find(conn, &group, &id)?);
            }
            Ok(created)
        })
        .await
    }

    async fn list_collectors(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        page: Option<&Page>,
    ) -> Result<Vec<CollectorRecord>, StoreError> {
        let _timer = self.metrics.time("list_collectors");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        let (marker, limit) = page_args(page);
        self.read(move |conn| {
            require(conn, &tenant, &group, None)?;
            query_all(
                conn,
                "listing collectors",
                &format!("SELECT {COLUMNS} FROM {FROM} WHERE c.group_id = ?1 AND c.id > ?2 ORDER BY c.id LIMIT ?3"),
                params![group, marker, limit],
                collector_from_row,
            )
        })
        .await
    }

    async fn get_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
    ) -> Result<CollectorRecord, StoreError> {
        let _timer = self.metrics.time("get_collector");
        let (tenant, group, collector) = (tenant.to_string(), group.to_string(), collector.to_string());
        self.read(move |conn| {
            require(conn, &tenant, &group, None)?;
            find(conn, &group, &collector)
        })
        .await
    }

    async fn replace_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
        body: NewCollector,
        now: Timestamp,
    ) -> Result<CollectorRecord, StoreError> {
        let _timer = self.metrics.time("replace_collector");
        let (tenant, group, collector) = (tenant.to_string(), group.to_string(), collector.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, None)?;
            let changed = execute(
                conn,
                "replacing a collector",
                "UPDATE collectors SET body = ?3, updated_at = ?4 WHERE group_id = ?1 AND id = ?2",
                params![group, collector, body_text(&body.body), millis(now)],
            )?;
            if changed == 0 {
                return Err(StoreError::CollectorNotFound);
            }
            find(conn, &group, &collector)
        })
        .await
    }

    async fn delete_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_collector");
        let (tenant, group, collector) = (tenant.to_string(), group.to_string(), collector.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, None)?;
            let deleted = execute(
                conn,
                "deleting a collector",
                "DELETE FROM collectors WHERE group_id = ?1 AND id = ?2",
                params![group, collector],
            )?;
            if deleted == 0 { Err(StoreError::CollectorNotFound) } else { Ok(()) }
        })
        .await
    }

    async fn all_collectors(&self, group: Option<&GroupId>) -> Result<Vec<CollectorRecord>, StoreError> {
        let _timer = self.metrics.time("all_collectors");
        let group = group.map(ToString::to_string);
        self.read(move |conn| {
            query_all(
                conn,
                "listing every collector",
                &format!(
                    "SELECT {COLUMNS} FROM {FROM} WHERE g.deleting = 0 AND (?1 IS NULL OR c.group_id = ?1) ORDER BY c.id"
                ),
                params![group],
                collector_from_row,
            )
        })
        .await
    }
}
