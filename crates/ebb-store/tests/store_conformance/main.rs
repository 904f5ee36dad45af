//! The store conformance suite: what every `Store` implementation must do, written once and
//! run unchanged against each backend (SQLite on a temporary file here; PostgreSQL too, in a
//! database of its own per test, when one is reachable).
//!
//! Decisions are the pure functions of `ebb_core::decide`; what is checked here is that the
//! store loads the right snapshot, commits what a decision returns (state, cooldowns, timers,
//! history, events) atomically, refuses what the decision refuses without writing anything,
//! and lets a due time take effect at most once.

use std::sync::Arc;

use ebb_core::capacity::{Bounds, Refusal};
use ebb_core::decide::{self, Outcome};
use ebb_core::grant::LocalProcessGrant;
use ebb_core::group::{GroupConfig, Mode};
use ebb_core::launch::LaunchConfig;
use ebb_core::limits::Limits;
use ebb_core::policy::Policy;
use ebb_core::records::{Direction, Execution, GroupWindows, Source};
use ebb_store::{
    Committed, Decide, GroupId, HistoryQuery, MemberRecord, MetricCredential, MinuteAggregate, MinuteQuery, NewGroup,
    NewPolicy, NewWebhook, Of, Page, PolicyId, Role, Store, StoreError, Subject, TenantId, WebhookId,
};
use jiff::{SignedDuration, Timestamp};

mod broker;
mod clouds;
mod collectors;

use broker::*;
use clouds::*;
use collectors::*;
use serde_json::{Value, json};

/// Opens a fresh SQLite store in a temporary folder.
async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    (ebb_store::open(&url, ebb_store::StoreMetrics::unregistered()).await.unwrap(), dir)
}

/// A PostgreSQL store in a schema of its own, dropped by [`Postgres::drop_schema`]; `None`
/// (with a message) when no PostgreSQL is reachable and `CI` is unset.
struct Postgres {
    store: Arc<dyn Store>,
    admin: tokio_postgres::Client,
    schema: String,
}

impl Postgres {
    async fn open() -> Option<Postgres> {
        let base = std::env::var("EBB_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let (admin, connection) = match tokio_postgres::connect(&base, tokio_postgres::NoTls).await {
            Ok(connected) => connected,
            Err(err) => {
                assert!(std::env::var_os("CI").is_none(), "CI needs PostgreSQL at {base}: {err}");
                eprintln!("skipped: no PostgreSQL at {base} ({err})");
                return None;
            }
        };
        tokio::spawn(connection);
        let schema = format!("ebb_test_{}", uuid::Uuid::new_v4().simple());
        admin.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
        let store = ebb_store::open(&url, ebb_store::StoreMetrics::unregistered()).await.unwrap();
        Some(Postgres { store, admin, schema })
    }

    async fn drop_schema(self) {
        drop(self.store);
        let _ = self.admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema)).await;
    }
}

/// Runs every listed test against every backend.
macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = super::sqlite().await;
                    super::$name(store).await;
                }
            )*
        }
        mod postgres_store {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(postgres) = super::Postgres::open().await else { return };
                    super::$name(postgres.store.clone()).await;
                    postgres.drop_schema().await;
                }
            )*
        }
        mod memory_store {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(std::sync::Arc::new(ebb_store::MemoryStore::new())).await;
                }
            )*
        }
    };
}

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn config(min: u32, max: u32, cooldown: u32) -> GroupConfig {
    GroupConfig::parse(
        &json!({"name": "g", "cooldown": cooldown, "minEntities": min, "maxEntities": max, "metadata": {}}),
        "",
        Mode::Replace,
    )
    .unwrap()
}

fn policy(body: Value) -> NewPolicy {
    let policy = Policy::from_stored(&body).unwrap();
    let next_fire = decide::arm_schedule(&policy, t0());
    NewPolicy { body, policy, next_fire }
}

fn change(change: i64, cooldown: f64) -> NewPolicy {
    policy(json!({"name": "p", "type": "webhook", "cooldown": cooldown, "change": change}))
}

fn new_group(tenant: &str, min: u32, max: u32, policies: Vec<NewPolicy>) -> NewGroup {
    let config = config(min, max, 0);
    let id = GroupId::generate();
    let (state, history) = decide::create_group(&id, &config, t0());
    NewGroup {
        id,
        tenant_id: tenant.into(),
        config,
        launch: LaunchConfig::parse(
            &json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}}),
            "",
        )
        .unwrap(),
        state,
        history,
        policies,
    }
}

fn on_group(tenant: &str, group: &GroupId, policy: Option<&PolicyId>) -> Subject {
    Subject::Group { tenant: tenant.into(), group: group.clone(), policy: policy.cloned(), member: None }
}

