//! Knative's Pod Autoscaler (KPA) with its defaults, as a baseline (`modern-autoscalers.md`
//! §9): every 2 s, the observed concurrency averaged over a 60 s stable window and a 6 s
//! panic window; desired = ⌈average / target⌉ of the stable window, or in panic mode (entered
//! when the panic window asks for twice the ready members) the panic window's, never lower
//! than now, until a whole stable window passes without panic; at most 1000 times the ready
//! members up and half of them down per tick, within the group's bounds.

use std::collections::VecDeque;

use ebb_core::capacity::Bounds;

/// The KPA's state and settings.
#[derive(Debug, Clone)]
pub struct Kpa {
    /// In-flight requests one member is kept at.
    pub target: f64,
    /// The stable window, seconds.
    pub stable: f64,
    /// The panic window, seconds.
    pub panic: f64,
    /// Panic when the panic window asks for this many times the ready members.
    pub panic_threshold: f64,
    /// At most this many times the ready members per tick.
    pub max_scale_up_rate: f64,
    /// At least the ready members divided by this per tick.
    pub max_scale_down_rate: f64,
    observed: VecDeque<(f64, f64)>,
    panic_until: Option<f64>,
}

/// The KPA's evaluation tick, seconds.
pub const TICK: f64 = 2.0;

impl Kpa {
    /// Knative's defaults, keeping each member at `target` requests in flight.
    pub fn new(target: f64) -> Kpa {
        Kpa {
            target,
            stable: 60.0,
            panic: 6.0,
            panic_threshold: 2.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            observed: VecDeque::new(),
            panic_until: None,
        }
    }

    fn average(&self, t: f64, window: f64) -> f64 {
        let within = self.observed.iter().rev().take_while(|(at, _)| *at > t - window);
        let (sum, count) = within.fold((0.0, 0usize), |(sum, count), (_, c)| (sum + c, count + 1));
        if count == 0 { 0.0 } else { sum / count as f64 }
    }

    /// The desired count at `t`, having observed `concurrency` requests in flight in the group,
    /// with `ready` members serving and `current` desired.
    pub fn desired(&mut self, t: f64, concurrency: f64, ready: u32, current: u32, bounds: Bounds) -> u32 {
        self.observed.push_back((t, concurrency));
        while self.observed.front().is_some_and(|(at, _)| *at <= t - self.stable) {
            self.observed.pop_front();
        }
        let stable = (self.average(t, self.stable) / self.target).ceil();
        let panic = (self.average(t, self.panic) / self.target).ceil();
        let ready_f = f64::from(ready.max(1));
        if panic / ready_f >= self.panic_threshold {
            self.panic_until = Some(t + self.stable);
        }
        let in_panic = self.panic_until.is_some_and(|until| t < until);
        if !in_panic {
            self.panic_until = None;
        }
        let wanted = if in_panic { panic.max(f64::from(current)) } else { stable };
        let lowest = (f64::from(ready) / self.max_scale_down_rate).floor();
        let highest = (ready_f * self.max_scale_up_rate).ceil();
        bounds.clamp(wanted.clamp(lowest, highest) as i128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds { min: 1, max: 100 };

    #[test]
    fn the_stable_window_averages_and_a_burst_panics() {
        let mut kpa = Kpa::new(10.0);
        // A steady 40 in flight on 4 members: 4.
        let mut desired = 0;
        for tick in 0..40 {
            desired = kpa.desired(f64::from(tick) * TICK, 40.0, 4, 4, BOUNDS);
        }
        assert_eq!(desired, 4);
        // A burst to 200: the 6 s window (40, 40, 200) averages 93.3, asking for 10 — more
        // than twice the 4 ready: panic, and 10.
        assert_eq!(kpa.desired(80.0, 200.0, 4, 4, BOUNDS), 10);
        // Back to 40: in panic nothing goes down for a whole stable window...
        for tick in 41..70 {
            assert_eq!(kpa.desired(f64::from(tick) * TICK, 40.0, 10, 10, BOUNDS), 10, "tick {tick}");
        }
        // ...then the stable window decides, halving at most per tick.
        assert_eq!(kpa.desired(142.0, 40.0, 10, 10, BOUNDS), 5);
        assert_eq!(kpa.desired(144.0, 40.0, 5, 5, BOUNDS), 4);
    }
}
