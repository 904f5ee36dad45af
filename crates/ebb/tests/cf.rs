//! Cloud Foundry's API end to end against the real binary: the policy API with CF's
//! validation and echo, and custom metrics that scale a group through its rules.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{Api, Reply, Server, basic, eventually, group};

fn app(group: &str, rest: &str) -> String {
    format!("/v1/apps/{group}{rest}")
}

#[track_caller]
fn cf_error(reply: &Reply, status: u16, code: &str, message: &str) {
    reply.ok(status);
    assert_eq!(reply.body, json!({"code": code, "message": message}), "body: {}", reply.text);
}

#[track_caller]
fn invalid(reply: &Reply, context: &str, description: &str) {
    reply.ok(400);
    let errors = reply.body.as_array().unwrap_or_else(|| panic!("an array of errors: {}", reply.text));
    assert!(
        errors.iter().any(|e| e["context"] == context && e["description"] == description),
        "expected ({context}, {description}) in {}",
        reply.text
    );
}

fn rules_policy(min: i64, max: i64) -> Value {
    json!({"instance_min_count": min, "instance_max_count": max, "scaling_rules": [
        {"metric_type": "queue_length", "threshold": 100, "operator": ">", "adjustment": "+1", "breach_duration_secs": 60, "cool_down_secs": 60},
        {"metric_type": "queue_length", "threshold": 10, "operator": "<", "adjustment": "-1", "breach_duration_secs": 60, "cool_down_secs": 60}]})
}

#[tokio::test]
async fn the_policy_api_validates_as_cloud_foundry_and_is_the_groups_bounds_and_windows() {
    // The whole table is about 80 requests on one app: its budget is raised for them.
    let server = Server::start_with(&["--app-requests-per-second", "1000"]);
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    cf_error(&api.get(&app(&g, "/policy")).await, 404, "Not Found", "Policy Not Found");
    // Deleting a policy the group does not have changes nothing, not even windows set the Otter way.
    let windows = json!({"timezone": "UTC", "specific_date": [
        {"start_date_time": "2099-01-04T10:00", "end_date_time": "2099-01-04T20:00", "instance_min_count": 1, "instance_max_count": 5}]});
    api.put(&api.t(&format!("/groups/{g}/windows")), windows.clone()).await.ok(200);
    api.delete(&app(&g, "/policy")).await.ok(200);
    assert_eq!(api.get(&api.t(&format!("/groups/{g}/windows"))).await.body["windows"], windows);
    api.put(&api.t(&format!("/groups/{g}/windows")), Value::Null).await.ok(200);

    // Cloud Foundry's validation table (§1.3–1.8), the same data the core's test runs.
    let cases: Value = serde_json::from_str(include_str!("../../ebb-core/tests/data/cf_policy_cases.json")).unwrap();
    for case in cases["rejected"].as_array().unwrap() {
        let (context, description) = (case["context"].as_str().unwrap(), case["description"].as_str().unwrap());
        invalid(&api.put(&app(&g, "/policy"), case["policy"].clone()).await, context, description);
    }
    cf_error(&api.get(&app(&g, "/policy")).await, 404, "Not Found", "Policy Not Found");
    let malformed = api.raw(Method::PUT, &app(&g, "/policy"), Some(b"{\"instance_min_count\": ".to_vec()), &[]).await;
    malformed.ok(400);
    assert_eq!(malformed.body[0]["context"], "(root)");
    // The server answers 413 without reading the rest and closes the connection: a client of
    // its own, so that the shared pool keeps only sound connections.
    let own = Api::new(&api.base, api.token.as_deref());
    let huge = own.raw(Method::PUT, &app(&g, "/policy"), Some(vec![b' '; (1 << 20) + 1]), &[]).await;
    cf_error(&huge, 413, "Payload Too Large", "request body is larger than 1048576 bytes");
    cf_error(&api.get(&app(&g, "/policy")).await, 404, "Not Found", "Policy Not Found");
    assert_eq!(
        api.get(&api.t(&format!("/groups/{g}/config"))).await.body["groupConfiguration"]["maxEntities"],
        10,
        "nothing stored"
    );
    for case in cases["accepted"].as_array().unwrap() {
        let reply = api.put(&app(&g, "/policy"), case["policy"].clone()).await;
        assert_eq!(reply.status, 200, "{}: {}", case["name"], reply.text);
    }
    api.delete(&app(&g, "/policy")).await.ok(200);

    let mut policy = rules_policy(2, 5);
    policy["stats_window_secs"] = json!(300);
    policy["schedules"] = json!({"timezone": "Asia/Shanghai", "specific_date": [
        {"start_date_time": "2099-06-02T10:00", "end_date_time": "2099-06-15T13:59", "instance_min_count": 3, "instance_max_count": 4, "initial_min_instance_count": 0}]});
    let set = api.put(&app(&g, "/policy"), policy).await;
    set.ok(200);
    assert!(set.body.get("stats_window_secs").is_none(), "unknown keys are dropped");
    assert!(
        set.body["schedules"]["specific_date"][0].get("initial_min_instance_count").is_none(),
        "zeros are left out"
    );
    assert_eq!(api.get(&app(&g, "/policy")).await.body, set.body, "GET answers what PUT did");
    // The same setting seen the Otter way: the group's bounds and its windows.
    let config = api.get(&api.t(&format!("/groups/{g}/config"))).await;
    assert_eq!(
        (
            config.body["groupConfiguration"]["minEntities"].as_i64(),
            config.body["groupConfiguration"]["maxEntities"].as_i64()
        ),
        (Some(2), Some(5))
    );
    assert_eq!(api.desired(&g).await, 2);
    let windows = api.get(&api.t(&format!("/groups/{g}/windows"))).await;
    assert_eq!(windows.body["windows"]["timezone"], "Asia/Shanghai");

    // Deleting the policy stops metric scaling and leaves the group and its bounds.
    let deleted = api.delete(&app(&g, "/policy")).await;
    deleted.ok(200);
    assert_eq!(deleted.body, json!({}));
    api.delete(&app(&g, "/policy")).await.ok(200);
    cf_error(&api.get(&app(&g, "/policy")).await, 404, "Not Found", "Policy Not Found");
    assert_eq!(api.desired(&g).await, 2);
    assert!(api.get(&api.t(&format!("/groups/{g}/windows"))).await.body["windows"].is_null());

    // Apps are the caller's tenant's groups only.
    let other = server.tenant("t2").await;
    cf_error(&other.get(&app(&g, "/policy")).await, 404, "App not found", "The app guid supplied does not exist");
    cf_error(
        &api.get(&app("no-such-group", "/policy")).await,
        404,
        "App not found",
        "The app guid supplied does not exist",
    );
    let anonymous = server.anonymous().get(&app(&g, "/policy")).await;
    anonymous.ok(401);
    assert_eq!(anonymous.body["code"], "Unauthorized");
    let observer = api.with_token(&server.token("t1", "observer").await);
    observer.get(&app(&g, "/policy")).await.ok(404);
    cf_error(
        &observer.put(&app(&g, "/policy"), rules_policy(1, 2)).await,
        401,
        "Unauthorized",
        "You are not authorized to perform the requested action",
    );
}

