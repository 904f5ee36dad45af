//! Collectors against the other real sources: a RabbitMQ queue through its management API
//! and over AMQP, a NATS JetStream consumer, a MariaDB query, HAProxy's statistics (its admin
//! socket and its CSV page) in front of Ebb's own server, and Prometheus scraping Ebb's
//! `/metrics`; each changed for real and read back, and each failing (wrong credentials, a
//! queue, stream or backend that is not there, a write, a query of many series) as a
//! recorded failure.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use support::{Api, Server, collector_status_when as status_when, free_port, group, poll};

const RABBIT_API: &str = "127.0.0.1:15672";
const RABBIT: &str = "127.0.0.1:5672";
const NATS: &str = "127.0.0.1:4222";
const MARIADB: &str = "127.0.0.1:3306";

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
            {"name": "amqp", "type": "rabbitmq", "metric": "ready", "interval": 1,
             "args": {"url": format!("amqp://guest:guest@{RABBIT}/%2f"), "queue": queue}},
            {"name": "amqp missing", "type": "rabbitmq", "metric": "ready_missing", "interval": 1,
             "args": {"url": format!("amqp://guest:guest@{RABBIT}/%2f"), "queue": "no-such-queue"}},
            {"name": "amqp wrong", "type": "rabbitmq", "metric": "ready_wrong", "interval": 1,
             "args": {"url": format!("amqp://guest:amqp-wrong-pw@{RABBIT}/%2f"), "queue": queue}},
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
    // Over AMQP, a passive declare: the messages ready, at once.
    let ready = status_when(&api, &g, &ids[3], |s| s["last_value"].as_f64() == Some(300.0)).await;
    assert_eq!(ready["state"], "ok");
    let missing = status_when(&api, &g, &ids[4], |s| s["failures"].as_u64() >= Some(1)).await;
    assert_eq!(missing["last_error"]["message"], "no queue \"no-such-queue\"");
    let wrong = status_when(&api, &g, &ids[5], |s| s["failures"].as_u64() >= Some(1)).await;
    assert!(wrong["last_error"]["message"].as_str().unwrap().starts_with("cannot connect over AMQP"), "{wrong}");
    for secret in ["not-the-password", "amqp-wrong-pw"] {
        assert!(!server.log().contains(secret) && !wrong.to_string().contains(secret));
    }
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
            {"name": "count", "type": "prometheus", "metric": "collectors", "interval": 1,
             "args": {"url": format!("http://127.0.0.1:{port}"), "query": "count(ebb_collector_reads_total{job=\"ebb\"})"}},
            {"name": "many", "type": "prometheus", "metric": "many", "interval": 1,
             "args": {"url": format!("http://127.0.0.1:{port}"), "query": "ebb_collector_reads_total"}},
            {"name": "bad", "type": "prometheus", "metric": "bad", "interval": 1,
             "args": {"url": format!("http://127.0.0.1:{port}"), "query": "sum(("}},
        ]),
    )
    .await;
    // Ebb reports its three collectors; Prometheus scrapes them; one collector reads the count.
    let count = status_when(&api, &g, &ids[0], |s| s["last_value"].as_f64() == Some(3.0)).await;
    assert_eq!(count["state"], "ok", "{count}");
    // A fourth collector: the count follows.
    create(
        &api,
        &g,
        json!([{"name": "fourth", "type": "prometheus", "metric": "fourth", "interval": 60,
        "args": {"url": format!("http://127.0.0.1:{port}"), "query": "vector(1)"}}]),
    )
    .await;
    status_when(&api, &g, &ids[0], |s| s["last_value"].as_f64() == Some(4.0)).await;
    let many = status_when(&api, &g, &ids[1], |s| {
        s["last_error"]["message"].as_str().is_some_and(|m| m.contains("series, and a collector reads one"))
    })
    .await;
    assert_eq!(many["state"], "failing");
    let bad = status_when(&api, &g, &ids[2], |s| s["failures"].as_u64() >= Some(1)).await;
    assert!(bad["last_error"]["message"].as_str().unwrap().starts_with("the query failed (400"), "{bad}");
}

