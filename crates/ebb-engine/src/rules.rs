//! The engine's side of metric rules: setting and deleting a group's Cloud Foundry policy,
//! taking samples into the metric store, and evaluating the group's rules when a sample
//! arrives or a breach window elapses — never on a polling loop.
//!
//! Evaluation here only finds out whether a decision is worth taking, on the engine's cached
//! copy of the rules; the decision itself (`decide::scale_on_rules`) is taken by the store on
//! the group as stored, with the same points, through [`Engine::commit`], like every other.

use std::collections::HashMap;
use std::sync::Arc;

use ebb_core::cf_policy::CfPolicy;
use ebb_core::decide::{self, Points};
use ebb_core::ids::{GroupId, TenantId};
use ebb_core::metrics::group::Refused;
use ebb_core::metrics::rule;
use ebb_core::metrics::series::Sample;
use ebb_core::records::{Group, MetricCredential, Source};
use ebb_store::{Decide, StoreError};
use jiff::{SignedDuration, Timestamp};

use crate::engine::Engine;
use crate::samples::{Entry, GroupFacts, lock};

/// A sample for one member slot of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotSample {
    /// The metric.
    pub metric: String,
    /// The member slot (Cloud Foundry's `instance_index`).
    pub slot: u32,
    /// When and what.
    pub sample: Sample,
}

