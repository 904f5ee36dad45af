//! A tenant's cloud, as convergence uses it: its identity and services made from its stored
//! settings (made again when they change), what a pass gathers of a group, and each planned
//! step run, throttled per tenant as Otter throttles them, its failure sorted into what the
//! user must fix (in Otter's words) and what is tried again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ebb_core::cloud::converge::{ClbView, Reason, Step};
use ebb_core::cloud::identity::AccessError;
use ebb_core::cloud::launch::{CloudBalancer, ServerLaunch, balancers_of};
use ebb_core::cloud::nova::{self, Server};
use ebb_core::cloud::settings::CloudSettings;
use ebb_core::ids::TenantId;
use ebb_store::{CloudStore, StoreError};
use jiff::{SignedDuration, Timestamp};

use super::CloudError;
use super::clb::Clb;
use super::identity::{Identity, IdentityError};
use super::nova::Nova;
use super::rackconnect::RackConnect;
use crate::clock::Clock;

/// The least time between two calls of a kind, per tenant (Otter's per-tenant throttles).
#[derive(Debug, Clone, PartialEq)]
pub struct Throttles {
    /// Between server creations.
    pub create: Duration,
    /// Between server deletions.
    pub delete: Duration,
    /// Between changes to Cloud Load Balancers.
    pub clb: Duration,
}

impl Default for Throttles {
    fn default() -> Self {
        Throttles {
            create: Duration::from_secs(1),
            delete: Duration::from_millis(400),
            clb: Duration::from_millis(500),
        }
    }
}

/// Calls of one kind spaced by an interval: a caller waits for its turn.
struct Throttle {
    next: tokio::sync::Mutex<Timestamp>,
    interval: SignedDuration,
}

impl Throttle {
    fn new(interval: Duration) -> Self {
        Throttle {
            next: tokio::sync::Mutex::new(Timestamp::UNIX_EPOCH),
            interval: SignedDuration::try_from(interval).unwrap_or(SignedDuration::ZERO),
        }
    }

    async fn turn(&self, clock: &dyn Clock) {
        let mut next = self.next.lock().await;
        if *next > clock.now() {
            clock.sleep_until(*next).await;
        }
        *next = clock.now() + self.interval;
    }
}

/// Every tenant's cloud.
pub struct Clouds {
    store: Arc<dyn CloudStore>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    throttles: Throttles,
    tenants: Mutex<HashMap<TenantId, Arc<TenantCloud>>>,
    /// Every call made to tenants' clouds.
    calls: Arc<super::CallCounts>,
    /// What identity said of tokens presented to the API.
    verdicts: super::tokens::Verdicts,
}

/// Why an identity token could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The tenant's settings could not be read.
    #[error(transparent)]
    Store(StoreError),
    /// Identity could not be asked.
    #[error(transparent)]
    Identity(IdentityError),
    /// The tenant's tokens have cost identity all the validations allowed this second.
    #[error("too many identity tokens to validate for the tenant this second")]
    Busy,
}

