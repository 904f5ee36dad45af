//! The engine's side of metric policies (target tracking, step, threshold, votes): knowing a
//! group's policies, evaluating them when a sample they read arrives, a vote is cast, or the
//! measurement loop ticks, and committing what they decide.
//!
//! Evaluation is `strategy::evaluate`, pure, on the metric store's entry of the group: its
//! samples, its facts, and what the policies remember (raw proposals for stabilization, failed
//! reads, scale events for rate policies, votes) — kept in memory, as the HPA keeps them; a
//! restart forgets them, which delays a scale-down by at most one stabilization window. The
//! outcome is committed by the store through `decide::scale_on_metric_policies`, on the group
//! as stored, like every other decision.

use std::collections::HashMap;
use std::sync::Arc;

use ebb_core::capacity::{self, Bounds, ExecutionInput, Refusal};
use ebb_core::decide::{self, Proposed, Verdict};
use ebb_core::ids::{GroupId, PolicyId, TenantId};
use ebb_core::metrics::series::Sample;
use ebb_core::policy::Adjustment;
use ebb_core::records::{Group, PolicyRecord, Source};
use ebb_core::strategy::behavior::ScaleEvent;
use ebb_core::strategy::combine::Vote;
use ebb_core::strategy::evaluate::{self, Evaluation, Explained, GroupInput, MemberInput, Memory, PolicyInput};
use ebb_core::strategy::metric_policy::{MetricPolicy, Strategy};
use ebb_core::strategy::replicas::Readiness;
use ebb_core::strategy::votes::Ballot;
use ebb_store::{Decide, StoreError, Subject};
use jiff::{SignedDuration, Timestamp};

use crate::converger::MemberView;
use crate::engine::Engine;
use crate::samples::{Entry, GroupFacts, lock};

/// How long scale events are kept: the longest period a rate policy may have.
const EVENTS_KEPT: SignedDuration = SignedDuration::from_secs(ebb_core::strategy::target_tracking::MAX_PERIOD_SECS);

/// A metric policy of a group, as the engine evaluates it.
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
    fn of(record: &PolicyRecord) -> Option<PolicyFact> {
        Some(PolicyFact {
            id: record.id.clone(),
            name: record.name().to_string(),
            policy: Arc::new(record.policy.metric()?.clone()),
            cooldown: record.policy.cooldown,
            touched_at: record.touched_at,
        })
    }
}

/// A group's metric policies and what they remember.
#[derive(Debug, Default)]
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
    /// A decision of the policies is being committed.
    pub deciding: bool,
}

impl Strategies {
    /// Desired capacity went from `before` to `after` at `now`.
    pub fn scaled(&mut self, before: u32, after: u32, now: Timestamp) {
        if before != after {
            self.events.push(ScaleEvent { at: now, change: i64::from(after) - i64::from(before) });
        }
        self.events.retain(|e| e.at + EVENTS_KEPT > now);
    }

    fn reads(&self, metric: &str) -> bool {
        self.policies.iter().any(|p| p.policy.strategy.metric() == Some(metric))
    }
}

/// A group's metric policies evaluated now, for `explain`.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The evaluation.
    pub evaluation: Evaluation,
    /// The policies evaluated, in the evaluation's order.
    pub policies: Vec<PolicyFact>,
    /// What the metric store knows of the group.
    pub facts: Arc<GroupFacts>,
    /// The bounds in force.
    pub bounds: Bounds,
    /// What keeps the winning proposal from being applied now, if anything does.
    pub held: Option<String>,
}

/// Why a vote was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoteError {
    /// No such group.
    #[error("no such group")]
    NoGroup,
    /// The group has no such live member.
    #[error("no such member")]
    NoMember,
}

