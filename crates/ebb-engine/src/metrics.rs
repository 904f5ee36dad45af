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

/// Where an execution came from: the source of its history entry.
pub use ebb_core::records::Source;

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
        self.executions.get_or_create(&ExecutionLabels { outcome: outcome.as_str(), source: source.as_str() }).inc();
    }

    /// How many executions ended with `outcome` (for tests and benchmarks).
    pub fn count(&self, source: Source, outcome: Outcome) -> u64 {
        self.executions
            .get(&ExecutionLabels { outcome: outcome.as_str(), source: source.as_str() })
            .map(|counter| counter.get())
            .unwrap_or(0)
    }
}

/// Exports the built-in load balancers' statistics at each scrape, per group and member:
/// `ebb_balancer_requests_per_second`, `ebb_balancer_in_flight`,
/// `ebb_balancer_open_connections`, `ebb_balancer_error_rate`,
/// `ebb_balancer_response_time_milliseconds{quantile}` and `ebb_balancer_requests_total`.
pub struct BalancerCollector(pub std::sync::Arc<crate::converger::Converger>);

/// Exports the calls made to tenants' clouds at scrape time: `ebb_cloud_calls_total` by
/// service and method.
pub struct CloudCallCollector(pub std::sync::Arc<crate::provider::cloud::tenant::Clouds>);

impl std::fmt::Debug for CloudCallCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CloudCallCollector")
    }
}

impl prometheus_client::collector::Collector for CloudCallCollector {
    fn encode(&self, mut encoder: prometheus_client::encoding::DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use prometheus_client::metrics::MetricType;
        let mut metric = encoder.encode_descriptor(
            "ebb_cloud_calls",
            "Calls made to tenants' clouds (Nova, Cloud Load Balancers, RackConnect v3)",
            None,
            MetricType::Counter,
        )?;
        for (service, method, calls) in self.0.calls() {
            let labels: Labels = vec![("service", service.to_string()), ("method", method)];
            metric
                .encode_family(&labels)?
                .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&calls, None)?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for BalancerCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BalancerCollector")
    }
}

type Labels = Vec<(&'static str, String)>;

/// A gauge of the balancer statistics: name, help, and how to read it.
type TrafficGauge = (&'static str, &'static str, fn(&crate::balancer::TrafficStats) -> f64);

impl prometheus_client::collector::Collector for BalancerCollector {
    fn encode(&self, mut encoder: prometheus_client::encoding::DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use prometheus_client::metrics::MetricType;

        let mut rows: Vec<(Labels, crate::balancer::TrafficStats)> = Vec::new();
        for (group, stats) in self.0.all_balancer_stats() {
            let port = stats.port.to_string();
            rows.push((
                vec![("group", group.clone()), ("port", port.clone()), ("member", String::new())],
                stats.group.clone(),
            ));
            for member in stats.members {
                rows.push((
                    vec![("group", group.clone()), ("port", port.clone()), ("member", member.member_id)],
                    member.traffic,
                ));
            }
        }
        let gauges: [TrafficGauge; 4] = [
            ("ebb_balancer_requests_per_second", "Requests per second over the last 10 s", |t| t.requests_per_second),
            ("ebb_balancer_in_flight", "Requests in flight", |t| t.in_flight as f64),
            ("ebb_balancer_open_connections", "Open connections", |t| t.open_connections as f64),
            ("ebb_balancer_error_rate", "Errors per request over the last 10 s", |t| t.error_rate),
        ];
        for (name, help, value) in gauges {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (labels, traffic) in &rows {
                metric.encode_family(labels)?.encode_gauge(&value(traffic))?;
            }
        }
        let mut latency = encoder.encode_descriptor(
            "ebb_balancer_response_time_milliseconds",
            "Time to response headers over recent requests",
            None,
            MetricType::Gauge,
        )?;
        for (labels, traffic) in &rows {
            for (quantile, value) in [("0.5", traffic.p50_ms), ("0.95", traffic.p95_ms), ("0.99", traffic.p99_ms)] {
                let mut with_quantile = labels.clone();
                with_quantile.push(("quantile", quantile.to_string()));
                latency.encode_family(&with_quantile)?.encode_gauge(&value)?;
            }
        }
        let mut total = encoder.encode_descriptor(
            "ebb_balancer_requests",
            "Requests through the balancer",
            None,
            MetricType::Counter,
        )?;
        for (labels, traffic) in &rows {
            total.encode_family(labels)?.encode_counter::<Labels, _, f64>(&traffic.requests_total, None)?;
        }
        Ok(())
    }
}

/// The reads of every running collector, on `/metrics`.
pub struct CollectorMetrics(pub std::sync::Arc<crate::engine::Engine>);

impl std::fmt::Debug for CollectorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CollectorMetrics")
    }
}

/// A gauge of a collector's health: name, help, and how to read it.
type HealthGauge = (&'static str, &'static str, fn(&ebb_core::collector::health::Health) -> Option<f64>);
/// A counter of a collector's reads: name, help, and how to read it.
type HealthCounter = (&'static str, &'static str, fn(&ebb_core::collector::health::Health) -> u64);

impl prometheus_client::collector::Collector for CollectorMetrics {
    fn encode(&self, mut encoder: prometheus_client::encoding::DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use prometheus_client::metrics::MetricType;

        let statuses = self.0.collectors().statuses(None);
        let labels = |s: &crate::collectors::CollectorStatus| -> Labels {
            vec![
                ("group", s.group.to_string()),
                ("collector", s.id.to_string()),
                ("name", s.name.clone()),
                ("type", s.kind.to_string()),
                ("metric", s.metric.clone()),
            ]
        };
        let counters: [HealthCounter; 2] = [
            ("ebb_collector_reads", "Reads of a collector's source", |h| h.reads),
            ("ebb_collector_failures", "Failed reads of a collector's source", |h| h.failures),
        ];
        for (name, help, read) in counters {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for status in &statuses {
                metric.encode_family(&labels(status))?.encode_counter::<Labels, _, f64>(&read(&status.health), None)?;
            }
        }
        let gauges: [HealthGauge; 3] = [
            ("ebb_collector_consecutive_failures", "Failed reads since the last success", |h| {
                Some(f64::from(h.consecutive_failures))
            }),
            ("ebb_collector_last_success_timestamp_seconds", "When the last read succeeded", |h| {
                h.last_success.map(|at| at.as_millisecond() as f64 / 1000.0)
            }),
            ("ebb_collector_last_value", "The value the last successful read gave", |h| h.last_value),
        ];
        for (name, help, read) in gauges {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for status in &statuses {
                if let Some(value) = read(&status.health) {
                    metric.encode_family(&labels(status))?.encode_gauge(&value)?;
                }
            }
        }
        Ok(())
    }
}
