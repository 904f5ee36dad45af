//! `GET /openapi.json` describes every request and answer with its real schema: no empty
//! schemas, every `$ref` resolves, and the answers a real server gives conform to the schemas
//! it publishes (checked with a JSON Schema 2020-12 validator), as do the request bodies the
//! other tests send.

use serde_json::{Value, json};

use crate::support::{Api, Server, change, group};

/// The published schema of the answer of `method path` with `status`.
fn answer_schema(document: &Value, method: &str, path: &str, status: u16) -> Value {
    document["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]["schema"].clone()
}

/// Checks `instance` against `schema`, whose `$ref`s point into `document`.
#[track_caller]
fn assert_conforms(document: &Value, schema: &Value, instance: &Value, what: &str) {
    assert!(!schema.is_null(), "{what}: no schema published");
    let mut root = schema.clone();
    root["components"] = document["components"].clone();
    let validator = jsonschema::draft202012::new(&root).unwrap_or_else(|err| panic!("{what}: bad schema: {err}"));
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not conform to its schema:\n{}\n{instance:#}", errors.join("\n"));
}

/// Every `$ref` of `value`.
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target.clone());
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[tokio::test]
async fn every_body_has_a_real_schema_and_every_reference_resolves() {
    let server = Server::start();
    let document = server.anonymous().get("/openapi.json").await.body;
    assert_eq!(document["openapi"], "3.1.0");
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            if let Some(body) = operation.get("requestBody") {
                let schema = &body["content"]["application/json"]["schema"];
                assert!(schema.as_object().is_some_and(|s| !s.is_empty()), "{method} {path}: empty request schema");
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                if let Some(schema) = response.pointer("/content/application~1json/schema") {
                    assert!(
                        schema.as_object().is_some_and(|s| !s.is_empty()),
                        "{method} {path} {status}: empty schema"
                    );
                }
            }
            // Every read that answers 200 says what it answers with.
            if method == "get" && path != "/metrics" && operation["responses"].get("200").is_some() {
                assert!(!answer_schema(&document, method, path, 200).is_null(), "{method} {path}: no answer schema");
            }
        }
    }
    assert!(operations >= 40, "{operations} operations");
    let mut found = Vec::new();
    refs(&document, &mut found);
    assert!(found.len() > 30, "schemas are shared by reference");
    for target in found {
        let pointer = target.strip_prefix('#').expect("local reference");
        assert!(document.pointer(pointer).is_some(), "{target} resolves");
    }
    // A group's creation body is described field by field, down to the launch types.
    let schemas = &document["components"]["schemas"];
    let create = &schemas["CreateGroupDocument"];
    assert_eq!(create["required"], json!(["groupConfiguration", "launchConfiguration"]));
    let launch = serde_json::to_string(&schemas["LaunchDocument"]).unwrap();
    for name in ["launch_server", "launch_stack", "local_process"] {
        assert!(launch.contains(name), "{name} in {launch}");
    }
    assert!(schemas["PolicyDocument"]["properties"]["changePercent"].is_object());
}

