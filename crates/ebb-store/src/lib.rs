//! Ebb's durable store: the [`Store`] traits, the records they read and write, and the SQLite
//! implementation.
//!
//! This is the only crate that contains SQL. It commits; it does not decide: every change of
//! a group's desired capacity, pause, bounds, windows or timers is a [`Decision`] made by a
//! pure function of `ebb_core::decide` on a snapshot the store loads, which the store runs and
//! writes, with its history entries and events, in one transaction
//! ([`DecisionStore::decide`]). The traits are split by concern; [`Store`] is all of them.
//!
//! Layout:
//! - [`model`]: the records the store reads and writes (the group records are `ebb_core`'s);
//! - [`error`]: the errors ([`StoreError`]);
//! - [`metrics`]: per-operation latency histograms;
//! - `sqlite`: [`SqliteStore`], with a single writer that commits in groups;
//! - `postgres`: [`PostgresStore`], row locks where SQLite has its single writer, a pool of
//!   connections, for several nodes sharing one database;
//! - `memory`: [`MemoryStore`], the same in memory, for virtual-time tests and simulations.

mod clouds;
pub mod error;
mod memory;
pub mod metrics;
pub mod model;
mod postgres;
mod sqlite;
mod stored;

use std::sync::Arc;

use ebb_core::decide::{Decision, Rejection, Snapshot};
use ebb_core::grant::LocalProcessGrant;
use ebb_core::launch::LaunchConfig;
use ebb_core::limits::Limits;
use jiff::Timestamp;

pub use clouds::CloudStore;
pub use error::StoreError;
pub use memory::MemoryStore;
pub use metrics::StoreMetrics;
pub use model::*;
pub use postgres::{PostgresPool, PostgresStore};
pub use sqlite::{ReadPool, SqliteStore};

/// Tenants, their tokens, and what they may run.
#[async_trait::async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates a tenant; [`StoreError::TenantExists`] if the id is taken.
    async fn create_tenant(&self, id: &TenantId, now: Timestamp) -> Result<Tenant, StoreError>;
    /// All tenants, by id.
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// Whether a tenant exists.
    async fn tenant_exists(&self, id: &TenantId) -> Result<bool, StoreError>;
    /// Replaces what a tenant may run as `local_process` members.
    async fn set_local_process(&self, tenant: &TenantId, grant: LocalProcessGrant) -> Result<(), StoreError>;
    /// What a tenant may run as `local_process` members (nothing, until the operator says).
    async fn local_process(&self, tenant: &TenantId) -> Result<LocalProcessGrant, StoreError>;
    /// Stores a token of a tenant by the hash of its secret.
    async fn create_token(
        &self,
        tenant: &TenantId,
        role: Role,
        secret_hash: &str,
        now: Timestamp,
    ) -> Result<Token, StoreError>;
    /// Revokes a token of a tenant.
    async fn delete_token(&self, tenant: &TenantId, token: &str) -> Result<(), StoreError>;
    /// The token whose secret hashes to `secret_hash`, if any.
    async fn find_token(&self, secret_hash: &str) -> Result<Option<Token>, StoreError>;
}

/// Groups: created, read, their launch configuration, and what convergence records.
#[async_trait::async_trait]
pub trait GroupStore: Send + Sync {
    /// Creates a group with its state, first history entry and initial policies, all or
    /// nothing; [`StoreError::GroupLimit`] when the tenant has as many as allowed.
    async fn create_group(
        &self,
        group: NewGroup,
        limits: Limits,
        now: Timestamp,
    ) -> Result<(Group, Vec<PolicyRecord>), StoreError>;
    /// A page of a tenant's groups, ascending by id.
    async fn list_groups(&self, tenant: &TenantId, page: &Page) -> Result<Vec<Group>, StoreError>;
    /// One group of a tenant.
    async fn get_group(&self, tenant: &TenantId, group: &GroupId) -> Result<Group, StoreError>;
    /// Replaces a group's launch configuration.
    async fn replace_launch(&self, tenant: &TenantId, group: &GroupId, launch: LaunchConfig) -> Result<(), StoreError>;
    /// Sets (or, with `None`, revokes) a group's metric credential.
    async fn set_metric_credential(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        credential: Option<MetricCredential>,
    ) -> Result<(), StoreError>;
    /// The ids of every group, those being deleted included (for convergence).
    async fn group_ids(&self) -> Result<Vec<GroupId>, StoreError>;
    /// A group by id alone, also while it is being deleted (for convergence).
    async fn group_by_id(&self, group: &GroupId) -> Result<Option<Group>, StoreError>;
    /// Records the outcome of a convergence pass.
    async fn set_group_status(
        &self,
        group: &GroupId,
        status: GroupStatus,
        errors: Vec<String>,
    ) -> Result<(), StoreError>;
    /// Removes a group that is being deleted, once its members are gone.
    async fn purge_group(&self, group: &GroupId) -> Result<(), StoreError>;
}

