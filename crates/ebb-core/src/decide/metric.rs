//! Decisions of metric policies (target tracking, step, threshold, votes): the engine
//! evaluates them (`strategy::evaluate`) on its copy of the group and brings the outcome here,
//! where it is checked against the group as stored — pause, cooldowns, bounds — and recorded.

use super::{Decision, Outcome, Snapshot, effective_bounds, entry, execution_input, scaled};
use crate::capacity::{self, Refusal};
use crate::ids::PolicyId;
use crate::policy::Adjustment;
use crate::records::Source;
use jiff::Timestamp;

/// A count a metric policy asks for, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposed {
    /// The policy.
    pub policy: PolicyId,
    /// Its name.
    pub name: String,
    /// The count.
    pub to: u32,
    /// Why, in words.
    pub because: String,
}

/// What an evaluation of a group's metric policies asks to commit.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Desired capacity the evaluation saw.
    pub from: u32,
    /// The winning live proposal, when it changes the count.
    pub live: Option<Proposed>,
    /// Dry-run proposals to record ("would scale").
    pub dry_runs: Vec<Proposed>,
}

/// Commits a verdict on the group as stored (the snapshot's policy is the winner's, when there
/// is one). A verdict taken on another desired capacity than the stored one is dropped: the
/// engine evaluates again on the group as it is. Dry-run proposals are recorded and change
/// nothing; the live one goes through the pause and the cooldowns (the group's of its
/// direction and the policy's) and is clamped to the bounds in force.
pub fn scale_on_metric_policies(snapshot: &Snapshot, verdict: &Verdict, now: Timestamp) -> Decision {
    let group = &snapshot.group;
    let from = group.state.desired;
    let mut decision = Decision::nothing(Outcome::Capacity { from, to: from });
    if verdict.from != from {
        return decision;
    }
    let bounds = effective_bounds(group, now);
    for dry in &verdict.dry_runs {
        let reason = format!("dry run: policy {:?} would scale from {from} to {}: {}", dry.name, dry.to, dry.because);
        let mut recorded = entry(group, now, Source::Metric, from, bounds, reason);
        recorded.policy_id = Some(dry.policy.clone());
        decision.history.push(recorded);
    }
    let (Some(live), Some(record)) = (&verdict.live, &snapshot.policy) else { return decision };
    let record_entry = |to: u32, reason: String| {
        let mut recorded = entry(group, now, Source::Metric, to, bounds, reason);
        recorded.policy_id = Some(live.policy.clone());
        recorded
    };
    let adjustment = Adjustment::DesiredCapacity(i64::from(live.to));
    let executed = capacity::execute(&execution_input(group, record, bounds, adjustment, now));
    let name = &live.name;
    match executed {
        Ok(to) => match group.state.pause_refuses(from, to) {
            Some(why) => decision.history.push(record_entry(from, format!("policy {name:?} not applied: {why}"))),
            None => {
                let reason = format!("policy {name:?}: {}: desired capacity {from} to {to}", live.because);
                decision.history.push(record_entry(to, reason));
                decision.group = Some(scaled(group, to, now));
                decision.policy_touched = Some((live.policy.clone(), now));
                decision.outcome = Outcome::Capacity { from, to };
            }
        },
        Err(Refusal::Cooldown) => {
            decision.history.push(record_entry(from, format!("policy {name:?} not applied: cooldowns not met")));
        }
        Err(Refusal::NoChange | Refusal::NotExecutable) => {}
    }
    decision
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::decide::tests::{group, policy, snapshot};
    use crate::records::Direction;

    fn now() -> Timestamp {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    fn tracking(cooldown: f64, touched: Option<Timestamp>) -> crate::records::PolicyRecord {
        policy(
            json!({"name": "cpu", "type": "target_tracking", "cooldown": cooldown,
                "args": {"metric": "cpuutil", "target": {"type": "Utilization", "averageUtilization": 60}}}),
            touched,
        )
    }

    fn proposed(to: u32) -> Proposed {
        Proposed { policy: "p1".into(), name: "cpu".into(), to, because: "utilization 90".into() }
    }

    #[test]
    fn the_winner_scales_within_bounds_and_starts_its_cooldown() {
        let verdict = Verdict { from: 2, live: Some(proposed(12)), dry_runs: vec![] };
        let decision = scale_on_metric_policies(&snapshot(group(1, 10, 2, 0), tracking(0.0, None)), &verdict, now());
        assert_eq!(decision.outcome, Outcome::Capacity { from: 2, to: 10 });
        assert_eq!(decision.group.unwrap().state.touched_at, Some(now()));
        assert_eq!(decision.policy_touched, Some(("p1".into(), now())));
        assert_eq!(decision.history[0].reason, "policy \"cpu\": utilization 90: desired capacity 2 to 10");
        assert_eq!(decision.history[0].source, Source::Metric);
    }

    #[test]
    fn cooldowns_pauses_and_a_stale_verdict_change_nothing() {
        let live = Verdict { from: 2, live: Some(proposed(4)), dry_runs: vec![] };
        let cooling = tracking(60.0, Some(now() - jiff::SignedDuration::from_secs(30)));
        let refused = scale_on_metric_policies(&snapshot(group(1, 10, 2, 0), cooling), &live, now());
        assert!(refused.group.is_none());
        assert_eq!(refused.history[0].reason, "policy \"cpu\" not applied: cooldowns not met");
        let mut paused = group(1, 10, 2, 0);
        paused.state.paused_direction = Some(Direction::Out);
        let held = scale_on_metric_policies(&snapshot(paused, tracking(0.0, None)), &live, now());
        assert!(held.group.is_none() && held.history[0].reason.ends_with("scale-out is paused"));
        let stale = scale_on_metric_policies(&snapshot(group(1, 10, 3, 0), tracking(0.0, None)), &live, now());
        assert!(stale.group.is_none() && stale.history.is_empty(), "taken on 2, the group is at 3");
    }

    #[test]
    fn dry_runs_are_recorded_and_change_nothing() {
        let verdict = Verdict { from: 2, live: None, dry_runs: vec![proposed(5)] };
        let decision = scale_on_metric_policies(&snapshot(group(1, 10, 2, 0), tracking(0.0, None)), &verdict, now());
        assert!(decision.group.is_none());
        let entry = &decision.history[0];
        assert_eq!((entry.from, entry.to, entry.policy_id.as_ref().map(|p| p.as_str())), (2, 2, Some("p1")));
        assert_eq!(entry.reason, "dry run: policy \"cpu\" would scale from 2 to 5: utilization 90");
    }
}
