//! Decisions of metric rules (a Cloud Foundry policy): setting and deleting the policy, and
//! scaling when a rule is breached (`cf-app-autoscaler.md` §2.4–2.6).

use std::collections::HashMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::{Decision, Outcome, apply_windows, effective_bounds, entry, scaled};
use crate::cf_policy::{CfPolicy, MetricRules};
use crate::metrics::rule::{self, Rule};
use crate::records::{Group, GroupWindows, Source};

/// The aggregated points of each metric a group's rules read, oldest first.
pub type Points = HashMap<String, Vec<(Timestamp, i64)>>;

/// Sets a group's bounds, windows and metric rules at once (a Cloud Foundry policy), applies
/// the window in force, and clamps desired capacity into the bounds in force.
pub fn set_rules_policy(group: &Group, policy: CfPolicy, now: Timestamp) -> Decision {
    let mut config = (*group.config).clone();
    config.min_entities = policy.instance_min_count;
    config.max_entities = policy.instance_max_count;
    let mut changed = group.clone();
    changed.config = Arc::new(config);
    replace_rules(changed, Some(policy.rules), policy.schedules, now)
}

/// Deletes a group's Cloud Foundry policy: its metric rules and windows go, its own bounds
/// stay; desired capacity is clamped into them if a window was in force. A group without
/// such a policy is left as it is (its windows may have been set through the windows API).
pub fn delete_rules_policy(group: &Group, now: Timestamp) -> Decision {
    if group.rules.is_none() {
        let desired = group.state.desired;
        return Decision::nothing(Outcome::Capacity { from: desired, to: desired });
    }
    replace_rules(group.clone(), None, None, now)
}

/// What a group bound to a service instance gets when the instance's default policy is set,
/// changed or removed (`default`), or when it is bound without a policy of its own: a group
/// whose policy was set explicitly keeps it; any other (one without a policy, or with the
/// default) gets the default, or loses the one it had from it when there is none.
pub fn follow_default(group: &Group, default: Option<&CfPolicy>, now: Timestamp) -> Decision {
    if group.rules.as_ref().is_some_and(|rules| !rules.from_default) {
        let desired = group.state.desired;
        return Decision::nothing(Outcome::Capacity { from: desired, to: desired });
    }
    detach_rules_policy(group, default, now)
}

/// Deletes a group's policy as the policy API's `DELETE` does when the group is bound to a
/// service instance: with a default policy on that instance (`default`), the group gets it
/// (and follows it from then on); without one, the policy goes.
pub fn detach_rules_policy(group: &Group, default: Option<&CfPolicy>, now: Timestamp) -> Decision {
    match default {
        Some(default) => {
            let mut policy = default.clone();
            policy.rules.from_default = true;
            set_rules_policy(group, policy, now)
        }
        None => delete_rules_policy(group, now),
    }
}

fn replace_rules(
    mut changed: Group,
    rules: Option<MetricRules>,
    windows: Option<GroupWindows>,
    now: Timestamp,
) -> Decision {
    changed.rules = rules.map(Arc::new);
    changed.windows = windows.map(Arc::new);
    let mut decision = apply_windows(&changed, now);
    let mut after = decision.group.take().unwrap_or(changed);
    let bounds = effective_bounds(&after, now);
    let from = after.state.desired;
    let to = bounds.clamp(i128::from(from));
    if to != from {
        let reason = format!("bounds changed to {}..{}: desired capacity {from} to {to}", bounds.min, bounds.max);
        decision.history.push(entry(&after, now, Source::Bounds, to, bounds, reason));
        after.state.desired = to;
    }
    if let Outcome::Capacity { to: last, .. } = &mut decision.outcome {
        *last = to;
    }
    decision.group = Some(after);
    decision
}

/// A rule with its durations multiplied by `time_scale` (1.0 in production; smaller in tests
/// that cannot wait minutes for a breach).
pub fn paced(rule: Rule, time_scale: f64) -> Rule {
    if time_scale == 1.0 {
        return rule;
    }
    let scale = |d: SignedDuration| SignedDuration::from_secs_f64(d.as_secs_f64() * time_scale);
    Rule { breach: scale(rule.breach), cooldown: scale(rule.cooldown), ..rule }
}

