//! `ebb-bench metrics`: the metric path with the metric store holding many groups —
//! samples a second through the batch endpoint, requests a second through Cloud Foundry's
//! endpoint (each beside the bare handler given the same requests), the time from the answer
//! to the sample that completes a breach to the durable change of desired capacity, and the
//! server's memory per group and per series.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::load::*;

/// Rules that never fire on the load's values (the throughput measurements take no decision).
fn quiet_policy() -> Value {
    json!({"instance_min_count": 1, "instance_max_count": 10, "scaling_rules": [
        {"metric_type": "queue_length", "threshold": 1000000, "operator": ">", "adjustment": "+1"}]})
}

/// Rules for the latency trials: above 100 one more, below 10 one fewer, 60 s breaches and
/// cooldowns (milliseconds under the server's `--rules-time-scale`).
fn trial_policy() -> Value {
    json!({"instance_min_count": 1, "instance_max_count": 10, "scaling_rules": [
        {"metric_type": "queue_length", "threshold": 100, "operator": ">", "adjustment": "+1", "breach_duration_secs": 60, "cool_down_secs": 60},
        {"metric_type": "queue_length", "threshold": 10, "operator": "<", "adjustment": "-1", "breach_duration_secs": 60, "cool_down_secs": 60}]})
}

fn resident_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("the server's /proc status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .context("VmRSS")
}

async fn make_groups(api: &Api, app_base: &str, groups: usize, policy: &Value) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(groups);
    for _ in 0..groups {
        let body = json!({
            "groupConfiguration": {"name": "bench", "cooldown": 0, "minEntities": 1, "maxEntities": 10},
            "launchConfiguration": {"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}},
        });
        let group = api.call(Method::POST, "/groups", Some(body)).await?;
        let id = group["group"]["id"].as_str().context("group id")?.to_string();
        let reply =
            api.http.put(format!("{app_base}/v1/apps/{id}/policy")).bearer_auth(&api.token).json(policy).send().await?;
        if !reply.status().is_success() {
            bail!("setting a policy: {} {}", reply.status(), reply.text().await?);
        }
        ids.push(id);
    }
    Ok(ids)
}

/// A group's desired capacity.
async fn desired_of(api: &Api, group: &str) -> anyhow::Result<i64> {
    let state = api.call(Method::GET, &format!("/groups/{group}/state"), None).await?;
    state["group"]["desiredCapacity"].as_i64().context("desired")
}

/// Polls a group's state from `answered` until its desired capacity is no longer `current`:
/// how long that took, and the new value.
async fn until_changed(api: &Api, group: &str, current: i64, answered: Instant) -> anyhow::Result<(Duration, i64)> {
    loop {
        let now = desired_of(api, group).await?;
        if now != current {
            return Ok((answered.elapsed(), now));
        }
        if answered.elapsed() > Duration::from_secs(5) {
            bail!("no decision within 5 s");
        }
    }
}

