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
use std::sync::{Arc, Mutex};

use ebb_core::grant::LocalProcessGrant;
use ebb_core::launch::LaunchConfig;
use ebb_core::limits::Limits;
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::model::*;

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

#[async_trait::async_trait]
impl crate::TenantStore for MemoryStore {
    async fn create_tenant(&self, id: &TenantId, now: Timestamp) -> Result<Tenant, StoreError> {
        let id = id.as_str();
        self.with(|state| {
            if state.tenants.contains_key(id) {
                return Err(StoreError::TenantExists);
            }
            let tenant = Tenant { id: id.into(), created_at: now };
            state.tenants.insert(id.into(), tenant.clone());
            Ok(tenant)
        })
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.with(|state| Ok(state.tenants.values().cloned().collect()))
    }

    async fn tenant_exists(&self, id: &TenantId) -> Result<bool, StoreError> {
        let id = id.as_str();
        self.with(|state| Ok(state.tenants.contains_key(id)))
    }

    async fn set_local_process(&self, tenant: &TenantId, grant: LocalProcessGrant) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| {
            if !state.tenants.contains_key(tenant) {
                return Err(StoreError::TenantNotFound);
            }
            state.grants.insert(tenant.into(), grant);
            Ok(())
        })
    }

    async fn local_process(&self, tenant: &TenantId) -> Result<LocalProcessGrant, StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| {
            if !state.tenants.contains_key(tenant) {
                return Err(StoreError::TenantNotFound);
            }
            Ok(state.grants.get(tenant).cloned().unwrap_or_default())
        })
    }

    async fn create_token(
        &self,
        tenant: &TenantId,
        role: Role,
        secret_hash: &str,
        now: Timestamp,
    ) -> Result<Token, StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| {
            if !state.tenants.contains_key(tenant) {
                return Err(StoreError::TenantNotFound);
            }
            let token = Token { id: new_id(), tenant_id: tenant.into(), role, created_at: now };
            state.tokens.insert(token.id.clone(), (token.clone(), secret_hash.to_string()));
            Ok(token)
        })
    }

    async fn delete_token(&self, tenant: &TenantId, token: &str) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| match state.tokens.get(token) {
            Some((found, _)) if found.tenant_id == tenant => {
                state.tokens.remove(token);
                Ok(())
            }
            _ => Err(StoreError::TokenNotFound),
        })
    }

    async fn find_token(&self, secret_hash: &str) -> Result<Option<Token>, StoreError> {
        self.with(|state| Ok(state.tokens.values().find(|(_, hash)| hash == secret_hash).map(|(t, _)| t.clone())))
    }
}

#[async_trait::async_trait]
impl crate::GroupStore for MemoryStore {
    async fn create_group(
        &self,
        group: NewGroup,
        limits: Limits,
        now: Timestamp,
    ) -> Result<(Group, Vec<PolicyRecord>), StoreError> {
        self.with(|state| {
            if !state.tenants.contains_key(&group.tenant_id) {
                return Err(StoreError::TenantNotFound);
            }
            let existing =
                state.groups.values().filter(|g| g.tenant_id == group.tenant_id && !g.state.deleting).count();
            if existing >= limits.max_groups {
                return Err(StoreError::GroupLimit { limit: limits.max_groups });
            }
            let record = Group {
                id: group.id,
                tenant_id: group.tenant_id,
                config: Arc::new(group.config),
                launch: Arc::new(group.launch),
                state: group.state,
                windows: None,
                created_at: now,
            };
            let mut history = group.history;
            history.group_id = record.id.clone();
            state.history.insert(new_id(), history);
            state.groups.insert(record.id.clone(), record.clone());
            let policies = state.insert_policies(record.id.as_str(), group.policies);
            Ok((record, policies))
        })
    }

