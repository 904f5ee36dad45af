//! What the last pass observed of a group: its members and their status, which of them count
//! as active, and why a group is not converged at all. Data for the API to render.

use ebb_core::converge::{MemberState, ObservedMember};
use ebb_store::MemberRecord;
use serde_json::Value;

use super::Converger;

/// What the last pass observed of a member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `starting`, `active`, `draining`, `stopping` or `exited`.
    pub status: &'static str,
    /// The provider that runs it.
    pub provider: String,
    /// The provider's reference to it (for a local process, its process id and port).
    pub reference: Value,
    /// Where it serves.
    pub address: Option<std::net::SocketAddr>,
    /// When it was started.
    pub created_at: jiff::Timestamp,
}

/// What the last pass observed of a group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// Members that are ready and in every load balancer of the group, oldest first.
    pub active: Vec<MemberView>,
    /// Every member.
    pub members: Vec<MemberView>,
    /// Why the group's members are not converged at all, when they are not (no provider runs
    /// its launch type on this server).
    pub unconverged: Option<String>,
}

fn status_name(state: MemberState) -> &'static str {
    match state {
        MemberState::Starting => "starting",
        MemberState::Ready => "active",
        MemberState::Draining { .. } => "draining",
        MemberState::Stopping => "stopping",
        MemberState::Exited => "exited",
    }
}

impl Converger {
    /// Records what a pass observed.
    pub(super) fn record_observation(
        &self,
        group: &str,
        members: &[MemberRecord],
        observed: &[ObservedMember],
        active: &[String],
    ) {
        let all: Vec<MemberView> = members
            .iter()
            .zip(observed)
            .map(|(member, seen)| MemberView {
                id: member.id.to_string(),
                name: member.name.clone(),
                status: status_name(seen.state),
                provider: member.provider.clone(),
                reference: member.reference.clone(),
                address: self.provider_of(member).and_then(|p| p.address(member)),
                created_at: member.created_at,
            })
            .collect();
        let active_views = all.iter().filter(|v| active.contains(&v.id)).cloned().collect();
        self.set_observation(group, Observation { active: active_views, members: all, unconverged: None });
    }

    pub(super) fn set_observation(&self, group: &str, observation: Observation) {
        if let Ok(mut observations) = self.observations.write() {
            observations.insert(group.to_string(), observation);
        }
    }

    pub(super) fn forget_observation(&self, group: &str) {
        if let Ok(mut observations) = self.observations.write() {
            observations.remove(group);
        }
    }
}
