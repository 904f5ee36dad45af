//! One collector's task: read, record, wait for the next read; until it is stopped or its
//! group is gone.

use std::sync::{Arc, Mutex};

use ebb_core::collector::health::Health;
use ebb_core::collector::schedule;
use ebb_core::collector::sources::Source;
use ebb_store::{CollectorRecord, StoreError};

use super::read::Reader;
use crate::engine::Engine;

/// A number uniform in `[0, 1)`, from the operating system (1 when it has none to give: the
/// read is then merely not jittered).
fn random() -> f64 {
    getrandom::u64().map_or(0.5, |bits| (bits >> 11) as f64 / (1u64 << 53) as f64)
}

/// Reads `record`'s source every interval until aborted.
pub(super) async fn run(engine: Arc<Engine>, record: CollectorRecord, mut reader: Reader, health: Arc<Mutex<Health>>) {
    let clock = engine.clock().clone();
    let collector = &record.collector;
    let (interval, timeout) = (collector.interval, collector.timeout);
    let penalty = match &collector.source {
        Source::HttpProbe(probe) => probe.penalty,
        _ => None,
    };
    let mut due = schedule::first(clock.now(), interval, random());
    loop {
        clock.sleep_until(due).await;
        let started = clock.now();
        lock(&health).started(started);
        let outcome = tokio::select! {
            read = reader.read(&engine) => read,
            () = clock.sleep(timeout.unsigned_abs()) => {
                Err(format!("no answer within the timeout of {} s", timeout.as_secs_f64()))
            }
        };
        let ended = clock.now();
        let took = ended.duration_since(started);
        let value = match outcome {
            Ok(value) => {
                lock(&health).succeeded(ended, value, took);
                Some(value)
            }
            Err(message) => {
                let message = reader.scrubbed(&message);
                tracing::debug!(group = %record.group_id, collector = %record.id, error = %message, "a collector's read failed");
                lock(&health).failed(ended, message, took);
                penalty
            }
        };
        match engine.collected(&record.group_id, &collector.metric, ended, value).await {
            Err(StoreError::GroupNotFound) => {
                engine.collectors().stop_group(&record.group_id);
                return;
            }
            Err(err) => tracing::warn!(group = %record.group_id, error = %err, "a collected sample was not recorded"),
            Ok(()) => {}
        }
        due = schedule::next(started, ended, interval, random());
    }
}

fn lock(health: &Mutex<Health>) -> std::sync::MutexGuard<'_, Health> {
    health.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
