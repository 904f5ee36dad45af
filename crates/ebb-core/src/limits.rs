//! Absolute limits: how many groups a tenant may have, policies and collectors a group,
//! webhooks a policy.

use serde::{Deserialize, Serialize};

/// The largest `minEntities`/`maxEntities`, and the `maxEntities` of a group that omits it.
pub const MAX_ENTITIES: i64 = 1000;
/// The largest cooldown, in seconds, of a group or a policy.
pub const MAX_COOLDOWN: i64 = 86_400;
/// The most items one page of a list holds, and the most items one batch create takes.
pub const PAGE_LIMIT: usize = 100;

/// Absolute limits, configurable per server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    /// Groups per tenant.
    pub max_groups: usize,
    /// Policies per group.
    pub max_policies_per_group: usize,
    /// Webhooks per policy.
    pub max_webhooks_per_policy: usize,
    /// Collectors per group.
    #[serde(default = "default_collectors")]
    pub max_collectors_per_group: usize,
}

fn default_collectors() -> usize {
    Limits::default().max_collectors_per_group
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_groups: 1000,
            max_policies_per_group: 100,
            max_webhooks_per_policy: 25,
            max_collectors_per_group: 100,
        }
    }
}
