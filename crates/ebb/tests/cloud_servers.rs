//! `launch_server` groups end to end: a real `ebb serve` converging real (mimic's) Nova
//! servers behind Cloud Load Balancers and RackConnect v3 pools, as Otter's integration tests
//! did against mimic: scaling up and down with Otter's names and the ServiceNet address on the
//! load balancer, draining, removal order, self-healing, mimic's creation behaviours, errors a
//! user can act on and the way back from them, and servers removed through the API.

mod support;

use serde_json::{Value, json};
use support::mimic::{Mimic, Project};
use support::{Api, Server, eventually};

const IMAGE: &str = "3cfb8a2e-0a0c-4f5c-8d1e-0f2d7b3f1a11";
const SERVICENET: &str = "11111111-1111-1111-1111-111111111111";

/// A server whose cloud calls are not throttled and whose groups are gathered again soon.
fn server() -> Server {
    server_with(&[])
}

/// The same, with more flags.
fn server_with(extra: &[&str]) -> Server {
    let mut args = vec![
        "--cloud-create-interval",
        "0",
        "--cloud-delete-interval",
        "0",
        "--clb-change-interval",
        "0",
        "--cloud-retry-interval",
        "0.2",
        "--self-heal-interval",
        "1",
    ];
    args.extend_from_slice(extra);
    Server::start_with(&args)
}

/// Ebb, mimic, a tenant of Ebb's using the test project, and the project itself.
async fn setup(server: &Server) -> Option<(Mimic, Api, Project)> {
    let mimic = Mimic::start().await?;
    let api = server.tenant("t1").await;
    server.operator().put("/admin/v1/tenants/t1/cloud", mimic.settings()).await.ok(200);
    let project = mimic.project().await;
    Some((mimic, api, project))
}

fn launch(name: &str, balancers: Value, draining: Option<u64>) -> Value {
    let mut args = json!({"server": {"name": name, "flavorRef": "2", "imageRef": IMAGE,
        "networks": [{"uuid": SERVICENET}], "metadata": {"team": "blue"}}, "loadBalancers": balancers});
    if let Some(draining) = draining {
        args["draining_timeout"] = json!(draining);
    }
    json!({"type": "launch_server", "args": args})
}

async fn create(api: &Api, launch: Value, min: u32) -> String {
    api.create_group(json!({
        "groupConfiguration": {"name": "web", "cooldown": 0, "minEntities": min, "maxEntities": 60},
        "launchConfiguration": launch,
    }))
    .await
}

/// Sets the desired capacity through a policy and waits for the group's state to show that
/// many active servers; the state.
async fn scale_to(api: &Api, group: &str, desired: u32) -> Value {
    let policy = api
        .create_policy(
            group,
            json!({"name": format!("to {desired}"), "type": "webhook", "cooldown": 0, "desiredCapacity": desired}),
        )
        .await;
    api.post_empty(&api.t(&format!("/groups/{group}/policies/{policy}/execute"))).await.ok(202);
    settled(api, group, desired).await
}

/// Waits until the group shows `active` active servers and desired capacity, ACTIVE; its state.
async fn settled(api: &Api, group: &str, active: u32) -> Value {
    state_when(api, group, |s| s["activeCapacity"] == active && s["pendingCapacity"] == 0 && s["status"] == "ACTIVE")
        .await
}

/// A new Cloud Load Balancer and a group of `web` servers behind it on port 80.
async fn clb_group(api: &Api, project: &Project, draining: Option<u64>, min: u32) -> (u64, String) {
    let lb = project.create_clb().await;
    let group = create(api, launch("web", json!([{"loadBalancerId": lb, "port": 80}]), draining), min).await;
    (lb, group)
}

