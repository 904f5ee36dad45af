//! Policies: items 30–41.

use serde_json::{Value, json};

use crate::support::{Api, Server, change, group};

async fn rejected(api: &Api, g: &str, policy: Value) {
    let reply = api.post(&api.t(&format!("/groups/{g}/policies")), json!([policy.clone()])).await;
    assert_eq!(reply.status, 400, "should reject {policy}: {}", reply.text);
    reply.error(400, "ValidationError");
}

async fn accepted(api: &Api, g: &str, policy: Value) {
    let reply = api.post(&api.t(&format!("/groups/{g}/policies")), json!([policy.clone()])).await;
    assert_eq!(reply.status, 201, "should accept {policy}: {}", reply.text);
}

fn base() -> Value {
    json!({"name": "p", "type": "webhook", "cooldown": 0, "change": 1})
}

fn with(key: &str, value: Value) -> Value {
    let mut policy = base();
    policy[key] = value;
    policy
}

fn without(key: &str) -> Value {
    let mut policy = base();
    policy.as_object_mut().unwrap().remove(key);
    policy
}

fn schedule(args: Value) -> Value {
    json!({"name": "s", "type": "schedule", "cooldown": 0, "change": 1, "args": args})
}

#[tokio::test]
async fn item_30_create_takes_a_non_empty_array_and_answers_with_location() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let path = api.t(&format!("/groups/{g}/policies"));
    let reply = api.post(&path, json!([change(1), change(-1)])).await;
    reply.ok(201);
    assert_eq!(reply.header("location"), Some(format!("{}/v1.0/t1/groups/{g}/policies/", server.url).as_str()));
    let policies = reply.body["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 2);
    for policy in policies {
        let id = policy["id"].as_str().unwrap();
        assert_eq!(
            policy["links"],
            json!([{"href": format!("{}/v1.0/t1/groups/{g}/policies/{id}/", server.url), "rel": "self"}])
        );
        assert_eq!(policy["type"], "webhook", "stored as submitted");
    }
    api.post(&path, change(1)).await.error(400, "ValidationError");
    api.post(&path, json!([])).await.error(400, "ValidationError");
    api.post(&path, json!((0..101).map(|_| change(1)).collect::<Vec<_>>())).await.error(400, "ValidationError");
    // One bad item rejects the whole batch.
    api.post(&path, json!([change(1), with("cooldown", json!(-1))])).await.error(400, "ValidationError");
    assert_eq!(api.get(&path).await.body["policies"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn items_31_to_35_policy_rules() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    for key in ["name", "type", "cooldown", "change"] {
        rejected(&api, &g, without(key)).await;
    }
    for (key, value) in [
        ("name", json!("")),
        ("name", json!("  ")),
        ("name", json!("n".repeat(257))),
        ("cooldown", json!(-1)),
        ("cooldown", json!(86401)),
        ("change", json!(0)),
        ("change", json!(1.5)),
        ("change", json!(0.001)),
        ("type", json!("other")),
        ("args", json!({"cron": "* * * * *"})),
        ("unknown", json!(1)),
    ] {
        rejected(&api, &g, with(key, value)).await;
    }
    let mut percent_zero = without("change");
    percent_zero["changePercent"] = json!(0);
    rejected(&api, &g, percent_zero).await;
    let mut negative_capacity = without("change");
    negative_capacity["desiredCapacity"] = json!(-1);
    rejected(&api, &g, negative_capacity).await;
    rejected(&api, &g, with("desiredCapacity", json!(1))).await;
    let mut three = with("desiredCapacity", json!(1));
    three["changePercent"] = json!(5);
    rejected(&api, &g, three).await;
    accepted(&api, &g, with("cooldown", json!(1.5))).await;
    accepted(&api, &g, with("change", json!(i64::MAX))).await;
    let mut zero_capacity = without("change");
    zero_capacity["desiredCapacity"] = json!(0);
    accepted(&api, &g, zero_capacity).await;
    let mut percent = without("change");
    percent["changePercent"] = json!(-12.5);
    accepted(&api, &g, percent).await;
    // Schedule arguments.
    let mut no_args = schedule(json!({}));
    no_args.as_object_mut().unwrap().remove("args");
    rejected(&api, &g, no_args).await;
    rejected(&api, &g, schedule(json!({}))).await;
    rejected(&api, &g, schedule(json!({"at": "2099-01-01T00:00:00Z", "cron": "* * * * *"}))).await;
    rejected(&api, &g, schedule(json!({"cron": "* * * * *", "x": 1}))).await;
    accepted(&api, &g, schedule(json!({"cron": "0 8 * * 1-5"}))).await;
    accepted(&api, &g, schedule(json!({"at": "2099-12-31T23:59:59Z"}))).await;
}

#[tokio::test]
async fn items_36_37_at_and_cron_rules() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    for at in [
        "2099-12-30T11:12:13",
        "2099-12-30 11:12:13Z",
        "2099/12/30T11:12:13Z",
        "05-12-2099T11:12:13Z",
        "2099-12-30",
        "11:12:13",
        "",
        " ",
        "* * * * *",
        "2099-13-30T11:12:13Z",
        "2099-12-33T11:12:13Z",
        "2099-12-30T27:12:13Z",
        "2099-12-30T11:70:13Z",
        "2099-12-30T11:12:80Z",
        "2099-12-05T03:12Z",
        "2000-01-01T00:00:00Z",
    ] {
        rejected(&api, &g, schedule(json!({"at": at}))).await;
    }
    rejected(&api, &g, schedule(json!({"at": 1234}))).await;
    for cron in [
        "",
        " ",
        "*",
        "* * * *",
        "* * * * * * * *",
        "12345",
        "hello world cron x y",
        "- - - - -",
        "@yearly",
        "@daily",
        "@hourly",
        "@reboot",
        "@weekly",
        "@monthly",
        "60 * * * *",
        "* 24 * * *",
        "* * -32 * *",
        "* * * 13 *",
        "* * * * 6-0",
        "* * * * 2-",
        "$ * * * *",
        "0 * * * * *",
    ] {
        rejected(&api, &g, schedule(json!({"cron": cron}))).await;
    }
    for cron in ["* * * * *", "0-59 0-23 1-31 1-12 0-6", "00 9,16 * * *", "00 02-11 * * *", "00 09-18 * * 1-5"] {
        accepted(&api, &g, schedule(json!({"cron": cron}))).await;
    }
    let reply =
        api.post(&api.t(&format!("/groups/{g}/policies")), json!([schedule(json!({"cron": "0 * * * * *"}))])).await;
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("Seconds not allowed"));
}

