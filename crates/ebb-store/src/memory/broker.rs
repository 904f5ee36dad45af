//! The service broker's instances and bindings.

use ebb_core::cf_policy::CfPolicy;
use jiff::Timestamp;

use super::MemoryStore;
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::BrokerStore for MemoryStore {
    async fn create_service_instance(&self, instance: ServiceInstance) -> Result<Created<ServiceInstance>, StoreError> {
        self.with(|state| {
            if let Some(existing) = state.service_instances.get(&instance.id) {
                return Ok(Created::Existing(existing.clone()));
            }
            state.service_instances.insert(instance.id.clone(), instance.clone());
            Ok(Created::New(instance))
        })
    }

    async fn service_instance(&self, id: &str) -> Result<Option<ServiceInstance>, StoreError> {
        self.with(|state| Ok(state.service_instances.get(id).cloned()))
    }

    async fn set_default_policy(&self, id: &str, policy: Option<CfPolicy>) -> Result<ServiceInstance, StoreError> {
        self.with(|state| {
            let instance = state.service_instances.get_mut(id).ok_or(StoreError::ServiceInstanceNotFound)?;
            instance.default_policy = policy;
            Ok(instance.clone())
        })
    }

    async fn delete_service_instance(&self, id: &str) -> Result<bool, StoreError> {
        self.with(|state| {
            if !state.service_instances.contains_key(id) {
                return Ok(false);
            }
            let bound = state
                .service_bindings
                .values()
                .any(|b| b.instance_id == id && state.groups.get(&b.group_id).is_some_and(|g| !g.state.deleting));
            if bound {
                return Err(StoreError::ServiceInstanceBound);
            }
            state.service_bindings.retain(|_, b| b.instance_id != id);
            state.service_instances.remove(id);
            Ok(true)
        })
    }

    async fn create_binding(
        &self,
        id: &str,
        instance: &str,
        group: &GroupId,
        now: Timestamp,
    ) -> Result<Created<ServiceBinding>, StoreError> {
        self.with(|state| {
            if let Some(existing) = state.service_bindings.get(id) {
                return Ok(Created::Existing(existing.clone()));
            }
            if !state.service_instances.contains_key(instance) {
                return Err(StoreError::ServiceInstanceNotFound);
            }
            let tenant = match state.groups.get(group) {
                Some(g) if !g.state.deleting => g.tenant_id.clone(),
                _ => return Err(StoreError::GroupNotFound),
            };
            if state.service_bindings.values().any(|b| b.group_id == *group) {
                return Err(StoreError::GroupBound);
            }
            let binding = ServiceBinding {
                id: id.to_string(),
                instance_id: instance.to_string(),
                tenant_id: tenant,
                group_id: group.clone(),
                created_at: now,
            };
            state.service_bindings.insert(id.to_string(), binding.clone());
            Ok(Created::New(binding))
        })
    }

    async fn binding_of_group(&self, group: &GroupId) -> Result<Option<ServiceBinding>, StoreError> {
        self.with(|state| Ok(state.service_bindings.values().find(|b| b.group_id == *group).cloned()))
    }

    async fn bindings_of_instance(&self, instance: &str) -> Result<Vec<ServiceBinding>, StoreError> {
        self.with(|state| Ok(state.service_bindings.values().filter(|b| b.instance_id == instance).cloned().collect()))
    }

    async fn delete_binding(&self, instance: &str, id: &str) -> Result<Option<ServiceBinding>, StoreError> {
        self.with(|state| {
            if state.service_bindings.get(id).is_none_or(|b| b.instance_id != instance) {
                return Ok(None);
            }
            Ok(state.service_bindings.remove(id))
        })
    }
}
