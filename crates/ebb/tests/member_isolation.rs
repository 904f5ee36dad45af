//! Members are contained: they see a clean environment, run as an unprivileged account when
//! asked, cannot read the server's files, never outlive their member (even when they
//! daemonize, even after a `kill -9` of the server), write bounded logs that go with their
//! group, and a member that never becomes ready puts its group in ERROR. Real processes
//! against the real binary.

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};
use support::{Api, Options, Server, environment_of, eventually, poll, processes_of, processes_with};

/// A group of one `local_process` member running `command args…`, ready at once.
fn group_running(command: &str, args: &[&str], env: Value) -> Value {
    json!({
        "groupConfiguration": {"name": "iso", "cooldown": 0, "minEntities": 1, "maxEntities": 3},
        "launchConfiguration": {"type": "local_process", "args": {
            "process": {"command": command, "args": args, "env": env, "readiness": {"none": {}}, "stop_timeout": 2}
        }},
    })
}

async fn members(api: &Api, group: &str) -> Vec<Value> {
    api.get(&api.t(&format!("/groups/{group}/members"))).await.body["members"].as_array().cloned().unwrap_or_default()
}

/// The one running member of a group, once it has a process.
async fn running_member(api: &Api, group: &str) -> Value {
    let found = poll(20, || async {
        members(api, group).await.into_iter().find(|m| m["status"] == "active" && m["pid"].is_u64())
    })
    .await;
    found.unwrap_or_else(|| panic!("a member of {group} runs"))
}

async fn log_lines(api: &Api, group: &str, member: &str, tail: usize) -> (Vec<String>, Value) {
    let reply = api.get(&api.t(&format!("/groups/{group}/members/{member}/logs?tail={tail}"))).await;
    reply.ok(200);
    let lines = reply.body["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
    (lines, reply.body.clone())
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|err| panic!("{}: {err}", path.display())).permissions().mode() & 0o777
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

#[tokio::test]
async fn members_see_only_their_own_environment_never_the_servers() {
    let options = Options {
        env: vec![("SERVER_SECRET".into(), "do-not-leak".into())],
        ..Options::args(&["--self-heal-interval", "1"])
    };
    let server = Server::start_options(options);
    let api = server.local_tenant("t1").await;
    // A member that tries to print the server's secrets into its log, which its tenant reads.
    let printer = api
        .create_group(group_running(
            "/bin/sh",
            &["-c", "echo token=[$EBB_OPERATOR_TOKEN] secret=[$SERVER_SECRET] custom=[$CUSTOM]; exec sleep 600"],
            json!({"CUSTOM": "mine"}),
        ))
        .await;
    let member = running_member(&api, &printer).await;
    let id = member["id"].as_str().unwrap().to_string();
    let lines = poll(10, || async { Some(log_lines(&api, &printer, &id, 10).await.0).filter(|l| !l.is_empty()) })
        .await
        .expect("the member wrote its line");
    assert_eq!(lines, ["token=[] secret=[] custom=[mine]"]);
    // Exactly: what the launch configuration sets, PATH, PORT and the documented EBB_* variables.
    let plain = api.create_group(group_running("sleep", &["600"], json!({"CUSTOM": "mine", "PORT": "1"}))).await;
    let member = running_member(&api, &plain).await;
    let environment = environment_of(member["pid"].as_u64().unwrap() as u32);
    let names: BTreeSet<&str> = environment.iter().map(|v| v.split('=').next().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["CUSTOM", "EBB_GROUP_ID", "EBB_MEMBER_ID", "EBB_MEMBER_NAME", "PATH", "PORT"]));
    assert!(environment.contains(&format!("PORT={}", member["port"])), "Ebb's PORT wins: {environment:?}");
}

#[tokio::test]
async fn forbidding_local_processes_stops_the_tenants_members() {
    let server = Server::start_with(&["--self-heal-interval", "1"]);
    let api = server.local_tenant("t1").await;
    let g = api.create_group(group_running("sleep", &["600"], json!({}))).await;
    running_member(&api, &g).await;
    assert_eq!(processes_of(&g).len(), 1);
    server.operator().put("/admin/v1/tenants/t1/local-process", json!({"enabled": false})).await.ok(200);
    assert!(eventually(20, || async { processes_of(&g).is_empty() }).await, "members stopped");
    // The pass that stops the members records the error once they are gone.
    let state_path = api.t(&format!("/groups/{g}/state"));
    let errored = poll(10, || async {
        Some(api.get(&state_path).await.body["group"].clone()).filter(|state| state["status"] == "ERROR")
    });
    let Some(state) = errored.await else {
        panic!("the group did not go to ERROR: {}", api.get(&state_path).await.text);
    };
    assert!(state["errors"][0]["message"].as_str().unwrap().contains("not enabled for tenant t1"), "{state}");
    // Allowed again: the group comes back.
    server.operator().put("/admin/v1/tenants/t1/local-process", json!({"enabled": true})).await.ok(200);
    running_member(&api, &g).await;
}

