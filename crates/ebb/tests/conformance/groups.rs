//! Groups and their configuration: items 1–19, 52, 61–65, 71, 83, 84.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Server, group, launch_server};

#[tokio::test]
async fn item_01_every_route_accepts_a_trailing_slash() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let p = api.create_policy(&g, crate::support::change(1)).await;
    let (w, _) = api.create_webhook(&g, &p).await;
    for path in [
        "/groups".to_string(),
        format!("/groups/{g}"),
        format!("/groups/{g}/state"),
        format!("/groups/{g}/config"),
        format!("/groups/{g}/launch"),
        format!("/groups/{g}/policies"),
        format!("/groups/{g}/policies/{p}"),
        format!("/groups/{g}/policies/{p}/webhooks"),
        format!("/groups/{g}/policies/{p}/webhooks/{w}"),
        "/limits".to_string(),
    ] {
        api.get(&api.t(&path)).await.ok(200);
        api.get(&api.t(&format!("{path}/"))).await.ok(200);
    }
    api.post_empty(&api.t(&format!("/groups/{g}/pause/"))).await.ok(204);
    api.post_empty(&api.t(&format!("/groups/{g}/resume/"))).await.ok(204);
    api.post(&api.t("/groups/"), group(0, 1)).await.ok(201);
    server.operator().get("/admin/v1/tenants/").await.ok(200);
    server.anonymous().get("/health/").await.ok(200);
}

#[tokio::test]
async fn item_02_03_every_response_has_json_content_type_response_id_and_error_shape() {
    // The client asserts Content-Type and X-Response-Id on every reply; errors use `error()`.
    let server = Server::start();
    let api = server.tenant("t1").await;
    api.get(&api.t("/groups/nope")).await.error(404, "NoSuchScalingGroupError");
    api.post(&api.t("/groups"), json!({})).await.error(400, "ValidationError");
    server.anonymous().get(&api.t("/groups")).await.error(401, "InvalidCredentials");
    let reply = api.delete(&api.t("/groups/nope")).await;
    reply.error(404, "NoSuchScalingGroupError");
    let g = api.create_group(group(0, 1)).await;
    let reply = api.delete(&api.t(&format!("/groups/{g}"))).await;
    reply.ok(204);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let ids: Vec<String> = futures::future::join_all((0..5).map(|_| api.get("/health")))
        .await
        .iter()
        .map(|r| r.header("x-response-id").unwrap().to_string())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "response ids are fresh per response");
}

#[tokio::test]
async fn item_04_unmapped_failures_answer_500_internal_error() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 1)).await;
    // Corrupt the stored configuration behind the server's back.
    server.sql(&format!("UPDATE groups SET config = 'not json' WHERE id = '{g}'"));
    let reply = api.get(&api.t(&format!("/groups/{g}"))).await;
    reply.error(500, "InternalError");
    assert_eq!(reply.body["error"]["message"], "An Internal Error was encountered");
    assert_eq!(reply.body["error"]["details"], "");
}

#[tokio::test]
async fn item_05_06_62_create_returns_201_location_defaults_and_desired_at_min() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let body = json!({
        "groupConfiguration": {"name": "web", "cooldown": 60, "minEntities": 2},
        "launchConfiguration": launch_server(),
    });
    let reply = api.post(&api.t("/groups"), body).await;
    reply.ok(201);
    let group = &reply.body["group"];
    let id = group["id"].as_str().unwrap();
    let self_url = format!("{}/v1.0/t1/groups/{id}/", server.url);
    assert_eq!(reply.header("location"), Some(self_url.as_str()));
    assert_eq!(group["links"], json!([{"href": self_url, "rel": "self"}]));
    assert_eq!(group["groupConfiguration"]["maxEntities"], 1000);
    assert_eq!(group["groupConfiguration"]["metadata"], json!({}));
    assert_eq!(group["launchConfiguration"], launch_server());
    assert_eq!(group["scalingPolicies"], json!([]));
    assert_eq!(group["scalingPolicies_links"], json!([{"href": format!("{self_url}policies/"), "rel": "policies"}]));
    assert_eq!(group["state"]["desiredCapacity"], 2);
    let config = api.get(&api.t(&format!("/groups/{id}/config"))).await;
    assert_eq!(config.body["groupConfiguration"]["maxEntities"], 1000);
    // Names are not unique.
    api.create_group(group_named("web")).await;
    api.create_group(group_named("web")).await;
}

