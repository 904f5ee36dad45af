//! What a collector's reads come to: its last success and value, its last error, and how many
//! reads in a row failed — shown in its answer, in `explain` and on `/metrics`.

use jiff::{SignedDuration, Timestamp};

/// A failed read.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// When it ended.
    pub at: Timestamp,
    /// What went wrong, in words (never a secret: see the engine's sources).
    pub message: String,
}

/// A collector's reads so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// Reads done.
    pub reads: u64,
    /// Reads failed.
    pub failures: u64,
    /// Reads failed since the last success.
    pub consecutive_failures: u32,
    /// When the last successful read ended.
    pub last_success: Option<Timestamp>,
    /// The value it read.
    pub last_value: Option<f64>,
    /// The last failure, kept after a success (its time says whether it is old).
    pub last_error: Option<Failure>,
    /// How long the last read took.
    pub last_duration: Option<SignedDuration>,
    /// When the last read started.
    pub last_start: Option<Timestamp>,
    /// The actual time between the starts of two reads.
    pub intervals: Spread,
}

/// Count, mean, spread and range of durations in seconds (Welford's running variance).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spread {
    /// How many.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// The sum of squared differences from the mean.
    m2: f64,
    /// The shortest.
    pub min: f64,
    /// The longest.
    pub max: f64,
}

impl Spread {
    /// Adds one.
    pub fn add(&mut self, seconds: f64) {
        self.count += 1;
        let delta = seconds - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (seconds - self.mean);
        (self.min, self.max) =
            if self.count == 1 { (seconds, seconds) } else { (self.min.min(seconds), self.max.max(seconds)) };
    }

    /// The standard deviation (0 with fewer than two).
    pub fn stddev(&self) -> f64 {
        if self.count < 2 { 0.0 } else { (self.m2 / (self.count - 1) as f64).sqrt() }
    }
}

impl Health {
    /// A read starts at `at`.
    pub fn started(&mut self, at: Timestamp) {
        if let Some(last) = self.last_start.replace(at) {
            self.intervals.add(at.duration_since(last).as_secs_f64());
        }
    }

    /// A read ended at `at` with `value`, after `took`.
    pub fn succeeded(&mut self, at: Timestamp, value: f64, took: SignedDuration) {
        self.reads += 1;
        self.consecutive_failures = 0;
        self.last_success = Some(at);
        self.last_value = Some(value);
        self.last_duration = Some(took);
    }

    /// A read failed at `at`, after `took`.
    pub fn failed(&mut self, at: Timestamp, message: String, took: SignedDuration) {
        self.reads += 1;
        self.failures += 1;
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.last_error = Some(Failure { at, message });
        self.last_duration = Some(took);
    }

    /// Whether its last read failed.
    pub fn failing(&self) -> bool {
        self.consecutive_failures > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actual_intervals_are_counted_with_their_spread() {
        let at = |ms: i64| Timestamp::from_millisecond(1_800_000_000_000 + ms).unwrap();
        let mut health = Health::default();
        for ms in [0, 1_000, 2_100, 2_900, 4_000] {
            health.started(at(ms));
        }
        let spread = health.intervals;
        assert_eq!(spread.count, 4);
        assert!((spread.mean - 1.0).abs() < 1e-9 && (spread.min, spread.max) == (0.8, 1.1), "{spread:?}");
        assert!((spread.stddev() - 0.02f64.sqrt()).abs() < 1e-9, "{}", spread.stddev());
    }

    #[test]
    fn failures_count_in_a_row_until_a_success_and_the_last_error_stays() {
        let at = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
        let took = SignedDuration::from_millis(12);
        let mut health = Health::default();
        health.failed(at(0), "connection refused".into(), took);
        health.failed(at(15), "timed out after 10 s".into(), SignedDuration::from_secs(10));
        assert!(health.failing());
        assert_eq!((health.reads, health.failures, health.consecutive_failures), (2, 2, 2));
        health.succeeded(at(30), 42.0, took);
        assert!(!health.failing());
        assert_eq!((health.reads, health.failures, health.consecutive_failures), (3, 2, 0));
        assert_eq!((health.last_success, health.last_value), (Some(at(30)), Some(42.0)));
        assert_eq!(health.last_error, Some(Failure { at: at(15), message: "timed out after 10 s".into() }));
    }
}