/// Pushes a queue of 500 on slot 0 until the group (at 1) has scaled out to 2.
async fn queue_scales_out(api: &Api, g: &str) -> bool {
    eventually(20, || async {
        push(api, g, 0, "queue_length", json!(500)).await.ok(200);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        api.desired(g).await == 2
    })
    .await
}

async fn push(api: &Api, g: &str, index: u32, name: &str, value: Value) -> Reply {
    api.post(
        &app(g, "/metrics"),
        json!({"instance_index": index, "metrics": [{"name": name, "value": value, "unit": "jobs"}]}),
    )
    .await
}

#[tokio::test]
async fn custom_metrics_follow_cloud_foundrys_rules_and_scale_the_group() {
    // Breaches and cooldowns of 60 s last 3 s here.
    let server = Server::start_with(&["--rules-time-scale", "0.05", "--app-requests-per-second", "50"]);
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    cf_error(&push(&api, &g, 0, "queue_length", json!(5)).await, 400, "Bad Request", "no policy defined");
    api.put(&app(&g, "/policy"), rules_policy(1, 3)).await.ok(200);

    cf_error(
        &push(&api, &g, 0, "cpu", json!(5)).await,
        400,
        "Bad Request",
        "Custom Metric: cpu matches with standard metrics name",
    );
    cf_error(
        &push(&api, &g, 0, "jobs", json!(5)).await,
        400,
        "Bad Request",
        "Custom Metric: jobs does not match with metrics defined in policy",
    );
    cf_error(
        &push(&api, &g, 0, "queue_length", json!("5")).await,
        400,
        "Bad Request",
        "Error unmarshaling custom metrics request body",
    );
    cf_error(
        &api.post(&app(&g, "/metrics"), json!({"instance_index": 0, "metrics": []})).await,
        400,
        "Bad Request",
        "Error parsing request body",
    );
    let out_of_range = push(&api, &g, 1, "queue_length", json!(5)).await;
    out_of_range.ok(400);
    assert!(out_of_range.body["message"].as_str().unwrap().contains("instance_index 1"), "{}", out_of_range.text);

    // A queue that stays above 100 for the (scaled) breach window scales the group out.
    let started = std::time::Instant::now();
    let scaled = queue_scales_out(&api, &g).await;
    assert!(scaled, "the group scaled out on the queue");
    assert!(started.elapsed().as_secs_f64() >= 3.0, "not before the breach window ({:?})", started.elapsed());
    let history = api.get(&api.t(&format!("/groups/{g}/history?source=metric"))).await;
    let entry = &history.body["history"][0];
    assert_eq!((entry["from"].as_i64(), entry["to"].as_i64()), (Some(1), Some(2)));
    assert_eq!(entry["reason"], "+1 instance(s) because queue_length > 100 for 60 seconds: desired capacity 1 to 2");

    // It drains: below 10 for the window, the group scales back in (after the cooldown).
    let drained = eventually(30, || async {
        push(&api, &g, 0, "queue_length", json!(0)).await;
        push(&api, &g, 1, "queue_length", json!(2)).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        api.desired(&g).await == 1
    })
    .await;
    assert!(drained, "the group scaled back in");
}

