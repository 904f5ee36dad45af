//! Stored columns turned into records, the same for every SQL backend: documents are parsed
//! into their typed values here, once per read, and one that does not parse is
//! [`StoreError::Corrupt`], never ignored.

use std::sync::Arc;

use ebb_core::capacity::Bounds;
use ebb_core::group::GroupConfig;
use ebb_core::launch::LaunchConfig;
use ebb_core::policy::Policy;
use ebb_core::records::GroupState;
use jiff::Timestamp;
use serde_json::Value;

use crate::error::StoreError;
use crate::model::*;

pub fn parse_time(text: &str) -> Result<Timestamp, StoreError> {
    text.parse().map_err(|err| StoreError::Corrupt(format!("timestamp {text:?}: {err}")))
}

pub fn parse_optional_time(text: Option<String>) -> Result<Option<Timestamp>, StoreError> {
    text.as_deref().map(parse_time).transpose()
}

pub fn parse_json(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|err| StoreError::Corrupt(format!("json document: {err}")))
}

pub fn from_millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|err| StoreError::Corrupt(format!("time {ms}: {err}")))
}

pub fn config_text(config: &GroupConfig) -> Result<String, StoreError> {
    serde_json::to_string(config).map_err(|err| StoreError::Corrupt(format!("group config: {err}")))
}

/// The columns of a group row.
pub struct GroupColumns {
    pub id: String,
    pub tenant_id: String,
    pub config: String,
    pub launch: String,
    pub desired: i64,
    pub paused: bool,
    pub status: String,
    pub error_reasons: String,
    pub touched_at: Option<String>,
    pub created_at: String,
    pub deleting: bool,
    pub windows: Option<String>,
    pub window_active: Option<String>,
}

impl GroupColumns {
    /// The group, with its documents parsed.
    pub fn into_group(self) -> Result<Group, StoreError> {
        let id = self.id;
        let corrupt =
            |what: &str, err: &dyn std::fmt::Display| StoreError::Corrupt(format!("group {id}: {what}: {err}"));
        let config: GroupConfig = serde_json::from_str(&self.config).map_err(|err| corrupt("configuration", &err))?;
        let errors: Vec<String> =
            serde_json::from_str(&self.error_reasons).map_err(|err| corrupt("error reasons", &err))?;
        let status = match self.status.as_str() {
            "ERROR" => GroupStatus::Error,
            _ => GroupStatus::Active,
        };
        let launch = LaunchConfig::from_stored(parse_json(&self.launch)?)
            .map_err(|err| corrupt("launch configuration", &err.message))?;
        let windows = match self.windows {
            None => None,
            Some(text) => {
                let windows = GroupWindows::parse_stored(parse_json(&text)?);
                Some(Arc::new(windows.map_err(|err| corrupt("windows", &err.message))?))
            }
        };
        Ok(Group {
            tenant_id: self.tenant_id,
            config: Arc::new(config),
            launch: Arc::new(launch),
            state: GroupState {
                desired: self.desired as u32,
                paused: self.paused,
                status,
                errors,
                touched_at: parse_optional_time(self.touched_at)?,
                deleting: self.deleting,
                window: self.window_active,
            },
            windows,
            created_at: parse_time(&self.created_at)?,
            id,
        })
    }
}

pub fn policy(
    id: String,
    group_id: String,
    body: &str,
    touched_at: Option<String>,
) -> Result<PolicyRecord, StoreError> {
    let body = parse_json(body)?;
    let policy =
        Policy::from_stored(&body).map_err(|err| StoreError::Corrupt(format!("policy {id}: {}", err.message)))?;
    Ok(PolicyRecord { id, group_id, body, policy, touched_at: parse_optional_time(touched_at)? })
}

pub fn webhook(id: String, policy_id: String, name: String, metadata: &str) -> Result<WebhookRecord, StoreError> {
    let metadata = match parse_json(metadata)? {
        Value::Object(map) => map,
        _ => return Err(StoreError::Corrupt("webhook metadata is not an object".into())),
    };
    Ok(WebhookRecord { id, policy_id, name, metadata })
}

pub fn member(
    id: String,
    group_id: String,
    name: String,
    provider: String,
    reference: &str,
    created_at: &str,
) -> Result<MemberRecord, StoreError> {
    Ok(MemberRecord {
        id,
        group_id,
        name,
        provider,
        reference: parse_json(reference)?,
        created_at: parse_time(created_at)?,
    })
}

pub fn token(id: String, tenant_id: String, role: &str, created_at: &str) -> Result<Token, StoreError> {
    Ok(Token {
        id,
        tenant_id,
        role: Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        created_at: parse_time(created_at)?,
    })
}

pub fn event(
    group_id: String,
    at: i64,
    kind: &str,
    policy_id: Option<String>,
    due: Option<i64>,
    message: String,
) -> Result<GroupEvent, StoreError> {
    Ok(GroupEvent {
        group_id,
        at: from_millis(at)?,
        kind: EventKind::parse(kind).ok_or_else(|| StoreError::Corrupt(format!("event kind {kind:?}")))?,
        policy_id,
        due: due.map(from_millis).transpose()?,
        message,
    })
}

/// The columns of a history row.
pub struct HistoryColumns {
    pub id: String,
    pub group_id: String,
    pub at: i64,
    pub source: String,
    pub policy_id: Option<String>,
    pub webhook_id: Option<String>,
    pub from: i64,
    pub to: i64,
    pub min: i64,
    pub max: i64,
    pub reason: String,
}

impl HistoryColumns {
    /// The history entry.
    pub fn into_record(self) -> Result<HistoryRecord, StoreError> {
        let source = Source::parse(&self.source)
            .ok_or_else(|| StoreError::Corrupt(format!("history source {:?}", self.source)))?;
        Ok(HistoryRecord {
            id: self.id,
            entry: HistoryEntry {
                group_id: self.group_id,
                at: from_millis(self.at)?,
                source,
                policy_id: self.policy_id,
                webhook_id: self.webhook_id,
                from: self.from as u32,
                to: self.to as u32,
                bounds: Bounds { min: self.min as u32, max: self.max as u32 },
                reason: self.reason,
            },
        })
    }
}
