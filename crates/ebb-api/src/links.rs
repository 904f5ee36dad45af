//! Absolute links (every generated link ends with `/`) and pagination of lists.

use std::sync::Arc;

use ebb_core::ids::{GroupId, MemberId, PolicyId, TenantId, WebhookId};
use ebb_store::Page;

use crate::body::QueryArgs;
use crate::error::ApiError;
use crate::wire::Link;

/// Builds the absolute URLs of resources from the public base URL.
#[derive(Debug, Clone)]
pub struct Links {
    // Shared: the state every request gets holds a copy.
    base: Arc<str>,
}

impl Links {
    /// Links under `public_url` (with or without a trailing slash).
    pub fn new(public_url: &str) -> Self {
        Links { base: Arc::from(public_url.trim_end_matches('/')) }
    }

    /// `{base}/v1.0/{tenant}/groups/`.
    pub fn groups(&self, tenant: &TenantId) -> String {
        format!("{}/v1.0/{tenant}/groups/", self.base)
    }

    /// A group's self URL.
    pub fn group(&self, tenant: &TenantId, group: &GroupId) -> String {
        format!("{}{group}/", self.groups(tenant))
    }

    /// A group's policies collection.
    pub fn policies(&self, tenant: &TenantId, group: &GroupId) -> String {
        format!("{}policies/", self.group(tenant, group))
    }

    /// A member's URL (`.../servers/{id}/`, as Otter names members).
    pub fn server(&self, tenant: &TenantId, group: &GroupId, member: &MemberId) -> String {
        format!("{}servers/{member}/", self.group(tenant, group))
    }

    /// A policy's self URL.
    pub fn policy(&self, tenant: &TenantId, group: &GroupId, policy: &PolicyId) -> String {
        format!("{}{policy}/", self.policies(tenant, group))
    }

    /// A group's collectors collection.
    pub fn collectors(&self, tenant: &TenantId, group: &GroupId) -> String {
        format!("{}collectors/", self.group(tenant, group))
    }

    /// A collector's URL.
    pub fn collector(&self, tenant: &TenantId, group: &GroupId, collector: &ebb_core::ids::CollectorId) -> String {
        format!("{}{collector}/", self.collectors(tenant, group))
    }

    /// A policy's webhooks collection.
    pub fn webhooks(&self, tenant: &TenantId, group: &GroupId, policy: &PolicyId) -> String {
        format!("{}webhooks/", self.policy(tenant, group, policy))
    }

    /// A webhook's self URL.
    pub fn webhook(&self, tenant: &TenantId, group: &GroupId, policy: &PolicyId, webhook: &WebhookId) -> String {
        format!("{}{webhook}/", self.webhooks(tenant, group, policy))
    }

    /// A capability URL for a secret.
    pub fn capability(&self, secret: &str) -> String {
        format!("{}/v1.0/execute/1/{secret}/", self.base)
    }
}

/// `[{"href": url, "rel": "self"}]`.
pub fn self_links(url: String) -> Vec<Link> {
    vec![Link::new(url, "self")]
}

/// The page a list request asks for: `limit` must be an integer and is clamped to
/// `1..=max`; `marker` is any id.
pub fn page(args: &QueryArgs, max: usize) -> Result<Page, ApiError> {
    let limit = match args.get("limit") {
        None => max,
        Some(text) => {
            let value: i64 = text
                .trim()
                .parse()
                .map_err(|_| ApiError::InvalidQueryArgument("Invalid query argument for \"limit\"".to_string()))?;
            value.clamp(1, max as i64) as usize
        }
    };
    Ok(Page { marker: args.get("marker").map(str::to_string), limit })
}

/// The `*_links` of a list: a `next` link when the page is full, else nothing.
pub fn next_links(collection_url: &str, page: &Page, last_id: Option<&str>, count: usize) -> Vec<Link> {
    match last_id {
        Some(last) if count >= page.limit => {
            vec![Link::new(format!("{collection_url}?limit={}&marker={last}", page.limit), "next")]
        }
        _ => Vec::new(),
    }
}