/// Policies and webhooks.
#[async_trait::async_trait]
pub trait PolicyStore: Send + Sync {
    /// Creates policies in a group (each armed at its next fire time), all or none.
    async fn create_policies(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policies: Vec<NewPolicy>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<PolicyRecord>, StoreError>;
    /// A group's policies, ascending by id: one page, or all of them when `page` is `None`.
    async fn list_policies(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        page: Option<&Page>,
    ) -> Result<Vec<PolicyRecord>, StoreError>;
    /// One policy of a group.
    async fn get_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
    ) -> Result<PolicyRecord, StoreError>;
    /// Replaces a policy's body, and its next fire time.
    async fn replace_policy(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        body: NewPolicy,
    ) -> Result<(), StoreError>;
    /// Deletes a policy, its webhooks and its schedule.
    async fn delete_policy(&self, tenant: &TenantId, group: &GroupId, policy: &PolicyId) -> Result<(), StoreError>;
    /// Creates webhooks on a policy, all or none.
    async fn create_webhooks(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhooks: Vec<NewWebhook>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<WebhookRecord>, StoreError>;
    /// A policy's webhooks, ascending by id: one page, or all of them when `page` is `None`.
    async fn list_webhooks(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        page: Option<&Page>,
    ) -> Result<Vec<WebhookRecord>, StoreError>;
    /// One webhook of a policy.
    async fn get_webhook(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhook: &WebhookId,
    ) -> Result<WebhookRecord, StoreError>;
    /// Replaces a webhook's name and metadata.
    async fn replace_webhook(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhook: &WebhookId,
        name: String,
        metadata: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), StoreError>;
    /// Deletes a webhook; its capability URL stops working.
    async fn delete_webhook(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        policy: &PolicyId,
        webhook: &WebhookId,
    ) -> Result<(), StoreError>;
    /// What a capability URL executes, by the hash of its secret.
    async fn find_capability(&self, capability_hash: &str) -> Result<Option<CapabilityTarget>, StoreError>;
}

/// Collectors of groups.
#[async_trait::async_trait]
pub trait CollectorStore: Send + Sync {
    /// Creates collectors in a group, all or none; [`StoreError::CollectorLimit`] past the
    /// limit per group.
    async fn create_collectors(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collectors: Vec<NewCollector>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<CollectorRecord>, StoreError>;
    /// A group's collectors, ascending by id: one page, or all of them when `page` is `None`.
    async fn list_collectors(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        page: Option<&Page>,
    ) -> Result<Vec<CollectorRecord>, StoreError>;
    /// One collector of a group.
    async fn get_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
    ) -> Result<CollectorRecord, StoreError>;
    /// Replaces a collector's document.
    async fn replace_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
        body: NewCollector,
        now: Timestamp,
    ) -> Result<CollectorRecord, StoreError>;
    /// Deletes a collector.
    async fn delete_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
    ) -> Result<(), StoreError>;
    /// The collectors of `group`, or of every group not being deleted, ascending by id.
    async fn all_collectors(&self, group: Option<&GroupId>) -> Result<Vec<CollectorRecord>, StoreError>;
}

/// The one write path of decisions.
#[async_trait::async_trait]
pub trait DecisionStore: Send + Sync {
    /// In one transaction: loads the snapshot `subject` names, runs `decide` on it, and
    /// writes what the decision returns (the group, the policy's cooldown, the schedule and
    /// window timers, history entries and events). `None` when the subject no longer exists
    /// in the form asked for (an unknown capability, a schedule or window timer no longer due
    /// at that time: so a due time takes effect at most once). A refusal of the decision
    /// writes nothing and is [`StoreError::Rejected`].
    async fn decide(&self, subject: Subject, decide: Decide) -> Result<Option<Committed>, StoreError>;
}

/// Members, as recorded before they are started.
#[async_trait::async_trait]
pub trait MemberStore: Send + Sync {
    /// Records a member before it is started, so that it is never left unmanaged.
    async fn insert_member(&self, member: MemberRecord) -> Result<(), StoreError>;
    /// Records what the provider says identifies a started member.
    async fn set_member_reference(&self, member: &MemberId, reference: serde_json::Value) -> Result<(), StoreError>;
    /// Forgets a member that is gone.
    async fn delete_member(&self, member: &MemberId) -> Result<(), StoreError>;
    /// The members of a group, or of every group, oldest first.
    async fn list_members(&self, group: Option<&GroupId>) -> Result<Vec<MemberRecord>, StoreError>;
}

