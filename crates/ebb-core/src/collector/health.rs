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
}

impl Health {
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
