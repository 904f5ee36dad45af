//! A real mimic (Rackspace's mock of identity, Nova, Cloud Load Balancers and RackConnect v3)
//! for the cloud suites, and a client of the cloud project the tests look into and control:
//! its servers, load balancers and pools, and mimic's behaviours.
//!
//! mimic is installed by `.ci/run` in `.ci/.mimic` (or wherever `EBB_MIMIC` names its
//! `twistd`); without it a test is skipped, unless `CI` is set.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

/// The cloud project the tests' tenants are pinned to.
pub const PROJECT: &str = "887766";

/// A mimic process, killed when dropped.
pub struct Mimic {
    child: Child,
    /// Its root URL.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Mimic {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Mimic {
    /// A fresh mimic on a free port, or `None` (with a printed reason) when it is not
    /// installed and `CI` is unset.
    pub async fn start() -> Option<Mimic> {
        let twistd = std::env::var("EBB_MIMIC")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ci/.mimic/bin/twistd").to_string());
        if !std::path::Path::new(&twistd).exists() {
            assert!(std::env::var_os("CI").is_none(), "CI needs mimic at {twistd} (.ci/run installs it)");
            eprintln!("skipped: no mimic at {twistd}");
            return None;
        }
        let port = super::free_port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(&twistd)
            .args(["-n", "--pidfile=", "mimic", "--listen", &format!("tcp:{port}:interface=127.0.0.1"), "--realtime"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mimic = Mimic { child, url: format!("http://127.0.0.1:{port}"), _dir: dir };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(mimic);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("mimic did not listen on {port}");
    }

    /// Its identity endpoint.
    pub fn identity_url(&self) -> String {
        format!("{}/identity/v2.0", self.url)
    }

    /// The settings of a tenant pinned to the test project.
    pub fn settings(&self) -> Value {
        json!({"identity_url": self.identity_url(), "username": "autoscale", "api_key": "mimic-api-key",
            "region": "ORD", "project_id": PROJECT})
    }

    /// A client of the test project.
    pub async fn project(&self) -> Project {
        self.project_of(PROJECT).await
    }

    /// A client of a cloud project.
    pub async fn project_of(&self, project: &str) -> Project {
        // mimic ties a user to the first project it authenticated in: one user a project.
        let access = self.authenticate(&format!("observer-{project}"), Some(project)).await;
        Project {
            http: reqwest::Client::new(),
            token: access["access"]["token"]["id"].as_str().unwrap().to_string(),
            catalog: access["access"]["serviceCatalog"].clone(),
        }
    }

    /// Authenticates a user with an API key, in a project or in its own; identity's answer.
    pub async fn authenticate(&self, username: &str, project: Option<&str>) -> Value {
        let mut auth = json!({"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": "key"}});
        if let Some(project) = project {
            auth["tenantId"] = json!(project);
        }
        let answer = reqwest::Client::new()
            .post(format!("{}/tokens", self.identity_url()))
            .json(&json!({ "auth": auth }))
            .send()
            .await
            .unwrap();
        answer.json().await.unwrap()
    }
}

/// The test project, as its owner sees it.
pub struct Project {
    http: reqwest::Client,
    /// A token of the project.
    pub token: String,
    catalog: Value,
}

impl Project {
    /// A service's endpoint in ORD.
    pub fn endpoint(&self, name: &str) -> String {
        let service = self.catalog.as_array().unwrap().iter().find(|s| s["name"] == name).unwrap();
        let endpoint = service["endpoints"].as_array().unwrap().iter().find(|e| e["region"] == "ORD").unwrap();
        endpoint["publicURL"].as_str().unwrap().trim_end_matches('/').to_string()
    }