fn ids(servers: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = servers.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn servers_scale_up_and_down_named_as_otter_names_them_behind_their_load_balancer() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    let lb = project.create_clb().await;
    // A node of someone else's on the same load balancer is never touched.
    project.add_node(lb, "10.9.9.9", 80).await;
    let group = create(&api, launch("web", json!([{"loadBalancerId": lb, "port": 80}]), None), 0).await;

    let state = scale_to(&api, &group, 3).await;
    let servers = project.servers_of(&group).await;
    assert_eq!(servers.len(), 3);
    for server in &servers {
        let name = server["name"].as_str().unwrap();
        let hash = name.strip_prefix("web-as").unwrap_or_else(|| panic!("{name}"));
        assert!(hash.len() == 8 && hash.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{name}");
        assert_eq!(server["metadata"]["rax:auto_scaling_group_id"], group.as_str());
        assert_eq!(server["metadata"]["team"], "blue", "the launch configuration's metadata is kept");
        assert_eq!(server["metadata"][format!("rax:autoscale:lb:CloudLoadBalancer:{lb}")], r#"[{"port":80}]"#);
    }
    let active: Vec<String> =
        state["active"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    let mut sorted = active.clone();
    sorted.sort();
    assert_eq!(sorted, ids(&servers), "the state lists the servers");
    let members = api.get(&api.t(&format!("/groups/{group}/members"))).await;
    members.ok(200);
    let listed = members.body["members"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{}", members.text);
    assert!(listed.iter().all(|m| m["status"] == "active" && m["provider"] == "launch_server"), "{}", members.text);
    let mut addresses: Vec<String> = servers.iter().map(Project::servicenet).collect();
    addresses.push("10.9.9.9".into());
    addresses.sort();
    let mut on_lb: Vec<String> =
        project.nodes(lb).await.iter().map(|n| n["address"].as_str().unwrap().to_string()).collect();
    on_lb.sort();
    assert_eq!(on_lb, addresses, "each server's ServiceNet address, beside the stranger's");
    assert!(project.nodes(lb).await.iter().all(|n| n["condition"] == "ENABLED" && n["port"] == 80));

    // Down to one: the oldest two go (without a draining timeout, at once), and their nodes.
    scale_to(&api, &group, 1).await;
    let left = project.servers_of(&group).await;
    assert_eq!(ids(&left), [servers[2]["id"].as_str().unwrap().to_string()], "the newest is kept");
    let nodes = project.nodes(lb).await;
    let mut on_lb: Vec<&str> = nodes.iter().map(|n| n["address"].as_str().unwrap()).collect();
    on_lb.sort();
    let mut expected = vec!["10.9.9.9".to_string(), Project::servicenet(&left[0])];
    expected.sort();
    assert_eq!(on_lb, expected);

    // Deleted with force: its servers go, and then the group.
    api.delete(&api.t(&format!("/groups/{group}?force=true"))).await.ok(204);
    until("the deleted group's servers gone", || async { project.servers_of(&group).await.is_empty() }).await;
    until("only the stranger's node left", || async { project.nodes(lb).await.len() == 1 }).await;
    assert_eq!(project.nodes(lb).await[0]["address"], "10.9.9.9");
    api.get(&api.t(&format!("/groups/{group}"))).await.error(404, "NoSuchScalingGroupError");
}

/// Waits until `probe` holds, for at most 60 s; panics with `what` otherwise.
async fn until<F, Fut>(what: &str, probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    assert!(eventually(60, probe).await, "{what}");
}

#[tokio::test]
async fn a_leaving_server_drains_on_its_load_balancer_for_the_timeout_before_it_is_deleted() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    let (lb, group) = clb_group(&api, &project, Some(30), 0).await;
    scale_to(&api, &group, 2).await;
    let servers = project.servers_of(&group).await;
    let (oldest, newest) = (servers[0].clone(), servers[1].clone());
    let address = Project::servicenet(&oldest);

    scale_to(&api, &group, 1).await;
    let began = std::time::Instant::now();
    until("the oldest server's node drains", || async {
        project.nodes(lb).await.iter().any(|n| n["address"] == address.as_str() && n["condition"] == "DRAINING")
    })
    .await;
    let marked = &project.servers_of(&group).await[0];
    assert_eq!(
        (marked["id"].clone(), marked["metadata"]["rax:autoscale:server:state"].clone()),
        (oldest["id"].clone(), json!("DRAINING"))
    );
    // Still there, draining, well into the timeout.
    tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    assert!(project.nodes(lb).await.iter().any(|n| n["address"] == address.as_str() && n["condition"] == "DRAINING"));
    assert_eq!(project.servers_of(&group).await.len(), 2);

    until("the drained server leaves and is deleted", || async {
        project.servers_of(&group).await.len() == 1 && project.nodes(lb).await.len() == 1
    })
    .await;
    assert!(began.elapsed() >= std::time::Duration::from_secs(28), "drained for {:?}", began.elapsed());
    assert_eq!(project.servers_of(&group).await[0]["id"], newest["id"]);
    assert_eq!(project.nodes(lb).await[0]["address"], Project::servicenet(&newest).as_str());
}

#[tokio::test]
async fn building_servers_are_removed_first_then_the_oldest_active() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    let group = create(&api, launch("web", json!([]), None), 0).await;
    scale_to(&api, &group, 3).await;
    let servers = project.servers_of(&group).await;
    // The newest goes back to BUILD (mimic's control plane): it is the first to go.
    project.set_status(servers[2]["id"].as_str().unwrap(), "BUILD").await;
    scale_to(&api, &group, 2).await;
    assert_eq!(ids(&project.servers_of(&group).await), ids(&servers[..2]));
    scale_to(&api, &group, 1).await;
    assert_eq!(ids(&project.servers_of(&group).await), ids(&servers[1..2]), "then the oldest");
}

#[tokio::test]
async fn servers_deleted_out_of_band_or_gone_to_error_are_replaced_and_their_nodes_removed() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    let (lb, group) = clb_group(&api, &project, None, 0).await;
    scale_to(&api, &group, 2).await;
    let servers = project.servers_of(&group).await;

    // Deleted in Nova behind Ebb's back: replaced by self-heal, and its node is a leftover.
    project.delete_server(servers[0]["id"].as_str().unwrap()).await;
    let gone = Project::servicenet(&servers[0]);
    until("a replacement, and the leftover node gone", || async {
        let now = project.servers_of(&group).await;
        now.len() == 2
            && !now.iter().any(|s| s["id"] == servers[0]["id"])
            && project.nodes(lb).await.len() == 2
            && !project.nodes(lb).await.iter().any(|n| n["address"] == gone.as_str())
    })
    .await;

    // A server gone to ERROR: deleted, its node removed, replaced.
    let broken = project.servers_of(&group).await[0].clone();
    project.set_status(broken["id"].as_str().unwrap(), "ERROR").await;
    let address = Project::servicenet(&broken);
    until("the ERROR server replaced", || async {
        let now = project.servers_of(&group).await;
        now.len() == 2
            && now.iter().all(|s| s["status"] == "ACTIVE" && s["id"] != broken["id"])
            && project.nodes(lb).await.len() == 2
            && !project.nodes(lb).await.iter().any(|n| n["address"] == address.as_str())
    })
    .await;
    settled(&api, &group, 2).await;
}

/// The group's state until `done` holds; the state.
async fn state_when(api: &Api, group: &str, done: impl Fn(&Value) -> bool) -> Value {
    let path = api.t(&format!("/groups/{group}/state"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let state = api.get(&path).await.body["group"].clone();
        if done(&state) {
            return state;
        }
        assert!(std::time::Instant::now() < deadline, "never reached: {state}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn in_error(state: &Value) -> bool {
    state["status"] == "ERROR"
}

fn errors(state: &Value) -> Vec<String> {
    state["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().to_string()).collect()
}

async fn converge(api: &Api, group: &str) {
    api.post_empty(&api.t(&format!("/groups/{group}/converge"))).await.ok(204);
}

async fn execute(api: &Api, group: &str, policy: &str) {
    api.post_empty(&api.t(&format!("/groups/{group}/policies/{policy}/execute"))).await.ok(202);
}

#[tokio::test]
async fn novas_refusals_put_the_group_in_error_in_otters_words_and_a_fixed_launch_brings_it_back() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    project
        .creation_behavior(
            "bad.*",
            "fail",
            json!({"code": 400, "message": "Invalid imageRef provided.", "type": "badRequest"}),
        )
        .await;
    project
        .creation_behavior("quota.*", "fail", json!({"code": 403, "message": "Quota exceeded for instances: Requested 1, but already used 200 of 200 instances", "type": "forbidden"}))
        .await;
    let group = create(&api, launch("bad", json!([]), None), 0).await;
    let up = api.create_policy(&group, json!({"name": "up", "type": "webhook", "cooldown": 0, "change": 2})).await;
    execute(&api, &group, &up).await;
    let state = state_when(&api, &group, in_error).await;
    assert_eq!(errors(&state), ["Server launch configuration is invalid: Invalid imageRef provided."]);
    assert!(project.servers_of(&group).await.is_empty());

    let path = api.t(&format!("/groups/{group}/launch"));
    api.put(&path, launch("quota", json!([]), None)).await.ok(204);
    execute(&api, &group, &up).await;
    let state = state_when(&api, &group, |s| in_error(s) && errors(s)[0].starts_with("Servers cannot")).await;
    assert_eq!(
        errors(&state),
        ["Servers cannot be created: Quota exceeded for instances: Requested 1, but already used 200 of 200 instances"]
    );

    // Fixed: the next execution brings the group back to ACTIVE, at the right count.
    api.put(&path, launch("good", json!([]), None)).await.ok(204);
    execute(&api, &group, &up).await;
    settled(&api, &group, 6).await;
    assert_eq!(project.servers_of(&group).await.len(), 6);
}

#[tokio::test]
async fn a_create_that_failed_with_a_500_but_happened_is_found_and_not_made_twice() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    project.creation_behavior("flaky.*", "false-negative", json!({"code": 500})).await;
    // The behaviour holds: a 500, and yet the server is made.
    let probe = json!({"server": {"name": "flaky-probe", "flavorRef": "2", "imageRef": IMAGE}});
    let (status, _) = project.call(reqwest::Method::POST, "cloudServersOpenStack", "/servers", Some(probe)).await;
    assert_eq!(status, 500);
    assert!(project.servers().await.iter().any(|s| s["name"] == "flaky-probe"));

    let group = create(&api, launch("flaky", json!([]), None), 0).await;
    scale_to(&api, &group, 4).await;
    assert_eq!(project.servers_of(&group).await.len(), 4);
    // One create a server: each "failed" create was found by the next gather, none made twice.
    let metrics = server.anonymous().get("/metrics").await.text;
    let posts = metrics.lines().find(|l| l.starts_with(r#"ebb_cloud_calls_total{service="Nova",method="POST"}"#));
    assert_eq!(posts.and_then(|l| l.rsplit(' ').next()), Some("4"), "{metrics}");
}

#[tokio::test]
async fn a_server_that_never_finishes_building_is_replaced_after_the_build_timeout() {
    let server = server_with(&["--server-build-timeout", "2"]);
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    project.creation_behavior("slow.*", "build", json!({"duration": 3600})).await;
    let group = create(&api, launch("slow", json!([]), None), 0).await;
    let up = api.create_policy(&group, json!({"name": "up", "type": "webhook", "cooldown": 0, "change": 1})).await;
    execute(&api, &group, &up).await;
    let first = support::poll(30, || async { project.servers_of(&group).await.first().map(|s| s["id"].clone()) })
        .await
        .unwrap();
    assert_eq!(project.servers_of(&group).await[0]["status"], "BUILD");
    until("the first replaced after the build timeout", || async {
        let now = project.servers_of(&group).await;
        now.len() == 1 && now[0]["id"] != first
    })
    .await;
    let state = api.get(&api.t(&format!("/groups/{group}/state"))).await.body["group"].clone();
    assert_eq!(
        (state["activeCapacity"].as_i64(), state["status"].as_str()),
        (Some(0), Some("ACTIVE")),
        "building: not active"
    );
}

#[tokio::test]
async fn a_server_stuck_in_a_transitional_state_times_out_into_error() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    let group = create(&api, launch("web", json!([]), None), 0).await;
    scale_to(&api, &group, 1).await;
    let stuck = project.servers_of(&group).await[0]["id"].as_str().unwrap().to_string();
    project.set_status(&stuck, "RESIZE").await;
    converge(&api, &group).await;
    let state = state_when(&api, &group, in_error).await;
    assert_eq!(errors(&state), [format!("Timed out: Waiting for server {stuck} to transition to ACTIVE from RESIZE")]);
    // Back to ACTIVE once the server is, at the next request.
    project.set_status(&stuck, "ACTIVE").await;
    converge(&api, &group).await;
    settled(&api, &group, 1).await;
}

#[tokio::test]
async fn servers_that_go_active_then_error_are_replaced_each_time() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    // Every server of this group fails a second after it is ACTIVE.
    project.creation_behavior("fragile.*", "active-then-error", json!({"duration": 1})).await;
    let group = create(&api, launch("fragile", json!([]), None), 0).await;
    let up = api.create_policy(&group, json!({"name": "up", "type": "webhook", "cooldown": 0, "change": 1})).await;
    execute(&api, &group, &up).await;
    let mut seen = std::collections::BTreeSet::new();
    let mut errored = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while errored.len() < 3 {
        assert!(std::time::Instant::now() < deadline, "replaced {} times: {seen:?}", errored.len());
        let now = project.servers_of(&group).await;
        assert!(now.len() <= 2, "an ERROR server and its replacement at most: {now:?}");
        for server in &now {
            seen.insert(server["id"].as_str().unwrap().to_string());
            if server["status"] == "ERROR" {
                errored.insert(server["id"].as_str().unwrap().to_string());
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen.len() >= 3, "each ERROR server was replaced: {seen:?}");
}

#[tokio::test]
async fn a_deleted_load_balancer_puts_the_group_in_error_until_the_launch_names_another() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    let (lb, group) = clb_group(&api, &project, None, 0).await;
    scale_to(&api, &group, 1).await;
    project.delete_clb(lb).await;
    let up = api.create_policy(&group, json!({"name": "up", "type": "webhook", "cooldown": 0, "change": 1})).await;
    execute(&api, &group, &up).await;
    let state = state_when(&api, &group, in_error).await;
    assert_eq!(errors(&state), [format!("Cloud Load Balancer does not exist: {lb}")]);
    assert_eq!(project.servers_of(&group).await.len(), 2, "servers that cannot join are kept");

    let other = project.create_clb().await;
    let path = api.t(&format!("/groups/{group}/launch"));
    api.put(&path, launch("web", json!([{"loadBalancerId": other, "port": 8080}]), None)).await.ok(204);
    converge(&api, &group).await;
    settled(&api, &group, 2).await;
    let mut on_lb: Vec<String> =
        project.nodes(other).await.iter().map(|n| n["address"].as_str().unwrap().to_string()).collect();
    on_lb.sort();
    let mut addresses: Vec<String> = project.servers_of(&group).await.iter().map(Project::servicenet).collect();
    addresses.sort();
    assert_eq!(on_lb, addresses);
}

#[tokio::test]
async fn servers_are_removed_through_the_api_replaced_or_not_purged_or_released() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    let (lb, group) = clb_group(&api, &project, None, 1).await;
    let state = scale_to(&api, &group, 3).await;
    let servers = project.servers_of(&group).await;
    let link = state["active"][0]["links"][0]["href"].as_str().unwrap().to_string();
    assert!(link.contains("/servers/") && link.starts_with("http://127.0.0.1"), "Nova's own link: {link}");
    let path = |id: &str, query: &str| api.t(&format!("/groups/{group}/servers/{id}{query}"));

    // Unknown, and another group's: not found.
    api.delete(&path("no-such-server", "")).await.error(404, "ServerNotFoundError");
    let other = create(&api, launch("other", json!([]), None), 1).await;
    settled(&api, &other, 1).await;
    let stranger = project.servers_of(&other).await[0]["id"].as_str().unwrap().to_string();
    api.delete(&path(&stranger, "")).await.error(404, "ServerNotFoundError");

    // Replaced (the default): deleted, and a new one takes its place.
    let first = servers[0]["id"].as_str().unwrap();
    api.delete(&path(first, "")).await.ok(202);
    until("replaced", || async {
        let now = project.servers_of(&group).await;
        now.len() == 3 && !now.iter().any(|s| s["id"] == first)
    })
    .await;
    settled(&api, &group, 3).await;

    // Not replaced: desired capacity goes down with it.
    let second = servers[1]["id"].as_str().unwrap();
    api.delete(&path(second, "?replace=false")).await.ok(202);
    let state = settled(&api, &group, 2).await;
    assert_eq!(state["desiredCapacity"], 2);
    assert!(!project.servers_of(&group).await.iter().any(|s| s["id"] == second));

    // Released (purge=false): it stays in Nova and on its load balancer, no longer the group's.
    let third = servers[2]["id"].as_str().unwrap();
    let address = Project::servicenet(&servers[2]);
    api.delete(&path(third, "?purge=false&replace=false")).await.ok(202);
    let state = settled(&api, &group, 1).await;
    assert_eq!(state["desiredCapacity"], 1);
    let kept = project.servers().await.into_iter().find(|s| s["id"] == third).expect("still in Nova");
    assert_eq!(kept["status"], "ACTIVE");
    assert!(kept["metadata"].get("rax:autoscale:group:id").is_none() && kept["metadata"]["team"] == "blue");
    assert!(project.nodes(lb).await.iter().any(|n| n["address"] == address.as_str()), "left where it was");

    // At the minimum, a removal without replacement is refused.
    let last = project.servers_of(&group).await[0]["id"].as_str().unwrap().to_string();
    api.delete(&path(&last, "?replace=false")).await.error(403, "CannotDeleteServerBelowMinError");
}

#[tokio::test]
async fn servers_join_and_leave_rackconnect_pools() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    let pool = project.pools().await[0].clone();
    let group =
        create(&api, launch("web", json!([{"loadBalancerId": pool, "type": "RackConnectV3"}]), Some(30)), 0).await;
    scale_to(&api, &group, 2).await;
    until("both servers in the pool", || async {
        project.pool_servers(&pool).await == ids(&project.servers_of(&group).await)
    })
    .await;
    // Pools cannot drain: a leaving server leaves at once, though the draining timeout is 30 s.
    let began = std::time::Instant::now();
    scale_to(&api, &group, 1).await;
    until("one server, in the pool", || async {
        let servers = project.servers_of(&group).await;
        servers.len() == 1 && project.pool_servers(&pool).await == ids(&servers)
    })
    .await;
    assert!(began.elapsed() < std::time::Duration::from_secs(20), "{:?}", began.elapsed());

    // A pool that does not exist: ERROR in words the user can act on.
    let path = api.t(&format!("/groups/{group}/launch"));
    let missing = "9a1d7b5e-0c1f-4c55-8f0e-5a0b7c1d2e3f";
    api.put(&path, launch("web", json!([{"loadBalancerId": missing, "type": "RackConnectV3"}]), None)).await.ok(204);
    converge(&api, &group).await;
    let state = state_when(&api, &group, in_error).await;
    assert_eq!(errors(&state), [format!("RackConnect v3 load balancer pool does not exist: {missing}")]);
}

#[tokio::test]
async fn the_load_balancers_node_limit_and_a_load_balancer_being_deleted_say_so() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    let (lb, group) = clb_group(&api, &project, None, 0).await;
    let up =
        api.create_policy(&group, json!({"name": "26", "type": "webhook", "cooldown": 0, "desiredCapacity": 26})).await;
    execute(&api, &group, &up).await;
    let state = state_when(&api, &group, in_error).await;
    assert_eq!(errors(&state), [format!("Cannot create more than 25 nodes in Cloud Load Balancer {lb}")]);
    assert!(project.nodes(lb).await.len() <= 25);

    // mimic's control plane: the load balancer is being deleted.
    project.set_clb_status(lb, "PENDING_DELETE").await;
    converge(&api, &group).await;
    let state = state_when(&api, &group, |s| in_error(s) && errors(s)[0].contains("being deleted")).await;
    assert_eq!(errors(&state), [format!("Cloud Load Balancer is currently being deleted: {lb}")]);
}

#[tokio::test]
async fn nodes_drifted_on_the_load_balancer_are_set_back_and_a_health_monitor_sees_new_ones_first() {
    let server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    let (lb, group) = clb_group(&api, &project, None, 0).await;
    scale_to(&api, &group, 1).await;
    let node = project.nodes(lb).await[0]["id"].as_u64().unwrap();
    project.change_node(lb, node, json!({"condition": "DISABLED", "weight": 7})).await;
    converge(&api, &group).await;
    until("the node set back", || async {
        let nodes = project.nodes(lb).await;
        nodes.len() == 1 && nodes[0]["condition"] == "ENABLED" && nodes[0]["weight"] == 1 && nodes[0]["id"] == node
    })
    .await;

    // Under a health monitor a new node comes in DRAINING, and is enabled once it is ONLINE.
    project
        .set_health_monitor(lb, json!({"type": "CONNECT", "delay": 10, "timeout": 5, "attemptsBeforeDeactivation": 2}))
        .await;
    let up = api.create_policy(&group, json!({"name": "up", "type": "webhook", "cooldown": 0, "change": 1})).await;
    execute(&api, &group, &up).await;
    let newest = support::poll(30, || async {
        project.nodes(lb).await.into_iter().find(|n| n["id"] != node && n["condition"] == "DRAINING")
    })
    .await
    .expect("the new node, DRAINING");
    let id = newest["id"].as_u64().unwrap();
    project.set_node_status(lb, id, "ONLINE").await;
    until("the node enabled once ONLINE", || async {
        project.nodes(lb).await.iter().any(|n| n["id"] == id && n["condition"] == "ENABLED")
    })
    .await;
    settled(&api, &group, 2).await;
}

#[tokio::test]
async fn refused_cloud_credentials_put_the_group_in_error_until_the_operator_fixes_them() {
    let server = server();
    let Some((mimic, api, project)) = setup(&server).await else { return };
    let behavior = json!({"criteria": [{"username": "locked.*"}], "name": "fail",
        "parameters": {"code": 401, "message": "Unable to authenticate user with credentials provided."}});
    let made = reqwest::Client::new()
        .post(format!("{}/mimic/v1.1/IdentityControlAPI/behaviors/auth", mimic.url))
        .json(&behavior)
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success());
    let mut settings = mimic.settings();
    settings["username"] = json!("locked-out");
    server.operator().put("/admin/v1/tenants/t1/cloud", settings).await.ok(200);
    let group = create(&api, launch("web", json!([]), None), 2).await;
    let state = state_when(&api, &group, in_error).await;
    assert_eq!(
        errors(&state),
        [
            "Cannot authenticate to the cloud: identity refused the credentials of user locked-out (401): Unable to authenticate user with credentials provided."
        ]
    );
    // The operator's fix converges the tenant's groups: no user action needed.
    server.operator().put("/admin/v1/tenants/t1/cloud", mimic.settings()).await.ok(200);
    settled(&api, &group, 2).await;
    assert_eq!(project.servers_of(&group).await.len(), 2);
}

