//! One evaluation of a group's metric policies: what each reads, what it proposes and why,
//! what stabilization, rate policies and bounds made of it, and which proposal wins — live
//! policies combined safety first, dry-run ones each on its own. Pure: the engine evaluates
//! with it, `explain` shows it, and a simulator can replay it.

use jiff::{SignedDuration, Timestamp};

use super::behavior::{self, Normalized, Recommendation, ScaleEvent};
use super::combine::{self, Combined, Vote};
use super::metric_policy::{MetricPolicy, Strategy};
use super::replicas::{self, Member, Readiness, Target};
use super::votes::{Ballot, Tally};
use super::why::Why;
use crate::capacity::Bounds;
use crate::ids::PolicyId;
use crate::metrics::series::Sample;

/// A live member of the group (not exited), as the policies see it.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberInput {
    /// Its slot: where its samples are kept (Cloud Foundry's `instance_index`).
    pub slot: u32,
    /// Its id (votes are cast by member).
    pub id: String,
    /// Whether it serves, starts, or is on its way out.
    pub readiness: Readiness,
    /// When it was started, when known.
    pub started_at: Option<Timestamp>,
}

/// What every policy of the group reads.
#[derive(Debug, Clone, Copy)]
pub struct GroupInput<'a> {
    /// Desired capacity now.
    pub current: u32,
    /// The bounds in force.
    pub bounds: Bounds,
    /// Its live members, in slot order.
    pub members: &'a [MemberInput],
    /// Recent changes of its desired capacity, oldest first.
    pub events: &'a [ScaleEvent],
    /// Votes cast: by which member, what, and when.
    pub votes: &'a [(String, Ballot, Timestamp)],
    /// How old a sample may be and still count.
    pub stale_after: SignedDuration,
    /// Whether this evaluation is a periodic one, on which an unreadable metric counts as one
    /// more failed read (a sample's arrival is not a read of the others).
    pub periodic: bool,
    /// Now.
    pub now: Timestamp,
}

/// What one policy remembers between evaluations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Memory {
    /// Its raw proposals, for stabilization (a run of equal proposals kept as its newest).
    pub recommendations: Vec<Recommendation>,
    /// Consecutive periodic evaluations on which its metric could not be read.
    pub failures: u32,
}

impl Memory {
    /// Remembers the raw proposal of an evaluation, forgetting those older than `keep` (the
    /// longest stabilization window); a proposal equal to the newest one replaces it.
    pub fn remember(&mut self, recommendation: Recommendation, keep: SignedDuration) {
        match self.recommendations.last_mut() {
            Some(last) if last.replicas == recommendation.replicas => last.at = recommendation.at,
            _ => self.recommendations.push(recommendation),
        }
        let cutoff = recommendation.at - keep;
        self.recommendations.retain(|r| r.at > cutoff);
    }
}

/// One policy to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    /// Its id.
    pub id: &'a PolicyId,
    /// Its name.
    pub name: &'a str,
    /// The policy.
    pub policy: &'a MetricPolicy,
    /// The samples of its metric with their slots, in slot order and, within a slot, oldest
    /// first ([`GroupMetrics::recent`](crate::metrics::group::GroupMetrics::recent)): at least
    /// those of its strategy's `window`.
    pub samples: &'a [(u32, Sample)],
    /// The samples of its metric for the whole group (a collector's), oldest first, in its
    /// window ([`GroupMetrics::group_samples`](crate::metrics::group::GroupMetrics::group_samples));
    /// empty for a metric sampled per member.
    pub group: &'a [Sample],
    /// What it remembers.
    pub memory: &'a Memory,
}

/// A member's value as a policy read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemberValue {
    /// Its slot.
    pub slot: u32,
    /// Its newest fresh sample, if any.
    pub value: Option<f64>,
    /// Whether it counted.
    pub counted: bool,
}

