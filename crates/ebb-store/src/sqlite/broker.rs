//! The service broker's instances and bindings.

use ebb_core::cf_policy::CfPolicy;
use jiff::Timestamp;
use rusqlite::{Connection, Row, params};

use super::SqliteStore;
use super::rows::*;
use crate::error::StoreError;
use crate::model::*;
use crate::stored::{BINDING_COLUMNS, BindingColumns, INSTANCE_COLUMNS, InstanceColumns, default_policy_text};

fn instance_from_row(row: &Row<'_>) -> Result<ServiceInstance, StoreError> {
    InstanceColumns {
        id: col(row, "id")?,
        service_id: col(row, "service_id")?,
        plan_id: col(row, "plan_id")?,
        organization_guid: col(row, "organization_guid")?,
        space_guid: col(row, "space_guid")?,
        default_policy: col(row, "default_policy")?,
        created_at: col(row, "created_at")?,
    }
    .into_record()
}

fn binding_from_row(row: &Row<'_>) -> Result<ServiceBinding, StoreError> {
    BindingColumns {
        id: col(row, "id")?,
        instance_id: col(row, "instance_id")?,
        tenant_id: col(row, "tenant_id")?,
        group_id: col(row, "group_id")?,
        created_at: col(row, "created_at")?,
    }
    .into_record()
}

fn fetch_instance(conn: &Connection, id: &str) -> Result<Option<ServiceInstance>, StoreError> {
    let sql = format!("SELECT {INSTANCE_COLUMNS} FROM service_instances WHERE id = ?1");
    query_one(conn, "reading a service instance", &sql, [id], instance_from_row)
}

fn fetch_binding(conn: &Connection, id: &str) -> Result<Option<ServiceBinding>, StoreError> {
    let sql =
        format!("SELECT {BINDING_COLUMNS} FROM service_bindings b JOIN groups g ON g.id = b.group_id WHERE b.id = ?1");
    query_one(conn, "reading a service binding", &sql, [id], binding_from_row)
}

#[async_trait::async_trait]
impl crate::BrokerStore for SqliteStore {
    async fn create_service_instance(&self, instance: ServiceInstance) -> Result<Created<ServiceInstance>, StoreError> {
        let _timer = self.metrics.time("create_service_instance");
        self.write(move |conn| {
            if let Some(existing) = fetch_instance(conn, &instance.id)? {
                return Ok(Created::Existing(existing));
            }
            execute(
                conn,
                "inserting a service instance",
                "INSERT INTO service_instances (id, service_id, plan_id, organization_guid, space_guid, \
                 default_policy, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    instance.id,
                    instance.service_id,
                    instance.plan_id,
                    instance.organization_guid,
                    instance.space_guid,
                    default_policy_text(instance.default_policy.as_ref()),
                    instance.created_at.to_string()
                ],
            )?;
            Ok(Created::New(instance))
        })
        .await
    }

    async fn service_instance(&self, id: &str) -> Result<Option<ServiceInstance>, StoreError> {
        let _timer = self.metrics.time("service_instance");
        let id = id.to_string();
        self.read(move |conn| fetch_instance(conn, &id)).await
    }

    async fn set_default_policy(&self, id: &str, policy: Option<CfPolicy>) -> Result<ServiceInstance, StoreError> {
        let _timer = self.metrics.time("set_default_policy");
        let id = id.to_string();
        self.write(move |conn| {
            execute_one(
                conn,
                "setting a default policy",
                "UPDATE service_instances SET default_policy = ?1 WHERE id = ?2",
                params![default_policy_text(policy.as_ref()), id],
                StoreError::ServiceInstanceNotFound,
            )?;
            fetch_instance(conn, &id)?.ok_or(StoreError::ServiceInstanceNotFound)
        })
        .await
    }

    async fn delete_service_instance(&self, id: &str) -> Result<bool, StoreError> {
        let _timer = self.metrics.time("delete_service_instance");
        let id = id.to_string();
        self.write(move |conn| {
            if fetch_instance(conn, &id)?.is_none() {
                return Ok(false);
            }
            let bound = count(
                conn,
                "counting bindings",
                "SELECT COUNT(*) FROM service_bindings b JOIN groups g ON g.id = b.group_id \
                 WHERE b.instance_id = ?1 AND g.deleting = 0",
                [&id],
            )?;
            if bound > 0 {
                return Err(StoreError::ServiceInstanceBound);
            }
            execute(conn, "deleting bindings", "DELETE FROM service_bindings WHERE instance_id = ?1", [&id])?;
            execute(conn, "deleting a service instance", "DELETE FROM service_instances WHERE id = ?1", [&id])?;
            Ok(true)
        })
        .await
    }

    async fn create_binding(
        &self,
        id: &str,
        instance: &str,
        group: &GroupId,
        now: Timestamp,
    ) -> Result<Created<ServiceBinding>, StoreError> {
        let _timer = self.metrics.time("create_binding");
        let (id, instance, group) = (id.to_string(), instance.to_string(), group.to_string());
        self.write(move |conn| {
            if let Some(existing) = fetch_binding(conn, &id)? {
                return Ok(Created::Existing(existing));
            }
            if fetch_instance(conn, &instance)?.is_none() {
                return Err(StoreError::ServiceInstanceNotFound);
            }
            let bound = count(
                conn,
                "reading a binding",
                "SELECT COUNT(*) FROM service_bindings WHERE group_id = ?1",
                [&group],
            )?;
            if bound > 0 {
                return Err(StoreError::GroupBound);
            }
            let inserted = execute(
                conn,
                "inserting a service binding",
                "INSERT INTO service_bindings (id, instance_id, group_id, created_at) \
                 SELECT ?1, ?2, id, ?3 FROM groups WHERE id = ?4 AND deleting = 0",
                params![id, instance, now.to_string(), group],
            )?;
            if inserted == 0 {
                return Err(StoreError::GroupNotFound);
            }
            fetch_binding(conn, &id)?.map(Created::New).ok_or(StoreError::GroupNotFound)
        })
        .await
    }

    async fn binding_of_group(&self, group: &GroupId) -> Result<Option<ServiceBinding>, StoreError> {
        let _timer = self.metrics.time("binding_of_group");
        let group = group.to_string();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {BINDING_COLUMNS} FROM service_bindings b JOIN groups g ON g.id = b.group_id \
                 WHERE b.group_id = ?1"
            );
            query_one(conn, "reading a group's binding", &sql, [&group], binding_from_row)
        })
        .await
    }

    async fn bindings_of_instance(&self, instance: &str) -> Result<Vec<ServiceBinding>, StoreError> {
        let _timer = self.metrics.time("bindings_of_instance");
        let instance = instance.to_string();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {BINDING_COLUMNS} FROM service_bindings b JOIN groups g ON g.id = b.group_id \
                 WHERE b.instance_id = ?1 ORDER BY b.id"
            );
            query_all(conn, "listing bindings", &sql, [&instance], binding_from_row)
        })
        .await
    }

    async fn delete_binding(&self, instance: &str, id: &str) -> Result<Option<ServiceBinding>, StoreError> {
        let _timer = self.metrics.time("delete_binding");
        let (instance, id) = (instance.to_string(), id.to_string());
        self.write(move |conn| {
            let Some(binding) = fetch_binding(conn, &id)?.filter(|b| b.instance_id == instance) else {
                return Ok(None);
            };
            execute(conn, "deleting a service binding", "DELETE FROM service_bindings WHERE id = ?1", [&id])?;
            Ok(Some(binding))
        })
        .await
    }
}
