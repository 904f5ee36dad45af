//! The store conformance suite: what every `Store` implementation must do, run here against
//! SQLite on a temporary file. A PostgreSQL implementation runs the same functions.

use std::sync::Arc;

use ebb_core::capacity::Refusal;
use ebb_core::grant::LocalProcessGrant;
use ebb_core::group::{GroupConfig, Mode};
use ebb_core::limits::Limits;
use ebb_store::{Execution, NewGroup, NewWebhook, Page, Role, Store, StoreError, StoreMetrics};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    (ebb_store::open(&url, StoreMetrics::unregistered()).await.unwrap(), dir)
}

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn config(min: u32, max: u32, cooldown: u32) -> GroupConfig {
    GroupConfig::parse(
        &json!({"name": "g", "cooldown": cooldown, "minEntities": min, "maxEntities": max}),
        "",
        Mode::Create,
    )
    .unwrap()
}

fn new_group(tenant: &str, min: u32, max: u32, policies: Vec<Value>) -> NewGroup {
    NewGroup {
        tenant_id: tenant.into(),
        config: config(min, max, 0),
        launch: json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}}),
        policies,
    }
}

fn change(change: i64, cooldown: f64) -> Value {
    json!({"name": "p", "type": "webhook", "cooldown": cooldown, "change": change})
}

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
    };
}

store_suite!(
    tenants_are_unique,
    tokens_are_found_by_hash_and_revoked,
    local_processes_are_granted_per_tenant,
    groups_start_at_their_minimum_and_list_in_pages,
    the_group_limit_is_enforced_per_tenant,
    executions_decide_with_cooldowns_and_bounds,
    paused_groups_refuse_before_the_policy_is_looked_up,
    config_replacement_reclamps,
    deletes_cascade_to_policies_webhooks_and_capabilities,
    policy_and_webhook_limits_are_atomic,
    a_failed_write_does_not_disturb_the_writes_committed_with_it,
    concurrent_executions_are_serialized,
);

async fn tenants_are_unique(store: Arc<dyn Store>) {
    store.create_tenant("a", t0()).await.unwrap();
    assert!(matches!(store.create_tenant("a", t0()).await, Err(StoreError::TenantExists)));
    store.create_tenant("b", t0()).await.unwrap();
    let ids: Vec<_> = store.list_tenants().await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["a", "b"]);
    assert!(store.tenant_exists("a").await.unwrap());
    assert!(!store.tenant_exists("c").await.unwrap());
}

async fn tokens_are_found_by_hash_and_revoked(store: Arc<dyn Store>) {
    store.create_tenant("a", t0()).await.unwrap();
    assert!(matches!(store.create_token("nobody", Role::Admin, "h0", t0()).await, Err(StoreError::TenantNotFound)));
    let token = store.create_token("a", Role::Observer, "h1", t0()).await.unwrap();
    let found = store.find_token("h1").await.unwrap().unwrap();
    assert_eq!(found.role, Role::Observer);
    assert_eq!(found.tenant_id, "a");
    assert!(store.find_token("h2").await.unwrap().is_none());
    assert!(matches!(store.delete_token("b", &token.id).await, Err(StoreError::TokenNotFound)));
    store.delete_token("a", &token.id).await.unwrap();
    assert!(store.find_token("h1").await.unwrap().is_none());
}

async fn local_processes_are_granted_per_tenant(store: Arc<dyn Store>) {
    store.create_tenant("a", t0()).await.unwrap();
    store.create_tenant("b", t0()).await.unwrap();
    assert_eq!(store.local_process("a").await.unwrap(), LocalProcessGrant::default(), "off until granted");
    assert!(matches!(store.local_process("nobody").await, Err(StoreError::TenantNotFound)));
    let unknown = store.set_local_process("nobody", LocalProcessGrant::default()).await;
    assert!(matches!(unknown, Err(StoreError::TenantNotFound)));
    let grant = LocalProcessGrant {
        enabled: true,
        commands: Some(vec!["/usr/bin/app".into()]),
        working_dirs: Some(vec!["/srv/a".into(), "/srv/shared".into()]),
    };
    store.set_local_process("a", grant.clone()).await.unwrap();
    assert_eq!(store.local_process("a").await.unwrap(), grant);
    assert_eq!(store.local_process("b").await.unwrap(), LocalProcessGrant::default(), "per tenant");
    let open = LocalProcessGrant { enabled: true, commands: None, working_dirs: None };
    store.set_local_process("a", open.clone()).await.unwrap();
    assert_eq!(store.local_process("a").await.unwrap(), open, "replaced, not merged");
}

