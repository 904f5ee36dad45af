//! Policies and webhooks.

use deadpool_postgres::GenericClient;
use ebb_core::limits::Limits;
use jiff::Timestamp;
use serde_json::{Map, Value};

use super::rows::*;
use super::{PostgresStore, backend};
use crate::error::StoreError;
use crate::model::*;

/// What a capability executes, by the hash of its secret.
pub(super) async fn capability_target<C: GenericClient>(
    client: &C,
    capability_hash: &str,
) -> Result<Option<CapabilityTarget>, StoreError> {
    query_one(
        client,
        "reading a capability",
        "SELECT g.tenant_id AS tenant_id, g.id AS group_id, p.id AS policy_id, w.id AS webhook_id \
         FROM webhooks w JOIN policies p ON p.id = w.policy_id JOIN groups g ON g.id = p.group_id \
         WHERE w.capability_hash = $1 AND NOT g.deleting",
        &[&capability_hash],
        |row| {
            Ok(CapabilityTarget {
                tenant_id: id(row, "tenant_id")?,
                group_id: id(row, "group_id")?,
                policy_id: id(row, "policy_id")?,
                webhook_id: id(row, "webhook_id")?,
            })
        },
    )
    .await
}

#[async_trait::async_trait]
impl crate::PolicyStore for PostgresStore {
    async fn create_policies(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policies: Vec<NewPolicy>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let _timer = self.metrics.time("create_policies");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend("starting a transaction"))?;
        require(&tx, tenant, group, None, Lock::ForUpdate).await?;
        let current =
            count(&tx, "counting policies", "SELECT COUNT(*) AS count FROM policies WHERE group_id = $1", &[&group])
                .await?;
        if current + policies.len() > limits.max_policies_per_group {
            return Err(StoreError::PolicyLimit {
                current,
                adding: policies.len(),
                limit: limits.max_policies_per_group,
            });
        }
        let created = insert_policies(&tx, group, policies, now).await?;
        tx.commit().await.map_err(backend("committing"))?;
        Ok(created)
    }

    async fn list_policies(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        page: Option<&Page>,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let _timer = self.metrics.time("list_policies");
        let client = self.client().await?;
        require(&client, tenant, group, None, Lock::None).await?;
        let (marker, limit) = page_args(page);
        let sql = format!("SELECT {POLICY_COLUMNS} FROM policies WHERE group_id = $1 AND id > $2 ORDER BY id LIMIT $3");
        query_all(&client, "listing policies", &sql, &[&group, &marker, &limit], policy_from_row).await
    }

    async fn get_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
    ) -> Result<PolicyRecord, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        let _timer = self.metrics.time("get_policy");
        let client = self.client().await?;
        require(&client, tenant, group, None, Lock::None).await?;
        find_policy(&client, group, policy).await?.ok_or(StoreError::PolicyNotFound)
    }

    async fn replace_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        body: NewPolicy,
    ) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        let _timer = self.metrics.time("replace_policy");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend("starting a transaction"))?;
        require(&tx, tenant, group, Some(policy), Lock::ForUpdate).await?;
        execute(
            &tx,
            "updating a policy",
            "UPDATE policies SET body = $1 WHERE id = $2",
            &[&body.body.to_string(), &policy],
        )
        .await?;
        arm_schedule(&tx, group, policy, body.next_fire).await?;
        tx.commit().await.map_err(backend("committing"))
    }

    async fn delete_policy(&self, tenant: &TenantId, group: &GroupId, policy: &PolicyId) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        let _timer = self.metrics.time("delete_policy");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend("starting a transaction"))?;
        require(&tx, tenant, group, Some(policy), Lock::ForUpdate).await?;
        execute(&tx, "deleting a policy", "DELETE FROM policies WHERE id = $1", &[&policy]).await?;
        tx.commit().await.map_err(backend("committing"))
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
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        let _timer = self.metrics.time("create_webhooks");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend("starting a transaction"))?;
        require(&tx, tenant, group, Some(policy), Lock::ForUpdate).await?;
        let current =
            count(&tx, "counting webhooks", "SELECT COUNT(*) AS count FROM webhooks WHERE policy_id = $1", &[&policy])
                .await?;
        if current + webhooks.len() > limits.max_webhooks_per_policy {
            return Err(StoreError::WebhookLimit {
                current,
                adding: webhooks.len(),
                limit: limits.max_webhooks_per_policy,
            });
        }
        let now_text = now.to_string();
        let mut created = Vec::with_capacity(webhooks.len());
        for webhook in webhooks {
            let id = new_id();
            let metadata = Value::Object(webhook.metadata.clone()).to_string();
            execute(
                &tx,
                "inserting a webhook",
                "INSERT INTO webhooks (id, policy_id, name, metadata, capability_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&id, &policy, &webhook.name, &metadata, &webhook.capability_hash, &now_text],
            )
            .await?;
            created.push(WebhookRecord {
                id: id.into(),
                policy_id: policy.into(),
                name: webhook.name,
                metadata: webhook.metadata,
            });
        }
        tx.commit().await.map_err(backend("committing"))?;
        Ok(created)
    }

    async fn list_webhooks(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        page: Option<&Page>,
    ) -> Result<Vec<WebhookRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        let _timer = self.metrics.time("list_webhooks");
        let client = self.client().await?;
        require(&client, tenant, group, Some(policy), Lock::None).await?;
        let (marker, limit) = page_args(page);
        query_all(
            &client,
            "listing webhooks",
            "SELECT id, policy_id, name, metadata FROM webhooks WHERE policy_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&policy, &marker, &limit],
            webhook_from_row,
        )
        .await
    }

    async fn get_webhook(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhook: &WebhookId,
    ) -> Result<WebhookRecord, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        let webhook = webhook.as_str();
        let _timer = self.metrics.time("get_webhook");
        let client = self.client().await?;
        require(&client, tenant, group, Some(policy), Lock::None).await?;
        query_one(
            &client,
            "reading a webhook",
            "SELECT id, policy_id, name, metadata FROM webhooks WHERE policy_id = $1 AND id = $2",
            &[&policy, &webhook],
            webhook_from_row,
        )
        .await?
        .ok_or(StoreError::WebhookNotFound)
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
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        let webhook = webhook.as_str();
        let _timer = self.metrics.time("replace_webhook");
        let client = self.client().await?;
        require(&client, tenant, group, Some(policy), Lock::None).await?;
        let changed = execute(
            &client,
            "updating a webhook",
            "UPDATE webhooks SET name = $1, metadata = $2 WHERE policy_id = $3 AND id = $4",
            &[&name, &Value::Object(metadata).to_string(), &policy, &webhook],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::WebhookNotFound);
        }
        Ok(())
    }

    async fn delete_webhook(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhook: &WebhookId,
    ) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        let webhook = webhook.as_str();
        let _timer = self.metrics.time("delete_webhook");
        let client = self.client().await?;
        require(&client, tenant, group, Some(policy), Lock::None).await?;
        let deleted = execute(
            &client,
            "deleting a webhook",
            "DELETE FROM webhooks WHERE policy_id = $1 AND id = $2",
            &[&policy, &webhook],
        )
        .await?;
        if deleted == 0 {
            return Err(StoreError::WebhookNotFound);
        }
        Ok(())
    }

    async fn find_capability(&self, capability_hash: &str) -> Result<Option<CapabilityTarget>, StoreError> {
        let _timer = self.metrics.time("find_capability");
        let client = self.client().await?;
        capability_target(&client, capability_hash).await
    }
}
