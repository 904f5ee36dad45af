//! Built-in metrics of `local_process` groups, measured by Ebb itself every few seconds and
//! taken into the metric store like any sample, for the groups whose rules or policies read
//! them:
//!
//! - from the operating system, over every process of the member: `memoryused` (resident
//!   memory, MB), `memoryutil` (that, as a percentage of the member's `memory_quota_mb`),
//!   `cpu` (CPU time since the last measurement, as a percentage of one core) and `cpuutil`
//!   (that, as a percentage of the member's `cpu_quota` cores);
//! - from the built-in load balancer, per member: `responsetime` (the 95th percentile of the
//!   time to response headers over its recent requests, ms; 0 without requests), `throughput`
//!   (requests a second over the last 10 s), `inflight` (requests in flight) and
//!   `connections` (connections open to it).
//!
//! `throughput` is recorded for every such group behind a built-in load balancer, read or not:
//! it is the demand `ebb simulate --group` replays.
//!
//! A member's slot is its place among the group's members that have not exited, by id. Each
//! measurement is also the tick on which metric policies are evaluated as time passes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ebb_core::ids::GroupId;
use ebb_core::metrics::series::Sample;
use jiff::Timestamp;

use crate::converger::MemberView;
use crate::engine::Engine;
use crate::provider::local_process::procfs;
use crate::rules::SlotSample;
use crate::samples::lock;

/// Linux counts CPU time in `USER_HZ` ticks, which are 100 a second on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;

const OS_METRICS: [&str; 4] = ["memoryused", "memoryutil", "cpu", "cpuutil"];
/// The balancer metric recorded whether or not anything reads it: requests served, the
/// demand a replay of the group's history is made of.
const REPLAYED: &str = "throughput";

/// Each member's CPU time at the last measurement.
#[derive(Debug, Default)]
pub struct CpuClock {
    last: HashMap<String, (Instant, u64)>,
}

impl CpuClock {
    /// CPU use of `member` since the last call, in percent of one core (`None` the first time).
    fn percent(&mut self, member: &str, now: Instant, ticks: u64) -> Option<f64> {
        let previous = self.last.insert(member.to_string(), (now, ticks));
        let (then, before) = previous?;
        let elapsed = now.duration_since(then).as_secs_f64();
        (elapsed > 0.0).then(|| ticks.saturating_sub(before) as f64 / TICKS_PER_SECOND / elapsed * 100.0)
    }

    /// Forgets members not in `live`.
    fn retain(&mut self, live: &HashSet<String>) {
        self.last.retain(|member, _| live.contains(member));
    }
}

/// The samples the OS gives of one member.
fn os_samples(
    member: &MemberView,
    processes: &[procfs::ProcessInfo],
    cpu: &mut CpuClock,
    quotas: (Option<f64>, Option<f64>),
) -> Vec<(&'static str, f64)> {
    let leader = member.reference.get("pid").and_then(|p| p.as_u64()).and_then(|p| u32::try_from(p).ok());
    let pids = procfs::of_member(&member.id, leader, processes);
    if pids.is_empty() {
        return Vec::new();
    }
    let (rss_kib, ticks) =
        pids.iter().filter_map(|pid| procfs::usage(*pid)).fold((0, 0), |(r, t), (rss, ticks)| (r + rss, t + ticks));
    let memory_mb = rss_kib as f64 / 1024.0;
    let mut samples = vec![("memoryused", memory_mb)];
    if let Some(quota) = quotas.0 {
        samples.push(("memoryutil", memory_mb / quota * 100.0));
    }
    if let Some(percent) = cpu.percent(&member.id, Instant::now(), ticks) {
        samples.push(("cpu", percent));
        if let Some(cores) = quotas.1 {
            samples.push(("cpuutil", percent / cores));
        }
    }
    samples
}

impl Engine {
    /// Measures the built-in metrics every group's rules read, once.
    pub fn measure_builtins(self: &Arc<Self>, cpu: &mut CpuClock) {
        let now = self.now();
        let mut processes: Option<Vec<procfs::ProcessInfo>> = None;
        let mut live = HashSet::new();
        for (group, entry) in self.samples.entries() {
            let facts = lock(&entry).facts.clone();
            let wanted: HashSet<&str> = facts
                .paced
                .iter()
                .map(|r| r.metric.as_str())
                .chain(facts.policy_metrics.iter().map(String::as_str))
                .collect();
            let os = OS_METRICS.iter().any(|m| wanted.contains(m));
            let stats = self.converger().balancer_stats(group.as_str());
            if !os && stats.is_empty() {
                continue;
            }
            let members = self.live_members(&group);
            let mut samples = Vec::new();
            for (slot, member) in members.iter().enumerate() {
                live.insert(member.id.clone());
                let mut measured = Vec::new();
                if os {
                    let processes = processes.get_or_insert_with(procfs::all);
                    measured.extend(os_samples(member, processes, cpu, (facts.memory_quota_mb, facts.cpu_quota)));
                }
                let traffic = stats.iter().flat_map(|s| &s.members).find(|s| s.member_id == member.id);
                if let Some(traffic) = traffic.map(|t| &t.traffic) {
                    measured.extend([
                        ("responsetime", traffic.p95_ms),
                        ("throughput", traffic.requests_per_second),
                        ("inflight", traffic.in_flight as f64),
                        ("connections", traffic.open_connections as f64),
                    ]);
                }
                let kept = |metric: &&str| *metric == REPLAYED || wanted.contains(metric);
                samples.extend(measured.into_iter().filter(|(metric, _)| kept(metric)).map(|(metric, value)| {
                    SlotSample { metric: metric.to_string(), slot: slot as u32, sample: Sample { at: now, value } }
                }));
            }
            self.record_measured(&group, &samples, now);
        }
        cpu.retain(&live);
    }

    fn record_measured(self: &Arc<Self>, group: &GroupId, samples: &[SlotSample], now: Timestamp) {
        if samples.is_empty() {
            return;
        }
        if let Err(err) = self.record_samples(group, samples) {
            tracing::debug!(group = %group, error = %err, %now, "a measured sample was not kept");
        }
    }
}

/// Measures every `interval`, until `shutdown`.
pub async fn run(engine: Arc<Engine>, interval: Duration, shutdown: impl Future<Output = ()> + Send) {
    tokio::pin!(shutdown);
    let mut cpu = CpuClock::default();
    loop {
        engine.measure_builtins(&mut cpu);
        engine.tick_policies();
        tokio::select! {
            _ = &mut shutdown => return,
            _ = engine.clock().sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_use_is_cpu_time_over_wall_time() {
        let mut clock = CpuClock::default();
        let start = Instant::now();
        assert_eq!(clock.percent("m", start, 1000), None, "nothing to compare with yet");
        // 50 ticks (0.5 s of CPU) in 2 s is a quarter of a core.
        assert_eq!(clock.percent("m", start + Duration::from_secs(2), 1050), Some(25.0));
        clock.retain(&HashSet::new());
        assert_eq!(clock.percent("m", start + Duration::from_secs(3), 1100), None, "forgotten");
    }
}
