//! Table tests of every decision, including those the store used to make.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::*;
use crate::group::Mode;
use crate::ids::{GroupId, PolicyId, WebhookId};
use crate::launch::LaunchConfig;
use crate::records::{Direction, GroupStatus, GroupWindows};

fn t(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn now() -> Timestamp {
    t("2026-06-01T12:00:00Z")
}

pub(super) fn group(min: u32, max: u32, desired: u32, cooldown: u32) -> Group {
    let config = GroupConfig::parse(
        &json!({"name": "g", "cooldown": cooldown, "minEntities": min, "maxEntities": max}),
        "",
        Mode::Create,
    )
    .unwrap();
    let launch = LaunchConfig::parse(
        &json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}}),
        "",
    )
    .unwrap();
    let mut state = GroupState::new(desired);
    state.status = GroupStatus::Active;
    Group {
        id: "g1".into(),
        tenant_id: "t".into(),
        config: config.into(),
        launch: launch.into(),
        state,
        windows: None,
        rules: None,
        credential: None,
        created_at: t("2026-01-01T00:00:00Z"),
    }
}

pub(super) fn policy(body: Value, touched: Option<Timestamp>) -> PolicyRecord {
    PolicyRecord {
        id: "p1".into(),
        group_id: "g1".into(),
        policy: Policy::from_stored(&body).unwrap(),
        body,
        touched_at: touched,
    }
}

fn change(n: i64, cooldown: f64) -> Value {
    json!({"name": "up", "type": "webhook", "cooldown": cooldown, "change": n})
}

pub(super) fn snapshot(group: Group, policy: PolicyRecord) -> Snapshot {
    Snapshot { group, policy: Some(policy), webhook: None }
}

fn executed(decision: &Decision) -> Execution {
    match decision.outcome {
        Outcome::Execution(execution) => execution,
        other => panic!("not an execution: {other:?}"),
    }
}

#[test]
fn executions_change_desired_capacity_within_bounds_and_record_why() {
    // (min, max, desired, change, expected outcome)
    let table = [
        (1, 10, 2, 3, Execution::Scaled { from: 2, to: 5 }),
        (1, 10, 8, 5, Execution::Scaled { from: 8, to: 10 }),
        (1, 10, 10, 1, Execution::Refused(Refusal::NoChange)),
        (1, 10, 3, -5, Execution::Scaled { from: 3, to: 1 }),
        (1, 10, 1, -1, Execution::Refused(Refusal::NoChange)),
    ];
    for (min, max, desired, n, expected) in table {
        let decision =
            execute_policy(&snapshot(group(min, max, desired, 0), policy(change(n, 0.0), None)), Source::Api, now())
                .unwrap();
        assert_eq!(executed(&decision), expected, "{min}..{max} at {desired} change {n}");
        let entry = &decision.history[0];
        assert_eq!(
            (entry.source, entry.policy_id.as_ref().map(PolicyId::as_str), entry.from),
            (Source::Api, Some("p1"), desired)
        );
        assert_eq!(entry.bounds, Bounds { min, max });
        match expected {
            Execution::Scaled { to, .. } => {
                let written = decision.group.as_ref().unwrap();
                assert_eq!((written.state.desired, written.state.touched_at), (to, Some(now())));
                assert_eq!(decision.policy_touched, Some(("p1".into(), now())));
                assert_eq!(entry.to, to);
                assert!(entry.reason.contains("executed"), "{}", entry.reason);
            }
            _ => {
                assert!(decision.group.is_none() && decision.policy_touched.is_none(), "a refusal writes nothing");
                assert_eq!(entry.to, desired);
                assert!(entry.reason.contains("no change"), "{}", entry.reason);
            }
        }
    }
}

#[test]
fn cooldowns_and_pause_refuse_and_are_recorded() {
    let recent = Some(now() - SignedDuration::from_secs(10));
    let cooling =
        execute_policy(&snapshot(group(0, 10, 1, 0), policy(change(1, 60.0), recent)), Source::Api, now()).unwrap();
    assert_eq!(executed(&cooling), Execution::Refused(Refusal::Cooldown));
    assert!(cooling.history[0].reason.contains("cooldowns not met"));
    let mut touched = group(0, 10, 1, 30);
    touched.state.touched_at = recent;
    let group_cooling = execute_policy(&snapshot(touched, policy(change(1, 0.0), None)), Source::Api, now()).unwrap();
    assert_eq!(executed(&group_cooling), Execution::Refused(Refusal::Cooldown));
    let mut paused = group(0, 10, 1, 0);
    paused.state.paused = true;
    let decision = execute_policy(&snapshot(paused, policy(change(1, 0.0), None)), Source::Capability, now()).unwrap();
    assert_eq!(executed(&decision), Execution::Paused);
    assert!(decision.group.is_none());
    assert!(decision.history[0].reason.contains("paused"));
}

