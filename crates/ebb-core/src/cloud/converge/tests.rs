//! The planner against Otter's table and its integration tests' observations.

use super::*;

const T0: &str = "2026-12-05T10:00:00Z";

fn at(seconds: i64) -> Timestamp {
    T0.parse::<Timestamp>().unwrap() + SignedDuration::from_secs(seconds)
}

/// A server of the group created at `created` seconds, on CLB 5 port 80 and nothing else.
fn server(id: &str, status: &str, created: i64) -> Server {
    let mut metadata = Map::new();
    metadata.insert("rax:autoscale:group:id".into(), json!("g"));
    metadata.insert("rax:autoscale:lb:CloudLoadBalancer:5".into(), json!("[{\"port\": 80}]"));
    Server {
        id: id.into(),
        name: format!("web-as{id}"),
        status: status.into(),
        created: Some(at(created)),
        group: Some("g".into()),
        servicenet: Some(format!("10.180.{id}")),
        metadata,
        href: None,
    }
}

fn node(id: u64, address: &str, condition: &str) -> Node {
    Node {
        id,
        address: address.into(),
        port: 80,
        condition: condition.into(),
        weight: Some(1),
        kind: "PRIMARY".into(),
        status: "ONLINE".into(),
    }
}

struct World {
    desired: u32,
    balancers: Vec<CloudBalancer>,
    servers: Vec<Server>,
    vanished: Vec<String>,
    clbs: BTreeMap<String, ClbView>,
    pools: BTreeMap<String, Option<BTreeSet<String>>>,
    now: Timestamp,
    draining: i64,
}

impl World {
    fn new(desired: u32, servers: Vec<Server>) -> World {
        let nodes = servers
            .iter()
            .filter(|s| s.status == "ACTIVE")
            .enumerate()
            .map(|(i, s)| node(100 + i as u64, s.servicenet.as_deref().unwrap(), "ENABLED"))
            .collect();
        let clbs = BTreeMap::from([("5".to_string(), ClbView::Present { nodes, health_monitor: false })]);
        let balancers = vec![CloudBalancer::Clb { id: "5".into(), port: 80 }];
        World {
            desired,
            balancers,
            servers,
            vanished: Vec::new(),
            clbs,
            pools: BTreeMap::new(),
            now: at(100),
            draining: 0,
        }
    }

    fn plan(&self) -> Plan {
        plan(&PlanInput {
            desired: self.desired,
            servers: &self.servers,
            balancers: &self.balancers,
            vanished: &self.vanished,
            clbs: &self.clbs,
            pools: &self.pools,
            now: self.now,
            build_timeout: SignedDuration::from_secs(30),
            draining_timeout: SignedDuration::from_secs(self.draining),
            max_creates: 10,
        })
    }

    /// The same world at another time.
    fn clone_at(&self, now: Timestamp) -> World {
        World {
            desired: self.desired,
            balancers: self.balancers.clone(),
            servers: self.servers.clone(),
            vanished: self.vanished.clone(),
            clbs: self.clbs.clone(),
            pools: self.pools.clone(),
            now,
            draining: self.draining,
        }
    }

    fn nodes(&mut self) -> &mut Vec<Node> {
        match self.clbs.get_mut("5") {
            Some(ClbView::Present { nodes, .. }) => nodes,
            _ => unreachable!("CLB 5 is present"),
        }
    }
}

fn deletes(plan: &Plan) -> Vec<&str> {
    plan.steps
        .iter()
        .filter_map(|s| match s {
            Step::DeleteServer { server } => Some(server.as_str()),
            _ => None,
        })
        .collect()
}

fn creates(plan: &Plan) -> usize {
    plan.steps.iter().filter(|s| **s == Step::CreateServer).count()
}

#[test]
fn a_converged_group_has_nothing_to_do() {
    let world = World::new(2, vec![server("a", "ACTIVE", 0), server("b", "ACTIVE", 1)]);
    assert_eq!(world.plan(), Plan { counted: vec!["b".into(), "a".into()], ..Plan::default() });
}

#[test]
fn servers_are_created_up_to_the_desired_capacity_ten_at_a_time() {
    let world = World::new(3, vec![server("a", "ACTIVE", 0)]);
    assert_eq!(creates(&world.plan()), 2);
    let world = World::new(50, Vec::new());
    assert_eq!(creates(&world.plan()), 10, "at most max_creates a pass");
}