fn group_named(name: &str) -> Value {
    json!({"groupConfiguration": {"name": name, "cooldown": 0, "minEntities": 0}, "launchConfiguration": launch_server()})
}

#[tokio::test]
async fn item_07_08_invalid_json_and_empty_object() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    api.raw(Method::POST, &api.t("/groups"), Some(b"{".to_vec()), &[]).await.error(400, "InvalidJsonError");
    api.post(&api.t("/groups"), json!({})).await.error(400, "ValidationError");
}

#[tokio::test]
async fn item_09_10_min_above_max_is_refused_on_create_and_put_equal_is_fine() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    api.post(&api.t("/groups"), group(5, 4)).await.error(400, "InvalidMinEntities");
    let g = api.create_group(group(4, 4)).await;
    let config = json!({"name": "web", "cooldown": 0, "minEntities": 5, "maxEntities": 4, "metadata": {}});
    api.put(&api.t(&format!("/groups/{g}/config")), config).await.error(400, "InvalidMinEntities");
    assert_eq!(api.desired(&g).await, 4, "nothing changed");
}

#[tokio::test]
async fn items_11_to_15_group_configuration_rules() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let cases = [
        ("name", json!("")),
        ("name", json!("   ")),
        ("name", json!("n".repeat(257))),
        ("minEntities", json!(-1)),
        ("minEntities", json!(1001)),
        ("maxEntities", json!(-1)),
        ("maxEntities", json!(1001)),
        ("cooldown", json!(-1)),
        ("cooldown", json!(86401)),
        ("cooldown", json!(2.5)),
        ("cooldown", json!("10")),
        ("extra", json!("key")),
        ("metadata", json!({"k": 5})),
        ("metadata", json!({"k": "v".repeat(257)})),
        ("metadata", json!({"k".repeat(257): "v"})),
    ];
    for (key, value) in cases {
        let mut body = group(0, 10);
        body["groupConfiguration"][key] = value.clone();
        let reply = api.post(&api.t("/groups"), body).await;
        assert_eq!(reply.status, 400, "{key} = {value}: {}", reply.text);
        reply.error(400, "ValidationError");
    }
    let mut body = group(0, 10);
    body["groupConfiguration"]["metadata"] = json!({"k".repeat(256): "v".repeat(256)});
    body["groupConfiguration"]["name"] = json!("n".repeat(256));
    api.post(&api.t("/groups"), body).await.ok(201);
    let mut extra_top = group(0, 1);
    extra_top["other"] = json!(1);
    api.post(&api.t("/groups"), extra_top).await.error(400, "ValidationError");
    let listed = api.get(&api.t("/groups")).await;
    assert_eq!(listed.body["groups"].as_array().unwrap().len(), 1, "no rejected group was stored");
}

#[tokio::test]
async fn item_16_the_group_past_the_limit_is_refused_with_422() {
    let server = Server::start_with(&["--tenant-requests-per-minute", "1000000"]);
    let api = server.tenant("t1").await;
    let creates = (0..1000).map(|_| {
        let api = api.clone();
        async move { api.post(&api.t("/groups"), group(0, 1)).await.status }
    });
    let statuses = futures::future::join_all(creates).await;
    assert!(statuses.iter().all(|s| *s == 201), "the first 1000 groups are created");
    api.post(&api.t("/groups"), group(0, 1)).await.error(422, "ScalingGroupOverLimitError");
    // The limit is per tenant.
    let other = server.tenant("t2").await;
    other.post(&other.t("/groups"), group(0, 1)).await.ok(201);
}

