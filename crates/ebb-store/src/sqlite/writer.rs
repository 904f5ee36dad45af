//! The writer: one thread owning the only writing connection, committing the writes waiting
//! in its queue together, in one transaction with one fsync, each in a savepoint of its own so
//! a failed write does not disturb the others (decision 0003).

use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::rows::backend;
use crate::error::StoreError;

/// The most writes committed together.
const MAX_BATCH: usize = 512;

type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Finish) + Send>;

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

    /// Runs `work` inside the writer's transaction and returns once it is committed.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
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
        self.queue.send(job).map_err(|_| StoreError::Closed)?;
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
        for job in batch {
            if let Err(err) = statement(&conn, "SAVEPOINT job") {
                tracing::error!(error = %err, "store writer could not open a savepoint");
                continue;
            }
            let (ok, finish) = job(&conn);
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
        let committed = statement(&conn, "COMMIT").map(|_| ()).map_err(backend("committing"));
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
