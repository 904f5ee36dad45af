//! Members, recorded before they are started.

use rusqlite::params;

use super::SqliteStore;
use super::rows::*;
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::MemberStore for SqliteStore {
    async fn insert_member(&self, member: MemberRecord) -> Result<(), StoreError> {
        let _timer = self.metrics.time("insert_member");
        self.write(move |conn| {
            execute(
                conn,
                "inserting a member",
                "INSERT INTO members (id, group_id, name, provider, reference, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    member.id.as_str(),
                    member.group_id.as_str(),
                    member.name,
                    member.provider,
                    member.reference.to_string(),
                    member.created_at.to_string()
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn set_member_reference(&self, member: &MemberId, reference: serde_json::Value) -> Result<(), StoreError> {
        let _timer = self.metrics.time("set_member_reference");
        let member = member.to_string();
        self.write(move |conn| {
            execute(
                conn,
                "updating a member",
                "UPDATE members SET reference = ?1 WHERE id = ?2",
                params![reference.to_string(), member],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_member(&self, member: &MemberId) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_member");
        let member = member.to_string();
        self.write(move |conn| {
            execute(conn, "deleting a member", "DELETE FROM members WHERE id = ?1", [&member])?;
            Ok(())
        })
        .await
    }

    async fn list_members(&self, group: Option<&GroupId>) -> Result<Vec<MemberRecord>, StoreError> {
        let group = group.map(|id| id.as_str());
        let _timer = self.metrics.time("list_members");
        let group = group.map(str::to_string);
        self.read(move |conn| {
            query_all(
                conn,
                "listing members",
                "SELECT id, group_id, name, provider, reference, created_at FROM members WHERE ?1 IS NULL OR group_id = ?1 ORDER BY created_at, id",
                [&group],
                member_from_row,
            )
        })
        .await
    }
}