    /// A call; its status and JSON answer (null if none).
    pub async fn call(&self, method: Method, service: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request =
            self.http.request(method, format!("{}{path}", self.endpoint(service))).header("X-Auth-Token", &self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Every server of the project, with its details.
    pub async fn servers(&self) -> Vec<Value> {
        let (_, answer) = self.call(Method::GET, "cloudServersOpenStack", "/servers/detail?limit=1000", None).await;
        answer["servers"].as_array().cloned().unwrap_or_default()
    }

    /// A group's servers, by their metadata.
    pub async fn servers_of(&self, group: &str) -> Vec<Value> {
        let mut servers: Vec<Value> =
            self.servers().await.into_iter().filter(|s| s["metadata"]["rax:autoscale:group:id"] == group).collect();
        servers.sort_by(|a, b| a["created"].as_str().cmp(&b["created"].as_str()));
        servers
    }

    /// A server's ServiceNet address.
    pub fn servicenet(server: &Value) -> String {
        server["addresses"]["private"][0]["addr"].as_str().unwrap().to_string()
    }

    /// Deletes a server out of band.
    pub async fn delete_server(&self, id: &str) {
        let (status, _) = self.call(Method::DELETE, "cloudServersOpenStack", &format!("/servers/{id}"), None).await;
        assert_eq!(status, 204);
    }

    /// Sets servers' statuses (mimic's control plane).
    pub async fn set_status(&self, id: &str, status: &str) {
        let body = json!({"status": {id: status}});
        let (code, _) = self.call(Method::POST, "cloudServersBehavior", "/attributes/", Some(body)).await;
        assert_eq!(code, 201);
    }

    /// Registers a creation behaviour for servers whose name matches `name`; its id.
    pub async fn creation_behavior(&self, name: &str, behavior: &str, parameters: Value) -> String {
        let body = json!({"criteria": [{"server_name": name}], "name": behavior, "parameters": parameters});
        let (status, answer) = self.call(Method::POST, "cloudServersBehavior", "/behaviors/creation", Some(body)).await;
        assert_eq!(status, 201, "{answer}");
        answer["id"].as_str().unwrap().to_string()
    }

    /// Creates a Cloud Load Balancer; its id.
    pub async fn create_clb(&self) -> u64 {
        let body = json!({"loadBalancer": {"name": "web", "protocol": "HTTP", "port": 80,
            "virtualIps": [{"type": "PUBLIC"}]}});
        let (status, answer) = self.call(Method::POST, "cloudLoadBalancers", "/loadbalancers", Some(body)).await;
        assert!(status < 300, "{answer}");
        answer["loadBalancer"]["id"].as_u64().unwrap()
    }

    /// Deletes a Cloud Load Balancer.
    pub async fn delete_clb(&self, lb: u64) {
        let (status, _) = self.call(Method::DELETE, "cloudLoadBalancers", &format!("/loadbalancers/{lb}"), None).await;
        assert_eq!(status, 202);
    }

    /// A load balancer's nodes.
    pub async fn nodes(&self, lb: u64) -> Vec<Value> {
        let (_, answer) =
            self.call(Method::GET, "cloudLoadBalancers", &format!("/loadbalancers/{lb}/nodes"), None).await;
        answer["nodes"].as_array().cloned().unwrap_or_default()
    }

    /// Changes a node (`condition`, `weight`) behind Ebb's back.
    pub async fn change_node(&self, lb: u64, node: u64, change: Value) {
        let path = format!("/loadbalancers/{lb}/nodes/{node}");
        let (status, answer) =
            self.call(Method::PUT, "cloudLoadBalancers", &path, Some(json!({ "node": change }))).await;
        assert_eq!(status, 202, "{answer}");
    }

    /// Gives a load balancer a health monitor.
    pub async fn set_health_monitor(&self, lb: u64, monitor: Value) {
        let path = format!("/loadbalancers/{lb}/healthmonitor");
        let body = json!({ "healthMonitor": monitor });
        let (status, answer) = self.call(Method::PUT, "cloudLoadBalancers", &path, Some(body)).await;
        assert!(status < 300, "{status} {answer}");
    }

    /// Sets what a health monitor says of a node (mimic's control plane).
    pub async fn set_node_status(&self, lb: u64, node: u64, status: &str) {
        let path = format!("/loadbalancers/{lb}/nodes/{node}/status");
        let (code, _) =
            self.call(Method::PUT, "cloudLoadBalancerControl", &path, Some(json!({"status": status}))).await;
        assert_eq!(code, 200);
    }

    /// Sets a load balancer's status (mimic's control plane).
    pub async fn set_clb_status(&self, lb: u64, status: &str) {
        let path = format!("/loadbalancer/{lb}/attributes");
        let (code, _) =
            self.call(Method::PATCH, "cloudLoadBalancerControl", &path, Some(json!({"status": status}))).await;
        assert_eq!(code, 204);
    }

    /// Adds a node that belongs to no group.
    pub async fn add_node(&self, lb: u64, address: &str, port: u16) {
        let body = json!({"nodes": [{"address": address, "port": port, "condition": "ENABLED", "type": "PRIMARY"}]});
        let (status, answer) =
            self.call(Method::POST, "cloudLoadBalancers", &format!("/loadbalancers/{lb}/nodes"), Some(body)).await;
        assert_eq!(status, 202, "{answer}");
    }

    /// The project's RackConnect v3 pools' ids.
    pub async fn pools(&self) -> Vec<String> {
        let (_, answer) = self.call(Method::GET, "rackconnect", "/load_balancer_pools", None).await;
        answer.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).collect()
    }

    /// The cloud servers in a pool.
    pub async fn pool_servers(&self, pool: &str) -> Vec<String> {
        let (_, answer) =
            self.call(Method::GET, "rackconnect", &format!("/load_balancer_pools/{pool}/nodes"), None).await;
        let mut servers: Vec<String> =
            answer.as_array().unwrap().iter().map(|n| n["cloud_server"]["id"].as_str().unwrap().to_string()).collect();
        servers.sort();
        servers
    }
}
