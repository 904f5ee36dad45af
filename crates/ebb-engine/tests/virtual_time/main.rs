//! The engine on virtual time: schedules, windows, cooldowns, convergence retries, crash loops
//! and self-healing, each over minutes or days of the engine's clock, in milliseconds of real
//! time and without a `sleep`.
//!
//! The engine runs as in `ebb serve` (the converger, the scheduler, the decisions) over the
//! in-memory store (it answers within its call, so tokio's clock cannot move during a write),
//! with a fake provider and fake load balancers, on a [`TokioClock`] under tokio's paused time:
//! the clock only moves when every task waits on a timer, and then jumps to the next one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ebb_core::decide::Pause;
use ebb_core::group::{GroupConfig, Mode};
use ebb_core::launch::{LaunchConfig, LaunchKind};
use ebb_core::limits::Limits;
use ebb_core::policy::Policy;
use ebb_core::records::{GroupStatus, GroupWindows, Source};
use ebb_engine::EngineMetrics;
use ebb_engine::balancer::{BalancerStats, TrafficStats};
use ebb_engine::clock::{Clock, TokioClock};
use ebb_engine::converger::{ConvergeSettings, Converger, Trigger};
use ebb_engine::engine::{Engine, GroupRequest, PolicyBody};
use ebb_engine::provider::{Balancers, LoadBalancer, MemberStatus, MemberToStart, Provider, ProviderError, Started};
use ebb_engine::scheduler::Scheduler;
use ebb_store::{GroupId, HistoryQuery, MemberRecord, Page, PolicyId, Store, TenantId};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// How the fake's members behave.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// Ready this long after they start.
    ReadyAfter(Duration),
    /// Exit before they are ever ready.
    Crash,
    /// Run, never ready.
    NeverReady,
}

#[derive(Debug)]
struct FakeMember {
    started: Timestamp,
    stopped: bool,
    killed: bool,
}

/// A provider whose members are entries in a table, ready or not by the clock.
struct FakeProvider {
    clock: Arc<dyn Clock>,
    behaviour: Mutex<Behaviour>,
    members: Mutex<HashMap<String, FakeMember>>,
    next_port: AtomicU16,
}

impl FakeProvider {
    fn running(&self) -> usize {
        self.members.lock().unwrap().values().filter(|m| !m.stopped && !m.killed).count()
    }

    /// Kills one running member, as `kill -9` would.
    fn kill_one(&self) -> Option<String> {
        let mut members = self.members.lock().unwrap();
        let (id, member) = members.iter_mut().find(|(_, m)| !m.stopped && !m.killed)?;
        member.killed = true;
        Some(id.clone())
    }

    fn kill(&self, id: &str) {
        if let Some(member) = self.members.lock().unwrap().get_mut(id) {
            member.killed = true;
        }
    }
}

#[async_trait::async_trait]
impl Provider for FakeProvider {
    fn kind(&self) -> LaunchKind {
        LaunchKind::LocalProcess
    }

