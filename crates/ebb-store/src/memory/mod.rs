//! [`MemoryStore`]: the store in memory, durable only for as long as the process lives.
//!
//! It keeps the same records, runs the same decisions in the same way (one lock taken for the
//! whole load, decide and write, as SQLite's single writer and PostgreSQL's row lock do) and
//! passes the same conformance suite. It has no threads: every operation completes inside its
//! call. That is what the engine's virtual-time tests need (tokio's paused clock moves only
//! when every task waits on a timer, and a store that answers from another thread would let
//! it move mid-write), and what `ebb simulate` will need to replay days of decisions in
//! seconds.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use ebb_core::grant::LocalProcessGrant;
use jiff::Timestamp;

use crate::error::StoreError;
use crate::model::*;

mod broker;
mod collectors;
mod decisions;
mod groups;
mod history;
mod members;
mod policies;
mod schedules;
mod tenants;

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[derive(Default)]
struct State {
    tenants: BTreeMap<TenantId, Tenant>,
    grants: HashMap<TenantId, LocalProcessGrant>,
    /// Tokens by id, with the hash of their secret.
    tokens: BTreeMap<String, (Token, String)>,
    groups: BTreeMap<GroupId, Group>,
    policies: BTreeMap<PolicyId, PolicyRecord>,
    /// Webhooks by id, with the hash of their capability.
    webhooks: BTreeMap<WebhookId, (WebhookRecord, String)>,
    members: Vec<MemberRecord>,
    /// Next fire time of each schedule policy, with its group.
    schedules: HashMap<PolicyId, (GroupId, Timestamp)>,
    /// Next window change of each group.
    window_timers: HashMap<GroupId, Timestamp>,
    events: Vec<(String, GroupEvent)>,
    history: BTreeMap<String, HistoryEntry>,
    /// Per-minute aggregates by (group, metric, owner, minute).
    minutes: BTreeMap<(GroupId, String, Of, Timestamp), MinuteAggregate>,
    service_instances: BTreeMap<String, ServiceInstance>,
    service_bindings: BTreeMap<String, ServiceBinding>,
    collectors: BTreeMap<CollectorId, CollectorRecord>,
    clouds: HashMap<TenantId, ebb_core::cloud::settings::CloudSettings>,
}

impl State {
    /// A tenant's group that is not being deleted.
    fn group(&self, tenant: &str, group: &str) -> Result<&Group, StoreError> {
        self.groups.get(group).filter(|g| g.tenant_id == tenant && !g.state.deleting).ok_or(StoreError::GroupNotFound)
    }

    /// A policy of a group.
    fn policy(&self, group: &str, policy: &str) -> Option<&PolicyRecord> {
        self.policies.get(policy).filter(|p| p.group_id == group)
    }

    fn require_policy(&self, tenant: &str, group: &str, policy: &str) -> Result<(), StoreError> {
        self.group(tenant, group)?;
        self.policy(group, policy).map(|_| ()).ok_or(StoreError::PolicyNotFound)
    }

    fn arm_schedule(&mut self, group: &str, policy: &str, next: Option<Timestamp>) {
        match next {
            Some(at) => {
                self.schedules.insert(policy.into(), (group.into(), at));
            }
            None => {
                self.schedules.remove(policy);
            }
        }
    }

    fn arm_window(&mut self, group: &str, next: Option<Timestamp>) {
        match next {
            Some(at) => {
                self.window_timers.insert(group.into(), at);
            }
            None => {
                self.window_timers.remove(group);
            }
        }
    }

    fn delete_policies(&mut self, keep: impl Fn(&PolicyRecord) -> bool) {
        let gone: Vec<PolicyId> = self.policies.values().filter(|p| !keep(p)).map(|p| p.id.clone()).collect();
        for id in &gone {
            self.policies.remove(id);
            self.schedules.remove(id);
        }
        self.webhooks.retain(|_, (webhook, _)| !gone.contains(&webhook.policy_id));
    }

    fn capability(&self, hash: &str) -> Option<CapabilityTarget> {
        let (webhook, _) = self.webhooks.values().find(|(_, h)| h == hash)?;
        let policy = self.policies.get(&webhook.policy_id)?;
        let group = self.groups.get(&policy.group_id).filter(|g| !g.state.deleting)?;
        Some(CapabilityTarget {
            tenant_id: group.tenant_id.clone(),
            group_id: group.id.clone(),
            policy_id: policy.id.clone(),
            webhook_id: webhook.id.clone(),
        })
    }

    fn insert_policies(&mut self, group: &str, policies: Vec<NewPolicy>) -> Vec<PolicyRecord> {
        let mut created = Vec::with_capacity(policies.len());
        for new in policies {
            let record = PolicyRecord {
                id: new_id().into(),
                group_id: group.into(),
                body: new.body,
                policy: new.policy,
                touched_at: None,
            };
            self.arm_schedule(group, record.id.as_str(), new.next_fire);
            self.policies.insert(record.id.clone(), record.clone());
            created.push(record);
        }
        created
    }
}

/// Ebb's store in memory.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn with<T>(&self, work: impl FnOnce(&mut State) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut state = self.state.lock().map_err(|_| StoreError::Closed)?;
        work(&mut state)
    }
}

fn page<'a, K: AsRef<str> + 'a, T: 'a>(items: impl Iterator<Item = (&'a K, T)>, page: Option<&Page>) -> Vec<T> {
    let marker = page.and_then(|p| p.marker.clone()).unwrap_or_default();
    let limit = page.map(|p| p.limit).unwrap_or(usize::MAX);
    items.filter(|(id, _)| id.as_ref() > marker.as_str()).map(|(_, item)| item).take(limit).collect()
}
