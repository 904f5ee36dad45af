//! Groups: created, read, their launch configuration, and what convergence records of them.

use std::sync::Arc;

use ebb_core::launch::LaunchConfig;
use ebb_core::limits::Limits;
use jiff::Timestamp;

use super::rows::*;
use super::{PostgresStore, backend};
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::GroupStore for PostgresStore {
    async fn create_group(
        &self,
        group: NewGroup,
        limits: Limits,
        now: Timestamp,
    ) -> Result<(Group, Vec<PolicyRecord>), StoreError> {
        let _timer = self.metrics.time("create_group");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend("starting a transaction"))?;
        // The tenant's row, locked: concurrent creations count one after the other.
        let tenant = query_one(
            &tx,
            "locking a tenant",
            "SELECT id FROM tenants WHERE id = $1 FOR UPDATE",
            &[&group.tenant_id.as_str()],
            |_| Ok(()),
        )
        .await?;
        if tenant.is_none() {
            return Err(StoreError::TenantNotFound);
        }
        let existing = count(
            &tx,
            "counting groups",
            "SELECT COUNT(*) AS count FROM groups WHERE tenant_id = $1 AND NOT deleting",
            &[&group.tenant_id.as_str()],
        )
        .await?;
        if existing >= limits.max_groups {
            return Err(StoreError::GroupLimit { limit: limits.max_groups });
        }
        let id = group.id;
        let state = group.state;
        execute(
            &tx,
            "inserting a group",
            "INSERT INTO groups (id, tenant_id, config, launch, desired, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &id.as_str(),
                &group.tenant_id.as_str(),
                &config_text(&group.config)?,
                &group.launch.document.to_string(),
                &i64::from(state.desired),
                &now.to_string(),
            ],
        )
        .await?;
        record_history(&tx, &group.history).await?;
        let policies = insert_policies(&tx, id.as_str(), group.policies, now).await?;
        tx.commit().await.map_err(backend("committing"))?;
        let record = Group {
            id,
            tenant_id: group.tenant_id,
            config: Arc::new(group.config),
            launch: Arc::new(group.launch),
            state,
            windows: None,
            rules: None,
            credential: None,
            created_at: now,
        };
        Ok((record, policies))
    }

    async fn list_groups(&self, tenant: &TenantId, page: &Page) -> Result<Vec<Group>, StoreError> {
        let tenant = tenant.as_str();
        let _timer = self.metrics.time("list_groups");
        let client = self.client().await?;
        let (marker, limit) = page_args(Some(page));
        let sql = format!("{GROUP_SELECT} WHERE tenant_id = $1 AND id > $2 AND NOT deleting ORDER BY id LIMIT $3");
        query_all(&client, "listing groups", &sql, &[&tenant, &marker, &limit], group_from_row).await
    }

    async fn get_group(&self, tenant: &TenantId, group: &GroupId) -> Result<Group, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let _timer = self.metrics.time("get_group");
        let client = self.client().await?;
        fetch_group(&client, tenant, group, Lock::None).await
    }

    async fn replace_launch(&self, tenant: &TenantId, group: &GroupId, launch: LaunchConfig) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let _timer = self.metrics.time("replace_launch");
        let client = self.client().await?;
        let changed = execute(
            &client,
            "updating a launch config",
            "UPDATE groups SET launch = $1 WHERE tenant_id = $2 AND id = $3 AND NOT deleting",
            &[&launch.document.to_string(), &tenant, &group],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::GroupNotFound);
        }
        Ok(())
    }

    async fn set_metric_credential(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        credential: Option<MetricCredential>,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("set_metric_credential");
        let client = self.client().await?;
        let (username, hash) = credential.map(|c| (c.username, c.password_hash)).unzip();
        let changed = execute(
            &client,
            "setting a metric credential",
            "UPDATE groups SET credential_username = $1, credential_hash = $2 \
             WHERE tenant_id = $3 AND id = $4 AND NOT deleting",
            &[&username, &hash, &tenant.as_str(), &group.as_str()],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::GroupNotFound);
        }
        Ok(())
    }

    async fn group_ids(&self) -> Result<Vec<GroupId>, StoreError> {
        let _timer = self.metrics.time("group_ids");
        let client = self.client().await?;
        query_all(&client, "listing group ids", "SELECT id FROM groups ORDER BY id", &[], |row| id(row, "id")).await
    }

    async fn group_by_id(&self, group: &GroupId) -> Result<Option<Group>, StoreError> {
        let group = group.as_str();
        let _timer = self.metrics.time("group_by_id");
        let client = self.client().await?;
        fetch_group_by_id(&client, group, Lock::None).await
    }

    async fn set_group_status(
        &self,
        group: &GroupId,
        status: GroupStatus,
        errors: Vec<String>,
    ) -> Result<(), StoreError> {
        let group = group.as_str();
        let _timer = self.metrics.time("set_group_status");
        let client = self.client().await?;
        let errors =
            serde_json::to_string(&errors).map_err(|err| StoreError::Corrupt(format!("error reasons: {err}")))?;
        execute(
            &client,
            "updating a group status",
            "UPDATE groups SET status = $1, error_reasons = $2 WHERE id = $3 AND (status <> $1 OR error_reasons <> $2)",
            &[&status.as_str(), &errors, &group],
        )
        .await?;
        Ok(())
    }

    async fn purge_group(&self, group: &GroupId) -> Result<(), StoreError> {
        let group = group.as_str();
        let _timer = self.metrics.time("purge_group");
        let client = self.client().await?;
        execute(&client, "purging a group", "DELETE FROM groups WHERE id = $1 AND deleting", &[&group]).await?;
        Ok(())
    }
}
