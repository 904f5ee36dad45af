//! Convergence of a `launch_server` group, as Otter plans it (§4.9): a pure function of the
//! desired capacity and what was gathered (the group's Nova servers, the Cloud Load Balancers
//! and RackConnect v3 pools their metadata names) returning the steps to take and why the
//! group is not settled yet.
//!
//! Each server gets a destiny from its Nova status; servers are created up to the desired
//! capacity (at most `max_creates` a pass); extra ones go building first, then oldest active;
//! a server leaving drains on its Cloud Load Balancers for `draining_timeout` (its start kept
//! in its own metadata, so a restart goes on draining) and is deleted once it is on none;
//! kept active servers are put on the load balancers the launch configuration names and taken
//! off those it no longer names (so a user fixes a deleted load balancer by changing the
//! launch configuration), and nodes drifted from `ENABLED`, weight 1, `PRIMARY` are set back.
//! Nodes are matched to servers by ServiceNet address: a node of no server of the group is
//! never touched. At most one mutating call per load balancer is planned per pass.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::clb::{NewNode, Node};
use super::launch::CloudBalancer;
use super::nova::{DRAINING_SINCE_KEY, STATE_KEY, Server};

/// The most node ids one removal names (Cloud Load Balancers' bulk delete).
pub const REMOVE_CHUNK: usize = 10;

/// What was gathered of a Cloud Load Balancer.
#[derive(Debug, Clone, PartialEq)]
pub enum ClbView {
    /// It answers: its nodes, and whether a health monitor judges them.
    Present {
        /// Its nodes.
        nodes: Vec<Node>,
        /// A health monitor is configured.
        health_monitor: bool,
    },
    /// It does not exist (or was deleted).
    Missing,
    /// It is being deleted.
    Deleting,
}

/// Everything a plan is made from.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// The desired capacity (0 for a group being deleted).
    pub desired: u32,
    /// The group's servers in Nova.
    pub servers: &'a [Server],
    /// The load balancers the launch configuration names: where kept servers belong.
    pub balancers: &'a [CloudBalancer],
    /// ServiceNet addresses of the group's servers seen before and gone now: their nodes are
    /// leftovers to remove.
    pub vanished: &'a [String],
    /// The Cloud Load Balancers the group's servers name, by id.
    pub clbs: &'a BTreeMap<String, ClbView>,
    /// The RackConnect v3 pools they name, by id: the servers in each, or `None` when the
    /// pool does not exist.
    pub pools: &'a BTreeMap<String, Option<BTreeSet<String>>>,
    /// Now.
    pub now: Timestamp,
    /// How long a server may stay in `BUILD`.
    pub build_timeout: SignedDuration,
    /// How long a server leaving drains on its Cloud Load Balancers.
    pub draining_timeout: SignedDuration,
    /// The most servers created in one pass.
    pub max_creates: usize,
}

/// A step of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Create a server.
    CreateServer,
    /// Delete a server (and see that it is gone).
    DeleteServer {
        /// The server.
        server: String,
    },
    /// Mark a server to be drained, and since when: its whole metadata as it should be.
    MarkDraining {
        /// The server.
        server: String,
        /// Its metadata with the marks.
        metadata: Map<String, Value>,
    },
    /// Add nodes to a Cloud Load Balancer.
    AddNodes {
        /// The load balancer.
        lb: String,
        /// The nodes.
        nodes: Vec<NewNode>,
    },
    /// Set a node's condition, weight and type.
    ChangeNode {
        /// The load balancer.
        lb: String,
        /// The node.
        node: u64,
        /// Its condition to be.
        condition: String,
    },
    /// Remove nodes from a Cloud Load Balancer.
    RemoveNodes {
        /// The load balancer.
        lb: String,
        /// The nodes (at most [`REMOVE_CHUNK`]).
        nodes: Vec<u64>,
    },
    /// Put servers in a RackConnect v3 pool.
    JoinPool {
        /// The pool.
        pool: String,
        /// The servers.
        servers: Vec<String>,
    },
    /// Take servers out of a RackConnect v3 pool.
    LeavePool {
        /// The pool.
        pool: String,
        /// The servers.
        servers: Vec<String>,
    },
}

/// Why a group is not settled, besides its steps; worst first in [`Plan::outcome`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Waiting on something that will come: plan again.
    Retry(String),
    /// Waiting on something that may never come: plan again a limited number of times.
    LimitedRetry(String),
    /// The user must act: the message says how.
    Failure(String),
}

/// A plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// The steps, at most one mutating call per load balancer.
    pub steps: Vec<Step>,
    /// Why the group is not settled besides its steps.
    pub reasons: Vec<Reason>,
    /// Servers that count towards the desired capacity, by id.
    pub counted: Vec<String>,
}

