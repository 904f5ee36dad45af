//! Members, recorded before they are started.

use serde_json::Value;

use super::PostgresStore;
use super::rows::*;
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::MemberStore for PostgresStore {
    async fn insert_member(&self, member: MemberRecord) -> Result<(), StoreError> {
        let _timer = self.metrics.time("insert_member");
        let client = self.client().await?;
        execute(
            &client,
            "inserting a member",
            "INSERT INTO members (id, group_id, name, provider, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &member.id.as_str(),
                &member.group_id.as_str(),
                &member.name,
                &member.provider,
                &member.reference.to_string(),
                &member.created_at.to_string(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn set_member_reference(&self, member: &MemberId, reference: Value) -> Result<(), StoreError> {
        let member = member.as_str();
        let _timer = self.metrics.time("set_member_reference");
        let client = self.client().await?;
        execute(
            &client,
            "updating a member",
            "UPDATE members SET reference = $1 WHERE id = $2",
            &[&reference.to_string(), &member],
        )
        .await?;
        Ok(())
    }

    async fn delete_member(&self, member: &MemberId) -> Result<(), StoreError> {
        let member = member.as_str();
        let _timer = self.metrics.time("delete_member");
        let client = self.client().await?;
        execute(&client, "deleting a member", "DELETE FROM members WHERE id = $1", &[&member]).await?;
        Ok(())
    }

    async fn list_members(&self, group: Option<&GroupId>) -> Result<Vec<MemberRecord>, StoreError> {
        let group = group.map(|id| id.as_str());
        let _timer = self.metrics.time("list_members");
        let client = self.client().await?;
        query_all(
            &client,
            "listing members",
            "SELECT id, group_id, name, provider, reference, created_at FROM members \
             WHERE $1::text IS NULL OR group_id = $1 ORDER BY created_at, id",
            &[&group],
            member_from_row,
        )
        .await
    }
}
