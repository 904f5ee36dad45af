//! `ebb demo-app`: a small HTTP service to scale. `GET /` does `--work-ms` of real CPU work
//! with at most `--capacity` requests served in parallel; the rest wait in a queue, so the
//! response time grows once the offered load exceeds what the member can serve, as with a
//! real service. `GET /health` answers at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use clap::Args;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Flags of `ebb demo-app`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port to listen on; defaults to the PORT environment variable, else 8080.
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Milliseconds of CPU work per request on `GET /`.
    #[arg(long, default_value_t = 5)]
    work_ms: u64,
    /// Requests served in parallel; the rest are queued.
    #[arg(long, default_value_t = 4)]
    capacity: usize,
    /// Milliseconds of CPU work before listening, as a service that loads data or warms a
    /// cache at start-up.
    #[arg(long, default_value_t = 0)]
    startup_ms: u64,
}

struct Demo {
    name: String,
    work: Duration,
    slots: Semaphore,
}

/// Burns CPU for `work`: real computation, not a sleep, so parallel requests compete for cores.
fn burn(work: Duration) -> u64 {
    let started = Instant::now();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    while started.elapsed() < work {
        for _ in 0..1000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
        }
        state = std::hint::black_box(state);
    }
    state
}

async fn work(State(demo): State<Arc<Demo>>) -> Json<Value> {
    let arrived = Instant::now();
    // The semaphore is never closed, so acquiring only waits.
    let _slot = demo.slots.acquire().await.ok();
    let queued = arrived.elapsed();
    let duration = demo.work;
    let checksum = tokio::task::spawn_blocking(move || burn(duration)).await.unwrap_or(0);
    Json(json!({
        "member": demo.name,
        "work_ms": duration.as_millis() as u64,
        "queued_ms": queued.as_secs_f64() * 1000.0,
        "served_ms": arrived.elapsed().as_secs_f64() * 1000.0,
        "checksum": checksum,
    }))
}

async fn health(State(demo): State<Arc<Demo>>) -> Json<Value> {
    Json(json!({"healthy": true, "member": demo.name}))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Runs the demo service until SIGTERM or SIGINT; requests in flight are finished first.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let port = match args.port {
        Some(port) => port,
        None => match std::env::var("PORT") {
            Ok(text) => text.parse().with_context(|| format!("PORT={text:?} is not a port number"))?,
            Err(_) => 8080,
        },
    };
    anyhow::ensure!(args.capacity > 0, "--capacity must be at least 1");
    if args.startup_ms > 0 {
        let startup = Duration::from_millis(args.startup_ms);
        tokio::task::spawn_blocking(move || burn(startup)).await.context("start-up work failed")?;
    }
    let demo = Arc::new(Demo {
        name: std::env::var("EBB_MEMBER_NAME").unwrap_or_else(|_| "demo".to_string()),
        work: Duration::from_millis(args.work_ms),
        slots: Semaphore::new(args.capacity),
    });
    let app = Router::new().route("/", get(work)).route("/health", get(health)).with_state(demo);
    let address = format!("{}:{port}", args.host);
    let listener =
        tokio::net::TcpListener::bind(&address).await.with_context(|| format!("cannot listen on {address}"))?;
    println!("demo-app listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.context("demo-app failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_takes_about_the_time_asked() {
        let started = Instant::now();
        burn(Duration::from_millis(20));
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(20) && elapsed < Duration::from_millis(500), "{elapsed:?}");
    }
}