/// The timers of schedules and windows, and the events they leave.
#[async_trait::async_trait]
pub trait ScheduleStore: Send + Sync {
    /// The earliest armed time of any schedule or window change.
    async fn next_schedule(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Schedules due at or before `until`, earliest first.
    async fn due_schedules(&self, until: Timestamp, limit: usize) -> Result<Vec<DueSchedule>, StoreError>;
    /// Groups whose next window change is due at or before `until`, with that time.
    async fn due_windows(&self, until: Timestamp, limit: usize) -> Result<Vec<(GroupId, Timestamp)>, StoreError>;
    /// Disarms a schedule that cannot fire (its policy no longer reads as a schedule).
    async fn disarm_schedule(&self, policy: &PolicyId) -> Result<(), StoreError>;
    /// A tenant's schedule policies with their next fire times, of one group or of all.
    async fn list_schedules(
        &self,
        tenant: &TenantId,
        group: Option<&GroupId>,
    ) -> Result<Vec<ScheduleEntry>, StoreError>;
    /// A tenant's groups with windows: their windows and next change time.
    async fn window_timers(&self, tenant: &TenantId) -> Result<Vec<WindowTimer>, StoreError>;
    /// A group's events, newest first.
    async fn list_events(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        limit: usize,
    ) -> Result<Vec<GroupEvent>, StoreError>;
}

/// The history of desired capacity.
#[async_trait::async_trait]
pub trait HistoryStore: Send + Sync {
    /// A page of a group's history, newest first.
    async fn list_history(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        query: &HistoryQuery,
    ) -> Result<Vec<HistoryRecord>, StoreError>;
    /// Deletes at most `limit` entries older than `before`; returns how many.
    async fn prune_history(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError>;
    /// Stores per-minute aggregates of groups' metrics, all in one transaction (a minute
    /// stored again replaces what was stored of it).
    async fn append_minutes(&self, minutes: Vec<(GroupId, MinuteAggregate)>) -> Result<(), StoreError>;
    /// A page of a group's per-minute aggregates in time order, and how many match in all.
    async fn list_minutes(
        &self,
        group: &GroupId,
        query: &MinuteQuery,
    ) -> Result<(Vec<MinuteAggregate>, usize), StoreError>;
    /// Deletes at most `limit` per-minute aggregates older than `before`; returns how many.
    async fn prune_minutes(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError>;
}

/// The service broker's service instances and bindings. Which policy a bound group has is
/// not written here: it is a decision (`decide::follow_default`, `decide::detach_rules_policy`).
#[async_trait::async_trait]
pub trait BrokerStore: Send + Sync {
    /// Creates a service instance, or finds the one with its id (then writes nothing).
    async fn create_service_instance(&self, instance: ServiceInstance) -> Result<Created<ServiceInstance>, StoreError>;
    /// A service instance.
    async fn service_instance(&self, id: &str) -> Result<Option<ServiceInstance>, StoreError>;
    /// Replaces a service instance's default policy (`None`: removes it).
    async fn set_default_policy(
        &self,
        id: &str,
        policy: Option<ebb_core::cf_policy::CfPolicy>,
    ) -> Result<ServiceInstance, StoreError>;
    /// Deletes a service instance; `false` when there was none, and
    /// [`StoreError::ServiceInstanceBound`] while a group (not being deleted) is bound to it.
    async fn delete_service_instance(&self, id: &str) -> Result<bool, StoreError>;
    /// Binds a group (of any tenant) to a service instance, or finds the binding with that id
    /// (then writes nothing); [`StoreError::GroupBound`] when the group has another binding.
    async fn create_binding(
        &self,
        id: &str,
        instance: &str,
        group: &GroupId,
        now: Timestamp,
    ) -> Result<Created<ServiceBinding>, StoreError>;
    /// The binding of a group, if it has one.
    async fn binding_of_group(&self, group: &GroupId) -> Result<Option<ServiceBinding>, StoreError>;
    /// The bindings of a service instance, by id.
    async fn bindings_of_instance(&self, instance: &str) -> Result<Vec<ServiceBinding>, StoreError>;
    /// Deletes a binding of a service instance; the binding, if there was one.
    async fn delete_binding(&self, instance: &str, id: &str) -> Result<Option<ServiceBinding>, StoreError>;
}

/// Every durable operation of Ebb. A successful return means the change is on disk.
pub trait Store:
    TenantStore
    + GroupStore
    + PolicyStore
    + DecisionStore
    + MemberStore
    + ScheduleStore
    + HistoryStore
    + BrokerStore
    + CollectorStore
    + CloudStore
    + 'static
{
}

impl<T> Store for T where
    T: TenantStore
        + GroupStore
        + PolicyStore
        + DecisionStore
        + MemberStore
        + ScheduleStore
        + HistoryStore
        + BrokerStore
        + CollectorStore
        + CloudStore
        + 'static
{
}

/// A decision to run on a snapshot.
pub type Decide = Box<dyn FnOnce(&Snapshot) -> Result<Decision, Rejection> + Send>;

/// Opens the store named by `url`: `sqlite://PATH` (created if missing), or
/// `postgres://...` / `postgresql://...` (migrated on open).
pub async fn open(url: &str, metrics: StoreMetrics) -> Result<Arc<dyn Store>, StoreError> {
    match url.split_once(':') {
        Some(("sqlite", _)) => Ok(Arc::new(SqliteStore::open(url, metrics).await?)),
        Some(("postgres" | "postgresql", _)) => Ok(Arc::new(PostgresStore::open(url, metrics).await?)),
        _ => Err(StoreError::UnsupportedUrl(url.to_string())),
    }
}