impl Clouds {
    /// Tenants' clouds from their settings in `store`.
    pub fn new(store: Arc<dyn CloudStore>, clock: Arc<dyn Clock>, throttles: Throttles) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Clouds {
            store,
            http,
            clock,
            throttles,
            tenants: Mutex::new(HashMap::new()),
            calls: Arc::default(),
            verdicts: super::tokens::Verdicts::default(),
        }
    }

    /// Whether `token`, issued by the tenant's identity endpoint, stands for the tenant: its
    /// settings accept identity tokens, identity says the token is valid, and it belongs to
    /// the tenant's cloud project. Identity's yes is kept until the token expires, its no for a
    /// minute (the settings are read every time, so taking acceptance back takes effect at
    /// once), and a tenant's unknown tokens cost identity at most a few calls a second.
    pub async fn accepts_token(&self, tenant: &TenantId, token: &str) -> Result<bool, AcceptError> {
        let Some(cloud) = self.tenant(tenant).await.map_err(AcceptError::Store)? else { return Ok(false) };
        if !cloud.settings.accept_identity_tokens {
            return Ok(false);
        }
        let key = (tenant.clone(), ebb_core::secret::hash(token));
        let now = self.clock.now();
        if let Some(accepted) = self.verdicts.known(&key, now) {
            return Ok(accepted);
        }
        if !self.verdicts.spend(tenant, now) {
            return Err(AcceptError::Busy);
        }
        let access = cloud.identity.validate(token, now).await.map_err(AcceptError::Identity)?;
        let project = match &cloud.settings.credentials.project_id {
            Some(project) => project.clone(),
            None => cloud.identity.access(now).await.map_err(AcceptError::Identity)?.tenant,
        };
        let accepted = access.filter(|a| a.tenant == project && a.expires > now).map(|a| a.expires);
        self.verdicts.remember(key, accepted, now);
        Ok(accepted.is_some())
    }

    /// Every call made to tenants' clouds so far: service, method, calls.
    pub fn calls(&self) -> Vec<(&'static str, String, u64)> {
        self.calls.all()
    }

    /// A tenant's cloud, or `None` when it has no settings.
    pub async fn tenant(&self, tenant: &TenantId) -> Result<Option<Arc<TenantCloud>>, StoreError> {
        let Some(settings) = self.store.cloud(tenant).await? else {
            if let Ok(mut tenants) = self.tenants.lock() {
                tenants.remove(tenant);
            }
            return Ok(None);
        };
        let Ok(mut tenants) = self.tenants.lock() else { return Ok(None) };
        if let Some(cloud) = tenants.get(tenant).filter(|c| c.settings == settings) {
            return Ok(Some(cloud.clone()));
        }
        let cloud =
            Arc::new(TenantCloud::new(self.http.clone(), settings, self.clock.clone(), &self.throttles, &self.calls));
        tenants.insert(tenant.clone(), cloud.clone());
        Ok(Some(cloud))
    }
}

/// What a pass gathers of a group.
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    /// Its servers.
    pub servers: Vec<Server>,
    /// The Cloud Load Balancers they and the launch configuration name.
    pub clbs: BTreeMap<String, ClbView>,
    /// The RackConnect v3 pools they name: the servers in each, if it exists.
    pub pools: BTreeMap<String, Option<BTreeSet<String>>>,
}

/// One tenant's cloud.
pub struct TenantCloud {
    settings: CloudSettings,
    identity: Arc<Identity>,
    clock: Arc<dyn Clock>,
    /// Its Nova.
    pub nova: Nova,
    /// Its Cloud Load Balancers.
    pub clb: Clb,
    /// Its RackConnect v3.
    pub rackconnect: RackConnect,
    creates: Throttle,
    deletes: Throttle,
    clb_changes: Throttle,
}

impl TenantCloud {
    fn new(
        http: reqwest::Client,
        settings: CloudSettings,
        clock: Arc<dyn Clock>,
        throttles: &Throttles,
        calls: &Arc<super::CallCounts>,
    ) -> Self {
        let identity = Arc::new(Identity::new(http.clone(), settings.credentials.clone()));
        TenantCloud {
            nova: Nova::new(http.clone(), identity.clone(), clock.clone()).counted(calls.clone()),
            clb: Clb::new(http.clone(), identity.clone(), clock.clone()).counted(calls.clone()),
            rackconnect: RackConnect::new(http, identity.clone(), clock.clone()).counted(calls.clone()),
            settings,
            identity,
            clock,
            creates: Throttle::new(throttles.create),
            deletes: Throttle::new(throttles.delete),
            clb_changes: Throttle::new(throttles.clb),
        }
    }

    /// Its identity.
    pub fn identity(&self) -> &Arc<Identity> {
        &self.identity
    }

    /// The group's servers, and the load balancers they (and `launch`) name.
    pub async fn gather(&self, group: &str, launch: Option<&ServerLaunch>) -> Result<Gathered, Reason> {
        let fail = |err: CloudError| reason(&err, None);
        let servers = self.nova.servers(group).await.map_err(fail)?;
        let mut named: BTreeSet<CloudBalancer> =
            launch.map(|l| l.balancers.iter().cloned().collect()).unwrap_or_default();
        for server in &servers {
            named.extend(balancers_of(&server.metadata));
        }
        let mut gathered = Gathered { servers, ..Gathered::default() };
        for balancer in named {
            match balancer {
                CloudBalancer::Clb { id, .. } => {
                    if let std::collections::btree_map::Entry::Vacant(entry) = gathered.clbs.entry(id) {
                        let view = self.clb.view(entry.key()).await.map_err(fail)?;
                        entry.insert(view);
                    }
                }
                CloudBalancer::Pool { id } => {
                    let members = self.rackconnect.members(&id).await.map_err(fail)?;
                    gathered.pools.insert(id, members);
                }
            }
        }
        Ok(gathered)
    }

