//! Stored columns turned into records, the same for every SQL backend: documents are parsed
//! into their typed values here, once per read, and one that does not parse is
//! [`StoreError::Corrupt`], never ignored.

use std::sync::Arc;

use ebb_core::capacity::Bounds;
use ebb_core::cf_policy::MetricRules;
use ebb_core::group::GroupConfig;
use ebb_core::launch::LaunchConfig;
use ebb_core::policy::Policy;
use ebb_core::records::{Direction, GroupState, MetricCredential};
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

pub fn rules_text(rules: Option<&MetricRules>) -> Result<Option<String>, StoreError> {
    rules.map(serde_json::to_string).transpose().map_err(|err| StoreError::Corrupt(format!("metric rules: {err}")))
}

pub fn default_policy_text(policy: Option<&ebb_core::cf_policy::CfPolicy>) -> Option<String> {
    policy.map(|policy| policy.document().to_string())
}

pub fn parse_default_policy(text: Option<String>) -> Result<Option<ebb_core::cf_policy::CfPolicy>, StoreError> {
    let Some(text) = text else { return Ok(None) };
    let policy = ebb_core::cf_policy::parse_stored(&parse_json(&text)?)
        .map_err(|errors| StoreError::Corrupt(format!("default policy: {errors:?}")))?;
    Ok(Some(policy))
}

pub fn config_text(config: &GroupConfig) -> Result<String, StoreError> {
    serde_json::to_string(config).map_err(|err| StoreError::Corrupt(format!("group config: {err}")))
}

/// Parsed documents by their stored text, one memo per thread. A group's configuration and
/// launch configuration are read far more often than they change, and parsing them was most
/// of the cost of reading a group. Parsing is a pure function of the text, so what a memo
/// returns is never stale; a document that does not parse is never remembered.
mod memo {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::Arc;

    use ebb_core::group::GroupConfig;
    use ebb_core::launch::LaunchConfig;

    use crate::error::StoreError;

    /// The most documents of one kind a thread remembers; it forgets them all when full.
    const CAPACITY: usize = 4096;

    pub struct Memo<T>(RefCell<HashMap<String, Arc<T>>>);

    impl<T> Memo<T> {
        fn new() -> Self {
            Memo(RefCell::new(HashMap::new()))
        }

        /// The document stored as `text`, parsed by `parse` unless it was parsed before.
        pub fn parsed(
            &self,
            text: String,
            parse: impl FnOnce(&str) -> Result<T, StoreError>,
        ) -> Result<Arc<T>, StoreError> {
            if let Some(parsed) = self.0.borrow().get(&text) {
                return Ok(parsed.clone());
            }
            let parsed = Arc::new(parse(&text)?);
            let mut memo = self.0.borrow_mut();
            if memo.len() >= CAPACITY {
                memo.clear();
            }
            memo.insert(text, parsed.clone());
            Ok(parsed)
        }
    }

    thread_local! {
        pub static CONFIGS: Memo<GroupConfig> = Memo::new();
        pub static LAUNCHES: Memo<LaunchConfig> = Memo::new();
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn number(text: &str) -> Result<u32, StoreError> {
            text.parse().map_err(|_| StoreError::Corrupt(format!("not a number: {text}")))
        }

        #[test]
        fn the_same_text_is_parsed_once_and_another_text_anew() {
            let memo = Memo::new();
            let first = memo.parsed("7".to_string(), number).unwrap();
            let again = memo.parsed("7".to_string(), |_| panic!("parsed twice")).unwrap();
            assert!(Arc::ptr_eq(&first, &again));
            assert_eq!(*memo.parsed("8".to_string(), number).unwrap(), 8);
        }

        #[test]
        fn a_document_that_does_not_parse_is_an_error_every_time() {
            let memo = Memo::new();
            assert!(memo.parsed("x".to_string(), number).is_err());
            assert!(memo.parsed("x".to_string(), number).is_err(), "not remembered");
        }

        #[test]
        fn a_full_memo_forgets_and_still_answers() {
            let memo = Memo::new();
            for n in 0..=CAPACITY {
                assert_eq!(*memo.parsed(n.to_string(), number).unwrap() as usize, n);
            }
            assert!(memo.0.borrow().len() <= CAPACITY);
        }
    }
}

/// The columns of a group row.
pub struct GroupColumns {
    pub id: String,
    pub tenant_id: String,
    pub config: String,
    pub launch: String,
    pub desired: i64,
    pub paused: bool,
    pub paused_direction: Option<String>,
    pub status: String,
    pub error_reasons: String,
    pub touched_at: Option<String>,
    pub created_at: String,
    pub deleting: bool,
    pub windows: Option<String>,
    pub window_active: Option<String>,
    pub rules: Option<String>,
    pub rules_cooldown_until: Option<i64>,
    pub credential_username: Option<String>,
    pub credential_hash: Option<String>,
}