/// A server's destiny (Otter's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Destiny {
    /// `ACTIVE`: counts, kept on its load balancers.
    Available,
    /// `BUILD` within the build timeout: counts, waited on.
    Building,
    /// A transitional state: counts, waited on a limited number of passes.
    Wait,
    /// `RESCUE`, `VERIFY_RESIZE`, `SUSPENDED`: counts, left alone.
    AvoidReplacing,
    /// `ERROR`, `SHUTOFF`, or `BUILD` past its timeout: deleted at once and replaced.
    Delete,
    /// Marked `DRAINING`: drained, then deleted; does not count.
    Drain,
    /// Deleted already (`DELETED`, or being deleted): its nodes are removed.
    Gone,
    /// An unknown status: left alone, not counted.
    Ignore,
}

fn destiny(server: &Server, input: &PlanInput) -> Destiny {
    let marked = server.metadata.get(STATE_KEY).and_then(Value::as_str) == Some("DRAINING");
    match server.status.as_str() {
        "ACTIVE" | "BUILD" if marked => Destiny::Drain,
        "ACTIVE" => Destiny::Available,
        "BUILD" => match server.created {
            Some(created) if input.now.duration_since(created) > input.build_timeout => Destiny::Delete,
            _ => Destiny::Building,
        },
        "HARD_REBOOT" | "MIGRATING" | "PASSWORD" | "REBUILD" | "RESIZE" | "REVERT_RESIZE" | "REBOOT" => Destiny::Wait,
        "RESCUE" | "VERIFY_RESIZE" | "SUSPENDED" => Destiny::AvoidReplacing,
        "ERROR" | "SHUTOFF" => Destiny::Delete,
        "DELETED" => Destiny::Gone,
        _ => Destiny::Ignore,
    }
}

/// The plan.
pub fn plan(input: &PlanInput) -> Plan {
    let mut planner = Planner { input, wanted: Vec::new(), reasons: Vec::new() };
    let destinies: Vec<(&Server, Destiny)> = input.servers.iter().map(|s| (s, destiny(s, input))).collect();

    let mut counted: Vec<(&Server, Destiny)> = destinies
        .iter()
        .copied()
        .filter(|(_, d)| matches!(d, Destiny::Available | Destiny::Building | Destiny::Wait | Destiny::AvoidReplacing))
        .collect();
    let desired = input.desired as usize;
    // Kept first: active newest first, then left alone, then waited on, then building.
    let rank = |d: Destiny| match d {
        Destiny::Available => 0,
        Destiny::AvoidReplacing => 1,
        Destiny::Wait => 2,
        _ => 3,
    };
    counted.sort_by(|(a, da), (b, db)| rank(*da).cmp(&rank(*db)).then(b.created.cmp(&a.created)).then(a.id.cmp(&b.id)));
    let extra = if counted.len() > desired { counted.split_off(desired) } else { Vec::new() };
    for _ in 0..desired.saturating_sub(counted.len()).min(input.max_creates) {
        planner.wanted.push(Step::CreateServer);
    }

    for (server, destiny) in &counted {
        match destiny {
            Destiny::Available => planner.keep_on_balancers(server),
            Destiny::Building => {
                planner.reasons.push(Reason::Retry(format!("waiting for server {} to build", server.id)))
            }
            Destiny::Wait => planner.reasons.push(Reason::LimitedRetry(format!(
                "Waiting for server {} to transition to ACTIVE from {}",
                server.id, server.status
            ))),
            _ => {}
        }
    }
    for (server, destiny) in &extra {
        if *destiny == Destiny::Building {
            planner.delete(server);
        } else {
            planner.drain(server, None);
        }
    }
    // The addresses of servers still there: a gone server's address may have been given to
    // one of them, whose nodes are then its own.
    let live: BTreeSet<&str> =
        destinies.iter().filter(|(_, d)| *d != Destiny::Gone).filter_map(|(s, _)| s.servicenet.as_deref()).collect();
    for (server, destiny) in &destinies {
        match destiny {
            Destiny::Delete => planner.delete_now(server, true),
            Destiny::Gone if !server.servicenet.as_deref().is_some_and(|a| live.contains(a)) => {
                planner.delete_now(server, false)
            }
            Destiny::Drain => planner.drain(server, since(server)),
            _ => {}
        }
    }
    for address in input.vanished.iter().filter(|a| !live.contains(a.as_str())) {
        for (lb, node) in planner.nodes_at(address) {
            planner.wanted.push(Step::RemoveNodes { lb, nodes: vec![node.id] });
        }
    }

    Plan {
        steps: one_call_per_balancer(planner.wanted),
        reasons: planner.reasons,
        counted: counted.iter().map(|(s, _)| s.id.clone()).collect(),
    }
}

