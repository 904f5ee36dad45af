//! RackConnect v3 for a tenant: the cloud servers in a load balancer pool, and servers added
//! to pools and removed from them in bulk. Pools cannot drain: a server leaves at once.

use std::collections::BTreeSet;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::identity::Identity;
use super::{CloudError, Service};
use crate::clock::Clock;

/// A tenant's RackConnect v3.
pub struct RackConnect(Service);

impl RackConnect {
    /// The RackConnect v3 of `identity`'s tenant, in its region.
    pub fn new(http: reqwest::Client, identity: Arc<Identity>, clock: Arc<dyn Clock>) -> Self {
        RackConnect(Service::new(http, identity, clock, "RackConnect v3", ("rax:rackconnect", "rackconnect")))
    }

    /// The same, its calls counted in `counts`.
    pub fn counted(self, counts: Arc<super::CallCounts>) -> Self {
        RackConnect(self.0.counted(counts))
    }

    /// The cloud servers in a pool, or `None` when the pool does not exist (or its id is not
    /// a pool's, which RackConnect refuses with a 400).
    pub async fn members(&self, pool: &str) -> Result<Option<BTreeSet<String>>, CloudError> {
        let (status, answer) = self.0.call(Method::GET, &format!("/load_balancer_pools/{pool}/nodes"), None).await?;
        if status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(self.0.refused(status, &answer));
        }
        let nodes = answer.as_array().map_or(&[][..], Vec::as_slice);
        Ok(Some(nodes.iter().filter_map(|n| n["cloud_server"]["id"].as_str().map(str::to_string)).collect()))
    }

    /// Adds servers to a pool, in one call.
    pub async fn join(&self, pool: &str, servers: &[String]) -> Result<(), CloudError> {
        self.0.ok(Method::POST, "/load_balancer_pools/nodes", Some(&pairs(pool, servers))).await.map(drop)
    }

    /// Removes servers from a pool, in one call.
    pub async fn leave(&self, pool: &str, servers: &[String]) -> Result<(), CloudError> {
        self.0.ok(Method::DELETE, "/load_balancer_pools/nodes", Some(&pairs(pool, servers))).await.map(drop)
    }
}

/// The body of a bulk call: each server with its pool.
fn pairs(pool: &str, servers: &[String]) -> Value {
    Value::Array(
        servers
            .iter()
            .map(|server| json!({"load_balancer_pool": {"id": pool}, "cloud_server": {"id": server}}))
            .collect(),
    )
}
