//! Tenants, their tokens, and what the operator lets them run.

use ebb_core::grant::LocalProcessGrant;
use jiff::Timestamp;
use rusqlite::params;
use serde_json::Value;

use super::SqliteStore;
use super::rows::*;
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::TenantStore for SqliteStore {
    async fn create_tenant(&self, id: &TenantId, now: Timestamp) -> Result<Tenant, StoreError> {
        let _timer = self.metrics.time("create_tenant");
        let id = id.to_string();
        self.write(move |conn| {
            let inserted = execute(
                conn,
                "inserting a tenant",
                "INSERT INTO tenants (id, created_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
                params![id, now.to_string()],
            )?;
            if inserted == 0 {
                return Err(StoreError::TenantExists);
            }
            Ok(Tenant { id: id.into(), created_at: now })
        })
        .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let _timer = self.metrics.time("list_tenants");
        self.read(|conn| {
            query_all(conn, "listing tenants", "SELECT id, created_at FROM tenants ORDER BY id", [], |row| {
                Ok(Tenant { id: id(row, "id")?, created_at: parse_time(&col::<String>(row, "created_at")?)? })
            })
        })
        .await
    }

    async fn tenant_exists(&self, id: &TenantId) -> Result<bool, StoreError> {
        let _timer = self.metrics.time("tenant_exists");
        let id = id.to_string();
        self.read(move |conn| {
            Ok(count(conn, "reading a tenant", "SELECT COUNT(*) FROM tenants WHERE id = ?1", [&id])? > 0)
        })
        .await
    }

    async fn set_local_process(&self, tenant: &TenantId, grant: LocalProcessGrant) -> Result<(), StoreError> {
        let _timer = self.metrics.time("set_local_process");
        let tenant = tenant.to_string();
        self.write(move |conn| {
            let list = |paths: &Option<Vec<String>>| paths.as_ref().map(|p| Value::from(p.clone()).to_string());
            conn.prepare_cached(
                "INSERT INTO local_process_grants (tenant_id, enabled, commands, working_dirs) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (tenant_id) DO UPDATE SET enabled = excluded.enabled, commands = excluded.commands, \
                 working_dirs = excluded.working_dirs",
            )
            .and_then(|mut statement| {
                statement.execute(params![tenant, grant.enabled, list(&grant.commands), list(&grant.working_dirs)])
            })
            .map_err(|err| {
                if is_foreign_key_violation(&err) {
                    StoreError::TenantNotFound
                } else {
                    backend("granting local processes")(err)
                }
            })?;
            Ok(())
        })
        .await
    }

    async fn local_process(&self, tenant: &TenantId) -> Result<LocalProcessGrant, StoreError> {
        let _timer = self.metrics.time("local_process");
        let tenant = tenant.to_string();
        self.read(move |conn| {
            if count(conn, "reading a tenant", "SELECT COUNT(*) FROM tenants WHERE id = ?1", [&tenant])? == 0 {
                return Err(StoreError::TenantNotFound);
            }
            let list = |text: Option<String>| -> Result<Option<Vec<String>>, StoreError> {
                text.map(|text| {
                    serde_json::from_str(&text).map_err(|err| StoreError::Corrupt(format!("allow-list: {err}")))
                })
                .transpose()
            };
            let grant = query_one(
                conn,
                "reading a local process grant",
                "SELECT enabled, commands, working_dirs FROM local_process_grants WHERE tenant_id = ?1",
                [&tenant],
                |row| {
                    Ok(LocalProcessGrant {
                        enabled: col(row, "enabled")?,
                        commands: list(col(row, "commands")?)?,
                        working_dirs: list(col(row, "working_dirs")?)?,
                    })
                },
            )?;
            Ok(grant.unwrap_or_default())
        })
        .await
    }

    async fn create_token(
        &self,
        tenant: &TenantId,
        role: Role,
        secret_hash: &str,
        now: Timestamp,
    ) -> Result<Token, StoreError> {
        let _timer = self.metrics.time("create_token");
        let (tenant, secret_hash) = (tenant.to_string(), secret_hash.to_string());
        self.write(move |conn| {
            let id = new_id();
            conn.prepare_cached(
                "INSERT INTO tokens (id, tenant_id, role, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut statement| {
                statement.execute(params![id, tenant, role.as_str(), secret_hash, now.to_string()])
            })
            .map_err(|err| {
                if is_foreign_key_violation(&err) {
                    StoreError::TenantNotFound
                } else {
                    backend("inserting a token")(err)
                }
            })?;
            Ok(Token { id, tenant_id: tenant.into(), role, created_at: now })
        })
        .await
    }

    async fn delete_token(&self, tenant: &TenantId, token: &str) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_token");
        let (tenant, token) = (tenant.to_string(), token.to_string());
        self.write(move |conn| {
            execute_one(
                conn,
                "deleting a token",
                "DELETE FROM tokens WHERE tenant_id = ?1 AND id = ?2",
                params![tenant, token],
                StoreError::TokenNotFound,
            )
        })
        .await
    }

    async fn find_token(&self, secret_hash: &str) -> Result<Option<Token>, StoreError> {
        let _timer = self.metrics.time("find_token");
        let secret_hash = secret_hash.to_string();
        self.read(move |conn| {
            query_one(
                conn,
                "reading a token",
                "SELECT id, tenant_id, role, created_at FROM tokens WHERE secret_hash = ?1",
                [&secret_hash],
                token_from_row,
            )
        })
        .await
    }
}

#[async_trait::async_trait]
impl crate::CloudStore for SqliteStore {
    async fn set_cloud(
        &self,
        tenant: &TenantId,
        settings: Option<ebb_core::cloud::settings::CloudSettings>,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("set_cloud");
        let tenant = tenant.to_string();
        self.write(move |conn| {
            if count(conn, "reading a tenant", "SELECT COUNT(*) FROM tenants WHERE id = ?1", [&tenant])? == 0 {
                return Err(StoreError::TenantNotFound);
            }
            match settings {
                Some(settings) => execute(
                    conn,
                    "storing cloud settings",
                    "INSERT INTO tenant_clouds (tenant_id, document) VALUES (?1, ?2) \
                     ON CONFLICT (tenant_id) DO UPDATE SET document = excluded.document",
                    params![tenant, crate::clouds::document(&settings)],
                )?,
                None => execute(
                    conn,
                    "removing cloud settings",
                    "DELETE FROM tenant_clouds WHERE tenant_id = ?1",
                    [&tenant],
                )?,
            };
            Ok(())
        })
        .await
    }

    async fn cloud(&self, tenant: &TenantId) -> Result<Option<ebb_core::cloud::settings::CloudSettings>, StoreError> {
        let _timer = self.metrics.time("cloud");
        let tenant = tenant.to_string();
        self.read(move |conn| {
            if count(conn, "reading a tenant", "SELECT COUNT(*) FROM tenants WHERE id = ?1", [&tenant])? == 0 {
                return Err(StoreError::TenantNotFound);
            }
            let text = query_one(
                conn,
                "reading cloud settings",
                "SELECT document FROM tenant_clouds WHERE tenant_id = ?1",
                [&tenant],
                |row| col::<String>(row, "document"),
            )?;
            text.as_deref().map(crate::clouds::parse).transpose()
        })
        .await
    }
}