impl GroupColumns {
    /// The group, with its documents parsed.
    pub fn into_group(self) -> Result<Group, StoreError> {
        let id = self.id;
        let corrupt =
            |what: &str, err: &dyn std::fmt::Display| StoreError::Corrupt(format!("group {id}: {what}: {err}"));
        let config = memo::CONFIGS.with(|memo| {
            memo.parsed(self.config, |text| serde_json::from_str(text).map_err(|err| corrupt("configuration", &err)))
        })?;
        let errors: Vec<String> =
            serde_json::from_str(&self.error_reasons).map_err(|err| corrupt("error reasons", &err))?;
        let status = match self.status.as_str() {
            "ERROR" => GroupStatus::Error,
            _ => GroupStatus::Active,
        };
        let launch = memo::LAUNCHES.with(|memo| {
            memo.parsed(self.launch, |text| {
                LaunchConfig::from_stored(parse_json(text)?)
                    .map_err(|err| corrupt("launch configuration", &err.message))
            })
        })?;
        let windows = match self.windows {
            None => None,
            Some(text) => {
                let windows = GroupWindows::parse_stored(parse_json(&text)?);
                Some(Arc::new(windows.map_err(|err| corrupt("windows", &err.message))?))
            }
        };
        Ok(Group {
            tenant_id: self.tenant_id.into(),
            config,
            launch,
            state: GroupState {
                desired: self.desired as u32,
                paused: self.paused,
                paused_direction: self.paused_direction.as_deref().and_then(Direction::parse),
                status,
                errors,
                touched_at: parse_optional_time(self.touched_at)?,
                deleting: self.deleting,
                window: self.window_active,
                rules_cooldown_until: self.rules_cooldown_until.map(from_millis).transpose()?,
            },
            windows,
            credential: match (self.credential_username, self.credential_hash) {
                (Some(username), Some(password_hash)) => Some(MetricCredential { username, password_hash }),
                _ => None,
            },
            rules: match self.rules {
                None => None,
                Some(text) => Some(Arc::new(serde_json::from_str(&text).map_err(|err| corrupt("rules", &err))?)),
            },
            created_at: parse_time(&self.created_at)?,
            id: id.into(),
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
    Ok(PolicyRecord {
        id: id.into(),
        group_id: group_id.into(),
        body,
        policy,
        touched_at: parse_optional_time(touched_at)?,
    })
}

pub fn webhook(id: String, policy_id: String, name: String, metadata: &str) -> Result<WebhookRecord, StoreError> {
    let metadata = match parse_json(metadata)? {
        Value::Object(map) => map,
        _ => return Err(StoreError::Corrupt("webhook metadata is not an object".into())),
    };
    Ok(WebhookRecord { id: id.into(), policy_id: policy_id.into(), name, metadata })
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
        id: id.into(),
        group_id: group_id.into(),
        name,
        provider,
        reference: parse_json(reference)?,
        created_at: parse_time(created_at)?,
    })
}

pub fn token(id: String, tenant_id: String, role: &str, created_at: &str) -> Result<Token, StoreError> {
    Ok(Token {
        id,
        tenant_id: tenant_id.into(),
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
        group_id: group_id.into(),
        at: from_millis(at)?,
        kind: EventKind::parse(kind).ok_or_else(|| StoreError::Corrupt(format!("event kind {kind:?}")))?,
        policy_id: policy_id.map(Into::into),
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
                group_id: self.group_id.into(),
                at: from_millis(self.at)?,
                source,
                policy_id: self.policy_id.map(Into::into),
                webhook_id: self.webhook_id.map(Into::into),
                from: self.from as u32,
                to: self.to as u32,
                bounds: Bounds { min: self.min as u32, max: self.max as u32 },
                reason: self.reason,
            },
        })
    }
}

/// How a per-minute aggregate's owner is stored: -1 for the group, else the slot.
pub fn slot_column(of: Of) -> i64 {
    match of {
        Of::Group => -1,
        Of::Slot(slot) => i64::from(slot),
    }
}

/// The owner of a stored per-minute aggregate.
pub fn slot_of(column: i64) -> Of {
    u32::try_from(column).map_or(Of::Group, Of::Slot)
}

/// A service instance's columns.
pub struct InstanceColumns {
    pub id: String,
    pub service_id: String,
    pub plan_id: String,
    pub organization_guid: String,
    pub space_guid: String,
    pub default_policy: Option<String>,
    pub created_at: String,
}

impl InstanceColumns {
    pub fn into_record(self) -> Result<ServiceInstance, StoreError> {
        Ok(ServiceInstance {
            id: self.id,
            service_id: self.service_id,
            plan_id: self.plan_id,
            organization_guid: self.organization_guid,
            space_guid: self.space_guid,
            default_policy: parse_default_policy(self.default_policy)?,
            created_at: parse_time(&self.created_at)?,
        })
    }
}

/// The columns a service instance is read from.
pub const INSTANCE_COLUMNS: &str = "id, service_id, plan_id, organization_guid, space_guid, default_policy, created_at";

/// The columns a service binding is read from (with its group's tenant).
pub const BINDING_COLUMNS: &str = "b.id, b.instance_id, g.tenant_id, b.group_id, b.created_at";

/// A service binding's columns.
pub struct BindingColumns {
    pub id: String,
    pub instance_id: String,
    pub tenant_id: String,
    pub group_id: String,
    pub created_at: String,
}

impl BindingColumns {
    pub fn into_record(self) -> Result<ServiceBinding, StoreError> {
        Ok(ServiceBinding {
            id: self.id,
            instance_id: self.instance_id,
            tenant_id: self.tenant_id.into(),
            group_id: self.group_id.into(),
            created_at: parse_time(&self.created_at)?,
        })
    }
}

/// A stored collector: its document parsed again, as when it was submitted.
pub fn collector(
    id: String,
    group_id: String,
    tenant_id: String,
    body: &str,
    created_at: i64,
    updated_at: i64,
) -> Result<CollectorRecord, StoreError> {
    let body = parse_json(body)?;
    let collector = ebb_core::collector::Collector::parse(&body, "")
        .map_err(|err| StoreError::Corrupt(format!("collector {id}: {}", err.message)))?;
    Ok(CollectorRecord {
        id: id.into(),
        group_id: group_id.into(),
        tenant_id: tenant_id.into(),
        body,
        collector,
        created_at: from_millis(created_at)?,
        updated_at: from_millis(updated_at)?,
    })
}
