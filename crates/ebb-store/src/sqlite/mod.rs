//! The SQLite store.
//!
//! Every write goes through one writer thread that owns the only writing connection: it
//! takes the writes waiting in its queue, runs each in a savepoint of one `BEGIN IMMEDIATE`
//! transaction and commits them together with one fsync (WAL, `synchronous = FULL`), then
//! answers each caller. This is group commit: writes are serialized (so read-modify-write
//! operations such as policy executions never interleave), every acknowledged write is on
//! disk, and throughput is not bounded by one fsync per write (decision 0003).
//!
//! Reads run on a fixed set of reader threads, each with its own read-only connection
//! (`readers`): nothing is opened per request, and a read that waits too long for a reader
//! fails with [`StoreError::Busy`] instead of piling up. rusqlite is used directly,
//! synchronously, on those threads: a statement costs a few microseconds, where an async
//! driver's hop to a worker thread per statement cost more than the statement itself.

mod readers;

pub use readers::ReadPool;
use readers::Readers;

use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use ebb_core::capacity::{self, Bounds, ExecutionInput};
use ebb_core::grant::LocalProcessGrant;
use ebb_core::group::GroupConfig;
use ebb_core::limits::Limits;
use ebb_core::policy::{Origin, Policy};
use ebb_core::windows::Windows;
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, Row, params};
use rusqlite_migration::{M, Migrations};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use crate::error::StoreError;
use crate::metrics::StoreMetrics;
use crate::model::*;

/// The start of every query that reads whole groups (`group_from_row`).
const GROUP_SELECT: &str = "SELECT id, tenant_id, config, launch, desired, paused, status, error_reasons, touched_at, \
                            created_at, deleting, windows, window_active FROM groups";

/// The most writes committed together.
const MAX_BATCH: usize = 512;

const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/sqlite/0001_initial.sql")),
    M::up(include_str!("../../migrations/sqlite/0002_members.sql")),
    M::up(include_str!("../../migrations/sqlite/0003_schedules.sql")),
    M::up(include_str!("../../migrations/sqlite/0004_windows.sql")),
    M::up(include_str!("../../migrations/sqlite/0005_local_process.sql")),
];

type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Finish) + Send>;

/// Ebb's store on an SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    readers: Readers,
    writer: std_mpsc::Sender<Job>,
    metrics: StoreMetrics,
}

