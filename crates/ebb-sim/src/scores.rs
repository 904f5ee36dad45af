//! The elasticity scores of a run (`elasticity-benchmark.md` §1.2): how the supply an
//! autoscaler had (members serving) followed the demand (the fewest members that meet the SLO
//! at the offered load).
//!
//! Both are step functions over seconds from the run's start. Accuracy, timeshares, areas and
//! adaptations are computed exactly on the union of their change points; instability compares
//! the direction of change of both on a grid of `interval` seconds (the trace's), values taken
//! at each grid point. Stretches where demand is unknown (holes in a trace, like NASA's two)
//! count nowhere: not in the run's length, not in any sum, and the first grid interval after
//! one has no predecessor. Demand of 0 has no relative accuracy: such time adds nothing to θ
//! but counts in the timeshares (any supply there is over-provisioning).

/// A step of a curve: `value` from `at` seconds until the next step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// When it starts, in seconds from the run's start.
    pub at: f64,
    /// Its value (members); `None` where demand is unknown.
    pub value: Option<f64>,
}

impl Step {
    /// A known value from `at`.
    pub fn new(at: f64, value: f64) -> Step {
        Step { at, value: Some(value) }
    }

    /// An unknown stretch from `at` (a hole in the trace).
    pub fn hole(at: f64) -> Step {
        Step { at, value: None }
    }
}

/// A curve: steps in time order, the first at 0, the last holding until the run's end.
pub type Curve = [Step];

/// The value of `curve` at `t` (`None` before its first step or in a hole).
pub fn value_at(curve: &Curve, t: f64) -> Option<f64> {
    let index = curve.partition_point(|s| s.at <= t);
    index.checked_sub(1).and_then(|i| curve[i].value)
}

/// A curve read at times that only increase: a walk along it, not a search each time.
#[derive(Debug, Clone)]
pub struct Walk<'a> {
    curve: &'a Curve,
    next: usize,
}

impl<'a> Walk<'a> {
    /// A walk from the start of `curve`.
    pub fn new(curve: &'a Curve) -> Self {
        Walk { curve, next: 0 }
    }

    /// [`value_at`] `t`, no earlier than the last time asked.
    pub fn at(&mut self, t: f64) -> Option<f64> {
        while self.curve.get(self.next).is_some_and(|s| s.at <= t) {
            self.next += 1;
        }
        self.next.checked_sub(1).and_then(|i| self.curve[i].value)
    }
}

/// A stretch on which demand and supply are both constant and known.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    length: f64,
    demand: f64,
    supply: f64,
}

/// `demand` and `supply` cut at the union of their change points over `[0, end)`, holes left
/// out.
fn segments(demand: &Curve, supply: &Curve, end: f64) -> Vec<Segment> {
    let mut cuts: Vec<f64> = demand.iter().chain(supply).map(|s| s.at).filter(|at| *at < end).collect();
    cuts.push(end);
    cuts.sort_unstable_by(f64::total_cmp);
    cuts.dedup();
    let (mut demand, mut supply) = (Walk::new(demand), Walk::new(supply));
    cuts.windows(2)
        .filter_map(|w| {
            let (demand, supply) = (demand.at(w[0])?, supply.at(w[0])?);
            Some(Segment { length: w[1] - w[0], demand, supply })
        })
        .filter(|s| s.length > 0.0)
        .collect()
}

/// The SPEC Research Group's metrics of one run, and what it cost; percentages are in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// θU: the mean relative shortfall of supply against demand.
    pub theta_u: f64,
    /// θO: the mean relative surplus.
    pub theta_o: f64,
    /// τU: the share of time supply was short of demand.
    pub tau_u: f64,
    /// τO: the share of time supply exceeded demand.
    pub tau_o: f64,
    /// υ: the share of grid intervals in which supply moved otherwise than demand.
    pub instability: f64,
    /// υ's half where supply moved up relative to demand.
    pub instability_up: f64,
    /// υ's half where supply moved down relative to demand.
    pub instability_down: f64,
    /// Unit adaptations of supply less those of demand, per minute: below 0 too inert,
    /// above 0 oscillating.
    pub jitter: f64,
    /// σ: the distance to the ideal, √(θU² + θO² + τU² + τO² + υ²).
    pub deviation: f64,
    /// Member-hours supplied.
    pub instance_hours: f64,
    /// Member-hours demanded (the clairvoyant oracle's).
    pub demand_hours: f64,
    /// The run's length counted, in seconds (holes left out).
    pub seconds: f64,
}

