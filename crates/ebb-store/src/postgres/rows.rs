//! Statements' helpers over a connection or a transaction, and rows turned into records
//! (through `crate::stored`, which parses stored documents the same way for every backend).

use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use super::{Params, backend};
use crate::error::StoreError;
use crate::model::*;
pub(crate) use crate::stored::{
    self, GroupColumns, HistoryColumns, config_text, from_millis, parse_time, rules_text, slot_column, slot_of,
};

/// The start of every query that reads whole groups ([`group_from_row`]).
pub const GROUP_SELECT: &str = "SELECT id, tenant_id, config, launch, desired, paused, status, error_reasons, \
                                touched_at, created_at, deleting, windows, window_active, rules, \
                                rules_cooldown_until, credential_username, credential_hash, paused_direction FROM groups";

/// The columns [`policy_from_row`] reads.
pub const POLICY_COLUMNS: &str = "id, group_id, body, touched_at";

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

pub fn col<'a, T: FromSql<'a>>(row: &'a Row, name: &str) -> Result<T, StoreError> {
    row.try_get(name).map_err(|err| StoreError::Corrupt(format!("column {name}: {err}")))
}

/// An id column read as the identifier type it holds.
pub fn id<T: From<String>>(row: &Row, name: &str) -> Result<T, StoreError> {
    col::<String>(row, name).map(T::from)
}

/// Runs a query and maps every row, keeping the first mapping error.
pub async fn query_all<C: GenericClient, T>(
    client: &C,
    context: &'static str,
    sql: &str,
    params: Params<'_>,
    map: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(backend(context))?;
    let rows = client.query(&statement, params).await.map_err(backend(context))?;
    rows.iter().map(map).collect()
}

/// Runs a query expected to return at most one row.
pub async fn query_one<C: GenericClient, T>(
    client: &C,
    context: &'static str,
    sql: &str,
    params: Params<'_>,
    map: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    Ok(query_all(client, context, sql, params, map).await?.into_iter().next())
}

/// Runs a statement; returns the rows changed.
pub async fn execute<C: GenericClient>(
    client: &C,
    context: &'static str,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(backend(context))?;
    client.execute(&statement, params).await.map_err(backend(context))
}

/// A count.
pub async fn count<C: GenericClient>(
    client: &C,
    context: &'static str,
    sql: &str,
    params: Params<'_>,
) -> Result<usize, StoreError> {
    let counted = query_one(client, context, sql, params, |row| col::<i64>(row, "count")).await?;
    Ok(counted.unwrap_or(0) as usize)
}

pub fn group_from_row(row: &Row) -> Result<Group, StoreError> {
    GroupColumns {
        id: col(row, "id")?,
        tenant_id: col(row, "tenant_id")?,
        config: col(row, "config")?,
        launch: col(row, "launch")?,
        desired: col(row, "desired")?,
        paused: col(row, "paused")?,
        paused_direction: col(row, "paused_direction")?,
        status: col(row, "status")?,
        error_reasons: col(row, "error_reasons")?,
        touched_at: col(row, "touched_at")?,
        created_at: col(row, "created_at")?,
        deleting: col(row, "deleting")?,
        windows: col(row, "windows")?,
        window_active: col(row, "window_active")?,
        rules: col(row, "rules")?,
        rules_cooldown_until: col(row, "rules_cooldown_until")?,
        credential_username: col(row, "credential_username")?,
        credential_hash: col(row, "credential_hash")?,
    }
    .into_group()
}

pub fn policy_from_row(row: &Row) -> Result<PolicyRecord, StoreError> {
    stored::policy(col(row, "id")?, col(row, "group_id")?, col(row, "body")?, col(row, "touched_at")?)
}

pub fn webhook_from_row(row: &Row) -> Result<WebhookRecord, StoreError> {
    stored::webhook(col(row, "id")?, col(row, "policy_id")?, col(row, "name")?, col(row, "metadata")?)
}

pub fn member_from_row(row: &Row) -> Result<MemberRecord, StoreError> {
    stored::member(
        col(row, "id")?,
        col(row, "group_id")?,
        col(row, "name")?,
        col(row, "provider")?,
        col(row, "reference")?,
        col(row, "created_at")?,
    )
}

