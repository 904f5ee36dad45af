//! `ebb simulate` end to end through the real binary: a trace and a policy file in, scores
//! out, as a table or JSON, alone or beside the peers' defaults; bad files are refused with
//! a message and exit code 2.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::ebb_bin;

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
