//! [`Engine`]: the only caller of decisions.
//!
//! Every operation that changes a group goes through here: the engine picks the decision of
//! `ebb_core::decide`, has the store run and commit it on a snapshot in one transaction, and
//! then, in one place ([`Engine::commit`]), logs it, counts it and asks for convergence with a
//! trigger that says what happened. API executions, capability URLs, the scheduler, window
//! changes and member removal all take this path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ebb_core::capacity::Refusal;
use ebb_core::decide::{self, Outcome as Decided, Pause};
use ebb_core::grant::LocalProcessGrant;
use ebb_core::group::GroupConfig;
use ebb_core::ids::{GroupId, MemberId, PolicyId, TenantId};
use ebb_core::launch::{LaunchConfig, LaunchKind};
use ebb_core::limits::Limits;
use ebb_core::policy::Policy;
use ebb_core::records::{Execution, Group, GroupWindows, PolicyRecord, Source};
use ebb_store::{Committed, Decide, NewGroup, NewPolicy, Page, Store, StoreError, Subject};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use tokio::sync::{Notify, Semaphore};

use crate::clock::Clock;
use crate::converger::{Converger, Observation, Trigger};
use crate::metrics::{EngineMetrics, Outcome};
use crate::samples::{SampleSettings, Samples};
use crate::throttled::Throttled;

/// A policy to create: its body as submitted and validated.
#[derive(Debug, Clone)]
pub struct PolicyBody {
    /// As submitted.
    pub body: Value,
    /// Validated.
    pub policy: Policy,
}

/// A group to create.
#[derive(Debug, Clone)]
pub struct GroupRequest {
    /// The tenant that will own it.
    pub tenant_id: TenantId,
    /// Its validated configuration.
    pub config: GroupConfig,
    /// Its validated launch configuration.
    pub launch: LaunchConfig,
    /// Policies to create with it.
    pub policies: Vec<PolicyBody>,
}

/// Changes groups through the store, with the time of its clock, and has them converged.
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: EngineMetrics,
    converger: Arc<Converger>,
    schedules_changed: Arc<Notify>,
    unknown_capabilities: Throttled,
    /// Capability executions accepted and not yet committed; when none is left, the next
    /// caller waits for one before it is answered.
    pending_capabilities: Arc<Semaphore>,
    /// Every group's samples, and what evaluating its rules needs.
    pub(crate) samples: Samples,
    /// The collectors running.
    pub(crate) collectors: crate::collectors::Collectors,
}

/// The most capability executions accepted and not yet committed. Beyond it, callers are
/// answered once there is room: a flood of capability calls slows its callers down instead
/// of piling up tasks and memory, or timing out in the store's queue.
pub const PENDING_CAPABILITIES: usize = 1024;