fn executing(source: Source, now: Timestamp) -> Decide {
    Box::new(move |snapshot| decide::execute_policy(snapshot, source, now))
}

async fn execute(
    store: &Arc<dyn Store>,
    tenant: &str,
    group: &GroupId,
    policy: &PolicyId,
    now: Timestamp,
) -> Result<Execution, StoreError> {
    let committed = store.decide(on_group(tenant, group, Some(policy)), executing(Source::Api, now)).await?;
    match committed.map(|c| c.decision.outcome) {
        Some(Outcome::Execution(execution)) => Ok(execution),
        other => panic!("not an execution: {other:?}"),
    }
}

async fn history(store: &Arc<dyn Store>, tenant: &str, group: &GroupId) -> Vec<ebb_store::HistoryRecord> {
    let query = HistoryQuery { page: Page { marker: None, limit: 100 }, since: None, until: None, source: None };
    store.list_history(&tenant.into(), group, &query).await.unwrap()
}

store_suite!(
    tenants_are_unique,
    tokens_are_found_by_hash_and_revoked,
    local_processes_are_granted_per_tenant,
    groups_start_at_their_minimum_with_a_first_history_entry_and_list_in_pages,
    the_group_limit_is_enforced_per_tenant,
    decisions_are_committed_with_their_cooldowns_and_history,
    a_refused_decision_writes_nothing,
    paused_groups_refuse_before_the_policy_is_looked_up,
    capability_subjects_load_their_webhook_policy_and_group,
    a_schedule_fires_at_most_once_per_due_time,
    a_window_timer_applies_at_most_once_and_rearms,
    bounds_and_windows_replacements_are_decisions,
    metric_rules_and_their_cooldown_are_stored_by_decisions,
    metric_credentials_are_set_rotated_and_revoked,
    service_instances_are_created_once_and_keep_their_default_policy,
    a_group_has_at_most_one_binding_and_loses_it_when_purged,
    collectors_are_stored_with_their_secrets_listed_replaced_and_deleted,
    cloud_settings_are_stored_with_their_secret_replaced_and_removed,
    the_collector_limit_is_enforced_per_group_and_collectors_go_with_their_group,
    a_service_instance_with_bindings_is_not_deleted,
    a_default_policy_followed_by_a_group_is_a_decision,
    minutes_of_metrics_are_listed_in_pages_and_pruned,
    deletes_cascade_to_policies_webhooks_and_capabilities,
    policy_and_webhook_limits_are_atomic,
    members_are_recorded_with_their_provider_reference,
    history_lists_newest_first_with_filters_and_prunes,
    a_failed_write_does_not_disturb_the_writes_committed_with_it,
    concurrent_decisions_are_serialized,
    concurrent_writers_respect_the_limits,
);

async fn tenants_are_unique(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    assert!(matches!(store.create_tenant(&"a".into(), t0()).await, Err(StoreError::TenantExists)));
    store.create_tenant(&"b".into(), t0()).await.unwrap();
    let ids: Vec<_> = store.list_tenants().await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["a", "b"]);
    assert!(store.tenant_exists(&"a".into()).await.unwrap());
    assert!(!store.tenant_exists(&"c".into()).await.unwrap());
}

async fn tokens_are_found_by_hash_and_revoked(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    assert!(matches!(
        store.create_token(&"nobody".into(), Role::Admin, "h0", t0()).await,
        Err(StoreError::TenantNotFound)
    ));
    let token = store.create_token(&"a".into(), Role::Observer, "h1", t0()).await.unwrap();
    let found = store.find_token("h1").await.unwrap().unwrap();
    assert_eq!(found.role, Role::Observer);
    assert_eq!(found.tenant_id, "a");
    assert!(store.find_token("h2").await.unwrap().is_none());
    assert!(matches!(store.delete_token(&"b".into(), &token.id).await, Err(StoreError::TokenNotFound)));
    store.delete_token(&"a".into(), &token.id).await.unwrap();
    assert!(store.find_token("h1").await.unwrap().is_none());
}

async fn local_processes_are_granted_per_tenant(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    store.create_tenant(&"b".into(), t0()).await.unwrap();
    assert_eq!(store.local_process(&"a".into()).await.unwrap(), LocalProcessGrant::default(), "off until granted");
    assert!(matches!(store.local_process(&"nobody".into()).await, Err(StoreError::TenantNotFound)));
    let unknown = store.set_local_process(&"nobody".into(), LocalProcessGrant::default()).await;
    assert!(matches!(unknown, Err(StoreError::TenantNotFound)));
    let grant = LocalProcessGrant {
        enabled: true,
        commands: Some(vec!["/usr/bin/app".into()]),
        working_dirs: Some(vec!["/srv/a".into(), "/srv/shared".into()]),
    };
    store.set_local_process(&"a".into(), grant.clone()).await.unwrap();
    assert_eq!(store.local_process(&"a".into()).await.unwrap(), grant);
    assert_eq!(store.local_process(&"b".into()).await.unwrap(), LocalProcessGrant::default(), "per tenant");
    let open = LocalProcessGrant { enabled: true, commands: None, working_dirs: None };
    store.set_local_process(&"a".into(), open.clone()).await.unwrap();
    assert_eq!(store.local_process(&"a".into()).await.unwrap(), open, "replaced, not merged");
}