#[test]
fn each_nova_status_has_its_destiny() {
    // (status, counts, deleted at once, reason)
    let table: &[(&str, bool, bool, Option<&str>)] = &[
        ("ACTIVE", true, false, None),
        ("BUILD", true, false, Some("retry")),
        ("RESIZE", true, false, Some("limited")),
        ("HARD_REBOOT", true, false, Some("limited")),
        ("RESCUE", true, false, None),
        ("SUSPENDED", true, false, None),
        ("ERROR", false, true, None),
        ("SHUTOFF", false, true, None),
        ("DELETED", false, false, None),
        ("SOMETHING_NEW", false, false, None),
    ];
    for (status, counts, deleted, reason) in table {
        let world = World::new(1, vec![server("s", status, 90)]);
        let plan = world.plan();
        assert_eq!(plan.counted == ["s"], *counts, "{status} counts");
        assert_eq!(creates(&plan), usize::from(!counts), "{status}: a replacement unless it counts");
        assert_eq!(deletes(&plan) == ["s"], *deleted, "{status} deleted");
        let kind = plan.reasons.first().map(|r| match r {
            Reason::Retry(_) => "retry",
            Reason::LimitedRetry(_) => "limited",
            Reason::Failure(_) => "failure",
        });
        assert_eq!(kind, *reason, "{status}: {:?}", plan.reasons);
    }
}

#[test]
fn a_transitional_state_is_waited_on_in_otters_words() {
    let world = World::new(1, vec![server("s", "RESIZE", 0)]);
    assert_eq!(
        world.plan().reasons,
        [Reason::LimitedRetry("Waiting for server s to transition to ACTIVE from RESIZE".into())]
    );
}

#[test]
fn a_server_building_past_the_build_timeout_is_deleted_and_replaced() {
    let world = World::new(1, vec![server("slow", "BUILD", 0)]);
    let plan = world.plan();
    assert_eq!((deletes(&plan), creates(&plan)), (vec!["slow"], 1));
}

#[test]
fn an_error_server_leaves_its_load_balancer_and_is_deleted() {
    let mut world = World::new(1, vec![server("ok", "ACTIVE", 0), server("bad", "ERROR", 1)]);
    let bad = world.servers[1].servicenet.clone().unwrap();
    world.nodes().push(node(200, &bad, "ENABLED"));
    let plan = world.plan();
    assert!(plan.steps.contains(&Step::RemoveNodes { lb: "5".into(), nodes: vec![200] }));
    assert_eq!((deletes(&plan), creates(&plan)), (vec!["bad"], 0), "one server counts, one is desired");
}

#[test]
fn scaling_down_removes_building_servers_first_then_the_oldest_active() {
    let world = World::new(
        2,
        vec![
            server("old", "ACTIVE", 0),
            server("mid", "ACTIVE", 10),
            server("new", "ACTIVE", 20),
            server("b", "BUILD", 90),
        ],
    );
    let plan = world.plan();
    let mut deleted = deletes(&plan);
    deleted.sort();
    assert_eq!(deleted, ["b", "old"]);
    assert_eq!(plan.counted, ["new", "mid"]);
}

#[test]
fn a_server_leaving_drains_for_the_timeout_then_leaves_then_is_deleted() {
    let mut world = World::new(1, vec![server("old", "ACTIVE", 0), server("new", "ACTIVE", 10)]);
    world.draining = 30;
    let plan = world.plan();
    let old = world.servers[0].clone();
    let node_id = 100;
    let Step::MarkDraining { metadata, .. } =
        plan.steps.iter().find(|s| matches!(s, Step::MarkDraining { .. })).expect("marked").clone()
    else {
        unreachable!()
    };
    assert_eq!(
        (metadata[STATE_KEY].as_str(), metadata[DRAINING_SINCE_KEY].as_str()),
        (Some("DRAINING"), Some(at(100).to_string().as_str()))
    );
    assert!(plan.steps.contains(&Step::ChangeNode { lb: "5".into(), node: node_id, condition: "DRAINING".into() }));
    assert!(deletes(&plan).is_empty(), "not deleted while draining");

    // Marked and its node draining: waited on until the timeout.
    world.servers[0].metadata = metadata;
    world.nodes()[0].condition = "DRAINING".into();
    world.now = at(129);
    let plan = world.plan();
    assert_eq!(plan.steps, []);
    assert_eq!(plan.reasons, [Reason::Retry(format!("draining server {}", old.id))]);
    assert_eq!(plan.counted, ["new"], "a draining server does not count");

    world.now = at(130);
    let plan = world.plan();
    assert_eq!(plan.steps, [Step::RemoveNodes { lb: "5".into(), nodes: vec![node_id] }]);

    world.nodes().remove(0);
    let plan = world.plan();
    assert_eq!(deletes(&plan), ["old"]);
}

