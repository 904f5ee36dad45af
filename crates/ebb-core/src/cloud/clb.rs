//! Cloud Load Balancers as data: a load balancer's nodes as it lists them, and a node to add.

use serde_json::{Value, json};

/// A node of a load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its id.
    pub id: u64,
    /// The member's address (its ServiceNet IPv4).
    pub address: String,
    /// The port.
    pub port: u16,
    /// `ENABLED`, `DRAINING` or `DISABLED`.
    pub condition: String,
    /// Its weight, if the algorithm weighs nodes.
    pub weight: Option<u64>,
    /// `PRIMARY` or `SECONDARY`.
    pub kind: String,
    /// What its health monitor says: `ONLINE`, `OFFLINE` (or nothing without one).
    pub status: String,
}

impl Node {
    /// The nodes of an answer (`{"nodes": [...]}`).
    pub fn list(answer: &Value) -> Vec<Node> {
        answer["nodes"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|n| {
                Some(Node {
                    id: n["id"].as_u64()?,
                    address: n["address"].as_str()?.to_string(),
                    port: u16::try_from(n["port"].as_u64()?).ok()?,
                    condition: n["condition"].as_str().unwrap_or_default().to_string(),
                    weight: n["weight"].as_u64(),
                    kind: n["type"].as_str().unwrap_or("PRIMARY").to_string(),
                    status: n["status"].as_str().unwrap_or_default().to_string(),
                })
            })
            .collect()
    }
}

/// A node to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNode {
    /// The member's ServiceNet address.
    pub address: String,
    /// The port.
    pub port: u16,
    /// Its condition to begin with (`DRAINING` where a health monitor must see it first).
    pub condition: String,
    /// Its weight, if any.
    pub weight: Option<u64>,
}

impl NewNode {
    /// Its entry in `POST .../nodes`.
    pub fn body(&self) -> Value {
        let mut node =
            json!({"address": self.address, "port": self.port, "condition": self.condition, "type": "PRIMARY"});
        if let Some(weight) = self.weight {
            node["weight"] = json!(weight);
        }
        node
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_read_and_written_as_the_api_has_them() {
        let answer = json!({"nodes": [
            {"address": "10.1.1.1", "port": 80, "type": "PRIMARY", "weight": 1, "condition": "DRAINING", "id": 614431, "status": "ONLINE"},
            {"address": "10.1.1.2", "port": 99999, "condition": "ENABLED", "id": 2}]});
        assert_eq!(
            Node::list(&answer),
            [Node {
                id: 614431,
                address: "10.1.1.1".into(),
                port: 80,
                condition: "DRAINING".into(),
                weight: Some(1),
                kind: "PRIMARY".into(),
                status: "ONLINE".into()
            }],
            "a node with an impossible port is left out"
        );
        let new = NewNode { address: "10.1.1.3".into(), port: 8080, condition: "ENABLED".into(), weight: None };
        assert_eq!(new.body(), json!({"address": "10.1.1.3", "port": 8080, "condition": "ENABLED", "type": "PRIMARY"}));
    }
}
