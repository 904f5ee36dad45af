//! Metric policies evaluated by the engine: on the arrival of a sample they read, on a vote,
//! and on the measurement loop's tick, committed through the one decision path.

use ebb_core::decide::Pause;
use ebb_core::metrics::series::Sample;
use ebb_core::records::Direction;
use ebb_core::strategy::votes::Ballot;
use ebb_engine::rules::SlotSample;

use super::*;

/// A target-tracking policy keeping `inflight` at 10 per member, HPA's default behavior.
fn tracking(name: &str, extra: Value) -> Value {
    let mut policy = json!({"name": name, "type": "target_tracking", "cooldown": 0,
        "args": {"metric": "inflight", "target": {"type": "AverageValue", "averageValue": 10}}});
    if let (Some(policy), Some(extra)) = (policy.as_object_mut(), extra.as_object()) {
        policy.extend(extra.clone());
    }
    policy
}

async fn push(h: &Harness, g: &GroupId, metric: &str, slots: &[(u32, f64)]) {
    let now = h.clock.now();
    let samples: Vec<SlotSample> = slots
        .iter()
        .map(|(slot, value)| SlotSample {
            metric: metric.into(),
            slot: *slot,
            sample: Sample { at: now, value: *value },
        })
        .collect();
    h.engine.record_samples(g, &samples).unwrap();
}

/// Every member at `value`.
async fn push_all(h: &Harness, g: &GroupId, value: f64) {
    let members = h.engine.observation(g).members.len() as u32;
    let slots: Vec<(u32, f64)> = (0..members).map(|slot| (slot, value)).collect();
    push(h, g, "inflight", &slots).await;
}

async fn active(h: &Harness, g: &GroupId, count: usize) {
    h.until(Duration::from_secs(30), async || h.engine.observation(g).active.len() == count).await;
}

async fn reasons(h: &Harness, g: &GroupId) -> Vec<String> {
    let query = HistoryQuery { page: Page { marker: None, limit: 100 }, since: None, until: None, source: None };
    let records = h.engine.store().list_history(&t(), g, &query).await.unwrap();
    records.into_iter().rev().map(|r| r.entry.reason).collect()
}

/// Ticks as the measurement loop does, every 5 s of virtual time, for `secs` seconds.
async fn tick_for(h: &Harness, g: &GroupId, secs: u64, value: Option<f64>) {
    for _ in 0..secs / 5 {
        h.wait(Duration::from_secs(5)).await;
        if let Some(value) = value {
            push_all(h, g, value).await;
        }
        h.engine.tick_policies();
    }
    h.wait(Duration::from_millis(10)).await;
}

#[tokio::test(start_paused = true)]
async fn target_tracking_scales_up_on_arrival_and_down_after_the_stabilization_window() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let (g, _) = h.group(1, 10, vec![tracking("inflight", json!({}))]).await;
    active(&h, &g, 1).await;
    // 40 requests in flight on one member, 10 wanted per member: 4 members, at once.
    let start = h.clock.now();
    push(&h, &g, "inflight", &[(0, 40.0)]).await;
    h.until(Duration::from_secs(1), async || h.desired(&g).await == 4).await;
    assert!(h.clock.now().duration_since(start) < SignedDuration::from_millis(200), "decided on arrival");
    assert!(reasons(&h, &g).await.last().unwrap().starts_with("policy \"inflight\": value 40"));
    active(&h, &g, 4).await;
    // The load falls to 2 per member: the proposal is 1, held by the 300 s down window.
    tick_for(&h, &g, 290, Some(2.0)).await;
    assert_eq!(h.desired(&g).await, 4, "stabilized");
    tick_for(&h, &g, 30, Some(2.0)).await;
    assert_eq!(h.desired(&g).await, 1, "the window has passed");
    let scaled: Vec<(Source, u32, u32)> =
        h.history(&g).await.into_iter().filter(|(s, ..)| *s == Source::Metric).collect();
    assert_eq!(scaled, vec![(Source::Metric, 1, 4), (Source::Metric, 4, 1)], "two scale events, no flapping");
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_policy_is_recorded_beside_a_live_one_and_never_acts() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let eager = json!({"name": "eager", "type": "target_tracking", "cooldown": 0, "dry_run": true,
        "args": {"metric": "inflight", "target": {"type": "AverageValue", "averageValue": 2}}});
    let (g, _) = h.group(1, 10, vec![tracking("live", json!({})), eager]).await;
    active(&h, &g, 1).await;
    push(&h, &g, "inflight", &[(0, 20.0)]).await;
    h.until(Duration::from_secs(1), async || h.desired(&g).await == 2).await;
    let reasons = reasons(&h, &g).await;
    // 20 over 1 member against 2 asks for 10; HPA's default rate policies allow 5 at once.
    let dry = "dry run: policy \"eager\" would scale from 1 to 5: value 20; ratio 10.000";
    assert!(reasons.iter().any(|r| r.starts_with(dry) && r.ends_with("limited by the scale-up rate policies")));
    assert!(reasons.iter().any(|r| r.starts_with("policy \"live\"") && r.ends_with("desired capacity 1 to 2")));
    active(&h, &g, 2).await;
    // The same proposal again is not recorded again; only the live policy changes the group.
    let count =
        async || super::metric_policies::reasons(&h, &g).await.iter().filter(|r| r.starts_with("dry run")).count();
    push_all(&h, &g, 9.0).await;
    h.wait(Duration::from_millis(100)).await;
    let recorded = count().await;
    assert_eq!(recorded, 2, "from 2 it would scale again");
    push_all(&h, &g, 9.0).await;
    h.wait(Duration::from_millis(100)).await;
    assert_eq!(count().await, recorded);
    assert_eq!(h.desired(&g).await, 2, "9 per member against 10 is within tolerance for the live one");
}