async fn groups_start_at_their_minimum_with_a_first_history_entry_and_list_in_pages(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (group, policies) =
            store.create_group(new_group("a", 3, 7, vec![change(1, 0.0)]), Limits::default(), t0()).await.unwrap();
        assert_eq!(group.state.desired, 3);
        assert_eq!(policies.len(), 1);
        ids.push(group.id);
    }
    let first = history(&store, "a", &ids[0]).await;
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].entry.source, first[0].entry.from, first[0].entry.to), (Source::Create, 0, 3));
    let read = store.get_group(&"a".into(), &ids[0]).await.unwrap();
    assert_eq!(read.launch.document["type"], "launch_server", "stored documents come back typed");
    ids.sort();
    let page = store.list_groups(&"a".into(), &Page { marker: None, limit: 2 }).await.unwrap();
    assert_eq!(page.iter().map(|g| g.id.clone()).collect::<Vec<_>>(), ids[..2]);
    let rest = store.list_groups(&"a".into(), &Page { marker: Some(ids[1].to_string()), limit: 10 }).await.unwrap();
    assert_eq!(rest.iter().map(|g| g.id.clone()).collect::<Vec<_>>(), ids[2..]);
    assert!(store.list_groups(&"other".into(), &Page { marker: None, limit: 10 }).await.unwrap().is_empty());
    assert!(matches!(store.get_group(&"other".into(), &ids[0]).await, Err(StoreError::GroupNotFound)));
    assert!(matches!(
        store.create_group(new_group("nobody", 0, 1, vec![]), Limits::default(), t0()).await,
        Err(StoreError::TenantNotFound)
    ));
}

async fn the_group_limit_is_enforced_per_tenant(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    store.create_tenant(&"b".into(), t0()).await.unwrap();
    let limits = Limits { max_groups: 2, ..Limits::default() };
    for _ in 0..2 {
        store.create_group(new_group("a", 0, 1, vec![]), limits, t0()).await.unwrap();
    }
    assert!(matches!(
        store.create_group(new_group("a", 0, 1, vec![]), limits, t0()).await,
        Err(StoreError::GroupLimit { limit: 2 })
    ));
    store.create_group(new_group("b", 0, 1, vec![]), limits, t0()).await.unwrap();
}

async fn decisions_are_committed_with_their_cooldowns_and_history(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, policies) =
        store.create_group(new_group("a", 1, 4, vec![change(2, 60.0)]), Limits::default(), t0()).await.unwrap();
    let p = &policies[0].id;
    assert_eq!(execute(&store, "a", &group.id, p, t0()).await.unwrap(), Execution::Scaled { from: 1, to: 3 });
    let soon = t0() + SignedDuration::from_secs(59);
    assert_eq!(execute(&store, "a", &group.id, p, soon).await.unwrap(), Execution::Refused(Refusal::Cooldown));
    let later = t0() + SignedDuration::from_secs(60);
    assert_eq!(execute(&store, "a", &group.id, p, later).await.unwrap(), Execution::Scaled { from: 3, to: 4 });
    let much_later = t0() + SignedDuration::from_secs(600);
    assert_eq!(execute(&store, "a", &group.id, p, much_later).await.unwrap(), Execution::Refused(Refusal::NoChange));
    let stored = store.get_policy(&"a".into(), &group.id, p).await.unwrap();
    assert_eq!(stored.touched_at, Some(later), "a refusal starts no cooldown");
    assert_eq!(store.get_group(&"a".into(), &group.id).await.unwrap().state.touched_at, Some(later));
    // Every execution is in the history, in the same transaction as its change.
    let entries = history(&store, "a", &group.id).await;
    let summary: Vec<(Source, u32, u32)> = entries.iter().map(|r| (r.entry.source, r.entry.from, r.entry.to)).collect();
    assert_eq!(
        summary,
        [(Source::Api, 4, 4), (Source::Api, 3, 4), (Source::Api, 3, 3), (Source::Api, 1, 3), (Source::Create, 0, 1)]
    );
    assert_eq!(entries[1].entry.policy_id.as_ref().map(PolicyId::as_str), Some(p.as_str()));
    assert_eq!(entries[1].entry.bounds, Bounds { min: 1, max: 4 });
    let missing = store.decide(on_group("a", &group.id, Some(&"nope".into())), executing(Source::Api, t0())).await;
    assert!(matches!(missing, Err(StoreError::PolicyNotFound)));
    let elsewhere = store.decide(on_group("b", &group.id, Some(p)), executing(Source::Api, t0())).await;
    assert!(matches!(elsewhere, Err(StoreError::GroupNotFound)));
}