#[tokio::test]
async fn item_17_unknown_groups_are_404_for_every_verb() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let config = json!({"name": "web", "cooldown": 0, "minEntities": 0, "maxEntities": 1, "metadata": {}});
    api.get(&api.t("/groups/missing")).await.error(404, "NoSuchScalingGroupError");
    api.put(&api.t("/groups/missing/config"), config).await.error(404, "NoSuchScalingGroupError");
    api.put(&api.t("/groups/missing/launch"), launch_server()).await.error(404, "NoSuchScalingGroupError");
    api.delete(&api.t("/groups/missing")).await.error(404, "NoSuchScalingGroupError");
    api.get(&api.t("/groups/missing/state")).await.error(404, "NoSuchScalingGroupError");
    api.post_empty(&api.t("/groups/missing/pause")).await.error(404, "NoSuchScalingGroupError");
    api.post_empty(&api.t("/groups/missing/converge")).await.error(404, "NoSuchScalingGroupError");
    api.get(&api.t("/groups/missing/policies")).await.error(404, "NoSuchScalingGroupError");
}

#[tokio::test]
async fn item_18_19_put_config_needs_every_field_and_get_returns_it() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let full = json!({"name": "renamed", "cooldown": 30, "minEntities": 1, "maxEntities": 7, "metadata": {"a": "b"}});
    for missing in ["name", "cooldown", "minEntities", "maxEntities", "metadata"] {
        let mut partial = full.clone();
        partial.as_object_mut().unwrap().remove(missing);
        api.put(&api.t(&format!("/groups/{g}/config")), partial).await.error(400, "ValidationError");
    }
    api.put(&api.t(&format!("/groups/{g}/config")), full.clone()).await.ok(204);
    let reply = api.get(&api.t(&format!("/groups/{g}/config"))).await;
    assert_eq!(reply.body, json!({"groupConfiguration": full}));
}

#[tokio::test]
async fn item_52_state_has_every_field_and_no_errors_while_active() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(2, 5)).await;
    let reply = api.get(&api.t(&format!("/groups/{g}/state"))).await;
    let state = reply.body["group"].as_object().unwrap();
    for key in ["name", "paused", "status", "desiredCapacity", "activeCapacity", "pendingCapacity", "active"] {
        assert!(state.contains_key(key), "state has {key}");
    }
    assert!(!state.contains_key("errors"));
    assert_eq!(state["status"], "ACTIVE");
    assert_eq!(state["paused"], false);
    assert_eq!(state["activeCapacity"], 0);
    assert_eq!(state["pendingCapacity"], 2);
    assert_eq!(state["active"], json!([]));
}

#[tokio::test]
async fn item_61_put_config_reclamps_desired_capacity() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(2, 10)).await;
    let config = |min: i64, max: i64| json!({"name": "web", "cooldown": 0, "minEntities": min, "maxEntities": max, "metadata": {}});
    api.put(&api.t(&format!("/groups/{g}/config")), config(5, 10)).await.ok(204);
    assert_eq!(api.desired(&g).await, 5, "raising min scales up");
    api.put(&api.t(&format!("/groups/{g}/config")), config(1, 10)).await.ok(204);
    assert_eq!(api.desired(&g).await, 5, "lowering min does not scale down");
    api.put(&api.t(&format!("/groups/{g}/config")), config(1, 3)).await.ok(204);
    assert_eq!(api.desired(&g).await, 3, "lowering max scales down");
    // Allowed while paused too.
    api.post_empty(&api.t(&format!("/groups/{g}/pause"))).await.ok(204);
    api.put(&api.t(&format!("/groups/{g}/config")), config(4, 6)).await.ok(204);
    assert_eq!(api.desired(&g).await, 4);
}

