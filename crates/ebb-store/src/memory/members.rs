//! Members, in memory.

use serde_json::Value;

use super::MemoryStore;
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::MemberStore for MemoryStore {
    async fn insert_member(&self, member: MemberRecord) -> Result<(), StoreError> {
        self.with(|state| {
            state.members.push(member);
            state.members.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            Ok(())
        })
    }

    async fn set_member_reference(&self, member: &MemberId, reference: Value) -> Result<(), StoreError> {
        let member = member.as_str();
        self.with(|state| {
            if let Some(record) = state.members.iter_mut().find(|m| m.id == member) {
                record.reference = reference;
            }
            Ok(())
        })
    }

    async fn delete_member(&self, member: &MemberId) -> Result<(), StoreError> {
        let member = member.as_str();
        self.with(|state| {
            state.members.retain(|m| m.id != member);
            Ok(())
        })
    }

    async fn list_members(&self, group: Option<&GroupId>) -> Result<Vec<MemberRecord>, StoreError> {
        let group = group.map(|id| id.as_str());
        self.with(|state| Ok(state.members.iter().filter(|m| group.is_none_or(|g| m.group_id == g)).cloned().collect()))
    }
}
