//! The converger: keeps every group's members equal to its desired capacity.
//!
//! One actor task per group serializes that group's passes (`pass`). A pass gathers what is
//! observed (member records, what the group's [`Provider`] says of each, load-balancer
//! membership), asks the pure planner ([`ebb_core::converge::plan`]) for steps, runs them
//! through the provider and the [`LoadBalancer`]s, and records the outcome: `ACTIVE`, or
//! `ERROR` with messages the user can act on. An unsettled group (members starting, draining
//! or stopping) is planned again after `retry_interval`; a settled one waits for the next
//! trigger. Every wait is on the engine's [`Clock`], so tests run it on virtual time.
//!
//! Triggers say what happened ([`Trigger`]): a decision of some source, a group created,
//! deleted or converged on request, a member removed, a tenant's grant changed, the server
//! started (each of these lifts an `ERROR`, so that the next attempt runs), member events such
//! as a readiness check passing or a process exiting ([`Trigger::MemberEvent`]), a retry of an
//! unsettled group, and the periodic self-heal ([`Trigger::SelfHeal`]). After a failure only a
//! trigger that lifts the error makes the group act again, as in Otter.
//!
//! Layout: this file holds the actors and what the rest of the engine asks of the converger;
//! `pass` one pass; `balancers` the group's load balancers; `observation` what the API shows.

mod balancers;
mod cloud;
mod observation;
mod pass;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use ebb_core::launch::LaunchKind;
use ebb_store::{GroupId, MemberId, MemberRecord, Store, StoreError};
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::balancer::BalancerStats;
use crate::clock::Clock;
use crate::provider::cloud::tenant::Clouds;
use crate::provider::{Balancers, LoadBalancer, Provider};
pub use observation::{MemberView, Observation};
use pass::{Outcome, Streaks};

/// Settings of convergence.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvergeSettings {
    /// How long a member may take to become ready before it is replaced.
    pub build_timeout: Duration,
    /// How often every group is checked even without a trigger.
    pub self_heal_interval: Duration,
    /// The most members started in one pass.
    pub max_starts: usize,
    /// How soon an unsettled group is planned again.
    pub retry_interval: Duration,
    /// How long a cloud server may stay in `BUILD` before it is replaced.
    pub server_build_timeout: Duration,
    /// How soon a cloud group that is not settled is gathered and planned again.
    pub cloud_retry_interval: Duration,
    /// The least time between cloud calls of a kind, per tenant.
    pub cloud_throttles: crate::provider::cloud::tenant::Throttles,
}

impl Default for ConvergeSettings {
    fn default() -> Self {
        ConvergeSettings {
            build_timeout: Duration::from_secs(60),
            self_heal_interval: Duration::from_secs(10),
            max_starts: 10,
            retry_interval: Duration::from_millis(50),
            server_build_timeout: Duration::from_secs(3600),
            cloud_retry_interval: Duration::from_secs(1),
            cloud_throttles: crate::provider::cloud::tenant::Throttles::default(),
        }
    }
}

/// What started a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The group was created.
    Created,
    /// A decision of this source committed (an execution, a schedule, a window change, new
    /// bounds, a pause or resume).
    Decision(crate::metrics::Source),
    /// The group was deleted.
    Deleted,
    /// A user asked for convergence (`POST .../converge`).
    Converge,
    /// A member was removed (`DELETE .../servers/{id}`).
    MemberRemoved,
    /// The operator changed what the group's tenant may run (its `local_process` grant or its
    /// cloud settings).
    GrantChanged,
    /// The server started.
    Started,
    /// A member became ready or exited.
    MemberEvent,
    /// An unsettled group is planned again.
    Retry,
    /// The periodic self-heal.
    SelfHeal,
}

impl Trigger {
    /// Whether the trigger comes from someone acting on the group: it lifts an `ERROR`, so
    /// that the next attempt runs.
    pub fn lifts_error(self) -> bool {
        !matches!(self, Trigger::MemberEvent | Trigger::Retry | Trigger::SelfHeal)
    }
}

