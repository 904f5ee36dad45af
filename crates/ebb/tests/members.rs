//! Members for real: `local_process` groups run `ebb demo-app` processes behind the built-in
//! load balancer; convergence starts, heals, drains and stops them. Real processes, real
//! HTTP, no fakes. Includes items 66–70 and 72–79 of `otter-api.md` §9.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Api, Server, eventually, free_port, processes_of};

fn demo_launch(port: u16, work_ms: u32) -> Value {
    let args = ["demo-app".to_string(), "--work-ms".into(), work_ms.to_string()];
    json!({"type": "local_process", "args": {
        "process": {"command": support::ebb_bin(), "args": args, "readiness": {"http": {"path": "/health"}}, "stop_timeout": 5},
        "loadBalancers": [{"type": "builtin", "port": port}],
        "draining_timeout": 10
    }})
}

fn demo_group(min: i64, max: i64, port: u16) -> Value {
    json!({
        "groupConfiguration": {"name": "demo", "cooldown": 0, "minEntities": min, "maxEntities": max},
        "launchConfiguration": demo_launch(port, 2),
    })
}

fn start_server() -> Server {
    Server::start_with(&["--build-timeout", "20", "--balancer-host", "127.0.0.1", "--self-heal-interval", "1"])
}

async fn state(api: &Api, group: &str) -> Value {
    api.get(&api.t(&format!("/groups/{group}/state"))).await.body["group"].clone()
}

async fn active(api: &Api, group: &str) -> i64 {
    state(api, group).await["activeCapacity"].as_i64().unwrap_or(-1)
}

async fn members(api: &Api, group: &str) -> Vec<Value> {
    api.get(&api.t(&format!("/groups/{group}/members"))).await.body["members"].as_array().cloned().unwrap_or_default()
}

/// Which member answered a request through the balancer.
async fn served_by(client: &reqwest::Client, port: u16) -> Option<String> {
    let response = client.get(format!("http://127.0.0.1:{port}/")).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    body["member"].as_str().map(str::to_string)
}

async fn execute(api: &Api, group: &str, policy: &str) {
    api.post_empty(&api.t(&format!("/groups/{group}/policies/{policy}/execute"))).await.ok(202);
}