#[tokio::test]
async fn the_answers_of_a_real_server_conform_to_the_published_schemas() {
    let server = Server::start();
    let document = server.anonymous().get("/openapi.json").await.body;
    let operator = server.operator();
    let api: Api = server.tenant("t1").await;
    let check = |method: &str, path: &str, status: u16, body: &Value| {
        assert_conforms(&document, &answer_schema(&document, method, path, status), body, &format!("{method} {path}"));
    };
    let check_request = |method: &str, path: &str, body: &Value| {
        let schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"].clone();
        assert_conforms(&document, &schema, body, &format!("the body of {method} {path}"));
    };

    let mut body = group(1, 5);
    body["scalingPolicies"] = json!([change(1), {"name": "s", "type": "schedule", "cooldown": 1.5, "desiredCapacity": 2, "args": {"cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"}}]);
    check_request("post", "/v1.0/{tenant}/groups", &body);
    let created = api.post(&api.t("/groups"), body).await;
    created.ok(201);
    check("post", "/v1.0/{tenant}/groups", 201, &created.body);
    let g = created.body["group"]["id"].as_str().unwrap().to_string();
    let p = created.body["group"]["scalingPolicies"][0]["id"].as_str().unwrap().to_string();
    let hooks = api
        .post(&api.t(&format!("/groups/{g}/policies/{p}/webhooks")), json!([{"name": "w", "metadata": {"k": "v"}}]))
        .await;
    check("post", "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks", 201, &hooks.body);
    let w = hooks.body["webhooks"][0]["id"].as_str().unwrap().to_string();
    let windows = json!({"timezone": "UTC", "recurring_schedule": [{"start_time": "00:00", "end_time": "23:59", "days_of_week": [1, 2, 3, 4, 5, 6, 7], "instance_min_count": 1, "instance_max_count": 4}]});
    check_request("put", "/v1.0/{tenant}/groups/{group}/windows", &windows);
    let put_windows = api.put(&api.t(&format!("/groups/{g}/windows")), windows).await;
    check("put", "/v1.0/{tenant}/groups/{group}/windows", 200, &put_windows.body);
    let executed = api.post_empty(&api.t(&format!("/groups/{g}/policies/{p}/execute"))).await;
    check("post", "/v1.0/{tenant}/groups/{group}/policies/{policy}/execute", 202, &executed.body);

    for (path, concrete) in [
        ("/v1.0/{tenant}/groups", api.t("/groups")),
        ("/v1.0/{tenant}/groups/{group}", api.t(&format!("/groups/{g}?webhooks=true"))),
        ("/v1.0/{tenant}/groups/{group}/state", api.t(&format!("/groups/{g}/state"))),
        ("/v1.0/{tenant}/groups/{group}/config", api.t(&format!("/groups/{g}/config"))),
        ("/v1.0/{tenant}/groups/{group}/launch", api.t(&format!("/groups/{g}/launch"))),
        ("/v1.0/{tenant}/groups/{group}/policies", api.t(&format!("/groups/{g}/policies"))),
        ("/v1.0/{tenant}/groups/{group}/policies/{policy}", api.t(&format!("/groups/{g}/policies/{p}"))),
        (
            "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks",
            api.t(&format!("/groups/{g}/policies/{p}/webhooks")),
        ),
        (
            "/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks/{webhook}",
            api.t(&format!("/groups/{g}/policies/{p}/webhooks/{w}")),
        ),
        ("/v1.0/{tenant}/groups/{group}/members", api.t(&format!("/groups/{g}/members"))),
        ("/v1.0/{tenant}/groups/{group}/windows", api.t(&format!("/groups/{g}/windows"))),
        ("/v1.0/{tenant}/groups/{group}/events", api.t(&format!("/groups/{g}/events"))),
        ("/v1.0/{tenant}/groups/{group}/stats", api.t(&format!("/groups/{g}/stats"))),
        ("/v1.0/{tenant}/schedules", api.t("/schedules")),
        ("/v1.0/{tenant}/limits", api.t("/limits")),
    ] {
        let reply = api.get(&concrete).await;
        reply.ok(200);
        check("get", path, 200, &reply.body);
    }
    for (path, concrete) in [
        ("/admin/v1/tenants", "/admin/v1/tenants".to_string()),
        ("/admin/v1/tenants/{tenant}/local-process", "/admin/v1/tenants/t1/local-process".to_string()),
        ("/health", "/health".to_string()),
    ] {
        let reply = operator.get(&concrete).await;
        reply.ok(200);
        check("get", path, 200, &reply.body);
    }
    let token = operator.post("/admin/v1/tenants/t1/tokens", json!({"role": "observer"})).await;
    check("post", "/admin/v1/tenants/{tenant}/tokens", 201, &token.body);
    // Errors have the published error schema.
    let missing = api.get(&api.t("/groups/nope")).await;
    let error = document["paths"]["/v1.0/{tenant}/groups/{group}"]["get"]["responses"]["default"]["content"]["application/json"]["schema"].clone();
    assert_conforms(&document, &error, &missing.body, "an error");
}
