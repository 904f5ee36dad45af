//! CF metric rules evaluated on sample arrival and on breach-window timers.

use ebb_core::metrics::series::Sample;
use ebb_engine::rules::SlotSample;

use super::*;

fn cf_policy(h: &Harness, value: Value) -> ebb_core::cf_policy::CfPolicy {
    ebb_core::cf_policy::parse(&value, h.clock.now(), &Default::default()).unwrap()
}

async fn push(h: &Harness, g: &GroupId, slots: &[(u32, f64)]) {
    h.engine.metric_facts(g).await.unwrap();
    let now = h.clock.now();
    let samples: Vec<SlotSample> = slots
        .iter()
        .map(|(slot, value)| SlotSample {
            metric: "responsetime".into(),
            slot: *slot,
            sample: Sample { at: now, value: *value },
        })
        .collect();
    h.engine.record_samples(g, &samples).unwrap();
}

async fn group_with_rules(h: &Harness) -> GroupId {
    let (g, _) = h.group(1, 5, vec![]).await;
    let policy = cf_policy(
        h,
        json!({"instance_min_count": 1, "instance_max_count": 5, "scaling_rules": [
        {"metric_type": "responsetime", "threshold": 200, "operator": ">", "adjustment": "+1", "breach_duration_secs": 60, "cool_down_secs": 60},
        {"metric_type": "responsetime", "threshold": 50, "operator": "<", "adjustment": "-1", "breach_duration_secs": 60, "cool_down_secs": 60}]}),
    );
    h.engine.set_rules_policy(&t(), &g, policy).await.unwrap();
    g
}

#[tokio::test(start_paused = true)]
async fn the_sample_that_completes_a_breach_scales_the_group_at_once() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let g = group_with_rules(&h).await;
    // A neutral sample, then silence: nothing can breach without a new sample, so no timer.
    push(&h, &g, &[(0, 100.0)]).await;
    h.wait(Duration::from_secs(61)).await;
    assert_eq!(h.desired(&g).await, 1);
    // The first slow sample: the window [now − 60 s, now] holds only it, and the neutral one
    // before covers the window, so this very sample completes the breach.
    let start = h.clock.now();
    push(&h, &g, &[(0, 300.0)]).await;
    h.until(Duration::from_secs(1), async || h.desired(&g).await == 2).await;
    assert!(h.clock.now().duration_since(start) < SignedDuration::from_millis(200), "decided on arrival");
    assert_eq!(h.history(&g).await.last(), Some(&(Source::Metric, 1, 2)));
    // The rule's cooldown holds further scaling for 60 s, however the samples go on.
    for _ in 0..5 {
        h.wait(Duration::from_secs(10)).await;
        push(&h, &g, &[(0, 300.0), (1, 300.0)]).await;
    }
    assert_eq!(h.desired(&g).await, 2);
    h.until(Duration::from_secs(30), async || {
        push(&h, &g, &[(0, 300.0), (1, 300.0)]).await;
        h.desired(&g).await == 3
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_breach_window_elapsing_scales_without_a_new_sample() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let g = group_with_rules(&h).await;
    push(&h, &g, &[(0, 100.0)]).await;
    h.wait(Duration::from_secs(40)).await;
    push(&h, &g, &[(0, 10.0)]).await;
    h.wait(Duration::from_secs(10)).await;
    push(&h, &g, &[(0, 10.0)]).await;
    // Silence from here: the window is covered once the 100 sample is 60 s old.
    h.until(Duration::from_secs(30), async || h.desired(&g).await == 1).await;
    let history = h.history(&g).await;
    assert!(!history.iter().any(|(source, ..)| *source == Source::Metric), "at its minimum: {history:?}");
    let store = h.engine.store();
    let query = HistoryQuery { page: Page { marker: None, limit: 100 }, since: None, until: None, source: None };
    h.until(Duration::from_secs(30), async || {
        let records = store.list_history(&t(), &g, &query).await.unwrap();
        records.iter().any(|r| r.entry.reason.ends_with("ignored, limited by min instances 1"))
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn deleting_the_policy_stops_scaling_and_leaves_the_group() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let g = group_with_rules(&h).await;
    h.engine.delete_rules_policy(&t(), &g).await.unwrap();
    push(&h, &g, &[(0, 100.0)]).await;
    for _ in 0..10 {
        h.wait(Duration::from_secs(10)).await;
        push(&h, &g, &[(0, 300.0)]).await;
    }
    assert_eq!(h.desired(&g).await, 1);
    assert!(h.engine.store().get_group(&t(), &g).await.unwrap().rules.is_none());
}
