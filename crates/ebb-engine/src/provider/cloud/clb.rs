//! Cloud Load Balancers for a tenant: a load balancer's status and nodes, nodes added with
//! their condition, a node's condition changed (to `DRAINING` before it goes), nodes removed.

use std::sync::Arc;

use ebb_core::cloud::clb::{NewNode, Node};
use ebb_core::cloud::converge::ClbView;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::identity::Identity;
use super::{CloudError, Service};
use crate::clock::Clock;

/// A tenant's Cloud Load Balancers.
pub struct Clb(Service);

impl Clb {
    /// The Cloud Load Balancers of `identity`'s tenant, in its region.
    pub fn new(http: reqwest::Client, identity: Arc<Identity>, clock: Arc<dyn Clock>) -> Self {
        Clb(Service::new(http, identity, clock, "Cloud Load Balancers", ("rax:load-balancer", "cloudLoadBalancers")))
    }

    /// The same, its calls counted in `counts`.
    pub fn counted(self, counts: Arc<super::CallCounts>) -> Self {
        Clb(self.0.counted(counts))
    }

    /// A load balancer's status (`ACTIVE`, `PENDING_UPDATE`, `PENDING_DELETE`, …).
    pub async fn status(&self, lb: u64) -> Result<String, CloudError> {
        let answer = self.0.ok(Method::GET, &format!("/loadbalancers/{lb}"), None).await?;
        Ok(answer["loadBalancer"]["status"].as_str().unwrap_or_default().to_string())
    }

    /// What a pass needs of a load balancer: whether it exists, its nodes and whether a
    /// health monitor judges them.
    pub async fn view(&self, lb: &str) -> Result<ClbView, CloudError> {
        let Ok(id) = lb.parse::<u64>() else { return Ok(ClbView::Missing) };
        let (status, answer) = self.0.call(Method::GET, &format!("/loadbalancers/{id}"), None).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(ClbView::Missing);
        }
        if !status.is_success() {
            return Err(self.0.refused(status, &answer));
        }
        match answer["loadBalancer"]["status"].as_str().unwrap_or_default() {
            "DELETED" => return Ok(ClbView::Missing),
            "PENDING_DELETE" | "PENDING-DELETE" => return Ok(ClbView::Deleting),
            _ => {}
        }
        let nodes = self.nodes(id).await?;
        let monitor = self.0.ok(Method::GET, &format!("/loadbalancers/{id}/healthmonitor"), None).await?;
        let health_monitor = monitor["healthMonitor"].as_object().is_some_and(|m| !m.is_empty());
        Ok(ClbView::Present { nodes, health_monitor })
    }

    /// The service, for answers a caller sorts itself.
    pub fn service(&self) -> &Service {
        &self.0
    }

    /// A load balancer's nodes.
    pub async fn nodes(&self, lb: u64) -> Result<Vec<Node>, CloudError> {
        let answer = self.0.ok(Method::GET, &format!("/loadbalancers/{lb}/nodes"), None).await?;
        Ok(Node::list(&answer))
    }

    /// Adds nodes in one call; the nodes made.
    pub async fn add(&self, lb: u64, nodes: &[NewNode]) -> Result<Vec<Node>, CloudError> {
        let body = json!({"nodes": nodes.iter().map(NewNode::body).collect::<Vec<_>>()});
        let answer = self.0.ok(Method::POST, &format!("/loadbalancers/{lb}/nodes"), Some(&body)).await?;
        Ok(Node::list(&answer))
    }

    /// Sets a node's condition (`ENABLED`, `DRAINING`, `DISABLED`), with weight 1 and type
    /// `PRIMARY`, as Ebb's nodes are.
    pub async fn set_condition(&self, lb: u64, node: u64, condition: &str) -> Result<(), CloudError> {
        let body = json!({"node": {"condition": condition, "weight": 1, "type": "PRIMARY"}});
        self.0.ok(Method::PUT, &format!("/loadbalancers/{lb}/nodes/{node}"), Some(&body)).await.map(drop)
    }

    /// Removes nodes in one call.
    pub async fn remove(&self, lb: u64, nodes: &[u64]) -> Result<(), CloudError> {
        let ids: Vec<String> = nodes.iter().map(|id| format!("id={id}")).collect();
        self.0.ok(Method::DELETE, &format!("/loadbalancers/{lb}/nodes?{}", ids.join("&")), None).await.map(drop)
    }
}
