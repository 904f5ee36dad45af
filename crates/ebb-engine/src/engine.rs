//! [`Engine`]: the operations that change groups.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ebb_core::capacity::Refusal;
use ebb_core::grant::LocalProcessGrant;
use ebb_core::group::GroupConfig;
use ebb_core::limits::Limits;
use ebb_store::{Execution, GroupRecord, NewGroup, Page, PolicyRecord, Store, StoreError};
use serde_json::Value;

use crate::clock::Clock;
use crate::converger::{Converger, Observation, Trigger};
use crate::metrics::{EngineMetrics, Outcome, Source};
use crate::scheduler::Scheduler;
use crate::throttled::Throttled;

/// Changes groups through the store, with the time of its clock, and has them converged.
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: EngineMetrics,
    converger: Arc<Converger>,
    scheduler: Arc<Scheduler>,
    unknown_capabilities: Throttled,
}

impl Engine {
    /// An engine over `store`, reading time from `clock`, converging through `converger` and
    /// firing schedules through `scheduler`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        metrics: EngineMetrics,
        converger: Arc<Converger>,
        scheduler: Arc<Scheduler>,
    ) -> Self {
        Engine {
            store,
            clock,
            metrics,
            converger,
            scheduler,
            unknown_capabilities: Throttled::new(Duration::from_secs(1)),
        }
    }

    /// Creates policies in a group, all or none; schedule policies are armed.
    pub async fn create_policies(
        &self,
        tenant: &str,
        group: &str,
        bodies: Vec<Value>,
        limits: Limits,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let created = self.store.create_policies(tenant, group, bodies, limits, self.clock.now()).await?;
        self.scheduler.schedules_changed();
        Ok(created)
    }

    /// Replaces a policy; a schedule policy is re-armed from its new definition.
    pub async fn replace_policy(&self, tenant: &str, group: &str, policy: &str, body: Value) -> Result<(), StoreError> {
        self.store.replace_policy(tenant, group, policy, body, self.clock.now()).await?;
        self.scheduler.schedules_changed();
        Ok(())
    }

    /// Deletes a policy, its webhooks and its schedule.
    pub async fn delete_policy(&self, tenant: &str, group: &str, policy: &str) -> Result<(), StoreError> {
        self.store.delete_policy(tenant, group, policy).await?;
        self.scheduler.schedules_changed();
        Ok(())
    }

    /// Replaces what a tenant may run as `local_process` members and converges every group of
    /// the tenant, so that members no longer allowed are stopped and newly allowed ones start.
    pub async fn set_local_process(&self, tenant: &str, grant: LocalProcessGrant) -> Result<(), StoreError> {
        self.store.set_local_process(tenant, grant).await?;
        let mut page = Page { marker: None, limit: ebb_core::limits::PAGE_LIMIT };
        loop {
            let groups = self.store.list_groups(tenant, &page).await?;
            for group in &groups {
                self.converger.trigger(&group.id, Trigger::User);
            }
            match groups.last() {
                Some(last) if groups.len() == page.limit => page.marker = Some(last.id.clone()),
                _ => return Ok(()),
            }
        }
    }

    /// The converger.
    pub fn converger(&self) -> &Arc<Converger> {
        &self.converger
    }

    /// What the last convergence pass observed of a group.
    pub fn observation(&self, group: &str) -> Observation {
        self.converger.observation(group)
    }

    /// Creates a group and starts converging it.
    pub async fn create_group(
        &self,
        group: NewGroup,
        limits: Limits,
    ) -> Result<(GroupRecord, Vec<PolicyRecord>), StoreError> {
        let created = self.store.create_group(group, limits, self.clock.now()).await?;
        self.converger.trigger(&created.0.id, Trigger::User);
        self.scheduler.schedules_changed();
        Ok(created)
    }

    /// Replaces a group's configuration (re-clamping desired capacity) and converges it.
    pub async fn replace_config(
        &self,
        tenant: &str,
        group: &str,
        config: GroupConfig,
    ) -> Result<GroupRecord, StoreError> {
        let record = self.store.replace_config(tenant, group, config, self.clock.now()).await?;
        self.converger.trigger(group, Trigger::User);
        Ok(record)
    }

    /// Replaces a group's launch configuration; existing members are left as they are, and
    /// members started from now on use it.
    pub async fn replace_launch(&self, tenant: &str, group: &str, launch: Value) -> Result<(), StoreError> {
        self.store.replace_launch(tenant, group, launch).await
    }

    /// Pauses or resumes a group; resuming converges it.
    pub async fn set_paused(&self, tenant: &str, group: &str, paused: bool) -> Result<(), StoreError> {
        self.store.set_paused(tenant, group, paused).await?;
        if !paused {
            self.converger.trigger(group, Trigger::User);
        }
        Ok(())
    }

    /// Deletes a group: it disappears from the API at once; its members are drained and
    /// stopped, then it is removed.
    pub async fn delete_group(&self, tenant: &str, group: &str, force: bool) -> Result<(), StoreError> {
        self.store.delete_group(tenant, group, force).await?;
        self.converger.trigger(group, Trigger::User);
        Ok(())
    }

    /// Replaces (or removes) a group's time windows; the window in force now is applied and
    /// the group converged.
    pub async fn replace_windows(
        &self,
        tenant: &str,
        group: &str,
        windows: Option<Value>,
    ) -> Result<GroupRecord, StoreError> {
        let record = self.store.replace_windows(tenant, group, windows, self.clock.now()).await?;
        self.converger.trigger(group, Trigger::User);
        self.scheduler.schedules_changed();
        Ok(record)
    }

    /// Converges a group now.
    pub fn converge(&self, group: &str) {
        self.converger.trigger(group, Trigger::User);
    }

    /// Removes a member: with `replace`, a new one takes its place; with `purge`, it is
    /// drained and stopped, otherwise it keeps running, no longer managed.
    pub async fn remove_member(
        &self,
        tenant: &str,
        group: &str,
        member: &str,
        replace: bool,
        purge: bool,
    ) -> Result<(), StoreError> {
        self.store.remove_member(tenant, group, member, replace, self.clock.now()).await?;
        if purge {
            self.converger.remove_member(group, member);
        } else {
            self.converger.disown_member(group, member).await?;
        }
        Ok(())
    }

    /// The store the engine writes to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The engine's counters.
    pub fn metrics(&self) -> &EngineMetrics {
        &self.metrics
    }

    /// Executes a policy on behalf of an API caller.
    pub async fn execute_policy(&self, tenant: &str, group: &str, policy: &str) -> Result<Execution, StoreError> {
        self.execute(Source::Api, tenant, group, policy).await
    }

    /// Executes the policy behind a capability URL, given the hash of its secret.
    ///
    /// Every outcome, including an unknown capability, is only logged and counted: a
    /// capability caller learns nothing about what happened.
    pub async fn execute_capability(&self, capability_hash: &str) {
        let result = self.store.execute_capability(capability_hash, self.clock.now()).await;
        match result {
            Ok(Some((target, execution))) => {
                self.record(Source::Capability, &target.tenant_id, &target.group_id, &target.policy_id, &Ok(execution));
                if let Execution::Scaled { .. } | Execution::Refused(_) = execution {
                    self.converger.trigger(&target.group_id, Trigger::User);
                }
            }
            Ok(None) => self.unknown_capability(),
            Err(err) => {
                self.metrics.execution(Source::Capability, Outcome::Failed);
                tracing::error!(error = %err, "capability execution failed");
            }
        }
    }

    /// Counts a capability URL that executes nothing (unknown, deleted or malformed), and logs
    /// such calls at most once a second, with their number: anyone can make them.
    pub fn unknown_capability(&self) {
        self.metrics.execution(Source::Capability, Outcome::NotFound);
        if let Some(count) = self.unknown_capabilities.hit(Instant::now()) {
            tracing::info!(count, "capability executions for unknown capabilities");
        }
    }

    async fn execute(&self, source: Source, tenant: &str, group: &str, policy: &str) -> Result<Execution, StoreError> {
        let result = self.store.execute_policy(tenant, group, policy, self.clock.now()).await;
        self.record(source, tenant, group, policy, &result);
        // Even an execution that changed nothing converges the group (Otter §4.2 step 8).
        if let Ok(Execution::Scaled { .. } | Execution::Refused(_)) = result {
            self.converger.trigger(group, Trigger::User);
        }
        result
    }

    /// Logs and counts the outcome of an execution.
    fn record(&self, source: Source, tenant: &str, group: &str, policy: &str, result: &Result<Execution, StoreError>) {
        let outcome = match result {
            Ok(Execution::Scaled { from, to }) => {
                tracing::info!(tenant, group, policy, from, to, ?source, "policy executed");
                Outcome::Scaled
            }
            Ok(Execution::Refused(Refusal::Cooldown)) => Outcome::Cooldown,
            Ok(Execution::Refused(Refusal::NoChange)) => Outcome::NoChange,
            Ok(Execution::Paused) => Outcome::Paused,
            Err(StoreError::GroupNotFound | StoreError::PolicyNotFound) => Outcome::NotFound,
            Err(err) => {
                tracing::error!(tenant, group, policy, error = %err, "policy execution failed");
                Outcome::Failed
            }
        };
        if outcome != Outcome::Scaled {
            tracing::debug!(tenant, group, policy, ?outcome, ?source, "policy execution changed nothing");
        }
        self.metrics.execution(source, outcome);
    }
}
