//! The samples of one group: a bounded series per metric and member slot, and the group's
//! aggregated points per metric, which rules are evaluated on.
//!
//! How Ebb aggregates, exactly: when a sample of metric `m` arrives for slot `i` at time `t`,
//! the group's point of `m` at `t` is the ceiling of the mean of the newest sample of every
//! slot, counting only slots whose newest sample is at most `stale_after` older than `t`
//! (Cloud Foundry's stat window, 120 s by default). Samples of one instant make one point
//! (the last of them, so a batch of every member's samples yields their full mean). Cloud
//! Foundry instead takes the mean of every sample of every instance over the last 120 s, every
//! 40 s (`cf-app-autoscaler.md` §2.3): Ebb's point follows the newest value of each member, and
//! is there as soon as the sample is.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use super::aggregate;
use super::minutes::{MinuteAggregate, Minutes, Of};
use super::series::{self, Offered, Sample, Series};

/// The bounds of one group's samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most series (metric × slot) a group may have.
    pub series_per_group: usize,
    /// How many samples, and how far back, each series keeps.
    pub series: series::Bounds,
    /// How old a slot's newest sample may be and still count in the group's point.
    pub stale_after: SignedDuration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            series_per_group: 1000,
            series: series::Bounds { max_samples: 720, retention: SignedDuration::from_hours(2) },
            stale_after: SignedDuration::from_secs(120),
        }
    }
}

/// Which of each slot's samples a reader takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Samples at or after this.
    pub since: Timestamp,
    /// At most the newest this many of each slot.
    pub most: usize,
    /// Each slot's newest sample before `since` too, if it is at or after this: the slot's
    /// value at `since`.
    pub carry_from: Option<Timestamp>,
}

impl Window {
    /// The newest `most` samples of each slot at or after `since`.
    pub fn recent(since: Timestamp, most: usize) -> Window {
        Window { since, most, carry_from: None }
    }
}

/// Why a sample was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The group has as many series as it may.
    #[error("the group has {limit} series (metric and instance), the most it may have")]
    TooManySeries {
        /// The limit.
        limit: usize,
    },
    /// Older than its series keeps.
    #[error("the sample is older than its series keeps")]
    TooOld,
    /// Not a finite number.
    #[error("the value is not a finite number")]
    NotANumber,
}

/// Everything kept of one metric of a group: one map entry, so that a sample costs one lookup.
#[derive(Debug, Clone)]
struct MetricSeries {
    /// Each slot's samples, by slot: slots are dense and below the group's desired capacity
    /// (the API and the measurements keep them there), so a sample costs an index, not a
    /// search.
    slots: Vec<Option<Series>>,
    /// Each slot's newest sample, beside one another: what points and most policies read,
    /// without a visit to every series.
    newest: Vec<Option<Sample>>,
    /// The group's points.
    points: Series,
    /// The newest point, counted into its minute once no sample of its instant can change it.
    last_point: Option<Sample>,
    /// Per-minute aggregates not yet taken.
    minutes: Minutes,
    /// Samples of the whole group (a collector's), if the metric has any.
    group: Option<GroupSeries>,
}

/// The samples of a metric that describes the whole group rather than one member: a
/// collector's queue length, say.
#[derive(Debug, Clone)]
struct GroupSeries {
    samples: Series,
    /// When its source last failed: its samples until then no longer count.
    failed_at: Option<Timestamp>,
}

impl MetricSeries {
    /// Nothing kept yet.
    fn new(bounds: series::Bounds) -> Self {
        MetricSeries {
            slots: Vec::new(),
            newest: Vec::new(),
            points: Series::new(bounds),
            last_point: None,
            minutes: Minutes::default(),
            group: None,
        }
    }

    /// Counts the newest point into its minute if no sample of its instant can come by `now`.
    fn count_last_point(&mut self, now: Timestamp) {
        if let Some(point) = self.last_point.filter(|p| p.at < now) {
            self.minutes.add(Of::Group, point.at, point.value);
            self.last_point = None;
        }
    }
}