    fn name(&self) -> &'static str {
        "local_process"
    }

    async fn start(&self, member: &MemberToStart<'_>) -> Result<Started, ProviderError> {
        let port = self.next_port.fetch_add(1, Ordering::Relaxed);
        let record = FakeMember { started: self.clock.now(), stopped: false, killed: false };
        self.members.lock().unwrap().insert(member.member_id.to_string(), record);
        Ok(Started { reference: json!({"port": port}), address: SocketAddr::from(([127, 0, 0, 1], port)) })
    }

    fn address(&self, member: &MemberRecord) -> Option<SocketAddr> {
        let port = member.reference.get("port")?.as_u64()? as u16;
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    fn status(&self, member: &MemberRecord) -> MemberStatus {
        let members = self.members.lock().unwrap();
        let Some(fake) = members.get(member.id.as_str()) else { return MemberStatus::Unknown };
        let age = Duration::try_from(self.clock.now().duration_since(fake.started)).unwrap_or_default();
        match *self.behaviour.lock().unwrap() {
            _ if fake.stopped => MemberStatus::Exited { how: "stopped".into(), before_ready: false },
            _ if fake.killed => MemberStatus::Exited { how: "killed by signal 9".into(), before_ready: false },
            Behaviour::Crash => MemberStatus::Exited { how: "exited with status 1".into(), before_ready: true },
            Behaviour::NeverReady => MemberStatus::Running { ready: false },
            Behaviour::ReadyAfter(after) => MemberStatus::Running { ready: age >= after },
        }
    }

    fn stop(&self, member: &MemberRecord) {
        if let Some(fake) = self.members.lock().unwrap().get_mut(member.id.as_str()) {
            fake.stopped = true;
        }
    }

    fn forget(&self, member: &MemberRecord) {
        self.members.lock().unwrap().remove(member.id.as_str());
    }

    fn disown(&self, member: &MemberRecord) {
        self.members.lock().unwrap().remove(member.id.as_str());
    }

    async fn stop_all(&self, members: &[MemberRecord]) {
        for member in members {
            self.stop(member);
        }
    }

    async fn clean_up(&self, _recorded: &[MemberRecord], _groups: &std::collections::HashSet<String>) -> usize {
        0
    }

    fn group_gone(&self, _group: &str) {}

    async fn output(&self, _group: &str, _member: &str, _max_bytes: u64) -> std::io::Result<(Vec<u8>, bool)> {
        Ok((Vec::new(), false))
    }
}

/// Balancers that only remember who is routable.
#[derive(Default)]
struct FakeBalancers {
    bound: Mutex<Vec<Arc<FakeBalancer>>>,
}

struct FakeBalancer {
    port: u16,
    routable: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Balancers for FakeBalancers {
    async fn bind(&self, port: u16) -> Result<Arc<dyn LoadBalancer>, String> {
        let balancer = Arc::new(FakeBalancer { port, routable: Mutex::new(Vec::new()) });
        self.bound.lock().unwrap().push(balancer.clone());
        Ok(balancer)
    }
}

#[async_trait::async_trait]
impl LoadBalancer for FakeBalancer {
    fn port(&self) -> u16 {
        self.port
    }
    fn add(&self, member: &str, _address: SocketAddr) {
        let mut routable = self.routable.lock().unwrap();
        if !routable.iter().any(|m| m == member) {
            routable.push(member.to_string());
        }
    }
    fn drain(&self, member: &str) {
        self.routable.lock().unwrap().retain(|m| m != member);
    }
    fn remove(&self, member: &str) {
        self.drain(member);
    }
    fn routable(&self) -> Vec<String> {
        self.routable.lock().unwrap().clone()
    }
    fn in_flight(&self, _member: &str) -> u64 {
        0
    }
    fn stats(&self) -> BalancerStats {
        let traffic = TrafficStats {
            requests_total: 0,
            errors_total: 0,
            requests_per_second: 0.0,
            error_rate: 0.0,
            in_flight: 0,
            open_connections: 0,
            p50_ms: 0.0,
            p95_ms: 0.0,
            p99_ms: 0.0,
        };
        BalancerStats { port: self.port, group: traffic, members: Vec::new() }
    }
    async fn shutdown(&self) {}
}

/// An engine as `ebb serve` runs it, on virtual time, with the fakes.
struct Harness {
    engine: Arc<Engine>,
    provider: Arc<FakeProvider>,
    clock: Arc<TokioClock>,
}

/// The tenant of every test.
fn t() -> TenantId {
    TenantId::new("t")
}

fn t0() -> Timestamp {
    "2026-03-02T07:59:30Z".parse().unwrap()
}

async fn harness(behaviour: Behaviour) -> Harness {
    let store: Arc<dyn Store> = Arc::new(ebb_store::MemoryStore::new());
    let clock = Arc::new(TokioClock::starting_at(t0()));
    let provider = Arc::new(FakeProvider {
        clock: clock.clone(),
        behaviour: Mutex::new(behaviour),
        members: Mutex::new(HashMap::new()),
        next_port: AtomicU16::new(20000),
    });
    let settings = ConvergeSettings { build_timeout: Duration::from_secs(30), ..ConvergeSettings::default() };
    let providers: Vec<Arc<dyn Provider>> = vec![provider.clone()];
    let converger =
        Converger::new(store.clone(), clock.clone(), providers, Arc::new(FakeBalancers::default()), settings);
    let engine = Arc::new(Engine::new(store.clone(), clock.clone(), EngineMetrics::default(), converger.clone()));
    let (_events, queue) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(converger.run(queue, std::future::pending()));
    tokio::spawn(Scheduler::new(engine.clone(), Duration::from_secs(300)).run(std::future::pending()));
    store.create_tenant(&t(), t0()).await.unwrap();
    store
        .set_local_process(&t(), ebb_core::grant::LocalProcessGrant { enabled: true, ..Default::default() })
        .await
        .unwrap();
    Harness { engine, provider, clock }
}

fn local_process() -> LaunchConfig {
    LaunchConfig::parse(&json!({"type": "local_process", "args": {"process": {"command": "app"}, "loadBalancers": [{"type": "builtin", "port": 9999}]}}), "").unwrap()
}

fn policy(body: Value) -> PolicyBody {
    PolicyBody { policy: Policy::from_stored(&body).unwrap(), body }
}

impl Harness {
    async fn group(&self, min: u32, max: u32, policies: Vec<Value>) -> (GroupId, Vec<PolicyId>) {
        let config = GroupConfig::parse(
            &json!({"name": "g", "cooldown": 0, "minEntities": min, "maxEntities": max}),
            "",
            Mode::Create,
        )
        .unwrap();
        let request = GroupRequest {
            tenant_id: t(),
            config,
            launch: local_process(),
            policies: policies.into_iter().map(policy).collect(),
        };
        let (group, policies) = self.engine.create_group(request, Limits::default()).await.unwrap();
        (group.id, policies.into_iter().map(|p| p.id).collect())
    }