impl Scores {
    /// The scores of `supply` against `demand` over `[0, end)` seconds, instability on a grid
    /// of `interval` seconds.
    pub fn of(demand: &Curve, supply: &Curve, end: f64, interval: f64) -> Scores {
        let segments = segments(demand, supply, end);
        let seconds: f64 = segments.iter().map(|s| s.length).sum();
        // `+ 0.0` turns the -0.0 an empty sum gives into 0.
        let percent = |sum: f64| if seconds > 0.0 { 100.0 * sum / seconds + 0.0 } else { 0.0 };
        let relative = |s: &Segment, gap: f64| if s.demand > 0.0 { gap.max(0.0) / s.demand * s.length } else { 0.0 };
        let theta_u = percent(segments.iter().map(|s| relative(s, s.demand - s.supply)).sum());
        let theta_o = percent(segments.iter().map(|s| relative(s, s.supply - s.demand)).sum());
        let tau_u = percent(segments.iter().filter(|s| s.supply < s.demand).map(|s| s.length).sum());
        let tau_o = percent(segments.iter().filter(|s| s.supply > s.demand).map(|s| s.length).sum());
        let (up, down, compared) = instability(demand, supply, end, interval);
        let over = |count: usize| if compared > 0 { 100.0 * count as f64 / compared as f64 } else { 0.0 };
        let (instability_up, instability_down) = (over(up), over(down));
        let instability = instability_up + instability_down;
        let adaptations =
            |curve: &Curve| -> f64 { curve.windows(2).filter_map(|w| Some((w[1].value? - w[0].value?).abs())).sum() };
        let minutes = seconds / 60.0;
        let jitter = if minutes > 0.0 { (adaptations(supply) - adaptations(demand)) / minutes } else { 0.0 };
        let deviation = [theta_u, theta_o, tau_u, tau_o, instability].iter().map(|m| m * m).sum::<f64>().sqrt();
        Scores {
            theta_u,
            theta_o,
            tau_u,
            tau_o,
            instability,
            instability_up,
            instability_down,
            jitter,
            deviation,
            instance_hours: segments.iter().map(|s| s.supply * s.length).sum::<f64>() / 3600.0,
            demand_hours: segments.iter().map(|s| s.demand * s.length).sum::<f64>() / 3600.0,
            seconds,
        }
    }

    /// Supply over the clairvoyant oracle's (supply = demand): 1 is the physical limit.
    pub fn cost_ratio_oracle(&self) -> f64 {
        ratio(self.instance_hours, self.demand_hours)
    }

    /// The elastic speedup over `baseline` (usually a fixed capacity): the geometric mean of
    /// the baseline's θU, θO, τU and τO over this run's; above 1 is better. A metric that is 0
    /// in both runs counts as 1; one that is 0 only here is taken as 0.01 % so that the mean
    /// stays finite.
    pub fn elastic_speedup(&self, baseline: &Scores) -> f64 {
        let pairs = [
            (baseline.theta_u, self.theta_u),
            (baseline.theta_o, self.theta_o),
            (baseline.tau_u, self.tau_u),
            (baseline.tau_o, self.tau_o),
        ];
        let product: f64 = pairs
            .iter()
            .map(|(base, this)| if *base == 0.0 && *this == 0.0 { 1.0 } else { base.max(0.01) / this.max(0.01) })
            .product();
        product.powf(0.25)
    }
}

