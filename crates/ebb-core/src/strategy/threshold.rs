//! autoscalebot's two decision backends (`../shared/seeds/002_*.txt`): `consecutive` (so many
//! measurements in a row above the maximum scale up, so many below the minimum scale down) and
//! `average` (the mean of the last measurements outside the band), each by an increment, then
//! waiting before measurements count again.

use jiff::{SignedDuration, Timestamp};

/// Which of autoscalebot's backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `ConsecutiveThresholdBackend`.
    Consecutive {
        /// `NUMBER_OF_FAILS_TO_SCALE_UP_AFTER` (3): measurements in a row above the maximum.
        fails_to_scale_up: u32,
        /// `NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER` (5): measurements in a row below the minimum.
        passes_to_scale_down: u32,
    },
    /// `AverageThresholdBackend`.
    Average {
        /// `NUMBER_OF_MEASUREMENTS_TO_AVERAGE` (3).
        measurements: u32,
    },
}

/// A threshold policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdPolicy {
    /// The backend.
    pub decision: Decision,
    /// `MIN_MEASUREMENT_VALUE`: below it is a pass.
    pub min: f64,
    /// `MAX_MEASUREMENT_VALUE`: above it is a fail.
    pub max: f64,
    /// `INCREMENT` (1): members added or removed.
    pub increment: u32,
    /// `POST_SCALE_WAIT_TIME_SECONDS` (5): measurements taken sooner after a scale do not count.
    pub post_scale_wait: SignedDuration,
    /// `HISTORY_LENGTH` (10): measurements kept.
    pub history_length: u32,
}

impl ThresholdPolicy {
    /// autoscalebot's defaults for the consecutive backend: 3 fails up, 5 passes down, band
    /// 400..1200 (response time in ms), increment 1, wait 5 s, history 10.
    pub fn consecutive() -> Self {
        ThresholdPolicy {
            decision: Decision::Consecutive { fails_to_scale_up: 3, passes_to_scale_down: 5 },
            min: 400.0,
            max: 1200.0,
            increment: 1,
            post_scale_wait: SignedDuration::from_secs(5),
            history_length: 10,
        }
    }

    /// autoscalebot's defaults for the average backend: the mean of 3, band 0..20.
    pub fn average() -> Self {
        ThresholdPolicy { decision: Decision::Average { measurements: 3 }, min: 0.0, max: 20.0, ..Self::consecutive() }
    }

    /// The count proposed for a group at `current` members, from its measurements (oldest
    /// first) and when it last scaled; `None` when nothing is called for.
    pub fn propose(
        &self,
        measurements: &[(Timestamp, f64)],
        current: u32,
        last_scaled: Option<Timestamp>,
        now: Timestamp,
    ) -> Option<u32> {
        if last_scaled.is_some_and(|at| now < at + self.post_scale_wait) {
            return None;
        }
        let counted: Vec<f64> = measurements
            .iter()
            .filter(|(at, _)| last_scaled.is_none_or(|scaled| *at >= scaled + self.post_scale_wait))
            .map(|(_, value)| *value)
            .collect();
        let kept = &counted[counted.len().saturating_sub(self.history_length as usize)..];
        let (up, down) = match self.decision {
            Decision::Consecutive { fails_to_scale_up, passes_to_scale_down } => {
                let last = |n: u32, holds: &dyn Fn(f64) -> bool| {
                    n > 0 && kept.len() >= n as usize && kept[kept.len() - n as usize..].iter().all(|v| holds(*v))
                };
                (last(fails_to_scale_up, &|v| v > self.max), last(passes_to_scale_down, &|v| v < self.min))
            }
            Decision::Average { measurements } => {
                let n = measurements as usize;
                if n == 0 || kept.len() < n {
                    return None;
                }
                let mean = kept[kept.len() - n..].iter().sum::<f64>() / n as f64;
                (mean > self.max, mean < self.min)
            }
        };
        match (up, down) {
            (true, _) => Some(current.saturating_add(self.increment)),
            (false, true) => Some(current.saturating_sub(self.increment)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::at::now;

    /// Measurements every 10 s, the newest now.
    fn measured(values: &[f64]) -> Vec<(Timestamp, f64)> {
        let n = values.len() as i64;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (now() - SignedDuration::from_secs(10 * (n - 1 - i as i64)), *v))
            .collect()
    }

    #[test]
    fn consecutive_fails_scale_up_and_consecutive_passes_scale_down() {
        let policy = ThresholdPolicy::consecutive();
        assert_eq!(policy.propose(&measured(&[500.0, 1300.0, 1250.0, 1500.0]), 2, None, now()), Some(3), "3 fails");
        assert_eq!(
            policy.propose(&measured(&[1300.0, 500.0, 1250.0, 1500.0]), 2, None, now()),
            None,
            "only 2 in a row"
        );
        assert_eq!(policy.propose(&measured(&[300.0; 5]), 2, None, now()), Some(1), "5 passes");
        assert_eq!(policy.propose(&measured(&[300.0; 4]), 2, None, now()), None, "4 passes are not enough");
        assert_eq!(
            policy.propose(&measured(&[1200.0, 1200.0, 1200.0]), 2, None, now()),
            None,
            "at the maximum is no fail"
        );
    }

    #[test]
    fn the_average_of_the_last_measurements_outside_the_band_scales() {
        let policy = ThresholdPolicy::average();
        assert_eq!(policy.propose(&measured(&[0.0, 30.0, 20.0, 15.0]), 2, None, now()), Some(3), "mean 21.7");
        assert_eq!(policy.propose(&measured(&[30.0, 20.0, 15.0, 10.0]), 2, None, now()), None, "mean 15");
        assert_eq!(policy.propose(&measured(&[30.0, 30.0]), 2, None, now()), None, "fewer than 3");
        let band = ThresholdPolicy { min: 5.0, ..ThresholdPolicy::average() };
        assert_eq!(band.propose(&measured(&[1.0, 2.0, 3.0]), 2, None, now()), Some(1));
    }

    #[test]
    fn after_a_scale_it_waits_and_counts_only_newer_measurements() {
        let policy =
            ThresholdPolicy { post_scale_wait: SignedDuration::from_secs(15), ..ThresholdPolicy::consecutive() };
        let fails = measured(&[1300.0, 1300.0, 1300.0, 1300.0, 1300.0]);
        let scaled = now() - SignedDuration::from_secs(10);
        assert_eq!(policy.propose(&fails, 3, Some(scaled), now()), None, "still waiting");
        let scaled = now() - SignedDuration::from_secs(35);
        // Measurements at -20, -10 and 0 are after the wait: 3 fails in a row again.
        assert_eq!(policy.propose(&fails, 3, Some(scaled), now()), Some(4));
        let scaled = now() - SignedDuration::from_secs(25);
        assert_eq!(policy.propose(&fails, 3, Some(scaled), now()), None, "only 2 count");
    }

    #[test]
    fn only_the_history_length_is_kept() {
        let policy = ThresholdPolicy { history_length: 2, ..ThresholdPolicy::consecutive() };
        assert_eq!(policy.propose(&measured(&[1300.0; 6]), 1, None, now()), None, "3 fails never fit in 2");
    }
}
