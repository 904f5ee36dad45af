//! Executing policies: items 53–60, and serialization of concurrent executions.

use serde_json::json;

use crate::support::{Api, Server, change, group};

async fn execute(api: &Api, g: &str, p: &str) -> crate::support::Reply {
    api.post_empty(&api.t(&format!("/groups/{g}/policies/{p}/execute"))).await
}

#[tokio::test]
async fn items_53_55_execute_clamps_and_refuses_when_nothing_changes() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 5)).await;
    let up = api.create_policy(&g, change(3)).await;
    let down = api.create_policy(&g, change(-10)).await;
    let reply = execute(&api, &g, &up).await;
    reply.ok(202);
    assert_eq!(reply.body, json!({}));
    assert_eq!(api.desired(&g).await, 4);
    execute(&api, &g, &up).await.ok(202);
    assert_eq!(api.desired(&g).await, 5, "clamped to max");
    let refused = execute(&api, &g, &up).await;
    refused.error(403, "CannotExecutePolicyError");
    assert_eq!(
        refused.body["error"]["message"],
        format!("Cannot execute scaling policy {up} for group {g} for tenant t1: No change in servers")
    );
    execute(&api, &g, &down).await.ok(202);
    assert_eq!(api.desired(&g).await, 1, "clamped to min");
    execute(&api, &g, &down).await.error(403, "CannotExecutePolicyError");
    let absolute =
        api.create_policy(&g, json!({"name": "abs", "type": "webhook", "cooldown": 0, "desiredCapacity": 1})).await;
    execute(&api, &g, &absolute).await.error(403, "CannotExecutePolicyError");
    execute(&api, &g, "missing").await.error(404, "NoSuchPolicyError");
    // min == max: both directions refused.
    let fixed = api.create_group(group(2, 2)).await;
    let fixed_up = api.create_policy(&fixed, change(1)).await;
    let fixed_down = api.create_policy(&fixed, change(-1)).await;
    execute(&api, &fixed, &fixed_up).await.error(403, "CannotExecutePolicyError");
    execute(&api, &fixed, &fixed_down).await.error(403, "CannotExecutePolicyError");
}

#[tokio::test]
async fn item_54_change_percent_rounds_away_from_zero() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    for (percent, expected) in [(50.0, 8), (-50.0, 2), (5.0, 6), (-5.0, 4), (75.0, 9), (-75.0, 1)] {
        let g = api.create_group(group(0, 100)).await;
        let five = api
            .create_policy(&g, json!({"name": "five", "type": "webhook", "cooldown": 0, "desiredCapacity": 5}))
            .await;
        execute(&api, &g, &five).await.ok(202);
        let p = api
            .create_policy(&g, json!({"name": "pct", "type": "webhook", "cooldown": 0, "changePercent": percent}))
            .await;
        execute(&api, &g, &p).await.ok(202);
        assert_eq!(api.desired(&g).await, expected, "5 servers {percent:+}%");
    }
    // Otter's decimal arithmetic: any fraction of a member counts, exact multiples do not.
    for (start, percent, expected) in [(3, 33.333333333333336, 5), (10, 1e-9, 11), (10, 10.0, 11)] {
        let g = api.create_group(group(0, 100)).await;
        let set = api
            .create_policy(&g, json!({"name": "set", "type": "webhook", "cooldown": 0, "desiredCapacity": start}))
            .await;
        execute(&api, &g, &set).await.ok(202);
        let p = api
            .create_policy(&g, json!({"name": "pct", "type": "webhook", "cooldown": 0, "changePercent": percent}))
            .await;
        execute(&api, &g, &p).await.ok(202);
        assert_eq!(api.desired(&g).await, expected, "{start} servers {percent:+}%");
    }
}

