//! Retention: history entries and per-minute metric aggregates older than their retention are
//! deleted in small batches, each its own short write, so pruning never holds up a decision.

use std::sync::Arc;
use std::time::Duration;

use ebb_store::StoreError;
use futures::future::BoxFuture;
use jiff::{SignedDuration, Timestamp};

use crate::engine::Engine;

/// Rows deleted per write.
const BATCH: usize = 1000;

/// How often pruning runs.
const EVERY: Duration = Duration::from_secs(3600);

/// How long each kind of record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The history of desired capacity.
    pub history: Duration,
    /// Per-minute aggregates of metrics.
    pub metric_minutes: Duration,
}

/// Deletes, batch by batch, what `prune` finds older than `retention`.
async fn prune_all(
    engine: &Engine,
    what: &str,
    retention: Duration,
    prune: impl Fn(Timestamp) -> BoxFuture<'static, Result<usize, StoreError>>,
) {
    let retention = SignedDuration::try_from(retention).unwrap_or(SignedDuration::MAX);
    let before = engine.clock().now().checked_sub(retention).unwrap_or(Timestamp::MIN);
    let mut pruned = 0;
    loop {
        match prune(before).await {
            Ok(count) => {
                pruned += count;
                if count < BATCH {
                    break;
                }
                // Let decisions in between batches.
                tokio::task::yield_now().await;
            }
            Err(err) => {
                tracing::error!(error = %err, what, "cannot prune");
                break;
            }
        }
    }
    if pruned > 0 {
        tracing::info!(pruned, %before, what, "pruned");
    }
}

/// Prunes at start and then hourly, until `shutdown`.
pub async fn run(engine: Arc<Engine>, retention: Retention, shutdown: impl Future<Output = ()> + Send) {
    tokio::pin!(shutdown);
    loop {
        let store = engine.store().clone();
        prune_all(&engine, "history", retention.history, |before| {
            let store = store.clone();
            Box::pin(async move { store.prune_history(before, BATCH).await })
        })
        .await;
        prune_all(&engine, "metric minutes", retention.metric_minutes, |before| {
            let store = store.clone();
            Box::pin(async move { store.prune_minutes(before, BATCH).await })
        })
        .await;
        tokio::select! {
            _ = &mut shutdown => return,
            _ = engine.clock().sleep(EVERY) => {}
        }
    }
}