/// How a group's live members look to its policies: not exited, by id (their slots, as
/// the built-in metrics number them); a group whose members no provider here runs has one
/// ready slot per desired member.
pub(crate) fn member_inputs(members: &[MemberView], desired: u32) -> Vec<MemberInput> {
    if members.is_empty() {
        return (0..desired)
            .map(|slot| MemberInput { slot, id: slot.to_string(), readiness: Readiness::Ready, started_at: None })
            .collect();
    }
    members
        .iter()
        .enumerate()
        .map(|(slot, member)| MemberInput {
            slot: slot as u32,
            id: member.id.clone(),
            readiness: match member.status {
                "active" => Readiness::Ready,
                "starting" => Readiness::Unready,
                _ => Readiness::Gone,
            },
            started_at: Some(member.created_at),
        })
        .collect()
}

impl Engine {
    /// The group's live members, by id: their places are their slots.
    pub(crate) fn live_members(&self, group: &GroupId) -> Vec<MemberView> {
        let mut members = self.observation(group).members;
        members.retain(|m| m.status != "exited");
        members.sort_by(|a, b| a.id.cmp(&b.id));
        members
    }

    /// Reads a group's metric policies from the store into its metric store entry (making it
    /// when the group has some), after they were created, replaced or deleted.
    pub async fn refresh_metric_policies(&self, tenant: &TenantId, group: &GroupId) -> Result<(), StoreError> {
        let records = self.store().list_policies(tenant, group, None).await?;
        let policies: Vec<PolicyFact> = records.iter().filter_map(PolicyFact::of).collect();
        let entry = match self.samples.get(group) {
            Some(entry) => entry,
            None if policies.is_empty() => return Ok(()),
            None => self.samples.get_or_insert(&self.store().get_group(tenant, group).await?),
        };
        let mut entry = lock(&entry);
        let metrics = policies.iter().filter_map(|p| p.policy.strategy.metric().map(str::to_string)).collect();
        entry.facts = Arc::new(GroupFacts { policy_metrics: metrics, ..(*entry.facts).clone() });
        let kept: Vec<&PolicyId> = policies.iter().map(|p| &p.id).collect();
        entry.strategies.memory.retain(|id, _| kept.contains(&id));
        entry.strategies.recorded.retain(|id, _| kept.contains(&id));
        entry.strategies.policies = policies;
        Ok(())
    }

    /// Loads the metric policies of `group` as stored at start.
    pub(crate) async fn load_metric_policies(&self, group: &Group) -> Result<bool, StoreError> {
        self.refresh_metric_policies(&group.tenant_id, &group.id).await?;
        Ok(self.samples.get(&group.id).is_some_and(|e| !lock(&e).strategies.policies.is_empty()))
    }