/// When a marked server began draining, if its metadata says.
fn since(server: &Server) -> Option<Timestamp> {
    server.metadata.get(DRAINING_SINCE_KEY)?.as_str()?.parse().ok()
}

struct Planner<'a, 'b> {
    input: &'b PlanInput<'a>,
    /// Every step wanted, before they are merged per load balancer.
    wanted: Vec<Step>,
    reasons: Vec<Reason>,
}

impl Planner<'_, '_> {
    /// The nodes at an address, on every Cloud Load Balancer gathered.
    fn nodes_at(&self, address: &str) -> Vec<(String, Node)> {
        let mut found = Vec::new();
        for (lb, view) in self.input.clbs {
            if let ClbView::Present { nodes, .. } = view {
                found.extend(nodes.iter().filter(|n| n.address == address).map(|n| (lb.clone(), n.clone())));
            }
        }
        found
    }

    /// The pools a server is in.
    fn pools_of(&self, server: &str) -> Vec<String> {
        self.input
            .pools
            .iter()
            .filter(|(_, members)| members.as_ref().is_some_and(|m| m.contains(server)))
            .map(|(pool, _)| pool.clone())
            .collect()
    }

    fn leave_pools(&mut self, server: &Server) {
        for pool in self.pools_of(&server.id) {
            self.wanted.push(Step::LeavePool { pool, servers: vec![server.id.clone()] });
        }
    }

    /// A kept active server on the load balancers the launch configuration names, as it
    /// should be there, and off those it does not name.
    fn keep_on_balancers(&mut self, server: &Server) {
        for balancer in self.input.balancers {
            match balancer {
                CloudBalancer::Clb { id, port } => self.keep_on_clb(server, id, *port),
                CloudBalancer::Pool { id } => match self.input.pools.get(id) {
                    Some(Some(members)) if members.contains(&server.id) => {}
                    Some(Some(_)) => {
                        self.wanted.push(Step::JoinPool { pool: id.clone(), servers: vec![server.id.clone()] })
                    }
                    _ => self
                        .reasons
                        .push(Reason::Failure(format!("RackConnect v3 load balancer pool does not exist: {id}"))),
                },
            }
        }
        let address = server.servicenet.as_deref().unwrap_or_default();
        for (lb, node) in self.nodes_at(address) {
            let wanted = CloudBalancer::Clb { id: lb.clone(), port: node.port };
            if !self.input.balancers.contains(&wanted) {
                self.wanted.push(Step::RemoveNodes { lb, nodes: vec![node.id] });
            }
        }
        for pool in self.pools_of(&server.id) {
            if !self.input.balancers.contains(&CloudBalancer::Pool { id: pool.clone() }) {
                self.wanted.push(Step::LeavePool { pool, servers: vec![server.id.clone()] });
            }
        }
    }

    fn keep_on_clb(&mut self, server: &Server, lb: &str, port: u16) {
        let (nodes, health_monitor) = match self.input.clbs.get(lb) {
            Some(ClbView::Present { nodes, health_monitor }) => (nodes, *health_monitor),
            Some(ClbView::Deleting) => {
                self.reasons.push(Reason::Failure(format!("Cloud Load Balancer is currently being deleted: {lb}")));
                return;
            }
            _ => {
                self.reasons.push(Reason::Failure(format!("Cloud Load Balancer does not exist: {lb}")));
                return;
            }
        };
        let Some(address) = server.servicenet.as_deref() else {
            self.reasons.push(Reason::Failure(format!(
                "Server {} has no ServiceNet address to add to Cloud Load Balancer {lb}",
                server.id
            )));
            return;
        };
        let lb = lb.to_string();
        match nodes.iter().find(|n| n.address == address && n.port == port) {
            None => {
                let condition = if health_monitor { "DRAINING" } else { "ENABLED" };
                let node = NewNode { address: address.to_string(), port, condition: condition.into(), weight: Some(1) };
                self.wanted.push(Step::AddNodes { lb, nodes: vec![node] });
            }
            // Added as DRAINING under a health monitor: enabled once it says ONLINE.
            // Not ONLINE by the build timeout (counted from the server's creation): the user must look.
            Some(node)
                if health_monitor
                    && node.condition == "DRAINING"
                    && node.status != "ONLINE"
                    && server.created.is_some_and(|c| self.input.now.duration_since(c) > self.input.build_timeout) =>
            {
                self.reasons.push(Reason::Failure(format!(
                    "Node {} of Cloud Load Balancer {lb} is still {} under its health monitor after the build timeout",
                    node.id,
                    if node.status.is_empty() { "not ONLINE" } else { node.status.as_str() }
                )));
            }
            Some(node) if health_monitor && node.condition == "DRAINING" && node.status != "ONLINE" => {
                self.reasons.push(Reason::Retry(format!(
                    "waiting for node {} of Cloud Load Balancer {lb} to be ONLINE",
                    node.id
                )));
            }
            Some(node)
                if node.condition != "ENABLED" || node.weight.is_some_and(|w| w != 1) || node.kind != "PRIMARY" =>
            {
                self.wanted.push(Step::ChangeNode { lb, node: node.id, condition: "ENABLED".into() });
            }
            Some(_) => {}
        }
    }