impl Engine {
    /// An engine over `store`, reading time from `clock` and converging through `converger`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        metrics: EngineMetrics,
        converger: Arc<Converger>,
    ) -> Self {
        Engine {
            store,
            clock,
            metrics,
            converger,
            schedules_changed: Arc::new(Notify::new()),
            unknown_capabilities: Throttled::new(Duration::from_secs(1)),
            pending_capabilities: Arc::new(Semaphore::new(PENDING_CAPABILITIES)),
            samples: Samples::new(SampleSettings::default()),
            collectors: crate::collectors::Collectors::default(),
        }
    }

    /// The same engine with these metric store settings.
    pub fn with_sample_settings(mut self, settings: SampleSettings) -> Self {
        self.samples = Samples::new(settings);
        self
    }

    /// The store the engine writes to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The engine's counters.
    pub fn metrics(&self) -> &EngineMetrics {
        &self.metrics
    }

    /// The converger.
    pub fn converger(&self) -> &Arc<Converger> {
        &self.converger
    }

    /// Notified whenever schedules or windows are created, changed or deleted.
    pub fn schedules_changed(&self) -> &Arc<Notify> {
        &self.schedules_changed
    }

    /// What the last convergence pass observed of a group.
    pub fn observation(&self, group: &GroupId) -> Observation {
        self.converger.observation(group.as_str())
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn new_policy(&self, body: PolicyBody, now: Timestamp) -> NewPolicy {
        let next_fire = decide::arm_schedule(&body.policy, now);
        NewPolicy { body: body.body, policy: body.policy, next_fire }
    }

    /// Creates a group at its minimum, with its policies, and starts converging it.
    pub async fn create_group(
        &self,
        request: GroupRequest,
        limits: Limits,
    ) -> Result<(Group, Vec<PolicyRecord>), StoreError> {
        let now = self.now();
        let id = GroupId::generate();
        let (state, history) = decide::create_group(&id, &request.config, now);
        let policies = request.policies.into_iter().map(|body| self.new_policy(body, now)).collect();
        let new = NewGroup {
            id,
            tenant_id: request.tenant_id,
            config: request.config,
            launch: request.launch,
            state,
            history,
            policies,
        };
        let created = self.store.create_group(new, limits, now).await?;
        tracing::info!(tenant = %created.0.tenant_id, group = %created.0.id, desired = created.0.state.desired, "group created");
        self.converger.trigger(created.0.id.as_str(), Trigger::Created);
        self.schedules_changed.notify_one();
        if created.1.iter().any(|p| p.policy.metric().is_some()) {
            self.refresh_metric_policies(&created.0.tenant_id, &created.0.id).await?;
        }
        Ok(created)
    }

    /// Creates policies in a group, all or none; schedule policies are armed.
    pub async fn create_policies(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        bodies: Vec<PolicyBody>,
        limits: Limits,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let now = self.now();
        let policies = bodies.into_iter().map(|body| self.new_policy(body, now)).collect();
        let created = self.store.create_policies(tenant, group, policies, limits, now).await?;
        self.schedules_changed.notify_one();
        if created.iter().any(|p| p.policy.metric().is_some()) {
            self.refresh_metric_policies(tenant, group).await?;
        }
        Ok(created)
    }

    /// Replaces a policy; a schedule policy is re-armed from its new definition.
    pub async fn replace_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        body: PolicyBody,
    ) -> Result<(), StoreError> {
        let new = self.new_policy(body, self.now());
        self.store.replace_policy(tenant, group, policy, new).await?;
        self.schedules_changed.notify_one();
        self.refresh_metric_policies(tenant, group).await
    }

    /// Deletes a policy, its webhooks and its schedule.
    pub async fn delete_policy(&self, tenant: &TenantId, group: &GroupId, policy: &PolicyId) -> Result<(), StoreError> {
        self.store.delete_policy(tenant, group, policy).await?;
        self.schedules_changed.notify_one();
        self.refresh_metric_policies(tenant, group).await
    }

    /// Replaces a group's launch configuration; existing members are left as they are, and
    /// members started from now on use it.
    pub async fn replace_launch(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        launch: LaunchConfig,
    ) -> Result<(), StoreError> {
        self.store.replace_launch(tenant, group, launch).await?;
        // What the metric store knows of the group includes its members' quotas.
        if let Ok(stored) = self.store.get_group(tenant, group).await {
            self.samples.refresh(&stored, self.now());
        }
        Ok(())
    }

    /// Replaces what a tenant may run as `local_process` members and converges every group of
    /// the tenant, so that members no longer allowed are stopped and newly allowed ones start.
    pub async fn set_local_process(&self, tenant: &TenantId, grant: LocalProcessGrant) -> Result<(), StoreError> {
        self.store.set_local_process(tenant, grant).await?;
        self.converge_tenant(tenant).await
    }

    /// Replaces (or, with `None`, removes) a tenant's cloud settings and converges every
    /// group of the tenant, so that a group in `ERROR` for its cloud's sake tries again.
    pub async fn set_cloud(
        &self,
        tenant: &TenantId,
        settings: Option<ebb_core::cloud::settings::CloudSettings>,
    ) -> Result<(), StoreError> {
        self.store.set_cloud(tenant, settings).await?;
        self.converge_tenant(tenant).await
    }

    /// Converges every group of a tenant, after what the operator lets it run changed.
    async fn converge_tenant(&self, tenant: &TenantId) -> Result<(), StoreError> {
        let mut page = Page { marker: None, limit: ebb_core::limits::PAGE_LIMIT };
        loop {
            let groups = self.store.list_groups(tenant, &page).await?;
            for group in &groups {
                self.converger.trigger(group.id.as_str(), Trigger::GrantChanged);
            }
            match groups.last() {
                Some(last) if groups.len() == page.limit => page.marker = Some(last.id.to_string()),
                _ => return Ok(()),
            }
        }
    }

    /// Converges a group now (`POST .../converge`).
    pub fn converge(&self, group: &GroupId) {
        self.converger.trigger(group.as_str(), Trigger::Converge);
    }

    pub(crate) fn group(tenant: &TenantId, group: &GroupId) -> Subject {
        Subject::Group { tenant: tenant.clone(), group: group.clone(), policy: None, member: None }
    }

    /// Has the store run `decide` on `subject` and commit it; then, in this one place, logs
    /// and counts what happened and asks for convergence.
    pub async fn commit(
        &self,
        subject: Subject,
        source: Source,
        decide: Decide,
    ) -> Result<Option<Committed>, StoreError> {
        let execution = is_execution(&subject);
        let result = self.store.decide(subject, decide).await;
        match &result {
            Ok(Some(committed)) => self.committed(source, committed),
            Ok(None) => {}
            Err(StoreError::GroupNotFound | StoreError::PolicyNotFound) if execution => {
                self.metrics.execution(source, Outcome::NotFound);
            }
            Err(err @ (StoreError::Corrupt(_) | StoreError::Backend { .. } | StoreError::Closed)) => {
                if execution {
                    self.metrics.execution(source, Outcome::Failed);
                }
                tracing::error!(source = source.as_str(), error = %err, "decision failed");
            }
            Err(_) => {}
        }
        result
    }

    fn committed(&self, source: Source, committed: &Committed) {
        let (tenant, group) = (committed.tenant_id.as_str(), committed.group_id.as_str());
        let policy = committed.policy_id.as_ref().map_or("", PolicyId::as_str);
        let execution = match committed.decision.outcome {
            Decided::Execution(execution) | Decided::Schedule(Some(execution)) => Some(execution),
            Decided::Schedule(None) | Decided::Capacity { .. } => None,
        };
        for entry in &committed.decision.history {
            if entry.from != entry.to {
                tracing::info!(tenant, group, policy, source = source.as_str(), from = entry.from, to = entry.to, reason = %entry.reason, "desired capacity changed");
            } else {
                tracing::debug!(tenant, group, policy, source = source.as_str(), reason = %entry.reason, "decision changed nothing");
            }
        }
        if let Some(group) = &committed.decision.group {
            self.samples.refresh(group, self.now());
        }
        for event in &committed.decision.events {
            tracing::info!(tenant, group, policy, kind = event.kind.as_str(), message = %event.message, "group event");
        }
        let counted = match (committed.decision.outcome, execution) {
            (Decided::Capacity { .. }, _) => None,
            (_, Some(Execution::Scaled { .. })) => Some(Outcome::Scaled),
            (_, Some(Execution::Refused(Refusal::Cooldown))) => Some(Outcome::Cooldown),
            (_, Some(Execution::Refused(Refusal::NoChange | Refusal::NotExecutable))) => Some(Outcome::NoChange),
            // Paused, or a schedule skipped because it was missed.
            (_, Some(Execution::Paused | Execution::DirectionPaused(_)) | None) => Some(Outcome::Paused),
        };
        if let Some(outcome) = counted {
            self.metrics.execution(source, outcome);
        }
        // Even an execution that changed nothing converges the group (Otter §4.2 step 8);
        // a paused group is not executed, and a missed schedule did nothing. A group whose
        // members nothing here runs has nothing to converge: its pass would only say so again.
        let converge = match committed.decision.outcome {
            Decided::Execution(Execution::Paused) | Decided::Schedule(None | Some(Execution::Paused)) => false,
            Decided::Execution(Execution::DirectionPaused(_))
            | Decided::Schedule(Some(Execution::DirectionPaused(_))) => false,
            Decided::Execution(_) | Decided::Schedule(Some(_)) => true,
            Decided::Capacity { .. } => committed.decision.group.is_some(),
        };
        if converge && self.converger.runs(committed.launch_kind) {
            self.converger.trigger(group, Trigger::Decision(source));
        }
        if committed.decision.schedule.is_some() || committed.decision.window_timer.is_some() {
            self.schedules_changed.notify_one();
        }
    }

    /// Executes a policy on behalf of an API caller.
    pub async fn execute_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
    ) -> Result<Execution, StoreError> {
        let now = self.now();
        let subject =
            Subject::Group { tenant: tenant.clone(), group: group.clone(), policy: Some(policy.clone()), member: None };
        let committed = self
            .commit(subject, Source::Api, Box::new(move |snapshot| decide::execute_policy(snapshot, Source::Api, now)))
            .await?;
        match committed.map(|c| c.decision.outcome) {
            Some(Decided::Execution(execution)) => Ok(execution),
            _ => Err(StoreError::GroupNotFound),
        }
    }

    /// Accepts the execution of the policy behind a capability URL, given the hash of its
    /// secret: it runs in the background, and this returns once it is under way (at once,
    /// unless [`PENDING_CAPABILITIES`] are already waiting to commit).
    pub async fn accept_capability(self: &Arc<Self>, capability_hash: String) {
        let Ok(permit) = self.pending_capabilities.clone().acquire_owned().await else { return };
        let engine = self.clone();
        tokio::spawn(async move {
            engine.execute_capability(&capability_hash).await;
            drop(permit);
        });
    }

    /// Executes the policy behind a capability URL, given the hash of its secret.
    ///
    /// Every outcome, including an unknown capability, is only logged and counted: a
    /// capability caller learns nothing about what happened.
    pub async fn execute_capability(&self, capability_hash: &str) {
        let now = self.now();
        let subject = Subject::Capability { hash: capability_hash.to_string() };
        let decide: Decide = Box::new(move |snapshot| decide::execute_policy(snapshot, Source::Capability, now));
        if let Ok(None) = self.commit(subject, Source::Capability, decide).await {
            self.unknown_capability();
        }
    }

    /// Counts a capability URL that executes nothing (unknown, deleted or malformed), and logs
    /// such calls at most once a second, with their number: anyone can make them.
    pub fn unknown_capability(&self) {
        self.metrics.execution(Source::Capability, Outcome::NotFound);
        if let Some(count) = self.unknown_capabilities.hit(Instant::now()) {
            tracing::info!(count, "capability executions for unknown capabilities");
        }
    }

    /// Fires a schedule that was due at `due`; `None` when it was no longer due then.
    pub async fn fire_schedule(
        &self,
        policy: &PolicyId,
        due: Timestamp,
        grace: SignedDuration,
    ) -> Result<Option<Committed>, StoreError> {
        let now = self.now();
        let subject = Subject::Schedule { policy: policy.clone(), due };
        let result = self
            .commit(
                subject,
                Source::Schedule,
                Box::new(move |snapshot| decide::fire_schedule(snapshot, due, now, grace)),
            )
            .await;
        if let Err(StoreError::Corrupt(_)) = &result {
            // A schedule that cannot be read would be due forever: it is disarmed, and said so.
            tracing::error!(policy = %policy, "schedule disarmed: its policy cannot be read");
            self.store.disarm_schedule(policy).await?;
        }
        result
    }

    /// Applies a group's window change that was due at `due`; `None` when it was no longer due.
    pub async fn fire_window(&self, group: &GroupId, due: Timestamp) -> Result<Option<Committed>, StoreError> {
        let now = self.now();
        let subject = Subject::WindowTimer { group: group.clone(), due };
        // The source of each history entry is the window's start or end.
        self.commit(
            subject,
            Source::WindowStart,
            Box::new(move |snapshot| Ok(decide::apply_windows(&snapshot.group, now))),
        )
        .await
    }

    /// Replaces a group's configuration (re-clamping desired capacity) and converges it.
    pub async fn replace_config(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        config: GroupConfig,
    ) -> Result<Group, StoreError> {
        let now = self.now();
        let decide: Decide = Box::new(move |snapshot| Ok(decide::replace_config(&snapshot.group, config, now)));
        let committed = self.commit(Self::group(tenant, group), Source::Bounds, decide).await?;
        committed.and_then(|c| c.decision.group).ok_or(StoreError::GroupNotFound)
    }

    /// Replaces (or removes) a group's time windows; the window in force now is applied and
    /// the group converged.
    pub async fn replace_windows(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        windows: Option<GroupWindows>,
    ) -> Result<Group, StoreError> {
        let now = self.now();
        let decide: Decide = Box::new(move |snapshot| Ok(decide::replace_windows(&snapshot.group, windows, now)));
        let committed = self.commit(Self::group(tenant, group), Source::Bounds, decide).await?;
        committed.and_then(|c| c.decision.group).ok_or(StoreError::GroupNotFound)
    }

    /// Pauses a group (both directions or one) or resumes it; resuming converges it.
    pub async fn set_pause(&self, tenant: &TenantId, group: &GroupId, pause: Pause) -> Result<(), StoreError> {
        let decide: Decide = Box::new(move |snapshot| Ok(decide::set_pause(&snapshot.group, pause)));
        self.commit(Self::group(tenant, group), Source::Api, decide).await?;
        Ok(())
    }

    /// Deletes a group: it disappears from the API at once; its members are drained and
    /// stopped, then it is removed.
    pub async fn delete_group(&self, tenant: &TenantId, group: &GroupId, force: bool) -> Result<(), StoreError> {
        let now = self.now();
        let decide: Decide = Box::new(move |snapshot| decide::delete_group(&snapshot.group, force, now));
        self.commit(Self::group(tenant, group), Source::Convergence, decide).await?;
        self.converger.trigger(group.as_str(), Trigger::Deleted);
        self.collectors.stop_group(group);
        tracing::info!(%tenant, %group, force, "group deleted");
        Ok(())
    }

    /// Whether `token`, issued by the tenant's cloud identity, may act for the tenant (its
    /// cloud settings accept identity tokens, and identity vouches for it).
    pub async fn accepts_identity_token(
        &self,
        tenant: &TenantId,
        token: &str,
    ) -> Result<bool, crate::provider::cloud::tenant::AcceptError> {
        match self.converger.clouds() {
            Some(clouds) => clouds.accepts_token(tenant, token).await,
            None => Ok(false),
        }
    }

    /// Removes a member: with `replace`, a new one takes its place; with `purge`, it is
    /// drained and stopped, otherwise it keeps running, no longer managed. A `launch_server`
    /// group's member is a server of its cloud, looked up there first (Otter §4.8).
    pub async fn remove_member(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        member: &MemberId,
        replace: bool,
        purge: bool,
    ) -> Result<(), RemovalError> {
        let now = self.now();
        let id = member.to_string();
        let decide: Decide = Box::new(move |snapshot| decide::remove_member(&snapshot.group, &id, replace, now));
        let record = self.store.get_group(tenant, group).await?;
        if record.launch.kind == LaunchKind::Server && self.converger.runs(LaunchKind::Server) {
            let server = self.converger.cloud_server(&record, member.as_str()).await.map_err(RemovalError::Cloud)?;
            let server = server.ok_or(StoreError::MemberNotFound)?;
            // Refused before the server is touched; marked before desired capacity changes, so
            // that the pass the change triggers removes this server and no other.
            decide::remove_member(&record, member.as_str(), replace, now).map_err(StoreError::from)?;
            self.converger.release_server(&record, &server, purge).await.map_err(RemovalError::Cloud)?;
            self.commit(Self::group(tenant, group), Source::MemberRemoved, decide).await?;
            self.converger.trigger(group.as_str(), Trigger::MemberRemoved);
            return Ok(());
        }
        let subject =
            Subject::Group { tenant: tenant.clone(), group: group.clone(), policy: None, member: Some(member.clone()) };
        self.commit(subject, Source::MemberRemoved, decide).await?;
        if purge {
            self.converger.remove_member(group, member);
        } else {
            self.converger.disown_member(group, member).await?;
        }
        Ok(())
    }
}

/// Why a member could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum RemovalError {
    /// The store refused or failed (no such group or member, below the minimum, …).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The group's cloud could not be asked about the server, or could not mark it.
    #[error("the cloud could not be asked about the server: {0}")]
    Cloud(crate::provider::cloud::CloudError),
}

/// Whether a decision on `subject` is a policy execution (counted in `ebb_policy_executions_total`).
fn is_execution(subject: &Subject) -> bool {
    match subject {
        Subject::Group { policy, .. } => policy.is_some(),
        Subject::Capability { .. } | Subject::Schedule { .. } => true,
        Subject::WindowTimer { .. } => false,
    }
}
