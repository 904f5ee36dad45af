//! Every response gets an `X-Response-Id` and a content type (JSON unless the handler set
//! another); every request is counted by route pattern and status, and logged by route
//! pattern, never by raw path, so capability secrets never reach logs or metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// Request counters and latency histograms; cheap to clone.
#[derive(Clone)]
pub struct RequestMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 3.0, 10))
}

impl RequestMetrics {
    /// Creates and registers `ebb_http_requests_total` and `ebb_http_request_duration_seconds`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics =
            RequestMetrics { requests: Family::default(), latency: Family::new_with_constructor(latency_histogram) };
        registry.register(
            "ebb_http_requests",
            "HTTP requests by method, route pattern and status",
            metrics.requests.clone(),
        );
        registry.register(
            "ebb_http_request_duration_seconds",
            "HTTP request latency by method and route pattern",
            metrics.latency.clone(),
        );
        metrics
    }
}

/// The observing middleware.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let mut response = next.run(request).await;
    // From a random generator seeded once per thread (uuid's `fast-rng`): no system call per request.
    let response_id = uuid::Uuid::new_v4().to_string();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&response_id) {
        headers.insert("x-response-id", value);
    }
    headers.entry(header::CONTENT_TYPE).or_insert(HeaderValue::from_static("application/json"));
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state
        .request_metrics
        .requests
        .get_or_create(&RequestLabels { method: method.clone(), route: route.clone(), status })
        .inc();
    state
        .request_metrics
        .latency
        .get_or_create(&RouteLabels { method: method.clone(), route: route.clone() })
        .observe(elapsed.as_secs_f64());
    tracing::debug!(%method, %route, status, micros = elapsed.as_micros() as u64, %response_id, "request");
    response
}
