//! One convergence pass of a `launch_server` group, as Otter's (§4.9): gather the group's
//! servers from Nova and the load balancers they name, plan with the pure planner
//! ([`ebb_core::cloud::converge::plan`]), run the steps in parallel (throttled per tenant),
//! and take the worst outcome: a failure puts the group in `ERROR` with messages the user can
//! act on; a transitional state waited on too long becomes one ("Timed out: …"); a pass that
//! changed something is followed by another at once (after `retry_interval`), one that waits
//! on the cloud by another after `cloud_retry_interval`. Nova's metadata is the truth: no
//! member records are kept for servers.

use std::collections::BTreeSet;
use std::sync::Arc;

use ebb_core::cloud::converge::{self, PlanInput, Reason};
use ebb_core::cloud::nova::{STATE_KEY, Server};
use ebb_core::records::Group;
use ebb_store::StoreError;
use jiff::SignedDuration;
use serde_json::json;

use super::pass::{Outcome, Streaks};
use super::{Converger, MemberView, Observation};
use crate::provider::cloud::CloudError;
use crate::provider::cloud::tenant::{Clouds, Gathered, TenantCloud};

/// Passes a transitional state is waited on before it is a failure (Otter's
/// `limited_retry_iterations`).
const LIMITED_RETRIES: u32 = 10;

impl Converger {
    /// A pass of a `launch_server` group.
    pub(super) async fn cloud_pass(
        self: &Arc<Self>,
        clouds: &Clouds,
        group: &Group,
        streaks: &mut Streaks,
    ) -> Result<Outcome, StoreError> {
        let group_id = group.id.as_str();
        let Some(cloud) = clouds.tenant(&group.tenant_id).await? else {
            if group.state.deleting {
                self.forget_cloud(group_id);
                self.purge(group_id).await?;
                return Ok(Outcome::Gone);
            }
            let unconverged = format!(
                "tenant {} has no cloud settings (PUT /admin/v1/tenants/{}/cloud): no servers are launched",
                group.tenant_id, group.tenant_id
            );
            self.set_observation(group_id, Observation { unconverged: Some(unconverged), ..Observation::default() });
            return Ok(Outcome::Settled);
        };
        let launch = group.launch.server.as_ref();
        let gathered = match cloud.gather(group_id, launch).await {
            Ok(gathered) => gathered,
            Err(reason) => return self.cloud_outcome(group, vec![reason], streaks, false).await,
        };
        let vanished = self.vanished(&cloud, group_id, &gathered.servers).await;
        let now = self.clock.now();
        let desired = if group.state.deleting { 0 } else { group.state.desired };
        let plan = converge::plan(&PlanInput {
            desired,
            servers: &gathered.servers,
            balancers: launch.map_or(&[][..], |l| l.balancers.as_slice()),
            vanished: &vanished,
            clbs: &gathered.clbs,
            pools: &gathered.pools,
            now,
            build_timeout: duration(self.settings.server_build_timeout),
            draining_timeout: SignedDuration::from_secs_f64(launch.map_or(0.0, |l| l.draining_timeout)),
            max_creates: self.settings.max_starts,
        });
        self.record_servers(group_id, &gathered, &plan.counted);
        tracing::debug!(group = group_id, steps = ?plan.steps, reasons = ?plan.reasons, "cloud plan");

        let runs = plan.steps.iter().map(|step| run_step(&cloud, step, group_id, launch));
        let results = futures::future::join_all(runs).await;
        let mut reasons = plan.reasons;
        let mut changed = false;
        for result in results {
            match result {
                Ok(()) => changed = true,
                Err(reason) => reasons.push(reason),
            }
        }
        if group.state.deleting && gathered.servers.is_empty() && reasons.is_empty() && !changed {
            self.forget_cloud(group_id);
            self.purge(group_id).await?;
            return Ok(Outcome::Gone);
        }
        match self.cloud_outcome(group, reasons, streaks, changed).await? {
            // Changes made: gathered again at once, to go on (the next ten creates, the
            // deletion after a removal) rather than a retry interval later.
            Outcome::Settled | Outcome::Polling if changed => Ok(Outcome::Unsettled),
            outcome => Ok(outcome),
        }
    }

    /// The worst of a pass's reasons, acted on. Only passes that `changed` nothing count
    /// towards the limit of a limited retry, since the others are followed at once.
    async fn cloud_outcome(
        &self,
        group: &Group,
        reasons: Vec<Reason>,
        streaks: &mut Streaks,
        changed: bool,
    ) -> Result<Outcome, StoreError> {
        let failures: Vec<String> = reasons
            .iter()
            .filter_map(|r| match r {
                Reason::Failure(message) => Some(message.clone()),
                _ => None,
            })
            .collect();
        if !failures.is_empty() {
            streaks.limited_retries = 0;
            return self.fail(group, failures).await;
        }
        let limited: Vec<&String> = reasons
            .iter()
            .filter_map(|r| match r {
                Reason::LimitedRetry(message) => Some(message),
                _ => None,
            })
            .collect();
        if limited.is_empty() {
            streaks.limited_retries = 0;
        } else if !changed {
            streaks.limited_retries += 1;
            if streaks.limited_retries > LIMITED_RETRIES {
                streaks.limited_retries = 0;
                let messages = limited.iter().map(|m| format!("Timed out: {m}")).collect();
                return self.fail(group, messages).await;
            }
        }
        if reasons.is_empty() {
            return Ok(Outcome::Settled);
        }
        tracing::debug!(group = %group.id, ?reasons, "cloud group not settled");
        // Waiting on the cloud can last (a server building, the cloud down): said at most
        // once a minute, whatever the number of groups and passes.
        if let Some(times) = self.cloud_waits.hit(std::time::Instant::now()) {
            tracing::info!(group = %group.id, ?reasons, passes = times, "cloud groups waiting on their cloud");
        }
        Ok(Outcome::Polling)
    }

