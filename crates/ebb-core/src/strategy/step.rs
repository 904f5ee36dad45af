//! AWS step scaling (`modern-autoscalers.md` §4.1): an alarm on one metric that must hold for
//! an evaluation period, and adjustments chosen by how far past the threshold the metric is,
//! with bounds relative to the threshold.

use jiff::{SignedDuration, Timestamp};

/// Which side of the threshold is the alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Values at or above the threshold.
    Above,
    /// Values at or below the threshold.
    Below,
}

/// How an adjustment changes the count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Adjustment {
    /// By this many members (AWS's `ChangeInCapacity`).
    Change(i64),
    /// By this percentage of the current count (`PercentChangeInCapacity`): a result between
    /// 0 and ±1 becomes ±1, a larger one is truncated toward 0.
    Percent(f64),
    /// To this count (`ExactCapacity`).
    Exact(u32),
}

/// One step: applies when the metric minus the threshold lies between `lower` and `upper`
/// (either open-ended when absent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The lower bound, relative to the threshold.
    pub lower: Option<f64>,
    /// The upper bound, relative to the threshold.
    pub upper: Option<f64>,
    /// What it does.
    pub adjustment: Adjustment,
}

/// A step-scaling policy.
#[derive(Debug, Clone, PartialEq)]
pub struct StepPolicy {
    /// The alarm's threshold.
    pub threshold: f64,
    /// The alarm's side.
    pub side: Side,
    /// How long the alarm must hold.
    pub evaluation: SignedDuration,
    /// The steps.
    pub steps: Vec<Step>,
    /// A percentage adjustment changes the count by at least this many members.
    pub min_magnitude: u32,
}

impl StepPolicy {
    /// The newest value when the alarm holds at `now`: every point since the run of breaching
    /// points began breaches, and the run is at least `evaluation` old. Points oldest first.
    pub fn alarm(&self, points: &[(Timestamp, f64)], now: Timestamp) -> Option<f64> {
        let breaches = |value: f64| match self.side {
            Side::Above => value >= self.threshold,
            Side::Below => value <= self.threshold,
        };
        let (_, newest) = *points.last()?;
        let run_start = points.iter().rev().take_while(|(_, value)| breaches(*value)).last()?.0;
        (now.duration_since(run_start) >= self.evaluation).then_some(newest)
    }

    /// The step `value` falls in: for an alarm above the threshold a lower bound is inclusive
    /// and an upper one exclusive; below it, the other way round (AWS's rule).
    pub fn step_for(&self, value: f64) -> Option<&Step> {
        let diff = value - self.threshold;
        self.steps.iter().find(|step| {
            let lower = step.lower.unwrap_or(f64::NEG_INFINITY);
            let upper = step.upper.unwrap_or(f64::INFINITY);
            match self.side {
                Side::Above => lower <= diff && diff < upper,
                Side::Below => lower < diff && diff <= upper,
            }
        })
    }

    /// The count a step asks for, from `base` members (those not warming up: what is still
    /// being added is not added again).
    pub fn target(&self, step: &Step, base: u32) -> u32 {
        let base_i = i64::from(base);
        let change = match step.adjustment {
            Adjustment::Exact(count) => return count,
            Adjustment::Change(change) => change,
            Adjustment::Percent(percent) => {
                let raw = base_i as f64 * percent / 100.0;
                let rounded = if raw > 0.0 && raw < 1.0 {
                    1
                } else if raw < 0.0 && raw > -1.0 {
                    -1
                } else {
                    raw.trunc() as i64
                };
                let magnitude = i64::from(self.min_magnitude);
                if rounded.abs() < magnitude { rounded.signum() * magnitude } else { rounded }
            }
        };
        (base_i + change).clamp(0, i64::from(u32::MAX)) as u32
    }