async fn groups_start_at_their_minimum_and_list_in_pages(store: Arc<dyn Store>) {
    store.create_tenant("a", t0()).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (group, policies) =
            store.create_group(new_group("a", 3, 7, vec![change(1, 0.0)]), Limits::default(), t0()).await.unwrap();
        assert_eq!(group.state.desired, 3);
        assert_eq!(policies.len(), 1);
        ids.push(group.id);
    }
    ids.sort();
    let page = store.list_groups("a", &Page { marker: None, limit: 2 }).await.unwrap();
    assert_eq!(page.iter().map(|g| g.id.clone()).collect::<Vec<_>>(), ids[..2]);
    let rest = store.list_groups("a", &Page { marker: Some(ids[1].clone()), limit: 10 }).await.unwrap();
    assert_eq!(rest.iter().map(|g| g.id.clone()).collect::<Vec<_>>(), ids[2..]);
    assert!(store.list_groups("other", &Page { marker: None, limit: 10 }).await.unwrap().is_empty());
    assert!(matches!(store.get_group("other", &ids[0]).await, Err(StoreError::GroupNotFound)));
    assert!(matches!(
        store.create_group(new_group("nobody", 0, 1, vec![]), Limits::default(), t0()).await,
        Err(StoreError::TenantNotFound)
    ));
}

async fn the_group_limit_is_enforced_per_tenant(store: Arc<dyn Store>) {
    store.create_tenant("a", t0()).await.unwrap();
    store.create_tenant("b", t0()).await.unwrap();
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

async fn executions_decide_with_cooldowns_and_bounds(store: Arc<dyn Store>) {
    store.create_tenant("a", t0()).await.unwrap();
    let (group, policies) =
        store.create_group(new_group("a", 1, 4, vec![change(2, 60.0)]), Limits::default(), t0()).await.unwrap();
    let p = &policies[0].id;
    assert_eq!(store.execute_policy("a", &group.id, p, t0()).await.unwrap(), Execution::Scaled { from: 1, to: 3 });
    let soon = t0() + SignedDuration::from_secs(59);
    assert_eq!(store.execute_policy("a", &group.id, p, soon).await.unwrap(), Execution::Refused(Refusal::Cooldown));
    let later = t0() + SignedDuration::from_secs(60);
    assert_eq!(store.execute_policy("a", &group.id, p, later).await.unwrap(), Execution::Scaled { from: 3, to: 4 });
    let much_later = t0() + SignedDuration::from_secs(600);
    assert_eq!(
        store.execute_policy("a", &group.id, p, much_later).await.unwrap(),
        Execution::Refused(Refusal::NoChange)
    );
    let stored = store.get_policy("a", &group.id, p).await.unwrap();
    assert_eq!(stored.touched_at, Some(later), "a refusal starts no cooldown");
    assert_eq!(store.get_group("a", &group.id).await.unwrap().state.touched_at, Some(later));
    assert!(matches!(store.execute_policy("a", &group.id, "nope", t0()).await, Err(StoreError::PolicyNotFound)));
    assert!(matches!(store.execute_policy("b", &group.id, p, t0()).await, Err(StoreError::GroupNotFound)));
}

async fn paused_groups_refuse_before_the_policy_is_looked_up(store: Arc<dyn Store>) {
    store.create_tenant("a", t0()).await.unwrap();
    let (group, policies) =
        store.create_group(new_group("a", 0, 4, vec![change(1, 0.0)]), Limits::default(), t0()).await.unwrap();
    store.set_paused("a", &group.id, true).await.unwrap();
    assert_eq!(store.execute_policy("a", &group.id, "nope", t0()).await.unwrap(), Execution::Paused);
    store.set_paused("a", &group.id, false).await.unwrap();
    assert!(matches!(store.execute_policy("a", &group.id, &policies[0].id, t0()).await, Ok(Execution::Scaled { .. })));
}

async fn config_replacement_reclamps(store: Arc<dyn Store>) {
    store.create_tenant("a", t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 2, 10, vec![]), Limits::default(), t0()).await.unwrap();
    assert_eq!(store.replace_config("a", &group.id, config(5, 10, 0), t0()).await.unwrap().state.desired, 5);
    assert_eq!(store.replace_config("a", &group.id, config(0, 3, 0), t0()).await.unwrap().state.desired, 3);
    assert_eq!(store.get_group("a", &group.id).await.unwrap().config.max_entities, 3);
}