    /// ServiceNet addresses of the group's servers seen by the last pass and gone now; the
    /// addresses seen now are remembered for the next. On the first pass since Ebb started,
    /// the group's servers Nova says were deleted in the last day stand for what the last pass
    /// would have seen (best effort: a failed listing only means no leftovers are found).
    async fn vanished(&self, cloud: &TenantCloud, group: &str, servers: &[Server]) -> Vec<String> {
        let now: BTreeSet<String> = servers.iter().filter_map(|s| s.servicenet.clone()).collect();
        let before = match self.cloud_addresses.lock() {
            Ok(mut seen) => seen.insert(group.to_string(), now.clone()),
            Err(_) => return Vec::new(),
        };
        let before = match before {
            Some(before) => before,
            None => {
                let since = self.clock.now() - SignedDuration::from_hours(24);
                match cloud.nova.deleted_since(group, since).await {
                    Ok(deleted) => deleted.into_iter().filter_map(|s| s.servicenet).collect(),
                    Err(err) => {
                        tracing::debug!(group, error = %err, "cannot list the group's deleted servers");
                        BTreeSet::new()
                    }
                }
            }
        };
        let released = self.released_addresses.lock().map(|r| r.clone()).unwrap_or_default();
        before.difference(&now).filter(|a| !released.contains(*a)).cloned().collect()
    }

    fn forget_cloud(&self, group: &str) {
        if let Ok(mut seen) = self.cloud_addresses.lock() {
            seen.remove(group);
        }
    }

    /// What `GET .../state` and `.../members` show of a group's servers.
    fn record_servers(&self, group: &str, gathered: &Gathered, counted: &[String]) {
        let members: Vec<MemberView> = gathered
            .servers
            .iter()
            .map(|server| {
                let draining = server.metadata.get(STATE_KEY).and_then(|v| v.as_str()) == Some("DRAINING");
                MemberView {
                    id: server.id.clone(),
                    name: server.name.clone(),
                    status: server_status(&server.status, draining),
                    provider: "launch_server".to_string(),
                    reference: json!({"server": server.id, "status": server.status, "servicenet": server.servicenet,
                        "href": server.href}),
                    address: None,
                    created_at: server.created.unwrap_or_else(|| self.clock.now()),
                }
            })
            .collect();
        let mut active: Vec<MemberView> =
            members.iter().filter(|m| m.status == "active" && counted.contains(&m.id)).cloned().collect();
        active.sort_by_key(|m| m.created_at);
        self.set_observation(group, Observation { active, members, unconverged: None });
    }
}

/// A server's status as members show theirs.
fn server_status(nova: &str, draining: bool) -> &'static str {
    match nova {
        _ if draining => "draining",
        "ACTIVE" => "active",
        "BUILD" => "starting",
        "ERROR" => "error",
        "DELETED" => "exited",
        _ => "other",
    }
}

async fn run_step(
    cloud: &TenantCloud,
    step: &converge::Step,
    group: &str,
    launch: Option<&ebb_core::cloud::launch::ServerLaunch>,
) -> Result<(), Reason> {
    let result = cloud.run(step, group, launch).await;
    match &result {
        Ok(()) => tracing::debug!(group, ?step, "cloud step done"),
        // A retry may repeat every pass: not worth more than a debug line each time; a
        // failure ends the group's passes, in ERROR, said once by `fail`.
        Err(Reason::Failure(message)) => tracing::info!(group, ?step, message, "cloud step failed"),
        Err(reason) => tracing::debug!(group, ?step, ?reason, "cloud step to try again"),
    }
    result
}

fn duration(value: std::time::Duration) -> SignedDuration {
    SignedDuration::try_from(value).unwrap_or(SignedDuration::MAX)
}

impl Converger {
    /// A server of a `launch_server` group, by id, if it exists and its metadata says it is
    /// the group's (Otter §4.8 step 1); `None` too when the tenant has no cloud.
    pub async fn cloud_server(&self, group: &Group, server: &str) -> Result<Option<Server>, CloudError> {
        let Some(clouds) = self.clouds.get() else { return Ok(None) };
        let Ok(Some(cloud)) = clouds.tenant(&group.tenant_id).await else { return Ok(None) };
        let found = cloud.nova.server(server).await?;
        Ok(found.filter(|s| s.group.as_deref() == Some(group.id.as_str()) && s.status != "DELETED"))
    }

    /// Lets a server of a group go (Otter §4.8 step 3): with `purge`, marked to be drained
    /// and deleted by the next passes; without, Ebb's metadata is taken off it, and it stays,
    /// unmanaged, where it is. The caller triggers the pass that acts on it.
    pub async fn release_server(&self, group: &Group, server: &Server, purge: bool) -> Result<(), CloudError> {
        let Some(clouds) = self.clouds.get() else { return Ok(()) };
        let Ok(Some(cloud)) = clouds.tenant(&group.tenant_id).await else { return Ok(()) };
        let mut metadata = server.metadata.clone();
        if purge {
            metadata.insert(STATE_KEY.into(), json!("DRAINING"));
        } else {
            metadata.retain(|key, _| !ebb_core::cloud::nova::is_autoscale_key(key));
            // Left where it is: its nodes are no leftovers.
            if let (Some(address), Ok(mut released)) = (&server.servicenet, self.released_addresses.lock()) {
                released.insert(address.clone());
            }
        }
        cloud.nova.set_metadata(&server.id, &metadata).await
    }
}