    /// What the policy proposes now for a group at `desired` members of which `warming` are
    /// still warming up (their samples are not in `points`): `None` without an alarm or a
    /// step for its value. A scale-out while members warm up counts them as already added.
    pub fn propose(&self, points: &[(Timestamp, f64)], desired: u32, warming: u32, now: Timestamp) -> Option<u32> {
        let value = self.alarm(points, now)?;
        let step = self.step_for(value)?;
        let target = self.target(step, desired.saturating_sub(warming));
        match self.side {
            // Only what goes beyond what is already being added.
            Side::Above if warming > 0 => Some(target.max(desired)),
            _ => Some(target),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::at::{ago, now};

    fn series(values: &[(i64, f64)]) -> Vec<(Timestamp, f64)> {
        values.iter().map(|(secs, v)| (ago(*secs), *v)).collect()
    }

    /// AWS's documented example: threshold 50 (CPU %), +1 from 50 to 60, +2 from 60 to 70,
    /// +3 from 70 up; -1 from 40 to 50, -2 from 30 to 40, -3 below 30 (on the other alarm).
    fn out() -> StepPolicy {
        let step = |lower, upper, change| Step { lower, upper, adjustment: Adjustment::Change(change) };
        StepPolicy {
            threshold: 50.0,
            side: Side::Above,
            evaluation: SignedDuration::from_secs(60),
            steps: vec![step(Some(0.0), Some(10.0), 1), step(Some(10.0), Some(20.0), 2), step(Some(20.0), None, 3)],
            min_magnitude: 0,
        }
    }

    fn in_() -> StepPolicy {
        let step = |lower, upper, change| Step { lower, upper, adjustment: Adjustment::Change(change) };
        StepPolicy {
            side: Side::Below,
            steps: vec![
                step(Some(-10.0), Some(0.0), -1),
                step(Some(-20.0), Some(-10.0), -2),
                step(None, Some(-20.0), -3),
            ],
            ..out()
        }
    }

    #[test]
    fn the_step_is_chosen_by_how_far_past_the_threshold_the_metric_is() {
        let policy = out();
        let pick = |v| policy.step_for(v).map(|s| s.adjustment);
        assert_eq!(pick(50.0), Some(Adjustment::Change(1)), "the lower bound is inclusive above the threshold");
        assert_eq!(pick(59.9), Some(Adjustment::Change(1)));
        assert_eq!(pick(60.0), Some(Adjustment::Change(2)), "the upper bound is exclusive");
        assert_eq!(pick(95.0), Some(Adjustment::Change(3)));
        assert_eq!(pick(49.0), None);
        let policy = in_();
        let pick = |v| policy.step_for(v).map(|s| s.adjustment);
        assert_eq!(pick(50.0), Some(Adjustment::Change(-1)), "below, the upper bound is inclusive");
        assert_eq!(pick(40.0), Some(Adjustment::Change(-2)), "and the lower one exclusive");
        assert_eq!(pick(10.0), Some(Adjustment::Change(-3)));
    }

    #[test]
    fn the_alarm_must_hold_for_the_evaluation_period() {
        let policy = out();
        assert_eq!(policy.alarm(&series(&[(90, 40.0), (30, 65.0), (0, 72.0)]), now()), None, "30 s of breach");
        assert_eq!(policy.alarm(&series(&[(90, 55.0), (30, 65.0), (0, 72.0)]), now()), Some(72.0));
        assert_eq!(policy.alarm(&series(&[(90, 55.0), (30, 45.0), (0, 72.0)]), now()), None, "interrupted");
        assert_eq!(policy.alarm(&[], now()), None);
        assert_eq!(policy.propose(&series(&[(90, 55.0), (0, 72.0)]), 4, 0, now()), Some(7));
        assert_eq!(in_().propose(&series(&[(120, 45.0), (0, 35.0)]), 4, 0, now()), Some(2));
    }

    #[test]
    fn percentages_round_as_aws_does_with_a_minimum_magnitude() {
        let policy = |percent, min_magnitude| StepPolicy {
            steps: vec![Step { lower: Some(0.0), upper: None, adjustment: Adjustment::Percent(percent) }],
            min_magnitude,
            ..out()
        };
        let step = |p: &StepPolicy| p.steps[0];
        let up = policy(30.0, 0);
        assert_eq!(up.target(&step(&up), 42), 54, "12.6 is truncated to 12");
        assert_eq!(up.target(&step(&up), 2), 3, "0.6 becomes 1");
        let down = policy(-30.0, 0);
        assert_eq!(down.target(&step(&down), 2), 1, "-0.6 becomes -1");
        assert_eq!(down.target(&step(&down), 42), 30, "-12.6 is truncated to -12");
        let magnitude = policy(10.0, 3);
        assert_eq!(magnitude.target(&step(&magnitude), 10), 13, "at least 3");
        let exact = StepPolicy {
            steps: vec![Step { lower: Some(0.0), upper: None, adjustment: Adjustment::Exact(9) }],
            ..out()
        };
        assert_eq!(exact.target(&exact.steps[0], 2), 9);
    }

    #[test]
    fn a_scale_out_while_members_warm_up_adds_only_what_goes_beyond() {
        let breach = series(&[(90, 55.0), (0, 65.0)]);
        // 4 desired, 1 still warming: the +2 step asks for 3 + 2 = 5, one more than now.
        assert_eq!(out().propose(&breach, 4, 1, now()), Some(5));
        // 6 desired, 3 warming: 3 + 2 = 5 is below what is on its way: stay.
        assert_eq!(out().propose(&breach, 6, 3, now()), Some(6));
    }
}
