//! Launch configurations: items 20–22, 24 (the local part), 25–29, and `local_process`.

use serde_json::{Value, json};

use crate::support::{Api, Server, group, local_process};

fn with_launch(launch: Value) -> Value {
    let mut body = group(0, 5);
    body["launchConfiguration"] = launch;
    body
}

fn server_args(args: Value) -> Value {
    json!({"type": "launch_server", "args": args})
}

async fn rejected(api: &Api, launch: Value) {
    let reply = api.post(&api.t("/groups"), with_launch(launch.clone())).await;
    assert_eq!(reply.status, 400, "should reject {launch}: {}", reply.text);
    reply.error(400, "ValidationError");
}

async fn accepted(api: &Api, launch: Value) {
    let reply = api.post(&api.t("/groups"), with_launch(launch.clone())).await;
    assert_eq!(reply.status, 201, "should accept {launch}: {}", reply.text);
}

#[tokio::test]
async fn item_20_launch_type_must_be_known() {
    let server = Server::start();
    let api = server.local_tenant("t1").await;
    rejected(&api, json!({"type": "launch_container", "args": {}})).await;
    rejected(&api, json!({"type": "launch_server"})).await;
    rejected(&api, json!({"args": {}})).await;
    accepted(
        &api,
        json!({"type": "launch_stack", "args": {"stack": {"template_url": "https://example.invalid/t.yaml"}}}),
    )
    .await;
    accepted(&api, local_process()).await;
}

#[tokio::test]
async fn items_21_22_flavor_and_image_rules() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    for flavor in [json!(""), json!(" "), json!(2), json!(null)] {
        rejected(&api, server_args(json!({"server": {"flavorRef": flavor, "imageRef": "i"}}))).await;
    }
    rejected(&api, server_args(json!({"server": {"imageRef": "i"}}))).await;
    for image in [json!(""), json!(null)] {
        rejected(&api, server_args(json!({"server": {"flavorRef": "2", "imageRef": image}}))).await;
    }
    rejected(&api, server_args(json!({"server": {"flavorRef": "2"}}))).await;
    let bdm = json!([{"boot_index": "0", "uuid": "vol", "source_type": "volume"}]);
    for image in [json!(""), json!(null)] {
        accepted(
            &api,
            server_args(json!({"server": {"flavorRef": "2", "imageRef": image, "block_device_mapping": bdm}})),
        )
        .await;
    }
    accepted(&api, server_args(json!({"server": {"flavorRef": "2", "block_device_mapping_v2": bdm}}))).await;
}

#[tokio::test]
async fn item_24_personality_local_rules() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let with = |personality: Value| {
        server_args(json!({"server": {"flavorRef": "2", "imageRef": "i", "personality": personality}}))
    };
    rejected(&api, with(json!({"path": "/a", "contents": "aGk="}))).await;
    rejected(&api, with(json!([{"path": "/a"}]))).await;
    rejected(&api, with(json!([{"contents": "aGk="}]))).await;
    rejected(&api, with(json!([{"path": "p".repeat(256), "contents": "aGk="}]))).await;
    rejected(&api, with(json!([{"path": "/a", "contents": "not*base64"}]))).await;
    accepted(&api, with(json!([{"path": "/etc/motd", "contents": "aGVsbG8="}]))).await;
}

#[tokio::test]
async fn items_25_26_27_load_balancers_servicenet_and_draining() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let with = |extra: Value| {
        let mut args = json!({"server": {"flavorRef": "2", "imageRef": "i"}});
        for (key, value) in extra.as_object().unwrap() {
            args[key] = value.clone();
        }
        server_args(args)
    };
    for lbs in [
        json!([{"loadBalancerId": 1}]),
        json!([{"loadBalancerId": 1, "port": "80"}]),
        json!([{"loadBalancerId": "pool", "type": "RackConnectV3", "port": 80}]),
        json!([{"loadBalancerId": 1, "port": 80, "type": ""}]),
        json!([{"loadBalancerId": 1, "port": 80, "type": null}]),
        json!([{"loadBalancerId": 1, "port": 80, "type": "F5"}]),
        json!([{"loadBalancerId": 1, "port": 80}, {"loadBalancerId": 1, "port": 80}]),
        json!((1..=6).map(|i| json!({"loadBalancerId": i, "port": 80})).collect::<Vec<_>>()),
    ] {
        rejected(&api, with(json!({"loadBalancers": lbs}))).await;
    }
    accepted(&api, with(json!({"loadBalancers": [{"loadBalancerId": 1, "port": 80}, {"loadBalancerId": "pool", "type": "RackConnectV3"}]}))).await;
    let mut no_servicenet = with(json!({"loadBalancers": [{"loadBalancerId": 1, "port": 80}]}));
    no_servicenet["args"]["server"]["networks"] = json!([{"uuid": "00000000-0000-0000-0000-000000000000"}]);
    let reply = api.post(&api.t("/groups"), with_launch(no_servicenet)).await;
    reply.error(400, "ValidationError");
    assert_eq!(
        reply.body["error"]["message"],
        "ServiceNet network must be present if one or more Cloud Load Balancers are configured."
    );
    for timeout in [json!(29), json!(3601), json!("30")] {
        rejected(&api, with(json!({"draining_timeout": timeout}))).await;
    }
    for timeout in [json!(30), json!(3600), json!(45.5)] {
        accepted(&api, with(json!({"draining_timeout": timeout}))).await;
    }
    rejected(&api, with(json!({"extra": 1}))).await;
}