#[test]
fn a_one_way_pause_refuses_only_its_direction() {
    let mut in_paused = group(0, 10, 3, 0);
    in_paused.state.paused_direction = Some(Direction::In);
    let down = execute_policy(&snapshot(in_paused.clone(), policy(change(-1, 0.0), None)), Source::Api, now()).unwrap();
    assert_eq!(executed(&down), Execution::DirectionPaused(Direction::In));
    assert!(down.group.is_none() && down.history[0].reason.contains("scale-in is paused"));
    let up = execute_policy(&snapshot(in_paused, policy(change(2, 0.0), None)), Source::Api, now()).unwrap();
    assert_eq!(executed(&up), Execution::Scaled { from: 3, to: 5 });
    let mut out_paused = group(0, 10, 3, 0);
    out_paused.state.paused_direction = Some(Direction::Out);
    let up = execute_policy(&snapshot(out_paused.clone(), policy(change(1, 0.0), None)), Source::Api, now()).unwrap();
    assert_eq!(executed(&up), Execution::DirectionPaused(Direction::Out));
    let down = execute_policy(&snapshot(out_paused, policy(change(-1, 0.0), None)), Source::Api, now()).unwrap();
    assert_eq!(executed(&down), Execution::Scaled { from: 3, to: 2 });
}

#[test]
fn pausing_one_direction_then_the_other_pauses_both_and_resuming_clears_all() {
    let state = |decision: Decision| {
        let state = decision.group.unwrap().state;
        (state.paused, state.paused_direction)
    };
    let mut g = group(0, 5, 1, 0);
    assert_eq!(state(set_pause(&g, Pause::Only(Direction::In))), (false, Some(Direction::In)));
    g.state.paused_direction = Some(Direction::In);
    assert_eq!(state(set_pause(&g, Pause::Only(Direction::In))), (false, Some(Direction::In)), "again: the same");
    assert_eq!(state(set_pause(&g, Pause::Only(Direction::Out))), (true, None), "the other too: both");
    assert_eq!(state(set_pause(&g, Pause::All)), (true, None));
    assert_eq!(state(set_pause(&g, Pause::Resume)), (false, None));
    g.state.paused = true;
    g.state.paused_direction = None;
    assert_eq!(state(set_pause(&g, Pause::Only(Direction::Out))), (true, None), "a full pause stays full");
}

#[test]
fn a_capability_execution_records_its_webhook() {
    let mut snap = snapshot(group(0, 10, 1, 0), policy(change(1, 0.0), None));
    snap.webhook = Some("w1".into());
    let decision = execute_policy(&snap, Source::Capability, now()).unwrap();
    assert_eq!(decision.history[0].webhook_id.as_ref().map(WebhookId::as_str), Some("w1"));
    assert_eq!(decision.history[0].source, Source::Capability);
}

#[test]
fn change_percent_and_desired_capacity_follow_otter() {
    let percent = json!({"name": "p", "type": "webhook", "cooldown": 0, "changePercent": 33.333333333333336});
    let decision = execute_policy(&snapshot(group(0, 100, 3, 0), policy(percent, None)), Source::Api, now()).unwrap();
    assert_eq!(executed(&decision), Execution::Scaled { from: 3, to: 5 });
    let absolute = json!({"name": "d", "type": "webhook", "cooldown": 0, "desiredCapacity": 500});
    let decision = execute_policy(&snapshot(group(0, 100, 3, 0), policy(absolute, None)), Source::Api, now()).unwrap();
    assert_eq!(executed(&decision), Execution::Scaled { from: 3, to: 100 });
}

fn cron(expression: &str) -> Value {
    json!({"name": "s", "type": "schedule", "cooldown": 0, "change": 1, "args": {"cron": expression}})
}

