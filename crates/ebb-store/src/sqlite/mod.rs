//! The SQLite store.
//!
//! Every write goes through one writer thread that owns the only writing connection
//! (`writer`): it takes the writes waiting in its queue, runs each in a savepoint of one
//! `BEGIN IMMEDIATE` transaction and commits them together with one fsync (WAL,
//! `synchronous = FULL`), then answers each caller. This is group commit: writes are
//! serialized (so a decision's read-modify-write never interleaves with another), every
//! acknowledged write is on disk, and throughput is not bounded by one fsync per write
//! (decision 0003).
//!
//! The log is copied back into the database file by a thread of its own (`checkpointer`),
//! never inside a commit.
//!
//! Reads run on a fixed set of reader threads, each with its own read-only connection
//! (`readers`): nothing is opened per request, and a read that waits too long for a reader
//! fails with [`StoreError::Busy`] instead of piling up. rusqlite is used directly,
//! synchronously, on those threads: a statement costs a few microseconds, where an async
//! driver's hop to a worker thread per statement cost more than the statement itself.
//!
//! The trait implementations are split by concern: `tenants`, `groups`, `policies`,
//! `decisions` (the one write path of decisions), `members`, `schedules`, `history`; `rows`
//! holds the statements' helpers and the mapping of rows to records.

mod broker;
mod checkpointer;
mod collectors;
mod decisions;
mod groups;
mod history;
mod members;
mod policies;
mod readers;
mod rows;
mod schedules;
mod tenants;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use readers::ReadPool;
use readers::Readers;
use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};

use crate::error::StoreError;
use crate::metrics::StoreMetrics;
use checkpointer::Checkpointer;
use rows::backend;
use writer::Writer;

const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/sqlite/0001_initial.sql")),
    M::up(include_str!("../../migrations/sqlite/0002_members.sql")),
    M::up(include_str!("../../migrations/sqlite/0003_schedules.sql")),
    M::up(include_str!("../../migrations/sqlite/0004_windows.sql")),
    M::up(include_str!("../../migrations/sqlite/0005_local_process.sql")),
    M::up(include_str!("../../migrations/sqlite/0006_history.sql")),
    M::up(include_str!("../../migrations/sqlite/0007_history_by_group.sql")),
    M::up(include_str!("../../migrations/sqlite/0008_metric_rules.sql")),
    M::up(include_str!("../../migrations/sqlite/0009_metric_credential.sql")),
    M::up(include_str!("../../migrations/sqlite/0010_metric_minutes.sql")),
    M::up(include_str!("../../migrations/sqlite/0011_service_broker.sql")),
    M::up(include_str!("../../migrations/sqlite/0012_pause_direction.sql")),
    M::up(include_str!("../../migrations/sqlite/0013_collectors.sql")),
    M::up(include_str!("../../migrations/sqlite/0014_tenant_clouds.sql")),
];

/// Ebb's store on an SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    readers: Readers,
    writer: Writer,
    _checkpointer: Checkpointer,
    metrics: StoreMetrics,
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
        // The checkpointer copies the log back, not the commit that happens to fill it.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(backend("leaving checkpoints to the checkpointer"))?;
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
        let (writer_conn, readers, checkpointer) = tokio::task::spawn_blocking(move || {
            let mut conn = open_connection(&writer_path, false)?;
            Migrations::from_slice(MIGRATIONS)
                .to_latest(&mut conn)
                .map_err(|err| StoreError::Backend { context: "running migrations", message: err.to_string() })?;
            let readers = Readers::start(&writer_path, pool, |path| open_connection(path, true))?;
            let checkpointer = Checkpointer::start(open_connection(&writer_path, false)?, &writer_path)?;
            Ok::<_, StoreError>((conn, readers, checkpointer))
        })
        .await
        .map_err(|err| StoreError::Backend { context: "opening the database", message: err.to_string() })??;
        let writer = Writer::start(writer_conn)?;
        Ok(SqliteStore { path, readers, writer, _checkpointer: checkpointer, metrics })
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
        self.writer.write(work).await
    }

    /// Runs `work`, which fails (if it does) before it changes anything, inside the writer's
    /// transaction without a savepoint of its own ([`Writer::write_failing_before_changes`]).
    async fn write_failing_before_changes<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.writer.write_failing_before_changes(work).await
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HistoryQuery, HistoryStore, Page};

    /// A database written by the version before history was keyed by group keeps its history,
    /// oldest to newest, after the upgrade.
    #[tokio::test]
    async fn history_recorded_before_the_upgrade_is_kept_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut conn = Connection::open(&path).unwrap();
        Migrations::from_slice(MIGRATIONS).to_version(&mut conn, 6).unwrap();
        conn.execute_batch(
            "INSERT INTO tenants (id, created_at) VALUES ('t', '2026-01-01T00:00:00Z');
             INSERT INTO groups (id, tenant_id, config, launch, desired, created_at) VALUES
               ('g', 't', '{\"name\":\"g\",\"cooldown\":0,\"minEntities\":0,\"maxEntities\":10,\"metadata\":{}}',
                '{\"type\":\"launch_server\",\"args\":{\"server\":{\"flavorRef\":\"2\",\"imageRef\":\"i\"}}}',
                2, '2026-01-01T00:00:00Z');
             INSERT INTO history (id, group_id, at, source, from_desired, to_desired, min_entities, max_entities, reason)
             VALUES ('0190a000-0000-7000-8000-000000000001', 'g', 1000, 'create', 0, 0, 0, 10, 'created'),
                    ('0190a000-0000-7000-8000-000000000002', 'g', 2000, 'api', 0, 2, 0, 10, 'executed');",
        )
        .unwrap();
        drop(conn);

        let url = format!("sqlite://{}", path.display());
        let store = SqliteStore::open(&url, StoreMetrics::unregistered()).await.unwrap();
        let query = HistoryQuery { page: Page { marker: None, limit: 10 }, since: None, until: None, source: None };
        let entries = store.list_history(&"t".into(), &"g".into(), &query).await.unwrap();
        let reasons: Vec<&str> = entries.iter().map(|record| record.entry.reason.as_str()).collect();
        assert_eq!(reasons, ["executed", "created"], "newest first");
        let after = HistoryQuery { page: Page { marker: Some(entries[0].id.clone()), limit: 10 }, ..query };
        let older = store.list_history(&"t".into(), &"g".into(), &after).await.unwrap();
        assert_eq!(older.len(), 1);
        assert_eq!(older[0].entry.reason, "created", "the marker pages on from the newest");
    }
}