async fn a_refused_decision_writes_nothing(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 1, 4, vec![]), Limits::default(), t0()).await.unwrap();
    let member = MemberRecord {
        id: "m1".into(),
        group_id: group.id.clone(),
        name: "g-as00000000".into(),
        provider: "local_process".into(),
        reference: Value::Null,
        created_at: t0(),
    };
    store.insert_member(member).await.unwrap();
    let subject =
        Subject::Group { tenant: "a".into(), group: group.id.clone(), policy: None, member: Some("m1".into()) };
    let refused =
        store.decide(subject, Box::new(|snapshot| decide::remove_member(&snapshot.group, "m1", false, t0()))).await;
    assert!(matches!(refused, Err(StoreError::BelowMinimum { min: 1 })));
    let unknown =
        Subject::Group { tenant: "a".into(), group: group.id.clone(), policy: None, member: Some("m2".into()) };
    let missing = store.decide(unknown, Box::new(|_| panic!("not run for an unknown member"))).await;
    assert!(matches!(missing, Err(StoreError::MemberNotFound)));
    assert_eq!(history(&store, "a", &group.id).await.len(), 1, "only the creation");
    let deleting = store
        .decide(on_group("a", &group.id, None), Box::new(|snapshot| decide::delete_group(&snapshot.group, false, t0())))
        .await;
    assert!(matches!(deleting, Err(StoreError::GroupNotEmpty)));
    assert!(store.get_group(&"a".into(), &group.id).await.is_ok());
}

async fn paused_groups_refuse_before_the_policy_is_looked_up(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, policies) =
        store.create_group(new_group("a", 0, 4, vec![change(1, 0.0)]), Limits::default(), t0()).await.unwrap();
    let pause =
        |pause: decide::Pause| -> Decide { Box::new(move |snapshot| Ok(decide::set_pause(&snapshot.group, pause))) };
    store.decide(on_group("a", &group.id, None), pause(decide::Pause::All)).await.unwrap();
    assert!(store.get_group(&"a".into(), &group.id).await.unwrap().state.paused);
    assert_eq!(execute(&store, "a", &group.id, &"nope".into(), t0()).await.unwrap(), Execution::Paused);
    store.decide(on_group("a", &group.id, None), pause(decide::Pause::Resume)).await.unwrap();
    store.decide(on_group("a", &group.id, None), pause(decide::Pause::Only(Direction::Out))).await.unwrap();
    let state = store.get_group(&"a".into(), &group.id).await.unwrap().state;
    assert_eq!((state.paused, state.paused_direction), (false, Some(Direction::Out)), "a one-way pause is kept");
    assert_eq!(
        execute(&store, "a", &group.id, &policies[0].id, t0()).await.unwrap(),
        Execution::DirectionPaused(Direction::Out)
    );
    store.decide(on_group("a", &group.id, None), pause(decide::Pause::Resume)).await.unwrap();
    assert_eq!(store.get_group(&"a".into(), &group.id).await.unwrap().state.paused_direction, None);
    assert!(matches!(execute(&store, "a", &group.id, &policies[0].id, t0()).await, Ok(Execution::Scaled { .. })));
}

async fn capability_subjects_load_their_webhook_policy_and_group(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, policies) =
        store.create_group(new_group("a", 0, 4, vec![change(1, 0.0)]), Limits::default(), t0()).await.unwrap();
    let hook = NewWebhook { name: "w".into(), metadata: Default::default(), capability_hash: "cap".into() };
    let webhooks = store
        .create_webhooks(&"a".into(), &group.id, &policies[0].id, vec![hook], Limits::default(), t0())
        .await
        .unwrap();
    let committed: Committed = store
        .decide(Subject::Capability { hash: "cap".into() }, executing(Source::Capability, t0()))
        .await
        .unwrap()
        .expect("a known capability");
    assert_eq!((committed.tenant_id.as_str(), committed.group_id.as_str()), ("a", group.id.as_str()));
    assert_eq!(committed.webhook_id.as_ref().map(WebhookId::as_str), Some(webhooks[0].id.as_str()));
    assert_eq!(committed.decision.outcome, Outcome::Execution(Execution::Scaled { from: 0, to: 1 }));
    let entry = &history(&store, "a", &group.id).await[0].entry;
    assert_eq!(
        (entry.source, entry.webhook_id.as_ref().map(WebhookId::as_str)),
        (Source::Capability, Some(webhooks[0].id.as_str()))
    );
    let unknown = store.decide(Subject::Capability { hash: "nope".into() }, executing(Source::Capability, t0())).await;
    assert!(matches!(unknown, Ok(None)), "an unknown capability is nothing, not an error");
}

