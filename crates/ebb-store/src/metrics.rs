//! Latency of store operations, exported as a Prometheus histogram by operation.

use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

/// Store latency histograms; cheap to clone.
#[derive(Clone)]
pub struct StoreMetrics {
    latency: Family<OperationLabels, Histogram, fn() -> Histogram>,
}

fn latency_histogram() -> Histogram {
    // 50 µs up to about 3 s.
    Histogram::new(exponential_buckets(0.00005, 3.0, 11))
}

impl StoreMetrics {
    /// Creates the histograms and registers them as `ebb_store_operation_seconds`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = StoreMetrics::unregistered();
        registry.register(
            "ebb_store_operation_seconds",
            "Time taken by store operations, including waiting for the writer",
            metrics.latency.clone(),
        );
        metrics
    }

    /// Histograms not exported anywhere, for tests and tools.
    pub fn unregistered() -> Self {
        StoreMetrics { latency: Family::new_with_constructor(latency_histogram) }
    }

    /// Starts timing an operation; the time is recorded when the guard drops.
    pub(crate) fn time(&self, operation: &'static str) -> Timer<'_> {
        Timer { metrics: self, operation, started: Instant::now() }
    }
}

/// Records the elapsed time of one operation when dropped.
pub(crate) struct Timer<'a> {
    metrics: &'a StoreMetrics,
    operation: &'static str,
    started: Instant,
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        self.metrics
            .latency
            .get_or_create(&OperationLabels { operation: self.operation })
            .observe(self.started.elapsed().as_secs_f64());
    }
}
