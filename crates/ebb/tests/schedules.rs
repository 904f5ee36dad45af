//! Schedule policies fire on time, exactly once, across restarts (items 80 and 82 of
//! `otter-api.md` §9 and Ebb's time zones), against a real `ebb serve`. Cron schedules over
//! hours and windows over days (item 81 among them) run on virtual time in
//! `ebb-engine/tests/virtual_time.rs`.

mod support;

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};
use support::{Api, Server, eventually, group};

fn at_policy(at: Timestamp) -> Value {
    json!({"name": "at", "type": "schedule", "cooldown": 0, "change": 1, "args": {"at": at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()}})
}

async fn events(api: &Api, g: &str) -> Vec<Value> {
    api.get(&api.t(&format!("/groups/{g}/events"))).await.body["events"].as_array().cloned().unwrap_or_default()
}

fn time(value: &Value) -> Timestamp {
    value.as_str().unwrap().parse().unwrap()
}

fn reconnect(server: &Server, api: &Api) -> Api {
    let mut again = Api::new(&server.url, api.token.as_deref());
    again.tenant = api.tenant.clone();
    again
}

#[tokio::test]
async fn item_80_an_at_policy_fires_once_within_a_second_of_its_time() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 10)).await;
    let due = Timestamp::now() + Duration::from_secs(2);
    let p = api.create_policy(&g, at_policy(due)).await;
    let listed = api.get(&api.t(&format!("/schedules?group={g}"))).await;
    assert_eq!(listed.body["schedules"][0]["policy"], p.as_str());
    assert!(eventually(5, || async { !events(&api, &g).await.is_empty() }).await);
    let fired = events(&api, &g).await;
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0]["kind"], "fired");
    let lateness = time(&fired[0]["at"]).duration_since(time(&fired[0]["due"]));
    assert!(lateness.as_secs_f64() < 1.0, "fired {lateness:?} late");
    assert!(lateness.as_secs_f64() >= 0.0, "not early");
    assert_eq!(api.desired(&g).await, 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(events(&api, &g).await.len(), 1, "once");
    assert_eq!(api.desired(&g).await, 1);
    let listed = api.get(&api.t("/schedules")).await;
    assert_eq!(listed.body["schedules"], json!([]), "a fired at schedule is over");
}

#[tokio::test]
async fn item_82_deleted_and_updated_schedules_never_fire_their_old_times() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 10)).await;
    let deleted = api.create_policy(&g, at_policy(Timestamp::now() + Duration::from_secs(2))).await;
    api.delete(&api.t(&format!("/groups/{g}/policies/{deleted}"))).await.ok(204);
    let moved = api.create_policy(&g, at_policy(Timestamp::now() + Duration::from_secs(60))).await;
    let new_due = Timestamp::now() + Duration::from_secs(2);
    api.put(&api.t(&format!("/groups/{g}/policies/{moved}")), at_policy(new_due)).await.ok(204);
    assert!(eventually(5, || async { !events(&api, &g).await.is_empty() }).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fired = events(&api, &g).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["policy"], moved.as_str(), "the updated policy fired, the deleted one did not");
    assert!(time(&fired[0]["due"]).duration_since(new_due).as_secs_f64().abs() < 0.01, "at its new time");
}

#[tokio::test]
async fn a_due_time_on_a_paused_group_is_recorded_as_skipped() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 10)).await;
    api.post_empty(&api.t(&format!("/groups/{g}/pause"))).await.ok(204);
    api.create_policy(&g, at_policy(Timestamp::now() + Duration::from_secs(1))).await;
    assert!(eventually(5, || async { !events(&api, &g).await.is_empty() }).await);
    let skipped = &events(&api, &g).await[0];
    assert_eq!(skipped["kind"], "skipped");
    assert_eq!(skipped["message"], "the group is paused");
    assert_eq!(api.desired(&g).await, 0);
}

#[tokio::test]
async fn kill_9_across_a_due_time_then_a_restart_within_the_grace_period_fires_exactly_once() {
    let mut server = Server::start();
    let mut api = server.tenant("t1").await;
    let g = api.create_group(group(0, 10)).await;
    let due = Timestamp::now() + Duration::from_secs(2);
    api.create_policy(&g, at_policy(due)).await;
    server.kill9();
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.restart();
    api = reconnect(&server, &api);
    assert!(eventually(5, || async { !events(&api, &g).await.is_empty() }).await);
    // Another restart must not fire it again.
    server.restart();
    api = reconnect(&server, &api);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fired = events(&api, &g).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["kind"], "fired");
    assert_eq!(api.desired(&g).await, 1, "exactly one execution");
}

