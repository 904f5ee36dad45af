//! When a collector reads: the first read at a random point of its first interval, so that
//! collectors made together do not read together; then one interval after the last start,
//! shifted by up to a tenth of the interval (at most a second) either way; never before the
//! last read ended, so one collector never has two reads at once, and a slow source is not
//! caught up on with a burst.

use jiff::{SignedDuration, Timestamp};

/// The most a start is shifted from its due time.
const MAX_JITTER: SignedDuration = SignedDuration::from_secs(1);

/// The first read of a collector made at `now`; `random` is uniform in `[0, 1)`.
pub fn first(now: Timestamp, interval: SignedDuration, random: f64) -> Timestamp {
    now + interval.mul_f64(random.clamp(0.0, 1.0))
}

/// The read after one that started at `started` and ended at `ended`; `random` is uniform in
/// `[0, 1)`.
pub fn next(started: Timestamp, ended: Timestamp, interval: SignedDuration, random: f64) -> Timestamp {
    let spread = (interval / 10).min(MAX_JITTER);
    let shift = spread.mul_f64(random.clamp(0.0, 1.0) * 2.0 - 1.0);
    (started + interval + shift).max(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn first_reads_spread_over_the_first_interval() {
        let interval = SignedDuration::from_secs(10);
        assert_eq!(first(at(0), interval, 0.0), at(0));
        assert_eq!(first(at(0), interval, 0.5), at(5_000));
    }

    #[test]
    fn later_reads_come_an_interval_after_the_last_start_give_or_take_a_tenth() {
        let interval = SignedDuration::from_secs(5);
        assert_eq!(next(at(0), at(100), interval, 0.5), at(5_000));
        assert_eq!(next(at(0), at(100), interval, 0.0), at(4_500));
        assert_eq!(next(at(0), at(100), interval, 1.0), at(5_500));
        // A long interval is shifted a second at most.
        assert_eq!(next(at(0), at(100), SignedDuration::from_secs(60), 0.0), at(59_000));
    }

    #[test]
    fn a_read_that_outlasts_its_interval_is_followed_when_it_ends() {
        let interval = SignedDuration::from_secs(1);
        assert_eq!(next(at(0), at(2_500), interval, 0.5), at(2_500));
    }
}
