//! Statements' helpers, and rows turned into records (through `crate::stored`, which parses
//! stored documents the same way for every backend).

use jiff::Timestamp;
use rusqlite::{Connection, Row, params};

use crate::error::StoreError;
use crate::model::*;
pub(crate) use crate::stored::{
    self, GroupColumns, HistoryColumns, config_text, from_millis, parse_json, parse_time, rules_text, slot_column,
    slot_of,
};

/// The start of every query that reads whole groups ([`group_from_row`]).
pub const GROUP_SELECT: &str = "SELECT id, tenant_id, config, launch, desired, paused, status, error_reasons, \
                                touched_at, created_at, deleting, windows, window_active, rules, \
                                rules_cooldown_until, credential_username, credential_hash, paused_direction FROM groups";

/// The columns [`policy_from_row`] reads.
pub const POLICY_COLUMNS: &str = "id, group_id, body, touched_at";

pub fn backend(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |err| StoreError::Backend { context, message: err.to_string() }
}

pub fn col<T: rusqlite::types::FromSql>(row: &Row<'_>, name: &str) -> Result<T, StoreError> {
    row.get(name).map_err(|err| StoreError::Corrupt(format!("column {name}: {err}")))
}

/// An id column read as the identifier type it holds.
pub fn id<T: From<String>>(row: &Row<'_>, name: &str) -> Result<T, StoreError> {
    col::<String>(row, name).map(T::from)
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

pub fn is_foreign_key_violation(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

/// Runs a query and maps every row, keeping the first mapping error.
pub fn query_all<T>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(backend(context))?;
    let mut rows = statement.query(params).map_err(backend(context))?;
    let mut all = Vec::new();
    while let Some(row) = rows.next().map_err(backend(context))? {
        all.push(map(row)?);
    }
    Ok(all)
}

/// Runs a query expected to return at most one row.
pub fn query_one<T>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    Ok(query_all(conn, context, sql, params, map)?.into_iter().next())
}

/// Runs a statement; returns the rows changed.
pub fn execute(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<usize, StoreError> {
    conn.prepare_cached(sql).and_then(|mut statement| statement.execute(params)).map_err(backend(context))
}

/// Runs a statement that must change a row; `missing` when it changed none.
pub fn execute_one(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
    missing: StoreError,
) -> Result<(), StoreError> {
    if execute(conn, context, sql, params)? == 0 {
        return Err(missing);
    }
    Ok(())
}

pub fn count(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<usize, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.query_row(params, |row| row.get::<_, i64>(0)))
        .map(|n| n as usize)
        .map_err(backend(context))
}