async fn a_schedule_fires_at_most_once_per_due_time(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let cron =
        policy(json!({"name": "s", "type": "schedule", "cooldown": 0, "change": 1, "args": {"cron": "* * * * *"}}));
    let (group, policies) =
        store.create_group(new_group("a", 0, 10, vec![cron]), Limits::default(), t0()).await.unwrap();
    let due = t0() + SignedDuration::from_secs(60);
    assert_eq!(store.next_schedule().await.unwrap(), Some(due));
    let listed = store.due_schedules(due, 10).await.unwrap();
    assert_eq!((listed.len(), listed[0].policy_id.as_str()), (1, policies[0].id.as_str()));
    let grace = SignedDuration::from_secs(300);
    let fire =
        |due: Timestamp| -> Decide { Box::new(move |snapshot| decide::fire_schedule(snapshot, due, due, grace)) };
    let subject = Subject::Schedule { policy: policies[0].id.clone(), due };
    let fired = store.decide(subject.clone(), fire(due)).await.unwrap().expect("due");
    assert_eq!(fired.decision.outcome, Outcome::Schedule(Some(Execution::Scaled { from: 0, to: 1 })));
    assert!(store.decide(subject, fire(due)).await.unwrap().is_none(), "the same due time fires once");
    assert_eq!(store.next_schedule().await.unwrap(), Some(due + SignedDuration::from_secs(60)), "re-armed");
    let events = store.list_events(&"a".into(), &group.id, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(store.get_group(&"a".into(), &group.id).await.unwrap().state.desired, 1);
    // Deleting the policy disarms it.
    store.delete_policy(&"a".into(), &group.id, &policies[0].id).await.unwrap();
    assert_eq!(store.next_schedule().await.unwrap(), None);
}

fn windows(document: Value) -> GroupWindows {
    GroupWindows::parse_stored(document).unwrap()
}

async fn a_window_timer_applies_at_most_once_and_rearms(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 1, 5, vec![]), Limits::default(), t0()).await.unwrap();
    let document = json!({"timezone": "UTC", "recurring_schedule": [{"start_time": "08:00", "end_time": "10:00",
        "days_of_week": [1, 2, 3, 4, 5, 6, 7], "instance_min_count": 3, "instance_max_count": 5}]});
    let set: Decide =
        Box::new(move |snapshot| Ok(decide::replace_windows(&snapshot.group, Some(windows(document)), t0())));
    store.decide(on_group("a", &group.id, None), set).await.unwrap();
    let start = t0() + SignedDuration::from_hours(8);
    assert_eq!(store.due_windows(start, 10).await.unwrap(), [(group.id.clone(), start)]);
    let apply =
        |now: Timestamp| -> Decide { Box::new(move |snapshot| Ok(decide::apply_windows(&snapshot.group, now))) };
    let subject = Subject::WindowTimer { group: group.id.clone(), due: start };
    let applied = store.decide(subject.clone(), apply(start)).await.unwrap().expect("due");
    assert_eq!(applied.decision.outcome, Outcome::Capacity { from: 1, to: 3 });
    assert!(store.decide(subject, apply(start)).await.unwrap().is_none(), "applied once");
    let stored = store.get_group(&"a".into(), &group.id).await.unwrap();
    assert_eq!((stored.state.desired, stored.state.window.as_deref()), (3, Some("recurring_schedule[0]")));
    assert_eq!(store.next_schedule().await.unwrap(), Some(t0() + SignedDuration::from_hours(10)), "armed at its end");
    let timers = store.window_timers(&"a".into()).await.unwrap();
    assert_eq!(timers[0].group_id, group.id);
    let sources: Vec<Source> = history(&store, "a", &group.id).await.iter().map(|r| r.entry.source).collect();
    assert_eq!(sources, [Source::WindowStart, Source::Create]);
}

async fn bounds_and_windows_replacements_are_decisions(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 2, 10, vec![]), Limits::default(), t0()).await.unwrap();
    let replace = |min: u32, max: u32| -> Decide {
        Box::new(move |snapshot| Ok(decide::replace_config(&snapshot.group, config(min, max, 0), t0())))
    };
    store.decide(on_group("a", &group.id, None), replace(5, 10)).await.unwrap();
    assert_eq!(store.get_group(&"a".into(), &group.id).await.unwrap().state.desired, 5);
    store.decide(on_group("a", &group.id, None), replace(0, 3)).await.unwrap();
    let stored = store.get_group(&"a".into(), &group.id).await.unwrap();
    assert_eq!((stored.state.desired, stored.config.max_entities), (3, 3));
    let sources: Vec<(Source, u32)> =
        history(&store, "a", &group.id).await.iter().map(|r| (r.entry.source, r.entry.to)).collect();
    assert_eq!(sources, [(Source::Bounds, 3), (Source::Bounds, 5), (Source::Create, 2)]);
}