#[tokio::test]
async fn items_63_64_65_delete_needs_force_when_desired_is_not_zero() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 5)).await;
    let p = api.create_policy(&g, crate::support::change(1)).await;
    let (_, capability) = api.create_webhook(&g, &p).await;
    api.delete(&api.t(&format!("/groups/{g}"))).await.error(403, "GroupNotEmptyError");
    api.delete(&api.t(&format!("/groups/{g}?force=junk"))).await.error(400, "InvalidQueryArgument");
    api.delete(&api.t(&format!("/groups/{g}?force=false"))).await.error(403, "GroupNotEmptyError");
    api.get(&api.t(&format!("/groups/{g}"))).await.ok(200);
    api.delete(&api.t(&format!("/groups/{g}?force=TRUE"))).await.ok(204);
    api.get(&api.t(&format!("/groups/{g}"))).await.error(404, "NoSuchScalingGroupError");
    api.get(&api.t(&format!("/groups/{g}/policies/{p}"))).await.error(404, "NoSuchScalingGroupError");
    api.delete(&api.t(&format!("/groups/{g}"))).await.error(404, "NoSuchScalingGroupError");
    server.anonymous().post_empty(&capability).await.ok(202);
    // An empty group deletes without force.
    let empty = api.create_group(group(0, 5)).await;
    api.delete(&api.t(&format!("/groups/{empty}"))).await.ok(204);
}

#[tokio::test]
async fn item_71_converge_answers_204() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 5)).await;
    api.post_empty(&api.t(&format!("/groups/{g}/converge"))).await.ok(204);
}

#[tokio::test]
async fn item_83_limits_as_json_and_xml() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let reply = api.get(&api.t("/limits")).await;
    assert_eq!(
        reply.body,
        json!({"limits": {"absolute": {"maxGroups": 1000, "maxPoliciesPerGroup": 100, "maxWebhooksPerPolicy": 25}}})
    );
    let xml = api.raw(Method::GET, &api.t("/limits"), None, &[("accept", "application/xml")]).await;
    xml.ok(200);
    assert_eq!(xml.header("content-type"), Some("application/xml"));
    assert!(xml.text.contains("<limit name=\"maxGroups\" value=\"1000\"/>"), "{}", xml.text);
}

#[tokio::test]
async fn item_84_listing_servers_is_not_implemented_and_deleting_one_is_404() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 5)).await;
    api.get(&api.t(&format!("/groups/{g}/servers"))).await.error(501, "NotImplementedError");
    api.get(&api.t(&format!("/groups/{g}/servers/s1"))).await.error(501, "NotImplementedError");
    api.delete(&api.t(&format!("/groups/{g}/servers/s1"))).await.error(404, "ServerNotFoundError");
    api.delete(&api.t(&format!("/groups/{g}/servers/s1?replace=maybe"))).await.error(400, "InvalidQueryArgument");
    api.delete(&api.t(&format!("/groups/{g}/servers/s1?purge=no"))).await.error(400, "InvalidQueryArgument");
    api.delete(&api.t("/groups/missing/servers/s1")).await.error(404, "NoSuchScalingGroupError");
}

#[tokio::test]
async fn settings_come_from_the_config_file_under_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ebb.toml");
    std::fs::write(&file, "public_url = \"https://ebb.example.test/\"\nmax_groups = 1\n").unwrap();
    let server = Server::start_with(&["--config", file.to_str().unwrap()]);
    let api = server.tenant("t1").await;
    let reply = api.post(&api.t("/groups"), group(0, 1)).await;
    reply.ok(201);
    assert!(
        reply.header("location").unwrap().starts_with("https://ebb.example.test/v1.0/t1/groups/"),
        "{:?}",
        reply.header("location")
    );
    api.post(&api.t("/groups"), group(0, 1)).await.error(422, "ScalingGroupOverLimitError");
    let limits = api.get(&api.t("/limits")).await;
    assert_eq!(limits.body["limits"]["absolute"]["maxGroups"], 1);
    let flagged = Server::start_with(&["--config", file.to_str().unwrap(), "--public-url", "http://flag.example.test"]);
    let api = flagged.tenant("t1").await;
    let reply = api.post(&api.t("/groups"), group(0, 1)).await;
    assert!(reply.header("location").unwrap().starts_with("http://flag.example.test/v1.0/"));
}
