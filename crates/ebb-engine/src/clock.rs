//! The time source engine code reads and sleeps on, injected so tests (and simulations) run
//! on virtual time.
//!
//! [`SystemClock`] is the wall clock. [`TokioClock`] reads tokio's clock from a chosen start:
//! under `tokio::time::pause()` tokio's clock only moves when every task is waiting on a timer,
//! and then jumps to the next one, so an engine test sees minutes of schedules, cooldowns,
//! retries and self-heal passes go by in milliseconds of real time, with no `sleep` in the
//! test.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// Tells the time, and waits for it.
#[async_trait::async_trait]
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Timestamp;

    /// Waits for `duration` of this clock's time.
    async fn sleep(&self, duration: Duration);

    /// Waits until `at` by this clock (at once when it is past).
    async fn sleep_until(&self, at: Timestamp) {
        let wait = at.duration_since(self.now());
        if let Ok(wait) = Duration::try_from(wait)
            && !wait.is_zero()
        {
            self.sleep(wait).await;
        }
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// tokio's clock, read as a timestamp from `origin`: virtual time under a paused runtime.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: Timestamp,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `origin` now and moves with tokio's time.
    pub fn starting_at(origin: Timestamp) -> Self {
        TokioClock { origin, start: tokio::time::Instant::now() }
    }
}

#[async_trait::async_trait]
impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        let elapsed = SignedDuration::try_from(self.start.elapsed()).unwrap_or(SignedDuration::MAX);
        self.origin.checked_add(elapsed).unwrap_or(Timestamp::MAX)
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn virtual_time_moves_only_when_every_task_waits() {
        let clock = TokioClock::starting_at("2026-01-01T00:00:00Z".parse().unwrap());
        let wall = std::time::Instant::now();
        clock.sleep(Duration::from_secs(3600)).await;
        assert_eq!(clock.now().to_string(), "2026-01-01T01:00:00Z");
        clock.sleep_until("2026-01-02T00:00:00Z".parse().unwrap()).await;
        assert_eq!(clock.now().to_string(), "2026-01-02T00:00:00Z");
        assert!(wall.elapsed() < Duration::from_secs(1), "a day went by in {:?}", wall.elapsed());
    }
}
