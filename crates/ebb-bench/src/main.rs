//! `ebb-bench`: measures Ebb's API against a bare axum handler in the same run.
//!
//! - `ebb-bench bare --listen ADDR` serves a handler that answers 202 to every request: the
//!   ceiling any HTTP service on this machine and client can reach.
//! - `ebb-bench run ...` sets up a tenant and groups on a running `ebb serve`, then measures
//!   completed capability-URL executions per second (counted by the server once they are
//!   committed), and the latency of `GET .../state` and `POST .../execute`, each beside the
//!   bare handler under the same load. It prints a Markdown table.
//! - `ebb-bench store`, `members`, `schedules`, `metrics` and `collectors` measure the store
//!   alone, members behind the load balancer, the scheduler, the metric path, and the cost of
//!   many collectors (docs/benchmarks.md).
//!
//! One module each (`api`, `store`, `members`, `schedules`); `load` holds what they share:
//! the API client, the load generator and the figures taken.

use anyhow::Context;
use clap::{Parser, Subcommand};

/// The same allocator as `ebb`, so the bare handler it is compared with is served alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod api;
mod cloud;
mod collectors;
mod load;
mod members;
mod metrics;
mod schedules;
mod store;

use api::run;
use members::{MemberShape, members};
use schedules::schedules;
use store::store;

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
    /// Measure how fast a `launch_server` group converges against mimic: 0 to N servers
    /// ACTIVE and in the load balancer, and the cloud calls made.
    Cloud {
        /// The Ebb server.
        #[arg(long)]
        url: String,
        /// Its operator token.
        #[arg(long)]
        operator_token: String,
        /// mimic's root URL.
        #[arg(long)]
        mimic: String,
        /// Servers to scale to.
        #[arg(long, default_value_t = 50)]
        servers: usize,
        /// mimic's build delay, in seconds.
        #[arg(long, default_value_t = 0.0)]
        build_seconds: f64,
        /// `pool` (RackConnect v3) or `clb` (a Cloud Load Balancer; mimic allows 25 nodes).
        #[arg(long, default_value = "pool")]
        balancer: String,
        /// The server's `--cloud-create-interval`, for the lower bound.
        #[arg(long, default_value_t = 1.0)]
        create_interval: f64,
    },
    /// Measure the cost of many collectors: CPU and memory of the server, and the spread of
    /// their actual intervals.
    Collectors {
        /// The Ebb server.
        #[arg(long)]
        url: String,
        /// Its operator token.
        #[arg(long)]
        operator_token: String,
        /// Its process id, to read its CPU time and memory.
        #[arg(long)]
        pid: u32,
        /// The HTTP endpoint the collectors probe (`/health` is requested).
        #[arg(long)]
        target: String,
        /// Collectors.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Seconds of each measurement.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Measure the metric path: the batch and Cloud Foundry endpoints beside the bare
    /// handler with many groups in the metric store, decision latency, memory.
    Metrics {
        /// The Ebb server (started with `--rules-time-scale 0.001`, so that the 60 s breaches
        /// and cooldowns of the latency trials last 60 ms).
        #[arg(long)]
        url: String,
        /// Its operator token.
        #[arg(long)]
        operator_token: String,
        /// The bare server.
        #[arg(long)]
        bare_url: String,
        /// The Ebb server's process id, to read its memory.
        #[arg(long)]
        pid: u32,
        /// Groups, each with a Cloud Foundry policy.
        #[arg(long, default_value_t = 10_000)]
        groups: usize,
        /// Requests on Cloud Foundry's endpoint (and a hundredth as many batches).
        #[arg(long, default_value_t = 100_000)]
        requests: usize,
        /// Requests in flight on Cloud Foundry's endpoint.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Breaches whose decision latency is measured.
        #[arg(long, default_value_t = 1000)]
        trials: usize,
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
        Command::Cloud { url, operator_token, mimic, servers, build_seconds, balancer, create_interval } => {
            let scenario = cloud::Scenario { servers, build_seconds, balancer, create_interval };
            cloud::cloud(&url, &operator_token, &mimic, scenario).await
        }
        Command::Collectors { url, operator_token, pid, target, count, seconds } => {
            collectors::collectors(&url, &operator_token, pid, &target, count, seconds).await
        }
        Command::Metrics { url, operator_token, bare_url, pid, groups, requests, concurrency, trials } => {
            metrics::metrics(&url, &operator_token, &bare_url, pid, groups, requests, concurrency, trials).await
        }
        Command::Run { url, operator_token, bare_url, groups, requests, concurrency, latency_concurrency } => {
            run(&url, &operator_token, &bare_url, groups, requests, concurrency, latency_concurrency).await
        }
    }
}
async fn bare(listen: &str) -> anyhow::Result<()> {
    // It reads the request body, as any handler given one must.
    let app = axum::Router::new().fallback(|_body: axum::body::Bytes| async { axum::http::StatusCode::ACCEPTED });
    let listener = tokio::net::TcpListener::bind(listen).await.context("bind")?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await.context("serve")
}
