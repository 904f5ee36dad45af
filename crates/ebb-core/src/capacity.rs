//! Executing a policy against a group: cooldowns, the new desired capacity, clamping.
//!
//! This is the one place where a policy turns into a desired capacity. The store applies
//! the outcome atomically; nothing else computes desired capacity.

use jiff::Timestamp;

use crate::policy::Adjustment;

/// The bounds desired capacity is kept within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The fewest members.
    pub min: u32,
    /// The most members.
    pub max: u32,
}

impl Bounds {
    /// `value` moved into `[min, max]`.
    pub fn clamp(self, value: i128) -> u32 {
        value.clamp(i128::from(self.min), i128::from(self.max)) as u32
    }
}

/// Everything an execution looks at.
#[derive(Debug, Clone, Copy)]
pub struct ExecutionInput {
    /// The group's desired capacity now.
    pub desired: u32,
    /// The group's bounds.
    pub bounds: Bounds,
    /// The group's cooldown, in seconds, by direction: up, down, and when nothing would change.
    pub group_cooldown: GroupCooldown,
    /// When any policy of the group last executed successfully.
    pub group_touched: Option<Timestamp>,
    /// The policy's cooldown, in seconds.
    pub policy_cooldown: f64,
    /// When this policy last executed successfully.
    pub policy_touched: Option<Timestamp>,
    /// What the policy changes.
    pub adjustment: Adjustment,
    /// The time of the execution.
    pub now: Timestamp,
}

/// A group's cooldowns, in seconds: `cooldown`, and the one of each direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCooldown {
    /// Before scaling up.
    pub up: u32,
    /// Before scaling down.
    pub down: u32,
    /// When nothing would change (Otter's `cooldown`: a refusal for cooldown comes first).
    pub any: u32,
}

impl GroupCooldown {
    /// One cooldown for every direction.
    pub fn same(seconds: u32) -> Self {
        GroupCooldown { up: seconds, down: seconds, any: seconds }
    }
}

/// Why an execution changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The group or the policy executed too recently.
    Cooldown,
    /// The clamped result equals the current desired capacity.
    NoChange,
    /// A metric policy: it is evaluated on its metric, never executed.
    NotExecutable,
}

/// Decides an execution: the new desired capacity, or why there is none.
///
/// Cooldowns are checked first (the group's of the direction the change would take); an
/// execution at exactly the end of a cooldown passes.
/// A refused execution starts no cooldown (the caller writes nothing).
pub fn execute(input: &ExecutionInput) -> Result<u32, Refusal> {
    let clamped = input.bounds.clamp(target(input.desired, input.adjustment));
    let group_cooldown = match clamped.cmp(&input.desired) {
        std::cmp::Ordering::Greater => input.group_cooldown.up,
        std::cmp::Ordering::Less => input.group_cooldown.down,
        std::cmp::Ordering::Equal => input.group_cooldown.any,
    };
    if in_cooldown(input.now, input.policy_touched, input.policy_cooldown)
        || in_cooldown(input.now, input.group_touched, f64::from(group_cooldown))
    {
        return Err(Refusal::Cooldown);
    }
    if clamped == input.desired {
        return Err(Refusal::NoChange);
    }
    Ok(clamped)
}

/// Whether `now` lies within `cooldown` seconds after `touched`.
///
/// `now` is when the request arrived, which may be a moment before the time stamped by an
/// execution that was applied ahead of it; a zero cooldown never refuses, whatever the order.
fn in_cooldown(now: Timestamp, touched: Option<Timestamp>, cooldown: f64) -> bool {
    let Some(touched) = touched else { return false };
    if cooldown <= 0.0 {
        return false;
    }
    let elapsed = now.duration_since(touched).as_secs_f64();
    elapsed < cooldown
}

/// The unclamped capacity a policy asks for.
pub fn target(current: u32, adjustment: Adjustment) -> i128 {
    let current_wide = i128::from(current);
    match adjustment {
        Adjustment::Change(change) => current_wide + i128::from(change),
        Adjustment::ChangePercent(percent) => current_wide + percent_delta(current, percent),
        Adjustment::DesiredCapacity(capacity) => i128::from(capacity),
    }
}

