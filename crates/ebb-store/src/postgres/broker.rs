//! The service broker's instances and bindings.

use deadpool_postgres::GenericClient;
use ebb_core::cf_policy::CfPolicy;
use jiff::Timestamp;
use tokio_postgres::Row;

use super::rows::*;
use super::{PostgresStore, backend};
use crate::error::StoreError;
use crate::model::*;
use crate::stored::{BINDING_COLUMNS, BindingColumns, INSTANCE_COLUMNS, InstanceColumns, default_policy_text};

fn instance_from_row(row: &Row) -> Result<ServiceInstance, StoreError> {
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

fn binding_from_row(row: &Row) -> Result<ServiceBinding, StoreError> {
    BindingColumns {
        id: col(row, "id")?,
        instance_id: col(row, "instance_id")?,
        tenant_id: col(row, "tenant_id")?,
        group_id: col(row, "group_id")?,
        created_at: col(row, "created_at")?,
    }
    .into_record()
}

async fn fetch_instance<C: GenericClient>(
    client: &C,
    id: &str,
    lock: &str,
) -> Result<Option<ServiceInstance>, StoreError> {
    let sql = format!("SELECT {INSTANCE_COLUMNS} FROM service_instances WHERE id = $1 {lock}");
    query_one(client, "reading a service instance", &sql, &[&id], instance_from_row).await
}

async fn fetch_binding<C: GenericClient>(
    client: &C,
    column: &str,
    value: &str,
) -> Result<Option<ServiceBinding>, StoreError> {
    let sql = format!(
        "SELECT {BINDING_COLUMNS} FROM service_bindings b JOIN groups g ON g.id = b.group_id WHERE b.{column} = $1"
    );
    query_one(client, "reading a service binding", &sql, &[&value], binding_from_row).await
}

#[async_trait::async_trait]
impl crate::BrokerStore for PostgresStore {
    async fn create_service_instance(&self, instance: ServiceInstance) -> Result<Created<ServiceInstance>, StoreError> {
        let _timer = self.metrics.time("create_service_instance");
        let client = self.client().await?;
        let inserted = execute(
            &client,
            "inserting a service instance",
            "INSERT INTO service_instances (id, service_id, plan_id, organization_guid, space_guid, \
             default_policy, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            &[
                &instance.id,
                &instance.service_id,
                &instance.plan_id,
                &instance.organization_guid,
                &instance.space_guid,
                &default_policy_text(instance.default_policy.as_ref()),
                &instance.created_at.to_string(),
            ],
        )
        .await?;
        if inserted == 1 {
            return Ok(Created::New(instance));
        }
        let existing = fetch_instance(&client, &instance.id, "").await?;
        existing.map(Created::Existing).ok_or(StoreError::ServiceInstanceNotFound)
    }

    async fn service_instance(&self, id: &str) -> Result<Option<ServiceInstance>, StoreError> {
        let _timer = self.metrics.time("service_instance");
        let client = self.client().await?;
        fetch_instance(&client, id, "").await
    }

    async fn set_default_policy(&self, id: &str, policy: Option<CfPolicy>) -> Result<ServiceInstance, StoreError> {
        let _timer = self.metrics.time("set_default_policy");
        let client = self.client().await?;
        let sql =
            format!("UPDATE service_instances SET default_policy = $1 WHERE id = $2 RETURNING {INSTANCE_COLUMNS}");
        let updated = query_one(
            &client,
            "setting a default policy",
            &sql,
            &[&default_policy_text(policy.as_ref()), &id],
            instance_from_row,
        )
        .await?;
        updated.ok_or(StoreError::ServiceInstanceNotFound)
    }

    async fn delete_service_instance(&self, id: &str) -> Result<bool, StoreError> {
        let _timer = self.metrics.time("delete_service_instance");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend("starting a transaction"))?;
        // The instance's row, locked: a binding made meanwhile waits, then finds it gone.
        if fetch_instance(&tx, id, "FOR UPDATE").await?.is_none() {
            return Ok(false);
        }
        let bound = count(
            &tx,
            "counting bindings",
            "SELECT COUNT(*) AS count FROM service_bindings b JOIN groups g ON g.id = b.group_id \
             WHERE b.instance_id = $1 AND NOT g.deleting",
            &[&id],
        )
        .await?;
        if bound > 0 {
            return Err(StoreError::ServiceInstanceBound);
        }
        execute(&tx, "deleting bindings", "DELETE FROM service_bindings WHERE instance_id = $1", &[&id]).await?;
        execute(&tx, "deleting a service instance", "DELETE FROM service_instances WHERE id = $1", &[&id]).await?;
        tx.commit().await.map_err(backend("committing"))?;
        Ok(true)
    }

    async fn create_binding(
        &self,
        id: &str,
        instance: &str,
        group: &GroupId,
        now: Timestamp,
    ) -> Result<Created<ServiceBinding>, StoreError> {
        let _timer = self.metrics.time("create_binding");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend("starting a transaction"))?;
        if let Some(existing) = fetch_binding(&tx, "id", id).await? {
            return Ok(Created::Existing(existing));
        }
        // The instance's row, shared: it cannot be deprovisioned until this binding is in.
        if fetch_instance(&tx, instance, "FOR SHARE").await?.is_none() {
            return Err(StoreError::ServiceInstanceNotFound);
        }
        // Either unique key taken (this id, or this group) makes it insert nothing.
        let inserted = execute(
            &tx,
            "inserting a service binding",
            "INSERT INTO service_bindings (id, instance_id, group_id, created_at) \
             SELECT $1, $2, id, $3 FROM groups WHERE id = $4 AND NOT deleting ON CONFLICT DO NOTHING",
            &[&id, &instance, &now.to_string(), &group.as_str()],
        )
        .await?;
        let created = fetch_binding(&tx, "id", id).await?;
        let outcome = match created {
            Some(binding) if inserted == 1 => Created::New(binding),
            Some(binding) => Created::Existing(binding),
            None if fetch_binding(&tx, "group_id", group.as_str()).await?.is_some() => {
                return Err(StoreError::GroupBound);
            }
            None => return Err(StoreError::GroupNotFound),
        };
        tx.commit().await.map_err(backend("committing"))?;
        Ok(outcome)
    }

    async fn binding_of_group(&self, group: &GroupId) -> Result<Option<ServiceBinding>, StoreError> {
        let _timer = self.metrics.time("binding_of_group");
        let client = self.client().await?;
        fetch_binding(&client, "group_id", group.as_str()).await
    }

    async fn bindings_of_instance(&self, instance: &str) -> Result<Vec<ServiceBinding>, StoreError> {
        let _timer = self.metrics.time("bindings_of_instance");
        let client = self.client().await?;
        let sql = format!(
            "SELECT {BINDING_COLUMNS} FROM service_bindings b JOIN groups g ON g.id = b.group_id \
             WHERE b.instance_id = $1 ORDER BY b.id"
        );
        query_all(&client, "listing bindings", &sql, &[&instance], binding_from_row).await
    }

    async fn delete_binding(&self, instance: &str, id: &str) -> Result<Option<ServiceBinding>, StoreError> {
        let _timer = self.metrics.time("delete_binding");
        let client = self.client().await?;
        query_one(
            &client,
            "deleting a service binding",
            "DELETE FROM service_bindings b USING groups g \
             WHERE b.id = $1 AND b.instance_id = $2 AND g.id = b.group_id \
             RETURNING b.id, b.instance_id, g.tenant_id, b.group_id, b.created_at",
            &[&id, &instance],
            binding_from_row,
        )
        .await
    }
}
