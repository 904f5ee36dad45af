//! Metric policies through the Otter policy API, end to end: `target_tracking`, `step`,
//! `threshold` and `votes` are validated, stored, listed like any policy, and never executed.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{Server, group};

fn policies() -> Value {
    json!([
        {"type": "target_tracking", "name": "cpu", "cooldown": 0, "args": {"metric": "cpuutil",
            "target": {"type": "Utilization", "averageUtilization": 60}, "tolerance": 0.1,
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}}},
        {"type": "step", "name": "steps", "cooldown": 60, "args": {"metric": "queue_length", "threshold": 100,
            "comparison": ">=", "steps": [{"lower": 0, "upper": 20, "change": 1}, {"lower": 20, "change": 3}]}},
        {"type": "threshold", "name": "bot", "cooldown": 0, "dry_run": true,
            "args": {"metric": "responsetime", "decision": "consecutive"},
            "fallback": {"after": 3, "action": "fixed_if_higher", "members": 2}},
        {"type": "votes", "name": "ballot", "cooldown": 0, "args": {"decision_threshold": 60}}
    ])
}

#[tokio::test]
async fn metric_policies_are_stored_listed_and_never_executed() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    let created = api.post(&api.t(&format!("/groups/{g}/policies")), policies()).await;
    created.ok(201);
    let listed = api.get(&api.t(&format!("/groups/{g}/policies"))).await;
    listed.ok(200);
    let kinds: Vec<&str> =
        listed.body["policies"].as_array().unwrap().iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["target_tracking", "step", "threshold", "votes"]);
    let threshold = &listed.body["policies"][2];
    assert_eq!((&threshold["dry_run"], &threshold["fallback"]["members"]), (&json!(true), &json!(2)), "echoed as sent");

    let id = created.body["policies"][0]["id"].as_str().unwrap();
    let executed = api.send(Method::POST, &api.t(&format!("/groups/{g}/policies/{id}/execute")), None).await;
    executed.error(403, "CannotExecutePolicyError");
    assert!(executed.body["error"]["message"].as_str().unwrap().contains("metric policy"), "{}", executed.text);
    assert_eq!(api.desired(&g).await, 1, "nothing changed");

    // Bad arguments name the field, and nothing of the batch is stored.
    let mut bad = policies();
    bad[1]["args"]["steps"][1]["lower"] = json!(10);
    let refused = api.post(&api.t(&format!("/groups/{g}/policies")), bad).await;
    refused.error(400, "ValidationError");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("args.steps[1]: overlaps"), "{}", refused.text);
    let with_change = json!([{"type": "target_tracking", "name": "x", "cooldown": 0, "change": 1,
        "args": {"metric": "cpuutil", "target": {"type": "Utilization", "averageUtilization": 60}}}]);
    api.post(&api.t(&format!("/groups/{g}/policies")), with_change).await.error(400, "ValidationError");
    let count = api.get(&api.t(&format!("/groups/{g}/policies"))).await.body["policies"].as_array().unwrap().len();
    assert_eq!(count, 4);
}

#[tokio::test]
async fn a_group_may_pace_each_direction_with_its_own_cooldown() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let mut body = group(1, 10);
    body["groupConfiguration"]["cooldown"] = json!(600);
    body["groupConfiguration"]["scaleUpCooldown"] = json!(0);
    body["groupConfiguration"]["scaleDownCooldown"] = json!(3600);
    let g = api.create_group(body).await;
    let config = api.get(&api.t(&format!("/groups/{g}/config"))).await;
    assert_eq!(config.body["groupConfiguration"]["scaleDownCooldown"], 3600, "{}", config.text);
    let up = api.create_policy(&g, json!({"name": "up", "type": "webhook", "cooldown": 0, "change": 1})).await;
    let down = api.create_policy(&g, json!({"name": "down", "type": "webhook", "cooldown": 0, "change": -1})).await;
    let execute = |policy: String| {
        let (api, path) = (&api, api.t(&format!("/groups/{g}/policies/{policy}/execute")));
        async move { api.send(Method::POST, &path, None).await }
    };
    execute(up.clone()).await.ok(202);
    execute(up.clone()).await.ok(202);
    assert_eq!(api.desired(&g).await, 3, "scaling up waits for nothing");
    execute(down).await.error(403, "CannotExecutePolicyError");
    assert_eq!(api.desired(&g).await, 3, "scaling down waits an hour");
    let bad = json!({"groupConfiguration": {"name": "x", "cooldown": 0, "minEntities": 0, "scaleUpCooldown": -1},
        "launchConfiguration": group(0, 1)["launchConfiguration"].clone()});
    api.post(&api.t("/groups"), bad).await.error(400, "ValidationError");
}