#[tokio::test]
async fn a_burst_over_an_apps_budget_gets_429_with_retry_after() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    api.put(&app(&g, "/policy"), rules_policy(1, 3)).await.ok(200);
    let mut limited = None;
    for _ in 0..60 {
        let reply = push(&api, &g, 0, "queue_length", json!(1)).await;
        if reply.status == 429 {
            limited = Some(reply);
            break;
        }
        reply.ok(200);
    }
    let limited = limited.expect("the budget is 10 a second in bursts of 20");
    cf_error(&limited, 429, "Request-Limit-Exceeded", "Too many requests");
    assert!(limited.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
}

#[tokio::test]
async fn a_metric_credential_submits_metrics_and_nothing_else() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    api.put(&app(&g, "/policy"), rules_policy(1, 3)).await.ok(200);
    let created = api.send(Method::PUT, &app(&g, "/credential"), None).await;
    created.ok(200);
    let (username, password) = (created.body["username"].as_str().unwrap(), created.body["password"].as_str().unwrap());
    assert_eq!(created.body["app_id"], g.as_str());
    assert!(created.body["url"].as_str().unwrap().ends_with(&format!("/v1/apps/{g}/metrics")));
    assert!(
        !server.stored_bytes().windows(password.len()).any(|w| w == password.as_bytes()),
        "only its hash is stored"
    );

    let anonymous = server.anonymous();
    let body = json!({"instance_index": 0, "metrics": [{"name": "queue_length", "value": 3}]}).to_string().into_bytes();
    let submit = |auth: String| {
        let (anonymous, body, path) = (&anonymous, body.clone(), app(&g, "/metrics"));
        async move { anonymous.raw(Method::POST, &path, Some(body), &[("authorization", auth.as_str())]).await }
    };
    submit(basic(username, password)).await.ok(200);
    cf_error(&submit(basic(username, "wrong")).await, 401, "Unauthorized", "Unauthorized");
    cf_error(&submit(basic("someone", password)).await, 401, "Unauthorized", "Unauthorized");
    let policy =
        anonymous.raw(Method::GET, &app(&g, "/policy"), None, &[("authorization", &basic(username, password))]).await;
    cf_error(&policy, 401, "Unauthorized", "Unauthorized");

    // Rotating replaces it at once; revoking ends it.
    let rotated = api.send(Method::PUT, &app(&g, "/credential"), None).await;
    rotated.ok(200);
    cf_error(&submit(basic(username, password)).await, 401, "Unauthorized", "Unauthorized");
    let (username, password) = (rotated.body["username"].as_str().unwrap(), rotated.body["password"].as_str().unwrap());
    submit(basic(username, password)).await.ok(200);
    api.delete(&app(&g, "/credential")).await.ok(200);
    cf_error(&submit(basic(username, password)).await, 401, "Unauthorized", "Unauthorized");
}