/// The group's rules, paced, in policy order.
pub fn rules_of(group: &Group, time_scale: f64) -> Vec<Rule> {
    group
        .rules
        .as_ref()
        .map(|rules| rules.scaling_rules.iter().map(|r| paced(r.rule(), time_scale)).collect())
        .unwrap_or_default()
}

/// Scales on the first of the group's rules breached at `now` by `points`: pause and the
/// rules' cooldown refuse it, the adjustment is clamped to the bounds in force, and a scale
/// starts the cooldown of the rule (and the group's, as any policy's). An outcome that
/// changes nothing is recorded with its reason; when no rule is breached nothing is.
pub fn scale_on_rules(group: &Group, points: &Points, now: Timestamp, time_scale: f64) -> Decision {
    let from = group.state.desired;
    let mut decision = Decision::nothing(Outcome::Capacity { from, to: from });
    let rules = rules_of(group, time_scale);
    let series = |metric: &str| points.get(metric).map_or(&[][..], Vec::as_slice);
    let Some(index) = rules.iter().position(|r| rule::evaluate(r, series(&r.metric), now) == rule::Breach::Breached)
    else {
        return decision;
    };
    let rule = &rules[index];
    let bounds = effective_bounds(group, now);
    // The reason states the rule as the policy does, whatever the time scale.
    let because = group.rules.as_ref().map_or_else(|| rule.reason(), |r| r.scaling_rules[index].rule().reason());
    let ignored = |why: &str| entry(group, now, Source::Metric, from, bounds, format!("{because}: ignored, {why}"));
    if group.state.paused {
        decision.history.push(ignored("the group is paused"));
        return decision;
    }
    if group.state.rules_cooldown_until.is_some_and(|until| now < until) {
        decision.history.push(ignored("app in cooldown period"));
        return decision;
    }
    let (to, limited) = rule::new_count(rule, from, bounds);
    if let Some(why) = group.state.pause_refuses(from, to) {
        decision.history.push(ignored(why));
        return decision;
    }
    if to == from {
        let why = limited.unwrap_or_else(|| format!("desired capacity stays {from}"));
        decision.history.push(ignored(&why));
        return decision;
    }
    let reason = match limited {
        Some(limit) => format!("{because}; {limit}: desired capacity {from} to {to}"),
        None => format!("{because}: desired capacity {from} to {to}"),
    };
    decision.history.push(entry(group, now, Source::Metric, to, bounds, reason));
    let mut changed = scaled(group, to, now);
    changed.state.rules_cooldown_until = Some(now + rule.cooldown);
    decision.group = Some(changed);
    decision.outcome = Outcome::Capacity { from, to };
    decision
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cf_policy::{self, ThresholdRanges};
    use crate::decide::tests::group;

    fn now() -> Timestamp {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    fn secs_ago(s: i64) -> Timestamp {
        now() - SignedDuration::from_secs(s)
    }

    fn policy(value: serde_json::Value) -> CfPolicy {
        cf_policy::parse(&value, now(), &ThresholdRanges::default()).unwrap()
    }

    fn with_rules(min: u32, max: u32, desired: u32) -> Group {
        let policy = policy(json!({"instance_min_count": min, "instance_max_count": max, "scaling_rules": [
            {"metric_type": "responsetime", "threshold": 200, "operator": ">", "adjustment": "+1", "breach_duration_secs": 60},
            {"metric_type": "responsetime", "threshold": 50, "operator": "<", "adjustment": "-50%", "breach_duration_secs": 60, "cool_down_secs": 120}
        ]}));
        let mut group = group(min, max, desired, 0);
        group.rules = Some(Arc::new(policy.rules));
        group
    }

    fn points(values: &[(i64, i64)]) -> Points {
        let series = values.iter().map(|(ago, v)| (secs_ago(*ago), *v)).collect();
        HashMap::from([("responsetime".to_string(), series)])
    }

    #[test]
    fn a_policy_sets_bounds_windows_and_rules_in_one_decision() {
        let decision = set_rules_policy(
            &group(1, 10, 8, 0),
            policy(json!({"instance_min_count": 2, "instance_max_count": 5, "scaling_rules": [
                {"metric_type": "cpu", "threshold": 80, "operator": ">=", "adjustment": "+2"}]})),
            now(),
        );
        let changed = decision.group.unwrap();
        assert_eq!((changed.config.min_entities, changed.config.max_entities, changed.state.desired), (2, 5, 5));
        assert!(changed.rules.unwrap().reads("cpu"));
        assert_eq!(decision.history.len(), 1);
        assert_eq!(decision.history[0].source, Source::Bounds);
        assert_eq!(decision.outcome, Outcome::Capacity { from: 8, to: 5 });
    }

    #[test]
    fn deleting_the_policy_removes_rules_and_windows_and_keeps_bounds() {
        let set = set_rules_policy(
            &group(1, 10, 2, 0),
            policy(json!({"instance_min_count": 1, "instance_max_count": 10, "schedules": {"timezone": "UTC",
                "recurring_schedule": [{"start_time": "00:00", "end_time": "23:59", "days_of_week": [1,2,3,4,5,6,7],
                    "instance_min_count": 6, "instance_max_count": 8}]}})),
            now(),
        );
        let with_window = set.group.unwrap();
        assert_eq!(with_window.state.desired, 6, "the window in force raised it");
        let deleted = delete_rules_policy(&with_window, now()).group.unwrap();
        assert_eq!(
            (deleted.rules.is_none(), deleted.windows.is_none(), deleted.state.window.as_deref()),
            (true, true, None)
        );
        assert_eq!((deleted.config.min_entities, deleted.config.max_entities, deleted.state.desired), (1, 10, 6));
        // Without a policy there is nothing to delete: windows set another way stay.
        let mut windows_only = with_window.clone();
        windows_only.rules = None;
        let untouched = delete_rules_policy(&windows_only, now());
        assert_eq!((untouched.group, untouched.history.len()), (None, 0));
    }

    #[test]
    fn a_breached_rule_scales_and_starts_its_cooldown() {
        let group = with_rules(1, 5, 2);
        let decision = scale_on_rules(&group, &points(&[(90, 100), (60, 250), (30, 300), (0, 320)]), now(), 1.0);
        let changed = decision.group.expect("scaled");
        assert_eq!(changed.state.desired, 3);
        assert_eq!(changed.state.rules_cooldown_until, Some(now() + SignedDuration::from_secs(300)));
        assert_eq!(changed.state.touched_at, Some(now()));
        let entry = &decision.history[0];
        assert_eq!((entry.source, entry.from, entry.to), (Source::Metric, 2, 3));
        assert_eq!(entry.reason, "+1 instance(s) because responsetime > 200ms for 60 seconds: desired capacity 2 to 3");
    }

    #[test]
    fn outcomes_that_change_nothing_are_recorded_with_their_reason() {
        let breaching = points(&[(90, 100), (60, 250), (0, 320)]);
        let at_max = scale_on_rules(&with_rules(1, 5, 5), &breaching, now(), 1.0);
        assert!(at_max.group.is_none());
        assert_eq!(
            at_max.history[0].reason,
            "+1 instance(s) because responsetime > 200ms for 60 seconds: ignored, limited by max instances 5"
        );
        let mut cooling = with_rules(1, 5, 2);
        cooling.state.rules_cooldown_until = Some(now() + SignedDuration::from_secs(1));
        assert!(scale_on_rules(&cooling, &breaching, now(), 1.0).history[0].reason.ends_with("app in cooldown period"));
        let mut paused = with_rules(1, 5, 2);
        paused.state.paused = true;
        assert!(scale_on_rules(&paused, &breaching, now(), 1.0).history[0].reason.ends_with("the group is paused"));
    }

    #[test]
    fn nothing_is_recorded_without_a_complete_breach() {
        let group = with_rules(1, 5, 2);
        let table = [
            vec![(50, 300), (0, 320)],            // the window is not covered yet
            vec![(90, 100), (60, 250), (0, 150)], // one point does not breach
            vec![(200, 300), (130, 300)],         // no point in the window
        ];
        for values in table {
            let decision = scale_on_rules(&group, &points(&values), now(), 1.0);
            assert_eq!((decision.group.is_none(), decision.history.len()), (true, 0), "{values:?}");
        }
    }

    #[test]
    fn the_first_breached_rule_in_policy_order_wins_and_percentages_round_as_cloud_foundry() {
        let group = with_rules(1, 10, 5);
        let decision = scale_on_rules(&group, &points(&[(90, 100), (60, 20), (0, 10)]), now(), 1.0);
        assert_eq!(decision.group.unwrap().state.desired, 3, "5 at -50% is 2.5, rounded half up to 3");
        assert_eq!(
            decision.history[0].reason,
            "-50% instance(s) because responsetime < 50ms for 60 seconds: desired capacity 5 to 3"
        );
    }

    #[test]
    fn a_time_scale_shortens_breaches_and_cooldowns() {
        let group = with_rules(1, 5, 2);
        let decision = scale_on_rules(&group, &points(&[(4, 100), (3, 250), (0, 320)]), now(), 0.05);
        let changed = decision.group.expect("a 60 s breach lasts 3 s");
        assert_eq!(changed.state.rules_cooldown_until, Some(now() + SignedDuration::from_secs(15)));
    }

    #[test]
    fn a_breach_window_elapsing_is_found_without_a_new_sample() {
        let rule = rules_of(&with_rules(1, 5, 2), 1.0).remove(0);
        let series: Vec<(Timestamp, i64)> =
            [(20, 100), (10, 250), (0, 250)].iter().map(|(a, v)| (secs_ago(*a), *v)).collect();
        let due = rule::next_breach_at(&rule, &series, now()).unwrap();
        assert_eq!(due, secs_ago(20) + SignedDuration::from_secs(60) + SignedDuration::from_millis(1));
        assert_eq!(rule::evaluate(&rule, &series, due), rule::Breach::Breached);
        let calm: Vec<(Timestamp, i64)> = vec![(secs_ago(10), 100), (now(), 100)];
        assert_eq!(rule::next_breach_at(&rule, &calm, now()), None);
    }

    fn default_policy(min: u32, max: u32) -> CfPolicy {
        policy(json!({"instance_min_count": min, "instance_max_count": max, "scaling_rules": [
            {"metric_type": "memoryused", "threshold": 300, "operator": ">", "adjustment": "+1"}]}))
    }

    fn after(decision: Decision, before: &Group) -> Group {
        decision.group.unwrap_or_else(|| before.clone())
    }

    #[test]
    fn a_group_without_a_policy_gets_the_default_and_follows_it() {
        let bound = after(follow_default(&group(1, 10, 1, 0), Some(&default_policy(2, 4)), now()), &group(1, 10, 1, 0));
        assert_eq!((bound.config.min_entities, bound.config.max_entities, bound.state.desired), (2, 4, 2));
        assert!(bound.rules.as_ref().unwrap().from_default);
        let changed = after(follow_default(&bound, Some(&default_policy(3, 6)), now()), &bound);
        assert_eq!((changed.config.min_entities, changed.config.max_entities), (3, 6));
        let removed = after(follow_default(&changed, None, now()), &changed);
        assert_eq!(removed.rules, None, "removing the default removes the policy that came from it");
        assert_eq!((removed.config.min_entities, removed.config.max_entities), (3, 6), "its bounds stay");
    }

    #[test]
    fn an_explicit_policy_is_never_replaced_by_the_default_even_with_the_same_content() {
        let explicit = after(set_rules_policy(&group(1, 10, 1, 0), default_policy(2, 4), now()), &group(1, 10, 1, 0));
        assert!(!explicit.rules.as_ref().unwrap().from_default);
        for default in [Some(default_policy(3, 6)), Some(default_policy(2, 4)), None] {
            let decision = follow_default(&explicit, default.as_ref(), now());
            assert!(decision.group.is_none() && decision.history.is_empty(), "{default:?} changed an explicit policy");
        }
    }

    #[test]
    fn detaching_a_policy_falls_back_to_the_default_or_deletes_it() {
        let explicit = after(set_rules_policy(&group(1, 10, 1, 0), default_policy(2, 4), now()), &group(1, 10, 1, 0));
        let detached = after(detach_rules_policy(&explicit, Some(&default_policy(1, 3)), now()), &explicit);
        assert!(detached.rules.as_ref().unwrap().from_default, "the group follows the default again");
        assert_eq!((detached.config.min_entities, detached.config.max_entities), (1, 3));
        let deleted = after(detach_rules_policy(&explicit, None, now()), &explicit);
        assert_eq!(deleted.rules, None);
    }
}