    /// Runs a step of a group's plan; what kept it from succeeding, if anything.
    pub async fn run(&self, step: &Step, group: &str, launch: Option<&ServerLaunch>) -> Result<(), Reason> {
        let clock = self.clock.as_ref();
        match step {
            Step::CreateServer => {
                let Some(launch) = launch else {
                    return Err(Reason::Failure("Server launch configuration is invalid: it has no server".into()));
                };
                let random = uuid::Uuid::new_v4();
                let name = nova::server_name(
                    launch.name(),
                    [random.as_bytes()[0], random.as_bytes()[1], random.as_bytes()[2], random.as_bytes()[3]],
                );
                let body = nova::create_body(&launch.server, group, &name, &launch.metadata());
                self.creates.turn(clock).await;
                self.nova.create(&body).await.map(drop).map_err(|err| reason(&err, Some(step)))
            }
            Step::DeleteServer { server } => {
                self.deletes.turn(clock).await;
                self.nova.delete(server).await.map_err(|err| reason(&err, Some(step)))?;
                match self.nova.gone(server).await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(Reason::Retry(format!("waiting for server {server} to be deleted"))),
                    Err(err) => Err(reason(&err, Some(step))),
                }
            }
            Step::MarkDraining { server, metadata } => match self.nova.set_metadata(server, metadata).await {
                Err(CloudError::Refused { status: 404, .. }) => Ok(()),
                other => other.map_err(|err| reason(&err, Some(step))),
            },
            Step::AddNodes { lb, nodes } => {
                let id = clb_id(lb)?;
                self.clb_changes.turn(clock).await;
                self.clb.add(id, nodes).await.map(drop).map_err(|err| reason(&err, Some(step)))
            }
            Step::ChangeNode { lb, node, condition } => {
                let id = clb_id(lb)?;
                self.clb_changes.turn(clock).await;
                self.clb.set_condition(id, *node, condition).await.map_err(|err| reason(&err, Some(step)))
            }
            Step::RemoveNodes { lb, nodes } => {
                let id = clb_id(lb)?;
                self.clb_changes.turn(clock).await;
                match self.clb.remove(id, nodes).await {
                    // The load balancer is gone, and its nodes with it.
                    Err(CloudError::Refused { status: 404, .. }) => Ok(()),
                    other => other.map_err(|err| reason(&err, Some(step))),
                }
            }
            Step::JoinPool { pool, servers } => {
                self.rackconnect.join(pool, servers).await.map_err(|err| reason(&err, Some(step)))
            }
            Step::LeavePool { pool, servers } => {
                self.rackconnect.leave(pool, servers).await.map_err(|err| reason(&err, Some(step)))
            }
        }
    }
}

fn clb_id(lb: &str) -> Result<u64, Reason> {
    lb.parse().map_err(|_| Reason::Failure(format!("Cloud Load Balancer does not exist: {lb}")))
}

