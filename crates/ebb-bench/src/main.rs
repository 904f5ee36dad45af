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
    /// Measure members: load-balancer overhead against calling a member directly, and the
    /// time from a scale-up decision to the new member serving, against the member's own
    /// start-up time measured alone.
    Members {
        /// The Ebb server (started with `--balancer-host 127.0.0.1`).
        #[arg(long)]
        url: String,
        /// Its operator token.
        #[arg(long)]
        operator_token: String,
        /// The `ebb` binary, run as `ebb demo-app`.
        #[arg(long)]
        ebb_bin: String,
        /// Requests per throughput measurement.
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Requests in flight.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Scale-ups (and solo starts) measured.
        #[arg(long, default_value_t = 9)]
        starts: usize,
        /// Start-up work of the demo member, in milliseconds.
        #[arg(long, default_value_t = 0)]
        startup_ms: u64,
        /// CPU work of the demo member per request, in milliseconds.
        #[arg(long, default_value_t = 0)]
        work_ms: u64,
    },
    /// Measure the scheduler: 100 schedule policies in each of 1,000 groups, 1,000 of them
    /// due in the same second; firing lateness, then the server's CPU and memory while idle.
    Schedules {
        /// The Ebb server.
        #[arg(long)]
        url: String,
        /// Its operator token.
        #[arg(long)]
        operator_token: String,
        /// Its process id, to read its CPU time and memory.
        #[arg(long)]
        pid: u32,
        /// Groups.
        #[arg(long, default_value_t = 1000)]
        groups: usize,
        /// Schedule policies per group.
        #[arg(long, default_value_t = 100)]
        per_group: usize,
        /// Seconds of idle measured.
        #[arg(long, default_value_t = 10)]
        idle_seconds: u64,
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
        Command::Schedules { url, operator_token, pid, groups, per_group, idle_seconds } => {
            schedules(&url, &operator_token, pid, groups, per_group, idle_seconds).await
        }
        Command::Members { url, operator_token, ebb_bin, requests, concurrency, starts, startup_ms, work_ms } => {
            let shape = MemberShape { startup_ms, work_ms };
            members(&url, &operator_token, &ebb_bin, requests, concurrency, starts, shape).await
        }
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
        let launch = ebb_core::launch::LaunchConfig::parse(
            &json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}}),
            "",
        )?;
        let body = json!({"name": "up", "type": "webhook", "cooldown": 0, "change": 1});
        let policy = ebb_core::policy::Policy::parse(&body, "", ebb_core::policy::Origin::Submitted(now))?;
        let (state, history) = ebb_core::decide::create_group(&config, now);
        let group = NewGroup {
            tenant_id: "bench".into(),
            config,
            launch,
            state,
            history,
            policies: vec![ebb_store::NewPolicy { body, policy, next_fire: None }],
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
                let subject = ebb_store::Subject::Group {
                    tenant: "bench".into(),
                    group: group.clone(),
                    policy: Some(policy.clone()),
                    member: None,
                };
                let now = jiff::Timestamp::now();
                let decide: ebb_store::Decide = Box::new(move |snapshot| {
                    ebb_core::decide::execute_policy(snapshot, ebb_core::records::Source::Api, now)
                });
                store.decide(subject, decide).await?;
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

/// Two runs of `requests` each, taken together.
fn both(requests: usize, first: (Duration, Vec<Duration>), second: (Duration, Vec<Duration>)) -> Measured {
    let (first_wall, mut latencies) = first;
    let (second_wall, more) = second;
    latencies.extend(more);
    measured(2 * requests, first_wall + second_wall, latencies)
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

/// The demo member measured.
struct MemberShape {
    startup_ms: u64,
    work_ms: u64,
}

/// Creates a `local_process` group of demo members behind a balancer on a free port, with a
/// `change: 1` policy; returns the group, the policy, the port and the members' arguments.
async fn demo_group(
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

async fn list_members(api: &Api, path: &str) -> anyhow::Result<Vec<Value>> {
    Ok(api.call(Method::GET, path, None).await?["members"].as_array().cloned().unwrap_or_default())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Sends `count` requests at once; returns who served each.
async fn futures_join(http: &Client, url: &str, count: usize) -> Vec<Option<String>> {
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
async fn served_by(http: &Client, url: &str) -> Option<String> {
    let response = http.get(url).send().await.ok()?;
    let body: Value = response.json().await.ok()?;
    body["member"].as_str().map(str::to_string)
}

async fn members(
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

/// CPU time (user + system, in seconds) and resident memory (KiB) of a process.
fn process_usage(pid: u32) -> anyhow::Result<(f64, u64)> {
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

async fn schedules(
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
