//! One simulated run: a trace replayed through a group's policies on a virtual clock.
//!
//! Every `report_interval` of virtual time, serving members report what the capacity model
//! says they measure; the group's metric policies are evaluated (`strategy::state`), its
//! Cloud Foundry rules, time windows and schedules too, and each outcome goes through the
//! same decisions `ebb serve` takes (`decide::scale_on_metric_policies`, `scale_on_rules`,
//! `apply_windows`, `fire_schedule`). Convergence is modelled: a new member serves after the
//! provisioning delay; a removed one (those still starting first, then the oldest, as Otter
//! does) stops serving at once and is gone after the de-provisioning delay.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use ebb_core::decide::{self, Decision, Points, Snapshot};
use ebb_core::metrics::group::{GroupMetrics, Limits};
use ebb_core::records::{Group, PolicyRecord};
use ebb_core::strategy::evaluate::MemberInput;
use ebb_core::strategy::replicas::Readiness;
use ebb_core::strategy::state::{self, Context, PolicyFact, Strategies};

use crate::kpa::Kpa;
use crate::model::{CapacityModel, Noise};
use crate::scores::{Step, Walk};
use crate::setup::Setup;
use crate::trace::Trace;

/// How late a schedule may fire and still act (the server's default).
const SCHEDULE_GRACE: SignedDuration = SignedDuration::from_secs(300);

/// What a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The demand: the fewest members that meet the SLO at each instant, holes included.
    pub demand: Vec<Step>,
    /// Members serving.
    pub supply: Vec<Step>,
    /// Members running (starting, serving or draining): what is paid for.
    pub running: Vec<Step>,
    /// Desired capacity.
    pub desired: Vec<Step>,
    /// Changes of desired capacity decided.
    pub decisions: usize,
    /// The run's end, in seconds.
    pub end: f64,
}

/// A simulated member.
#[derive(Debug, Clone)]
struct Member {
    id: String,
    started: f64,
    serving_from: f64,
    /// When it was told to go (it stops serving then).
    leaving: Option<f64>,
}

/// The simulated group.
struct Simulation<'a> {
    model: &'a CapacityModel,
    start: Timestamp,
    group: Group,
    policies: Vec<PolicyRecord>,
    schedules: HashMap<usize, Timestamp>,
    strategies: Strategies,
    metrics: GroupMetrics,
    members: Vec<Member>,
    next_member: u64,
    noise: Noise,
    decisions: usize,
    desired: Vec<Step>,
    /// The metrics reported: those the policies and rules read.
    wanted: Vec<String>,
    /// The members counted, until one is added, leaves, starts serving or is gone.
    census: Census,
    /// Knative's autoscaler in place of the group's policies (a baseline).
    kpa: Option<Kpa>,
    /// Each member's contribution: (when, +1 or −1) to serving and to running.
    serving_changes: Vec<(f64, i64)>,
    running_changes: Vec<(f64, i64)>,
    /// The samples of one report, kept to be refilled.
    reported: Vec<(u32, f64)>,
}

/// Replays `trace` through the group of `setup` under `model`; `progress` is told the share
/// done from time to time.
pub fn simulate(
    trace: &Trace,
    setup: &Setup,
    model: &CapacityModel,
    seed: u64,
    progress: &mut dyn FnMut(f64),
) -> Outcome {
    run(trace, setup, model, seed, None, progress)
}

/// Replays `trace` through the group of `setup` scaled by Knative's autoscaler instead of its
/// policies, evaluated every report interval (set it to [`crate::kpa::TICK`]).
pub fn simulate_kpa(
    trace: &Trace,
    setup: &Setup,
    model: &CapacityModel,
    kpa: Kpa,
    progress: &mut dyn FnMut(f64),
) -> Outcome {
    run(trace, setup, model, 0, Some(kpa), progress)
}