#[tokio::test]
async fn the_batch_endpoint_takes_many_groups_samples_at_once_and_checks_them_all_first() {
    let server = Server::start_with(&["--rules-time-scale", "0.05"]);
    let api = server.tenant("t1").await;
    let (a, b) = (api.create_group(group(1, 10)).await, api.create_group(group(2, 10)).await);
    for g in [&a, &b] {
        api.put(&app(g, "/policy"), rules_policy(1, 4)).await.ok(200);
    }
    let sample = |g: &str, slot: u32, value: f64| json!({"group": g, "metric": "queue_length", "instance_index": slot, "value": value});
    let batch = |samples: Vec<Value>| json!({"samples": samples});
    let answer =
        api.post(&api.t("/metrics"), batch(vec![sample(&a, 0, 1.0), sample(&b, 0, 1.0), sample(&b, 1, 2.0)])).await;
    answer.ok(200);
    assert_eq!(answer.body, json!({"accepted": 3, "refused": []}));

    let refused = [
        (
            batch(vec![sample(&a, 0, 1.0), sample(&a, 1, 1.0)]),
            "samples[1]: instance_index 1 does not name a member slot",
        ),
        (
            batch(vec![json!({"group": a, "metric": "jobs", "instance_index": 0, "value": 1})]),
            "samples[0]: metric \"jobs\" is not read by any rule",
        ),
        (batch(vec![json!({"group": a, "metric": "queue_length", "instance_index": 0, "value": "1"})]), "request body"),
        (
            batch(vec![
                json!({"group": a, "metric": "queue_length", "instance_index": 0, "value": 1, "timestamp": "2999-01-01T00:00:00Z"}),
            ]),
            "ahead of the server's clock",
        ),
    ];
    for (body, message) in refused {
        let reply = api.post(&api.t("/metrics"), body).await;
        reply.error(400, "ValidationError");
        assert!(reply.body["error"]["message"].as_str().unwrap().contains(message), "{}", reply.text);
    }
    let other = server.tenant("t2").await;
    other.post(&other.t("/metrics"), batch(vec![sample(&a, 0, 1.0)])).await.error(404, "NoSuchScalingGroupError");

    // Batched samples scale like any other: group b's two slots over 100 for the window.
    let scaled = eventually(20, || async {
        api.post(&api.t("/metrics"), batch(vec![sample(&b, 0, 400.0), sample(&b, 1, 300.0)])).await.ok(200);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        api.desired(&b).await == 3
    })
    .await;
    assert!(scaled);
    assert_eq!(api.desired(&a).await, 1);
}

#[tokio::test]
async fn histories_follow_cloud_foundrys_queries_and_envelope() {
    let server = Server::start_with(&["--rules-time-scale", "0.05", "--app-requests-per-second", "1000"]);
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    api.put(&app(&g, "/policy"), rules_policy(1, 3)).await.ok(200);
    for (query, message) in [
        ("?start-time=abc", "start-time must be an integer"),
        ("?end-time=1.5", "end-time must be an integer"),
        ("?order-direction=up", "order-direction must be DESC or ASC"),
        ("?page=0", "page must be greater than 0"),
        ("?results-per-page=x", "results-per-page must be an integer"),
    ] {
        cf_error(&api.get(&app(&g, &format!("/scaling_histories{query}"))).await, 400, "Bad Request", message);
        cf_error(
            &api.get(&app(&g, &format!("/aggregated_metric_histories/queue_length{query}"))).await,
            400,
            "Bad Request",
            message,
        );
    }
    // Scale out on the queue, then look at the history the CF way.
    let scaled = queue_scales_out(&api, &g).await;
    assert!(scaled);
    let history = api.get(&app(&g, "/scaling_histories?results-per-page=1&order-direction=desc")).await;
    history.ok(200);
    assert_eq!(
        history.body["total_results"], 2,
        "the creation and the scale, nothing that changed nothing: {}",
        history.text
    );
    let entry = &history.body["resources"][0];
    assert_eq!(
        (entry["old_instances"].as_i64(), entry["new_instances"].as_i64(), entry["scaling_type"].as_i64()),
        (Some(1), Some(2), Some(0))
    );
    assert!(entry["timestamp"].as_i64().unwrap() > 1_700_000_000_000_000_000, "nanoseconds");
    assert_eq!(
        history.body["next_url"],
        format!("/v1/apps/{g}/scaling_histories?order-direction=desc&page=2&results-per-page=1")
    );
    assert_eq!(history.body["prev_url"], "");
    let oldest = api.get(&app(&g, "/scaling_histories?order=asc")).await;
    assert_eq!(oldest.body["resources"][0]["new_instances"], 1, "the legacy order parameter is honoured");

    // Minutes are stored once they are over: wait for the first one.
    let found = support::poll(150, || async {
        push(&api, &g, 0, "queue_length", json!(500)).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let reply =
            api.get(&app(&g, "/aggregated_metric_histories/queue_length?order-direction=asc&results-per-page=1")).await;
        (reply.status == 200 && reply.body["total_results"].as_u64() > Some(0)).then_some(reply)
    })
    .await
    .expect("a minute of the queue is stored within two minutes");
    let point = &found.body["resources"][0];
    assert_eq!(
        (point["app_id"].as_str(), point["name"].as_str(), point["value"].as_str()),
        (Some(g.as_str()), Some("queue_length"), Some("500"))
    );
    assert_eq!(point["timestamp"].as_i64().unwrap() % 60_000_000_000, 0, "the start of a minute");
    let per_instance = api.get(&app(&g, "/metric_histories/queue_length")).await;
    per_instance.ok(200);
    assert_eq!(per_instance.body["resources"][0]["instance_index"], 0);
    // One result a page: the envelope says how many pages, and links the next one if any.
    let pages = found.body["total_pages"].as_u64().unwrap();
    assert_eq!(Some(pages), found.body["total_results"].as_u64());
    let next = if pages > 1 {
        format!("/v1/apps/{g}/aggregated_metric_histories/queue_length?order-direction=asc&page=2&results-per-page=1")
    } else {
        String::new()
    };
    assert_eq!(found.body["next_url"], next);
}

