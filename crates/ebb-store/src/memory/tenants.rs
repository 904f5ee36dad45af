//! Tenants, their tokens and grants, in memory.

use ebb_core::grant::LocalProcessGrant;
use jiff::Timestamp;

use super::{MemoryStore, new_id};
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::TenantStore for MemoryStore {
    async fn create_tenant(&self, id: &TenantId, now: Timestamp) -> Result<Tenant, StoreError> {
        let id = id.as_str();
        self.with(|state| {
            if state.tenants.contains_key(id) {
                return Err(StoreError::TenantExists);
            }
            let tenant = Tenant { id: id.into(), created_at: now };
            state.tenants.insert(id.into(), tenant.clone());
            Ok(tenant)
        })
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.with(|state| Ok(state.tenants.values().cloned().collect()))
    }

    async fn tenant_exists(&self, id: &TenantId) -> Result<bool, StoreError> {
        let id = id.as_str();
        self.with(|state| Ok(state.tenants.contains_key(id)))
    }

    async fn set_local_process(&self, tenant: &TenantId, grant: LocalProcessGrant) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| {
            if !state.tenants.contains_key(tenant) {
                return Err(StoreError::TenantNotFound);
            }
            state.grants.insert(tenant.into(), grant);
            Ok(())
        })
    }

    async fn local_process(&self, tenant: &TenantId) -> Result<LocalProcessGrant, StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| {
            if !state.tenants.contains_key(tenant) {
                return Err(StoreError::TenantNotFound);
            }
            Ok(state.grants.get(tenant).cloned().unwrap_or_default())
        })
    }

    async fn create_token(
        &self,
        tenant: &TenantId,
        role: Role,
        secret_hash: &str,
        now: Timestamp,
    ) -> Result<Token, StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| {
            if !state.tenants.contains_key(tenant) {
                return Err(StoreError::TenantNotFound);
            }
            let token = Token { id: new_id(), tenant_id: tenant.into(), role, created_at: now };
            state.tokens.insert(token.id.clone(), (token.clone(), secret_hash.to_string()));
            Ok(token)
        })
    }

    async fn delete_token(&self, tenant: &TenantId, token: &str) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        self.with(|state| match state.tokens.get(token) {
            Some((found, _)) if found.tenant_id == tenant => {
                state.tokens.remove(token);
                Ok(())
            }
            _ => Err(StoreError::TokenNotFound),
        })
    }

    async fn find_token(&self, secret_hash: &str) -> Result<Option<Token>, StoreError> {
        self.with(|state| Ok(state.tokens.values().find(|(_, hash)| hash == secret_hash).map(|(t, _)| t.clone())))
    }
}

#[async_trait::async_trait]
impl crate::CloudStore for MemoryStore {
    async fn set_cloud(
        &self,
        tenant: &TenantId,
        settings: Option<ebb_core::cloud::settings::CloudSettings>,
    ) -> Result<(), StoreError> {
        self.with(|state| {
            if !state.tenants.contains_key(tenant.as_str()) {
                return Err(StoreError::TenantNotFound);
            }
            match settings {
                Some(settings) => state.clouds.insert(tenant.clone(), settings),
                None => state.clouds.remove(tenant.as_str()),
            };
            Ok(())
        })
    }

    async fn cloud(&self, tenant: &TenantId) -> Result<Option<ebb_core::cloud::settings::CloudSettings>, StoreError> {
        self.with(|state| {
            if !state.tenants.contains_key(tenant.as_str()) {
                return Err(StoreError::TenantNotFound);
            }
            Ok(state.clouds.get(tenant.as_str()).cloned())
        })
    }
}