async fn metric_rules_and_their_cooldown_are_stored_by_decisions(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 1, 10, vec![]), Limits::default(), t0()).await.unwrap();
    let policy = ebb_core::cf_policy::parse(
        &json!({"instance_min_count": 2, "instance_max_count": 4, "scaling_rules": [
            {"metric_type": "queue_length", "threshold": 10, "operator": ">", "adjustment": "+1", "breach_duration_secs": 60}]}),
        t0(),
        &Default::default(),
    )
    .unwrap();
    let rules = policy.rules.clone();
    let set: Decide = Box::new(move |snapshot| Ok(decide::set_rules_policy(&snapshot.group, policy, t0())));
    store.decide(on_group("a", &group.id, None), set).await.unwrap();
    let stored = store.get_group(&"a".into(), &group.id).await.unwrap();
    assert_eq!(stored.rules.as_deref(), Some(&rules));
    assert_eq!((stored.config.min_entities, stored.config.max_entities, stored.state.desired), (2, 4, 2));
    let now = t0() + SignedDuration::from_secs(120);
    let points: decide::Points = [(
        "queue_length".to_string(),
        vec![(t0() + SignedDuration::from_secs(30), 5), (t0() + SignedDuration::from_secs(90), 50), (now, 60)],
    )]
    .into();
    let scale: Decide = Box::new(move |snapshot| Ok(decide::scale_on_rules(&snapshot.group, &points, now, 1.0)));
    store.decide(on_group("a", &group.id, None), scale).await.unwrap();
    let scaled = store.get_group(&"a".into(), &group.id).await.unwrap();
    assert_eq!(scaled.state.desired, 3);
    assert_eq!(scaled.state.rules_cooldown_until, Some(now + SignedDuration::from_secs(300)));
    assert_eq!(history(&store, "a", &group.id).await[0].entry.source, Source::Metric);
    let delete: Decide = Box::new(move |snapshot| Ok(decide::delete_rules_policy(&snapshot.group, now)));
    store.decide(on_group("a", &group.id, None), delete).await.unwrap();
    let deleted = store.get_group(&"a".into(), &group.id).await.unwrap();
    assert_eq!((deleted.rules, deleted.state.desired, deleted.config.max_entities), (None, 3, 4));
}

async fn metric_credentials_are_set_rotated_and_revoked(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 1, 10, vec![]), Limits::default(), t0()).await.unwrap();
    let credential = |user: &str| MetricCredential { username: user.into(), password_hash: format!("hash of {user}") };
    for user in ["first", "second"] {
        store.set_metric_credential(&"a".into(), &group.id, Some(credential(user))).await.unwrap();
        assert_eq!(store.get_group(&"a".into(), &group.id).await.unwrap().credential, Some(credential(user)));
    }
    let elsewhere = store.set_metric_credential(&"b".into(), &group.id, Some(credential("x"))).await;
    assert!(matches!(elsewhere, Err(StoreError::GroupNotFound)));
    store.set_metric_credential(&"a".into(), &group.id, None).await.unwrap();
    assert_eq!(store.group_by_id(&group.id).await.unwrap().unwrap().credential, None);
}

async fn minutes_of_metrics_are_listed_in_pages_and_pruned(store: Arc<dyn Store>) {
    let minute = |i: i64| t0() + SignedDuration::from_mins(i);
    let aggregate =
        |of: Of, i: i64, value: i64| MinuteAggregate { metric: "rt".into(), of, minute: minute(i), value, count: 2 };
    let (g, other): (GroupId, GroupId) = ("g1".into(), "g2".into());
    let mut rows = Vec::new();
    for i in 0..5 {
        rows.push((g.clone(), aggregate(Of::Group, i, 100 + i)));
        rows.push((g.clone(), aggregate(Of::Slot(0), i, 10 + i)));
        rows.push((g.clone(), aggregate(Of::Slot(1), i, 20 + i)));
        rows.push((other.clone(), aggregate(Of::Group, i, 0)));
    }
    store.append_minutes(rows).await.unwrap();
    // Storing a minute again replaces it.
    store.append_minutes(vec![(g.clone(), aggregate(Of::Group, 4, 999))]).await.unwrap();
    let query = MinuteQuery {
        metric: "rt".into(),
        of_group: true,
        from: minute(1),
        to: minute(4),
        descending: true,
        offset: 1,
        limit: 2,
    };
    let (page, total) = store.list_minutes(&g, &query).await.unwrap();
    assert_eq!(total, 4);
    assert_eq!(page.iter().map(|a| a.value).collect::<Vec<_>>(), [103, 102]);
    let slots = MinuteQuery { of_group: false, descending: false, offset: 0, limit: 100, ..query.clone() };
    let (page, total) = store.list_minutes(&g, &slots).await.unwrap();
    assert_eq!(total, 8);
    assert_eq!(page[..2].iter().map(|a| (a.of, a.value)).collect::<Vec<_>>(), [(Of::Slot(0), 11), (Of::Slot(1), 21)]);
    let newest = MinuteQuery { offset: 0, ..query.clone() };
    assert_eq!(store.list_minutes(&g, &newest).await.unwrap().0[0].value, 999);
    assert_eq!(store.prune_minutes(minute(2), 1000).await.unwrap(), 8);
    let all = MinuteQuery { from: t0(), offset: 0, limit: 100, ..query };
    assert_eq!(store.list_minutes(&g, &all).await.unwrap().1, 3);
}

