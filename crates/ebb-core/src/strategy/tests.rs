//! The HPA's conformance tables (`modern-autoscalers.md` §1.6–1.8), row by row, and the
//! properties every outcome keeps.

use jiff::SignedDuration;
use proptest::prelude::*;

use super::at::{ago, now};
use super::behavior::*;
use super::replicas::*;
use crate::capacity::Bounds;

fn ready(value: f64) -> Member {
    Member::ready(value)
}

fn unready(value: Option<f64>) -> Member {
    Member { readiness: Readiness::Unready, value, capacity: 1.0 }
}

fn missing() -> Member {
    Member { readiness: Readiness::Ready, value: None, capacity: 1.0 }
}

fn gone() -> Member {
    Member { readiness: Readiness::Gone, value: None, capacity: 1.0 }
}

fn sized(readiness: Readiness, value: Option<f64>, capacity: f64) -> Member {
    Member { readiness, value, capacity }
}

/// A utilization row: samples are percentages of a capacity of 1, given in percent.
fn utilization(current: u32, members: &[Member], target: f64) -> u32 {
    let members: Vec<Member> = members.iter().map(|m| Member { value: m.value.map(|v| v / 100.0), ..*m }).collect();
    propose(current, &members, None, Target::Utilization(target), Tolerance::default(), true).unwrap().replicas
}

#[test]
fn table_a_tier_1() {
    assert_eq!(utilization(3, &[ready(30.0), ready(50.0), ready(70.0)], 30.0), 5, "A1");
    assert_eq!(utilization(5, &[ready(10.0), ready(30.0), ready(50.0), ready(25.0), ready(25.0)], 50.0), 3, "A2");
    let a3 = [
        sized(Readiness::Ready, Some(1.01), 0.9),
        sized(Readiness::Ready, Some(1.03), 1.0),
        sized(Readiness::Ready, Some(1.02), 1.1),
    ];
    let a3 = propose(3, &a3, None, Target::Utilization(100.0), Tolerance::default(), true).unwrap();
    assert_eq!((a3.replicas, a3.value), (3, 102.0), "A3");
    assert_eq!(utilization(3, &[unready(Some(30.0)), ready(50.0), ready(70.0)], 30.0), 4, "A4");
    assert_eq!(utilization(3, &[ready(40.0), unready(Some(50.0)), unready(Some(70.0))], 30.0), 3, "A5");
    let a6 = [ready(10.0), ready(30.0), ready(50.0), unready(Some(25.0)), unready(Some(25.0))];
    assert_eq!(utilization(5, &a6, 50.0), 2, "A6");
    assert_eq!(
        utilization(5, &[ready(10.0), unready(None), unready(None), unready(None), unready(None)], 50.0),
        1,
        "A7"
    );
    assert_eq!(utilization(2, &[ready(50.0), ready(70.0), gone(), gone()], 30.0), 4, "A8");
    assert_eq!(utilization(4, &[ready(40.0), ready(9.5), missing(), missing()], 100.0), 3, "A9");
    assert_eq!(utilization(2, &[ready(10.0), ready(10.0), missing()], 50.0), 2, "A10");
}

#[test]
fn table_a_tier_2() {
    assert_eq!(utilization(2, &[ready(190.0), missing()], 100.0), 2, "A11");
    assert_eq!(utilization(3, &[unready(Some(10.0)), ready(200.0), missing()], 50.0), 4, "A12");
    let a13 = [
        sized(Readiness::Unready, Some(0.5), 1.0),
        sized(Readiness::Ready, Some(0.1), 1.0),
        sized(Readiness::Ready, Some(0.1), 2.0),
        sized(Readiness::Ready, None, 2.0),
    ];
    let a13 = propose(4, &a13, None, Target::Utilization(300.0), Tolerance::default(), true).unwrap();
    assert_eq!(a13.replicas, 2, "A13");
    // A14: samples of instances that are not members never reach the calculation.
    assert_eq!(utilization(4, &[ready(400.0), ready(950.0), ready(300.0), ready(700.0)], 100.0), 24, "A14");
    let average = |current, members: &[Member], target| {
        propose(current, members, None, Target::AverageValue(target), Tolerance::default(), false).unwrap().replicas
    };
    assert_eq!(average(3, &[ready(20.0), ready(10.0), ready(30.0)], 15.0), 4, "A15");
    assert_eq!(average(3, &[ready(50.0), ready(10.0), unready(Some(30.0))], 15.0), 6, "A16");
    let one_ready = [ready(1.0), unready(None), unready(None)];
    let a17 = propose(3, &one_ready, Some(8.6), Target::Value(4.4), Tolerance::default(), false).unwrap();
    assert_eq!(a17.replicas, 2, "A17: the ready count scales the ratio, down from 3");
    let all = [ready(1.0), ready(1.0), ready(1.0)];
    let a18 = propose(3, &all, Some(8.6), Target::TotalPerMember(2.15), Tolerance::default(), false).unwrap();
    assert_eq!(a18.replicas, 4, "A18");
}

