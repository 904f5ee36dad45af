//! The checkpointer: one thread with a connection of its own that copies the write-ahead log
//! back into the database file, so that the writer never does it inside a commit.
//!
//! Left to itself, SQLite checkpoints in the commit that takes the log past 1,000 pages: that
//! one commit, and every caller waiting on it, pays for copying and syncing the whole log. Here
//! the writer's connection does not checkpoint (`wal_autocheckpoint = 0`); this thread runs a
//! `PASSIVE` checkpoint every [`INTERVAL`], which waits for no one and blocks no one, and the
//! writer starts the log over once a checkpoint has caught up with it.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::StoreError;

/// How often the log is copied back.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// Stops the thread when dropped.
pub struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`, on a connection of its own.
    pub fn start(conn: Connection, path: &Path) -> Result<Checkpointer, StoreError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let path = path.display().to_string();
        std::thread::Builder::new()
            .name("ebb-store-checkpoint".into())
            .spawn(move || {
                // The sender is never used: it ends the loop by being dropped with the store.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(database = %path, error = %err, "checkpoint failed; retrying");
                    }
                }
            })
            .map_err(|err| StoreError::Backend { context: "starting the checkpointer", message: err.to_string() })?;
        Ok(Checkpointer { _stop: stop })
    }
}
