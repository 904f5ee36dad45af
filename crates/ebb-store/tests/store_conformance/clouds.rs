//! Tenants' cloud settings: stored with their secret, replaced, removed, gone with nothing else.

use std::sync::Arc;

use ebb_core::cloud::settings::CloudSettings;
use ebb_store::{Store, StoreError};
use serde_json::json;

use super::*;

fn settings(key: &str) -> CloudSettings {
    CloudSettings::parse(&json!({"identity_url": "http://127.0.0.1:8900/identity/v2.0", "username": "autoscale",
        "api_key": key, "region": "ORD", "project_id": "123456"}))
    .unwrap()
}

pub(super) async fn cloud_settings_are_stored_with_their_secret_replaced_and_removed(store: Arc<dyn Store>) {
    let a = TenantId::from("a");
    store.create_tenant(&a, t0()).await.unwrap();
    assert_eq!(store.cloud(&a).await.unwrap(), None, "none until set");
    store.set_cloud(&a, Some(settings("k1"))).await.unwrap();
    assert_eq!(store.cloud(&a).await.unwrap(), Some(settings("k1")), "the secret is kept, to be used");
    store.set_cloud(&a, Some(settings("k2"))).await.unwrap();
    assert_eq!(store.cloud(&a).await.unwrap(), Some(settings("k2")));
    store.set_cloud(&a, None).await.unwrap();
    assert_eq!(store.cloud(&a).await.unwrap(), None);
    let nobody = TenantId::from("nobody");
    assert!(matches!(store.set_cloud(&nobody, Some(settings("k"))).await, Err(StoreError::TenantNotFound)));
    assert!(matches!(store.cloud(&nobody).await, Err(StoreError::TenantNotFound)));
}
