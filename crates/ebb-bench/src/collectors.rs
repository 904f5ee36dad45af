//! `ebb-bench collectors`: the cost of many collectors to `ebb serve` — CPU and memory while
//! they read a local HTTP endpoint every second, beside the same server idle with none, and
//! while they wait out long intervals — and the spread of their actual intervals.

use std::time::Duration;

use anyhow::Context;
use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::load::Api;
use crate::schedules::process_usage;

/// CPU time a second (as a share of one core) and resident memory (MiB) over `seconds`.
async fn usage_over(pid: u32, seconds: u64) -> anyhow::Result<(f64, f64)> {
    let (cpu_before, _) = process_usage(pid)?;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (cpu_after, rss) = process_usage(pid)?;
    Ok(((cpu_after - cpu_before) / seconds as f64, rss as f64 / 1024.0))
}

/// Creates `count` collectors probing `target` every `interval` seconds, 100 a group.
async fn create(api: &Api, count: usize, target: &str, interval: f64) -> anyhow::Result<Vec<String>> {
    let mut groups = Vec::new();
    for g in 0..count.div_ceil(100) {
        let body = json!({
            "groupConfiguration": {"name": format!("g{g}"), "cooldown": 0, "minEntities": 0, "maxEntities": 1},
            "launchConfiguration": {"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}},
        });
        let group = api.call(Method::POST, "/groups", Some(body)).await?;
        let id = group["group"]["id"].as_str().context("group id")?.to_string();
        let collectors: Vec<Value> = (g * 100..((g + 1) * 100).min(count))
            .map(|c| {
                json!({"name": format!("c{c}"), "type": "http_probe", "metric": "probe_ms", "interval": interval,
                       "timeout": interval.min(5.0), "args": {"url": format!("{target}/health?c={c}")}})
            })
            .collect();
        api.call(Method::POST, &format!("/groups/{id}/collectors"), Some(Value::Array(collectors))).await?;
        groups.push(id);
    }
    Ok(groups)
}

/// Every collector's status in `groups`.
async fn statuses(api: &Api, groups: &[String]) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    for group in groups {
        let list = api.call(Method::GET, &format!("/groups/{group}/collectors?limit=100"), None).await?;
        all.extend(list["collectors"].as_array().cloned().unwrap_or_default().into_iter().map(|c| c["status"].clone()));
    }
    Ok(all)
}

async fn delete_groups(api: &Api, groups: &[String]) -> anyhow::Result<()> {
    for group in groups {
        api.call(Method::DELETE, &format!("/groups/{group}?force=true"), None).await?;
    }
    Ok(())
}

pub async fn collectors(
    url: &str,
    operator_token: &str,
    pid: u32,
    target: &str,
    count: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let http = Client::builder().pool_max_idle_per_host(16).build()?;
    let operator =
        Api { http: http.clone(), base: url.trim_end_matches('/').to_string(), token: operator_token.into() };
    let tenant = format!("collectors-{}", std::process::id());
    operator.call(Method::POST, "/admin/v1/tenants", Some(json!({"id": tenant}))).await?;
    let api = Api { http, base: format!("{}/v1.0/{tenant}", operator.base), token: operator_token.into() };

    let (idle_cpu, idle_rss) = usage_over(pid, seconds).await?;
    eprintln!("creating {count} collectors reading every second");
    let busy = create(&api, count, target, 1.0).await?;
    // One interval for every first read, then a few more to settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (busy_cpu, busy_rss) = usage_over(pid, seconds).await?;
    let all = statuses(&api, &busy).await?;
    let spreads: Vec<&Value> = all.iter().filter_map(|s| s.get("actual_interval").filter(|v| !v.is_null())).collect();
    let failures: u64 = all.iter().filter_map(|s| s["failures"].as_u64()).sum();
    let reads: u64 = all.iter().filter_map(|s| s["reads"].as_u64()).sum();
    let count_of = |v: &Value| v["count"].as_f64().unwrap_or(0.0);
    let total: f64 = spreads.iter().map(|v| count_of(v)).sum();
    let mean = spreads.iter().map(|v| v["mean"].as_f64().unwrap_or(0.0) * count_of(v)).sum::<f64>() / total;
    // The pooled standard deviation of every interval of every collector.
    let pooled = (spreads
        .iter()
        .map(|v| {
            let (n, m, s) = (count_of(v), v["mean"].as_f64().unwrap_or(0.0), v["stddev"].as_f64().unwrap_or(0.0));
            (n - 1.0).max(0.0) * s * s + n * (m - mean).powi(2)
        })
        .sum::<f64>()
        / (total - 1.0))
        .sqrt();
    let min = spreads.iter().filter_map(|v| v["min"].as_f64()).fold(f64::INFINITY, f64::min);
    let max = spreads.iter().filter_map(|v| v["max"].as_f64()).fold(0.0, f64::max);
    delete_groups(&api, &busy).await?;

    eprintln!("creating {count} collectors reading every hour");
    let waiting = create(&api, count, target, 3600.0).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (waiting_cpu, waiting_rss) = usage_over(pid, seconds).await?;
    delete_groups(&api, &waiting).await?;

    println!("| `ebb serve` | CPU (share of one core) | resident memory |");
    println!("|---|---:|---:|");
    println!("| no collectors | {:.2} % | {idle_rss:.0} MiB |", idle_cpu * 100.0);
    println!("| {count} collectors reading every second | {:.1} % | {busy_rss:.0} MiB |", busy_cpu * 100.0);
    println!("| {count} collectors reading every hour | {:.2} % | {waiting_rss:.0} MiB |", waiting_cpu * 100.0);
    println!();
    println!(
        "Actual intervals of the 1 s collectors: {total:.0} intervals of {} collectors, mean {mean:.4} s, \
         standard deviation {pooled:.4} s, shortest {min:.3} s, longest {max:.3} s; {reads} reads, {failures} failed.",
        spreads.len()
    );
    Ok(())
}