/// -1, 0 or 1 (`f64::signum` is 1 for 0).
fn sign(x: f64) -> i32 {
    i32::from(x > 0.0) - i32::from(x < 0.0)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Grid intervals where supply moved up relative to demand, down relative to it, and how many
/// intervals were compared: each one after the first on `[0, end)` whose predecessor is known.
fn instability(demand: &Curve, supply: &Curve, end: f64, interval: f64) -> (usize, usize, usize) {
    let (mut up, mut down, mut compared) = (0, 0, 0);
    let mut previous: Option<(f64, f64)> = None;
    let steps = (end / interval).ceil() as usize;
    for i in 0..steps {
        let t = i as f64 * interval;
        let now = value_at(demand, t).zip(value_at(supply, t));
        if let (Some((d0, s0)), Some((d1, s1))) = (previous, now) {
            compared += 1;
            let moved = sign(s1 - s0) - sign(d1 - d0);
            match moved {
                m if m > 0 => up += 1,
                m if m < 0 => down += 1,
                _ => {}
            }
        }
        previous = now;
    }
    (up, down, compared)
}

/// The reactive oracle's supply: demand delayed by `delay` seconds (the provisioning delay),
/// demand's first value before that.
pub fn reactive_oracle(demand: &Curve, delay: f64) -> Vec<Step> {
    let mut shifted: Vec<Step> = demand.iter().map(|s| Step { at: s.at + delay, value: s.value }).collect();
    if let Some(first) = demand.first() {
        shifted.insert(0, Step { at: first.at, value: first.value });
    }
    shifted
}

/// The share of time, in percent, the SLO was violated: supply short of demand (demand is,
/// by definition, the fewest members that meet the SLO).
pub fn slo_violation_share(scores: &Scores) -> f64 {
    scores.tau_u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(steps: &[(f64, f64)]) -> Vec<Step> {
        steps.iter().map(|(at, v)| Step::new(*at, *v)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_walk_reads_what_value_at_reads() {
        let curve =
            vec![Step::new(0.0, 1.0), Step { at: 10.0, value: None }, Step::new(20.0, 3.0), Step::new(25.0, 4.0)];
        let mut walk = Walk::new(&curve);
        for t in [-1.0, 0.0, 5.0, 10.0, 15.0, 20.0, 24.9, 25.0, 99.0] {
            assert_eq!(walk.at(t), value_at(&curve, t), "at {t}");
        }
    }

    #[test]
    fn supply_that_follows_demand_half_a_minute_late() {
        // Demand 2 then 4 from the first minute; supply follows at 90 s. Over 2 minutes:
        // 30 s short by half (θU = 100 × 0.5 × 30 / 120), a quarter of the time short.
        let demand = curve(&[(0.0, 2.0), (60.0, 4.0)]);
        let supply = curve(&[(0.0, 2.0), (90.0, 4.0)]);
        let s = Scores::of(&demand, &supply, 120.0, 60.0);
        assert!(close(s.theta_u, 12.5) && close(s.tau_u, 25.0), "{s:?}");
        assert!(close(s.theta_o, 0.0) && close(s.tau_o, 0.0));
        assert!(close(s.instance_hours * 3600.0, 300.0) && close(s.demand_hours * 3600.0, 360.0));
        assert!(close(s.cost_ratio_oracle(), 300.0 / 360.0));
        // At 60 s demand rose and supply did not: one interval of one compared.
        assert!(close(s.instability, 100.0) && close(s.instability_down, 100.0), "{s:?}");
        assert!(close(s.jitter, 0.0), "both adapted by 2 units");
        assert!(close(s.deviation, (12.5f64.powi(2) + 25.0f64.powi(2) + 100.0f64.powi(2)).sqrt()));
        assert!(close(slo_violation_share(&s), 25.0));
    }

    #[test]
    fn over_provisioning_is_relative_to_demand_and_may_exceed_100() {
        let demand = curve(&[(0.0, 1.0)]);
        let supply = curve(&[(0.0, 3.0)]);
        let s = Scores::of(&demand, &supply, 600.0, 60.0);
        assert!(close(s.theta_o, 200.0) && close(s.tau_o, 100.0) && close(s.tau_u, 0.0));
        assert!(close(s.cost_ratio_oracle(), 3.0));
    }

    #[test]
    fn zero_demand_adds_nothing_to_accuracy_but_counts_in_the_timeshares() {
        let demand = curve(&[(0.0, 0.0), (60.0, 2.0)]);
        let supply = curve(&[(0.0, 1.0)]);
        let s = Scores::of(&demand, &supply, 120.0, 60.0);
        // First minute: demand 0, supply 1 (over, no relative term); second: 1 of 2 short.
        assert!(close(s.theta_o, 0.0) && close(s.tau_o, 50.0));
        assert!(close(s.theta_u, 25.0) && close(s.tau_u, 50.0));
    }

    #[test]
    fn change_points_between_grid_points_are_integrated_exactly() {
        let demand = curve(&[(0.0, 2.0), (15.0, 4.0)]);
        let supply = curve(&[(0.0, 4.0)]);
        let s = Scores::of(&demand, &supply, 60.0, 60.0);
        // 15 s of 2 against 4: θO = 100 × (2/2 × 15) / 60.
        assert!(close(s.theta_o, 25.0) && close(s.tau_o, 25.0), "{s:?}");
        assert!(close(s.demand_hours * 3600.0, 2.0 * 15.0 + 4.0 * 45.0));
    }

    #[test]
    fn holes_count_nowhere() {
        // A trace with a 60 s hole: as if the minute were not there.
        let demand = vec![Step::new(0.0, 2.0), Step::hole(60.0), Step::new(120.0, 2.0)];
        let supply = curve(&[(0.0, 2.0), (90.0, 1.0)]);
        let s = Scores::of(&demand, &supply, 180.0, 60.0);
        assert!(close(s.seconds, 120.0));
        assert!(close(s.tau_u, 50.0) && close(s.theta_u, 25.0), "{s:?}");
        // Grid points 0, 60 (hole), 120: no interval has a known predecessor.
        assert!(close(s.instability, 0.0));
    }

    #[test]
    fn oscillating_supply_is_unstable_and_jittery() {
        let demand = curve(&[(0.0, 2.0)]);
        let supply = curve(&[(0.0, 2.0), (60.0, 3.0), (120.0, 2.0), (180.0, 3.0), (240.0, 2.0)]);
        let s = Scores::of(&demand, &supply, 300.0, 60.0);
        assert!(close(s.instability, 100.0), "every interval moved against a flat demand: {s:?}");
        assert!(close(s.instability_up, 50.0) && close(s.instability_down, 50.0));
        assert!(close(s.jitter, 4.0 / 5.0), "4 adaptations in 5 minutes");
    }

    #[test]
    fn the_oracles() {
        let demand = curve(&[(0.0, 1.0), (60.0, 3.0), (120.0, 1.0)]);
        let perfect = Scores::of(&demand, &demand, 180.0, 60.0);
        assert_eq!((perfect.theta_u, perfect.theta_o, perfect.tau_u, perfect.tau_o), (0.0, 0.0, 0.0, 0.0));
        assert!(close(perfect.instability, 0.0) && close(perfect.cost_ratio_oracle(), 1.0));
        let reactive = reactive_oracle(&demand, 30.0);
        assert_eq!(value_at(&reactive, 70.0), Some(1.0));
        assert_eq!(value_at(&reactive, 95.0), Some(3.0));
        let late = Scores::of(&demand, &reactive, 180.0, 60.0);
        assert!(close(late.tau_u, 100.0 * 30.0 / 180.0) && close(late.tau_o, 100.0 * 30.0 / 180.0), "{late:?}");
    }

    #[test]
    fn the_elastic_speedup_is_the_geometric_mean_of_four_gains() {
        let base = Scores::of(&curve(&[(0.0, 1.0), (60.0, 4.0)]), &curve(&[(0.0, 2.0)]), 120.0, 60.0);
        assert!(close(base.elastic_speedup(&base), 1.0));
        let better = Scores { theta_u: base.theta_u / 16.0, ..base };
        assert!(close(better.elastic_speedup(&base), 2.0), "one metric 16 times better: 16^(1/4)");
    }
}
