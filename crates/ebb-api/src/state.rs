//! What every handler shares.

use std::sync::{Arc, Mutex};

use ebb_core::limits::Limits;
use ebb_engine::Engine;
use ebb_store::Store;
use prometheus_client::registry::Registry;

use crate::auth::TokenCache;
use crate::links::Links;
use crate::observe::RequestMetrics;
use crate::rate_limit::RateLimits;

/// Settings of the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The base of generated links, such as `http://127.0.0.1:9000`.
    pub public_url: String,
    /// Absolute limits.
    pub limits: Limits,
    /// SHA-256 (lowercase hex) of the operator token.
    pub operator_token_hash: String,
    /// Requests a tenant may make per minute.
    pub tenant_requests_per_minute: u32,
    /// Requests one capability URL may take per second.
    pub capability_requests_per_second: u32,
    /// Requests a Cloud Foundry app (a group) may make per second on the Cloud Foundry routes,
    /// in bursts of twice as many.
    pub app_requests_per_second: u32,
    /// The ranges of rule thresholds of the built-in metrics whose range is set here.
    pub threshold_ranges: ebb_core::cf_policy::ThresholdRanges,
    /// The service broker's credentials; without them the broker is off.
    pub broker: Option<crate::broker::BrokerAccount>,
}

/// Shared by all handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The engine, for every change to a group.
    pub engine: Arc<Engine>,
    /// Settings.
    pub config: Arc<ApiConfig>,
    /// Link builder.
    pub links: Links,
    /// Request budgets.
    pub rate_limits: Arc<RateLimits>,
    /// Recently verified tokens.
    pub token_cache: Arc<TokenCache>,
    /// Request counters.
    pub request_metrics: RequestMetrics,
    /// Every metric of the process, for `/metrics`.
    pub registry: Arc<Mutex<Registry>>,
}

impl AppState {
    /// State for an engine with these settings; request metrics go into `registry`.
    pub fn new(engine: Arc<Engine>, config: ApiConfig, mut registry: Registry) -> Self {
        let request_metrics = RequestMetrics::new(&mut registry);
        AppState {
            engine,
            links: Links::new(&config.public_url),
            rate_limits: Arc::new(
                RateLimits::new(config.tenant_requests_per_minute, config.capability_requests_per_second)
                    .with_app_budget(config.app_requests_per_second),
            ),
            token_cache: Arc::new(TokenCache::default()),
            config: Arc::new(config),
            request_metrics,
            registry: Arc::new(Mutex::new(registry)),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        self.engine.store()
    }

    /// Now, by the engine's clock.
    pub fn now(&self) -> jiff::Timestamp {
        self.engine.clock().now()
    }
}