pub use crate::percent::percent_delta;

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;
    use proptest::prelude::*;

    fn t0() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn input(desired: u32, min: u32, max: u32, adjustment: Adjustment) -> ExecutionInput {
        ExecutionInput {
            desired,
            bounds: Bounds { min, max },
            group_cooldown: GroupCooldown::same(0),
            group_touched: None,
            policy_cooldown: 0.0,
            policy_touched: None,
            adjustment,
            now: t0(),
        }
    }

    #[test]
    fn change_percent_rounds_away_from_zero() {
        // The table of otter-api.md §4.2, with current = 5.
        for (percent, expected) in [(50.0, 8), (5.0, 6), (75.0, 9), (-50.0, 2), (-5.0, 4), (-75.0, 1)] {
            let got = execute(&input(5, 0, 100, Adjustment::ChangePercent(percent))).unwrap();
            assert_eq!(got, expected, "{percent}%");
        }
        assert_eq!(percent_delta(0, 50.0), 0);
        assert_eq!(percent_delta(10, 10.0), 1);
        assert_eq!(execute(&input(3, 0, 100, Adjustment::ChangePercent(33.333333333333336))), Ok(5));
        assert_eq!(execute(&input(10, 0, 100, Adjustment::ChangePercent(1e-9))), Ok(11));
    }

    #[test]
    fn results_are_clamped_and_no_change_is_refused() {
        assert_eq!(execute(&input(3, 1, 5, Adjustment::Change(10))), Ok(5));
        assert_eq!(execute(&input(5, 1, 5, Adjustment::Change(1))), Err(Refusal::NoChange));
        assert_eq!(execute(&input(3, 1, 5, Adjustment::Change(-10))), Ok(1));
        assert_eq!(execute(&input(1, 1, 5, Adjustment::Change(-1))), Err(Refusal::NoChange));
        assert_eq!(execute(&input(3, 1, 5, Adjustment::DesiredCapacity(3))), Err(Refusal::NoChange));
        assert_eq!(execute(&input(3, 0, 1000, Adjustment::Change(i64::MAX))), Ok(1000));
        assert_eq!(execute(&input(3, 0, 1000, Adjustment::Change(i64::MIN))), Ok(0));
        assert_eq!(execute(&input(3, 2, 2, Adjustment::Change(1))), Ok(2));
        assert_eq!(execute(&input(2, 2, 2, Adjustment::Change(-1))), Err(Refusal::NoChange));
    }

    #[test]
    fn cooldowns_refuse_until_they_have_fully_passed() {
        let mut run = input(1, 0, 10, Adjustment::Change(1));
        run.policy_cooldown = 60.0;
        run.policy_touched = Some(t0() - SignedDuration::from_secs(59));
        assert_eq!(execute(&run), Err(Refusal::Cooldown));
        run.policy_touched = Some(t0() - SignedDuration::from_secs(60));
        assert_eq!(execute(&run), Ok(2), "exactly equal passes");
        run.group_cooldown = GroupCooldown::same(30);
        run.group_touched = Some(t0() - SignedDuration::from_secs(10));
        assert_eq!(execute(&run), Err(Refusal::Cooldown));
    }

    #[test]
    fn a_zero_cooldown_never_refuses_even_when_now_precedes_the_last_execution() {
        let mut run = input(1, 0, 10, Adjustment::Change(1));
        run.policy_touched = Some(t0() + SignedDuration::from_millis(5));
        run.group_touched = Some(t0() + SignedDuration::from_millis(5));
        assert_eq!(execute(&run), Ok(2));
        run.policy_cooldown = 1.0;
        assert_eq!(execute(&run), Err(Refusal::Cooldown), "an earlier arrival is within a real cooldown");
    }

    #[test]
    fn each_direction_waits_for_its_own_group_cooldown() {
        // Scaled 60 s ago; up waits 30 s, down waits 300 s, and Otter's cooldown is 120 s.
        let cooldowns = GroupCooldown { up: 30, down: 300, any: 120 };
        let run = |adjustment| {
            let mut run = input(5, 1, 10, adjustment);
            run.group_cooldown = cooldowns;
            run.group_touched = Some(t0() - SignedDuration::from_secs(60));
            execute(&run)
        };
        assert_eq!(run(Adjustment::Change(2)), Ok(7), "up is past its 30 s");
        assert_eq!(run(Adjustment::Change(-2)), Err(Refusal::Cooldown), "down waits 300 s");
        assert_eq!(run(Adjustment::DesiredCapacity(5)), Err(Refusal::Cooldown), "no change: Otter's 120 s comes first");
    }

    #[test]
    fn cooldown_is_checked_before_change() {
        let mut run = input(5, 0, 5, Adjustment::Change(1));
        run.group_cooldown = GroupCooldown::same(30);
        run.group_touched = Some(t0());
        assert_eq!(execute(&run), Err(Refusal::Cooldown));
    }

    proptest! {
        #[test]
        fn executions_always_land_within_bounds(
            desired in 0u32..=1000, min in 0u32..=1000, span in 0u32..=1000,
            change in any::<i64>(), percent in -1e6f64..1e6, capacity in 0i64..i64::MAX, pick in 0u8..3,
        ) {
            let max = (min + span).min(1000);
            let adjustment = match pick {
                0 => Adjustment::Change(change),
                1 => Adjustment::ChangePercent(percent),
                _ => Adjustment::DesiredCapacity(capacity),
            };
            if let Ok(new) = execute(&input(desired, min, max, adjustment)) {
                prop_assert!(new >= min && new <= max);
                prop_assert_ne!(new, desired);
            }
        }
    }
}