/// What a policy read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    /// Its members' values.
    pub members: Vec<MemberValue>,
    /// The value it compared: the utilization, mean or total of target tracking, the newest
    /// mean of step and threshold.
    pub value: Option<f64>,
    /// How old the newest sample it read is.
    pub newest_age: Option<SignedDuration>,
    /// The votes counted, for `votes`.
    pub tally: Option<Tally>,
}

/// One policy's evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    /// The policy.
    pub policy: PolicyId,
    /// Its name.
    pub name: String,
    /// Its decisions are recorded, never applied.
    pub dry_run: bool,
    /// What it read.
    pub inputs: Inputs,
    /// The count it proposed before stabilization, rate policies and bounds.
    pub proposal: Option<u32>,
    /// Why (in words when shown).
    pub why: Why,
    /// What stabilization and rate policies made of it (target tracking).
    pub normalized: Option<Normalized>,
    /// What it says in the combination: a count within the bounds, or that it failed.
    pub vote: Vote,
    /// Consecutive failed reads, this one included.
    pub failures: u32,
    /// The raw proposal to remember for stabilization.
    pub remember: Option<Recommendation>,
}

impl Explained {
    /// The count it asks for, if any.
    pub fn count(&self) -> Option<u32> {
        match self.vote {
            Vote::Propose(count) => Some(count),
            Vote::Failed | Vote::Abstain => None,
        }
    }
}

/// The evaluation of every metric policy of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Desired capacity when evaluated.
    pub current: u32,
    /// Each policy's, in the order given.
    pub policies: Vec<Explained>,
    /// The live policies combined.
    pub combined: Combined,
    /// The live policy whose proposal won, when the combination changes the count.
    pub winner: Option<usize>,
}

/// Evaluates `policies` on `group`.
pub fn evaluate(group: &GroupInput<'_>, policies: &[PolicyInput<'_>]) -> Evaluation {
    let explained: Vec<Explained> = policies.iter().map(|p| explain(group, p)).collect();
    let live: Vec<Vote> = explained.iter().filter(|e| !e.dry_run).map(|e| e.vote).collect();
    let combined = combine::combine(group.current, &live);
    let winner = match combined {
        Combined::Scale(to) if to != group.current => {
            explained.iter().position(|e| !e.dry_run && e.vote == Vote::Propose(to))
        }
        _ => None,
    };
    Evaluation { current: group.current, policies: explained, combined, winner }
}