async fn deletes_cascade_to_policies_webhooks_and_capabilities(store: Arc<dyn Store>) {
    store.create_tenant("a", t0()).await.unwrap();
    let (group, policies) =
        store.create_group(new_group("a", 1, 3, vec![change(1, 0.0)]), Limits::default(), t0()).await.unwrap();
    let p = &policies[0].id;
    let hook = NewWebhook { name: "w".into(), metadata: Default::default(), capability_hash: "cap".into() };
    store.create_webhooks("a", &group.id, p, vec![hook], Limits::default(), t0()).await.unwrap();
    let target = store.find_capability("cap").await.unwrap().unwrap();
    assert_eq!(
        (target.tenant_id.as_str(), target.group_id.as_str(), target.policy_id.as_str()),
        ("a", group.id.as_str(), p.as_str())
    );
    assert!(matches!(store.delete_group("a", &group.id, false).await, Err(StoreError::GroupNotEmpty)));
    store.delete_group("a", &group.id, true).await.unwrap();
    assert!(store.find_capability("cap").await.unwrap().is_none());
    assert!(matches!(store.get_policy("a", &group.id, p).await, Err(StoreError::GroupNotFound)));
}

async fn policy_and_webhook_limits_are_atomic(store: Arc<dyn Store>) {
    store.create_tenant("a", t0()).await.unwrap();
    let limits = Limits { max_policies_per_group: 3, max_webhooks_per_policy: 2, ..Limits::default() };
    let (group, _) = store.create_group(new_group("a", 0, 3, vec![]), limits, t0()).await.unwrap();
    store.create_policies("a", &group.id, vec![change(1, 0.0); 2], limits, t0()).await.unwrap();
    let over = store.create_policies("a", &group.id, vec![change(1, 0.0); 2], limits, t0()).await;
    assert!(matches!(over, Err(StoreError::PolicyLimit { current: 2, adding: 2, limit: 3 })));
    let policies = store.list_policies("a", &group.id, None).await.unwrap();
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
    let over = store.create_webhooks("a", &group.id, &policies[0].id, hooks(3), limits, t0()).await;
    assert!(matches!(over, Err(StoreError::WebhookLimit { current: 0, adding: 3, limit: 2 })));
    assert!(store.list_webhooks("a", &group.id, &policies[0].id, None).await.unwrap().is_empty());
}

async fn a_failed_write_does_not_disturb_the_writes_committed_with_it(store: Arc<dyn Store>) {
    store.create_tenant("dup", t0()).await.unwrap();
    // Many writes at once so they share transactions; every other one fails.
    let writes = (0..200).map(|i| {
        let store = store.clone();
        async move {
            let id = if i % 2 == 0 { "dup".to_string() } else { format!("t{i}") };
            store.create_tenant(&id, t0()).await
        }
    });
    let results = futures::future::join_all(writes).await;
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result.is_ok(), i % 2 == 1, "write {i}: {result:?}");
    }
    assert_eq!(store.list_tenants().await.unwrap().len(), 101);
}

async fn concurrent_executions_are_serialized(store: Arc<dyn Store>) {
    store.create_tenant("a", t0()).await.unwrap();
    let (group, policies) =
        store.create_group(new_group("a", 0, 1000, vec![change(1, 0.0)]), Limits::default(), t0()).await.unwrap();
    let runs = (0..500).map(|_| {
        let store = store.clone();
        let (g, p) = (group.id.clone(), policies[0].id.clone());
        tokio::spawn(async move { store.execute_policy("a", &g, &p, Timestamp::now()).await })
    });
    for run in futures::future::join_all(runs).await {
        assert!(matches!(run.unwrap(), Ok(Execution::Scaled { .. })));
    }
    assert_eq!(store.get_group("a", &group.id).await.unwrap().state.desired, 500);
}
