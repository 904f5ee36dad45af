//! A 2xx answer means the change is on disk: `kill -9` right after any successful call,
//! then a restart, shows the change.

mod support;

use serde_json::json;
use support::{Server, change, group};

#[tokio::test]
async fn every_acknowledged_change_survives_kill_9() {
    let mut server = Server::start();
    let api = server.tenant("t1").await;
    let mut api = api;
    let reconnect = |server: &Server, api: &support::Api| {
        let mut again = support::Api::new(&server.url, api.token.as_deref());
        again.tenant = api.tenant.clone();
        again
    };

    let g = api.create_group(group(1, 10)).await;
    server.restart();
    api = reconnect(&server, &api);
    assert_eq!(api.desired(&g).await, 1, "group creation survived");

    let p = api.create_policy(&g, change(2)).await;
    server.restart();
    api = reconnect(&server, &api);
    api.get(&api.t(&format!("/groups/{g}/policies/{p}"))).await.ok(200);

    api.post_empty(&api.t(&format!("/groups/{g}/policies/{p}/execute"))).await.ok(202);
    server.restart();
    api = reconnect(&server, &api);
    assert_eq!(api.desired(&g).await, 3, "execution survived");

    let (w, capability) = api.create_webhook(&g, &p).await;
    server.restart();
    api = reconnect(&server, &api);
    api.get(&api.t(&format!("/groups/{g}/policies/{p}/webhooks/{w}"))).await.ok(200);
    let capability = capability.replace(&capability[..capability.find("/v1.0").unwrap()], &server.url);

    let config = json!({"name": "renamed", "cooldown": 5, "minEntities": 4, "maxEntities": 9, "metadata": {"k": "v"}});
    api.put(&api.t(&format!("/groups/{g}/config")), config.clone()).await.ok(204);
    server.restart();
    api = reconnect(&server, &api);
    assert_eq!(api.get(&api.t(&format!("/groups/{g}/config"))).await.body["groupConfiguration"], config);
    assert_eq!(api.desired(&g).await, 4, "re-clamp survived");

    let launch = json!({"type": "launch_server", "args": {"server": {"flavorRef": "9", "imageRef": "new"}}});
    api.put(&api.t(&format!("/groups/{g}/launch")), launch.clone()).await.ok(204);
    api.post_empty(&api.t(&format!("/groups/{g}/pause"))).await.ok(204);
    server.restart();
    api = reconnect(&server, &api);
    assert_eq!(api.get(&api.t(&format!("/groups/{g}/launch"))).await.body["launchConfiguration"], launch);
    assert_eq!(api.get(&api.t(&format!("/groups/{g}/state"))).await.body["group"]["paused"], true);

    api.post_empty(&api.t(&format!("/groups/{g}/resume"))).await.ok(204);
    // The cooldown timestamps of the execution survived too: set a cooldown and execute.
    api.put(
        &api.t(&format!("/groups/{g}/policies/{p}")),
        json!({"name": "up", "type": "webhook", "cooldown": 3600, "change": 2}),
    )
    .await
    .ok(204);
    server.restart();
    api = reconnect(&server, &api);
    api.post_empty(&api.t(&format!("/groups/{g}/policies/{p}/execute"))).await.error(403, "CannotExecutePolicyError");

    server.anonymous().post_empty(&capability).await.ok(202);
    api.delete(&api.t(&format!("/groups/{g}/policies/{p}/webhooks/{w}"))).await.ok(204);
    api.delete(&api.t(&format!("/groups/{g}?force=true"))).await.ok(204);
    server.restart();
    api = reconnect(&server, &api);
    api.get(&api.t(&format!("/groups/{g}"))).await.error(404, "NoSuchScalingGroupError");
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let mut server = Server::start();
    server.tenant("t1").await;
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
}