    async fn desired(&self, group: &GroupId) -> u32 {
        self.engine.store().get_group(&t(), group).await.unwrap().state.desired
    }

    async fn history(&self, group: &GroupId) -> Vec<(Source, u32, u32)> {
        let query = HistoryQuery { page: Page { marker: None, limit: 100 }, since: None, until: None, source: None };
        let records = self.engine.store().list_history(&t(), group, &query).await.unwrap();
        records.into_iter().rev().map(|r| (r.entry.source, r.entry.from, r.entry.to)).collect()
    }

    /// Lets virtual time pass.
    async fn wait(&self, duration: Duration) {
        self.clock.sleep(duration).await;
    }

    /// Waits, in steps of virtual time, until `probe` holds; panics after `limit`.
    async fn until<F: AsyncFn() -> bool>(&self, limit: Duration, probe: F) -> Duration {
        let start = self.clock.now();
        loop {
            if probe().await {
                return Duration::try_from(self.clock.now().duration_since(start)).unwrap_or_default();
            }
            let waited = Duration::try_from(self.clock.now().duration_since(start)).unwrap_or_default();
            assert!(waited < limit, "not within {limit:?} of virtual time");
            self.wait(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_cron_schedule_fires_once_in_each_minute_for_an_hour() {
    let wall = std::time::Instant::now();
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let cron = json!({"name": "tick", "type": "schedule", "cooldown": 0, "change": 1, "args": {"cron": "* * * * *"}});
    let (g, _) = h.group(0, 100, vec![cron]).await;
    h.wait(Duration::from_secs(3600)).await;
    let history = h.history(&g).await;
    let fired: Vec<_> = history.iter().filter(|(source, _, _)| *source == Source::Schedule).collect();
    assert_eq!(fired.len(), 60, "once a minute for an hour: {history:?}");
    assert_eq!(h.desired(&g).await, 60);
    let events = h.engine.store().list_events(&t(), &g, 100).await.unwrap();
    assert_eq!(events.len(), 60);
    for event in &events {
        let lateness = event.at.duration_since(event.due.unwrap());
        assert!(lateness >= SignedDuration::ZERO && lateness < SignedDuration::from_secs(1), "{lateness:?} late");
    }
    assert!(wall.elapsed() < Duration::from_secs(20), "an hour took {:?}", wall.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_paused_group_skips_its_schedule_and_goes_on_when_resumed() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let cron =
        json!({"name": "tick", "type": "schedule", "cooldown": 0, "change": 1, "args": {"cron": "*/10 * * * *"}});
    let (g, _) = h.group(0, 100, vec![cron]).await;
    h.engine.set_pause(&t(), &g, Pause::All).await.unwrap();
    h.wait(Duration::from_secs(30 * 60)).await;
    assert_eq!(h.desired(&g).await, 0);
    let events = h.engine.store().list_events(&t(), &g, 100).await.unwrap();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.message == "the group is paused"));
    h.engine.set_pause(&t(), &g, Pause::Resume).await.unwrap();
    h.wait(Duration::from_secs(20 * 60)).await;
    assert_eq!(h.desired(&g).await, 2);
}

#[tokio::test(start_paused = true)]
async fn a_window_raises_capacity_at_its_start_bounds_executions_and_gives_way_at_its_end() {
    let h = harness(Behaviour::ReadyAfter(Duration::from_secs(1))).await;
    let up = json!({"name": "up", "type": "webhook", "cooldown": 0, "change": 10});
    let (g, policies) = h.group(1, 3, vec![up]).await;
    // 08:00 to 09:00 every day, 4 to 8 members, starting with 5.
    let document = json!({"timezone": "UTC", "recurring_schedule": [{"start_time": "08:00", "end_time": "09:00",
        "days_of_week": [1, 2, 3, 4, 5, 6, 7], "instance_min_count": 4, "instance_max_count": 8, "initial_min_instance_count": 5}]});
    let windows = GroupWindows::parse_stored(document).unwrap();
    h.engine.replace_windows(&t(), &g, Some(windows)).await.unwrap();
    assert_eq!(h.desired(&g).await, 1);
    // 30 s later it is 08:00.
    h.until(Duration::from_secs(40), async || h.desired(&g).await == 5).await;
    assert!(h.clock.now() >= "2026-03-02T08:00:00Z".parse::<Timestamp>().unwrap());
    h.until(Duration::from_secs(10), async || h.provider.running() == 5).await;
    assert_eq!(
        h.engine.execute_policy(&t(), &g, &policies[0]).await.unwrap(),
        ebb_core::records::Execution::Scaled { from: 5, to: 8 }
    );
    h.until(Duration::from_secs(3700), async || h.desired(&g).await == 3).await;
    let sources: Vec<Source> = h.history(&g).await.iter().map(|(s, _, _)| *s).collect();
    assert_eq!(sources, [Source::Create, Source::WindowStart, Source::Api, Source::WindowEnd]);
    h.until(Duration::from_secs(60), async || h.provider.running() == 3).await;
    // And again the next morning.
    h.until(Duration::from_secs(86_400), async || h.desired(&g).await == 5).await;
}

#[tokio::test(start_paused = true)]
async fn cooldowns_refuse_until_they_have_passed() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let slow = json!({"name": "slow", "type": "webhook", "cooldown": 60, "change": 1});
    let (g, policies) = h.group(0, 10, vec![slow]).await;
    let execute = async || h.engine.execute_policy(&t(), &g, &policies[0]).await.unwrap();
    assert!(matches!(execute().await, ebb_core::records::Execution::Scaled { .. }));
    h.wait(Duration::from_secs(30)).await;
    assert!(matches!(execute().await, ebb_core::records::Execution::Refused(ebb_core::capacity::Refusal::Cooldown)));
    h.wait(Duration::from_secs(30)).await;
    assert!(matches!(execute().await, ebb_core::records::Execution::Scaled { .. }));
    assert_eq!(h.desired(&g).await, 2);
}

#[tokio::test(start_paused = true)]
async fn convergence_retries_until_slow_members_are_ready_and_heals_a_killed_one() {
    let h = harness(Behaviour::ReadyAfter(Duration::from_secs(20))).await;
    let (g, _) = h.group(3, 10, vec![]).await;
    let took = h.until(Duration::from_secs(60), async || h.engine.observation(&g).active.len() == 3).await;
    assert!(took >= Duration::from_secs(20), "ready only after their 20 s: {took:?}");
    assert_eq!(h.provider.running(), 3);
    // A member dies; the self-heal pass replaces it, and the new one is ready 20 s later.
    h.provider.kill_one().unwrap();
    h.until(Duration::from_secs(60), async || h.engine.observation(&g).active.len() == 3 && h.provider.running() == 3)
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_crash_loop_puts_the_group_in_error_and_a_user_action_retries() {
    let h = harness(Behaviour::Crash).await;
    let (g, _) = h.group(2, 10, vec![]).await;
    let status = async || h.engine.store().get_group(&t(), &g).await.unwrap().state.status;
    h.until(Duration::from_secs(30), async || status().await == GroupStatus::Error).await;
    let errors = h.engine.store().get_group(&t(), &g).await.unwrap().state.errors;
    assert!(errors[0].contains("exited before they were ready"), "{errors:?}");
    // In ERROR nothing more is started, however long it waits.
    let started = h.provider.members.lock().unwrap().len();
    h.wait(Duration::from_secs(600)).await;
    assert_eq!(h.provider.members.lock().unwrap().len(), started, "no member started while in ERROR");
    // Fixed, and asked to converge: the group recovers.
    *h.provider.behaviour.lock().unwrap() = Behaviour::ReadyAfter(Duration::ZERO);
    h.engine.converger().trigger(g.as_str(), Trigger::Converge);
    h.until(Duration::from_secs(30), async || {
        status().await == GroupStatus::Active && h.engine.observation(&g).active.len() == 2
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn members_that_never_get_ready_put_the_group_in_error() {
    let h = harness(Behaviour::NeverReady).await;
    let (g, _) = h.group(1, 10, vec![]).await;
    let status = async || h.engine.store().get_group(&t(), &g).await.unwrap().state.status;
    let took = h.until(Duration::from_secs(300), async || status().await == GroupStatus::Error).await;
    assert!(took >= Duration::from_secs(90), "three build timeouts of 30 s: {took:?}");
    let errors = h.engine.store().get_group(&t(), &g).await.unwrap().state.errors;
    assert!(errors[0].contains("readiness check"), "{errors:?}");
    h.until(Duration::from_secs(30), async || h.provider.running() == 0).await;
}

#[tokio::test(start_paused = true)]
async fn a_group_without_a_provider_says_so_instead_of_reporting_itself_settled() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let config =
        GroupConfig::parse(&json!({"name": "cloud", "cooldown": 0, "minEntities": 2}), "", Mode::Create).unwrap();
    let launch = LaunchConfig::parse(
        &json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}}),
        "",
    )
    .unwrap();
    let request = GroupRequest { tenant_id: t(), config, launch, policies: Vec::new() };
    let (group, _) = h.engine.create_group(request, Limits::default()).await.unwrap();
    h.until(Duration::from_secs(5), async || h.engine.observation(&group.id).unconverged.is_some()).await;
    let why = h.engine.observation(&group.id).unconverged.unwrap();
    assert!(why.contains("no provider for launch_server"), "{why}");
    assert_eq!(h.provider.running(), 0);
}

mod metric_policies;
mod metric_rules;
mod same_decisions;
