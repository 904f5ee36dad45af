//! The PostgreSQL store: the same operations and the same decisions as SQLite's, in the same
//! transactions, for several Ebb nodes sharing one database.
//!
//! Where SQLite serializes writes through its single writer, PostgreSQL serializes what must
//! not interleave with row locks: a decision locks its group's row (`SELECT ... FOR UPDATE`)
//! before it loads the snapshot, so two decisions on one group never run at once while
//! decisions on different groups do; creating groups locks the tenant's row, creating
//! policies and webhooks the group's, so limits hold under concurrent writers. Every lock is
//! taken in the same order (tenant, group, then its schedule or timer), so none deadlocks.
//!
//! Connections come from a fixed pool (`deadpool-postgres`): nothing is opened per request,
//! and a request that waits too long for a connection is [`StoreError::Busy`]. Numbered
//! migrations (`migrations/postgres/`) run at start, under an advisory lock, so nodes
//! starting together migrate once.
//!
//! The trait implementations are split by concern, as SQLite's: `tenants`, `groups`,
//! `policies`, `decisions`, `members`, `schedules`, `history`; `rows` maps rows to records.

mod broker;
mod collectors;
mod decisions;
mod groups;
mod history;
mod members;
mod policies;
mod rows;
mod schedules;
mod tenants;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use crate::error::StoreError;
use crate::metrics::StoreMetrics;

/// The migrations, in order: (version, SQL).
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_initial.sql")),
    (2, include_str!("../../migrations/postgres/0002_history_by_group.sql")),
    (3, include_str!("../../migrations/postgres/0003_metric_rules.sql")),
    (4, include_str!("../../migrations/postgres/0004_metric_credential.sql")),
    (5, include_str!("../../migrations/postgres/0005_metric_minutes.sql")),
    (6, include_str!("../../migrations/postgres/0006_service_broker.sql")),
    (7, include_str!("../../migrations/postgres/0007_pause_direction.sql")),
    (8, include_str!("../../migrations/postgres/0008_collectors.sql")),
    (9, include_str!("../../migrations/postgres/0009_tenant_clouds.sql")),
];

/// Any number, the same for every Ebb node: the advisory lock migrations run under.
const MIGRATION_LOCK: i64 = 0x0EBB_0001;

/// How many connections, and how long a request waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostgresPool {
    /// Connections at most.
    pub connections: usize,
    /// The longest a request waits for a connection.
    pub wait: Duration,
}

impl Default for PostgresPool {
    fn default() -> Self {
        PostgresPool { connections: 16, wait: Duration::from_secs(5) }
    }
}

/// Ebb's store on PostgreSQL.
pub struct PostgresStore {
    pool: Pool,
    wait: Duration,
    metrics: StoreMetrics,
}

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(crate) fn backend(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |err| {
        let message = match err.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => err.to_string(),
        };
        StoreError::Backend { context, message }
    }
}

pub(crate) fn is_foreign_key_violation(err: &tokio_postgres::Error) -> bool {
    err.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
}

impl PostgresStore {
    /// Connects to `postgres://...` (any URL libpq takes, `options=-csearch_path%3D...` too)
    /// and runs pending migrations.
    pub async fn open(url: &str, metrics: StoreMetrics) -> Result<Self, StoreError> {
        PostgresStore::open_with(url, metrics, PostgresPool::default()).await
    }

    /// [`PostgresStore::open`] with a pool of its own size and wait.
    pub async fn open_with(url: &str, metrics: StoreMetrics, settings: PostgresPool) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|err: tokio_postgres::Error| StoreError::UnsupportedUrl(format!("{url}: {err}")))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(settings.connections.max(1))
            .wait_timeout(Some(settings.wait))
            .create_timeout(Some(Duration::from_secs(10)))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|err| StoreError::Backend { context: "creating the connection pool", message: err.to_string() })?;
        let store = PostgresStore { pool, wait: settings.wait, metrics };
        store.migrate().await?;
        Ok(store)
    }

    /// A connection from the pool.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|err| match err {
            PoolError::Timeout(_) => StoreError::Busy { retry_after: self.wait.as_secs().max(1) },
            PoolError::Closed => StoreError::Closed,
            PoolError::Backend(err) => backend("connecting")(err),
            other => StoreError::Backend { context: "connecting", message: other.to_string() },
        })
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend("starting migrations"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(backend("locking migrations"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS ebb_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
        )
        .await
        .map_err(backend("creating the migrations table"))?;
        let applied: Vec<i32> = tx
            .query("SELECT version FROM ebb_migrations", &[])
            .await
            .map_err(backend("reading migrations"))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        for (version, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            tx.batch_execute(sql).await.map_err(backend("running a migration"))?;
            tx.execute(
                "INSERT INTO ebb_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &jiff::Timestamp::now().to_string()],
            )
            .await
            .map_err(backend("recording a migration"))?;
            tracing::info!(version, "postgres migration applied");
        }
        tx.commit().await.map_err(backend("committing migrations"))
    }
}