    /// A server leaving: drained on its Cloud Load Balancers for the draining timeout (from
    /// `since`, or from now when it is not marked yet), taken out of its pools, and deleted
    /// once it is on no load balancer.
    fn drain(&mut self, server: &Server, since: Option<Timestamp>) {
        let nodes = server.servicenet.as_deref().map(|a| self.nodes_at(a)).unwrap_or_default();
        let drains = self.input.draining_timeout > SignedDuration::ZERO && server.status != "BUILD";
        if !drains || nodes.is_empty() {
            self.delete(server);
            return;
        }
        self.leave_pools(server);
        let Some(since) = since else {
            let mut metadata = server.metadata.clone();
            metadata.insert(STATE_KEY.into(), json!("DRAINING"));
            metadata.insert(DRAINING_SINCE_KEY.into(), json!(self.input.now.to_string()));
            self.wanted.push(Step::MarkDraining { server: server.id.clone(), metadata });
            for (lb, node) in nodes {
                if node.condition != "DRAINING" {
                    self.wanted.push(Step::ChangeNode { lb, node: node.id, condition: "DRAINING".into() });
                }
            }
            self.reasons.push(Reason::Retry(format!("draining server {}", server.id)));
            return;
        };
        if self.input.now.duration_since(since) >= self.input.draining_timeout {
            for (lb, node) in nodes {
                self.wanted.push(Step::RemoveNodes { lb, nodes: vec![node.id] });
            }
            self.reasons.push(Reason::Retry(format!("removing server {} from its load balancers", server.id)));
            return;
        }
        for (lb, node) in nodes {
            if node.condition != "DRAINING" {
                self.wanted.push(Step::ChangeNode { lb, node: node.id, condition: "DRAINING".into() });
            }
        }
        self.reasons.push(Reason::Retry(format!("draining server {}", server.id)));
    }

    /// A server deleted without draining: off every load balancer, then deleted.
    fn delete(&mut self, server: &Server) {
        self.delete_now(server, true);
    }

    /// Off every load balancer and, if `delete`, deleted (a gone server only loses its nodes).
    fn delete_now(&mut self, server: &Server, delete: bool) {
        if let Some(address) = server.servicenet.as_deref() {
            for (lb, node) in self.nodes_at(address) {
                self.wanted.push(Step::RemoveNodes { lb, nodes: vec![node.id] });
            }
        }
        self.leave_pools(server);
        if delete {
            self.wanted.push(Step::DeleteServer { server: server.id.clone() });
        }
    }
}

/// Merges the steps wanted into one mutating call per Cloud Load Balancer (removals first,
/// in chunks, then additions, then the first change) and one call of each kind per pool.
fn one_call_per_balancer(wanted: Vec<Step>) -> Vec<Step> {
    let mut removals: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut additions: BTreeMap<String, Vec<NewNode>> = BTreeMap::new();
    let mut changes: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut joins: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut leaves: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut steps = Vec::new();
    for step in wanted {
        match step {
            Step::RemoveNodes { lb, nodes } => removals.entry(lb).or_default().extend(nodes),
            Step::AddNodes { lb, nodes } => additions.entry(lb).or_default().extend(nodes),
            Step::ChangeNode { lb, node, condition } => {
                changes.entry(lb).or_insert((node, condition));
            }
            Step::JoinPool { pool, servers } => joins.entry(pool).or_default().extend(servers),
            Step::LeavePool { pool, servers } => leaves.entry(pool).or_default().extend(servers),
            other => steps.push(other),
        }
    }
    let balancers: BTreeSet<String> = removals.keys().chain(additions.keys()).chain(changes.keys()).cloned().collect();
    for lb in balancers {
        if let Some(mut nodes) = removals.remove(&lb) {
            nodes.sort_unstable();
            nodes.dedup();
            nodes.truncate(REMOVE_CHUNK);
            steps.push(Step::RemoveNodes { lb, nodes });
        } else if let Some(nodes) = additions.remove(&lb) {
            steps.push(Step::AddNodes { lb, nodes });
        } else if let Some((node, condition)) = changes.remove(&lb) {
            steps.push(Step::ChangeNode { lb, node, condition });
        }
    }
    steps.extend(leaves.into_iter().map(|(pool, servers)| Step::LeavePool { pool, servers }));
    steps.extend(joins.into_iter().map(|(pool, servers)| Step::JoinPool { pool, servers }));
    steps
}

#[cfg(test)]
mod tests;
