//! Metric policies through the Otter policy API, end to end: `target_tracking`, `step`,
//! `threshold` and `votes` are validated, stored, listed like any policy, and never executed.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{Server, basic, group};

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

/// A group whose members no provider here runs: its member slots are `0..desired`, each a
/// ready member named by its slot.
#[tokio::test]
async fn samples_scale_through_target_tracking_explain_says_why_and_slots_vote() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(2, 10)).await;
    let policies = json!([
        {"type": "target_tracking", "name": "queue", "cooldown": 0, "args": {"metric": "queue_length",
            "target": {"type": "AverageValue", "averageValue": 10},
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}},
        {"type": "target_tracking", "name": "eager", "cooldown": 0, "dry_run": true, "args": {"metric": "queue_length",
            "target": {"type": "AverageValue", "averageValue": 1}}},
        // The ballot is only counted here (a dry run): its tally shows in explain.
        {"type": "votes", "name": "ballot", "cooldown": 0, "dry_run": true, "args": {"resize_calm_time": 0}}
    ]);
    api.post(&api.t(&format!("/groups/{g}/policies")), policies).await.ok(201);
    let push = |value: f64, slots: u32| {
        let samples: Vec<Value> = (0..slots)
            .map(|slot| json!({"group": g, "metric": "queue_length", "instance_index": slot, "value": value}))
            .collect();
        let (api, path) = (&api, api.t("/metrics"));
        async move { api.post(&path, json!({"samples": samples})).await }
    };
    // 30 jobs on each of 2 members, 10 wanted per member: 6 members at once.
    let pushed = push(30.0, 2).await;
    pushed.ok(200);
    assert_eq!(pushed.body["accepted"], 2, "{}", pushed.text);
    assert!(support::eventually(10, || async { api.desired(&g).await == 6 }).await, "scaled out on arrival");
    let history = api.get(&api.t(&format!("/groups/{g}/history?source=metric"))).await;
    let reasons: Vec<&str> =
        history.body["history"].as_array().unwrap().iter().filter_map(|e| e["reason"].as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("policy \"queue\": value 30") && r.ends_with("2 to 6")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.starts_with("dry run: policy \"eager\" would scale from 2 to 6")), "{reasons:?}");

    let explained = api.get(&api.t(&format!("/groups/{g}/explain"))).await;
    explained.ok(200);
    let explain = &explained.body["explain"];
    assert_eq!((explain["desiredCapacity"].as_u64(), explain["bounds"]["max"].as_u64()), (Some(6), Some(10)));
    let queue = &explain["policies"][0];
    assert_eq!((queue["name"].as_str(), queue["type"].as_str()), (Some("queue"), Some("target_tracking")));
    assert_eq!(queue["metric"], "queue_length");
    assert_eq!(queue["inputs"]["members"].as_array().unwrap().len(), 6, "{explain}");
    assert_eq!(queue["inputs"]["members"][0]["value"], 30.0);
    assert_eq!(queue["inputs"]["members"][5]["value"], Value::Null, "a slot without a sample");
    assert_eq!(explain["policies"][1]["dryRun"], true);
    assert_eq!(explain["policies"][2]["inputs"]["votes"]["live"], 6);
    assert!(
        ["hold", "scale"].contains(&explain["outcome"]["decision"].as_str().unwrap()),
        "missing samples count at 0 on a scale-up: {explain}"
    );

    // Votes: with the group's metric credential, by member slot; bad votes are refused.
    let credential = api.send(Method::PUT, &format!("/v1/apps/{g}/credential"), None).await;
    let (user, password) =
        (credential.body["username"].as_str().unwrap(), credential.body["password"].as_str().unwrap());
    let anonymous = server.anonymous();
    let vote = |member: &str, body: Value, auth: String| {
        let path = api.t(&format!("/groups/{g}/members/{member}/vote"));
        let (anonymous, body) = (&anonymous, body.to_string().into_bytes());
        async move { anonymous.raw(Method::PUT, &path, Some(body), &[("authorization", auth.as_str())]).await }
    };
    vote("0", json!({"vote": "grow"}), basic(user, password)).await.ok(204);
    vote("0", json!({"vote": "up"}), basic(user, password)).await.error(400, "ValidationError");
    vote("0", json!({}), basic(user, password)).await.error(400, "ValidationError");
    vote("0", json!({"vote": "grow"}), basic(user, "wrong")).await.error(401, "InvalidCredentials");
    vote("99", json!({"vote": "grow"}), basic(user, password)).await.error(404, "ServerNotFoundError");
    vote("1", json!({"vote": null}), basic(user, password)).await.ok(204);
    let tallied = api.get(&api.t(&format!("/groups/{g}/explain"))).await;
    assert_eq!(tallied.body["explain"]["policies"][2]["inputs"]["votes"]["grow"], 1);

    // Scaling in paused alone: the queue drains, the group stays; resumed, it goes down.
    api.post_empty(&api.t(&format!("/groups/{g}/pause?direction=sideways"))).await.error(400, "InvalidQueryArgument");
    api.post_empty(&api.t(&format!("/groups/{g}/pause?direction=in"))).await.ok(204);
    let state = api.get(&api.t(&format!("/groups/{g}/state"))).await;
    assert_eq!(
        (&state.body["group"]["paused"], &state.body["group"]["pausedDirection"]),
        (&json!(false), &json!("in"))
    );
    push(0.0, 6).await.ok(200);
    let held = api.get(&api.t(&format!("/groups/{g}/explain"))).await;
    assert_eq!(held.body["explain"]["outcome"]["heldBy"], "scale-in is paused", "{}", held.text);
    assert_eq!(api.desired(&g).await, 6);
    api.post_empty(&api.t(&format!("/groups/{g}/resume"))).await.ok(204);
    push(0.0, 6).await.ok(200);
    assert!(support::eventually(10, || async { api.desired(&g).await < 6 }).await, "scaled in once resumed");
}