/// Validation that says what it does: a cron that can never fire, time zones spelled as IANA
/// spells them, leap seconds and times past the supported range, each with a message.
#[tokio::test]
async fn schedules_that_cannot_work_are_refused_with_a_message_that_says_why() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let message = |reply: &crate::support::Reply| reply.body["error"]["message"].as_str().unwrap_or("").to_string();
    let cases = [
        (json!({"cron": "0 0 31 2 *"}), "never fires"),
        (json!({"cron": "0 8 * * *", "timezone": "europe/berlin"}), "did you mean \"Europe/Berlin\""),
        (json!({"at": "2099-06-30T23:59:60Z"}), "leap seconds"),
        (json!({"at": "9999-12-31T23:59:59Z"}), "beyond the latest supported time"),
    ];
    for (args, expected) in cases {
        let reply = api.post(&api.t(&format!("/groups/{g}/policies")), json!([schedule(args.clone())])).await;
        reply.error(400, "ValidationError");
        assert!(message(&reply).contains(expected), "{args}: {}", reply.text);
    }
    accepted(&api, &g, schedule(json!({"cron": "0 8 * * *", "timezone": "Europe/Berlin"}))).await;
    accepted(&api, &g, schedule(json!({"cron": "0 0 29 2 *"}))).await;
    let windows = json!({"timezone": "europe/berlin", "recurring_schedule": [
        {"start_time": "08:00", "end_time": "18:00", "days_of_week": [1], "instance_min_count": 1, "instance_max_count": 2}]});
    let reply = api.put(&api.t(&format!("/groups/{g}/windows")), windows).await;
    reply.error(400, "ValidationError");
    assert!(message(&reply).contains("did you mean \"Europe/Berlin\""), "{}", reply.text);
}