fn run(
    trace: &Trace,
    setup: &Setup,
    model: &CapacityModel,
    seed: u64,
    kpa: Option<Kpa>,
    progress: &mut dyn FnMut(f64),
) -> Outcome {
    let mut strategies = Strategies::default();
    strategies.set_policies(setup.policies.iter().filter_map(PolicyFact::of).collect());
    let schedules = setup
        .policies
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, decide::arm_schedule(&p.policy, trace.start)?)))
        .collect();
    let mut wanted = strategies.metrics();
    if let Some(rules) = &setup.group.rules {
        wanted.extend(rules.scaling_rules.iter().map(|r| r.rule().metric.clone()));
    }
    wanted.sort();
    wanted.dedup();
    let mut sim = Simulation {
        model,
        start: trace.start,
        group: setup.group.clone(),
        policies: setup.policies.clone(),
        schedules,
        strategies,
        metrics: GroupMetrics::new(Limits::default()),
        members: Vec::new(),
        next_member: 0,
        noise: Noise::new(seed, model.noise),
        decisions: 0,
        desired: vec![Step::new(0.0, f64::from(setup.group.state.desired))],
        wanted,
        census: Census::default(),
        kpa,
        serving_changes: Vec::new(),
        running_changes: Vec::new(),
        reported: Vec::new(),
    };
    // The group starts converged at its initial size.
    for _ in 0..sim.group.state.desired {
        sim.add_member(-model.provisioning.as_secs_f64());
    }
    let tick = model.report_interval.as_secs_f64().max(1.0);
    let ticks = (trace.end / tick).ceil() as u64;
    let every = (ticks / 100).max(1);
    let mut rate = Walk::new(&trace.rate);
    for i in 0..ticks {
        let t = i as f64 * tick;
        sim.step(rate.at(t), t);
        if i % every == 0 {
            progress(t / trace.end);
        }
    }
    progress(1.0);
    let demand = model.demand_curve(&trace.rate);
    Outcome {
        demand,
        supply: curve(&mut sim.serving_changes),
        running: curve(&mut sim.running_changes),
        desired: sim.desired,
        decisions: sim.decisions,
        end: trace.end,
    }
}

/// A step curve from +1/−1 changes.
pub(crate) fn curve(changes: &mut [(f64, i64)]) -> Vec<Step> {
    // Changes at one time make one step, whatever their order: no need for a stable sort.
    changes.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut steps = vec![Step::new(0.0, 0.0)];
    let mut count = 0i64;
    for (at, change) in changes.iter() {
        count += change;
        let at = at.max(0.0);
        match steps.last_mut() {
            Some(last) if last.at == at => last.value = Some(count as f64),
            _ => steps.push(Step::new(at, count as f64)),
        }
    }
    steps
}

/// Where the members stand, as counted at one time and true until `until`: members change
/// only when one is added or told to leave (which recounts) or when one starts serving or is
/// gone (`until`).
#[derive(Debug, Default)]
struct Census {
    /// Members serving.
    serving: u32,
    /// Members not told to leave.
    staying: u32,
    /// The live members as policies see them (only when the group has policies).
    live: Vec<MemberInput>,
    /// When the first member starts serving or is gone.
    until: f64,
    /// When the first member told to leave is gone.
    next_gone: f64,
    /// It counts what is there now.
    current: bool,
}