/// Keeps a sample in its slot's series, counting a new series in `series`.
fn offer(
    state: &mut MetricSeries,
    series: &mut usize,
    limits: Limits,
    slot: u32,
    sample: Sample,
) -> Result<(), Refused> {
    if !sample.value.is_finite() {
        return Err(Refused::NotANumber);
    }
    let index = slot as usize;
    if state.slots.len() <= index {
        state.slots.resize(index + 1, None);
        state.newest.resize(index + 1, None);
    }
    let exists = state.slots[index].is_some();
    if !exists && *series >= limits.series_per_group {
        return Err(Refused::TooManySeries { limit: limits.series_per_group });
    }
    let kept = state.slots[index].get_or_insert_with(|| Series::new(limits.series));
    match kept.offer(sample) {
        Offered::Kept => {}
        Offered::TooOld => return Err(Refused::TooOld),
        Offered::NotANumber => return Err(Refused::NotANumber),
    }
    state.newest[index] = kept.latest();
    if !exists {
        *series += 1;
    }
    state.minutes.add(Of::Slot(slot), sample.at, sample.value);
    Ok(())
}

/// The group's point at `at`: the aggregate of every slot's newest fresh sample.
fn make_point(state: &mut MetricSeries, stale_after: SignedDuration, at: Timestamp) {
    let fresh_from = at - stale_after;
    let newest = state.newest.iter().flatten().filter(|s| s.at >= fresh_from).map(|s| s.value);
    if let Some(value) = aggregate(newest) {
        let point = Sample { at, value: value as f64 };
        state.points.offer_replacing(point);
        if let Some(previous) = state.last_point.replace(point).filter(|p| p.at != point.at) {
            state.minutes.add(Of::Group, previous.at, previous.value);
        }
    }
}

/// One group's samples.
#[derive(Debug, Clone)]
pub struct GroupMetrics {
    limits: Limits,
    metrics: HashMap<String, MetricSeries>,
    series: usize,
}

impl GroupMetrics {
    /// No samples yet, kept within `limits`.
    pub fn new(limits: Limits) -> Self {
        GroupMetrics { limits, metrics: HashMap::new(), series: 0 }
    }

    /// Records a sample of `metric` for `slot` and the group's point it makes.
    pub fn record(&mut self, metric: &str, slot: u32, sample: Sample) -> Result<(), Refused> {
        if !sample.value.is_finite() {
            return Err(Refused::NotANumber);
        }
        self.record_instant(metric, sample.at, &[(slot, sample.value)])
    }

    /// Records samples of `metric` of one instant for many slots, and the one point they make:
    /// what [`GroupMetrics::record`] does for each, with one lookup of the metric and one
    /// point. The first refusal is returned; the other samples are kept.
    pub fn record_instant(&mut self, metric: &str, at: Timestamp, values: &[(u32, f64)]) -> Result<(), Refused> {
        let bounds = self.limits.series;
        // Looked up before inserting, so that a known metric costs no allocation.
        if !self.metrics.contains_key(metric) {
            if values.iter().all(|(_, value)| !value.is_finite()) {
                return Err(Refused::NotANumber);
            }
            // A new metric is a new series: none is made past the limit.
            if self.series >= self.limits.series_per_group {
                return Err(Refused::TooManySeries { limit: self.limits.series_per_group });
            }
            self.metrics.insert(metric.to_string(), MetricSeries::new(bounds));
        }
        let Some(state) = self.metrics.get_mut(metric) else { unreachable!("inserted just above") };
        let mut refused = None;
        let mut kept = false;
        for (slot, value) in values {
            let sample = Sample { at, value: *value };
            match offer(state, &mut self.series, self.limits, *slot, sample) {
                Ok(()) => kept = true,
                Err(err) => {
                    refused.get_or_insert(err);
                }
            }
        }
        if kept {
            make_point(state, self.limits.stale_after, at);
        }
        refused.map_or(Ok(()), Err)
    }

