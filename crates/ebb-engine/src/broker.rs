//! The engine's side of the service broker (Open Service Broker API v2): service instances
//! with a default policy, and bindings that attach a group to one.
//!
//! The store keeps instances and bindings; which policy a bound group gets is decided in the
//! core (`decide::follow_default`, `decide::detach_rules_policy`) and committed through
//! [`Engine::commit`], one group at a time, like every other change. Each step can be
//! repeated: the platform retries a request whose answer it did not get, and a retry finishes
//! what an interrupted one began.

use ebb_core::cf_policy::CfPolicy;
use ebb_core::decide;
use ebb_core::ids::GroupId;
use ebb_core::records::MetricCredential;
use ebb_store::{Created, Decide, ServiceBinding, ServiceInstance, StoreError};

use crate::engine::Engine;

/// What a bind found and did.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// The group is bound, with the policy the request gave or the instance's default.
    Bound(Created<ServiceBinding>),
    /// A binding with this id exists for another instance or group; nothing was done.
    Conflict(ServiceBinding),
}

impl Engine {
    /// Provisions a service instance, or finds the one with its id.
    pub async fn provision(&self, instance: ServiceInstance) -> Result<Created<ServiceInstance>, StoreError> {
        self.store().create_service_instance(instance).await
    }

    /// Replaces a service instance's default policy (`None`: removes it), then has every group
    /// bound to it follow: groups without a policy of their own get the new default (or lose
    /// the old one); groups whose policy was set explicitly keep it. Answers the groups whose
    /// policy changed.
    pub async fn set_default_policy(
        &self,
        instance: &str,
        policy: Option<CfPolicy>,
    ) -> Result<Vec<GroupId>, StoreError> {
        self.store().set_default_policy(instance, policy.clone()).await?;
        let mut changed = Vec::new();
        for binding in self.store().bindings_of_instance(instance).await? {
            let Some(before) = self.store().group_by_id(&binding.group_id).await? else { continue };
            let after = match self.follow_default(&binding, policy.clone()).await {
                Ok(after) => after,
                // Deleted meanwhile: it is unbound when it is purged.
                Err(StoreError::GroupNotFound) => continue,
                Err(err) => return Err(err),
            };
            if before.rules != after.rules || before.config != after.config || before.windows != after.windows {
                changed.push(binding.group_id);
            }
        }
        Ok(changed)
    }

    /// Deprovisions a service instance; `false` when there was none, and
    /// [`StoreError::ServiceInstanceBound`] while a group is bound to it.
    pub async fn deprovision(&self, instance: &str) -> Result<bool, StoreError> {
        self.store().delete_service_instance(instance).await
    }

    /// Binds a group to a service instance, sets its policy (the one given, as the group's own;
    /// else the instance's default, followed from then on) and its metric credential.
    /// Binding again with the same id, instance and group does it all again.
    pub async fn bind(
        &self,
        id: &str,
        instance: &str,
        group: &GroupId,
        policy: Option<CfPolicy>,
        credential: MetricCredential,
    ) -> Result<Bound, StoreError> {
        let created = self.store().create_binding(id, instance, group, self.now()).await?;
        let binding = match &created {
            Created::New(binding) => binding.clone(),
            Created::Existing(existing) if existing.instance_id == instance && existing.group_id == *group => {
                existing.clone()
            }
            Created::Existing(other) => return Ok(Bound::Conflict(other.clone())),
        };
        match policy {
            Some(policy) => {
                self.set_rules_policy(&binding.tenant_id, group, policy).await?;
            }
            None => {
                let default = self.store().service_instance(instance).await?.and_then(|i| i.default_policy);
                self.follow_default(&binding, default).await?;
            }
        }
        self.set_metric_credential(&binding.tenant_id, group, Some(credential)).await?;
        Ok(Bound::Bound(created))
    }

    /// Unbinds: the group's policy and metric credential go, then the binding. `None` when the
    /// instance has no such binding.
    pub async fn unbind(&self, instance: &str, id: &str) -> Result<Option<ServiceBinding>, StoreError> {
        let bindings = self.store().bindings_of_instance(instance).await?;
        let Some(binding) = bindings.into_iter().find(|b| b.id == id) else { return Ok(None) };
        let now = self.now();
        let decide: Decide = Box::new(move |snapshot| Ok(decide::delete_rules_policy(&snapshot.group, now)));
        match self.commit_rules_policy(&binding.tenant_id, &binding.group_id, decide).await {
            // A group deleted meanwhile has nothing left to remove.
            Ok(_) | Err(StoreError::GroupNotFound) => {}
            Err(err) => return Err(err),
        }
        match self.set_metric_credential(&binding.tenant_id, &binding.group_id, None).await {
            Ok(()) | Err(StoreError::GroupNotFound) => {}
            Err(err) => return Err(err),
        }
        self.store().delete_binding(instance, id).await
    }

    /// The default policy of the service instance a group is bound to, if any.
    pub(crate) async fn default_policy_of(&self, group: &GroupId) -> Result<Option<CfPolicy>, StoreError> {
        let Some(binding) = self.store().binding_of_group(group).await? else { return Ok(None) };
        Ok(self.store().service_instance(&binding.instance_id).await?.and_then(|i| i.default_policy))
    }

    async fn follow_default(
        &self,
        binding: &ServiceBinding,
        default: Option<CfPolicy>,
    ) -> Result<ebb_core::records::Group, StoreError> {
        let now = self.now();
        let decide: Decide =
            Box::new(move |snapshot| Ok(decide::follow_default(&snapshot.group, default.as_ref(), now)));
        self.commit_rules_policy(&binding.tenant_id, &binding.group_id, decide).await
    }
}
