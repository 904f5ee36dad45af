//! The converger: keeps every group's members equal to its desired capacity.
//!
//! One actor task per group serializes that group's passes. A pass gathers what is observed
//! (member records, process status, load-balancer membership), asks the pure planner
//! ([`ebb_core::converge::plan`]) for steps, runs them through the provider and the load
//! balancers, and records the outcome: `ACTIVE`, or `ERROR` with messages the user can act
//! on. An unsettled group (members starting, draining or stopping) is planned again shortly;
//! a settled one waits for the next trigger.
//!
//! Triggers: every change a user makes to a group ([`Trigger::User`], which also lifts an
//! `ERROR` so that the next attempt runs), member events such as a readiness check passing or
//! a process exiting ([`Trigger::Event`]), and a periodic self-heal ([`Trigger::Tick`]).
//! After a failure only a user trigger makes the group act again, as in Otter.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use ebb_core::converge::{self, MemberState, ObservedMember, PlanInput, Step};
use ebb_core::launch::LocalProcessLaunch;
use ebb_store::{GroupRecord, GroupStatus, MemberRecord, Store};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;

use crate::balancer::{Balancer, BalancerStats};
use crate::clock::Clock;
use crate::provider::local_process::{LocalProcesses, MemberSpec, free_port};

/// Consecutive members that exit before they are ever ready after which a group is put in
/// ERROR instead of starting more (a crash loop).
const CRASH_LOOP: u32 = 5;

/// Consecutive members that do not pass their readiness check within the build timeout after
/// which a group is put in ERROR instead of replacing them forever.
const READINESS_TIMEOUTS: u32 = 3;

/// What went wrong with a group's recent members, in a row; reset by a user trigger, and each
/// count by a member that proves the opposite.
#[derive(Debug, Default, Clone, Copy)]
struct Streaks {
    /// Members that exited before they were ever ready.
    crashes: u32,
    /// Members stopped because they were not ready within the build timeout.
    readiness_timeouts: u32,
}

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
    /// The address built-in load balancers listen on.
    pub balancer_host: Ipv4Addr,
}

impl Default for ConvergeSettings {
    fn default() -> Self {
        ConvergeSettings {
            build_timeout: Duration::from_secs(60),
            self_heal_interval: Duration::from_secs(10),
            max_starts: 10,
            retry_interval: Duration::from_millis(50),
            balancer_host: Ipv4Addr::UNSPECIFIED,
        }
    }
}

/// What started a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A user changed the group (create, execute, config, launch, converge, resume, delete,
    /// member delete).
    User,
    /// A member became ready or exited.
    Event,
    /// The periodic self-heal.
    Tick,
}

/// What the last pass observed of a member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `starting`, `active`, `draining`, `stopping` or `exited`.
    pub status: &'static str,
    /// Its port.
    pub port: u16,
    /// Its process id.
    pub pid: Option<u32>,
    /// When it was started.
    pub created_at: String,
}

/// What the last pass observed of a group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// Members that are ready and in every load balancer of the group, oldest first.
    pub active: Vec<MemberView>,
    /// Every member.
    pub members: Vec<MemberView>,
}

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
    processes: Arc<LocalProcesses>,
    settings: ConvergeSettings,
    actors: Mutex<HashMap<String, mpsc::UnboundedSender<Trigger>>>,
    balancers: Mutex<HashMap<String, Vec<Balancer>>>,
    observations: RwLock<HashMap<String, Observation>>,
    tracking: Mutex<Tracking>,
    /// Set when the server stops: no pass starts anything any more.
    stopping_all: std::sync::atomic::AtomicBool,
}

