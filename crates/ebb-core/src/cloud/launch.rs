//! A `launch_server` configuration, typed: the `server` Nova is given, the load balancers its
//! servers join, and how long they drain; and the load-balancer keys of a server's metadata
//! (Otter §4.9, §4.11), which say which load balancers a server belongs on for as long as it
//! lives, whatever the launch configuration says later.

use serde_json::{Map, Value, json};

/// The metadata key prefix of a server's Cloud Load Balancers (`…:{id}` = `[{"port": n}]`).
pub const CLB_KEY: &str = "rax:autoscale:lb:CloudLoadBalancer:";
/// The metadata key prefix of a server's RackConnect v3 pools (`…:{id}` = `""`).
pub const POOL_KEY: &str = "rax:autoscale:lb:RackConnectV3:";

/// A load balancer a group's servers join.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CloudBalancer {
    /// A Cloud Load Balancer, on a port.
    Clb {
        /// Its id.
        id: String,
        /// The port its nodes serve on.
        port: u16,
    },
    /// A RackConnect v3 load balancer pool.
    Pool {
        /// Its id.
        id: String,
    },
}

/// The arguments of a `launch_server` configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerLaunch {
    /// What `POST /servers` is given (named, with the group's metadata merged in).
    pub server: Value,
    /// The load balancers its servers join.
    pub balancers: Vec<CloudBalancer>,
    /// How long, in seconds, a server leaving a Cloud Load Balancer drains first.
    pub draining_timeout: f64,
}

impl ServerLaunch {
    /// The arguments of a validated `launch_server` configuration.
    pub fn from_args(args: &Value) -> ServerLaunch {
        let balancers = args["loadBalancers"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|lb| {
                let id = match &lb["loadBalancerId"] {
                    Value::String(id) => id.clone(),
                    Value::Number(id) => id.to_string(),
                    _ => return None,
                };
                match lb["type"].as_str() {
                    Some("RackConnectV3") => Some(CloudBalancer::Pool { id }),
                    _ => Some(CloudBalancer::Clb { id, port: u16::try_from(lb["port"].as_u64()?).ok()? }),
                }
            })
            .collect();
        ServerLaunch {
            server: args["server"].clone(),
            balancers,
            draining_timeout: args["draining_timeout"].as_f64().unwrap_or(0.0),
        }
    }

    /// The launch configuration's name for its servers, if any.
    pub fn name(&self) -> Option<&str> {
        self.server["name"].as_str()
    }

    /// The load-balancer keys a new server's metadata carries.
    pub fn metadata(&self) -> Vec<(String, String)> {
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut ports: Map<String, Value> = Map::new();
        for balancer in &self.balancers {
            match balancer {
                CloudBalancer::Clb { id, port } => {
                    let entry = ports.entry(id.clone()).or_insert_with(|| json!([]));
                    if let Some(list) = entry.as_array_mut() {
                        list.push(json!({"port": port}));
                    }
                }
                CloudBalancer::Pool { id } => keys.push((format!("{POOL_KEY}{id}"), String::new())),
            }
        }
        for (id, list) in ports {
            keys.push((format!("{CLB_KEY}{id}"), list.to_string()));
        }
        keys.sort();
        keys
    }
}

/// The load balancers a server's metadata says it belongs on; keys that do not parse are
/// left out.
pub fn balancers_of(metadata: &Map<String, Value>) -> Vec<CloudBalancer> {
    let mut found = Vec::new();
    for (key, value) in metadata {
        if let Some(id) = key.strip_prefix(CLB_KEY) {
            let ports: Vec<Value> = value.as_str().and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
            for port in ports {
                if let Some(port) = port["port"].as_u64().and_then(|p| u16::try_from(p).ok()) {
                    found.push(CloudBalancer::Clb { id: id.to_string(), port });
                }
            }
        } else if let Some(id) = key.strip_prefix(POOL_KEY) {
            found.push(CloudBalancer::Pool { id: id.to_string() });
        }
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_balancers_go_into_its_metadata_and_come_back_out() {
        let args = json!({"server": {"name": "web", "flavorRef": "2", "imageRef": "i"},
            "loadBalancers": [{"loadBalancerId": 5, "port": 80}, {"loadBalancerId": 5, "port": 8080},
                              {"loadBalancerId": "pool-1", "type": "RackConnectV3"}],
            "draining_timeout": 30});
        let launch = ServerLaunch::from_args(&args);
        assert_eq!((launch.name(), launch.draining_timeout), (Some("web"), 30.0));
        let keys = launch.metadata();
        assert_eq!(
            keys,
            [
                ("rax:autoscale:lb:CloudLoadBalancer:5".to_string(), r#"[{"port":80},{"port":8080}]"#.to_string()),
                ("rax:autoscale:lb:RackConnectV3:pool-1".to_string(), String::new()),
            ]
        );
        let metadata: Map<String, Value> = keys.into_iter().map(|(k, v)| (k, json!(v))).collect();
        let mut expected = launch.balancers.clone();
        expected.sort();
        assert_eq!(balancers_of(&metadata), expected);
    }

    #[test]
    fn metadata_that_does_not_parse_names_no_balancer() {
        let metadata = json!({"rax:autoscale:lb:CloudLoadBalancer:5": "not json", "team": "blue",
            "rax:autoscale:lb:CloudLoadBalancer:6": "[{\"port\": 70000}]"});
        assert!(balancers_of(metadata.as_object().unwrap()).is_empty());
    }
}
