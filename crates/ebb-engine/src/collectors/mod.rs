//! Collectors at work: one task per collector reads its source on its own interval (with
//! jitter, [`ebb_core::collector::schedule`]), each read cut off at its timeout, and its value
//! becomes a group-wide sample of its metric in the metric store — where the group's policies
//! and rules read it like any other — or, when the read fails, the metric's value is dropped
//! so the policies see a failed read and their fallbacks at once. What the reads come to is
//! each collector's [`Health`], kept here and shown by the API and on `/metrics`.
//!
//! The engine sequences: the store holds the documents; this module starts a group's tasks
//! when its collectors are created, restarts one replaced, stops one deleted or whose group
//! is gone. A task sleeps between reads, so idle collectors cost a timer each.

mod balancers;
mod http;
mod queues;
mod read;
mod redis;
mod run;
mod sql;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ebb_core::collector::Collector;
use ebb_core::collector::health::Health;
use ebb_core::ids::{CollectorId, GroupId, TenantId};
use ebb_core::limits::Limits;
use ebb_core::metrics::series::Sample;
use ebb_store::{CollectorRecord, NewCollector, StoreError};
use jiff::Timestamp;

use crate::engine::Engine;
use crate::samples::lock;
pub use read::{Unavailable, check};

/// A collector running.
struct Running {
    group: GroupId,
    name: String,
    metric: String,
    kind: &'static str,
    health: Arc<Mutex<Health>>,
    task: tokio::task::AbortHandle,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every running collector, and what they share.
pub struct Collectors {
    /// One HTTP client for every HTTP source: its connections are pooled.
    http: reqwest::Client,
    running: Mutex<HashMap<CollectorId, Running>>,
}

impl Default for Collectors {
    fn default() -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .unwrap_or_default();
        Collectors { http, running: Mutex::new(HashMap::new()) }
    }
}

/// A collector and how its reads are going.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectorStatus {
    /// Its id.
    pub id: CollectorId,
    /// Its group.
    pub group: GroupId,
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: &'static str,
    /// The metric it feeds.
    pub metric: String,
    /// Its reads so far (since this server started it).
    pub health: Health,
}

impl Collectors {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<CollectorId, Running>> {
        self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The status of every running collector of `group`, or of every group, by id.
    pub fn statuses(&self, group: Option<&GroupId>) -> Vec<CollectorStatus> {
        let running = self.running();
        let mut statuses: Vec<CollectorStatus> = running
            .iter()
            .filter(|(_, r)| group.is_none_or(|g| &r.group == g))
            .map(|(id, r)| CollectorStatus {
                id: id.clone(),
                group: r.group.clone(),
                name: r.name.clone(),
                kind: r.kind,
                metric: r.metric.clone(),
                health: r.health.lock().map(|h| h.clone()).unwrap_or_default(),
            })
            .collect();
        statuses.sort_by(|a, b| a.id.cmp(&b.id));
        statuses
    }

    /// The health of one collector, if it runs.
    pub fn health(&self, id: &CollectorId) -> Option<Health> {
        self.running().get(id).map(|r| r.health.lock().map(|h| h.clone()).unwrap_or_default())
    }

    /// Stops every collector of `group`.
    pub fn stop_group(&self, group: &GroupId) {
        self.running().retain(|_, r| &r.group != group);
    }

    /// How many run.
    pub fn len(&self) -> usize {
        self.running().len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Engine {
    /// Starts every stored collector (at start).
    pub async fn start_collectors(self: &Arc<Self>) -> Result<usize, StoreError> {
        let all = self.store().all_collectors(None).await?;
        let count = all.len();
        for record in all {
            self.start_collector(record);
        }
        Ok(count)
    }

    /// Creates collectors in a group, all or none, and starts them.
    pub async fn create_collectors(
        self: &Arc<Self>,
        tenant: &TenantId,
        group: &GroupId,
        collectors: Vec<NewCollector>,
        limits: Limits,
    ) -> Result<Vec<CollectorRecord>, StoreError> {
        let created = self.store().create_collectors(tenant, group, collectors, limits, self.now()).await?;
        for record in &created {
            self.start_collector(record.clone());
        }
        Ok(created)
    }

    /// Replaces a collector's document and restarts it.
    pub async fn replace_collector(
        self: &Arc<Self>,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
        body: NewCollector,
    ) -> Result<CollectorRecord, StoreError> {
        let replaced = self.store().replace_collector(tenant, group, collector, body, self.now()).await?;
        self.start_collector(replaced.clone());
        Ok(replaced)
    }

    /// Deletes a collector and stops it.
    pub async fn delete_collector(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        collector: &CollectorId,
    ) -> Result<(), StoreError> {
        self.store().delete_collector(tenant, group, collector).await?;
        self.collectors.running().remove(collector);
        Ok(())
    }

    /// The running collectors.
    pub fn collectors(&self) -> &Collectors {
        &self.collectors
    }

    /// Starts `record`'s task, in place of the one running for it if any.
    fn start_collector(self: &Arc<Self>, record: CollectorRecord) {
        let health = Arc::new(Mutex::new(Health::default()));
        let reader = read::Reader::build(&record, self.collectors.http.clone());
        let task = tokio::spawn(run::run(self.clone(), record.clone(), reader, health.clone()));
        let Collector { name, metric, .. } = record.collector.clone();
        let running = Running {
            group: record.group_id.clone(),
            name,
            metric,
            kind: record.collector.kind(),
            health,
            task: task.abort_handle(),
        };
        // A collector running already (a replacement) is stopped as its entry is dropped.
        self.collectors.running().insert(record.id, running);
    }

    /// A collector of `group` read `value` of `metric` at `at` (or failed to, with `None`):
    /// a group-wide sample, and the group's rules and the policies reading the metric
    /// evaluated, as for any sample. `GroupNotFound`
    /// once the group is gone.
    pub(crate) async fn collected(
        self: &Arc<Self>,
        group: &GroupId,
        metric: &str,
        at: Timestamp,
        value: Option<f64>,
    ) -> Result<(), StoreError> {
        self.metric_facts(group).await?;
        let Some(entry) = self.samples.get(group) else { return Err(StoreError::GroupNotFound) };
        let mut entry = lock(&entry);
        match value {
            Some(value) => {
                if let Err(refused) = entry.metrics.record_group(metric, Sample { at, value }) {
                    tracing::debug!(%group, metric, error = %refused, "a collected sample was not kept");
                }
            }
            None => entry.metrics.group_failed(metric, at),
        }
        let now = self.now();
        self.samples_taken(group, &mut entry, std::iter::once(metric), now);
        Ok(())
    }
}
