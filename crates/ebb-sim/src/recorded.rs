//! A live group's recorded history, made replayable: the requests its members served, minute
//! by minute, become a trace; the changes of its desired capacity become the supply it really
//! had, played through the same capacity model as a simulated group's decisions, so both are
//! scored alike.
//!
//! The requests are the per-slot minutes of `throughput` (requests a second, each minute's
//! mean ceiled, as the server archives them): their sum over slots is the group's rate in that
//! minute; a minute with no slot recorded is a hole. What was recorded is what was *served*:
//! where the live group was saturated, the offered load was higher than its trace says.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::model::CapacityModel;
use crate::run::curve;
use crate::scores::Step;
use crate::trace::Trace;

/// One slot's throughput in one minute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Minute {
    /// The start of the minute.
    pub at: Timestamp,
    /// The member slot.
    pub slot: u32,
    /// Requests a second, the minute's mean.
    pub value: f64,
}

/// One change of the group's desired capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// When.
    pub at: Timestamp,
    /// Desired capacity before.
    pub from: u32,
    /// Desired capacity after.
    pub to: u32,
}

/// A recorded stretch of a live group, ready to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The requests it served, as a trace.
    pub trace: Trace,
    /// Its desired capacity over the trace (seconds from the trace's start).
    pub desired: Vec<Step>,
}

/// Why a stretch cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordedError {
    /// No throughput in the stretch.
    #[error(
        "no throughput was recorded from {since} to {until}: a replay needs the requests the group served \
         (measured by the built-in load balancer for groups behind it that scale on metrics, or pushed as `throughput`)"
    )]
    NoThroughput {
        /// From.
        since: Timestamp,
        /// Until.
        until: Timestamp,
    },
}

