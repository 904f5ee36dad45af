//! One convergence pass of a group: gather what is observed, plan with the pure planner, run
//! the steps through the provider and the load balancers, record the outcome.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ebb_core::converge::{self, MemberState, ObservedMember, PlanInput, Step, StopReason};
use ebb_core::launch::LaunchKind;
use ebb_core::records::{Group, GroupStatus};
use ebb_store::{GroupId, MemberId, MemberRecord, StoreError};
use jiff::{SignedDuration, Timestamp};

use super::{Converger, Observation, name_suffix};
use crate::provider::{LoadBalancer, MemberStatus, MemberToStart, Provider};

/// Consecutive members that exit before they are ever ready after which a group is put in
/// ERROR instead of starting more (a crash loop).
const CRASH_LOOP: u32 = 5;

/// Consecutive members that do not pass their readiness check within the build timeout after
/// which a group is put in ERROR instead of replacing them forever.
const READINESS_TIMEOUTS: u32 = 3;

/// What went wrong with a group's recent members, in a row; reset by a trigger that lifts an
/// error, and each count by a member that proves the opposite.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Streaks {
    /// Members that exited before they were ever ready.
    crashes: u32,
    /// Members stopped because they were not ready within the build timeout.
    readiness_timeouts: u32,
    /// Passes of a cloud group in a row that waited on a transitional state.
    pub(super) limited_retries: u32,
}

/// How a pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Nothing left to do until the next trigger.
    Settled,
    /// Plan again shortly.
    Unsettled,
    /// Plan again after the cloud's retry interval (a cloud group waiting on its servers).
    Polling,
    /// In ERROR: wait for a trigger that lifts it.
    Failed,
    /// The group is gone.
    Gone,
}

impl Converger {
    /// Nothing runs the group's launch type here: said so, rather than reported settled.
    fn say_unconverged(&self, group: &Group) {
        let kind = group.launch.document["type"].as_str().unwrap_or("this launch type");
        let unconverged = format!("no provider for {kind} on this server: the group's members are not launched");
        self.set_observation(
            group.id.as_str(),
            Observation { unconverged: Some(unconverged), ..Observation::default() },
        );
    }