#[tokio::test]
async fn three_members_start_serve_and_carry_their_names_and_environment() {
    let server = start_server();
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let g = api.create_group(demo_group(3, 10, port)).await;
    assert!(eventually(30, || async { active(&api, &g).await == 3 }).await, "3 active: {}", state(&api, &g).await);
    let state = state(&api, &g).await;
    assert_eq!((state["desiredCapacity"].as_i64(), state["pendingCapacity"].as_i64()), (Some(3), Some(0)));
    assert_eq!(state["active"].as_array().unwrap().len(), 3);
    let listed = members(&api, &g).await;
    let names: HashSet<String> = listed.iter().map(|m| m["name"].as_str().unwrap().to_string()).collect();
    for name in &names {
        let suffix = name.strip_prefix("demo-as").expect("{name}-as{8 hex}");
        assert!(suffix.len() == 8 && suffix.bytes().all(|b| b.is_ascii_hexdigit()), "item 79: {name}");
    }
    // The balancer serves from all three.
    let client = reqwest::Client::new();
    let mut seen = HashSet::new();
    for _ in 0..60 {
        seen.insert(served_by(&client, port).await.expect("served"));
    }
    assert_eq!(seen, names);
    // Each member has its environment.
    let member = &listed[0];
    let environ = std::fs::read(format!("/proc/{}/environ", member["pid"])).unwrap();
    let vars: Vec<String> = environ.split(|b| *b == 0).map(|v| String::from_utf8_lossy(v).into_owned()).collect();
    for expected in [
        format!("PORT={}", member["port"]),
        format!("EBB_GROUP_ID={g}"),
        format!("EBB_MEMBER_ID={}", member["id"].as_str().unwrap()),
        format!("EBB_MEMBER_NAME={}", member["name"].as_str().unwrap()),
    ] {
        assert!(vars.contains(&expected), "{expected} in the member's environment");
    }
    // Its output is in its log.
    let logs = api.get(&api.t(&format!("/groups/{g}/members/{}/logs", member["id"].as_str().unwrap()))).await;
    assert!(
        logs.body["lines"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains("demo-app listening")),
        "{}",
        logs.text
    );
    api.get(&api.t(&format!("/groups/{g}/members/../../x/logs"))).await;
    api.get(&api.t(&format!("/groups/{g}/members/not-a-member/logs"))).await.error(404, "ServerNotFoundError");
    // Statistics of the balancer.
    let stats = api.get(&api.t(&format!("/groups/{g}/stats"))).await;
    stats.ok(200);
    assert!(stats.body["loadBalancers"][0]["group"]["requests_total"].as_u64().unwrap() >= 60, "{}", stats.text);
    assert_eq!(stats.body["loadBalancers"][0]["members"].as_array().unwrap().len(), 3);
    assert!(stats.body["loadBalancers"][0]["group"]["p99_ms"].as_f64().unwrap() > 0.0);
    let metrics = server.anonymous().get("/metrics").await.text;
    let line = format!("ebb_balancer_requests_total{{group=\"{g}\",port=\"{port}\",member=\"\"}}");
    assert!(metrics.lines().any(|l| l.starts_with(&line)), "{line} in {metrics}");
    assert!(metrics.contains("ebb_balancer_response_time_milliseconds{"));
    // And through the CLI.
    let cli = |args: &[&str]| {
        let output = std::process::Command::new(support::ebb_bin())
            .args(args)
            .env("EBB_URL", &server.url)
            .env("EBB_TOKEN", api.token.as_deref().unwrap())
            .env("EBB_TENANT", "t1")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let table = cli(&["group", "stats", &g]);
    assert!(table.contains(&format!("port {port} (all)")) && table.contains("P99 MS"), "{table}");
    let member_id = member["id"].as_str().unwrap();
    assert!(cli(&["member", "list", &g]).contains(member_id));
    assert!(cli(&["member", "logs", &g, member_id]).contains("demo-app listening"));
}

#[tokio::test]
async fn serve_demo_sets_up_a_group_that_serves_and_scales_through_its_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("ebb.db");
    let port = free_port();
    let mut child = std::process::Command::new(support::ebb_bin())
        .args([
            "serve",
            "--demo",
            "--demo-port",
            &port.to_string(),
            "--listen",
            "127.0.0.1:0",
            "--balancer-host",
            "127.0.0.1",
        ])
        .arg("--store")
        .arg(format!("sqlite://{}", store.display()))
        .env("EBB_LOG", "warn")
        .env_remove("EBB_OPERATOR_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let url = lines.next().unwrap().unwrap().strip_prefix("listening on ").unwrap().to_string();
    let demo_line = lines.next().unwrap().unwrap();
    assert!(demo_line.contains("ebb.db.demo.txt"), "{demo_line}");
    let notes = std::fs::read_to_string(dir.path().join("ebb.db.demo.txt")).unwrap();
    let capabilities: Vec<&str> = notes.split_whitespace().filter(|w| w.contains("/v1.0/execute/1/")).collect();
    assert_eq!(capabilities.len(), 2, "{notes}");
    let token = std::fs::read_to_string(dir.path().join("ebb.db.operator-token")).unwrap();
    let mut api = Api::new(&url, Some(token.trim()));
    api.tenant = "demo".into();
    let groups = api.get(&api.t("/groups")).await.body["groups"].clone();
    let g = groups[0]["id"].as_str().unwrap().to_string();
    assert!(eventually(30, || async { active(&api, &g).await == 2 }).await);
    let client = reqwest::Client::new();
    assert!(served_by(&client, port).await.is_some(), "the demo group serves on its port");
    let up = capabilities.iter().find(|c| notes.lines().any(|l| l.starts_with("Scale up") && l.contains(*c))).unwrap();
    assert_eq!(client.post(*up).send().await.unwrap().status(), 202);
    assert!(eventually(30, || async { active(&api, &g).await == 4 }).await);
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    assert!(processes_of(&g).is_empty(), "stopping the server stops its members");
}

#[tokio::test]
async fn item_73_a_member_killed_out_of_band_is_replaced_within_two_seconds() {
    let server = start_server();
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let g = api.create_group(demo_group(3, 10, port)).await;
    assert!(eventually(30, || async { active(&api, &g).await == 3 }).await);
    let before = members(&api, &g).await;
    let victim = &before[0];
    let old_names: HashSet<String> = before.iter().map(|m| m["name"].as_str().unwrap().to_string()).collect();
    let killed = Instant::now();
    std::process::Command::new("kill").args(["-9", &victim["pid"].to_string()]).status().unwrap();
    let client = reqwest::Client::new();
    let mut replacement_served = None;
    while killed.elapsed() < Duration::from_secs(5) {
        if let Some(name) = served_by(&client, port).await
            && !old_names.contains(&name)
        {
            replacement_served = Some(killed.elapsed());
            break;
        }
    }
    let elapsed = replacement_served.expect("a replacement serves");
    assert!(elapsed < Duration::from_secs(2), "a replacement served after {elapsed:?}");
    assert!(eventually(10, || async { active(&api, &g).await == 3 }).await);
    assert_eq!(processes_of(&g).len(), 3);
}

#[tokio::test]
async fn scaling_1_8_1_three_times_under_load_fails_no_request_and_drains() {
    let server = start_server();
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let mut body = demo_group(1, 10, port);
    body["launchConfiguration"] = demo_launch(port, 10);
    let g = api.create_group(body).await;
    let up = api.create_policy(&g, json!({"name": "up", "type": "webhook", "cooldown": 0, "desiredCapacity": 8})).await;
    let down =
        api.create_policy(&g, json!({"name": "down", "type": "webhook", "cooldown": 0, "desiredCapacity": 1})).await;
    assert!(eventually(30, || async { active(&api, &g).await == 1 }).await);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let stop = stop.clone();
        load.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let (mut ok, mut failed) = (0u64, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match client.get(format!("http://127.0.0.1:{port}/")).send().await {
                    Ok(response) if response.status().is_success() => ok += 1,
                    Ok(response) => failed.push(format!("status {}", response.status())),
                    Err(err) => failed.push(err.to_string()),
                }
            }
            (ok, failed)
        }));
    }
    for round in 0..3 {
        execute(&api, &g, &up).await;
        assert!(eventually(30, || async { active(&api, &g).await == 8 }).await, "round {round}: 8 active");
        execute(&api, &g, &down).await;
        assert!(
            eventually(30, || async { active(&api, &g).await == 1 && members(&api, &g).await.len() == 1 }).await,
            "round {round}: back to 1: {:?}",
            members(&api, &g).await
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut failed) = (0, Vec::new());
    for worker in load {
        let (worker_ok, worker_failed) = worker.await.unwrap();
        ok += worker_ok;
        failed.extend(worker_failed);
    }
    assert!(ok > 100, "the load ran: {ok} requests");
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}",
        failed.len(),
        ok + failed.len() as u64,
        &failed[..failed.len().min(5)]
    );
    assert_eq!(processes_of(&g).len(), 1, "every removed member was stopped");
}

