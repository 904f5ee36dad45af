//! The capacity model: what one member serves, how long members take to come and go, and
//! what they report.
//!
//! Each serving member is an M/M/1 queue taking an equal share of the offered load. Its
//! service rate μ is set so that it serves `member_rps` requests a second within the SLO
//! (a mean response time of `slo_ms`): 1/(μ − λ) ≤ SLO ⇔ λ ≤ μ − 1/SLO, so μ = member_rps +
//! 1/SLO. Demand at a rate r is ⌈r / member_rps⌉ members. A member with λ ≥ μ is saturated:
//! its queue grows, reported as a response time of ten times the SLO.

use jiff::SignedDuration;

use crate::scores::Step;

/// The model's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacityModel {
    /// Requests a second one member serves within the SLO.
    pub member_rps: f64,
    /// The SLO: the mean response time, in ms.
    pub slo_ms: f64,
    /// From the decision to add a member to its serving.
    pub provisioning: SignedDuration,
    /// From the decision to remove a member to its being gone (it stops serving at once).
    pub deprovisioning: SignedDuration,
    /// How often members report their metrics.
    pub report_interval: SignedDuration,
    /// Relative noise of the reported metrics (a standard deviation, 0.1 is 10 %).
    pub noise: f64,
}

impl Default for CapacityModel {
    fn default() -> Self {
        CapacityModel {
            member_rps: 10.0,
            slo_ms: 500.0,
            provisioning: SignedDuration::from_secs(60),
            deprovisioning: SignedDuration::from_secs(30),
            report_interval: SignedDuration::from_secs(15),
            noise: 0.0,
        }
    }
}

/// What a member reports, by metric name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reported {
    /// Requests a second it served.
    pub throughput: f64,
    /// Mean response time, ms.
    pub responsetime: f64,
    /// Requests in flight (Little's law).
    pub inflight: f64,
    /// Utilization of its capacity, percent (capped at 100).
    pub cpuutil: f64,
}

impl Reported {
    /// The value of the built-in metric `name`, if it is one the model produces.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "throughput" => Some(self.throughput),
            "responsetime" => Some(self.responsetime),
            "inflight" => Some(self.inflight),
            "cpuutil" | "cpu" => Some(self.cpuutil),
            _ => None,
        }
    }
}

impl CapacityModel {
    /// The service rate of a member.
    pub fn mu(&self) -> f64 {
        self.member_rps + 1000.0 / self.slo_ms
    }

    /// The fewest members that meet the SLO at `rate` requests a second.
    pub fn demand(&self, rate: f64) -> f64 {
        (rate / self.member_rps).ceil().max(0.0)
    }

    /// The demand over time of a request-rate curve (holes stay holes).
    pub fn demand_curve(&self, rate: &[Step]) -> Vec<Step> {
        rate.iter().map(|s| Step { at: s.at, value: s.value.map(|r| self.demand(r)) }).collect()
    }

    /// What one of `serving` members reports when the group is offered `rate`.
    pub fn report(&self, rate: f64, serving: u32) -> Reported {
        let mu = self.mu();
        let lambda = if serving == 0 { rate } else { rate / f64::from(serving) };
        let rho = lambda / mu;
        if rho >= 1.0 {
            let responsetime = 10.0 * self.slo_ms;
            return Reported { throughput: mu, responsetime, inflight: mu * responsetime / 1000.0, cpuutil: 100.0 };
        }
        let response_s = 1.0 / (mu - lambda);
        Reported {
            throughput: lambda,
            responsetime: response_s * 1000.0,
            inflight: lambda * response_s,
            cpuutil: rho * 100.0,
        }
    }
}

/// A deterministic source of noise (SplitMix64), so that a run repeats exactly.
#[derive(Debug, Clone)]
pub struct Noise {
    state: u64,
    level: f64,
}

impl Noise {
    /// Noise of relative standard deviation `level`, from `seed`.
    pub fn new(seed: u64, level: f64) -> Noise {
        Noise { state: seed, level }
    }

    fn next(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }

    /// `value` with noise: multiplied by 1 + a uniform draw of the same standard deviation as
    /// `level` (±√3·level), never below 0.
    pub fn apply(&mut self, value: f64) -> f64 {
        if self.level == 0.0 {
            return value;
        }
        let spread = self.level * 3f64.sqrt();
        (value * (1.0 + (self.next() * 2.0 - 1.0) * spread)).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_at_its_capacity_meets_the_slo_exactly() {
        let model = CapacityModel::default();
        assert_eq!(model.mu(), 12.0);
        let at_capacity = model.report(10.0, 1);
        assert!((at_capacity.responsetime - 500.0).abs() < 1e-9);
        assert!((at_capacity.inflight - 5.0).abs() < 1e-9, "Little: 10/s × 0.5 s");
        assert!((model.report(20.0, 4).responsetime - 1000.0 / 7.0).abs() < 1e-9, "5/s each");
        assert_eq!(model.report(50.0, 2).responsetime, 5000.0, "saturated");
        assert_eq!((model.demand(0.0), model.demand(10.0), model.demand(10.5)), (0.0, 1.0, 2.0));
    }

    #[test]
    fn noise_repeats_and_keeps_its_spread() {
        let (mut a, mut b) = (Noise::new(7, 0.1), Noise::new(7, 0.1));
        let draws: Vec<f64> = (0..1000).map(|_| a.apply(100.0)).collect();
        assert!(draws.iter().zip((0..1000).map(|_| b.apply(100.0))).all(|(x, y)| *x == y));
        assert!(draws.iter().all(|v| (82.0..=118.0).contains(v)));
        let mean = draws.iter().sum::<f64>() / 1000.0;
        assert!((mean - 100.0).abs() < 1.5, "{mean}");
    }
}
