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

use std::sync::Arc;

use ebb_core::capacity::Bounds;
use ebb_core::decide::{self, Verdict};
use ebb_core::ids::{GroupId, TenantId};
use ebb_core::records::{Group, Source};
use ebb_core::strategy::evaluate::{Evaluation, MemberInput};
use ebb_core::strategy::replicas::Readiness;
use ebb_core::strategy::state::{self, Context, PolicyFact};
use ebb_core::strategy::votes::Ballot;
use ebb_store::{Decide, StoreError, Subject};
use jiff::Timestamp;

use crate::converger::MemberView;
use crate::engine::Engine;
use crate::samples::{Entry, GroupFacts, lock};

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

/// How a group's live members look to its policies: not exited, by id (their slots, as
/// the built-in metrics number them); a group whose members no provider here runs has one
/// ready slot per desired member.
pub(crate) fn member_inputs(members: &[MemberView], desired: u32) -> Vec<MemberInput> {
    if members.is_empty() {
        return MemberInput::slots(desired);
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
        entry.strategies.set_policies(policies);
        let metrics = entry.strategies.metrics();
        entry.facts = Arc::new(GroupFacts { policy_metrics: metrics, ..(*entry.facts).clone() });
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
    ) -> Result<(), StoreError> {
        self.metric_facts(group).await?;
        let entry = self.samples.get(group).ok_or(StoreError::GroupNotFound)?;
        let members = self.live_members(group);
        let mut entry = lock(&entry);
        let live = member_inputs(&members, entry.facts.state.desired);
        if !live.iter().any(|m| m.id == member && m.readiness != Readiness::Gone) {
            return Err(StoreError::MemberNotFound);
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
            let fact = entry.strategies.policies.iter().find(|p| p.id == winner.policy)?;
            held_by(&entry.facts, fact, winner.count()?, now)
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
        let members = member_inputs(members, facts.state.desired);
        entry.strategies.evaluate(&Context {
            metrics: &entry.metrics,
            members: &members,
            current: facts.state.desired,
            bounds: facts.bounds_at(now),
            stale_after: self.samples.settings().limits.stale_after,
            periodic,
            now,
        })
    }

    /// Evaluates the group's metric policies at `now`, remembers what they proposed, and has
    /// what they decide committed.
    fn evaluate_policies(self: &Arc<Self>, group: &GroupId, entry: &mut Entry, now: Timestamp, periodic: bool) {
        let members = self.live_members(group);
        if periodic {
            entry.strategies.forget_votes_of_the_gone(&member_inputs(&members, entry.facts.state.desired));
        }
        let evaluation = self.evaluation(entry, &members, now, periodic);
        entry.strategies.remember(&evaluation);
        if entry.policies_deciding {
            return;
        }
        let facts = entry.facts.clone();
        let Some(verdict) = entry.strategies.verdict(&evaluation, |fact, to| held_by(&facts, fact, to, now)) else {
            return;
        };
        entry.policies_deciding = true;
        self.decide_on_policies(group.clone(), facts.tenant.clone(), verdict, now);
    }

    /// Has the store commit a verdict on the group as stored.
    fn decide_on_policies(self: &Arc<Self>, group: GroupId, tenant: TenantId, verdict: Verdict, now: Timestamp) {
        let engine = self.clone();
        tokio::spawn(async move {
            let winner = verdict.live.as_ref().map(|live| live.policy.clone());
            let subject = Subject::Group { tenant, group: group.clone(), policy: winner, member: None };
            let committed = verdict.clone();
            let decide: Decide =
                Box::new(move |snapshot| Ok(decide::scale_on_metric_policies(snapshot, &committed, now)));
            let result = engine.commit(subject, Source::Metric, decide).await;
            let Some(entry) = engine.samples.get(&group) else { return };
            let mut entry = lock(&entry);
            entry.policies_deciding = false;
            match result {
                Ok(Some(committed)) => {
                    if let Some((policy, at)) = committed.decision.policy_touched {
                        entry.strategies.touched(&policy, at);
                    }
                    if committed.decision.history.is_empty() {
                        entry.strategies.unrecord(&verdict);
                    }
                }
                Ok(None) => entry.strategies.unrecord(&verdict),
                Err(err) => {
                    entry.strategies.unrecord(&verdict);
                    tracing::warn!(group = %group, error = %err, "a metric policy's decision was not committed");
                }
            }
        });
    }
}

/// What keeps `policy` from scaling the group, as the metric store knows it, to `to` now
/// (the store checks again on the group as stored).
fn held_by(facts: &GroupFacts, policy: &PolicyFact, to: u32, now: Timestamp) -> Option<String> {
    state::held_by(&facts.state, facts.cooldowns, facts.bounds_at(now), policy, to, now)
}