fn backend(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |err| StoreError::Backend { context, message: err.to_string() }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(backend("opening the database"))?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(backend("setting the busy timeout"))?;
    conn.pragma_update(None, "foreign_keys", true).map_err(backend("enabling foreign keys"))?;
    conn.set_prepared_statement_cache_capacity(64);
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL").map_err(backend("enabling WAL"))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(backend("setting synchronous"))?;
    }
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `sqlite://PATH` and runs pending migrations.
    pub async fn open(url: &str, metrics: StoreMetrics) -> Result<Self, StoreError> {
        SqliteStore::open_with(url, metrics, ReadPool::default()).await
    }

    /// [`SqliteStore::open`] with a read pool of its own size and wait.
    pub async fn open_with(url: &str, metrics: StoreMetrics, pool: ReadPool) -> Result<Self, StoreError> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| StoreError::UnsupportedUrl(url.to_string()))?;
        let writer_path = path.clone();
        let (writer_conn, readers) = tokio::task::spawn_blocking(move || {
            let mut conn = open_connection(&writer_path, false)?;
            Migrations::from_slice(MIGRATIONS)
                .to_latest(&mut conn)
                .map_err(|err| StoreError::Backend { context: "running migrations", message: err.to_string() })?;
            let readers = Readers::start(&writer_path, pool, |path| open_connection(path, true))?;
            Ok::<_, StoreError>((conn, readers))
        })
        .await
        .map_err(|err| StoreError::Backend { context: "opening the database", message: err.to_string() })??;
        let (writer, queue) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("ebb-store-writer".into())
            .spawn(move || run_writer(writer_conn, queue))
            .map_err(|err| StoreError::Backend { context: "starting the writer", message: err.to_string() })?;
        Ok(SqliteStore { path, readers, writer, metrics })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` inside the writer's transaction and returns once it is committed.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = work(conn);
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |committed| {
                // The caller may have gone away (a dropped request); nothing to tell then.
                let _ = reply.send(committed.and(result));
            });
            (ok, finish)
        });
        self.writer.send(job).map_err(|_| StoreError::Closed)?;
        // The writer drops a job unrun only when its transaction could not begin; it logs why.
        answer.await.map_err(|_| StoreError::Backend {
            context: "writing",
            message: "the write was not run because its transaction could not begin".to_string(),
        })?
    }

    /// Runs `work` on a read-only connection, off the async threads.
    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.readers.read(work).await
    }
}

/// The writer thread: batches queued jobs into transactions until every sender is gone.
fn run_writer(conn: Connection, queue: std_mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(error = %err, "store writer could not begin a transaction");
            // Dropping the jobs unrun answers each caller with an error.
            continue;
        }
        let mut finishes = Vec::with_capacity(batch.len());
        for job in batch {
            if let Err(err) = conn.execute_batch("SAVEPOINT job") {
                tracing::error!(error = %err, "store writer could not open a savepoint");
                continue;
            }
            let (ok, finish) = job(&conn);
            let closing = if ok { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
            if let Err(err) = conn.execute_batch(closing) {
                tracing::error!(error = %err, "store writer could not close a savepoint");
            }
            finishes.push(finish);
        }
        let committed = conn.execute_batch("COMMIT").map_err(backend("committing"));
        if let Err(err) = &committed {
            tracing::error!(error = %err, "store commit failed");
            let _ = conn.execute_batch("ROLLBACK");
        }
        for finish in finishes {
            finish(committed.clone());
        }
    }
}

fn parse_time(text: &str) -> Result<Timestamp, StoreError> {
    text.parse().map_err(|err| StoreError::Corrupt(format!("timestamp {text:?}: {err}")))
}

fn parse_optional_time(text: Option<String>) -> Result<Option<Timestamp>, StoreError> {
    text.as_deref().map(parse_time).transpose()
}

fn parse_json(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|err| StoreError::Corrupt(format!("json document: {err}")))
}

fn col<T: rusqlite::types::FromSql>(row: &Row<'_>, name: &str) -> Result<T, StoreError> {
    row.get(name).map_err(|err| StoreError::Corrupt(format!("column {name}: {err}")))
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn is_foreign_key_violation(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

fn group_from_row(row: &Row<'_>) -> Result<GroupRecord, StoreError> {
    let config: GroupConfig = serde_json::from_str(&col::<String>(row, "config")?)
        .map_err(|err| StoreError::Corrupt(format!("group config: {err}")))?;
    let errors: Vec<String> = serde_json::from_str(&col::<String>(row, "error_reasons")?)
        .map_err(|err| StoreError::Corrupt(format!("error reasons: {err}")))?;
    let status = match col::<String>(row, "status")?.as_str() {
        "ERROR" => GroupStatus::Error,
        _ => GroupStatus::Active,
    };
    Ok(GroupRecord {
        id: col(row, "id")?,
        tenant_id: col(row, "tenant_id")?,
        config,
        launch: parse_json(&col::<String>(row, "launch")?)?,
        state: GroupState {
            desired: col::<i64>(row, "desired")? as u32,
            paused: col::<bool>(row, "paused")?,
            status,
            errors,
            touched_at: parse_optional_time(col(row, "touched_at")?)?,
            deleting: col::<bool>(row, "deleting")?,
            window: col(row, "window_active")?,
        },
        windows: col::<Option<String>>(row, "windows")?.as_deref().map(parse_json).transpose()?,
        created_at: parse_time(&col::<String>(row, "created_at")?)?,
    })
}

fn policy_from_row(row: &Row<'_>) -> Result<PolicyRecord, StoreError> {
    Ok(PolicyRecord {
        id: col(row, "id")?,
        group_id: col(row, "group_id")?,
        body: parse_json(&col::<String>(row, "body")?)?,
        touched_at: parse_optional_time(col(row, "touched_at")?)?,
    })
}

fn webhook_from_row(row: &Row<'_>) -> Result<WebhookRecord, StoreError> {
    let metadata = match parse_json(&col::<String>(row, "metadata")?)? {
        Value::Object(map) => map,
        _ => return Err(StoreError::Corrupt("webhook metadata is not an object".into())),
    };
    Ok(WebhookRecord { id: col(row, "id")?, policy_id: col(row, "policy_id")?, name: col(row, "name")?, metadata })
}

fn member_from_row(row: &Row<'_>) -> Result<MemberRecord, StoreError> {
    Ok(MemberRecord {
        id: col(row, "id")?,
        group_id: col(row, "group_id")?,
        name: col(row, "name")?,
        port: col(row, "port")?,
        pid: col(row, "pid")?,
        created_at: parse_time(&col::<String>(row, "created_at")?)?,
    })
}

fn token_from_row(row: &Row<'_>) -> Result<Token, StoreError> {
    let role_text: String = col(row, "role")?;
    Ok(Token {
        id: col(row, "id")?,
        tenant_id: col(row, "tenant_id")?,
        role: Role::parse(&role_text).ok_or_else(|| StoreError::Corrupt(format!("role {role_text:?}")))?,
        created_at: parse_time(&col::<String>(row, "created_at")?)?,
    })
}

/// Runs a query and maps every row, keeping the first mapping error.
fn query_all<T>(
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
fn query_one<T>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    Ok(query_all(conn, context, sql, params, map)?.into_iter().next())
}

/// Runs a statement; returns the rows changed.
fn execute(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<usize, StoreError> {
    conn.prepare_cached(sql).and_then(|mut statement| statement.execute(params)).map_err(backend(context))
}

/// Runs a statement that must change a row; `missing` when it changed none.
fn execute_one(
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

fn count(
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

fn fetch_group(conn: &Connection, tenant: &str, group: &str) -> Result<GroupRecord, StoreError> {
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
fn fetch_group_by_id(conn: &Connection, group: &str) -> Result<Option<GroupRecord>, StoreError> {
    query_one(conn, "reading a group", &format!("{GROUP_SELECT} WHERE id = ?1"), [group], group_from_row)
}

fn fetch_policy(conn: &Connection, group: &str, policy: &str) -> Result<PolicyRecord, StoreError> {
    query_one(
        conn,
        "reading a policy",
        "SELECT id, group_id, body, touched_at FROM policies WHERE group_id = ?1 AND id = ?2",
        params![group, policy],
        policy_from_row,
    )?
    .ok_or(StoreError::PolicyNotFound)
}

/// Checks that a group of the tenant exists (and a policy of it, when given).
fn require(conn: &Connection, tenant: &str, group: &str, policy: Option<&str>) -> Result<(), StoreError> {
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

fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

fn from_millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|err| StoreError::Corrupt(format!("time {ms}: {err}")))
}

/// Sets (or clears) the next fire time of a policy from its body: a schedule policy fires
/// next at its first time after `now`; any other policy, or a schedule that is over, has none.
fn arm_schedule(conn: &Connection, group: &str, policy: &str, body: &Value, now: Timestamp) -> Result<(), StoreError> {
    let next = Policy::parse(body, "", Origin::Stored).ok().and_then(|p| p.schedule).and_then(|s| s.next_after(now));
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

fn record_event(conn: &Connection, event: &GroupEvent) -> Result<(), StoreError> {
    execute(
        conn,
        "recording an event",
        "INSERT INTO group_events (id, group_id, at, kind, policy_id, due, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            new_id(),
            event.group_id,
            millis(event.at),
            event.kind.as_str(),
            event.policy_id,
            event.due.map(millis),
            event.message
        ],
    )?;
    Ok(())
}

fn insert_policies(
    conn: &Connection,
    group: &str,
    bodies: Vec<Value>,
    now: Timestamp,
) -> Result<Vec<PolicyRecord>, StoreError> {
    let mut created = Vec::with_capacity(bodies.len());
    let now_text = now.to_string();
    for body in bodies {
        let id = new_id();
        execute(
            conn,
            "inserting a policy",
            "INSERT INTO policies (id, group_id, body, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, group, body.to_string(), now_text],
        )?;
        arm_schedule(conn, group, &id, &body, now)?;
        created.push(PolicyRecord { id, group_id: group.to_string(), body, touched_at: None });
    }
    created.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(created)
}

fn page_args(page: Option<&Page>) -> (String, i64) {
    match page {
        Some(page) => (page.marker.clone().unwrap_or_default(), page.limit as i64),
        None => (String::new(), -1),
    }
}

fn config_text(config: &GroupConfig) -> Result<String, StoreError> {
    serde_json::to_string(config).map_err(|err| StoreError::Corrupt(format!("group config: {err}")))
}

/// What a capability executes, by the hash of its secret.
fn capability_target(conn: &Connection, capability_hash: &str) -> Result<Option<CapabilityTarget>, StoreError> {
    query_one(
        conn,
        "reading a capability",
        "SELECT g.tenant_id AS tenant_id, g.id AS group_id, p.id AS policy_id \
         FROM webhooks w JOIN policies p ON p.id = w.policy_id JOIN groups g ON g.id = p.group_id \
         WHERE w.capability_hash = ?1 AND g.deleting = 0",
        [capability_hash],
        |row| {
            Ok(CapabilityTarget {
                tenant_id: col(row, "tenant_id")?,
                group_id: col(row, "group_id")?,
                policy_id: col(row, "policy_id")?,
            })
        },
    )
}

/// The bounds desired capacity is kept within at `now`: those of the window in force, else
/// the group's own.
fn effective_bounds(record: &GroupRecord, now: Timestamp) -> Bounds {
    let window = record
        .windows
        .as_ref()
        .and_then(|doc| Windows::parse(doc, None).ok())
        .and_then(|windows| windows.active_at(now));
    match window {
        Some(active) => active.clamp_bounds(),
        None => Bounds { min: record.config.min_entities, max: record.config.max_entities },
    }
}

/// Applies the window in force at `now` if it is not the one applied last: a window that
/// starts raises capacity to its initial minimum (and into its bounds); when a window ends,
/// capacity is clamped into the group's own bounds (or the next window's). Records the change
/// as an event; returns whether anything changed.
fn apply_windows(conn: &Connection, record: &GroupRecord, now: Timestamp) -> Result<bool, StoreError> {
    let windows = record.windows.as_ref().and_then(|doc| Windows::parse(doc, None).ok());
    let active = windows.as_ref().and_then(|w| w.active_at(now));
    let active_id = active.as_ref().map(|a| a.id.clone());
    if active_id == record.state.window {
        return Ok(false);
    }
    let mut desired = record.state.desired;
    if let Some(ended) = &record.state.window {
        desired =
            Bounds { min: record.config.min_entities, max: record.config.max_entities }.clamp(i128::from(desired));
        record_event(
            conn,
            &GroupEvent {
                group_id: record.id.clone(),
                at: now,
                kind: EventKind::WindowEnd,
                policy_id: None,
                due: None,
                message: format!("window {ended} ends; desired capacity {} to {desired}", record.state.desired),
            },
        )?;
    }
    if let Some(started) = &active {
        let before = desired;
        desired = started.starting_capacity(desired);
        let bounds = started.bounds;
        record_event(
            conn,
            &GroupEvent {
                group_id: record.id.clone(),
                at: now,
                kind: EventKind::WindowStart,
                policy_id: None,
                due: None,
                message: format!(
                    "window {} starts with instance min {}, instance max {} and instance min initial {}; desired capacity {before} to {desired}",
                    started.id,
                    bounds.min,
                    bounds.max,
                    bounds.initial_min.unwrap_or(0)
                ),
            },
        )?;
    }
    execute(
        conn,
        "applying a window",
        "UPDATE groups SET desired = ?1, window_active = ?2 WHERE id = ?3",
        params![desired, active_id, record.id],
    )?;
    Ok(true)
}

/// Sets when the group's windows next start or end after `now`.
fn arm_windows(conn: &Connection, record: &GroupRecord, now: Timestamp) -> Result<(), StoreError> {
    let next = record
        .windows
        .as_ref()
        .and_then(|doc| Windows::parse(doc, None).ok())
        .and_then(|windows| windows.next_change_after(now));
    match next {
        Some(at) => execute(
            conn,
            "arming a window timer",
            "INSERT INTO window_timers (group_id, next_change) VALUES (?1, ?2) \
             ON CONFLICT (group_id) DO UPDATE SET next_change = excluded.next_change",
            params![record.id, millis(at)],
        )?,
        None => {
            execute(conn, "disarming a window timer", "DELETE FROM window_timers WHERE group_id = ?1", [&record.id])?
        }
    };
    Ok(())
}

/// Executes a policy inside the writer's transaction: the decision is `ebb_core::capacity::execute`.
fn execute_in(
    conn: &Connection,
    tenant: &str,
    group: &str,
    policy: &str,
    now: Timestamp,
) -> Result<Execution, StoreError> {
    let record = fetch_group(conn, tenant, group)?;
    if record.state.paused {
        return Ok(Execution::Paused);
    }
    let policy_record = fetch_policy(conn, group, policy)?;
    let parsed = Policy::parse(&policy_record.body, "", Origin::Stored)
        .map_err(|err| StoreError::Corrupt(format!("policy {policy}: {err}")))?;
    let input = ExecutionInput {
        desired: record.state.desired,
        bounds: effective_bounds(&record, now),
        group_cooldown: record.config.cooldown,
        group_touched: record.state.touched_at,
        policy_cooldown: parsed.cooldown,
        policy_touched: policy_record.touched_at,
        adjustment: parsed.adjustment,
        now,
    };
    let to = match capacity::execute(&input) {
        Ok(to) => to,
        Err(refusal) => return Ok(Execution::Refused(refusal)),
    };
    let now_text = now.to_string();
    execute(
        conn,
        "updating desired capacity",
        "UPDATE groups SET desired = ?1, touched_at = ?2 WHERE id = ?3",
        params![to, now_text, group],
    )?;
    execute(
        conn,
        "updating a policy cooldown",
        "UPDATE policies SET touched_at = ?1 WHERE id = ?2",
        params![now_text, policy],
    )?;
    Ok(Execution::Scaled { from: record.state.desired, to })
}

#[async_trait::async_trait]
impl crate::Store for SqliteStore {
    async fn create_tenant(&self, id: &str, now: Timestamp) -> Result<Tenant, StoreError> {
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
            Ok(Tenant { id, created_at: now })
        })
        .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let _timer = self.metrics.time("list_tenants");
        self.read(|conn| {
            query_all(conn, "listing tenants", "SELECT id, created_at FROM tenants ORDER BY id", [], |row| {
                Ok(Tenant { id: col(row, "id")?, created_at: parse_time(&col::<String>(row, "created_at")?)? })
            })
        })
        .await
    }

    async fn tenant_exists(&self, id: &str) -> Result<bool, StoreError> {
        let _timer = self.metrics.time("tenant_exists");
        let id = id.to_string();
        self.read(move |conn| {
            Ok(count(conn, "reading a tenant", "SELECT COUNT(*) FROM tenants WHERE id = ?1", [&id])? > 0)
        })
        .await
    }

    async fn set_local_process(&self, tenant: &str, grant: LocalProcessGrant) -> Result<(), StoreError> {
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

    async fn local_process(&self, tenant: &str) -> Result<LocalProcessGrant, StoreError> {
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
        tenant: &str,
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
            Ok(Token { id, tenant_id: tenant, role, created_at: now })
        })
        .await
    }

    async fn delete_token(&self, tenant: &str, token: &str) -> Result<(), StoreError> {
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

    async fn create_group(
        &self,
        group: NewGroup,
        limits: Limits,
        now: Timestamp,
    ) -> Result<(GroupRecord, Vec<PolicyRecord>), StoreError> {
        let _timer = self.metrics.time("create_group");
        self.write(move |conn| {
            let existing = count(conn, "counting groups", "SELECT COUNT(*) FROM groups WHERE tenant_id = ?1 AND deleting = 0", [&group.tenant_id])?;
            if existing >= limits.max_groups {
                return Err(StoreError::GroupLimit { limit: limits.max_groups });
            }
            let id = new_id();
            let now_text = now.to_string();
            let desired = group.config.min_entities;
            let config = config_text(&group.config)?;
            conn.prepare_cached(
                "INSERT INTO groups (id, tenant_id, config, launch, desired, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    id,
                    group.tenant_id,
                    config,
                    group.launch.to_string(),
                    desired,
                    now_text
                ])
            })
            .map_err(|err| {
                if is_foreign_key_violation(&err) { StoreError::TenantNotFound } else { backend("inserting a group")(err) }
            })?;
            let policies = insert_policies(conn, &id, group.policies, now)?;
            let record = GroupRecord {
                id,
                tenant_id: group.tenant_id,
                config: group.config,
                launch: group.launch,
                state: GroupState {
                    desired,
                    paused: false,
                    status: GroupStatus::Active,
                    errors: Vec::new(),
                    touched_at: None,
                    deleting: false,
                    window: None,
                },
                windows: None,
                created_at: now,
            };
            Ok((record, policies))
        })
        .await
    }

    async fn list_groups(&self, tenant: &str, page: &Page) -> Result<Vec<GroupRecord>, StoreError> {
        let _timer = self.metrics.time("list_groups");
        let tenant = tenant.to_string();
        let (marker, limit) = page_args(Some(page));
        self.read(move |conn| {
            query_all(
                conn,
                "listing groups",
                &format!("{GROUP_SELECT} WHERE tenant_id = ?1 AND id > ?2 AND deleting = 0 ORDER BY id LIMIT ?3"),
                params![tenant, marker, limit],
                group_from_row,
            )
        })
        .await
    }

    async fn get_group(&self, tenant: &str, group: &str) -> Result<GroupRecord, StoreError> {
        let _timer = self.metrics.time("get_group");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.read(move |conn| fetch_group(conn, &tenant, &group)).await
    }

    async fn replace_config(
        &self,
        tenant: &str,
        group: &str,
        config: GroupConfig,
        now: Timestamp,
    ) -> Result<GroupRecord, StoreError> {
        let _timer = self.metrics.time("replace_config");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            let mut record = fetch_group(conn, &tenant, &group)?;
            record.config = config.clone();
            let desired = effective_bounds(&record, now).clamp(i128::from(record.state.desired));
            execute(
                conn,
                "updating a group config",
                "UPDATE groups SET config = ?1, desired = ?2 WHERE id = ?3",
                params![config_text(&config)?, desired, group],
            )?;
            record.config = config;
            record.state.desired = desired;
            Ok(record)
        })
        .await
    }

    async fn replace_launch(&self, tenant: &str, group: &str, launch: Value) -> Result<(), StoreError> {
        let _timer = self.metrics.time("replace_launch");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            execute_one(
                conn,
                "updating a launch config",
                "UPDATE groups SET launch = ?1 WHERE tenant_id = ?2 AND id = ?3 AND deleting = 0",
                params![launch.to_string(), tenant, group],
                StoreError::GroupNotFound,
            )
        })
        .await
    }

    async fn set_paused(&self, tenant: &str, group: &str, paused: bool) -> Result<(), StoreError> {
        let _timer = self.metrics.time("set_paused");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            execute_one(
                conn,
                "pausing a group",
                "UPDATE groups SET paused = ?1 WHERE tenant_id = ?2 AND id = ?3 AND deleting = 0",
                params![paused, tenant, group],
                StoreError::GroupNotFound,
            )
        })
        .await
    }

    async fn delete_group(&self, tenant: &str, group: &str, force: bool) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_group");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            let record = fetch_group(conn, &tenant, &group)?;
            if !force && record.state.desired != 0 {
                return Err(StoreError::GroupNotEmpty);
            }
            execute(conn, "deleting a group", "UPDATE groups SET deleting = 1 WHERE id = ?1", [&group])?;
            Ok(())
        })
        .await
    }

    async fn execute_policy(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        now: Timestamp,
    ) -> Result<Execution, StoreError> {
        let _timer = self.metrics.time("execute_policy");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        self.write(move |conn| execute_in(conn, &tenant, &group, &policy, now)).await
    }

    async fn create_policies(
        &self,
        tenant: &str,
        group: &str,
        bodies: Vec<Value>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let _timer = self.metrics.time("create_policies");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, None)?;
            let current =
                count(conn, "counting policies", "SELECT COUNT(*) FROM policies WHERE group_id = ?1", [&group])?;
            if current + bodies.len() > limits.max_policies_per_group {
                return Err(StoreError::PolicyLimit {
                    current,
                    adding: bodies.len(),
                    limit: limits.max_policies_per_group,
                });
            }
            insert_policies(conn, &group, bodies, now)
        })
        .await
    }

    async fn list_policies(
        &self,
        tenant: &str,
        group: &str,
        page: Option<&Page>,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let _timer = self.metrics.time("list_policies");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        let (marker, limit) = page_args(page);
        self.read(move |conn| {
            require(conn, &tenant, &group, None)?;
            query_all(
                conn,
                "listing policies",
                "SELECT id, group_id, body, touched_at FROM policies WHERE group_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                params![group, marker, limit],
                policy_from_row,
            )
        })
        .await
    }

    async fn get_policy(&self, tenant: &str, group: &str, policy: &str) -> Result<PolicyRecord, StoreError> {
        let _timer = self.metrics.time("get_policy");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        self.read(move |conn| {
            require(conn, &tenant, &group, None)?;
            fetch_policy(conn, &group, &policy)
        })
        .await
    }

    async fn replace_policy(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        body: Value,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("replace_policy");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            execute(
                conn,
                "updating a policy",
                "UPDATE policies SET body = ?1 WHERE id = ?2",
                params![body.to_string(), policy],
            )?;
            arm_schedule(conn, &group, &policy, &body, now)?;
            Ok(())
        })
        .await
    }

    async fn delete_policy(&self, tenant: &str, group: &str, policy: &str) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_policy");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            execute(conn, "deleting a policy", "DELETE FROM policies WHERE id = ?1", [&policy])?;
            Ok(())
        })
        .await
    }

    async fn create_webhooks(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        webhooks: Vec<NewWebhook>,
        limits: Limits,
        now: Timestamp,
    ) -> Result<Vec<WebhookRecord>, StoreError> {
        let _timer = self.metrics.time("create_webhooks");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            let current = count(conn, "counting webhooks", "SELECT COUNT(*) FROM webhooks WHERE policy_id = ?1", [&policy])?;
            if current + webhooks.len() > limits.max_webhooks_per_policy {
                return Err(StoreError::WebhookLimit { current, adding: webhooks.len(), limit: limits.max_webhooks_per_policy });
            }
            let now_text = now.to_string();
            let mut created = Vec::with_capacity(webhooks.len());
            for webhook in webhooks {
                let id = new_id();
                execute(
                    conn,
                    "inserting a webhook",
                    "INSERT INTO webhooks (id, policy_id, name, metadata, capability_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![id, policy, webhook.name, Value::Object(webhook.metadata.clone()).to_string(), webhook.capability_hash, now_text],
                )?;
                created.push(WebhookRecord { id, policy_id: policy.clone(), name: webhook.name, metadata: webhook.metadata });
            }
            Ok(created)
        })
        .await
    }

    async fn list_webhooks(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        page: Option<&Page>,
    ) -> Result<Vec<WebhookRecord>, StoreError> {
        let _timer = self.metrics.time("list_webhooks");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        let (marker, limit) = page_args(page);
        self.read(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            query_all(
                conn,
                "listing webhooks",
                "SELECT id, policy_id, name, metadata FROM webhooks WHERE policy_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                params![policy, marker, limit],
                webhook_from_row,
            )
        })
        .await
    }

    async fn get_webhook(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        webhook: &str,
    ) -> Result<WebhookRecord, StoreError> {
        let _timer = self.metrics.time("get_webhook");
        let (tenant, group, policy, webhook) =
            (tenant.to_string(), group.to_string(), policy.to_string(), webhook.to_string());
        self.read(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            query_one(
                conn,
                "reading a webhook",
                "SELECT id, policy_id, name, metadata FROM webhooks WHERE policy_id = ?1 AND id = ?2",
                params![policy, webhook],
                webhook_from_row,
            )?
            .ok_or(StoreError::WebhookNotFound)
        })
        .await
    }

    async fn replace_webhook(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        webhook: &str,
        name: String,
        metadata: Map<String, Value>,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("replace_webhook");
        let (tenant, group, policy, webhook) =
            (tenant.to_string(), group.to_string(), policy.to_string(), webhook.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            execute_one(
                conn,
                "updating a webhook",
                "UPDATE webhooks SET name = ?1, metadata = ?2 WHERE policy_id = ?3 AND id = ?4",
                params![name, Value::Object(metadata).to_string(), policy, webhook],
                StoreError::WebhookNotFound,
            )
        })
        .await
    }

    async fn delete_webhook(&self, tenant: &str, group: &str, policy: &str, webhook: &str) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_webhook");
        let (tenant, group, policy, webhook) =
            (tenant.to_string(), group.to_string(), policy.to_string(), webhook.to_string());
        self.write(move |conn| {
            require(conn, &tenant, &group, Some(&policy))?;
            execute_one(
                conn,
                "deleting a webhook",
                "DELETE FROM webhooks WHERE policy_id = ?1 AND id = ?2",
                params![policy, webhook],
                StoreError::WebhookNotFound,
            )
        })
        .await
    }

    async fn find_capability(&self, capability_hash: &str) -> Result<Option<CapabilityTarget>, StoreError> {
        let _timer = self.metrics.time("find_capability");
        let capability_hash = capability_hash.to_string();
        self.read(move |conn| capability_target(conn, &capability_hash)).await
    }

    async fn execute_capability(
        &self,
        capability_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(CapabilityTarget, Execution)>, StoreError> {
        let _timer = self.metrics.time("execute_capability");
        let capability_hash = capability_hash.to_string();
        self.write(move |conn| {
            let Some(target) = capability_target(conn, &capability_hash)? else { return Ok(None) };
            let execution = execute_in(conn, &target.tenant_id, &target.group_id, &target.policy_id, now)?;
            Ok(Some((target, execution)))
        })
        .await
    }

    async fn group_ids(&self) -> Result<Vec<String>, StoreError> {
        let _timer = self.metrics.time("group_ids");
        self.read(|conn| {
            query_all(conn, "listing group ids", "SELECT id FROM groups ORDER BY id", [], |row| col(row, "id"))
        })
        .await
    }

    async fn group_by_id(&self, group: &str) -> Result<Option<GroupRecord>, StoreError> {
        let _timer = self.metrics.time("group_by_id");
        let group = group.to_string();
        self.read(move |conn| fetch_group_by_id(conn, &group)).await
    }

    async fn set_group_status(&self, group: &str, status: GroupStatus, errors: Vec<String>) -> Result<(), StoreError> {
        let _timer = self.metrics.time("set_group_status");
        let group = group.to_string();
        self.write(move |conn| {
            let errors = serde_json::to_string(&errors).map_err(|err| StoreError::Corrupt(format!("error reasons: {err}")))?;
            execute(
                conn,
                "updating a group status",
                "UPDATE groups SET status = ?1, error_reasons = ?2 WHERE id = ?3 AND (status <> ?1 OR error_reasons <> ?2)",
                params![status.as_str(), errors, group],
            )?;
            Ok(())
        })
        .await
    }

    async fn purge_group(&self, group: &str) -> Result<(), StoreError> {
        let _timer = self.metrics.time("purge_group");
        let group = group.to_string();
        self.write(move |conn| {
            execute(conn, "purging a group", "DELETE FROM groups WHERE id = ?1 AND deleting = 1", [&group])?;
            Ok(())
        })
        .await
    }

    async fn insert_member(&self, member: MemberRecord) -> Result<(), StoreError> {
        let _timer = self.metrics.time("insert_member");
        self.write(move |conn| {
            execute(
                conn,
                "inserting a member",
                "INSERT INTO members (id, group_id, name, port, pid, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    member.id,
                    member.group_id,
                    member.name,
                    member.port,
                    member.pid,
                    member.created_at.to_string()
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn set_member_pid(&self, member: &str, pid: u32) -> Result<(), StoreError> {
        let _timer = self.metrics.time("set_member_pid");
        let member = member.to_string();
        self.write(move |conn| {
            execute(conn, "updating a member", "UPDATE members SET pid = ?1 WHERE id = ?2", params![pid, member])?;
            Ok(())
        })
        .await
    }

    async fn delete_member(&self, member: &str) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_member");
        let member = member.to_string();
        self.write(move |conn| {
            execute(conn, "deleting a member", "DELETE FROM members WHERE id = ?1", [&member])?;
            Ok(())
        })
        .await
    }

    async fn list_members(&self, group: Option<&str>) -> Result<Vec<MemberRecord>, StoreError> {
        let _timer = self.metrics.time("list_members");
        let group = group.map(str::to_string);
        self.read(move |conn| {
            query_all(
                conn,
                "listing members",
                "SELECT id, group_id, name, port, pid, created_at FROM members WHERE ?1 IS NULL OR group_id = ?1 ORDER BY created_at, id",
                [&group],
                member_from_row,
            )
        })
        .await
    }

    async fn remove_member(
        &self,
        tenant: &str,
        group: &str,
        member: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("remove_member");
        let (tenant, group, member) = (tenant.to_string(), group.to_string(), member.to_string());
        self.write(move |conn| {
            let record = fetch_group(conn, &tenant, &group)?;
            let found = count(
                conn,
                "checking a member",
                "SELECT COUNT(*) FROM members WHERE group_id = ?1 AND id = ?2",
                params![group, member],
            )?;
            if found == 0 {
                return Err(StoreError::MemberNotFound);
            }
            if !replace {
                let min = effective_bounds(&record, now).min;
                if record.state.desired <= min {
                    return Err(StoreError::BelowMinimum { min });
                }
                execute(
                    conn,
                    "updating desired capacity",
                    "UPDATE groups SET desired = desired - 1 WHERE id = ?1",
                    [&group],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn next_schedule(&self) -> Result<Option<Timestamp>, StoreError> {
        let _timer = self.metrics.time("next_schedule");
        self.read(|conn| {
            let next: Option<i64> = conn
                .prepare_cached(
                    "SELECT MIN(t) FROM (SELECT MIN(next_fire) AS t FROM schedules UNION ALL SELECT MIN(next_change) FROM window_timers)",
                )
                .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
                .map_err(backend("reading the next schedule"))?;
            next.map(from_millis).transpose()
        })
        .await
    }

    async fn due_schedules(&self, until: Timestamp, limit: usize) -> Result<Vec<DueSchedule>, StoreError> {
        let _timer = self.metrics.time("due_schedules");
        self.read(move |conn| {
            query_all(
                conn,
                "reading due schedules",
                "SELECT policy_id, group_id, next_fire FROM schedules WHERE next_fire <= ?1 ORDER BY next_fire LIMIT ?2",
                params![millis(until), limit as i64],
                |row| {
                    Ok(DueSchedule {
                        policy_id: col(row, "policy_id")?,
                        group_id: col(row, "group_id")?,
                        due: from_millis(col(row, "next_fire")?)?,
                    })
                },
            )
        })
        .await
    }

    async fn fire_schedule(
        &self,
        policy: &str,
        due: Timestamp,
        now: Timestamp,
        grace: jiff::SignedDuration,
    ) -> Result<Option<Fired>, StoreError> {
        let _timer = self.metrics.time("fire_schedule");
        let policy = policy.to_string();
        self.write(move |conn| {
            let armed = query_one(
                conn,
                "reading a schedule",
                "SELECT group_id, next_fire FROM schedules WHERE policy_id = ?1",
                [&policy],
                |row| Ok((col::<String>(row, "group_id")?, col::<i64>(row, "next_fire")?)),
            )?;
            let Some((group_id, next_fire)) = armed else { return Ok(None) };
            if next_fire != millis(due) {
                return Ok(None);
            }
            let disarm = |conn: &Connection| {
                execute(conn, "disarming a schedule", "DELETE FROM schedules WHERE policy_id = ?1", [&policy])
                    .map(|_| None)
            };
            let Some(group) = fetch_group_by_id(conn, &group_id)?.filter(|g| !g.state.deleting) else {
                return disarm(conn);
            };
            let Ok(record) = fetch_policy(conn, &group_id, &policy) else { return disarm(conn) };
            let Some(schedule) = Policy::parse(&record.body, "", Origin::Stored).ok().and_then(|p| p.schedule) else {
                return disarm(conn);
            };
            let lateness = now.duration_since(due);
            let (kind, execution, message) = if lateness > grace {
                let message = format!(
                    "missed: {:.1} s late, beyond the grace period of {:.0} s",
                    lateness.as_secs_f64(),
                    grace.as_secs_f64()
                );
                (EventKind::Skipped, None, message)
            } else {
                let execution = execute_in(conn, &group.tenant_id, &group_id, &policy, now)?;
                let (kind, message) = match execution {
                    Execution::Scaled { from, to } => (EventKind::Fired, format!("desired capacity {from} to {to}")),
                    Execution::Refused(ebb_core::capacity::Refusal::Cooldown) => {
                        (EventKind::Fired, "cooldowns not met: nothing changed".to_string())
                    }
                    Execution::Refused(ebb_core::capacity::Refusal::NoChange) => {
                        (EventKind::Fired, "no change in servers".to_string())
                    }
                    Execution::Paused => (EventKind::Skipped, "the group is paused".to_string()),
                };
                (kind, Some(execution).filter(|e| *e != Execution::Paused), message)
            };
            let event = GroupEvent {
                group_id: group_id.clone(),
                at: now,
                kind,
                policy_id: Some(policy.clone()),
                due: Some(due),
                message,
            };
            record_event(conn, &event)?;
            // A missed cron window produces one execution, then the schedule goes on from now.
            let after = if now > due { now } else { due };
            match schedule.next_after(after) {
                Some(next) => {
                    execute(
                        conn,
                        "arming a schedule",
                        "UPDATE schedules SET next_fire = ?1 WHERE policy_id = ?2",
                        params![millis(next), policy],
                    )?;
                }
                None => {
                    disarm(conn)?;
                }
            }
            Ok(Some(Fired { tenant_id: group.tenant_id, execution, event }))
        })
        .await
    }

    async fn list_schedules(&self, tenant: &str, group: Option<&str>) -> Result<Vec<ScheduleEntry>, StoreError> {
        let _timer = self.metrics.time("list_schedules");
        let (tenant, group) = (tenant.to_string(), group.map(str::to_string));
        self.read(move |conn| {
            if let Some(group) = &group {
                require(conn, &tenant, group, None)?;
            }
            query_all(
                conn,
                "listing schedules",
                "SELECT p.id AS id, p.group_id AS group_id, p.body AS body, p.touched_at AS touched_at, s.next_fire AS next_fire \
                 FROM schedules s JOIN policies p ON p.id = s.policy_id JOIN groups g ON g.id = s.group_id \
                 WHERE g.tenant_id = ?1 AND g.deleting = 0 AND (?2 IS NULL OR g.id = ?2) ORDER BY s.next_fire, p.id",
                params![tenant, group],
                |row| {
                    Ok(ScheduleEntry {
                        group_id: col(row, "group_id")?,
                        policy: policy_from_row(row)?,
                        next_fire: from_millis(col(row, "next_fire")?)?,
                    })
                },
            )
        })
        .await
    }

    async fn list_events(&self, tenant: &str, group: &str, limit: usize) -> Result<Vec<GroupEvent>, StoreError> {
        let _timer = self.metrics.time("list_events");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.read(move |conn| {
            require(conn, &tenant, &group, None)?;
            query_all(
                conn,
                "listing events",
                "SELECT group_id, at, kind, policy_id, due, message FROM group_events WHERE group_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
                params![group, limit as i64],
                |row| {
                    let kind: String = col(row, "kind")?;
                    Ok(GroupEvent {
                        group_id: col(row, "group_id")?,
                        at: from_millis(col(row, "at")?)?,
                        kind: EventKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("event kind {kind:?}")))?,
                        policy_id: col(row, "policy_id")?,
                        due: col::<Option<i64>>(row, "due")?.map(from_millis).transpose()?,
                        message: col(row, "message")?,
                    })
                },
            )
        })
        .await
    }

    async fn replace_windows(
        &self,
        tenant: &str,
        group: &str,
        windows: Option<Value>,
        now: Timestamp,
    ) -> Result<GroupRecord, StoreError> {
        let _timer = self.metrics.time("replace_windows");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            let mut record = fetch_group(conn, &tenant, &group)?;
            execute(
                conn,
                "replacing windows",
                "UPDATE groups SET windows = ?1 WHERE id = ?2",
                params![windows.as_ref().map(Value::to_string), group],
            )?;
            record.windows = windows;
            apply_windows(conn, &record, now)?;
            arm_windows(conn, &record, now)?;
            fetch_group(conn, &tenant, &group)
        })
        .await
    }

    async fn due_windows(&self, until: Timestamp, limit: usize) -> Result<Vec<(String, Timestamp)>, StoreError> {
        let _timer = self.metrics.time("due_windows");
        self.read(move |conn| {
            query_all(
                conn,
                "reading due window timers",
                "SELECT group_id, next_change FROM window_timers WHERE next_change <= ?1 ORDER BY next_change LIMIT ?2",
                params![millis(until), limit as i64],
                |row| Ok((col(row, "group_id")?, from_millis(col(row, "next_change")?)?)),
            )
        })
        .await
    }

    async fn fire_window(&self, group: &str, due: Timestamp, now: Timestamp) -> Result<Option<bool>, StoreError> {
        let _timer = self.metrics.time("fire_window");
        let group = group.to_string();
        self.write(move |conn| {
            let armed = count(
                conn,
                "reading a window timer",
                "SELECT COUNT(*) FROM window_timers WHERE group_id = ?1 AND next_change = ?2",
                params![group, millis(due)],
            )?;
            if armed == 0 {
                return Ok(None);
            }
            let Some(record) = fetch_group_by_id(conn, &group)?.filter(|g| !g.state.deleting) else {
                execute(conn, "disarming a window timer", "DELETE FROM window_timers WHERE group_id = ?1", [&group])?;
                return Ok(None);
            };
            let changed = apply_windows(conn, &record, now)?;
            arm_windows(conn, &record, now)?;
            Ok(Some(changed))
        })
        .await
    }

    async fn window_timers(&self, tenant: &str) -> Result<Vec<(String, Value, Timestamp)>, StoreError> {
        let _timer = self.metrics.time("window_timers");
        let tenant = tenant.to_string();
        self.read(move |conn| {
            query_all(
                conn,
                "listing window timers",
                "SELECT g.id AS id, g.windows AS windows, t.next_change AS next_change FROM window_timers t \
                 JOIN groups g ON g.id = t.group_id WHERE g.tenant_id = ?1 AND g.deleting = 0 ORDER BY t.next_change",
                [&tenant],
                |row| {
                    let windows = parse_json(&col::<Option<String>>(row, "windows")?.unwrap_or_else(|| "null".into()))?;
                    Ok((col(row, "id")?, windows, from_millis(col(row, "next_change")?)?))
                },
            )
        })
        .await
    }
}
