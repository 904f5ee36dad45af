//! Webhooks and capability URLs: items 42–47.

use serde_json::json;

use crate::support::{Server, change, group};

#[tokio::test]
async fn items_42_43_webhooks_have_self_and_absolute_capability_links() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let p = api.create_policy(&g, change(1)).await;
    let path = api.t(&format!("/groups/{g}/policies/{p}/webhooks"));
    let reply = api.post(&path, json!([{"name": "a"}, {"name": "b", "metadata": {"team": "web"}}])).await;
    reply.ok(201);
    assert_eq!(reply.header("location"), Some(format!("{}{}/", server.url, path).as_str()));
    let hooks = reply.body["webhooks"].as_array().unwrap();
    assert_eq!(hooks[0]["metadata"], json!({}));
    assert_eq!(hooks[1]["metadata"], json!({"team": "web"}));
    let mut capabilities = Vec::new();
    for hook in hooks {
        let id = hook["id"].as_str().unwrap();
        let links = hook["links"].as_array().unwrap();
        assert_eq!(links[0], json!({"href": format!("{}{}/{id}/", server.url, path), "rel": "self"}));
        assert_eq!(links[1]["rel"], "capability");
        let href = links[1]["href"].as_str().unwrap();
        let prefix = format!("{}/v1.0/execute/1/", server.url);
        let secret = href.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix('/')).expect("capability URL shape");
        assert_eq!(secret.len(), 64);
        assert!(secret.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        capabilities.push(href.to_string());
    }
    assert_ne!(capabilities[0], capabilities[1]);
    // Only a hash is stored: the secret appears nowhere in the database.
    let stored = server.stored_bytes();
    assert!(!stored.is_empty());
    for capability in &capabilities {
        let secret = capability.trim_end_matches('/').rsplit('/').next().unwrap().as_bytes();
        assert!(!stored.windows(secret.len()).any(|w| w == secret), "capability secret stored in clear");
    }
    for bad in [
        json!([]),
        json!({"name": "x"}),
        json!([{"name": ""}]),
        json!([{"name": " "}]),
        json!([{"name": "x", "metadata": "m"}]),
        json!([{"name": "x", "y": 1}]),
    ] {
        api.post(&path, bad).await.error(400, "ValidationError");
    }
}

#[tokio::test]
async fn item_44_the_webhook_past_the_limit_is_refused_with_422() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let p = api.create_policy(&g, change(1)).await;
    let path = api.t(&format!("/groups/{g}/policies/{p}/webhooks"));
    api.post(&path, json!((0..25).map(|i| json!({"name": format!("w{i}")})).collect::<Vec<_>>())).await.ok(201);
    api.post(&path, json!([{"name": "one too many"}])).await.error(422, "WebhooksOverLimitError");
}

#[tokio::test]
async fn items_45_46_replace_and_unknown_webhooks() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let p = api.create_policy(&g, change(1)).await;
    let (w, _) = api.create_webhook(&g, &p).await;
    let path = api.t(&format!("/groups/{g}/policies/{p}/webhooks/{w}"));
    api.put(&path, json!({"name": "renamed"})).await.error(400, "ValidationError");
    api.put(&path, json!({"name": "renamed", "metadata": {"k": "v"}})).await.ok(204);
    let shown = api.get(&path).await;
    assert_eq!(shown.body["webhook"]["name"], "renamed");
    assert_eq!(shown.body["webhook"]["metadata"], json!({"k": "v"}));
    let missing = api.t(&format!("/groups/{g}/policies/{p}/webhooks/nope"));
    api.get(&missing).await.error(404, "NoSuchWebhookError");
    api.put(&missing, json!({"name": "x", "metadata": {}})).await.error(404, "NoSuchWebhookError");
    api.delete(&missing).await.error(404, "NoSuchWebhookError");
    api.delete(&path).await.ok(204);
    api.get(&path).await.error(404, "NoSuchWebhookError");
}

#[tokio::test]
async fn item_47_capability_urls_always_answer_202_and_only_live_ones_act() {
    let server = Server::start_verbose();
    let api = server.tenant("t1").await;
    let anonymous = server.anonymous();
    let g = api.create_group(group(0, 10)).await;
    let p = api.create_policy(&g, change(1)).await;
    let (w, capability) = api.create_webhook(&g, &p).await;
    let valid = anonymous.post_empty(&capability).await;
    valid.ok(202);
    assert!(valid.text.is_empty());
    assert!(
        crate::support::eventually(5, || async { api.desired(&g).await == 1 }).await,
        "a valid capability executes"
    );
    let unknown = format!("{}/v1.0/execute/1/{}/", server.url, "0".repeat(64));
    anonymous.post_empty(&unknown).await.ok(202);
    anonymous.post_empty(&format!("{}/v1.0/execute/1/short/", server.url)).await.ok(202);
    anonymous.post_empty(&capability.replace("/execute/1/", "/execute/2/")).await.ok(202);
    // Paused: 202, no effect. Executions follow their 202s, so wait for each to be counted
    // before changing the group again.
    let counted = |line: &'static str| {
        let anonymous = anonymous.clone();
        async move { crate::support::eventually(5, || async { anonymous.get("/metrics").await.text.contains(line) }).await }
    };
    api.post_empty(&api.t(&format!("/groups/{g}/pause"))).await.ok(204);
    anonymous.post_empty(&capability).await.ok(202);
    assert!(counted("ebb_policy_executions_total{outcome=\"paused\",source=\"capability\"} 1").await);
    // Cooldown: 202, no effect (the policy executed moments ago).
    api.post_empty(&api.t(&format!("/groups/{g}/resume"))).await.ok(204);
    api.put(
        &api.t(&format!("/groups/{g}/policies/{p}")),
        json!({"name": "slow", "type": "webhook", "cooldown": 3600, "change": 1}),
    )
    .await
    .ok(204);
    anonymous.post_empty(&capability).await.ok(202);
    assert!(counted("ebb_policy_executions_total{outcome=\"cooldown\",source=\"capability\"} 1").await);
    // Deleted: 202, no effect.
    api.delete(&api.t(&format!("/groups/{g}/policies/{p}/webhooks/{w}"))).await.ok(204);
    anonymous.post_empty(&capability).await.ok(202);
    // Only POST is routed.
    anonymous.get(&capability).await.error(405, "MethodNotAllowed");
    // Every outcome is counted (the executions follow their 202s), none with the secret.
    let expected = [
        "ebb_policy_executions_total{outcome=\"scaled\",source=\"capability\"} 1",
        "ebb_policy_executions_total{outcome=\"paused\",source=\"capability\"} 1",
        "ebb_policy_executions_total{outcome=\"cooldown\",source=\"capability\"} 1",
        // Unknown, malformed, of another version, deleted.
        "ebb_policy_executions_total{outcome=\"not_found\",source=\"capability\"} 4",
    ];
    let counted = crate::support::eventually(5, || async {
        let text = anonymous.get("/metrics").await.text;
        expected.iter().all(|line| text.contains(line))
    })
    .await;
    let metrics = anonymous.get("/metrics").await.text;
    assert!(counted, "{metrics}");
    assert_eq!(api.desired(&g).await, 1, "only the first execution acted");
    let secret = capability.trim_end_matches('/').rsplit('/').next().unwrap().to_string();
    assert!(!metrics.contains(&secret));
    let log = server.log();
    assert!(log.contains("/v1.0/execute/{version}/{secret}"), "requests are logged by route pattern: {log}");
    assert!(!log.contains(&secret), "capability secrets never reach the log");
}
