//! Target tracking end to end, with real processes behind the built-in load balancer: a
//! group of `ebb demo-app` members (one request at a time, 20 ms of CPU each) keeps
//! `inflight` at 1 per member while an open-loop load generator offers 5 requests a second,
//! then ten times as many, then 5 again. The group scales out at once, the response time
//! comes back down, the stabilization windows keep it from flapping, and it scales back in
//! when the load is gone. A dry-run policy beside the live one is recorded and never acts.
//!
//! The run prints its numbers (p95 by phase, members, scale events); `docs/benchmarks.md`
//! records one run.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, eventually, free_port};

/// Each request's start (from the run's start) and how long it took, or `None` when it failed.
type Latencies = Arc<Mutex<Vec<(Duration, Option<Duration>)>>>;

/// Offers `rate` requests a second for `length`, each timed, never more than 400 at once.
async fn offer(port: u16, rate: f64, length: Duration, start: Instant, latencies: Latencies) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let ends = Instant::now() + length;
    let outstanding = Arc::new(tokio::sync::Semaphore::new(400));
    while Instant::now() < ends {
        ticks.tick().await;
        let Ok(permit) = outstanding.clone().try_acquire_owned() else { continue };
        let (client, latencies) = (client.clone(), latencies.clone());
        tokio::spawn(async move {
            let sent = Instant::now();
            let ok =
                client.get(format!("http://127.0.0.1:{port}/")).send().await.is_ok_and(|r| r.status().is_success());
            let took = ok.then(|| sent.elapsed());
            latencies.lock().unwrap().push((sent.duration_since(start), took));
            drop(permit);
        });
    }
}

/// The 95th percentile, in ms, of the requests sent between `from` and `to` seconds.
fn p95(latencies: &[(Duration, Option<Duration>)], from: f64, to: f64) -> f64 {
    let mut within: Vec<f64> = latencies
        .iter()
        .filter(|(at, _)| (from..to).contains(&at.as_secs_f64()))
        .map(|(_, took)| took.map_or(10_000.0, |t| t.as_secs_f64() * 1000.0))
        .collect();
    assert!(!within.is_empty(), "requests between {from} and {to} s");
    within.sort_by(f64::total_cmp);
    within[((within.len() as f64 * 0.95).ceil() as usize).clamp(1, within.len()) - 1]
}

#[tokio::test]
async fn target_tracking_on_inflight_follows_a_tenfold_ramp_without_flapping() {
    let server =
        Server::start_with(&["--measure-interval", "0.5", "--balancer-host", "127.0.0.1", "--build-timeout", "20"]);
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let g = api
        .create_group(json!({
            "groupConfiguration": {"name": "web", "cooldown": 0, "minEntities": 1, "maxEntities": 6},
            "launchConfiguration": {"type": "local_process", "args": {
                "process": {"command": support::ebb_bin(), "args": ["demo-app", "--work-ms", "20", "--capacity", "1"],
                            "readiness": {"http": {"path": "/health"}}},
                "loadBalancers": [{"type": "builtin", "port": port}]}},
            "scalingPolicies": [
                {"name": "inflight", "type": "target_tracking", "cooldown": 0, "args": {"metric": "inflight",
                    "target": {"type": "AverageValue", "averageValue": 1},
                    "behavior": {"scaleUp": {"stabilizationWindowSeconds": 3},
                                 "scaleDown": {"stabilizationWindowSeconds": 30}}}},
                {"name": "eager", "type": "target_tracking", "cooldown": 0, "dry_run": true, "args": {"metric": "inflight",
                    "target": {"type": "AverageValue", "averageValue": 0.2}}}
            ]
        }))
        .await;
    let serving =
        || async { api.get(&api.t(&format!("/groups/{g}/state"))).await.body["group"]["activeCapacity"] == 1 };
    assert!(eventually(30, serving).await, "the first member serves");

    let start = Instant::now();
    let latencies: Latencies = Arc::new(Mutex::new(Vec::new()));
    let (low, high) = (5.0, 50.0);
    let desired_seen = Arc::new(Mutex::new(Vec::new()));
    let watcher = {
        let (desired_seen, api, g) = (desired_seen.clone(), api.clone(), g.clone());
        tokio::spawn(async move {
            loop {
                let desired = api.desired(&g).await;
                desired_seen.lock().unwrap().push((start.elapsed().as_secs_f64(), desired));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    offer(port, low, Duration::from_secs(6), start, latencies.clone()).await;
    offer(port, high, Duration::from_secs(35), start, latencies.clone()).await;
    offer(port, low, Duration::from_secs(30), start, latencies.clone()).await;
    let scaled_in = eventually(30, || async { api.desired(&g).await == 1 }).await;
    watcher.abort();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let latencies = latencies.lock().unwrap().clone();
    let seen = desired_seen.lock().unwrap().clone();
    let peak = seen.iter().filter(|(at, _)| (6.0..41.0).contains(at)).map(|(_, d)| *d).max().unwrap_or(0);
    let (before, surge, settled, after) = (
        p95(&latencies, 0.0, 6.0),
        p95(&latencies, 6.0, 11.0),
        p95(&latencies, 26.0, 41.0),
        p95(&latencies, 56.0, 71.0),
    );
    let history = api.get(&api.t(&format!("/groups/{g}/history?source=metric&limit=1000"))).await;
    let entries: Vec<Value> = history.body["history"].as_array().unwrap().iter().rev().cloned().collect();
    let live: Vec<(i64, i64)> = entries
        .iter()
        .filter(|e| e["from"] != e["to"])
        .map(|e| (e["from"].as_i64().unwrap(), e["to"].as_i64().unwrap()))
        .collect();
    let turns = live.windows(2).filter(|w| (w[0].1 > w[0].0) != (w[1].1 > w[1].0)).count();
    let dry = entries.iter().filter(|e| e["reason"].as_str().unwrap().starts_with("dry run: policy \"eager\"")).count();
    println!(
        "p95 ms: low {before:.0}, first 5 s of the surge {surge:.0}, last 15 s of it {settled:.0}, low again {after:.0}; \
         peak {peak} members; {} scale events {live:?} ({turns} turns); {dry} dry-run entries",
        live.len()
    );

    assert!(peak >= 2, "the surge scaled the group out: {seen:?}");
    assert!(settled < 200.0, "p95 came back near the target once scaled: {settled:.0} ms");
    assert!(settled < surge, "scaling out relieved the surge: {surge:.0} → {settled:.0} ms");
    assert!(scaled_in, "the group scaled back in: {live:?}");
    assert!(live.len() <= 8 && turns <= 2, "no flapping: {live:?}");
    assert!(dry > 0, "the dry-run policy is recorded");
    assert!(
        entries
            .iter()
            .filter(|e| e["from"] != e["to"])
            .all(|e| e["reason"].as_str().unwrap().starts_with("policy \"inflight\"")),
        "only the live policy changed the group"
    );
}