#[tokio::test]
async fn item_38_cloud_monitoring_policies_are_disabled() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let reply = api
        .post(
            &api.t(&format!("/groups/{g}/policies")),
            json!([{"name": "m", "type": "cloud_monitoring", "cooldown": 0, "change": 1, "args": {"check": {}, "alarm_criteria": {}}}]),
        )
        .await;
    reply.error(400, "ValidationError");
    assert_eq!(reply.body["error"]["message"], "cloud_monitoring policy disabled");
}

#[tokio::test]
async fn item_39_the_policy_past_the_limit_is_refused_with_422() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let path = api.t(&format!("/groups/{g}/policies"));
    api.post(&path, json!((1..=100).map(change).collect::<Vec<_>>())).await.ok(201);
    api.post(&path, json!([change(1)])).await.error(422, "PoliciesOverLimitError");
    let manifest = api.get(&api.t(&format!("/groups/{g}"))).await;
    assert_eq!(manifest.body["group"]["scalingPolicies"].as_array().unwrap().len(), 100);
    assert_eq!(manifest.body["group"]["scalingPolicies_links"][1]["rel"], "next");
    // Policies embedded in a create are bounded by the array size only.
    let mut body = group(0, 5);
    body["scalingPolicies"] = json!((1..=100).map(change).collect::<Vec<_>>());
    api.post(&api.t("/groups"), body.clone()).await.ok(201);
    body["scalingPolicies"] = json!((1..=101).map(change).collect::<Vec<_>>());
    api.post(&api.t("/groups"), body).await.error(400, "ValidationError");
}

#[tokio::test]
async fn items_40_41_replace_show_and_delete_policies() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let p = api.create_policy(&g, change(1)).await;
    let path = api.t(&format!("/groups/{g}/policies/{p}"));
    api.put(&path, schedule(json!({"cron": "* * * * *"}))).await.error(400, "ValidationError");
    let replacement = json!({"name": "absolute", "type": "webhook", "cooldown": 5, "desiredCapacity": 3});
    api.put(&path, replacement.clone()).await.ok(204);
    let shown = api.get(&path).await;
    let mut expected = replacement.clone();
    expected["id"] = json!(p);
    expected["links"] = json!([{"href": format!("{}{}/", server.url, path), "rel": "self"}]);
    assert_eq!(shown.body, json!({"policy": expected}));
    let percent = json!({"name": "pct", "type": "webhook", "cooldown": 5, "changePercent": 10});
    api.put(&path, percent).await.ok(204);
    assert_eq!(api.get(&path).await.body["policy"]["changePercent"], 10);
    let (w, capability) = api.create_webhook(&g, &p).await;
    api.delete(&path).await.ok(204);
    api.get(&path).await.error(404, "NoSuchPolicyError");
    api.put(&path, change(1)).await.error(404, "NoSuchPolicyError");
    api.delete(&path).await.error(404, "NoSuchPolicyError");
    api.get(&api.t(&format!("/groups/{g}/policies/{p}/webhooks/{w}"))).await.error(404, "NoSuchPolicyError");
    server.anonymous().post_empty(&capability).await.ok(202);
    let message = api.get(&api.t(&format!("/groups/{g}/policies/nope"))).await.body["error"]["message"].clone();
    assert_eq!(message, format!("No such scaling policy nope for group {g} for tenant t1"));
}