#[tokio::test]
async fn items_77_78_a_missing_command_is_an_error_the_user_can_fix() {
    let server = start_server();
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let mut body = demo_group(2, 5, port);
    body["launchConfiguration"]["args"]["process"]["command"] = json!("/usr/bin/nope");
    let g = api.create_group(body).await;
    assert!(eventually(10, || async { state(&api, &g).await["status"] == "ERROR" }).await);
    let errored = state(&api, &g).await;
    assert_eq!(errored["errors"], json!([{"message": "command not found: /usr/bin/nope"}]));
    assert_eq!(errored["activeCapacity"], 0);
    api.put(&api.t(&format!("/groups/{g}/launch")), demo_launch(port, 2)).await.ok(204);
    assert_eq!(state(&api, &g).await["status"], "ERROR", "a launch change alone does not converge");
    api.post_empty(&api.t(&format!("/groups/{g}/converge"))).await.ok(204);
    assert!(eventually(30, || async { active(&api, &g).await == 2 }).await);
    let fixed = state(&api, &g).await;
    assert_eq!(fixed["status"], "ACTIVE");
    assert!(fixed.get("errors").is_none());
}

#[tokio::test]
async fn a_member_that_keeps_exiting_puts_the_group_in_error() {
    let server = start_server();
    let api = server.local_tenant("t1").await;
    let body = json!({
        "groupConfiguration": {"name": "crash", "cooldown": 0, "minEntities": 1, "maxEntities": 5},
        "launchConfiguration": {"type": "local_process", "args": {"process": {"command": "false"}}},
    });
    let g = api.create_group(body).await;
    assert!(eventually(20, || async { state(&api, &g).await["status"] == "ERROR" }).await, "{}", state(&api, &g).await);
    let message = state(&api, &g).await["errors"][0]["message"].as_str().unwrap().to_string();
    assert!(message.contains("exited before they were ready"), "{message}");
}