    pub(super) async fn pass(
        self: &Arc<Self>,
        group_id: &str,
        user: bool,
        streaks: &mut Streaks,
    ) -> Result<Outcome, StoreError> {
        if self.stopping_all.load(Ordering::SeqCst) {
            return Ok(Outcome::Gone);
        }
        tracing::debug!(group = group_id, user, "convergence pass");
        let Some(group) = self.store.group_by_id(&GroupId::new(group_id)).await? else {
            self.close_balancers(group_id).await;
            self.forget_observation(group_id);
            return Ok(Outcome::Gone);
        };
        if user && group.state.status == GroupStatus::Error {
            // A new attempt shows ACTIVE at once (Otter #1809); a failure sets ERROR again.
            self.store.set_group_status(&group.id, GroupStatus::Active, Vec::new()).await?;
        }
        if group.launch.kind == LaunchKind::Server
            && let Some(clouds) = self.clouds.get()
        {
            return self.cloud_pass(clouds, &group, streaks).await;
        }
        let provider = self.provider_for(group.launch.kind).cloned();
        if provider.is_none() && !group.state.deleting {
            self.say_unconverged(&group);
            return Ok(Outcome::Settled);
        }
        let members = self.store.list_members(Some(&group.id)).await?;
        let Some(provider) = provider else {
            if members.is_empty() {
                self.purge(group_id).await?;
                return Ok(Outcome::Gone);
            }
            self.say_unconverged(&group);
            return Ok(Outcome::Settled);
        };
        let now = self.clock.now();
        let local = group.launch.local_process.as_ref();
        let ports: Vec<u16> = local.map(|l| l.load_balancers.iter().map(|b| b.port).collect()).unwrap_or_default();
        let balancers = match self.ensure_balancers(group_id, &ports).await {
            Ok(balancers) => balancers,
            Err(message) if !group.state.deleting => return self.fail(&group, vec![message]).await,
            Err(_) => Vec::new(),
        };

        // What the operator no longer allows is stopped, and nothing new starts.
        let denied = match (group.state.deleting, local) {
            (false, Some(local)) => {
                self.store.local_process(&group.tenant_id).await?.check(group.tenant_id.as_str(), &local.process).err()
            }
            _ => None,
        };
        let observed = self.observe(&provider, &members, &balancers, now, streaks);
        let desired = if group.state.deleting || denied.is_some() { 0 } else { group.state.desired };
        let draining = local.map(|l| l.draining_timeout).unwrap_or(0.0);
        let plan = converge::plan(&PlanInput {
            desired,
            members: &observed,
            now,
            build_timeout: SignedDuration::try_from(self.settings.build_timeout).unwrap_or(SignedDuration::MAX),
            draining_timeout: SignedDuration::from_secs_f64(draining),
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
            .filter(|step| matches!(step, Step::Stop { reason: StopReason::BuildTimeout, .. }))
            .count() as u32;
        if streaks.readiness_timeouts >= READINESS_TIMEOUTS {
            for (member, seen) in members.iter().zip(&observed) {
                if seen.state == MemberState::Starting {
                    provider.stop(member);
                }
            }
            let check = local
                .map(|l| crate::provider::local_process::describe_readiness(&l.process.readiness))
                .unwrap_or_else(|| "the provider's".to_string());
            let message = format!(
                "{READINESS_TIMEOUTS} members in a row did not pass their readiness check ({check}) within the build timeout of {} s; see their logs (ebb member logs)",
                self.settings.build_timeout.as_secs_f64()
            );
            return self.fail(&group, vec![message]).await;
        }

        let mut failures = Vec::new();
        let mut remaining_members = members.len();
        for step in &plan.steps {
            let record = |id: &str| members.iter().find(|m| m.id == id);
            match step {
                Step::Start => {
                    if self.stopping_all.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Err(message) = self.start_member(&provider, &group, now).await {
                        failures.push(message);
                        break;
                    }
                    remaining_members += 1;
                }
                Step::AddToBalancer { member } => {
                    if let Some(address) = record(member).and_then(|m| provider.address(m)) {
                        for balancer in &balancers {
                            balancer.add(member, address);
                        }
                    }
                }
                Step::Drain { member } => {
                    for balancer in &balancers {
                        balancer.drain(member);
                    }
                    if let Ok(mut tracking) = self.tracking.lock() {
                        tracking.draining.insert(member.clone(), now);
                    }
                }
                Step::Stop { member, reason } => {
                    tracing::info!(group = group_id, member = %member, ?reason, "stopping member");
                    for balancer in &balancers {
                        balancer.drain(member);
                    }
                    if let Some(record) = record(member) {
                        provider.stop(record);
                    }
                    if let Ok(mut tracking) = self.tracking.lock() {
                        tracking.draining.remove(member);
                        tracking.stopping.insert(member.clone());
                    }
                }
                Step::Forget { member } => {
                    for balancer in &balancers {
                        balancer.remove(member);
                    }
                    self.store.delete_member(&MemberId::new(member.as_str())).await?;
                    if let Some(record) = record(member) {
                        provider.forget(record);
                    }
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
            provider.group_gone(group_id);
            self.purge(group_id).await?;
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

    pub(super) async fn purge(&self, group: &str) -> Result<(), StoreError> {
        self.store.purge_group(&GroupId::new(group)).await?;
        self.forget_observation(group);
        tracing::info!(group, "deleted group purged");
        Ok(())
    }

    pub(super) async fn fail(&self, group: &Group, mut messages: Vec<String>) -> Result<Outcome, StoreError> {
        messages.sort();
        messages.dedup();
        tracing::warn!(group = %group.id, errors = ?messages, "convergence failed");
        self.store.set_group_status(&group.id, GroupStatus::Error, messages).await?;
        Ok(Outcome::Failed)
    }

    /// Turns member records into what the planner needs, from the provider's view.
    fn observe(
        &self,
        provider: &Arc<dyn Provider>,
        members: &[MemberRecord],
        balancers: &[Arc<dyn LoadBalancer>],
        now: Timestamp,
        streaks: &mut Streaks,
    ) -> Vec<ObservedMember> {
        let Ok(mut tracking) = self.tracking.lock() else { return Vec::new() };
        let routable: Vec<Vec<String>> = balancers.iter().map(|b| b.routable()).collect();
        members
            .iter()
            .map(|member| {
                let id = member.id.as_str();
                let in_flight = balancers.iter().map(|b| b.in_flight(id)).sum();
                let in_balancer = routable.iter().all(|ids| ids.iter().any(|routed| routed == id));
                let state = match provider.status(member) {
                    MemberStatus::Unknown => MemberState::Exited,
                    MemberStatus::Exited { before_ready, .. } => {
                        if before_ready && !tracking.stopping.contains(id) {
                            streaks.crashes += 1;
                        }
                        MemberState::Exited
                    }
                    MemberStatus::Running { .. } if tracking.stopping.contains(id) => MemberState::Stopping,
                    MemberStatus::Running { .. } if tracking.removing.remove(id) => {
                        tracking.draining.insert(id.to_string(), now);
                        MemberState::Draining { since: now }
                    }
                    MemberStatus::Running { .. } if tracking.draining.contains_key(id) => {
                        MemberState::Draining { since: tracking.draining[id] }
                    }
                    MemberStatus::Running { ready: true } => {
                        // A member that just became ready ends both streaks.
                        if tracking.ready.insert(id.to_string()) {
                            *streaks = Streaks::default();
                        }
                        MemberState::Ready
                    }
                    MemberStatus::Running { ready: false } => MemberState::Starting,
                };
                ObservedMember { id: id.to_string(), created_at: member.created_at, state, in_balancer, in_flight }
            })
            .collect()
    }

    /// Records a member, then starts it: so that no crash leaves a member unmanaged.
    async fn start_member(&self, provider: &Arc<dyn Provider>, group: &Group, now: Timestamp) -> Result<(), String> {
        let id = uuid::Uuid::now_v7().to_string();
        let name = format!("{}-as{}", group.config.name, name_suffix());
        let record = MemberRecord {
            id: MemberId::new(id.as_str()),
            group_id: group.id.clone(),
            name: name.clone(),
            provider: provider.name().to_string(),
            reference: serde_json::Value::Null,
            created_at: now,
        };
        let record_id = record.id.clone();
        tracing::debug!(group = %group.id, member = %id, "recording member");
        self.store.insert_member(record).await.map_err(|err| err.to_string())?;
        tracing::debug!(group = %group.id, member = %id, "starting member");
        let spec = MemberToStart { group_id: group.id.as_str(), member_id: &id, name: &name, launch: &group.launch };
        match provider.start(&spec).await {
            Ok(started) => {
                self.store.set_member_reference(&record_id, started.reference).await.map_err(|err| err.to_string())?;
                Ok(())
            }
            Err(err) if err.may_have_happened() => {
                // The record stays: the next passes see what the provider says of it.
                Err(err.to_string())
            }
            Err(err) => {
                let _ = self.store.delete_member(&record_id).await;
                Err(err.to_string())
            }
        }
    }
}