/// Runs the `ebb` CLI against the server with a token.
fn cli(server: &Server, token: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(support::ebb_bin())
        .args(args)
        .env("EBB_URL", &server.operator().base)
        .env("EBB_TOKEN", token)
        .output()
        .expect("ebb runs")
}

#[tokio::test]
async fn the_cli_speaks_the_cloud_foundry_plugins_verbs() {
    let server = Server::start_with(&["--rules-time-scale", "0.05"]);
    let api = server.tenant("t1").await;
    let token = api.token.clone().unwrap();
    let g = api.create_group(group(1, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = (dir.path().join("policy.yaml"), dir.path().join("bad.json"));
    std::fs::write(&good, "instance_min_count: 1\ninstance_max_count: 3\nscaling_rules:\n  - {metric_type: queue_length, threshold: 100, operator: '>', adjustment: '+1', breach_duration_secs: 60}\n").unwrap();
    std::fs::write(&bad, r#"{"instance_min_count": 1, "instance_max_count": 3, "scaling_rules": [{"metric_type": "cpu", "threshold": 1, "operator": ">", "adjustment": "5"}]}"#).unwrap();

    let set = cli(&server, &token, &["autoscaling-policy", "set", &g, good.to_str().unwrap()]);
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let shown = cli(&server, &token, &["autoscaling-policy", "get", &g]);
    let policy: Value = serde_json::from_slice(&shown.stdout).expect("the policy as JSON");
    assert_eq!(policy["scaling_rules"][0]["metric_type"], "queue_length");
    let rejected = cli(&server, &token, &["autoscaling-policy", "set", &g, bad.to_str().unwrap()]);
    assert_eq!(rejected.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&rejected.stderr);
    assert!(
        stderr.contains("Invalid policy definition:\n  (root).scaling_rules.0.adjustment: Does not match pattern '^[-+][1-9]+[0-9]*%?$'"),
        "{stderr}"
    );

    let created = cli(&server, &token, &["credential", "create", &g, "-o", "json"]);
    let credential: Value = serde_json::from_slice(&created.stdout).expect("the credential as JSON");
    assert_eq!(credential["password"].as_str().map(str::len), Some(64));
    assert!(cli(&server, &token, &["credential", "delete", &g]).status.success());

    let empty = cli(&server, &token, &["metrics", &g, "queue_length"]);
    assert_eq!(
        String::from_utf8_lossy(&empty.stdout).trim(),
        format!("No aggregated queue_length metrics were found for group {g}.")
    );
    let scaled = queue_scales_out(&api, &g).await;
    assert!(scaled);
    let history =
        String::from_utf8_lossy(&cli(&server, &token, &["history", &g, "--desc", "-n", "1"]).stdout).into_owned();
    assert!(
        history.contains("dynamic") && history.contains("1->2") && history.contains("queue_length > 100"),
        "{history}"
    );
    let late =
        cli(&server, &token, &["history", &g, "--start", "2026-12-02T10:00:00Z", "--end", "2026-12-01T10:00:00Z"]);
    assert_eq!(late.status.code(), Some(2), "start after end is a usage error");
    let autoscaling = cli(&server, &token, &["autoscaling-policy", "delete", &g]);
    assert!(autoscaling.status.success());
    let gone = cli(&server, &token, &["autoscaling-policy", "get", &g]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("404 Not Found: Policy Not Found"));
}