    async fn list_groups(&self, tenant: &TenantId, page_of: &Page) -> Result<Vec<Group>, StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| {
            let mine = state.groups.iter().filter(|(_, g)| g.tenant_id == tenant && !g.state.deleting);
            Ok(page(mine.map(|(id, g)| (id, g.clone())), Some(page_of)))
        })
    }

    async fn get_group(&self, tenant: &TenantId, group: &GroupId) -> Result<Group, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| state.group(tenant, group).cloned())
    }

    async fn replace_launch(&self, tenant: &TenantId, group: &GroupId, launch: LaunchConfig) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| {
            state.group(tenant, group)?;
            if let Some(record) = state.groups.get_mut(group) {
                record.launch = Arc::new(launch);
            }
            Ok(())
        })
    }

    async fn group_ids(&self) -> Result<Vec<GroupId>, StoreError> {
        self.with(|state| Ok(state.groups.keys().cloned().collect()))
    }

    async fn group_by_id(&self, group: &GroupId) -> Result<Option<Group>, StoreError> {
        let group = group.as_str();
        self.with(|state| Ok(state.groups.get(group).cloned()))
    }

    async fn set_group_status(
        &self,
        group: &GroupId,
        status: GroupStatus,
        errors: Vec<String>,
    ) -> Result<(), StoreError> {
        let group = group.as_str();
        self.with(|state| {
            if let Some(record) = state.groups.get_mut(group) {
                record.state.status = status;
                record.state.errors = errors;
            }
            Ok(())
        })
    }

    async fn purge_group(&self, group: &GroupId) -> Result<(), StoreError> {
        let group = group.as_str();
        self.with(|state| {
            if !state.groups.get(group).is_some_and(|g| g.state.deleting) {
                return Ok(());
            }
            state.groups.remove(group);
            state.delete_policies(|p| p.group_id != group);
            state.members.retain(|m| m.group_id != group);
            state.window_timers.remove(group);
            state.events.retain(|(_, e)| e.group_id != group);
            state.history.retain(|_, e| e.group_id != group);
            Ok(())
        })
    }
}

#[async_trait::async_trait]
impl crate::PolicyStore for MemoryStore {
    async fn create_policies(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policies: Vec<NewPolicy>,
        limits: Limits,
        _now: Timestamp,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| {
            state.group(tenant, group)?;
            let current = state.policies.values().filter(|p| p.group_id == group).count();
            if current + policies.len() > limits.max_policies_per_group {
                return Err(StoreError::PolicyLimit {
                    current,
                    adding: policies.len(),
                    limit: limits.max_policies_per_group,
                });
            }
            let mut created = state.insert_policies(group, policies);
            created.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(created)
        })
    }

    async fn list_policies(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        page_of: Option<&Page>,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| {
            state.group(tenant, group)?;
            let mine = state.policies.iter().filter(|(_, p)| p.group_id == group);
            Ok(page(mine.map(|(id, p)| (id, p.clone())), page_of))
        })
    }

    async fn get_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
    ) -> Result<PolicyRecord, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        self.with(|state| {
            state.group(tenant, group)?;
            state.policy(group, policy).cloned().ok_or(StoreError::PolicyNotFound)
        })
    }

    async fn replace_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        body: NewPolicy,
    ) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            if let Some(record) = state.policies.get_mut(policy) {
                record.body = body.body;
                record.policy = body.policy;
            }
            state.arm_schedule(group, policy, body.next_fire);
            Ok(())
        })
    }

    async fn delete_policy(&self, tenant: &TenantId, group: &GroupId, policy: &PolicyId) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            state.delete_policies(|p| p.id != policy);
            Ok(())
        })
    }

    async fn create_webhooks(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhooks: Vec<NewWebhook>,
        limits: Limits,
        _now: Timestamp,
    ) -> Result<Vec<WebhookRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            let current = state.webhooks.values().filter(|(w, _)| w.policy_id == policy).count();
            if current + webhooks.len() > limits.max_webhooks_per_policy {
                return Err(StoreError::WebhookLimit {
                    current,
                    adding: webhooks.len(),
                    limit: limits.max_webhooks_per_policy,
                });
            }
            let mut created = Vec::with_capacity(webhooks.len());
            for webhook in webhooks {
                let record = WebhookRecord {
                    id: new_id().into(),
                    policy_id: policy.into(),
                    name: webhook.name,
                    metadata: webhook.metadata,
                };
                state.webhooks.insert(record.id.clone(), (record.clone(), webhook.capability_hash));
                created.push(record);
            }
            Ok(created)
        })
    }

    async fn list_webhooks(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        page_of: Option<&Page>,
    ) -> Result<Vec<WebhookRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            let mine = state.webhooks.iter().filter(|(_, (w, _))| w.policy_id == policy);
            Ok(page(mine.map(|(id, (w, _))| (id, w.clone())), page_of))
        })
    }

    async fn get_webhook(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhook: &WebhookId,
    ) -> Result<WebhookRecord, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        let webhook = webhook.as_str();
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            state
                .webhooks
                .get(webhook)
                .filter(|(w, _)| w.policy_id == policy)
                .map(|(w, _)| w.clone())
                .ok_or(StoreError::WebhookNotFound)
        })
    }

    async fn replace_webhook(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhook: &WebhookId,
        name: String,
        metadata: Map<String, Value>,
    ) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        let webhook = webhook.as_str();
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            match state.webhooks.get_mut(webhook).filter(|(w, _)| w.policy_id == policy) {
                Some((record, _)) => {
                    record.name = name;
                    record.metadata = metadata;
                    Ok(())
                }
                None => Err(StoreError::WebhookNotFound),
            }
        })
    }

    async fn delete_webhook(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhook: &WebhookId,
    ) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        let policy = policy.as_str();
        let webhook = webhook.as_str();
        self.with(|state| {
            state.require_policy(tenant, group, policy)?;
            match state.webhooks.get(webhook) {
                Some((record, _)) if record.policy_id == policy => {
                    state.webhooks.remove(webhook);
                    Ok(())
                }
                _ => Err(StoreError::WebhookNotFound),
            }
        })
    }

    async fn find_capability(&self, capability_hash: &str) -> Result<Option<CapabilityTarget>, StoreError> {
        self.with(|state| Ok(state.capability(capability_hash)))
    }
}