/// What one policy reads and proposes.
fn explain(group: &GroupInput<'_>, input: &PolicyInput<'_>) -> Explained {
    let policy = input.policy;
    let (inputs, proposed) = match &policy.strategy {
        Strategy::TargetTracking(tracking) => {
            let counts = |m: &MemberInput| {
                m.readiness == Readiness::Ready || (!tracking.exclude_unready && m.readiness == Readiness::Unready)
            };
            let (inputs, members) = member_values(group, input.samples, counts);
            let members: Vec<Member> = members
                .into_iter()
                .map(|(readiness, value)| Member {
                    readiness,
                    value,
                    capacity: if matches!(tracking.target, Target::Utilization(_)) { 100.0 } else { 1.0 },
                })
                .collect();
            // A group-wide value is the total: against a target per member (the HPA's External
            // AverageValue) or for the whole group (External Value).
            let wide = input.group.last().filter(|s| s.at + group.stale_after >= group.now).map(|s| s.value);
            let (total, target) = match (wide, tracking.target) {
                (Some(total), Target::AverageValue(t)) => (Some(total), Target::TotalPerMember(t)),
                (Some(total), target) => (Some(total), target),
                (None, target) => (members.iter().filter_map(|m| m.value).reduce(|a, b| a + b), target),
            };
            match replicas::propose(
                group.current,
                &members,
                total,
                target,
                tracking.tolerance,
                tracking.exclude_unready,
            ) {
                Ok(proposal) => {
                    let inputs = Inputs { value: Some(proposal.value), ..inputs };
                    (inputs, Some((Some(proposal.replicas), Why::Tracking(proposal.reason))))
                }
                Err(_) => (inputs, None),
            }
        }
        Strategy::Step { policy: step, warmup, .. } => {
            let warm = |m: &MemberInput| {
                m.readiness == Readiness::Ready && m.started_at.is_none_or(|at| at + *warmup <= group.now)
            };
            let warming = group.members.iter().filter(|m| m.readiness != Readiness::Gone && !warm(m)).count() as u32;
            let since = policy.strategy.window(group.now, group.stale_after).since;
            let points = match input.group {
                [] => mean_series(group, input.samples, &warm, since, usize::MAX),
                wide => wide.iter().map(|s| (s.at, s.value)).collect(),
            };
            let inputs = series_inputs(group, input.samples, &warm, &points);
            let proposed = fresh(group, &points).map(|_| {
                let to = step.propose(&points, group.current, warming, group.now);
                (to, Why::Step { warming, to })
            });
            (inputs, proposed)
        }
        Strategy::Threshold { policy: threshold, .. } => {
            let ready = |m: &MemberInput| m.readiness == Readiness::Ready;
            let since = policy.strategy.window(group.now, group.stale_after).since;
            let most = threshold.history_length.max(1) as usize;
            let points = match input.group {
                [] => mean_series(group, input.samples, &ready, since, most),
                wide => wide[wide.len().saturating_sub(most)..].iter().map(|s| (s.at, s.value)).collect(),
            };
            let inputs = series_inputs(group, input.samples, &ready, &points);
            let last_scaled = group.events.last().map(|e| e.at);
            let proposed = fresh(group, &points).map(|_| {
                let to = threshold.propose(&points, group.current, last_scaled, group.now);
                (to, Why::Threshold { min: threshold.min, max: threshold.max, left: to.is_some() })
            });
            (inputs, proposed)
        }
        Strategy::Votes(votes) => {
            let live: Vec<&MemberInput> = group.members.iter().filter(|m| m.readiness != Readiness::Gone).collect();
            let cast: Vec<(Ballot, Timestamp)> = group
                .votes
                .iter()
                .filter(|(member, _, _)| live.iter().any(|m| &m.id == member))
                .map(|(_, ballot, at)| (*ballot, *at))
                .collect();
            let tally = votes.tally(live.len(), &cast, group.now);
            let last_resized = group.events.last().map(|e| e.at);
            let to = votes.propose(group.current, tally, last_resized, group.now);
            (
                Inputs { tally: Some(tally), ..Inputs::default() },
                Some((to, Why::Votes { tally, decided: to.is_some() })),
            )
        }
    };
    let mut explained = Explained {
        policy: input.id.clone(),
        name: input.name.to_string(),
        dry_run: policy.dry_run,
        inputs,
        proposal: None,
        why: Why::NoSamples { fallback: false },
        normalized: None,
        vote: Vote::Failed,
        failures: 0,
        remember: None,
    };
    match proposed {
        Some((None, why)) => {
            explained.why = why;
            explained.vote = Vote::Abstain;
        }
        Some((Some(raw), why)) => {
            explained.proposal = Some(raw);
            explained.why = why;
            explained.vote = Vote::Propose(match &policy.strategy {
                Strategy::TargetTracking(tracking) => {
                    let past = &input.memory.recommendations;
                    let normalized = behavior::normalize(
                        group.current,
                        raw,
                        past,
                        group.events,
                        &tracking.behavior,
                        group.bounds,
                        group.now,
                    );
                    explained.normalized = Some(normalized);
                    explained.remember = Some(Recommendation { at: group.now, replicas: raw });
                    normalized.replicas
                }
                _ => group.bounds.clamp(i128::from(raw)),
            });
        }
        None => {
            explained.failures = input.memory.failures + u32::from(group.periodic);
            if let Some(fallback) = policy.fallback {
                explained.vote = match fallback.vote(group.current, explained.failures) {
                    Vote::Propose(count) => {
                        explained.why = Why::NoSamples { fallback: true };
                        Vote::Propose(group.bounds.clamp(i128::from(count)))
                    }
                    other => other,
                };
            }
        }
    }
    explained
}

