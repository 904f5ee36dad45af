//! The metric store: every group's samples, in memory and bounded, apart from the
//! configuration store so that a high sample rate never competes with durable writes.
//!
//! Each group's entry holds its series ([`GroupMetrics`]) and what evaluating its rules needs
//! without a store read: its tenant, its rules, desired capacity, pause and the rules'
//! cooldown, refreshed by every committed decision (`Engine::commit`). An entry is made on
//! the first sample of a group (from the store) and dropped when the group is deleted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use ebb_core::capacity::{Bounds, GroupCooldown};
use ebb_core::cf_policy::MetricRules;
use ebb_core::decide;
use ebb_core::ids::{GroupId, TenantId};
use ebb_core::metrics::group::{GroupMetrics, Limits};
use ebb_core::metrics::rule::Rule;
use ebb_core::records::{Group, GroupState, GroupWindows, MetricCredential};

use ebb_core::strategy::state::Strategies;
use jiff::Timestamp;

/// Settings of the metric store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleSettings {
    /// Bounds of each group's samples.
    pub limits: Limits,
    /// Multiplies every rule's breach duration and cooldown: 1.0 except in tests that cannot
    /// wait minutes for a breach.
    pub time_scale: f64,
}

impl Default for SampleSettings {
    fn default() -> Self {
        SampleSettings { limits: Limits::default(), time_scale: 1.0 }
    }
}

/// What the metric store knows of a group besides its samples.
#[derive(Debug, Clone)]
pub struct GroupFacts {
    /// Its tenant.
    pub tenant: TenantId,
    /// Its metric rules, as stored.
    pub rules: Option<Arc<MetricRules>>,
    /// Its rules paced by the time scale, in policy order.
    pub paced: Vec<Rule>,
    /// The metrics its metric policies read.
    pub policy_metrics: Vec<String>,
    /// Its state: desired capacity (member slots are `0..desired`), pause, the rules'
    /// cooldown, and when a policy last scaled it.
    pub state: GroupState,
    /// Its cooldowns by direction.
    pub cooldowns: GroupCooldown,
    /// Its own bounds.
    pub bounds: Bounds,
    /// Its time windows.
    pub windows: Option<Arc<GroupWindows>>,
    /// The credential that may submit its metrics.
    pub credential: Option<MetricCredential>,
    /// A `local_process` member's memory quota in MB, for `memoryutil`.
    pub memory_quota_mb: Option<f64>,
    /// A `local_process` member's CPU quota in cores, for `cpuutil`.
    pub cpu_quota: Option<f64>,
}

impl GroupFacts {
    fn of(group: &Group, time_scale: f64, policy_metrics: Vec<String>) -> Self {
        GroupFacts {
            tenant: group.tenant_id.clone(),
            rules: group.rules.clone(),
            paced: decide::rules_of(group, time_scale),
            policy_metrics,
            state: group.state.clone(),
            cooldowns: group.config.cooldowns(),
            bounds: group.own_bounds(),
            windows: group.windows.clone(),
            credential: group.credential.clone(),
            memory_quota_mb: group.launch.local_process.as_ref().and_then(|l| l.process.memory_quota_mb),
            cpu_quota: group.launch.local_process.as_ref().and_then(|l| l.process.cpu_quota),
        }
    }

    /// Whether one of its rules or metric policies reads `metric`.
    pub fn reads(&self, metric: &str) -> bool {
        self.rules.as_ref().is_some_and(|rules| rules.reads(metric)) || self.policy_metrics.iter().any(|m| m == metric)
    }

    /// The bounds in force at `now`.
    pub fn bounds_at(&self, now: Timestamp) -> Bounds {
        decide::bounds_in_force(self.windows.as_deref(), self.bounds, now)
    }
}

/// One group's entry.
#[derive(Debug)]
pub struct Entry {
    /// What is known of the group (shared: every request on the group reads it).
    pub facts: Arc<GroupFacts>,
    /// Its samples.
    pub metrics: GroupMetrics,
    /// A decision on its rules is being committed.
    pub deciding: bool,
    /// Rules are not evaluated before this (after a breach that changed nothing).
    pub muted_until: Option<Timestamp>,
    /// The breach-window timer armed last, and its generation (a newer one replaces it).
    pub timer: Option<Timestamp>,
    /// Bumped whenever the timer is re-armed.
    pub timer_generation: u64,
    /// Its metric policies and what they remember.
    pub strategies: Strategies,
    /// A decision of its metric policies is being committed.
    pub policies_deciding: bool,
}

/// Every group's entry.
pub struct Samples {
    settings: SampleSettings,
    groups: RwLock<HashMap<GroupId, Arc<Mutex<Entry>>>>,
}

impl Samples {
    /// An empty store.
    pub fn new(settings: SampleSettings) -> Self {
        Samples { settings, groups: RwLock::new(HashMap::new()) }
    }

    /// Its settings.
    pub fn settings(&self) -> &SampleSettings {
        &self.settings
    }

    /// The entry of `group`, if it has one.
    pub fn get(&self, group: &GroupId) -> Option<Arc<Mutex<Entry>>> {
        self.groups.read().ok()?.get(group).cloned()
    }

    /// The entry of `group`, made from `loaded` if it has none yet.
    pub fn get_or_insert(&self, loaded: &Group) -> Arc<Mutex<Entry>> {
        let mut groups = self.groups.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        groups
            .entry(loaded.id.clone())
            .or_insert_with(|| {
                Arc::new(Mutex::new(Entry {
                    facts: Arc::new(GroupFacts::of(loaded, self.settings.time_scale, Vec::new())),
                    metrics: GroupMetrics::new(self.settings.limits),
                    deciding: false,
                    muted_until: None,
                    timer: None,
                    timer_generation: 0,
                    strategies: Strategies::default(),
                    policies_deciding: false,
                }))
            })
            .clone()
    }

    /// A decision changed `group` at `now`: its entry (if any) learns what changed (a change
    /// of desired capacity is a scale event for rate policies), or goes with it.
    pub fn refresh(&self, group: &Group, now: Timestamp) {
        if group.state.deleting {
            if let Ok(mut groups) = self.groups.write() {
                groups.remove(&group.id);
            }
            return;
        }
        if let Some(entry) = self.get(&group.id) {
            let mut entry = lock(&entry);
            let (before, metrics) = (entry.facts.state.desired, entry.facts.policy_metrics.clone());
            entry.facts = Arc::new(GroupFacts::of(group, self.settings.time_scale, metrics));
            entry.muted_until = None;
            entry.strategies.scaled(before, group.state.desired, now);
        }
    }

    /// Every group's entry.
    pub fn entries(&self) -> Vec<(GroupId, Arc<Mutex<Entry>>)> {
        self.groups.read().map(|g| g.iter().map(|(id, e)| (id.clone(), e.clone())).collect()).unwrap_or_default()
    }

    /// How many groups have an entry.
    pub fn len(&self) -> usize {
        self.groups.read().map(|g| g.len()).unwrap_or(0)
    }

    /// Whether no group has one.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Locks an entry; a panic elsewhere while it was held leaves it usable (it holds no
/// invariant a half-done update could break beyond one sample).
pub fn lock(entry: &Mutex<Entry>) -> MutexGuard<'_, Entry> {
    entry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
