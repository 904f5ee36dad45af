//! The scheduler: fires schedule policies at their due time, exactly once, and applies time
//! windows as they start and end, through the engine (the one path of decisions).
//!
//! Next fire times are stored with the policies (`ebb-store`), so nothing is lost or repeated
//! across restarts. The loop sleeps on the engine's clock until the earliest due time (or
//! until schedules change), then fires every due schedule; each firing is one decision that
//! the store commits only if the schedule is still due at that time. Events missed while the
//! server was down run once if they are younger than the grace period, and are recorded as
//! skipped otherwise.

use std::sync::Arc;
use std::time::Duration;

use ebb_store::StoreError;

use crate::engine::Engine;

/// The longest the loop sleeps without looking at the store again.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Due schedules fired together at most.
const BATCH: usize = 1000;

/// Fires schedule policies and window changes.
pub struct Scheduler {
    engine: Arc<Engine>,
    grace: Duration,
}

impl Scheduler {
    /// A scheduler running missed events younger than `grace`.
    pub fn new(engine: Arc<Engine>, grace: Duration) -> Arc<Self> {
        Arc::new(Scheduler { engine, grace })
    }

    /// Runs until `shutdown` completes.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        let changed = self.engine.schedules_changed().clone();
        let clock = self.engine.clock().clone();
        loop {
            // Registered before looking, so a change made while firing is not missed.
            let notified = changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let sleep = match self.fire_due().await {
                Ok(true) => Duration::ZERO,
                Ok(false) => self.until_next().await,
                Err(err) => {
                    tracing::error!(error = %err, "scheduler cannot read schedules");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = &mut notified => {}
                _ = clock.sleep(sleep) => {}
            }
        }
    }

    async fn until_next(&self) -> Duration {
        match self.engine.store().next_schedule().await {
            Ok(Some(next)) => {
                let wait = next.duration_since(self.engine.clock().now());
                Duration::try_from(wait).unwrap_or(Duration::ZERO).min(MAX_SLEEP)
            }
            Ok(None) => MAX_SLEEP,
            Err(err) => {
                tracing::error!(error = %err, "scheduler cannot read the next schedule");
                Duration::from_secs(1)
            }
        }
    }

    /// Applies every due window change and fires every due schedule; returns whether a full
    /// batch was due (more may be waiting).
    async fn fire_due(&self) -> Result<bool, StoreError> {
        let now = self.engine.clock().now();
        let store = self.engine.store();
        for (group, due) in store.due_windows(now, BATCH).await? {
            if let Err(err) = self.engine.fire_window(&group, due).await {
                tracing::error!(group = %group, error = %err, "time window change failed");
            }
        }
        let due = store.due_schedules(now, BATCH).await?;
        let full = due.len() == BATCH;
        let grace = jiff::SignedDuration::try_from(self.grace).unwrap_or(jiff::SignedDuration::MAX);
        // Fired concurrently so the store commits them together.
        let firings = due.into_iter().map(|schedule| async move {
            let result = self.engine.fire_schedule(&schedule.policy_id, schedule.due, grace).await;
            if let Err(err) = result {
                tracing::error!(policy = %schedule.policy_id, error = %err, "schedule firing failed");
            }
        });
        futures::future::join_all(firings).await;
        Ok(full)
    }
}
