//! Runs scored side by side: the policy under test and the peers' defaults, each built in as
//! the policy document its system would amount to in Ebb (`modern-autoscalers.md`,
//! `cf-app-autoscaler.md`, the seeds), plus a fixed capacity and the two oracles of
//! `elasticity-benchmark.md` §0.
//!
//! - `hpa`: Kubernetes HPA — target tracking on CPU utilization at 80 % (`kubectl autoscale`'s
//!   default), evaluated every report interval (15 s, the HPA's loop), its default behavior
//!   (300 s scale-down stabilization, 100 % or 4 members per 15 s up, 100 % per 15 s down);
//! - `cf`: Cloud Foundry App Autoscaler rules — ±1 member on CPU utilization above 80 % or
//!   below 30 %, breaches of 120 s and a cooldown of 300 s (its defaults);
//! - `autoscalebot`: the consecutive-threshold decision on response time with its defaults
//!   (3 measurements above 1,200 ms up, 5 below 400 ms down, 5 s wait);
//! - `step`: AWS step scaling — +1, +2 or +3 members at 70, 80 and 90 % CPU held for 60 s,
//!   −1 at 30 %, 300 s warm-up;
//! - `kpa`: Knative's Pod Autoscaler with its defaults (2 s tick, 60 s stable and 6 s panic
//!   windows, 200 % panic threshold), each member kept at 70 % of what it holds in flight at
//!   its SLO capacity (Knative's 70 % utilization of a concurrency target);
//! - `fixed`: a fixed capacity (no autoscaling), the elastic speedup's baseline;
//! - `oracle`: supply equal to demand (the clairvoyant limit);
//! - `reactive-oracle`: demand delayed by the provisioning delay (the limit of any purely
//!   reactive controller).

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::kpa::{self, Kpa};

use crate::model::CapacityModel;
use crate::recorded;
use crate::run::{self, Outcome};
use crate::scores::{self, Scores, Step, reactive_oracle};
use crate::setup::{Setup, SetupError};
use crate::trace::Trace;

/// A scored run.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Its name.
    pub name: String,
    /// Its scores.
    pub scores: Scores,
    /// Member-hours paid for (running members, starting and draining ones included).
    pub paid_hours: f64,
    /// Its elastic speedup over the fixed capacity.
    pub elastic_speedup: f64,
    /// Member-hours paid over the reactive oracle's.
    pub cost_ratio_reactive_oracle: f64,
    /// Member-hours paid over the clairvoyant oracle's.
    pub cost_ratio_oracle: f64,
    /// Its supply (members serving), for plots.
    pub supply: Vec<Step>,
}

/// What is simulated in a comparison.
#[derive(Debug, Clone)]
pub enum Contender {
    /// A policy document (a `POST /groups` body or a Cloud Foundry policy).
    Policy {
        /// Its name.
        name: String,
        /// The document.
        document: Value,
    },
    /// Knative's Pod Autoscaler, on a group of 1 to `max` members.
    Kpa {
        /// The most members.
        max: u32,
    },
}

impl Contender {
    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            Contender::Policy { name, .. } => name,
            Contender::Kpa { .. } => "kpa",
        }
    }
}

/// The peers, for groups of at most `max` members.
pub fn peers(max: u32) -> Vec<Contender> {
    let mut peers: Vec<Contender> = policy_peers(max)
        .into_iter()
        .map(|(name, document)| Contender::Policy { name: name.to_string(), document })
        .collect();
    peers.insert(1, Contender::Kpa { max });
    peers
}