/// What the converger remembers of members between passes.
#[derive(Default)]
struct Tracking {
    /// Members being drained, since when.
    draining: HashMap<String, Timestamp>,
    /// Members asked to stop.
    stopping: HashSet<String>,
    /// Members the user removed (`DELETE .../servers/{id}`), to drain and stop.
    removing: HashSet<String>,
    /// Members seen ready at least once.
    ready: HashSet<String>,
}

/// Runs convergence for every group.
pub struct Converger {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    providers: Vec<Arc<dyn Provider>>,
    balancer_factory: Arc<dyn Balancers>,
    settings: ConvergeSettings,
    actors: Mutex<HashMap<String, mpsc::UnboundedSender<Trigger>>>,
    balancers: Mutex<HashMap<String, Vec<Arc<dyn LoadBalancer>>>>,
    observations: RwLock<HashMap<String, Observation>>,
    tracking: Mutex<Tracking>,
    /// Set when the server stops: no pass starts anything any more.
    stopping_all: AtomicBool,
    /// Tenants' clouds, for `launch_server` groups, once set.
    clouds: OnceLock<Arc<Clouds>>,
    /// The ServiceNet addresses of each cloud group's servers at its last pass.
    cloud_addresses: Mutex<HashMap<String, BTreeSet<String>>>,
    /// The ServiceNet addresses of servers released through the API (`purge=false`): their
    /// nodes stay.
    released_addresses: Mutex<HashSet<String>>,
    /// Passes of cloud groups that waited on their cloud, logged at most once a minute.
    cloud_waits: crate::throttled::Throttled,
}