impl Converger {
    /// A converger over `store`, starting members through `processes`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        processes: Arc<LocalProcesses>,
        settings: ConvergeSettings,
    ) -> Arc<Self> {
        Arc::new(Converger {
            store,
            clock,
            processes,
            settings,
            actors: Mutex::new(HashMap::new()),
            balancers: Mutex::new(HashMap::new()),
            observations: RwLock::new(HashMap::new()),
            tracking: Mutex::new(Tracking::default()),
            stopping_all: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Stops the processes of members a previous run left behind and forgets their records,
    /// so that convergence starts from a clean slate: nothing unmanaged, nothing doubled.
    pub async fn clean_up_previous_run(&self) -> Result<usize, ebb_store::StoreError> {
        let members = self.store.list_members(None).await?;
        let ids: HashSet<String> = members.iter().map(|m| m.id.clone()).collect();
        let stopped = self.processes.stop_leftovers(&ids, Duration::from_secs(10)).await;
        for member in &members {
            self.store.delete_member(&member.id).await?;
        }
        let groups: HashSet<String> = self.store.group_ids().await?.into_iter().collect();
        self.processes.remove_logs_except(&groups);
        if !members.is_empty() {
            tracing::info!(records = members.len(), processes = stopped, "members of the previous run stopped");
        }
        Ok(stopped)
    }

    /// Every group id, for the first pass over all groups at start-up.
    pub async fn group_ids(&self) -> Result<Vec<String>, ebb_store::StoreError> {
        self.store.group_ids().await
    }

    /// Stops every member this server runs and forgets them, waiting for their exits (each
    /// member's stop timeout bounds the wait). Returns how many there were.
    pub async fn stop_all(&self) -> usize {
        self.stopping_all.store(true, std::sync::atomic::Ordering::SeqCst);
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
            for member in &members {
                self.processes.stop(&member.id);
            }
            for member in &members {
                while self.processes.status(&member.id).is_some_and(|s| s.exited.is_none()) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                self.processes.sweep(&member.id).await;
                if let Err(err) = self.store.delete_member(&member.id).await {
                    tracing::error!(member = %member.id, error = %err, "cannot forget a stopped member");
                }
                stopped.insert(member.id.clone());
            }
        }
        let orphans = self.processes.kill_orphans().await;
        if orphans > 0 {
            tracing::info!(orphans, "orphaned member processes killed");
        }
        stopped.len()
    }

    /// Runs until `shutdown` completes: events from the provider on `events`, and the
    /// periodic self-heal.
    pub async fn run(
        self: Arc<Self>,
        mut events: mpsc::UnboundedReceiver<String>,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        let mut ticker = tokio::time::interval(self.settings.self_heal_interval);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(group) = events.recv() => self.trigger(&group, Trigger::Event),
                _ = ticker.tick() => {
                    match self.store.group_ids().await {
                        Ok(ids) => for id in ids { self.trigger(&id, Trigger::Tick) },
                        Err(err) => tracing::error!(error = %err, "self-heal cannot list groups"),
                    }
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
        balancers.get(group).map(|list| list.iter().map(Balancer::stats).collect()).unwrap_or_default()
    }

    /// Statistics of every load balancer, by group.
    pub fn all_balancer_stats(&self) -> Vec<(String, BalancerStats)> {
        let Ok(balancers) = self.balancers.lock() else { return Vec::new() };
        balancers.iter().flat_map(|(group, list)| list.iter().map(|b| (group.clone(), b.stats()))).collect()
    }

    /// The last `max_bytes` (at most) of a member's output, and whether older output was
    /// left out.
    pub async fn member_log(&self, group: &str, member: &str, max_bytes: u64) -> std::io::Result<(Vec<u8>, bool)> {
        self.processes.read_log(group, member, max_bytes).await
    }

    /// Marks a member for removal: it is drained and stopped by the next pass.
    pub fn remove_member(self: &Arc<Self>, group: &str, member: &str) {
        if let Ok(mut tracking) = self.tracking.lock() {
            tracking.removing.insert(member.to_string());
        }
        self.trigger(group, Trigger::User);
    }

    /// Forgets a member without stopping it (`purge=false`): it keeps running, unmanaged.
    pub async fn disown_member(self: &Arc<Self>, group: &str, member: &str) -> Result<(), ebb_store::StoreError> {
        self.remove_from_balancers(group, member, true);
        self.store.delete_member(member).await?;
        self.processes.disown(member);
        self.trigger(group, Trigger::User);
        Ok(())
    }

    async fn actor(self: Arc<Self>, group: String, mut triggers: mpsc::UnboundedReceiver<Trigger>) {
        let mut failed = false;
        let mut streaks = Streaks::default();
        let mut pending = triggers.recv().await;
        while let Some(first) = pending {
            let mut user = first == Trigger::User;
            while let Ok(more) = triggers.try_recv() {
                user |= more == Trigger::User;
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
                Outcome::Unsettled => {
                    pending = tokio::select! {
                        next = triggers.recv() => next,
                        _ = tokio::time::sleep(self.settings.retry_interval) => Some(Trigger::Event),
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

    fn remove_from_balancers(&self, group: &str, member: &str, forget: bool) {
        if let Ok(balancers) = self.balancers.lock()
            && let Some(list) = balancers.get(group)
        {
            for balancer in list {
                if forget {
                    balancer.forget(member);
                } else {
                    balancer.remove(member);
                }
            }
        }
    }

    /// Makes sure the group has a load balancer on every configured port (and none other).
    async fn ensure_balancers(&self, group: &str, ports: &[u16]) -> Result<Vec<Balancer>, String> {
        let existing = self.balancers.lock().ok().and_then(|b| b.get(group).cloned()).unwrap_or_default();
        let mut kept = Vec::new();
        for balancer in existing {
            if ports.contains(&balancer.local_addr().port()) {
                kept.push(balancer);
            } else {
                balancer.shutdown().await;
            }
        }
        for port in ports {
            if kept.iter().any(|b| b.local_addr().port() == *port) {
                continue;
            }
            let address = SocketAddr::V4(SocketAddrV4::new(self.settings.balancer_host, *port));
            match Balancer::bind(address).await {
                Ok(balancer) => {
                    tracing::info!(group, port, "load balancer listening");
                    kept.push(balancer);
                }
                Err(err) => {
                    if let Ok(mut balancers) = self.balancers.lock() {
                        balancers.insert(group.to_string(), kept.clone());
                    }
                    return Err(err.to_string());
                }
            }
        }
        if let Ok(mut balancers) = self.balancers.lock() {
            balancers.insert(group.to_string(), kept.clone());
        }
        Ok(kept)
    }

    async fn close_balancers(&self, group: &str) {
        let list = self.balancers.lock().ok().and_then(|mut b| b.remove(group)).unwrap_or_default();
        for balancer in list {
            balancer.shutdown().await;
        }
    }

    async fn pass(
        self: &Arc<Self>,
        group_id: &str,
        user: bool,
        streaks: &mut Streaks,
    ) -> Result<Outcome, ebb_store::StoreError> {
        if self.stopping_all.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(Outcome::Gone);
        }
        tracing::debug!(group = group_id, user, "convergence pass");
        let Some(group) = self.store.group_by_id(group_id).await? else {
            self.close_balancers(group_id).await;
            if let Ok(mut observations) = self.observations.write() {
                observations.remove(group_id);
            }
            return Ok(Outcome::Gone);
        };
        if user && group.state.status == GroupStatus::Error {
            // A new attempt shows ACTIVE at once (Otter #1809); a failure sets ERROR again.
            self.store.set_group_status(group_id, GroupStatus::Active, Vec::new()).await?;
        }
        let launch = match group.launch.get("type").and_then(|t| t.as_str()) {
            Some("local_process") => {
                match group.launch.get("args").map(|args| LocalProcessLaunch::parse(args, "args")) {
                    Some(Ok(launch)) => Some(launch),
                    _ => return self.fail(&group, vec!["launch configuration is invalid".to_string()]).await,
                }
            }
            // Other launch types have no provider on this server; nothing to converge.
            _ => None,
        };
        let members = self.store.list_members(Some(group_id)).await?;
        let Some(launch) = launch else {
            if group.state.deleting && members.is_empty() {
                self.store.purge_group(group_id).await?;
                self.processes.remove_logs(group_id);
                return Ok(Outcome::Gone);
            }
            return Ok(Outcome::Settled);
        };
        let now = self.clock.now();
        let ports: Vec<u16> = launch.load_balancers.iter().map(|b| b.port).collect();
        let balancers = match self.ensure_balancers(group_id, &ports).await {
            Ok(balancers) => balancers,
            Err(message) if !group.state.deleting => return self.fail(&group, vec![message]).await,
            Err(_) => Vec::new(),
        };

        // What the operator no longer allows is stopped, and nothing new starts.
        let denied = match group.state.deleting {
            true => None,
            false => self.store.local_process(&group.tenant_id).await?.check(&group.tenant_id, &launch.process).err(),
        };
        let observed = self.observe(&members, &balancers, now, streaks);
        let desired = if group.state.deleting || denied.is_some() { 0 } else { group.state.desired };
        let plan = converge::plan(&PlanInput {
            desired,
            members: &observed,
            now,
            build_timeout: SignedDuration::try_from(self.settings.build_timeout).unwrap_or(SignedDuration::MAX),
            draining_timeout: SignedDuration::from_secs_f64(launch.draining_timeout),
            has_balancer: !balancers.is_empty(),
            max_starts: self.settings.max_starts,
        });
        if streaks.crashes >= CRASH_LOOP {
            let message = format!(
                "{CRASH_LOOP} members in a row exited before they were ready; see their logs (ebb member logs)"
            );
            return self.fail(&group, vec![message]).await;
        }
        streaks.readiness_timeouts += plan
            .steps
            .iter()
            .filter(|step| matches!(step, Step::Stop { reason: converge::StopReason::BuildTimeout, .. }))
            .count() as u32;
        if streaks.readiness_timeouts >= READINESS_TIMEOUTS {
            for member in &observed {
                if member.state == MemberState::Starting {
                    self.processes.stop(&member.id);
                }
            }
            let message = format!(
                "{READINESS_TIMEOUTS} members in a row did not pass their readiness check ({}) within the build timeout of {} s; see their logs (ebb member logs)",
                crate::provider::local_process::describe_readiness(&launch.process.readiness),
                self.settings.build_timeout.as_secs_f64()
            );
            return self.fail(&group, vec![message]).await;
        }

        let mut failures = Vec::new();
        let mut remaining_members = members.len();
        for step in &plan.steps {
            match step {
                Step::Start => {
                    if self.stopping_all.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    if let Err(message) = self.start_member(&group, &launch).await {
                        failures.push(message);
                        break;
                    }
                    remaining_members += 1;
                }
                Step::AddToBalancer { member } => {
                    if let Some(record) = members.iter().find(|m| &m.id == member) {
                        let address = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, record.port));
                        for balancer in &balancers {
                            balancer.add(member, address);
                        }
                    }
                }
                Step::Drain { member } => {
                    for balancer in &balancers {
                        balancer.remove(member);
                    }
                    if let Ok(mut tracking) = self.tracking.lock() {
                        tracking.draining.insert(member.clone(), now);
                    }
                }
                Step::Stop { member, reason } => {
                    tracing::info!(group = group_id, member = %member, ?reason, "stopping member");
                    for balancer in &balancers {
                        balancer.remove(member);
                    }
                    self.processes.stop(member);
                    if let Ok(mut tracking) = self.tracking.lock() {
                        tracking.draining.remove(member);
                        tracking.stopping.insert(member.clone());
                    }
                }
                Step::Forget { member } => {
                    for balancer in &balancers {
                        balancer.forget(member);
                    }
                    self.store.delete_member(member).await?;
                    self.processes.forget(member);
                    if let Ok(mut tracking) = self.tracking.lock() {
                        tracking.stopping.remove(member);
                        tracking.removing.remove(member);
                        tracking.draining.remove(member);
                        tracking.ready.remove(member);
                    }
                    remaining_members = remaining_members.saturating_sub(1);
                }
            }
        }

        self.record_observation(group_id, &members, &observed, &plan.active);
        if group.state.deleting && remaining_members == 0 {
            self.close_balancers(group_id).await;
            self.store.purge_group(group_id).await?;
            self.processes.remove_logs(group_id);
            tracing::info!(group = group_id, "deleted group purged");
            return Ok(Outcome::Gone);
        }
        if let Some(message) = denied {
            self.fail(&group, vec![message]).await?;
            // Passes go on until the members are gone.
            return Ok(if plan.settled { Outcome::Failed } else { Outcome::Unsettled });
        }
        if !failures.is_empty() {
            return self.fail(&group, failures).await;
        }
        if group.state.status == GroupStatus::Error && !user {
            return Ok(Outcome::Failed);
        }
        Ok(if plan.settled { Outcome::Settled } else { Outcome::Unsettled })
    }

    async fn fail(&self, group: &GroupRecord, mut messages: Vec<String>) -> Result<Outcome, ebb_store::StoreError> {
        messages.sort();
        messages.dedup();
        tracing::warn!(group = %group.id, errors = ?messages, "convergence failed");
        self.store.set_group_status(&group.id, GroupStatus::Error, messages).await?;
        Ok(Outcome::Failed)
    }

    /// Turns member records into what the planner needs, from the provider's view.
    fn observe(
        &self,
        members: &[MemberRecord],
        balancers: &[Balancer],
        now: Timestamp,
        streaks: &mut Streaks,
    ) -> Vec<ObservedMember> {
        let Ok(mut tracking) = self.tracking.lock() else { return Vec::new() };
        let routable: Vec<Vec<String>> = balancers.iter().map(Balancer::routable).collect();
        members
            .iter()
            .map(|member| {
                let status = self.processes.status(&member.id);
                let in_flight = balancers.iter().map(|b| b.in_flight(&member.id)).sum();
                let in_balancer = routable.iter().all(|ids| ids.contains(&member.id));
                let state = match status {
                    None => MemberState::Exited,
                    Some(status) if status.exited.is_some() => {
                        if status.exited_before_ready && !tracking.stopping.contains(&member.id) {
                            streaks.crashes += 1;
                        }
                        MemberState::Exited
                    }
                    Some(_) if tracking.stopping.contains(&member.id) => MemberState::Stopping,
                    Some(_) if tracking.removing.remove(&member.id) => {
                        tracking.draining.insert(member.id.clone(), now);
                        MemberState::Draining { since: now }
                    }
                    Some(_) if tracking.draining.contains_key(&member.id) => {
                        MemberState::Draining { since: tracking.draining[&member.id] }
                    }
                    Some(status) if status.ready => {
                        // A member that just became ready ends both streaks.
                        if tracking.ready.insert(member.id.clone()) {
                            *streaks = Streaks::default();
                        }
                        MemberState::Ready
                    }
                    Some(_) => MemberState::Starting,
                };
                ObservedMember { id: member.id.clone(), created_at: member.created_at, state, in_balancer, in_flight }
            })
            .collect()
    }

    fn record_observation(
        &self,
        group: &str,
        members: &[MemberRecord],
        observed: &[ObservedMember],
        active: &[String],
    ) {
        let view = |member: &MemberRecord, state: MemberState| MemberView {
            id: member.id.clone(),
            name: member.name.clone(),
            status: match state {
                MemberState::Starting => "starting",
                MemberState::Ready => "active",
                MemberState::Draining { .. } => "draining",
                MemberState::Stopping => "stopping",
                MemberState::Exited => "exited",
            },
            port: member.port,
            pid: member.pid,
            created_at: member.created_at.to_string(),
        };
        let all: Vec<MemberView> = members.iter().zip(observed).map(|(m, o)| view(m, o.state)).collect();
        let active_views = all.iter().filter(|v| active.contains(&v.id)).cloned().collect();
        if let Ok(mut observations) = self.observations.write() {
            observations.insert(group.to_string(), Observation { active: active_views, members: all });
        }
    }

    async fn start_member(&self, group: &GroupRecord, launch: &LocalProcessLaunch) -> Result<(), String> {
        let port = free_port().map_err(|err| format!("no free port for a member: {err}"))?;
        let id = uuid::Uuid::now_v7().to_string();
        let name = format!("{}-as{}", group.config.name, name_suffix());
        let record = MemberRecord {
            id: id.clone(),
            group_id: group.id.clone(),
            name: name.clone(),
            port,
            pid: None,
            created_at: self.clock.now(),
        };
        tracing::debug!(group = %group.id, member = %id, "recording member");
        // Recorded before it starts, so that a crash right after never leaves it unmanaged.
        self.store.insert_member(record).await.map_err(|err| err.to_string())?;
        tracing::debug!(group = %group.id, member = %id, "starting member");
        let spec = MemberSpec { group_id: &group.id, member_id: &id, name: &name, port, process: &launch.process };
        match self.processes.start(&spec) {
            Ok(pid) => {
                self.store.set_member_pid(&id, pid).await.map_err(|err| err.to_string())?;
                Ok(())
            }
            Err(err) => {
                let _ = self.store.delete_member(&id).await;
                Err(err.to_string())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Settled,
    Unsettled,
    Failed,
    Gone,
}

/// Eight random lowercase hex characters for a member name (`{name}-as{8 hex}`); names need
/// to be unique, not secret, and a fresh UUIDv4 already carries OS randomness.
fn name_suffix() -> String {
    uuid::Uuid::new_v4().as_bytes()[..4].iter().map(|b| format!("{b:02x}")).collect()
}
