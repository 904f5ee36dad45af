//! Policies, webhooks and capabilities, in memory.

use ebb_core::limits::Limits;
use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{MemoryStore, new_id, page};
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::PolicyStore for MemoryStore {
    async fn create_policies(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policies: Vec<NewPolicy>,
        limits: Limits,
        _now: Timestamp,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| {
            state.group(tenant, group)?;
            let current = state.policies.values().filter(|p| p.group_id == group).count();
            if current + policies.len() > limits.max_policies_per_group {
                return Err(StoreError::PolicyLimit {
                    current,
                    adding: policies.len(),
                    limit: limits.max_policies_per_group,
                });
            }
            let mut created = state.insert_policies(group, policies);
            created.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(created)
        })
    }

    async fn list_policies(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        page_of: Option<&Page>,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| {
            state.group(tenant, group)?;
            let mine = state.policies.iter().filter(|(_, p)| p.group_id == group);
            Ok(page(mine.map(|(id, p)| (id, p.clone())), page_of))
        })
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
        self.with(|state| {
            state.group(tenant, group)?;
            state.policy(group, policy).cloned().ok_or(StoreError::PolicyNotFound)
        })
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
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            if let Some(record) = state.policies.get_mut(policy) {
                record.body = body.body;
                record.policy = body.policy;
            }
            state.arm_schedule(group, policy, body.next_fire);
            Ok(())
        })
    }

    async fn delete_policy(&self, tenant: &TenantId, group: &GroupId, policy: &PolicyId) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            state.delete_policies(|p| p.id != policy);
            Ok(())
        })
    }

    async fn create_webhooks(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhooks: Vec<NewWebhook>,
        limits: Limits,
        _now: Timestamp,
    ) -> Result<Vec<WebhookRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            let current = state.webhooks.values().filter(|(w, _)| w.policy_id == policy).count();
            if current + webhooks.len() > limits.max_webhooks_per_policy {
                return Err(StoreError::WebhookLimit {
                    current,
                    adding: webhooks.len(),
                    limit: limits.max_webhooks_per_policy,
                });
            }
            let mut created = Vec::with_capacity(webhooks.len());
            for webhook in webhooks {
                let record = WebhookRecord {
                    id: new_id().into(),
                    policy_id: policy.into(),
                    name: webhook.name,
                    metadata: webhook.metadata,
                };
                state.webhooks.insert(record.id.clone(), (record.clone(), webhook.capability_hash));
                created.push(record);
            }
            Ok(created)
        })
    }

    async fn list_webhooks(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        page_of: Option<&Page>,
    ) -> Result<Vec<WebhookRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            let mine = state.webhooks.iter().filter(|(_, (w, _))| w.policy_id == policy);
            Ok(page(mine.map(|(id, (w, _))| (id, w.clone())), page_of))
        })
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
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            state
                .webhooks
                .get(webhook)
                .filter(|(w, _)| w.policy_id == policy)
                .map(|(w, _)| w.clone())
                .ok_or(StoreError::WebhookNotFound)
        })
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
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            match state.webhooks.get_mut(webhook).filter(|(w, _)| w.policy_id == policy) {
                Some((record, _)) => {
                    record.name = name;
                    record.metadata = metadata;
                    Ok(())
                }
                None => Err(StoreError::WebhookNotFound),
            }
        })
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
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            match state.webhooks.get(webhook) {
                Some((record, _)) if record.policy_id == policy => {
                    state.webhooks.remove(webhook);
                    Ok(())
                }
                _ => Err(StoreError::WebhookNotFound),
            }
        })
    }

    async fn find_capability(&self, capability_hash: &str) -> Result<Option<CapabilityTarget>, StoreError> {
        self.with(|state| Ok(state.capability(capability_hash)))
    }
}