#[tokio::test]
async fn items_56_57_cooldowns_refuse_and_only_successes_start_them() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    // Policy cooldown.
    let g = api.create_group(group(0, 10)).await;
    let slow = api.create_policy(&g, json!({"name": "slow", "type": "webhook", "cooldown": 3600, "change": 1})).await;
    let other = api.create_policy(&g, change(1)).await;
    execute(&api, &g, &slow).await.ok(202);
    let refused = execute(&api, &g, &slow).await;
    refused.error(403, "CannotExecutePolicyError");
    assert!(refused.body["error"]["message"].as_str().unwrap().ends_with("Cooldowns not met."));
    execute(&api, &g, &other).await.ok(202);
    assert_eq!(api.desired(&g).await, 2);
    // Group cooldown applies across policies.
    let mut cooled = group(0, 10);
    cooled["groupConfiguration"]["cooldown"] = json!(3600);
    let g2 = api.create_group(cooled).await;
    let a = api.create_policy(&g2, change(1)).await;
    let b = api.create_policy(&g2, change(1)).await;
    execute(&api, &g2, &a).await.ok(202);
    execute(&api, &g2, &b).await.error(403, "CannotExecutePolicyError");
    // A refused execution starts no cooldown.
    let g3 = api
        .create_group({
            let mut body = group(0, 0);
            body["groupConfiguration"]["cooldown"] = json!(3600);
            body
        })
        .await;
    let up = api.create_policy(&g3, json!({"name": "up", "type": "webhook", "cooldown": 3600, "change": 1})).await;
    execute(&api, &g3, &up).await.error(403, "CannotExecutePolicyError");
    let config = json!({"name": "web", "cooldown": 3600, "minEntities": 0, "maxEntities": 5, "metadata": {}});
    api.put(&api.t(&format!("/groups/{g3}/config")), config).await.ok(204);
    execute(&api, &g3, &up).await.ok(202);
    assert_eq!(api.desired(&g3).await, 1);
}

#[tokio::test]
async fn items_59_60_paused_groups_refuse_executions_and_convergence() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 10)).await;
    let p = api.create_policy(&g, change(1)).await;
    let (_, capability) = api.create_webhook(&g, &p).await;
    for _ in 0..2 {
        api.post_empty(&api.t(&format!("/groups/{g}/pause"))).await.ok(204);
    }
    assert_eq!(api.get(&api.t(&format!("/groups/{g}/state"))).await.body["group"]["paused"], true);
    let refused = execute(&api, &g, &p).await;
    refused.error(403, "GroupPausedError");
    assert_eq!(
        refused.body["error"]["message"],
        format!("Cannot execute policy {p} for group {g} for tenant t1 because group is paused")
    );
    execute(&api, &g, "missing").await.error(403, "GroupPausedError");
    api.post_empty(&api.t(&format!("/groups/{g}/converge"))).await.error(403, "GroupPausedError");
    // Policies and webhooks can still be managed.
    let p2 = api.create_policy(&g, change(2)).await;
    api.create_webhook(&g, &p2).await;
    server.anonymous().post_empty(&capability).await.ok(202);
    // The execution follows its 202: wait until it was judged, then resume.
    let judged = "ebb_policy_executions_total{outcome=\"paused\",source=\"capability\"} 1";
    let anonymous = server.anonymous();
    assert!(crate::support::eventually(5, || async { anonymous.get("/metrics").await.text.contains(judged) }).await);
    for _ in 0..2 {
        api.post_empty(&api.t(&format!("/groups/{g}/resume"))).await.ok(204);
    }
    execute(&api, &g, &p).await.ok(202);
    assert_eq!(api.desired(&g).await, 1, "the webhook call while paused had no effect");
}

#[tokio::test]
async fn concurrent_executions_on_one_group_are_serialized() {
    let server = Server::start_with(&["--tenant-requests-per-minute", "100000"]);
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 1000)).await;
    let p = api.create_policy(&g, change(1)).await;
    let runs = (0..200).map(|_| {
        let api = api.clone();
        let (g, p) = (g.clone(), p.clone());
        async move { execute(&api, &g, &p).await.status }
    });
    let statuses = futures::future::join_all(runs).await;
    assert!(statuses.iter().all(|s| *s == 202), "every execution succeeds: {statuses:?}");
    assert_eq!(api.desired(&g).await, 200);
}

#[tokio::test]
async fn concurrent_capability_executions_on_one_group_are_serialized() {
    let server = Server::start_with(&["--capability-requests-per-second", "1000"]);
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 1000)).await;
    let p = api.create_policy(&g, change(1)).await;
    let (_, capability) = api.create_webhook(&g, &p).await;
    let anonymous = server.anonymous();
    let runs = (0..200).map(|_| {
        let anonymous = anonymous.clone();
        let capability = capability.clone();
        async move { anonymous.post_empty(&capability).await.status }
    });
    let statuses = futures::future::join_all(runs).await;
    assert!(statuses.iter().all(|s| *s == 202));
    assert!(crate::support::eventually(10, || async { api.desired(&g).await == 200 }).await);
}