#[test]
fn the_tolerance_band_is_inclusive_and_may_differ_per_direction() {
    let band = Tolerance { up: 0.05, down: 0.2 };
    assert!(band.within(1.05) && band.within(0.8) && !band.within(1.0501) && !band.within(0.7999));
    let members = [ready(85.0), ready(85.0)];
    let held = propose(2, &members, None, Target::AverageValue(100.0), band, true).unwrap();
    assert_eq!(held.replicas, 2, "0.85 is inside a down tolerance of 0.2");
    let scaled = propose(2, &members, None, Target::AverageValue(100.0), Tolerance::default(), true).unwrap();
    assert_eq!(scaled.replicas, 2, "ceil(0.85 × 2) is 2 as well");
    let up = propose(2, &[ready(106.0), ready(106.0)], None, Target::AverageValue(100.0), band, true).unwrap();
    assert_eq!(up.replicas, 3, "1.06 is outside an up tolerance of 0.05");
}

#[test]
fn no_sample_and_bad_targets_are_errors_not_zero() {
    let none = propose(3, &[missing(), unready(None)], None, Target::AverageValue(10.0), Tolerance::default(), true);
    assert_eq!(none, Err(NoProposal::NoSamples));
    let total = propose(3, &[ready(1.0)], None, Target::Value(10.0), Tolerance::default(), true);
    assert_eq!(total, Err(NoProposal::NoSamples));
    let zero = propose(3, &[ready(1.0)], None, Target::AverageValue(0.0), Tolerance::default(), true);
    assert_eq!(zero, Err(NoProposal::BadTarget));
}

fn per(kind: RateKind, value: u32, secs: i64) -> RatePolicy {
    RatePolicy { kind, value, period: SignedDuration::from_secs(secs) }
}

fn rules(select: Select, policies: Vec<RatePolicy>) -> Rules {
    Rules { stabilization: SignedDuration::ZERO, select, policies }
}

fn bounds(min: u32, max: u32) -> Bounds {
    Bounds { min, max }
}

/// A row of table B: no stabilization, only rate policies and bounds.
fn rate(current: u32, desired: u32, bounds: Bounds, up: Rules, down: Rules, events: &[ScaleEvent]) -> u32 {
    normalize(current, desired, &[], events, &Behavior { up, down }, bounds, now()).replicas
}

fn events(changes: &[i64], within: i64) -> Vec<ScaleEvent> {
    let step = within / (changes.len() as i64 + 1);
    changes.iter().enumerate().map(|(i, c)| ScaleEvent { at: ago(step * (i as i64 + 1)), change: *c }).collect()
}

#[test]
fn table_b_rate_limits() {
    use RateKind::{Members, Percent};
    let defaults = Behavior::default();
    let (up, down) = (defaults.up.clone(), rules(Select::Max, vec![per(Percent, 100, 15)]));
    assert_eq!(rate(10, 50, bounds(1, 1000), up, down.clone(), &[]), 20, "B1");
    let up = |policies| rules(Select::Max, policies);
    assert_eq!(
        rate(10, 500, bounds(1, 1000), up(vec![per(Members, 100, 60), per(Percent, 100, 60)]), down.clone(), &[]),
        110,
        "B2"
    );
    assert_eq!(
        rate(10, 500, bounds(1, 1000), up(vec![per(Members, 2, 60), per(Percent, 100, 60)]), down.clone(), &[]),
        20,
        "B3"
    );
    let ups = events(&[1, 5, 9], 120);
    assert_eq!(rate(100, 500, bounds(1, 1000), up(vec![per(Members, 150, 120)]), down.clone(), &ups), 235, "B4");
    assert_eq!(rate(100, 500, bounds(1, 1000), up(vec![per(Percent, 200, 120)]), down.clone(), &ups), 255, "B5");
    assert_eq!(rate(100, 500, bounds(1, 1000), up(vec![per(Members, 5, 120)]), down.clone(), &ups), 100, "B6");
    let no_up = rules(Select::Max, vec![]);
    let down_by = |policies| rules(Select::Max, policies);
    let b7 = down_by(vec![per(Members, 20, 60), per(Percent, 1, 60)]);
    assert_eq!(rate(100, 2, bounds(1, 1000), no_up.clone(), b7, &[]), 80, "B7");
    let downs = |each: i64, list: &[i64]| events(&list.iter().map(|c| -c * each).collect::<Vec<_>>(), 120);
    let b8 = down_by(vec![per(Percent, 50, 120)]);
    assert_eq!(rate(100, 0, bounds(0, 1000), no_up.clone(), b8, &downs(1, &[2, 4, 6])), 56, "B8");
    let b9 = down_by(vec![per(Percent, 10, 120)]);
    assert_eq!(rate(100, 0, bounds(0, 1000), no_up.clone(), b9, &downs(10, &[1, 1, 1])), 100, "B9");
    let b10 = down_by(vec![per(Percent, 100, 60)]);
    let b10 = normalize(10, 2, &[], &[], &Behavior { up: no_up.clone(), down: b10 }, bounds(5, 1000), now());
    assert_eq!((b10.replicas, b10.limit), (5, Limit::TooFew), "B10");
    let min_up = rules(Select::Min, vec![per(Members, 2, 60), per(Percent, 50, 60)]);
    assert_eq!(scale_up_limit(1, &[], &min_up, now()), 2, "B11");
    let min_down = rules(Select::Min, vec![per(Members, 2, 60), per(Percent, 50, 60)]);
    assert_eq!(scale_down_limit(5, &[], &min_down, now()), 3, "B12");
    let disabled = rules(Select::Disabled, vec![per(Members, 100, 60)]);
    assert_eq!(rate(10, 50, bounds(1, 1000), disabled.clone(), down.clone(), &[]), 10, "Disabled freezes up");
    assert_eq!(rate(10, 2, bounds(1, 1000), no_up, disabled, &[]), 10, "and down");
}