/// Each live member's newest fresh sample and readiness, for target tracking.
fn member_values(
    group: &GroupInput<'_>,
    samples: &[(u32, Sample)],
    counts: impl Fn(&MemberInput) -> bool,
) -> (Inputs, Vec<(Readiness, Option<f64>)>) {
    let newest = Newest::of(group, samples);
    let mut inputs = Inputs { newest_age: newest.age(group), ..Inputs::default() };
    let mut members = Vec::with_capacity(group.members.len());
    for (member, value) in group.members.iter().zip(newest.fresh(group)) {
        let counted = counts(member) && member.readiness != Readiness::Gone && value.is_some();
        inputs.members.push(MemberValue { slot: member.slot, value, counted });
        members.push((member.readiness, value));
    }
    (inputs, members)
}

/// The inputs of a policy reading the mean of its counted members.
fn series_inputs(
    group: &GroupInput<'_>,
    samples: &[(u32, Sample)],
    counts: &impl Fn(&MemberInput) -> bool,
    points: &[(Timestamp, f64)],
) -> Inputs {
    let newest = Newest::of(group, samples);
    let members = group
        .members
        .iter()
        .zip(newest.fresh(group))
        .map(|(member, value)| MemberValue { slot: member.slot, value, counted: counts(member) && value.is_some() })
        .collect();
    Inputs { members, value: points.last().map(|p| p.1), newest_age: newest.age(group), tally: None }
}

/// Each live member's newest sample, in the members' order, found in one walk of both (they
/// are in slot order).
struct Newest(Vec<Option<Sample>>);

impl Newest {
    fn of(group: &GroupInput<'_>, samples: &[(u32, Sample)]) -> Newest {
        let mut next = samples.iter().peekable();
        let newest = group
            .members
            .iter()
            .map(|member| {
                while next.next_if(|(slot, _)| *slot < member.slot).is_some() {}
                let mut newest = None;
                while let Some((_, sample)) = next.next_if(|(slot, _)| *slot == member.slot) {
                    newest = Some(*sample);
                }
                newest
            })
            .collect();
        Newest(newest)
    }

    /// Each member's newest sample if it is fresh.
    fn fresh<'a>(&'a self, group: &'a GroupInput<'_>) -> impl Iterator<Item = Option<f64>> + 'a {
        let fresh = move |s: &Sample| s.at + group.stale_after >= group.now;
        self.0.iter().map(move |newest| newest.filter(fresh).map(|s| s.value))
    }

    /// How old the newest sample of any live member is.
    fn age(&self, group: &GroupInput<'_>) -> Option<SignedDuration> {
        self.0.iter().flatten().map(|s| s.at).max().map(|at| group.now.duration_since(at))
    }
}

/// Whether the newest point is fresh.
fn fresh(group: &GroupInput<'_>, points: &[(Timestamp, f64)]) -> Option<f64> {
    points.last().filter(|(at, _)| *at + group.stale_after >= group.now).map(|(_, value)| *value)
}