/// The peers that are policy documents, by name, for groups of at most `max` members.
pub fn policy_peers(max: u32) -> Vec<(&'static str, Value)> {
    let group = |name: &str| json!({"name": name, "cooldown": 0, "minEntities": 1, "maxEntities": max});
    vec![
        (
            "hpa",
            json!({"groupConfiguration": group("hpa"), "scalingPolicies": [{"name": "hpa", "type": "target_tracking",
                "cooldown": 0, "args": {"metric": "cpuutil", "target": {"type": "Utilization", "averageUtilization": 80}}}]}),
        ),
        (
            "cf",
            json!({"instance_min_count": 1, "instance_max_count": max, "scaling_rules": [
                {"metric_type": "cpuutil", "threshold": 80, "operator": ">", "adjustment": "+1", "breach_duration_secs": 120, "cool_down_secs": 300},
                {"metric_type": "cpuutil", "threshold": 30, "operator": "<", "adjustment": "-1", "breach_duration_secs": 120, "cool_down_secs": 300}]}),
        ),
        (
            "autoscalebot",
            json!({"groupConfiguration": group("autoscalebot"), "scalingPolicies": [{"name": "autoscalebot",
                "type": "threshold", "cooldown": 0, "args": {"metric": "responsetime", "decision": "consecutive"}}]}),
        ),
        (
            "step",
            json!({"groupConfiguration": group("step"), "scalingPolicies": [
                {"name": "out", "type": "step", "cooldown": 0, "args": {"metric": "cpuutil", "threshold": 70,
                    "comparison": ">=", "evaluationSeconds": 60, "warmupSeconds": 300,
                    "steps": [{"lower": 0, "upper": 10, "change": 1}, {"lower": 10, "upper": 20, "change": 2}, {"lower": 20, "change": 3}]}},
                {"name": "in", "type": "step", "cooldown": 0, "args": {"metric": "cpuutil", "threshold": 30,
                    "comparison": "<=", "evaluationSeconds": 60, "steps": [{"upper": 0, "change": -1}]}}]}),
        ),
    ]
}

/// Everything a comparison needs besides the contenders.
#[derive(Debug, Clone, Copy)]
pub struct Bench<'a> {
    /// The trace.
    pub trace: &'a Trace,
    /// The capacity model.
    pub model: &'a CapacityModel,
    /// The noise's seed.
    pub seed: u64,
    /// The fixed capacity of the baseline (members).
    pub fixed: u32,
    /// The members every run starts with, within its bounds (a replay: the live group's);
    /// `None`: its minimum.
    pub initial: Option<u32>,
}