#[tokio::test]
async fn a_jetstream_consumers_pending_messages_are_read() {
    if !support::service("NATS", NATS) {
        return;
    }
    let nats = async_nats::connect(NATS).await.unwrap();
    let jetstream = async_nats::jetstream::new(nats.clone());
    let name = format!("EBB_TEST_{}", std::process::id());
    let subject = format!("ebb.test.{}", std::process::id());
    let stream = jetstream
        .get_or_create_stream(async_nats::jetstream::stream::Config {
            name: name.clone(),
            subjects: vec![subject.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    stream
        .get_or_create_consumer(
            "workers",
            async_nats::jetstream::consumer::pull::Config {
                durable_name: Some("workers".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for i in 0..250 {
        jetstream.publish(subject.clone(), format!("job {i}").into()).await.unwrap().await.unwrap();
    }
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    let ids = create(
        &api,
        &g,
        json!([
            {"name": "pending", "type": "nats", "metric": "pending", "interval": 1,
             "args": {"url": format!("nats://{NATS}"), "stream": name, "consumer": "workers"}},
            {"name": "no consumer", "type": "nats", "metric": "nobody", "interval": 1,
             "args": {"url": format!("nats://{NATS}"), "stream": name, "consumer": "nobody"}},
            {"name": "no stream", "type": "nats", "metric": "nothing", "interval": 1,
             "args": {"url": format!("nats://{NATS}"), "stream": "NO_SUCH_STREAM", "consumer": "workers"}},
            {"name": "down", "type": "nats", "metric": "down", "interval": 1,
             "args": {"url": format!("nats://127.0.0.1:{}", free_port()), "stream": name, "consumer": "workers"}},
        ]),
    )
    .await;
    let pending = status_when(&api, &g, &ids[0], |s| s["last_value"].as_f64() == Some(250.0)).await;
    assert_eq!(pending["state"], "ok");
    let nobody = status_when(&api, &g, &ids[1], |s| s["failures"].as_u64() >= Some(1)).await;
    assert_eq!(nobody["last_error"]["message"], format!("stream {name:?} has no consumer \"nobody\""), "{nobody}");
    let nothing = status_when(&api, &g, &ids[2], |s| s["failures"].as_u64() >= Some(1)).await;
    assert_eq!(nothing["last_error"]["message"], "no stream \"NO_SUCH_STREAM\"", "{nothing}");
    let down = status_when(&api, &g, &ids[3], |s| s["failures"].as_u64() >= Some(1)).await;
    assert!(down["last_error"]["message"].as_str().unwrap().starts_with("cannot connect"), "{down}");
    jetstream.delete_stream(&name).await.unwrap();
}

#[tokio::test]
async fn a_mariadb_query_reads_a_backlog_read_only() {
    if !support::service("MariaDB", MARIADB) {
        return;
    }
    use mysql_async::prelude::Queryable;
    let url = format!("mysql://root@{MARIADB}/test");
    let mut db = mysql_async::Conn::new(mysql_async::Opts::from_url(&url).unwrap()).await.unwrap();
    let table = format!("ebb_jobs_{}", std::process::id());
    db.query_drop(format!("DROP TABLE IF EXISTS {table}")).await.unwrap();
    db.query_drop(format!("CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, done BOOLEAN NOT NULL)"))
        .await
        .unwrap();
    for i in 0..40 {
        db.query_drop(format!("INSERT INTO {table} (done) VALUES ({})", i % 4 == 0)).await.unwrap();
    }
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    let ids = create(
        &api,
        &g,
        json!([
            {"name": "backlog", "type": "sql", "metric": "backlog", "interval": 1,
             "args": {"url": format!("mariadb://root@{MARIADB}/test"), "query": format!("SELECT COUNT(*) FROM {table} WHERE NOT done")}},
            {"name": "write", "type": "sql", "metric": "write", "interval": 1,
             "args": {"url": url, "query": format!("INSERT INTO {table} (done) VALUES (false)")}},
            {"name": "text", "type": "sql", "metric": "text", "interval": 1,
             "args": {"url": url, "query": "SELECT 'many'"}},
            {"name": "wrong", "type": "sql", "metric": "wrong", "interval": 1,
             "args": {"url": format!("mysql://nobody:maria-wrong-pw@{MARIADB}/test"), "query": "SELECT 1"}},
        ]),
    )
    .await;
    let backlog = status_when(&api, &g, &ids[0], |s| s["reads"].as_u64() >= Some(1)).await;
    assert_eq!((backlog["state"].as_str(), backlog["last_value"].as_f64()), (Some("ok"), Some(30.0)), "{backlog}");
    let write = status_when(&api, &g, &ids[1], |s| s["failures"].as_u64() >= Some(1)).await;
    assert!(write["last_error"]["message"].as_str().unwrap().contains("READ ONLY"), "{write}");
    let text = status_when(&api, &g, &ids[2], |s| s["failures"].as_u64() >= Some(1)).await;
    assert!(text["last_error"]["message"].as_str().unwrap().contains("\"many\", not a number"), "{text}");
    let wrong = status_when(&api, &g, &ids[3], |s| s["failures"].as_u64() >= Some(1)).await;
    assert!(wrong["last_error"]["message"].as_str().unwrap().contains("Access denied"), "{wrong}");
    assert!(!server.log().contains("maria-wrong-pw") && !wrong.to_string().contains("maria-wrong-pw"));
    let rows: Option<i64> = db.query_first(format!("SELECT COUNT(*) FROM {table}")).await.unwrap();
    assert_eq!(rows, Some(40), "nothing written");
    db.query_drop(format!("DROP TABLE {table}")).await.unwrap();
    db.disconnect().await.unwrap();
}
