//! The SQLite store.
//!
//! Reads go through a small pool of connections. Every write goes through one writer task
//! that owns the only writing connection: it takes the writes waiting in its queue, runs
//! each in a savepoint of one `BEGIN IMMEDIATE` transaction and commits them together with
//! one fsync (WAL, `synchronous = FULL`), then answers each caller. This is group commit:
//! writes are serialized (so read-modify-write operations such as policy executions can
//! never interleave), every acknowledged write is on disk, and throughput is not bounded by
//! one fsync per write.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use ebb_core::capacity::{self, Bounds, ExecutionInput};
use ebb_core::group::GroupConfig;
use ebb_core::limits::Limits;
use ebb_core::policy::{Origin, Policy};
use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::{Map, Value};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;
use crate::metrics::StoreMetrics;
use crate::model::*;

/// The most writes committed together.
const MAX_BATCH: usize = 512;

type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, (bool, Finish)> + Send>;

/// Ebb's store on an SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    readers: SqlitePool,
    writer: mpsc::Sender<Job>,
    metrics: StoreMetrics,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `sqlite://PATH` and runs pending migrations.
    pub async fn open(url: &str, metrics: StoreMetrics) -> Result<Self, StoreError> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .filter(|path| !path.is_empty())
            .ok_or_else(|| StoreError::UnsupportedUrl(url.to_string()))?;
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(StoreError::backend("parsing options"))?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let mut writer_conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(StoreError::backend("opening the database"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut writer_conn)
            .await
            .map_err(|err| StoreError::Backend {
                context: "running migrations",
                message: err.to_string(),
            })?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(StoreError::backend("opening read connections"))?;
        let (writer, queue) = mpsc::channel(4096);
        tokio::spawn(run_writer(writer_conn, queue));
        Ok(SqliteStore {
            path: PathBuf::from(path),
            readers,
            writer,
            metrics,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` inside the writer's transaction and returns once it is committed.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = work(conn).await;
                let ok = result.is_ok();
                let finish: Finish = Box::new(move |committed| {
                    // The caller may have gone away (a dropped request); nothing to tell then.
                    let _ = reply.send(committed.and(result));
                });
                (ok, finish)
            })
        });
        self.writer
            .send(job)
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// The writer task: batches queued jobs into transactions until every sender is gone.
async fn run_writer(mut conn: SqliteConnection, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut finishes = Vec::with_capacity(batch.len());
        let begun = sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await;
        if let Err(err) = begun {
            tracing::error!(error = %err, "store writer could not begin a transaction");
            // Dropping the jobs unrun answers each caller with an error.
            batch.clear();
            continue;
        }
        for job in batch.drain(..) {
            if let Err(err) = sqlx::query("SAVEPOINT job").execute(&mut conn).await {
                tracing::error!(error = %err, "store writer could not open a savepoint");
                break;
            }
            let (ok, finish) = job(&mut conn).await;
            let closing = if ok {
                sqlx::query("RELEASE job").execute(&mut conn).await
            } else {
                match sqlx::query("ROLLBACK TO job").execute(&mut conn).await {
                    Ok(_) => sqlx::query("RELEASE job").execute(&mut conn).await,
                    Err(err) => Err(err),
                }
            };
            if let Err(err) = closing {
                tracing::error!(error = %err, "store writer could not close a savepoint");
            }
            finishes.push(finish);
        }
        let committed = sqlx::query("COMMIT")
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(StoreError::backend("committing"));
        if let Err(err) = &committed {
            tracing::error!(error = %err, "store commit failed");
            let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
        }
        for finish in finishes {
            finish(committed.clone());
        }
    }
}

fn now_text(now: Timestamp) -> String {
    now.to_string()
}

fn parse_time(text: &str) -> Result<Timestamp, StoreError> {
    text.parse()
        .map_err(|err| StoreError::Corrupt(format!("timestamp {text:?}: {err}")))
}

fn parse_json(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|err| StoreError::Corrupt(format!("json document: {err}")))
}

fn col<'r, T>(row: &'r SqliteRow, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(name)
        .map_err(|err| StoreError::Corrupt(format!("column {name}: {err}")))
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn group_from_row(row: &SqliteRow) -> Result<GroupRecord, StoreError> {
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
            paused: col::<i64>(row, "paused")? != 0,
            status,
            errors,
            touched_at: col::<Option<String>>(row, "touched_at")?
                .as_deref()
                .map(parse_time)
                .transpose()?,
        },
        created_at: parse_time(&col::<String>(row, "created_at")?)?,
    })
}

fn policy_from_row(row: &SqliteRow) -> Result<PolicyRecord, StoreError> {
    Ok(PolicyRecord {
        id: col(row, "id")?,
        group_id: col(row, "group_id")?,
        body: parse_json(&col::<String>(row, "body")?)?,
        touched_at: col::<Option<String>>(row, "touched_at")?
            .as_deref()
            .map(parse_time)
            .transpose()?,
    })
}

fn webhook_from_row(row: &SqliteRow) -> Result<WebhookRecord, StoreError> {
    let metadata = match parse_json(&col::<String>(row, "metadata")?)? {
        Value::Object(map) => map,
        _ => {
            return Err(StoreError::Corrupt(
                "webhook metadata is not an object".into(),
            ));
        }
    };
    Ok(WebhookRecord {
        id: col(row, "id")?,
        policy_id: col(row, "policy_id")?,
        name: col(row, "name")?,
        metadata,
    })
}

fn token_from_row(row: &SqliteRow) -> Result<Token, StoreError> {
    let role_text: String = col(row, "role")?;
    Ok(Token {
        id: col(row, "id")?,
        tenant_id: col(row, "tenant_id")?,
        role: Role::parse(&role_text)
            .ok_or_else(|| StoreError::Corrupt(format!("role {role_text:?}")))?,
        created_at: parse_time(&col::<String>(row, "created_at")?)?,
    })
}

async fn fetch_group(
    conn: &mut SqliteConnection,
    tenant: &str,
    group: &str,
) -> Result<GroupRecord, StoreError> {
    let row = sqlx::query(
        "SELECT id, tenant_id, config, launch, desired, paused, status, error_reasons, touched_at, created_at \
         FROM groups WHERE tenant_id = ? AND id = ?",
    )
    .bind(tenant)
    .bind(group)
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::backend("reading a group"))?
    .ok_or(StoreError::GroupNotFound)?;
    group_from_row(&row)
}

async fn fetch_policy(
    conn: &mut SqliteConnection,
    group: &str,
    policy: &str,
) -> Result<PolicyRecord, StoreError> {
    let row = sqlx::query(
        "SELECT id, group_id, body, touched_at FROM policies WHERE group_id = ? AND id = ?",
    )
    .bind(group)
    .bind(policy)
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::backend("reading a policy"))?
    .ok_or(StoreError::PolicyNotFound)?;
    policy_from_row(&row)
}

/// Checks that a group of the tenant exists (and a policy of it, when given).
async fn require(
    conn: &mut SqliteConnection,
    tenant: &str,
    group: &str,
    policy: Option<&str>,
) -> Result<(), StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM groups WHERE tenant_id = ? AND id = ?")
            .bind(tenant)
            .bind(group)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::backend("checking a group"))?;
    if found.is_none() {
        return Err(StoreError::GroupNotFound);
    }
    if let Some(policy) = policy {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM policies WHERE group_id = ? AND id = ?")
                .bind(group)
                .bind(policy)
                .fetch_optional(&mut *conn)
                .await
                .map_err(StoreError::backend("checking a policy"))?;
        if found.is_none() {
            return Err(StoreError::PolicyNotFound);
        }
    }
    Ok(())
}

async fn insert_policies(
    conn: &mut SqliteConnection,
    group: &str,
    bodies: Vec<Value>,
    now: &str,
) -> Result<Vec<PolicyRecord>, StoreError> {
    let mut created = Vec::with_capacity(bodies.len());
    for body in bodies {
        let id = new_id();
        sqlx::query("INSERT INTO policies (id, group_id, body, created_at) VALUES (?, ?, ?, ?)")
            .bind(&id)
            .bind(group)
            .bind(body.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::backend("inserting a policy"))?;
        created.push(PolicyRecord {
            id,
            group_id: group.to_string(),
            body,
            touched_at: None,
        });
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

#[async_trait::async_trait]
impl crate::Store for SqliteStore {
    async fn create_tenant(&self, id: &str, now: Timestamp) -> Result<Tenant, StoreError> {
        let _timer = self.metrics.time("create_tenant");
        let id = id.to_string();
        self.write(move |conn| {
            Box::pin(async move {
                let inserted = sqlx::query("INSERT INTO tenants (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING")
                    .bind(&id)
                    .bind(now_text(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::backend("inserting a tenant"))?;
                if inserted.rows_affected() == 0 {
                    return Err(StoreError::TenantExists);
                }
                Ok(Tenant { id, created_at: now })
            })
        })
        .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let _timer = self.metrics.time("list_tenants");
        let rows = sqlx::query("SELECT id, created_at FROM tenants ORDER BY id")
            .fetch_all(&self.readers)
            .await
            .map_err(StoreError::backend("listing tenants"))?;
        rows.iter()
            .map(|row| {
                Ok(Tenant {
                    id: col(row, "id")?,
                    created_at: parse_time(&col::<String>(row, "created_at")?)?,
                })
            })
            .collect()
    }

    async fn tenant_exists(&self, id: &str) -> Result<bool, StoreError> {
        let _timer = self.metrics.time("tenant_exists");
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM tenants WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.readers)
            .await
            .map_err(StoreError::backend("reading a tenant"))?;
        Ok(found.is_some())
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
            Box::pin(async move {
                let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM tenants WHERE id = ?")
                    .bind(&tenant)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(StoreError::backend("reading a tenant"))?;
                if found.is_none() {
                    return Err(StoreError::TenantNotFound);
                }
                let id = new_id();
                sqlx::query("INSERT INTO tokens (id, tenant_id, role, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)")
                    .bind(&id)
                    .bind(&tenant)
                    .bind(role.as_str())
                    .bind(&secret_hash)
                    .bind(now_text(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::backend("inserting a token"))?;
                Ok(Token {
                    id,
                    tenant_id: tenant,
                    role,
                    created_at: now,
                })
            })
        })
        .await
    }

    async fn delete_token(&self, tenant: &str, token: &str) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_token");
        let (tenant, token) = (tenant.to_string(), token.to_string());
        self.write(move |conn| {
            Box::pin(async move {
                let deleted = sqlx::query("DELETE FROM tokens WHERE tenant_id = ? AND id = ?")
                    .bind(&tenant)
                    .bind(&token)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::backend("deleting a token"))?;
                if deleted.rows_affected() == 0 {
                    return Err(StoreError::TokenNotFound);
                }
                Ok(())
            })
        })
        .await
    }

    async fn find_token(&self, secret_hash: &str) -> Result<Option<Token>, StoreError> {
        let _timer = self.metrics.time("find_token");
        let row =
            sqlx::query("SELECT id, tenant_id, role, created_at FROM tokens WHERE secret_hash = ?")
                .bind(secret_hash)
                .fetch_optional(&self.readers)
                .await
                .map_err(StoreError::backend("reading a token"))?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn create_group(
        &self,
        group: NewGroup,
        limits: Limits,
        now: Timestamp,
    ) -> Result<(GroupRecord, Vec<PolicyRecord>), StoreError> {
        let _timer = self.metrics.time("create_group");
        self.write(move |conn| {
            Box::pin(async move {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM groups WHERE tenant_id = ?")
                    .bind(&group.tenant_id)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(StoreError::backend("counting groups"))?;
                if count as usize >= limits.max_groups {
                    return Err(StoreError::GroupLimit { limit: limits.max_groups });
                }
                let id = new_id();
                let now_str = now_text(now);
                let desired = group.config.min_entities;
                let config_text = serde_json::to_string(&group.config)
                    .map_err(|err| StoreError::Corrupt(format!("group config: {err}")))?;
                sqlx::query(
                    "INSERT INTO groups (id, tenant_id, config, launch, desired, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(&id)
                .bind(&group.tenant_id)
                .bind(config_text)
                .bind(group.launch.to_string())
                .bind(i64::from(desired))
                .bind(&now_str)
                .execute(&mut *conn)
                .await
                .map_err(|err| match err {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::TenantNotFound,
                    other => StoreError::backend("inserting a group")(other),
                })?;
                let policies = insert_policies(conn, &id, group.policies, &now_str).await?;
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
                    },
                    created_at: now,
                };
                Ok((record, policies))
            })
        })
        .await
    }

    async fn list_groups(&self, tenant: &str, page: &Page) -> Result<Vec<GroupRecord>, StoreError> {
        let _timer = self.metrics.time("list_groups");
        let (marker, limit) = page_args(Some(page));
        let rows = sqlx::query(
            "SELECT id, tenant_id, config, launch, desired, paused, status, error_reasons, touched_at, created_at \
             FROM groups WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(tenant)
        .bind(marker)
        .bind(limit)
        .fetch_all(&self.readers)
        .await
        .map_err(StoreError::backend("listing groups"))?;
        rows.iter().map(group_from_row).collect()
    }

    async fn get_group(&self, tenant: &str, group: &str) -> Result<GroupRecord, StoreError> {
        let _timer = self.metrics.time("get_group");
        let mut conn = self
            .readers
            .acquire()
            .await
            .map_err(StoreError::backend("acquiring a connection"))?;
        fetch_group(&mut conn, tenant, group).await
    }

    async fn replace_config(
        &self,
        tenant: &str,
        group: &str,
        config: GroupConfig,
    ) -> Result<GroupRecord, StoreError> {
        let _timer = self.metrics.time("replace_config");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            Box::pin(async move {
                let mut record = fetch_group(conn, &tenant, &group).await?;
                let bounds = Bounds {
                    min: config.min_entities,
                    max: config.max_entities,
                };
                let desired = bounds.clamp(i128::from(record.state.desired));
                let config_text = serde_json::to_string(&config)
                    .map_err(|err| StoreError::Corrupt(format!("group config: {err}")))?;
                sqlx::query("UPDATE groups SET config = ?, desired = ? WHERE id = ?")
                    .bind(config_text)
                    .bind(i64::from(desired))
                    .bind(&group)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::backend("updating a group config"))?;
                record.config = config;
                record.state.desired = desired;
                Ok(record)
            })
        })
        .await
    }

    async fn replace_launch(
        &self,
        tenant: &str,
        group: &str,
        launch: Value,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("replace_launch");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            Box::pin(async move {
                let updated =
                    sqlx::query("UPDATE groups SET launch = ? WHERE tenant_id = ? AND id = ?")
                        .bind(launch.to_string())
                        .bind(&tenant)
                        .bind(&group)
                        .execute(&mut *conn)
                        .await
                        .map_err(StoreError::backend("updating a launch config"))?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::GroupNotFound);
                }
                Ok(())
            })
        })
        .await
    }

    async fn set_paused(&self, tenant: &str, group: &str, paused: bool) -> Result<(), StoreError> {
        let _timer = self.metrics.time("set_paused");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            Box::pin(async move {
                let updated =
                    sqlx::query("UPDATE groups SET paused = ? WHERE tenant_id = ? AND id = ?")
                        .bind(i64::from(paused))
                        .bind(&tenant)
                        .bind(&group)
                        .execute(&mut *conn)
                        .await
                        .map_err(StoreError::backend("pausing a group"))?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::GroupNotFound);
                }
                Ok(())
            })
        })
        .await
    }

    async fn delete_group(&self, tenant: &str, group: &str, force: bool) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_group");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.write(move |conn| {
            Box::pin(async move {
                let record = fetch_group(conn, &tenant, &group).await?;
                if !force && record.state.desired != 0 {
                    return Err(StoreError::GroupNotEmpty);
                }
                sqlx::query("DELETE FROM groups WHERE id = ?")
                    .bind(&group)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::backend("deleting a group"))?;
                Ok(())
            })
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
        self.write(move |conn| {
            Box::pin(async move {
                let record = fetch_group(conn, &tenant, &group).await?;
                if record.state.paused {
                    return Ok(Execution::Paused);
                }
                let policy_record = fetch_policy(conn, &group, &policy).await?;
                let parsed = Policy::parse(&policy_record.body, "", Origin::Stored)
                    .map_err(|err| StoreError::Corrupt(format!("policy {policy}: {err}")))?;
                let input = ExecutionInput {
                    desired: record.state.desired,
                    bounds: Bounds {
                        min: record.config.min_entities,
                        max: record.config.max_entities,
                    },
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
                let now_str = now_text(now);
                sqlx::query("UPDATE groups SET desired = ?, touched_at = ? WHERE id = ?")
                    .bind(i64::from(to))
                    .bind(&now_str)
                    .bind(&group)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::backend("updating desired capacity"))?;
                sqlx::query("UPDATE policies SET touched_at = ? WHERE id = ?")
                    .bind(&now_str)
                    .bind(&policy)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::backend("updating a policy cooldown"))?;
                Ok(Execution::Scaled {
                    from: record.state.desired,
                    to,
                })
            })
        })
        .await
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
            Box::pin(async move {
                require(conn, &tenant, &group, None).await?;
                let current: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM policies WHERE group_id = ?")
                        .bind(&group)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(StoreError::backend("counting policies"))?;
                let current = current as usize;
                if current + bodies.len() > limits.max_policies_per_group {
                    return Err(StoreError::PolicyLimit {
                        current,
                        adding: bodies.len(),
                        limit: limits.max_policies_per_group,
                    });
                }
                insert_policies(conn, &group, bodies, &now_text(now)).await
            })
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
        let mut conn = self
            .readers
            .acquire()
            .await
            .map_err(StoreError::backend("acquiring a connection"))?;
        require(&mut conn, tenant, group, None).await?;
        let (marker, limit) = page_args(page);
        let rows = sqlx::query("SELECT id, group_id, body, touched_at FROM policies WHERE group_id = ? AND id > ? ORDER BY id LIMIT ?")
            .bind(group)
            .bind(marker)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::backend("listing policies"))?;
        rows.iter().map(policy_from_row).collect()
    }

    async fn get_policy(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
    ) -> Result<PolicyRecord, StoreError> {
        let _timer = self.metrics.time("get_policy");
        let mut conn = self
            .readers
            .acquire()
            .await
            .map_err(StoreError::backend("acquiring a connection"))?;
        require(&mut conn, tenant, group, None).await?;
        fetch_policy(&mut conn, group, policy).await
    }

    async fn replace_policy(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        body: Value,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("replace_policy");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        self.write(move |conn| {
            Box::pin(async move {
                require(conn, &tenant, &group, Some(&policy)).await?;
                sqlx::query("UPDATE policies SET body = ? WHERE id = ?")
                    .bind(body.to_string())
                    .bind(&policy)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::backend("updating a policy"))?;
                Ok(())
            })
        })
        .await
    }

    async fn delete_policy(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_policy");
        let (tenant, group, policy) = (tenant.to_string(), group.to_string(), policy.to_string());
        self.write(move |conn| {
            Box::pin(async move {
                require(conn, &tenant, &group, Some(&policy)).await?;
                sqlx::query("DELETE FROM policies WHERE id = ?")
                    .bind(&policy)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::backend("deleting a policy"))?;
                Ok(())
            })
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
            Box::pin(async move {
                require(conn, &tenant, &group, Some(&policy)).await?;
                let current: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhooks WHERE policy_id = ?")
                    .bind(&policy)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(StoreError::backend("counting webhooks"))?;
                let current = current as usize;
                if current + webhooks.len() > limits.max_webhooks_per_policy {
                    return Err(StoreError::WebhookLimit {
                        current,
                        adding: webhooks.len(),
                        limit: limits.max_webhooks_per_policy,
                    });
                }
                let now_str = now_text(now);
                let mut created = Vec::with_capacity(webhooks.len());
                for webhook in webhooks {
                    let id = new_id();
                    sqlx::query("INSERT INTO webhooks (id, policy_id, name, metadata, capability_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)")
                        .bind(&id)
                        .bind(&policy)
                        .bind(&webhook.name)
                        .bind(Value::Object(webhook.metadata.clone()).to_string())
                        .bind(&webhook.capability_hash)
                        .bind(&now_str)
                        .execute(&mut *conn)
                        .await
                        .map_err(StoreError::backend("inserting a webhook"))?;
                    created.push(WebhookRecord {
                        id,
                        policy_id: policy.clone(),
                        name: webhook.name,
                        metadata: webhook.metadata,
                    });
                }
                Ok(created)
            })
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
        let mut conn = self
            .readers
            .acquire()
            .await
            .map_err(StoreError::backend("acquiring a connection"))?;
        require(&mut conn, tenant, group, Some(policy)).await?;
        let (marker, limit) = page_args(page);
        let rows = sqlx::query("SELECT id, policy_id, name, metadata FROM webhooks WHERE policy_id = ? AND id > ? ORDER BY id LIMIT ?")
            .bind(policy)
            .bind(marker)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::backend("listing webhooks"))?;
        rows.iter().map(webhook_from_row).collect()
    }

    async fn get_webhook(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        webhook: &str,
    ) -> Result<WebhookRecord, StoreError> {
        let _timer = self.metrics.time("get_webhook");
        let mut conn = self
            .readers
            .acquire()
            .await
            .map_err(StoreError::backend("acquiring a connection"))?;
        require(&mut conn, tenant, group, Some(policy)).await?;
        let row = sqlx::query(
            "SELECT id, policy_id, name, metadata FROM webhooks WHERE policy_id = ? AND id = ?",
        )
        .bind(policy)
        .bind(webhook)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::backend("reading a webhook"))?
        .ok_or(StoreError::WebhookNotFound)?;
        webhook_from_row(&row)
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
        let (tenant, group, policy, webhook) = (
            tenant.to_string(),
            group.to_string(),
            policy.to_string(),
            webhook.to_string(),
        );
        self.write(move |conn| {
            Box::pin(async move {
                require(conn, &tenant, &group, Some(&policy)).await?;
                let updated = sqlx::query(
                    "UPDATE webhooks SET name = ?, metadata = ? WHERE policy_id = ? AND id = ?",
                )
                .bind(&name)
                .bind(Value::Object(metadata).to_string())
                .bind(&policy)
                .bind(&webhook)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::backend("updating a webhook"))?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::WebhookNotFound);
                }
                Ok(())
            })
        })
        .await
    }

    async fn delete_webhook(
        &self,
        tenant: &str,
        group: &str,
        policy: &str,
        webhook: &str,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics.time("delete_webhook");
        let (tenant, group, policy, webhook) = (
            tenant.to_string(),
            group.to_string(),
            policy.to_string(),
            webhook.to_string(),
        );
        self.write(move |conn| {
            Box::pin(async move {
                require(conn, &tenant, &group, Some(&policy)).await?;
                let deleted = sqlx::query("DELETE FROM webhooks WHERE policy_id = ? AND id = ?")
                    .bind(&policy)
                    .bind(&webhook)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::backend("deleting a webhook"))?;
                if deleted.rows_affected() == 0 {
                    return Err(StoreError::WebhookNotFound);
                }
                Ok(())
            })
        })
        .await
    }

    async fn find_capability(
        &self,
        capability_hash: &str,
    ) -> Result<Option<CapabilityTarget>, StoreError> {
        let _timer = self.metrics.time("find_capability");
        let row = sqlx::query(
            "SELECT g.tenant_id AS tenant_id, g.id AS group_id, p.id AS policy_id \
             FROM webhooks w JOIN policies p ON p.id = w.policy_id JOIN groups g ON g.id = p.group_id \
             WHERE w.capability_hash = ?",
        )
        .bind(capability_hash)
        .fetch_optional(&self.readers)
        .await
        .map_err(StoreError::backend("reading a capability"))?;
        row.map(|row| {
            Ok(CapabilityTarget {
                tenant_id: col(&row, "tenant_id")?,
                group_id: col(&row, "group_id")?,
                policy_id: col(&row, "policy_id")?,
            })
        })
        .transpose()
    }
}
