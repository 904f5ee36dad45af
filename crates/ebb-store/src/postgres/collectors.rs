//! Collectors.

use deadpool_postgres::GenericClient;
use ebb_core::limits::Limits;
use jiff::Timestamp;
use tokio_postgres::Row;

use super::rows::*;
use super::{PostgresStore, backend};
use crate::error::StoreError;
use crate::model::*;
use crate::stored;

const COLUMNS: &str = "c.id AS id, c.group_id AS group_id, g.tenant_id AS tenant_id, c.body AS body, \
                       c.created_at AS created_at, c.updated_at AS updated_at";
const FROM: &str = "collectors c JOIN groups g ON g.id = c.group_id";

fn collector_from_row(row: &Row) -> Result<CollectorRecord, StoreError> {
    stored::collector(
        col(row, "id")?,
        col(row, "group_id")?,
        col(row, "tenant_id")?,
        &col::<String>(row, "body")?,
        col(row, "created_at")?,
        col(row, "updated_at")?,
    )
}

async fn find<C: GenericClient>(client: &C, group: &str, collector: &str) -> Result<CollectorRecord, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE c.group_id = $1 AND c.id = $2");
    query_one(client, "reading a collector", &sql, &[&group, &collector], collector_from_row)
        .await?
        .ok_or(StoreError::CollectorNotFound)
}

#[async_trait::async_trait]
impl crate::CollectorStore for PostgresStore {
    async fn create_collectors(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collectors: Vec<NewCollector>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<CollectorRecord>, StoreError> {
        let (tenant, group) = (tenant.as_str(), group.as_str());
        let _timer = self.metrics.time("create_collectors");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend("starting a transaction"))?;
        require(&tx, tenant, group, None, Lock::ForUpdate).await?;
        let current = count(
            &tx,
            "counting collectors",
            "SELECT COUNT(*) AS count FROM collectors WHERE group_id = $1",
            &[&group],
        )
        .await?;
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
                &tx,
                "creating a collector",
                "INSERT INTO collectors (id, group_id, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
                &[&id, &group, &new.body.to_string(), &millis(now)],
            )
            .await?;
            created.push(find(&tx, group, &id).await?);
        }
        tx.commit().await.map_err(backend("committing"))?;
        Ok(created)
    }

    async fn list_collectors(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        page: Option<&Page>,
    ) -> Result<Vec<CollectorRecord>, StoreError> {
        let (tenant, group) = (tenant.as_str(), group.as_str());
        let _timer = self.metrics.time("list_collectors");
        let client = self.client().await?;
        require(&client, tenant, group, None, Lock::None).await?;
        let (marker, limit) = page_args(page);
        let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE c.group_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3");
        query_all(&client, "listing collectors", &sql, &[&group, &marker, &limit], collector_from_row).await
    }

    async fn get_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
    ) -> Result<CollectorRecord, StoreError> {
        let _timer = self.metrics.time("get_collector");
        let client = self.client().await?;
        require(&client, tenant.as_str(), group.as_str(), None, Lock::None).await?;
        find(&client, group.as_str(), collector.as_str()).await
    }

    async fn replace_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
        body: NewCollector,
        now: Timestamp,
    ) -> Result<CollectorRecord, StoreError> {
        let (group, collector) = (group.as_str(), collector.as_str());
        let _timer = self.metrics.time("replace_collector");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend("starting a transaction"))?;
        require(&tx, tenant.as_str(), group, None, Lock::ForUpdate).await?;
        let changed = execute(
            &tx,
            "replacing a collector",
            "UPDATE collectors SET body = $3, updated_at = $4 WHERE group_id = $1 AND id = $2",
            &[&group, &collector, &body.body.to_string(), &millis(now)],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::CollectorNotFound);
        }
        let replaced = find(&tx, group, collector).await?;
        tx.commit().await.map_err(backend("committing"))?;
        Ok(replaced)
    }

    async fn delete_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
    ) -> Result<(), StoreError> {
        let (group, collector) = (group.as_str(), collector.as_str());
        let _timer = self.metrics.time("delete_collector");
        let client = self.client().await?;
        require(&client, tenant.as_str(), group, None, Lock::None).await?;
        let deleted = execute(
            &client,
            "deleting a collector",
            "DELETE FROM collectors WHERE group_id = $1 AND id = $2",
            &[&group, &collector],
        )
        .await?;
        if deleted == 0 { Err(StoreError::CollectorNotFound) } else { Ok(()) }
    }

    async fn all_collectors(&self, group: Option<&GroupId>) -> Result<Vec<CollectorRecord>, StoreError> {
        let _timer = self.metrics.time("all_collectors");
        let client = self.client().await?;
        let group = group.map(GroupId::as_str);
        let sql = format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE NOT g.deleting AND ($1::TEXT IS NULL OR c.group_id = $1) ORDER BY c.id"
        );
        query_all(&client, "listing every collector", &sql, &[&group], collector_from_row).await
    }
}
