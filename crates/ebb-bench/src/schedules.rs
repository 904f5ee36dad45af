//! `ebb-bench schedules`: lateness of due schedules and the idle cost of many.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::load::*;

/// CPU time (user + system, in seconds) and resident memory (KiB) of a process.
pub fn process_usage(pid: u32) -> anyhow::Result<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // Clock ticks are 100 a second on Linux.
    Ok((ticks / 100.0, rss))
}

pub async fn schedules(
    url: &str,
    operator_token: &str,
    pid: u32,
    groups: usize,
    per_group: usize,
    idle_seconds: u64,
) -> anyhow::Result<()> {
    let http = Client::builder().pool_max_idle_per_host(64).build()?;
    let operator =
        Api { http: http.clone(), base: url.trim_end_matches('/').to_string(), token: operator_token.to_string() };
    let tenant = format!("schedules-{}", std::process::id());
    operator.call(Method::POST, "/admin/v1/tenants", Some(json!({"id": tenant}))).await?;
    let api = Arc::new(Api {
        http: http.clone(),
        base: format!("{}/v1.0/{tenant}", operator.base),
        token: operator_token.to_string(),
    });
    eprintln!("creating {groups} groups with {} schedule policies each", per_group - 1);
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (api, next) = (api.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= groups {
                    return Ok::<_, anyhow::Error>(ids);
                }
                let body = json!({
                    "groupConfiguration": {"name": format!("g{i}"), "cooldown": 0, "minEntities": 0, "maxEntities": 1000},
                    "launchConfiguration": {"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}},
                });
                let group = api.call(Method::POST, "/groups", Some(body)).await?;
                let id = group["group"]["id"].as_str().context("group id")?.to_string();
                // Schedules that are not due during the run: yearly, on days spread over the year.
                let policies: Vec<Value> = (0..per_group - 1)
                    .map(|k| json!({"name": format!("p{k}"), "type": "schedule", "cooldown": 0, "change": 1,
                        "args": {"cron": format!("{} {} {} {} *", k % 60, k % 24, 1 + k % 28, 1 + (i + k) % 12), "timezone": "Europe/Berlin"}}))
                    .collect();
                api.call(Method::POST, &format!("/groups/{id}/policies"), Some(Value::Array(policies))).await?;
                ids.push(id);
            }
        }));
    }
    let mut ids = Vec::new();
    for worker in workers {
        ids.extend(worker.await??);
    }
    eprintln!("setup took {:.1} s", started.elapsed().as_secs_f64());
    // The last policy of every group: `at` the same second, a few seconds ahead.
    let due = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 8)?;
    let at = due.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut tasks = Vec::new();
    for id in &ids {
        let (api, id, at) = (api.clone(), id.clone(), at.clone());
        tasks.push(tokio::spawn(async move {
            let policy = json!([{"name": "due", "type": "schedule", "cooldown": 0, "change": 1, "args": {"at": at}}]);
            api.call(Method::POST, &format!("/groups/{id}/policies"), Some(policy)).await
        }));
    }
    for task in tasks {
        task.await??;
    }
    let total = ids.len() * per_group;
    eprintln!("{total} schedule policies in the store; {} due at {due}", ids.len());
    // Watch the server's own counter of committed schedule executions: the time each firing
    // took effect, as seen from outside, is when the counter passed it.
    let scaled = |text: &str| -> u64 {
        text.lines()
            .find(|line| line.starts_with("ebb_policy_executions_total{outcome=\"scaled\",source=\"schedule\"}"))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let expected = ids.len() as u64;
    let mut reached: Vec<Option<jiff::Timestamp>> = vec![None; ids.len()];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = http.get(format!("{}/metrics", operator.base)).send().await?.text().await?;
        let seen = jiff::Timestamp::now();
        let count = scaled(&text).min(expected) as usize;
        for slot in reached.iter_mut().take(count) {
            slot.get_or_insert(seen);
        }
        if count as u64 >= expected {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {count} of {expected} due schedules fired within a minute");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let lateness: Vec<Duration> = reached
        .iter()
        .map(|seen| Duration::try_from(seen.unwrap_or(due).duration_since(due)).unwrap_or(Duration::ZERO))
        .collect();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p50 = ms(lateness[lateness.len() / 2]);
    let p99 = ms(lateness[(lateness.len() * 99 / 100).min(lateness.len() - 1)]);
    let max = ms(lateness[lateness.len() - 1]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu_before, _) = process_usage(pid)?;
    tokio::time::sleep(Duration::from_secs(idle_seconds)).await;
    let (cpu_after, rss) = process_usage(pid)?;
    println!("| measurement | value |");
    println!("|---|---:|");
    println!("| schedule policies in the store | {total} |");
    println!("| groups | {} |", ids.len());
    println!("| due in the same second | {} |", lateness.len());
    println!("| lateness of the 500th execution committed (p50) | {p50:.1} ms |");
    println!("| lateness of the 990th execution committed (p99) | {p99:.1} ms |");
    println!("| lateness of the last | {max:.1} ms |");
    println!(
        "| CPU while idle ({idle_seconds} s) | {:.2} % of one core |",
        100.0 * (cpu_after - cpu_before) / idle_seconds as f64
    );
    println!("| resident memory while idle | {:.1} MiB |", rss as f64 / 1024.0);
    Ok(())
}