impl Simulation<'_> {
    fn now(&self, t: f64) -> Timestamp {
        self.start + SignedDuration::from_secs_f64(t)
    }

    /// One report interval at `t`, under `rate` (none in a hole of the trace).
    fn step(&mut self, rate: Option<f64>, t: f64) {
        let now = self.now(t);
        self.count(t);
        if t >= self.census.next_gone {
            let gone = self.model.deprovisioning.as_secs_f64();
            self.members.retain(|m| m.leaving.is_none_or(|left| left + gone > t));
            self.members_changed();
            self.metrics.forget_slots_from(self.members.len() as u32);
            self.count(t);
        }
        if let Some(rate) = rate {
            self.report(rate, t, now);
            self.scale_as_knative(rate, t, now);
        }
        self.evaluate_policies(now);
        self.evaluate_rules(now);
        let windows = decide::apply_windows(&self.group, now);
        self.apply(windows, now);
        self.fire_schedules(now);
        self.converge(t);
    }

    /// Counts the members again if they may have changed since they were last counted.
    fn count(&mut self, t: f64) {
        if self.census.current && t < self.census.until {
            return;
        }
        let gone = self.model.deprovisioning.as_secs_f64();
        let census = &mut self.census;
        (census.serving, census.staying, census.until, census.next_gone) = (0, 0, f64::INFINITY, f64::INFINITY);
        for m in &self.members {
            match m.leaving {
                Some(left) => census.next_gone = census.next_gone.min(left + gone),
                None if m.serving_from <= t => census.serving += 1,
                None => census.until = census.until.min(m.serving_from),
            }
            census.staying += u32::from(m.leaving.is_none());
        }
        census.until = census.until.min(census.next_gone);
        census.current = true;
        if !self.strategies.policies.is_empty() {
            self.census.live = self.members_now(t);
        }
    }

    /// Members were added or told to leave: they are to be counted again.
    fn members_changed(&mut self) {
        self.census.current = false;
    }

    /// Live members as the engine sees them: by id, starting ones not ready, leaving ones gone.
    fn members_now(&self, t: f64) -> Vec<MemberInput> {
        self.members
            .iter()
            .enumerate()
            .map(|(slot, m)| MemberInput {
                slot: slot as u32,
                id: m.id.clone(),
                readiness: match m.leaving {
                    Some(_) => Readiness::Gone,
                    None if m.serving_from <= t => Readiness::Ready,
                    None => Readiness::Unready,
                },
                started_at: Some(self.now(m.started)),
            })
            .collect()
    }

    /// Serving members report the metrics the policies and rules read.
    fn report(&mut self, rate: f64, t: f64, now: Timestamp) {
        if self.wanted.is_empty() {
            return;
        }
        let reported = self.model.report(rate, self.census.serving);
        let serving = |m: &Member| m.leaving.is_none() && m.serving_from <= t;
        for metric in &self.wanted {
            let Some(value) = reported.get(metric) else { continue };
            self.reported.clear();
            for (slot, _) in self.members.iter().enumerate().filter(|(_, m)| serving(m)) {
                self.reported.push((slot as u32, self.noise.apply(value)));
            }
            // A refused sample (over a bound) is left out, as the server leaves it.
            let _ = self.metrics.record_instant(metric, now, &self.reported);
        }
        // Per-minute aggregates are what the server archives; nothing here keeps them.
        if t % 60.0 < self.model.report_interval.as_secs_f64().max(1.0) {
            self.metrics.discard_minutes(now);
        }
    }

    /// The KPA's decision, if it scales this group: on the requests in flight in the group.
    fn scale_as_knative(&mut self, rate: f64, t: f64, now: Timestamp) {
        let Some(kpa) = self.kpa.as_mut() else { return };
        let serving = self.census.serving;
        let concurrency = self.model.report(rate, serving).inflight * f64::from(serving.max(1));
        let bounds = decide::effective_bounds(&self.group, now);
        let to = kpa.desired(t, concurrency, serving, self.group.state.desired, bounds);
        if to != self.group.state.desired {
            let mut changed = self.group.clone();
            changed.state.desired = to;
            self.changed(changed, now);
        }
    }

    fn evaluate_policies(&mut self, now: Timestamp) {
        if self.strategies.policies.is_empty() {
            return;
        }
        let t = now.duration_since(self.start).as_secs_f64();
        self.count(t);
        let members = &self.census.live;
        self.strategies.forget_votes_of_the_gone(members);
        let bounds = decide::effective_bounds(&self.group, now);
        let evaluation = self.strategies.evaluate(&Context {
            metrics: &self.metrics,
            members,
            current: self.group.state.desired,
            bounds,
            stale_after: Limits::default().stale_after,
            periodic: true,
            now,
        });
        self.strategies.remember(&evaluation);
        let (state, cooldowns) = (&self.group.state, self.group.config.cooldowns());
        let held = |fact: &PolicyFact, to: u32| state::held_by(state, cooldowns, bounds, fact, to, now);
        let Some(verdict) = self.strategies.verdict(&evaluation, held) else { return };
        let policy = verdict.live.as_ref().and_then(|live| self.policies.iter().find(|p| p.id == live.policy)).cloned();
        let snapshot = Snapshot { group: self.group.clone(), policy, webhook: None };
        let decision = decide::scale_on_metric_policies(&snapshot, &verdict, now);
        self.apply(decision, now);
    }

    fn evaluate_rules(&mut self, now: Timestamp) {
        let Some(rules) = self.group.rules.clone() else { return };
        let paced = decide::rules_of(&self.group, 1.0);
        let horizon = paced.iter().map(|r| r.breach + r.breach).max().unwrap_or_default();
        let mut points: Points = HashMap::new();
        for rule in &rules.scaling_rules {
            let metric = rule.rule().metric;
            let series = self.metrics.points(&metric, now - horizon);
            points.insert(metric, series);
        }
        let decision = decide::scale_on_rules(&self.group, &points, now, 1.0);
        self.apply(decision, now);
    }

    fn fire_schedules(&mut self, now: Timestamp) {
        let due: Vec<(usize, Timestamp)> =
            self.schedules.iter().filter(|(_, at)| **at <= now).map(|(i, at)| (*i, *at)).collect();
        for (index, at) in due {
            let snapshot =
                Snapshot { group: self.group.clone(), policy: Some(self.policies[index].clone()), webhook: None };
            match decide::fire_schedule(&snapshot, at, now, SCHEDULE_GRACE) {
                Ok(decision) => {
                    match decision.schedule.as_ref().and_then(|(_, next)| *next) {
                        Some(next) => self.schedules.insert(index, next),
                        None => self.schedules.remove(&index),
                    };
                    self.apply(decision, now);
                }
                Err(_) => {
                    self.schedules.remove(&index);
                }
            }
        }
    }

    /// Writes what a decision returns, as the store would.
    fn apply(&mut self, decision: Decision, now: Timestamp) {
        if let Some((policy, at)) = &decision.policy_touched {
            self.strategies.touched(policy, *at);
            if let Some(record) = self.policies.iter_mut().find(|p| &p.id == policy) {
                record.touched_at = Some(*at);
            }
        }
        if let Some(changed) = decision.group {
            self.changed(changed, now);
        }
    }

    /// The group as a decision left it.
    fn changed(&mut self, changed: Group, now: Timestamp) {
        let (before, after) = (self.group.state.desired, changed.state.desired);
        self.group = changed;
        if before != after {
            self.decisions += 1;
            self.strategies.scaled(before, after, now);
            let t = now.duration_since(self.start).as_secs_f64();
            self.desired.push(Step::new(t, f64::from(after)));
        }
    }

    fn add_member(&mut self, t: f64) {
        let id = format!("m{:010}", self.next_member);
        self.next_member += 1;
        let serving_from = t + self.model.provisioning.as_secs_f64();
        self.running_changes.push((t, 1));
        self.serving_changes.push((serving_from, 1));
        self.members.push(Member { id, started: t, serving_from, leaving: None });
        self.members_changed();
    }

    /// Members toward desired capacity: new ones start; extra ones leave, those still
    /// starting first (newest first), then the oldest.
    fn converge(&mut self, t: f64) {
        self.count(t);
        let staying = self.census.staying;
        let desired = self.group.state.desired;
        for _ in staying..desired {
            self.add_member(t);
        }
        let extra = staying.saturating_sub(desired) as usize;
        if extra == 0 {
            return;
        }
        let gone = self.model.deprovisioning.as_secs_f64();
        // Members are kept in the order they started.
        let staying = |m: &&Member| m.leaving.is_none();
        let starting = self.members.iter().enumerate().rev().filter(|(_, m)| staying(m) && m.serving_from > t);
        let serving = self.members.iter().enumerate().filter(|(_, m)| staying(m) && m.serving_from <= t);
        let leaving: Vec<usize> = starting.chain(serving).map(|(index, _)| index).take(extra).collect();
        self.members_changed();
        for index in leaving {
            let member = &mut self.members[index];
            member.leaving = Some(t);
            if member.serving_from <= t {
                self.serving_changes.push((t, -1));
            } else {
                // It never served: take back its arrival.
                let arrival = self.serving_changes.iter().rposition(|(at, c)| *at == member.serving_from && *c == 1);
                if let Some(i) = arrival {
                    self.serving_changes.swap_remove(i);
                }
            }
            self.running_changes.push((t + gone, -1));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scores::{Scores, value_at};

    fn trace(rates: &[f64]) -> Trace {
        let mut text = String::from("timestamp,requests\n");
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        for (i, per_second) in rates.iter().enumerate() {
            let at = start + SignedDuration::from_secs(60 * i as i64);
            text.push_str(&format!("{at},{}\n", per_second * 60.0));
        }
        Trace::parse(&text).unwrap()
    }

    fn tracking(target: f64) -> Setup {
        let body = json!({"groupConfiguration": {"name": "web", "cooldown": 0, "minEntities": 1, "maxEntities": 50},
            "scalingPolicies": [{"name": "cpu", "type": "target_tracking", "cooldown": 0,
                "args": {"metric": "cpuutil", "target": {"type": "Utilization", "averageUtilization": target}}}]});
        Setup::parse(&body, "2026-01-01T00:00:00Z".parse().unwrap()).unwrap()
    }

    #[test]
    fn target_tracking_follows_a_step_of_load_up_and_down() {
        // 5/s for 10 minutes, 100/s for 20, 5/s for 20: demand 1, 10, 1.
        let rates: Vec<f64> = [vec![5.0; 10], vec![100.0; 20], vec![5.0; 20]].concat();
        let trace = trace(&rates);
        let model = CapacityModel::default();
        let outcome = simulate(&trace, &tracking(70.0), &model, 1, &mut |_| {});
        let at = |t: f64| value_at(&outcome.supply, t).unwrap();
        assert_eq!(at(500.0), 1.0);
        // 100/s on 1 member of μ 12 is saturated (utilization 100 %): the HPA's rate policy
        // allows 4 more (or double) each 15 s, then the utilization tells the rest.
        assert!(at(1700.0) >= 10.0, "serving {} at the end of the surge: {:?}", at(1700.0), outcome.desired);
        assert!(at(2990.0) <= 2.0, "back down after the 300 s window: {:?}", outcome.desired);
        let scores = Scores::of(&outcome.demand, &outcome.supply, outcome.end, 60.0);
        assert!(scores.tau_u < 15.0, "{scores:?}");
        assert!(outcome.decisions >= 2);
    }

    #[test]
    fn knative_scales_on_requests_in_flight_every_two_seconds() {
        // 50/s for 20 minutes on a group starting at 1: the KPA panics at once (one member
        // saturated) and asks for many more within its first tick.
        let trace = trace(&[50.0; 20]);
        let mut setup = tracking(60.0);
        setup.policies.clear();
        let model = CapacityModel { report_interval: SignedDuration::from_secs(2), ..CapacityModel::default() };
        let outcome = simulate_kpa(&trace, &setup, &model, Kpa::new(3.5), &mut |_| {});
        assert_eq!(outcome.desired[1].at, 0.0, "decided on the first tick");
        assert!(outcome.desired[1].value.unwrap() >= 5.0, "{:?}", &outcome.desired[..3]);
        assert!(outcome.desired.windows(2).all(|w| w[1].at - w[0].at >= 0.0));
        let changes: Vec<f64> =
            outcome.desired.windows(2).map(|w| w[1].at - w[0].at).filter(|gap| *gap > 0.0).collect();
        assert!(changes.iter().all(|gap| gap % 2.0 == 0.0), "on its 2 s ticks: {changes:?}");
    }

    #[test]
    fn the_same_run_twice_is_the_same() {
        let trace = trace(&[5.0, 50.0, 80.0, 20.0, 5.0, 5.0]);
        let model = CapacityModel { noise: 0.1, ..CapacityModel::default() };
        let a = simulate(&trace, &tracking(60.0), &model, 9, &mut |_| {});
        let b = simulate(&trace, &tracking(60.0), &model, 9, &mut |_| {});
        assert_eq!(a, b);
    }

    #[test]
    fn cloud_foundry_rules_scale_by_one_after_their_breach() {
        let cf = json!({"instance_min_count": 1, "instance_max_count": 10, "scaling_rules": [
            {"metric_type": "cpuutil", "threshold": 80, "operator": ">", "adjustment": "+1", "breach_duration_secs": 120, "cool_down_secs": 300}]});
        let setup = Setup::parse(&cf, "2026-01-01T00:00:00Z".parse().unwrap()).unwrap();
        let outcome = simulate(&trace(&[50.0; 20]), &setup, &CapacityModel::default(), 1, &mut |_| {});
        let changes: Vec<f64> = outcome.desired.iter().filter_map(|s| s.value).collect();
        assert_eq!(&changes[..3], &[1.0, 2.0, 3.0], "one at a time");
        let first = outcome.desired[1].at;
        assert!((120.0..=180.0).contains(&first), "after the 120 s breach: {first}");
        assert!(outcome.desired[2].at - first >= 300.0, "the cooldown");
    }

    #[test]
    fn removed_members_stop_serving_at_once_and_are_paid_for_until_gone() {
        let mut setup = tracking(70.0);
        setup.policies.clear();
        let fixed = json!({"name": "down", "type": "schedule", "cooldown": 0, "desiredCapacity": 1,
            "args": {"at": "2026-01-01T00:05:00Z"}});
        setup.policies.push(PolicyRecord {
            id: "s".into(),
            group_id: setup.group.id.clone(),
            policy: ebb_core::policy::Policy::from_stored(&fixed).unwrap(),
            body: fixed,
            touched_at: None,
        });
        setup.group.state.desired = 3;
        let outcome = simulate(&trace(&[5.0; 10]), &setup, &CapacityModel::default(), 1, &mut |_| {});
        assert_eq!(value_at(&outcome.supply, 299.0), Some(3.0));
        assert_eq!(value_at(&outcome.supply, 301.0), Some(1.0), "the schedule fired at 300 s");
        assert_eq!(value_at(&outcome.running, 320.0), Some(3.0), "draining for 30 s");
        assert_eq!(value_at(&outcome.running, 331.0), Some(1.0));
    }
}