#[tokio::test]
async fn a_balancer_port_in_use_is_an_error_naming_it() {
    let server = start_server();
    let api = server.local_tenant("t1").await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let g = api.create_group(demo_group(1, 5, port)).await;
    assert!(eventually(10, || async { state(&api, &g).await["status"] == "ERROR" }).await);
    assert_eq!(state(&api, &g).await["errors"][0]["message"], format!("port {port} is already in use"));
    drop(taken);
    api.post_empty(&api.t(&format!("/groups/{g}/converge"))).await.ok(204);
    assert!(eventually(30, || async { active(&api, &g).await == 1 }).await);
}

#[tokio::test]
async fn kill_9_of_the_server_mid_scale_up_leaves_no_orphan_and_no_duplicate() {
    let mut server = start_server();
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let g = api.create_group(demo_group(1, 10, port)).await;
    let up = api.create_policy(&g, json!({"name": "up", "type": "webhook", "cooldown": 0, "desiredCapacity": 6})).await;
    assert!(eventually(30, || async { active(&api, &g).await == 1 }).await);
    execute(&api, &g, &up).await;
    assert!(eventually(10, || async { processes_of(&g).len() >= 3 }).await, "the scale-up is under way");
    server.restart();
    let mut api = Api::new(&server.url, api.token.as_deref());
    api.tenant = "t1".into();
    assert!(eventually(30, || async { active(&api, &g).await == 6 }).await, "{}", state(&api, &g).await);
    let pids = processes_of(&g);
    let listed: HashSet<u64> = members(&api, &g).await.iter().map(|m| m["pid"].as_u64().unwrap()).collect();
    assert_eq!(pids.len(), 6, "exactly the desired number of member processes: {pids:?}");
    assert_eq!(pids.iter().map(|p| u64::from(*p)).collect::<HashSet<_>>(), listed, "every process is a managed member");
}

#[tokio::test]
async fn force_delete_stops_every_member_process() {
    let server = start_server();
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let g = api.create_group(demo_group(3, 10, port)).await;
    assert!(eventually(30, || async { active(&api, &g).await == 3 }).await);
    assert_eq!(processes_of(&g).len(), 3);
    api.delete(&api.t(&format!("/groups/{g}?force=true"))).await.ok(204);
    api.get(&api.t(&format!("/groups/{g}"))).await.error(404, "NoSuchScalingGroupError");
    assert!(eventually(20, || async { processes_of(&g).is_empty() }).await, "{:?}", processes_of(&g));
    assert!(
        eventually(5, || async { std::net::TcpStream::connect(("127.0.0.1", port)).is_err() }).await,
        "the balancer is closed"
    );
}

