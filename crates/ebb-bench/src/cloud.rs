//! `ebb-bench cloud`: how fast a `launch_server` group converges against mimic — the time
//! from an execution to N servers ACTIVE and in the load balancer, and the Nova, Cloud Load
//! Balancers and RackConnect calls it took, beside the lower bound mimic's build delay and
//! the per-tenant create throttle allow.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::load::Api;

/// What to measure.
pub struct Scenario {
    /// Servers to scale to, from 0.
    pub servers: usize,
    /// mimic's build delay, in seconds (0: ACTIVE at once).
    pub build_seconds: f64,
    /// `pool` (RackConnect v3) or `clb` (a Cloud Load Balancer).
    pub balancer: String,
    /// The server's `--cloud-create-interval`, for the lower bound.
    pub create_interval: f64,
}

/// A project of mimic's, as its owner calls it.
struct Project {
    http: Client,
    token: String,
    catalog: Value,
}

impl Project {
    async fn new(mimic: &str, project: &str) -> anyhow::Result<Project> {
        let http = Client::new();
        // mimic ties a user to the first project it authenticated for: one user a project.
        let body = json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": format!("bench-{project}"), "apiKey": "k"},
            "tenantId": project}});
        let access: Value = http.post(format!("{mimic}/identity/v2.0/tokens")).json(&body).send().await?.json().await?;
        Ok(Project {
            http,
            token: access["access"]["token"]["id"].as_str().context("token")?.to_string(),
            catalog: access["access"]["serviceCatalog"].clone(),
        })
    }

    fn endpoint(&self, name: &str) -> anyhow::Result<String> {
        let services = self.catalog.as_array().context("catalog")?;
        let service = services.iter().find(|s| s["name"] == name).context("service")?;
        let endpoints = service["endpoints"].as_array().context("endpoints")?;
        let url =
            endpoints.iter().find(|e| e["region"] == "ORD").context("ORD")?["publicURL"].as_str().context("url")?;
        Ok(url.trim_end_matches('/').to_string())
    }

    async fn call(&self, method: Method, service: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let api = Api { http: self.http.clone(), base: self.endpoint(service)?, token: self.token.clone() };
        api.call(method, path, body).await
    }
}

/// The load balancer the group's servers join.
enum Balancer {
    /// A RackConnect v3 pool.
    Pool(String),
    /// A Cloud Load Balancer.
    Clb(u64),
}

impl Balancer {
    /// Its entry in the launch configuration.
    fn launch(&self) -> Value {
        match self {
            Balancer::Pool(id) => json!({"loadBalancerId": id, "type": "RackConnectV3"}),
            Balancer::Clb(id) => json!({"loadBalancerId": id, "port": 80}),
        }
    }

    /// How many servers are in it (enabled, on a Cloud Load Balancer).
    async fn members(&self, cloud: &Project) -> anyhow::Result<usize> {
        Ok(match self {
            Balancer::Pool(id) => {
                let nodes =
                    cloud.call(Method::GET, "rackconnect", &format!("/load_balancer_pools/{id}/nodes"), None).await?;
                nodes.as_array().map_or(0, Vec::len)
            }
            Balancer::Clb(id) => {
                let nodes =
                    cloud.call(Method::GET, "cloudLoadBalancers", &format!("/loadbalancers/{id}/nodes"), None).await?;
                nodes["nodes"].as_array().map_or(0, |n| n.iter().filter(|n| n["condition"] == "ENABLED").count())
            }
        })
    }
}

/// `ebb_cloud_calls_total` by service and method, from `/metrics`.
async fn calls(http: &Client, url: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    let text = http.get(format!("{url}/metrics")).send().await?.text().await?;
    let mut counts = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("ebb_cloud_calls_total{")) {
        let (labels, value) = line.rsplit_once(' ').context("a sample")?;
        counts.insert(labels.trim_start_matches("ebb_cloud_calls_total").to_string(), value.parse()?);
    }
    Ok(counts)
}

