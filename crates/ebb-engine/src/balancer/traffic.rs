//! Traffic counters of the group and of each member: totals and gauges in atomics, the last ten
//! seconds in a ring of one-second buckets, and recent response times in a bounded ring.
//!
//! Recording a request takes one short lock per counter set; everything costly (sorting response
//! times for percentiles) happens when statistics are read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

/// Length of the window of rates and percentiles.
const WINDOW_SECONDS: u64 = 10;
/// At most this many response times are kept; at high rates percentiles cover only the newest.
const MAX_LATENCY_SAMPLES: usize = 2048;

/// Traffic through the balancer or to one member over a recent window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TrafficStats {
    /// Requests since the balancer or member was added.
    pub requests_total: u64,
    /// Responses of status 500 and above, and requests the balancer could not deliver.
    pub errors_total: u64,
    /// Requests per second over the last 10 seconds.
    pub requests_per_second: f64,
    /// Errors per request over the last 10 seconds; 0 when there were no requests.
    pub error_rate: f64,
    /// Requests in flight now; an upgraded connection counts as one until it closes.
    pub in_flight: u64,
    /// For a member, connections from the balancer to it open now; for the group, client
    /// connections to the balancer open now.
    pub open_connections: u64,
    /// Median time to response headers, in milliseconds, over recent requests.
    pub p50_ms: f64,
    /// 95th percentile of the time to response headers, in milliseconds.
    pub p95_ms: f64,
    /// 99th percentile of the time to response headers, in milliseconds.
    pub p99_ms: f64,
}

/// The live counters behind a [`TrafficStats`].
#[derive(Debug)]
pub(crate) struct Traffic {
    started: Instant,
    requests_total: AtomicU64,
    errors_total: AtomicU64,
    in_flight: AtomicU64,
    open_connections: AtomicU64,
    recent: Mutex<Recent>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    second: u64,
    requests: u64,
    errors: u64,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    second: u64,
    micros: u32,
}

#[derive(Debug, Default)]
struct Recent {
    buckets: [Bucket; WINDOW_SECONDS as usize],
    /// A ring once full: `next_sample` is the oldest entry.
    samples: Vec<Sample>,
    next_sample: usize,
}

impl Traffic {
    pub(crate) fn new() -> Traffic {
        Traffic {
            started: Instant::now(),
            requests_total: AtomicU64::new(0),
            errors_total: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            open_connections: AtomicU64::new(0),
            recent: Mutex::new(Recent::default()),
        }
    }

    /// Counts one finished request: `latency` is the time to response headers, `None` when no
    /// response came.
    pub(crate) fn record(&self, latency: Option<Duration>, error: bool) {
        self.record_at(Instant::now(), latency, error);
    }

    fn record_at(&self, now: Instant, latency: Option<Duration>, error: bool) {
        self.requests_total.fetch_add(1, Ordering::Relaxed);
        if error {
            self.errors_total.fetch_add(1, Ordering::Relaxed);
        }
        let second = now.saturating_duration_since(self.started).as_secs();
        let mut recent = lock(&self.recent);
        let bucket = &mut recent.buckets[(second % WINDOW_SECONDS) as usize];
        if bucket.second != second {
            *bucket = Bucket { second, requests: 0, errors: 0 };
        }
        bucket.requests += 1;
        bucket.errors += u64::from(error);
        if let Some(latency) = latency {
            let sample = Sample { second, micros: u32::try_from(latency.as_micros()).unwrap_or(u32::MAX) };
            if recent.samples.len() < MAX_LATENCY_SAMPLES {
                recent.samples.push(sample);
            } else {
                let next = recent.next_sample;
                recent.samples[next] = sample;
                recent.next_sample = (next + 1) % MAX_LATENCY_SAMPLES;
            }
        }
    }

    pub(crate) fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(crate) fn snapshot(&self) -> TrafficStats {
        self.snapshot_at(Instant::now())
    }

    fn snapshot_at(&self, now: Instant) -> TrafficStats {
        let elapsed = now.saturating_duration_since(self.started);
        let current = elapsed.as_secs();
        let in_window = |second: u64| second <= current && second + WINDOW_SECONDS > current;
        let (requests, errors, mut micros) = {
            let recent = lock(&self.recent);
            let (requests, errors) = recent
                .buckets
                .iter()
                .filter(|bucket| in_window(bucket.second))
                .fold((0, 0), |(requests, errors), bucket| (requests + bucket.requests, errors + bucket.errors));
            let micros: Vec<u32> =
                recent.samples.iter().filter(|sample| in_window(sample.second)).map(|sample| sample.micros).collect();
            (requests, errors, micros)
        };
        micros.sort_unstable();
        // The buckets cover the current second so far plus the nine before it, or less while the
        // counters are younger than the window. A floor of one second keeps the rate of a burst
        // right after start from reading as thousands per second.
        let covered = if current >= WINDOW_SECONDS {
            (WINDOW_SECONDS - 1) as f64 + elapsed.subsec_nanos() as f64 / 1e9
        } else {
            elapsed.as_secs_f64()
        };
        TrafficStats {
            requests_total: self.requests_total.load(Ordering::Relaxed),
            errors_total: self.errors_total.load(Ordering::Relaxed),
            requests_per_second: requests as f64 / covered.max(1.0),
            error_rate: if requests == 0 { 0.0 } else { errors as f64 / requests as f64 },
            in_flight: self.in_flight(),
            open_connections: self.open_connections.load(Ordering::Relaxed),
            p50_ms: percentile(&micros, 0.50),
            p95_ms: percentile(&micros, 0.95),
            p99_ms: percentile(&micros, 0.99),
        }
    }
}