#[tokio::test]
async fn items_66_67_deleting_a_member_replaces_it_or_lowers_desired() {
    let server = start_server();
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let g = api.create_group(demo_group(2, 10, port)).await;
    assert!(eventually(30, || async { active(&api, &g).await == 2 }).await);
    let first = members(&api, &g).await[0]["id"].as_str().unwrap().to_string();
    let reply = api.delete(&api.t(&format!("/groups/{g}/servers/{first}"))).await;
    reply.ok(202);
    assert!(
        eventually(30, || async {
            let now = members(&api, &g).await;
            active(&api, &g).await == 2 && now.len() == 2 && now.iter().all(|m| m["id"] != first.as_str())
        })
        .await,
        "replaced: {:?}",
        members(&api, &g).await
    );
    assert_eq!(state(&api, &g).await["desiredCapacity"], 2);
    let second = members(&api, &g).await[0]["id"].as_str().unwrap().to_string();
    api.delete(&api.t(&format!("/groups/{g}/servers/{second}?replace=false")))
        .await
        .error(403, "CannotDeleteServerBelowMinError");
    let config = json!({"name": "demo", "cooldown": 0, "minEntities": 1, "maxEntities": 10, "metadata": {}});
    api.put(&api.t(&format!("/groups/{g}/config")), config).await.ok(204);
    api.delete(&api.t(&format!("/groups/{g}/servers/{second}?replace=false"))).await.ok(202);
    assert_eq!(state(&api, &g).await["desiredCapacity"], 1);
    assert!(eventually(30, || async { members(&api, &g).await.len() == 1 && active(&api, &g).await == 1 }).await);
    assert_eq!(processes_of(&g).len(), 1);
}

#[tokio::test]
async fn item_70_purge_false_disowns_a_member() {
    let server = start_server();
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let g = api.create_group(demo_group(1, 10, port)).await;
    assert!(eventually(30, || async { active(&api, &g).await == 1 }).await);
    let member = members(&api, &g).await[0].clone();
    let pid = member["pid"].as_u64().unwrap();
    api.delete(&api.t(&format!("/groups/{g}/servers/{}?purge=false", member["id"].as_str().unwrap()))).await.ok(202);
    assert!(
        eventually(30, || async {
            let now = members(&api, &g).await;
            now.len() == 1 && now[0]["id"] != member["id"] && active(&api, &g).await == 1
        })
        .await
    );
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "the disowned process still runs");
    std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
}

#[tokio::test]
async fn item_72_scaling_down_removes_the_oldest_members() {
    let server = start_server();
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let g = api.create_group(demo_group(1, 10, port)).await;
    assert!(eventually(30, || async { active(&api, &g).await == 1 }).await);
    let oldest = members(&api, &g).await[0]["id"].clone();
    let three =
        api.create_policy(&g, json!({"name": "3", "type": "webhook", "cooldown": 0, "desiredCapacity": 3})).await;
    let two = api.create_policy(&g, json!({"name": "2", "type": "webhook", "cooldown": 0, "desiredCapacity": 2})).await;
    execute(&api, &g, &three).await;
    assert!(eventually(30, || async { active(&api, &g).await == 3 }).await);
    execute(&api, &g, &two).await;
    assert!(eventually(30, || async { members(&api, &g).await.len() == 2 }).await);
    let remaining: Vec<Value> = members(&api, &g).await.iter().map(|m| m["id"].clone()).collect();
    assert!(!remaining.contains(&oldest), "the oldest member went first");
}

#[tokio::test]
async fn item_74_members_not_ready_within_the_build_timeout_are_replaced() {
    let server = Server::start_with(&["--build-timeout", "1", "--balancer-host", "127.0.0.1"]);
    let api = server.local_tenant("t1").await;
    let port = free_port();
    let mut body = demo_group(1, 10, port);
    body["launchConfiguration"]["args"]["process"]["readiness"] = json!({"http": {"path": "/never-ready"}});
    let g = api.create_group(body).await;
    let mut seen: HashMap<String, Instant> = HashMap::new();
    let started = Instant::now();
    while seen.len() < 3 && started.elapsed() < Duration::from_secs(15) {
        for member in members(&api, &g).await {
            seen.entry(member["id"].as_str().unwrap().to_string()).or_insert_with(Instant::now);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.len() >= 3, "members are replaced after the build timeout: {seen:?}");
    assert_eq!(active(&api, &g).await, 0);
    assert!(processes_of(&g).len() <= 2, "replaced members are stopped: {:?}", processes_of(&g));
}
