//! A log line that may be asked for at any rate but is written at most once per interval,
//! with how many times it was asked for: what an unauthenticated caller can trigger at will
//! (an unknown capability URL) must not be able to flood the log.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts occurrences and says when one of them may be logged.
#[derive(Debug)]
pub struct Throttled {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl Throttled {
    /// At most one line per `interval`.
    pub fn new(interval: Duration) -> Self {
        Throttled { interval, state: Mutex::new(State::default()) }
    }

    /// Counts one occurrence at `now`; when a line may be written, how many occurrences it
    /// stands for (this one and those not logged since the last line).
    pub fn hit(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().ok()?;
        state.unlogged += 1;
        let due = state.last_logged.is_none_or(|last| now.duration_since(last) >= self.interval);
        if !due {
            return None;
        }
        state.last_logged = Some(now);
        Some(std::mem::take(&mut state.unlogged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_carries_the_count() {
        let throttled = Throttled::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(throttled.hit(t0), Some(1));
        for i in 1..1000 {
            assert_eq!(throttled.hit(t0 + Duration::from_micros(i)), None);
        }
        assert_eq!(throttled.hit(t0 + Duration::from_secs(1)), Some(1000));
        assert_eq!(throttled.hit(t0 + Duration::from_millis(1500)), None);
        assert_eq!(throttled.hit(t0 + Duration::from_secs(3)), Some(2));
    }
}
