//! A group's metric policies with what they remember between evaluations, and the steps
//! around one evaluation: reading the inputs from the group's samples, remembering what the
//! policies proposed, and turning the outcome into a [`Verdict`] to commit. The engine keeps
//! one per group in its metric store; a simulator keeps one per simulated group: both take
//! the same decisions from the same inputs.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::behavior::ScaleEvent;
use super::evaluate::{self, Evaluation, Explained, GroupInput, MemberInput, Memory, PolicyInput};
use super::metric_policy::{MetricPolicy, Strategy};
use super::replicas::Readiness;
use super::target_tracking::MAX_PERIOD_SECS;
use super::votes::Ballot;
use crate::capacity::{self, Bounds, ExecutionInput, GroupCooldown, Refusal};
use crate::decide::{Proposed, Verdict};
use crate::ids::PolicyId;
use crate::metrics::group::{GroupMetrics, Window};
use crate::metrics::series::Sample;
use crate::policy::Adjustment;
use crate::records::{GroupState, PolicyRecord};

/// How long scale events are kept: the longest period a rate policy may have.
const EVENTS_KEPT: SignedDuration = SignedDuration::from_secs(MAX_PERIOD_SECS);

/// A metric policy of a group, as it is evaluated.
#[derive(Debug, Clone)]
pub struct PolicyFact {
    /// Its id.
    pub id: PolicyId,
    /// Its name.
    pub name: String,
    /// The policy.
    pub policy: Arc<MetricPolicy>,
    /// Its cooldown, in seconds.
    pub cooldown: f64,
    /// When it last scaled the group.
    pub touched_at: Option<Timestamp>,
}

impl PolicyFact {
    /// The metric policy of `record`, if it is one.
    pub fn of(record: &PolicyRecord) -> Option<PolicyFact> {
        Some(PolicyFact {
            id: record.id.clone(),
            name: record.name().to_string(),
            policy: Arc::new(record.policy.metric()?.clone()),
            cooldown: record.policy.cooldown,
            touched_at: record.touched_at,
        })
    }
}

impl MemberInput {
    /// One ready member per slot `0..desired`, named by its slot: the members of a group whose
    /// members are not observed.
    pub fn slots(desired: u32) -> Vec<MemberInput> {
        (0..desired)
            .map(|slot| MemberInput { slot, id: slot.to_string(), readiness: Readiness::Ready, started_at: None })
            .collect()
    }
}

/// What one evaluation reads besides the policies.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The group's samples.
    pub metrics: &'a GroupMetrics,
    /// Its live members.
    pub members: &'a [MemberInput],
    /// Its desired capacity.
    pub current: u32,
    /// The bounds in force.
    pub bounds: Bounds,
    /// How old a sample may be and still count.
    pub stale_after: SignedDuration,
    /// A periodic evaluation (an unreadable metric counts a failed read).
    pub periodic: bool,
    /// Now.
    pub now: Timestamp,
}

/// What a policy reads: a metric and which of each member's samples.
type Read<'a> = (&'a str, Window);

/// What a read found: each member's samples, and the group's own.
type Found = (Vec<(u32, Sample)>, Vec<Sample>);

/// A group's metric policies and what they remember.
#[derive(Debug, Default, Clone)]
pub struct Strategies {
    /// The policies, in the store's order.
    pub policies: Vec<PolicyFact>,
    /// What each remembers.
    pub memory: HashMap<PolicyId, Memory>,
    /// Changes of desired capacity, oldest first, for rate policies and calm times.
    pub events: Vec<ScaleEvent>,
    /// The newest vote of each member.
    pub votes: HashMap<String, (Ballot, Timestamp)>,
    /// The change each dry-run policy was last recorded as proposing (from, to).
    pub recorded: HashMap<PolicyId, (u32, u32)>,
}

impl Strategies {
    /// Replaces the policies; what the remaining ones remember stays.
    pub fn set_policies(&mut self, policies: Vec<PolicyFact>) {
        let kept: Vec<&PolicyId> = policies.iter().map(|p| &p.id).collect();
        self.memory.retain(|id, _| kept.contains(&id));
        self.recorded.retain(|id, _| kept.contains(&id));
        self.policies = policies;
    }