pub fn token_from_row(row: &Row) -> Result<Token, StoreError> {
    stored::token(col(row, "id")?, col(row, "tenant_id")?, col(row, "role")?, col(row, "created_at")?)
}

pub fn event_from_row(row: &Row) -> Result<GroupEvent, StoreError> {
    stored::event(
        col(row, "group_id")?,
        col(row, "at")?,
        col(row, "kind")?,
        col(row, "policy_id")?,
        col(row, "due")?,
        col(row, "message")?,
    )
}

pub fn history_from_row(row: &Row) -> Result<HistoryRecord, StoreError> {
    HistoryColumns {
        id: col(row, "id")?,
        group_id: col(row, "group_id")?,
        at: col(row, "at")?,
        source: col(row, "source")?,
        policy_id: col(row, "policy_id")?,
        webhook_id: col(row, "webhook_id")?,
        from: col(row, "from_desired")?,
        to: col(row, "to_desired")?,
        min: col(row, "min_entities")?,
        max: col(row, "max_entities")?,
        reason: col(row, "reason")?,
    }
    .into_record()
}

/// Whether a statement locks the rows it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// No.
    None,
    /// `FOR UPDATE`: until the transaction ends, no other one may lock or change them.
    ForUpdate,
}

impl Lock {
    fn clause(self) -> &'static str {
        match self {
            Lock::None => "",
            Lock::ForUpdate => " FOR UPDATE",
        }
    }
}

/// A tenant's group that is not being deleted.
pub async fn fetch_group<C: GenericClient>(
    client: &C,
    tenant: &str,
    group: &str,
    lock: Lock,
) -> Result<Group, StoreError> {
    let sql = format!("{GROUP_SELECT} WHERE tenant_id = $1 AND id = $2 AND NOT deleting{}", lock.clause());
    query_one(client, "reading a group", &sql, &[&tenant, &group], group_from_row)
        .await?
        .ok_or(StoreError::GroupNotFound)
}

/// A group by id alone, also while it is being deleted.
pub async fn fetch_group_by_id<C: GenericClient>(
    client: &C,
    group: &str,
    lock: Lock,
) -> Result<Option<Group>, StoreError> {
    let sql = format!("{GROUP_SELECT} WHERE id = $1{}", lock.clause());
    query_one(client, "reading a group", &sql, &[&group], group_from_row).await
}

/// A policy of a group, if it exists.
pub async fn find_policy<C: GenericClient>(
    client: &C,
    group: &str,
    policy: &str,
) -> Result<Option<PolicyRecord>, StoreError> {
    let sql = format!("SELECT {POLICY_COLUMNS} FROM policies WHERE group_id = $1 AND id = $2");
    query_one(client, "reading a policy", &sql, &[&group, &policy], policy_from_row).await
}

/// Checks that a group of the tenant exists (and a policy of it, when given), locking the
/// group's row when asked.
pub async fn require<C: GenericClient>(
    client: &C,
    tenant: &str,
    group: &str,
    policy: Option<&str>,
    lock: Lock,
) -> Result<(), StoreError> {
    let sql = format!("SELECT id FROM groups WHERE tenant_id = $1 AND id = $2 AND NOT deleting{}", lock.clause());
    if query_one(client, "checking a group", &sql, &[&tenant, &group], |_| Ok(())).await?.is_none() {
        return Err(StoreError::GroupNotFound);
    }
    if let Some(policy) = policy {
        let found = count(
            client,
            "checking a policy",
            "SELECT COUNT(*) AS count FROM policies WHERE group_id = $1 AND id = $2",
            &[&group, &policy],
        )
        .await?;
        if found == 0 {
            return Err(StoreError::PolicyNotFound);
        }
    }
    Ok(())
}

/// Sets (or, with `None`, clears) a policy's next fire time.
pub async fn arm_schedule<C: GenericClient>(
    client: &C,
    group: &str,
    policy: &str,
    next: Option<Timestamp>,
) -> Result<(), StoreError> {
    match next {
        Some(at) => {
            execute(
                client,
                "arming a schedule",
                "INSERT INTO schedules (policy_id, group_id, next_fire) VALUES ($1, $2, $3) \
             ON CONFLICT (policy_id) DO UPDATE SET next_fire = excluded.next_fire",
                &[&policy, &group, &millis(at)],
            )
            .await?
        }
        None => {
            execute(client, "disarming a schedule", "DELETE FROM schedules WHERE policy_id = $1", &[&policy]).await?
        }
    };
    Ok(())
}