#[tokio::test]
async fn a_time_missed_by_more_than_the_grace_period_is_recorded_as_skipped() {
    let mut server = Server::start_with(&["--schedule-grace", "1"]);
    let mut api = server.tenant("t1").await;
    let g = api.create_group(group(0, 10)).await;
    api.create_policy(&g, at_policy(Timestamp::now() + Duration::from_secs(1))).await;
    server.kill9();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    server.restart();
    api = reconnect(&server, &api);
    assert!(eventually(5, || async { !events(&api, &g).await.is_empty() }).await);
    let skipped = &events(&api, &g).await[0];
    assert_eq!(skipped["kind"], "skipped");
    assert!(skipped["message"].as_str().unwrap().starts_with("missed"), "{skipped}");
    assert_eq!(api.desired(&g).await, 0);
}

#[tokio::test]
async fn schedules_in_a_time_zone_show_their_next_time_in_utc_and_locally() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 10)).await;
    let berlin = json!({"name": "weekday mornings", "type": "schedule", "cooldown": 0, "desiredCapacity": 3,
        "args": {"cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"}});
    api.create_policy(&g, berlin).await;
    let listed = api.get(&api.t("/schedules")).await;
    let entry = &listed.body["schedules"][0];
    assert_eq!(entry["timezone"], "Europe/Berlin");
    let local = entry["next_fire_local"].as_str().unwrap();
    assert!(local.contains("T08:00:00+01:00") || local.contains("T08:00:00+02:00"), "{local}");
    let utc = time(&entry["next_fire"]);
    let zoned = utc.to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap());
    assert_eq!((zoned.hour(), zoned.minute()), (8, 0));
    let bad = json!({"name": "x", "type": "schedule", "cooldown": 0, "change": 1, "args": {"cron": "* * * * *", "timezone": "Mars/Base"}});
    api.post(&api.t(&format!("/groups/{g}/policies")), json!([bad])).await.error(400, "ValidationError");
}

#[tokio::test]
async fn windows_are_stored_listed_with_their_next_change_and_refused_when_they_overlap() {
    let server = Server::start_with(&["--tenant-requests-per-minute", "100000"]);
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 3)).await;
    let up = api.create_policy(&g, json!({"name": "up", "type": "webhook", "cooldown": 0, "change": 10})).await;
    // Windows have minute resolution: start at the next minute at least 5 s away.
    let now = Timestamp::now();
    let mut start = Timestamp::from_second(now.as_second() - now.as_second().rem_euclid(60) + 60).unwrap();
    if start.duration_since(now).as_secs() < 5 {
        start += Duration::from_secs(60);
    }
    let end = start + Duration::from_secs(60);
    let minute = |at: Timestamp| at.strftime("%Y-%m-%dT%H:%M").to_string();
    let windows = json!({"timezone": "UTC", "specific_date": [{"start_date_time": minute(start), "end_date_time": minute(end),
        "instance_min_count": 4, "instance_max_count": 8, "initial_min_instance_count": 5}]});
    let set = api.put(&api.t(&format!("/groups/{g}/windows")), windows.clone()).await;
    set.ok(200);
    assert_eq!(set.body["active"], Value::Null);
    assert_eq!(api.get(&api.t(&format!("/groups/{g}/windows"))).await.body["windows"], windows);
    let listed = api.get(&api.t(&format!("/schedules?group={g}"))).await;
    let entry =
        listed.body["schedules"].as_array().unwrap().iter().find(|e| e.get("windows").is_some()).cloned().unwrap();
    assert_eq!(time(&entry["next_change"]), start);
    // Overlapping windows are refused and change nothing.
    let clash = json!({"timezone": "UTC", "specific_date": [
        {"start_date_time": minute(start), "end_date_time": minute(end), "instance_min_count": 1, "instance_max_count": 2},
        {"start_date_time": minute(start), "end_date_time": minute(end), "instance_min_count": 1, "instance_max_count": 2}]});
    let refused = api.put(&api.t(&format!("/groups/{g}/windows")), clash).await;
    refused.error(400, "ValidationError");
    assert!(refused.body["error"]["message"].as_str().unwrap().ends_with("are overlapping"));
    assert_eq!(api.get(&api.t(&format!("/groups/{g}/windows"))).await.body["windows"], windows);

    assert_eq!(api.desired(&g).await, 1, "nothing changes before the window starts");
    api.post_empty(&api.t(&format!("/groups/{g}/policies/{up}/execute"))).await.ok(202);
    assert_eq!(api.desired(&g).await, 3, "the group's own bounds until then");
    // What happens at the window's start and end, over days, is shown on virtual time:
    // ebb-engine/tests/virtual_time.rs.
}
