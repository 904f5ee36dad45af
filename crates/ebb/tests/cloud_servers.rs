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
    Server::start_with(&[
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
    ])
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
    let path = api.t(&format!("/groups/{group}/state"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let state = api.get(&path).await.body["group"].clone();
        if state["activeCapacity"] == active && state["pendingCapacity"] == 0 && state["status"] == "ACTIVE" {
            return state;
        }
        assert!(std::time::Instant::now() < deadline, "not settled at {active}: {state}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
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
    let lb = project.create_clb().await;
    let group = create(&api, launch("web", json!([{"loadBalancerId": lb, "port": 80}]), Some(30)), 0).await;
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
    let lb = project.create_clb().await;
    let group = create(&api, launch("web", json!([{"loadBalancerId": lb, "port": 80}]), None), 0).await;
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