#[tokio::test(start_paused = true)]
async fn a_one_way_pause_holds_its_direction_only() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let fast_down = json!({"args": {"metric": "inflight", "target": {"type": "AverageValue", "averageValue": 10},
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}});
    let (g, _) = h.group(1, 10, vec![tracking("inflight", fast_down)]).await;
    active(&h, &g, 1).await;
    h.engine.set_pause(&t(), &g, Pause::Only(Direction::Out)).await.unwrap();
    push(&h, &g, "inflight", &[(0, 40.0)]).await;
    h.wait(Duration::from_secs(1)).await;
    assert_eq!(h.desired(&g).await, 1, "scale-out is paused");
    h.engine.set_pause(&t(), &g, Pause::Only(Direction::In)).await.unwrap();
    assert_eq!(h.desired(&g).await, 1);
    h.engine.set_pause(&t(), &g, Pause::Resume).await.unwrap();
    h.engine.set_pause(&t(), &g, Pause::Only(Direction::In)).await.unwrap();
    push(&h, &g, "inflight", &[(0, 40.0)]).await;
    h.until(Duration::from_secs(1), async || h.desired(&g).await == 4).await;
    active(&h, &g, 4).await;
    tick_for(&h, &g, 30, Some(1.0)).await;
    assert_eq!(h.desired(&g).await, 4, "scale-in is paused");
    h.engine.set_pause(&t(), &g, Pause::Resume).await.unwrap();
    tick_for(&h, &g, 10, Some(1.0)).await;
    assert_eq!(h.desired(&g).await, 1);
}

#[tokio::test(start_paused = true)]
async fn a_metric_without_samples_blocks_scale_in_until_its_fallback_applies() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let down_now = json!({"args": {"metric": "inflight", "target": {"type": "AverageValue", "averageValue": 10},
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}});
    let queue = json!({"name": "queue", "type": "target_tracking", "cooldown": 0,
        "fallback": {"after": 3, "action": "fixed_if_higher", "members": 6},
        "args": {"metric": "jobs", "target": {"type": "AverageValue", "averageValue": 5}}});
    let (g, _) = h.group(3, 10, vec![tracking("inflight", down_now), queue]).await;
    active(&h, &g, 3).await;
    // inflight asks for 3 → 1, bounded at 3; no jobs sample: nothing lowers capacity.
    push_all(&h, &g, 1.0).await;
    h.engine.tick_policies();
    h.wait(Duration::from_millis(10)).await;
    assert_eq!(h.desired(&g).await, 3);
    tick_for(&h, &g, 10, Some(1.0)).await;
    assert_eq!(h.desired(&g).await, 6, "three failed reads: the fallback's capacity, higher than 3");
}

#[tokio::test(start_paused = true)]
async fn members_vote_the_group_up_and_votes_go_with_their_member() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let votes =
        json!({"name": "votes", "type": "votes", "cooldown": 0, "args": {"resize_up_by": 2, "resize_calm_time": 60}});
    let (g, _) = h.group(2, 10, vec![votes]).await;
    active(&h, &g, 2).await;
    let members: Vec<String> = h.engine.observation(&g).members.iter().map(|m| m.id.clone()).collect();
    h.engine.vote(&g, &members[0], Some(Ballot::Grow)).await.unwrap();
    h.wait(Duration::from_millis(100)).await;
    assert_eq!(h.desired(&g).await, 2, "1 of 2 is 50 %, under 51 %");
    h.engine.vote(&g, &members[1], Some(Ballot::Grow)).await.unwrap();
    h.until(Duration::from_secs(1), async || h.desired(&g).await == 4).await;
    assert!(h.engine.vote(&g, "no-such-member", Some(Ballot::Shrink)).await.is_err());
    active(&h, &g, 4).await;
    // Calm for 60 s, however the votes stand.
    tick_for(&h, &g, 55, None).await;
    assert_eq!(h.desired(&g).await, 4);
    // 2 grow votes of 4 live members is 50 %: nothing more.
    tick_for(&h, &g, 10, None).await;
    assert_eq!(h.desired(&g).await, 4);
    let grow = || h.engine.explain(&g).unwrap().evaluation.policies[0].inputs.tally.unwrap().grow;
    assert_eq!(grow(), 2);
    // A voter dies: its vote goes with it.
    h.provider.kill(&members[0]);
    h.until(Duration::from_secs(10), async || {
        h.engine.tick_policies();
        grow() < 2
    })
    .await;
}