async fn deletes_cascade_to_policies_webhooks_and_capabilities(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, policies) =
        store.create_group(new_group("a", 1, 3, vec![change(1, 0.0)]), Limits::default(), t0()).await.unwrap();
    let p = &policies[0].id;
    let hook = NewWebhook { name: "w".into(), metadata: Default::default(), capability_hash: "cap".into() };
    store.create_webhooks(&"a".into(), &group.id, p, vec![hook], Limits::default(), t0()).await.unwrap();
    let target = store.find_capability("cap").await.unwrap().unwrap();
    assert_eq!(
        (target.tenant_id.as_str(), target.group_id.as_str(), target.policy_id.as_str()),
        ("a", group.id.as_str(), p.as_str())
    );
    let delete: Decide = Box::new(|snapshot| decide::delete_group(&snapshot.group, true, t0()));
    store.decide(on_group("a", &group.id, None), delete).await.unwrap();
    assert!(store.find_capability("cap").await.unwrap().is_none());
    assert!(matches!(store.get_policy(&"a".into(), &group.id, p).await, Err(StoreError::GroupNotFound)));
    assert!(store.group_by_id(&group.id).await.unwrap().unwrap().state.deleting, "kept for convergence");
    store.purge_group(&group.id).await.unwrap();
    assert!(store.group_by_id(&group.id).await.unwrap().is_none());
    // Its history went with it: a group created next starts with only its own.
    let (next, _) = store.create_group(new_group("a", 0, 3, vec![]), Limits::default(), t0()).await.unwrap();
    let entries = history(&store, "a", &next.id).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].entry.source, Source::Create);
}

async fn policy_and_webhook_limits_are_atomic(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let limits = Limits { max_policies_per_group: 3, max_webhooks_per_policy: 2, ..Limits::default() };
    let (group, _) = store.create_group(new_group("a", 0, 3, vec![]), limits, t0()).await.unwrap();
    store.create_policies(&"a".into(), &group.id, vec![change(1, 0.0), change(1, 0.0)], limits, t0()).await.unwrap();
    let over = store.create_policies(&"a".into(), &group.id, vec![change(1, 0.0), change(1, 0.0)], limits, t0()).await;
    assert!(matches!(over, Err(StoreError::PolicyLimit { current: 2, adding: 2, limit: 3 })));
    let policies = store.list_policies(&"a".into(), &group.id, None).await.unwrap();
    assert_eq!(policies.len(), 2, "none of a refused batch was stored");
    let hooks = |n: usize| {
        (0..n)
            .map(|i| NewWebhook {
                name: format!("w{i}"),
                metadata: Default::default(),
                capability_hash: format!("h{i}-{n}"),
            })
            .collect::<Vec<_>>()
    };
    let over = store.create_webhooks(&"a".into(), &group.id, &policies[0].id, hooks(3), limits, t0()).await;
    assert!(matches!(over, Err(StoreError::WebhookLimit { current: 0, adding: 3, limit: 2 })));
    assert!(store.list_webhooks(&"a".into(), &group.id, &policies[0].id, None).await.unwrap().is_empty());
}

async fn members_are_recorded_with_their_provider_reference(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 0, 3, vec![]), Limits::default(), t0()).await.unwrap();
    for id in ["m1", "m2"] {
        let member = MemberRecord {
            id: id.into(),
            group_id: group.id.clone(),
            name: format!("g-{id}"),
            provider: "local_process".into(),
            reference: Value::Null,
            created_at: t0(),
        };
        store.insert_member(member).await.unwrap();
    }
    store.set_member_reference(&"m1".into(), json!({"pid": 42, "port": 8001})).await.unwrap();
    let members = store.list_members(Some(&group.id)).await.unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0].reference, json!({"pid": 42, "port": 8001}));
    assert_eq!(members[1].reference, Value::Null);
    store.delete_member(&"m1".into()).await.unwrap();
    assert_eq!(store.list_members(None).await.unwrap().len(), 1);
}

