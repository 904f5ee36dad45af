//! What the measurements share: an API client, a load generator and the figures taken.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use reqwest::{Client, Method};
use serde_json::Value;

pub struct Api {
    pub http: Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        // X-Auth-Token, which Ebb takes as well as a bearer token, and Rackspace's services do.
        let mut request = self.http.request(method, format!("{}{path}", self.base)).header("X-Auth-Token", &self.token);
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

/// Sends `total` requests with `concurrency` in flight; `request(i)` builds the i-th.
/// Returns the wall time and every latency.
pub async fn load<F>(total: usize, concurrency: usize, request: F) -> anyhow::Result<(Duration, Vec<Duration>)>
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

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

pub struct Measured {
    pub rate: f64,
    pub p50: f64,
    pub p99: f64,
}

/// Two runs of `requests` each, taken together.
pub fn both(requests: usize, first: (Duration, Vec<Duration>), second: (Duration, Vec<Duration>)) -> Measured {
    let (first_wall, mut latencies) = first;
    let (second_wall, more) = second;
    latencies.extend(more);
    measured(2 * requests, first_wall + second_wall, latencies)
}

pub fn measured(total: usize, wall: Duration, mut latencies: Vec<Duration>) -> Measured {
    latencies.sort();
    Measured {
        rate: total as f64 / wall.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    }
}