/// Sets (or, with `None`, clears) a group's next window change.
pub async fn arm_window<C: GenericClient>(client: &C, group: &str, next: Option<Timestamp>) -> Result<(), StoreError> {
    match next {
        Some(at) => {
            execute(
                client,
                "arming a window timer",
                "INSERT INTO window_timers (group_id, next_change) VALUES ($1, $2) \
             ON CONFLICT (group_id) DO UPDATE SET next_change = excluded.next_change",
                &[&group, &millis(at)],
            )
            .await?
        }
        None => {
            execute(client, "disarming a window timer", "DELETE FROM window_timers WHERE group_id = $1", &[&group])
                .await?
        }
    };
    Ok(())
}

pub async fn record_event<C: GenericClient>(client: &C, event: &GroupEvent) -> Result<(), StoreError> {
    execute(
        client,
        "recording an event",
        "INSERT INTO group_events (id, group_id, at, kind, policy_id, due, message) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &new_id(),
            &event.group_id.as_str(),
            &millis(event.at),
            &event.kind.as_str(),
            &event.policy_id.as_ref().map(PolicyId::as_str),
            &event.due.map(millis),
            &event.message,
        ],
    )
    .await?;
    Ok(())
}

pub async fn record_history<C: GenericClient>(client: &C, entry: &HistoryEntry) -> Result<(), StoreError> {
    execute(
        client,
        "recording history",
        "INSERT INTO history (id, group_id, at, source, policy_id, webhook_id, from_desired, to_desired, \
         min_entities, max_entities, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &new_id(),
            &entry.group_id.as_str(),
            &millis(entry.at),
            &entry.source.as_str(),
            &entry.policy_id.as_ref().map(PolicyId::as_str),
            &entry.webhook_id.as_ref().map(WebhookId::as_str),
            &i64::from(entry.from),
            &i64::from(entry.to),
            &i64::from(entry.bounds.min),
            &i64::from(entry.bounds.max),
            &entry.reason,
        ],
    )
    .await?;
    Ok(())
}

/// Inserts policies of a group and arms their schedules; returns them in id order.
pub async fn insert_policies<C: GenericClient>(
    client: &C,
    group: &str,
    policies: Vec<NewPolicy>,
    now: Timestamp,
) -> Result<Vec<PolicyRecord>, StoreError> {
    let mut created = Vec::with_capacity(policies.len());
    let now_text = now.to_string();
    for new in policies {
        let id = new_id();
        execute(
            client,
            "inserting a policy",
            "INSERT INTO policies (id, group_id, body, created_at) VALUES ($1, $2, $3, $4)",
            &[&id, &group, &new.body.to_string(), &now_text],
        )
        .await?;
        arm_schedule(client, group, &id, new.next_fire).await?;
        created.push(PolicyRecord {
            id: id.into(),
            group_id: group.into(),
            body: new.body,
            policy: new.policy,
            touched_at: None,
        });
    }
    created.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(created)
}

/// `marker` and `limit` of a page (no limit when there is no page).
pub fn page_args(page: Option<&Page>) -> (String, Option<i64>) {
    match page {
        Some(page) => (page.marker.clone().unwrap_or_default(), Some(page.limit as i64)),
        None => (String::new(), None),
    }
}

pub fn tenant_from_row(row: &Row) -> Result<Tenant, StoreError> {
    Ok(Tenant { id: id(row, "id")?, created_at: parse_time(col(row, "created_at")?)? })
}

pub fn parse_list(text: Option<String>) -> Result<Option<Vec<String>>, StoreError> {
    text.map(|text| serde_json::from_str(&text).map_err(|err| StoreError::Corrupt(format!("allow-list: {err}"))))
        .transpose()
}

pub fn from_millis_column(row: &Row, name: &str) -> Result<Timestamp, StoreError> {
    from_millis(col(row, name)?)
}
