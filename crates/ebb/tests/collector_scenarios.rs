//! One scenario per seed, with real members: a Celery-style worker group (autoscalebot's
//! queue backends) whose `local_process` workers pop jobs from a Redis list scales out as the
//! list grows and back in as they drain it; a loadscale-style web group scales on the
//! connections per member its built-in load balancer reports.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use support::{Server, eventually, free_port, poll};

const REDIS: &str = "127.0.0.1:6379";

#[tokio::test]
async fn workers_scale_out_on_a_growing_redis_queue_and_back_in_as_they_drain_it() {
    if !support::service("Redis", REDIS) {
        return;
    }
    let server = Server::start_with(&["--measure-interval", "0.5"]);
    let api = server.local_tenant("t1").await;
    let key = format!("ebb-celery-{}", std::process::id());
    // A worker takes a job, works on it for 0.1 s, and takes the next: 10 jobs a second.
    let worker = format!(
        "while true; do job=$(redis-cli -h 127.0.0.1 -p 6379 --raw BLPOP {key} 1); \
         [ -n \"$job\" ] && sleep 0.1; done"
    );
    let g = api
        .create_group(json!({
            "groupConfiguration": {"name": "workers", "cooldown": 0, "minEntities": 1, "maxEntities": 5},
            "launchConfiguration": {"type": "local_process", "args": {"process": {
                "command": "sh", "args": ["-c", worker], "readiness": {"none": {}}}}},
            "scalingPolicies": [
                {"name": "queue", "type": "target_tracking", "cooldown": 0, "args": {"metric": "queue_length",
                    "target": {"type": "AverageValue", "averageValue": 40},
                    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 5}}}}
            ]
        }))
        .await;
    let collector = json!([{"name": "celery", "type": "redis", "metric": "queue_length", "interval": 1,
        "args": {"url": format!("redis://{REDIS}/0"), "list": key}}]);
    api.post(&api.t(&format!("/groups/{g}/collectors")), collector).await.ok(201);
    // Members as the group reports them (a worker is a shell and, while it waits on Redis, a
    // redis-cli child too: processes are not members).
    let active = || async {
        let state = api.get(&api.t(&format!("/groups/{g}/state"))).await;
        state.body["group"]["activeCapacity"].as_i64().unwrap_or(0)
    };
    assert!(eventually(20, || async { active().await == 1 }).await, "one worker to begin with");

    // 600 jobs: 15 workers' worth at 40 each, 5 at most.
    let client = redis::Client::open(format!("redis://{REDIS}/")).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let jobs: Vec<String> = (0..600).map(|i| format!("job-{i}")).collect();
    let _: i64 = redis::cmd("RPUSH").arg(&key).arg(&jobs).query_async(&mut redis).await.unwrap();
    let most = poll(30, || async { (api.desired(&g).await == 5).then_some(()) }).await;
    assert!(most.is_some(), "the queue scaled the workers out");
    assert!(eventually(20, || async { active().await >= 4 }).await, "and they run");

    // They drain it, and the group comes back to one.
    let drained = poll(90, || async {
        let left: i64 = redis::cmd("LLEN").arg(&key).query_async(&mut redis.clone()).await.ok()?;
        (left == 0).then_some(())
    })
    .await;
    assert!(drained.is_some(), "the workers drained the queue");
    assert!(eventually(30, || async { api.desired(&g).await == 1 }).await, "back to one worker");
    let history = api.get(&api.t(&format!("/groups/{g}/history?source=metric"))).await;
    let changes: Vec<(i64, i64)> = history.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| (e["from"].as_i64().unwrap(), e["to"].as_i64().unwrap()))
        .filter(|(from, to)| from != to)
        .collect();
    assert_eq!(changes.first(), Some(&(1, 5)), "{changes:?}");
    assert!(changes.windows(2).all(|w| w[1].1 < w[0].1), "out once, then only in: {changes:?}");
    api.delete(&api.t(&format!("/groups/{g}?force=true"))).await.ok(204);
}

#[tokio::test]
async fn a_web_group_scales_on_connections_per_member_from_its_balancer() {
    let server = Server::start_with(&["--measure-interval", "0.5", "--balancer-host", "127.0.0.1"]);
    let api = server.local_tenant("t1").await;
    let port = free_port();
    // Members serve one request at a time, 50 ms each.
    let g = api
        .create_group(json!({
            "groupConfiguration": {"name": "web", "cooldown": 0, "minEntities": 1, "maxEntities": 4},
            "launchConfiguration": {"type": "local_process", "args": {
                "process": {"command": support::ebb_bin(), "args": ["demo-app", "--work-ms", "50", "--capacity", "1"],
                            "readiness": {"http": {"path": "/health"}}},
                "loadBalancers": [{"type": "builtin", "port": port}]}},
            "scalingPolicies": [
                {"name": "connections", "type": "target_tracking", "cooldown": 0, "args": {"metric": "lb_connections",
                    "target": {"type": "Value", "value": 2},
                    "behavior": {"scaleUp": {"stabilizationWindowSeconds": 0},
                                 "scaleDown": {"stabilizationWindowSeconds": 600}}}}
            ]
        }))
        .await;
    let collector = json!([{"name": "loadscale", "type": "lb_stats", "metric": "lb_connections", "interval": 1,
        "args": {"balancer": "builtin", "value": "connections"}}]);
    api.post(&api.t(&format!("/groups/{g}/collectors")), collector).await.ok(201);
    let serving =
        || async { api.get(&api.t(&format!("/groups/{g}/state"))).await.body["group"]["activeCapacity"] == 1 };
    assert!(eventually(30, serving).await, "the first member serves");

    // Eight clients at once: the balancer holds about eight connections to the one member.
    let loading = Arc::new(AtomicBool::new(true));
    let http = reqwest::Client::new();
    let load: Vec<_> = (0..8)
        .map(|_| {
            let (loading, http) = (loading.clone(), http.clone());
            tokio::spawn(async move {
                while loading.load(Ordering::Relaxed) {
                    let _ = http.get(format!("http://127.0.0.1:{port}/")).send().await;
                }
            })
        })
        .collect();
    let scaled = eventually(60, || async { api.desired(&g).await >= 3 }).await;
    loading.store(false, Ordering::Relaxed);
    for task in load {
        let _ = task.await;
    }
    assert!(scaled, "connections per member scaled the group out");
    let history = api.get(&api.t(&format!("/groups/{g}/history?source=metric"))).await;
    let reason = history.body["history"][0]["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.starts_with("policy \"connections\": value "), "{reason}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    api.delete(&api.t(&format!("/groups/{g}?force=true"))).await.ok(204);
}
