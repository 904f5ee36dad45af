//! Collectors end to end against the real binary and real sources: the API (batches, secrets
//! never shown, replacement keeping them, bad documents refused), HTTP probes and app
//! decisions against a local HTTP server, a Redis list feeding target tracking, a PostgreSQL
//! query; and sources that fail — refused connections, timeouts, wrong answers — seen as
//! recorded failures, with no secret in any answer or log line.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Api, Server, collector_status_when as status_when, free_port, group, poll};

const REDIS: &str = "127.0.0.1:6379";
const SECRET: &str = "Bearer s3cret-t0ken";

fn collectors(api: &Api, g: &str) -> String {
    api.t(&format!("/groups/{g}/collectors"))
}

/// A local HTTP server: `/health` answers after `delay_ms`, only with the secret header;
/// `/decision` answers `{"workers": {"wanted": N}}`; `/slow` never in time; `/text` is not
/// JSON.
async fn app(wanted: Arc<AtomicU64>) -> u16 {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    let port = free_port();
    let router = axum::Router::new()
        .route(
            "/health",
            get(|headers: HeaderMap| async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(SECRET) {
                    (StatusCode::OK, [("x-service-time", "42ms")], "ok")
                } else {
                    (StatusCode::UNAUTHORIZED, [("x-service-time", "0")], "who are you")
                }
            }),
        )
        .route(
            "/decision",
            get(move || {
                let wanted = wanted.clone();
                async move { axum::Json(json!({"workers": {"wanted": wanted.load(Ordering::Relaxed)}})) }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route("/text", get(|| async { "not json" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    port
}

async fn create(api: &Api, g: &str, body: Value) -> Vec<Value> {
    let reply = api.post(&collectors(api, g), body).await;
    reply.ok(201);
    reply.body["collectors"].as_array().unwrap().clone()
}

async fn show(api: &Api, g: &str, id: &str) -> Value {
    let reply = api.get(&one(api, g, id)).await;
    reply.ok(200);
    reply.body["collector"].clone()
}

fn one(api: &Api, g: &str, id: &str) -> String {
    api.t(&format!("/groups/{g}/collectors/{id}"))
}

#[tokio::test]
async fn collectors_are_managed_through_the_api_and_never_show_their_secrets() {
    let server = Server::start_verbose();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    let port = app(Arc::new(AtomicU64::new(3))).await;
    let probe = json!({"name": "health", "type": "http_probe", "metric": "health_ms", "interval": 1,
        "args": {"url": format!("http://127.0.0.1:{port}/health"), "headers": {"Authorization": SECRET, "Accept": "text/plain"}}});
    let created = create(&api, &g, json!([probe])).await;
    let id = created[0]["id"].as_str().unwrap().to_string();
    assert_eq!(created[0]["args"]["headers"], json!({"Authorization": "********", "Accept": "text/plain"}));
    assert_eq!(created[0]["status"]["state"], "pending");
    assert!(created[0]["links"][0]["href"].as_str().unwrap().ends_with(&format!("/collectors/{id}/")));

    // The secret is used: the probe succeeds, in about 30 ms.
    let ok = status_when(&api, &g, &id, |s| s["reads"].as_u64() >= Some(2)).await;
    assert_eq!((ok["state"].as_str(), ok["consecutive_failures"].as_u64()), (Some("ok"), Some(0)), "{ok}");
    let ms = ok["last_value"].as_f64().unwrap();
    assert!((25.0..2000.0).contains(&ms), "{ms} ms");

    // Sent back as shown, with another interval: the secret is kept, and still works.
    let mut edited = show(&api, &g, &id).await;
    for key in ["id", "links", "status"] {
        edited.as_object_mut().unwrap().remove(key);
    }
    edited["args"]["header"] = json!("X-Service-Time");
    let replaced = api.put(&one(&api, &g, &id), edited).await;
    replaced.ok(200);
    assert_eq!(replaced.body["collector"]["args"]["headers"]["Authorization"], "********");
    let header = status_when(&api, &g, &id, |s| s["last_value"].as_f64() == Some(42.0)).await;
    assert_eq!(header["state"], "ok", "{header}");

    // A wrong secret is a failure that says what the source answered.
    let mut wrong = show(&api, &g, &id).await;
    for key in ["id", "links", "status"] {
        wrong.as_object_mut().unwrap().remove(key);
    }
    wrong["args"]["headers"]["Authorization"] = json!("Bearer wrong-token");
    api.put(&one(&api, &g, &id), wrong).await.ok(200);
    let failing = status_when(&api, &g, &id, |s| s["consecutive_failures"].as_u64() >= Some(2)).await;
    assert_eq!(failing["state"], "failing");
    assert_eq!(failing["last_error"]["message"], "answered 401 Unauthorized, expected 2xx", "{failing}");

    // Listed, on /metrics, and never a secret anywhere.
    let listed = api.get(&collectors(&api, &g)).await;
    listed.ok(200);
    assert_eq!(listed.body["collectors"].as_array().unwrap().len(), 1);
    let metrics = reqwest::get(format!("{}/metrics", server.url)).await.unwrap().text().await.unwrap();
    let line = metrics.lines().find(|l| l.starts_with("ebb_collector_failures_total{")).unwrap_or_default();
    assert!(line.contains(&format!("collector=\"{id}\"")) && line.contains("type=\"http_probe\""), "{metrics}");
    for text in [listed.text.as_str(), metrics.as_str(), server.log().as_str()] {
        assert!(!text.contains("s3cret-t0ken") && !text.contains("wrong-token"), "a secret shown: {text}");
    }

    // Bad documents: refused with the field at fault, nothing stored.
    for (body, status, says) in [
        (json!({"name": "x"}), 400, "the body must be an array"),
        (json!([{"name": "q", "type": "ftp", "metric": "m", "args": {}}]), 400, "[0].type"),
        (
            json!([{"name": "q", "type": "redis", "metric": "m", "interval": 5, "timeout": 9,
            "args": {"url": "redis://127.0.0.1", "list": "q"}}]),
            400,
            "[0].timeout: 9 s is longer than the interval",
        ),
        (
            json!([{"name": "q", "type": "http_probe", "metric": "m", "args": {"url": "https://app.example/health"}}]),
            400,
            "[0].type: TLS (https, amqps, tls) is not available on this server",
        ),
        (
            json!([{"name": "q", "type": "redis", "metric": "m", "args": {"url": "redis://127.0.0.1", "list": "q", "sorted_set": "z"}}]),
            400,
            "[0].args: exactly one of list, sorted_set or stream",
        ),
    ] {
        let reply = api.post(&collectors(&api, &g), body.clone()).await;
        reply.error(status, "ValidationError");
        assert!(reply.text.contains(says), "{body} → {}", reply.text);
    }
    let placeholder = json!({"name": "p", "type": "redis", "metric": "m", "args": {"url": "redis://:********@127.0.0.1", "list": "q"}});
    api.put(&one(&api, &g, &id), placeholder).await.error(400, "ValidationError");
    api.get(&one(&api, &g, "nope")).await.error(404, "NoSuchCollectorError");
    let other = server.tenant("t2").await;
    other.get(&collectors(&other, &g)).await.error(404, "NoSuchScalingGroupError");
    assert_eq!(api.get(&collectors(&api, &g)).await.body["collectors"].as_array().unwrap().len(), 1);

    api.delete(&one(&api, &g, &id)).await.ok(204);
    api.get(&one(&api, &g, &id)).await.error(404, "NoSuchCollectorError");
}

#[tokio::test]
async fn an_app_decides_and_failing_sources_are_recorded_without_a_crash() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    // The app's answer is the number of workers per member: kept at 1 each.
    let policy = json!([{"name": "app", "type": "target_tracking", "cooldown": 0, "args": {"metric": "wanted",
        "target": {"type": "AverageValue", "averageValue": 1}, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}},
        // Reads what the refused probe records: its penalty.
        {"name": "penalized", "type": "target_tracking", "cooldown": 0, "dry_run": true, "args": {"metric": "refused_ms",
        "target": {"type": "Value", "value": 1000}}}]);
    api.post(&api.t(&format!("/groups/{g}/policies")), policy).await.ok(201);
    let wanted = Arc::new(AtomicU64::new(4));
    let port = app(wanted.clone()).await;
    let closed = free_port();
    let created = create(
        &api,
        &g,
        json!([
            {"name": "decision", "type": "app_decision", "metric": "wanted", "interval": 1,
             "args": {"url": format!("http://127.0.0.1:{port}/decision"), "pointer": "/workers/wanted"}},
            {"name": "refused", "type": "http_probe", "metric": "refused_ms", "interval": 1,
             "args": {"url": format!("http://127.0.0.1:{closed}/"), "penalty": 5000}},
            {"name": "slow", "type": "http_probe", "metric": "slow_ms", "interval": 2, "timeout": 0.5,
             "args": {"url": format!("http://127.0.0.1:{port}/slow")}},
            {"name": "text", "type": "app_decision", "metric": "text", "interval": 1,
             "args": {"url": format!("http://127.0.0.1:{port}/text")}},
            {"name": "prometheus", "type": "prometheus", "metric": "prom", "interval": 1,
             "args": {"url": format!("http://127.0.0.1:{closed}"), "query": "sum(up)"}},
        ]),
    )
    .await;
    let id = |i: usize| created[i]["id"].as_str().unwrap().to_string();
    assert!(poll(20, || async { (api.desired(&g).await == 4).then_some(()) }).await.is_some(), "4 workers wanted");
    wanted.store(2, Ordering::Relaxed);
    assert!(poll(20, || async { (api.desired(&g).await == 2).then_some(()) }).await.is_some(), "then 2");

    for (index, says) in [
        (1, "cannot connect"),
        (2, "no answer within the timeout of 0.5 s"),
        (3, "the answer is not JSON"),
        (4, "cannot connect"),
    ] {
        let status = status_when(&api, &g, &id(index), |s| s["consecutive_failures"].as_u64() >= Some(1)).await;
        let message = status["last_error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{}: {message}", created[index]["name"]);
        assert_eq!(status["state"], "failing");
    }
    // The refused probe's penalty is its value; explain shows every collector's state.
    let explain = api.get(&api.t(&format!("/groups/{g}/explain"))).await;
    explain.ok(200);
    let penalized = explain.body["explain"]["policies"].as_array().unwrap().iter().find(|p| p["name"] == "penalized");
    assert_eq!(penalized.unwrap()["inputs"]["value"], 5000.0, "{}", explain.text);
    let states: Vec<(&str, &str)> = explain.body["explain"]["collectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["status"]["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states.iter().filter(|(_, state)| *state == "failing").count(),
        4,
        "{states:?}: only the decision reads well"
    );
    assert!(states.contains(&("decision", "ok")), "{states:?}");
    assert!(server.log().lines().all(|l| !l.contains("panicked")), "{}", server.log());
}

#[tokio::test]
async fn a_redis_list_feeds_target_tracking_per_member() {
    if !support::service("Redis", REDIS) {
        return;
    }
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    let key = format!("ebb-test-queue-{g}");
    let client = redis::Client::open(format!("redis://{REDIS}/")).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let jobs: Vec<String> = (0..500).map(|i| format!("job-{i}")).collect();
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut redis).await.unwrap();
    let _: i64 = redis::cmd("RPUSH").arg(&key).arg(&jobs).query_async(&mut redis).await.unwrap();
    // 7 delayed jobs in a sorted set; a stream of 5 entries its group has not read.
    for i in 0..7 {
        let _: i64 = redis::cmd("ZADD")
            .arg(format!("{key}-delayed"))
            .arg(i)
            .arg(format!("d{i}"))
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    for i in 0..5 {
        let _: String = redis::cmd("XADD")
            .arg(format!("{key}-stream"))
            .arg("*")
            .arg("job")
            .arg(i)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(format!("{key}-stream"))
        .arg("workers")
        .arg("0")
        .query_async(&mut redis)
        .await
        .unwrap();
    // 100 jobs a member.
    let policy = json!([{"name": "queue", "type": "target_tracking", "cooldown": 0, "args": {"metric": "queue_length",
        "target": {"type": "AverageValue", "averageValue": 100}, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}}]);
    api.post(&api.t(&format!("/groups/{g}/policies")), policy).await.ok(201);
    let created = create(
        &api,
        &g,
        json!([
            {"name": "celery", "type": "redis", "metric": "queue_length", "interval": 1,
             "args": {"url": format!("redis://{REDIS}/0"), "list": key}},
            {"name": "down", "type": "redis", "metric": "other", "interval": 1,
             "args": {"url": format!("redis://:hunter22@127.0.0.1:{}/0", free_port()), "list": key}},
            {"name": "delayed", "type": "redis", "metric": "delayed", "interval": 1,
             "args": {"url": format!("redis://{REDIS}/0"), "sorted_set": format!("{key}-delayed")}},
            {"name": "stream", "type": "redis", "metric": "lag", "interval": 1,
             "args": {"url": format!("redis://{REDIS}/0"), "stream": format!("{key}-stream"), "group": "workers"}},
            {"name": "no group", "type": "redis", "metric": "no_group", "interval": 1,
             "args": {"url": format!("redis://{REDIS}/0"), "stream": format!("{key}-stream"), "group": "nobody"}},
        ]),
    )
    .await;
    assert!(poll(20, || async { (api.desired(&g).await == 5).then_some(()) }).await.is_some(), "500 jobs: 5 members");
    let status = show(&api, &g, created[0]["id"].as_str().unwrap()).await["status"].clone();
    assert_eq!(status["last_value"], 500.0);
    // Drained to 120: 2 members.
    let _: () = redis::cmd("LTRIM").arg(&key).arg(0).arg(119).query_async(&mut redis).await.unwrap();
    assert!(poll(20, || async { (api.desired(&g).await == 2).then_some(()) }).await.is_some(), "120 jobs: 2 members");
    let down =
        status_when(&api, &g, created[1]["id"].as_str().unwrap(), |s| s["consecutive_failures"].as_u64() >= Some(2))
            .await;
    let message = down["last_error"]["message"].as_str().unwrap();
    assert!(message.contains("cannot connect") || message.contains("refused"), "{message}");
    assert!(!server.log().contains("hunter22") && !down.to_string().contains("hunter22"));
    let id = |i: usize| created[i]["id"].as_str().unwrap().to_string();
    status_when(&api, &g, &id(2), |s| s["last_value"].as_f64() == Some(7.0)).await;
    status_when(&api, &g, &id(3), |s| s["last_value"].as_f64() == Some(5.0)).await;
    let nobody = status_when(&api, &g, &id(4), |s| s["failures"].as_u64() >= Some(1)).await;
    assert_eq!(nobody["last_error"]["message"], format!("stream \"{key}-stream\" has no consumer group \"nobody\""));
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .arg(format!("{key}-delayed"))
        .arg(format!("{key}-stream"))
        .query_async(&mut redis)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_sql_query_reads_a_backlog_read_only() {
    let address = "127.0.0.1:5432";
    if !support::service("PostgreSQL", address) {
        return;
    }
    let url =
        std::env::var("EBB_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let table = format!("ebb_jobs_{}", std::process::id());
    db.batch_execute(&format!("DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id SERIAL, done BOOLEAN NOT NULL)"))
        .await
        .unwrap();
    db.batch_execute(&format!("INSERT INTO {table} (done) SELECT i % 4 = 0 FROM generate_series(1, 80) i"))
        .await
        .unwrap();
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    let created = create(
        &api,
        &g,
        json!([
            {"name": "backlog", "type": "sql", "metric": "backlog", "interval": 1,
             "args": {"url": url, "query": format!("SELECT count(*) FROM {table} WHERE NOT done")}},
            {"name": "text", "type": "sql", "metric": "text", "interval": 1,
             "args": {"url": url, "query": "SELECT 'many'"}},
            {"name": "write", "type": "sql", "metric": "write", "interval": 1,
             "args": {"url": url, "query": format!("INSERT INTO {table} (done) VALUES (false) RETURNING id")}},
        ]),
    )
    .await;
    let id = |i: usize| created[i]["id"].as_str().unwrap().to_string();
    let backlog = status_when(&api, &g, &id(0), |s| s["reads"].as_u64() >= Some(1)).await;
    assert_eq!((backlog["state"].as_str(), backlog["last_value"].as_f64()), (Some("ok"), Some(60.0)), "{backlog}");
    let text = status_when(&api, &g, &id(1), |s| s["failures"].as_u64() >= Some(1)).await;
    assert!(text["last_error"]["message"].as_str().unwrap().contains("\"many\", not a number"), "{text}");
    let write = status_when(&api, &g, &id(2), |s| s["failures"].as_u64() >= Some(1)).await;
    assert!(write["last_error"]["message"].as_str().unwrap().contains("read-only transaction"), "{write}");
    let rows: i64 = db.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0);
    assert_eq!(rows, 80, "nothing written");
    db.batch_execute(&format!("DROP TABLE {table}")).await.unwrap();
}

fn cli(server: &Server, api: &Api, args: &[&str]) -> std::process::Output {
    std::process::Command::new(support::ebb_bin())
        .args(args)
        .env("EBB_URL", &server.url)
        .env("EBB_TOKEN", api.token.as_deref().unwrap())
        .env("EBB_TENANT", "t1")
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_cli_creates_lists_shows_updates_and_deletes_collectors() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue.yaml");
    std::fs::write(
        &file,
        "name: queue\ntype: redis\nmetric: queue_length\ninterval: 30\nargs:\n  url: redis://:s3cret-pw@127.0.0.1:6379/0\n  list: celery\n",
    )
    .unwrap();
    let created = cli(&server, &api, &["collector", "create", &g, "-f", file.to_str().unwrap(), "--output", "json"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let body: Value = serde_json::from_slice(&created.stdout).unwrap();
    let id = body["collectors"][0]["id"].as_str().unwrap().to_string();
    let listed = cli(&server, &api, &["collector", "list", &g]);
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(table.contains(&id) && table.contains("queue_length") && table.contains("redis"), "{table}");
    let shown = cli(&server, &api, &["collector", "show", &g, &id, "--output", "json"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("redis://:********@127.0.0.1:6379/0") && !text.contains("s3cret-pw"), "{text}");
    // The document shown, edited and sent back, keeps the password.
    std::fs::write(&file, "name: queue\ntype: redis\nmetric: queue_length\ninterval: 60\nargs:\n  url: redis://:********@127.0.0.1:6379/0\n  list: celery\n").unwrap();
    let updated = cli(&server, &api, &["collector", "update", &g, &id, "-f", file.to_str().unwrap()]);
    assert!(updated.status.success(), "{}", String::from_utf8_lossy(&updated.stderr));
    let shown = api.get(&one(&api, &g, &id)).await;
    assert_eq!(shown.body["collector"]["interval"], 60);
    // `ebb group explain` shows the collector and how it is doing.
    let explain = cli(&server, &api, &["group", "explain", &g]);
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(text.contains(&format!("collector queue {id} [redis] → queue_length: ")), "{text}");
    // A bad document: the API's message, exit code 1; then deleted.
    std::fs::write(&file, "name: queue\ntype: redis\nmetric: queue length\nargs: {url: 'redis://h', list: q}\n")
        .unwrap();
    let refused = cli(&server, &api, &["collector", "create", &g, "-f", file.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("[0].metric"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let deleted = cli(&server, &api, &["collector", "delete", &g, &id]);
    assert!(deleted.status.success());
    api.get(&one(&api, &g, &id)).await.error(404, "NoSuchCollectorError");
}

#[tokio::test]
async fn a_failing_collector_feeds_its_policys_fallback_at_once() {
    if !support::service("Redis", REDIS) {
        return;
    }
    let server = Server::start_with(&["--measure-interval", "0.5"]);
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    let key = format!("ebb-test-fallback-{g}");
    let client = redis::Client::open(format!("redis://{REDIS}/")).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let jobs: Vec<String> = (0..20).map(|i| format!("job-{i}")).collect();
    let _: i64 = redis::cmd("RPUSH").arg(&key).arg(&jobs).query_async(&mut redis).await.unwrap();
    // 10 jobs a member; once the queue cannot be read twice in a row, 4 members.
    let policy = json!([{"name": "queue", "type": "target_tracking", "cooldown": 0,
        "fallback": {"after": 2, "action": "fixed", "members": 4},
        "args": {"metric": "queue_length", "target": {"type": "AverageValue", "averageValue": 10}}}]);
    api.post(&api.t(&format!("/groups/{g}/policies")), policy).await.ok(201);
    let body = |url: String| {
        json!({"name": "celery", "type": "redis", "metric": "queue_length", "interval": 1,
        "args": {"url": url, "list": key}})
    };
    let created = create(&api, &g, json!([body(format!("redis://{REDIS}/0"))])).await;
    let id = created[0]["id"].as_str().unwrap().to_string();
    assert!(poll(20, || async { (api.desired(&g).await == 2).then_some(()) }).await.is_some(), "20 jobs: 2");
    // The source goes away: its last value stops counting at once (not when it would go
    // stale, two minutes on), and the fallback takes over.
    api.put(&one(&api, &g, &id), body(format!("redis://127.0.0.1:{}/0", free_port()))).await.ok(200);
    let fell_back = poll(15, || async { (api.desired(&g).await == 4).then_some(()) }).await;
    assert!(fell_back.is_some(), "the fallback's 4");
    let history = api.get(&api.t(&format!("/groups/{g}/history?source=metric"))).await;
    let reason = history.body["history"][0]["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("fallback"), "{reason}");
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut redis).await.unwrap();
}

#[tokio::test]
async fn cloud_foundry_rules_act_on_a_collectors_metric() {
    // Breaches and cooldowns of 60 s last 3 s here.
    let server = Server::start_with(&["--rules-time-scale", "0.05"]);
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    let rules = json!({"instance_min_count": 1, "instance_max_count": 3, "scaling_rules": [
        {"metric_type": "wanted", "threshold": 3, "operator": ">", "adjustment": "+1", "breach_duration_secs": 60, "cool_down_secs": 60}]});
    api.put(&format!("/v1/apps/{g}/policy"), rules).await.ok(200);
    let port = app(Arc::new(AtomicU64::new(8))).await;
    create(
        &api,
        &g,
        json!([{"name": "decision", "type": "app_decision", "metric": "wanted", "interval": 1,
                "args": {"url": format!("http://127.0.0.1:{port}/decision"), "pointer": "/workers/wanted"}}]),
    )
    .await;
    // The app asks for 8 without end: the rule adds one member a breach, up to the policy's 3.
    assert!(poll(30, || async { (api.desired(&g).await == 3).then_some(()) }).await.is_some(), "the rule scaled out");
    let history = api.get(&format!("/v1/apps/{g}/scaling_histories?order-direction=asc")).await;
    let reasons: Vec<&str> =
        history.body["resources"].as_array().unwrap().iter().filter_map(|r| r["reason"].as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("wanted > 3")), "{reasons:?}");
}
