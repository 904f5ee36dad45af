//! The service broker's records: service instances with their default policy, and bindings
//! of groups to them.

use std::sync::Arc;

use ebb_store::{Created, ServiceInstance, Store, StoreError};
use serde_json::json;

use super::*;

fn cf_policy(min: u32, max: u32) -> ebb_core::cf_policy::CfPolicy {
    let document = json!({"instance_min_count": min, "instance_max_count": max, "scaling_rules": [
        {"metric_type": "memoryused", "threshold": 300, "operator": ">", "adjustment": "+1"}],
        "schedules": {"timezone": "UTC", "specific_date": [{"start_date_time": "2026-06-02T10:00",
            "end_date_time": "2026-06-02T12:00", "instance_min_count": 1, "instance_max_count": 4}]}});
    ebb_core::cf_policy::parse(&document, t0(), &Default::default()).unwrap()
}

fn instance(id: &str, default_policy: Option<ebb_core::cf_policy::CfPolicy>) -> ServiceInstance {
    ServiceInstance {
        id: id.into(),
        service_id: "service".into(),
        plan_id: "plan".into(),
        organization_guid: "org".into(),
        space_guid: "space".into(),
        default_policy,
        created_at: t0(),
    }
}

pub(super) async fn service_instances_are_created_once_and_keep_their_default_policy(store: Arc<dyn Store>) {
    let created = store.create_service_instance(instance("i", Some(cf_policy(1, 3)))).await.unwrap();
    assert_eq!(created, Created::New(instance("i", Some(cf_policy(1, 3)))));
    let again = store.create_service_instance(instance("i", None)).await.unwrap();
    assert_eq!(again, Created::Existing(instance("i", Some(cf_policy(1, 3)))), "the first stays, nothing written");
    // Stored and read back after its specific date is past: still the same policy.
    assert_eq!(store.service_instance("i").await.unwrap(), Some(instance("i", Some(cf_policy(1, 3)))));
    let changed = store.set_default_policy("i", Some(cf_policy(2, 5))).await.unwrap();
    assert_eq!(changed.default_policy, Some(cf_policy(2, 5)));
    store.set_default_policy("i", None).await.unwrap();
    assert_eq!(store.service_instance("i").await.unwrap().unwrap().default_policy, None);
    let missing = store.set_default_policy("nope", None).await;
    assert!(matches!(missing, Err(StoreError::ServiceInstanceNotFound)), "{missing:?}");
    assert_eq!(store.service_instance("nope").await.unwrap(), None);
    assert!(store.delete_service_instance("i").await.unwrap());
    assert!(!store.delete_service_instance("i").await.unwrap(), "gone");
}

pub(super) async fn a_group_has_at_most_one_binding_and_loses_it_when_purged(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 1, 10, vec![]), Limits::default(), t0()).await.unwrap();
    store.create_service_instance(instance("i", None)).await.unwrap();
    store.create_service_instance(instance("j", None)).await.unwrap();
    let Created::New(binding) = store.create_binding("b1", "i", &group.id, t0()).await.unwrap() else {
        panic!("a first binding is new");
    };
    assert_eq!((binding.tenant_id.as_str(), &binding.group_id, binding.instance_id.as_str()), ("a", &group.id, "i"));
    assert_eq!(store.create_binding("b1", "i", &group.id, t0()).await.unwrap(), Created::Existing(binding.clone()));
    let second = store.create_binding("b2", "j", &group.id, t0()).await;
    assert!(matches!(second, Err(StoreError::GroupBound)), "{second:?}");
    let unknown = store.create_binding("b3", "nope", &group.id, t0()).await;
    assert!(matches!(unknown, Err(StoreError::ServiceInstanceNotFound)), "{unknown:?}");
    let no_group = store.create_binding("b4", "i", &"no-such-group".into(), t0()).await;
    assert!(matches!(no_group, Err(StoreError::GroupNotFound)), "{no_group:?}");
    assert_eq!(store.binding_of_group(&group.id).await.unwrap(), Some(binding.clone()));
    assert_eq!(store.bindings_of_instance("i").await.unwrap(), vec![binding.clone()]);
    assert_eq!(store.delete_binding("j", "b1").await.unwrap(), None, "a binding of another instance");
    assert_eq!(store.delete_binding("i", "b1").await.unwrap(), Some(binding));
    assert_eq!(store.binding_of_group(&group.id).await.unwrap(), None);
    // Bound again, then deleted and purged: the binding goes with the group.
    store.create_binding("b5", "j", &group.id, t0()).await.unwrap();
    let delete: Decide = Box::new(|snapshot| decide::delete_group(&snapshot.group, true, t0()));
    store.decide(on_group("a", &group.id, None), delete).await.unwrap();
    store.purge_group(&group.id).await.unwrap();
    assert!(store.bindings_of_instance("j").await.unwrap().is_empty());
}

pub(super) async fn a_service_instance_with_bindings_is_not_deleted(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 1, 10, vec![]), Limits::default(), t0()).await.unwrap();
    store.create_service_instance(instance("i", None)).await.unwrap();
    store.create_binding("b", "i", &group.id, t0()).await.unwrap();
    let refused = store.delete_service_instance("i").await;
    assert!(matches!(refused, Err(StoreError::ServiceInstanceBound)), "{refused:?}");
    assert!(store.service_instance("i").await.unwrap().is_some());
    // A group being deleted does not hold its instance back.
    let delete: Decide = Box::new(|snapshot| decide::delete_group(&snapshot.group, true, t0()));
    store.decide(on_group("a", &group.id, None), delete).await.unwrap();
    assert!(store.delete_service_instance("i").await.unwrap());
    assert_eq!(store.service_instance("i").await.unwrap(), None);
}

pub(super) async fn a_default_policy_followed_by_a_group_is_a_decision(store: Arc<dyn Store>) {
    store.create_tenant(&"a".into(), t0()).await.unwrap();
    let (group, _) = store.create_group(new_group("a", 1, 10, vec![]), Limits::default(), t0()).await.unwrap();
    let follow = |min: u32, max: u32| -> Decide {
        Box::new(move |snapshot| Ok(decide::follow_default(&snapshot.group, Some(&cf_policy(min, max)), t0())))
    };
    store.decide(on_group("a", &group.id, None), follow(2, 4)).await.unwrap();
    let stored = store.get_group(&"a".into(), &group.id).await.unwrap();
    assert!(stored.rules.as_ref().unwrap().from_default, "where the policy came from is stored with it");
    store.decide(on_group("a", &group.id, None), follow(3, 6)).await.unwrap();
    let changed = store.get_group(&"a".into(), &group.id).await.unwrap();
    assert_eq!((changed.config.min_entities, changed.config.max_entities), (3, 6));
}