#[test]
fn without_a_draining_timeout_a_server_leaves_and_is_deleted_in_one_pass() {
    let world = World::new(0, vec![server("a", "ACTIVE", 0)]);
    let plan = world.plan();
    assert_eq!(
        plan.steps,
        [Step::DeleteServer { server: "a".into() }, Step::RemoveNodes { lb: "5".into(), nodes: vec![100] }]
    );
}

#[test]
fn a_server_marked_by_the_api_without_a_start_is_given_one() {
    let mut world = World::new(1, vec![server("a", "ACTIVE", 0)]);
    world.draining = 30;
    world.servers[0].metadata.insert(STATE_KEY.into(), json!("DRAINING"));
    let plan = world.plan();
    assert_eq!(creates(&plan), 1, "a marked server does not count: it is replaced");
    assert!(plan.steps.iter().any(|s| matches!(s, Step::MarkDraining { server, .. } if server == "a")));
}

#[test]
fn kept_servers_are_put_back_on_their_load_balancer_and_drift_is_set_back() {
    let mut world = World::new(3, vec![server("a", "ACTIVE", 0), server("b", "ACTIVE", 1), server("c", "ACTIVE", 2)]);
    let missing = world.nodes().remove(0);
    world.nodes()[0].weight = Some(5);
    let plan = world.plan();
    let add = NewNode { address: missing.address.clone(), port: 80, condition: "ENABLED".into(), weight: Some(1) };
    assert_eq!(
        plan.steps,
        [Step::AddNodes { lb: "5".into(), nodes: vec![add] }],
        "one call per load balancer: the change waits"
    );
    world.nodes().push(missing);
    let plan = world.plan();
    assert_eq!(plan.steps, [Step::ChangeNode { lb: "5".into(), node: 101, condition: "ENABLED".into() }]);
}

#[test]
fn nodes_of_other_servers_are_never_touched() {
    let mut world = World::new(1, vec![server("a", "ACTIVE", 0)]);
    world.nodes().push(node(900, "10.9.9.9", "DISABLED"));
    assert_eq!(world.plan().steps, []);
}

#[test]
fn under_a_health_monitor_a_node_is_added_draining_and_enabled_once_online() {
    let mut world = World::new(1, vec![server("a", "ACTIVE", 90)]);
    let address = world.servers[0].servicenet.clone().unwrap();
    world.clbs.insert("5".into(), ClbView::Present { nodes: Vec::new(), health_monitor: true });
    let add = NewNode { address: address.clone(), port: 80, condition: "DRAINING".into(), weight: Some(1) };
    assert_eq!(world.plan().steps, [Step::AddNodes { lb: "5".into(), nodes: vec![add] }]);
    let mut offline = node(7, &address, "DRAINING");
    offline.status = "OFFLINE".into();
    world.clbs.insert("5".into(), ClbView::Present { nodes: vec![offline.clone()], health_monitor: true });
    let plan = world.plan();
    assert_eq!(
        (plan.steps, plan.reasons),
        (vec![], vec![Reason::Retry("waiting for node 7 of Cloud Load Balancer 5 to be ONLINE".into())])
    );
    let mut late = world.clone_at(at(100) + SignedDuration::from_secs(30));
    late.clbs.insert("5".into(), ClbView::Present { nodes: vec![offline.clone()], health_monitor: true });
    assert_eq!(
        late.plan().reasons,
        [Reason::Failure(
            "Node 7 of Cloud Load Balancer 5 is still OFFLINE under its health monitor after the build timeout".into()
        )],
        "past the build timeout from the server's creation"
    );
    offline.status = "ONLINE".into();
    world.clbs.insert("5".into(), ClbView::Present { nodes: vec![offline], health_monitor: true });
    assert_eq!(world.plan().steps, [Step::ChangeNode { lb: "5".into(), node: 7, condition: "ENABLED".into() }]);
}

