//! The writer: one thread owning the only writing connection, committing the writes waiting
//! in its queue together, in one transaction with one fsync (decision 0003). A failed write
//! does not disturb the others: most run in a savepoint of their own; the ones that can fail
//! only before they change anything (decisions, the hot path) run without one, and should
//! one of them fail after a change all the same, its whole batch is rolled back.

use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::rows::backend;
use crate::error::StoreError;

/// The most writes committed together.
const MAX_BATCH: usize = 512;

type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Work = Box<dyn FnOnce(&Connection) -> (bool, Finish) + Send>;

/// How a write is kept from disturbing the others committed with it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// In a savepoint of its own, rolled back alone when it fails.
    Savepoint,
    /// Without one: it fails, if at all, before its first change. A savepoint copies every
    /// page a write touches into a journal in memory, which is most of a small write's cost.
    FailsBeforeChanging,
}

struct Job {
    guard: Guard,
    work: Work,
}

/// The handle writes are sent through.
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub fn start(conn: Connection) -> Result<Writer, StoreError> {
        let (queue, jobs) = mpsc::channel();
        std::thread::Builder::new()
            .name("ebb-store-writer".into())
            .spawn(move || run(conn, jobs))
            .map_err(|err| StoreError::Backend { context: "starting the writer", message: err.to_string() })?;
        Ok(Writer { queue })
    }

    /// Runs `work` inside the writer's transaction, in a savepoint of its own, and returns
    /// once it is committed.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(Guard::Savepoint, work).await
    }

    /// Runs `work`, which fails (if it does) before it changes anything, inside the writer's
    /// transaction without a savepoint, and returns once it is committed. Should it fail after
    /// a change all the same, its batch is rolled back and every write in it answered with an
    /// error: nothing half-done is ever committed.
    pub async fn write_failing_before_changes<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(Guard::FailsBeforeChanging, work).await
    }

    async fn submit<T, F>(&self, guard: Guard, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let work: Work = Box::new(move |conn| {
            let result = work(conn);
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |committed| {
                // The caller may have gone away (a dropped request); nothing to tell then.
                let _ = reply.send(committed.and(result));
            });
            (ok, finish)
        });
        self.queue.send(Job { guard, work }).map_err(|_| StoreError::Closed)?;
        // The writer drops a job unrun only when its transaction could not begin; it logs why.
        answer.await.map_err(|_| StoreError::Backend {
            context: "writing",
            message: "the write was not run because its transaction could not begin".to_string(),
        })?
    }
}

/// Batches queued jobs into transactions until every sender is gone.
fn run(conn: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(err) = statement(&conn, "BEGIN IMMEDIATE") {
            tracing::error!(error = %err, "store writer could not begin a transaction");
            // Dropping the jobs unrun answers each caller with an error.
            continue;
        }
        let mut finishes = Vec::with_capacity(batch.len());
        let mut half_done = false;
        for job in batch {
            match job.guard {
                Guard::Savepoint => {
                    if let Err(err) = statement(&conn, "SAVEPOINT job") {
                        tracing::error!(error = %err, "store writer could not open a savepoint");
                        continue;
                    }
                    let (ok, finish) = (job.work)(&conn);
                    let closing = if ok {
                        statement(&conn, "RELEASE job")
                    } else {
                        statement(&conn, "ROLLBACK TO job").and_then(|_| statement(&conn, "RELEASE job"))
                    };
                    if let Err(err) = closing {
                        tracing::error!(error = %err, "store writer could not close a savepoint");
                    }
                    finishes.push(finish);
                }
                Guard::FailsBeforeChanging => {
                    let changes = conn.total_changes();
                    let (ok, finish) = (job.work)(&conn);
                    if !ok && conn.total_changes() != changes {
                        half_done = true;
                    }
                    finishes.push(finish);
                }
            }
        }
        let committed = if half_done {
            Err(StoreError::Backend {
                context: "writing",
                message: "a write failed after changing the store; every write committed with it was rolled back"
                    .to_string(),
            })
        } else {
            statement(&conn, "COMMIT").map(|_| ()).map_err(backend("committing"))
        };
        if let Err(err) = &committed {
            tracing::error!(error = %err, "store commit failed");
            let _ = statement(&conn, "ROLLBACK");
        }
        for finish in finishes {
            finish(committed.clone());
        }
    }
}

/// Runs one statement that returns no rows, prepared once per connection.
fn statement(conn: &Connection, sql: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute([])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (tempfile::TempDir, Writer, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER NOT NULL UNIQUE);").unwrap();
        let reader = Connection::open(&path).unwrap();
        (dir, Writer::start(conn).unwrap(), reader)
    }

    fn values(reader: &Connection) -> Vec<i64> {
        let mut statement = reader.prepare("SELECT v FROM t ORDER BY v").unwrap();
        statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
    }

    fn insert(conn: &Connection, v: i64) -> Result<(), StoreError> {
        conn.execute("INSERT INTO t (v) VALUES (?1)", [v]).map(|_| ()).map_err(backend("inserting"))
    }

    #[tokio::test]
    async fn a_write_that_fails_in_its_savepoint_leaves_the_others_committed() {
        let (_dir, writer, reader) = writer();
        let (first, failing, last) = tokio::join!(
            writer.write(|conn| insert(conn, 1)),
            writer.write(|conn| {
                insert(conn, 2)?;
                insert(conn, 1)
            }),
            writer.write(|conn| insert(conn, 3)),
        );
        assert!(first.is_ok() && last.is_ok());
        assert!(failing.is_err());
        assert_eq!(values(&reader), [1, 3], "the failed write's first insert was rolled back alone");
    }

    #[tokio::test]
    async fn a_write_failing_before_changes_leaves_the_others_committed() {
        let (_dir, writer, reader) = writer();
        let (first, refused, last) = tokio::join!(
            writer.write_failing_before_changes(|conn| insert(conn, 1)),
            writer.write_failing_before_changes(|_| Err::<(), _>(StoreError::GroupNotFound)),
            writer.write_failing_before_changes(|conn| insert(conn, 3)),
        );
        assert!(first.is_ok() && last.is_ok());
        assert!(matches!(refused, Err(StoreError::GroupNotFound)), "its own error: {refused:?}");
        assert_eq!(values(&reader), [1, 3]);
    }

    #[tokio::test]
    async fn a_write_failing_after_a_change_all_the_same_commits_nothing_half_done() {
        let (_dir, writer, reader) = writer();
        let half_done = writer
            .write_failing_before_changes(|conn| {
                insert(conn, 2)?;
                insert(conn, 2)
            })
            .await;
        assert!(half_done.is_err());
        assert_eq!(values(&reader), Vec::<i64>::new(), "its first insert is not committed");
        writer.write_failing_before_changes(|conn| insert(conn, 4)).await.unwrap();
        assert_eq!(values(&reader), [4], "the writer goes on committing afterwards");
    }
}
