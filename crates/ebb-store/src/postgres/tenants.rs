//! Tenants, their tokens, and what the operator lets them run.

use ebb_core::grant::LocalProcessGrant;
use jiff::Timestamp;
use serde_json::Value;

use super::rows::*;
use super::{PostgresStore, backend, is_foreign_key_violation};
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::TenantStore for PostgresStore {
    async fn create_tenant(&self, id: &TenantId, now: Timestamp) -> Result<Tenant, StoreError> {
        let id = id.as_str();
        let _timer = self.metrics.time("create_tenant");
        let client = self.client().await?;
        let inserted = execute(
            &client,
            "inserting a tenant",
            "INSERT INTO tenants (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            &[&id, &now.to_string()],
        )
        .await?;
        if inserted == 0 {
            return Err(StoreError::TenantExists);
        }
        Ok(Tenant { id: id.into(), created_at: now })
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let _timer = self.metrics.time("list_tenants");
        let client = self.client().await?;
        query_all(&client, "listing tenants", "SELECT id, created_at FROM tenants ORDER BY id", &[], tenant_from_row)
            .await
    }

    async fn tenant_exists(&self, id: &TenantId) -> Result<bool, StoreError> {
        let id = id.as_str();
        let _timer = self.metrics.time("tenant_exists");
        let client = self.client().await?;
        Ok(count(&client, "reading a tenant", "SELECT COUNT(*) AS count FROM tenants WHERE id = $1", &[&id]).await? > 0)
    }

    async fn set_local_process(&self, tenant: &TenantId, grant: LocalProcessGrant) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let _timer = self.metrics.time("set_local_process");
        let client = self.client().await?;
        let list = |paths: &Option<Vec<String>>| paths.as_ref().map(|p| Value::from(p.clone()).to_string());
        let statement = client
            .prepare_cached(
                "INSERT INTO local_process_grants (tenant_id, enabled, commands, working_dirs) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id) DO UPDATE SET enabled = excluded.enabled, commands = excluded.commands, \
                 working_dirs = excluded.working_dirs",
            )
            .await
            .map_err(backend("granting local processes"))?;
        client
            .execute(&statement, &[&tenant, &grant.enabled, &list(&grant.commands), &list(&grant.working_dirs)])
            .await
            .map_err(|err| {
                if is_foreign_key_violation(&err) {
                    StoreError::TenantNotFound
                } else {
                    backend("granting local processes")(err)
                }
            })?;
        Ok(())
    }

    async fn local_process(&self, tenant: &TenantId) -> Result<LocalProcessGrant, StoreError> {
        let tenant = tenant.as_str();
        let _timer = self.metrics.time("local_process");
        let client = self.client().await?;
        if count(&client, "reading a tenant", "SELECT COUNT(*) AS count FROM tenants WHERE id = $1", &[&tenant]).await?
            == 0
        {
            return Err(StoreError::TenantNotFound);
        }
        let grant = query_one(
            &client,
            "reading a local process grant",
            "SELECT enabled, commands, working_dirs FROM local_process_grants WHERE tenant_id = $1",
            &[&tenant],
            |row| {
                Ok(LocalProcessGrant {
                    enabled: col(row, "enabled")?,
                    commands: parse_list(col(row, "commands")?)?,
                    working_dirs: parse_list(col(row, "working_dirs")?)?,
                })
            },
        )
        .await?;
        Ok(grant.unwrap_or_default())
    }

    async fn create_token(
        &self,
        tenant: &TenantId,
        role: Role,
        secret_hash: &str,
        now: Timestamp,
    ) -> Result<Token, StoreError> {
        let tenant = tenant.as_str();
        let _timer = self.metrics.time("create_token");
        let client = self.client().await?;
        let id = new_id();
        let statement = client
            .prepare_cached(
                "INSERT INTO tokens (id, tenant_id, role, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .map_err(backend("inserting a token"))?;
        client.execute(&statement, &[&id, &tenant, &role.as_str(), &secret_hash, &now.to_string()]).await.map_err(
            |err| {
                if is_foreign_key_violation(&err) {
                    StoreError::TenantNotFound
                } else {
                    backend("inserting a token")(err)
                }
            },
        )?;
        Ok(Token { id, tenant_id: tenant.into(), role, created_at: now })
    }

    async fn delete_token(&self, tenant: &TenantId, token: &str) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let _timer = self.metrics.time("delete_token");
        let client = self.client().await?;
        let deleted = execute(
            &client,
            "deleting a token",
            "DELETE FROM tokens WHERE tenant_id = $1 AND id = $2",
            &[&tenant, &token],
        )
        .await?;
        if deleted == 0 {
            return Err(StoreError::TokenNotFound);
        }
        Ok(())
    }

    async fn find_token(&self, secret_hash: &str) -> Result<Option<Token>, StoreError> {
        let _timer = self.metrics.time("find_token");
        let client = self.client().await?;
        query_one(
            &client,
            "reading a token",
            "SELECT id, tenant_id, role, created_at FROM tokens WHERE secret_hash = $1",
            &[&secret_hash],
            token_from_row,
        )
        .await
    }
}

#[async_trait::async_trait]
impl crate::CloudStore for PostgresStore {
    async fn set_cloud(
        &self,
        tenant: &TenantId,
        settings: Option<ebb_core::cloud::settings::CloudSettings>,
    ) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let _timer = self.metrics.time("set_cloud");
        let client = self.client().await?;
        if count(&client, "reading a tenant", "SELECT COUNT(*) AS count FROM tenants WHERE id = $1", &[&tenant]).await?
            == 0
        {
            return Err(StoreError::TenantNotFound);
        }
        match settings {
            Some(settings) => {
                let document = crate::clouds::document(&settings);
                execute(
                    &client,
                    "storing cloud settings",
                    "INSERT INTO tenant_clouds (tenant_id, document) VALUES ($1, $2) \
                     ON CONFLICT (tenant_id) DO UPDATE SET document = excluded.document",
                    &[&tenant, &document],
                )
                .await?
            }
            None => {
                execute(
                    &client,
                    "removing cloud settings",
                    "DELETE FROM tenant_clouds WHERE tenant_id = $1",
                    &[&tenant],
                )
                .await?
            }
        };
        Ok(())
    }

    async fn cloud(&self, tenant: &TenantId) -> Result<Option<ebb_core::cloud::settings::CloudSettings>, StoreError> {
        let tenant = tenant.as_str();
        let _timer = self.metrics.time("cloud");
        let client = self.client().await?;
        if count(&client, "reading a tenant", "SELECT COUNT(*) AS count FROM tenants WHERE id = $1", &[&tenant]).await?
            == 0
        {
            return Err(StoreError::TenantNotFound);
        }
        let text = query_one(
            &client,
            "reading cloud settings",
            "SELECT document FROM tenant_clouds WHERE tenant_id = $1",
            &[&tenant],
            |row| col::<String>(row, "document"),
        )
        .await?;
        text.as_deref().map(crate::clouds::parse).transpose()
    }
}