pub async fn cloud(url: &str, operator_token: &str, mimic: &str, scenario: Scenario) -> anyhow::Result<()> {
    let http = Client::new();
    let base = url.trim_end_matches('/').to_string();
    let operator = Api { http: http.clone(), base: base.clone(), token: operator_token.into() };
    let project = format!("{}", 500_000 + std::process::id());
    let tenant = format!("cloud-{project}");
    operator.call(Method::POST, "/admin/v1/tenants", Some(json!({"id": tenant}))).await?;
    let settings = json!({"identity_url": format!("{mimic}/identity/v2.0"), "username": format!("ebb-{project}"), "api_key": "k",
        "region": "ORD", "project_id": project});
    operator.call(Method::PUT, &format!("/admin/v1/tenants/{tenant}/cloud"), Some(settings)).await?;
    let api = Api { http: http.clone(), base: format!("{base}/v1.0/{tenant}"), token: operator_token.into() };
    let cloud = Project::new(mimic, &project).await?;
    if scenario.build_seconds > 0.0 {
        let behavior = json!({"criteria": [{"server_name": "bench.*"}], "name": "build",
            "parameters": {"duration": scenario.build_seconds}});
        cloud.call(Method::POST, "cloudServersBehavior", "/behaviors/creation", Some(behavior)).await?;
    }
    let balancer = match scenario.balancer.as_str() {
        "pool" => {
            let pools = cloud.call(Method::GET, "rackconnect", "/load_balancer_pools", None).await?;
            Balancer::Pool(pools[0]["id"].as_str().context("a pool")?.to_string())
        }
        "clb" => {
            let body = json!({"loadBalancer": {"name": "bench", "protocol": "HTTP", "port": 80,
                "virtualIps": [{"type": "PUBLIC"}]}});
            let lb = cloud.call(Method::POST, "cloudLoadBalancers", "/loadbalancers", Some(body)).await?;
            Balancer::Clb(lb["loadBalancer"]["id"].as_u64().context("a load balancer")?)
        }
        other => bail!("--balancer {other}: pool or clb"),
    };
    let group = api
        .call(
            Method::POST,
            "/groups",
            Some(json!({
                "groupConfiguration": {"name": "bench", "cooldown": 0, "minEntities": 0, "maxEntities": 1000},
                "launchConfiguration": {"type": "launch_server", "args": {
                    "server": {"name": "bench", "flavorRef": "2", "imageRef": "3cfb8a2e-0a0c-4f5c-8d1e-0f2d7b3f1a11",
                               "networks": [{"uuid": "11111111-1111-1111-1111-111111111111"}]},
                    "loadBalancers": [balancer.launch()]}},
            })),
        )
        .await?;
    let group = group["group"]["id"].as_str().context("group id")?.to_string();
    let policy = json!([{"name": "to N", "type": "webhook", "cooldown": 0, "desiredCapacity": scenario.servers}]);
    let policy = api.call(Method::POST, &format!("/groups/{group}/policies"), Some(policy)).await?;
    let policy = policy["policies"][0]["id"].as_str().context("policy id")?.to_string();

    let before = calls(&http, &base).await?;
    let started = Instant::now();
    api.call(Method::POST, &format!("/groups/{group}/policies/{policy}/execute"), None).await?;
    let (mut active, mut members) = (0, 0);
    while active < scenario.servers || members < scenario.servers {
        if started.elapsed() > Duration::from_secs(600) {
            bail!("not converged in 600 s: {active} ACTIVE, {members} in the load balancer");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let servers = cloud.call(Method::GET, "cloudServersOpenStack", "/servers/detail?limit=1000", None).await?;
        active = servers["servers"].as_array().map_or(0, |s| {
            s.iter()
                .filter(|s| s["metadata"]["rax:autoscale:group:id"] == group.as_str() && s["status"] == "ACTIVE")
                .count()
        });
        members = balancer.members(&cloud).await?;
    }
    let took = started.elapsed();
    // The last pass's calls are counted once it has settled.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = calls(&http, &base).await?;
    let bound = scenario.create_interval * (scenario.servers.saturating_sub(1)) as f64 + scenario.build_seconds;
    println!(
        "0 -> {} servers ({}; build {} s; create interval {} s): {:.2} s to all ACTIVE and in the load balancer; lower bound {:.2} s ({:.2}x)",
        scenario.servers,
        scenario.balancer,
        scenario.build_seconds,
        scenario.create_interval,
        took.as_secs_f64(),
        bound,
        if bound > 0.0 { took.as_secs_f64() / bound } else { f64::NAN },
    );
    for (labels, count) in &after {
        let made = count - before.get(labels).copied().unwrap_or(0);
        if made > 0 {
            println!("  calls {labels}: {made}");
        }
    }
    Ok(())
}