#[test]
fn a_missing_or_deleting_load_balancer_fails_with_otters_message_and_keeps_the_server() {
    let mut world = World::new(1, vec![server("a", "ACTIVE", 0)]);
    world.clbs.insert("5".into(), ClbView::Missing);
    let plan = world.plan();
    assert_eq!(plan.reasons, [Reason::Failure("Cloud Load Balancer does not exist: 5".into())]);
    assert!(deletes(&plan).is_empty());
    world.clbs.insert("5".into(), ClbView::Deleting);
    assert_eq!(world.plan().reasons, [Reason::Failure("Cloud Load Balancer is currently being deleted: 5".into())]);
}

#[test]
fn scaling_down_with_a_deleted_load_balancer_just_deletes() {
    let mut world = World::new(0, vec![server("a", "ACTIVE", 0)]);
    world.draining = 30;
    world.clbs.insert("5".into(), ClbView::Missing);
    let plan = world.plan();
    assert_eq!((plan.steps.clone(), plan.reasons), (vec![Step::DeleteServer { server: "a".into() }], vec![]));
}

#[test]
fn leftover_nodes_of_vanished_servers_are_removed() {
    let mut world = World::new(1, vec![server("a", "ACTIVE", 0)]);
    world.nodes().push(node(300, "10.7.7.7", "ENABLED"));
    world.vanished = vec!["10.7.7.7".into()];
    let plan = world.plan();
    assert_eq!(plan.steps, [Step::RemoveNodes { lb: "5".into(), nodes: vec![300] }]);
}

#[test]
fn rackconnect_pools_are_joined_and_left_without_draining() {
    let mut world = World::new(1, vec![server("a", "ACTIVE", 0), server("b", "ACTIVE", 10)]);
    world.draining = 30;
    world.balancers.push(CloudBalancer::Pool { id: "p1".into() });
    world.pools.insert("p1".into(), Some(BTreeSet::from(["a".to_string()])));
    let plan = world.plan();
    assert!(plan.steps.contains(&Step::LeavePool { pool: "p1".into(), servers: vec!["a".into()] }), "{:?}", plan.steps);
    assert!(plan.steps.contains(&Step::JoinPool { pool: "p1".into(), servers: vec!["b".into()] }));
    world.pools.insert("p1".into(), None);
    world.desired = 2;
    assert!(
        world.plan().reasons.contains(&Reason::Failure("RackConnect v3 load balancer pool does not exist: p1".into()))
    );
}

#[test]
fn removals_go_in_chunks_of_ten() {
    let mut servers = Vec::new();
    for i in 0..12 {
        servers.push(server(&format!("s{i:02}"), "ERROR", i));
    }
    let mut world = World::new(0, servers);
    let nodes: Vec<Node> = world
        .servers
        .iter()
        .enumerate()
        .map(|(i, s)| node(i as u64, s.servicenet.as_deref().unwrap(), "ENABLED"))
        .collect();
    world.clbs.insert("5".into(), ClbView::Present { nodes, health_monitor: false });
    let plan = world.plan();
    let removals: Vec<&Step> = plan.steps.iter().filter(|s| matches!(s, Step::RemoveNodes { .. })).collect();
    assert!(matches!(removals.as_slice(), [Step::RemoveNodes { nodes, .. }] if nodes.len() == REMOVE_CHUNK));
}

#[test]
fn kept_servers_follow_the_launch_configuration_to_another_load_balancer() {
    let mut world = World::new(1, vec![server("a", "ACTIVE", 0)]);
    world.balancers = vec![CloudBalancer::Clb { id: "6".into(), port: 8080 }];
    world.clbs.insert("6".into(), ClbView::Present { nodes: Vec::new(), health_monitor: false });
    let address = world.servers[0].servicenet.clone().unwrap();
    let add = NewNode { address, port: 8080, condition: "ENABLED".into(), weight: Some(1) };
    assert_eq!(
        world.plan().steps,
        [Step::RemoveNodes { lb: "5".into(), nodes: vec![100] }, Step::AddNodes { lb: "6".into(), nodes: vec![add] }]
    );
}

#[test]
fn a_gone_servers_address_given_to_a_live_one_keeps_its_node() {
    let mut world = World::new(1, vec![server("new", "ACTIVE", 50)]);
    let reused = world.servers[0].servicenet.clone().unwrap();
    let mut gone = server("old", "DELETED", 0);
    gone.servicenet = Some(reused.clone());
    world.servers.push(gone);
    world.vanished = vec![reused];
    assert_eq!(world.plan().steps, [], "the node at that address is the live server's");
}