    /// Samples of `metrics` arrived: the policies reading one of them are evaluated.
    pub(crate) fn samples_arrived<'m>(
        self: &Arc<Self>,
        group: &GroupId,
        entry: &mut Entry,
        mut metrics: impl Iterator<Item = &'m str>,
        now: Timestamp,
    ) {
        if metrics.any(|metric| entry.strategies.reads(metric)) {
            self.evaluate_policies(group, entry, now, false);
        }
    }

    /// Evaluates every group's metric policies (the measurement loop's tick): time passes for
    /// stabilization, alarms and votes, and a metric without fresh samples counts a failure.
    pub fn tick_policies(self: &Arc<Self>) {
        let now = self.now();
        for (group, entry) in self.samples.entries() {
            let mut entry = lock(&entry);
            if !entry.strategies.policies.is_empty() {
                self.evaluate_policies(&group, &mut entry, now, true);
            }
        }
    }

    /// Casts (or, with `None`, withdraws) `member`'s vote in its group, and evaluates.
    pub async fn vote(
        self: &Arc<Self>,
        group: &GroupId,
        member: &str,
        ballot: Option<Ballot>,
    ) -> Result<(), VoteError> {
        self.metric_facts(group).await.map_err(|_| VoteError::NoGroup)?;
        let entry = self.samples.get(group).ok_or(VoteError::NoGroup)?;
        let members = self.live_members(group);
        let mut entry = lock(&entry);
        let live = member_inputs(&members, entry.facts.state.desired);
        if !live.iter().any(|m| m.id == member && m.readiness != Readiness::Gone) {
            return Err(VoteError::NoMember);
        }
        let now = self.now();
        match ballot {
            Some(ballot) => entry.strategies.votes.insert(member.to_string(), (ballot, now)),
            None => entry.strategies.votes.remove(member),
        };
        self.evaluate_policies(group, &mut entry, now, false);
        Ok(())
    }

    /// The evaluation of a group's metric policies now, changing nothing; `None` when the
    /// group has no entry in the metric store (no metric rules nor metric policies).
    pub fn explain(&self, group: &GroupId) -> Option<Explanation> {
        let entry = self.samples.get(group)?;
        let members = self.live_members(group);
        let entry = lock(&entry);
        let now = self.now();
        let evaluation = self.evaluation(&entry, &members, now, false);
        let held = evaluation.winner.and_then(|index| {
            let winner = &evaluation.policies[index];
            let to = winner.count()?;
            self.held_by(&entry.facts, &entry.strategies.policies, &winner.policy, to, now)
        });
        Some(Explanation {
            evaluation,
            policies: entry.strategies.policies.clone(),
            bounds: entry.facts.bounds_at(now),
            facts: entry.facts.clone(),
            held,
        })
    }

    fn evaluation(&self, entry: &Entry, members: &[MemberView], now: Timestamp, periodic: bool) -> Evaluation {
        let facts = &entry.facts;
        let stale_after = self.samples.settings().limits.stale_after;
        let members = member_inputs(members, facts.state.desired);
        let votes: Vec<(String, Ballot, Timestamp)> =
            entry.strategies.votes.iter().map(|(member, (ballot, at))| (member.clone(), *ballot, *at)).collect();
        let group = GroupInput {
            current: facts.state.desired,
            bounds: facts.bounds_at(now),
            members: &members,
            events: &entry.strategies.events,
            votes: &votes,
            stale_after,
            periodic,
            now,
        };
        let samples: Vec<Vec<(u32, Vec<Sample>)>> = entry
            .strategies
            .policies
            .iter()
            .map(|p| match p.policy.strategy.metric() {
                Some(metric) => {
                    entry.metrics.per_slot(metric, now - stale_after - p.policy.strategy.lookback(stale_after))
                }
                None => Vec::new(),
            })
            .collect();
        let empty = Memory::default();
        let inputs: Vec<PolicyInput<'_>> = entry
            .strategies
            .policies
            .iter()
            .zip(&samples)
            .map(|(p, samples)| PolicyInput {
                id: &p.id,
                name: &p.name,
                policy: &p.policy,
                samples,
                memory: entry.strategies.memory.get(&p.id).unwrap_or(&empty),
            })
            .collect();
        evaluate::evaluate(&group, &inputs)
    }

    /// Evaluates the group's metric policies at `now`, remembers what they proposed, and has
    /// what they decide committed.
    fn evaluate_policies(self: &Arc<Self>, group: &GroupId, entry: &mut Entry, now: Timestamp, periodic: bool) {
        let members = self.live_members(group);
        if periodic {
            // Votes go with their member.
            let live = member_inputs(&members, entry.facts.state.desired);
            let voting = |id: &String| live.iter().any(|m| &m.id == id && m.readiness != Readiness::Gone);
            entry.strategies.votes.retain(|member, _| voting(member));
        }
        let evaluation = self.evaluation(entry, &members, now, periodic);
        for (explained, policy) in evaluation.policies.iter().zip(&entry.strategies.policies) {
            let memory = entry.strategies.memory.entry(explained.policy.clone()).or_default();
            memory.failures = explained.failures;
            if let (Some(recommendation), Strategy::TargetTracking(tracking)) =
                (explained.remember, &policy.policy.strategy)
            {
                let keep = tracking.behavior.up.stabilization.max(tracking.behavior.down.stabilization);
                memory.remember(recommendation, keep);
            }
        }
        if entry.strategies.deciding {
            return;
        }
        let live = evaluation.winner.map(|index| &evaluation.policies[index]).filter(|winner| {
            let Some(to) = winner.count() else { return false };
            self.held_by(&entry.facts, &entry.strategies.policies, &winner.policy, to, now).is_none()
        });
        let mut dry_runs = Vec::new();
        for explained in evaluation.policies.iter().filter(|e| e.dry_run) {
            match explained.count() {
                Some(to) if to != evaluation.current => {
                    if entry.strategies.recorded.get(&explained.policy) != Some(&(evaluation.current, to)) {
                        dry_runs.push(proposed(explained, to));
                    }
                }
                _ => {
                    entry.strategies.recorded.remove(&explained.policy);
                }
            }
        }
        if live.is_none() && dry_runs.is_empty() {
            return;
        }
        let verdict = Verdict {
            from: evaluation.current,
            live: live.and_then(|winner| winner.count().map(|to| proposed(winner, to))),
            dry_runs,
        };
        entry.strategies.deciding = true;
        self.decide_on_policies(group.clone(), entry.facts.tenant.clone(), verdict, now);
    }

    /// What keeps a policy from scaling the group, as the metric store knows it, to `to` now:
    /// a pause that way, or a cooldown (the store checks again on the group as stored).
    fn held_by(
        &self,
        facts: &GroupFacts,
        policies: &[PolicyFact],
        policy: &PolicyId,
        to: u32,
        now: Timestamp,
    ) -> Option<String> {
        let from = facts.state.desired;
        if let Some(why) = facts.state.pause_refuses(from, to) {
            return Some(why.to_string());
        }
        let policy = policies.iter().find(|p| &p.id == policy)?;
        let executed = capacity::execute(&ExecutionInput {
            desired: from,
            bounds: facts.bounds_at(now),
            group_cooldown: facts.cooldowns,
            group_touched: facts.state.touched_at,
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

    /// Has the store commit a verdict on the group as stored.
    fn decide_on_policies(self: &Arc<Self>, group: GroupId, tenant: TenantId, verdict: Verdict, now: Timestamp) {
        let engine = self.clone();
        tokio::spawn(async move {
            let winner = verdict.live.as_ref().map(|live| live.policy.clone());
            let subject = Subject::Group { tenant, group: group.clone(), policy: winner.clone(), member: None };
            let from = verdict.from;
            let recorded: Vec<(PolicyId, (u32, u32))> =
                verdict.dry_runs.iter().map(|d| (d.policy.clone(), (from, d.to))).collect();
            let decide: Decide =
                Box::new(move |snapshot| Ok(decide::scale_on_metric_policies(snapshot, &verdict, now)));
            let result = engine.commit(subject, Source::Metric, decide).await;
            let Some(entry) = engine.samples.get(&group) else { return };
            let mut entry = lock(&entry);
            entry.strategies.deciding = false;
            let Ok(Some(committed)) = result else {
                if let Err(err) = result {
                    tracing::warn!(group = %group, error = %err, "a metric policy's decision was not committed");
                }
                return;
            };
            if committed.decision.history.iter().any(|h| h.from != h.to || h.reason.starts_with("dry run")) {
                entry.strategies.recorded.extend(recorded);
            }
            if let Some((policy, at)) = committed.decision.policy_touched
                && let Some(fact) = entry.strategies.policies.iter_mut().find(|p| p.id == policy)
            {
                fact.touched_at = Some(at);
            }
        });
    }
}

fn proposed(explained: &Explained, to: u32) -> Proposed {
    Proposed { policy: explained.policy.clone(), name: explained.name.clone(), to, because: because(explained) }
}

/// Why a policy proposes what it does, in one line.
pub fn because(explained: &Explained) -> String {
    let mut why = explained.why.clone();
    if let Some(value) = explained.inputs.value {
        why = format!("value {value}; {why}");
    }
    if let Some(normalized) = explained.normalized {
        use ebb_core::strategy::behavior::Limit;
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
