//! [`Engine`]: the operations that change groups.

use std::sync::Arc;

use ebb_core::capacity::Refusal;
use ebb_store::{Execution, Store, StoreError};

use crate::clock::Clock;
use crate::metrics::{EngineMetrics, Outcome, Source};

/// Changes groups through the store, with the time of its clock.
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: EngineMetrics,
}

impl Engine {
    /// An engine over `store`, reading time from `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, metrics: EngineMetrics) -> Self {
        Engine { store, clock, metrics }
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
            }
            Ok(None) => {
                self.metrics.execution(Source::Capability, Outcome::NotFound);
                tracing::info!("capability execution for an unknown capability");
            }
            Err(err) => {
                self.metrics.execution(Source::Capability, Outcome::Failed);
                tracing::error!(error = %err, "capability execution failed");
            }
        }
    }

    async fn execute(&self, source: Source, tenant: &str, group: &str, policy: &str) -> Result<Execution, StoreError> {
        let result = self.store.execute_policy(tenant, group, policy, self.clock.now()).await;
        self.record(source, tenant, group, policy, &result);
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