/// Loads what `subject` names; `None` when it no longer exists in that form.
fn load(
    state: &mut State,
    subject: &Subject,
) -> Result<Option<(ebb_core::decide::Snapshot, Option<PolicyId>)>, StoreError> {
    use ebb_core::decide::Snapshot;
    match subject {
        Subject::Group { tenant, group, policy, member } => {
            let record = state.group(tenant.as_str(), group.as_str())?.clone();
            if let Some(member) = member
                && !state.members.iter().any(|m| &m.id == member && &m.group_id == group)
            {
                return Err(StoreError::MemberNotFound);
            }
            let loaded = policy.as_ref().and_then(|p| state.policy(group.as_str(), p.as_str()).cloned());
            Ok(Some((Snapshot { group: record, policy: loaded, webhook: None }, policy.clone())))
        }
        Subject::Capability { hash } => {
            let Some(target) = state.capability(hash) else { return Ok(None) };
            let group = state.groups[&target.group_id].clone();
            let policy = state.policy(target.group_id.as_str(), target.policy_id.as_str()).cloned();
            Ok(Some((Snapshot { group, policy, webhook: Some(target.webhook_id) }, Some(target.policy_id))))
        }
        Subject::Schedule { policy, due } => {
            let Some((group_id, next)) = state.schedules.get(policy).cloned() else { return Ok(None) };
            if next != *due {
                return Ok(None);
            }
            let group = state.groups.get(&group_id).filter(|g| !g.state.deleting).cloned();
            let record = state.policy(group_id.as_str(), policy.as_str()).cloned();
            let (Some(group), Some(record)) = (group, record) else {
                state.arm_schedule(group_id.as_str(), policy.as_str(), None);
                return Ok(None);
            };
            Ok(Some((Snapshot { group, policy: Some(record), webhook: None }, Some(policy.clone()))))
        }
        Subject::WindowTimer { group, due } => {
            if state.window_timers.get(group) != Some(due) {
                return Ok(None);
            }
            let Some(record) = state.groups.get(group).filter(|g| !g.state.deleting).cloned() else {
                state.arm_window(group.as_str(), None);
                return Ok(None);
            };
            Ok(Some((Snapshot { group: record, policy: None, webhook: None }, None)))
        }
    }
}

