//! `ebb-bench`: measures Ebb's API against a bare axum handler in the same run.
//!
//! - `ebb-bench bare --listen ADDR` serves a handler that answers 202 to every request: the
//!   ceiling any HTTP service on this machine and client can reach.
//! - `ebb-bench run ...` sets up a tenant and groups on a running `ebb serve`, then measures
//!   completed capability-URL executions per second (counted by the server once they are
//!   committed), and the latency of `GET .../state` and `POST .../execute`, each beside the
//!   bare handler under the same load. It prints a Markdown table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use reqwest::{Client, Method};
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a bare handler answering 202.
    Bare {
        #[arg(long, default_value = "127.0.0.1:9101")]
        listen: String,
    },
    /// Measure the store alone: concurrent policy executions on distinct groups.
    Store {
        #[arg(long, default_value_t = 500)]
        groups: usize,
        #[arg(long, default_value_t = 20_000)]
        executions: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Run the benchmark.
    Run {
        /// The Ebb server.
        #[arg(long)]
        url: String,
        /// Its operator token.
        #[arg(long)]
        operator_token: String,
        /// The bare server.
        #[arg(long)]
        bare_url: String,
        /// Groups (each with one zero-cooldown policy and one webhook).
        #[arg(long, default_value_t = 500)]
        groups: usize,
        /// Requests per measurement.
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Requests in flight for the throughput measurements.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Requests in flight for the latency measurements.
        #[arg(long, default_value_t = 8)]
        latency_concurrency: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Bare { listen } => bare(&listen).await,
        Command::Store { groups, executions, concurrency } => store(groups, executions, concurrency).await,
        Command::Run { url, operator_token, bare_url, groups, requests, concurrency, latency_concurrency } => {
            run(&url, &operator_token, &bare_url, groups, requests, concurrency, latency_concurrency).await
        }
    }
}

async fn store(groups: usize, executions: usize, concurrency: usize) -> anyhow::Result<()> {
    use ebb_store::{NewGroup, Store};
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store: Arc<dyn Store> = ebb_store::open(&url, ebb_store::StoreMetrics::unregistered()).await?;
    let now = jiff::Timestamp::now();
    store.create_tenant("bench", now).await?;
    let mut targets = Vec::new();
    for _ in 0..groups {
        let config = ebb_core::group::GroupConfig::parse(
            &json!({"name": "g", "cooldown": 0, "minEntities": 0, "maxEntities": 1000}),
            "",
            ebb_core::group::Mode::Create,
        )?;
        let group = NewGroup {
            tenant_id: "bench".into(),
            config,
            launch: json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}}),
            policies: vec![json!({"name": "up", "type": "webhook", "cooldown": 0, "change": 1})],
        };
        let (group, policies) = store.create_group(group, ebb_core::limits::Limits::default(), now).await?;
        targets.push((group.id, policies[0].id.clone()));
    }
    let targets = Arc::new(targets);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (store, targets, next) = (store.clone(), targets.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= executions {
                    return Ok::<_, anyhow::Error>(());
                }
                let (group, policy) = &targets[i % targets.len()];
                store.execute_policy("bench", group, policy, jiff::Timestamp::now()).await?;
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let elapsed = started.elapsed();
    println!(
        "store: {executions} durable policy executions on {groups} groups in {:.2} s: {:.0}/s",
        elapsed.as_secs_f64(),
        executions as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn bare(listen: &str) -> anyhow::Result<()> {
    let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::ACCEPTED });
    let listener = tokio::net::TcpListener::bind(listen).await.context("bind")?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await.context("serve")
}

struct Api {
    http: Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

struct Target {
    group: String,
    policy: String,
    capability: String,
}

async fn setup(operator: &Api, groups: usize) -> anyhow::Result<(Api, Vec<Target>)> {
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

/// Sends `total` requests with `concurrency` in flight; `request(i)` builds the i-th.
/// Returns the wall time and every latency.
async fn load<F>(total: usize, concurrency: usize, request: F) -> anyhow::Result<(Duration, Vec<Duration>)>
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let request = Arc::new(request);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, request) = (next.clone(), request.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let sent = Instant::now();
                let response = request(i).send().await?;
                let status = response.status();
                response.bytes().await?;
                if !status.is_success() {
                    bail!("request {i} answered {status}");
                }
                latencies.push(sent.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::with_capacity(total);
    for worker in workers {
        all.extend(worker.await??);
    }
    Ok((started.elapsed(), all))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

struct Measured {
    rate: f64,
    p50: f64,
    p99: f64,
}

fn measured(total: usize, wall: Duration, mut latencies: Vec<Duration>) -> Measured {
    latencies.sort();
    Measured {
        rate: total as f64 / wall.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    }
}

async fn scaled_count(http: &Client, base: &str) -> anyhow::Result<u64> {
    let text = http.get(format!("{base}/metrics")).send().await?.text().await?;
    Ok(text
        .lines()
        .find(|line| line.starts_with("ebb_policy_executions_total{outcome=\"scaled\",source=\"capability\"}"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

async fn run(
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

    let (client, b) = (http.clone(), bare.clone());
    let (wall, latencies) = load(requests, concurrency, move |_| client.post(format!("{b}/v1.0/execute/1/x/"))).await?;
    let bare_post = measured(requests, wall, latencies);

    eprintln!("state reads and API executions");
    let state_load = |in_flight: usize| {
        let (client, t, base, token) = (http.clone(), targets.clone(), api.base.clone(), api.token.clone());
        load(requests, in_flight, move |i| {
            client.get(format!("{base}/groups/{}/state", t[i % t.len()].group)).bearer_auth(&token)
        })
    };
    let bare_get_load = |in_flight: usize| {
        let (client, b) = (http.clone(), bare.clone());
        load(requests, in_flight, move |_| client.get(format!("{b}/state")))
    };
    let bare_post_load = |in_flight: usize| {
        let (client, b) = (http.clone(), bare.clone());
        load(requests, in_flight, move |_| client.post(format!("{b}/execute")))
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
    let (wall, latencies) = state_load(concurrency).await?;
    let state = measured(requests, wall, latencies);
    let (wall, latencies) = bare_get_load(concurrency).await?;
    let bare_get = measured(requests, wall, latencies);
    let (wall, latencies) = execute_load(concurrency).await?;
    let execute = measured(execute_requests, wall, latencies);

    eprintln!("latency at {latency_concurrency} in flight");
    let (wall, latencies) = state_load(latency_concurrency).await?;
    let state_light = measured(requests, wall, latencies);
    let (wall, latencies) = bare_get_load(latency_concurrency).await?;
    let bare_get_light = measured(requests, wall, latencies);
    let (wall, latencies) = execute_load(latency_concurrency).await?;
    let execute_light = measured(execute_requests, wall, latencies);
    let (wall, latencies) = bare_post_load(latency_concurrency).await?;
    let bare_post_light = measured(requests, wall, latencies);

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
        "{requests} requests per measurement ({execute_requests} for executions), {groups} groups; capability executions are counted complete by the server once committed."
    );
    Ok(())
}
