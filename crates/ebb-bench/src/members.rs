//! `ebb-bench members`: the load balancer's overhead and scale-up time.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::load::*;

/// The demo member measured.
pub struct MemberShape {
    pub startup_ms: u64,
    pub work_ms: u64,
}

/// Creates a `local_process` group of demo members behind a balancer on a free port, with a
/// `change: 1` policy; returns the group, the policy, the port and the members' arguments.
pub async fn demo_group(
    api: &Api,
    ebb_bin: &str,
    work_ms: u64,
    startup_ms: u64,
) -> anyhow::Result<(String, String, u16, Vec<String>)> {
    let port = free_port()?;
    let args: Vec<String> =
        ["demo-app", "--work-ms", &work_ms.to_string(), "--capacity", "64", "--startup-ms", &startup_ms.to_string()]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let body = json!({
        "groupConfiguration": {"name": "bench", "cooldown": 0, "minEntities": 1, "maxEntities": 100},
        "launchConfiguration": {"type": "local_process", "args": {
            "process": {"command": ebb_bin, "args": args, "readiness": {"http": {"path": "/health"}}},
            "loadBalancers": [{"type": "builtin", "port": port}],
        }},
        "scalingPolicies": [{"name": "up", "type": "webhook", "cooldown": 0, "change": 1}],
    });
    let group = api.call(Method::POST, "/groups", Some(body)).await?;
    let group_id = group["group"]["id"].as_str().context("group id")?.to_string();
    let policy = group["group"]["scalingPolicies"][0]["id"].as_str().context("policy id")?.to_string();
    Ok((group_id, policy, port, args))
}

pub async fn list_members(api: &Api, path: &str) -> anyhow::Result<Vec<Value>> {
    Ok(api.call(Method::GET, path, None).await?["members"].as_array().cloned().unwrap_or_default())
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Sends `count` requests at once; returns who served each.
pub async fn futures_join(http: &Client, url: &str, count: usize) -> Vec<Option<String>> {
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let (http, url) = (http.clone(), url.to_string());
        tasks.push(tokio::spawn(async move { served_by(&http, &url).await }));
    }
    let mut names = Vec::with_capacity(count);
    for task in tasks {
        names.push(task.await.ok().flatten());
    }
    names
}

/// Who served a request through the balancer.
pub async fn served_by(http: &Client, url: &str) -> Option<String> {
    let response = http.get(url).send().await.ok()?;
    let body: Value = response.json().await.ok()?;
    body["member"].as_str().map(str::to_string)
}