#[tokio::test]
async fn a_server_deleted_while_ebb_was_down_is_replaced_and_its_leftover_node_removed() {
    let mut server = server();
    let Some((_mimic, api, project)) = setup(&server).await else { return };
    let (lb, group) = clb_group(&api, &project, None, 0).await;
    scale_to(&api, &group, 2).await;
    let servers = project.servers_of(&group).await;
    let gone = Project::servicenet(&servers[0]);
    server.kill9();
    project.delete_server(servers[0]["id"].as_str().unwrap()).await;
    assert!(project.nodes(lb).await.iter().any(|n| n["address"] == gone.as_str()), "mimic leaves the node");
    server.restart();
    until("replaced, and the leftover node found through Nova's recent deletions", || async {
        let now = project.servers_of(&group).await;
        let nodes = project.nodes(lb).await;
        now.len() == 2
            && !now.iter().any(|s| s["id"] == servers[0]["id"])
            && nodes.len() == 2
            && !nodes.iter().any(|n| n["address"] == gone.as_str())
    })
    .await;
}

#[tokio::test]
async fn a_region_without_the_service_says_so_in_otters_words() {
    let server = server();
    let Some((mimic, api, _project)) = setup(&server).await else { return };
    let mut settings = mimic.settings();
    settings["region"] = json!("SYD");
    server.operator().put("/admin/v1/tenants/t1/cloud", settings).await.ok(200);
    let group = create(&api, launch("web", json!([]), None), 1).await;
    let state = state_when(&api, &group, in_error).await;
    assert_eq!(
        errors(&state),
        [
            "Could not locate service cloudServersOpenStack in the service catalog. Please check if your account is still active."
        ]
    );
}