async fn history_lists_newest_first_with_filters_and_prunes(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, policies) =
        store.create_group(new_group("a", 0, 100, vec![change(1, 0.0)]), Limits::default(), t0()).await.unwrap();
    for minute in 1..=5 {
        let at = t0() + SignedDuration::from_mins(minute);
        execute(&store, "a", &group.id, &policies[0].id, at).await.unwrap();
    }
    let all = history(&store, "a", &group.id).await;
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|pair| pair[0].entry.at >= pair[1].entry.at), "newest first");
    let page = |marker: Option<String>, limit: usize| HistoryQuery {
        page: Page { marker, limit },
        since: None,
        until: None,
        source: None,
    };
    let first = store.list_history(&"a".into(), &group.id, &page(None, 2)).await.unwrap();
    let second = store.list_history(&"a".into(), &group.id, &page(Some(first[1].id.clone()), 2)).await.unwrap();
    assert_eq!(second[0].id, all[2].id, "pages follow each other");
    let window = HistoryQuery {
        since: Some(t0() + SignedDuration::from_mins(2)),
        until: Some(t0() + SignedDuration::from_mins(4)),
        ..page(None, 100)
    };
    assert_eq!(
        store.list_history(&"a".into(), &group.id, &window).await.unwrap().len(),
        2,
        "since inclusive, until exclusive"
    );
    let created = HistoryQuery { source: Some(Source::Create), ..page(None, 100) };
    assert_eq!(store.list_history(&"a".into(), &group.id, &created).await.unwrap().len(), 1);
    assert!(matches!(
        store.list_history(&"b".into(), &group.id, &page(None, 10)).await,
        Err(StoreError::GroupNotFound)
    ));
    // Pruning goes in batches and keeps what is recent.
    let before = t0() + SignedDuration::from_mins(3);
    assert_eq!(store.prune_history(before, 2).await.unwrap(), 2);
    assert_eq!(store.prune_history(before, 2).await.unwrap(), 1);
    assert_eq!(store.prune_history(before, 2).await.unwrap(), 0);
    assert_eq!(history(&store, "a", &group.id).await.len(), 3);
}

async fn a_failed_write_does_not_disturb_the_writes_committed_with_it(store: Arc<dyn Store>) {
    store.create_tenant(&"dup".into(), t0()).await.unwrap();
    // Many writes at once so they share transactions; every other one fails.
    let writes = (0..200).map(|i| {
        let store = store.clone();
        async move {
            let id = if i % 2 == 0 { "dup".to_string() } else { format!("t{i}") };
            store.create_tenant(&TenantId::new(id.as_str()), t0()).await
        }
    });
    let results = futures::future::join_all(writes).await;
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result.is_ok(), i % 2 == 1, "write {i}: {result:?}");
    }
    assert_eq!(store.list_tenants().await.unwrap().len(), 101);
}

async fn concurrent_decisions_are_serialized(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, policies) =
        store.create_group(new_group("a", 0, 1000, vec![change(1, 0.0)]), Limits::default(), t0()).await.unwrap();
    let runs = (0..300).map(|_| {
        let store = store.clone();
        let (g, p) = (group.id.clone(), policies[0].id.clone());
        tokio::spawn(async move { execute(&store, "a", &g, &p, Timestamp::now()).await })
    });
    for run in futures::future::join_all(runs).await {
        assert!(matches!(run.unwrap(), Ok(Execution::Scaled { .. })));
    }
    assert_eq!(store.get_group(&"a".into(), &group.id).await.unwrap().state.desired, 300);
    assert_eq!(history(&store, "a", &group.id).await.len(), 100, "a page of history");
}

async fn concurrent_writers_respect_the_limits(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let limits = Limits { max_groups: 5, max_policies_per_group: 4, max_webhooks_per_policy: 3, ..Limits::default() };
    let creations = (0..20).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.create_group(new_group("a", 0, 1, vec![]), limits, t0()).await })
    });
    let created: Vec<_> = futures::future::join_all(creations).await.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(created.iter().filter(|r| r.is_ok()).count(), 5, "exactly the limit, however they interleave");
    assert!(created.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(StoreError::GroupLimit { limit: 5 }))));
    let group = created.iter().find_map(|r| r.as_ref().ok()).unwrap().0.id.clone();
    let additions = (0..10).map(|_| {
        let (store, group) = (store.clone(), group.clone());
        tokio::spawn(
            async move { store.create_policies(&"a".into(), &group, vec![change(1, 0.0)], limits, t0()).await },
        )
    });
    let added = futures::future::join_all(additions).await.into_iter().filter(|r| r.as_ref().unwrap().is_ok()).count();
    assert_eq!(added, 4);
    assert_eq!(store.list_policies(&"a".into(), &group, None).await.unwrap().len(), 4);
}
