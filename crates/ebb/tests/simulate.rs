//! `ebb simulate` end to end through the real binary: a trace and a policy file in, scores
//! out, as a table or JSON, alone or beside the peers' defaults; bad files are refused with
//! a message and exit code 2; a live group's recorded hour, read from a running server,
//! replayed against another policy beside what the group really had.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use serde_json::json;
use support::{Server, ebb_bin, group};

/// A surge: 50 requests a second for 20 minutes, 500 for 30, 50 for 40.
fn surge(dir: &Path) -> PathBuf {
    let mut text = String::from("timestamp,requests\n");
    let start: jiff::Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
    for minute in 0..90i64 {
        let per_second = if (20..50).contains(&minute) { 500 } else { 50 };
        text.push_str(&format!("{},{}\n", start + jiff::SignedDuration::from_mins(minute), per_second * 60));
    }
    let path = dir.join("surge.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn simulate(args: &[&str]) -> Output {
    Command::new(ebb_bin()).arg("simulate").args(args).output().expect("ebb runs")
}

const TRACKING: &str = "groupConfiguration: {name: web, cooldown: 0, minEntities: 1, maxEntities: 200}
scalingPolicies:
  - name: cpu
    type: target_tracking
    cooldown: 0
    args: {metric: cpuutil, target: {type: Utilization, averageUtilization: 60}}
";

#[test]
fn a_trace_and_a_policy_give_the_scores_as_json_and_as_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let (trace, policy) = (surge(dir.path()), write(dir.path(), "tracking.yaml", TRACKING));
    let (trace, policy) = (trace.to_str().unwrap(), policy.to_str().unwrap());
    let output = simulate(&["--trace", trace, "--policy", policy, "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let scores: Value = serde_json::from_slice(&output.stdout).unwrap();
    for key in [
        "theta_u",
        "theta_o",
        "tau_u",
        "tau_o",
        "instability",
        "jitter",
        "elastic_speedup",
        "deviation",
        "instance_hours",
        "cost_ratio_oracle",
        "cost_ratio_reactive_oracle",
        "slo_violation_share",
    ] {
        assert!(scores[key].is_number(), "{key} in {scores}");
    }
    assert_eq!(scores["name"], "tracking");
    // Demand: 5 members for 20 minutes, 50 for 30, 5 for 40: 30 member-hours. Kept at 60 %
    // utilization (a member at its capacity is at 83 %), the group buys more, not double.
    let hours = scores["instance_hours"].as_f64().unwrap();
    assert_eq!(scores["demand_hours"], 30.0);
    assert!((30.0..60.0).contains(&hours), "{scores}");
    assert!(scores["tau_u"].as_f64().unwrap() < 20.0, "it followed the surge: {scores}");

    let table = simulate(&["--trace", trace, "--policy", policy]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("θU %") && text.contains("tracking"), "{text}");
}

#[test]
fn compare_runs_the_peers_and_the_references_on_the_same_trace() {
    let dir = tempfile::tempdir().unwrap();
    let trace = surge(dir.path());
    let cf = write(
        dir.path(),
        "rules.json",
        r#"{"instance_min_count": 1, "instance_max_count": 100, "scaling_rules": [
        {"metric_type": "responsetime", "threshold": 400, "operator": ">", "adjustment": "+2"},
        {"metric_type": "responsetime", "threshold": 100, "operator": "<", "adjustment": "-1"}]}"#,
    );
    let output =
        simulate(&["--trace", trace.to_str().unwrap(), "--policy", cf.to_str().unwrap(), "--compare", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let all: Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = all["policies"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for peer in ["rules", "hpa", "kpa", "cf", "autoscalebot", "step", "fixed", "oracle", "reactive-oracle"] {
        assert!(names.iter().any(|n| n.contains(peer)), "{peer} in {names:?}");
    }
    let oracle = all["policies"].as_array().unwrap().iter().find(|p| p["name"] == "oracle").unwrap();
    assert_eq!((oracle["tau_u"].as_f64(), oracle["cost_ratio_oracle"].as_f64()), (Some(0.0), Some(1.0)));
}

#[test]
fn bad_files_and_options_are_refused_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let trace = surge(dir.path());
    let policy = write(dir.path(), "tracking.yaml", TRACKING);
    let bad_trace = write(dir.path(), "bad.csv", "timestamp,requests\n2026-03-01T00:00:00Z,10\nyesterday,5\n");
    let bad_policy = write(
        dir.path(),
        "bad.json",
        r#"{"groupConfiguration": {"name": "web", "cooldown": 0, "minEntities": 5, "maxEntities": 1}}"#,
    );
    let cases: [(Vec<&str>, &str); 4] = [
        (vec!["--trace", bad_trace.to_str().unwrap(), "--policy", policy.to_str().unwrap()], "line 3"),
        (vec!["--trace", trace.to_str().unwrap(), "--policy", bad_policy.to_str().unwrap()], "minEntities"),
        (vec!["--trace", "/no/such/trace.csv", "--policy", policy.to_str().unwrap()], "cannot read"),
        (
            vec!["--trace", trace.to_str().unwrap(), "--policy", policy.to_str().unwrap(), "--member-rps", "0"],
            "--member-rps",
        ),
    ];
    for (args, says) in cases {
        let output = simulate(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} says {says:?}: {stderr}");
    }
}

#[test]
fn plots_are_drawn_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let (trace, policy) = (surge(dir.path()), write(dir.path(), "tracking.yaml", TRACKING));
    let (svg, png) = (dir.path().join("run.svg"), dir.path().join("runs.png"));
    let alone = simulate(&[
        "--trace",
        trace.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(alone.status.success(), "{}", String::from_utf8_lossy(&alone.stderr));
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.starts_with("<svg") && drawn.contains("demand") && drawn.contains("tracking"), "{}", &drawn[..200]);
    let args = [
        "--trace",
        trace.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--compare",
        "--plot",
        png.to_str().unwrap(),
    ];
    let compared = simulate(&args);
    assert!(compared.status.success(), "{}", String::from_utf8_lossy(&compared.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 10_000, "a picture, not an empty canvas: {} bytes", bytes.len());
    let refused =
        simulate(&["--trace", trace.to_str().unwrap(), "--policy", policy.to_str().unwrap(), "--plot", "plot.gif"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains(".svg or .png"));
}

/// The per-slot `throughput` of a two-member group over one hour, minute by minute: 25
/// requests a second each for 20 minutes, 250 for 20, 25 for 20.
fn served(minute: i64) -> f64 {
    if (20..40).contains(&minute) { 250.0 } else { 25.0 }
}

#[tokio::test]
async fn a_live_groups_recorded_hour_is_replayed_against_another_policy() {
    let mut server = Server::start();
    let api = server.tenant("t1").await;
    // Two members all along; a policy reads `throughput`, so the server takes its samples.
    let g = api.create_group(group(2, 2)).await;
    let reads = json!([{"type": "target_tracking", "name": "rps", "cooldown": 0,
        "args": {"metric": "throughput", "target": {"type": "AverageValue", "averageValue": 100}}}]);
    api.post(&api.t(&format!("/groups/{g}/policies")), reads).await.ok(201);
    // The last hour's samples, four a minute from each slot, sent now with their times.
    let now = jiff::Timestamp::now();
    let this_minute = now.as_second() - now.as_second().rem_euclid(60);
    let since = jiff::Timestamp::from_second(this_minute - 3600).unwrap();
    let mut samples = Vec::new();
    for minute in 0..60i64 {
        for second in [0, 15, 30, 45] {
            let at = since + jiff::SignedDuration::from_secs(minute * 60 + second);
            for slot in 0..2 {
                samples.push(json!({"group": g, "metric": "throughput", "instance_index": slot,
                    "value": served(minute), "timestamp": at.to_string()}));
            }
        }
    }
    let answer = api.post(&api.t("/metrics"), json!({ "samples": samples })).await;
    answer.ok(200);
    assert_eq!(answer.body, json!({"accepted": 480, "refused": []}));
    // A graceful stop stores every minute that is over; the group's creation is moved back
    // before the hour, behind the server's back, as if it had served all along.
    assert!(server.terminate().success());
    server.sql(&format!("UPDATE history SET at = at - 3900000 WHERE group_id = '{g}'"));
    server.restart();

    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "tracking.yaml", TRACKING);
    let token = api.token.clone().unwrap();
    let until = (since + jiff::SignedDuration::from_hours(1)).to_string();
    let live = |extra: &[&str]| {
        let mut args = vec!["--url", server.url.as_str(), "--token", token.as_str(), "--policy"];
        args.push(policy.to_str().unwrap());
        args.extend_from_slice(extra);
        simulate(&args)
    };
    let output = live(&["--group", &g, "--since", &since.to_string(), "--until", &until, "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let all: Value = serde_json::from_slice(&output.stdout).unwrap();
    let [tracking, recorded] = all["policies"].as_array().unwrap().as_slice() else { panic!("two rows: {all}") };
    assert_eq!((tracking["name"].as_str(), recorded["name"].as_str()), (Some("tracking"), Some("live")));
    // Demand at 10 requests a second a member: 5, 50 and 5 members for 20 minutes each.
    assert_eq!(tracking["demand_hours"], 20.0, "{all}");
    assert_eq!(recorded["demand_hours"], 20.0);
    // The group had 2 members for the hour, under demand all the time.
    assert_eq!(recorded["instance_hours"], 2.0, "{recorded}");
    assert_eq!(recorded["tau_u"], 100.0, "{recorded}");
    // The other policy starts from those 2 and follows the demand.
    let hours = tracking["instance_hours"].as_f64().unwrap();
    assert!((20.0..40.0).contains(&hours), "{tracking}");
    assert!(tracking["tau_u"].as_f64().unwrap() < 30.0, "{tracking}");

    // A stretch with no recorded throughput, a group the tenant does not have, and a replay
    // of both a file and a group are refused with what is wrong.
    let before = (since - jiff::SignedDuration::from_hours(5)).to_string();
    let empty = live(&[
        "--group",
        &g,
        "--since",
        &before,
        "--until",
        &(since - jiff::SignedDuration::from_hours(4)).to_string(),
    ]);
    assert_eq!(empty.status.code(), Some(2), "{}", String::from_utf8_lossy(&empty.stderr));
    assert!(
        String::from_utf8_lossy(&empty.stderr).contains("throughput"),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );
    let unknown = live(&["--group", "no-such-group", "--since", "2h"]);
    assert_eq!(unknown.status.code(), Some(1), "{}", String::from_utf8_lossy(&unknown.stderr));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("404"), "{}", String::from_utf8_lossy(&unknown.stderr));
    let both = live(&["--group", &g, "--since", "2h", "--trace", "trace.csv"]);
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
}
