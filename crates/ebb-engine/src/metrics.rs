//! Counters of policy executions, by how they ended.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// How a policy execution ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Outcome {
    /// Desired capacity changed.
    Scaled,
    /// Refused: a cooldown had not passed.
    Cooldown,
    /// Refused: nothing would change.
    NoChange,
    /// Refused: the group is paused.
    Paused,
    /// The group, policy or capability does not exist.
    NotFound,
    /// The store failed.
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Scaled => "scaled",
            Outcome::Cooldown => "cooldown",
            Outcome::NoChange => "no_change",
            Outcome::Paused => "paused",
            Outcome::NotFound => "not_found",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExecutionLabels {
    outcome: &'static str,
    source: &'static str,
}

/// Where an execution came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `POST .../policies/{id}/execute`.
    Api,
    /// A capability URL.
    Capability,
}

/// Engine counters; cheap to clone.
#[derive(Clone, Default)]
pub struct EngineMetrics {
    executions: Family<ExecutionLabels, Counter>,
}

impl EngineMetrics {
    /// Creates the counters and registers them as `ebb_policy_executions_total`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = EngineMetrics::default();
        registry.register(
            "ebb_policy_executions",
            "Policy executions by outcome and source",
            metrics.executions.clone(),
        );
        metrics
    }

    pub(crate) fn execution(&self, source: Source, outcome: Outcome) {
        self.executions
            .get_or_create(&ExecutionLabels {
                outcome: outcome.as_str(),
                source: match source {
                    Source::Api => "api",
                    Source::Capability => "capability",
                },
            })
            .inc();
    }

    /// How many executions ended with `outcome` (for tests and benchmarks).
    pub fn count(&self, source: Source, outcome: Outcome) -> u64 {
        self.executions
            .get(&ExecutionLabels {
                outcome: outcome.as_str(),
                source: match source {
                    Source::Api => "api",
                    Source::Capability => "capability",
                },
            })
            .map(|counter| counter.get())
            .unwrap_or(0)
    }
}