/// Nearest-rank percentile of sorted microseconds, in milliseconds; 0 without samples.
fn percentile(sorted_micros: &[u32], quantile: f64) -> f64 {
    if sorted_micros.is_empty() {
        return 0.0;
    }
    let rank = (quantile * sorted_micros.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_micros.len()) - 1;
    f64::from(sorted_micros[index]) / 1000.0
}

/// Counts a request in flight for as long as it lives.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Traffic>);

impl InFlight {
    pub(crate) fn begin(traffic: &Arc<Traffic>) -> InFlight {
        traffic.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(traffic))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts an open connection for as long as it lives.
#[derive(Debug)]
pub(crate) struct OpenConnection(Arc<Traffic>);

impl OpenConnection {
    pub(crate) fn begin(traffic: &Arc<Traffic>) -> OpenConnection {
        traffic.open_connections.fetch_add(1, Ordering::Relaxed);
        OpenConnection(Arc::clone(traffic))
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Locks a mutex whose holders cannot panic halfway through an update, so a poisoned lock still
/// holds consistent data.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let micros: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile(&micros, 0.50), 50.0);
        assert_eq!(percentile(&micros, 0.95), 95.0);
        assert_eq!(percentile(&micros, 0.99), 99.0);
        assert_eq!(percentile(&[7000], 0.99), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    fn seconds(traffic: &Traffic, seconds: f64) -> Instant {
        traffic.started + Duration::from_secs_f64(seconds)
    }

    #[test]
    fn the_window_forgets_old_requests_but_totals_do_not() {
        let traffic = Traffic::new();
        for _ in 0..20 {
            traffic.record_at(seconds(&traffic, 0.1), Some(Duration::from_millis(4)), false);
        }
        traffic.record_at(seconds(&traffic, 0.2), None, true);
        let stats = traffic.snapshot_at(seconds(&traffic, 0.5));
        assert_eq!((stats.requests_total, stats.errors_total), (21, 1));
        assert_eq!(stats.requests_per_second, 21.0, "a burst right after start is not extrapolated");
        assert!((stats.error_rate - 1.0 / 21.0).abs() < 1e-9);
        assert_eq!(stats.p50_ms, 4.0);

        let stats = traffic.snapshot_at(seconds(&traffic, 4.0));
        assert_eq!(stats.requests_per_second, 21.0 / 4.0);

        for tenth in 0..100 {
            traffic.record_at(seconds(&traffic, 20.0 + f64::from(tenth) / 10.0), Some(Duration::from_millis(2)), false);
        }
        let stats = traffic.snapshot_at(seconds(&traffic, 29.5));
        assert_eq!((stats.requests_total, stats.errors_total), (121, 1));
        assert!((stats.requests_per_second - 100.0 / 9.5).abs() < 1e-9, "{stats:?}");
        assert_eq!((stats.error_rate, stats.p99_ms), (0.0, 2.0));

        let stats = traffic.snapshot_at(seconds(&traffic, 45.0));
        assert_eq!((stats.requests_total, stats.errors_total), (121, 1));
        assert_eq!((stats.requests_per_second, stats.error_rate, stats.p99_ms), (0.0, 0.0, 0.0));
    }

    #[test]
    fn the_latency_ring_keeps_the_newest_samples() {
        let traffic = Traffic::new();
        let now = seconds(&traffic, 1.0);
        for _ in 0..MAX_LATENCY_SAMPLES {
            traffic.record_at(now, Some(Duration::from_millis(1)), false);
        }
        for _ in 0..MAX_LATENCY_SAMPLES {
            traffic.record_at(now, Some(Duration::from_millis(9)), false);
        }
        let stats = traffic.snapshot_at(now);
        assert_eq!((stats.p50_ms, stats.p99_ms), (9.0, 9.0));
    }

    #[test]
    fn guards_count_while_they_live() {
        let traffic = Arc::new(Traffic::new());
        let first = InFlight::begin(&traffic);
        let second = InFlight::begin(&traffic);
        let connection = OpenConnection::begin(&traffic);
        assert_eq!((traffic.snapshot().in_flight, traffic.snapshot().open_connections), (2, 1));
        drop((first, connection));
        assert_eq!((traffic.snapshot().in_flight, traffic.snapshot().open_connections), (1, 0));
        drop(second);
        assert_eq!(traffic.in_flight(), 0);
    }
}
