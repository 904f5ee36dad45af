//! The simulator takes the decisions `ebb serve` takes: a group driven through the engine on a
//! controlled clock, with the samples the simulator's capacity model gives, and the same trace
//! replayed by `ebb-sim`, change desired capacity at the same instants to the same counts.
//!
//! The group's members are not run by any provider here, so its members are its slots, all
//! serving at once: the simulator is run with no provisioning delay to match.

use ebb_core::metrics::series::Sample;
use ebb_engine::rules::SlotSample;
use ebb_sim::model::CapacityModel;
use ebb_sim::run;
use ebb_sim::setup::Setup;
use ebb_sim::trace::Trace;

use super::*;

/// Requests a second, minute by minute: quiet, a surge, a lull, a second surge, quiet.
fn rates() -> Vec<f64> {
    [vec![5.0; 8], vec![60.0; 12], vec![12.0; 10], vec![90.0; 6], vec![5.0; 14]].concat()
}

fn policy() -> Value {
    json!({"name": "cpu", "type": "target_tracking", "cooldown": 0, "args": {"metric": "cpuutil",
        "target": {"type": "Utilization", "averageUtilization": 60},
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 120}}}})
}

fn model() -> CapacityModel {
    CapacityModel {
        provisioning: SignedDuration::ZERO,
        deprovisioning: SignedDuration::ZERO,
        ..CapacityModel::default()
    }
}

#[tokio::test(start_paused = true)]
async fn the_simulator_and_the_engine_change_a_group_at_the_same_instants_to_the_same_counts() {
    let h = harness(Behaviour::ReadyAfter(Duration::ZERO)).await;
    let config = json!({"name": "g", "cooldown": 0, "minEntities": 1, "maxEntities": 40});
    let launch = json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}});
    let request = GroupRequest {
        tenant_id: t(),
        config: GroupConfig::parse(&config, "", Mode::Create).unwrap(),
        launch: LaunchConfig::parse(&launch, "").unwrap(),
        policies: vec![super::policy(policy())],
    };
    let (group, _) = h.engine.create_group(request, Limits::default()).await.unwrap();
    let g = group.id;
    let start = h.clock.now();
    let model = model();

    // The engine: every 15 s, each member slot reports what the model says it measures.
    let rates = rates();
    let mut engine_changes = Vec::new();
    let mut desired = h.desired(&g).await;
    for tick in 0..(rates.len() * 4) {
        let rate = rates[tick / 4];
        let now = h.clock.now();
        let cpu = model.report(rate, desired).cpuutil;
        let samples: Vec<SlotSample> = (0..desired)
            .map(|slot| SlotSample { metric: "cpuutil".into(), slot, sample: Sample { at: now, value: cpu } })
            .collect();
        h.engine.record_samples(&g, &samples).unwrap();
        h.wait(Duration::from_millis(1)).await;
        let now_desired = h.desired(&g).await;
        if now_desired != desired {
            let at = now.duration_since(start).as_secs_f64().round();
            engine_changes.push((at, now_desired));
            desired = now_desired;
        }
        h.wait(Duration::from_secs(15) - Duration::from_millis(1)).await;
    }

    // The simulator: the same trace and policy, on its own virtual clock.
    let mut text = String::from("timestamp,requests\n");
    for (minute, rate) in rates.iter().enumerate() {
        text.push_str(&format!("{},{}\n", start + SignedDuration::from_mins(minute as i64), rate * 60.0));
    }
    let trace = Trace::parse(&text).unwrap();
    let body = json!({"groupConfiguration": config, "scalingPolicies": [policy()]});
    let setup = Setup::parse(&body, start).unwrap();
    let outcome = run::simulate(&trace, &setup, &model, 1, &mut |_| {});
    let simulated: Vec<(f64, u32)> =
        outcome.desired.iter().skip(1).map(|s| (s.at.round(), s.value.unwrap_or_default() as u32)).collect();

    assert!(engine_changes.len() >= 4, "the run scales both ways: {engine_changes:?}");
    assert_eq!(simulated, engine_changes, "decision by decision");
}
