//! Collectors: created in batches up to a limit per group, listed in pages, replaced and
//! deleted, found again for the engine, and gone with their group.

use std::sync::Arc;

use ebb_core::collector::Collector;
use ebb_store::{CollectorId, NewCollector, Store, StoreError};
use serde_json::json;

use super::*;

fn collector(name: &str, list: &str) -> NewCollector {
    let body = json!({"name": name, "type": "redis", "metric": "jobs", "interval": 5,
        "args": {"url": "redis://:s3cret@127.0.0.1:6379/0", "list": list}});
    NewCollector { collector: Collector::parse(&body, "").unwrap(), body }
}

pub(super) async fn collectors_are_stored_with_their_secrets_listed_replaced_and_deleted(store: Arc<dyn Store>) {
    let a = TenantId::from("a");
    store.create_tenant(&a, t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 1, 10, vec![]), Limits::default(), t0()).await.unwrap();
    let created = store
        .create_collectors(&a, &group.id, vec![collector("one", "q1"), collector("two", "q2")], Limits::default(), t0())
        .await
        .unwrap();
    assert_eq!(created.len(), 2);
    assert_eq!((created[0].tenant_id.as_str(), &created[0].group_id), ("a", &group.id));
    assert_eq!(created[0].body["args"]["url"], "redis://:s3cret@127.0.0.1:6379/0", "stored as submitted");
    assert_eq!(created[0].collector, collector("one", "q1").collector);
    let listed = store.list_collectors(&a, &group.id, None).await.unwrap();
    let mut ids: Vec<&CollectorId> = created.iter().map(|c| &c.id).collect();
    ids.sort();
    assert_eq!(listed.iter().map(|c| &c.id).collect::<Vec<_>>(), ids, "ascending by id");
    let first_page = store.list_collectors(&a, &group.id, Some(&Page { marker: None, limit: 1 })).await.unwrap();
    let next = Page { marker: Some(first_page[0].id.to_string()), limit: 1 };
    assert_eq!(store.list_collectors(&a, &group.id, Some(&next)).await.unwrap()[0].id, *ids[1]);

    let later = t0() + SignedDuration::from_secs(60);
    let replaced = store.replace_collector(&a, &group.id, &created[0].id, collector("one", "q9"), later).await.unwrap();
    assert_eq!(
        (replaced.body["args"]["list"].as_str(), replaced.created_at, replaced.updated_at),
        (Some("q9"), t0(), later)
    );
    assert_eq!(store.get_collector(&a, &group.id, &created[0].id).await.unwrap(), replaced);

    // Another tenant, another group, an unknown id: not found, nothing changed.
    let b = TenantId::from("b");
    store.create_tenant(&b, t0()).await.unwrap();
    let missing = store.get_collector(&b, &group.id, &created[0].id).await;
    assert!(matches!(missing, Err(StoreError::GroupNotFound)), "{missing:?}");
    let unknown = CollectorId::from("nope");
    let missing = store.replace_collector(&a, &group.id, &unknown, collector("x", "x"), later).await;
    assert!(matches!(missing, Err(StoreError::CollectorNotFound)), "{missing:?}");
    assert!(matches!(store.delete_collector(&a, &group.id, &unknown).await, Err(StoreError::CollectorNotFound)));

    store.delete_collector(&a, &group.id, &created[1].id).await.unwrap();
    let left = store.all_collectors(None).await.unwrap();
    assert_eq!(left, vec![replaced.clone()]);
    assert_eq!(store.all_collectors(Some(&group.id)).await.unwrap(), vec![replaced]);
}

pub(super) async fn the_collector_limit_is_enforced_per_group_and_collectors_go_with_their_group(
    store: Arc<dyn Store>,
) {
    let a = TenantId::from("a");
    store.create_tenant(&a, t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 1, 10, vec![]), Limits::default(), t0()).await.unwrap();
    let limits = Limits { max_collectors_per_group: 2, ..Limits::default() };
    store.create_collectors(&a, &group.id, vec![collector("one", "q1")], limits, t0()).await.unwrap();
    let over = store
        .create_collectors(&a, &group.id, vec![collector("two", "q2"), collector("three", "q3")], limits, t0())
        .await;
    assert!(matches!(over, Err(StoreError::CollectorLimit { current: 1, adding: 2, limit: 2 })), "{over:?}");
    assert_eq!(store.list_collectors(&a, &group.id, None).await.unwrap().len(), 1, "none of the batch");

    let delete: Decide = Box::new(|snapshot| decide::delete_group(&snapshot.group, true, t0()));
    store.decide(on_group("a", &group.id, None), delete).await.unwrap();
    assert!(store.all_collectors(None).await.unwrap().is_empty(), "a group being deleted reads nothing");
    store.purge_group(&group.id).await.unwrap();
    assert!(store.all_collectors(Some(&group.id)).await.unwrap().is_empty());
}