    /// The per-minute aggregates of every minute over by `now` (the group's points and each
    /// slot's samples), each once.
    pub fn take_minutes(&mut self, now: Timestamp) -> Vec<MinuteAggregate> {
        let mut taken = Vec::new();
        for (metric, state) in &mut self.metrics {
            state.count_last_point(now);
            taken.extend(state.minutes.take(metric, now));
        }
        taken
    }

    /// Forgets the per-minute aggregates of every minute over by `now`, without making them:
    /// [`GroupMetrics::take_minutes`] for a caller that archives nothing.
    pub fn discard_minutes(&mut self, now: Timestamp) {
        for state in self.metrics.values_mut() {
            state.count_last_point(now);
            state.minutes.discard(now);
        }
    }

    /// The group's points of `metric` at or after `since`, oldest first.
    pub fn points(&self, metric: &str, since: Timestamp) -> Vec<(Timestamp, i64)> {
        self.metrics
            .get(metric)
            .map_or_else(Vec::new, |m| m.points.since(since).map(|p| (p.at, p.value as i64)).collect())
    }

    /// The group's newest point of `metric`.
    pub fn latest_point(&self, metric: &str) -> Option<(Timestamp, i64)> {
        self.metrics.get(metric)?.points.latest().map(|p| (p.at, p.value as i64))
    }

    /// The samples of `metric` in `window`, with their slots: in slot order and, within a slot,
    /// oldest first. One allocation for every slot.
    pub fn recent(&self, metric: &str, window: Window) -> Vec<(u32, Sample)> {
        let Some(state) = self.metrics.get(metric) else { return Vec::new() };
        let mut all = Vec::with_capacity(state.slots.len());
        if window.most == 1 && window.carry_from.is_none() {
            let newest = state.newest.iter().enumerate().filter_map(|(slot, s)| Some((slot as u32, (*s)?)));
            all.extend(newest.filter(|(_, s)| s.at >= window.since));
            return all;
        }
        for (slot, series) in state.slots.iter().enumerate() {
            if let Some(series) = series {
                let samples = series.window(window.since, window.most, window.carry_from);
                all.extend(samples.map(|sample| (slot as u32, sample)));
            }
        }
        all
    }

    /// Records a sample of `metric` for the whole group (a collector's): it is the group's
    /// point at its time as well, and counts in the group's minutes.
    pub fn record_group(&mut self, metric: &str, sample: Sample) -> Result<(), Refused> {
        if !sample.value.is_finite() {
            return Err(Refused::NotANumber);
        }
        let bounds = self.limits.series;
        let new_series = self.metrics.get(metric).is_none_or(|m| m.group.is_none());
        if new_series && self.series >= self.limits.series_per_group {
            return Err(Refused::TooManySeries { limit: self.limits.series_per_group });
        }
        let state = self.metrics.entry(metric.to_string()).or_insert_with(|| MetricSeries::new(bounds));
        if state.group.is_none() {
            state.group = Some(GroupSeries { samples: Series::new(bounds), failed_at: None });
            self.series += 1;
        }
        let Some(group) = state.group.as_mut() else { unreachable!("made just above") };
        match group.samples.offer(sample) {
            Offered::Kept => {}
            Offered::TooOld => return Err(Refused::TooOld),
            Offered::NotANumber => return Err(Refused::NotANumber),
        }
        state.points.offer_replacing(Sample { at: sample.at, value: sample.value.ceil() });
        state.minutes.add(Of::Group, sample.at, sample.value);
        Ok(())
    }

    /// The source of the group-wide `metric` failed at `at`: its samples until then no longer
    /// count, so policies reading it see a failed read (and their fallbacks) at once.
    pub fn group_failed(&mut self, metric: &str, at: Timestamp) {
        if let Some(group) = self.metrics.get_mut(metric).and_then(|m| m.group.as_mut()) {
            group.failed_at = Some(group.failed_at.map_or(at, |before| before.max(at)));
        }
    }

