//! Request budgets: per tenant (requests a minute) and per capability URL (a second).
//! Exceeding one answers 429 with `Retry-After`.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// The keyed limiters.
pub struct RateLimits {
    tenants: DefaultKeyedRateLimiter<String>,
    capabilities: DefaultKeyedRateLimiter<String>,
    apps: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl RateLimits {
    /// Budgets of `tenant_per_minute` and `capability_per_second` (0 is taken as 1).
    pub fn new(tenant_per_minute: u32, capability_per_second: u32) -> Self {
        let per_minute = NonZeroU32::new(tenant_per_minute).unwrap_or(NonZeroU32::MIN);
        let per_second = NonZeroU32::new(capability_per_second).unwrap_or(NonZeroU32::MIN);
        RateLimits {
            tenants: RateLimiter::keyed(Quota::per_minute(per_minute)),
            capabilities: RateLimiter::keyed(Quota::per_second(per_second)),
            apps: RateLimiter::keyed(Quota::per_second(NonZeroU32::MIN)),
            clock: DefaultClock::default(),
        }
    }

    /// The same budgets, and `per_second` requests a second (bursts of twice as many) for each
    /// Cloud Foundry app (a group), as Cloud Foundry's token bucket (10 a second, bursts of 20).
    pub fn with_app_budget(mut self, per_second: u32) -> Self {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = rate.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
        self.apps = RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst));
        self
    }

    /// Takes one request from a Cloud Foundry app's budget.
    pub fn app(&self, group: &str) -> Result<(), ApiError> {
        self.check(&self.apps, group).map_err(|err| match err {
            ApiError::RateLimited { retry_after } => ApiError::CfRateLimited { retry_after },
            other => other,
        })
    }

    /// Takes one request from a tenant's budget.
    pub fn tenant(&self, tenant: &str) -> Result<(), ApiError> {
        self.check(&self.tenants, tenant)
    }

    /// Takes one request from a capability URL's budget (keyed by the hash of its secret).
    pub fn capability(&self, capability_hash: &str) -> Result<(), ApiError> {
        self.check(&self.capabilities, capability_hash)
    }

    fn check(&self, limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), ApiError> {
        // Keys are bounded by what exists (tenants) or by what was asked for; shrink the map
        // now and then so unknown capability hashes do not accumulate.
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError::RateLimited { retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0) }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_per_key() {
        let limits = RateLimits::new(2, 1);
        assert!(limits.tenant("a").is_ok());
        assert!(limits.tenant("a").is_ok());
        let Err(ApiError::RateLimited { retry_after }) = limits.tenant("a") else {
            panic!("third request in a minute should be limited");
        };
        assert!((1..=60).contains(&retry_after));
        assert!(limits.tenant("b").is_ok());
        assert!(limits.capability("h").is_ok());
        assert!(limits.capability("h").is_err());
    }
}