impl Recorded {
    /// The stretch from `since` to `until` of `minutes` (any order) and `changes` (any order;
    /// those before `since` tell the capacity it started with).
    pub fn of(
        minutes: &[Minute],
        changes: &[Change],
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Recorded, RecordedError> {
        let mut rate: BTreeMap<i64, (f64, u32)> = BTreeMap::new();
        let first_minute = since.as_second().div_euclid(60) * 60;
        for m in minutes.iter().filter(|m| m.at.as_second() >= first_minute && m.at < until) {
            let (sum, slots) = rate.entry(m.at.as_second().div_euclid(60) * 60).or_default();
            *sum += m.value;
            *slots += 1;
        }
        let (Some((&first, &(_, slots_first))), Some(&last)) = (rate.first_key_value(), rate.keys().next_back()) else {
            return Err(RecordedError::NoThroughput { since, until });
        };
        let start = Timestamp::from_second(first).unwrap_or(since);
        let mut steps: Vec<Step> = Vec::with_capacity(rate.len());
        let mut expected = first;
        for (&minute, &(sum, _)) in &rate {
            if minute > expected {
                steps.push(Step::hole((expected - first) as f64));
            }
            steps.push(Step::new((minute - first) as f64, sum));
            expected = minute + 60;
        }
        let end = (last + 60 - first) as f64;
        let trace = Trace { start, interval: 60.0, rate: steps, end };
        Ok(Recorded { desired: desired(changes, start, end, slots_first), trace })
    }
}

/// Desired capacity from `start` for `end` seconds: the last change before `start` tells what
/// it was then, or else the first one after it; with no change at all, the slots that reported
/// in the first minute.
fn desired(changes: &[Change], start: Timestamp, end: f64, slots_first: u32) -> Vec<Step> {
    let mut changes = changes.to_vec();
    changes.sort_by_key(|c| c.at);
    let split = changes.partition_point(|c| c.at <= start);
    let initial = match (split.checked_sub(1).map(|i| changes[i]), changes.get(split)) {
        (Some(before), _) => before.to,
        (None, Some(after)) => after.from,
        (None, None) => slots_first,
    };
    let mut steps = vec![Step::new(0.0, f64::from(initial))];
    for change in &changes[split..] {
        let at = change.at.duration_since(start).as_secs_f64();
        if at < end {
            steps.push(Step::new(at, f64::from(change.to)));
        }
    }
    steps
}

/// The members serving and the members paid for under `model` when a group's desired
/// capacity follows `desired`, as the simulation has them: a member added serves after the
/// provisioning delay; a member removed (one still starting first, the newest, else a serving
/// one) stops serving at once and is paid for until the de-provisioning delay has passed. The
/// group starts converged.
pub fn supply_of(desired: &[Step], model: &CapacityModel) -> (Vec<Step>, Vec<Step>) {
    let (up, down) = (model.provisioning.as_secs_f64(), model.deprovisioning.as_secs_f64());
    let mut serving: Vec<(f64, i64)> = Vec::new();
    let mut running: Vec<(f64, i64)> = Vec::new();
    // Each member not told to leave, oldest first: when it serves from, and its entry in
    // `serving` (struck out if it leaves before serving).
    let mut members: Vec<(f64, usize)> = Vec::new();
    for step in desired {
        let (t, to) = (step.at, step.value.unwrap_or(0.0).max(0.0) as usize);
        while members.len() < to {
            let from = if t <= 0.0 { 0.0 } else { t + up };
            members.push((from, serving.len()));
            serving.push((from, 1));
            running.push((t, 1));
        }
        while members.len() > to {
            // The newest member still starting goes first; else the oldest serving one.
            match members.iter().rposition(|&(from, _)| from > t) {
                Some(index) => serving[members.remove(index).1].1 = 0,
                None => {
                    members.remove(0);
                    serving.push((t, -1));
                }
            }
            running.push((t + down, -1));
        }
    }
    serving.retain(|&(_, change)| change != 0);
    (curve(&mut serving), curve(&mut running))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scores::value_at;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_040 + minutes * 60).unwrap()
    }

    fn minute(m: i64, slot: u32, value: f64) -> Minute {
        Minute { at: at(m), slot, value }
    }

    #[test]
    fn the_slots_of_a_minute_add_up_and_a_minute_nobody_recorded_is_a_hole() {
        let minutes =
            [minute(0, 0, 10.0), minute(0, 1, 12.0), minute(1, 0, 30.0), minute(3, 0, 5.0), minute(3, 1, 5.0)];
        let recorded = Recorded::of(&minutes, &[], at(0), at(10)).unwrap();
        let trace = &recorded.trace;
        assert_eq!((trace.start, trace.interval, trace.end), (at(0), 60.0, 240.0));
        assert_eq!(value_at(&trace.rate, 30.0), Some(22.0), "requests a second of both slots");
        assert_eq!(value_at(&trace.rate, 90.0), Some(30.0));
        assert_eq!(value_at(&trace.rate, 150.0), None, "minute 2: nothing recorded");
        assert_eq!(value_at(&trace.rate, 200.0), Some(10.0));
        assert_eq!(recorded.desired, [Step::new(0.0, 2.0)], "no change: the slots of the first minute");
    }

    #[test]
    fn only_the_stretch_asked_for_is_replayed() {
        let minutes: Vec<Minute> = (0..10).map(|m| minute(m, 0, m as f64)).collect();
        let recorded = Recorded::of(&minutes, &[], at(3) + jiff::SignedDuration::from_secs(20), at(6)).unwrap();
        assert_eq!(recorded.trace.start, at(3), "from the minute `since` is in");
        assert_eq!(recorded.trace.end, 180.0, "minutes 3, 4 and 5");
        assert_eq!(value_at(&recorded.trace.rate, 0.0), Some(3.0));
        let nothing = Recorded::of(&minutes, &[], at(20), at(30)).unwrap_err();
        assert!(nothing.to_string().contains("no throughput was recorded"), "{nothing}");
    }

    #[test]
    fn the_history_gives_the_capacity_it_started_with_and_its_changes() {
        let minutes: Vec<Minute> = (0..10).map(|m| minute(m, 0, 1.0)).collect();
        let before = Change { at: at(-5), from: 1, to: 3 };
        let during = Change { at: at(4), from: 3, to: 5 };
        let after = Change { at: at(30), from: 5, to: 1 };
        let recorded = Recorded::of(&minutes, &[after, during, before], at(0), at(10)).unwrap();
        assert_eq!(recorded.desired, [Step::new(0.0, 3.0), Step::new(240.0, 5.0)]);
        let only_after = Recorded::of(&minutes, &[during], at(0), at(10)).unwrap();
        assert_eq!(only_after.desired[0], Step::new(0.0, 3.0), "what the first change changed from");
    }

    #[test]
    fn decisions_serve_after_provisioning_and_are_paid_for_until_deprovisioned() {
        let model = CapacityModel {
            provisioning: jiff::SignedDuration::from_secs(60),
            deprovisioning: jiff::SignedDuration::from_secs(30),
            ..CapacityModel::default()
        };
        // 2 members, 4 at 100 s, 1 at 130 s (the two still starting go first, then the oldest).
        let desired = [Step::new(0.0, 2.0), Step::new(100.0, 4.0), Step::new(130.0, 1.0)];
        let (serving, running) = supply_of(&desired, &model);
        assert_eq!(serving, [Step::new(0.0, 2.0), Step::new(130.0, 1.0)], "the new ones never served");
        assert_eq!(running, [Step::new(0.0, 2.0), Step::new(100.0, 4.0), Step::new(160.0, 1.0)]);
        let (serving, _) = supply_of(&[Step::new(0.0, 1.0), Step::new(10.0, 3.0)], &model);
        assert_eq!(serving, [Step::new(0.0, 1.0), Step::new(70.0, 3.0)]);
    }
}
