//! Groups: created, read, their launch configuration, and what convergence records of them.

use std::sync::Arc;

use ebb_core::launch::LaunchConfig;
use ebb_core::limits::Limits;
use jiff::Timestamp;
use rusqlite::params;

use super::SqliteStore;
use super::rows::*;
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::GroupStore for SqliteStore {
    async fn create_group(
        &self,
        group: NewGroup,
        limits: Limits,
        now: Timestamp,
    ) -> Result<(Group, Vec<PolicyRecord>), StoreError> {
        let _timer = self.metrics.time("create_group");
        self.write(move |conn| {
            let existing = count(
                conn,
                "counting groups",
                "SELECT COUNT(*) FROM groups WHERE tenant_id = ?1 AND deleting = 0",
                [group.tenant_id.as_str()],
            )?;
            if existing >= limits.max_groups {
                return Err(StoreError::GroupLimit { limit: limits.max_groups });
            }
            let id = group.id;
            let now_text = now.to_string();
            let state = group.state;
            let config = config_text(&group.config)?;
            conn.prepare_cached(
                "INSERT INTO groups (id, tenant_id, config, launch, desired, created_at, history_key) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT COALESCE(MAX(history_key), 0) + 1 FROM groups))",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    id.as_str(),
                    group.tenant_id.as_str(),
                    config,
                    group.launch.document.to_string(),
                    state.desired,
                    now_text
                ])
            })
            .map_err(|err| {
                if is_foreign_key_violation(&err) {
                    StoreError::TenantNotFound
                } else {
                    backend("inserting a group")(err)
                }
            })?;
            record_history(conn, &group.history)?;
            let policies = insert_policies(conn, id.as_str(), group.policies, now)?;
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
        })
        .await
    }

    async fn list_groups(&self, tenant: &TenantId, page: &Page) -> Result<Vec<Group>, StoreError> {
        let _timer = self.metrics.time("list_groups");
        let tenant = tenant.to_string();
        let (marker, limit) = page_args(Some(page));
        self.read(move |conn| {
            query_all(
                conn,
                "listing groups",
                &format!("{GROUP_SELECT} WHERE tenant_id = ?1 AND id > ?2 AND deleting = 0 ORDER BY id LIMIT ?3"),
                params![tenant, marker, limit],
                group_from_row,
            )
        })
        .await
    }

    async fn get_group(&self, tenant: &TenantId, group: &GroupId) -> Result<Group, StoreError> {
        let _timer = self.metrics.time("get_group");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.read(move |conn| fetch_group(conn, &tenant, &group)).await
    }

    async fn replace_launch(&self, tenant: &TenantId, group: &GroupId, launch: LaunchConfig) -> Result<(), StoreError> {
        let _timer = self.metrics.time("replace_launch");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            execute_one(
                conn,
                "updating a launch config",
                "UPDATE groups SET launch = ?1 WHERE tenant_id = ?2 AND id = ?3 AND deleting = 0",
                params![launch.document.to_string(), tenant, group],
                StoreError::GroupNotFound,
            )
        })
        .await
    }

    async fn set_metric_credential(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        credential: Option<MetricCredential>,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("set_metric_credential");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        let (username, hash) = credential.map(|c| (c.username, c.password_hash)).unzip();
        self.write(move |conn| {
            execute_one(
                conn,
                "setting a metric credential",
                "UPDATE groups SET credential_username = ?1, credential_hash = ?2 \
                 WHERE tenant_id = ?3 AND id = ?4 AND deleting = 0",
                params![username, hash, tenant, group],
                StoreError::GroupNotFound,
            )
        })
        .await
    }

    async fn group_ids(&self) -> Result<Vec<GroupId>, StoreError> {
        let _timer = self.metrics.time("group_ids");
        self.read(|conn| {
            query_all(conn, "listing group ids", "SELECT id FROM groups ORDER BY id", [], |row| id(row, "id"))
        })
        .await
    }

    async fn group_by_id(&self, group: &GroupId) -> Result<Option<Group>, StoreError> {
        let _timer = self.metrics.time("group_by_id");
        let group = group.to_string();
        self.read(move |conn| fetch_group_by_id(conn, &group)).await
    }

    async fn set_group_status(
        &self,
        group: &GroupId,
        status: GroupStatus,
        errors: Vec<String>,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("set_group_status");
        let group = group.to_string();
        self.write(move |conn| {
            let errors = serde_json::to_string(&errors).map_err(|err| StoreError::Corrupt(format!("error reasons: {err}")))?;
            execute(
                conn,
                "updating a group status",
                "UPDATE groups SET status = ?1, error_reasons = ?2 WHERE id = ?3 AND (status <> ?1 OR error_reasons <> ?2)",
                params![status.as_str(), errors, group],
            )?;
            Ok(())
        })
        .await
    }

    async fn purge_group(&self, group: &GroupId) -> Result<(), StoreError> {
        let _timer = self.metrics.time("purge_group");
        let group = group.to_string();
        self.write(move |conn| {
            execute(
                conn,
                "purging a group's history",
                "DELETE FROM history WHERE group_key = \
                 (SELECT history_key FROM groups WHERE id = ?1 AND deleting = 1)",
                [&group],
            )?;
            execute(conn, "purging a group", "DELETE FROM groups WHERE id = ?1 AND deleting = 1", [&group])?;
            Ok(())
        })
        .await
    }
}