impl Engine {
    /// Sets a group's Cloud Foundry policy (bounds, windows and rules) in one decision; the
    /// policy is the group's own from then on, whatever a service instance's default says.
    pub async fn set_rules_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: CfPolicy,
    ) -> Result<Group, StoreError> {
        let now = self.now();
        let decide: Decide = Box::new(move |snapshot| Ok(decide::set_rules_policy(&snapshot.group, policy, now)));
        self.commit_rules_policy(tenant, group, decide).await
    }

    /// Commits a decision that sets, replaces or deletes a group's Cloud Foundry policy, and
    /// answers the group as it is now. Its windows may have changed; with rules, its samples
    /// are taken and its built-in metrics measured from now on.
    pub(crate) async fn commit_rules_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        decide: Decide,
    ) -> Result<Group, StoreError> {
        let committed = self.commit(Self::group(tenant, group), Source::Bounds, decide).await?;
        self.schedules_changed().notify_one();
        let committed = committed.ok_or(StoreError::GroupNotFound)?;
        let group = match committed.decision.group {
            Some(changed) => changed,
            None => self.store().get_group(tenant, group).await?,
        };
        if group.rules.is_some() {
            self.samples.get_or_insert(&group);
        }
        Ok(group)
    }

    /// Makes the metric store's entries of every group with metric rules or metric policies
    /// (at start, so that their built-in metrics are measured before any sample is pushed).
    pub async fn load_metric_groups(&self) -> Result<usize, StoreError> {
        let mut loaded = 0;
        for id in self.store().group_ids().await? {
            let Some(group) = self.store().group_by_id(&id).await?.filter(|g| !g.state.deleting) else { continue };
            if group.rules.is_some() {
                self.samples.get_or_insert(&group);
            }
            if self.load_metric_policies(&group).await? || group.rules.is_some() {
                loaded += 1;
            }
        }
        Ok(loaded)
    }

    /// Deletes a group's Cloud Foundry policy: rules and windows go, the group and its
    /// members stay. A group without one is left as it is. A group bound to a service
    /// instance with a default policy gets that default instead, and follows it from then on.
    pub async fn delete_rules_policy(&self, tenant: &TenantId, group: &GroupId) -> Result<(), StoreError> {
        let now = self.now();
        let default = self.default_policy_of(group).await?;
        let decide: Decide =
            Box::new(move |snapshot| Ok(decide::detach_rules_policy(&snapshot.group, default.as_ref(), now)));
        self.commit_rules_policy(tenant, group, decide).await.map(|_| ())
    }

    /// Sets (or, with `None`, revokes) a group's metric credential; it applies at once.
    pub async fn set_metric_credential(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        credential: Option<MetricCredential>,
    ) -> Result<(), StoreError> {
        self.store().set_metric_credential(tenant, group, credential).await?;
        let stored = self.store().get_group(tenant, group).await?;
        self.samples.refresh(&stored, self.now());
        Ok(())
    }

    /// What the metric store knows of a group (its tenant, rules, member slots), read from the
    /// store the first time. A deleted or unknown group is `GroupNotFound`.
    pub async fn metric_facts(&self, group: &GroupId) -> Result<Arc<GroupFacts>, StoreError> {
        if let Some(entry) = self.samples.get(group) {
            return Ok(lock(&entry).facts.clone());
        }
        let loaded = self.store().group_by_id(group).await?.filter(|g| !g.state.deleting);
        let loaded = loaded.ok_or(StoreError::GroupNotFound)?;
        Ok(lock(&self.samples.get_or_insert(&loaded)).facts.clone())
    }

    /// Takes samples of a group into the metric store and evaluates its rules on them. Every
    /// sample is offered; the first refusal is returned (the others are kept). A group the
    /// store has no entry for (see [`Engine::metric_facts`]) is `GroupNotFound`.
    pub fn record_samples(self: &Arc<Self>, group: &GroupId, samples: &[SlotSample]) -> Result<(), RecordError> {
        let entry = self.samples.get(group).ok_or(RecordError::NoGroup)?;
        let mut entry = lock(&entry);
        let mut refused = None;
        // Samples of one metric and instant (a measurement of every member) are taken together,
        // making the group's point once rather than once a member.
        let mut ordered: Vec<&SlotSample> = samples.iter().collect();
        ordered.sort_by(|a, b| a.metric.cmp(&b.metric).then(a.sample.at.cmp(&b.sample.at)));
        for instant in ordered.chunk_by(|a, b| a.metric == b.metric && a.sample.at == b.sample.at) {
            let values: Vec<(u32, f64)> = instant.iter().map(|s| (s.slot, s.sample.value)).collect();
            if let Err(err) = entry.metrics.record_instant(&instant[0].metric, instant[0].sample.at, &values) {
                refused.get_or_insert(err);
            }
        }
        let now = self.now();
        self.samples_taken(group, &mut entry, samples.iter().map(|s| s.metric.as_str()), now);
        refused.map_or(Ok(()), |err| Err(RecordError::Refused(err)))
    }

    /// Samples of `metrics` were taken into `entry` (pushed, measured or collected): its rules
    /// are evaluated, and its metric policies reading one of them.
    pub(crate) fn samples_taken<'m>(
        self: &Arc<Self>,
        group: &GroupId,
        entry: &mut Entry,
        metrics: impl Iterator<Item = &'m str>,
        now: Timestamp,
    ) {
        self.evaluate(group, entry, now);
        self.samples_arrived(group, entry, metrics, now);
    }

    /// The points of each metric `entry`'s rules read, as far back as any rule looks.
    fn points(entry: &Entry, now: Timestamp) -> Points {
        let horizon = entry.facts.paced.iter().map(|r| r.breach + r.breach).max().unwrap_or_default();
        let mut points: Points = HashMap::new();
        for rule in &entry.facts.paced {
            if !points.contains_key(&rule.metric) {
                points.insert(rule.metric.clone(), entry.metrics.points(&rule.metric, now - horizon));
            }
        }
        points
    }

    /// Evaluates the group's rules at `now`: when one is breached, has the decision taken;
    /// otherwise arms a timer for when a breach window would complete without a new sample.
    fn evaluate(self: &Arc<Self>, group: &GroupId, entry: &mut Entry, now: Timestamp) {
        if entry.deciding || entry.facts.paced.is_empty() || entry.facts.state.paused {
            return;
        }
        if let Some(until) = entry.muted_until.filter(|until| now < *until) {
            return self.arm(group, entry, until);
        }
        if let Some(until) = entry.facts.state.rules_cooldown_until.filter(|until| now < *until) {
            return self.arm(group, entry, until);
        }
        // Every point of a breach window breaches, the newest included: when no rule's newest
        // point does, no rule is breached now nor will be without a new sample.
        let newest_breaches = entry.facts.paced.iter().any(|r| {
            entry.metrics.latest_point(&r.metric).is_some_and(|(_, value)| r.operator.holds(value, r.threshold))
        });
        if !newest_breaches {
            return;
        }
        let points = Self::points(entry, now);
        let series = |metric: &str| points.get(metric).map_or(&[][..], Vec::as_slice);
        if rule::first_breached(&entry.facts.paced, series, now).is_some() {
            entry.deciding = true;
            self.decide_on_rules(group.clone(), entry.facts.tenant.clone(), points, now);
            return;
        }
        let next = entry.facts.paced.iter().filter_map(|r| rule::next_breach_at(r, series(&r.metric), now)).min();
        if let Some(due) = next {
            self.arm(group, entry, due);
        }
    }

    /// Arms the group's evaluation timer at `due`, unless one is armed earlier and still ahead.
    fn arm(self: &Arc<Self>, group: &GroupId, entry: &mut Entry, due: Timestamp) {
        if entry.timer.is_some_and(|armed| armed <= due && armed > self.now()) {
            return;
        }
        entry.timer = Some(due);
        entry.timer_generation += 1;
        let generation = entry.timer_generation;
        let (engine, group) = (self.clone(), group.clone());
        tokio::spawn(async move {
            engine.clock().sleep_until(due).await;
            let Some(entry) = engine.samples.get(&group) else { return };
            let mut entry = lock(&entry);
            if entry.timer_generation == generation {
                entry.timer = None;
                engine.evaluate(&group, &mut entry, engine.now());
            }
        });
    }

    /// Has the store take the rules' decision on the group as stored, with these points.
    fn decide_on_rules(self: &Arc<Self>, group: GroupId, tenant: TenantId, points: Points, now: Timestamp) {
        let engine = self.clone();
        let time_scale = self.samples.settings().time_scale;
        tokio::spawn(async move {
            let decide: Decide =
                Box::new(move |snapshot| Ok(decide::scale_on_rules(&snapshot.group, &points, now, time_scale)));
            let result = engine.commit(Self::group(&tenant, &group), Source::Metric, decide).await;
            let Some(entry) = engine.samples.get(&group) else { return };
            let mut entry = lock(&entry);
            entry.deciding = false;
            let changed_nothing = match &result {
                Ok(Some(committed)) => committed.decision.group.is_none(),
                Ok(None) | Err(_) => true,
            };
            if changed_nothing {
                // A breach that changed nothing (at a bound, in cooldown) is not acted on again
                // before a whole new breach window has passed.
                let window = entry.facts.paced.iter().map(|r| r.breach).min().unwrap_or(SignedDuration::from_secs(1));
                entry.muted_until = Some(now + window);
            }
        });
    }
}

/// Why samples were not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The metric store has no entry for the group (it was deleted meanwhile).
    #[error("no such group")]
    NoGroup,
    /// A sample was refused.
    #[error(transparent)]
    Refused(#[from] Refused),
}