#[test]
fn schedules_fire_within_grace_skip_beyond_it_and_rearm() {
    let grace = SignedDuration::from_secs(300);
    let due = t("2026-06-01T12:00:00Z");
    // On time: executed, an event, armed for the next minute.
    let on_time =
        fire_schedule(&snapshot(group(0, 10, 1, 0), policy(cron("* * * * *"), None)), due, due, grace).unwrap();
    assert_eq!(on_time.outcome, Outcome::Schedule(Some(Execution::Scaled { from: 1, to: 2 })));
    assert_eq!(on_time.events[0].kind, EventKind::Fired);
    assert_eq!(on_time.history[0].source, Source::Schedule);
    assert_eq!(on_time.schedule, Some(("p1".into(), Some(t("2026-06-01T12:01:00Z")))));
    // Late but within grace: executed once, then armed from now (one catch-up).
    let late = due + SignedDuration::from_secs(150);
    let caught_up =
        fire_schedule(&snapshot(group(0, 10, 1, 0), policy(cron("* * * * *"), None)), due, late, grace).unwrap();
    assert_eq!(caught_up.outcome, Outcome::Schedule(Some(Execution::Scaled { from: 1, to: 2 })));
    assert_eq!(caught_up.schedule, Some(("p1".into(), Some(t("2026-06-01T12:03:00Z")))));
    // Missed: skipped, nothing executed, nothing in the history, armed again.
    let missed = due + SignedDuration::from_secs(301);
    let skipped =
        fire_schedule(&snapshot(group(0, 10, 1, 0), policy(cron("* * * * *"), None)), due, missed, grace).unwrap();
    assert_eq!(skipped.outcome, Outcome::Schedule(None));
    assert_eq!(skipped.events[0].kind, EventKind::Skipped);
    assert!(skipped.events[0].message.contains("beyond the grace period"));
    assert!(skipped.history.is_empty() && skipped.group.is_none());
    // Paused: skipped with the reason, recorded as an execution that changed nothing.
    let mut paused = group(0, 10, 1, 0);
    paused.state.paused = true;
    let decision = fire_schedule(&snapshot(paused, policy(cron("* * * * *"), None)), due, due, grace).unwrap();
    assert_eq!(decision.outcome, Outcome::Schedule(Some(Execution::Paused)));
    assert_eq!(
        (decision.events[0].kind, decision.events[0].message.as_str()),
        (EventKind::Skipped, "the group is paused")
    );
    // An `at` schedule fires once and is disarmed.
    let at =
        json!({"name": "a", "type": "schedule", "cooldown": 0, "change": 1, "args": {"at": "2026-06-01T12:00:00Z"}});
    let once = fire_schedule(&snapshot(group(0, 10, 1, 0), policy(at, None)), due, due, grace).unwrap();
    assert_eq!(once.schedule, Some(("p1".into(), None)));
}

fn with_windows(mut group: Group, document: Value) -> Group {
    group.windows = Some(GroupWindows::parse_stored(document).unwrap().into());
    group
}

fn daily(start: &str, end: &str, min: u32, max: u32, initial: u32) -> Value {
    json!({"timezone": "UTC", "recurring_schedule": [{"start_time": start, "end_time": end,
        "days_of_week": [1, 2, 3, 4, 5, 6, 7], "instance_min_count": min, "instance_max_count": max,
        "initial_min_instance_count": initial}]})
}

#[test]
fn windows_start_raise_capacity_and_end_clamp_it_back() {
    let windowed = with_windows(group(1, 5, 2, 0), daily("11:00", "13:00", 4, 8, 6));
    // Starts: raised to its initial minimum, recorded, timer armed at the end (13:00).
    let start = apply_windows(&windowed, now());
    assert_eq!(start.outcome, Outcome::Capacity { from: 2, to: 6 });
    let written = start.group.clone().unwrap();
    assert_eq!((written.state.desired, written.state.window.as_deref()), (6, Some("recurring_schedule[0]")));
    assert_eq!(start.history[0].source, Source::WindowStart);
    assert_eq!(start.history[0].bounds, Bounds { min: 4, max: 8 });
    assert_eq!(start.events[0].kind, EventKind::WindowStart);
    assert_eq!(start.window_timer, Some(Some(t("2026-06-01T13:00:00Z"))));
    // Applied again while the same window is in force: nothing changes.
    let again = apply_windows(&written, now());
    assert!(again.group.is_none() && again.history.is_empty());
    // Ends: clamped into the group's own bounds.
    let end = apply_windows(&written, t("2026-06-01T13:00:00Z"));
    assert_eq!(end.outcome, Outcome::Capacity { from: 6, to: 5 });
    assert_eq!(end.history[0].source, Source::WindowEnd);
    assert_eq!(end.group.unwrap().state.window, None);
}

