//! The history of a group, end to end against the real binary: every source of change lands
//! in it with its values, in the transaction of the change, and a `kill -9` right after a 202
//! loses neither.

mod support;

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};
use support::{Api, Server, eventually, poll};

async fn history(api: &Api, group: &str, query: &str) -> Vec<Value> {
    let reply = api.get(&api.t(&format!("/groups/{group}/history{query}"))).await;
    reply.ok(200);
    reply.body["history"].as_array().cloned().unwrap_or_default()
}

/// `(source, from, to)` of each entry, oldest first.
fn summary(entries: &[Value]) -> Vec<(String, i64, i64)> {
    entries
        .iter()
        .rev()
        .map(|e| (e["source"].as_str().unwrap().to_string(), e["from"].as_i64().unwrap(), e["to"].as_i64().unwrap()))
        .collect()
}

#[tokio::test]
async fn every_source_of_change_lands_in_the_history_with_its_values() {
    let server = Server::start_with(&["--self-heal-interval", "1", "--tenant-requests-per-minute", "100000"]);
    let api = server.local_tenant("t1").await;
    // The next minute at least 5 s away: the window starts then, and the cron fires then.
    let now = Timestamp::now();
    let mut start = Timestamp::from_second(now.as_second() - now.as_second().rem_euclid(60) + 60).unwrap();
    if start.duration_since(now).as_secs() < 5 {
        start += Duration::from_secs(60);
    }
    let zoned = start.to_zoned(jiff::tz::TimeZone::UTC);
    let cron = format!("{} {} * * *", zoned.minute(), zoned.hour());
    let body = json!({
        "groupConfiguration": {"name": "h", "cooldown": 0, "minEntities": 1, "maxEntities": 10},
        "launchConfiguration": {"type": "local_process", "args": {"process": {"command": "sleep", "args": ["600"], "readiness": {"none": {}}}}},
        "scalingPolicies": [
            {"name": "api", "type": "webhook", "cooldown": 0, "change": 1},
            {"name": "hook", "type": "webhook", "cooldown": 0, "change": 1},
            {"name": "cron", "type": "schedule", "cooldown": 0, "change": 1, "args": {"cron": cron}},
        ],
    });
    let created = api.post(&api.t("/groups"), body).await;
    created.ok(201);
    let g = created.body["group"]["id"].as_str().unwrap().to_string();
    let policy = |i: usize| created.body["group"]["scalingPolicies"][i]["id"].as_str().unwrap().to_string();
    let (api_policy, hook_policy, cron_policy) = (policy(0), policy(1), policy(2));

    // An API execution: 1 to 2.
    api.post_empty(&api.t(&format!("/groups/{g}/policies/{api_policy}/execute"))).await.ok(202);
    // A capability URL: 2 to 3.
    let (webhook, capability) = api.create_webhook(&g, &hook_policy).await;
    server.anonymous().post_empty(&capability).await.ok(202);
    assert!(eventually(5, || async { api.desired(&g).await == 3 }).await);
    // A member removed without replacement: 3 to 2.
    let member = poll(20, || async {
        let members = api.get(&api.t(&format!("/groups/{g}/members"))).await.body["members"].clone();
        members.as_array()?.iter().find(|m| m["status"] == "active").map(|m| m["id"].as_str().unwrap().to_string())
    })
    .await
    .expect("a running member");
    api.delete(&api.t(&format!("/groups/{g}/servers/{member}?replace=false"))).await.ok(202);
    assert_eq!(api.desired(&g).await, 2);
    // A window from `start`, 4 to 8 members starting with 6; and the cron at the same minute.
    let minute = |at: Timestamp| at.strftime("%Y-%m-%dT%H:%M").to_string();
    let windows = json!({"timezone": "UTC", "specific_date": [{"start_date_time": minute(start),
        "end_date_time": minute(start + Duration::from_secs(3600)), "instance_min_count": 4, "instance_max_count": 8,
        "initial_min_instance_count": 6}]});
    api.put(&api.t(&format!("/groups/{g}/windows")), windows).await.ok(200);
    let all = poll(75, || async { Some(history(&api, &g, "").await).filter(|h| h.len() >= 6) })
        .await
        .expect("the window's start and the cron's firing are recorded");
    assert_eq!(
        summary(&all),
        [
            ("create".into(), 0, 1),
            ("api".into(), 1, 2),
            ("capability".into(), 2, 3),
            ("member_removed".into(), 3, 2),
            ("window_start".into(), 2, 6),
            ("schedule".into(), 6, 7),
        ]
    );
    // Each with what it was about and the bounds in force.
    let by_source = |source: &str| all.iter().find(|e| e["source"] == source).unwrap().clone();
    assert_eq!(by_source("api")["policy"], api_policy.as_str());
    assert_eq!(
        (by_source("capability")["policy"].as_str(), by_source("capability")["webhook"].as_str()),
        (Some(hook_policy.as_str()), Some(webhook.as_str()))
    );
    assert_eq!(by_source("schedule")["policy"], cron_policy.as_str());
    assert_eq!(by_source("schedule")["bounds"], json!({"min": 4, "max": 8}), "the window's bounds were in force");
    assert_eq!(by_source("member_removed")["bounds"], json!({"min": 1, "max": 10}));
    assert!(by_source("member_removed")["reason"].as_str().unwrap().contains(&member));
    // Filters and pages.
    assert_eq!(history(&api, &g, "?source=capability").await.len(), 1);
    let page = api.get(&api.t(&format!("/groups/{g}/history?limit=2"))).await;
    assert_eq!(page.body["history"].as_array().unwrap().len(), 2);
    let next = page.body["history_links"][0]["href"].as_str().unwrap().to_string();
    let second = api.get(&next).await;
    assert_eq!(second.body["history"][0]["source"], "member_removed");
    let since = format!("?since={}", start.strftime("%Y-%m-%dT%H:%M:%SZ"));
    assert_eq!(history(&api, &g, &since).await.len(), 2, "window_start and schedule");
    api.get(&api.t(&format!("/groups/{g}/history?source=weather"))).await.error(400, "InvalidQueryArgument");
    api.get(&api.t(&format!("/groups/{g}/history?since=yesterday"))).await.error(400, "InvalidQueryArgument");
    // The CLI shows it too.
    let output = std::process::Command::new(support::ebb_bin())
        .args(["group", "history", &g, "--source", "window_start"])
        .env("EBB_URL", &server.url)
        .env("EBB_TOKEN", api.token.as_deref().unwrap())
        .env("EBB_TENANT", "t1")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && table.contains("window_start") && !table.contains("capability"), "{table}");
}

#[tokio::test]
async fn a_kill_9_right_after_a_202_loses_neither_the_change_nor_its_history_entry() {
    let mut server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(support::group(0, 10)).await;
    let p = api.create_policy(&g, support::change(3)).await;
    api.post_empty(&api.t(&format!("/groups/{g}/policies/{p}/execute"))).await.ok(202);
    server.kill9();
    server.restart();
    let mut api = Api::new(&server.url, api.token.as_deref());
    api.tenant = "t1".into();
    assert_eq!(api.desired(&g).await, 3);
    let entries = history(&api, &g, "").await;
    assert_eq!(summary(&entries), [("create".into(), 0, 0), ("api".into(), 0, 3)]);
}
