//! Records rendered in Otter's JSON shapes.

use ebb_store::{GroupRecord, GroupStatus, PolicyRecord, WebhookRecord};
use serde_json::{Map, Value, json};

use crate::links::{Links, self_links};

/// The group state object.
///
/// No members exist yet, so `active` is empty and `pendingCapacity` is the whole desired
/// capacity. `errors` appears only in ERROR.
pub fn state(group: &GroupRecord) -> Value {
    let desired = i64::from(group.state.desired);
    let active_capacity: i64 = 0;
    let mut object = json!({
        "name": group.config.name,
        "paused": group.state.paused,
        "status": group.state.status.as_str(),
        "desiredCapacity": desired,
        "activeCapacity": active_capacity,
        "pendingCapacity": desired - active_capacity,
        "active": [],
    });
    if group.state.status == GroupStatus::Error {
        object["errors"] = group.state.errors.iter().map(|message| json!({"message": message})).collect();
    }
    object
}

/// `{"id", "links", "state"}` as in lists of groups.
pub fn group_summary(links: &Links, group: &GroupRecord) -> Value {
    json!({
        "id": group.id,
        "links": self_links(links.group(&group.tenant_id, &group.id)),
        "state": state(group),
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
