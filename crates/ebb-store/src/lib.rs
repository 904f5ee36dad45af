//! Ebb's durable store: the [`Store`] trait, its records, and the SQLite implementation.
//!
//! This is the only crate that contains SQL. The trait speaks in domain operations
//! (create a group, execute a policy) rather than rows, so that each operation is one
//! transaction and a PostgreSQL implementation can sit beside the SQLite one.
//!
//! Layout:
//! - [`model`]: the records the store reads and writes;
//! - [`error`]: the errors ([`StoreError`]);
//! - [`metrics`]: per-operation latency histograms;
//! - `sqlite`: [`SqliteStore`], with a single writer that commits in groups.

pub mod error;
pub mod metrics;
pub mod model;
mod sqlite;

use std::sync::Arc;

use ebb_core::grant::LocalProcessGrant;
use ebb_core::group::GroupConfig;
use ebb_core::limits::Limits;
use jiff::Timestamp;
use serde_json::Value;

pub use error::StoreError;
pub use metrics::StoreMetrics;
pub use model::*;
pub use sqlite::{ReadPool, SqliteStore};

/// Every durable operation of Ebb. A successful return means the change is on disk.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a tenant; [`StoreError::TenantExists`] if the id is taken.
    async fn create_tenant(&self, id: &str, now: Timestamp) -> Result<Tenant, StoreError>;
    /// All tenants, by id.
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// Whether a tenant exists.
    async fn tenant_exists(&self, id: &str) -> Result<bool, StoreError>;
    /// Replaces what a tenant may run as `local_process` members.
    async fn set_local_process(&self, tenant: &str, grant: LocalProcessGrant) -> Result<(), StoreError>;
    /// What a tenant may run as `local_process` members (nothing, until the operator says).
    async fn local_process(&self, tenant: &str) -> Result<LocalProcessGrant, StoreError>;

    /// Stores a token of a tenant by the hash of its secret.
    async fn create_token(
        &self,
        tenant: &str,
        role: Role,
        secret_hash: &str,
        now: Timestamp,
    ) -> Result<Token, StoreError>;
    /// Revokes a token of a tenant.
    async fn delete_token(&self, tenant: &str, token: &str) -> Result<(), StoreError>;
    /// The token whose secret hashes to `secret_hash`, if any.
    async fn find_token(&self, secret_hash: &str) -> Result<Option<Token>, StoreError>;

    /// Creates a group with desired capacity at its minimum, and its initial policies.
    async fn create_group(
        &self,
        group: NewGroup,
        limits: Limits,
        now: Timestamp,
    ) -> Result<(GroupRecord, Vec<PolicyRecord>), StoreError>;
    /// A page of a tenant's groups, ascending by id.
    async fn list_groups(&self, tenant: &str, page: &Page) -> Result<Vec<GroupRecord>, StoreError>;
    /// One group of a tenant.
    async fn get_group(&self, tenant: &str, group: &str) -> Result<GroupRecord, StoreError>;
    /// Replaces a group's configuration and re-clamps its desired capacity to the bounds in
    /// force at `now` (a window's, or the new configuration's).
    async fn replace_config(
        &self,
        tenant: &str,
        group: &str,
        config: GroupConfig,
        now: Timestamp,
    ) -> Result<GroupRecord, StoreError>;
    /// Replaces a group's launch configuration.
    async fn replace_launch(&self, tenant: &str, group: &str, launch: Value) -> Result<(), StoreError>;
    /// Pauses or resumes a group.
    async fn set_paused(&self, tenant: &str, group: &str, paused: bool) -> Result<(), StoreError>;
    /// Deletes a group with its policies and webhooks. Without `force`, a group whose
    /// desired capacity is not 0 is kept and [`StoreError::GroupNotEmpty`] returned.
    async fn delete_group(&self, tenant: &str, group: &str, force: bool) -> Result<(), StoreError>;
    /// Executes a policy: decides with [`ebb_core::capacity::execute`] and, on a change,
    /// writes the new desired capacity and both cooldown timestamps, all in one transaction.
    async fn execute_policy(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        now: Timestamp,
    ) -> Result<Execution, StoreError>;

    /// Creates policies in a group, all or none.
    async fn create_policies(
        &self,
        tenant: &str,
        group: &str,
        bodies: Vec<Value>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<PolicyRecord>, StoreError>;
    /// A group's policies, ascending by id: one page, or all of them when `page` is `None`.
    async fn list_policies(
        &self,
        tenant: &str,
        group: &str,
        page: Option<&Page>,
    ) -> Result<Vec<PolicyRecord>, StoreError>;
    /// One policy of a group.
    async fn get_policy(&self, tenant: &str, group: &str, policy: &str) -> Result<PolicyRecord, StoreError>;
    /// Replaces a policy's body; a schedule policy is re-armed from its new definition.
    async fn replace_policy(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        body: Value,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Deletes a policy and its webhooks.
    async fn delete_policy(&self, tenant: &str, group: &str, policy: &str) -> Result<(), StoreError>;

    /// Creates webhooks on a policy, all or none.
    async fn create_webhooks(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        webhooks: Vec<NewWebhook>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<WebhookRecord>, StoreError>;
    /// A policy's webhooks, ascending by id: one page, or all of them when `page` is `None`.
    async fn list_webhooks(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        page: Option<&Page>,
    ) -> Result<Vec<WebhookRecord>, StoreError>;
    /// One webhook of a policy.
    async fn get_webhook(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        webhook: &str,
    ) -> Result<WebhookRecord, StoreError>;
    /// Replaces a webhook's name and metadata.
    async fn replace_webhook(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        webhook: &str,
        name: String,
        metadata: serde_json::Map<String, Value>,
    ) -> Result<(), StoreError>;
    /// Deletes a webhook; its capability URL stops working.
    async fn delete_webhook(&self, tenant: &str, group: &str, policy: &str, webhook: &str) -> Result<(), StoreError>;
    /// Looks up a capability by the hash of its secret and executes its policy, in one
    /// transaction; `None` when no webhook has that capability.
    async fn execute_capability(
        &self,
        capability_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(CapabilityTarget, Execution)>, StoreError>;
    /// What a capability URL executes, by the hash of its secret.
    async fn find_capability(&self, capability_hash: &str) -> Result<Option<CapabilityTarget>, StoreError>;

    /// The ids of every group, those being deleted included (for convergence).
    async fn group_ids(&self) -> Result<Vec<String>, StoreError>;
    /// A group by id alone, also while it is being deleted (for convergence).
    async fn group_by_id(&self, group: &str) -> Result<Option<GroupRecord>, StoreError>;
    /// Records the outcome of a convergence pass.
    async fn set_group_status(&self, group: &str, status: GroupStatus, errors: Vec<String>) -> Result<(), StoreError>;
    /// Removes a group that is being deleted, once its members are gone.
    async fn purge_group(&self, group: &str) -> Result<(), StoreError>;
    /// Records a member before it is started, so that it is never left unmanaged.
    async fn insert_member(&self, member: MemberRecord) -> Result<(), StoreError>;
    /// Records a started member's process id.
    async fn set_member_pid(&self, member: &str, pid: u32) -> Result<(), StoreError>;
    /// Forgets a member that is gone.
    async fn delete_member(&self, member: &str) -> Result<(), StoreError>;
    /// The members of a group, or of every group, oldest first.
    async fn list_members(&self, group: Option<&str>) -> Result<Vec<MemberRecord>, StoreError>;
    /// Checks that a member may be removed from a group and, without `replace`, lowers desired
    /// capacity by one (refusing to go below the minimum in force at `now`).
    async fn remove_member(
        &self,
        tenant: &str,
        group: &str,
        member: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// The earliest next fire time of any schedule.
    async fn next_schedule(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Schedules due at or before `until`, earliest first.
    async fn due_schedules(&self, until: Timestamp, limit: usize) -> Result<Vec<DueSchedule>, StoreError>;
    /// Fires a schedule that was due at `due`, in one transaction: executes its policy through
    /// the same path as an API execute (or skips it when the group is paused or the time was
    /// missed by more than `grace`), records the event, and arms the next fire time. `None`
    /// when the schedule is no longer due at `due` (fired already, changed, or deleted): so a
    /// due time fires at most once.
    async fn fire_schedule(
        &self,
        policy: &str,
        due: Timestamp,
        now: Timestamp,
        grace: jiff::SignedDuration,
    ) -> Result<Option<Fired>, StoreError>;
    /// A tenant's schedule policies with their next fire times, of one group or of all.
    async fn list_schedules(&self, tenant: &str, group: Option<&str>) -> Result<Vec<ScheduleEntry>, StoreError>;
    /// A group's events, newest first.
    async fn list_events(&self, tenant: &str, group: &str, limit: usize) -> Result<Vec<GroupEvent>, StoreError>;

    /// Replaces (or, with `None`, removes) a group's time windows, applies the window in force
    /// at `now` and arms the timer of the next window change.
    async fn replace_windows(
        &self,
        tenant: &str,
        group: &str,
        windows: Option<Value>,
        now: Timestamp,
    ) -> Result<GroupRecord, StoreError>;
    /// Groups whose next window change is due at or before `until`, with that time.
    async fn due_windows(&self, until: Timestamp, limit: usize) -> Result<Vec<(String, Timestamp)>, StoreError>;
    /// Applies a group's window change that was due at `due` and arms the next; `None` when
    /// it was no longer due (handled already, or the windows changed), else whether desired
    /// capacity or the window in force changed.
    async fn fire_window(&self, group: &str, due: Timestamp, now: Timestamp) -> Result<Option<bool>, StoreError>;
    /// A tenant's groups with windows: their document and next change time.
    async fn window_timers(&self, tenant: &str) -> Result<Vec<(String, Value, Timestamp)>, StoreError>;
}

/// Opens the store named by `url`: `sqlite://PATH` (created if missing).
pub async fn open(url: &str, metrics: StoreMetrics) -> Result<Arc<dyn Store>, StoreError> {
    match url.split_once(':') {
        Some(("sqlite", _)) => Ok(Arc::new(SqliteStore::open(url, metrics).await?)),
        _ => Err(StoreError::UnsupportedUrl(url.to_string())),
    }
}