/// The mean of the counted members at each instant one of them sampled, from the newest
/// instant at or before `since` (the last `most` instants at most), oldest first: each
/// member's newest sample at that instant, if it is fresh then.
pub fn mean_series(
    group: &GroupInput<'_>,
    samples: &[(u32, Sample)],
    counts: &impl Fn(&MemberInput) -> bool,
    since: Timestamp,
    most: usize,
) -> Vec<(Timestamp, f64)> {
    // Runs and members are both in slot order: one walk along both.
    let mut members = group.members.iter().peekable();
    let counted: Vec<&[(u32, Sample)]> = samples
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| {
            while members.next_if(|m| m.slot < run[0].0).is_some() {}
            members.peek().is_some_and(|m| m.slot == run[0].0 && counts(m))
        })
        .collect();
    // The instants: each slot's times merged in (sorted runs, so a merge, not a sort; members
    // reporting together make it a walk along one of them).
    let mut instants: Vec<Timestamp> = Vec::new();
    for run in &counted {
        let times = run.iter().map(|(_, s)| s.at);
        if !within(&instants, times.clone()) {
            instants = merge(&instants, times);
        }
    }
    let first = instants.partition_point(|at| *at <= since).saturating_sub(1);
    let instants = &instants[first.max(instants.len().saturating_sub(most))..];
    // Each slot's newest sample at each instant, found by walking forward with the instants.
    let mut next = vec![0usize; counted.len()];
    let mut means = Vec::with_capacity(instants.len());
    for instant in instants {
        let (mut sum, mut count) = (0.0, 0usize);
        let fresh_from = *instant - group.stale_after;
        for (run, next) in counted.iter().zip(next.iter_mut()) {
            while *next < run.len() && run[*next].1.at <= *instant {
                *next += 1;
            }
            if let Some((_, sample)) = next.checked_sub(1).map(|i| run[i]).filter(|(_, s)| s.at >= fresh_from) {
                sum += sample.value;
                count += 1;
            }
        }
        if count > 0 {
            means.push((*instant, sum / count as f64));
        }
    }
    means
}

/// Whether every one of `times` (ascending) is in `sorted` already.
fn within(sorted: &[Timestamp], times: impl Iterator<Item = Timestamp>) -> bool {
    let mut rest = sorted;
    for at in times {
        let Some(found) = rest.iter().position(|s| *s >= at) else { return false };
        if rest[found] != at {
            return false;
        }
        rest = &rest[found + 1..];
    }
    true
}

