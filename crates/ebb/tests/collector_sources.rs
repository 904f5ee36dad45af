//! Collectors against the other real sources: a RabbitMQ queue through its management API,
//! HAProxy's statistics (its admin socket and its CSV page) in front of Ebb's own server,
//! and Prometheus scraping Ebb's `/metrics`; each changed for real and read back, and each
//! failing (wrong credentials, a backend that is not there, a query of many series) as a
//! recorded failure.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use support::{Api, Server, free_port, group, poll};

const RABBIT_API: &str = "127.0.0.1:15672";

/// A process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn installed(program: &str) -> bool {
    let found =
        Command::new("sh").args(["-c", &format!("command -v {program}")]).output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI needs {program} (.ci/run installs it)");
        eprintln!("skipped: {program} is not installed");
    }
    found
}

async fn create(api: &Api, g: &str, body: Value) -> Vec<String> {
    let reply = api.post(&api.t(&format!("/groups/{g}/collectors")), body).await;
    reply.ok(201);
    reply.body["collectors"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
}

async fn status_when(api: &Api, g: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    poll(30, || async {
        let reply = api.get(&api.t(&format!("/groups/{g}/collectors/{id}"))).await;
        let status = reply.body["collector"]["status"].clone();
        done(&status).then_some(status)
    })
    .await
    .unwrap_or_else(|| panic!("collector {id} never got there"))
}

#[tokio::test]
async fn a_rabbitmq_queue_is_read_through_the_management_api() {
    if !support::service("RabbitMQ's management API", RABBIT_API) {
        return;
    }
    let http = reqwest::Client::new();
    let queue = format!("ebb-test-{}", std::process::id());
    let api_url = format!("http://{RABBIT_API}/api");
    http.put(format!("{api_url}/queues/%2F/{queue}"))
        .basic_auth("guest", Some("guest"))
        .json(&json!({"durable": false, "auto_delete": false}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    for i in 0..300 {
        let publish = json!({"properties": {}, "routing_key": queue, "payload": format!("job {i}"), "payload_encoding": "string"});
        let sent = http
            .post(format!("{api_url}/exchanges/%2F/amq.default/publish"))
            .basic_auth("guest", Some("guest"))
            .json(&publish)
            .send()
            .await
            .unwrap();
        assert!(sent.status().is_success());
    }
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    let ids = create(
        &api,
        &g,
        json!([
            {"name": "jobs", "type": "rabbitmq", "metric": "jobs", "interval": 1,
             "args": {"protocol": "http", "url": format!("http://guest:guest@{RABBIT_API}"), "queue": queue,
                      "include_unacknowledged": true}},
            {"name": "wrong", "type": "rabbitmq", "metric": "wrong", "interval": 1,
             "args": {"protocol": "http", "url": format!("http://guest:not-the-password@{RABBIT_API}"), "queue": queue}},
            {"name": "missing", "type": "rabbitmq", "metric": "missing", "interval": 1,
             "args": {"protocol": "http", "url": format!("http://guest:guest@{RABBIT_API}"), "queue": "no-such-queue"}},
        ]),
    )
    .await;
    // The management API counts messages every few seconds.
    let jobs = status_when(&api, &g, &ids[0], |s| s["last_value"].as_f64() == Some(300.0)).await;
    assert_eq!(jobs["state"], "ok");
    let wrong = status_when(&api, &g, &ids[1], |s| s["failures"].as_u64() >= Some(1)).await;
    assert_eq!(wrong["last_error"]["message"], "the management API refused the credentials (401)");
    let missing = status_when(&api, &g, &ids[2], |s| s["failures"].as_u64() >= Some(1)).await;
    assert_eq!(missing["last_error"]["message"], "no queue \"no-such-queue\" in virtual host \"/\"");
    assert!(!server.log().contains("not-the-password"));
    http.delete(format!("{api_url}/queues/%2F/{queue}")).basic_auth("guest", Some("guest")).send().await.unwrap();
}

fn haproxy_config(dir: &Path, frontend: u16, stats: u16, backend: u16) -> std::path::PathBuf {
    let config = format!(
        "global
    stats socket {socket} mode 600 level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend web
    bind 127.0.0.1:{frontend}
    default_backend app
backend app
    balance roundrobin
    server s1 127.0.0.1:{backend}
    server s2 127.0.0.1:{backend}
    server s3 127.0.0.1:1 disabled
listen stats
    mode http
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /stats
",
        socket = dir.join("haproxy.sock").display()
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    path
}

#[tokio::test]
async fn haproxy_connections_per_member_are_read_on_its_socket_and_its_page() {
    if !installed("haproxy") {
        return;
    }
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    // HAProxy in front of Ebb's own API: two servers up, one disabled.
    let dir = tempfile::tempdir().unwrap();
    let (frontend, stats) = (free_port(), free_port());
    let backend: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    let config = haproxy_config(dir.path(), frontend, stats, backend);
    let _haproxy = Running(
        Command::new("haproxy")
            .arg("-f")
            .arg(&config)
            .arg("-db")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let socket = dir.path().join("haproxy.sock");
    assert!(poll(10, || async { socket.exists().then_some(()) }).await.is_some(), "HAProxy started");
    // Six connections held open through it: three on each server.
    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(tokio::net::TcpStream::connect(("127.0.0.1", frontend)).await.unwrap());
    }
    let socket = socket.display().to_string();
    let ids = create(
        &api,
        &g,
        json!([
            {"name": "per member", "type": "lb_stats", "metric": "haproxy_connections", "interval": 1,
             "args": {"balancer": "haproxy", "socket": socket, "backend": "app", "value": "connections"}},
            {"name": "in all", "type": "lb_stats", "metric": "connections_total", "interval": 1,
             "args": {"balancer": "haproxy", "url": format!("http://127.0.0.1:{stats}/stats;csv"), "backend": "app",
                      "value": "connections", "per_member": false}},
            {"name": "no backend", "type": "lb_stats", "metric": "nothing", "interval": 1,
             "args": {"balancer": "haproxy", "socket": socket, "backend": "api", "value": "connections"}},
            {"name": "no socket", "type": "lb_stats", "metric": "nothing2", "interval": 1,
             "args": {"balancer": "haproxy", "socket": "/nonexistent/haproxy.sock", "backend": "app", "value": "queue"}},
        ]),
    )
    .await;
    let per_member = status_when(&api, &g, &ids[0], |s| s["last_value"].as_f64() == Some(3.0)).await;
    assert_eq!(per_member["state"], "ok");
    status_when(&api, &g, &ids[1], |s| s["last_value"].as_f64() == Some(6.0)).await;
    let missing = status_when(&api, &g, &ids[2], |s| s["failures"].as_u64() >= Some(1)).await;
    assert_eq!(missing["last_error"]["message"], "HAProxy has no backend \"api\"");
    let no_socket = status_when(&api, &g, &ids[3], |s| s["failures"].as_u64() >= Some(1)).await;
    assert!(
        no_socket["last_error"]["message"].as_str().unwrap().starts_with("cannot connect to /nonexistent/haproxy.sock")
    );
    // Connections closed: the count follows.
    held.truncate(2);
    status_when(&api, &g, &ids[1], |s| s["last_value"].as_f64() == Some(2.0)).await;
}

#[tokio::test]
async fn a_prometheus_query_of_one_series_is_read_and_of_many_refused() {
    if !installed("prometheus") {
        return;
    }
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    // Prometheus scraping Ebb's /metrics every second.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let target = server.url.trim_start_matches("http://").to_string();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: ebb\n    static_configs:\n      - targets: ['{target}']\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let _prometheus = Running(
        Command::new("prometheus")
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ids = create(
        &api,
        &g,
        json!([
            {"name": "up", "type": "prometheus", "metric": "up", "interval": 1,
             "args": {"url": format!("http://127.0.0.1:{port}"), "query": "sum(up{job=\"ebb\"})"}},
            {"name": "many", "type": "prometheus", "metric": "many", "interval": 1,
             "args": {"url": format!("http://127.0.0.1:{port}"), "query": "ebb_collector_reads_total"}},
            {"name": "bad", "type": "prometheus", "metric": "bad", "interval": 1,
             "args": {"url": format!("http://127.0.0.1:{port}"), "query": "sum(("}},
        ]),
    )
    .await;
    let up = status_when(&api, &g, &ids[0], |s| s["last_value"].as_f64() == Some(1.0)).await;
    assert_eq!(up["state"], "ok", "{up}");
    let many = status_when(&api, &g, &ids[1], |s| {
        s["last_error"]["message"].as_str().is_some_and(|m| m.contains("series, and a collector reads one"))
    })
    .await;
    assert_eq!(many["state"], "failing");
    let bad = status_when(&api, &g, &ids[2], |s| s["failures"].as_u64() >= Some(1)).await;
    assert!(bad["last_error"]["message"].as_str().unwrap().starts_with("the query failed (400"), "{bad}");
}