#[tokio::test]
async fn the_servers_files_are_readable_by_its_user_only() {
    // Without EBB_OPERATOR_TOKEN the server writes its token file.
    let options = Options { operator_token_env: false, ..Options::args(&["--self-heal-interval", "1"]) };
    let server = Server::start_options(options);
    let dir = server.dir.path();
    let token = std::fs::read_to_string(dir.join("ebb.db.operator-token")).unwrap();
    let api = Api::new(&server.url, Some(token.trim()));
    api.post("/admin/v1/tenants", json!({"id": "t1"})).await.ok(201);
    api.put("/admin/v1/tenants/t1/local-process", json!({"enabled": true})).await.ok(200);
    let mut api = api;
    api.tenant = "t1".into();
    let g = api.create_group(group_running("sh", &["-c", "echo hello; exec sleep 600"], json!({}))).await;
    let member = running_member(&api, &g).await;
    let logs = dir.join("ebb.db.members");
    let log = logs.join(&g).join(format!("{}.log", member["id"].as_str().unwrap()));
    assert!(eventually(10, || async { log.exists() }).await);
    for (path, expected) in [
        (dir.join("ebb.db"), 0o600),
        (dir.join("ebb.db-wal"), 0o600),
        (dir.join("ebb.db-shm"), 0o600),
        (dir.join("ebb.db.operator-token"), 0o600),
        (logs.clone(), 0o700),
        (logs.join(&g), 0o700),
        (log, 0o600),
    ] {
        assert_eq!(mode(&path), expected, "mode of {}", path.display());
    }
}

#[tokio::test]
async fn members_run_as_the_member_user_and_cannot_read_the_store() {
    if !is_root() {
        // Changing user needs root; CI runs as root.
        assert!(std::env::var("CI").is_err(), "CI must run this test as root");
        eprintln!("skipped: --member-user needs the tests to run as root");
        return;
    }
    let server = Server::start_with(&["--member-user", "nobody", "--self-heal-interval", "1"]);
    let api = server.local_tenant("t1").await;
    let store = server.store_path();
    let script = format!(
        "echo uid=$(id -u) gid=$(id -g); cat {} > /dev/null 2>&1 && echo read || echo denied; exec sleep 600",
        store.display()
    );
    let g = api.create_group(group_running("/bin/sh", &["-c", &script], json!({}))).await;
    let member = running_member(&api, &g).await;
    let id = member["id"].as_str().unwrap().to_string();
    let lines = poll(10, || async { Some(log_lines(&api, &g, &id, 10).await.0).filter(|l| l.len() >= 2) })
        .await
        .expect("the member wrote its lines");
    assert_eq!(lines, ["uid=65534 gid=65534", "denied"]);
    // Without --member-user, a server running as root says so when it starts.
    let unsafe_server = Server::start();
    assert!(unsafe_server.log().contains("--member-user is not set"), "{}", unsafe_server.log());
    assert!(!server.log().contains("--member-user is not set"));
}

/// A member whose shell starts a daemon: a child that calls `setsid` in a subshell that exits,
/// so the daemon leaves the member's process group, session and process tree.
fn daemonizing_group() -> Value {
    group_running("/bin/sh", &["-c", "(setsid sleep 601 &); exec sleep 600"], json!({}))
}

#[tokio::test]
async fn a_daemonized_child_is_stopped_with_its_member_and_its_group() {
    let server = Server::start_with(&["--self-heal-interval", "1"]);
    let api = server.local_tenant("t1").await;
    let g = api.create_group(daemonizing_group()).await;
    let member = running_member(&api, &g).await;
    let id = member["id"].as_str().unwrap().to_string();
    assert!(eventually(10, || async { processes_with("EBB_MEMBER_ID", &id).len() == 2 }).await, "member and daemon");
    // Removing the member stops both.
    api.delete(&api.t(&format!("/groups/{g}/servers/{id}?replace=true"))).await.ok(202);
    assert!(
        eventually(20, || async { processes_with("EBB_MEMBER_ID", &id).is_empty() }).await,
        "left: {:?}",
        processes_with("EBB_MEMBER_ID", &id)
    );
    // Its replacement daemonizes too; deleting the group stops everything.
    let replacement = running_member(&api, &g).await;
    let replacement = replacement["id"].as_str().unwrap().to_string();
    assert!(eventually(10, || async { processes_with("EBB_MEMBER_ID", &replacement).len() == 2 }).await);
    api.delete(&api.t(&format!("/groups/{g}?force=true"))).await.ok(204);
    assert!(eventually(20, || async { processes_of(&g).is_empty() }).await, "left: {:?}", processes_of(&g));
}

