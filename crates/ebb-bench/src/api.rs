//! `ebb-bench run`: the API beside the bare handler.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, Method};
use serde_json::json;

use crate::load::*;

pub struct Target {
    pub group: String,
    pub policy: String,
    pub capability: String,
}

pub async fn setup(operator: &Api, groups: usize) -> anyhow::Result<(Api, Vec<Target>)> {
    let tenant = format!("bench-{}", std::process::id());
    operator.call(Method::POST, "/admin/v1/tenants", Some(json!({"id": tenant}))).await?;
    let token = operator
        .call(Method::POST, &format!("/admin/v1/tenants/{tenant}/tokens"), Some(json!({"role": "admin"})))
        .await?["token"]["secret"]
        .as_str()
        .context("token secret")?
        .to_string();
    let api = Api { http: operator.http.clone(), base: format!("{}/v1.0/{tenant}", operator.base), token };
    let mut targets = Vec::with_capacity(groups);
    for _ in 0..groups {
        let body = json!({
            "groupConfiguration": {"name": "bench", "cooldown": 0, "minEntities": 0, "maxEntities": 1000},
            "launchConfiguration": {"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}},
            "scalingPolicies": [{"name": "up", "type": "webhook", "cooldown": 0, "change": 1}],
        });
        let group = api.call(Method::POST, "/groups", Some(body)).await?;
        let group_id = group["group"]["id"].as_str().context("group id")?.to_string();
        let policy = group["group"]["scalingPolicies"][0]["id"].as_str().context("policy id")?.to_string();
        let hooks = api
            .call(Method::POST, &format!("/groups/{group_id}/policies/{policy}/webhooks"), Some(json!([{"name": "h"}])))
            .await?;
        let capability = hooks["webhooks"][0]["links"][1]["href"].as_str().context("capability")?.to_string();
        targets.push(Target { group: group_id, policy, capability });
    }
    Ok((api, targets))
}

/// The server's count of committed capability executions.
pub async fn scaled_count(http: &Client, base: &str) -> anyhow::Result<u64> {
    let text = http.get(format!("{base}/metrics")).send().await?.text().await?;
    Ok(text
        .lines()
        .find(|line| line.starts_with("ebb_policy_executions_total{outcome=\"scaled\",source=\"capability\"}"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

pub async fn run(
    url: &str,
    operator_token: &str,
    bare_url: &str,
    groups: usize,
    requests: usize,
    concurrency: usize,
    latency_concurrency: usize,
) -> anyhow::Result<()> {
    let http = Client::builder().pool_max_idle_per_host(concurrency * 2).build()?;
    let operator =
        Api { http: http.clone(), base: url.trim_end_matches('/').to_string(), token: operator_token.to_string() };
    eprintln!("setting up {groups} groups");
    let (api, targets) = setup(&operator, groups).await?;
    let targets = Arc::new(targets);
    let bare = bare_url.trim_end_matches('/').to_string();

    // Warm up connections and caches.
    {
        let (client, b) = (http.clone(), bare.clone());
        load(2000, concurrency, move |_| client.post(format!("{b}/warm"))).await?;
    }

    // The bare handler is measured just before and just after each measurement it is the
    // reference of, and the two taken together: the machine's noise falls on both sides.
    let bare_post_load = |in_flight: usize| {
        let (client, b) = (http.clone(), bare.clone());
        load(requests, in_flight, move |_| client.post(format!("{b}/v1.0/execute/1/x/")))
    };
    let bare_get_load = |in_flight: usize| {
        let (client, b) = (http.clone(), bare.clone());
        load(requests, in_flight, move |_| client.get(format!("{b}/state")))
    };
    let bare_post_before = bare_post_load(concurrency).await?;

    eprintln!("capability executions");
    let before = scaled_count(&http, &operator.base).await?;
    let started = Instant::now();
    let (client, t) = (http.clone(), targets.clone());
    let (accepted_wall, accept_latencies) =
        load(requests, concurrency, move |i| client.post(&t[i % t.len()].capability)).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while scaled_count(&http, &operator.base).await? < before + requests as u64 {
        if Instant::now() > deadline {
            bail!("executions did not complete within two minutes");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let completed = measured(requests, started.elapsed(), accept_latencies.clone());
    let accepted = measured(requests, accepted_wall, accept_latencies);
    let mut desired_total = 0;
    for target in targets.iter() {
        desired_total +=
            api.call(Method::GET, &format!("/groups/{}/state", target.group), None).await?["group"]["desiredCapacity"]
                .as_u64()
                .unwrap_or(0);
    }
    if desired_total != requests as u64 {
        bail!("desired capacities add up to {desired_total}, expected {requests}");
    }

    let bare_post = both(requests, bare_post_before, bare_post_load(concurrency).await?);

    eprintln!("state reads and API executions");
    let state_load = |in_flight: usize| {
        let (client, t, base, token) = (http.clone(), targets.clone(), api.base.clone(), api.token.clone());
        load(requests, in_flight, move |i| {
            client.get(format!("{base}/groups/{}/state", t[i % t.len()].group)).bearer_auth(&token)
        })
    };
    // Executions go round the groups; each group takes at most 900 of the 1000 it may grow by.
    let execute_requests = requests.min(groups * 450);
    let execute_load = |in_flight: usize| {
        let (client, t, base, token) = (http.clone(), targets.clone(), api.base.clone(), api.token.clone());
        load(execute_requests, in_flight, move |i| {
            let target = &t[i % t.len()];
            client
                .post(format!("{base}/groups/{}/policies/{}/execute", target.group, target.policy))
                .bearer_auth(&token)
        })
    };
    let bare_get_before = bare_get_load(concurrency).await?;
    let (wall, latencies) = state_load(concurrency).await?;
    let state = measured(requests, wall, latencies);
    let bare_get = both(requests, bare_get_before, bare_get_load(concurrency).await?);
    let (wall, latencies) = execute_load(concurrency).await?;
    let execute = measured(execute_requests, wall, latencies);

    eprintln!("latency at {latency_concurrency} in flight");
    let bare_get_before = bare_get_load(latency_concurrency).await?;
    let (wall, latencies) = state_load(latency_concurrency).await?;
    let state_light = measured(requests, wall, latencies);
    let bare_get_light = both(requests, bare_get_before, bare_get_load(latency_concurrency).await?);
    let bare_post_before = bare_post_load(latency_concurrency).await?;
    let (wall, latencies) = execute_load(latency_concurrency).await?;
    let execute_light = measured(execute_requests, wall, latencies);
    let bare_post_light = both(requests, bare_post_before, bare_post_load(latency_concurrency).await?);

    println!("Throughput, {concurrency} requests in flight:");
    println!();
    println!("| measurement | requests/s | p50 ms | p99 ms | ratio to bare handler |");
    println!("|---|---:|---:|---:|---:|");
    let row = |name: &str, m: &Measured, reference: &Measured| {
        println!("| {name} | {:.0} | {:.2} | {:.2} | {:.2} |", m.rate, m.p50, m.p99, m.rate / reference.rate);
    };
    row("bare axum handler, POST (202)", &bare_post, &bare_post);
    row("capability URL POST, answered (202)", &accepted, &bare_post);
    row("capability URL executions completed (durable)", &completed, &bare_post);
    row("POST .../policies/{p}/execute (durable, 202)", &execute, &bare_post);
    row("bare axum handler, GET (202)", &bare_get, &bare_get);
    row("GET .../groups/{g}/state", &state, &bare_get);
    println!();
    println!("Latency, {latency_concurrency} requests in flight:");
    println!();
    println!("| measurement | requests/s | p50 ms | p99 ms | p50 added to bare | p99 added to bare |");
    println!("|---|---:|---:|---:|---:|---:|");
    let latency_row = |name: &str, m: &Measured, reference: &Measured| {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:+.2} | {:+.2} |",
            m.rate,
            m.p50,
            m.p99,
            m.p50 - reference.p50,
            m.p99 - reference.p99
        );
    };
    latency_row("bare axum handler, GET (202)", &bare_get_light, &bare_get_light);
    latency_row("GET .../groups/{g}/state", &state_light, &bare_get_light);
    latency_row("bare axum handler, POST (202)", &bare_post_light, &bare_post_light);
    latency_row("POST .../policies/{p}/execute (durable, 202)", &execute_light, &bare_post_light);
    println!();
    println!(
        "{requests} requests per measurement ({execute_requests} for executions), {groups} groups; capability executions are counted complete by the server once committed; each bare-handler figure is two runs, just before and just after the measurement it is the reference of, taken together."
    );
    Ok(())
}