pub async fn members(
    url: &str,
    operator_token: &str,
    ebb_bin: &str,
    requests: usize,
    concurrency: usize,
    starts: usize,
    shape: MemberShape,
) -> anyhow::Result<()> {
    let MemberShape { startup_ms, work_ms } = shape;
    let http = Client::builder().pool_max_idle_per_host(concurrency * 2).build()?;
    let operator =
        Api { http: http.clone(), base: url.trim_end_matches('/').to_string(), token: operator_token.to_string() };
    let tenant = format!("members-{}", std::process::id());
    operator.call(Method::POST, "/admin/v1/tenants", Some(json!({"id": tenant}))).await?;
    let api =
        Api { http: http.clone(), base: format!("{}/v1.0/{tenant}", operator.base), token: operator_token.to_string() };
    // One group to measure the balancer (members doing `work_ms` per request, starting at
    // once), another to measure scale-ups (members doing no work per request, so that probing
    // them costs nothing, and `startup_ms` of work at start-up).
    let (group_id, _, lb_port, _) = demo_group(&api, ebb_bin, work_ms, 0).await?;
    let (scale_group, policy, scale_port, app_args) = demo_group(&api, ebb_bin, 0, startup_ms).await?;
    let members_path = format!("/groups/{group_id}/members");
    let deadline = Instant::now() + Duration::from_secs(30);
    let member_port = loop {
        let listed = list_members(&api, &members_path).await?;
        if let Some(member) = listed.iter().find(|m| m["status"] == "active") {
            break member["port"].as_u64().context("member port")?;
        }
        if Instant::now() > deadline {
            bail!("the first member did not become active");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };

    eprintln!("load-balancer overhead");
    let through = |port: u64| {
        let client = http.clone();
        load(requests, concurrency, move |_| client.get(format!("http://127.0.0.1:{port}/")))
    };
    through(member_port).await?;
    let (wall, latencies) = through(member_port).await?;
    let direct = measured(requests, wall, latencies);
    let (wall, latencies) = through(u64::from(lb_port)).await?;
    let balanced = measured(requests, wall, latencies);
    let (wall, latencies) = through(member_port).await?;
    let direct_again = measured(requests, wall, latencies);
    // Added latency one request at a time, where no queue hides or inflates it.
    let one_by_one = |port: u64| {
        let client = http.clone();
        let total = requests.min(5000);
        async move {
            let (wall, latencies) = load(total, 1, move |_| client.get(format!("http://127.0.0.1:{port}/"))).await?;
            Ok::<_, anyhow::Error>(measured(total, wall, latencies))
        }
    };
    let direct_single = one_by_one(member_port).await?;
    let balanced_single = one_by_one(u64::from(lb_port)).await?;

    eprintln!("member start-up alone");
    let mut alone = Vec::new();
    for _ in 0..starts {
        let port = free_port()?;
        let started = Instant::now();
        let mut child = tokio::process::Command::new(ebb_bin)
            .args(&app_args)
            .arg("--port")
            .arg(port.to_string())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let health = format!("http://127.0.0.1:{port}/health");
        loop {
            if let Ok(response) = http.get(&health).send().await
                && response.status().is_success()
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("a solo demo-app did not start");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        alone.push(started.elapsed());
        child.kill().await?;
    }

    eprintln!("scale-up decision to serving");
    let lb_url = format!("http://127.0.0.1:{scale_port}/");
    let scale_members = format!("/groups/{scale_group}/members");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !list_members(&api, &scale_members).await?.iter().any(|m| m["status"] == "active") {
        if Instant::now() > deadline {
            bail!("the first member of the scale-up group did not become active");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut scale_up = Vec::new();
    for _ in 0..starts {
        let before: Vec<String> = list_members(&api, &scale_members)
            .await?
            .iter()
            .filter_map(|m| m["name"].as_str().map(str::to_string))
            .collect();
        let started = Instant::now();
        api.call(Method::POST, &format!("/groups/{scale_group}/policies/{policy}/execute"), None).await?;
        loop {
            // One request per member at once: least-outstanding routing then reaches every
            // routable member, the new one included as soon as it is routable.
            let burst = futures_join(&http, &lb_url, before.len() + 1).await;
            if burst.iter().flatten().any(|name| !before.contains(name)) {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("a new member did not serve");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        scale_up.push(started.elapsed());
    }
    api.call(Method::DELETE, &format!("/groups/{group_id}?force=true"), None).await?;
    api.call(Method::DELETE, &format!("/groups/{scale_group}?force=true"), None).await?;

    let alone_median = median(alone);
    let scale_median = median(scale_up);
    println!(
        "Load balancer, {requests} requests, {concurrency} in flight, `ebb demo-app --work-ms {work_ms} --capacity 64`:"
    );
    println!();
    println!("| path | requests/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    for (name, m) in [
        ("direct to the member", &direct),
        ("through the built-in load balancer", &balanced),
        ("direct again", &direct_again),
    ] {
        println!("| {name} | {:.0} | {:.3} | {:.3} |", m.rate, m.p50, m.p99);
    }
    let direct_rate = (direct.rate + direct_again.rate) / 2.0;
    let direct_p50 = (direct.p50 + direct_again.p50) / 2.0;
    let direct_p99 = (direct.p99 + direct_again.p99) / 2.0;
    println!();
    println!(
        "Throughput through the balancer: {:.0} % of direct ({concurrency} in flight; latency there includes queueing: added p50 {:+.3} ms, p99 {:+.3} ms).",
        100.0 * balanced.rate / direct_rate,
        balanced.p50 - direct_p50,
        balanced.p99 - direct_p99
    );
    println!();
    println!("One request at a time:");
    println!();
    println!("| path | p50 ms | p99 ms |");
    println!("|---|---:|---:|");
    println!("| direct to the member | {:.3} | {:.3} |", direct_single.p50, direct_single.p99);
    println!("| through the built-in load balancer | {:.3} | {:.3} |", balanced_single.p50, balanced_single.p99);
    println!(
        "| added by the balancer | {:+.3} | {:+.3} |",
        balanced_single.p50 - direct_single.p50,
        balanced_single.p99 - direct_single.p99
    );
    println!();
    println!(
        "Start-up (`ebb demo-app --work-ms 0 --startup-ms {startup_ms}`), median of {starts}: the member alone {:.1} ms (spawn to first 200 on /health); \
         scale-up decision (execute call) to the new member serving through the balancer {:.1} ms; ratio {:.2}.",
        alone_median.as_secs_f64() * 1000.0,
        scale_median.as_secs_f64() * 1000.0,
        scale_median.as_secs_f64() / alone_median.as_secs_f64()
    );
    Ok(())
}