    /// The group-wide samples of `metric` in `window`, oldest first; none for a metric sampled
    /// per member, or whose source failed after its newest sample.
    pub fn group_samples(&self, metric: &str, window: Window) -> Vec<Sample> {
        let Some(group) = self.metrics.get(metric).and_then(|m| m.group.as_ref()) else { return Vec::new() };
        let failed_at = group.failed_at;
        if group.samples.latest().is_none_or(|newest| failed_at.is_some_and(|failed| failed >= newest.at)) {
            return Vec::new();
        }
        group
            .samples
            .window(window.since, window.most, window.carry_from)
            .filter(|s| failed_at.is_none_or(|failed| s.at > failed))
            .collect()
    }

    /// Forgets the series of slots `first` and above, of every metric: the group has fewer
    /// members than that now, and their samples can only go stale.
    pub fn forget_slots_from(&mut self, first: u32) {
        for state in self.metrics.values_mut() {
            let first = (first as usize).min(state.slots.len());
            self.series -= state.slots.drain(first..).flatten().count();
            state.newest.truncate(first);
        }
    }

    /// How many series (metric × slot) it holds.
    pub fn series_count(&self) -> usize {
        self.series
    }

    /// How many samples it holds, aggregated points included.
    pub fn sample_count(&self) -> usize {
        let group = |m: &MetricSeries| m.group.as_ref().map_or(0, |g| g.samples.len());
        self.metrics
            .values()
            .map(|m| m.slots.iter().flatten().map(Series::len).sum::<usize>() + m.points.len() + group(m))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn sample(seconds: i64, value: f64) -> Sample {
        Sample { at: at(seconds), value }
    }

    #[test]
    fn a_point_is_the_ceiling_of_the_mean_of_each_slots_newest_fresh_sample() {
        let mut group = GroupMetrics::new(Limits::default());
        group.record("rt", 0, sample(0, 100.0)).unwrap();
        group.record("rt", 1, sample(10, 201.0)).unwrap();
        group.record("rt", 0, sample(20, 300.0)).unwrap();
        // Slot 1's sample is 130 s old at 140 s: only slot 0 counts.
        group.record("rt", 0, sample(140, 50.0)).unwrap();
        assert_eq!(group.points("rt", at(0)), [(at(0), 100), (at(10), 151), (at(20), 251), (at(140), 50)]);
        assert_eq!(group.points("rt", at(15)).len(), 2);
        assert!(group.points("cpu", at(0)).is_empty());
    }

    #[test]
    fn minutes_average_the_groups_final_points_and_each_slots_samples() {
        let mut group = GroupMetrics::new(Limits::default());
        // 1_800_000_000 is a whole minute: 60 and 90 s after it are in one minute.
        for (slot, value) in [(0, 300.0), (1, 100.0)] {
            group.record("rt", slot, sample(60, value)).unwrap();
        }
        group.record("rt", 0, sample(90, 400.0)).unwrap();
        let minutes = group.take_minutes(at(200));
        let of_group: Vec<i64> = minutes.iter().filter(|m| m.of == Of::Group).map(|m| m.value).collect();
        assert_eq!(of_group, [(200 + 250) / 2], "the points 200 (the full mean, not 300) and 250");
        let slot0: Vec<i64> = minutes.iter().filter(|m| m.of == Of::Slot(0)).map(|m| m.value).collect();
        assert_eq!(slot0, [350]);
        assert!(group.take_minutes(at(300)).is_empty(), "each minute once");
    }

    #[test]
    fn discarded_minutes_are_gone_as_taken_ones_are() {
        let mut taken = GroupMetrics::new(Limits::default());
        for (slot, secs, value) in [(0, 60, 300.0), (1, 60, 100.0), (0, 90, 400.0), (0, 130, 50.0)] {
            taken.record("rt", slot, sample(secs, value)).unwrap();
        }
        let mut discarded = taken.clone();
        assert!(!taken.take_minutes(at(200)).is_empty());
        discarded.discard_minutes(at(200));
        assert_eq!(discarded.take_minutes(at(400)), taken.take_minutes(at(400)), "the same minutes are left");
        assert!(discarded.take_minutes(at(500)).is_empty());
    }

    #[test]
    fn samples_of_one_instant_make_one_point() {
        let mut group = GroupMetrics::new(Limits::default());
        for (slot, value) in [(0, 300.0), (1, 100.0), (2, 200.0)] {
            group.record("rt", slot, sample(5, value)).unwrap();
        }
        assert_eq!(group.points("rt", at(0)), [(at(5), 200)]);
    }

    #[test]
    fn memory_stays_within_the_limits_whatever_arrives() {
        let limits = Limits {
            series_per_group: 4,
            series: series::Bounds { max_samples: 8, retention: SignedDuration::from_secs(60) },
            ..Limits::default()
        };
        let mut group = GroupMetrics::new(limits);
        for i in 0..100 {
            let _ = group.record("m", (i % 3) as u32, sample(i, i as f64));
        }
        assert_eq!(group.record("other", 0, sample(100, 1.0)), Ok(()));
        assert_eq!(group.record("other", 1, sample(100, 1.0)), Err(Refused::TooManySeries { limit: 4 }));
        assert_eq!(group.record("m", 0, sample(0, 1.0)), Err(Refused::TooOld));
        assert_eq!(group.record("m", 0, sample(101, f64::NAN)), Err(Refused::NotANumber));
        assert_eq!(group.series_count(), 4);
        assert!(group.sample_count() <= 4 * 8 + 2 * 8);
        let kept = group.recent("m", Window::recent(at(0), usize::MAX));
        assert_eq!(group.recent("m", Window::recent(at(0), 1)).len(), 3, "the newest of each slot");
        let slots: Vec<u32> = kept.iter().map(|(slot, _)| *slot).collect();
        assert!(slots.windows(2).all(|w| w[0] <= w[1]) && slots.first() == Some(&0) && slots.last() == Some(&2));
        assert!(kept.chunk_by(|a, b| a.0 == b.0).all(|run| run.windows(2).all(|w| w[0].1.at <= w[1].1.at)));
    }

    #[test]
    fn a_group_wide_metric_is_the_groups_point_and_a_failure_hides_it_until_the_next_sample() {
        let mut group = GroupMetrics::new(Limits::default());
        group.record_group("queue", sample(5, 120.0)).unwrap();
        group.record_group("queue", sample(20, 80.5)).unwrap();
        let all = Window::recent(at(0), usize::MAX);
        assert_eq!(group.group_samples("queue", all), [sample(5, 120.0), sample(20, 80.5)]);
        assert_eq!(group.points("queue", at(0)), [(at(5), 120), (at(20), 81)]);
        assert!(group.recent("queue", all).is_empty(), "no member's");
        assert!(group.group_samples("rt", all).is_empty());
        group.group_failed("queue", at(30));
        assert!(group.group_samples("queue", all).is_empty(), "the source failed after its newest sample");
        group.record_group("queue", sample(45, 10.0)).unwrap();
        assert_eq!(group.group_samples("queue", all), [sample(45, 10.0)], "what came before the failure is gone");
        let minutes = group.take_minutes(at(120));
        let of_group: Vec<(Timestamp, i64)> =
            minutes.iter().filter(|m| m.of == Of::Group).map(|m| (m.minute, m.value)).collect();
        assert_eq!(
            of_group,
            [(crate::metrics::minutes::minute_of(at(5)), 71)],
            "the minute's mean, ceiled: (120 + 80.5 + 10) / 3"
        );
        assert_eq!(group.record_group("queue", sample(50, f64::INFINITY)), Err(Refused::NotANumber));
        assert_eq!(group.series_count(), 1);
    }
}