#[test]
fn replacing_bounds_reclamps_within_the_bounds_in_force() {
    let replace = |min: u32, max: u32| {
        GroupConfig::parse(
            &json!({"name": "g", "cooldown": 0, "minEntities": min, "maxEntities": max, "metadata": {}}),
            "",
            Mode::Replace,
        )
        .unwrap()
    };
    // (min, max, desired) -> new bounds -> desired
    for ((min, max, desired), (new_min, new_max), expected) in
        [((1, 10, 5), (6, 10), 6), ((1, 10, 5), (1, 3), 3), ((1, 10, 5), (0, 10), 5)]
    {
        let decision = replace_config(&group(min, max, desired, 0), replace(new_min, new_max), now());
        assert_eq!(decision.outcome, Outcome::Capacity { from: desired, to: expected });
        assert_eq!(decision.group.as_ref().unwrap().config.min_entities, new_min);
        assert_eq!(decision.history.len(), usize::from(expected != desired), "a change is recorded");
        if let Some(entry) = decision.history.first() {
            assert_eq!((entry.source, entry.bounds), (Source::Bounds, Bounds { min: new_min, max: new_max }));
        }
    }
    // While a window is in force, its bounds win.
    let windowed = with_windows(group(1, 10, 6, 0), daily("11:00", "13:00", 4, 8, 0));
    let mut active = apply_windows(&windowed, now()).group.unwrap();
    active.state.desired = 6;
    let decision = replace_config(&active, replace(7, 9), now());
    assert_eq!(decision.outcome, Outcome::Capacity { from: 6, to: 6 }, "the window's 4..8 holds, not 7..9");
}

#[test]
fn replacing_windows_applies_the_one_in_force() {
    let set = replace_windows(
        &group(1, 5, 2, 0),
        Some(GroupWindows::parse_stored(daily("11:00", "13:00", 3, 5, 0)).unwrap()),
        now(),
    );
    assert_eq!(set.outcome, Outcome::Capacity { from: 2, to: 3 });
    let started = set.group.unwrap();
    assert!(started.windows.is_some());
    let removed = replace_windows(&started, None, now());
    assert_eq!(removed.history[0].source, Source::WindowEnd);
    let written = removed.group.unwrap();
    assert!(written.windows.is_none() && written.state.window.is_none());
    assert_eq!(removed.window_timer, Some(None), "no more timer");
    // Windows not in force now: stored, and the timer armed for their start.
    let later = replace_windows(
        &group(1, 5, 2, 0),
        Some(GroupWindows::parse_stored(daily("14:00", "15:00", 3, 5, 0)).unwrap()),
        now(),
    );
    assert!(later.history.is_empty());
    assert!(later.group.unwrap().windows.is_some());
    assert_eq!(later.window_timer, Some(Some(t("2026-06-01T14:00:00Z"))));
}

#[test]
fn removing_a_member_without_replacement_respects_the_minimum_in_force() {
    assert_eq!(remove_member(&group(1, 5, 1, 0), "m", false, now()), Err(Rejection::BelowMinimum { min: 1 }));
    let decision = remove_member(&group(1, 5, 3, 0), "m", false, now()).unwrap();
    assert_eq!(decision.outcome, Outcome::Capacity { from: 3, to: 2 });
    assert_eq!(decision.history[0].source, Source::MemberRemoved);
    assert!(decision.history[0].reason.contains("member m"));
    let replaced = remove_member(&group(1, 5, 1, 0), "m", true, now()).unwrap();
    assert!(replaced.group.is_none() && replaced.history.is_empty(), "a replacement changes nothing");
    let windowed =
        apply_windows(&with_windows(group(0, 5, 2, 0), daily("11:00", "13:00", 3, 5, 0)), now()).group.unwrap();
    assert_eq!(remove_member(&windowed, "m", false, now()), Err(Rejection::BelowMinimum { min: 3 }));
}

#[test]
fn creating_pausing_and_deleting() {
    let (state, entry) = create_group(&GroupId::new("g1"), &group(2, 5, 0, 0).config, now());
    assert_eq!((state.desired, entry.source, entry.from, entry.to), (2, Source::Create, 0, 2));
    let paused = set_pause(&group(0, 5, 1, 0), Pause::All);
    assert!(paused.group.unwrap().state.paused && paused.history.is_empty());
    assert_eq!(delete_group(&group(0, 5, 1, 0), false, now()), Err(Rejection::GroupNotEmpty));
    let forced = delete_group(&group(0, 5, 1, 0), true, now()).unwrap();
    assert!(forced.group.unwrap().state.deleting);
    assert_eq!(forced.history[0].to, 0);
    assert!(delete_group(&group(0, 5, 0, 0), false, now()).unwrap().history.is_empty());
}