fn windows(up: i64, down: i64) -> Behavior {
    let mut behavior = Behavior::default();
    behavior.up.stabilization = SignedDuration::from_secs(up);
    behavior.down.stabilization = SignedDuration::from_secs(down);
    behavior
}

fn recommended(list: &[(u32, i64)]) -> Vec<Recommendation> {
    list.iter().map(|(replicas, secs)| Recommendation { at: ago(*secs), replicas: *replicas }).collect()
}

#[test]
fn table_c_stabilization() {
    assert_eq!(stabilize(100, 3, &recommended(&[(4, 120), (5, 60)]), &windows(0, 180), now()), 5, "C1");
    assert_eq!(stabilize(1, 7, &recommended(&[(4, 120), (5, 60)]), &windows(300, 0), now()), 4, "C2");
    assert_eq!(stabilize(100, 3, &recommended(&[(10, 600), (9, 540)]), &windows(0, 300), now()), 3, "C3");
}

proptest! {
    #[test]
    fn the_outcome_lies_within_the_bounds(
        current in 0u32..200, desired in 0u32..400, min in 0u32..50, span in 0u32..200,
        past in proptest::collection::vec((0u32..400, 0i64..900), 0..8),
        changes in proptest::collection::vec((-50i64..50, 0i64..900), 0..8),
    ) {
        let bounds = bounds(min, min + span);
        let past = recommended(&past);
        let events: Vec<ScaleEvent> = changes.iter().map(|(c, s)| ScaleEvent { at: ago(*s), change: *c }).collect();
        let out = normalize(current, desired, &past, &events, &Behavior::default(), bounds, now());
        prop_assert!(out.replicas >= bounds.min && out.replicas <= bounds.max);
    }

    #[test]
    fn stabilization_never_moves_the_way_it_guards_against(
        current in 0u32..200, desired in 0u32..400,
        past in proptest::collection::vec((0u32..400, 0i64..900), 0..8),
    ) {
        let stabilized = stabilize(current, desired, &recommended(&past), &windows(120, 300), now());
        // Between the current count and the proposal, never beyond either.
        prop_assert!(stabilized >= current.min(desired) && stabilized <= current.max(desired));
    }

    #[test]
    fn rate_limits_never_force_the_opposite_change(
        current in 0u32..200, desired in 0u32..400,
        changes in proptest::collection::vec((-50i64..50, 0i64..120), 0..8),
    ) {
        let events: Vec<ScaleEvent> = changes.iter().map(|(c, s)| ScaleEvent { at: ago(*s), change: *c }).collect();
        let out = normalize(current, desired, &[], &events, &windows(0, 0), bounds(0, u32::MAX), now());
        let same_way = if desired >= current { out.replicas >= current } else { out.replicas <= current };
        prop_assert!(same_way, "{current} → {desired} became {}", out.replicas);
    }

    #[test]
    fn a_member_without_a_sample_never_lowers_the_proposal(
        values in proptest::collection::vec(0u32..300, 1..8), target in 1u32..200,
    ) {
        let members: Vec<Member> = values.iter().map(|v| ready(f64::from(*v))).collect();
        let current = members.len() as u32 + 1;
        let with_missing: Vec<Member> = members.iter().copied().chain([missing()]).collect();
        let base = propose(current, &members, None, Target::AverageValue(f64::from(target)), Tolerance::default(), true).unwrap();
        let more = propose(current, &with_missing, None, Target::AverageValue(f64::from(target)), Tolerance::default(), true).unwrap();
        // On a scale-down the missing member counts at the target: it can only hold the count up.
        if base.ratio < 1.0 {
            prop_assert!(more.replicas >= base.replicas);
        }
    }
}