/// A group with one target-tracking policy: queue_length at 10 per member, scaling down at
/// once (no stabilization window), 1 to 10 members.
async fn make_tracked_group(api: &Api) -> anyhow::Result<String> {
    let body = json!({
        "groupConfiguration": {"name": "tracked", "cooldown": 0, "minEntities": 1, "maxEntities": 10},
        "launchConfiguration": {"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}},
        "scalingPolicies": [{"name": "queue", "type": "target_tracking", "cooldown": 0, "args": {
            "metric": "queue_length", "target": {"type": "AverageValue", "averageValue": 10},
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}}],
    });
    let group = api.call(Method::POST, "/groups", Some(body)).await?;
    Ok(group["group"]["id"].as_str().context("group id")?.to_string())
}

/// `count` batches of `per_batch` samples, group after group, as request bodies.
fn batches(groups: &[String], count: usize, per_batch: usize, value: f64) -> Vec<bytes::Bytes> {
    let mut next = 0;
    (0..count)
        .map(|_| {
            let samples: Vec<Value> = (0..per_batch)
                .map(|_| {
                    next += 1;
                    json!({"group": groups[next % groups.len()], "metric": "queue_length", "instance_index": 0, "value": value})
                })
                .collect();
            bytes::Bytes::from(json!({"samples": samples}).to_string())
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub async fn metrics(
    url: &str,
    operator_token: &str,
    bare_url: &str,
    pid: u32,
    groups: usize,
    requests: usize,
    concurrency: usize,
    trials: usize,
) -> anyhow::Result<()> {
    let http = Client::builder().pool_max_idle_per_host(concurrency * 2).build()?;
    let base = url.trim_end_matches('/').to_string();
    let bare = bare_url.trim_end_matches('/').to_string();
    let operator = Api { http: http.clone(), base: base.clone(), token: operator_token.to_string() };
    let (api, _) = crate::api::setup(&operator, 0).await?;
    let tenant_path = api.base.trim_start_matches(&base).to_string();
    let rss_empty = resident_kib(pid)?;
    eprintln!("setting up {groups} groups with a policy");
    let started = Instant::now();
    let ids = Arc::new(make_groups(&api, &base, groups, &quiet_policy()).await?);
    eprintln!("set up in {:.1} s", started.elapsed().as_secs_f64());
    let rss_groups = resident_kib(pid)?;

    // (a) the batch endpoint: 5,000 samples a request (about 600 KB, within the 1 MiB limit).
    let per_batch = 5_000;
    let batch_requests = (requests / 100).max(20);
    let bodies = Arc::new(batches(&ids, batch_requests, per_batch, 5.0));
    let batch = |target: String, token: String, bodies: Arc<Vec<bytes::Bytes>>, client: Client| {
        move |i: usize| {
            client
                .post(target.clone())
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(bodies[i % bodies.len()].clone())
        }
    };
    let batch_concurrency = 4;
    let ebb_batch = load(
        batch_requests,
        batch_concurrency,
        batch(format!("{base}{tenant_path}/metrics"), api.token.clone(), bodies.clone(), http.clone()),
    )
    .await?;
    let bare_batch = load(
        batch_requests,
        batch_concurrency,
        batch(format!("{bare}/metrics"), api.token.clone(), bodies, http.clone()),
    )
    .await?;
    let rss_filled = resident_kib(pid)?;
    let ebb_batch = measured(batch_requests, ebb_batch.0, ebb_batch.1);
    let bare_batch = measured(batch_requests, bare_batch.0, bare_batch.1);

    // (a) Cloud Foundry's endpoint: one sample a request, group after group.
    let single = |target: Arc<dyn Fn(usize) -> String + Send + Sync>, token: String, client: Client| {
        let body = bytes::Bytes::from(
            json!({"instance_index": 0, "metrics": [{"name": "queue_length", "value": 5}]}).to_string(),
        );
        move |i: usize| {
            client.post(target(i)).bearer_auth(&token).header("content-type", "application/json").body(body.clone())
        }
    };
    let (b, ids_for_ebb) = (base.clone(), ids.clone());
    let ebb_target: Arc<dyn Fn(usize) -> String + Send + Sync> =
        Arc::new(move |i| format!("{b}/v1/apps/{}/metrics", ids_for_ebb[i % ids_for_ebb.len()]));
    let (b, ids_for_bare) = (bare.clone(), ids.clone());
    let bare_target: Arc<dyn Fn(usize) -> String + Send + Sync> =
        Arc::new(move |i| format!("{b}/v1/apps/{}/metrics", ids_for_bare[i % ids_for_bare.len()]));
    let ebb_cf = load(requests, concurrency, single(ebb_target, api.token.clone(), http.clone())).await?;
    let bare_cf = load(requests, concurrency, single(bare_target, api.token.clone(), http.clone())).await?;
    let ebb_cf = measured(requests, ebb_cf.0, ebb_cf.1);
    let bare_cf = measured(requests, bare_cf.0, bare_cf.1);

    // (b) decision latency: the answer to the sample that completes a breach, to the durable
    // change of desired capacity, seen by polling the group's state.
    let trial_group = make_groups(&api, &base, 1, &trial_policy()).await?.remove(0);
    let push = |value: f64| {
        let (http, url, token) = (http.clone(), format!("{base}/v1/apps/{trial_group}/metrics"), api.token.clone());
        async move {
            let body = json!({"instance_index": 0, "metrics": [{"name": "queue_length", "value": value}]});
            let reply = http.post(url).bearer_auth(token).json(&body).send().await?;
            if !reply.status().is_success() {
                bail!("push: {}", reply.status());
            }
            anyhow::Ok(())
        }
    };
    let mut latencies = Vec::with_capacity(trials);
    let mut current = desired_of(&api, &trial_group).await?;
    for trial in 0..trials {
        // Up from 1 to 2, then down again: a neutral value covers the window, then the
        // breaching one completes the breach.
        let (neutral, breaching) = if current == 1 { (50.0, 500.0) } else { (50.0, 0.0) };
        push(neutral).await?;
        tokio::time::sleep(Duration::from_millis(80)).await;
        push(breaching).await?;
        let (took, now) = until_changed(&api, &trial_group, current, Instant::now())
            .await
            .with_context(|| format!("trial {trial}"))?;
        latencies.push(took);
        current = now;
    }
    let decisions = measured(trials, Duration::from_secs(1), latencies);

    // (b) the same for a target-tracking policy (queue_length at 10 per member, no
    // stabilization down): one batch with a sample of every member slot changes its proposal,
    // alternately 20 per member (up to twice as many) and 5 (back to half).
    let tracked = make_tracked_group(&api).await?;
    let mut latencies = Vec::with_capacity(trials);
    let mut current = desired_of(&api, &tracked).await?;
    for trial in 0..trials {
        let value = if current == 1 { 20.0 } else { 5.0 };
        let samples: Vec<Value> = (0..current)
            .map(|slot| json!({"group": tracked, "metric": "queue_length", "instance_index": slot, "value": value}))
            .collect();
        api.call(Method::POST, "/metrics", Some(json!({ "samples": samples }))).await?;
        let (took, now) =
            until_changed(&api, &tracked, current, Instant::now()).await.with_context(|| format!("trial {trial}"))?;
        latencies.push(took);
        current = now;
    }
    let tracking = measured(trials, Duration::from_secs(1), latencies);

    let series = groups as f64;
    let samples_kept = (batch_requests * per_batch) as f64;
    println!("| measurement | Ebb | bare handler | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| batch endpoint, samples/s ({per_batch} a request, {batch_concurrency} in flight) | {:.0} | {:.0} | {:.2} |",
        ebb_batch.rate * per_batch as f64,
        bare_batch.rate * per_batch as f64,
        ebb_batch.rate / bare_batch.rate
    );
    println!(
        "| Cloud Foundry endpoint, requests/s ({concurrency} in flight, {groups} groups) | {:.0} | {:.0} | {:.2} |",
        ebb_cf.rate,
        bare_cf.rate,
        ebb_cf.rate / bare_cf.rate
    );
    println!(
        "| Cloud Foundry endpoint, p50 / p99 ms | {:.2} / {:.2} | {:.2} / {:.2} | |",
        ebb_cf.p50, ebb_cf.p99, bare_cf.p50, bare_cf.p99
    );
    println!("| decision latency, p50 / p99 ms ({trials} trials) | {:.2} / {:.2} | | |", decisions.p50, decisions.p99);
    println!(
        "| target-tracking decision latency, p50 / p99 ms ({trials} trials) | {:.2} / {:.2} | | |",
        tracking.p50, tracking.p99
    );
    println!();
    println!("| memory (resident) | KiB |");
    println!("|---|---|");
    println!("| server with no group | {rss_empty} |");
    println!(
        "| per group with a policy (store caches, metric store entry) | {:.2} |",
        (rss_groups - rss_empty.min(rss_groups)) as f64 / groups as f64
    );
    println!(
        "| per series after {:.0} samples a series ({} kept at most) | {:.2} |",
        samples_kept / series,
        720,
        (rss_filled.saturating_sub(rss_groups)) as f64 / series
    );
    Ok(())
}
