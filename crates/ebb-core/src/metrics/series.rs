//! One series of samples (one metric of one member) in a bounded window: at most
//! `max_samples`, none older than `retention` behind the newest. Whatever a client sends, a
//! series never holds more; samples arriving late are put in their place in time, and one
//! older than the window is dropped on arrival.

use std::collections::VecDeque;

use jiff::{SignedDuration, Timestamp};

/// How long and how many samples a series keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The most samples kept; the oldest go first.
    pub max_samples: usize,
    /// How far behind the newest sample the oldest may be.
    pub retention: SignedDuration,
}

/// What became of a sample offered to a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Kept.
    Kept,
    /// Older than the window: dropped.
    TooOld,
    /// Not a finite number: dropped.
    NotANumber,
}

/// A sample: a value at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When it was measured.
    pub at: Timestamp,
    /// What was measured.
    pub value: f64,
}

/// One series, oldest sample first.
#[derive(Debug, Clone)]
pub struct Series {
    bounds: Bounds,
    samples: VecDeque<Sample>,
}

impl Series {
    /// An empty series kept within `bounds`.
    pub fn new(bounds: Bounds) -> Self {
        Series { bounds, samples: VecDeque::new() }
    }

    /// Adds a sample in its place in time, then drops what the bounds leave out.
    pub fn offer(&mut self, sample: Sample) -> Offered {
        if !sample.value.is_finite() {
            return Offered::NotANumber;
        }
        // Samples mostly arrive in order: the place is found from the back.
        match self.samples.back() {
            None => self.samples.push_back(sample),
            Some(newest) if newest.at <= sample.at => self.samples.push_back(sample),
            Some(newest) if sample.at < newest.at - self.bounds.retention => return Offered::TooOld,
            Some(_) => {
                let place = self.samples.iter().rposition(|s| s.at <= sample.at).map_or(0, |i| i + 1);
                self.samples.insert(place, sample);
            }
        }
        self.trim();
        Offered::Kept
    }

    /// Like [`Series::offer`], but a sample at the same time as the newest replaces it (one
    /// aggregated point per instant, however many samples made it).
    pub fn offer_replacing(&mut self, sample: Sample) -> Offered {
        if sample.value.is_finite()
            && let Some(newest) = self.samples.back_mut()
            && newest.at == sample.at
        {
            newest.value = sample.value;
            return Offered::Kept;
        }
        self.offer(sample)
    }

    fn trim(&mut self) {
        while self.samples.len() > self.bounds.max_samples {
            self.samples.pop_front();
        }
        if let Some(newest) = self.samples.back().map(|s| s.at) {
            let oldest_kept = newest - self.bounds.retention;
            while self.samples.front().is_some_and(|s| s.at < oldest_kept) {
                self.samples.pop_front();
            }
        }
    }

