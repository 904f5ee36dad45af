//! The readers: a fixed number of threads, each owning one read-only connection, taking
//! read jobs from one bounded queue.
//!
//! Nothing is opened per request: the connections and threads are made once, when the store
//! opens. A caller waits for a reader at most the configured time; past it, or when the queue
//! is full, it gets [`StoreError::Busy`] (the API answers 503 with `Retry-After`), and a job
//! whose caller stopped waiting is dropped unrun.

use std::path::Path;
use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::StoreError;

/// How many readers, and how long a caller waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPool {
    /// Read connections (and threads).
    pub readers: usize,
    /// The longest a read waits for a free reader.
    pub wait: Duration,
    /// Reads queued at most.
    pub queue: usize,
}

impl Default for ReadPool {
    fn default() -> Self {
        ReadPool { readers: 4, wait: Duration::from_secs(5), queue: 4096 }
    }
}

type Job = Box<dyn FnOnce(&Connection) + Send>;

/// The handle callers send read jobs through.
pub struct Readers {
    queue: Sender<Job>,
    wait: Duration,
}

impl Readers {
    /// Opens `pool.readers` connections with `open` and starts a thread for each.
    pub fn start(
        path: &Path,
        pool: ReadPool,
        open: impl Fn(&Path) -> Result<Connection, StoreError>,
    ) -> Result<Readers, StoreError> {
        let (queue, jobs) = crossbeam_channel::bounded::<Job>(pool.queue.max(1));
        for index in 0..pool.readers.max(1) {
            let conn = open(path)?;
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("ebb-store-reader-{index}"))
                .spawn(move || {
                    while let Ok(job) = jobs.recv() {
                        job(&conn);
                    }
                })
                .map_err(|err| StoreError::Backend { context: "starting a reader", message: err.to_string() })?;
        }
        Ok(Readers { queue, wait: pool.wait })
    }

    /// Runs `work` on a reader; waits for one at most the pool's wait.
    pub async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // The caller gave up waiting: nothing to do.
            if reply.is_closed() {
                return;
            }
            let _ = reply.send(work(conn));
        });
        let busy = || StoreError::Busy { retry_after: self.wait.as_secs().max(1) };
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(busy()),
            Err(TrySendError::Disconnected(_)) => return Err(StoreError::Closed),
        }
        match tokio::time::timeout(self.wait, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(StoreError::Closed),
            Err(_) => Err(busy()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_that_waits_too_long_for_a_reader_is_told_the_store_is_busy() {
        let pool = ReadPool { readers: 1, wait: Duration::from_millis(50), queue: 8 };
        let readers = Readers::start(Path::new(":memory:"), pool, |_| {
            Connection::open_in_memory()
                .map_err(|err| StoreError::Backend { context: "test", message: err.to_string() })
        })
        .unwrap();
        let readers = std::sync::Arc::new(readers);
        let (started, wait_started) = std::sync::mpsc::channel();
        let slow = tokio::spawn({
            let readers = readers.clone();
            async move {
                readers
                    .read(move |_| {
                        started.send(()).unwrap();
                        std::thread::sleep(Duration::from_millis(300));
                        Ok(1)
                    })
                    .await
            }
        });
        // The slow read is shown as Busy to its caller (it waited past 50 ms) …
        wait_started.recv().unwrap();
        let quick = readers
            .read(|conn| conn.query_row("SELECT 2", [], |row| row.get::<_, i64>(0)).map_err(|_| StoreError::Closed));
        assert!(matches!(quick.await, Err(StoreError::Busy { retry_after: 1 })));
        assert!(matches!(slow.await.unwrap(), Err(StoreError::Busy { .. })));
        // … and once the reader is free, reads go through on the same connection.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let again = readers
            .read(|conn| conn.query_row("SELECT 3", [], |row| row.get::<_, i64>(0)).map_err(|_| StoreError::Closed));
        assert_eq!(again.await.unwrap(), 3);
    }

    /// Polls a future once: its output if it was ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(mut future: F) -> Option<F::Output> {
        std::future::poll_fn(|cx| match std::pin::Pin::new(&mut future).poll(cx) {
            std::task::Poll::Ready(value) => std::task::Poll::Ready(Some(value)),
            std::task::Poll::Pending => std::task::Poll::Ready(None),
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_is_busy_at_once() {
        let pool = ReadPool { readers: 1, wait: Duration::from_secs(5), queue: 1 };
        let readers = Readers::start(Path::new(":memory:"), pool, |_| {
            Connection::open_in_memory()
                .map_err(|err| StoreError::Backend { context: "test", message: err.to_string() })
        })
        .unwrap();
        let readers = std::sync::Arc::new(readers);
        let (started, wait_started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let blocking = tokio::spawn({
            let readers = readers.clone();
            async move {
                readers
                    .read(move |_| {
                        started.send(()).unwrap();
                        released.recv().unwrap();
                        Ok(())
                    })
                    .await
            }
        });
        wait_started.recv().unwrap();
        // One read waits in the queue (of one) …
        let (sent, queued_sent) = tokio::sync::oneshot::channel();
        let queued = tokio::spawn({
            let readers = readers.clone();
            async move {
                let read = readers.read(|_| Ok(()));
                tokio::pin!(read);
                // Polled once: the job is in the queue.
                let first = futures_poll_once(read.as_mut()).await;
                let _ = sent.send(());
                match first {
                    Some(result) => result,
                    None => read.await,
                }
            }
        });
        queued_sent.await.unwrap();
        // … so the next is refused at once.
        let refused = readers.read(|_| Ok(())).await;
        assert!(matches!(refused, Err(StoreError::Busy { .. })), "{refused:?}");
        release.send(()).unwrap();
        blocking.await.unwrap().unwrap();
        queued.await.unwrap().unwrap();
    }
}