#[async_trait::async_trait]
impl crate::DecisionStore for MemoryStore {
    async fn decide(&self, subject: Subject, decide: crate::Decide) -> Result<Option<Committed>, StoreError> {
        self.with(|state| {
            let Some((snapshot, policy_id)) = load(state, &subject)? else { return Ok(None) };
            let decision = decide(&snapshot)?;
            let group = &snapshot.group;
            if let Some(changed) = &decision.group {
                // Status is convergence's to record, not a decision's.
                let mut changed = changed.clone();
                changed.state.status = state.groups[&group.id].state.status;
                changed.state.errors = state.groups[&group.id].state.errors.clone();
                state.groups.insert(group.id.clone(), changed);
            }
            if let Some((policy, at)) = &decision.policy_touched
                && let Some(record) = state.policies.get_mut(policy)
            {
                record.touched_at = Some(*at);
            }
            if let Some((policy, next)) = &decision.schedule {
                state.arm_schedule(group.id.as_str(), policy.as_str(), *next);
            }
            if let Some(next) = decision.window_timer {
                state.arm_window(group.id.as_str(), next);
            }
            for entry in &decision.history {
                state.history.insert(new_id(), entry.clone());
            }
            for event in &decision.events {
                state.events.push((new_id(), event.clone()));
            }
            Ok(Some(Committed {
                tenant_id: group.tenant_id.clone(),
                group_id: group.id.clone(),
                policy_id,
                webhook_id: snapshot.webhook.clone(),
                launch_kind: group.launch.kind,
                decision,
            }))
        })
    }
}

#[async_trait::async_trait]
impl crate::MemberStore for MemoryStore {
    async fn insert_member(&self, member: MemberRecord) -> Result<(), StoreError> {
        self.with(|state| {
            state.members.push(member);
            state.members.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            Ok(())
        })
    }

    async fn set_member_reference(&self, member: &MemberId, reference: Value) -> Result<(), StoreError> {
        let member = member.as_str();
        self.with(|state| {
            if let Some(record) = state.members.iter_mut().find(|m| m.id == member) {
                record.reference = reference;
            }
            Ok(())
        })
    }

    async fn delete_member(&self, member: &MemberId) -> Result<(), StoreError> {
        let member = member.as_str();
        self.with(|state| {
            state.members.retain(|m| m.id != member);
            Ok(())
        })
    }

    async fn list_members(&self, group: Option<&GroupId>) -> Result<Vec<MemberRecord>, StoreError> {
        let group = group.map(|id| id.as_str());
        self.with(|state| Ok(state.members.iter().filter(|m| group.is_none_or(|g| m.group_id == g)).cloned().collect()))
    }
}

#[async_trait::async_trait]
impl crate::ScheduleStore for MemoryStore {
    async fn next_schedule(&self) -> Result<Option<Timestamp>, StoreError> {
        self.with(|state| {
            let schedules = state.schedules.values().map(|(_, at)| *at);
            Ok(schedules.chain(state.window_timers.values().copied()).min())
        })
    }

    async fn due_schedules(&self, until: Timestamp, limit: usize) -> Result<Vec<DueSchedule>, StoreError> {
        self.with(|state| {
            let mut due: Vec<DueSchedule> = state
                .schedules
                .iter()
                .filter(|(_, (_, at))| *at <= until)
                .map(|(policy, (group, at))| DueSchedule {
                    policy_id: policy.clone(),
                    group_id: group.clone(),
                    due: *at,
                })
                .collect();
            due.sort_by(|a, b| (a.due, &a.policy_id).cmp(&(b.due, &b.policy_id)));
            due.truncate(limit);
            Ok(due)
        })
    }

