//! Scaling on Ebb's own measurements, end to end: a `local_process` group of real `ebb
//! demo-app` members with Cloud Foundry rules on `responsetime`; a load generator makes the
//! members slow, the group scales out and its history says why; the load stops and it
//! scales back in; what its members served is recorded minute by minute. Breaches and cooldowns of 60 s last 3 s here (`--rules-time-scale`).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use support::{Server, eventually, free_port};

#[tokio::test]
async fn response_time_scales_a_group_of_real_members_out_and_back_in() {
    let server = Server::start_with(&[
        "--rules-time-scale",
        "0.05",
        "--measure-interval",
        "0.5",
        "--balancer-host",
        "127.0.0.1",
        "--build-timeout",
        "20",
    ]);
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let args = ["demo-app", "--work-ms", "20", "--capacity", "1"];
    let g = api
        .create_group(json!({
            "groupConfiguration": {"name": "web", "cooldown": 0, "minEntities": 1, "maxEntities": 3},
            "launchConfiguration": {"type": "local_process", "args": {
                "process": {"command": support::ebb_bin(), "args": args, "readiness": {"http": {"path": "/health"}},
                            "memory_quota_mb": 512, "cpu_quota": 1},
                "loadBalancers": [{"type": "builtin", "port": port}]}},
        }))
        .await;
    let policy = json!({"instance_min_count": 1, "instance_max_count": 3, "scaling_rules": [
        {"metric_type": "responsetime", "threshold": 200, "operator": ">", "adjustment": "+1", "breach_duration_secs": 60, "cool_down_secs": 60},
        {"metric_type": "responsetime", "threshold": 50, "operator": "<", "adjustment": "-1", "breach_duration_secs": 60, "cool_down_secs": 60},
        {"metric_type": "memoryused", "threshold": 100000, "operator": ">", "adjustment": "+1"}]});
    api.put(&format!("/v1/apps/{g}/policy"), policy).await.ok(200);
    let ready = eventually(30, || async {
        api.get(&api.t(&format!("/groups/{g}/state"))).await.body["group"]["activeCapacity"] == 1
    })
    .await;
    assert!(ready, "the first member serves");

    // Sixteen clients at once on a member that serves one request at a time, 20 ms each:
    // requests wait about 300 ms.
    let loading = Arc::new(AtomicBool::new(true));
    let client = reqwest::Client::new();
    let load: Vec<_> = (0..16)
        .map(|_| {
            let (loading, client) = (loading.clone(), client.clone());
            tokio::spawn(async move {
                while loading.load(Ordering::Relaxed) {
                    let _ = client.get(format!("http://127.0.0.1:{port}/")).send().await;
                }
            })
        })
        .collect();
    let scaled_out = eventually(60, || async { api.desired(&g).await >= 2 }).await;
    loading.store(false, Ordering::Relaxed);
    for task in load {
        let _ = task.await;
    }
    assert!(scaled_out, "slow responses scaled the group out");
    let history = api.get(&api.t(&format!("/groups/{g}/history?source=metric"))).await;
    let reasons: Vec<&str> =
        history.body["history"].as_array().unwrap().iter().filter_map(|e| e["reason"].as_str()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r
                .starts_with("+1 instance(s) because responsetime > 200ms for 60 seconds: desired capacity 1 to 2")),
        "{reasons:?}"
    );

    // Without load the members answer at once (responsetime 0): back to one.
    let scaled_in = eventually(60, || async { api.desired(&g).await == 1 }).await;
    assert!(scaled_in, "the group scaled back in: {}", api.get(&api.t(&format!("/groups/{g}/history"))).await.text);

    // The operating system's measurements are there too, minute by minute.
    let memory = support::poll(150, || async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let reply = api.get(&format!("/v1/apps/{g}/aggregated_metric_histories/memoryused")).await;
        let value = reply.body["resources"][0]["value"].as_str().and_then(|v| v.parse::<i64>().ok());
        value.filter(|_| reply.body["resources"][0]["unit"] == "MB")
    })
    .await
    .expect("a minute of memoryused");
    assert!((1..2048).contains(&memory), "a demo-app member uses {memory} MB");
    // And the requests its members served, though no rule reads them: what a replay of the
    // group (`ebb simulate --group`) is made of.
    let served = api.get(&format!("/v1/apps/{g}/metric_histories/throughput?results-per-page=100")).await;
    served.ok(200);
    let busiest = served.body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["value"].as_str()?.parse::<i64>().ok())
        .max();
    assert!(busiest.is_some_and(|rps| rps >= 1), "{}", served.text);
}
