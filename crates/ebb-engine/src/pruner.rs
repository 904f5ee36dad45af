//! History retention: entries older than the retention are deleted in small batches, each its
//! own short write, so pruning never holds up a decision.

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;

use crate::engine::Engine;

/// Entries deleted per write.
const BATCH: usize = 1000;

/// How often pruning runs.
const EVERY: Duration = Duration::from_secs(3600);

/// Deletes history older than `retention`, at start and then hourly, until `shutdown`.
pub async fn run(engine: Arc<Engine>, retention: Duration, shutdown: impl Future<Output = ()> + Send) {
    tokio::pin!(shutdown);
    let retention = SignedDuration::try_from(retention).unwrap_or(SignedDuration::MAX);
    loop {
        let before = engine.clock().now().checked_sub(retention).unwrap_or(jiff::Timestamp::MIN);
        let mut pruned = 0;
        loop {
            match engine.store().prune_history(before, BATCH).await {
                Ok(count) => {
                    pruned += count;
                    if count < BATCH {
                        break;
                    }
                    // Let decisions in between batches.
                    tokio::task::yield_now().await;
                }
                Err(err) => {
                    tracing::error!(error = %err, "cannot prune the history");
                    break;
                }
            }
        }
        if pruned > 0 {
            tracing::info!(pruned, %before, "history pruned");
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = engine.clock().sleep(EVERY) => {}
        }
    }
}
