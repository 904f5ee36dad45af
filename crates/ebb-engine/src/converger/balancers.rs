//! A group's load balancers: one on every port its launch configuration names, made and
//! closed as the configuration changes.

use std::sync::Arc;

use super::Converger;
use crate::provider::LoadBalancer;

impl Converger {
    /// Makes sure the group has a load balancer on every configured port (and none other).
    pub(super) async fn ensure_balancers(
        &self,
        group: &str,
        ports: &[u16],
    ) -> Result<Vec<Arc<dyn LoadBalancer>>, String> {
        let existing = self.balancers.lock().ok().and_then(|b| b.get(group).cloned()).unwrap_or_default();
        let mut kept = Vec::new();
        for balancer in existing {
            if ports.contains(&balancer.port()) {
                kept.push(balancer);
            } else {
                balancer.shutdown().await;
            }
        }
        let mut failure = None;
        for port in ports {
            if kept.iter().any(|b| b.port() == *port) {
                continue;
            }
            match self.balancer_factory.bind(*port).await {
                Ok(balancer) => {
                    tracing::info!(group, port, "load balancer listening");
                    kept.push(balancer);
                }
                Err(message) => {
                    failure = Some(message);
                    break;
                }
            }
        }
        if let Ok(mut balancers) = self.balancers.lock() {
            balancers.insert(group.to_string(), kept.clone());
        }
        match failure {
            Some(message) => Err(message),
            None => Ok(kept),
        }
    }

    /// Closes a group's load balancers.
    pub(super) async fn close_balancers(&self, group: &str) {
        let list = self.balancers.lock().ok().and_then(|mut b| b.remove(group)).unwrap_or_default();
        for balancer in list {
            balancer.shutdown().await;
        }
    }

    /// Forgets a member in every load balancer of its group.
    pub(super) fn remove_from_balancers(&self, group: &str, member: &str) {
        if let Ok(balancers) = self.balancers.lock()
            && let Some(list) = balancers.get(group)
        {
            for balancer in list {
                balancer.remove(member);
            }
        }
    }
}