impl Bench<'_> {
    /// The demand curve.
    pub fn demand(&self) -> Vec<Step> {
        self.model.demand_curve(&self.trace.rate)
    }

    /// The fixed capacity's scores: the baseline of every elastic speedup.
    pub fn baseline(&self) -> Scores {
        Scores::of(&self.demand(), &[Step::new(0.0, f64::from(self.fixed))], self.trace.end, self.trace.interval)
    }

    /// Member-hours of the reactive oracle.
    fn reactive_hours(&self) -> f64 {
        let demand = self.demand();
        let reactive = reactive_oracle(&demand, self.model.provisioning.as_secs_f64());
        Scores::of(&demand, &reactive, self.trace.end, self.trace.interval).instance_hours
    }

    /// Scores a supply (and what was paid for) against the demand.
    fn score(&self, name: &str, supply: Vec<Step>, running: &[Step], baseline: &Scores, reactive_hours: f64) -> Scored {
        let demand = self.demand();
        let scores = Scores::of(&demand, &supply, self.trace.end, self.trace.interval);
        let paid_hours = Scores::of(&demand, running, self.trace.end, self.trace.interval).instance_hours;
        Scored {
            name: name.to_string(),
            elastic_speedup: scores.elastic_speedup(baseline),
            cost_ratio_oracle: ratio(paid_hours, scores.demand_hours),
            cost_ratio_reactive_oracle: ratio(paid_hours, reactive_hours),
            scores,
            paid_hours,
            supply,
        }
    }

    fn starting(&self, setup: Setup) -> Setup {
        match self.initial {
            Some(members) => setup.starting_at(members),
            None => setup,
        }
    }

    /// Simulates a contender and scores it.
    pub fn run(&self, contender: &Contender, progress: &mut dyn FnMut(f64)) -> Result<Scored, SetupError> {
        let outcome: Outcome = match contender {
            Contender::Policy { document, .. } => {
                let setup = self.starting(Setup::parse(document, self.trace.start)?);
                run::simulate(self.trace, &setup, self.model, self.seed, progress)
            }
            Contender::Kpa { max } => {
                let group =
                    json!({"groupConfiguration": {"name": "kpa", "cooldown": 0, "minEntities": 1, "maxEntities": max}});
                let setup = self.starting(Setup::parse(&group, self.trace.start)?);
                let model = CapacityModel { report_interval: SignedDuration::from_secs_f64(kpa::TICK), ..*self.model };
                let target = self.model.member_rps * self.model.slo_ms / 1000.0 * 0.7;
                run::simulate_kpa(self.trace, &setup, &model, Kpa::new(target), progress)
            }
        };
        Ok(self.score(contender.name(), outcome.supply, &outcome.running, &self.baseline(), self.reactive_hours()))
    }

    /// A live group's recorded decisions (its desired capacity over the trace), played
    /// through the capacity model as a simulated group's are, and scored.
    pub fn live(&self, name: &str, desired: &[Step]) -> Scored {
        let (supply, running) = recorded::supply_of(desired, self.model);
        self.score(name, supply, &running, &self.baseline(), self.reactive_hours())
    }

    /// The fixed capacity and the two oracles, scored.
    pub fn references(&self) -> Vec<Scored> {
        let (baseline, reactive_hours) = (self.baseline(), self.reactive_hours());
        let fixed = vec![Step::new(0.0, f64::from(self.fixed))];
        let demand = self.demand();
        let reactive = reactive_oracle(&demand, self.model.provisioning.as_secs_f64());
        vec![
            self.score(&format!("fixed-{}", self.fixed), fixed.clone(), &fixed, &baseline, reactive_hours),
            self.score("oracle", demand.clone(), &demand, &baseline, reactive_hours),
            self.score("reactive-oracle", reactive.clone(), &reactive, &baseline, reactive_hours),
        ]
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// The default fixed capacity: the mean demand, rounded up (what a static deployment sized
/// for the average buys).
pub fn mean_demand(trace: &Trace, model: &CapacityModel) -> u32 {
    let demand = model.demand_curve(&trace.rate);
    let scores = Scores::of(&demand, &demand, trace.end, trace.interval);
    (scores.demand_hours * 3600.0 / scores.seconds.max(1.0)).ceil() as u32
}

/// The peak demand of a trace, in members.
pub fn peak_demand(trace: &Trace, model: &CapacityModel) -> u32 {
    trace.rate.iter().filter_map(|s| s.value).map(|r| model.demand(r)).fold(0.0, f64::max) as u32
}

/// The share of time, in percent, the SLO was violated.
pub fn slo_violation_share(scored: &Scored) -> f64 {
    scores::slo_violation_share(&scored.scores)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;

    #[test]
    fn every_peer_is_a_valid_policy_document() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        for (name, document) in policy_peers(100) {
            Setup::parse(&document, now).unwrap_or_else(|err| panic!("{name}: {err}"));
        }
    }

    #[test]
    fn the_oracle_is_perfect_and_the_reactive_one_pays_for_its_delay() {
        let text = "timestamp,requests\n2026-01-01T00:00:00Z,600\n2026-01-01T00:01:00Z,6000\n2026-01-01T00:02:00Z,600\n2026-01-01T00:03:00Z,600\n";
        let trace = Trace::parse(text).unwrap();
        let model = CapacityModel::default();
        let bench = Bench { trace: &trace, model: &model, seed: 1, fixed: mean_demand(&trace, &model), initial: None };
        assert_eq!((bench.fixed, peak_demand(&trace, &model)), (4, 10), "demand 1, 10, 1, 1");
        let references = bench.references();
        let oracle = &references[1];
        assert_eq!((oracle.scores.tau_u, oracle.scores.theta_o, oracle.cost_ratio_oracle), (0.0, 0.0, 1.0));
        let reactive = &references[2];
        assert!(reactive.scores.tau_u > 0.0 && slo_violation_share(reactive) > 0.0);
        assert!((reactive.cost_ratio_reactive_oracle - 1.0).abs() < 1e-9);
        assert!(oracle.elastic_speedup > references[0].elastic_speedup);
    }
}
