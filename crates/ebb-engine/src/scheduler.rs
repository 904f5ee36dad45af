//! The scheduler: fires schedule policies at their due time, exactly once, and applies time
//! windows as they start and end.
//!
//! Next fire times are stored with the policies (`ebb-store`), so nothing is lost or repeated
//! across restarts. The loop sleeps until the earliest due time (or until schedules change),
//! then fires every due schedule; each firing is one store transaction that executes the
//! policy through the same path as an API execute, records the event and arms the next time,
//! and only fires if the schedule is still due at that time. Events missed while the server
//! was down run once if they are younger than the grace period, and are recorded as skipped
//! otherwise.

use std::sync::Arc;
use std::time::Duration;

use ebb_store::{Execution, Store};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::converger::{Converger, Trigger};
use crate::metrics::{EngineMetrics, Outcome, Source};

/// The longest the loop sleeps without looking at the store again.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Due schedules fired together at most.
const BATCH: usize = 1000;

/// Fires schedule policies.
pub struct Scheduler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    converger: Arc<Converger>,
    metrics: EngineMetrics,
    grace: Duration,
    changed: Notify,
}

impl Scheduler {
    /// A scheduler running missed events younger than `grace`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        converger: Arc<Converger>,
        metrics: EngineMetrics,
        grace: Duration,
    ) -> Arc<Self> {
        Arc::new(Scheduler { store, clock, converger, metrics, grace, changed: Notify::new() })
    }

    /// Tells the scheduler that schedules were created, changed or deleted.
    pub fn schedules_changed(&self) {
        self.changed.notify_one();
    }

    /// Runs until `shutdown` completes.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        loop {
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
                _ = self.changed.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }

    async fn until_next(&self) -> Duration {
        match self.store.next_schedule().await {
            Ok(Some(next)) => {
                let wait = next.duration_since(self.clock.now());
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
    async fn fire_due(&self) -> Result<bool, ebb_store::StoreError> {
        let now = self.clock.now();
        for (group, due) in self.store.due_windows(now, BATCH).await? {
            match self.store.fire_window(&group, due, self.clock.now()).await {
                Ok(Some(true)) => {
                    tracing::info!(group = %group, "time window change applied");
                    self.converger.trigger(&group, Trigger::User);
                }
                Ok(_) => {}
                Err(err) => tracing::error!(group = %group, error = %err, "time window change failed"),
            }
        }
        let due = self.store.due_schedules(now, BATCH).await?;
        let full = due.len() == BATCH;
        let grace = jiff::SignedDuration::try_from(self.grace).unwrap_or(jiff::SignedDuration::MAX);
        // Fired concurrently so the store commits them together.
        let firings = due.into_iter().map(|schedule| {
            let store = self.store.clone();
            let now = self.clock.now();
            async move { (store.fire_schedule(&schedule.policy_id, schedule.due, now, grace).await, schedule) }
        });
        for (result, schedule) in futures::future::join_all(firings).await {
            match result {
                Ok(Some(fired)) => {
                    let lateness_ms = fired.event.at.duration_since(schedule.due).as_millis();
                    tracing::info!(
                        tenant = %fired.tenant_id,
                        group = %schedule.group_id,
                        policy = %schedule.policy_id,
                        lateness_ms,
                        kind = fired.event.kind.as_str(),
                        message = %fired.event.message,
                        "schedule due"
                    );
                    let outcome = match fired.execution {
                        Some(Execution::Scaled { .. }) => Outcome::Scaled,
                        Some(Execution::Refused(ebb_core::capacity::Refusal::Cooldown)) => Outcome::Cooldown,
                        Some(Execution::Refused(ebb_core::capacity::Refusal::NoChange)) => Outcome::NoChange,
                        Some(Execution::Paused) | None => Outcome::Paused,
                    };
                    self.metrics.execution(Source::Schedule, outcome);
                    if fired.execution.is_some() {
                        self.converger.trigger(&schedule.group_id, Trigger::User);
                    }
                }
                Ok(None) => {}
                Err(err) => {
                    self.metrics.execution(Source::Schedule, Outcome::Failed);
                    tracing::error!(policy = %schedule.policy_id, error = %err, "schedule firing failed");
                }
            }
        }
        Ok(full)
    }
}
