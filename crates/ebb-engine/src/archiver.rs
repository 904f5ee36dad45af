//! Per-minute aggregates of every group's metrics, stored once a minute in one write (so a
//! high sample rate costs the store nothing more), for history queries.

use std::sync::Arc;
use std::time::Duration;

use ebb_store::StoreError;

use crate::engine::Engine;
use crate::samples::lock;

/// How often the minutes that are over are stored.
const EVERY: Duration = Duration::from_secs(60);

impl Engine {
    /// Stores the per-minute aggregates of every minute that is over; returns how many.
    pub async fn archive_minutes(&self) -> Result<usize, StoreError> {
        let now = self.now();
        let mut rows = Vec::new();
        for (group, entry) in self.samples.entries() {
            rows.extend(lock(&entry).metrics.take_minutes(now).into_iter().map(|m| (group.clone(), m)));
        }
        let count = rows.len();
        if count > 0 {
            self.store().append_minutes(rows).await?;
        }
        Ok(count)
    }
}

/// Archives every minute, until `shutdown`, and once more then.
pub async fn run(engine: Arc<Engine>, shutdown: impl Future<Output = ()> + Send) {
    tokio::pin!(shutdown);
    loop {
        let stop = tokio::select! {
            _ = &mut shutdown => true,
            _ = engine.clock().sleep(EVERY) => false,
        };
        if let Err(err) = engine.archive_minutes().await {
            tracing::error!(error = %err, "cannot store the minutes of metrics");
        }
        if stop {
            return;
        }
    }
}