    /// The samples at or after `since`, oldest first. Found from the back: what is asked for
    /// is mostly the newest few, and a series with nothing that recent costs one comparison.
    pub fn since(&self, since: Timestamp) -> impl Iterator<Item = Sample> + '_ {
        self.recent(since, usize::MAX)
    }

    /// The newest `most` samples at or after `since`, oldest first.
    pub fn recent(&self, since: Timestamp, most: usize) -> impl Iterator<Item = Sample> + '_ {
        let recent = self.samples.iter().rev().take(most).take_while(|s| s.at >= since).count();
        self.samples.range(self.samples.len() - recent..).copied()
    }

    /// The newest `most` samples at or after `since`, led by the newest one before `since` if
    /// it is at or after `carry_from` (the series' value at `since`), oldest first.
    pub fn window(
        &self,
        since: Timestamp,
        most: usize,
        carry_from: Option<Timestamp>,
    ) -> impl Iterator<Item = Sample> + '_ {
        let recent = self.samples.iter().rev().take(most).take_while(|s| s.at >= since).count();
        let mut first = self.samples.len() - recent;
        if let Some(from) = carry_from
            && first > 0
            && self.samples[first - 1].at < since
            && self.samples[first - 1].at >= from
        {
            first -= 1;
        }
        self.samples.range(first..).copied()
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<Sample> {
        self.samples.back().copied()
    }

    /// How many samples it holds.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn series(max_samples: usize, retention_secs: i64) -> Series {
        Series::new(Bounds { max_samples, retention: SignedDuration::from_secs(retention_secs) })
    }

    fn values(series: &Series) -> Vec<f64> {
        series.since(Timestamp::MIN).map(|s| s.value).collect()
    }

    #[test]
    fn a_window_is_led_by_the_value_at_its_start_when_that_is_recent_enough() {
        let mut s = series(100, 3600);
        for i in [0, 10, 20, 30] {
            s.offer(Sample { at: at(i), value: i as f64 });
        }
        let values = |w: Vec<Sample>| w.iter().map(|s| s.value).collect::<Vec<_>>();
        assert_eq!(values(s.window(at(15), usize::MAX, Some(at(5))).collect()), [10.0, 20.0, 30.0]);
        assert_eq!(values(s.window(at(15), usize::MAX, Some(at(11))).collect()), [20.0, 30.0], "10 is too old");
        assert_eq!(
            values(s.window(at(20), usize::MAX, Some(at(0))).collect()),
            [10.0, 20.0, 30.0],
            "20 is at the start"
        );
        assert_eq!(values(s.window(at(15), usize::MAX, None).collect()), [20.0, 30.0]);
        assert_eq!(values(s.window(at(40), usize::MAX, Some(at(0))).collect()), [30.0], "only the value at the start");
    }

    #[test]
    fn the_oldest_samples_go_when_the_series_is_full() {
        let mut s = series(3, 3600);
        for i in 0..5 {
            assert_eq!(s.offer(Sample { at: at(i), value: i as f64 }), Offered::Kept);
        }
        assert_eq!(values(&s), [2.0, 3.0, 4.0]);
    }

    #[test]
    fn samples_older_than_the_retention_behind_the_newest_go() {
        let mut s = series(100, 60);
        s.offer(Sample { at: at(0), value: 0.0 });
        s.offer(Sample { at: at(30), value: 1.0 });
        s.offer(Sample { at: at(61), value: 2.0 });
        assert_eq!(values(&s), [1.0, 2.0], "the sample 61 s behind the newest is gone");
        assert_eq!(s.offer(Sample { at: at(0), value: 9.0 }), Offered::TooOld);
    }

    #[test]
    fn a_late_sample_takes_its_place_in_time() {
        let mut s = series(100, 3600);
        s.offer(Sample { at: at(0), value: 0.0 });
        s.offer(Sample { at: at(20), value: 2.0 });
        s.offer(Sample { at: at(10), value: 1.0 });
        assert_eq!(values(&s), [0.0, 1.0, 2.0]);
        assert_eq!(s.latest().unwrap().value, 2.0);
    }

    #[test]
    fn values_that_are_not_numbers_are_refused() {
        let mut s = series(10, 60);
        assert_eq!(s.offer(Sample { at: at(0), value: f64::NAN }), Offered::NotANumber);
        assert_eq!(s.offer(Sample { at: at(0), value: f64::INFINITY }), Offered::NotANumber);
        assert!(s.is_empty());
    }

    #[test]
    fn since_starts_at_the_first_sample_at_or_after_the_time() {
        let mut s = series(10, 3600);
        for i in 0..5 {
            s.offer(Sample { at: at(i * 10), value: i as f64 });
        }
        let recent: Vec<f64> = s.since(at(20)).map(|s| s.value).collect();
        assert_eq!(recent, [2.0, 3.0, 4.0]);
    }

    proptest! {
        #[test]
        fn whatever_arrives_the_series_stays_bounded_and_in_order(
            offers in proptest::collection::vec((0i64..10_000, -1e6f64..1e6), 0..300),
            max_samples in 1usize..50,
            retention in 1i64..5_000,
        ) {
            let mut s = series(max_samples, retention);
            for (second, value) in offers {
                s.offer(Sample { at: at(second), value });
            }
            prop_assert!(s.len() <= max_samples);
            let times: Vec<Timestamp> = s.since(Timestamp::MIN).map(|s| s.at).collect();
            prop_assert!(times.windows(2).all(|w| w[0] <= w[1]));
            if let (Some(first), Some(last)) = (times.first(), times.last()) {
                prop_assert!(*last - SignedDuration::from_secs(retention) <= *first);
            }
        }
    }
}
