//! Records rendered in Otter's JSON shapes.

use ebb_engine::converger::{MemberView, Observation};
use ebb_store::{GroupRecord, GroupStatus, PolicyRecord, WebhookRecord};
use serde_json::{Map, Value, json};

use crate::links::{Links, self_links};

/// The group state object, with the members observed by the last convergence pass.
///
/// `active` lists members that are ready and in every load balancer of the group;
/// `pendingCapacity` is desired minus active (negative while scaling down). `errors` appears
/// only in ERROR.
pub fn state(links: &Links, group: &GroupRecord, observation: &Observation) -> Value {
    let desired = i64::from(group.state.desired);
    let active_capacity = observation.active.len() as i64;
    let active: Vec<Value> = observation
        .active
        .iter()
        .map(|member| json!({"id": member.id, "links": self_links(links.server(&group.tenant_id, &group.id, &member.id))}))
        .collect();
    let mut object = json!({
        "name": group.config.name,
        "paused": group.state.paused,
        "status": group.state.status.as_str(),
        "desiredCapacity": desired,
        "activeCapacity": active_capacity,
        "pendingCapacity": desired - active_capacity,
        "active": active,
    });
    if group.state.status == GroupStatus::Error {
        object["errors"] = group.state.errors.iter().map(|message| json!({"message": message})).collect();
    }
    object
}

/// A member as `GET .../members` shows it.
pub fn member(links: &Links, group: &GroupRecord, member: &MemberView) -> Value {
    json!({
        "id": member.id,
        "name": member.name,
        "status": member.status,
        "port": member.port,
        "pid": member.pid,
        "created_at": member.created_at,
        "links": self_links(links.server(&group.tenant_id, &group.id, &member.id)),
    })
}

/// `{"id", "links", "state"}` as in lists of groups.
pub fn group_summary(links: &Links, group: &GroupRecord, observation: &Observation) -> Value {
    json!({
        "id": group.id,
        "links": self_links(links.group(&group.tenant_id, &group.id)),
        "state": state(links, group, observation),
    })
}

/// A policy: its body as submitted, plus `id` and `links`.
pub fn policy(links: &Links, tenant: &str, policy: &PolicyRecord) -> Value {
    let mut object = match &policy.body {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    object.insert("id".into(), json!(policy.id));
    object.insert("links".into(), self_links(links.policy(tenant, &policy.group_id, &policy.id)));
    Value::Object(object)
}

/// A webhook; the capability link only when its secret is known (at creation).
pub fn webhook(
    links: &Links,
    tenant: &str,
    group: &str,
    webhook: &WebhookRecord,
    capability_secret: Option<&str>,
) -> Value {
    let mut link_list = vec![json!({
        "href": links.webhook(tenant, group, &webhook.policy_id, &webhook.id),
        "rel": "self",
    })];
    if let Some(secret) = capability_secret {
        link_list.push(json!({"href": links.capability(secret), "rel": "capability"}));
    }
    json!({
        "id": webhook.id,
        "name": webhook.name,
        "metadata": webhook.metadata,
        "links": link_list,
    })
}