#[tokio::test]
async fn after_kill_9_of_the_server_the_next_start_stops_daemonized_leftovers() {
    let mut server = Server::start_with(&["--self-heal-interval", "1"]);
    let api = server.local_tenant("t1").await;
    let g = api.create_group(daemonizing_group()).await;
    let member = running_member(&api, &g).await;
    let id = member["id"].as_str().unwrap().to_string();
    assert!(eventually(10, || async { processes_with("EBB_MEMBER_ID", &id).len() == 2 }).await);
    server.restart();
    assert!(
        eventually(20, || async { processes_with("EBB_MEMBER_ID", &id).is_empty() }).await,
        "left: {:?}",
        processes_with("EBB_MEMBER_ID", &id)
    );
    // The group goes on with a new member, and stopping the server stops it and its daemon.
    let mut api = Api::new(&server.url, api.token.as_deref());
    api.tenant = "t1".into();
    let fresh = running_member(&api, &g).await;
    let fresh = fresh["id"].as_str().unwrap().to_string();
    assert!(eventually(10, || async { processes_with("EBB_MEMBER_ID", &fresh).len() == 2 }).await);
    server.terminate();
    assert!(processes_of(&g).is_empty(), "left after a graceful stop: {:?}", processes_of(&g));
}

#[tokio::test]
async fn member_logs_are_capped_rotated_bounded_and_removed_with_their_group() {
    let server = Server::start_with(&["--member-log-max-bytes", "1048576", "--self-heal-interval", "1"]);
    let api = server.local_tenant("t1").await;
    // About 3 MB of output, then a last line.
    let script = "i=0; while [ $i -lt 30000 ]; do echo line-$i-0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890; i=$((i+1)); done; echo last; exec sleep 600";
    let g = api.create_group(group_running("/bin/sh", &["-c", script], json!({}))).await;
    let member = running_member(&api, &g).await;
    let id = member["id"].as_str().unwrap().to_string();
    let dir = server.dir.path().join("ebb.db.members").join(&g);
    let live = dir.join(format!("{id}.log"));
    let done = eventually(60, || async { log_lines(&api, &g, &id, 5).await.0.last().is_some_and(|l| l == "last") });
    assert!(done.await, "the member wrote everything");
    let size = |path: &std::path::Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let total = size(&live) + size(&dir.join(format!("{id}.log.1")));
    assert!(total <= 1048576, "the member's logs take {total} bytes, over the cap");
    assert!(total > 524288, "and were rotated: {total}");
    // Whatever `tail` asks, a bounded answer.
    let (all, body) = log_lines(&api, &g, &id, 1_000_000).await;
    assert_eq!(body["truncated"], true);
    assert!(all.iter().map(|l| l.len() + 1).sum::<usize>() <= 256 * 1024);
    assert_eq!(all.last().map(String::as_str), Some("last"));
    // Deleting the group removes its logs.
    api.delete(&api.t(&format!("/groups/{g}?force=true"))).await.ok(204);
    assert!(eventually(20, || async { !dir.exists() }).await, "{} removed", dir.display());
}

#[tokio::test]
async fn a_member_that_never_becomes_ready_puts_its_group_in_error() {
    let server = Server::start_with(&["--build-timeout", "0.3", "--self-heal-interval", "1"]);
    let api = server.local_tenant("t1").await;
    let body = json!({
        "groupConfiguration": {"name": "never", "cooldown": 0, "minEntities": 1, "maxEntities": 3},
        "launchConfiguration": {"type": "local_process", "args": {
            "process": {"command": "sleep", "args": ["600"], "readiness": {"http": {"path": "/ready"}}, "stop_timeout": 1}
        }},
    });
    let g = api.create_group(body).await;
    let state = poll(30, || async {
        Some(api.get(&api.t(&format!("/groups/{g}/state"))).await.body["group"].clone())
            .filter(|state| state["status"] == "ERROR")
    })
    .await
    .expect("the group goes to ERROR");
    let message = state["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("readiness check") && message.contains("GET of /ready"), "{state}");
    assert!(eventually(10, || async { processes_of(&g).is_empty() }).await, "no member is left starting");
}
