//! Policies and webhooks.

use ebb_core::limits::Limits;
use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde_json::{Map, Value};

use super::SqliteStore;
use super::rows::*;
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::PolicyStore for SqliteStore {
    async fn create_policies(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policies: Vec<NewPolicy>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let _timer = self.metrics.time("create_policies");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, None)?;
            let current =
                count(conn, "counting policies", "SELECT COUNT(*) FROM policies WHERE group_id = ?1", [&group])?;
            if current + policies.len() > limits.max_policies_per_group {
                return Err(StoreError::PolicyLimit {
                    current,
                    adding: policies.len(),
                    limit: limits.max_policies_per_group,
                });
            }
            insert_policies(conn, &group, policies, now)
        })
        .await
    }

    async fn list_policies(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        page: Option<&Page>,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let _timer = self.metrics.time("list_policies");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        let (marker, limit) = page_args(page);
        self.read(move |conn| {
            require(conn, &tenant, &group, None)?;
            query_all(
                conn,
                "listing policies",
                &format!("SELECT {POLICY_COLUMNS} FROM policies WHERE group_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"),
                params![group, marker, limit],
                policy_from_row,
            )
        })
        .await
    }

    async fn get_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
    ) -> Result<PolicyRecord, StoreError> {
        let _timer = self.metrics.time("get_policy");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        self.read(move |conn| {
            require(conn, &tenant, &group, None)?;
            find_policy(conn, &group, &policy)?.ok_or(StoreError::PolicyNotFound)
        })
        .await
    }

    async fn replace_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        body: NewPolicy,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("replace_policy");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            execute(
                conn,
                "updating a policy",
                "UPDATE policies SET body = ?1 WHERE id = ?2",
                params![body.body.to_string(), policy],
            )?;
            arm_schedule(conn, &group, &policy, body.next_fire)?;
            Ok(())
        })
        .await
    }

    async fn delete_policy(&self, tenant: &TenantId, group: &GroupId, policy: &PolicyId) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_policy");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            execute(conn, "deleting a policy", "DELETE FROM policies WHERE id = ?1", [&policy])?;
            Ok(())
        })
        .await
    }

    async fn create_webhooks(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhooks: Vec<NewWebhook>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<WebhookRecord>, StoreError> {
        let _timer = self.metrics.time("create_webhooks");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            let current = count(conn, "counting webhooks", "SELECT COUNT(*) FROM webhooks WHERE policy_id = ?1", [&policy])?;
            if current + webhooks.len() > limits.max_webhooks_per_policy {
                return Err(StoreError::WebhookLimit { current, adding: webhooks.len(), limit: limits.max_webhooks_per_policy });
            }
            let now_text = now.to_string();
            let mut created = Vec::with_capacity(webhooks.len());
            for webhook in webhooks {
                let id = new_id();
                execute(
                    conn,
                    "inserting a webhook",
                    "INSERT INTO webhooks (id, policy_id, name, metadata, capability_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![id, policy, webhook.name, Value::Object(webhook.metadata.clone()).to_string(), webhook.capability_hash, now_text],
                )?;
                created.push(WebhookRecord { id: id.into(), policy_id: policy.as_str().into(), name: webhook.name, metadata: webhook.metadata });
            }
            Ok(created)
        })
        .await
    }

    async fn list_webhooks(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        page: Option<&Page>,
    ) -> Result<Vec<WebhookRecord>, StoreError> {
        let _timer = self.metrics.time("list_webhooks");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        let (marker, limit) = page_args(page);
        self.read(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            query_all(
                conn,
                "listing webhooks",
                "SELECT id, policy_id, name, metadata FROM webhooks WHERE policy_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                params![policy, marker, limit],
                webhook_from_row,
            )
        })
        .await
    }

    async fn get_webhook(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhook: &WebhookId,
    ) -> Result<WebhookRecord, StoreError> {
        let _timer = self.metrics.time("get_webhook");
        let (tenant, group, policy, webhook) =
            (tenant.to_string(), group.to_string(), policy.to_string(), webhook.to_string());
        self.read(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            query_one(
                conn,
                "reading a webhook",
                "SELECT id, policy_id, name, metadata FROM webhooks WHERE policy_id = ?1 AND id = ?2",
                params![policy, webhook],
                webhook_from_row,
            )?
            .ok_or(StoreError::WebhookNotFound)
        })
        .await
    }

    async fn replace_webhook(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhook: &WebhookId,
        name: String,
        metadata: Map<String, Value>,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("replace_webhook");
        let (tenant, group, policy, webhook) =
            (tenant.to_string(), group.to_string(), policy.to_string(), webhook.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            execute_one(
                conn,
                "updating a webhook",
                "UPDATE webhooks SET name = ?1, metadata = ?2 WHERE policy_id = ?3 AND id = ?4",
                params![name, Value::Object(metadata).to_string(), policy, webhook],
                StoreError::WebhookNotFound,
            )
        })
        .await
    }

    async fn delete_webhook(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhook: &WebhookId,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_webhook");
        let (tenant, group, policy, webhook) =
            (tenant.to_string(), group.to_string(), policy.to_string(), webhook.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            execute_one(
                conn,
                "deleting a webhook",
                "DELETE FROM webhooks WHERE policy_id = ?1 AND id = ?2",
                params![policy, webhook],
                StoreError::WebhookNotFound,
            )
        })
        .await
    }

    async fn find_capability(&self, capability_hash: &str) -> Result<Option<CapabilityTarget>, StoreError> {
        let _timer = self.metrics.time("find_capability");
        let capability_hash = capability_hash.to_string();
        self.read(move |conn| capability_target(conn, &capability_hash)).await
    }
}

/// What a capability executes, by the hash of its secret.
pub(super) fn capability_target(
    conn: &Connection,
    capability_hash: &str,
) -> Result<Option<CapabilityTarget>, StoreError> {
    query_one(
        conn,
        "reading a capability",
        "SELECT g.tenant_id AS tenant_id, g.id AS group_id, p.id AS policy_id, w.id AS webhook_id \
         FROM webhooks w JOIN policies p ON p.id = w.policy_id JOIN groups g ON g.id = p.group_id \
         WHERE w.capability_hash = ?1 AND g.deleting = 0",
        [capability_hash],
        |row| {
            Ok(CapabilityTarget {
                tenant_id: id(row, "tenant_id")?,
                group_id: id(row, "group_id")?,
                policy_id: id(row, "policy_id")?,
                webhook_id: id(row, "webhook_id")?,
            })
        },
    )
}
