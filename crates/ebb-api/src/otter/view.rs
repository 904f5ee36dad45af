//! Records rendered as the API's answers (`wire`), in Otter's shapes.

use ebb_core::ids::{GroupId, MemberId, TenantId};
use ebb_engine::converger::{MemberView as ObservedMember, Observation};
use ebb_store::{Group, GroupStatus, PolicyRecord, WebhookRecord};

use crate::links::{Links, self_links};
use crate::wire::{self, ActiveMember, ErrorMessage, Link, Stored};

/// The group state object, with the members observed by the last convergence pass.
///
/// `active` lists members that are ready and in every load balancer of the group;
/// `pendingCapacity` is desired minus active (negative while scaling down). `errors` appears
/// only in ERROR.
pub fn state(links: &Links, group: &Group, observation: &Observation) -> wire::StateView {
    let desired = i64::from(group.state.desired);
    let active_capacity = observation.active.len() as i64;
    let active = observation
        .active
        .iter()
        .map(|member| ActiveMember {
            id: member.id.clone(),
            // A cloud server's link is its own, in Nova, as Otter's; a member's is Ebb's.
            links: match member.reference.get("href").and_then(serde_json::Value::as_str) {
                Some(href) => self_links(href.to_string()),
                None => self_links(links.server(&group.tenant_id, &group.id, &MemberId::new(member.id.as_str()))),
            },
        })
        .collect();
    let errors = (group.state.status == GroupStatus::Error)
        .then(|| group.state.errors.iter().map(|message| ErrorMessage { message: message.clone() }).collect());
    wire::StateView {
        name: group.config.name.clone(),
        paused: group.state.paused,
        paused_direction: group.state.paused_direction.map(|d| d.as_str()),
        status: group.state.status.as_str().to_string(),
        desired_capacity: desired,
        active_capacity,
        pending_capacity: desired - active_capacity,
        active,
        convergence: observation.unconverged.clone(),
        errors,
    }
}

/// A member as `GET .../members` shows it.
pub fn member(links: &Links, group: &Group, member: &ObservedMember) -> wire::MemberView {
    wire::MemberView {
        id: member.id.clone(),
        name: member.name.clone(),
        status: member.status.to_string(),
        provider: member.provider.clone(),
        port: member.address.map(|address| address.port()),
        pid: member.reference.get("pid").and_then(serde_json::Value::as_u64).and_then(|pid| u32::try_from(pid).ok()),
        created_at: member.created_at.to_string(),
        links: self_links(links.server(&group.tenant_id, &group.id, &MemberId::new(member.id.as_str()))),
    }
}

/// `{"id", "links", "state"}` as in lists of groups.
pub fn group_summary(links: &Links, group: &Group, observation: &Observation) -> wire::GroupSummary {
    wire::GroupSummary {
        id: group.id.to_string(),
        links: self_links(links.group(&group.tenant_id, &group.id)),
        state: state(links, group, observation),
    }
}

/// A policy: its body as submitted, plus `id` and `links`.
pub fn policy(links: &Links, tenant: &TenantId, policy: &PolicyRecord) -> wire::PolicyView {
    wire::PolicyView {
        id: policy.id.to_string(),
        links: self_links(links.policy(tenant, &policy.group_id, &policy.id)),
        body: Stored::new(policy.body.clone()),
        webhooks: None,
        webhooks_links: None,
    }
}

/// A webhook; the capability link only when its secret is known (at creation).
pub fn webhook(
    links: &Links,
    tenant: &TenantId,
    group: &GroupId,
    webhook: &WebhookRecord,
    capability_secret: Option<&str>,
) -> wire::WebhookView {
    let mut link_list = vec![Link::new(links.webhook(tenant, group, &webhook.policy_id, &webhook.id), "self")];
    if let Some(secret) = capability_secret {
        link_list.push(Link::new(links.capability(secret), "capability"));
    }
    wire::WebhookView {
        id: webhook.id.to_string(),
        name: webhook.name.clone(),
        metadata: webhook.metadata.clone(),
        links: link_list,
    }
}