    /// The metrics the policies read.
    pub fn metrics(&self) -> Vec<String> {
        self.policies.iter().filter_map(|p| p.policy.strategy.metric().map(str::to_string)).collect()
    }

    /// Whether a policy reads `metric`.
    pub fn reads(&self, metric: &str) -> bool {
        self.policies.iter().any(|p| p.policy.strategy.metric() == Some(metric))
    }

    /// Desired capacity went from `before` to `after` at `now`.
    pub fn scaled(&mut self, before: u32, after: u32, now: Timestamp) {
        if before != after {
            self.events.push(ScaleEvent { at: now, change: i64::from(after) - i64::from(before) });
        }
        self.events.retain(|e| e.at + EVENTS_KEPT > now);
    }

    /// Forgets the votes of members no longer among `live` ones.
    pub fn forget_votes_of_the_gone(&mut self, live: &[MemberInput]) {
        let voting = |id: &String| live.iter().any(|m| &m.id == id && m.readiness != Readiness::Gone);
        self.votes.retain(|member, _| voting(member));
    }

    /// Evaluates the policies in `context`, changing nothing.
    pub fn evaluate(&self, context: &Context<'_>) -> Evaluation {
        let votes: Vec<(String, Ballot, Timestamp)> =
            self.votes.iter().map(|(member, (ballot, at))| (member.clone(), *ballot, *at)).collect();
        let group = GroupInput {
            current: context.current,
            bounds: context.bounds,
            members: context.members,
            events: &self.events,
            votes: &votes,
            stale_after: context.stale_after,
            periodic: context.periodic,
            now: context.now,
        };
        // What each policy reads; policies reading the same (AWS's scale-out and scale-in step
        // policies on one metric) share one read.
        let mut reads: Vec<(Read<'_>, Found)> = Vec::new();
        let mut read_of = Vec::with_capacity(self.policies.len());
        for policy in &self.policies {
            let Some(metric) = policy.policy.strategy.metric() else {
                read_of.push(None);
                continue;
            };
            let key = (metric, policy.policy.strategy.window(context.now, context.stale_after));
            let index = reads.iter().position(|(k, _)| *k == key).unwrap_or_else(|| {
                let found = (context.metrics.recent(key.0, key.1), context.metrics.group_samples(key.0, key.1));
                reads.push((key, found));
                reads.len() - 1
            });
            read_of.push(Some(index));
        }
        let empty = Memory::default();
        let inputs: Vec<PolicyInput<'_>> = self
            .policies
            .iter()
            .zip(&read_of)
            .map(|(p, read)| PolicyInput {
                id: &p.id,
                name: &p.name,
                policy: &p.policy,
                samples: read.map_or(&[][..], |index| reads[index].1.0.as_slice()),
                group: read.map_or(&[][..], |index| reads[index].1.1.as_slice()),
                memory: self.memory.get(&p.id).unwrap_or(&empty),
            })
            .collect();
        evaluate::evaluate(&group, &inputs)
    }

    /// Remembers what an evaluation's policies proposed and how often their metrics failed.
    pub fn remember(&mut self, evaluation: &Evaluation) {
        for (explained, policy) in evaluation.policies.iter().zip(&self.policies) {
            if !self.memory.contains_key(&explained.policy) {
                self.memory.insert(explained.policy.clone(), Memory::default());
            }
            let Some(memory) = self.memory.get_mut(&explained.policy) else { continue };
            memory.failures = explained.failures;
            if let (Some(recommendation), Strategy::TargetTracking(tracking)) =
                (explained.remember, &policy.policy.strategy)
            {
                let keep = tracking.behavior.up.stabilization.max(tracking.behavior.down.stabilization);
                memory.remember(recommendation, keep);
            }
        }
    }

    /// What to commit of an evaluation: the winner unless `held` says what holds it back, and
    /// the dry-run proposals not recorded yet (marked recorded: a caller whose commit fails
    /// calls [`Strategies::unrecord`]). `None` when there is nothing to commit.
    pub fn verdict(
        &mut self,
        evaluation: &Evaluation,
        held: impl Fn(&PolicyFact, u32) -> Option<String>,
    ) -> Option<Verdict> {
        let live = evaluation.winner.map(|index| &evaluation.policies[index]).and_then(|winner| {
            let to = winner.count()?;
            let fact = self.policies.iter().find(|p| p.id == winner.policy)?;
            held(fact, to).is_none().then(|| proposed(winner, to))
        });
        let mut dry_runs = Vec::new();
        for explained in evaluation.policies.iter().filter(|e| e.dry_run) {
            match explained.count() {
                Some(to) if to != evaluation.current => {
                    let change = (evaluation.current, to);
                    if self.recorded.get(&explained.policy) != Some(&change) {
                        self.recorded.insert(explained.policy.clone(), change);
                        dry_runs.push(proposed(explained, to));
                    }
                }
                _ => {
                    self.recorded.remove(&explained.policy);
                }
            }
        }
        (live.is_some() || !dry_runs.is_empty()).then_some(Verdict { from: evaluation.current, live, dry_runs })
    }

    /// A verdict's dry runs were not recorded after all.
    pub fn unrecord(&mut self, verdict: &Verdict) {
        for dry in &verdict.dry_runs {
            self.recorded.remove(&dry.policy);
        }
    }

    /// A policy scaled the group at `at`: its cooldown starts.
    pub fn touched(&mut self, policy: &PolicyId, at: Timestamp) {
        if let Some(fact) = self.policies.iter_mut().find(|p| &p.id == policy) {
            fact.touched_at = Some(at);
        }
    }
}

/// What keeps `policy` from scaling a group in `state` to `to` now: a pause that way, or a
/// cooldown (the group's of that direction, or the policy's).
pub fn held_by(
    state: &GroupState,
    cooldowns: GroupCooldown,
    bounds: Bounds,
    policy: &PolicyFact,
    to: u32,
    now: Timestamp,
) -> Option<String> {
    let from = state.desired;
    if let Some(why) = state.pause_refuses(from, to) {
        return Some(why.to_string());
    }
    let executed = capacity::execute(&ExecutionInput {
        desired: from,
        bounds,
        group_cooldown: cooldowns,
        group_touched: state.touched_at,
        policy_cooldown: policy.cooldown,
        policy_touched: policy.touched_at,
        adjustment: Adjustment::DesiredCapacity(i64::from(to)),
        now,
    });
    match executed {
        Err(Refusal::Cooldown) => Some("cooldowns not met".to_string()),
        Err(Refusal::NoChange) => Some("no change within the bounds".to_string()),
        Ok(_) | Err(Refusal::NotExecutable) => None,
    }
}

fn proposed(explained: &Explained, to: u32) -> Proposed {
    Proposed { policy: explained.policy.clone(), name: explained.name.clone(), to, because: because(explained) }
}

/// Why a policy proposes what it does, in one line.
pub fn because(explained: &Explained) -> String {
    use super::behavior::Limit;
    use super::combine::Vote;
    let mut why = explained.why.to_string();
    if let Some(value) = explained.inputs.value {
        why = format!("value {value}; {why}");
    }
    if let Some(normalized) = explained.normalized {
        let limit = match normalized.limit {
            Limit::WithinRange => None,
            Limit::Stabilized => Some(format!("stabilized to {}", normalized.stabilized)),
            Limit::ScaleUpLimit => Some("limited by the scale-up rate policies".to_string()),
            Limit::ScaleDownLimit => Some("limited by the scale-down rate policies".to_string()),
            Limit::TooMany => Some("held at the maximum".to_string()),
            Limit::TooFew => Some("held at the minimum".to_string()),
        };
        if let Some(limit) = limit {
            why = format!("{why}; {limit}");
        }
    }
    if explained.vote == Vote::Failed {
        why = format!("{why} ({} failed reads)", explained.failures);
    }
    why
}