#[tokio::test]
async fn items_28_29_put_launch_replaces_everything_and_get_shows_it_as_stored() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let full = server_args(json!({
        "server": {"flavorRef": "2", "imageRef": "i", "name": "web", "metadata": {"role": "web"}},
        "loadBalancers": [{"loadBalancerId": 1, "port": 80}],
        "draining_timeout": 60
    }));
    let g = api.create_group(with_launch(full.clone())).await;
    assert_eq!(api.get(&api.t(&format!("/groups/{g}/launch"))).await.body, json!({"launchConfiguration": full}));
    let partial = server_args(json!({"server": {"flavorRef": "3", "imageRef": "j", "metadata": null}}));
    api.put(&api.t(&format!("/groups/{g}/launch")), partial).await.ok(204);
    let shown = api.get(&api.t(&format!("/groups/{g}/launch"))).await;
    assert_eq!(
        shown.body,
        json!({"launchConfiguration": server_args(json!({"server": {"flavorRef": "3", "imageRef": "j"}}))}),
        "the whole configuration is replaced and a null server metadata is dropped"
    );
    api.put(&api.t(&format!("/groups/{g}/launch")), json!({"type": "launch_server", "args": {}}))
        .await
        .error(400, "ValidationError");
    assert_eq!(
        api.get(&api.t(&format!("/groups/{g}/launch"))).await.body,
        shown.body,
        "a rejected PUT changes nothing"
    );
}

#[tokio::test]
async fn local_process_launch_configurations_are_validated() {
    let server = Server::start();
    let api = server.local_tenant("t1").await;
    let process = |process: Value| json!({"type": "local_process", "args": {"process": process}});
    accepted(
        &api,
        process(json!({"command": "ebb", "args": ["demo-app"], "env": {"A": "1"}, "cwd": "/tmp",
        "readiness": {"http": {"path": "/health"}}, "stop_signal": "SIGINT", "stop_timeout": 5})),
    )
    .await;
    accepted(
        &api,
        json!({"type": "local_process", "args": {"process": {"command": "x", "readiness": {"none": {}}},
        "loadBalancers": [{"type": "builtin", "port": 8080}], "draining_timeout": 0}}),
    )
    .await;
    for bad in [
        json!({}),
        json!({"command": ""}),
        json!({"command": "x", "readiness": {"http": {}}}),
        json!({"command": "x", "readiness": {"tcp": {}, "none": {}}}),
        json!({"command": "x", "stop_signal": "SIGSTOP"}),
        json!({"command": "x", "env": {"A": 1}}),
        json!({"command": "x", "unknown": true}),
    ] {
        rejected(&api, process(bad)).await;
    }
    rejected(&api, json!({"type": "local_process", "args": {"process": {"command": "x"}, "draining_timeout": 3601}}))
        .await;
    rejected(&api, json!({"type": "local_process", "args": {"process": {"command": "x"}, "loadBalancers": [{"type": "builtin", "port": 70000}]}})).await;
}

/// `local_process` runs code on the Ebb server: a tenant gets it only when the operator says,
/// and only the commands and working directories the operator lists.
#[tokio::test]
async fn local_process_is_off_for_a_tenant_until_the_operator_allows_it() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let operator = server.operator();
    let grant_path = "/admin/v1/tenants/t1/local-process";
    let shown = operator.get(grant_path).await;
    shown.ok(200);
    assert_eq!(shown.body, json!({"local_process": {"enabled": false, "commands": null, "working_dirs": null}}));
    let refused = api
        .post(
            &api.t("/groups"),
            json!({
                "groupConfiguration": {"name": "g", "cooldown": 0, "minEntities": 0},
                "launchConfiguration": local_process(),
            }),
        )
        .await;
    refused.error(403, "Forbidden");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("not enabled for tenant t1") && message.contains("local-process"), "{message}");
    // Nor through a launch configuration update.
    let g = api.create_group(group(0, 5)).await;
    api.put(&api.t(&format!("/groups/{g}/launch")), local_process()).await.error(403, "Forbidden");
    assert_eq!(
        api.get(&api.t(&format!("/groups/{g}/launch"))).await.body["launchConfiguration"]["type"],
        "launch_server"
    );
    // Only the operator sees or changes the grant.
    api.get(grant_path).await.error(403, "Forbidden");
    api.put(grant_path, json!({"enabled": true})).await.error(403, "Forbidden");
    // Allow-lists of absolute paths.
    let grant = json!({"enabled": true, "commands": ["/bin/true"], "working_dirs": ["/tmp"]});
    operator.put(grant_path, grant.clone()).await.ok(200);
    assert_eq!(operator.get(grant_path).await.body["local_process"], grant);
    let with = |command: &str, cwd: &str| json!({"type": "local_process", "args": {"process": {"command": command, "cwd": cwd}}});
    let launch = format!("/groups/{g}/launch");
    api.put(&api.t(&launch), with("/bin/true", "/tmp")).await.ok(204);
    let other = api.put(&api.t(&launch), with("/bin/sh", "/tmp")).await;
    other.error(403, "Forbidden");
    assert!(other.body["error"]["message"].as_str().unwrap().contains("\"/bin/sh\" is not allowed"), "{}", other.text);
    api.put(&api.t(&launch), with("/bin/true", "/etc")).await.error(403, "Forbidden");
    // Bad grants and unknown tenants.
    for bad in [json!({}), json!({"enabled": 1}), json!({"enabled": true, "commands": ["bin/true"]})] {
        operator.put(grant_path, bad).await.error(400, "ValidationError");
    }
    operator.get("/admin/v1/tenants/nobody/local-process").await.error(404, "NoSuchTenantError");
    operator
        .put("/admin/v1/tenants/nobody/local-process", json!({"enabled": true}))
        .await
        .error(404, "NoSuchTenantError");
}
