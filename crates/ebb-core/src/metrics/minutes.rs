//! Per-minute aggregates, the durable form of a group's samples for history queries: for each
//! metric, the group's points of each whole minute (and each member slot's samples) averaged,
//! ceiled as Cloud Foundry does. A minute is closed, and its aggregate emitted, once a later
//! sample arrives or the minute is over.

use jiff::Timestamp;

/// Whose values an aggregate is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Of {
    /// The group's aggregated points.
    Group,
    /// One member slot's samples.
    Slot(u32),
}

/// One metric's mean over one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct MinuteAggregate {
    /// The metric.
    pub metric: String,
    /// The group's points or a slot's samples.
    pub of: Of,
    /// The start of the minute.
    pub minute: Timestamp,
    /// The ceiling of the mean of its values.
    pub value: i64,
    /// How many values it is the mean of.
    pub count: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// The minute's first second (whole seconds compare cheaper than timestamps).
    minute: i64,
    sum: f64,
    count: u32,
}

/// Open minutes of one metric, and the closed ones not yet taken.
#[derive(Debug, Clone, Default)]
pub struct Minutes {
    /// The group's open minute.
    group: Option<Bucket>,
    /// Each slot's open minute, by slot: slots are dense and below the group's desired
    /// capacity (the API and the measurements keep them there), so no hashing per sample.
    slots: Vec<Option<Bucket>>,
    closed: Vec<(Of, Bucket)>,
}

/// The start of the minute `at` is in.
pub fn minute_of(at: Timestamp) -> Timestamp {
    Timestamp::from_second(first_second(at)).unwrap_or(at)
}

/// The first second of the minute `at` is in.
fn first_second(at: Timestamp) -> i64 {
    at.as_second().div_euclid(60) * 60
}

fn aggregate(metric: &str, of: Of, bucket: Bucket) -> MinuteAggregate {
    MinuteAggregate {
        metric: metric.to_string(),
        of,
        minute: Timestamp::from_second(bucket.minute).unwrap_or(Timestamp::MIN),
        value: (bucket.sum / f64::from(bucket.count)).ceil() as i64,
        count: bucket.count,
    }
}

impl Minutes {
    /// Adds a value at `at`. A value of a minute before the open one (a late sample) is left
    /// out: its minute may already be stored.
    pub fn add(&mut self, of: Of, at: Timestamp, value: f64) {
        let minute = first_second(at);
        let open = match of {
            Of::Group => &mut self.group,
            Of::Slot(slot) => {
                let index = slot as usize;
                if self.slots.len() <= index {
                    self.slots.resize(index + 1, None);
                }
                &mut self.slots[index]
            }
        };
        match open {
            Some(bucket) if bucket.minute == minute => {
                bucket.sum += value;
                bucket.count += 1;
            }
            Some(bucket) if bucket.minute > minute => {}
            Some(bucket) => {
                self.closed.push((of, *bucket));
                *bucket = Bucket { minute, sum: value, count: 1 };
            }
            None => *open = Some(Bucket { minute, sum: value, count: 1 }),
        }
    }

    /// The aggregates of `metric` of every minute over by `now`, closed ones first; those
    /// minutes are forgotten.
    pub fn take(&mut self, metric: &str, now: Timestamp) -> Vec<MinuteAggregate> {
        let mut taken = Vec::new();
        self.finish(now, |of, bucket| taken.push(aggregate(metric, of, bucket)));
        taken
    }

    /// Forgets every minute over by `now`, as [`Minutes::take`] does, without making their
    /// aggregates.
    pub fn discard(&mut self, now: Timestamp) {
        self.finish(now, |_, _| {});
    }

    /// Hands `each` the closed minutes and the open ones over by `now`, and forgets them.
    fn finish(&mut self, now: Timestamp, mut each: impl FnMut(Of, Bucket)) {
        let current = first_second(now);
        for (of, bucket) in self.closed.drain(..) {
            each(of, bucket);
        }
        let open = std::iter::once((Of::Group, &mut self.group))
            .chain(self.slots.iter_mut().enumerate().map(|(slot, open)| (Of::Slot(slot as u32), open)));
        for (of, open) in open {
            if let Some(bucket) = open.filter(|b| b.minute + 60 <= current) {
                each(of, bucket);
                *open = None;
            }
        }
    }

    /// How many minutes are open or waiting to be taken.
    pub fn len(&self) -> usize {
        usize::from(self.group.is_some()) + self.slots.iter().flatten().count() + self.closed.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    #[test]
    fn each_minute_is_the_ceiling_of_the_mean_of_its_values() {
        let mut minutes = Minutes::default();
        minutes.add(Of::Group, at(0), 100.0);
        minutes.add(Of::Group, at(30), 101.0);
        minutes.add(Of::Slot(1), at(59), 7.0);
        assert!(minutes.take("rt", at(59)).is_empty(), "the minute is not over");
        minutes.add(Of::Group, at(61), 300.0);
        minutes.add(Of::Group, at(10), 999.0);
        let mut taken = minutes.take("rt", at(61));
        taken.sort_by_key(|a| a.of);
        assert_eq!(
            taken,
            [
                MinuteAggregate { metric: "rt".into(), of: Of::Group, minute: at(0), value: 101, count: 2 },
                MinuteAggregate { metric: "rt".into(), of: Of::Slot(1), minute: at(0), value: 7, count: 1 },
            ]
        );
        let later = minutes.take("rt", at(180));
        assert_eq!(later.len(), 1);
        assert_eq!((later[0].minute, later[0].value), (at(60), 300));
        assert!(minutes.is_empty());
    }
}