impl Converger {
    /// A converger over `store`, running members through `providers` behind balancers made by
    /// `balancers`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        providers: Vec<Arc<dyn Provider>>,
        balancers: Arc<dyn Balancers>,
        settings: ConvergeSettings,
    ) -> Arc<Self> {
        Arc::new(Converger {
            store,
            clock,
            providers,
            balancer_factory: balancers,
            settings,
            actors: Mutex::new(HashMap::new()),
            balancers: Mutex::new(HashMap::new()),
            observations: RwLock::new(HashMap::new()),
            tracking: Mutex::new(Tracking::default()),
            stopping_all: AtomicBool::new(false),
            clouds: OnceLock::new(),
            cloud_addresses: Mutex::new(HashMap::new()),
            released_addresses: Mutex::new(HashSet::new()),
            cloud_waits: crate::throttled::Throttled::new(Duration::from_secs(60)),
        })
    }

    /// Runs `launch_server` groups on tenants' clouds (set once; later calls are ignored).
    pub fn set_clouds(&self, clouds: Arc<Clouds>) {
        let _ = self.clouds.set(clouds);
    }

    /// Tenants' clouds, if this server runs `launch_server` groups.
    pub fn clouds(&self) -> Option<&Arc<Clouds>> {
        self.clouds.get()
    }

    /// Whether this server runs members of a launch type.
    pub fn runs(&self, kind: LaunchKind) -> bool {
        (kind == LaunchKind::Server && self.clouds.get().is_some()) || self.provider_for(kind).is_some()
    }

    /// The provider of a launch type, if this server has one.
    fn provider_for(&self, kind: LaunchKind) -> Option<&Arc<dyn Provider>> {
        self.providers.iter().find(|provider| provider.kind() == kind)
    }

    /// The provider that runs a member.
    fn provider_of(&self, member: &MemberRecord) -> Option<&Arc<dyn Provider>> {
        self.providers.iter().find(|provider| provider.name() == member.provider)
    }

    /// Stops what members of a previous run left behind and forgets their records, so that
    /// convergence starts from a clean slate: nothing unmanaged, nothing doubled.
    pub async fn clean_up_previous_run(&self) -> Result<usize, StoreError> {
        let members = self.store.list_members(None).await?;
        let groups: HashSet<String> = self.store.group_ids().await?.into_iter().map(GroupId::into_string).collect();
        let mut stopped = 0;
        for provider in &self.providers {
            let own: Vec<MemberRecord> = members.iter().filter(|m| m.provider == provider.name()).cloned().collect();
            stopped += provider.clean_up(&own, &groups).await;
        }
        for member in &members {
            self.store.delete_member(&member.id).await?;
        }
        if !members.is_empty() {
            tracing::info!(records = members.len(), processes = stopped, "members of the previous run stopped");
        }
        Ok(stopped)
    }

    /// Every group id, for the first pass over all groups at start-up.
    pub async fn group_ids(&self) -> Result<Vec<GroupId>, StoreError> {
        self.store.group_ids().await
    }

    /// Stops every member this server runs and forgets them, waiting for their exits (each
    /// member's stop timeout bounds the wait). Returns how many there were.
    pub async fn stop_all(&self) -> usize {
        self.stopping_all.store(true, Ordering::SeqCst);
        // A pass already running may still record one more member; go round until none is left.
        let mut stopped = HashSet::new();
        for _ in 0..10 {
            let members = match self.store.list_members(None).await {
                Ok(members) => members,
                Err(err) => {
                    tracing::error!(error = %err, "cannot list members to stop them");
                    break;
                }
            };
            if members.is_empty() {
                break;
            }
            for provider in &self.providers {
                let own: Vec<MemberRecord> =
                    members.iter().filter(|m| m.provider == provider.name()).cloned().collect();
                provider.stop_all(&own).await;
            }
            for member in &members {
                if let Err(err) = self.store.delete_member(&member.id).await {
                    tracing::error!(member = %member.id, error = %err, "cannot forget a stopped member");
                }
                stopped.insert(member.id.clone());
            }
        }
        stopped.len()
    }

    /// Runs until `shutdown` completes: member events from the providers on `events`, and the
    /// periodic self-heal, every `self_heal_interval` of the engine's clock.
    pub async fn run(
        self: Arc<Self>,
        mut events: mpsc::UnboundedReceiver<String>,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        tokio::pin!(shutdown);
        let mut next_heal = self.clock.now();
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(group) = events.recv() => self.trigger(&group, Trigger::MemberEvent),
                _ = self.clock.sleep_until(next_heal) => {
                    match self.store.group_ids().await {
                        Ok(ids) => for id in ids { self.trigger(id.as_str(), Trigger::SelfHeal) },
                        Err(err) => tracing::error!(error = %err, "self-heal cannot list groups"),
                    }
                    let interval = jiff::SignedDuration::try_from(self.settings.self_heal_interval).unwrap_or(jiff::SignedDuration::from_secs(10));
                    next_heal = self.clock.now() + interval;
                }
            }
        }
    }

    /// Asks for a pass of a group.
    pub fn trigger(self: &Arc<Self>, group: &str, trigger: Trigger) {
        let Ok(mut actors) = self.actors.lock() else { return };
        if let Some(sender) = actors.get(group)
            && sender.send(trigger).is_ok()
        {
            return;
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        let _ = sender.send(trigger);
        actors.insert(group.to_string(), sender);
        let converger = self.clone();
        let group = group.to_string();
        tokio::spawn(async move { converger.actor(group, receiver).await });
    }

    /// What the last pass observed of a group.
    pub fn observation(&self, group: &str) -> Observation {
        self.observations.read().ok().and_then(|all| all.get(group).cloned()).unwrap_or_default()
    }

    /// The traffic statistics of a group's load balancers.
    pub fn balancer_stats(&self, group: &str) -> Vec<BalancerStats> {
        let Ok(balancers) = self.balancers.lock() else { return Vec::new() };
        balancers.get(group).map(|list| list.iter().map(|b| b.stats()).collect()).unwrap_or_default()
    }

    /// Statistics of every load balancer, by group.
    pub fn all_balancer_stats(&self) -> Vec<(String, BalancerStats)> {
        let Ok(balancers) = self.balancers.lock() else { return Vec::new() };
        balancers.iter().flat_map(|(group, list)| list.iter().map(|b| (group.clone(), b.stats()))).collect()
    }

    /// The last `max_bytes` (at most) of what a member wrote, and whether older output was
    /// left out; `NotFound` for a member no provider knows.
    pub async fn member_output(
        &self,
        group: &GroupId,
        member: &MemberId,
        max_bytes: u64,
    ) -> std::io::Result<(Vec<u8>, bool)> {
        let members = self.store.list_members(Some(group)).await.map_err(std::io::Error::other)?;
        let (group, member) = (group.as_str(), member.as_str());
        // A member still recorded is asked of its provider; a gone one, of any that kept output.
        let provider = match members.iter().find(|m| m.id == member) {
            Some(record) => self.provider_of(record),
            None => self.providers.first(),
        };
        match provider {
            Some(provider) => provider.output(group, member, max_bytes).await,
            None => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
        }
    }

    /// Marks a member for removal: it is drained and stopped by the next pass.
    pub fn remove_member(self: &Arc<Self>, group: &GroupId, member: &MemberId) {
        let (group, member) = (group.as_str(), member.as_str());
        if let Ok(mut tracking) = self.tracking.lock() {
            tracking.removing.insert(member.to_string());
        }
        self.trigger(group, Trigger::MemberRemoved);
    }

    /// Forgets a member without stopping it (`purge=false`): it keeps running, unmanaged.
    pub async fn disown_member(self: &Arc<Self>, group: &GroupId, member: &MemberId) -> Result<(), StoreError> {
        let record = self.store.list_members(Some(group)).await?.into_iter().find(|m| &m.id == member);
        self.remove_from_balancers(group.as_str(), member.as_str());
        self.store.delete_member(member).await?;
        if let Some(record) = record
            && let Some(provider) = self.provider_of(&record)
        {
            provider.disown(&record);
        }
        self.trigger(group.as_str(), Trigger::MemberRemoved);
        Ok(())
    }

    async fn actor(self: Arc<Self>, group: String, mut triggers: mpsc::UnboundedReceiver<Trigger>) {
        let mut failed = false;
        let mut streaks = Streaks::default();
        let mut pending = triggers.recv().await;
        while let Some(first) = pending {
            let mut user = first.lifts_error();
            while let Ok(more) = triggers.try_recv() {
                user |= more.lifts_error();
            }
            if user {
                failed = false;
                streaks = Streaks::default();
            }
            let outcome = if failed {
                Outcome::Settled
            } else {
                match self.pass(&group, user, &mut streaks).await {
                    Ok(outcome) => outcome,
                    Err(err) => {
                        tracing::error!(group = %group, error = %err, "convergence pass failed");
                        Outcome::Unsettled
                    }
                }
            };
            match outcome {
                Outcome::Gone => break,
                Outcome::Failed => failed = true,
                Outcome::Settled => {}
                Outcome::Unsettled | Outcome::Polling => {
                    let interval = if outcome == Outcome::Polling {
                        self.settings.cloud_retry_interval
                    } else {
                        self.settings.retry_interval
                    };
                    pending = tokio::select! {
                        next = triggers.recv() => next,
                        _ = self.clock.sleep(interval) => Some(Trigger::Retry),
                    };
                    continue;
                }
            }
            pending = triggers.recv().await;
        }
        if let Ok(mut actors) = self.actors.lock() {
            actors.remove(&group);
        }
    }
}

/// Eight random lowercase hex characters for a member name (`{name}-as{8 hex}`); names need
/// to be unique, not secret, and a fresh UUIDv4 already carries OS randomness.
fn name_suffix() -> String {
    uuid::Uuid::new_v4().as_bytes()[..4].iter().map(|b| format!("{b:02x}")).collect()
}