/// What a failed call means for the group: a failure in Otter's words where the user must act,
/// a retry where the cloud may do better next time.
pub fn reason(err: &CloudError, step: Option<&Step>) -> Reason {
    let (status, message) = match err {
        CloudError::Unavailable { .. } => return Reason::Retry(err.to_string()),
        CloudError::Identity(IdentityError::Unavailable(_)) => return Reason::Retry(err.to_string()),
        CloudError::Identity(_) => return Reason::Failure(format!("Cannot authenticate to the cloud: {err}")),
        CloudError::Catalog(AccessError::NoService { name, .. } | AccessError::NoEndpoint { name, .. }) => {
            return Reason::Failure(format!(
                "Could not locate service {name} in the service catalog. Please check if your account is still active."
            ));
        }
        CloudError::Catalog(other) => return Reason::Failure(format!("Cannot authenticate to the cloud: {other}")),
        CloudError::Refused { status, message, .. } => (*status, message.as_str()),
    };
    let lower = message.to_lowercase();
    match step {
        Some(Step::CreateServer) => match status {
            403 | 413 => Reason::Failure(format!("Servers cannot be created: {message}")),
            _ => Reason::Failure(format!("Server launch configuration is invalid: {message}")),
        },
        Some(Step::AddNodes { lb, .. } | Step::ChangeNode { lb, .. } | Step::RemoveNodes { lb, .. }) => {
            if status == 413 && lower.contains("must not exceed") {
                let limit = message.split_whitespace().find_map(|word| word.parse::<u64>().ok());
                let limit = limit.map_or_else(|| "the allowed".to_string(), |n| n.to_string());
                Reason::Failure(format!("Cannot create more than {limit} nodes in Cloud Load Balancer {lb}"))
            } else if status == 404 && lower.contains("node") {
                let node = match step {
                    Some(Step::ChangeNode { node, .. }) => node.to_string(),
                    _ => "?".to_string(),
                };
                Reason::Failure(format!("Node {node} of Cloud Load Balancer {lb} does not exist"))
            } else if status == 404 {
                Reason::Failure(format!("Cloud Load Balancer does not exist: {lb}"))
            } else if lower.contains("pending_delete") || lower.contains("pending-delete") || lower.contains("deleted")
            {
                Reason::Failure(format!("Cloud Load Balancer is currently being deleted: {lb}"))
            } else if status == 422 || status == 413 {
                // Immutable while it updates, or the node is there already: gather again.
                Reason::Retry(format!("Cloud Load Balancer {lb}: {message}"))
            } else {
                Reason::Failure(format!(
                    "Unknown error occurred: Cloud Load Balancer {lb} refused ({status}): {message}"
                ))
            }
        }
        Some(Step::JoinPool { pool, .. } | Step::LeavePool { pool, .. }) => match status {
            // Already in the pool, or already out of it: gather again.
            409 if !lower.contains("does not exist") => Reason::Retry(format!("RackConnect v3 pool {pool}: {message}")),
            _ => Reason::Failure(format!("RackConnect v3 load balancer pool does not exist: {pool}")),
        },
        _ => Reason::Failure(format!("Unknown error occurred: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_throttle_spaces_its_callers_by_its_interval() {
        let origin: Timestamp = "2026-12-05T10:00:00Z".parse().unwrap();
        let clock = crate::clock::TokioClock::starting_at(origin);
        let throttle = Arc::new(Throttle::new(Duration::from_secs(1)));
        let turns = futures::future::join_all((0..3).map(|_| {
            let throttle = throttle.clone();
            async move {
                throttle.turn(&clock).await;
                clock.now()
            }
        }))
        .await;
        let mut seconds: Vec<i64> = turns.iter().map(|t| t.duration_since(origin).as_secs()).collect();
        seconds.sort();
        assert_eq!(seconds, [0, 1, 2], "three callers at once go a second apart");
        tokio::time::sleep(Duration::from_secs(5)).await;
        throttle.turn(&clock).await;
        assert_eq!(clock.now().duration_since(origin).as_secs(), 7, "after a pause, at once");
    }

    fn refused(status: u16, message: &str) -> CloudError {
        CloudError::Refused { service: "x", status, message: message.into() }
    }

    #[test]
    fn failures_read_as_otters() {
        let create = Step::CreateServer;
        let add = Step::AddNodes { lb: "7".into(), nodes: Vec::new() };
        let table: &[(CloudError, &Step, Reason)] = &[
            (refused(400, "Invalid imageRef provided."), &create, Reason::Failure("Server launch configuration is invalid: Invalid imageRef provided.".into())),
            (refused(403, "Quota exceeded for instances"), &create, Reason::Failure("Servers cannot be created: Quota exceeded for instances".into())),
            (refused(413, "Nodes must not exceed 25 per load balancer."), &add, Reason::Failure("Cannot create more than 25 nodes in Cloud Load Balancer 7".into())),
            (refused(404, "Load balancer not found"), &add, Reason::Failure("Cloud Load Balancer does not exist: 7".into())),
            (refused(422, "Load Balancer '7' has a status of 'PENDING_DELETE' and is considered immutable."), &add, Reason::Failure("Cloud Load Balancer is currently being deleted: 7".into())),
            (refused(422, "Load Balancer '7' has a status of 'PENDING_UPDATE' and is considered immutable."), &add, Reason::Retry("Cloud Load Balancer 7: Load Balancer '7' has a status of 'PENDING_UPDATE' and is considered immutable.".into())),
            (CloudError::Unavailable { service: "Nova", reason: "500".into() }, &create, Reason::Retry("Nova is unavailable: 500".into())),
            (CloudError::Catalog(AccessError::NoService { kind: "rax:load-balancer".into(), name: "cloudLoadBalancers".into() }), &add,
             Reason::Failure("Could not locate service cloudLoadBalancers in the service catalog. Please check if your account is still active.".into())),
        ];
        for (err, step, expected) in table {
            assert_eq!(&reason(err, Some(step)), expected, "{err}");
        }
    }
}