    async fn due_windows(&self, until: Timestamp, limit: usize) -> Result<Vec<(GroupId, Timestamp)>, StoreError> {
        self.with(|state| {
            let mut due: Vec<(GroupId, Timestamp)> =
                state.window_timers.iter().filter(|(_, at)| **at <= until).map(|(g, at)| (g.clone(), *at)).collect();
            due.sort_by_key(|(group, at)| (*at, group.clone()));
            due.truncate(limit);
            Ok(due)
        })
    }

    async fn disarm_schedule(&self, policy: &PolicyId) -> Result<(), StoreError> {
        let policy = policy.as_str();
        self.with(|state| {
            state.schedules.remove(policy);
            Ok(())
        })
    }

    async fn list_schedules(
        &self,
        tenant: &TenantId,
        group: Option<&GroupId>,
    ) -> Result<Vec<ScheduleEntry>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.map(|id| id.as_str());
        self.with(|state| {
            if let Some(group) = group {
                state.group(tenant, group)?;
            }
            let mut entries: Vec<ScheduleEntry> = state
                .schedules
                .iter()
                .filter_map(|(policy, (group_id, at))| {
                    let owner = state.groups.get(group_id)?;
                    let wanted =
                        owner.tenant_id == tenant && !owner.state.deleting && group.is_none_or(|g| group_id == g);
                    wanted.then(|| ScheduleEntry {
                        group_id: group_id.clone(),
                        policy: state.policies[policy].clone(),
                        next_fire: *at,
                    })
                })
                .collect();
            entries.sort_by(|a, b| (a.next_fire, &a.policy.id).cmp(&(b.next_fire, &b.policy.id)));
            Ok(entries)
        })
    }

    async fn window_timers(&self, tenant: &TenantId) -> Result<Vec<WindowTimer>, StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| {
            let mut timers: Vec<WindowTimer> = state
                .window_timers
                .iter()
                .filter_map(|(group_id, at)| {
                    let group = state.groups.get(group_id).filter(|g| g.tenant_id == tenant && !g.state.deleting)?;
                    Some(WindowTimer { group_id: group_id.clone(), windows: group.windows.clone()?, next_change: *at })
                })
                .collect();
            timers.sort_by_key(|timer| timer.next_change);
            Ok(timers)
        })
    }

    async fn list_events(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        limit: usize,
    ) -> Result<Vec<GroupEvent>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| {
            state.group(tenant, group)?;
            let mut events: Vec<&(String, GroupEvent)> =
                state.events.iter().filter(|(_, e)| e.group_id == group).collect();
            events.sort_by(|a, b| (b.1.at, &b.0).cmp(&(a.1.at, &a.0)));
            Ok(events.into_iter().take(limit).map(|(_, e)| e.clone()).collect())
        })
    }
}

#[async_trait::async_trait]
impl crate::HistoryStore for MemoryStore {
    async fn list_history(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        query: &HistoryQuery,
    ) -> Result<Vec<HistoryRecord>, StoreError> {
        let tenant = tenant.as_str();
        let group = group.as_str();
        self.with(|state| {
            state.group(tenant, group)?;
            Ok(state
                .history
                .iter()
                .rev()
                .filter(|(id, entry)| {
                    entry.group_id == group
                        && query.page.marker.as_ref().is_none_or(|marker| *id < marker)
                        && query.since.is_none_or(|since| entry.at >= since)
                        && query.until.is_none_or(|until| entry.at < until)
                        && query.source.is_none_or(|source| entry.source == source)
                })
                .take(query.page.limit)
                .map(|(id, entry)| HistoryRecord { id: id.clone(), entry: entry.clone() })
                .collect())
        })
    }

    async fn prune_history(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        self.with(|state| {
            let mut old: Vec<(Timestamp, String)> =
                state.history.iter().filter(|(_, e)| e.at < before).map(|(id, e)| (e.at, id.clone())).collect();
            old.sort();
            old.truncate(limit);
            for (_, id) in &old {
                state.history.remove(id);
            }
            Ok(old.len())
        })
    }
}