/// `sorted` and `times` (ascending) merged, without duplicates.
fn merge(sorted: &[Timestamp], times: impl Iterator<Item = Timestamp>) -> Vec<Timestamp> {
    let mut merged = Vec::with_capacity(sorted.len());
    let mut left = sorted.iter().copied().peekable();
    let mut right = times.peekable();
    loop {
        let next = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) if l < r => left.next(),
            (Some(l), Some(r)) if l > r => right.next(),
            (Some(_), Some(_)) => {
                right.next();
                left.next()
            }
            (Some(_), None) => left.next(),
            (None, Some(_)) => right.next(),
            (None, None) => break,
        };
        if let Some(at) = next
            && merged.last() != Some(&at)
        {
            merged.push(at);
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::json::Obj;
    use crate::strategy::at::{ago, now};

    fn policy(value: serde_json::Value) -> MetricPolicy {
        let kind = value["type"].as_str().unwrap().to_string();
        MetricPolicy::parse(&kind, &Obj::new(&value, "").unwrap()).unwrap().unwrap()
    }

    fn tracking(target: f64) -> MetricPolicy {
        policy(json!({"type": "target_tracking", "args": {"metric": "m",
            "target": {"type": "AverageValue", "averageValue": target},
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}}))
    }

    fn members(n: u32) -> Vec<MemberInput> {
        (0..n)
            .map(|slot| MemberInput {
                slot,
                id: format!("m{slot}"),
                readiness: Readiness::Ready,
                started_at: Some(ago(3600)),
            })
            .collect()
    }

    fn group<'a>(current: u32, members: &'a [MemberInput], periodic: bool) -> GroupInput<'a> {
        GroupInput {
            current,
            bounds: Bounds { min: 1, max: 10 },
            members,
            events: &[],
            votes: &[],
            stale_after: SignedDuration::from_secs(120),
            periodic,
            now: now(),
        }
    }

    fn samples(values: &[(u32, i64, f64)]) -> Vec<(u32, Sample)> {
        let mut flat: Vec<(u32, Sample)> =
            values.iter().map(|(slot, secs, value)| (*slot, Sample { at: ago(*secs), value: *value })).collect();
        flat.sort_by_key(|(slot, sample)| (*slot, sample.at));
        flat
    }

    fn input<'a>(
        id: &'a PolicyId,
        policy: &'a MetricPolicy,
        samples: &'a [(u32, Sample)],
        memory: &'a Memory,
    ) -> PolicyInput<'a> {
        PolicyInput { id, name: id.as_str(), policy, samples, group: &[], memory }
    }

    #[test]
    fn the_highest_live_proposal_wins_and_a_dry_run_takes_no_part() {
        let (a, b, c) = (PolicyId::new("a"), PolicyId::new("b"), PolicyId::new("c"));
        let (low, high) = (tracking(10.0), tracking(5.0));
        let mut dry = tracking(1.0);
        dry.dry_run = true;
        let data = samples(&[(0, 10, 20.0), (1, 10, 20.0)]);
        let memory = Memory::default();
        let members = members(2);
        let evaluation = evaluate(
            &group(2, &members, false),
            &[input(&a, &low, &data, &memory), input(&b, &high, &data, &memory), input(&c, &dry, &data, &memory)],
        );
        let counts: Vec<Option<u32>> = evaluation.policies.iter().map(Explained::count).collect();
        // 8 and 40 asked for; HPA's default rate policies allow 6 from 2 (4 members or 100 %).
        assert_eq!(counts, vec![Some(4), Some(6), Some(6)]);
        assert_eq!(evaluation.policies[1].proposal, Some(8));
        assert_eq!((evaluation.combined, evaluation.winner), (Combined::Scale(6), Some(1)));
        assert_eq!(evaluation.policies[1].inputs.value, Some(20.0));
    }

    #[test]
    fn missing_samples_are_failures_that_block_scale_in_and_count_only_when_periodic() {
        let (a, b) = (PolicyId::new("a"), PolicyId::new("b"));
        let (down, silent) = (tracking(10.0), tracking(10.0));
        let (data, stale) = (samples(&[(0, 10, 1.0), (1, 10, 1.0)]), samples(&[(0, 121, 50.0)]));
        let memory = Memory { failures: 2, ..Memory::default() };
        let members = members(2);
        let inputs = [input(&a, &down, &data, &memory), input(&b, &silent, &stale, &memory)];
        let evaluation = evaluate(&group(2, &members, false), &inputs);
        assert_eq!(evaluation.policies[1].vote, Vote::Failed, "a stale sample is no sample");
        assert_eq!(evaluation.policies[1].failures, 2, "an arrival is not a read");
        assert_eq!((evaluation.combined, evaluation.winner), (Combined::ScaleDownBlocked, None));
        assert_eq!(evaluate(&group(2, &members, true), &inputs).policies[1].failures, 3);
    }

    #[test]
    fn a_fallback_proposes_once_its_failures_are_reached() {
        let id = PolicyId::new("a");
        let mut fallback = tracking(10.0);
        fallback.fallback = Some(crate::strategy::combine::Fallback {
            after: 3,
            action: crate::strategy::combine::FallbackAction::Fixed(6),
        });
        let members = members(2);
        let memory = Memory { failures: 2, ..Memory::default() };
        let evaluation = evaluate(&group(2, &members, true), &[input(&id, &fallback, &[], &memory)]);
        assert_eq!((evaluation.policies[0].vote, evaluation.combined), (Vote::Propose(6), Combined::Scale(6)));
        assert!(evaluation.policies[0].why.to_string().contains("fallback"));
    }

    #[test]
    fn a_step_alarm_reads_each_members_value_when_its_period_began() {
        use crate::metrics::group::{GroupMetrics, Limits};
        let step = policy(json!({"type": "step", "args": {"metric": "m", "threshold": 50, "comparison": ">=",
            "evaluationSeconds": 60, "steps": [{"lower": 0, "change": 1}]}}));
        let mut metrics = GroupMetrics::new(Limits::default());
        // Member 0 breaches from 70 s ago, member 1 from 65 s: both values at the period's start
        // are read, though older than it; a sample from before the stale window is not.
        for (slot, secs, value) in [(0, 200, 0.0), (0, 70, 80.0), (1, 65, 90.0), (0, 5, 80.0), (1, 5, 90.0)] {
            metrics.record("m", slot, Sample { at: ago(secs), value }).unwrap();
        }
        let window = step.strategy.window(now(), SignedDuration::from_secs(120));
        let read = metrics.recent("m", window);
        let times: Vec<(u32, Timestamp)> = read.iter().map(|(slot, s)| (*slot, s.at)).collect();
        assert_eq!(times, [(0, ago(70)), (0, ago(5)), (1, ago(65)), (1, ago(5))]);
        let members = members(2);
        let points = mean_series(&group(2, &members, false), &read, &|_: &MemberInput| true, window.since, usize::MAX);
        assert_eq!(points, [(ago(65), 85.0), (ago(5), 85.0)], "from the newest instant at or before the period");
        let (id, memory) = (PolicyId::new("s"), Memory::default());
        let evaluation = evaluate(&group(2, &members, false), &[input(&id, &step, &read, &memory)]);
        assert_eq!(evaluation.policies[0].count(), Some(3), "breaching for 65 s: the alarm holds");
    }

    #[test]
    fn step_leaves_warming_members_out_and_counts_them_as_added() {
        let id = PolicyId::new("s");
        let step = policy(
            json!({"type": "step", "args": {"metric": "m", "threshold": 50, "comparison": ">=", "evaluationSeconds": 60,
            "warmupSeconds": 300, "steps": [{"lower": 0, "change": 2}]}}),
        );
        let mut members = members(3);
        members[2].started_at = Some(ago(100));
        // The warming member reports 0: left out, the others breach for the whole minute.
        let data = samples(&[(0, 70, 80.0), (1, 70, 80.0), (2, 70, 0.0), (0, 5, 90.0), (1, 5, 90.0), (2, 5, 0.0)]);
        let memory = Memory::default();
        let evaluation = evaluate(&group(3, &members, false), &[input(&id, &step, &data, &memory)]);
        let explained = &evaluation.policies[0];
        assert_eq!(explained.inputs.value, Some(90.0));
        assert_eq!(explained.count(), Some(4), "2 counted members + 2, never below the 3 being had: {explained:?}");
    }

    #[test]
    fn a_group_wide_value_is_a_total_against_a_target_per_member_or_for_the_group() {
        let (a, b, c) = (PolicyId::new("a"), PolicyId::new("b"), PolicyId::new("c"));
        let per_member = tracking(100.0);
        let whole = policy(json!({"type": "target_tracking", "args": {"metric": "m",
            "target": {"type": "Value", "value": 250}}}));
        let step = policy(json!({"type": "step", "args": {"metric": "m", "threshold": 400, "comparison": ">=",
            "steps": [{"lower": 0, "change": 1}]}}));
        // A queue of 500 jobs, read 10 s ago, for 3 members.
        let queue = [Sample { at: ago(70), value: 450.0 }, Sample { at: ago(10), value: 500.0 }];
        let members = members(3);
        let memory = Memory::default();
        let wide = |id, policy| PolicyInput { group: &queue, ..input(id, policy, &[], &memory) };
        let evaluation =
            evaluate(&group(3, &members, false), &[wide(&a, &per_member), wide(&b, &whole), wide(&c, &step)]);
        let raw: Vec<Option<u32>> = evaluation.policies.iter().map(|p| p.proposal).collect();
        // 500 / 100 a member: 5; 500 against 250 for the group: twice the 3 ready members; 500
        // over 400 for the whole minute: one more.
        assert_eq!(raw, [Some(5), Some(6), Some(4)]);
        assert_eq!(evaluation.policies[0].inputs.value, Some(500.0));
        // A stale value is no value: the read failed.
        let stale = [Sample { at: ago(200), value: 500.0 }];
        let old = PolicyInput { group: &stale, ..input(&a, &per_member, &[], &memory) };
        assert_eq!(evaluate(&group(3, &members, true), &[old]).policies[0].vote, Vote::Failed);
    }

    #[test]
    fn votes_count_only_live_members() {
        let id = PolicyId::new("v");
        let votes = policy(json!({"type": "votes"}));
        let mut members = members(3);
        members[2].readiness = Readiness::Gone;
        let cast = [
            ("m0".to_string(), Ballot::Shrink, ago(5)),
            ("m1".to_string(), Ballot::Shrink, ago(5)),
            ("gone".to_string(), Ballot::Grow, ago(5)),
        ];
        let mut input_group = group(3, &members, false);
        input_group.votes = &cast;
        let evaluation = evaluate(&input_group, &[input(&id, &votes, &[], &Memory::default())]);
        let tally = evaluation.policies[0].inputs.tally.unwrap();
        assert_eq!((tally.live, tally.grow, tally.shrink), (2, 0, 2));
        assert_eq!(evaluation.combined, Combined::Scale(2));
    }

    #[test]
    fn the_mean_series_takes_each_members_newest_fresh_sample_at_each_instant() {
        let members = members(2);
        let g = group(2, &members, false);
        let data = samples(&[(0, 30, 10.0), (1, 20, 30.0), (0, 10, 20.0)]);
        let series = mean_series(&g, &data, &|_: &MemberInput| true, ago(60), usize::MAX);
        assert_eq!(series, vec![(ago(30), 10.0), (ago(20), 20.0), (ago(10), 25.0)]);
        assert_eq!(mean_series(&g, &data, &|_: &MemberInput| true, ago(60), 1), vec![(ago(10), 25.0)]);
    }

    proptest::proptest! {
        #[test]
        fn a_metric_that_cannot_be_read_never_lowers_capacity(
            current in 1u32..10,
            values in proptest::collection::vec(0.0f64..100.0, 1..10),
            periodic in proptest::bool::ANY,
        ) {
            let (a, b) = (PolicyId::new("a"), PolicyId::new("b"));
            let (reading, silent) = (tracking(10.0), tracking(10.0));
            let members = members(current);
            let data: Vec<(u32, Sample)> = values
                .iter()
                .enumerate()
                .take(current as usize)
                .map(|(slot, v)| (slot as u32, Sample { at: ago(1), value: *v }))
                .collect();
            let memory = Memory::default();
            let inputs = [input(&a, &reading, &data, &memory), input(&b, &silent, &[], &memory)];
            let evaluation = evaluate(&group(current, &members, periodic), &inputs);
            if let Combined::Scale(to) = evaluation.combined {
                proptest::prop_assert!(to >= current, "{to} < {current}");
            }
            proptest::prop_assert!(evaluation.winner.is_none_or(|w| evaluation.policies[w].count() > Some(current)));
        }
    }

    #[test]
    fn a_run_of_equal_proposals_is_remembered_as_its_newest() {
        let mut memory = Memory::default();
        let keep = SignedDuration::from_secs(300);
        memory.remember(Recommendation { at: ago(400), replicas: 2 }, keep);
        memory.remember(Recommendation { at: ago(30), replicas: 5 }, keep);
        memory.remember(Recommendation { at: ago(20), replicas: 5 }, keep);
        memory.remember(Recommendation { at: now(), replicas: 3 }, keep);
        assert_eq!(
            memory.recommendations,
            vec![Recommendation { at: ago(20), replicas: 5 }, Recommendation { at: now(), replicas: 3 }]
        );
    }
}