pub fn group_from_row(row: &Row<'_>) -> Result<Group, StoreError> {
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

pub fn policy_from_row(row: &Row<'_>) -> Result<PolicyRecord, StoreError> {
    stored::policy(col(row, "id")?, col(row, "group_id")?, &col::<String>(row, "body")?, col(row, "touched_at")?)
}

pub fn webhook_from_row(row: &Row<'_>) -> Result<WebhookRecord, StoreError> {
    stored::webhook(col(row, "id")?, col(row, "policy_id")?, col(row, "name")?, &col::<String>(row, "metadata")?)
}

pub fn member_from_row(row: &Row<'_>) -> Result<MemberRecord, StoreError> {
    stored::member(
        col(row, "id")?,
        col(row, "group_id")?,
        col(row, "name")?,
        col(row, "provider")?,
        &col::<String>(row, "reference")?,
        &col::<String>(row, "created_at")?,
    )
}

pub fn token_from_row(row: &Row<'_>) -> Result<Token, StoreError> {
    stored::token(
        col(row, "id")?,
        col(row, "tenant_id")?,
        &col::<String>(row, "role")?,
        &col::<String>(row, "created_at")?,
    )
}

pub fn event_from_row(row: &Row<'_>) -> Result<GroupEvent, StoreError> {
    stored::event(
        col(row, "group_id")?,
        col(row, "at")?,
        &col::<String>(row, "kind")?,
        col(row, "policy_id")?,
        col(row, "due")?,
        col(row, "message")?,
    )
}

pub fn history_from_row(row: &Row<'_>) -> Result<HistoryRecord, StoreError> {
    HistoryColumns {
        // An entry's id is its sequence number: ids grow in the order entries are recorded.
        id: col::<i64>(row, "seq")?.to_string(),
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

/// A tenant's group that is not being deleted.
pub fn fetch_group(conn: &Connection, tenant: &str, group: &str) -> Result<Group, StoreError> {
    query_one(
        conn,
        "reading a group",
        &format!("{GROUP_SELECT} WHERE tenant_id = ?1 AND id = ?2 AND deleting = 0"),
        params![tenant, group],
        group_from_row,
    )?
    .ok_or(StoreError::GroupNotFound)
}

/// A group by id alone, also while it is being deleted.
pub fn fetch_group_by_id(conn: &Connection, group: &str) -> Result<Option<Group>, StoreError> {
    query_one(conn, "reading a group", &format!("{GROUP_SELECT} WHERE id = ?1"), [group], group_from_row)
}

/// A policy of a group, if it exists.
pub fn find_policy(conn: &Connection, group: &str, policy: &str) -> Result<Option<PolicyRecord>, StoreError> {
    query_one(
        conn,
        "reading a policy",
        &format!("SELECT {POLICY_COLUMNS} FROM policies WHERE group_id = ?1 AND id = ?2"),
        params![group, policy],
        policy_from_row,
    )
}

/// Checks that a group of the tenant exists (and a policy of it, when given).
pub fn require(conn: &Connection, tenant: &str, group: &str, policy: Option<&str>) -> Result<(), StoreError> {
    let groups = count(
        conn,
        "checking a group",
        "SELECT COUNT(*) FROM groups WHERE tenant_id = ?1 AND id = ?2 AND deleting = 0",
        params![tenant, group],
    )?;
    if groups == 0 {
        return Err(StoreError::GroupNotFound);
    }
    if let Some(policy) = policy {
        let policies = count(
            conn,
            "checking a policy",
            "SELECT COUNT(*) FROM policies WHERE group_id = ?1 AND id = ?2",
            params![group, policy],
        )?;
        if policies == 0 {
            return Err(StoreError::PolicyNotFound);
        }
    }
    Ok(())
}

/// Sets (or, with `None`, clears) a policy's next fire time.
pub fn arm_schedule(conn: &Connection, group: &str, policy: &str, next: Option<Timestamp>) -> Result<(), StoreError> {
    match next {
        Some(at) => execute(
            conn,
            "arming a schedule",
            "INSERT INTO schedules (policy_id, group_id, next_fire) VALUES (?1, ?2, ?3) \
             ON CONFLICT (policy_id) DO UPDATE SET next_fire = excluded.next_fire",
            params![policy, group, millis(at)],
        )?,
        None => execute(conn, "disarming a schedule", "DELETE FROM schedules WHERE policy_id = ?1", [policy])?,
    };
    Ok(())
}

/// Sets (or, with `None`, clears) a group's next window change.
pub fn arm_window(conn: &Connection, group: &str, next: Option<Timestamp>) -> Result<(), StoreError> {
    match next {
        Some(at) => execute(
            conn,
            "arming a window timer",
            "INSERT INTO window_timers (group_id, next_change) VALUES (?1, ?2) \
             ON CONFLICT (group_id) DO UPDATE SET next_change = excluded.next_change",
            params![group, millis(at)],
        )?,
        None => execute(conn, "disarming a window timer", "DELETE FROM window_timers WHERE group_id = ?1", [group])?,
    };
    Ok(())
}

pub fn record_event(conn: &Connection, event: &GroupEvent) -> Result<(), StoreError> {
    execute(
        conn,
        "recording an event",
        "INSERT INTO group_events (id, group_id, at, kind, policy_id, due, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            new_id(),
            event.group_id.as_str(),
            millis(event.at),
            event.kind.as_str(),
            event.policy_id.as_ref().map(PolicyId::as_str),
            event.due.map(millis),
            event.message
        ],
    )?;
    Ok(())
}

pub fn record_history(conn: &Connection, entry: &HistoryEntry) -> Result<(), StoreError> {
    execute(
        conn,
        "recording history",
        "INSERT INTO history (group_key, group_id, at, source, policy_id, webhook_id, from_desired, to_desired, \
         min_entities, max_entities, reason) \
         VALUES ((SELECT history_key FROM groups WHERE id = ?1), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            entry.group_id.as_str(),
            millis(entry.at),
            entry.source.as_str(),
            entry.policy_id.as_ref().map(PolicyId::as_str),
            entry.webhook_id.as_ref().map(WebhookId::as_str),
            entry.from,
            entry.to,
            entry.bounds.min,
            entry.bounds.max,
            entry.reason
        ],
    )?;
    Ok(())
}

/// Inserts policies of a group and arms their schedules; returns them in id order.
pub fn insert_policies(
    conn: &Connection,
    group: &str,
    policies: Vec<NewPolicy>,
    now: Timestamp,
) -> Result<Vec<PolicyRecord>, StoreError> {
    let mut created = Vec::with_capacity(policies.len());
    let now_text = now.to_string();
    for new in policies {
        let id = new_id();
        execute(
            conn,
            "inserting a policy",
            "INSERT INTO policies (id, group_id, body, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, group, new.body.to_string(), now_text],
        )?;
        arm_schedule(conn, group, &id, new.next_fire)?;
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

pub fn page_args(page: Option<&Page>) -> (String, i64) {
    match page {
        Some(page) => (page.marker.clone().unwrap_or_default(), page.limit as i64),
        None => (String::new(), -1),
    }
}
